/**
 * Short-term flow prediction per detector: the next few intervals' volumes
 * from recent (cleaned) counts and a time-of-day profile. Called by the
 * adaptive planner before it times the next cycles.
 *
 * Model: volume(t) = profile(t) x (1 + l(t)) + noise, where the state
 * [l, b] is a damped local level + trend of the relative deviation from the
 * profile. The measurement is linear in the state with H = [profile(t), 0], so
 * quiet night intervals (profile ~ 0) carry almost no information, as they
 * should; the measurement variance is Poisson-like (max(profile, 1)).
 * The filter runs only over a bounded look-back window, so cost does not
 * grow with the length of the history. Its 2x2 algebra is written out by
 * hand: a matrix library cost 1.5–2 s of start-up in every process that
 * plans (the CLI, each test file) for four multiplications; the terms are
 * summed in the order a matrix product sums them (k = 0, then 1).
 */
import { ValidationError } from '../errors.js';
import type { DetectorCounts } from './csv.js';

export interface Profile {
  readonly intervalS: number;
  readonly detectorIds: readonly string[];
  /** 86400 / intervalS. */
  readonly intervalsPerDay: number;
  /** Expected veh per interval, [slotOfDay * nDetectors + detector]; slot = seconds since midnight / intervalS. */
  readonly volumeVeh: Float64Array;
}

export interface PredictOptions {
  /** Last observed interval index, inclusive. */
  readonly atInterval: number;
  /** Number of intervals to predict after `atInterval`. */
  readonly horizon: number;
  /** Time-of-day profile; built from the counts up to `atInterval` when absent. */
  readonly profile?: Profile;
}

/** Damping of the trend per step: trends fade within a few intervals instead of extrapolating for ever. */
export const TREND_DAMPING = 0.5;
/**
 * Process noise variances of the relative level and trend, per interval. Tuned
 * on simulated 15-minute data (predict.test.ts scenarios): smaller values track
 * day-level shifts slightly better but lag badly when peaks come early or late.
 */
export const LEVEL_PROCESS_VAR = 0.01;
export const TREND_PROCESS_VAR = 0.01;
/** Prior variance of the relative level: about +-30 % day-to-day level shifts. */
export const LEVEL_PRIOR_VAR = 0.1;
export const TREND_PRIOR_VAR = 1e-3;
/** Measurement variance per expected vehicle (1 = Poisson). */
export const COUNT_DISPERSION = 1;
/** Intervals of history the filter sees before `atInterval`, in days. */
export const LOOKBACK_DAYS = 1;
export const MAX_HORIZON_DAYS = 1;

const S_PER_DAY = 86_400;
const MS_PER_DAY = S_PER_DAY * 1000;

function slotOfDay(startMs: number, intervalS: number): number {
  const msOfDay = startMs - Math.floor(startMs / MS_PER_DAY) * MS_PER_DAY;
  return Math.floor(msOfDay / 1000 / intervalS);
}

function intervalsPerDayOf(intervalS: number): number {
  const n = S_PER_DAY / intervalS;
  if (!Number.isInteger(n)) {
    throw new ValidationError('cannot build a time-of-day profile', [{ path: 'intervalS', message: `${intervalS} s does not divide a day` }]);
  }
  return n;
}

/**
 * Mean volume by time of day over the counts (up to `throughInterval`, inclusive,
 * so a forecast never sees its own future). Slots with no data are filled by
 * circular linear interpolation; a detector with no data at all gets zeros.
 */
export function buildProfile(counts: DetectorCounts, opts: { throughInterval?: number } = {}): Profile {
  const nD = counts.detectorIds.length;
  const perDay = intervalsPerDayOf(counts.intervalS);
  const last = Math.min(opts.throughInterval ?? Infinity, counts.intervalStartMs.length - 1);
  const sum = new Float64Array(perDay * nD);
  const n = new Float64Array(perDay * nD);
  for (let t = 0; t <= last; t++) {
    const slot = slotOfDay(counts.intervalStartMs[t]!, counts.intervalS);
    for (let d = 0; d < nD; d++) {
      const v = counts.volumeVeh[t * nD + d]!;
      if (Number.isNaN(v)) continue;
      sum[slot * nD + d]! += v;
      n[slot * nD + d]! += 1;
    }
  }
  const volumeVeh = sum.map((s, c) => (n[c]! > 0 ? s / n[c]! : NaN));
  for (let d = 0; d < nD; d++) fillCircular(volumeVeh, d, nD, perDay);
  return { intervalS: counts.intervalS, detectorIds: [...counts.detectorIds], intervalsPerDay: perDay, volumeVeh };
}

/** Fills NaN slots of one detector by linear interpolation around the clock. */
function fillCircular(values: Float64Array, d: number, nD: number, perDay: number): void {
  const known: number[] = [];
  for (let s = 0; s < perDay; s++) if (!Number.isNaN(values[s * nD + d]!)) known.push(s);
  if (known.length === 0) {
    for (let s = 0; s < perDay; s++) values[s * nD + d] = 0;
    return;
  }
  for (let s = 0; s < perDay; s++) {
    if (!Number.isNaN(values[s * nD + d]!)) continue;
    const after = known.find((k) => k > s) ?? known[0]! + perDay;
    const before = [...known].reverse().find((k) => k < s) ?? known[known.length - 1]! - perDay;
    const vb = values[(((before % perDay) + perDay) % perDay) * nD + d]!;
    const va = values[(after % perDay) * nD + d]!;
    values[s * nD + d] = vb + ((va - vb) * (s - before)) / (after - before);
  }
}

function checkOptions(counts: DetectorCounts, opts: PredictOptions): void {
  const problems: { path: string; message: string }[] = [];
  const nI = counts.intervalStartMs.length;
  if (!Number.isInteger(opts.atInterval) || opts.atInterval < 0 || opts.atInterval >= nI) {
    problems.push({ path: 'atInterval', message: `${opts.atInterval} is not an interval index in 0..${nI - 1}` });
  }
  const maxHorizon = Math.max(1, Math.round((MAX_HORIZON_DAYS * S_PER_DAY) / counts.intervalS));
  if (!Number.isInteger(opts.horizon) || opts.horizon < 1 || opts.horizon > maxHorizon) {
    problems.push({ path: 'horizon', message: `${opts.horizon} must be a whole number of intervals, 1..${maxHorizon}` });
  }
  const p = opts.profile;
  if (p) {
    if (p.intervalS !== counts.intervalS) problems.push({ path: 'profile.intervalS', message: `${p.intervalS} s differs from the counts' ${counts.intervalS} s` });
    if (p.volumeVeh.length !== p.intervalsPerDay * p.detectorIds.length) problems.push({ path: 'profile.volumeVeh', message: 'length is not intervalsPerDay x detectors' });
    if (p.intervalsPerDay * p.intervalS !== S_PER_DAY) problems.push({ path: 'profile.intervalsPerDay', message: `${p.intervalsPerDay} x ${p.intervalS} s is not a day` });
    const have = new Set(p.detectorIds);
    for (const id of counts.detectorIds) if (!have.has(id)) problems.push({ path: 'profile.detectorIds', message: `no profile for detector "${id}"` });
  }
  if (problems.length > 0) throw new ValidationError('cannot predict volumes', problems);
}

/** Predicted veh per interval, [h * nDetectors + detector] for h = 0..horizon-1 (h = 0 is atInterval + 1). */
export function predictVolumes(counts: DetectorCounts, opts: PredictOptions): Float64Array {
  checkOptions(counts, opts);
  const profile = opts.profile ?? buildProfile(counts, { throughInterval: opts.atInterval });
  const nD = counts.detectorIds.length;
  const profileIndex = new Map(profile.detectorIds.map((id, i) => [id, i]));
  const out = new Float64Array(opts.horizon * nD);
  const lookback = Math.max(8, LOOKBACK_DAYS * profile.intervalsPerDay);
  const firstT = Math.max(0, opts.atInterval - lookback + 1);
  for (let d = 0; d < nD; d++) {
    const pd = profileIndex.get(counts.detectorIds[d]!)!;
    const expected = (startMs: number) => Math.max(0, profile.volumeVeh[slotOfDay(startMs, counts.intervalS) * profile.detectorIds.length + pd]!);
    let state = initialState();
    for (let t = firstT; t <= opts.atInterval; t++) {
      state = step(state, expected(counts.intervalStartMs[t]!), counts.volumeVeh[t * nD + d]!);
    }
    forecast(state, opts.horizon, (h) => expected(counts.intervalStartMs[opts.atInterval]! + (h + 1) * counts.intervalS * 1000)).forEach((v, h) => {
      out[h * nD + d] = v;
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Kalman filter on the relative deviation [level, trend]

interface FilterState {
  /** State mean [level, trend]. */
  x0: number;
  x1: number;
  /** State covariance, row-major. */
  p00: number;
  p01: number;
  p10: number;
  p11: number;
}

/** F = [[1, d], [0, d]] with d = TREND_DAMPING; Q = diag(LEVEL_PROCESS_VAR, TREND_PROCESS_VAR). */
const D = TREND_DAMPING;

function initialState(): FilterState {
  return { x0: 0, x1: 0, p00: LEVEL_PRIOR_VAR, p01: 0, p10: 0, p11: TREND_PRIOR_VAR };
}

/** One predict + update; a NaN observation only predicts. */
function step(s: FilterState, expectedVeh: number, observedVeh: number): FilterState {
  // Predict: x = F x; P = F P Fᵀ + Q.
  const x0 = 1 * s.x0 + D * s.x1;
  const x1 = 0 * s.x0 + D * s.x1;
  const a00 = 1 * s.p00 + D * s.p10;
  const a01 = 1 * s.p01 + D * s.p11;
  const a10 = 0 * s.p00 + D * s.p10;
  const a11 = 0 * s.p01 + D * s.p11;
  // Fᵀ = [[1, 0], [d, d]].
  const p00 = a00 * 1 + a01 * D + LEVEL_PROCESS_VAR;
  const p01 = a00 * 0 + a01 * D + 0;
  const p10 = a10 * 1 + a11 * D + 0;
  const p11 = a10 * 0 + a11 * D + TREND_PROCESS_VAR;
  if (Number.isNaN(observedVeh)) return { x0, x1, p00, p01, p10, p11 };
  // Update with H = [e, 0].
  const e = expectedVeh;
  const innovation = observedVeh - expectedVeh - (e * x0 + 0 * x1);
  const pht0 = p00 * e + p01 * 0;
  const pht1 = p10 * e + p11 * 0;
  const S = e * pht0 + 0 * pht1 + COUNT_DISPERSION * Math.max(expectedVeh, 1);
  const inv = 1 / S;
  const k0 = pht0 * inv;
  const k1 = pht1 * inv;
  // P = (I − K H) P.
  const m00 = 1 - k0 * e;
  const m01 = 0 - k0 * 0;
  const m10 = 0 - k1 * e;
  const m11 = 1 - k1 * 0;
  return {
    x0: x0 + k0 * innovation,
    x1: x1 + k1 * innovation,
    p00: m00 * p00 + m01 * p10,
    p01: m00 * p01 + m01 * p11,
    p10: m10 * p00 + m11 * p10,
    p11: m10 * p01 + m11 * p11,
  };
}

function forecast(s: FilterState, horizon: number, expectedAt: (h: number) => number): number[] {
  const out: number[] = [];
  let x0 = s.x0;
  let x1 = s.x1;
  for (let h = 0; h < horizon; h++) {
    const level = 1 * x0 + D * x1;
    x1 = 0 * x0 + D * x1;
    x0 = level;
    out.push(Math.max(0, expectedAt(h) * (1 + level)));
  }
  return out;
}
