/**
 * Scores the free-space predictor (./predict.ts) against the two baselines
 * (./predictBaselines.ts) on one series of occupancy: the predictor is fed the
 * series step by step (it never sees the future), and from `fromDay` on every
 * forecast with a known outcome is scored. Mean absolute error in spaces per
 * horizon, and how often the outcome fell inside the band; overall, and for
 * targets on holidays and in events (±1 h) apart. Called by
 * bench/parking/predict.ts and predict.test.ts.
 */
import { FreeSpacePredictor, HORIZONS_MIN, type FreeSpacePredictorOptions } from './predict.js';
import { persistenceForecast, relativizedAverageForecast } from './predictBaselines.js';
import { mulberry32 } from '../numeric.js';
import { localDateOf } from './occupancyHours.js';
import { SYNTHETIC_KINDS, type GenerateOptions, type SyntheticSeries } from './generate.js';

/** Sums per horizon; add several series together, then divide. */
export interface HorizonSums {
  readonly horizonsMin: readonly number[];
  readonly n: Float64Array;
  readonly absErrMethod: Float64Array;
  readonly absErrPersistence: Float64Array;
  readonly absErrRelativized: Float64Array;
  readonly inBand: Float64Array;
  readonly bandWidth: Float64Array;
}

/** All forecasts, and those whose target falls on a holiday or in an event (from an hour before to an hour after). */
export interface ScoreSums {
  readonly all: HorizonSums;
  readonly holiday: HorizonSums;
  readonly event: HorizonSums;
}
export const SLICES = ['all', 'holiday', 'event'] as const;

function emptyHorizonSums(horizonsMin: readonly number[]): HorizonSums {
  const z = () => new Float64Array(horizonsMin.length);
  return { horizonsMin, n: z(), absErrMethod: z(), absErrPersistence: z(), absErrRelativized: z(), inBand: z(), bandWidth: z() };
}

export function emptySums(horizonsMin: readonly number[] = HORIZONS_MIN): ScoreSums {
  return { all: emptyHorizonSums(horizonsMin), holiday: emptyHorizonSums(horizonsMin), event: emptyHorizonSums(horizonsMin) };
}

/** The element-wise sum of several score sums over the same horizons. */
export function addSums(parts: readonly ScoreSums[]): ScoreSums {
  const out = emptySums(parts[0]?.all.horizonsMin);
  for (const p of parts) {
    for (const slice of SLICES) {
      for (const key of ['n', 'absErrMethod', 'absErrPersistence', 'absErrRelativized', 'inBand', 'bandWidth'] as const) {
        for (let k = 0; k < out.all.horizonsMin.length; k++) out[slice][key][k]! += p[slice][key][k]!;
      }
    }
  }
  return out;
}

function addOne(s: HorizonSums, k: number, actual: number, method: number, low: number, high: number, persistence: number, relativized: number): void {
  s.n[k]!++;
  s.absErrMethod[k]! += Math.abs(method - actual);
  s.absErrPersistence[k]! += Math.abs(persistence - actual);
  s.absErrRelativized[k]! += Math.abs(relativized - actual);
  if (actual >= low && actual <= high) s.inBand[k]!++;
  s.bandWidth[k]! += high - low;
}

export type PredictorTuning = Omit<FreeSpacePredictorOptions, 'capacity' | 'stepMin' | 'utcOffsetMin' | 'holidays' | 'horizonsMin'>;

/** Feeds one series through the predictor and adds its scores (from `fromDay` on) to `sums`. */
export function scoreSeries(series: SyntheticSeries, sums: ScoreSums, tuning: PredictorTuning = {}, fromDay = 21): ScoreSums {
  const cap = series.capacity;
  const free = series.occupied.map((o) => cap - o);
  const stepsPerDay = 1440 / series.stepMin;
  const stepsPerWeek = 7 * stepsPerDay;
  const horizonsMin = sums.all.horizonsMin;
  const hSteps = horizonsMin.map((h) => h / series.stepMin);
  const p = new FreeSpacePredictor({ ...tuning, capacity: cap, stepMin: series.stepMin, utcOffsetMin: series.utcOffsetMin, holidays: series.holidays, horizonsMin });
  const from = fromDay * stepsPerDay;
  const stepMs = series.stepMin * 60_000;
  const holidays = new Set(series.holidays);
  const onHoliday = Uint8Array.from({ length: free.length }, (_, t) => (holidays.has(localDateOf(series.startMs + t * stepMs, series.utcOffsetMin)) ? 1 : 0));
  const inEvent = new Uint8Array(free.length);
  for (const e of series.events) {
    for (let t = Math.max(0, Math.floor((e.startMs - 3_600_000 - series.startMs) / stepMs)); t < free.length && series.startMs + t * stepMs <= e.endMs + 3_600_000; t++) inEvent[t] = 1;
  }
  for (let t = 0; t < free.length; t++) {
    p.observe(series.startMs + t * series.stepMin * 60_000, free[t]!);
    if (t < from) continue;
    const fc = p.forecasts();
    for (let k = 0; k < hSteps.length; k++) {
      const h = hSteps[k]!;
      if (t + h >= free.length) continue;
      const actual = free[t + h]!;
      const f = fc[k]!;
      const persistence = persistenceForecast(free, t);
      const relativized = relativizedAverageForecast(free, t, h, stepsPerWeek, cap);
      addOne(sums.all, k, actual, f.freeSpaces, f.lowFreeSpaces, f.highFreeSpaces, persistence, relativized);
      if (onHoliday[t + h]) addOne(sums.holiday, k, actual, f.freeSpaces, f.lowFreeSpaces, f.highFreeSpaces, persistence, relativized);
      if (inEvent[t + h]) addOne(sums.event, k, actual, f.freeSpaces, f.lowFreeSpaces, f.highFreeSpaces, persistence, relativized);
    }
  }
  return sums;
}

export interface ScoreRow {
  readonly horizonMin: number;
  readonly n: number;
  readonly maeMethod: number;
  readonly maePersistence: number;
  readonly maeRelativized: number;
  /** Share of outcomes inside the band (the band is 10th–90th: 0.8 is on target). */
  readonly coverage: number;
  readonly meanBandWidth: number;
}

export function scoreRows(s: HorizonSums): ScoreRow[] {
  return s.horizonsMin.map((horizonMin, k) => {
    const n = s.n[k]!;
    return {
      horizonMin,
      n,
      maeMethod: s.absErrMethod[k]! / n,
      maePersistence: s.absErrPersistence[k]! / n,
      maeRelativized: s.absErrRelativized[k]! / n,
      coverage: s.inBand[k]! / n,
      meanBandWidth: s.bandWidth[k]! / n,
    };
  });
}

/**
 * The benchmark's car parks: each seed gives one car park of every kind, its
 * capacity drawn from the seed. Tuning happens on TUNING_SEEDS only; the
 * held-out seeds were fixed before any tuning and are only ever scored.
 */
export const TUNING_SEEDS: readonly number[] = [1, 2, 3, 4];
export const HELD_OUT_SEEDS: readonly number[] = [1001, 1002, 1003, 1004];

export function benchmarkCarParks(seeds: readonly number[], days = 112): GenerateOptions[] {
  const out: GenerateOptions[] = [];
  for (const seed of seeds) {
    const rand = mulberry32(seed * 7919);
    for (const [k, kind] of SYNTHETIC_KINDS.entries()) {
      out.push({ kind, seed: seed * 10 + k, capacity: 60 + Math.floor(rand() * 440), days });
    }
  }
  return out;
}
