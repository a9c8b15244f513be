/**
 * The engine's side of the parking guidance signs: writes a sign's message
 * into its register block (../signBlock.ts) and confirms it from the sign's
 * own registers, over the same Modbus link as the signal controllers
 * (./connection.ts: per-request timeout, a dead connection never reused) with
 * the same retry policy and per-device circuit breaker (./retry.ts). Signs are
 * addressed by their id in the parking file, since unit ids repeat across
 * endpoints. Operations on one sign are serialized; different signs run in
 * parallel, and a sign behind its own address that times out holds up no other.
 * Called by the service's sign pusher (service/signPusher.ts).
 *
 * Push (docs/modbus-register-map.md, "Parking guidance signs"): ONE FC16 from
 * register 0 of the block, its CRC, the commit and the communication-loss
 * timeout; then ONE FC3 of the read-back (status, last commit id, the shown
 * block): the sign must report Shown, the last commit must be this message's id
 * and the shown block must equal the block sent.
 */
import { OptionError } from '../../engine/errors.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { MAX_UNIT_ID, MIN_UNIT_ID } from '../registerMap.js';
import {
  HR_SIGN_COMMIT,
  HR_SIGN_STAGE,
  MAX_COMM_LOSS_TIMEOUT_S,
  SIGN_BLOCK_LENGTH,
  SIGN_READBACK_LENGTH,
  SignStatus,
  decodeSignBlock,
  encodeSignBlock,
  signCommitWrite,
  signStatusName,
  HR_SIGN_LAST_COMMIT,
  HR_SIGN_SHOWN,
  type SignMessageRegisters,
} from '../signBlock.js';
import { fillOptions, type ControllerClientOptions, type FilledClientOptions } from './clientOptions.js';
import { Connection, linkKey } from './connection.js';
import { breakerStatus, serialized, withRetry } from './retry.js';

/** A sign controller behind Modbus TCP. */
export interface SignEndpoint {
  readonly signId: string;
  readonly unitId: number;
  readonly host: string;
  readonly port: number;
}

export interface SignPushResult {
  readonly signId: string;
  readonly messageId: number;
  readonly attempts: number;
}

interface SignUnit {
  readonly endpoint: SignEndpoint;
  readonly conn: Connection;
  lock: Promise<unknown>;
  failures: number;
  openUntilMs: number;
  /** The last message id committed to this sign (read from it at first contact); -1 unknown. */
  lastId: number;
}

export class SignClient {
  private readonly opts: FilledClientOptions;
  private readonly signs = new Map<string, SignUnit>();
  private readonly connections = new Map<string, Connection>();
  private closed = false;

  constructor(endpoints: readonly SignEndpoint[], opts: ControllerClientOptions = {}) {
    this.opts = fillOptions(opts);
    const seen = new Map<string, string>();
    endpoints.forEach((e, k) => {
      if (this.signs.has(e.signId)) throw new OptionError(`signs[${k}].signId`, `"${e.signId}" is configured twice`);
      if (!(Number.isInteger(e.unitId) && e.unitId >= MIN_UNIT_ID && e.unitId <= MAX_UNIT_ID)) throw new OptionError(`signs[${k}].unitId`, `${e.unitId} must be an integer within [${MIN_UNIT_ID}, ${MAX_UNIT_ID}]`);
      if (!(Number.isInteger(e.port) && e.port > 0 && e.port <= 65535)) throw new OptionError(`signs[${k}].port`, `${e.port} must be within [1, 65535]`);
      const key = linkKey({ kind: 'tcp', host: e.host, port: e.port });
      const unitKey = `${key}#${e.unitId}`;
      const other = seen.get(unitKey);
      if (other !== undefined) throw new OptionError(`signs[${k}].unitId`, `unit ${e.unitId} at ${key} is also sign "${other}"'s`);
      seen.set(unitKey, e.signId);
      let conn = this.connections.get(key);
      if (!conn) {
        conn = new Connection({ kind: 'tcp', host: e.host, port: e.port }, this.opts);
        this.connections.set(key, conn);
      }
      this.signs.set(e.signId, { endpoint: e, conn, lock: Promise.resolve(), failures: 0, openUntilMs: 0, lastId: -1 });
    });
  }

  /** Sign ids configured, in the order given. */
  signIds(): string[] {
    return [...this.signs.keys()];
  }

  /**
   * Writes `message` (its id chosen here: one more than the last this sign committed) with the
   * communication-loss timeout, commits it, and confirms it from the sign's read-back.
   */
  async push(signId: string, message: Omit<SignMessageRegisters, 'messageId'>, commLossTimeoutS = 0): Promise<SignPushResult> {
    const u = this.sign(signId);
    if (!(Number.isInteger(commLossTimeoutS) && commLossTimeoutS >= 0 && commLossTimeoutS <= MAX_COMM_LOSS_TIMEOUT_S)) throw new OptionError('commLossTimeoutS', `${commLossTimeoutS} must be an integer within [0, ${MAX_COMM_LOSS_TIMEOUT_S}]`);
    return serialized(u, () => {
      let attempts = 0;
      return this.retry(u, async () => {
        attempts++;
        if (u.lastId < 0) u.lastId = (await this.fc3(u, HR_SIGN_LAST_COMMIT, 1))[0]!;
        const id = (u.lastId % 0xffff) + 1;
        const block = encodeSignBlock({ ...message, messageId: id });
        await this.fc16(u, HR_SIGN_STAGE, [...signCommitWrite(block), commLossTimeoutS]);
        u.lastId = id;
        const back = await this.fc3(u, HR_SIGN_COMMIT, SIGN_READBACK_LENGTH);
        const status = back[0]!;
        const lastCommit = back[HR_SIGN_LAST_COMMIT - HR_SIGN_COMMIT]!;
        if (lastCommit !== id) throw new ControllerError(ControllerErrorReason.PlanNotConfirmed, `sign ${signId}: the last commit was message ${lastCommit}, not ${id} (another writer?)`, { unitId: u.endpoint.unitId });
        if (status !== SignStatus.Shown) throw new ControllerError(ControllerErrorReason.PlanRejected, `sign ${signId} refused message ${id}: ${signStatusName(status)}`, { unitId: u.endpoint.unitId, commitStatus: status });
        const shownAt = HR_SIGN_SHOWN - HR_SIGN_COMMIT;
        for (let k = 0; k < SIGN_BLOCK_LENGTH; k++) {
          if (back[shownAt + k] !== block[k]) throw new ControllerError(ControllerErrorReason.ReadbackMismatch, `sign ${signId}: shown register ${HR_SIGN_SHOWN + k} reads ${back[shownAt + k]}, ${block[k]} was sent`, { unitId: u.endpoint.unitId });
        }
        return { signId, messageId: id, attempts };
      });
    });
  }

  /** The message the sign shows (undefined if none or malformed) and its status. */
  async readShown(signId: string): Promise<{ status: number; message: SignMessageRegisters | undefined }> {
    const u = this.sign(signId);
    const back = await serialized(u, () => this.retry(u, () => this.fc3(u, HR_SIGN_COMMIT, SIGN_READBACK_LENGTH)));
    return { status: back[0]!, message: decodeSignBlock(back, HR_SIGN_SHOWN - HR_SIGN_COMMIT) };
  }

  /** Breaker state, for health reports. */
  breaker(signId: string): { failures: number; open: boolean } {
    return breakerStatus(this.sign(signId));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  private sign(signId: string): SignUnit {
    if (this.closed) throw new ControllerError(ControllerErrorReason.Closed, 'client is closed');
    const u = this.signs.get(signId);
    if (!u) throw new ControllerError(ControllerErrorReason.UnknownUnit, `sign "${signId}" is not configured`);
    return u;
  }

  private retry<T>(u: SignUnit, fn: () => Promise<T>): Promise<T> {
    return withRetry(u.endpoint.unitId, u, this.opts, () => this.closed, fn);
  }

  private fc3(u: SignUnit, address: number, count: number): Promise<number[]> {
    const id = u.endpoint.unitId;
    return u.conn.run<{ data: number[] }>(id, `FC3 ${address}+${count}`, (m, cb) => m.writeFC3(id, address, count, cb)).then((r) => {
      if (!Array.isArray(r.data) || r.data.length !== count) throw new ControllerError(ControllerErrorReason.ConnectionLost, `sign unit ${id}: expected ${count} registers, got ${Array.isArray(r.data) ? r.data.length : typeof r.data}`, { unitId: id });
      return r.data;
    });
  }

  private async fc16(u: SignUnit, address: number, values: number[]): Promise<void> {
    const id = u.endpoint.unitId;
    await u.conn.run<unknown>(id, `FC16 ${address}+${values.length}`, (m, cb) => m.writeFC16(id, address, values, cb));
  }
}
