/**
 * Opening hours of a car park as a test "is it open at tMs?", in the parking
 * file's local time (`utcOffsetMin`). Called by the occupancy tracker
 * (./occupancy.ts), which reports a car park outside its hours as `closed`.
 *
 * Rules (docs/parking.md, "Occupancy"): days are ISO 1 = Monday … 7 = Sunday;
 * a close of 24:00 ends at midnight; a close earlier than the open runs past
 * midnight into the next day (a Sunday 22:00–02:00 ends Monday 02:00); a close
 * equal to the open means the whole 24 hours from that time. The hours are
 * compiled once into intervals of minute-of-week so the hot test is a scan
 * of a few numbers, not string parsing.
 */
import type { OpeningHours } from './schema.js';

export const MIN_PER_DAY = 1440;
export const MIN_PER_WEEK = 7 * MIN_PER_DAY;
const MS_PER_MIN = 60_000;
const MS_PER_DAY = 86_400_000;

/** Open intervals [start, end) in minutes since Monday 00:00 local; end may exceed a week (runs into Monday). */
export interface CompiledHours {
  /** True for '24/7': no test needed. */
  readonly always: boolean;
  /** Pairs start, end. */
  readonly intervals: Float64Array;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

export function compileOpeningHours(hours: OpeningHours): CompiledHours {
  if (hours === '24/7') return { always: true, intervals: new Float64Array(0) };
  const out: number[] = [];
  for (const rule of hours) {
    const open = minutesOf(rule.open);
    const close = minutesOf(rule.close);
    // A close at or before the open runs past midnight (equal: the full 24 hours).
    const length = close > open ? close - open : close + MIN_PER_DAY - open;
    for (const day of rule.days) {
      const start = (day - 1) * MIN_PER_DAY + open;
      out.push(start, start + length);
    }
  }
  return { always: false, intervals: Float64Array.from(out) };
}

/** ISO day of week (1 = Monday … 7 = Sunday) and minute of that day, in local time. */
export function localDayAndMinute(tMs: number, utcOffsetMin: number): { isoDay: number; minuteOfDay: number } {
  const localMs = tMs + utcOffsetMin * MS_PER_MIN;
  const dayNumber = Math.floor(localMs / MS_PER_DAY);
  // 1970-01-01 was a Thursday (ISO 4).
  const isoDay = (((dayNumber + 3) % 7) + 7) % 7 + 1;
  const minuteOfDay = Math.floor((localMs - dayNumber * MS_PER_DAY) / MS_PER_MIN);
  return { isoDay, minuteOfDay };
}

/** Minutes since Monday 00:00 local, 0 … 10079 (fractional minutes kept). */
export function minuteOfWeek(tMs: number, utcOffsetMin: number): number {
  const localMin = (tMs + utcOffsetMin * MS_PER_MIN) / MS_PER_MIN;
  // Epoch day 0 was a Thursday: Monday 00:00 is 3 days before it.
  const m = (localMin + 3 * MIN_PER_DAY) % MIN_PER_WEEK;
  return m < 0 ? m + MIN_PER_WEEK : m;
}

export function isOpenAt(hours: CompiledHours, tMs: number, utcOffsetMin: number): boolean {
  if (hours.always) return true;
  const m = minuteOfWeek(tMs, utcOffsetMin);
  const iv = hours.intervals;
  for (let k = 0; k < iv.length; k += 2) {
    const s = iv[k]!;
    const e = iv[k + 1]!;
    // An interval past Sunday midnight also covers the first minutes of the week.
    if ((m >= s && m < e) || (m + MIN_PER_WEEK >= s && m + MIN_PER_WEEK < e)) return true;
  }
  return false;
}

/** The local calendar date 'YYYY-MM-DD' at tMs: how holiday calendars are keyed. */
export function localDateOf(tMs: number, utcOffsetMin: number): string {
  return new Date(tMs + utcOffsetMin * MS_PER_MIN).toISOString().slice(0, 10);
}
