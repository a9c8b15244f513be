/**
 * The engine's side of the controller link: a Modbus TCP client for many
 * controllers (one unit id per intersection, any number of endpoints), or
 * Modbus RTU over a serial line for endpoints with `transport: 'rtu'` (one
 * port per device path, one request at a time on it; a serial port is not
 * reopened on a timeout, and a reply with a bad CRC is MODBUS_BAD_FRAME,
 * retried like a timeout).
 *  - Every request has a timeout; a dead connection is never reused
 *    (./connection.ts).
 *  - Transient failures are retried with exponential backoff, and a
 *    per-controller circuit breaker fails fast after consecutive failures
 *    (./retry.ts).
 *  - Operations on one controller are serialized (a per-unit lock held for a
 *    whole push); different controllers run in parallel, bounded per
 *    connection so transaction ids (mod 256) never collide.
 * `pushPlan` writes the staging block in one FC16, the CRC, the commit, then
 * reads back the commit status and the active/pending plan id, so a
 * half-written plan can never become active unnoticed.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { IssueList, OptionError, UnsafePlanError } from '../../engine/errors.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { copyIntersectionPlan, crc16ModbusRegisters, decodePlanBlock, encodePlanBlock } from '../codec.js';
import { encodeActuatedBlock } from '../actuatedBlock.js';
import { decodeEventBlock, SEQ_MODULUS, type EventWindow } from '../eventWindow.js';
import { decodeTimeOfDayTable, encodeTimeOfDayTable, type DayPlanEvent } from '../dayPlan.js';
import type { ActuatedPlan } from '../../engine/timing/actuated.js';
import { detectorRange } from '../virtual/detectors.js';
import {
  COMMIT_COMMAND,
  OverrideCommand,
  CommitStatus,
  commitStatusName,
  DET_OCCUPANCY_PERMILLE,
  DET_VOLUME,
  DETECTOR_STRIDE,
  EV_BLOCK_LENGTH,
  HR_EV_CURSOR,
  HR_EVENTS,
  ACT_BLOCK_LENGTH,
  HR_ACT_ACTIVE,
  HR_ACT_STAGE,
  HR_ACTIVE,
  HR_COMMIT,
  HR_STAGE,
  HR_STAGE_CRC,
  HR_TOD,
  TOD_BLOCK_LENGTH,
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
  IR_STATUS_LENGTH,
  IR_TIME_IN_INTERVAL_DS,
  IR_UPTIME_S_HI,
  IR_UPTIME_S_LO,
  MAX_DETECTORS,
  MAX_UNIT_ID,
  MIN_UNIT_ID,
  MODBUS_MAX_READ_REGISTERS,
  MODBUS_MAX_WRITE_REGISTERS,
  PB_PLAN_ID,
  PB_PLAN_ID_TAIL,
  PLAN_BLOCK_LENGTH,
} from '../registerMap.js';

import { fillOptions, type ControllerClientOptions, type FilledClientOptions } from './clientOptions.js';
import { Connection, linkKey, linkOf, type AnyControllerEndpoint } from './connection.js';
import { breakerStatus, serialized, sleep, withRetry } from './retry.js';

export { kDefaultClientOptions, type ControllerClientOptions } from './clientOptions.js';
export type { AnyControllerEndpoint, ControllerEndpoint, RtuControllerEndpoint } from './connection.js';

/** The status block (input registers 0–15), decoded. */
export interface ControllerStatus {
  readonly activePlanId: number;
  readonly phase: number;
  readonly interval: number;
  readonly timeInIntervalS: number;
  readonly cycleSecondS: number;
  readonly mode: number;
  readonly faults: number;
  readonly pendingPlanId: number;
  readonly commitStatus: number;
  readonly runningCycleS: number;
  readonly detectorCount: number;
  readonly uptimeS: number;
}

export interface PushPlanOptions {
  /** Plan id to send (1..65535). Default: one more than the controller's active or pending id. */
  readonly planId?: number;
  /** Wait until the plan runs (it starts at the controller's next cycle zero). Default false: accepted is enough. */
  readonly waitActive?: boolean;
  /** Deadline for waitActive, ms (default two cycles of the plan + 5 s). */
  readonly activeTimeoutMs?: number;
  /** Poll period while waiting, ms (default 200). */
  readonly pollMs?: number;
  /**
   * Actuated settings to commit with the plan (the actuated block, written with its CRC in one
   * FC16 before the plan). Absent: the plan runs fixed-time (the controller clears them).
   */
  readonly actuated?: ActuatedPlan;
  /**
   * Fencing: asked before every write of the push (each block, the CRC, the commit, and again
   * on a retry); false stops the push there with a FENCED error, nothing more written. A cluster
   * node passes its lease check (service/cluster/regionDriver.ts).
   */
  readonly mayWrite?: () => boolean;
}

export interface PushResult {
  readonly unitId: number;
  readonly planId: number;
  /** 'pending': accepted, waits for cycle zero; 'active': running, and its block read back identical. */
  readonly state: 'pending' | 'active';
  readonly attempts: number;
}

export interface DetectorPoll {
  readonly unitId: number;
  readonly seq: number;
  /** Latches between this poll and the previous one that this client never saw (0 = none lost). */
  readonly missedPolls: number;
  /** First poll of this controller by this client: no gap check possible. */
  readonly first: boolean;
  /** The controller's uptime went backwards: it restarted, counts since the last poll are lost. */
  readonly restarted: boolean;
  readonly detectorIds: readonly string[];
  readonly volumes: readonly number[];
  readonly occupancyPct: readonly number[];
  readonly status: ControllerStatus;
}

interface UnitState {
  readonly endpoint: AnyControllerEndpoint;
  readonly conn: Connection;
  readonly detectorIds: readonly string[];
  lock: Promise<unknown>;
  failures: number;
  openUntilMs: number;
  lastSeq: number;
  lastUptimeS: number;
}

export class ControllerClient {
  private readonly c: CompiledNetwork;
  private readonly opts: FilledClientOptions;
  private readonly units = new Map<number, UnitState>();
  private readonly connections = new Map<string, Connection>();
  private readonly scratch: PlanBuffer;
  private closed = false;

  constructor(c: CompiledNetwork, endpoints: readonly AnyControllerEndpoint[], opts: ControllerClientOptions = {}) {
    this.c = c;
    this.opts = fillOptions(opts);
    this.scratch = createPlanBuffer(c);
    endpoints.forEach((e, k) => {
      if (!(Number.isInteger(e.unitId) && e.unitId >= MIN_UNIT_ID && e.unitId <= MAX_UNIT_ID)) throw new OptionError(`endpoints[${k}].unitId`, `${e.unitId} must be an integer within [${MIN_UNIT_ID}, ${MAX_UNIT_ID}]`);
      if (!(Number.isInteger(e.intersection) && e.intersection >= 0 && e.intersection < c.intersectionCount)) throw new OptionError(`endpoints[${k}].intersection`, `${e.intersection} must be within [0, ${c.intersectionCount})`);
      if (e.transport === 'rtu') {
        if (!(typeof e.path === 'string' && e.path.length > 0)) throw new OptionError(`endpoints[${k}].path`, 'must name a serial device');
        if (e.baudRate !== undefined && !(Number.isInteger(e.baudRate) && e.baudRate > 0)) throw new OptionError(`endpoints[${k}].baudRate`, `${e.baudRate} must be a positive integer`);
      } else if (!(Number.isInteger(e.port) && e.port > 0 && e.port <= 65535)) throw new OptionError(`endpoints[${k}].port`, `${e.port} must be within [1, 65535]`);
      const link = linkOf(e);
      const key = linkKey(link);
      if (this.units.has(e.unitId) && this.units.get(e.unitId)!.conn.key !== key) throw new OptionError(`endpoints[${k}].unitId`, `${e.unitId} is configured twice`);
      let conn = this.connections.get(key);
      if (!conn) {
        conn = new Connection(link, this.opts);
        this.connections.set(key, conn);
      }
      const range = detectorRange(c, e.intersection);
      const ids = c.detectorIds.slice(range.start, range.start + Math.min(range.count, MAX_DETECTORS));
      this.units.set(unitKey(e), { endpoint: e, conn, detectorIds: ids, lock: Promise.resolve(), failures: 0, openUntilMs: 0, lastSeq: -1, lastUptimeS: -1 });
    });
  }

  /** Closes every connection; outstanding requests fail with CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  // ------------------------------------------------------------ high level

  /** Reads and decodes the status block. */
  async readStatus(unitId: number): Promise<ControllerStatus> {
    const u = this.unit(unitId);
    return this.serialized(u, () => this.withRetry(u, () => this.fc4(u, 0, IR_STATUS_LENGTH).then(decodeStatus)));
  }

  /**
   * Pushes intersection `endpoint.intersection` of `plan` to controller `unitId`:
   * validates locally (never sends an unsafe plan), writes the staging block (one FC16),
   * the CRC, the commit, and confirms from the controller's own registers.
   */
  async pushPlan(unitId: number, plan: PlanBuffer, opts: PushPlanOptions = {}): Promise<PushResult> {
    const u = this.unit(unitId);
    const i = u.endpoint.intersection;
    this.encodeSafe(i, plan, opts.planId ?? 1, 'plan');
    const cycleS = plan.cycleS[i]!;

    return this.serialized(u, async () => {
      let planId = opts.planId;
      let attempts = 0;
      return this.withRetry(u, async () => {
        attempts++;
        if (planId === undefined) {
          const st = decodeStatus(await this.fc4(u, 0, IR_STATUS_LENGTH));
          planId = (Math.max(st.activePlanId, st.pendingPlanId) % 0xffff) + 1;
        }
        const id = planId;
        const block = encodePlanBlock(this.c, i, plan, id);
        const act = opts.actuated ? encodeActuatedBlock(this.c, i, opts.actuated, id) : undefined;
        const fence = (): void => {
          if (opts.mayWrite && !opts.mayWrite()) throw new ControllerError(ControllerErrorReason.Fenced, `unit ${unitId}: plan ${id} not written: this client may no longer write to the controller`, { unitId });
        };
        // A retry after a transient failure (a reply lost or late) looks first: the commit may
        // have landed, and committing the plan again would deploy it twice.
        let landed = false;
        if (attempts > 1) {
          const st0 = decodeStatus(await this.fc4(u, 0, IR_STATUS_LENGTH));
          landed = st0.activePlanId === id || st0.pendingPlanId === id;
        }
        if (!landed) {
          if (act) {
            fence();
            await this.fc16(u, HR_ACT_STAGE, [...act, crc16ModbusRegisters(act)]);
          }
          fence();
          await this.fc16(u, HR_STAGE, Array.from(block));
          fence();
          await this.fc6(u, HR_STAGE_CRC, crc16ModbusRegisters(block));
          fence();
          await this.fc6(u, HR_COMMIT, COMMIT_COMMAND);
          const [status, , , lastCommit] = await this.fc3(u, HR_COMMIT, 4);
          if (lastCommit !== id) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `unit ${unitId}: the last commit was plan ${lastCommit}, not ${id} (another writer?)`, { unitId });
          if (status! >= CommitStatus.CrcMismatch) throw new ControllerError(ControllerErrorReason.PlanRejected, `unit ${unitId} refused plan ${id}: ${commitStatusName(status!)}`, { unitId, commitStatus: status! });
        }
        let st = decodeStatus(await this.fc4(u, 0, IR_STATUS_LENGTH));
        if (st.activePlanId !== id && st.pendingPlanId !== id) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `unit ${unitId}: plan ${id} is neither active (${st.activePlanId}) nor pending (${st.pendingPlanId})`, { unitId });
        if (opts.waitActive && st.activePlanId !== id) {
          const deadline = Date.now() + (opts.activeTimeoutMs ?? Math.ceil(cycleS * 2000) + 5000);
          while (st.activePlanId !== id) {
            if (Date.now() > deadline) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `unit ${unitId}: plan ${id} did not become active in time (active ${st.activePlanId}, pending ${st.pendingPlanId})`, { unitId });
            await sleep(opts.pollMs ?? 200);
            st = decodeStatus(await this.fc4(u, 0, IR_STATUS_LENGTH));
            if (st.activePlanId !== id && st.pendingPlanId !== id) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `unit ${unitId}: plan ${id} was dropped (active ${st.activePlanId}, pending ${st.pendingPlanId})`, { unitId });
          }
        }
        if (st.activePlanId === id) {
          const active = await this.fc3(u, HR_ACTIVE, PLAN_BLOCK_LENGTH);
          for (let k = 0; k < PLAN_BLOCK_LENGTH; k++) {
            if (active[k] !== block[k]) throw new ControllerError(ControllerErrorReason.ReadbackMismatch, `unit ${unitId}: active plan register ${HR_ACTIVE + k} reads ${active[k]}, ${block[k]} was sent`, { unitId });
          }
          if (act) {
            const actActive = await this.fc3(u, HR_ACT_ACTIVE, ACT_BLOCK_LENGTH);
            for (let k = 0; k < ACT_BLOCK_LENGTH; k++) {
              if (actActive[k] !== act[k]) throw new ControllerError(ControllerErrorReason.ReadbackMismatch, `unit ${unitId}: active actuated register ${HR_ACT_ACTIVE + k} reads ${actActive[k]}, ${act[k]} was sent`, { unitId });
            }
          }
          return { unitId, planId: id, state: 'active' as const, attempts };
        }
        return { unitId, planId: id, state: 'pending' as const, attempts };
      });
    });
  }

  /**
   * Transit priority: one cycle's timing (intersection i of `plan`) that replaces the rest of
   * the running cycle (`when` 'now') or runs as the next cycle only ('next'); the committed plan
   * stays and resumes after it. Block, CRC and commit go in ONE FC16, since the running cycle
   * moves on while we talk. The controller checks a 'now' override against what the cycle
   * has already timed; a refusal is a PLAN_REJECTED error carrying the commit status.
   * `mayWrite` (fencing, as pushPlan's) is asked before the write, and again on a retry.
   */
  async pushOverride(unitId: number, plan: PlanBuffer, when: 'now' | 'next', overrideId: number, opts: { readonly mayWrite?: () => boolean } = {}): Promise<{ unitId: number; overrideId: number; commitStatus: number }> {
    const u = this.unit(unitId);
    const i = u.endpoint.intersection;
    const block = this.encodeSafe(i, plan, overrideId, 'override');
    const regs = [...block, crc16ModbusRegisters(block), when === 'now' ? OverrideCommand.Now : OverrideCommand.Next];
    return this.serialized(u, () =>
      this.withRetry(u, async () => {
        if (opts.mayWrite && !opts.mayWrite()) throw new ControllerError(ControllerErrorReason.Fenced, `unit ${unitId}: override ${overrideId} not written: this client may no longer write to the controller`, { unitId });
        await this.fc16(u, HR_STAGE, regs);
        const [status, , , lastCommit] = await this.fc3(u, HR_COMMIT, 4);
        if (lastCommit !== overrideId) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `unit ${unitId}: the last commit was ${lastCommit}, not override ${overrideId} (another writer?)`, { unitId });
        if (status! >= CommitStatus.CrcMismatch) throw new ControllerError(ControllerErrorReason.PlanRejected, `unit ${unitId} refused override ${overrideId}: ${commitStatusName(status!)}`, { unitId, commitStatus: status! });
        return { unitId, overrideId, commitStatus: status! };
      }),
    );
  }

  /**
   * The plan block for intersection i of `plan`, after validating exactly what goes on the
   * wire (the 0.1 s block, decoded back): an unsafe plan or override is never sent.
   */
  private encodeSafe(i: number, plan: PlanBuffer, id: number, what: 'plan' | 'override'): Uint16Array {
    const block = encodePlanBlock(this.c, i, plan, id);
    copyIntersectionPlan(this.c, i, plan, this.scratch);
    const decoded = decodePlanBlock(this.c, i, block, 0, this.scratch);
    const issues = new IssueList();
    if (!decoded.ok) issues.add(`${what}[${this.c.intersectionIds[i]}]`, decoded.message);
    else validateIntersectionPlan(this.c, i, this.scratch, issues);
    if (issues.length > 0) throw new UnsafePlanError(this.c.intersectionIds[i]!, issues.items);
    return block;
  }

  /** Reads the active plan block; throws TORN_READ if its head and tail plan ids differ. */
  async readActivePlan(unitId: number): Promise<Uint16Array> {
    const u = this.unit(unitId);
    const regs = await this.serialized(u, () => this.withRetry(u, () => this.fc3(u, HR_ACTIVE, PLAN_BLOCK_LENGTH)));
    if (regs[PB_PLAN_ID] !== regs[PB_PLAN_ID_TAIL]) throw new ControllerError(ControllerErrorReason.TornRead, `unit ${unitId}: active plan block head ${regs[PB_PLAN_ID]} ≠ tail ${regs[PB_PLAN_ID_TAIL]}`, { unitId });
    return Uint16Array.from(regs);
  }

  /**
   * One detector poll: status and every detector in a single FC4 read (which latches the
   * controller's counters). Sequence gaps and restarts are reported, never hidden.
   */
  async pollDetectors(unitId: number): Promise<DetectorPoll> {
    const u = this.unit(unitId);
    const n = u.detectorIds.length;
    const regs = await this.serialized(u, () => this.withRetry(u, () => this.fc4(u, 0, IR_DETECTORS + n * DETECTOR_STRIDE)));
    const status = decodeStatus(regs);
    const seq = regs[IR_DET_SEQ]!;
    const first = u.lastSeq < 0;
    const restarted = !first && status.uptimeS < u.lastUptimeS;
    const missedPolls = first || restarted ? 0 : (seq - u.lastSeq - 1) & 0xffff;
    u.lastSeq = seq;
    u.lastUptimeS = status.uptimeS;
    const volumes: number[] = [];
    const occupancyPct: number[] = [];
    for (let d = 0; d < n; d++) {
      volumes.push(regs[IR_DETECTORS + d * DETECTOR_STRIDE + DET_VOLUME]!);
      occupancyPct.push(regs[IR_DETECTORS + d * DETECTOR_STRIDE + DET_OCCUPANCY_PERMILLE]! / 10);
    }
    return { unitId, seq, missedPolls, first, restarted, detectorIds: u.detectorIds, volumes, occupancyPct, status };
  }

  /**
   * One read of the controller's event log (holding HR_EVENTS..): writes the cursor `fromSeq`
   * (one FC16) and reads the whole block (one FC3) under this unit's lock. The window says
   * where it really starts; ./eventPoller.ts keeps the cursor and reports gaps.
   */
  async readEventWindow(unitId: number, fromSeq: number): Promise<EventWindow> {
    const u = this.unit(unitId);
    if (!(Number.isInteger(fromSeq) && fromSeq >= 0 && fromSeq < SEQ_MODULUS)) throw new OptionError('fromSeq', `${fromSeq} must be a uint32`);
    return this.serialized(u, () =>
      this.withRetry(u, async () => {
        await this.fc16(u, HR_EV_CURSOR, [Math.floor(fromSeq / 0x10000), fromSeq & 0xffff]);
        return decodeEventBlock(await this.fc3(u, HR_EVENTS, EV_BLOCK_LENGTH), unitId);
      }),
    );
  }

  /**
   * Writes the controller's time-of-day table (holding HR_TOD.., one FC16 of the whole block:
   * the controller accepts a table only whole) and reads it back; resolves to the entries read
   * back, which the caller compares with what it wrote. An empty list clears the table.
   */
  async writeTimeOfDay(unitId: number, events: readonly DayPlanEvent[]): Promise<DayPlanEvent[]> {
    const u = this.unit(unitId);
    const regs = events.length === 0 ? new Array<number>(TOD_BLOCK_LENGTH).fill(0) : encodeTimeOfDayTable(events);
    return this.serialized(u, () =>
      this.withRetry(u, async () => {
        await this.fc16(u, HR_TOD, regs);
        return decodeTimeOfDayTable(await this.fc3(u, HR_TOD, TOD_BLOCK_LENGTH));
      }),
    );
  }

  // ------------------------------------------------------------- low level

  /** FC3 with retries, serialized with this unit's other operations. */
  readHolding(unitId: number, address: number, count: number): Promise<number[]> {
    const u = this.unit(unitId);
    return this.serialized(u, () => this.withRetry(u, () => this.fc3(u, address, count)));
  }

  /** FC4 with retries. Covering IR_DET_SEQ latches the detectors (see the register map). */
  readInput(unitId: number, address: number, count: number): Promise<number[]> {
    const u = this.unit(unitId);
    return this.serialized(u, () => this.withRetry(u, () => this.fc4(u, address, count)));
  }

  /** FC6 for one value, FC16 for several (one request, applied atomically by greenwave controllers). */
  writeHolding(unitId: number, address: number, values: readonly number[]): Promise<void> {
    const u = this.unit(unitId);
    return this.serialized(u, () => this.withRetry(u, () => (values.length === 1 ? this.fc6(u, address, values[0]!) : this.fc16(u, address, [...values]))));
  }

  /** Breaker state, for health reports. */
  breaker(unitId: number): { failures: number; open: boolean } {
    return breakerStatus(this.unit(unitId));
  }

  private unit(unitId: number): UnitState {
    if (this.closed) throw new ControllerError(ControllerErrorReason.Closed, 'client is closed', { unitId });
    const u = this.units.get(unitId);
    if (!u) throw new ControllerError(ControllerErrorReason.UnknownUnit, `unit id ${unitId} is not configured (known: ${[...this.units.keys()].join(', ')})`, { unitId });
    return u;
  }

  private serialized<T>(u: UnitState, fn: () => Promise<T>): Promise<T> {
    return serialized(u, fn);
  }

  private withRetry<T>(u: UnitState, fn: () => Promise<T>): Promise<T> {
    return withRetry(u.endpoint.unitId, u, this.opts, () => this.closed, fn);
  }

  private fc3(u: UnitState, address: number, count: number): Promise<number[]> {
    checkCount(count, MODBUS_MAX_READ_REGISTERS, 'read', u.endpoint.unitId);
    const id = u.endpoint.unitId;
    return u.conn.run<{ data: number[] }>(id, `FC3 ${address}+${count}`, (m, cb) => m.writeFC3(id, address, count, cb)).then((r) => checkLength(r.data, count, id));
  }

  private fc4(u: UnitState, address: number, count: number): Promise<number[]> {
    checkCount(count, MODBUS_MAX_READ_REGISTERS, 'read', u.endpoint.unitId);
    const id = u.endpoint.unitId;
    return u.conn.run<{ data: number[] }>(id, `FC4 ${address}+${count}`, (m, cb) => m.writeFC4(id, address, count, cb)).then((r) => checkLength(r.data, count, id));
  }

  private async fc6(u: UnitState, address: number, value: number): Promise<void> {
    const id = u.endpoint.unitId;
    await u.conn.run<unknown>(id, `FC6 ${address}`, (m, cb) => m.writeFC6(id, address, value, cb));
  }

  private async fc16(u: UnitState, address: number, values: number[]): Promise<void> {
    checkCount(values.length, MODBUS_MAX_WRITE_REGISTERS, 'write', u.endpoint.unitId);
    const id = u.endpoint.unitId;
    await u.conn.run<unknown>(id, `FC16 ${address}+${values.length}`, (m, cb) => m.writeFC16(id, address, values, cb));
  }
}

function unitKey(e: AnyControllerEndpoint): number {
  return e.unitId;
}

function checkCount(count: number, limit: number, what: string, unitId: number): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= limit)) throw new ControllerError(ControllerErrorReason.Limit, `unit ${unitId}: ${what} of ${count} registers; Modbus allows 1..${limit} per request`, { unitId });
}

function checkLength(data: number[], count: number, unitId: number): number[] {
  if (!Array.isArray(data) || data.length !== count) throw new ControllerError(ControllerErrorReason.ConnectionLost, `unit ${unitId}: expected ${count} registers, got ${Array.isArray(data) ? data.length : typeof data}`, { unitId });
  return data;
}

export function decodeStatus(r: readonly number[]): ControllerStatus {
  return {
    activePlanId: r[IR_ACTIVE_PLAN_ID]!,
    phase: r[IR_PHASE]!,
    interval: r[IR_INTERVAL]!,
    timeInIntervalS: r[IR_TIME_IN_INTERVAL_DS]! / 10,
    cycleSecondS: r[IR_CYCLE_SECOND_DS]! / 10,
    mode: r[IR_MODE]!,
    faults: r[IR_FAULTS]!,
    pendingPlanId: r[IR_PENDING_PLAN_ID]!,
    commitStatus: r[IR_COMMIT_STATUS]!,
    runningCycleS: r[IR_RUNNING_CYCLE_DS]! / 10,
    detectorCount: r[IR_DETECTOR_COUNT]!,
    // uint32, big-endian word order: high word first.
    uptimeS: r[IR_UPTIME_S_HI]! * 0x10000 + r[IR_UPTIME_S_LO]!,
  };
}
