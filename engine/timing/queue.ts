/**
 * 95th-percentile back of queue per lane, and the storage each approach has
 * for it: what an engineer checks before trusting a plan, because a queue
 * that spills back past the upstream signal blocks it whatever its timing.
 * Called when a plan is turned into its report (engine/plan.ts).
 *
 * Method: the deterministic queue of a fixed-time signal with the arrivals
 * of a 95th-percentile cycle. Arrivals per cycle are taken as Poisson, so the
 * 95th-percentile cycle brings N + 1.645·√N vehicles where N = q·C (the
 * normal approximation; Synchro's percentile queues rest on the same idea).
 * Vehicles queue during the effective red r and keep joining the back while
 * the queue discharges at the saturation flow s, so the back of the queue
 * reaches q95·r / (1 − q95/s) vehicles.
 *
 * When the 95th-percentile cycle brings more than the lane's capacity, a
 * residual queue is left at the end of green and carried into the next
 * cycle. As Synchro does, the queue reported is then the maximum after two
 * cycles, and flagged: the real queue may be longer.
 */
import type { ApproachId, Network } from '../network/schema.js';
import { travelDirection } from '../network/geometry.js';

/** Space one queued vehicle takes, m: a 5 m car and a 2.5 m gap (SUMO's default passenger car, as the simulator uses). */
export const QUEUE_SPACING_M = 7.5;

/** Standard normal quantile of the 95th percentile. */
const Z95 = 1.645;

export interface BackOfQueue {
  /** Vehicles per lane; Infinity only when the demand exceeds even the saturation flow. */
  veh: number;
  /** The 95th-percentile cycle brings more than the lane's capacity: `veh` is the maximum after two cycles. */
  overCapacity: boolean;
}

/**
 * 95th-percentile back of queue of one lane, written into `out` (no allocation: reports call
 * it per lane). `capacityVehPerH` = s·g/C fixes the effective green the lane gets.
 */
export function backOfQueue95(flowVehPerH: number, satFlowVehPerH: number, capacityVehPerH: number, cycleS: number, out: BackOfQueue): BackOfQueue {
  out.veh = 0;
  out.overCapacity = false;
  if (!(flowVehPerH > 0) || !(cycleS > 0)) return out;
  const s = satFlowVehPerH / 3600;
  const greenShare = satFlowVehPerH > 0 ? Math.min(1, Math.max(0, capacityVehPerH / satFlowVehPerH)) : 0;
  const perCycle = (flowVehPerH * cycleS) / 3600;
  const arrivals95 = perCycle + Z95 * Math.sqrt(perCycle);
  const q95 = arrivals95 / cycleS;
  if (!(q95 < s) || greenShare === 0) {
    out.veh = Number.POSITIVE_INFINITY;
    out.overCapacity = true;
    return out;
  }
  const redS = cycleS * (1 - greenShare);
  const servedPerCycle = s * greenShare * cycleS;
  // Vehicles left over from a failed first cycle wait at the head of the second one's queue.
  const residual = Math.max(0, arrivals95 - servedPerCycle);
  out.overCapacity = residual > 0;
  out.veh = (residual + q95 * redS) / (1 - q95 / s);
  return out;
}

/**
 * Storage length of each approach of intersection `intersectionId`, m: the length of the link
 * that brings traffic into it from an upstream signal. Approaches fed from outside the
 * network have no known storage and are absent. Turn bays are not in the file format, so a
 * turning lane is taken to run the link's full length.
 */
export function approachStorageM(network: Network, intersectionId: string): Map<ApproachId, number> {
  const out = new Map<ApproachId, number>();
  const to = network.intersections.find((x) => x.id === intersectionId);
  if (!to) return out;
  for (const link of network.links) {
    if (link.to !== intersectionId) continue;
    const from = network.intersections.find((x) => x.id === link.from);
    if (!from) continue;
    const dir = travelDirection(from.position, to.position);
    out.set(dir, Math.min(out.get(dir) ?? Number.POSITIVE_INFINITY, link.lengthM));
  }
  return out;
}
