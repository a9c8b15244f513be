/**
 * The order in which a ring runs its phases, read off a plan's start times. A skipped
 * on-demand phase takes no time, so it starts where the next phase of its ring does; it runs
 * before that phase (ties between skipped phases keep the compiled order). Everything that
 * turns starts back into a sequence uses this one rule: the TSP controller's ring order, the
 * Modbus plan block's ring sequence and NTCIP's sequence number.
 */
import type { PlanBuffer } from './planner.js';

/** Green + yellow + all-red of global phase p in `plan`, s (0 for a skipped on-demand phase). */
export function phaseDurationS(plan: PlanBuffer, p: number): number {
  return plan.phaseGreenS[p]! + plan.phaseYellowS[p]! + plan.phaseAllRedS[p]!;
}

/** Negative when phase a (start, duration, index) runs before phase b of the same ring. */
export function compareRunOrder(startA: number, durationA: number, a: number, startB: number, durationB: number, b: number): number {
  if (startA !== startB) return startA - startB;
  const skippedA = durationA === 0 ? 0 : 1;
  const skippedB = durationB === 0 ? 0 : 1;
  return skippedA - skippedB || a - b;
}
