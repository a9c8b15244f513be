/**
 * Detector blackout fallback on small hand-made counts: the threshold, the
 * historical median across days, the day profile with one day, and refusal
 * when there is nothing healthy to fall back on.
 */
import { describe, expect, it } from 'vitest';
import type { DetectorCounts } from './csv.js';
import type { FaultReport, Substitution } from './faults.js';
import { applyBlackoutFallback, BlackoutError, MIN_HEALTHY_SHARE } from './blackout.js';

const Q = 900; // 15-minute intervals
const DAY_MS = 86_400_000;
const at = (day: number, hhmm: string): number => day * DAY_MS + (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000;

/** Four detectors of one intersection, `days` days of 15-minute intervals from 06:00 to 10:00; volume(d, day, t). */
function counts(days: number, volume: (d: number, day: number, t: number) => number): DetectorCounts {
  const starts: number[] = [];
  for (let day = 0; day < days; day++) for (let t = 0; t < 16; t++) starts.push(at(day, '06:00') + t * Q * 1000);
  const nD = 4;
  const vol = new Float64Array(starts.length * nD);
  starts.forEach((_, k) => {
    for (let d = 0; d < nD; d++) vol[k * nD + d] = volume(d, Math.floor(k / 16), k % 16);
  });
  return { detectorIds: ['A', 'B', 'C', 'D'], intervalS: Q, intervalStartMs: Float64Array.from(starts), volumeVeh: vol, occupancyPct: new Float64Array(vol.length).fill(10) };
}

/** A fault report flagging detector d at every interval from..to (inclusive) of `day`. */
function faulty(c: DetectorCounts, cells: Array<{ d: number; day: number; from: string; to: string }>): FaultReport {
  const substitutions: Substitution[] = [];
  for (const { d, day, from, to } of cells) {
    c.intervalStartMs.forEach((ms) => {
      if (ms < at(day, from) || ms > at(day, to)) return;
      substitutions.push({ detectorId: c.detectorIds[d]!, intervalStartMs: ms, fault: 'chatter', observed: 0, substituted: 0, method: 'none' });
    });
  }
  return { cleaned: c, substitutions, faultyDetectors: [] };
}

const run = (c: DetectorCounts, f: FaultReport, forMs: number, predicted: number[]) => {
  const target = c.intervalStartMs.indexOf(forMs);
  const v = Float64Array.from(predicted);
  const out = applyBlackoutFallback(c, f, new Int32Array(4), ['X'], target, forMs, v);
  return { out, v: [...v] };
};

describe('detector blackout fallback', () => {
  const base = (d: number, day: number, t: number): number => 10 * (d + 1) * (1 + day) + t; // distinct per detector, day and time

  it(`keeps the prediction while at least ${MIN_HEALTHY_SHARE * 100} % of detectors are healthy`, () => {
    const c = counts(1, base);
    const f = faulty(c, [0, 1].map((d) => ({ d, day: 0, from: '07:00', to: '08:00' })));
    const { out, v } = run(c, f, at(0, '08:00'), [0, 0, 50, 60]);
    expect(out).toEqual([]);
    expect(v).toEqual([0, 0, 50, 60]);
  });

  it('below the threshold, the median of the other days at the same time replaces the prediction', () => {
    const c = counts(4, base);
    const f = faulty(c, [0, 1, 2].map((d) => ({ d, day: 3, from: '07:00', to: '08:00' })));
    const { out, v } = run(c, f, at(3, '08:00'), [0, 0, 0, 999]);
    // 08:00 is t = 8; days 0..2 give 10(d+1)(1+day) + 8: median over days = day 1.
    expect(v).toEqual([0, 1, 2, 3].map((d) => 10 * (d + 1) * 2 + 8));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ intersectionId: 'X', detectors: 4, healthyDetectors: 1, sources: { historical: 4, dayProfile: 0, intersection: 0 }, predictedVeh: 999 });
    expect(out[0]!.reason).toMatch(/1 of 4 detectors healthy in the hour to 08:00 \(below 50 %\); planned on the median of other days at this time \(4\) instead of 999 veh/);
  });

  it('with one day, the nearest healthy intervals around the window stand in (linear in time)', () => {
    const c = counts(1, base);
    const f = faulty(c, [0, 1, 2, 3].map((d) => ({ d, day: 0, from: '07:00', to: '08:00' })));
    const { out, v } = run(c, f, at(0, '08:00'), [0, 0, 0, 0]);
    // Healthy at 06:45 (t = 3) and 08:15 (t = 9): 08:00 is 5/6 of the way.
    expect(v.map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 1, 2, 3].map((d) => Math.round((10 * (d + 1) + 3 + (6 * 5) / 6) * 1000) / 1000));
    expect(out[0]!.sources).toEqual({ historical: 0, dayProfile: 4, intersection: 0 });
    expect(out[0]!.fallbackVeh).toBeGreaterThan(0);
  });

  it('a detector with no history takes the mean of the others', () => {
    const c = counts(1, base);
    const f = faulty(c, [
      { d: 0, day: 0, from: '06:00', to: '09:45' },
      ...[1, 2, 3].map((d) => ({ d, day: 0, from: '07:00', to: '08:00' })),
    ]);
    const { out, v } = run(c, f, at(0, '08:00'), [0, 0, 0, 0]);
    expect(out[0]!.sources).toEqual({ historical: 0, dayProfile: 3, intersection: 1 });
    expect(v[0]).toBeCloseTo((v[1]! + v[2]! + v[3]!) / 3, 9);
  });

  it('nothing healthy near the interval, or only zeros: refuses rather than plan zero demand', () => {
    const c = counts(1, base);
    const all = faulty(c, [0, 1, 2, 3].map((d) => ({ d, day: 0, from: '06:00', to: '09:45' })));
    expect(() => run(c, all, at(0, '08:00'), [0, 0, 0, 0])).toThrow(BlackoutError);
    const zeros = counts(1, (_d, _day, t) => (t >= 4 && t <= 8 ? 500 : 0));
    const f = faulty(zeros, [0, 1, 2, 3].map((d) => ({ d, day: 0, from: '07:00', to: '08:00' })));
    expect(() => run(zeros, f, at(0, '08:00'), [0, 0, 0, 0])).toThrow(/the healthy history there is all zero/);
  });
});
