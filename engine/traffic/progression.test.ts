/**
 * The input-output delay (progression.ts) on the hand-made event log of the measures' tests
 * (test/fixtures/events/, worked out in engine/measures/measures.test.ts): phase 2's cycles
 * C1 [0, 60) green 30 yellow 56, C2 [60, 114) green 90 yellow 110, C3 [114, 174) green 144
 * yellow 170; arrivals at the stop line 15 33 45 57 | 62 90 105 | 125 155 173 s. The fixture's
 * start-up lost time and green extension are both 2 s, so the effective greens are [32, 58),
 * [92, 112), [146, 172).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { readEventsCsv } from '../events/csv.js';
import { measureContext } from '../measures/context.js';
import { purdueCoordinationDiagram } from '../measures/pcd.js';
import { hybridDelayS, inputOutputDelayS, stopCorrectionS } from './progression.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/events/${name}`, import.meta.url), 'utf8');
const c = compileNetwork(loadNetwork(fixture('network.json')));
const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const cycles = purdueCoordinationDiagram(measureContext(c, readEventsCsv(fixture('handmade.csv'), 'handmade.csv')), c.phaseIds.indexOf('2')).cycles;

describe('input-output delay', () => {
  it('queues arrivals through the effective greens at the saturation headway, carrying the queue', () => {
    expect([c.startUpLostTimeS, c.extensionOfEffectiveGreenS]).toEqual([2, 2]);
    // 1800 veh/h: one departure every 2 s. Delays (+5 s for each vehicle held):
    // 15 → 32 (17); 33 → 34 behind it (1); 45, 57 (before 58) none; 62 → 92 (30); 90 → 94 (4);
    // 105 none; 125 → 146 (21); 155 none; 173 has no green after it in the log: left out.
    expect(inputOutputDelayS(cycles, 1800, 2, 2, 5, T0, T0 + 300_000)).toBeCloseTo((17 + 1 + 30 + 4 + 21 + 5 * 5) / 9, 9);
    // Only C2 and C3 counted, C1 still queued first: 62, 90, 105, 125, 155.
    expect(inputOutputDelayS(cycles, 1800, 2, 2, 5, T0 + 60_000, T0 + 300_000)).toBeCloseTo((30 + 4 + 21 + 3 * 5) / 5, 9);
    // A faster discharge (1 s headway): 33 and 90 are no longer held behind the one before.
    expect(inputOutputDelayS(cycles, 3600, 2, 2, 0, T0, T0 + 300_000)).toBeCloseTo((17 + 30 + 3 + 21) / 9, 9);
    expect(inputOutputDelayS(cycles, 1800, 2, 2, 5, T0 + 400_000, T0 + 500_000)).toBeNaN();
  });

  it('charges the deceleration-acceleration correction by free-flow speed (HCM 2000 exhibit A16-2)', () => {
    expect([stopCorrectionS(50), stopCorrectionS(60), stopCorrectionS(70), stopCorrectionS(80)]).toEqual([5, 5, 7, 9]);
  });
});

describe('input-output delay at the stop-line loops\' crossings (hybrid)', () => {
  const s = (xs: readonly number[]) => Float64Array.from(xs, (x) => T0 + x * 1000);
  const arrivals = s([15, 33, 45, 57, 62, 90, 105, 125, 155, 173]);
  // 15 waits for C1's green; 33 and 45 cross as they come; 57 comes in C1's yellow and waits for
  // C2, where 62 and 90 queue behind it and 105 crosses as it comes; 125 waits for C3; 155 crosses;
  // 173 has not crossed when the log ends.
  const crossings = [31, 33.5, 45.5, 91, 93, 95, 105.5, 145, 155.5];
  // Held cars (more than 2 s) are charged the 5 s correction: 16, 34, 31, 5, 20 s held.
  const expected = (16 + 5 + 0.5 + 0.5 + 34 + 5 + 31 + 5 + 5 + 5 + 0.5 + 20 + 5 + 0.5) / 9;

  it('serves the queue FIFO at the crossings counted, whatever the saturation flow', () => {
    expect(hybridDelayS(cycles, arrivals, s(crossings), 5, T0, T0 + 300_000)).toBeCloseTo(expected, 9);
    // A slower discharge is seen as it is: 62 and 90 cross 4 s apart instead of 2.
    const slow = crossings.map((x) => (x === 93 ? 95 : x === 95 ? 99 : x));
    expect(hybridDelayS(cycles, arrivals, s(slow), 5, T0, T0 + 300_000)).toBeCloseTo(expected + 6 / 9, 9);
    // Only the arrivals in the cycles starting in the window count (C2 and C3: 57 belongs to C1).
    expect(hybridDelayS(cycles, arrivals, s(crossings), 5, T0 + 60_000, T0 + 300_000)).toBeCloseTo((31 + 5 + 5 + 5 + 0.5 + 20 + 5 + 0.5) / 5, 9);
    expect(hybridDelayS(cycles, arrivals, s(crossings), 5, T0 + 400_000, T0 + 500_000)).toBeNaN();
  });

  it('keeps a counting error to its own cycle', () => {
    // A crossing the arrival loops missed (40 s, nobody waiting) is skipped.
    expect(hybridDelayS(cycles, arrivals, s([...crossings, 40].sort((a, b) => a - b)), 5, T0, T0 + 300_000)).toBeCloseTo(expected, 9);
    // An arrival the stop-line loops missed (105's crossing): C2's green ends with nobody crossing
    // for 14.5 s, so 105 is dropped there, and 125 is not served at 155.5 in its place.
    const missed = crossings.filter((x) => x !== 105.5);
    expect(hybridDelayS(cycles, arrivals, s(missed), 5, T0, T0 + 300_000)).toBeCloseTo((expected * 9 - 0.5) / 8, 9);
    // A log that begins inside a green: crossings before the first cycle's green still take their
    // arrivals, so nobody after them is served one crossing late.
    const early = s([-20, ...arrivals.map((a) => (a - T0) / 1000)]);
    expect(hybridDelayS(cycles, early, s([-19.5, ...crossings]), 5, T0, T0 + 300_000)).toBeCloseTo(expected, 9);
  });
});
