/**
 * The one cycle runner: a state machine from a plan and the clock to what a
 * field controller shows, for every intersection of a compiled network (or
 * just one). Used by the simulator's signal heads (simulator/signals.ts, every
 * step), the virtual controller (controllers-adapter/virtual/controller.ts)
 * and, for its lamp rule, SPaT (service/spat.ts, via ./lamps.ts).
 *
 * Rules, as a controller runs them:
 *  - A new plan takes effect only at a cycle boundary (cycle zero).
 *  - Offset errors are corrected the short way at each cycle zero (at most
 *    12 % shorter or 22 % longer per cycle, in whole tenths, minimum greens
 *    and pedestrian times kept: ./offsetCorrection.ts).
 *  - Every layout it runs that is not the plan itself (a correction, an
 *    external schedule's cycle, a one-cycle override) passes the one safety
 *    validator (engine/safety/validator.ts) first; plans are validated when
 *    they are queued. A correction the validator refuses is not run: that
 *    cycle runs uncorrected.
 *  - An external schedule (the TSP controller) can be followed: see
 *    setScheduleSource.
 *
 *  - Actuated control (setActuated, or the constructor's `actuated`): free
 *    or coordinated intersections run passes of gap-out, max-out, force-off
 *    and skips, decided as the clock reaches them (./actuatedPass.ts has the
 *    rules; ./actuatedEntry.ts enters and leaves them), fed by `actuate` /
 *    `placeCall`. Settings pass the validator's validateActuatedPlan and take
 *    effect at a plan cycle zero (coordinated: one in step with the offset). While an intersection runs actuated, the
 *    schedule source is not followed for it, and plan switches and one-cycle
 *    overrides wait for the pass to end (coordinated: and the plan's remaining
 *    barriers, back to its cycle zero). Fixed time is the default and runs
 *    exactly as without this.
 *
 * Hot-loop shape: all state is in typed arrays indexed by intersection or
 * global phase, `update` and `stepTo` allocate nothing, and every array keeps
 * one element kind.
 *
 * Why this file is a little over 600 lines: what is left is the state machine
 * itself (begin a cycle, step its intervals, hand over to the actuated pass),
 * whose parts read and write the same per-intersection state in one order.
 * The rules it applies already live beside it (./offsetCorrection.ts,
 * ./scheduleFollow.ts, ./actuatedEntry.ts, ./actuatedPass.ts, ./lamps.ts);
 * splitting the stepping itself would scatter one safety-critical sequence
 * over two files.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { ErrorCode, GreenwaveError, IssueList, UnsafePlanError } from '../errors.js';
import type { ActuatedPlan } from '../timing/actuated.js';
import { ActuatedPass, isActuatedMode, KIND_FIXED, KIND_PASS } from './actuatedPass.js';
import { actuatedCycleZero, checkActuated, checkActuatedFits, enterAtPlanCycleZero, startActuated, type RunnerState } from './actuatedEntry.js';
import { mod } from '../numeric.js';
import { correctOffset } from './offsetCorrection.js';
import { activePhaseMask, allRedLamps, evaluateLamps, nextEdgeS, phaseIntervals, PHASE_RED } from './lamps.js';
import { pastChangeRefusal, sameAsRunning, samePlanLayout, writeScheduledLayout, type ScheduleSource } from './scheduleFollow.js';

export { MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE } from './offsetCorrection.js';
export type { ScheduledCycle, ScheduleSource } from './scheduleFollow.js';
/** An actuated pass starts here (see setActuated; ./actuatedEntry.ts sets it). */
export { BOUNDARY_ACTUATED } from './actuatedEntry.js';

/** How long after its time `update` takes a sample, s: far above float noise in plan times, far below any step. */
export const SAMPLE_LEAD_S = 1e-9;

/** What happened at the last cycle zero of an intersection (bits of `boundaryFlags`). */
export const BOUNDARY_PLAN_SWITCH = 1;
export const BOUNDARY_ONE_CYCLE = 2;
export const BOUNDARY_CORRECTED = 4;
/** The schedule source's cycle started here instead of the plan (no plan switch or correction). */
export const BOUNDARY_SCHEDULED = 8;

/** What `stepTo` reached. */
export const STEP_DONE = 0;
export const STEP_EDGE = 1;
export const STEP_CYCLE_ZERO = 2;

const EPS = 1e-6;
const FOLLOW_NONE = 0;
const FOLLOW_SAME_CYCLE = 1;
const FOLLOW_NEW_CYCLE = 2;

export class CycleRunner {
  readonly c: CompiledNetwork;
  /** Intersections run: [first, end). */
  readonly first: number;
  readonly end: number;
  /** The plan each intersection runs (as queued: no correction applied). */
  private readonly target: PlanBuffer;
  /** A plan queued for the next cycle zero. */
  private readonly queued: PlanBuffer;
  private readonly hasQueued: Uint8Array;
  /** A layout to run for the next cycle only (a priority override), instead of the plan. */
  private oneCycle: PlanBuffer | undefined;
  private readonly hasOneCycle: Uint8Array;
  /** The cycle being run right now (correction or override applied); read-only for callers. */
  readonly running: PlanBuffer;
  readonly cycleStartS: Float64Array;
  /** Cycle time of the last evaluation (after `update`, see `tauS`). */
  private readonly lastTauS: Float64Array;
  /** True after `update` (positions are lastUpdateS − cycle start, not stored per intersection: the hot loop saves the store). */
  private sampled = false;
  /** 1: every lamp red until the next cycle zero (power-up, after a fault or manual control); heldRed counts the 1s. */
  readonly redUntilCycleZero: Uint8Array;
  private heldRed = 0;
  /** 1 (default): correct offset errors at cycle zero; 0: free mode, the cycle runs as planned. */
  readonly correctOffsets: Uint8Array;
  /** BOUNDARY_* bits of the last cycle zero, per intersection. */
  readonly boundaryFlags: Uint8Array;
  /** Lamps at the last evaluation, per intersection (bit = movement approach*4 + turn): see evaluateLamps. */
  readonly greenMask: Uint16Array;
  readonly yellowMask: Uint16Array;
  readonly permittedMask: Uint16Array;
  /** PHASE_RED / GREEN / YELLOW / ALL_RED per global phase: filled by `intervals(i)`. */
  readonly phaseInterval: Uint8Array;
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
  /** Actuated control: settings, detector state and the pass being run (counters for reports). */
  readonly act: ActuatedPass;
  /** This runner's arrays for the actuated entry and exit (./actuatedEntry.ts): the same arrays, by reference. */
  private readonly shared: RunnerState;

  /**
   * Runs `plan` from clock time `startS`, in step with each offset as if it had been
   * running all along. `only` ≥ 0 runs that intersection alone (the rest of `plan` may be
   * empty). Throws UnsafePlanError if the plan fails the validator. With `actuated`, the
   * intersections it sets free start a pass at `startS`; coordinated ones start their
   * lead-in if `startS` falls in it, else at the next cycle zero (or the settings fail
   * validateActuatedPlan: UnsafePlanError).
   */
  constructor(c: CompiledNetwork, plan: PlanBuffer, startS = 0, only = -1, actuated?: ActuatedPlan) {
    const n = c.intersectionCount;
    this.c = c;
    this.first = only >= 0 ? only : 0;
    this.end = only >= 0 ? only + 1 : n;
    this.target = createPlanBuffer(c);
    this.queued = createPlanBuffer(c);
    this.running = createPlanBuffer(c);
    this.hasQueued = new Uint8Array(n);
    this.hasOneCycle = new Uint8Array(n);
    this.cycleStartS = new Float64Array(n);
    this.lastTauS = new Float64Array(n);
    this.redUntilCycleZero = new Uint8Array(n);
    this.correctOffsets = new Uint8Array(n).fill(1);
    this.boundaryFlags = new Uint8Array(n);
    this.greenMask = new Uint16Array(n);
    this.yellowMask = new Uint16Array(n);
    this.permittedMask = new Uint16Array(n);
    this.phaseInterval = new Uint8Array(c.phaseIds.length);
    this.act = new ActuatedPass(c);
    this.shared = { c, act: this.act, target: this.target, running: this.running, hasQueued: this.hasQueued, hasOneCycle: this.hasOneCycle, cycleStartS: this.cycleStartS, lastTauS: this.lastTauS, boundaryFlags: this.boundaryFlags, correctOffsets: this.correctOffsets };
    for (let i = this.first; i < this.end; i++) {
      this.check(plan, i);
      this.copyPlan(plan, this.target, i);
      this.anchor(i, startS);
      if (actuated && isActuatedMode(actuated.mode[i]!)) startActuated(this.shared, plan, i, actuated, startS);
    }
  }

  // ------------------------------------------------------------ actuated

  /**
   * Runs intersection i (or every intersection run, i < 0) on the actuated settings `a`
   * (engine/timing/actuated.ts) from the next plan cycle zero; undefined goes back to fixed
   * time. The settings are checked against the plan that cycle zero starts (validator's
   * validateActuatedPlan; UnsafePlanError if refused, nothing queued). A plan queued later
   * must fit them too (setPlan checks). Coordinated mode waits for a cycle zero in step.
   */
  setActuated(a: ActuatedPlan | undefined, i = -1): void {
    const from = i >= 0 ? i : this.first;
    const to = i >= 0 ? i + 1 : this.end;
    if (a) for (let k = from; k < to; k++) if (isActuatedMode(a.mode[k]!)) checkActuated(this.c, this.nextPlan(k), k, a);
    for (let k = from; k < to; k++) {
      this.act.settings.queue(k, a && isActuatedMode(a.mode[k]!) ? a : undefined);
      this.act.leavePending[k] = 1;
    }
  }

  /** A detection on global phase p at clock time t: extends its green, or calls it. Allocation-free. */
  actuate(p: number, tS: number): void {
    this.act.actuate(p, tS);
  }

  /** Calls global phase p (a vehicle waits) without a detection time; ignored while it is green. */
  placeCall(p: number): void {
    if (this.act.greenNow[p] === 0) this.act.call[p] = 1;
  }

  /** Per global phase: 1 = called (cleared when served). The caller may write it; see actuate. */
  get phaseCall(): Uint8Array {
    return this.act.call;
  }

  /** Per global phase: clock time of the last detection (passage timer); the caller may write it. */
  get lastActuationS(): Float64Array {
    return this.act.lastActuationS;
  }

  /** True while intersection i runs an actuated pass (or its lead-in or lead-out). */
  isActuated(i: number): boolean {
    return this.act.kind[i] !== KIND_FIXED;
  }

  /**
   * Starts intersection i afresh on `plan` at time t (in step with its offset): nothing
   * queued, no override, lamps not held red. Counters are kept. Throws UnsafePlanError.
   */
  reset(plan: PlanBuffer, i: number, tS: number): void {
    this.check(plan, i);
    checkActuatedFits(this.shared, plan, i);
    this.copyPlan(plan, this.target, i);
    this.hasQueued[i] = 0;
    this.hasOneCycle[i] = 0;
    this.releaseRed(i);
    this.boundaryFlags[i] = 0;
    this.anchor(i, tS);
  }

  private check(plan: PlanBuffer, i: number): void {
    // Callers have usually validated already (the controller, for its refusal message): no issue list unless it fails.
    if (validateIntersectionPlan(this.c, i, plan)) return;
    const issues = new IssueList();
    validateIntersectionPlan(this.c, i, plan, issues);
    throw new UnsafePlanError(this.c.intersectionIds[i]!, issues.items);
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

  // ------------------------------------------------------------ plans in

  /** Queues a new plan for intersection i, taken at its next cycle zero; it must be valid (it is checked again). */
  setPlan(plan: PlanBuffer, i: number): void {
    this.check(plan, i);
    checkActuatedFits(this.shared, plan, i);
    this.queuePlan(plan, i);
  }

  /**
   * Queues `plan` for i together with the actuated settings it is to run with (undefined:
   * fixed time), both taken at the same cycle zero: what a controller does with a plan
   * committed with its actuated block. Both are checked first (UnsafePlanError: nothing queued).
   */
  setPlanWithSettings(plan: PlanBuffer, i: number, a: ActuatedPlan | undefined): void {
    this.check(plan, i);
    const actuated = a !== undefined && isActuatedMode(a.mode[i]!);
    if (actuated) checkActuated(this.c, plan, i, a);
    this.act.settings.queue(i, actuated ? a : undefined);
    this.queuePlan(plan, i);
  }

  /** A checked plan waits for i's next cycle zero (an actuated pass ends there to take it). */
  private queuePlan(plan: PlanBuffer, i: number): void {
    this.copyPlan(plan, this.queued, i);
    this.hasQueued[i] = 1;
    this.act.leavePending[i] = 1;
  }

  /** The plan intersection i runs (as committed, no correction), and whether another is queued. */
  get plan(): PlanBuffer {
    return this.target;
  }

  isQueued(i: number): boolean {
    return this.hasQueued[i] === 1;
  }

  /** The plan the next cycle zero starts from: the queued one if any. */
  private nextPlan(i: number): PlanBuffer {
    return this.hasQueued[i] === 1 ? this.queued : this.target;
  }

  /**
   * Runs `layout` for the next cycle only, instead of the plan and without offset
   * correction (a priority override brings the cycle back to its offset itself). A plan
   * switch at that cycle zero wins: the override was timed against the old plan.
   */
  setOneCycle(layout: PlanBuffer, i: number): void {
    this.check(layout, i);
    this.oneCycle ??= createPlanBuffer(this.c);
    this.copyPlan(layout, this.oneCycle, i);
    this.hasOneCycle[i] = 1;
    this.act.leavePending[i] = 1;
  }

  /**
   * Replaces the rest of the running cycle with `layout` (same cycle start). The caller
   * decides whether the change keeps the past (see the virtual controller's override
   * rules); the layout is validated here.
   */
  replaceRunning(layout: PlanBuffer, i: number): void {
    if (this.act.kind[i] !== KIND_FIXED) throw new GreenwaveError(ErrorCode.InvalidInput, `${this.c.intersectionIds[i]} runs actuated: its running cycle is decided by its detectors and cannot be replaced`);
    this.check(layout, i);
    this.copyPlan(layout, this.running, i);
  }

  // ------------------------------------------------------------ clock

  /** Runs the plan of intersection i in step with its offset from time t (discarding this cycle's correction or override). */
  anchor(i: number, tS: number): void {
    this.unsample();
    this.act.clear(i);
    this.copyPlan(this.target, this.running, i);
    const cyc = this.running.cycleS[i]!;
    this.cycleStartS[i] = tS - mod(tS - this.running.offsetS[i]!, cyc);
    this.lastTauS[i] = tS - this.cycleStartS[i]!;
  }

  /** Every lamp red until the next cycle zero. */
  holdRedUntilCycleZero(i: number): void {
    if (this.redUntilCycleZero[i] === 1) return;
    this.redUntilCycleZero[i] = 1;
    this.heldRed++;
  }

  private releaseRed(i: number): void {
    if (this.redUntilCycleZero[i] === 0) return;
    this.redUntilCycleZero[i] = 0;
    this.heldRed--;
  }

  /** The position of intersection i in its running cycle, as last evaluated. */
  tauS(i: number): number {
    return this.sampled ? this.lastUpdateS - this.cycleStartS[i]! : this.lastTauS[i]!;
  }

  /** Leaves `update`'s sampling: every intersection's position is stored again (stepTo reads it). */
  private unsample(): void {
    if (!this.sampled) return;
    for (let i = this.first; i < this.end; i++) this.lastTauS[i] = this.lastUpdateS - this.cycleStartS[i]!;
    this.sampled = false;
  }

  /** Keeps the cycle clock in step while no lamps are timed (flash, manual control): no transitions run. */
  keepPhase(i: number, tS: number): void {
    this.unsample();
    const tau = tS - this.cycleStartS[i]!;
    if (tau >= this.running.cycleS[i]!) this.anchor(i, tS);
    else this.lastTauS[i] = tau;
  }

  /**
   * Advances intersection i towards clock time t by one event: to the next interval edge
   * (STEP_EDGE), to cycle zero where a queued plan or correction takes over
   * (STEP_CYCLE_ZERO; see boundaryFlags), or to t itself if no edge comes first
   * (STEP_DONE). The lamps are evaluated at the point reached. Call until STEP_DONE to
   * see every lamp change (a conflict monitor must); times before the last one are ignored.
   */
  stepTo(i: number, tS: number): number {
    this.unsample();
    if (this.act.kind[i] === KIND_PASS) return this.stepPass(i, tS);
    if (this.source && this.act.kind[i] === KIND_FIXED && this.follow(i, this.cycleStartS[i]! + this.lastTauS[i]!) === FOLLOW_NEW_CYCLE) {
      // Within float noise of the boundary, the schedule's next cycle has begun.
      this.boundaryFlags[i] = BOUNDARY_SCHEDULED;
      this.lastTauS[i] = 0;
      this.evaluate(i, 0);
      return STEP_CYCLE_ZERO;
    }
    // cycleStartS accumulates float error: right after a wrap it may sit a hair after t.
    const target = Math.max(0, tS - this.cycleStartS[i]!);
    const r = this.running;
    const cyc = r.cycleS[i]!;
    const b = nextEdgeS(this.c, i, this.lastTauS[i]!, cyc, r.phaseStartS, r.phaseGreenS, r.phaseYellowS, r.phaseAllRedS);
    if (b > target) {
      this.lastTauS[i] = target;
      this.evaluate(i, target);
      return STEP_DONE;
    }
    if (b >= cyc) {
      // A schedule's next cycle is taken at the boundary itself, as `update` takes it.
      if (this.source && this.act.kind[i] === KIND_FIXED && this.follow(i, this.cycleStartS[i]! + cyc) === FOLLOW_NEW_CYCLE) {
        this.boundaryFlags[i] = BOUNDARY_SCHEDULED;
      } else {
        this.cycleStartS[i] = this.cycleStartS[i]! + cyc;
        this.beginCycle(i);
      }
      this.lastTauS[i] = 0;
      this.evaluate(i, 0);
      return STEP_CYCLE_ZERO;
    }
    this.lastTauS[i] = b;
    this.evaluate(i, b);
    return STEP_EDGE;
  }

  /** stepTo within an actuated pass: decisions are edges too, taken before the lamps are shown. */
  private stepPass(i: number, tS: number): number {
    const act = this.act;
    const r = this.running;
    const lt = this.lastTauS[i]!;
    const due = act.nextDecisionS(i, r, this.cycleStartS[i]!, lt);
    let b: number;
    if (due <= lt + 1e-9) {
      // The detectors changed since the last step (or a tie): decide now, show it at the same instant.
      b = lt;
    } else {
      const target = Math.max(0, tS - this.cycleStartS[i]!);
      b = Math.min(due, nextEdgeS(this.c, i, lt, r.cycleS[i]!, r.phaseStartS, r.phaseGreenS, r.phaseYellowS, r.phaseAllRedS));
      if (b > target) {
        this.lastTauS[i] = target;
        this.evaluate(i, target);
        return STEP_DONE;
      }
    }
    act.advance(i, r, this.cycleStartS[i]!, b, b);
    if (b >= r.cycleS[i]! - 1e-9) {
      this.cycleStartS[i] = this.cycleStartS[i]! + r.cycleS[i]!;
      this.beginCycle(i);
      this.lastTauS[i] = 0;
      this.evaluate(i, 0);
      return STEP_CYCLE_ZERO;
    }
    this.lastTauS[i] = b;
    this.evaluate(i, b);
    return STEP_EDGE;
  }

  /**
   * Advances every intersection to time t (following the schedule source, if any) and
   * evaluates the lamps there. Edges in between are not evaluated: for the simulator,
   * which samples the lamps once per step.
   *
   * The sample is taken SAMPLE_LEAD_S after t. Edges are sums of plan times, and float
   * rounding puts some a hair either side of where they belong: a green's end
   * (30.500000000000004) after a sample and its yellow's end (34.5) on one, so a sampler
   * holding each sample for its step showed that 4 s yellow for 3 (SUMO in the loop, a
   * correction cycle). Taken a little later, a sample sees every edge within float noise
   * after it, both ends of an interval alike, and shows whole intervals as whole steps.
   */
  update(sampleS: number): void {
    const tS = sampleS + SAMPLE_LEAD_S;
    const wasSampled = this.sampled;
    const prevS = this.lastUpdateS;
    this.lastUpdateS = tS;
    this.sampled = true;
    const c = this.c;
    const run = this.running;
    const end = this.end;
    const kind = this.act.kind;
    // Only the controller holds lamps red; nothing in this loop holds more (cycle zero releases).
    const anyHeld = this.heldRed > 0;
    for (let i = this.first; i < end; i++) {
      if (this.source && kind[i] === KIND_FIXED) this.follow(i, tS);
      let tau = tS - this.cycleStartS[i]!;
      // Decisions land no earlier than the last point shown; one due there or before (a detection
      // since asked for it) lands at this sample, where it is first shown, when that point was a
      // sample: at the sample's own time, not SAMPLE_LEAD_S after it, so that the edges it makes
      // sit on the sample grid and later samples see them with the lead to spare.
      if (kind[i] === KIND_PASS) this.act.advance(i, run, this.cycleStartS[i]!, wasSampled ? prevS - this.cycleStartS[i]! : this.lastTauS[i]!, tau, wasSampled ? sampleS - this.cycleStartS[i]! : this.lastTauS[i]!);
      while (tau >= run.cycleS[i]!) {
        this.cycleStartS[i] = this.cycleStartS[i]! + run.cycleS[i]!;
        this.beginCycle(i);
        tau = tS - this.cycleStartS[i]!;
        if (kind[i] === KIND_PASS) this.act.advance(i, run, this.cycleStartS[i]!, 0, tau);
      }
      if (anyHeld && this.redUntilCycleZero[i] === 1) allRedLamps(this.greenMask, this.yellowMask, this.permittedMask, i);
      else evaluateLamps(c, i, tau, run.phaseStartS, run.phaseGreenS, run.phaseYellowS, this.greenMask, this.yellowMask, this.permittedMask, i);
    }
  }

  /** Lamps of intersection i at position tau of its running cycle (into the masks). */
  evaluate(i: number, tauS: number): void {
    if (this.redUntilCycleZero[i] === 1) {
      allRedLamps(this.greenMask, this.yellowMask, this.permittedMask, i);
      return;
    }
    const r = this.running;
    evaluateLamps(this.c, i, tauS, r.phaseStartS, r.phaseGreenS, r.phaseYellowS, this.greenMask, this.yellowMask, this.permittedMask, i);
  }

  /**
   * The interval of every phase of intersection i at its last evaluated position (all red
   * while held red), into `phaseInterval` (by global phase), which it returns. Computed on
   * demand, not per step: the simulator reads only the lamp masks.
   */
  intervals(i: number): Uint8Array {
    const c = this.c;
    if (this.redUntilCycleZero[i] === 1) {
      this.phaseInterval.fill(PHASE_RED, c.phaseStart[i]!, c.phaseStart[i + 1]!);
    } else {
      const r = this.running;
      phaseIntervals(c, i, this.tauS(i), r.phaseStartS, r.phaseGreenS, r.phaseYellowS, r.phaseAllRedS, this.phaseInterval);
    }
    return this.phaseInterval;
  }

  // ------------------------------------------------------------ views

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

  /** Local phases of intersection i in green, yellow or all-red at the last update (bit k = local phase k): for conflict monitors. */
  activePhases(i: number): number {
    const r = this.running;
    return activePhaseMask(this.c, i, this.lastUpdateS - this.cycleStartS[i]!, r.phaseStartS, r.phaseGreenS, r.phaseYellowS, r.phaseAllRedS);
  }

  /** Makes this runner an exact copy of `other` (same network): for simulation look-ahead. The schedule source is not copied. */
  copyStateFrom(other: CycleRunner): void {
    for (const name of ['cycleS', 'offsetS', 'phaseStartS', 'phaseGreenS', 'phaseYellowS', 'phaseAllRedS'] as const) {
      this.target[name].set(other.target[name]);
      this.queued[name].set(other.queued[name]);
      this.running[name].set(other.running[name]);
      if (other.oneCycle) {
        this.oneCycle ??= createPlanBuffer(this.c);
        this.oneCycle[name].set(other.oneCycle[name]);
      }
    }
    this.hasQueued.set(other.hasQueued);
    this.hasOneCycle.set(other.hasOneCycle);
    this.cycleStartS.set(other.cycleStartS);
    this.lastTauS.set(other.lastTauS);
    this.sampled = other.sampled;
    this.lastUpdateS = other.lastUpdateS;
    this.redUntilCycleZero.set(other.redUntilCycleZero);
    this.heldRed = other.heldRed;
    this.correctOffsets.set(other.correctOffsets);
    this.boundaryFlags.set(other.boundaryFlags);
    this.greenMask.set(other.greenMask);
    this.yellowMask.set(other.yellowMask);
    this.permittedMask.set(other.permittedMask);
    this.phaseInterval.set(other.phaseInterval);
    this.planSwitches = other.planSwitches;
    this.corrections = other.corrections;
    this.act.copyFrom(other.act);
  }

  // ------------------------------------------------------------ schedule

  /**
   * Follow an external schedule (the TSP controller's `cycleAt`): at every
   * update, when the cycle it wants running differs from the running one, the
   * runner switches to it, but only if
   *  - the layout passes `validateIntersectionPlan`, and
   *  - the switch keeps the past: within the running cycle (same start) no
   *    phase that has started may move its start, and no green that has ended
   *    may change (so nothing returns to green after its yellow); a new cycle
   *    must start exactly where the running one ends, and not in the future.
   * Otherwise the runner keeps its own plan and the refusal is counted.
   * Pass undefined to stop following.
   */
  setScheduleSource(source: ScheduleSource | undefined): void {
    this.source = source;
    this.scratch ??= createPlanBuffer(this.c);
  }

  private follow(i: number, tS: number): number {
    const want = this.source!(i, tS);
    if (!want) return FOLLOW_NONE;
    const c = this.c;
    const run = this.running;
    const l = want.layout;
    const cur = this.cycleStartS[i]!;
    const sameStart = Math.abs(want.startS - cur) < EPS;
    if (sameStart) {
      if (sameAsRunning(c, run, i, l)) return FOLLOW_NONE;
      const why = pastChangeRefusal(c, run, i, tS - cur, l);
      if (why !== '') return this.reject(i, tS, why);
    } else {
      if (want.startS < cur - EPS) return FOLLOW_NONE; // an older cycle than the one running: the source lags; keep going
      if (tS < want.startS - 1e-9) return FOLLOW_NONE;
      if (Math.abs(cur + run.cycleS[i]! - want.startS) > EPS) return this.reject(i, tS, `cycle at ${want.startS} s does not start where the running one ends (${cur + run.cycleS[i]!} s)`);
      // The plan's own cycle: the runner's cycle boundary starts it, as without a source.
      if (samePlanLayout(c, this.nextPlan(i), i, l)) return FOLLOW_NONE;
    }
    const buf = this.scratch!;
    this.copyPlan(run, buf, i);
    writeScheduledLayout(c, i, l, this.nextPlan(i).offsetS[i]!, buf);
    const issues = new IssueList();
    if (!validateIntersectionPlan(c, i, buf, issues)) return this.reject(i, tS, `validator: ${issues.items.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
    const nextStart = cur + run.cycleS[i]!;
    this.copyPlan(buf, run, i);
    // Chain on the runner's own clock (the source's start agrees to 1e-6 s), so float noise cannot shift phase edges.
    this.scheduleChanges++;
    if (sameStart) return FOLLOW_SAME_CYCLE;
    this.cycleStartS[i] = nextStart;
    this.releaseRed(i);
    return FOLLOW_NEW_CYCLE;
  }

  private reject(i: number, tS: number, why: string): number {
    this.scheduleRejections++;
    if (this.scheduleRejections === 1) this.firstRejection = `${this.c.intersectionIds[i]} at ${tS} s: ${why}`;
    return FOLLOW_NONE;
  }

  // ------------------------------------------------------------ cycle zero

  /** At cycle zero: take a queued plan, or run a one-cycle override, else correct any offset error the short way. */
  private beginCycle(i: number): void {
    this.releaseRed(i);
    // Actuated: the next pass, or the lead-in or lead-out, unless the runner leaves for fixed time here.
    if (this.act.kind[i] !== KIND_FIXED && actuatedCycleZero(this.shared, i)) return;
    this.act.clear(i);
    let flags = 0;
    const switching = this.hasQueued[i] === 1;
    if (switching) {
      this.copyPlan(this.queued, this.target, i);
      this.hasQueued[i] = 0;
      this.planSwitches++;
      flags |= BOUNDARY_PLAN_SWITCH;
    }
    if (this.hasOneCycle[i] === 1) {
      this.hasOneCycle[i] = 0;
      if (!switching) {
        this.copyPlan(this.oneCycle!, this.running, i);
        this.boundaryFlags[i] = flags | BOUNDARY_ONE_CYCLE;
        return;
      }
    }
    this.copyPlan(this.target, this.running, i);
    if (this.correctOffsets[i] === 1) {
      if (correctOffset(this.c, i, this.target, this.running, this.cycleStartS[i]!)) {
        this.corrections++;
        flags |= BOUNDARY_CORRECTED;
      } else {
        // A correction the validator rejects is never run: this cycle runs uncorrected.
        this.copyPlan(this.target, this.running, i);
      }
    }
    this.boundaryFlags[i] = flags;
    // Actuated settings change at a plan cycle zero; control starts at one run as planned (a corrected cycle is out of step).
    this.act.settings.takeQueued(i);
    if ((flags & BOUNDARY_CORRECTED) === 0) enterAtPlanCycleZero(this.shared, i, flags);
  }
}
