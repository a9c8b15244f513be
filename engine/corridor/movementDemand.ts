/**
 * Demand of one movement at a signal from the plan's lane flows: flow (veh/h),
 * lanes (a shared lane counts by its share) and mean lane saturation flow.
 * Called when building the band problem (bandProblem.ts), by the cycle search's
 * crossing-traffic model, and by the left-turn mode choice (timing/leftTurnMode.ts).
 */
import type { CompiledNetwork } from '../network/compile.js';
import { MOVEMENT_COUNT } from '../network/geometry.js';
import type { PlanBuffer } from '../timing/planner.js';

/** Flow (veh/h), lanes (shared lanes count by share) and mean lane saturation flow of a movement. */
export function movementDemand(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number): { flow: number; lanes: number; sat: number } {
  let flow = 0;
  let lanes = 0;
  let sat = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
    const mask = c.laneMovementMask[l]!;
    if (!((mask >> movement) & 1)) continue;
    let count = 0;
    for (let m = 0; m < MOVEMENT_COUNT; m++) if ((mask >> m) & 1) count++;
    flow += buf.laneFlowVehPerH[l]! / count;
    lanes += 1 / count;
    sat += c.laneSatFlowVehPerH[l]! / count;
  }
  return { flow, lanes, sat: lanes > 0 ? sat / lanes : 1800 };
}
