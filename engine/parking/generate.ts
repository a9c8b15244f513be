/**
 * Synthetic, seeded occupancy series for testing and benchmarking the free-space
 * predictor (./predict.ts, bench/parking/predict.ts): a few months of occupancy
 * every 5 minutes for one car park of a given kind, with weekly seasonality,
 * day-to-day variation in level and timing, autocorrelated noise, public
 * holidays (which the predictor is told about, as a calendar) and events
 * (unannounced surges the predictor is not told about).
 *
 * Kinds: `commute` (an office-district garage: full on weekday working hours,
 * quiet at weekends and on holidays), `shopping` (a mall: evenings and weekends,
 * busiest on holidays, often full), `hospital` (weekday mornings, a long plateau,
 * visiting hours at weekends). The shapes are sums of smooth ramps; nothing here
 * is fitted to real data, and the benchmark says so.
 */
import { mulberry32 } from '../numeric.js';
import { localDateOf } from './occupancyHours.js';

export type SyntheticKind = 'commute' | 'shopping' | 'hospital';
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['commute', 'shopping', 'hospital'];

/** China's 2026 public holidays in the default period (Qingming, Labour Day, Dragon Boat). */
export const DEFAULT_HOLIDAYS_2026: readonly string[] = ['2026-04-04', '2026-04-05', '2026-04-06', '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05', '2026-06-19', '2026-06-20', '2026-06-21'];

export interface GenerateOptions {
  readonly kind: SyntheticKind;
  readonly capacity: number;
  readonly seed: number;
  /** First sample, ms; default Monday 2026-03-02 00:00 at UTC+8. */
  readonly startMs?: number;
  readonly days?: number;
  readonly stepMin?: number;
  readonly utcOffsetMin?: number;
  /** Local dates 'YYYY-MM-DD' that are holidays. */
  readonly holidays?: readonly string[];
  /** Mean number of unannounced events per week. Default 0.7. */
  readonly eventsPerWeek?: number;
}

export interface SyntheticEvent {
  readonly startMs: number;
  readonly endMs: number;
  /** Extra occupancy at the event's height, as a fraction of capacity. */
  readonly extraFraction: number;
}

export interface SyntheticSeries {
  readonly kind: SyntheticKind;
  readonly capacity: number;
  readonly startMs: number;
  readonly stepMin: number;
  readonly utcOffsetMin: number;
  /** Occupied spaces per step, integers in 0..capacity. */
  readonly occupied: Float64Array;
  readonly holidays: readonly string[];
  readonly events: readonly SyntheticEvent[];
}

export const DEFAULT_START_MS = Date.UTC(2026, 2, 1, 16, 0);
const MS_PER_MIN = 60_000;

/** A smooth step from 0 to 1 centred on `atH` (hours), about `widthH` wide. */
function ramp(h: number, atH: number, widthH: number): number {
  return 1 / (1 + Math.exp(-(h - atH) / (widthH / 4)));
}

/** A plateau between two ramps, height `level`. */
function bump(h: number, upH: number, downH: number, widthH: number, level: number): number {
  return level * ramp(h, upH, widthH) * (1 - ramp(h, downH, widthH));
}

/** Day types the shapes are given for: 0 weekday, 1 Friday, 2 Saturday, 3 Sunday, 4 holiday. */
function baseFraction(kind: SyntheticKind, dayType: number, h: number, shiftH: number): number {
  const x = h - shiftH;
  switch (kind) {
    case 'commute':
      if (dayType <= 1) return 0.06 + bump(x, 8.2, dayType === 1 ? 17.2 : 18.0, 1.4, 0.86) + bump(x, 19.5, 22.0, 1, 0.06);
      if (dayType === 2) return 0.05 + bump(x, 10, 17, 2, 0.22);
      return 0.04 + bump(x, 10.5, 16, 2, dayType === 4 ? 0.1 : 0.14);
    case 'shopping':
      if (dayType === 0) return 0.05 + bump(x, 10.5, 21.5, 1.5, 0.42) + bump(x, 18, 21, 1, 0.2);
      if (dayType === 1) return 0.05 + bump(x, 10.5, 22, 1.5, 0.5) + bump(x, 17.5, 21.5, 1, 0.35);
      if (dayType === 2) return 0.06 + bump(x, 10, 22, 1.6, 0.95);
      if (dayType === 3) return 0.06 + bump(x, 10.5, 20.5, 1.6, 0.85);
      return 0.06 + bump(x, 9.5, 22, 1.6, 1.05);
    case 'hospital':
      if (dayType <= 1) return 0.12 + bump(x, 7.8, 16.5, 1.6, 0.8) - bump(x, 12, 13.5, 0.6, 0.15) + bump(x, 18.5, 20.5, 1, 0.15);
      if (dayType === 2) return 0.12 + bump(x, 9, 17, 2, 0.45) + bump(x, 18.5, 20.5, 1, 0.12);
      return 0.12 + bump(x, 9.5, 17, 2, dayType === 4 ? 0.4 : 0.32) + bump(x, 18.5, 20.5, 1, 0.12);
  }
}

/** A standard normal draw (Box–Muller) from a uniform source. */
function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function generateOccupancy(opts: GenerateOptions): SyntheticSeries {
  const startMs = opts.startMs ?? DEFAULT_START_MS;
  const days = opts.days ?? 112;
  const stepMin = opts.stepMin ?? 5;
  const utcOffsetMin = opts.utcOffsetMin ?? 480;
  const holidays = opts.holidays ?? DEFAULT_HOLIDAYS_2026;
  const holidaySet = new Set(holidays);
  const rand = mulberry32(opts.seed);
  const stepsPerDay = Math.round(1440 / stepMin);
  const n = days * stepsPerDay;
  const occupied = new Float64Array(n);

  // Events: a Poisson number per week, placed at random in the day's active hours.
  const events: SyntheticEvent[] = [];
  const rate = opts.eventsPerWeek ?? 0.7;
  for (let d = 0; d < days; d++) {
    if (rand() >= rate / 7) continue;
    const startH = 9 + rand() * 11;
    const durH = 2 + rand() * 3;
    const dayMs = startMs + d * 1440 * MS_PER_MIN;
    events.push({ startMs: dayMs + startH * 3_600_000, endMs: dayMs + (startH + durH) * 3_600_000, extraFraction: 0.15 + rand() * 0.35 });
  }

  let noise = 0;
  for (let d = 0; d < days; d++) {
    const dayStartMs = startMs + d * 1440 * MS_PER_MIN;
    // Local calendar of the day (the series starts at a local midnight).
    const date = localDateOf(dayStartMs + 12 * 3_600_000, utcOffsetMin);
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7; // 0 Monday … 6 Sunday
    const dayType = holidaySet.has(date) ? 4 : weekday <= 3 ? 0 : weekday === 4 ? 1 : weekday === 5 ? 2 : 3;
    // The day's level and timing vary: weather, school terms, a late morning.
    const level = 1 + 0.07 * gaussian(rand);
    const shiftH = 0.25 * gaussian(rand);
    for (let s = 0; s < stepsPerDay; s++) {
      const tMs = dayStartMs + s * stepMin * MS_PER_MIN;
      const h = (s * stepMin) / 60;
      noise = 0.93 * noise + 0.012 * gaussian(rand);
      let f = baseFraction(opts.kind, dayType, h, shiftH) * level + noise;
      for (const e of events) {
        if (tMs < e.startMs - 3_600_000 || tMs > e.endMs + 3_600_000) continue;
        // 45-minute ramps up and down around the event's span.
        const up = ramp((tMs - e.startMs) / 3_600_000, 0, 1.5);
        const down = 1 - ramp((tMs - e.endMs) / 3_600_000, 0, 1.5);
        f += e.extraFraction * up * down;
      }
      occupied[d * stepsPerDay + s] = Math.round(Math.min(1, Math.max(0, f)) * opts.capacity);
    }
  }
  return { kind: opts.kind, capacity: opts.capacity, startMs, stepMin, utcOffsetMin, occupied, holidays: [...holidays], events };
}
