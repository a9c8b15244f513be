/**
 * An NTCIP 1202-style SNMP agent (v1/v2c; community "public" reads, "private"
 * writes) in front of one VirtualController. See docs/ntcip.md.
 *
 *  - GETs read live state: phase status groups (greens/yellows/reds) from the
 *    controller's running cycle, coordPatternStatus, coordCycleStatus, and the
 *    phase, pattern, split and sequence tables.
 *  - SETs to the pattern and split tables are checked as one PDU (the
 *    test pass of the SET): every pattern the PDU touches must pass the NTCIP
 *    rules and the engine's safety validator (convert.ts), else the whole PDU
 *    is refused with badValue and nothing changes.
 *  - systemPatternControl = p selects pattern p: it is expanded to a plan,
 *    encoded as a plan block and committed through the controller's own
 *    register path (staging block + CRC + commit, CRC check and validator in
 *    the controller), so it runs from the next cycle zero. A commit the
 *    controller refuses is commitFailed and the PDU is undone. Changing the
 *    tables of the selected pattern re-commits it the same way.
 *  - Actuated operation (docs/ntcip.md "Actuated"): phaseMinimumGreen,
 *    phasePassage and phaseMaximum1 are writable (never below the network's
 *    minimum green), coordOperationalMode 254 runs the signal free (fully
 *    actuated), 0 runs the selected pattern; a pattern whose non-omitted
 *    phases are not all on maximum recall is actuated-coordinated (its
 *    splitCoordPhase phases are the coordinated ones). The settings go to the
 *    controller as the register map's actuated block, committed with the
 *    pattern's plan block (the controller checks both).
 *  - A day plan given at start (./timeBase.ts) preloads patterns 1..n and
 *    serves the NTCIP 1201/1202 time base (schedule, day plan events, actions;
 *    read-only here) and the action / day plan in effect at the clock's time.
 *  - The MIB's objects and rows are registered by ./mib.ts; the tables'
 *    meaning (pattern → plan, actuated mode and block) is ./model.ts.
 *  - GETNEXT and GETBULK are answered by ./walk.ts (RFC 3416: endOfMibView
 *    past the last object, GETBULK cut to fit the message size).
 *  - Writes of systemPatternControl / systemSyncControl (only those) feed the
 *    controller's communication watchdog; unitBackupTime is its timeout. When
 *    central stops refreshing, the controller falls back to free mode (its
 *    comm-loss mechanism); systemPatternControl then reads 0 and
 *    coordPatternStatus 254 until central writes again.
 */
import type { Socket } from 'node:dgram';
import snmp, { type Agent, type MibRequest } from 'net-snmp';
import type { VirtualController } from '../virtual/controller.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { IssueList, formatIssues } from '../../engine/errors.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { CommitStatus, ControllerMode, FaultFlag, HR_ACT_STAGE, HR_COMM_LOSS_TIMEOUT_S, HR_COMMIT, HR_STAGE, Interval, MAX_COMM_LOSS_TIMEOUT_S, MINUTES_PER_DAY, PLAN_BLOCK_LENGTH, commitStatusName } from '../registerMap.js';
import { installWalk, MAX_UDP_PAYLOAD } from './walk.js';
import { operationalMode, patternToPlan, phaseProgram, type PhaseProgram } from './convert.js';
import type { TimeBaseTables } from './timeBase.js';
import type { ActuatedPlan } from '../../engine/timing/actuated.js';
import { actuatedBlock, checkPattern, patternTables, programOf, type Model } from './model.js';
import { registerMib } from './mib.js';
import {
  COORD_CYCLE_STATUS,
  COORD_OPERATIONAL_MODE,
  COORD_PATTERN_STATUS,
  DAY_PLAN_STATUS,
  PATTERN_ENTRY,
  PatternColumn,
  PatternControl,
  PHASE_ENTRY,
  PHASE_STATUS_GROUP_ENTRY,
  PhaseColumn,
  PhaseStatusGroupColumn,
  SPLIT_ENTRY,
  SplitColumn,
  SplitMode,
  SYSTEM_PATTERN_CONTROL,
  SYSTEM_SYNC_CONTROL,
  TIMEBASE_ASC_ACTION_STATUS,
  UNIT_BACKUP_TIME,
  parseColumnOid,
} from './oids.js';

export interface NtcipAgentOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** UDP port; default 0 = an ephemeral port (`agent.port` tells which). */
  readonly port?: number;
  /** Clock in seconds; when given, the controller is ticked to it before each request. */
  readonly clock?: () => number;
  /** Patterns (and split tables) 1..n, default 16 (at most 253). */
  readonly patterns?: number;
  readonly readCommunity?: string;
  readonly writeCommunity?: string;
  /** Largest response, bytes (484..65507, default 1472): GETBULK responses are cut to fit (./walk.ts). */
  readonly maxMessageBytes?: number;
  /** Actuated settings the controller is programmed with (phase table, coordOperationalMode); absent: fixed-time. */
  readonly actuated?: ActuatedPlan;
  /** A day plan (./timeBase.ts timeBaseTables): preloads patterns 1..n, serves the time base. */
  readonly dayPlan?: TimeBaseTables;
}



export class NtcipAgent {
  readonly host: string;
  readonly port: number;
  readonly controller: VirtualController;
  /** The reason of the last refused SET (for tests, logs and the CLI). */
  lastRefusal = '';
  readonly stats = { gets: 0, sets: 0, refused: 0, commits: 0 };
  private readonly agent: Agent;
  private readonly opts: NtcipAgentOptions;
  private readonly program: PhaseProgram[];
  private readonly model: Model;
  /** Pattern committed to the controller and the tables it was committed with. */
  private committed: { pattern: number; signature: string } | undefined;
  private closed = false;

  private constructor(controller: VirtualController, agent: Agent, host: string, port: number, opts: NtcipAgentOptions, model: Model) {
    this.controller = controller;
    this.agent = agent;
    this.host = host;
    this.port = port;
    this.opts = opts;
    this.program = opts.dayPlan ? [...opts.dayPlan.program] : phaseProgram(controller.c, controller.intersection, opts.actuated);
    this.model = model;
    model.phases = this.program.map((p) => ({ minimumGreenS: p.minimumGreenS, passageDs: p.passageDs, maximum1S: p.maximum1S }));
  }

  static async start(controller: VirtualController, opts: NtcipAgentOptions = {}): Promise<NtcipAgent> {
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ControllerError(ControllerErrorReason.Limit, `port ${port} must be an integer within [0, 65535]`);
    const patterns = Math.max(opts.patterns ?? 16, opts.dayPlan?.patterns.length ?? 0);
    if (!(Number.isInteger(patterns) && patterns >= 1 && patterns <= 253)) throw new ControllerError(ControllerErrorReason.Limit, `patterns ${patterns} must be an integer within [1, 253]`);
    const maxBytes = opts.maxMessageBytes;
    if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes >= 484 && maxBytes <= MAX_UDP_PAYLOAD)) throw new ControllerError(ControllerErrorReason.Limit, `maxMessageBytes ${maxBytes} must be an integer within [484, ${MAX_UDP_PAYLOAD}]`);
    let startupError: ((e: Error) => void) | undefined;
    // net-snmp does `port || 161`, so port 0 must travel as the string '0' (dgram accepts numeric strings).
    const agent = snmp.createAgent({ port: (port === 0 ? '0' : port) as number, address: host, accessControlModelType: snmp.AccessControlModelType.Simple }, (error) => {
      if (error && startupError) startupError(error);
    });
    const socket: Socket | undefined = Object.values(agent.listener.sockets)[0];
    if (!socket) throw new ControllerError(ControllerErrorReason.ConnectFailed, 'net-snmp agent has no socket: unsupported net-snmp version');
    await new Promise<void>((resolve, reject) => {
      startupError = (e) => {
        agent.close();
        reject(new ControllerError(ControllerErrorReason.ConnectFailed, `cannot listen on udp ${host}:${port}: ${e.message}`, { cause: e }));
      };
      socket.once('listening', () => resolve());
    });
    startupError = undefined;
    const bound = socket.address().port;
    const n = controller.phaseCount;
    const model: Model = {
      patterns: Array.from({ length: patterns }, (_, k) => ({ cycleS: 0, offsetS: 0, splitNumber: k + 1, sequence: 1 })),
      splits: Array.from({ length: patterns }, () => Array.from({ length: n }, () => ({ timeS: 0, mode: SplitMode.MaximumVehicleRecall, coord: 0 }))),
      selected: 0,
      sync: 0,
      backupS: controller.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0]!,
      phases: [],
      opMode: operationalMode(controller.intersection, opts.actuated),
    };
    // A day plan's patterns are programmed from the start (the time base refers to them).
    opts.dayPlan?.patterns.forEach((pt, k) => {
      model.patterns[k] = { cycleS: pt.cycleS, offsetS: pt.offsetS, splitNumber: k + 1, sequence: pt.sequence };
      model.splits[k] = pt.splitS.map((timeS, q) => ({ timeS, mode: pt.mode[q]!, coord: pt.coord[q] ? 1 : 0 }));
    });
    const self = new NtcipAgent(controller, agent, host, bound, opts, model);
    self.install();
    return self;
  }

  /** Ticks the controller to `nowS`. */
  tick(nowS: number): void {
    this.controller.tick(nowS);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      let pending = Object.keys(this.agent.listener.sockets).length;
      if (pending === 0) resolve();
      this.agent.close(() => {
        if (--pending <= 0) resolve();
      });
    });
  }

  /** The pattern the controller was last told to run (0 = none), as systemPatternControl reads. */
  get selectedPattern(): number {
    return this.commLost() ? PatternControl.Standby : this.model.selected;
  }

  // ------------------------------------------------------------- MIB


  private install(): void {
    const { c, intersection } = this.controller;
    const o = this.opts;
    registerMib(this.agent, { c, intersection, program: this.program, model: this.model, dayPlan: o.dayPlan, readCommunity: o.readCommunity, writeCommunity: o.writeCommunity }, (req) => this.handle(req));
    this.agent.setBulkSetHandler((requests, _mib, testSet) => this.bulkSet(requests, testSet));
    // GETNEXT / GETBULK per RFC 3416 (endOfMibView, per-repeater counts, responses cut to fit), after every row exists.
    installWalk(this.agent, o.maxMessageBytes === undefined ? {} : { maxMessageBytes: o.maxMessageBytes });
  }

  /** The day plan event in effect at the agent's clock (seconds since 1970 UTC; minute of day = ⌊t / 60⌋ mod 1440), or undefined. */
  private currentEvent(): { action: number } | undefined {
    const events = this.opts.dayPlan?.events;
    if (!events || events.length === 0 || !this.opts.clock) return undefined;
    const minute = ((Math.floor(this.opts.clock() / 60) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    let at = events[events.length - 1]!;
    for (const e of events) if (e.startMin <= minute) at = e;
    return at;
  }

  private sync(): void {
    if (this.opts.clock) this.controller.tick(this.opts.clock());
  }

  private commLost(): boolean {
    return (this.controller.state().faults & FaultFlag.CommLoss) !== 0;
  }

  /** Per-varbind handler: GETs publish the live value; SETs were decided in bulkSet. */
  private handle(req: MibRequest): void {
    if (req.operation !== snmp.PduType.SetRequest) {
      this.stats.gets++;
      this.sync();
      const v = this.valueOf(req.oid);
      if (v !== undefined) req.instanceNode.value = v;
    }
    req.done();
  }

  private valueOf(o: string): number | Buffer | undefined {
    const m = this.model;
    const vc = this.controller;
    if (o === `${UNIT_BACKUP_TIME}.0`) return vc.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0]!;
    if (o === `${SYSTEM_PATTERN_CONTROL}.0`) return this.selectedPattern;
    if (o === `${SYSTEM_SYNC_CONTROL}.0`) return this.commLost() ? 0 : m.sync;
    if (o === `${COORD_PATTERN_STATUS}.0`) {
      const st = vc.state();
      if (st.mode === ControllerMode.Flash) return PatternControl.Flash;
      if (st.mode === ControllerMode.Free || m.opMode === PatternControl.Free) return PatternControl.Free;
      return st.activePlanId <= 253 ? st.activePlanId : 0;
    }
    if (o === `${COORD_CYCLE_STATUS}.0`) return Math.floor(vc.readInput(4, 1)[0]! / 10);
    if (o === `${COORD_OPERATIONAL_MODE}.0`) return m.opMode;
    if (o === `${TIMEBASE_ASC_ACTION_STATUS}.0`) return this.currentEvent()?.action ?? 0;
    if (o === `${DAY_PLAN_STATUS}.0`) return this.currentEvent() ? 1 : 0;
    const ph = parseColumnOid(PHASE_ENTRY, o);
    if (ph && (ph.column === PhaseColumn.MinimumGreen || ph.column === PhaseColumn.Passage || ph.column === PhaseColumn.Maximum1)) {
      const row = m.phases[ph.index[0]! - 1];
      if (!row) return undefined;
      return ph.column === PhaseColumn.MinimumGreen ? row.minimumGreenS : ph.column === PhaseColumn.Passage ? row.passageDs : row.maximum1S;
    }
    const g = parseColumnOid(PHASE_STATUS_GROUP_ENTRY, o);
    if (g) {
      const group = g.index[0]!;
      if (g.column === PhaseStatusGroupColumn.Number) return group;
      const want = g.column === PhaseStatusGroupColumn.Greens ? Interval.Green : g.column === PhaseStatusGroupColumn.Yellows ? Interval.Yellow : Interval.Red;
      const intervals = vc.phaseIntervals();
      let bits = 0;
      for (let b = 0; b < 8; b++) {
        const iv = intervals[(group - 1) * 8 + b];
        // In fault flash every phase counts as red (flashing).
        if (iv !== undefined && (iv === want || (want === Interval.Red && iv === Interval.Flash))) bits |= 1 << b;
      }
      return bits;
    }
    const p = parseColumnOid(PATTERN_ENTRY, o);
    if (p) {
      const row = m.patterns[p.index[0]! - 1];
      if (!row) return undefined;
      return p.column === PatternColumn.Number ? p.index[0]! : p.column === PatternColumn.CycleTime ? row.cycleS : p.column === PatternColumn.OffsetTime ? row.offsetS : p.column === PatternColumn.SplitNumber ? row.splitNumber : row.sequence;
    }
    const s = parseColumnOid(SPLIT_ENTRY, o);
    if (s) {
      const row = m.splits[s.index[0]! - 1]?.[s.index[1]! - 1];
      if (!row) return undefined;
      return s.column === SplitColumn.Number ? s.index[0]! : s.column === SplitColumn.Phase ? s.index[1]! : s.column === SplitColumn.Time ? row.timeS : s.column === SplitColumn.Mode ? row.mode : row.coord;
    }
    return undefined; // static tables (phase, sequence) keep the values they were created with
  }

  // ------------------------------------------------------------- SET


  private bulkSet(requests: MibRequest[], testSet: boolean): number {
    this.sync();
    const next: Model = structuredClone(this.model);
    const touched = new Set<number>();
    let control: number | undefined;
    let syncWritten = false;
    let backup: number | undefined;
    let programChanged = false;
    const refuse = (status: number, why: string): number => {
      this.lastRefusal = why;
      this.stats.refused++;
      return status;
    };
    for (const r of requests) {
      if (!r.providerNode) continue; // unknown object: its own handler answers noSuchObject/noSuchInstance
      const v = r.setValue;
      if (typeof v !== 'number' || !Number.isInteger(v)) continue; // wrongType is answered per varbind
      const o = r.oid;
      if (o === `${SYSTEM_PATTERN_CONTROL}.0`) control = v;
      else if (o === `${SYSTEM_SYNC_CONTROL}.0`) {
        next.sync = v;
        syncWritten = true;
      } else if (o === `${UNIT_BACKUP_TIME}.0`) backup = v;
      else if (o === `${COORD_OPERATIONAL_MODE}.0`) {
        if (v !== 0 && v !== PatternControl.Free) return refuse(snmp.ErrorStatus.BadValue, `coordOperationalMode ${v}: this controller runs 0 (automatic: the selected pattern) or 254 (free: fully actuated)`);
        next.opMode = v;
        programChanged = true;
      } else {
        const ph = parseColumnOid(PHASE_ENTRY, o);
        const row = ph ? next.phases[ph.index[0]! - 1] : undefined;
        if (ph && row) {
          if (ph.column === PhaseColumn.MinimumGreen) row.minimumGreenS = v;
          else if (ph.column === PhaseColumn.Passage) row.passageDs = v;
          else if (ph.column === PhaseColumn.Maximum1) row.maximum1S = v;
          programChanged = true;
          continue;
        }
        const p = parseColumnOid(PATTERN_ENTRY, o);
        const s = parseColumnOid(SPLIT_ENTRY, o);
        if (p && next.patterns[p.index[0]! - 1]) {
          const row = next.patterns[p.index[0]! - 1]!;
          if (p.column === PatternColumn.CycleTime) row.cycleS = v;
          else if (p.column === PatternColumn.OffsetTime) row.offsetS = v;
          else if (p.column === PatternColumn.SplitNumber) row.splitNumber = v;
          else if (p.column === PatternColumn.SequenceNumber) row.sequence = v;
          else continue;
          touched.add(p.index[0]!);
        } else if (s && next.splits[s.index[0]! - 1]?.[s.index[1]! - 1]) {
          const row = next.splits[s.index[0]! - 1]![s.index[1]! - 1]!;
          if (s.column === SplitColumn.Time) row.timeS = v;
          else if (s.column === SplitColumn.Mode) {
            if (v < SplitMode.Other || v > SplitMode.PhaseOmitted) return refuse(snmp.ErrorStatus.BadValue, `splitMode ${v} is not one of 1..7`);
            row.mode = v;
          } else if (s.column === SplitColumn.CoordPhase) row.coord = v;
          else continue;
          // Every pattern that uses this split table is touched.
          next.patterns.forEach((pr, k) => {
            if (pr.splitNumber === s.index[0]) touched.add(k + 1);
          });
        }
      }
    }
    if (control !== undefined) {
      if (control === PatternControl.Free || control === PatternControl.Flash) return refuse(snmp.ErrorStatus.BadValue, `systemPatternControl ${control} (${control === PatternControl.Free ? 'free' : 'flash'}) is not supported by this controller`);
      if (control !== PatternControl.Standby) {
        if (control > next.patterns.length) return refuse(snmp.ErrorStatus.BadValue, `systemPatternControl ${control}: pattern ${control} does not exist (1..${next.patterns.length})`);
        touched.add(control);
      }
    }
    if (programChanged) {
      // The phase table is the controller's program: no minimum below the network's, max ≥ min, passage ≤ max.
      const floor = phaseProgram(this.controller.c, this.controller.intersection);
      for (let k = 0; k < next.phases.length; k++) {
        const row = next.phases[k]!;
        if (row.minimumGreenS < floor[k]!.minimumGreenS) return refuse(snmp.ErrorStatus.BadValue, `phaseMinimumGreen.${k + 1} ${row.minimumGreenS} s is below the phase's minimum green ${floor[k]!.minimumGreenS} s`);
        if (row.maximum1S < row.minimumGreenS) return refuse(snmp.ErrorStatus.BadValue, `phaseMaximum1.${k + 1} ${row.maximum1S} s is below phaseMinimumGreen ${row.minimumGreenS} s`);
        if (row.passageDs > row.maximum1S * 10) return refuse(snmp.ErrorStatus.BadValue, `phasePassage.${k + 1} ${row.passageDs / 10} s exceeds phaseMaximum1 ${row.maximum1S} s`);
      }
      // Every programmed pattern is expanded with the new minimums; the selected one is re-committed.
      next.patterns.forEach((pr, k) => {
        if (pr.cycleS > 0) touched.add(k + 1);
      });
    }
    if (backup !== undefined && backup > MAX_COMM_LOSS_TIMEOUT_S) return refuse(snmp.ErrorStatus.BadValue, `unitBackupTime ${backup} s exceeds ${MAX_COMM_LOSS_TIMEOUT_S} s`);
    // Patterns still being programmed (cycle 0) are checked when selected.
    for (const p of touched) {
      if (next.patterns[p - 1]!.cycleS === 0 && p !== control) continue;
      const issues = checkPattern(this.controller.c, this.controller.intersection, this.program, next, p);
      if (issues.length > 0) return refuse(snmp.ErrorStatus.BadValue, formatIssues(issues.items));
    }
    if (control !== undefined) next.selected = control;
    if (testSet) return snmp.ErrorStatus.NoError;

    // Commit pass: the controller must accept the pattern it is told to run.
    const target = control !== undefined && control !== PatternControl.Standby ? control : touched.has(next.selected) && next.selected !== 0 ? next.selected : 0;
    if (target !== 0) {
      const signature = JSON.stringify([patternTables(next, target), next.splits[next.patterns[target - 1]!.splitNumber - 1], next.phases, next.opMode]);
      if (!this.committed || this.committed.pattern !== target || this.committed.signature !== signature) {
        const failure = this.commitPattern(next, target);
        if (failure) return refuse(snmp.ErrorStatus.CommitFailed, failure);
        this.committed = { pattern: target, signature };
      }
    }
    if (backup !== undefined) this.controller.writeHolding(HR_COMM_LOSS_TIMEOUT_S, [backup]);
    this.model.patterns = next.patterns;
    this.model.splits = next.splits;
    this.model.selected = next.selected;
    this.model.sync = next.sync;
    this.model.phases = next.phases;
    this.model.opMode = next.opMode;
    // Only central's pattern/sync control feeds the watchdog (NTCIP unitBackupTime semantics).
    if (control !== undefined || syncWritten) this.controller.noteCentralContact();
    this.stats.sets++;
    return snmp.ErrorStatus.NoError;
  }

  /** Commits pattern p through the controller's register path; returns why it was refused, or undefined. */
  private commitPattern(m: Model, p: number): string | undefined {
    const vc = this.controller;
    const c = vc.c;
    const i = vc.intersection;
    const plan = createPlanBuffer(c);
    const issues = new IssueList();
    if (!patternToPlan(c, i, patternTables(m, p), plan, issues, programOf(this.program, m))) return formatIssues(issues.items);
    try {
      // The actuated block first (fixed-time too, so no earlier settings can ride along), then the plan.
      const act = actuatedBlock(c, i, m, p);
      vc.writeHolding(HR_ACT_STAGE, [...act, crc16ModbusRegisters(act)]);
      const block = encodePlanBlock(c, i, plan, p);
      // Staging block, CRC and commit in one write: exactly what an FC16 from central does.
      vc.writeHolding(HR_STAGE, [...block, crc16ModbusRegisters(block), 1]);
    } catch (e: unknown) {
      return `controller refused the write: ${e instanceof Error ? e.message : String(e)}`;
    }
    const status = vc.readHolding(HR_COMMIT, 1)[0]!;
    if (status >= CommitStatus.CrcMismatch) return `controller refused pattern ${p}: ${commitStatusName(status)} ${vc.state().lastRejection}`.trim();
    this.stats.commits++;
    return undefined;
  }
}

// Keep the plan block length in one write with its CRC and commit register.
if (PLAN_BLOCK_LENGTH + 2 > 123) throw new Error('ntcip agent: plan block + CRC + commit exceed one write');
