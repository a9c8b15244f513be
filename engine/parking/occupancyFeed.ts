/**
 * The OccupancyTracker (./occupancy.ts) and one FreeSpacePredictor per car park
 * (./predict.ts) behind the OccupancyFeed interface (./source.ts) the
 * recommender and the ParkingGuidanceService read: it replaces the stand-in
 * (./standIn.ts) in service/parkingState.ts with one constructor call.
 *
 * The predictors are fed from the tracker on the 5-minute grid: whenever the
 * feed is read (or `tick` is called) and a new grid time has passed, each car park's
 * vacant spaces at that time (NaN while unknown or closed) are observed. Grid
 * times that passed with nobody asking are missing steps, which the predictor
 * tolerates. By default every predictor is fed at the first read after a grid
 * time; with `sweepPerRead` (the service: 2,000 car parks took 15–200 ms at
 * once, a pause on the gRPC thread every 5 minutes) each read feeds at most that
 * many others, and `predictFree` always feeds the car park it predicts first,
 * so the sweep is spread over the reads that follow (a car park fed later
 * observes the tracker's estimate as it is then, evaluated at the grid time). `predictFree` interpolates linearly between the value now (no
 * band) and the forecasts at 15, 30 and 60 minutes; beyond 60 minutes it
 * keeps the 60-minute forecast.
 */
import { OptionError } from '../errors.js';
import { OccupancyTracker, type GateCounts, type OccupancyTrackerOptions } from './occupancy.js';
import { FreeSpacePredictor, type FreeSpacePredictorOptions } from './predict.js';
import type { OccupancyState, ParkingFile } from './schema.js';
import type { FreePrediction, FreePredictionOut, OccupancyFeed } from './source.js';

export interface TrackedSourceOptions {
  readonly tracker?: OccupancyTrackerOptions;
  /** Public holidays, local dates 'YYYY-MM-DD', for the predictors' holiday profile. */
  readonly holidays?: readonly string[];
  readonly predictor?: Omit<FreeSpacePredictorOptions, 'capacity' | 'utcOffsetMin' | 'holidays' | 'stepMin'>;
  /** Predictors fed per read of the feed after a grid time, besides the one predicted (default: all at the first read). */
  readonly sweepPerRead?: number;
}

const STEP_MS = 5 * 60_000;
/** Half-width of the band per hour ahead, as a share of capacity, while the predictor has no forecast yet (the stand-in's). */
const FALLBACK_BAND_PER_HOUR = 0.1;

export class TrackedOccupancySource implements OccupancyFeed {
  readonly tracker: OccupancyTracker;
  private readonly predictors: FreeSpacePredictor[];
  /** The latest grid time seen; predictors not yet fed at it are `pending`, found from `cursor` on. */
  private gridMs = Number.NEGATIVE_INFINITY;
  /** The grid time each predictor was last fed at. */
  private readonly fedMs: Float64Array;
  private pending = 0;
  private cursor = 0;
  private readonly sweepPerRead: number;
  /** The predictors' horizons, min (the same for all). */
  private readonly horizonMin: Float64Array;
  /**
   * Each predictor's latest forecasts, copied when it is fed: (free, low, high) per horizon at
   * ((k · horizons) + h) · 3. predictFree runs for every candidate of every Recommend; reading
   * 2,000 predictors' forecast objects there was mostly cache misses (a profile's hottest line).
   */
  private readonly fc: Float64Array;
  revision = 0;

  constructor(parking: { readonly file: ParkingFile }, options: TrackedSourceOptions = {}) {
    this.tracker = new OccupancyTracker(parking.file, options.tracker);
    this.predictors = this.tracker.ids.map(
      (_, k) =>
        new FreeSpacePredictor({
          ...options.predictor,
          capacity: this.tracker.capacity[k]!,
          stepMin: STEP_MS / 60_000,
          utcOffsetMin: parking.file.utcOffsetMin,
          holidays: options.holidays ?? [],
        }),
    );
    this.fedMs = new Float64Array(this.predictors.length).fill(Number.NEGATIVE_INFINITY);
    this.horizonMin = Float64Array.from(this.predictors[0]?.horizonsMin ?? []);
    this.fc = new Float64Array(this.predictors.length * this.horizonMin.length * 3).fill(Number.NaN);
    this.sweepPerRead = options.sweepPerRead ?? Number.POSITIVE_INFINITY;
    if (!(this.sweepPerRead >= 1)) throw new OptionError('options.sweepPerRead', `must be >= 1, got ${this.sweepPerRead}`);
  }

  /** An absolute report (ReportOccupancy). Implausible ones throw the tracker's ValidationError and change nothing. */
  report(carPark: number, occupied: number, atMs: number): void {
    this.tracker.report(carPark, { timeMs: atMs, occupied });
    this.revision++;
  }

  /** Gate counts (detector polls). */
  addCounts(carPark: number, counts: GateCounts): void {
    this.tracker.addCounts(carPark, counts);
    this.revision++;
  }

  state(carPark: number, nowMs: number): OccupancyState {
    this.sample(nowMs);
    return this.tracker.state(carPark, nowMs);
  }

  status(carPark: number, nowMs: number): OccupancyState['status'] {
    this.sample(nowMs);
    return this.tracker.statusOf(carPark, nowMs);
  }

  predictFree(carPark: number, arrivalMs: number, nowMs: number): FreePrediction {
    const out = { expected: 0, p10: 0, p90: 0 };
    this.predictFreeInto(carPark, arrivalMs, nowMs, out);
    return out;
  }

  predictFreeInto(carPark: number, arrivalMs: number, nowMs: number, out: FreePredictionOut): void {
    this.sample(nowMs, carPark);
    // Asked for every candidate of every Recommend: the vacant spaces alone, not the whole state (its trend).
    const free = this.tracker.vacantOf(carPark, nowMs);
    if (Number.isNaN(free)) {
      out.expected = Number.NaN;
      out.p10 = Number.NaN;
      out.p90 = Number.NaN;
      return;
    }
    const cap = this.tracker.capacity[carPark]!;
    // Minutes ahead of the forecasts' origin (the grid time this car park was last fed at).
    const aheadMin = Math.max(0, (arrivalMs - Math.max(this.fedMs[carPark]!, Math.min(nowMs, arrivalMs))) / 60_000);
    const nH = this.horizonMin.length;
    const fc = this.fc;
    const base = carPark * nH * 3;
    if (nH === 0 || Number.isNaN(fc[base]!)) {
      const half = (FALLBACK_BAND_PER_HOUR * cap * aheadMin) / 60;
      out.expected = free;
      out.p10 = Math.max(0, free - half);
      out.p90 = Math.min(cap, free + half);
      return;
    }
    // Linear between the value now (no band) and the forecasts; beyond the last, the last.
    let prevH = 0;
    let pf = free;
    let pl = free;
    let ph = free;
    for (let h = 0; h < nH; h++) {
      const hMin = this.horizonMin[h]!;
      const f = fc[base + 3 * h]!;
      const lo = fc[base + 3 * h + 1]!;
      const hi = fc[base + 3 * h + 2]!;
      if (aheadMin <= hMin) {
        const w = (aheadMin - prevH) / (hMin - prevH);
        out.expected = pf + w * (f - pf);
        out.p10 = pl + w * (lo - pl);
        out.p90 = ph + w * (hi - ph);
        return;
      }
      prevH = hMin;
      pf = f;
      pl = lo;
      ph = hi;
    }
    out.expected = pf;
    out.p10 = pl;
    out.p90 = ph;
  }

  /** Feeds the predictors at the latest 5-minute grid time at or before nowMs (if not yet): call it on a timer when nobody reads the feed. */
  tick(nowMs: number): void {
    this.sample(nowMs, -1, Number.POSITIVE_INFINITY);
  }

  /** Notes a new grid time, feeds car park `first` (if ≥ 0) and up to `budget` other pending predictors. */
  private sample(tMs: number, first = -1, budget = this.sweepPerRead): void {
    const grid = Math.floor(tMs / STEP_MS) * STEP_MS;
    if (grid > this.gridMs) {
      this.gridMs = grid;
      this.pending = this.predictors.length;
      this.cursor = 0;
    }
    if (this.pending === 0) return;
    if (first >= 0) this.feed(first);
    let left = budget;
    while (this.pending > 0 && left > 0) {
      const k = this.cursor++;
      if (this.fedMs[k]! < this.gridMs) {
        this.feed(k);
        left--;
      }
    }
  }

  private feed(k: number): void {
    const grid = this.gridMs;
    if (this.fedMs[k]! >= grid) return;
    // Vacant spaces while open or full, NaN while unknown or closed (state(k, grid).vacant, without the trend).
    const p = this.predictors[k]!;
    p.observe(grid, this.tracker.vacantOf(k, grid));
    const fc = p.forecasts();
    const base = k * this.horizonMin.length * 3;
    for (let h = 0; h < fc.length; h++) {
      this.fc[base + 3 * h] = fc[h]!.freeSpaces;
      this.fc[base + 3 * h + 1] = fc[h]!.lowFreeSpaces;
      this.fc[base + 3 * h + 2] = fc[h]!.highFreeSpaces;
    }
    this.fedMs[k] = grid;
    this.pending--;
  }
}
