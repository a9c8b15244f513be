/**
 * Signal heads in the simulator, run like a field controller: each
 * intersection times its current cycle from the plan's phase layout; a new
 * plan takes effect only at a cycle boundary, and offset errors are corrected
 * the short way (shorten by at most 12 % or lengthen by at most 22 % of the
 * cycle per cycle, by stretching the longest green, minimum greens kept).
 * Every cycle layout it runs, transitions included, passes the engine's
 * safety validator first. Called by the simulation every step.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import { validateIntersectionPlan } from '../engine/safety/validator.js';
import { IssueList, UnsafePlanError } from '../engine/errors.js';
import { mod } from '../engine/numeric.js';

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

export const MAX_SHORTEN_SHARE = 0.12;
export const MAX_LENGTHEN_SHARE = 0.22;

export class SignalHeads {
  /** The plan each intersection should run (offset and phase times); swapped in at its next cycle boundary. */
  private readonly target: PlanBuffer;
  private readonly pending: Uint8Array;
  /** The cycle being run right now: its layout, start time and length. */
  private readonly running: PlanBuffer;
  private readonly cycleStartS: Float64Array;
  readonly greenMask: Uint16Array;
  readonly yellowMask: Uint16Array;
  readonly permittedMask: Uint16Array;
  /** Plan switches and offset corrections applied, for reports. */
  planSwitches = 0;
  corrections = 0;
  /** External schedule followed at every update (optional; see `setScheduleSource`). */
  private source: ScheduleSource | undefined;
  private scratch: PlanBuffer | undefined;
  /** Schedule changes applied from the source, and those refused (validator or a transition rule). */
  scheduleChanges = 0;
  scheduleRejections = 0;
  private lastUpdateS = 0;
  /** Why the first refusal happened, for reports. */
  firstRejection = '';

  constructor(private readonly c: CompiledNetwork, plan: PlanBuffer, startS = 0) {
    const n = c.intersectionCount;
    this.target = createPlanBuffer(c);
    this.running = createPlanBuffer(c);
    this.pending = new Uint8Array(n);
    this.cycleStartS = new Float64Array(n);
    this.greenMask = new Uint16Array(n);
    this.yellowMask = new Uint16Array(n);
    this.permittedMask = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      this.copyPlan(plan, this.target, i);
      this.copyPlan(plan, this.running, i);
      // Start in step with the offset, as if the controller had been running all along.
      const cyc = plan.cycleS[i]!;
      this.cycleStartS[i] = startS - mod(startS - plan.offsetS[i]!, cyc);
    }
  }

  private copyPlan(from: PlanBuffer, to: PlanBuffer, i: number): void {
    to.cycleS[i] = from.cycleS[i]!;
    to.offsetS[i] = from.offsetS[i]!;
    for (let p = this.c.phaseStart[i]!; p < this.c.phaseStart[i + 1]!; p++) {
      to.phaseStartS[p] = from.phaseStartS[p]!;
      to.phaseGreenS[p] = from.phaseGreenS[p]!;
      to.phaseYellowS[p] = from.phaseYellowS[p]!;
      to.phaseAllRedS[p] = from.phaseAllRedS[p]!;
    }
  }

  /** Queues a new plan for intersection i; it must already be valid (it is checked again). */
  setPlan(plan: PlanBuffer, i: number): void {
    const issues = new IssueList();
    if (!validateIntersectionPlan(this.c, i, plan, issues)) throw new UnsafePlanError(this.c.intersectionIds[i]!, issues.items);
    this.copyPlan(plan, this.target, i);
    this.pending[i] = 1;
  }

  /** Makes these heads an exact copy of `other` (same network): for simulation look-ahead. */
  copyStateFrom(other: SignalHeads): void {
    for (const name of ['cycleS', 'offsetS', 'phaseStartS', 'phaseGreenS', 'phaseYellowS', 'phaseAllRedS'] as const) {
      this.target[name].set(other.target[name]);
      this.running[name].set(other.running[name]);
    }
    this.pending.set(other.pending);
    this.cycleStartS.set(other.cycleStartS);
    this.greenMask.set(other.greenMask);
    this.yellowMask.set(other.yellowMask);
    this.permittedMask.set(other.permittedMask);
    this.planSwitches = other.planSwitches;
    this.corrections = other.corrections;
  }

  /** Local time in the running cycle of intersection i. */
  cycleTimeS(i: number, tS: number): number {
    return tS - this.cycleStartS[i]!;
  }

  /** When the running cycle of intersection i ends: where a queued plan would take over. */
  nextBoundaryS(i: number): number {
    return this.cycleStartS[i]! + this.running.cycleS[i]!;
  }

  runningCycleS(i: number): number {
    return this.running.cycleS[i]!;
  }

  /**
   * Follow an external schedule (the TSP controller's `cycleAt`): at every
   * update, when the cycle it wants running differs from the running one, the
   * heads switch to it, but only if
   *  - the layout passes `validateIntersectionPlan`, and
   *  - the switch keeps the past: within the running cycle (same start) no
   *    phase that has started may move its start, and no green that has ended
   *    may change (so nothing returns to green after its yellow); a new cycle
   *    must start exactly where the running one ends, and not in the future.
   * Otherwise the heads keep running their own plan and the refusal is counted.
   * Pass undefined to stop following.
   */
  setScheduleSource(source: ScheduleSource | undefined): void {
    this.source = source;
    this.scratch ??= createPlanBuffer(this.c);
  }

  private follow(i: number, tS: number): void {
    const want = this.source!(i, tS);
    if (!want) return;
    const c = this.c;
    const p0 = c.phaseStart[i]!;
    const np = c.phaseStart[i + 1]! - p0;
    const l = want.layout;
    const cur = this.cycleStartS[i]!;
    const sameStart = Math.abs(want.startS - cur) < 1e-6;
    if (sameStart) {
      let same = Math.abs(l.cycleS - this.running.cycleS[i]!) < 1e-9;
      for (let k = 0; same && k < np; k++) {
        same = Math.abs(l.startS[k]! - this.running.phaseStartS[p0 + k]!) < 1e-9 && Math.abs(l.greenS[k]! - this.running.phaseGreenS[p0 + k]!) < 1e-9;
      }
      if (same) return;
      const tau = tS - cur;
      for (let k = 0; k < np; k++) {
        const s = this.running.phaseStartS[p0 + k]!;
        const g = this.running.phaseGreenS[p0 + k]!;
        if (tau >= s && Math.abs(l.startS[k]! - s) > 1e-6) return this.reject(i, `phase ${c.phaseIds[p0 + k]} has started; its start cannot move`);
        if (tau >= s + g && Math.abs(l.greenS[k]! - g) > 1e-6) return this.reject(i, `phase ${c.phaseIds[p0 + k]} green has ended; it cannot change`);
        if (tau < s + g && tau > l.startS[k]! + l.greenS[k]! + 1e-6 && tau >= s) return this.reject(i, `phase ${c.phaseIds[p0 + k]} green would end in the past`);
      }
    } else {
      if (want.startS < cur - 1e-6) return; // an older cycle than the one running: the source lags; keep going
      if (tS < want.startS - 1e-9) return;
      if (Math.abs(cur + this.running.cycleS[i]! - want.startS) > 1e-6) return this.reject(i, `cycle at ${want.startS} s does not start where the running one ends (${cur + this.running.cycleS[i]!} s)`);
      // The plan's own cycle: the heads' cycle boundary below starts it, as without a source.
      if (this.sameAsTarget(i, l)) return;
    }
    const buf = this.scratch!;
    this.copyPlan(this.running, buf, i);
    buf.cycleS[i] = l.cycleS;
    buf.offsetS[i] = mod(this.target.offsetS[i]!, l.cycleS);
    for (let k = 0; k < np; k++) {
      buf.phaseStartS[p0 + k] = l.startS[k]!;
      buf.phaseGreenS[p0 + k] = l.greenS[k]!;
      buf.phaseYellowS[p0 + k] = l.yellowS[k]!;
      buf.phaseAllRedS[p0 + k] = l.allRedS[k]!;
    }
    const issues = new IssueList();
    if (!validateIntersectionPlan(c, i, buf, issues)) return this.reject(i, `validator: ${issues.items.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
    const nextStart = cur + this.running.cycleS[i]!;
    this.copyPlan(buf, this.running, i);
    // Chain on the heads' own clock (the source's start agrees to 1e-6 s), so float noise cannot shift phase edges.
    if (!sameStart) this.cycleStartS[i] = nextStart;
    this.scheduleChanges++;
  }

  private sameAsTarget(i: number, l: ScheduledCycle['layout']): boolean {
    const p0 = this.c.phaseStart[i]!;
    if (Math.abs(l.cycleS - this.target.cycleS[i]!) > 1e-9) return false;
    for (let k = 0; k < this.c.phaseStart[i + 1]! - p0; k++) {
      if (Math.abs(l.startS[k]! - this.target.phaseStartS[p0 + k]!) > 1e-9 || Math.abs(l.greenS[k]! - this.target.phaseGreenS[p0 + k]!) > 1e-9) return false;
    }
    return true;
  }

  private reject(i: number, why: string): void {
    this.scheduleRejections++;
    if (this.scheduleRejections === 1) this.firstRejection = `${this.c.intersectionIds[i]} at ${this.lastUpdateS} s: ${why}`;
  }

  /** Local phases of intersection i in green, yellow or all-red at the last update (bit k = local phase k): for conflict monitors. */
  activePhases(i: number): number {
    const c = this.c;
    const tau = this.lastUpdateS - this.cycleStartS[i]!;
    const p0 = c.phaseStart[i]!;
    let mask = 0;
    for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
      const s = this.running.phaseStartS[p]!;
      // 1 µs tolerance at the end: green + yellow + all-red summed in floating point may overshoot the next start.
      if (tau >= s - 1e-6 && tau < s + this.running.phaseGreenS[p]! + this.running.phaseYellowS[p]! + this.running.phaseAllRedS[p]! - 1e-6) mask |= 1 << (p - p0);
    }
    return mask;
  }

  /** Advances every intersection to time t and recomputes the movement masks. */
  update(tS: number): void {
    const c = this.c;
    this.lastUpdateS = tS;
    for (let i = 0; i < c.intersectionCount; i++) {
      if (this.source) this.follow(i, tS);
      let tau = tS - this.cycleStartS[i]!;
      while (tau >= this.running.cycleS[i]!) {
        this.cycleStartS[i] = this.cycleStartS[i]! + this.running.cycleS[i]!;
        this.beginCycle(i);
        tau = tS - this.cycleStartS[i]!;
      }
      let green = 0;
      let yellow = 0;
      let permitted = 0;
      let protectedGreen = 0;
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        const s = this.running.phaseStartS[p]!;
        const g = s + this.running.phaseGreenS[p]!;
        if (tau >= s && tau < g) {
          green |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
          protectedGreen |= c.phaseProtectedMask[p]!;
          permitted |= c.phasePermittedMask[p]!;
        } else if (tau >= g && tau < g + this.running.phaseYellowS[p]!) {
          yellow |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
        }
      }
      this.greenMask[i] = green;
      this.yellowMask[i] = yellow & ~green;
      this.permittedMask[i] = permitted & ~protectedGreen;
    }
  }

  /**
   * At a cycle boundary: take a pending plan, then correct any offset error
   * the short way by stretching or squeezing the longest green of the cycle.
   */
  private beginCycle(i: number): void {
    const c = this.c;
    if (this.pending[i] === 1) {
      this.copyPlan(this.target, this.running, i);
      this.pending[i] = 0;
      this.planSwitches++;
    } else {
      this.copyPlan(this.target, this.running, i);
    }
    const cyc = this.target.cycleS[i]!;
    const late = mod(this.cycleStartS[i]! - this.target.offsetS[i]!, cyc);
    if (late < 1e-6 || cyc - late < 1e-6) return;
    let delta = late <= cyc - late ? -late : cyc - late;
    delta = Math.max(-MAX_SHORTEN_SHARE * cyc, Math.min(MAX_LENGTHEN_SHARE * cyc, delta));
    // Stretch the longest green of ring 0, and the same barrier's longest green in every other ring.
    const p0 = c.phaseStart[i]!;
    const p1 = c.phaseStart[i + 1]!;
    let longest = p0;
    for (let p = p0; p < p1; p++) if (c.phaseRing[p] === 0 && this.running.phaseGreenS[p]! > this.running.phaseGreenS[longest]!) longest = p;
    const barrier = c.phaseBarrier[longest]!;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      let best = -1;
      for (let p = p0; p < p1; p++) if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && (best < 0 || this.running.phaseGreenS[p]! > this.running.phaseGreenS[best]!)) best = p;
      if (best >= 0) delta = Math.max(delta, c.phaseMinGreenS[best]! - this.running.phaseGreenS[best]!);
    }
    if (Math.abs(delta) < 1e-6) return;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      let best = -1;
      for (let p = p0; p < p1; p++) if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && (best < 0 || this.running.phaseGreenS[p]! > this.running.phaseGreenS[best]!)) best = p;
      if (best < 0) continue;
      const at = this.running.phaseStartS[best]!;
      this.running.phaseGreenS[best] = this.running.phaseGreenS[best]! + delta;
      // Later phases of this ring in the same barrier move with it.
      for (let p = p0; p < p1; p++) {
        if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && this.running.phaseStartS[p]! > at + 1e-9) this.running.phaseStartS[p] = this.running.phaseStartS[p]! + delta;
      }
    }
    // Every phase of a later barrier moves once.
    for (let p = p0; p < p1; p++) if (c.phaseBarrier[p]! > barrier) this.running.phaseStartS[p] = this.running.phaseStartS[p]! + delta;
    this.running.cycleS[i] = cyc + delta;
    this.running.offsetS[i] = mod(this.target.offsetS[i]!, this.running.cycleS[i]!);
    if (!validateIntersectionPlan(c, i, this.running)) {
      // A correction that the validator rejects is never run: fall back to the plain cycle.
      this.copyPlan(this.target, this.running, i);
      return;
    }
    this.corrections++;
  }
}

