/**
 * The virtual controller's register-side memory: the writable holding
 * registers (plan staging block, CRC, commit, comm-loss timeout), the
 * actuated staging / pending / active blocks, the active and pending plan
 * blocks with their ids, the commit status, and the time-of-day table. It
 * checks and applies Modbus writes (all registers or none) and answers
 * holding-register reads; whether a staged plan is accepted is
 * ./commit.ts's decision. Owned by VirtualController (./controller.ts).
 */
import { ModbusException } from '../errors.js';
import {
  ACT_BLOCK_LENGTH,
  COMMIT_COMMAND,
  CommitStatus,
  HOLDING_WRITABLE_END,
  HOLDING_WRITABLE_RANGES,
  HR_ACT_ACTIVE,
  HR_ACT_STAGE,
  HR_ACTIVE,
  HR_COMM_LOSS_TIMEOUT_S,
  HR_COMMIT,
  HR_LAST_COMMIT_PLAN_ID,
  HR_PENDING_PLAN_ID,
  HR_STAGE_CRC,
  HR_TOD,
  HR_TOD_NOW_PLAN_ID,
  MAX_COMM_LOSS_TIMEOUT_S,
  MAX_TOD_ENTRIES,
  MINUTES_PER_DAY,
  MODBUS_MAX_WRITE_REGISTERS,
  ModbusExceptionCode,
  OverrideCommand,
  PLAN_BLOCK_LENGTH,
  TOD_BLOCK_LENGTH,
  TOD_COUNT,
  TOD_ENTRIES,
  TOD_PLAN_ID,
  TOD_START_MIN,
  TOD_STRIDE,
} from '../registerMap.js';

/** `write` found no commit in the request. */
export const NO_COMMIT = -1;

export class PlanStore {
  /** Writable holding registers: staging block, CRC, commit, timeout (the last two are shadowed by fields). */
  readonly holding = new Uint16Array(HOLDING_WRITABLE_END);
  /** Actuated staging block and its CRC (holding HR_ACT_STAGE..HR_ACT_STAGE_CRC). */
  readonly actStage = new Uint16Array(ACT_BLOCK_LENGTH + 1);
  readonly actPending = new Uint16Array(ACT_BLOCK_LENGTH);
  readonly actActive = new Uint16Array(ACT_BLOCK_LENGTH);
  readonly activeBlock = new Uint16Array(PLAN_BLOCK_LENGTH);
  readonly pendingBlock = new Uint16Array(PLAN_BLOCK_LENGTH);
  /** Time-of-day table (holding HR_TOD..), as last written whole. */
  private readonly tod = new Uint16Array(TOD_BLOCK_LENGTH);
  activePlanId = 0;
  pendingPlanId = 0;
  commitStatus: CommitStatus = CommitStatus.Idle;
  lastCommitPlanId = 0;
  lastRejection = '';

  constructor(public commLossTimeoutS: number) {}

  /** Holding register a (any readable address), with the clock at nowS for the scheduled plan id. */
  holdingValue(a: number, nowS: number): number {
    if (a === HR_COMMIT) return this.commitStatus;
    if (a === HR_COMM_LOSS_TIMEOUT_S) return this.commLossTimeoutS;
    if (a === HR_PENDING_PLAN_ID) return this.pendingPlanId;
    if (a === HR_LAST_COMMIT_PLAN_ID) return this.lastCommitPlanId;
    if (a === HR_TOD_NOW_PLAN_ID) return this.scheduledPlanId(nowS);
    if (a >= HR_TOD) return this.tod[a - HR_TOD]!;
    if (a >= HR_ACT_ACTIVE) return this.actActive[a - HR_ACT_ACTIVE]!;
    if (a >= HR_ACT_STAGE) return this.actStage[a - HR_ACT_STAGE]!;
    if (a >= HR_ACTIVE) return this.activeBlock[a - HR_ACTIVE]!;
    return this.holding[a]!;
  }

  /**
   * The plan id the time-of-day table schedules at clock time nowS (seconds since 1970 UTC in
   * the field; minute of the day = ⌊nowS / 60⌋ mod 1440): the last entry that starts at or
   * before that minute. 0 without a table.
   */
  scheduledPlanId(nowS: number): number {
    const n = this.tod[TOD_COUNT]!;
    if (n === 0) return 0;
    const minute = ((Math.floor(nowS / 60) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    let id = this.tod[TOD_ENTRIES + (n - 1) * TOD_STRIDE + TOD_PLAN_ID]!;
    for (let e = 0; e < n; e++) if (this.tod[TOD_ENTRIES + e * TOD_STRIDE + TOD_START_MIN]! <= minute) id = this.tod[TOD_ENTRIES + e * TOD_STRIDE + TOD_PLAN_ID]!;
    return id;
  }

  /**
   * FC6/FC16: all registers or none. Only staging, CRC, commit, the timeout, the actuated
   * staging block and the time-of-day table are writable; every value is checked before
   * anything is applied. Returns the commit command the request wrote (the caller runs it
   * last), or NO_COMMIT.
   */
  write(address: number, values: readonly number[]): number {
    const count = values.length;
    if (count > MODBUS_MAX_WRITE_REGISTERS) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `write of ${count} registers exceeds ${MODBUS_MAX_WRITE_REGISTERS}`);
    const range = HOLDING_WRITABLE_RANGES.find(([from, to]) => address >= from && address < to);
    if (!range) checkRange(address, count, HOLDING_WRITABLE_END, MODBUS_MAX_WRITE_REGISTERS, 'writable holding');
    else checkRange(address - range[0], count, range[1] - range[0], MODBUS_MAX_WRITE_REGISTERS, `writable holding [${range[0]}, ${range[1]})`);
    for (const v of values) if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `value ${v} is not a uint16`);
    if (range && range[0] === HR_TOD) {
      this.writeTimeOfDay(address, values);
      return NO_COMMIT;
    }
    if (range && range[0] === HR_ACT_STAGE) {
      this.actStage.set(values, address - HR_ACT_STAGE);
      return NO_COMMIT;
    }
    let command = NO_COMMIT;
    let timeout = -1;
    for (let k = 0; k < count; k++) {
      const a = address + k;
      const v = values[k]!;
      if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `value ${v} at ${a} is not a uint16`);
      if (a === HR_COMMIT) {
        if (v !== COMMIT_COMMAND && v !== OverrideCommand.Now && v !== OverrideCommand.Next) {
          throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `commit register accepts ${COMMIT_COMMAND} (plan), ${OverrideCommand.Now} (override now) or ${OverrideCommand.Next} (override next cycle), got ${v}`);
        }
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
    return command;
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

  /** Cycle zero took the pending plan: it becomes the active one, with its actuated block. */
  switchToPending(): void {
    this.activeBlock.set(this.pendingBlock);
    this.actActive.set(this.actPending);
    this.activePlanId = this.pendingPlanId;
    this.pendingPlanId = 0;
    if (this.commitStatus === CommitStatus.Pending) this.commitStatus = CommitStatus.Active;
  }

  /** A power cycle: staging and the commit status's history are lost; the plans are non-volatile. */
  restart(queued: boolean): void {
    this.holding.fill(0);
    this.commitStatus = queued ? CommitStatus.Pending : this.activePlanId !== 0 ? CommitStatus.Active : CommitStatus.Idle;
    this.lastRejection = '';
  }
}

/** A Modbus register range check, with the exception a device answers (0x03 count, 0x02 address). */
export function checkRange(address: number, count: number, end: number, limit: number, what: string): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= limit)) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, `${what} register count ${count} must be within [1, ${limit}]`);
  if (!(Number.isInteger(address) && address >= 0 && address + count <= end)) throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, `${what} registers [${address}, ${address + count}) are outside [0, ${end})`);
}
