/**
 * Free spaces of one car park 15, 30 and 60 minutes ahead, with an uncertainty
 * band, from its own recent past. Fed every step (5 min) with the tracker's
 * vacant spaces (./occupancy.ts; NaN while unknown or closed); read by the
 * recommendation (the probability of a space on arrival) and the service.
 * Compared with two baselines in ./predictBaselines.ts and bench/parking.
 *
 * Method (docs/parking.md, "Prediction"):
 *  - a seasonal profile: for each day type (Monday … Sunday, and holidays from
 *    a calendar) and time of day, the median of the last `profileDays` days of
 *    that type (a median, so one event or one odd day does not move it); a
 *    holiday with no earlier holiday yet uses the Sunday profile;
 *  - the forecast is the profile at the target time plus the current deviation
 *    from the profile, damped: free(t+h) = P(t+h) + φ_h · (free(t) - P(t)),
 *    clamped to 0…capacity. φ_h is the least-squares coefficient of the
 *    deviation h ahead on the deviation now, learnt online per car park with
 *    forgetting, from a prior that decays with the horizon;
 *  - the band is the 10th and 90th percentiles of the method's own recent
 *    errors at that horizon and hour of the day, added to the forecast.
 * Until the profile has a day of the type, it forecasts persistence.
 */
import { GreenwaveError, ErrorCode, OptionError } from '../errors.js';

export const HORIZONS_MIN: readonly number[] = [15, 30, 60];

export interface FreeSpacePredictorOptions {
  readonly capacity: number;
  /** Observation step, min; a divisor of the day and of each horizon. Default 5. */
  readonly stepMin?: number;
  readonly utcOffsetMin?: number;
  /** Local dates 'YYYY-MM-DD' that are public holidays. */
  readonly holidays?: readonly string[];
  readonly horizonsMin?: readonly number[];
  /** Days of each type the profile takes the median over. Default 4. */
  readonly profileDays?: number;
  /** Slots either side of the time averaged into each day's value (smoothing). Default 1. */
  readonly profileSmoothSlots?: number;
  /** Per-step forgetting of φ's sums (0.9995: a half-life of about 5 days at 5 min). */
  readonly phiForgetting?: number;
  /** Minutes over which the prior φ decays (φ0 = exp(-h / τ)). Default 120. */
  readonly phiPriorTauMin?: number;
  /** Quantiles of the band. Default [0.1, 0.9]. */
  readonly bandQuantiles?: readonly [number, number];
  /** Errors kept per horizon and hour of day. Default 84 (a week at 5 min). */
  readonly bandErrorsKept?: number;
}

export interface FreeSpaceForecast {
  readonly horizonMin: number;
  /** The forecast, spaces (fractional; NaN when the last observation was unknown). */
  readonly freeSpaces: number;
  readonly lowFreeSpaces: number;
  readonly highFreeSpaces: number;
}

const MS_PER_MIN = 60_000;
const MS_PER_DAY = 86_400_000;
const HOLIDAY = 7;
const SUNDAY = 6;
/** Errors in an hour's bucket before it is trusted alone; before that, all hours' errors of the horizon. */
const BAND_MIN_ERRORS = 24;

export class FreeSpacePredictor {
  readonly capacity: number;
  readonly horizonsMin: readonly number[];
  private readonly stepMs: number;
  private readonly stepsPerDay: number;
  private readonly offsetMs: number;
  private readonly holidays: ReadonlySet<string>;
  private readonly hSteps: Int32Array;
  private readonly K: number;
  private readonly smooth: number;
  private readonly lambda: number;
  private readonly qLow: number;
  private readonly qHigh: number;
  private readonly M: number;

  /** Observed free spaces per local day number, one value per step (NaN: missing). */
  private readonly days = new Map<number, Float64Array>();
  /** Day numbers seen, per day type 0 Monday … 6 Sunday, 7 holiday; ascending. */
  private readonly byType: number[][] = [[], [], [], [], [], [], [], []];
  private readonly typeCache = new Map<number, number>();
  private lastStep = Number.NEGATIVE_INFINITY;

  /** φ's sums per horizon. */
  private readonly sxy: Float64Array;
  private readonly sxx: Float64Array;
  /** Pending forecasts per horizon, ring by target step: target, forecast, deviation now, profile at target. */
  private readonly pendTarget: Float64Array;
  private readonly pendPred: Float64Array;
  private readonly pendDev: Float64Array;
  private readonly pendProf: Float64Array;
  private readonly ringLen: number;
  /** Errors (actual - forecast) per horizon and hour: ring of M. */
  private readonly errs: Float64Array;
  private readonly errCount: Int32Array;
  private readonly errHead: Int32Array;
  private readonly current: FreeSpaceForecast[];

  constructor(opts: FreeSpacePredictorOptions) {
    const stepMin = opts.stepMin ?? 5;
    if (!(opts.capacity >= 0)) throw new OptionError('options.capacity', `must be >= 0, got ${opts.capacity}`);
    if (!(stepMin > 0) || !Number.isInteger(1440 / stepMin)) throw new OptionError('options.stepMin', `must divide a day, got ${stepMin}`);
    this.capacity = opts.capacity;
    this.horizonsMin = opts.horizonsMin ?? HORIZONS_MIN;
    this.hSteps = Int32Array.from(this.horizonsMin, (h, k) => {
      if (!(h > 0) || !Number.isInteger(h / stepMin)) throw new OptionError(`options.horizonsMin[${k}]`, `must be a positive multiple of the ${stepMin}-min step, got ${h}`);
      return h / stepMin;
    });
    this.stepMs = stepMin * MS_PER_MIN;
    this.stepsPerDay = 1440 / stepMin;
    this.offsetMs = (opts.utcOffsetMin ?? 480) * MS_PER_MIN;
    this.holidays = new Set(opts.holidays ?? []);
    this.K = opts.profileDays ?? 4;
    this.smooth = opts.profileSmoothSlots ?? 1;
    this.lambda = opts.phiForgetting ?? 0.9995;
    const [qLow, qHigh] = opts.bandQuantiles ?? [0.1, 0.9];
    this.qLow = qLow;
    this.qHigh = qHigh;
    this.M = opts.bandErrorsKept ?? 84;
    const nH = this.hSteps.length;
    // Prior: 50 pseudo-observations of a deviation of 5 % of capacity, φ0 = exp(-h / τ).
    const tau = opts.phiPriorTauMin ?? 120;
    const prior = 50 * (0.05 * Math.max(1, this.capacity)) ** 2;
    this.sxx = new Float64Array(nH).fill(prior);
    this.sxy = Float64Array.from(this.horizonsMin, (h) => prior * Math.exp(-h / tau));
    this.ringLen = Math.max(...this.hSteps) + 1;
    this.pendTarget = new Float64Array(nH * this.ringLen).fill(Number.NaN);
    this.pendPred = new Float64Array(nH * this.ringLen);
    this.pendDev = new Float64Array(nH * this.ringLen);
    this.pendProf = new Float64Array(nH * this.ringLen);
    this.errs = new Float64Array(nH * 24 * this.M);
    this.errCount = new Int32Array(nH * 24);
    this.errHead = new Int32Array(nH * 24);
    this.current = this.horizonsMin.map((horizonMin) => ({ horizonMin, freeSpaces: Number.NaN, lowFreeSpaces: Number.NaN, highFreeSpaces: Number.NaN }));
  }

  /** The coefficient on the current deviation at each horizon, as learnt so far. */
  phi(k: number): number {
    return Math.min(1.2, Math.max(0, this.sxy[k]! / this.sxx[k]!));
  }

  /** Records the free spaces at tMs (a step boundary, in time order; NaN when unknown) and forecasts from it. */
  observe(tMs: number, freeSpaces: number): void {
    const step = Math.round((tMs + this.offsetMs) / this.stepMs);
    if (!Number.isFinite(step)) throw new GreenwaveError(ErrorCode.InvalidInput, `observation time ${tMs} is not a time`, [{ path: 'tMs', message: 'must be a time' }]);
    if (step <= this.lastStep) throw new GreenwaveError(ErrorCode.InvalidInput, `observation at ${tMs} is not after the previous one`, [{ path: 'tMs', message: 'must increase' }]);
    this.lastStep = step;
    const x = Number.isNaN(freeSpaces) ? Number.NaN : Math.min(this.capacity, Math.max(0, freeSpaces));
    const day = Math.floor(step / this.stepsPerDay);
    const slot = step - day * this.stepsPerDay;
    this.dayValues(day)[slot] = x;
    this.settle(step, x);

    const pNow = this.profile(day, slot);
    const dev = x - pNow;
    for (let k = 0; k < this.hSteps.length; k++) {
      const target = step + this.hSteps[k]!;
      const tDay = Math.floor(target / this.stepsPerDay);
      const pAt = this.profile(tDay, target - tDay * this.stepsPerDay);
      let pred: number;
      if (Number.isNaN(x)) pred = Number.NaN;
      else if (Number.isNaN(pNow) || Number.isNaN(pAt)) pred = x;
      else pred = Math.min(this.capacity, Math.max(0, pAt + this.phi(k) * dev));
      const r = k * this.ringLen + (target % this.ringLen);
      this.pendTarget[r] = Number.isNaN(pred) ? Number.NaN : target;
      this.pendPred[r] = pred;
      this.pendDev[r] = Number.isNaN(pNow) || Number.isNaN(pAt) ? Number.NaN : dev;
      this.pendProf[r] = pAt;
      this.current[k] = this.withBand(k, pred, target);
    }
  }

  /** The forecasts from the latest observation, one per horizon. */
  forecasts(): readonly FreeSpaceForecast[] {
    return this.current;
  }

  /** The forecast at one horizon (minutes, one of horizonsMin). */
  forecast(horizonMin: number): FreeSpaceForecast {
    const k = this.horizonsMin.indexOf(horizonMin);
    if (k < 0) throw new OptionError('horizonMin', `must be one of ${this.horizonsMin.join(', ')}, got ${horizonMin}`);
    return this.current[k]!;
  }

  // -------------------------------------------------------------------------

  /** Scores the forecasts that targeted this step: their errors feed the band, their deviations φ. */
  private settle(step: number, x: number): void {
    const hour = Math.floor(((step % this.stepsPerDay) * 24) / this.stepsPerDay);
    for (let k = 0; k < this.hSteps.length; k++) {
      const r = k * this.ringLen + (step % this.ringLen);
      if (this.pendTarget[r] !== step) continue;
      this.pendTarget[r] = Number.NaN;
      if (Number.isNaN(x)) continue;
      const b = k * 24 + hour;
      this.errs[b * this.M + this.errHead[b]!] = x - this.pendPred[r]!;
      this.errHead[b] = (this.errHead[b]! + 1) % this.M;
      if (this.errCount[b]! < this.M) this.errCount[b]!++;
      const dev = this.pendDev[r]!;
      if (!Number.isNaN(dev)) {
        // Forget old evidence, then add this pair (deviation then, deviation now from the same profile value).
        this.sxx[k] = this.lambda * this.sxx[k]! + dev * dev;
        this.sxy[k] = this.lambda * this.sxy[k]! + dev * (x - this.pendProf[r]!);
      }
    }
  }

  private withBand(k: number, pred: number, target: number): FreeSpaceForecast {
    const horizonMin = this.horizonsMin[k]!;
    if (Number.isNaN(pred)) return { horizonMin, freeSpaces: pred, lowFreeSpaces: Number.NaN, highFreeSpaces: Number.NaN };
    const hour = Math.floor(((target % this.stepsPerDay) * 24) / this.stepsPerDay);
    const b = k * 24 + hour;
    let sample: Float64Array;
    if (this.errCount[b]! >= BAND_MIN_ERRORS) sample = this.errs.slice(b * this.M, b * this.M + this.errCount[b]!);
    else {
      const all: number[] = [];
      for (let h = 0; h < 24; h++) {
        const bb = k * 24 + h;
        for (let j = 0; j < this.errCount[bb]!; j++) all.push(this.errs[bb * this.M + j]!);
      }
      // No errors yet: the band is everything possible.
      if (all.length < BAND_MIN_ERRORS) return { horizonMin, freeSpaces: pred, lowFreeSpaces: 0, highFreeSpaces: this.capacity };
      sample = Float64Array.from(all);
    }
    sample.sort();
    const lo = quantileSorted(sample, this.qLow);
    const hi = quantileSorted(sample, this.qHigh);
    return {
      horizonMin,
      freeSpaces: pred,
      lowFreeSpaces: Math.max(0, Math.min(pred, pred + lo)),
      highFreeSpaces: Math.min(this.capacity, Math.max(pred, pred + hi)),
    };
  }

  private dayValues(day: number): Float64Array {
    let v = this.days.get(day);
    if (v) return v;
    v = new Float64Array(this.stepsPerDay).fill(Number.NaN);
    this.days.set(day, v);
    const list = this.byType[this.dayType(day)]!;
    list.push(day);
    // Keep the profile's days and the current one; forget older days.
    if (list.length > this.K + 1) {
      const old = list.shift()!;
      this.days.delete(old);
      this.typeCache.delete(old);
    }
    return v;
  }

  private dayType(day: number): number {
    let t = this.typeCache.get(day);
    if (t !== undefined) return t;
    const date = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    // Day 0 (1970-01-01) was a Thursday: Monday is 0.
    t = this.holidays.has(date) ? HOLIDAY : (((day + 3) % 7) + 7) % 7;
    this.typeCache.set(day, t);
    return t;
  }

  /** Median over the last K earlier days of the day's type of the (smoothed) value at the slot; NaN with none. */
  private profile(day: number, slot: number): number {
    const type = this.dayType(day);
    let list = this.byType[type]!;
    if (type === HOLIDAY && !list.some((d) => d < day)) list = this.byType[SUNDAY]!;
    const vals: number[] = [];
    for (let j = list.length - 1; j >= 0 && vals.length < this.K; j--) {
      const d = list[j]!;
      if (d >= day) continue;
      const v = this.smoothedAt(this.days.get(d)!, slot);
      if (!Number.isNaN(v)) vals.push(v);
    }
    if (vals.length === 0) return Number.NaN;
    vals.sort((a, b) => a - b);
    const m = vals.length >> 1;
    return vals.length % 2 === 1 ? vals[m]! : (vals[m - 1]! + vals[m]!) / 2;
  }

  private smoothedAt(values: Float64Array, slot: number): number {
    let s = 0;
    let n = 0;
    for (let j = Math.max(0, slot - this.smooth); j <= Math.min(this.stepsPerDay - 1, slot + this.smooth); j++) {
      const v = values[j]!;
      if (Number.isNaN(v)) continue;
      s += v;
      n++;
    }
    return n > 0 ? s / n : Number.NaN;
  }
}

/** Linear-interpolated quantile of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
