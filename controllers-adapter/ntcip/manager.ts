/**
 * The engine's side of an NTCIP 1202 controller (SNMP v2c): pushes one
 * intersection of a PlanBuffer as a pattern + split table and selects it with
 * systemPatternControl, then keeps refreshing systemPatternControl so the
 * controller does not fall back to its local schedule (unitBackupTime).
 *
 * Before anything is sent, the plan is quantized to NTCIP units (whole
 * seconds; split = green + yellow + red clearance; ring order as a sequence
 * number) and checked against what NTCIP controllers refuse (convert.ts:
 * cycle below the sum of phase minimums, offset ≥ cycle, critical path >
 * cycle) and against the engine's safety validator, on the quantized plan
 * exactly as the controller will expand it. A refusal throws UnsafePlanError
 * and sends nothing.
 *
 * With actuated settings (engine/timing/actuated.ts) the same PDU also
 * carries the phase table's min green, passage and maximum 1, the split
 * modes (coordinated phases on max recall with splitCoordPhase, the others
 * actuated) and coordOperationalMode (254 free for a fully actuated signal);
 * without them the push is fixed-time and says so (every phase on max
 * recall, coordOperationalMode 0).
 *
 * Every request has an explicit timeout and retry count (net-snmp session
 * options). Failures are ControllerErrors: SNMP_TIMEOUT, or SNMP_ERROR with
 * the agent's error-status (badValue 3, genErr 5, commitFailed 14 …).
 */
import snmp, { type Session, type Varbind } from 'net-snmp';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../../engine/timing/planner.js';
import { IssueList, OptionError, UnsafePlanError } from '../../engine/errors.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { operationalMode, patternToPlan, phaseProgram, planToPattern, splitModes, type PatternTables } from './convert.js';
import { COORD_OPERATIONAL_MODE, PATTERN_ENTRY, PatternColumn, PHASE_ENTRY, PhaseColumn, SPLIT_ENTRY, SplitColumn, SYSTEM_PATTERN_CONTROL, oid, scalar } from './oids.js';
import { CONTROL_FIXED, type ActuatedPlan } from '../../engine/timing/actuated.js';

export interface NtcipManagerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Agent UDP port (default 161). */
  readonly port?: number;
  readonly readCommunity?: string;
  readonly writeCommunity?: string;
  /** Per request attempt, ms (default 1000). */
  readonly timeoutMs?: number;
  /** Extra attempts after a timeout (default 1). */
  readonly retries?: number;
  /** systemPatternControl refresh period, ms (default 5000; keep it well under unitBackupTime). */
  readonly keepAliveMs?: number;
  /** Pattern (and split table) number to program, 1..253 (default 1). */
  readonly patternNumber?: number;
  /** Called when a keep-alive write fails (the next one is still attempted). */
  readonly onKeepAliveError?: (e: ControllerError) => void;
}

export interface PushPatternResult {
  readonly patternNumber: number;
  /** What was sent, in NTCIP units. */
  readonly pattern: PatternTables;
  /** The plan the controller will run (the quantized pattern expanded back), intersection `intersection`. */
  readonly plan: PlanBuffer;
}

export class NtcipManager {
  readonly c: CompiledNetwork;
  readonly intersection: number;
  readonly keepAlive = { sent: 0, failed: 0, lastError: undefined as ControllerError | undefined };
  private readonly opts: Required<Omit<NtcipManagerOptions, 'onKeepAliveError'>> & Pick<NtcipManagerOptions, 'onKeepAliveError'>;
  private readonly reader: Session;
  private readonly writer: Session;
  private selected = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private closed = false;

  constructor(c: CompiledNetwork, intersection: number, opts: NtcipManagerOptions = {}) {
    if (!(Number.isInteger(intersection) && intersection >= 0 && intersection < c.intersectionCount)) throw new OptionError('intersection', `${intersection} must be within [0, ${c.intersectionCount})`);
    this.c = c;
    this.intersection = intersection;
    this.opts = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 161,
      readCommunity: opts.readCommunity ?? 'public',
      writeCommunity: opts.writeCommunity ?? 'private',
      timeoutMs: opts.timeoutMs ?? 1000,
      retries: opts.retries ?? 1,
      keepAliveMs: opts.keepAliveMs ?? 5000,
      patternNumber: opts.patternNumber ?? 1,
      onKeepAliveError: opts.onKeepAliveError,
    };
    const o = this.opts;
    if (!(Number.isInteger(o.port) && o.port > 0 && o.port <= 65535)) throw new OptionError('port', `${o.port} must be within [1, 65535]`);
    if (!(Number.isInteger(o.timeoutMs) && o.timeoutMs >= 1)) throw new OptionError('timeoutMs', `${o.timeoutMs} must be a positive integer`);
    if (!(Number.isInteger(o.retries) && o.retries >= 0 && o.retries <= 10)) throw new OptionError('retries', `${o.retries} must be within [0, 10]`);
    if (!(Number.isInteger(o.keepAliveMs) && o.keepAliveMs >= 10)) throw new OptionError('keepAliveMs', `${o.keepAliveMs} must be an integer ≥ 10`);
    if (!(Number.isInteger(o.patternNumber) && o.patternNumber >= 1 && o.patternNumber <= 253)) throw new OptionError('patternNumber', `${o.patternNumber} must be within [1, 253]`);
    const session = (community: string): Session => {
      const s = snmp.createSession(o.host, community, { port: o.port, version: snmp.Version2c, timeout: o.timeoutMs, retries: o.retries, backoff: 1 });
      s.on('error', () => {}); // socket errors surface on the request callbacks
      return s;
    };
    this.reader = session(o.readCommunity);
    this.writer = session(o.writeCommunity);
  }

  /**
   * Quantizes, checks, and sends intersection `intersection` of `plan` as pattern
   * `patternNumber` (its split table has the same number), selects it, and reads it back.
   */
  async pushPattern(plan: PlanBuffer, opts: { patternNumber?: number; actuated?: ActuatedPlan } = {}): Promise<PushPatternResult> {
    const c = this.c;
    const i = this.intersection;
    const n = opts.patternNumber ?? this.opts.patternNumber;
    const issues = new IssueList();
    const pattern = planToPattern(c, i, plan, issues);
    const expanded = createPlanBuffer(c);
    const actuated = opts.actuated && opts.actuated.mode[i] !== CONTROL_FIXED ? opts.actuated : undefined;
    const program = phaseProgram(c, i, actuated);
    if (!pattern || !patternToPlan(c, i, pattern, expanded, issues, program)) throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
    const { mode, coord } = splitModes(c, i, pattern, actuated);

    const INT = snmp.ObjectType.Integer;
    const varbinds: Varbind[] = [
      { oid: oid(`${PATTERN_ENTRY}.${PatternColumn.CycleTime}`, n), type: INT, value: pattern.cycleS },
      { oid: oid(`${PATTERN_ENTRY}.${PatternColumn.OffsetTime}`, n), type: INT, value: pattern.offsetS },
      { oid: oid(`${PATTERN_ENTRY}.${PatternColumn.SplitNumber}`, n), type: INT, value: n },
      { oid: oid(`${PATTERN_ENTRY}.${PatternColumn.SequenceNumber}`, n), type: INT, value: pattern.sequence },
    ];
    pattern.splitS.forEach((s, k) => {
      varbinds.push({ oid: oid(`${SPLIT_ENTRY}.${SplitColumn.Time}`, n, k + 1), type: INT, value: s });
      varbinds.push({ oid: oid(`${SPLIT_ENTRY}.${SplitColumn.CoordPhase}`, n, k + 1), type: INT, value: coord[k] ? 1 : 0 });
      // Fixed-time recalls every phase to its split; a skipped bus phase is omitted (convert.ts splitModes).
      varbinds.push({ oid: oid(`${SPLIT_ENTRY}.${SplitColumn.Mode}`, n, k + 1), type: INT, value: mode[k]! });
    });
    // The phase table (the controller's program: min green, passage, maximum 1) and the operational mode.
    // Always sent, so a fixed-time push also takes back the settings of an earlier actuated one.
    program.forEach((ph, k) => {
      varbinds.push({ oid: oid(`${PHASE_ENTRY}.${PhaseColumn.MinimumGreen}`, k + 1), type: INT, value: ph.minimumGreenS });
      varbinds.push({ oid: oid(`${PHASE_ENTRY}.${PhaseColumn.Passage}`, k + 1), type: INT, value: ph.passageDs });
      varbinds.push({ oid: oid(`${PHASE_ENTRY}.${PhaseColumn.Maximum1}`, k + 1), type: INT, value: ph.maximum1S });
    });
    varbinds.push({ oid: scalar(COORD_OPERATIONAL_MODE), type: INT, value: operationalMode(i, actuated) });
    // The selection in the same PDU: the agent checks the pattern as a whole, all or nothing, and
    // commits this pattern with this phase table. Selected in a later PDU, the new phase table
    // would first be committed with the pattern still running (an actuated one given a fixed-time
    // table's zero passage times is refused by the validator), and the push would fail half-way.
    varbinds.push({ oid: scalar(SYSTEM_PATTERN_CONTROL), type: INT, value: n });
    await this.request(this.writer, 'set', varbinds);
    this.selected = n;
    // Read back what the controller holds.
    const back = await this.get(varbinds.map((v) => v.oid));
    varbinds.forEach((v, k) => {
      if (back[k] !== v.value) throw new ControllerError(ControllerErrorReason.ReadbackMismatch, `${v.oid} reads ${String(back[k])}, ${String(v.value)} was sent`);
    });
    return { patternNumber: n, pattern: { ...pattern, coord }, plan: expanded };
  }

  /** GETs with the read community; values in request order (null for noSuch*). */
  async get(oids: string[]): Promise<Array<number | Buffer | null>> {
    const vbs = await this.request(this.reader, 'get', oids.map((o) => ({ oid: o })));
    return vbs.map((v) => (snmp.isVarbindError(v) ? null : (v.value as number | Buffer)));
  }

  /** Re-writes systemPatternControl every keepAliveMs until stop(). Needs a pushed (selected) pattern. */
  startKeepAlive(): void {
    if (this.closed) throw new ControllerError(ControllerErrorReason.Closed, 'manager is stopped');
    if (this.selected === 0) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, 'no pattern selected yet: pushPattern first');
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.inFlight || this.closed) return;
      this.inFlight = true;
      this.request(this.writer, 'set', [{ oid: scalar(SYSTEM_PATTERN_CONTROL), type: snmp.ObjectType.Integer, value: this.selected }]).then(
        () => {
          this.inFlight = false;
          this.keepAlive.sent++;
        },
        (e: unknown) => {
          this.inFlight = false;
          const err = e instanceof ControllerError ? e : new ControllerError(ControllerErrorReason.SnmpError, String(e), { cause: e });
          this.keepAlive.failed++;
          this.keepAlive.lastError = err;
          this.opts.onKeepAliveError?.(err);
        },
      );
    }, this.opts.keepAliveMs);
  }

  /** Stops the keep-alive only (the controller will fall back after unitBackupTime). */
  stopKeepAlive(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the keep-alive and closes the sessions. */
  async stop(): Promise<void> {
    this.stopKeepAlive();
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.reader, this.writer]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }

  private request(session: Session, op: 'get' | 'set', varbinds: Varbind[]): Promise<Varbind[]> {
    if (this.closed) return Promise.reject(new ControllerError(ControllerErrorReason.Closed, 'manager is stopped'));
    const where = `${this.opts.host}:${this.opts.port}`;
    return new Promise((resolve, reject) => {
      const cb = (error: Error | null, out: Varbind[]): void => {
        if (!error) {
          resolve(out);
          return;
        }
        if (error instanceof snmp.RequestTimedOutError || error.name === 'RequestTimedOutError') {
          reject(new ControllerError(ControllerErrorReason.SnmpTimeout, `snmp ${op} to ${where}: no answer within ${this.opts.timeoutMs} ms × ${this.opts.retries + 1} attempts`, { cause: error }));
          return;
        }
        const status = (error as { status?: unknown }).status;
        reject(new ControllerError(ControllerErrorReason.SnmpError, `snmp ${op} to ${where} refused: ${error.message}`, { cause: error, ...(typeof status === 'number' ? { snmpErrorStatus: status } : {}) }));
      };
      try {
        if (op === 'get') session.get(varbinds.map((v) => v.oid), cb);
        else session.set(varbinds, cb);
      } catch (e: unknown) {
        reject(new ControllerError(ControllerErrorReason.SnmpError, `snmp ${op} to ${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
    });
  }
}
