/**
 * The pedestrian and TSP measures (./pedestrian.ts, ./tsp.ts) on hand-made logs over the
 * one-crossing network of ./measures.test.ts (phases "2" and "4", NEMA numbers 2 and 4),
 * with the values worked out by hand in each test. On the logs the virtual controller writes:
 * controllers-adapter/virtual/tspEvents.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { EventBuffer } from '../events/buffer.js';
import { EventCode } from '../events/codes.js';
import { measureContext } from './context.js';
import { pedestrianMeasures } from './pedestrian.js';
import { tspMeasures } from './tsp.js';

const c = compileNetwork(loadNetwork(readFileSync(new URL('../../test/fixtures/events/network.json', import.meta.url), 'utf8')));
const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const P2 = c.phaseIds.indexOf('2');
const P4 = c.phaseIds.indexOf('4');

/** A log of X1 (and X2, not in the network) from [seconds, code, param] rows. */
function log(rows: readonly (readonly [number, number, number])[], location = 'X1'): EventBuffer {
  const b = new EventBuffer(64);
  const loc = b.locationIndex(location);
  for (const [s, code, param] of rows) b.push(loc, T0 + s * 1000, code, param);
  return b;
}

describe('pedestrian service', () => {
  it('walks, clearances and the delay from the first call since the previous walk', () => {
    const W = EventCode.PedBeginWalk;
    const FDW = EventCode.PedBeginClearance;
    const DW = EventCode.PedBeginDontWalk;
    const CALL = EventCode.PedCallRegistered;
    const b = log([
      // Walk 1 at 10 on recall: walk 7 s, clearance 12 s.
      [10, W, 2], [17, FDW, 2], [29, DW, 2],
      // Calls at 40 and 50 (the first counts); walk 2 at 70: delay 30 s; walk 6 s, clearance 11 s.
      [40, CALL, 2], [50, CALL, 2], [70, W, 2], [72, CALL, 2], [76, FDW, 2], [87, DW, 2],
      // The call at 72 came during the walk: served by it. Call at 100, walk 3 at 110: delay 10 s;
      // the log ends in its walk (no clearance measured).
      [100, CALL, 2], [110, W, 2],
      // Phase 4's events are its own.
      [20, W, 4], [25, FDW, 4], [33, DW, 4],
    ]);
    const m = pedestrianMeasures(measureContext(c, b), P2)!;
    expect(m).toEqual({ walks: 3, walksOnRecall: 1, meanWalkS: 6.5, meanClearanceS: 11.5, minClearanceS: 11, calls: 4, servedCalls: 2, averageDelayS: 20, maxDelayS: 30 });
    expect(pedestrianMeasures(measureContext(c, b), P4)).toMatchObject({ walks: 1, walksOnRecall: 1, meanWalkS: 5, meanClearanceS: 8, calls: 0, averageDelayS: Number.NaN });
  });

  it('is absent for a phase with no pedestrian event, and for a log that never names the intersection', () => {
    expect(pedestrianMeasures(measureContext(c, log([[0, EventCode.PhaseBeginGreen, 2]])), P2)).toBeUndefined();
    expect(pedestrianMeasures(measureContext(c, log([[0, EventCode.PedBeginWalk, 2]], 'X2')), P2)).toBeUndefined();
  });
});

describe('TSP requests', () => {
  it('pairs check-in and check-out by request number and names the adjustment', () => {
    const b = log([
      // A check-out whose check-in is before the log.
      [5, EventCode.TspCheckOut, 9],
      // Request 1: extension, 40 s of service. Request 2 overlaps it: early green, 25 s.
      [10, EventCode.TspCheckIn, 1], [12, EventCode.TspExtendGreen, 1], [20, EventCode.TspCheckIn, 2], [30, EventCode.TspEarlyGreen, 2], [45, EventCode.TspCheckOut, 2], [50, EventCode.TspCheckOut, 1],
      // Request 3: nothing adjusted, 6 s. Request 4: still open when the log ends.
      [60, EventCode.TspCheckIn, 3], [66, EventCode.TspCheckOut, 3], [80, EventCode.TspCheckIn, 4], [81, EventCode.TspEarlyGreen, 4],
    ]);
    const t = tspMeasures(measureContext(c, b), 0)!;
    expect(t).toMatchObject({ intersectionId: 'X1', requests: 4, earlyGreens: 2, extendGreens: 1, notAdjusted: 1, checkedOut: 3, open: 1, unmatchedCheckOuts: 1 });
    expect(t.meanServiceS).toBeCloseTo((40 + 25 + 6) / 3, 9);
    expect(t.maxServiceS).toBe(40);
    expect(t.records.map((r) => [r.requestNumber, r.adjustment, r.serviceS])).toEqual([
      [1, 'extendGreen', 40],
      [2, 'earlyGreen', 25],
      [3, 'none', 6],
      [4, 'earlyGreen', Number.NaN],
    ]);
    expect(tspMeasures(measureContext(c, log([[0, EventCode.PhaseBeginGreen, 2]])), 0)).toBeUndefined();
  });
});
