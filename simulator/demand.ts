/**
 * Simulator demand from what the engine knows: movement flows (veh/h) per
 * intersection from lane flows (shared lanes split equally, as in the timing
 * core's reports), and demand profiles over time. Called by the closed-loop
 * runner, the benchmarks and the tests.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';

/** [intersection * 16 + movement] veh/h from compiled lane flows. */
export function movementFlowsFromLanes(c: CompiledNetwork, laneFlowVehPerH: Float64Array): Float64Array {
  const out = new Float64Array(c.intersectionCount * 16);
  for (let i = 0; i < c.intersectionCount; i++) {
    for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
      const mask = c.laneMovementMask[l]!;
      let count = 0;
      for (let m = 0; m < 16; m++) if ((mask >> m) & 1) count++;
      for (let m = 0; m < 16; m++) if ((mask >> m) & 1) out[i * 16 + m] = out[i * 16 + m]! + laneFlowVehPerH[l]! / count;
    }
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
