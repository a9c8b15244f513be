/**
 * A virtual signal controller for one intersection of a compiled network,
 * driven by an injected clock (`tick(nowS)`: real, accelerated or manual
 * time). It behaves like a field controller behind the Modbus register map:
 *  - runs its plan's phase sequence on the engine's one cycle runner
 *    (engine/runner/cycleRunner.ts); a new plan is taken only at cycle zero;
 *  - accepts a committed plan only after the CRC matches and the engine's
 *    safety validator passes, otherwise keeps running the old plan and
 *    reports a CommitStatus refusal;
 *  - corrects offset errors the short way in coordinated mode (the runner's
 *    rule: shorten ≤ 12 % or lengthen ≤ 22 % of the cycle per cycle, in
 *    tenths, minimum greens kept, every corrected cycle validated);
 *  - falls back to free mode on its last committed plan when central has been
 *    silent for the communication-loss timeout, and back when it returns;
 *  - has a conflict monitor on the lamp outputs: conflicting greens/yellows,
 *    a skipped or short yellow, a short all-red or a short minimum green put
 *    it into latched flash with a fault flag;
 *  - runs actuated on the settings committed with its plan (the actuated block,
 *    checked by ../actuatedBlock.ts; without one the plan runs fixed-time), or
 *    given by options.actuated / setActuated: gap-out, max-out, force-off and
 *    skips on the same runner, its detectors calling and extending the phase
 *    serving their lane (`addDetectorCounts`, `actuate`, or each vehicle of the
 *    deterministic rate at its own time).
 * It keeps a time-of-day table (which plan id from which minute of the day).
 * Time advances event by event (every interval edge between two ticks is
 * evaluated), so coarse or irregular ticks never hide a lamp transition.
 * Its parts: the conflict monitor (./monitor.ts), the detectors (./detectors.ts),
 * the plan store (./planStore.ts), the commit and override checks (./commit.ts),
 * the input-register status (./status.ts) and the event log with its FIFO
 * (./eventPort.ts); this class drives them from the clock.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { ActuatedPlan } from '../../engine/timing/actuated.js';
import { createPlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import { GreenwaveError, ErrorCode, OptionError } from '../../engine/errors.js';
import { BOUNDARY_ONE_CYCLE, BOUNDARY_PLAN_SWITCH, CycleRunner, STEP_CYCLE_ZERO, STEP_DONE } from '../../engine/runner/cycleRunner.js';
import { PHASE_GREEN, PHASE_YELLOW } from '../../engine/runner/lamps.js';
import { assertPhasesFit, encodePlanBlock } from '../codec.js';
import {
  AB_MODE,
  ActuatedMode,
  COMMIT_COMMAND,
  CommitStatus,
  ControllerMode,
  FaultFlag,
  HOLDING_REGISTER_COUNT,
  HR_EVENTS,
  INPUT_REGISTER_COUNT,
  Interval,
  IR_DET_SEQ,
  MAX_COMM_LOSS_TIMEOUT_S,
  MODBUS_MAX_READ_REGISTERS,
  NO_PHASE,
  PB_PLAN_ID,
  PLAN_BLOCK_LENGTH,
} from '../registerMap.js';
import { ConflictMonitor } from './monitor.js';
import { DEFAULT_OCCUPIED_S_PER_VEHICLE, DetectorBank } from './detectors.js';
import { NO_COMMIT, PlanStore, checkRange } from './planStore.js';
import { CommitOutcome, commitStaged } from './commit.js';
import { RingStatus, inputValue } from './status.js';
import type { ControllerEventLog, ControllerEventLogOptions } from './events.js';
import type { EventFifo } from './eventFifo.js';
import { EventLogPort, type ServeEventLogOptions } from './eventPort.js';

export { MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE } from '../../engine/runner/cycleRunner.js';
export { DEFAULT_OCCUPIED_S_PER_VEHICLE, detectorRange } from './detectors.js';
/** Clock jumps up to a day are replayed edge by edge (a few ms); longer ones re-anchor, all red at once, and the monitor flashes (as an MMU does for so long a stall). */
const MAX_REPLAY_S = 86_400;

export interface VirtualControllerOptions {
  /** Clock time at power-up, s (default 0). */
  readonly startS?: number;
  /** Seconds without a request from central before falling back to free mode (default 60; 0 = never). */
  readonly commLossTimeoutS?: number;
  /** Deterministic detector demand, veh/h per local detector (a number applies to all). Default none. */
  readonly detectorVehPerH?: number | ArrayLike<number>;
  /** Actuated settings to run the local plan with (from the first cycle zero); UnsafePlanError if the validator refuses them. */
  readonly actuated?: ActuatedPlan;
}

/** Lamp outputs per movement (bit = movementIndex(approach, turn), as in the compiled network). */
export interface LampOutputs {
  readonly green: number;
  readonly yellow: number;
  readonly red: number;
  readonly flashing: boolean;
}

/** What a controller keeps across a power cycle: the plans, never the staging area. */
export interface ControllerState {
  readonly mode: ControllerMode;
  readonly faults: number;
  readonly activePlanId: number;
  readonly pendingPlanId: number;
  readonly commitStatus: CommitStatus;
  readonly lastCommitPlanId: number;
  readonly lastRejection: string;
  readonly planSwitches: number;
  readonly corrections: number;
}

export class VirtualController {
  readonly c: CompiledNetwork;
  readonly intersection: number;
  readonly phaseCount: number;
  readonly detectorCount: number;
  private readonly p0: number;
  private readonly p1: number;

  /**
   * Runs the committed plan (runner.plan), the accepted plan waiting for cycle zero, a
   * one-cycle override, this cycle's layout (runner.running, offset correction applied),
   * and holds the lamps all red until cycle zero after power-up, a fault or manual control.
   */
  private readonly runner: CycleRunner;
  private readonly scratch: PlanBuffer; // decode scratch
  /** Registers central writes and reads back: staging, plan blocks, commit status, time-of-day table. */
  private readonly store: PlanStore;
  /** Priority overrides run (now or at a cycle zero), for tests and status. */
  overridesRun = 0;
  /** The ids of every plan commit and every priority override central wrote (accepted or refused), in order: tests count a deployment sent twice, or see an override arrive. */
  readonly planCommits: number[] = [];
  readonly overrideCommits: number[] = [];

  private mode: ControllerMode = ControllerMode.Coordinated;
  private faults = 0;
  private nowS: number;
  private bootS: number;
  private lastContactS: number;

  // Outputs and ring-1 status, updated on every evaluation.
  private green = 0;
  private yellow = 0;
  private readonly status = new RingStatus();

  private readonly monitor: ConflictMonitor;
  private forcedGreen = 0;
  private forcedYellow = 0;
  private lastFaultMessage = '';

  private readonly detectors: DetectorBank;
  /** Actuated settings given or committed: detectors feed the runner (the deterministic rate vehicle by vehicle, at these times). */
  private actuatedFeed = false;
  /** The high-resolution event log (recordEvents) and the FIFO central reads it through (serveEventLog). */
  private readonly events: EventLogPort;

  constructor(c: CompiledNetwork, intersection: number, localPlan: PlanBuffer, opts: VirtualControllerOptions = {}) {
    if (!(Number.isInteger(intersection) && intersection >= 0 && intersection < c.intersectionCount)) throw new GreenwaveError(ErrorCode.InvalidInput, `intersection index ${intersection} must be in [0, ${c.intersectionCount})`);
    assertPhasesFit(c, intersection);
    this.c = c;
    this.intersection = intersection;
    this.p0 = c.phaseStart[intersection]!;
    this.p1 = c.phaseStart[intersection + 1]!;
    this.phaseCount = this.p1 - this.p0;
    const startS = opts.startS ?? 0;
    this.detectors = new DetectorBank(c, intersection, startS, opts.detectorVehPerH);
    this.detectorCount = this.detectors.count;
    const timeout = opts.commLossTimeoutS ?? 60;
    if (!(Number.isInteger(timeout) && timeout >= 0 && timeout <= MAX_COMM_LOSS_TIMEOUT_S)) throw new OptionError('options.commLossTimeoutS', `${timeout} must be an integer within [0, ${MAX_COMM_LOSS_TIMEOUT_S}]`);
    this.store = new PlanStore(timeout);
    // Validates the local plan (UnsafePlanError) and starts in step with its offset.
    this.runner = new CycleRunner(c, localPlan, startS, intersection);
    this.runner.holdRedUntilCycleZero(intersection);
    this.scratch = createPlanBuffer(c);
    // The local plan's block carries plan id 0 by definition; encode with 1 and patch (0 is not a valid wire id).
    const active = this.store.activeBlock;
    encodePlanBlock(c, intersection, localPlan, 1, active);
    active[PB_PLAN_ID] = 0;
    active[PLAN_BLOCK_LENGTH - 1] = 0;
    if (opts.actuated) this.setActuated(opts.actuated);
    this.monitor = new ConflictMonitor(c, this.p0, this.p1);
    this.events = new EventLogPort(c, intersection, this.runner);

    this.nowS = startS;
    this.bootS = startS;
    this.lastContactS = startS;
    this.resetMonitor(startS);
    this.evaluate(true);
  }

  // ---------------------------------------------------------------- clock

  /** Advances the controller to clock time `nowS` (s). Earlier or non-finite times are ignored. */
  tick(nowS: number): void {
    if (!(nowS > this.nowS) || !Number.isFinite(nowS)) return;
    // What the last tick logged goes to the FIFO now: bounded memory however rarely central reads.
    this.events.drain(this.nowS);
    const dt = nowS - this.nowS;
    this.nowS = nowS;
    this.detectors.accrue(dt);
    const timeoutS = this.store.commLossTimeoutS;
    if (timeoutS > 0 && this.mode === ControllerMode.Coordinated && nowS - this.lastContactS > timeoutS) {
      this.mode = ControllerMode.Free;
      this.faults |= FaultFlag.CommLoss;
    }
    const i = this.intersection;
    const run = this.runner;
    if (this.mode === ControllerMode.Flash || this.mode === ControllerMode.Manual) {
      // The cycle clock keeps its phase so a later restart stays in step with the offset.
      run.keepPhase(i, nowS);
      if (this.mode === ControllerMode.Manual) this.setOutputs(this.forcedGreen, this.forcedYellow, nowS);
      return;
    }
    if (nowS - run.cycleStartS[i]! > MAX_REPLAY_S) {
      // A huge jump (suspended process, manual clock): start again in step, all red until cycle zero.
      run.anchor(i, nowS);
      run.holdRedUntilCycleZero(i);
      this.evaluate(true);
      this.eventLog?.resync(run, nowS);
      return;
    }
    // Offset correction only in coordinated mode (free mode runs the plan as it is).
    run.correctOffsets[i] = this.mode === ControllerMode.Coordinated ? 1 : 0;
    if (!this.actuatedFeed) {
      this.runTo(nowS);
      return;
    }
    // Actuated: each vehicle of the deterministic rate reaches its detector at its own time.
    const dets = this.detectors;
    for (;;) {
      const det = dets.firstArrival(nowS);
      const next = det < 0 ? nowS : dets.arrivalS(det);
      this.runTo(next);
      if (det < 0 || this.flashing()) return;
      this.actuateDetector(det, next);
      this.eventLog?.detection(det, next, 1, DEFAULT_OCCUPIED_S_PER_VEHICLE);
      dets.scheduleNext(det);
    }
  }

  /** Every interval edge up to t goes through the monitor. */
  private runTo(t: number): void {
    const i = this.intersection;
    const run = this.runner;
    for (;;) {
      const step = run.stepTo(i, t);
      if (step === STEP_CYCLE_ZERO) this.atCycleZero();
      this.evaluate(false);
      if (this.eventLog !== undefined && !this.flashing()) this.eventLog.phaseStep(run, run.cycleStartS[i]! + run.tauS(i));
      if (step === STEP_DONE || this.flashing()) return;
    }
  }

  // ------------------------------------------------------------- event log

  /**
   * Starts the high-resolution event log (./events.ts) from now, or returns the one running:
   * phase, pedestrian, detector, TSP, coordination and flash events in the Indiana codes ATSPM reads.
   */
  recordEvents(opts: ControllerEventLogOptions = {}): ControllerEventLog {
    return this.events.record(this.store.activePlanId, opts);
  }

  /**
   * Records events (as recordEvents) and serves them to central over Modbus (holding
   * HR_EVENTS.., ./eventFifo.ts): the log's buffer is then drained into a FIFO of `capacity`
   * records on every tick and read, so it no longer accumulates. Needs the log's own buffer.
   */
  serveEventLog(opts: ServeEventLogOptions = {}): EventFifo {
    return this.events.serve(this.store.activePlanId, opts);
  }

  /** The log while recording: its hooks are called where the controller's state changes. */
  private get eventLog(): ControllerEventLog | undefined {
    return this.events.log;
  }

  // -------------------------------------------------------------- actuated

  /**
   * Runs the plan actuated with `a` from the next cycle zero (undefined: fixed time again).
   * The settings must fit the plan the controller will run then (UnsafePlanError otherwise:
   * nothing changes). A plan committed later must fit them too, or the commit is refused.
   */
  setActuated(a: ActuatedPlan | undefined): void {
    this.runner.setActuated(a, this.intersection);
    this.actuatedFeed = a !== undefined;
  }

  /** True while the controller runs an actuated pass (or its lead-in or lead-out). */
  get actuated(): boolean {
    return this.runner.isActuated(this.intersection);
  }

  /** A vehicle on local detector `detector` now: calls or extends the phase serving its lane. */
  actuate(detector: number): void {
    if (!(Number.isInteger(detector) && detector >= 0 && detector < this.detectorCount)) throw new GreenwaveError(ErrorCode.InvalidInput, `detector ${detector} must be in [0, ${this.detectorCount})`);
    this.actuateDetector(detector, this.nowS);
    this.eventLog?.detection(detector, this.nowS, 1, DEFAULT_OCCUPIED_S_PER_VEHICLE);
  }

  private actuateDetector(detector: number, tS: number): void {
    const p = this.c.lanePhase[this.c.detectorLane[this.detectors.start + detector]!]!;
    if (p >= 0) this.runner.actuate(p, tS);
  }

  /** Actuated-control counters of the runner (passes, gap-outs, max-outs, force-offs, skips). */
  actuatedStats(): { passes: number; gapOuts: number; maxOuts: number; forceOffs: number; skips: number } {
    const a = this.runner.act;
    return { passes: a.passes, gapOuts: a.gapOuts, maxOuts: a.maxOuts, forceOffs: a.forceOffs, skips: a.skips };
  }

  private flashing(): boolean {
    return this.mode === ControllerMode.Flash;
  }

  /** Called by the Modbus server on every request from central: feeds the communication watchdog. */
  noteCentralContact(): void {
    this.lastContactS = this.nowS;
    if (this.mode === ControllerMode.Free && (this.faults & FaultFlag.CommLoss) !== 0) {
      this.mode = ControllerMode.Coordinated;
      this.faults &= ~FaultFlag.CommLoss;
    }
  }

  /** Simulates a power cycle at `nowS`: staging, commit status and detector counters are lost; committed plans are kept (non-volatile). */
  restart(nowS: number): void {
    this.nowS = Math.max(this.nowS, nowS);
    this.store.restart(this.runner.isQueued(this.intersection));
    this.mode = ControllerMode.Coordinated;
    this.faults = 0;
    this.bootS = this.nowS;
    this.lastContactS = this.nowS;
    this.detectors.reset(this.nowS);
    this.runner.anchor(this.intersection, this.nowS);
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.resetMonitor(this.nowS);
    this.evaluate(true);
    this.eventLog?.resync(this.runner, this.nowS);
  }

  /** Local reset after a fault flash: all red until the next cycle zero, then the active plan. */
  resetFault(): void {
    if (this.mode !== ControllerMode.Flash) return;
    this.faults &= ~(FaultFlag.Conflict | FaultFlag.Clearance);
    this.mode = ControllerMode.Coordinated;
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.lastFaultMessage = '';
    this.evaluate(true);
    this.eventLog?.flash(false, this.nowS);
    this.eventLog?.resync(this.runner, this.nowS);
  }

  /** Manual control (technician's panel, or a test of the monitor): these lamp outputs, checked by the conflict monitor. */
  forceOutputs(green: number, yellow: number): void {
    if (this.mode === ControllerMode.Flash) return;
    this.refreshStatus();
    if (this.mode !== ControllerMode.Manual) this.eventLog?.interrupt(this.nowS);
    this.mode = ControllerMode.Manual;
    const present = this.monitor.present;
    this.forcedGreen = green & present;
    this.forcedYellow = yellow & present & ~green;
    this.status.phase = NO_PHASE;
    this.setOutputs(this.forcedGreen, this.forcedYellow, this.nowS);
  }

  /** Ends manual control: all red until the next cycle zero, then the active plan. */
  releaseManual(): void {
    if (this.mode !== ControllerMode.Manual) return;
    this.mode = ControllerMode.Coordinated;
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.evaluate(true);
    this.eventLog?.resync(this.runner, this.nowS);
  }

  // ------------------------------------------------------------- detectors

  /** Adds counts to local detector `detector` (0-based within the intersection). */
  addDetectorCounts(detector: number, vehicles: number, occupiedS = vehicles * DEFAULT_OCCUPIED_S_PER_VEHICLE): void {
    if (!(Number.isInteger(detector) && detector >= 0 && detector < this.detectorCount)) throw new GreenwaveError(ErrorCode.InvalidInput, `detector ${detector} must be in [0, ${this.detectorCount})`);
    if (!(vehicles >= 0 && occupiedS >= 0)) throw new GreenwaveError(ErrorCode.InvalidInput, `vehicles ${vehicles} and occupiedS ${occupiedS} must be ≥ 0`);
    this.detectors.add(detector, vehicles, occupiedS);
    if (vehicles > 0) this.actuateDetector(detector, this.nowS);
    const whole = Math.round(vehicles);
    if (whole > 0) this.eventLog?.detection(detector, this.nowS, whole, occupiedS / vehicles);
  }

  /** Global detector ids of the local detectors, in register order. */
  detectorIds(): string[] {
    return this.c.detectorIds.slice(this.detectors.start, this.detectors.start + this.detectorCount);
  }

  // ------------------------------------------------------------- registers

  /** FC3. Throws ModbusException (0x02 address, 0x03 count) like a device would. */
  readHolding(address: number, count: number): number[] {
    checkRange(address, count, HOLDING_REGISTER_COUNT, MODBUS_MAX_READ_REGISTERS, 'holding');
    const out = new Array<number>(count);
    const plan = Math.max(0, Math.min(count, HR_EVENTS - address));
    for (let k = 0; k < plan; k++) out[k] = this.store.holdingValue(address + k, this.nowS);
    if (plan < count) {
      const ev = this.events.read(address + plan - HR_EVENTS, count - plan, this.nowS);
      for (let k = plan; k < count; k++) out[k] = ev[k - plan]!;
    }
    return out;
  }

  /**
   * The plan id the time-of-day table schedules at the controller's clock (seconds since
   * 1970 UTC in the field; minute of the day = ⌊nowS / 60⌋ mod 1440): the last entry that
   * starts at or before that minute. 0 without a table.
   */
  scheduledPlanId(nowS: number = this.nowS): number {
    return this.store.scheduledPlanId(nowS);
  }

  /**
   * FC6/FC16: all registers or none. Only staging, CRC, commit and the timeout are writable;
   * every value is checked before anything is applied, and a commit in the same request runs last.
   */
  writeHolding(address: number, values: readonly number[]): void {
    if (address >= HR_EVENTS && address < HOLDING_REGISTER_COUNT) {
      this.events.write(address - HR_EVENTS, values);
      return;
    }
    const command = this.store.write(address, values);
    if (command !== NO_COMMIT) this.commit(command);
  }

  /** FC4. A read that covers the detector sequence register latches the detector counters first. */
  readInput(address: number, count: number): number[] {
    checkRange(address, count, INPUT_REGISTER_COUNT, MODBUS_MAX_READ_REGISTERS, 'input');
    if (address <= IR_DET_SEQ && address + count > IR_DET_SEQ) this.detectors.latch(this.nowS);
    this.refreshStatus();
    const src = { mode: this.mode, faults: this.faults, status: this.status, store: this.store, detectors: this.detectors, runningCycleS: this.runner.running.cycleS[this.intersection]!, uptimeS: Math.max(0, Math.floor(this.nowS - this.bootS)) };
    const out = new Array<number>(count);
    for (let k = 0; k < count; k++) out[k] = inputValue(address + k, src);
    return out;
  }

  /** Runs a commit written by central; a refusal raises the CommitRejected fault, an acceptance clears it. */
  private commit(command: number = COMMIT_COMMAND): void {
    const override = command !== COMMIT_COMMAND;
    if (override) this.eventLog?.beforeOverride(this.runner);
    const outcome = commitStaged({ c: this.c, intersection: this.intersection, p0: this.p0, p1: this.p1, runner: this.runner, scratch: this.scratch, store: this.store, mode: this.mode, nowS: this.nowS }, command);
    (override ? this.overrideCommits : this.planCommits).push(this.store.lastCommitPlanId);
    if (outcome === CommitOutcome.Refused) {
      this.faults |= FaultFlag.CommitRejected;
      return;
    }
    // Settings committed actuated need the detections from now (the runner may still be in a pass).
    if (!override && this.store.actPending[AB_MODE] !== ActuatedMode.Fixed) this.actuatedFeed = true;
    if (outcome === CommitOutcome.OverrideStarted) this.overridesRun++;
    if (override) this.eventLog?.overrideAccepted(this.runner, outcome === CommitOutcome.OverrideStarted, this.nowS);
    this.faults &= ~FaultFlag.CommitRejected;
  }

  // ---------------------------------------------------------------- cycle

  /** At cycle zero the runner took a queued plan or a one-cycle override: mirror it in the registers. */
  private atCycleZero(): void {
    const flags = this.runner.boundaryFlags[this.intersection]!;
    const store = this.store;
    if (flags & BOUNDARY_PLAN_SWITCH) {
      store.switchToPending();
      // The committed plan's settings are the ones in force now (setActuated's were replaced).
      this.actuatedFeed = store.actActive[AB_MODE] !== ActuatedMode.Fixed;
      this.eventLog?.notePlan(this.runner, store.activePlanId, this.runner.cycleStartS[this.intersection]!);
    }
    this.eventLog?.cycleZero(this.runner, this.runner.cycleStartS[this.intersection]!);
    if (flags & BOUNDARY_ONE_CYCLE) {
      store.commitStatus = CommitStatus.OverrideRunning;
      this.overridesRun++;
      return;
    }
    // A plan switch this cycle wins over a waiting override (the runner dropped it).
    if (store.commitStatus === CommitStatus.OverrideRunning || store.commitStatus === CommitStatus.OverridePending) store.commitStatus = CommitStatus.Active;
  }

  /**
   * Lamp outputs (through the monitor) at the runner's last position; the ring-1 status
   * follows on demand (refreshStatus). `fresh`: evaluate the runner's lamps first (its
   * state changed without a step).
   */
  private evaluate(fresh: boolean): void {
    if (this.mode === ControllerMode.Flash || this.mode === ControllerMode.Manual) return;
    const i = this.intersection;
    const run = this.runner;
    const tau = run.tauS(i);
    if (fresh) run.evaluate(i, tau);
    this.status.dirty = true;
    this.setOutputs(run.greenMask[i]!, run.yellowMask[i]!, run.cycleStartS[i]! + tau);
  }

  /** Ring-1 status (phase, interval, time in it, cycle second) at the last evaluation. */
  private refreshStatus(): void {
    this.status.refresh(this.c, this.runner, this.intersection, this.p0, this.p1);
  }

  // -------------------------------------------------------------- monitor

  private resetMonitor(t: number): void {
    this.green = 0;
    this.yellow = 0;
    this.monitor.reset(t);
  }

  /** Drives the lamps and checks them like a conflict monitor (MMU); any fault → latched flash. */
  private setOutputs(green: number, yellow: number, t: number): void {
    this.green = green;
    this.yellow = yellow;
    const fault = this.monitor.check(green, yellow, t);
    if (fault !== 0) {
      this.faults |= fault;
      this.lastFaultMessage = this.monitor.message;
      this.mode = ControllerMode.Flash;
      this.green = 0;
      this.yellow = 0;
      this.monitor.trip(t);
      this.eventLog?.flash(true, t);
      this.refreshStatus();
      this.status.phase = NO_PHASE;
      this.status.interval = Interval.Flash;
    }
  }

  // ---------------------------------------------------------------- views

  lamps(): LampOutputs {
    const flashing = this.mode === ControllerMode.Flash;
    return { green: this.green, yellow: this.yellow, red: this.monitor.present & ~(this.green | this.yellow), flashing };
  }

  /**
   * The interval every local phase (compiled order) shows now, from the same running cycle
   * that drives the lamps: Green, Yellow or Red (red clearance and rest alike); Flash for all
   * in fault flash; Red for all while the lamps are all red (power-up, after a reset) or under
   * manual control (lamps are then forced per movement, not per phase).
   */
  phaseIntervals(): Interval[] {
    const out = new Array<Interval>(this.phaseCount).fill(this.mode === ControllerMode.Flash ? Interval.Flash : Interval.Red);
    const i = this.intersection;
    if (this.mode === ControllerMode.Flash || this.mode === ControllerMode.Manual || this.runner.redUntilCycleZero[i] === 1) return out;
    // From the running cycle as it is now (an override may have replaced it since the last step).
    const intervals = this.runner.intervals(i);
    for (let p = this.p0; p < this.p1; p++) {
      const interval = intervals[p];
      if (interval === PHASE_GREEN) out[p - this.p0] = Interval.Green;
      else if (interval === PHASE_YELLOW) out[p - this.p0] = Interval.Yellow;
    }
    return out;
  }

  /** Movements the intersection has (bit per movement). */
  get movementMask(): number {
    return this.monitor.present;
  }

  /** Movements that may never show together with movement m (the monitor's program card). */
  conflictsOf(m: number): number {
    return this.monitor.conflictsOf(m);
  }

  state(): ControllerState {
    return {
      mode: this.mode,
      faults: this.faults,
      activePlanId: this.store.activePlanId,
      pendingPlanId: this.store.pendingPlanId,
      commitStatus: this.store.commitStatus,
      lastCommitPlanId: this.store.lastCommitPlanId,
      lastRejection: this.store.lastRejection,
      planSwitches: this.planSwitches,
      corrections: this.corrections,
    };
  }

  /** Why the monitor flashed (empty when it did not). */
  get faultMessage(): string {
    return this.lastFaultMessage;
  }

  /** The active plan's actuated settings as committed (actuated block layout; mode 0 = fixed-time). */
  activeActuatedBlock(): Uint16Array {
    return this.store.actActive.slice();
  }

  /** The active plan exactly as committed (plan block layout; plan id 0 = the local plan). */
  activePlanBlock(): Uint16Array {
    return this.store.activeBlock.slice();
  }

  /** This cycle's layout (offset correction included) and its start, for tests and reports. */
  runningCycle(): { startS: number; cycleS: number } {
    return { startS: this.runner.cycleStartS[this.intersection]!, cycleS: this.runner.running.cycleS[this.intersection]! };
  }

  /** Plan switches and offset corrections this controller has run (the runner counts them). */
  get planSwitches(): number {
    return this.runner.planSwitches;
  }
  get corrections(): number {
    return this.runner.corrections;
  }

  get clockS(): number {
    return this.nowS;
  }
}
