/**
 * A uniform grid over the car parks' positions (degrees), so that a
 * recommendation looks only at the car parks in the cells round the
 * destination instead of all of them (2,000 in the benchmark city, of which a
 * walk of 800 m keeps about 100). Built once per parking file by the
 * Recommender (./recommend.ts); `within` hands back the car parks of every
 * cell the box touches, in ascending order, and the caller applies its exact
 * tests to them: what lies outside the box fails those tests anyway.
 */

export class CarParkCells {
  private readonly lat0: number;
  private readonly lon0: number;
  private readonly cellDeg: number;
  private readonly rows: number;
  private readonly cols: number;
  /** Car parks of cell (r, c) = cellStart[r*cols+c] … cellStart[r*cols+c+1] in `items`, ascending. */
  private readonly cellStart: Uint32Array;
  private readonly items: Int32Array;

  constructor(lon: Float64Array, lat: Float64Array) {
    const n = lat.length;
    let latMin = Number.POSITIVE_INFINITY;
    let latMax = Number.NEGATIVE_INFINITY;
    let lonMin = Number.POSITIVE_INFINITY;
    let lonMax = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      latMin = Math.min(latMin, lat[k]!);
      latMax = Math.max(latMax, lat[k]!);
      lonMin = Math.min(lonMin, lon[k]!);
      lonMax = Math.max(lonMax, lon[k]!);
    }
    if (!(n > 0 && latMax >= latMin && lonMax >= lonMin)) {
      latMin = latMax = lonMin = lonMax = 0;
    }
    // About one car park per cell, no finer than 0.002° (≈ 220 m) and at most 250 × 250 cells.
    const spanLat = latMax - latMin;
    const spanLon = lonMax - lonMin;
    const cellDeg = Math.max(0.002, Math.sqrt((spanLat * spanLon) / Math.max(1, n)), spanLat / 250, spanLon / 250);
    this.lat0 = latMin;
    this.lon0 = lonMin;
    this.cellDeg = cellDeg;
    this.rows = Math.floor(spanLat / cellDeg) + 1;
    this.cols = Math.floor(spanLon / cellDeg) + 1;
    const cells = this.rows * this.cols;
    const start = new Uint32Array(cells + 1);
    const cellOf = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      cellOf[k] = this.row(lat[k]!) * this.cols + this.col(lon[k]!);
      start[cellOf[k]! + 1]!++;
    }
    for (let c = 0; c < cells; c++) start[c + 1] = start[c + 1]! + start[c]!;
    const fill = start.slice(0, cells);
    const items = new Int32Array(n);
    for (let k = 0; k < n; k++) items[fill[cellOf[k]!]!++] = k;
    this.cellStart = start;
    this.items = items;
  }

  /**
   * Every car park in a cell that the box lat ± dLat, lon ± dLon touches, ascending, into `out`
   * (room for every car park); returns how many.
   */
  within(lon: number, lat: number, dLon: number, dLat: number, out: Int32Array): number {
    const r0 = this.row(lat - dLat);
    const r1 = this.row(lat + dLat);
    const c0 = this.col(lon - dLon);
    const c1 = this.col(lon + dLon);
    let m = 0;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        for (let i = this.cellStart[cell]!; i < this.cellStart[cell + 1]!; i++) out[m++] = this.items[i]!;
      }
    }
    out.subarray(0, m).sort();
    return m;
  }

  /** The row of a latitude, clamped to the grid (NaN → 0). */
  private row(lat: number): number {
    const r = Math.floor((lat - this.lat0) / this.cellDeg);
    return r > 0 ? Math.min(r, this.rows - 1) : 0;
  }

  private col(lon: number): number {
    const c = Math.floor((lon - this.lon0) / this.cellDeg);
    return c > 0 ? Math.min(c, this.cols - 1) : 0;
  }
}
