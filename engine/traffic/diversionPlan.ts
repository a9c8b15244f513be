/**
 * A signal plan for while a diversion (./diversion.ts) is active: the network
 * re-planned by the engine's one planning step (engine/plan.ts planNetwork,
 * whose every plan has passed the safety validator) for the demand as the
 * diversion will make it, that is the counted volumes with the diverted flow
 * taken off the main route's movements and put on the alternative's. The
 * alternative's turns (a left off the main road, say) then get the green
 * their new traffic needs instead of the green their usual few vehicles got.
 * Called by the diversion benchmark (bench/diversion), which hands the plan to
 * the simulator's signal heads (cycle-zero transitions, validated layouts),
 * and by the service's plan lifecycle (service/lifecycle/lifecycle.ts
 * `proposeDiversion`), which stores it as a proposal to review, approve and
 * deploy like any other.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { OptionError } from '../errors.js';
import { planNetwork, type NetworkPlan } from '../plan.js';

/** One movement of a route at one signal: compiled intersection index, movement index (approach * 4 + turn). */
export interface RouteMovement {
  readonly intersection: number;
  readonly movement: number;
}

/**
 * Detector volumes (per `intervalS`, one value per compiled detector) with `vehPerH` moved from the
 * movements `from` to the movements `to`, split evenly over the lanes serving each movement (every
 * detector of such a lane gets the lane's share). A volume never goes below 0; missing (NaN) ones stay.
 */
export function divertedVolumes(c: CompiledNetwork, volumeVeh: Float64Array, intervalS: number, from: readonly RouteMovement[], to: readonly RouteMovement[], vehPerH: number): Float64Array {
  if (!(vehPerH >= 0)) throw new OptionError('vehPerH', `must be >= 0, got ${vehPerH}`);
  const out = volumeVeh.slice();
  const perLane = new Float64Array(c.laneIds.length);
  const add = (moves: readonly RouteMovement[], sign: number, field: string) =>
    moves.forEach((rm, k) => {
      const i = rm.intersection;
      if (!(i >= 0 && i < c.intersectionCount)) throw new OptionError(`${field}[${k}].intersection`, `is not an intersection of the network: ${i}`);
      const lanes: number[] = [];
      for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) if ((c.laneMovementMask[l]! >> rm.movement) & 1) lanes.push(l);
      if (lanes.length === 0) throw new OptionError(`${field}[${k}].movement`, `no lane of ${c.intersectionIds[i]} serves movement ${rm.movement}`);
      for (const l of lanes) perLane[l] = perLane[l]! + (sign * vehPerH) / lanes.length;
    });
  add(from, -1, 'from');
  add(to, 1, 'to');
  for (let d = 0; d < out.length; d++) {
    const v = out[d]!;
    if (Number.isNaN(v)) continue;
    out[d] = Math.max(0, v + (perLane[c.detectorLane[d]!]! * intervalS) / 3600);
  }
  return out;
}

/** The validated network plan for the demand with `vehPerH` diverted from `from` to `to` (planNetwork's options apply: the lifecycle's cycle locks). */
export function diversionPlan(c: CompiledNetwork, volumeVeh: Float64Array, intervalS: number, from: readonly RouteMovement[], to: readonly RouteMovement[], vehPerH: number, opts: Parameters<typeof planNetwork>[3] = {}): NetworkPlan {
  return planNetwork(c, divertedVolumes(c, volumeVeh, intervalS, from, to, vehPerH), intervalS, opts);
}
