import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCompiledNetwork } from '../network/load.js';
import { compileParking } from './load.js';
import { GuidedArrivals } from './guidedArrivals.js';
import { TableOccupancySource } from './standIn.js';

const root = new URL('../../examples/demo-city/', import.meta.url).pathname;
const c = loadCompiledNetwork(`${root}network.json`);
const parking = compileParking(JSON.parse(readFileSync(`${root}parking.json`, 'utf8')), c);
const NOW = Date.parse('2026-03-02T10:00:00+08:00');
const MIN = 60_000;

describe('GuidedArrivals', () => {
  it('counts a booked driver as a space taken from their arrival until a report sees them, or they are forgotten', () => {
    const src = new TableOccupancySource(parking);
    const cap = parking.capacity[0]!;
    src.report(0, cap - 3, NOW); // 3 free
    const g = new GuidedArrivals(src, parking.carParkCount, { forgetAfterMs: 10 * MIN });
    const at = (arrivalMs: number) => g.predictFree(0, arrivalMs, NOW + MIN).expected;
    expect(at(NOW + 5 * MIN)).toBe(3);
    g.record(0, NOW + 4 * MIN);
    g.record(0, NOW + 6 * MIN);
    // A driver arriving at 5 min finds one booked car ahead of them; at 7 min, two.
    expect(at(NOW + 5 * MIN)).toBe(2);
    expect(at(NOW + 7 * MIN)).toBe(1);
    expect(g.pending(0, NOW + MIN)).toBe(2);
    // Other car parks are untouched, and the published state is what was measured.
    expect(g.predictFree(1, NOW + 7 * MIN, NOW + MIN).expected).toBe(src.predictFree(1, NOW + 7 * MIN, NOW + MIN).expected);
    expect(g.state(0, NOW + MIN).vacant).toBe(3);
    // Four more booked: never below zero, and the band moves with the expectation.
    for (let j = 0; j < 4; j++) g.record(0, NOW + 3 * MIN);
    const p = g.predictFree(0, NOW + 7 * MIN, NOW + MIN);
    expect(p.expected).toBe(0);
    expect(p.p10).toBe(0);
    // The car park reports at 5 min (the 4-min and 3-min bookings are in its count now): only the 6-min one is left.
    src.report(0, cap - 1, NOW + 5 * MIN);
    expect(g.pending(0, NOW + 5 * MIN)).toBe(1);
    expect(g.predictFree(0, NOW + 7 * MIN, NOW + 5 * MIN).expected).toBe(0);
    // No report after 6 min, and 10 min past it the driver is taken to have gone elsewhere.
    src.report(0, cap - 1, NOW + 5.5 * MIN);
    expect(g.pending(0, NOW + 15 * MIN)).toBe(1);
    expect(g.pending(0, NOW + 16.5 * MIN)).toBe(0);
  });
});

describe('GuidedArrivals: keyed bookings', () => {
  it('replaces a key’s booking, counts live bookings per owner, and drops them on a later report or at expiry', () => {
    const src = new TableOccupancySource(parking);
    const cap0 = parking.capacity[0]!;
    src.report(0, cap0 - 5, NOW);
    src.report(1, parking.capacity[1]! - 5, NOW);
    const g = new GuidedArrivals(src, parking.carParkCount, { forgetAfterMs: 10 * MIN });
    const b = g.book('app\0car-1', 'app', 0, NOW + 4 * MIN);
    expect(b.expiresMs).toBe(NOW + 14 * MIN);
    // The same vehicle again, now to car park 1: one booking, moved.
    g.book('app\0car-1', 'app', 1, NOW + 5 * MIN);
    g.book('app\0car-2', 'app', 0, NOW + 6 * MIN);
    g.book('fleet\0car-1', 'fleet', 0, NOW + 6 * MIN);
    expect([g.pending(0, NOW), g.pending(1, NOW)]).toEqual([2, 1]);
    expect([g.liveOf('app', NOW), g.liveOf('fleet', NOW)]).toEqual([2, 1]);
    expect(g.predictFree(0, NOW + 7 * MIN, NOW).expected).toBe(3);
    // take and restore: gone from the prediction, then back.
    const t = g.take('app\0car-2')!;
    expect(g.predictFree(0, NOW + 7 * MIN, NOW).expected).toBe(4);
    expect(g.liveOf('app', NOW)).toBe(1);
    g.restore(t);
    expect(g.liveOf('app', NOW)).toBe(2);
    // Car park 0 reports at 7 min: both its bookings (6 min) are in the count, and leave the owners' counts.
    src.report(0, cap0 - 3, NOW + 7 * MIN);
    expect(g.pending(0, NOW + 7 * MIN)).toBe(0);
    expect([g.liveOf('app', NOW + 7 * MIN), g.liveOf('fleet', NOW + 7 * MIN)]).toEqual([1, 0]);
    expect(g.get('app\0car-2')).toBeUndefined();
    // car-1's booking at car park 1 (5 min) expires at 15 min; nobody reads car park 1: only the exact sweep sees it.
    expect(g.liveOf('app', NOW + 16 * MIN)).toBe(1);
    expect(g.liveOf('app', NOW + 16 * MIN, true)).toBe(0);
    expect(g.get('app\0car-1')).toBeUndefined();
  });
});
