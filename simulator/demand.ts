/**
 * Simulator demand from what the engine knows: movement flows (veh/h) per
 * intersection from lane flows (shared lanes split equally, as in the timing
 * core's reports), and demand profiles over time. Called by the closed-loop
 * runner, the benchmarks and the tests.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { buildTopology, type SimTopology } from './topology.js';
import { MOVEMENT_COUNT, movementSlot } from '../engine/network/geometry.js';

/** [intersection * 16 + movement] veh/h from compiled lane flows. */
export function movementFlowsFromLanes(c: CompiledNetwork, laneFlowVehPerH: Float64Array): Float64Array {
  const out = new Float64Array(c.intersectionCount * 16);
  for (let i = 0; i < c.intersectionCount; i++) {
    for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
      const mask = c.laneMovementMask[l]!;
      let count = 0;
      for (let m = 0; m < MOVEMENT_COUNT; m++) if ((mask >> m) & 1) count++;
      for (let m = 0; m < MOVEMENT_COUNT; m++) if ((mask >> m) & 1) out[movementSlot(i, m)] = out[movementSlot(i, m)]! + laneFlowVehPerH[l]! / count;
    }
  }
  return out;
}

/**
 * Prior weight of each turn (movement & 3: left, through, right, U-turn) in a shared lane before
 * the counts downstream are fitted: most traffic in a shared lane goes straight on.
 */
const TURN_PRIOR = [0.15, 1, 0.15, 0.02] as const;

/**
 * [intersection * 16 + movement] veh/h from compiled lane flows, with each shared lane's
 * flow split among its turns so that what the turns carry to the next signal matches what
 * that signal's loops count arriving (flow conservation between neighbouring signals),
 * by iterative proportional fitting from a through-heavy prior. Loops at the stop line cannot
 * tell a shared lane's turns apart; the counts one block on can. Turns leaving the
 * network have no count to meet and keep their share of the fitted rest.
 */
export function movementFlowsFromCounts(c: CompiledNetwork, laneFlowVehPerH: Float64Array, top: SimTopology = buildTopology(c), iterations = 60): Float64Array {
  const nL = c.laneIds.length;
  // share[movementSlot(l, m)]: the part of lane l's flow that makes movement m.
  const share = new Float64Array(nL * 16);
  for (let l = 0; l < nL; l++) {
    const mask = c.laneMovementMask[l]!;
    let weight = 0;
    for (let m = 0; m < MOVEMENT_COUNT; m++) if ((mask >> m) & 1) weight += TURN_PRIOR[m & 3]!;
    for (let m = 0; m < MOVEMENT_COUNT; m++) if ((mask >> m) & 1) share[movementSlot(l, m)] = TURN_PRIOR[m & 3]! / weight;
  }
  const inflow = new Float64Array(top.linkCount);
  for (let l = 0; l < nL; l++) inflow[top.laneLink[l]!] = inflow[top.laneLink[l]!]! + laneFlowVehPerH[l]!;
  const predicted = new Float64Array(top.linkCount);
  const ratio = new Float64Array(top.linkCount);
  for (let it = 0; it < iterations; it++) {
    predicted.fill(0);
    for (let l = 0; l < nL; l++) {
      const link = top.laneLink[l]!;
      for (let m = 0; m < MOVEMENT_COUNT; m++) {
        const x = laneFlowVehPerH[l]! * share[movementSlot(l, m)]!;
        const next = top.linkNext[movementSlot(link, m)]!;
        if (x > 0 && next >= 0) predicted[next] = predicted[next]! + x;
      }
    }
    for (let k = 0; k < top.linkCount; k++) ratio[k] = top.linkBoundary[k] === 1 || predicted[k]! <= 0 ? 1 : inflow[k]! / predicted[k]!;
    for (let l = 0; l < nL; l++) {
      const link = top.laneLink[l]!;
      let total = 0;
      for (let m = 0; m < MOVEMENT_COUNT; m++) {
        const sh = share[movementSlot(l, m)]!;
        if (sh <= 0) continue;
        const next = top.linkNext[movementSlot(link, m)]!;
        const r = next >= 0 ? ratio[next]! : 1;
        share[movementSlot(l, m)] = sh * r;
        total += sh * r;
      }
      if (total > 0) for (let m = 0; m < MOVEMENT_COUNT; m++) share[movementSlot(l, m)] = share[movementSlot(l, m)]! / total;
    }
  }
  const out = new Float64Array(c.intersectionCount * 16);
  for (let l = 0; l < nL; l++) {
    const i = top.linkIntersection[top.laneLink[l]!]!;
    for (let m = 0; m < MOVEMENT_COUNT; m++) out[movementSlot(i, m)] = out[movementSlot(i, m)]! + laneFlowVehPerH[l]! * share[movementSlot(l, m)]!;
  }
  return out;
}

/** A peak that rises from `base` to `peak` times the demand and falls back: a smooth bump centred mid-run. */
export function peakProfile(durationS: number, base: number, peak: number): (tS: number) => number {
  return (tS: number) => {
    const x = Math.min(1, Math.max(0, tS / durationS));
    return base + (peak - base) * Math.sin(Math.PI * x) ** 2;
  };
}
