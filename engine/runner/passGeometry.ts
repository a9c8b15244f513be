/**
 * Where an actuated pass's parts lie in a fixed-time plan, as pure functions of the plan:
 * the run order of each (barrier, ring) group, where a barrier ends, and the lead-in /
 * lead-out parts the runner shows on entering and leaving actuated control. ActuatedPass
 * (./actuatedPass.ts) calls them when a pass starts or a part is written, never per step;
 * the cycle runner (./cycleRunner.ts) uses isActuatedMode.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { copyIntersectionPlan, type PlanBuffer } from '../timing/planner.js';
import { CONTROL_COORDINATED, CONTROL_FREE } from '../timing/actuated.js';
import { compareRunOrder, phaseDurationS } from '../timing/runOrder.js';

/** True when a free or coordinated intersection mode asks for actuated control. */
export function isActuatedMode(mode: number): boolean {
  return mode === CONTROL_FREE || mode === CONTROL_COORDINATED;
}

function sameGroup(c: CompiledNetwork, p: number, q: number): boolean {
  return c.phaseBarrier[p] === c.phaseBarrier[q] && c.phaseRing[p] === c.phaseRing[q];
}

/** End of barrier b of intersection i in `plan` (cycle time): the latest end of its phases' clearances. */
export function barrierEndS(c: CompiledNetwork, i: number, plan: PlanBuffer, b: number): number {
  let end = 0;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (c.phaseBarrier[p] === b) end = Math.max(end, plan.phaseStartS[p]! + phaseDurationS(plan, p));
  return end;
}

/**
 * Writes intersection i's global phases into seq[phaseStart[i], phaseStart[i + 1]) in run
 * order: (barrier, ring) groups are contiguous in compiled order, so each is sorted by plan
 * start (compareRunOrder) in place; an insertion sort, as the groups hold a few phases.
 */
export function sortRunOrder(c: CompiledNetwork, i: number, plan: PlanBuffer, seq: Int32Array): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  for (let p = p0; p < p1; p++) seq[p] = p;
  for (let k = p0 + 1; k < p1; k++) {
    const x = seq[k]!;
    let j = k - 1;
    while (j >= p0 && sameGroup(c, seq[j]!, x) && compareRunOrder(plan.phaseStartS[x]!, phaseDurationS(plan, x), x, plan.phaseStartS[seq[j]!]!, phaseDurationS(plan, seq[j]!), seq[j]!) < 0) {
      seq[j + 1] = seq[j]!;
      j--;
    }
    seq[j + 1] = x;
  }
}

/**
 * Writes into `run` the plan's barriers before `firstBarrier` (lead-in: from a plan cycle
 * zero up to the rotation at `rotationS`) or from it on (lead-out: from the rotation to the
 * plan's cycle end, times shifted to start at 0). Phases not in that part never show.
 */
export function writePlanPart(c: CompiledNetwork, i: number, plan: PlanBuffer, run: PlanBuffer, rotationS: number, firstBarrier: number, leadIn: boolean): void {
  copyIntersectionPlan(c, i, plan, run);
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    const inLeadIn = c.phaseBarrier[p]! < firstBarrier;
    if (inLeadIn !== leadIn) run.phaseStartS[p] = Number.POSITIVE_INFINITY;
    else if (!leadIn) run.phaseStartS[p] = plan.phaseStartS[p]! - rotationS;
  }
  run.cycleS[i] = leadIn ? rotationS : plan.cycleS[i]! - rotationS;
  run.offsetS[i] = 0;
}
