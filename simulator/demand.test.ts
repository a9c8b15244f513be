import { describe, expect, it } from 'vitest';
import { movementFlowsFromCounts, movementFlowsFromLanes } from './demand.js';
import { buildTopology } from './topology.js';
import { gridNetwork } from '../test/fixtures/gridNetwork.js';
import { MOVEMENT_COUNT, movementIndex, movementSlot, THROUGH_TURN } from '../engine/network/geometry.js';

const RIGHT_TURN = 2;

describe('turning flows from loop counts', () => {
  it('estimates the turns of shared lanes from the counts one block on better than an equal split or the prior', () => {
    // A 4 × 5 grid; traffic enters at the edges and at every signal goes straight on (85 %) or
    // turns right (15 %). Each approach has a through+right lane and a through lane; drivers
    // spread evenly over the two, so the stop-line loops cannot see the turns.
    const c = gridNetwork({ rows: 4, cols: 5, colSpacingM: 300, rowSpacingM: 250 });
    const top = buildTopology(c);
    const RIGHT = 0.15;
    const inflow = new Float64Array(top.linkCount);
    const entering = new Float64Array(top.linkCount);
    for (let l = 0; l < top.linkCount; l++) if (top.linkBoundary[l] === 1) entering[l] = top.linkApproach[l]! >= 2 ? 500 : 200;
    for (let it = 0; it < 200; it++) {
      const next = entering.slice();
      for (let l = 0; l < top.linkCount; l++) {
        const a = top.linkApproach[l]!;
        const t = top.linkNext[movementSlot(l, movementIndex(a, THROUGH_TURN))]!;
        const r = top.linkNext[movementSlot(l, movementIndex(a, RIGHT_TURN))]!;
        if (t >= 0) next[t] = next[t]! + inflow[l]! * (1 - RIGHT);
        if (r >= 0) next[r] = next[r]! + inflow[l]! * RIGHT;
      }
      inflow.set(next);
    }
    const truth = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
    const laneFlow = new Float64Array(c.laneIds.length);
    for (let l = 0; l < top.linkCount; l++) {
      const i = top.linkIntersection[l]!;
      const a = top.linkApproach[l]!;
      truth[movementSlot(i, movementIndex(a, THROUGH_TURN))] = inflow[l]! * (1 - RIGHT);
      truth[movementSlot(i, movementIndex(a, RIGHT_TURN))] = inflow[l]! * RIGHT;
      for (let k = 0; k < top.linkLaneCount[l]!; k++) laneFlow[top.linkLanes[top.linkLaneStart[l]! + k]!] = inflow[l]! / top.linkLaneCount[l]!;
    }
    // Right turns that stay in the network, where a downstream count exists to fit them to.
    const fittable = new Uint8Array(truth.length);
    for (let l = 0; l < top.linkCount; l++) {
      const a = top.linkApproach[l]!;
      if (top.linkNext[movementSlot(l, movementIndex(a, RIGHT_TURN))]! >= 0) fittable[movementSlot(top.linkIntersection[l]!, movementIndex(a, RIGHT_TURN))] = 1;
    }
    const error = (est: Float64Array) => {
      let e = 0;
      for (let k = 0; k < est.length; k++) if (fittable[k]) e += Math.abs(est[k]! - truth[k]!);
      return e;
    };
    let rights = 0;
    for (let k = 0; k < truth.length; k++) if (fittable[k]) rights += truth[k]!;
    const fitted = error(movementFlowsFromCounts(c, laneFlow, top));
    const priorOnly = error(movementFlowsFromCounts(c, laneFlow, top, 0));
    const equal = error(movementFlowsFromLanes(c, laneFlow));
    // Measured: 3147 veh/h of such turns; absolute error 1553 fitted, 1779 from the prior alone,
    // 2098 with an equal split. The counts cannot decide every turn (fewer counts than
    // unknowns), so the fit narrows the error rather than removing it.
    expect(fitted).toBeLessThan(0.8 * equal);
    expect(fitted).toBeLessThan(0.9 * priorOnly);
    // Lane totals are kept: every lane's flow is split, none is lost or made up.
    const est = movementFlowsFromCounts(c, laneFlow, top);
    expect(est.reduce((t, x) => t + x, 0)).toBeCloseTo(laneFlow.reduce((t, x) => t + x, 0), 6);
  });
});
