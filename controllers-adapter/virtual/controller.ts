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
 *    it into latched flash with a fault flag.
 *  - runs actuated when given actuated settings (options.actuated or
 *    setActuated: engine/timing/actuated.ts, checked by the safety validator):
 *    gap-out, max-out, force-off and skips, on the same runner; its detectors
 *    call and extend the phase serving their lane (each vehicle of the
 *    deterministic rate at its own time, `addDetectorCounts` and `actuate` now).
 * It also keeps the actuated settings committed with a plan over Modbus
 * (actuated block: control mode, per phase min green / passage / max green,
 * checked by ../actuatedBlock.ts) and a time-of-day table (which plan id is
 * scheduled from which minute of the day); both are read back through the
 * register map and the NTCIP agent. A committed actuated block is stored and
 * served, not yet run: running actuated is `setActuated`'s (see the README's
 * "Not finished").
 * Time advances event by event (every interval boundary between two ticks is
 * evaluated), so coarse or irregular ticks never hide a lamp transition.
 * Detector counters come from `addDetectorCounts` or a deterministic rate.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { ActuatedPlan } from '../../engine/timing/actuated.js';
import { createPlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { GreenwaveError, ErrorCode, IssueList, UnsafePlanError, formatIssues } from '../../engine/errors.js';
import { BOUNDARY_ONE_CYCLE, BOUNDARY_PLAN_SWITCH, CycleRunner, STEP_CYCLE_ZERO, STEP_DONE } from '../../engine/runner/cycleRunner.js';
import { PHASE_ALL_RED, PHASE_GREEN, PHASE_RED, PHASE_YELLOW } from '../../engine/runner/lamps.js';
import { ModbusException } from '../errors.js';
import { assertPhasesFit, copyIntersectionPlan, crc16ModbusRegisters, decodePlanBlock, encodePlanBlock } from '../codec.js';
import { checkActuatedBlock, fixedActuatedBlock } from '../actuatedBlock.js';
import {
  COMMIT_COMMAND,
  CommitStatus,
  ControllerMode,
  DET_OCCUPANCY_PERMILLE,
  DET_VOLUME,
  DETECTOR_STRIDE,
  FaultFlag,
  AB_PLAN_ID,
  AB_PLAN_ID_TAIL,
  ACT_BLOCK_LENGTH,
  HOLDING_REGISTER_COUNT,
  HOLDING_WRITABLE_END,
  HOLDING_WRITABLE_RANGES,
  HR_ACT_ACTIVE,
  HR_ACT_STAGE,
  HR_ACTIVE,
  HR_TOD,
  HR_TOD_NOW_PLAN_ID,
  MAX_TOD_ENTRIES,
  MINUTES_PER_DAY,
  TOD_BLOCK_LENGTH,
  TOD_COUNT,
  TOD_ENTRIES,
  TOD_PLAN_ID,
  TOD_START_MIN,
  TOD_STRIDE,
  HR_COMM_LOSS_TIMEOUT_S,
  HR_COMMIT,
  HR_LAST_COMMIT_PLAN_ID,
  HR_PENDING_PLAN_ID,
  HR_STAGE,
  HR_STAGE_CRC,
  INPUT_REGISTER_COUNT,
  Interval,
  IR_ACTIVE_PLAN_ID,
  IR_COMMIT_STATUS,
  IR_CYCLE_SECOND_DS,
  IR_DET_SEQ,
  IR_DETECTOR_COUNT,
  IR_DETECTORS,
  IR_FAULTS,
  IR_INTERVAL,
  IR_MODE,
  IR_PENDING_PLAN_ID,
  IR_PHASE,
  IR_RUNNING_CYCLE_DS,
  IR_TIME_IN_INTERVAL_DS,
  IR_UPTIME_S_HI,
  IR_UPTIME_S_LO,
  MAX_COMM_LOSS_TIMEOUT_S,
  MAX_DETECTORS,
  MODBUS_MAX_READ_REGISTERS,
  MODBUS_MAX_WRITE_REGISTERS,
  ModbusExceptionCode,
  NO_PHASE,
  OverrideCommand,
  PB_PLAN_ID,
  PLAN_BLOCK_LENGTH,
} from '../registerMap.js';
import { round1, round3 } from '../../engine/numeric.js';

export { MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE } from '../../engine/runner/cycleRunner.js';
/** Seconds a loop is occupied per vehicle when counts come without an occupancy time. */
export const DEFAULT_OCCUPIED_S_PER_VEHICLE = 0.5;
/** Jumps of the clock longer than this re-anchor the cycle instead of replaying every cycle. */
const MAX_REPLAY_S = 3600;
/** An override of the running cycle may not end a green or start a phase sooner than this from now, s. */
const OVERRIDE_NOTICE_S = 0.5;
const EPS = 1e-6;
const LAMP_RED = 0;
const LAMP_GREEN = 1;
const LAMP_YELLOW = 2;

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

/** Lamp outputs per movement (bit = approach*4 + turn, as in the compiled network). */
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
  private readonly detectorStart: number;

  /**
   * Runs the committed plan (runner.plan), the accepted plan waiting for cycle zero, a
   * one-cycle override, this cycle's layout (runner.running, offset correction applied),
   * and holds the lamps all red until cycle zero after power-up, a fault or manual control.
   */
  private readonly runner: CycleRunner;
  /** Decode scratch. */
  private readonly scratch: PlanBuffer;
  private readonly activeBlock = new Uint16Array(PLAN_BLOCK_LENGTH);
  private readonly pendingBlock = new Uint16Array(PLAN_BLOCK_LENGTH);
  private activePlanId = 0;
  private pendingPlanId = 0;
  /** Priority overrides run (now or at a cycle zero), for tests and status. */
  overridesRun = 0;

  /** Writable holding registers: staging block, CRC, commit, timeout (the last two are shadowed by fields). */
  private readonly holding = new Uint16Array(HOLDING_WRITABLE_END);
  /** Actuated staging block and its CRC (holding HR_ACT_STAGE..HR_ACT_STAGE_CRC). */
  private readonly actStage = new Uint16Array(ACT_BLOCK_LENGTH + 1);
  private readonly actPending = new Uint16Array(ACT_BLOCK_LENGTH);
  private readonly actActive = new Uint16Array(ACT_BLOCK_LENGTH);
  /** Time-of-day table (holding HR_TOD..), as last written whole. */
  private readonly tod = new Uint16Array(TOD_BLOCK_LENGTH);
  private commitStatus: CommitStatus = CommitStatus.Idle;
  private lastCommitPlanId = 0;
  private lastRejection = '';
  private commLossTimeoutS: number;

  private mode: ControllerMode = ControllerMode.Coordinated;
  private faults = 0;
  private nowS: number;
  private bootS: number;
  private lastContactS: number;

  // Outputs and ring-1 status, updated on every evaluation.
  private green = 0;
  private yellow = 0;
  private statusPhase = NO_PHASE;
  private statusInterval: Interval = Interval.Red;
  private statusTimeInIntervalS = 0;
  private statusCycleSecondS = 0;
  /** The status fields above are behind the lamps: refreshStatus() before reading them (registers are read far less often than edges pass). */
  private statusDirty = false;

  // Conflict monitor ("program card" derived from the network, per movement).
  private readonly present: number;
  private readonly compatible = new Uint16Array(16);
  private readonly minGreenS = new Float64Array(16).fill(Infinity);
  private readonly minYellowS = new Float64Array(16).fill(Infinity);
  private readonly minAllRedS = new Float64Array(16).fill(Infinity);
  private readonly lampState = new Uint8Array(16);
  private readonly lampSinceS = new Float64Array(16);
  private readonly redSinceS = new Float64Array(16);
  private forcedGreen = 0;
  private forcedYellow = 0;
  private lastFaultMessage = '';

  // Detectors.
  private readonly detRate: Float64Array;
  private readonly detAccum: Float64Array;
  private readonly detOccupiedS: Float64Array;
  private readonly detVolume: Uint16Array;
  private readonly detOccupancy: Uint16Array;
  private detSeq = 0;
  private lastLatchS: number;
  /** Actuated settings given: detectors feed the runner (the deterministic rate vehicle by vehicle, at these times). */
  private actuatedFeed = false;
  private readonly detNextVehicleS: Float64Array;

  constructor(c: CompiledNetwork, intersection: number, localPlan: PlanBuffer, opts: VirtualControllerOptions = {}) {
    if (!(Number.isInteger(intersection) && intersection >= 0 && intersection < c.intersectionCount)) throw new GreenwaveError(ErrorCode.InvalidInput, `intersection index ${intersection} must be in [0, ${c.intersectionCount})`);
    assertPhasesFit(c, intersection);
    this.c = c;
    this.intersection = intersection;
    this.p0 = c.phaseStart[intersection]!;
    this.p1 = c.phaseStart[intersection + 1]!;
    this.phaseCount = this.p1 - this.p0;
    const range = detectorRange(c, intersection);
    this.detectorStart = range.start;
    this.detectorCount = range.count;
    if (range.count > MAX_DETECTORS) throw new GreenwaveError(ErrorCode.InvalidInput, `intersection ${c.intersectionIds[intersection]} has ${range.count} detectors; the register map carries at most ${MAX_DETECTORS}`);
    const timeout = opts.commLossTimeoutS ?? 60;
    if (!(Number.isInteger(timeout) && timeout >= 0 && timeout <= MAX_COMM_LOSS_TIMEOUT_S)) throw new GreenwaveError(ErrorCode.InvalidInput, `options.commLossTimeoutS ${timeout} must be an integer within [0, ${MAX_COMM_LOSS_TIMEOUT_S}]`);
    this.commLossTimeoutS = timeout;
    const startS = opts.startS ?? 0;
    // Validates the local plan (UnsafePlanError) and starts in step with its offset.
    this.runner = new CycleRunner(c, localPlan, startS, intersection);
    this.runner.holdRedUntilCycleZero(intersection);
    this.scratch = createPlanBuffer(c);
    // The local plan's block carries plan id 0 by definition; encode with 1 and patch (0 is not a valid wire id).
    encodePlanBlock(c, intersection, localPlan, 1, this.activeBlock);
    this.activeBlock[PB_PLAN_ID] = 0;
    this.activeBlock[PLAN_BLOCK_LENGTH - 1] = 0;

    const n = this.detectorCount;
    this.detRate = new Float64Array(n);
    const rate = opts.detectorVehPerH;
    for (let d = 0; d < n; d++) this.detRate[d] = rate === undefined ? 0 : typeof rate === 'number' ? rate : (rate[d] ?? 0);
    this.detAccum = new Float64Array(n);
    this.detOccupiedS = new Float64Array(n);
    this.detVolume = new Uint16Array(n);
    this.detOccupancy = new Uint16Array(n);
    this.detNextVehicleS = new Float64Array(n);
    for (let d = 0; d < n; d++) this.detNextVehicleS[d] = this.detRate[d]! > 0 ? startS + 3600 / this.detRate[d]! : Number.POSITIVE_INFINITY;
    if (opts.actuated) this.setActuated(opts.actuated);

    // Program card: two movements may show together iff some pair of non-conflicting phases
    // (or one phase that does not conflict with itself) serves them.
    let present = 0;
    for (let a = this.p0; a < this.p1; a++) {
      const served = c.phaseProtectedMask[a]! | c.phasePermittedMask[a]!;
      present |= served;
      for (let b = this.p0; b < this.p1; b++) {
        if ((c.phaseConflictMask[a]! >>> (b - this.p0)) & 1) continue;
        const other = c.phaseProtectedMask[b]! | c.phasePermittedMask[b]!;
        for (let m = 0; m < 16; m++) if (served & (1 << m)) this.compatible[m] = this.compatible[m]! | other;
      }
      for (let m = 0; m < 16; m++) {
        if (!(served & (1 << m))) continue;
        this.minGreenS[m] = Math.min(this.minGreenS[m]!, c.phaseMinGreenS[a]!);
        this.minYellowS[m] = Math.min(this.minYellowS[m]!, c.phaseYellowS[a]!);
        this.minAllRedS[m] = Math.min(this.minAllRedS[m]!, c.phaseAllRedS[a]!);
      }
    }
    this.present = present;

    this.nowS = startS;
    this.bootS = startS;
    this.lastContactS = startS;
    this.lastLatchS = startS;
    this.resetMonitor(startS);
    this.evaluate(true);
  }

  // ---------------------------------------------------------------- clock

  /** Advances the controller to clock time `nowS` (s). Earlier or non-finite times are ignored. */
  tick(nowS: number): void {
    if (!(nowS > this.nowS) || !Number.isFinite(nowS)) return;
    const dt = nowS - this.nowS;
    this.nowS = nowS;
    for (let d = 0; d < this.detectorCount; d++) {
      const veh = (this.detRate[d]! * dt) / 3600;
      this.detAccum[d] = this.detAccum[d]! + veh;
      this.detOccupiedS[d] = this.detOccupiedS[d]! + veh * DEFAULT_OCCUPIED_S_PER_VEHICLE;
    }
    if (this.commLossTimeoutS > 0 && this.mode === ControllerMode.Coordinated && nowS - this.lastContactS > this.commLossTimeoutS) {
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
      return;
    }
    // Offset correction only in coordinated mode (free mode runs the plan as it is).
    run.correctOffsets[i] = this.mode === ControllerMode.Coordinated ? 1 : 0;
    if (!this.actuatedFeed) {
      this.runTo(nowS);
      return;
    }
    // Actuated: each vehicle of the deterministic rate reaches its detector at its own time.
    for (;;) {
      let next = nowS;
      let det = -1;
      for (let d = 0; d < this.detectorCount; d++) {
        if (this.detNextVehicleS[d]! <= next) {
          next = this.detNextVehicleS[d]!;
          det = d;
        }
      }
      this.runTo(next);
      if (det < 0 || this.flashing()) return;
      this.actuateDetector(det, next);
      this.detNextVehicleS[det] = next + 3600 / this.detRate[det]!;
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
      if (step === STEP_DONE || this.flashing()) return;
    }
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
  }

  private actuateDetector(detector: number, tS: number): void {
    const p = this.c.lanePhase[this.c.detectorLane[this.detectorStart + detector]!]!;
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
    this.holding.fill(0);
    this.commitStatus = this.runner.isQueued(this.intersection) ? CommitStatus.Pending : this.activePlanId !== 0 ? CommitStatus.Active : CommitStatus.Idle;
    this.lastRejection = '';
    this.mode = ControllerMode.Coordinated;
    this.faults = 0;
    this.bootS = this.nowS;
    this.lastContactS = this.nowS;
    this.lastLatchS = this.nowS;
    this.detSeq = 0;
    this.detAccum.fill(0);
    this.detOccupiedS.fill(0);
    this.detVolume.fill(0);
    this.detOccupancy.fill(0);
    this.runner.anchor(this.intersection, this.nowS);
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.resetMonitor(this.nowS);
    this.evaluate(true);
  }

  /** Local reset after a fault flash: all red until the next cycle zero, then the active plan. */
  resetFault(): void {
    if (this.mode !== ControllerMode.Flash) return;
    this.faults &= ~(FaultFlag.Conflict | FaultFlag.Clearance);
    this.mode = ControllerMode.Coordinated;
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.lastFaultMessage = '';
    this.evaluate(true);
  }

  /** Manual control (technician's panel, or a test of the monitor): these lamp outputs, checked by the conflict monitor. */
  forceOutputs(green: number, yellow: number): void {
    if (this.mode === ControllerMode.Flash) return;
    this.refreshStatus();
    this.mode = ControllerMode.Manual;
    this.forcedGreen = green & this.present;
    this.forcedYellow = yellow & this.present & ~green;
    this.statusPhase = NO_PHASE;
    this.setOutputs(this.forcedGreen, this.forcedYellow, this.nowS);
  }

  /** Ends manual control: all red until the next cycle zero, then the active plan. */
  releaseManual(): void {
    if (this.mode !== ControllerMode.Manual) return;
    this.mode = ControllerMode.Coordinated;
    this.runner.holdRedUntilCycleZero(this.intersection);
    this.evaluate(true);
  }

  // ------------------------------------------------------------- detectors

  /** Adds counts to local detector `detector` (0-based within the intersection). */
  addDetectorCounts(detector: number, vehicles: number, occupiedS = vehicles * DEFAULT_OCCUPIED_S_PER_VEHICLE): void {
    if (!(Number.isInteger(detector) && detector >= 0 && detector < this.detectorCount)) throw new GreenwaveError(ErrorCode.InvalidInput, `detector ${detector} must be in [0, ${this.detectorCount})`);
    if (!(vehicles >= 0 && occupiedS >= 0)) throw new GreenwaveError(ErrorCode.InvalidInput, `vehicles ${vehicles} and occupiedS ${occupiedS} must be ≥ 0`);
    this.detAccum[detector] = this.detAccum[detector]! + vehicles;
    this.detOccupiedS[detector] = this.detOccupiedS[detector]! + occupiedS;
    if (vehicles > 0) this.actuateDetector(detector, this.nowS);
  }

  /** Global detector ids of the local detectors, in register order. */
  detectorIds(): string[] {
    return this.c.detectorIds.slice(this.detectorStart, this.detectorStart + this.detectorCount);
  }

  private latchDetectors(): void {
    const period = this.nowS - this.lastLatchS;
    for (let d = 0; d < this.detectorCount; d++) {
      const whole = Math.floor(this.detAccum[d]! + 1e-9);
      this.detAccum[d] = Math.max(0, this.detAccum[d]! - whole);
      this.detVolume[d] = Math.min(whole, 0xffff);
      this.detOccupancy[d] = period > 0 ? Math.min(1000, Math.round((this.detOccupiedS[d]! / period) * 1000)) : 0;
      this.detOccupiedS[d] = 0;
    }
    this.detSeq = (this.detSeq + 1) & 0xffff;
    this.lastLatchS = this.nowS;
  }

  // ------------------------------------------------------------- registers

  /** FC3. Throws ModbusException (0x02 address, 0x03 count) like a device would. */
  readHolding(address: number, count: number): number[] {
    checkRange(address, count, HOLDING_REGISTER_COUNT, MODBUS_MAX_READ_REGISTERS, 'holding');
    const out = new Array<number>(count);
    for (let k = 0; k < count; k++) out[k] = this.holdingValue(address + k);
    return out;
  }

  private holdingValue(a: number): number {
    if (a === HR_COMMIT) return this.commitStatus;
    if (a === HR_COMM_LOSS_TIMEOUT_S) return this.commLossTimeoutS;
    if (a === HR_PENDING_PLAN_ID) return this.pendingPlanId;
    if (a === HR_LAST_COMMIT_PLAN_ID) return this.lastCommitPlanId;
    if (a === HR_TOD_NOW_PLAN_ID) return this.scheduledPlanId();
    if (a >= HR_TOD) return this.tod[a - HR_TOD]!;
    if (a >= HR_ACT_ACTIVE) return this.actActive[a - HR_ACT_ACTIVE]!;
    if (a >= HR_ACT_STAGE) return this.actStage[a - HR_ACT_STAGE]!;
    if (a >= HR_ACTIVE) return this.activeBlock[a - HR_ACTIVE]!;
    return this.holding[a]!;
  }

  /**
   * The plan id the time-of-day table schedules at the controller's clock (seconds since
   * 1970 UTC in the field; minute of the day = ⌊nowS / 60⌋ mod 1440): the last entry that
   * starts at or before that minute. 0 without a table.
   */
  scheduledPlanId(nowS: number = this.nowS): number {
    const n = this.tod[TOD_COUNT]!;
    if (n === 0) return 0;
    const minute = ((Math.floor(nowS / 60) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    let id = this.tod[TOD_ENTRIES + (n - 1) * TOD_STRIDE + TOD_PLAN_ID]!;
    for (let e = 0; e < n; e++) if (this.tod[TOD_ENTRIES + e * TOD_STRIDE + TOD_START_MIN]! <= minute) id = this.tod[TOD_ENTRIES + e * TOD_STRIDE + TOD_PLAN_ID]!;
    return id;
  }

  /**
   * FC6/FC16: all registers or none. Only staging, CRC, commit and the timeout are writable;
   * every value is checked before anything is applied, and a commit in the same request runs last.
   */
  writeHolding(address: number, values: readonly number[]): void {
    const count = values.length;
    if (count > MODBUS_MAX_WRITE_REGISTERS) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `write of ${count} registers exceeds ${MODBUS_MAX_WRITE_REGISTERS}`);
    const range = HOLDING_WRITABLE_RANGES.find(([from, to]) => address >= from && address < to);
    if (!range) checkRange(address, count, HOLDING_WRITABLE_END, MODBUS_MAX_WRITE_REGISTERS, 'writable holding');
    else checkRange(address - range[0], count, range[1] - range[0], MODBUS_MAX_WRITE_REGISTERS, `writable holding [${range[0]}, ${range[1]})`);
    for (const v of values) if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `value ${v} is not a uint16`);
    if (range && range[0] === HR_TOD) return this.writeTimeOfDay(address, values);
    if (range && range[0] === HR_ACT_STAGE) {
      this.actStage.set(values, address - HR_ACT_STAGE);
      return;
    }
    let commit = false;
    let command = COMMIT_COMMAND;
    let timeout = -1;
    for (let k = 0; k < count; k++) {
      const a = address + k;
      const v = values[k]!;
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `value ${v} at ${a} is not a uint16`);
      if (a === HR_COMMIT) {
        if (v !== COMMIT_COMMAND && v !== OverrideCommand.Now && v !== OverrideCommand.Next) {
          throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `commit register accepts ${COMMIT_COMMAND} (plan), ${OverrideCommand.Now} (override now) or ${OverrideCommand.Next} (override next cycle), got ${v}`);
        }
        commit = true;
        command = v;
      } else if (a === HR_COMM_LOSS_TIMEOUT_S) {
        if (v > MAX_COMM_LOSS_TIMEOUT_S) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `communication-loss timeout ${v} s exceeds ${MAX_COMM_LOSS_TIMEOUT_S}`);
        timeout = v;
      }
    }
    for (let k = 0; k < count; k++) {
      const a = address + k;
      if (a <= HR_STAGE_CRC) this.holding[a] = values[k]!;
    }
    if (timeout >= 0) this.commLossTimeoutS = timeout;
    if (commit) this.commit(command);
  }

  /**
   * The time-of-day table is written whole, in one request from its count register: count n,
   * then n entries (start minute, plan id), start minutes strictly increasing from 0 (the table
   * covers the whole day) and below 1440, plan ids ≥ 1; registers after the last entry that the
   * request covers must be 0, the rest are cleared. Anything else: exception 03, nothing changes.
   */
  private writeTimeOfDay(address: number, values: readonly number[]): void {
    const bad = (why: string): never => {
      throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `time-of-day table: ${why}`);
    };
    if (address !== HR_TOD) bad(`write it whole from its count register ${HR_TOD}`);
    const n = values[TOD_COUNT]!;
    if (n > MAX_TOD_ENTRIES) bad(`${n} entries exceed ${MAX_TOD_ENTRIES}`);
    if (values.length < TOD_ENTRIES + n * TOD_STRIDE) bad(`${n} entries need ${TOD_ENTRIES + n * TOD_STRIDE} registers, the write has ${values.length}`);
    for (let e = 0; e < n; e++) {
      const start = values[TOD_ENTRIES + e * TOD_STRIDE + TOD_START_MIN]!;
      const id = values[TOD_ENTRIES + e * TOD_STRIDE + TOD_PLAN_ID]!;
      if (e === 0 && start !== 0) bad(`the first entry must start at minute 0 (it starts at ${start})`);
      if (e > 0 && start <= values[TOD_ENTRIES + (e - 1) * TOD_STRIDE + TOD_START_MIN]!) bad(`entry ${e} starts at minute ${start}, not after entry ${e - 1}`);
      if (start >= MINUTES_PER_DAY) bad(`entry ${e} starts at minute ${start}; a day has ${MINUTES_PER_DAY}`);
      if (id === 0) bad(`entry ${e} has plan id 0 (the local plan is not schedulable)`);
    }
    for (let k = TOD_ENTRIES + n * TOD_STRIDE; k < values.length; k++) if (values[k] !== 0) bad(`register ${HR_TOD + k} is past the last entry and must be 0`);
    this.tod.fill(0);
    this.tod.set(values.slice(0, TOD_ENTRIES + n * TOD_STRIDE));
  }

  /** FC4. A read that covers the detector sequence register latches the detector counters first. */
  readInput(address: number, count: number): number[] {
    checkRange(address, count, INPUT_REGISTER_COUNT, MODBUS_MAX_READ_REGISTERS, 'input');
    if (address <= IR_DET_SEQ && address + count > IR_DET_SEQ) this.latchDetectors();
    this.refreshStatus();
    const out = new Array<number>(count);
    for (let k = 0; k < count; k++) out[k] = this.inputValue(address + k);
    return out;
  }

  private inputValue(a: number): number {
    const uptime = Math.max(0, Math.floor(this.nowS - this.bootS)) >>> 0;
    switch (a) {
      case IR_ACTIVE_PLAN_ID:
        return this.activePlanId;
      case IR_PHASE:
        return this.mode === ControllerMode.Flash ? NO_PHASE : this.statusPhase;
      case IR_INTERVAL:
        return this.mode === ControllerMode.Flash ? Interval.Flash : this.statusInterval;
      case IR_TIME_IN_INTERVAL_DS:
        return tenths(this.statusTimeInIntervalS);
      case IR_CYCLE_SECOND_DS:
        return tenths(this.statusCycleSecondS);
      case IR_MODE:
        return this.mode;
      case IR_FAULTS:
        return this.faults;
      case IR_PENDING_PLAN_ID:
        return this.pendingPlanId;
      case IR_COMMIT_STATUS:
        return this.commitStatus;
      case IR_RUNNING_CYCLE_DS:
        return tenths(this.runner.running.cycleS[this.intersection]!);
      case IR_DETECTOR_COUNT:
        return this.detectorCount;
      case IR_UPTIME_S_HI:
        return (uptime >>> 16) & 0xffff;
      case IR_UPTIME_S_LO:
        return uptime & 0xffff;
      case IR_DET_SEQ:
        return this.detSeq;
      default: {
        if (a < IR_DETECTORS) return 0;
        const d = Math.floor((a - IR_DETECTORS) / DETECTOR_STRIDE);
        if (d >= this.detectorCount) return 0;
        return (a - IR_DETECTORS) % DETECTOR_STRIDE === DET_VOLUME ? this.detVolume[d]! : (a - IR_DETECTORS) % DETECTOR_STRIDE === DET_OCCUPANCY_PERMILLE ? this.detOccupancy[d]! : 0;
      }
    }
  }

  private commit(command: number = COMMIT_COMMAND): void {
    const i = this.intersection;
    const id = this.holding[HR_STAGE + PB_PLAN_ID]!;
    this.lastCommitPlanId = id;
    const refuse = (status: CommitStatus, message: string): void => {
      this.commitStatus = status;
      this.lastRejection = message;
      this.faults |= FaultFlag.CommitRejected;
    };
    if (this.mode === ControllerMode.Flash) return refuse(CommitStatus.RefusedInFlash, 'controller is in fault flash');
    const crc = crc16ModbusRegisters(this.holding, HR_STAGE, PLAN_BLOCK_LENGTH);
    if (crc !== this.holding[HR_STAGE_CRC]) return refuse(CommitStatus.CrcMismatch, `CRC register 0x${this.holding[HR_STAGE_CRC]!.toString(16)} does not match the staging block's 0x${crc.toString(16)}`);
    copyIntersectionPlan(this.c, i, this.runner.plan, this.scratch);
    const decoded = decodePlanBlock(this.c, i, this.holding, HR_STAGE, this.scratch);
    if (!decoded.ok) return refuse(CommitStatus.Malformed, decoded.message);
    const issues = new IssueList();
    if (!validateIntersectionPlan(this.c, i, this.scratch, issues)) return refuse(CommitStatus.Unsafe, formatIssues(issues.items));
    if (command !== COMMIT_COMMAND) return this.acceptOverride(command, refuse);
    // Actuated settings go with the plan whose id they carry; a plan staged without them runs fixed-time.
    if (this.actStage[AB_PLAN_ID] === id) {
      const actCrc = crc16ModbusRegisters(this.actStage, 0, ACT_BLOCK_LENGTH);
      if (actCrc !== this.actStage[ACT_BLOCK_LENGTH]) return refuse(CommitStatus.CrcMismatch, `actuated CRC register 0x${this.actStage[ACT_BLOCK_LENGTH]!.toString(16)} does not match the actuated staging block's 0x${actCrc.toString(16)}`);
      const checked = checkActuatedBlock(this.c, i, this.actStage, 0);
      if (!checked.ok) return refuse(checked.status, checked.message);
    }
    try {
      // Actuated settings in force must fit the new plan (their force-offs are its green ends).
      this.runner.setPlan(this.scratch, i);
    } catch (e) {
      if (e instanceof UnsafePlanError) return refuse(CommitStatus.Unsafe, `the actuated settings do not fit this plan: ${formatIssues(e.issues)}`);
      throw e;
    }
    // Accepted: only now is anything changed (a refusal above leaves every block as it was).
    if (this.actStage[AB_PLAN_ID] === id) {
      this.actPending.set(this.actStage.subarray(0, ACT_BLOCK_LENGTH));
      // Consumed: a later plan staged under the same id without new settings cannot pick these up.
      this.actStage[AB_PLAN_ID] = 0;
      this.actStage[AB_PLAN_ID_TAIL] = 0;
    } else fixedActuatedBlock(id, this.actPending);
    this.pendingBlock.set(this.holding.subarray(HR_STAGE, HR_STAGE + PLAN_BLOCK_LENGTH));
    this.pendingPlanId = decoded.planId;
    this.commitStatus = CommitStatus.Pending;
    this.lastRejection = '';
    this.faults &= ~FaultFlag.CommitRejected;
  }

  /**
   * A validated one-cycle override in `scratch` (transit priority). Next: runs at the next
   * cycle zero instead of the committed plan (no offset correction that cycle: the engine's
   * override sequence brings the cycle back to its offset itself). Now: replaces the rest of
   * the running cycle, only if it agrees with everything this cycle has already timed.
   */
  private acceptOverride(command: number, refuse: (status: CommitStatus, message: string) => void): void {
    const c = this.c;
    const i = this.intersection;
    if (this.mode !== ControllerMode.Coordinated && this.mode !== ControllerMode.Free) return refuse(CommitStatus.OverrideIncompatible, 'not running a cycle (manual control or flash)');
    if (command === OverrideCommand.Next) {
      this.runner.setOneCycle(this.scratch, i);
      this.commitStatus = CommitStatus.OverridePending;
    } else {
      if (this.runner.redUntilCycleZero[i] === 1) return refuse(CommitStatus.OverrideIncompatible, 'the controller is in its start-up all-red until cycle zero');
      if (this.runner.isActuated(i)) return refuse(CommitStatus.OverrideIncompatible, 'the controller runs actuated: its detectors decide the running cycle');
      const tau = Math.max(0, this.nowS - this.runner.cycleStartS[i]!);
      const r = this.runner.running;
      const o = this.scratch;
      for (let p = this.p0; p < this.p1; p++) {
        const id = c.phaseIds[p];
        if (c.phaseOnDemand[p] === 1) {
          // A bus phase skipped before and after shows nothing; one being inserted gains its
          // clearances (the validator has checked them), so only its green start and end matter.
          if (r.phaseGreenS[p] === 0 && o.phaseGreenS[p] === 0) continue;
        } else if (Math.abs(o.phaseYellowS[p]! - r.phaseYellowS[p]!) > EPS || Math.abs(o.phaseAllRedS[p]! - r.phaseAllRedS[p]!) > EPS) {
          return refuse(CommitStatus.OverrideIncompatible, `phase ${id}: an override may not change yellow or all-red`);
        }
        const started = r.phaseStartS[p]! <= tau + EPS;
        if (!started) {
          if (o.phaseStartS[p]! < tau + OVERRIDE_NOTICE_S) return refuse(CommitStatus.OverrideIncompatible, `phase ${id} would start at ${o.phaseStartS[p]} s, before cycle second ${round1(tau + OVERRIDE_NOTICE_S)}`);
          continue;
        }
        if (Math.abs(o.phaseStartS[p]! - r.phaseStartS[p]!) > EPS) return refuse(CommitStatus.OverrideIncompatible, `phase ${id} started at ${r.phaseStartS[p]} s; the override moves it to ${o.phaseStartS[p]} s`);
        const greenEnd = r.phaseStartS[p]! + r.phaseGreenS[p]!;
        if (greenEnd <= tau + EPS) {
          if (Math.abs(o.phaseGreenS[p]! - r.phaseGreenS[p]!) > EPS) return refuse(CommitStatus.OverrideIncompatible, `phase ${id}'s green has ended; the override changes it`);
        } else if (o.phaseStartS[p]! + o.phaseGreenS[p]! < tau + OVERRIDE_NOTICE_S) {
          return refuse(CommitStatus.OverrideIncompatible, `phase ${id}'s green would end at ${round1(o.phaseStartS[p]! + o.phaseGreenS[p]!)} s, before cycle second ${round1(tau + OVERRIDE_NOTICE_S)}`);
        }
      }
      this.runner.replaceRunning(this.scratch, i);
      this.commitStatus = CommitStatus.OverrideRunning;
      this.overridesRun++;
    }
    this.lastRejection = '';
    this.faults &= ~FaultFlag.CommitRejected;
  }

  // ---------------------------------------------------------------- cycle

  /** At cycle zero the runner took a queued plan or a one-cycle override: mirror it in the registers. */
  private atCycleZero(): void {
    const flags = this.runner.boundaryFlags[this.intersection]!;
    if (flags & BOUNDARY_PLAN_SWITCH) {
      this.activeBlock.set(this.pendingBlock);
      this.actActive.set(this.actPending);
      this.activePlanId = this.pendingPlanId;
      this.pendingPlanId = 0;
      if (this.commitStatus === CommitStatus.Pending) this.commitStatus = CommitStatus.Active;
    }
    if (flags & BOUNDARY_ONE_CYCLE) {
      this.commitStatus = CommitStatus.OverrideRunning;
      this.overridesRun++;
      return;
    }
    // A plan switch this cycle wins over a waiting override (the runner dropped it).
    if (this.commitStatus === CommitStatus.OverrideRunning || this.commitStatus === CommitStatus.OverridePending) this.commitStatus = CommitStatus.Active;
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
    this.statusDirty = true;
    this.setOutputs(run.greenMask[i]!, run.yellowMask[i]!, run.cycleStartS[i]! + tau);
  }

  /** Ring-1 status (phase, interval, time in it, cycle second) at the last evaluation. */
  private refreshStatus(): void {
    if (!this.statusDirty) return;
    this.statusDirty = false;
    const run = this.runner;
    const tau = run.tauS(this.intersection);
    const r = run.running;
    const intervals = run.intervals(this.intersection);
    this.statusPhase = NO_PHASE;
    this.statusInterval = Interval.Red;
    this.statusTimeInIntervalS = 0;
    this.statusCycleSecondS = tau;
    for (let p = this.p0; p < this.p1; p++) {
      const interval = intervals[p]!;
      if (this.c.phaseRing[p] !== 0 || interval === PHASE_RED) continue;
      const s = r.phaseStartS[p]!;
      const ge = s + r.phaseGreenS[p]!;
      this.statusPhase = p - this.p0;
      if (interval === PHASE_GREEN) {
        this.statusInterval = Interval.Green;
        this.statusTimeInIntervalS = tau - s;
      } else if (interval === PHASE_YELLOW) {
        this.statusInterval = Interval.Yellow;
        this.statusTimeInIntervalS = tau - ge;
      } else if (interval === PHASE_ALL_RED) {
        this.statusInterval = Interval.Red;
        this.statusTimeInIntervalS = tau - (ge + r.phaseYellowS[p]!);
      }
    }
  }

  // -------------------------------------------------------------- monitor

  private resetMonitor(t: number): void {
    this.green = 0;
    this.yellow = 0;
    this.lampState.fill(LAMP_RED);
    this.lampSinceS.fill(t);
    // Power-up: treat every movement as having been red for ever.
    this.redSinceS.fill(-Infinity);
  }

  /** Drives the lamps and checks them like a conflict monitor (MMU); any fault → latched flash. */
  private setOutputs(green: number, yellow: number, t: number): void {
    this.green = green;
    this.yellow = yellow;
    const lit = green | yellow;
    let fault = 0;
    let message = '';
    for (let m = 0; m < 16; m++) {
      if (!(lit & (1 << m))) continue;
      const bad = lit & this.present & ~this.compatible[m]!;
      if (bad !== 0) {
        fault |= FaultFlag.Conflict;
        message ||= `conflicting indications: movement ${m} with mask 0x${bad.toString(16)}`;
      }
    }
    // Pass 1: movements leaving green or yellow (clearance checks), so pass 2 sees fresh red times.
    for (let m = 0; m < 16; m++) {
      if (!(this.present & (1 << m))) continue;
      const next = green & (1 << m) ? LAMP_GREEN : yellow & (1 << m) ? LAMP_YELLOW : LAMP_RED;
      const prev = this.lampState[m]!;
      if (next === prev || next === LAMP_GREEN) continue;
      const held = t - this.lampSinceS[m]!;
      if (prev === LAMP_GREEN && next === LAMP_RED) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: green to red without yellow`;
      } else if (prev === LAMP_GREEN && held + EPS < this.minGreenS[m]!) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: green ${round3(held)} s is below the minimum ${this.minGreenS[m]} s`;
      } else if (prev === LAMP_YELLOW && next === LAMP_RED && held + EPS < this.minYellowS[m]!) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: yellow ${round3(held)} s is below ${this.minYellowS[m]} s`;
      }
      this.lampState[m] = next;
      this.lampSinceS[m] = t;
      if (next === LAMP_RED) this.redSinceS[m] = t;
    }
    // Pass 2: movements turning green need every conflicting movement red for its all-red clearance.
    for (let m = 0; m < 16; m++) {
      if (!(green & (1 << m)) || this.lampState[m] === LAMP_GREEN) continue;
      const conflicting = this.present & ~this.compatible[m]!;
      for (let o = 0; o < 16; o++) {
        if (!(conflicting & (1 << o)) || this.lampState[o] !== LAMP_RED) continue;
        const red = t - this.redSinceS[o]!;
        if (red + EPS < this.minAllRedS[o]!) {
          fault |= FaultFlag.Clearance;
          message ||= `movement ${m} turned green ${round3(red)} s after conflicting movement ${o} turned red (all-red ${this.minAllRedS[o]} s)`;
        }
      }
      this.lampState[m] = LAMP_GREEN;
      this.lampSinceS[m] = t;
    }
    if (fault !== 0) {
      this.faults |= fault;
      this.lastFaultMessage = message;
      this.mode = ControllerMode.Flash;
      this.green = 0;
      this.yellow = 0;
      this.lampState.fill(LAMP_RED);
      this.lampSinceS.fill(t);
      this.redSinceS.fill(t);
      this.refreshStatus();
      this.statusPhase = NO_PHASE;
      this.statusInterval = Interval.Flash;
    }
  }

  // ---------------------------------------------------------------- views

  lamps(): LampOutputs {
    const flashing = this.mode === ControllerMode.Flash;
    return { green: this.green, yellow: this.yellow, red: this.present & ~(this.green | this.yellow), flashing };
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
    return this.present;
  }

  /** Movements that may never show together with movement m (the monitor's program card). */
  conflictsOf(m: number): number {
    return this.present & ~this.compatible[m]!;
  }

  state(): ControllerState {
    return {
      mode: this.mode,
      faults: this.faults,
      activePlanId: this.activePlanId,
      pendingPlanId: this.pendingPlanId,
      commitStatus: this.commitStatus,
      lastCommitPlanId: this.lastCommitPlanId,
      lastRejection: this.lastRejection,
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
    return this.actActive.slice();
  }

  /** The active plan exactly as committed (plan block layout; plan id 0 = the local plan). */
  activePlanBlock(): Uint16Array {
    return this.activeBlock.slice();
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

function checkRange(address: number, count: number, end: number, limit: number, what: string): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= limit)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `${what} register count ${count} must be within [1, ${limit}]`);
  if (!(Number.isInteger(address) && address >= 0 && address + count <= end)) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `${what} registers [${address}, ${address + count}) are outside [0, ${end})`);
}

/** Local detector range of intersection i: detectors are compiled in intersection order. */
export function detectorRange(c: CompiledNetwork, i: number): { start: number; count: number } {
  const l0 = c.laneStart[i]!;
  const l1 = c.laneStart[i + 1]!;
  let start = -1;
  let count = 0;
  for (let d = 0; d < c.detectorIds.length; d++) {
    const lane = c.detectorLane[d]!;
    if (lane >= l0 && lane < l1) {
      if (start < 0) start = d;
      count++;
    }
  }
  return { start: Math.max(start, 0), count };
}

function tenths(s: number): number {
  return Math.max(0, Math.min(0xffff, Math.round(s * 10)));
}


