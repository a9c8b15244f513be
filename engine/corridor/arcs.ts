/**
 * Sets of closed arcs on a circle of circumference C (a signal cycle), stored
 * as sorted, disjoint [start, end] intervals of [0, C] in preallocated typed
 * arrays. The band optimizer propagates these along a corridor; the band
 * measurement intersects them. Nothing here allocates after construction.
 */

export class ArcSet {
  readonly start: Float64Array;
  readonly end: Float64Array;
  count = 0;
  /** True when the set is the whole circle. */
  full = false;

  constructor(readonly capacity = 64) {
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
  }

  clear(): void {
    this.count = 0;
    this.full = false;
  }

  setFull(circumference: number): void {
    this.full = true;
    this.count = 1;
    this.start[0] = 0;
    this.end[0] = circumference;
  }

  copyFrom(o: ArcSet): void {
    this.count = o.count;
    this.full = o.full;
    for (let k = 0; k < o.count; k++) {
      this.start[k] = o.start[k]!;
      this.end[k] = o.end[k]!;
    }
  }

  /** Adds the arc that starts at `from` (any real) and runs `length` ≥ 0 forward; unsorted until `normalize`. */
  addArc(from: number, length: number, c: number): void {
    if (this.full) return;
    if (length >= c) {
      this.setFull(c);
      return;
    }
    let a = from % c;
    if (a < 0) a += c;
    const b = a + length;
    if (b <= c) this.push(a, b);
    else {
      this.push(a, c);
      this.push(0, b - c);
    }
  }

  private push(a: number, b: number): void {
    if (this.count >= this.capacity) throw new RangeError(`ArcSet capacity ${this.capacity} exceeded`);
    this.start[this.count] = a;
    this.end[this.count] = b;
    this.count++;
  }

  /** Sorts by start and merges overlapping or touching intervals (insertion sort: sets are small). */
  normalize(): void {
    if (this.full) return;
    const s = this.start;
    const e = this.end;
    for (let i = 1; i < this.count; i++) {
      const a = s[i]!;
      const b = e[i]!;
      let j = i - 1;
      while (j >= 0 && s[j]! > a) {
        s[j + 1] = s[j]!;
        e[j + 1] = e[j]!;
        j--;
      }
      s[j + 1] = a;
      e[j + 1] = b;
    }
    let w = 0;
    for (let i = 0; i < this.count; i++) {
      if (w > 0 && s[i]! <= e[w - 1]! + 1e-12) {
        if (e[i]! > e[w - 1]!) e[w - 1] = e[i]!;
      } else {
        s[w] = s[i]!;
        e[w] = e[i]!;
        w++;
      }
    }
    this.count = w;
  }

  /** out = this ⊕ [lo, hi] (every point moved forward by any amount in [lo, hi]), mod c. */
  dilate(lo: number, hi: number, c: number, out: ArcSet): void {
    out.clear();
    if (this.full) {
      out.setFull(c);
      return;
    }
    const spread = hi - lo;
    for (let k = 0; k < this.count; k++) {
      out.addArc(this.start[k]! + lo, this.end[k]! - this.start[k]! + spread, c);
      if (out.full) return;
    }
    out.normalize();
  }

  /** out = this ∩ other; both normalized. */
  intersect(other: ArcSet, out: ArcSet): void {
    out.clear();
    if (this.full) return out.copyFrom(other);
    if (other.full) return out.copyFrom(this);
    let i = 0;
    let j = 0;
    while (i < this.count && j < other.count) {
      const a = Math.max(this.start[i]!, other.start[j]!);
      const b = Math.min(this.end[i]!, other.end[j]!);
      // Touching arcs meet in a point; keep it despite float noise in the ends.
      if (a <= b + 1e-9) out.push(a, b > a ? b : a);
      if (this.end[i]! < other.end[j]!) i++;
      else j++;
    }
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  /** Longest arc, joining the pieces that wrap across 0/C. Returns its length; its start goes to `startOut[0]`. */
  longest(c: number, startOut: Float64Array): number {
    if (this.full) {
      startOut[0] = 0;
      return c;
    }
    if (this.count === 0) {
      startOut[0] = 0;
      return 0;
    }
    const wraps = this.count > 1 && this.start[0]! <= 1e-12 && this.end[this.count - 1]! >= c - 1e-12;
    let best = -1;
    for (let k = 0; k < this.count; k++) {
      let len = this.end[k]! - this.start[k]!;
      let from = this.start[k]!;
      if (wraps && k === this.count - 1) len += this.end[0]! - this.start[0]!;
      else if (wraps && k === 0) continue; // counted with the last piece
      if (len > best) {
        best = len;
        startOut[0] = from;
      }
      from = 0;
    }
    return best;
  }

  /** Whether x (mod c) lies in the set, with tolerance. */
  contains(x: number, c: number, eps = 1e-9): boolean {
    if (this.full) return true;
    let v = x % c;
    if (v < 0) v += c;
    for (let k = 0; k < this.count; k++) {
      if (v >= this.start[k]! - eps && v <= this.end[k]! + eps) return true;
    }
    // Near the seam, v ≈ c is the same point as 0.
    return (v > c - eps && this.count > 0 && this.start[0]! <= eps) || (v < eps && this.end[this.count - 1]! >= c - eps);
  }
}
