import { describe, expect, it } from 'vitest';
import { GreenwaveError } from '../errors.js';
import { DEFAULT_START_MS, generateOccupancy } from './generate.js';
import { FreeSpacePredictor } from './predict.js';
import { relativizedAverageForecast } from './predictBaselines.js';
import { benchmarkCarParks, emptySums, HELD_OUT_SEEDS, scoreRows, scoreSeries } from './predictEvaluate.js';

const STEP = 5 * 60_000;
const DAY = 288;

describe('FreeSpacePredictor', () => {
  it('forecasts persistence until it has a day of the type, then the profile plus the damped deviation', () => {
    const p = new FreeSpacePredictor({ capacity: 100, horizonsMin: [15, 60] });
    // A week where free spaces follow the clock: 100 at midnight falling by 1 per step until 50.
    const shape = (s: number) => Math.max(50, 100 - (s % DAY));
    for (let s = 0; s < 7 * DAY; s++) {
      p.observe(DEFAULT_START_MS + s * STEP, shape(s));
      if (s === 10) expect(p.forecast(15).freeSpaces).toBe(shape(10));
    }
    // Next Monday, 10 spaces fewer than the profile at 00:50: the forecast follows the profile, the deviation kept partly.
    const t = 7 * DAY + 10;
    for (let s = 7 * DAY; s <= t; s++) p.observe(DEFAULT_START_MS + s * STEP, shape(s) - 10);
    const f15 = p.forecast(15);
    expect(f15.freeSpaces).toBeLessThan(shape(t + 3));
    expect(f15.freeSpaces).toBeGreaterThan(shape(t + 3) - 10);
    expect(f15.lowFreeSpaces).toBeLessThanOrEqual(f15.freeSpaces);
    expect(f15.highFreeSpaces).toBeGreaterThanOrEqual(f15.freeSpaces);
  });

  it('uses the Sunday profile on a holiday with no earlier holiday, and the earlier holiday once there is one', () => {
    // 2026-03-02 is a Monday; 03-09 and 03-16 (Mondays) are declared holidays.
    const p = new FreeSpacePredictor({ capacity: 100, holidays: ['2026-03-09', '2026-03-16'], profileSmoothSlots: 0, terms: 1 });
    // (One regressor, the deviation, which is 0 at each midnight here: the forecast is the profile itself.)
    // 60 free at all times, except from 01:00 on Sundays (20) and on the first holiday (90).
    const value = (s: number) => {
      const day = Math.floor(s / DAY);
      if (s % DAY < 12) return 60;
      return day % 7 === 6 ? 20 : day === 7 ? 90 : 60;
    };
    const feedTo = (end: number, from: number) => {
      for (let s = from; s <= end; s++) p.observe(DEFAULT_START_MS + s * STEP, value(s));
    };
    feedTo(7 * DAY, 0);
    // Midnight of the first holiday: its 01:00 comes from the Sunday profile, not Monday's.
    expect(p.forecast(60).freeSpaces).toBeCloseTo(20, 5);
    feedTo(14 * DAY, 7 * DAY + 1);
    // Midnight of the second: from the first holiday.
    expect(p.forecast(60).freeSpaces).toBeCloseTo(90, 5);
    // An ordinary Monday after it: Monday's profile (60).
    feedTo(21 * DAY, 14 * DAY + 1);
    expect(p.forecast(60).freeSpaces).toBeCloseTo(60, 5);
  });

  it('refuses observations that do not move forward in time', () => {
    const p = new FreeSpacePredictor({ capacity: 10 });
    p.observe(DEFAULT_START_MS, 5);
    expect(() => p.observe(DEFAULT_START_MS, 5)).toThrow(GreenwaveError);
  });

  it('computes the relativized average of previous weeks as defined', () => {
    const W = 10;
    const free = Float64Array.from({ length: 40 }, (_, t) => t);
    free[30 - W + 2] = free[30 - W]! + 6; // change +6 one week ago
    free[30 - 2 * W + 2] = free[30 - 2 * W]! + 0; // 0 two weeks ago
    free[30 - 3 * W + 2] = free[30 - 3 * W]! + 3; // +3 three weeks ago
    expect(relativizedAverageForecast(free, 30, 2, W, 1000)).toBe(30 + 3);
    expect(relativizedAverageForecast(free, 30, 2, W, 31)).toBe(31);
  });
});

describe('prediction against the baselines (held-out sample)', () => {
  it('beats persistence and the relativized average of previous weeks in MAE at 15, 30 and 60 min', () => {
    // A small held-out sample: the first held-out seed's three car parks over 7 weeks (a holiday included).
    const sums = emptySums();
    for (const opts of benchmarkCarParks(HELD_OUT_SEEDS.slice(0, 1), 49)) scoreSeries(generateOccupancy(opts), sums);
    for (const r of scoreRows(sums.all)) {
      expect(r.n).toBeGreaterThan(20_000);
      expect(r.maeMethod).toBeLessThan(r.maePersistence);
      expect(r.maeMethod).toBeLessThan(r.maeRelativized);
      // The band is the 10th–90th percentile: it should hold most outcomes, not all.
      expect(r.coverage).toBeGreaterThan(0.6);
      expect(r.coverage).toBeLessThan(0.95);
    }
  });
});
