/**
 * The rules by which the cycle runner (./cycleRunner.ts, setScheduleSource) may follow an
 * external schedule such as the TSP controller's: what a schedule's cycle looks like, the
 * checks that keep the past when the runner switches to it, and the plan it switches to.
 * Pure and allocation-free on the accepted path (a reason string is built only for a
 * refusal); the runner does the switch itself, after the safety validator.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { mod } from '../numeric.js';

/** One cycle of one intersection as an external schedule (e.g. the TSP controller) wants it run; local phase order. */
export interface ScheduledCycle {
  readonly startS: number;
  readonly layout: {
    readonly cycleS: number;
    readonly startS: ArrayLike<number>;
    readonly greenS: ArrayLike<number>;
    readonly yellowS: ArrayLike<number>;
    readonly allRedS: ArrayLike<number>;
  };
}

/** The cycle an external schedule wants running at intersection i at time t; undefined = leave the heads alone. */
export type ScheduleSource = (i: number, tS: number) => ScheduledCycle | undefined;

/** Float slack between the schedule's times and the runner's, s. */
const EPS = 1e-6;

/**
 * True when `l` is, to 1e-9 s, the cycle length, phase starts and greens that intersection
 * i's layout in `plan` already has (yellows and all-reds are the phases' own, so they are
 * not compared): following it would change nothing.
 */
export function samePlanLayout(c: CompiledNetwork, plan: PlanBuffer, i: number, l: ScheduledCycle['layout']): boolean {
  const p0 = c.phaseStart[i]!;
  if (Math.abs(l.cycleS - plan.cycleS[i]!) > 1e-9) return false;
  for (let k = 0; k < c.phaseStart[i + 1]! - p0; k++) {
    if (Math.abs(l.startS[k]! - plan.phaseStartS[p0 + k]!) > 1e-9 || Math.abs(l.greenS[k]! - plan.phaseGreenS[p0 + k]!) > 1e-9) return false;
  }
  return true;
}

/**
 * True when `l` is, within 1e-9 s, the running cycle of intersection i (cycle, starts,
 * greens). Unlike samePlanLayout, a NaN or a difference of exactly 1e-9 s counts as a change:
 * the two tests were written apart and the runner's behaviour depends on both as they are.
 */
export function sameAsRunning(c: CompiledNetwork, run: PlanBuffer, i: number, l: ScheduledCycle['layout']): boolean {
  const p0 = c.phaseStart[i]!;
  const np = c.phaseStart[i + 1]! - p0;
  let same = Math.abs(l.cycleS - run.cycleS[i]!) < 1e-9;
  for (let k = 0; same && k < np; k++) {
    same = Math.abs(l.startS[k]! - run.phaseStartS[p0 + k]!) < 1e-9 && Math.abs(l.greenS[k]! - run.phaseGreenS[p0 + k]!) < 1e-9;
  }
  return same;
}

/**
 * Why switching intersection i, `tauS` into its running cycle `run`, to `l` (same cycle
 * start) would rewrite the past, or '' if it would not: a phase that has started may not
 * move its start, a green that has ended may not change (nothing returns to green after
 * its yellow), and a green still on may not be made to end before now.
 */
export function pastChangeRefusal(c: CompiledNetwork, run: PlanBuffer, i: number, tauS: number, l: ScheduledCycle['layout']): string {
  const p0 = c.phaseStart[i]!;
  const np = c.phaseStart[i + 1]! - p0;
  for (let k = 0; k < np; k++) {
    const s = run.phaseStartS[p0 + k]!;
    const g = run.phaseGreenS[p0 + k]!;
    if (tauS >= s && Math.abs(l.startS[k]! - s) > EPS) return `phase ${c.phaseIds[p0 + k]} has started; its start cannot move`;
    if (tauS >= s + g && Math.abs(l.greenS[k]! - g) > EPS) return `phase ${c.phaseIds[p0 + k]} green has ended; it cannot change`;
    if (tauS < s + g && tauS > l.startS[k]! + l.greenS[k]! + EPS && tauS >= s) return `phase ${c.phaseIds[p0 + k]} green would end in the past`;
  }
  return '';
}

/**
 * Writes `l` into intersection i of `into`: its cycle, `offsetS` (the plan's offset, taken mod
 * the new cycle) and every phase's times. The runner validates the result before switching.
 */
export function writeScheduledLayout(c: CompiledNetwork, i: number, l: ScheduledCycle['layout'], offsetS: number, into: PlanBuffer): void {
  const p0 = c.phaseStart[i]!;
  const np = c.phaseStart[i + 1]! - p0;
  into.cycleS[i] = l.cycleS;
  into.offsetS[i] = mod(offsetS, l.cycleS);
  for (let k = 0; k < np; k++) {
    into.phaseStartS[p0 + k] = l.startS[k]!;
    into.phaseGreenS[p0 + k] = l.greenS[k]!;
    into.phaseYellowS[p0 + k] = l.yellowS[k]!;
    into.phaseAllRedS[p0 + k] = l.allRedS[k]!;
  }
}
