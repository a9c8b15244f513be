/**
 * Free spaces of one car park 15, 30 and 60 minutes ahead, with an uncertainty
 * band, from its own recent past. Fed every step (5 min) with the tracker's
 * vacant spaces (./occupancy.ts; NaN while unknown or closed); read by the
 * recommendation (the probability of a space on arrival) and the service.
 * Compared with two baselines in ./predictBaselines.ts and bench/parking.
 *
 * Method (docs/parking.md, "Prediction"):
 *  - a seasonal profile: for each day type (Monday … Sunday, and holidays from
 *    a calendar) and time of day, the mean of the last `profileDays` days of
 *    that type without the highest and the lowest (so one event or one odd day
 *    does not move it), each day smoothed over ±20 min; a holiday with no
 *    earlier holiday yet uses the Sunday profile;
 *  - the forecast is the profile at the target time corrected by the current
 *    deviation from the profile d, its change over 15 min Δd and the profile's
 *    own change to the target: free(t+h) = P(t+h) + a·d + b·Δd + c·(P(t+h) - P(t)),
 *    clamped to 0…capacity. a, b, c are least-squares coefficients learnt
 *    online per car park and horizon with forgetting, from a ridge prior
 *    (a = exp(-h / 120 min), b = c = 0);
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
  /** Days of each type the profile is made from. Default 6. */
  readonly profileDays?: number;
  /** Days dropped at each end before averaging the profile's days (-1: the median instead). Default 1. */
  readonly profileTrim?: number;
  /** Slots either side of the time averaged into each day's value (smoothing). Default 4 (±20 min). */
  readonly profileSmoothSlots?: number;
  /** Per-step forgetting of the coefficients' sums (0.9995: a half-life of about 5 days at 5 min). */
  readonly coefForgetting?: number;
  /** Regressors: 1 deviation; 2 and its change over 15 min; 3 and the profile's change to the target. Default 3. */
  readonly terms?: 1 | 2 | 3;
  /** Minutes over which the prior on the deviation's coefficient decays (a0 = exp(-h / τ)). Default 120. */
  readonly coefPriorTauMin?: number;
  /** Quantiles of the band. Default [0.1, 0.9]. */
  readonly bandQuantiles?: readonly [number, number];
  /** Errors kept per horizon and hour of day. Default 288 (24 days of that hour at 5 min). */
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
/** Steps over which the deviation's change is taken (15 min at 5 min). */
const CHANGE_STEPS = 3;
const DEV_RING = 8;

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
  private readonly trim: number;
  private readonly lambda: number;
  private readonly qLow: number;
  private readonly qHigh: number;
  private readonly M: number;

  /** Observed free spaces per local day number, one value per step (NaN: missing). Float32 (as the errors): a city keeps one predictor per car park. */
  private readonly days = new Map<number, Float32Array>();
  /** Day numbers seen, per day type 0 Monday … 6 Sunday, 7 holiday; ascending. */
  private readonly byType: number[][] = [[], [], [], [], [], [], [], []];
  private readonly typeCache = new Map<number, number>();
  private lastStep = Number.NEGATIVE_INFINITY;

  /** Regressors used: 1 (deviation), 2 (and its change over the last 15 min), 3 (and the profile's change to the target). */
  private readonly terms: number;
  /** Normal equations per horizon: A (terms x terms, row-major in a 3 x 3 block) and b (3). */
  private readonly ata: Float64Array;
  private readonly atb: Float64Array;
  /** The coefficients per horizon, solved after each update. */
  private readonly coef: Float64Array;
  /** Deviation from the profile at recent steps, ring by step (for the change regressor). */
  private readonly devRing = new Float64Array(DEV_RING).fill(Number.NaN);
  private readonly devRingStep = new Float64Array(DEV_RING).fill(Number.NaN);
  /** Pending forecasts per horizon, ring by target step: target, forecast, the regressors, profile at target. */
  private readonly pendTarget: Float64Array;
  private readonly pendPred: Float64Array;
  private readonly pendZ: Float64Array;
  private readonly pendProf: Float64Array;
  private readonly ringLen: number;
  /** Errors (actual - forecast) per horizon and hour: ring of M. */
  private readonly errs: Float32Array;
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
    this.K = opts.profileDays ?? 6;
    this.smooth = opts.profileSmoothSlots ?? 4;
    this.trim = opts.profileTrim ?? 1;
    this.lambda = opts.coefForgetting ?? 0.9995;
    const [qLow, qHigh] = opts.bandQuantiles ?? [0.1, 0.9];
    this.qLow = qLow;
    this.qHigh = qHigh;
    this.M = opts.bandErrorsKept ?? 288;
    const nH = this.hSteps.length;
    this.terms = opts.terms ?? 3;
    // Prior (ridge): 50 pseudo-observations of 5 % of capacity on each regressor, towards a0 = exp(-h / τ) on the deviation and 0 on the others.
    const tau = opts.coefPriorTauMin ?? 120;
    const prior = 50 * (0.05 * Math.max(1, this.capacity)) ** 2;
    this.ata = new Float64Array(nH * 9);
    this.atb = new Float64Array(nH * 3);
    this.coef = new Float64Array(nH * 3);
    for (let k = 0; k < nH; k++) {
      for (let j = 0; j < 3; j++) this.ata[k * 9 + j * 4] = prior;
      this.atb[k * 3] = prior * Math.exp(-this.horizonsMin[k]! / tau);
      this.solve(k);
    }
    this.ringLen = Math.max(...this.hSteps) + 1;
    this.pendTarget = new Float64Array(nH * this.ringLen).fill(Number.NaN);
    this.pendPred = new Float64Array(nH * this.ringLen);
    this.pendZ = new Float64Array(nH * this.ringLen * 3);
    this.pendProf = new Float64Array(nH * this.ringLen);
    this.errs = new Float32Array(nH * 24 * this.M);
    this.errCount = new Int32Array(nH * 24);
    this.errHead = new Int32Array(nH * 24);
    this.current = this.horizonsMin.map((horizonMin) => ({ horizonMin, freeSpaces: Number.NaN, lowFreeSpaces: Number.NaN, highFreeSpaces: Number.NaN }));
  }

  /** The coefficients at horizon k (deviation, its change, the profile's change), as learnt so far. */
  coefficients(k: number): number[] {
    return [this.coef[k * 3]!, this.coef[k * 3 + 1]!, this.coef[k * 3 + 2]!];
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
    this.devRing[step % DEV_RING] = dev;
    this.devRingStep[step % DEV_RING] = step;
    const before = (step - CHANGE_STEPS) % DEV_RING;
    // A missed step leaves an older value in the ring: no change regressor then.
    const devBefore = this.devRingStep[before] === step - CHANGE_STEPS ? this.devRing[before]! : Number.NaN;
    const dDev = Number.isNaN(devBefore) ? 0 : dev - devBefore;
    for (let k = 0; k < this.hSteps.length; k++) {
      const target = step + this.hSteps[k]!;
      const tDay = Math.floor(target / this.stepsPerDay);
      const pAt = this.profile(tDay, target - tDay * this.stepsPerDay);
      let pred: number;
      if (Number.isNaN(x)) pred = Number.NaN;
      else if (Number.isNaN(pNow) || Number.isNaN(pAt)) pred = x;
      else pred = Math.min(this.capacity, Math.max(0, pAt + this.coef[k * 3]! * dev + this.coef[k * 3 + 1]! * dDev + this.coef[k * 3 + 2]! * (pAt - pNow)));
      const r = k * this.ringLen + (target % this.ringLen);
      this.pendTarget[r] = Number.isNaN(pred) ? Number.NaN : target;
      this.pendPred[r] = pred;
      const ok = !Number.isNaN(pNow) && !Number.isNaN(pAt);
      this.pendZ[r * 3] = ok ? dev : Number.NaN;
      this.pendZ[r * 3 + 1] = dDev;
      this.pendZ[r * 3 + 2] = pAt - pNow;
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

  /** Scores the forecasts that targeted this step: their errors feed the band, their regressors the coefficients. */
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
      if (!Number.isNaN(this.pendZ[r * 3]!)) {
        // Forget old evidence, then add this case: the regressors then, the deviation now from the profile value used.
        const y = x - this.pendProf[r]!;
        for (let i = 0; i < this.terms; i++) {
          const zi = this.pendZ[r * 3 + i]!;
          this.atb[k * 3 + i] = this.lambda * this.atb[k * 3 + i]! + zi * y;
          for (let j = 0; j < this.terms; j++) this.ata[k * 9 + i * 3 + j] = this.lambda * this.ata[k * 9 + i * 3 + j]! + zi * this.pendZ[r * 3 + j]!;
        }
        this.solve(k);
      }
    }
  }

  /** Solves the horizon's normal equations for its coefficients (Gaussian elimination, terms <= 3; unused terms stay 0). */
  private solve(k: number): void {
    const n = this.terms;
    const a = new Float64Array(9);
    const b = new Float64Array(3);
    for (let i = 0; i < n; i++) {
      b[i] = this.atb[k * 3 + i]!;
      for (let j = 0; j < n; j++) a[i * 3 + j] = this.ata[k * 9 + i * 3 + j]!;
    }
    for (let c = 0; c < n; c++) {
      const piv = a[c * 3 + c]!;
      if (!(Math.abs(piv) > 1e-12)) return;
      for (let i = c + 1; i < n; i++) {
        const f = a[i * 3 + c]! / piv;
        for (let j = c; j < n; j++) a[i * 3 + j]! -= f * a[c * 3 + j]!;
        b[i]! -= f * b[c]!;
      }
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = b[i]!;
      for (let j = i + 1; j < n; j++) v -= a[i * 3 + j]! * this.coef[k * 3 + j]!;
      this.coef[k * 3 + i] = v / a[i * 3 + i]!;
    }
  }

  private withBand(k: number, pred: number, target: number): FreeSpaceForecast {
    const horizonMin = this.horizonsMin[k]!;
    if (Number.isNaN(pred)) return { horizonMin, freeSpaces: pred, lowFreeSpaces: Number.NaN, highFreeSpaces: Number.NaN };
    const hour = Math.floor(((target % this.stepsPerDay) * 24) / this.stepsPerDay);
    const b = k * 24 + hour;
    let sample: Float32Array;
    if (this.errCount[b]! >= BAND_MIN_ERRORS) sample = this.errs.slice(b * this.M, b * this.M + this.errCount[b]!);
    else {
      const all: number[] = [];
      for (let h = 0; h < 24; h++) {
        const bb = k * 24 + h;
        for (let j = 0; j < this.errCount[bb]!; j++) all.push(this.errs[bb * this.M + j]!);
      }
      // No errors yet: the band is everything possible.
      if (all.length < BAND_MIN_ERRORS) return { horizonMin, freeSpaces: pred, lowFreeSpaces: 0, highFreeSpaces: this.capacity };
      sample = Float32Array.from(all);
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

  private dayValues(day: number): Float32Array {
    let v = this.days.get(day);
    if (v) return v;
    v = new Float32Array(this.stepsPerDay).fill(Number.NaN);
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
    if (this.trim >= 0) {
      // Trimmed mean: drop the `trim` lowest and highest when enough days remain.
      const cut = vals.length > 2 * this.trim ? this.trim : 0;
      let sum = 0;
      for (let j = cut; j < vals.length - cut; j++) sum += vals[j]!;
      return sum / (vals.length - 2 * cut);
    }
    const m = vals.length >> 1;
    return vals.length % 2 === 1 ? vals[m]! : (vals[m - 1]! + vals[m]!) / 2;
  }

  private smoothedAt(values: Float32Array, slot: number): number {
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
