import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { DEFAULT_START_MS, generateOccupancy } from './generate.js';
import { TrackedOccupancySource } from './occupancyFeed.js';
import { ParkingFileSchema } from './schema.js';

const file = ParkingFileSchema.parse(JSON.parse(readFileSync(new URL('../../examples/demo-city/parking.json', import.meta.url), 'utf8')));
const MIN = 60_000;

describe('TrackedOccupancySource (the OccupancyFeed over the tracker and predictors)', () => {
  it('serves the tracker state, counts revisions, and refuses implausible reports with the field', () => {
    const now = { t: DEFAULT_START_MS + 10 * 60 * MIN };
    const src = new TrackedOccupancySource({ file }, { tracker: { clock: () => now.t } });
    expect(src.state(0, now.t).status).toBe('unknown');
    expect(Number.isNaN(src.predictFree(0, now.t + 15 * MIN, now.t).expected)).toBe(true);
    src.report(0, 150, now.t);
    expect(src.revision).toBe(1);
    expect(src.state(0, now.t)).toMatchObject({ status: 'open', occupied: 150, vacant: 56 });
    expect(() => src.report(0, 9999, now.t)).toThrow(ValidationError);
    expect(src.revision).toBe(1);
    src.addCounts(0, { fromMs: now.t, toMs: now.t + MIN, entries: 4, exits: 0 });
    expect(src.state(0, now.t + MIN).vacant).toBe(52);
    // No forecast yet: persistence, the band widening with the horizon.
    const p = src.predictFree(0, now.t + 31 * MIN, now.t + MIN);
    expect(p.expected).toBe(52);
    expect(p.p10).toBeLessThan(52);
    expect(p.p90).toBeGreaterThan(52);
  });

  it('status() and the prediction now agree with state() when fresh, full, stale and closed (the recommender reads only those)', () => {
    const now = { t: DEFAULT_START_MS + 10 * 60 * MIN };
    const src = new TrackedOccupancySource({ file }, { tracker: { clock: () => now.t } });
    const p6 = file.carParks.findIndex((c) => c.id === 'P6'); // open 06:00-23:00
    src.report(0, 150, now.t);
    src.report(1, 156, now.t); // full
    src.report(p6, 10, now.t);
    const agree = (tMs: number): void => {
      for (let k = 0; k < file.carParks.length; k++) {
        const st = src.state(k, tMs);
        expect(src.status(k, tMs)).toBe(st.status);
        const e = src.predictFree(k, tMs, tMs).expected;
        if (st.status === 'open' || st.status === 'full') expect(e).toBe(st.vacant);
        else expect(Number.isNaN(e)).toBe(true);
      }
    };
    const statuses = (tMs: number): string[] => [0, 1, p6, 2].map((k) => src.status(k, tMs));
    expect(statuses(now.t)).toEqual(['open', 'full', 'open', 'unknown']);
    agree(now.t);
    agree(now.t + 11 * MIN); // stale
    expect(statuses(now.t + 11 * MIN)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    const night = now.t + 14 * 60 * MIN; // 00:xx local: P6 closed
    now.t = night;
    src.report(p6, 10, night);
    expect(src.status(p6, night)).toBe('closed');
    agree(night);
  });

  it('feeds the predictors on the 5-minute grid and interpolates their forecasts to the arrival time', () => {
    const series = generateOccupancy({ kind: 'commute', capacity: 206, seed: 3, days: 15 });
    const now = { t: series.startMs };
    const src = new TrackedOccupancySource({ file }, { tracker: { clock: () => now.t } });
    for (let s = 0; s < series.occupied.length; s++) {
      now.t = series.startMs + s * 5 * MIN;
      src.report(0, series.occupied[s]!, now.t);
      src.tick(now.t + 1);
    }
    const free = src.state(0, now.t).vacant;
    const at0 = src.predictFree(0, now.t, now.t);
    expect(at0.expected).toBe(free);
    const at15 = src.predictFree(0, now.t + 15 * MIN, now.t);
    const at45 = src.predictFree(0, now.t + 45 * MIN, now.t);
    for (const f of [at15, at45]) {
      expect(f.p10).toBeLessThanOrEqual(f.expected);
      expect(f.p90).toBeGreaterThanOrEqual(f.expected);
      expect(f.p90 - f.p10).toBeLessThan(206 / 2);
    }
    // The band widens with the horizon.
    expect(at45.p90 - at45.p10).toBeGreaterThan(at15.p90 - at15.p10);
    // At a horizon, exactly the predictor's forecast (the feed reads its copy of them).
    const own = (src as unknown as { predictors: { forecast(h: number): { freeSpaces: number; lowFreeSpaces: number; highFreeSpaces: number } }[] }).predictors[0]!;
    for (const h of [15, 30, 60]) {
      const f = own.forecast(h);
      expect(src.predictFree(0, now.t + h * MIN, now.t)).toEqual({ expected: f.freeSpaces, p10: f.lowFreeSpaces, p90: f.highFreeSpaces });
    }
    expect(src.predictFree(0, now.t + 90 * MIN, now.t).expected).toBe(own.forecast(60).freeSpaces);
    // Car parks without any report stay unknown: no prediction.
    expect(Number.isNaN(src.predictFree(1, now.t + 15 * MIN, now.t).expected)).toBe(true);
  });

  it('sweepPerRead spreads the feeding over reads; the car park predicted is fed first, and the forecasts are those fed at once', () => {
    const series = generateOccupancy({ kind: 'commute', capacity: 206, seed: 3, days: 4 });
    const now = { t: series.startMs };
    const all = new TrackedOccupancySource({ file }, { tracker: { clock: () => now.t } });
    const spread = new TrackedOccupancySource({ file }, { tracker: { clock: () => now.t }, sweepPerRead: 1 });
    const pending = (x: TrackedOccupancySource): number => (x as unknown as { pending: number }).pending;
    const n = file.carParks.length;
    for (let s = 0; s < series.occupied.length; s++) {
      now.t = series.startMs + s * 5 * MIN;
      for (const src of [all, spread]) for (let k = 0; k < n; k++) src.report(k, Math.min(series.occupied[s]!, 30), now.t);
      const t = now.t + 1;
      const a = all.predictFree(0, t + 30 * MIN, t);
      const b = spread.predictFree(0, t + 30 * MIN, t);
      expect(b).toEqual(a);
      // Car park 0 and one other fed; the rest wait for later reads.
      expect([pending(all), pending(spread)]).toEqual([0, n - 2]);
      spread.status(5, t);
      expect(pending(spread)).toBe(n - 3);
      spread.tick(t);
      expect(pending(spread)).toBe(0);
    }
    expect(all.predictFree(3, now.t + 45 * MIN, now.t + 1)).toEqual(spread.predictFree(3, now.t + 45 * MIN, now.t + 1));
    expect(() => new TrackedOccupancySource({ file }, { sweepPerRead: 0 })).toThrow(/sweepPerRead/);
  });
});
