/**
 * A TraCI client (SUMO's TCP control protocol) in TypeScript: enough of it
 * to run SUMO as the world for greenwave's signals: advance the clock, set a
 * traffic light's state string, subscribe to induction loops, and ask how
 * many vehicles are still expected. Messages are batched: a step's state
 * changes and the step itself go out in one message. Used by
 * simulator/sumo/bridge/inSumo.ts.
 *
 * Wire format (SUMO's TraCI/Protocol page; big-endian): a message is an int32
 * length (itself included) followed by commands; a command is a ubyte length
 * (or 0 and an int32 length) and a ubyte id; strings are an int32 length and
 * the bytes. Every command is answered by a status (id, result, description),
 * some by a response command after it.
 */
import { Socket } from 'node:net';
import { GreenwaveError, ErrorCode } from '../../../engine/errors.js';

const CMD_GETVERSION = 0x00;
const CMD_SIMSTEP = 0x02;
const CMD_CLOSE = 0x7f;
const CMD_GET_SIM_VARIABLE = 0xab;
const CMD_SET_TL_VARIABLE = 0xc2;
const CMD_GET_VEHICLE_VARIABLE = 0xa4;
const ID_LIST = 0x00;
const VAR_ROAD_ID = 0x50;
const VAR_LANEPOSITION = 0x56;
const VAR_SPEED = 0x40;
const CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE = 0xd0;
const RESPONSE_SUBSCRIBE_INDUCTIONLOOP_VARIABLE = 0xe0;
const TL_RED_YELLOW_GREEN_STATE = 0x20;
const VAR_MIN_EXPECTED_VEHICLES = 0x7d;
export const LAST_STEP_VEHICLE_ID_LIST = 0x12;
export const LAST_STEP_OCCUPANCY = 0x13;
const TYPE_INTEGER = 0x09;
const TYPE_DOUBLE = 0x0b;
const TYPE_STRING = 0x0c;
const TYPE_STRINGLIST = 0x0e;

/** Builds one message's commands. */
class Writer {
  private parts: Buffer[] = [];
  readonly ids: number[] = [];

  command(id: number, body: Buffer): void {
    const len = body.length + 2;
    if (len <= 255) this.parts.push(Buffer.from([len, id]));
    else {
      const head = Buffer.alloc(6);
      head.writeUInt8(0, 0);
      head.writeInt32BE(len + 4, 1);
      head.writeUInt8(id, 5);
      this.parts.push(head);
    }
    this.parts.push(body);
    this.ids.push(id);
  }

  message(): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(4);
    head.writeInt32BE(body.length + 4, 0);
    return Buffer.concat([head, body]);
  }
}

/** A get-variable command: the variable id and the object's id. */
function getVariable(w: Writer, cmd: number, variable: number, objId: string): void {
  w.command(cmd, Buffer.concat([Buffer.from([variable]), str(objId)]));
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** Reads a response message. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.i32();
    const s = this.buf.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  length(): number {
    const n = this.u8();
    return n > 0 ? n : this.i32();
  }
  typed(): number | string | string[] {
    const t = this.u8();
    if (t === TYPE_INTEGER) return this.i32();
    if (t === TYPE_DOUBLE) return this.f64();
    if (t === TYPE_STRING) return this.str();
    if (t === TYPE_STRINGLIST) {
      const n = this.i32();
      const out: string[] = [];
      for (let k = 0; k < n; k++) out.push(this.str());
      return out;
    }
    throw new GreenwaveError(ErrorCode.Internal, `TraCI: value type 0x${t.toString(16)} not understood`);
  }
}

export type SubscriptionValues = Map<string, Map<number, number | string | string[]>>;

export class TraciClient {
  private socket: Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private waiter: ((b: Buffer) => void) | undefined;
  private failure: Error | undefined;

  /** Connects to SUMO's `--remote-port`, retrying while SUMO starts (up to `timeoutMs`). */
  async connect(port: number, host = '127.0.0.1', timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.socket = await new Promise<Socket>((resolve, reject) => {
          const s = new Socket();
          s.once('error', reject);
          s.connect(port, host, () => {
            s.off('error', reject);
            resolve(s);
          });
        });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new GreenwaveError(ErrorCode.Io, `TraCI: cannot connect to SUMO on ${host}:${port}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('connection closed by SUMO')));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(Buffer.alloc(0));
  }

  private onData(d: Buffer): void {
    this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
    if (this.pending.length < 4) return;
    const len = this.pending.readInt32BE(0);
    if (this.pending.length < len) return;
    const msg = this.pending.subarray(4, len);
    this.pending = this.pending.subarray(len);
    const w = this.waiter;
    this.waiter = undefined;
    w?.(Buffer.from(msg));
  }

  /** Sends the batch, reads the statuses (throwing on an error) and returns the reader positioned after the last status. */
  private async exchange(w: Writer): Promise<Reader> {
    if (!this.socket) throw new GreenwaveError(ErrorCode.Io, 'TraCI: not connected');
    const reply = new Promise<Buffer>((resolve) => (this.waiter = resolve));
    this.socket.write(w.message());
    const buf = await reply;
    if (this.failure) throw new GreenwaveError(ErrorCode.Io, `TraCI: ${this.failure.message}`);
    return new Reader(buf);
  }

  private status(r: Reader, expect: number): void {
    r.length();
    const id = r.u8();
    const result = r.u8();
    const description = r.str();
    if (result !== 0) throw new GreenwaveError(ErrorCode.InvalidInput, `TraCI: command 0x${id.toString(16)} failed: ${description}`);
    if (id !== expect) throw new GreenwaveError(ErrorCode.Internal, `TraCI: answer for 0x${id.toString(16)}, expected 0x${expect.toString(16)}`);
  }

  async version(): Promise<{ api: number; sumo: string }> {
    const w = new Writer();
    w.command(CMD_GETVERSION, Buffer.alloc(0));
    const r = await this.exchange(w);
    this.status(r, CMD_GETVERSION);
    r.length();
    r.u8();
    return { api: r.i32(), sumo: r.str() };
  }

  /** Subscribes to loop variables; their values arrive with every step. */
  async subscribeLoops(ids: readonly string[], vars: readonly number[]): Promise<void> {
    for (const id of ids) {
      const w = new Writer();
      const head = Buffer.alloc(16);
      head.writeDoubleBE(-1073741824, 0);
      head.writeDoubleBE(1073741824, 8);
      w.command(CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE, Buffer.concat([head, str(id), Buffer.from([vars.length, ...vars])]));
      const r = await this.exchange(w);
      this.status(r, CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE);
    }
  }

  /**
   * Sets the given traffic lights' states, then advances SUMO to `toS`, in one message.
   * Returns the loop subscriptions' values after the step.
   */
  async step(states: ReadonlyMap<string, string>, toS: number): Promise<SubscriptionValues> {
    const w = new Writer();
    for (const [tls, state] of states) {
      const b = Buffer.concat([Buffer.from([TL_RED_YELLOW_GREEN_STATE]), str(tls), Buffer.from([TYPE_STRING]), str(state)]);
      w.command(CMD_SET_TL_VARIABLE, b);
    }
    const t = Buffer.alloc(8);
    t.writeDoubleBE(toS, 0);
    w.command(CMD_SIMSTEP, t);
    const r = await this.exchange(w);
    for (const id of w.ids) this.status(r, id);
    const out: SubscriptionValues = new Map();
    let n = r.i32();
    while (n-- > 0) {
      r.length();
      const response = r.u8();
      const obj = r.str();
      if (response !== RESPONSE_SUBSCRIBE_INDUCTIONLOOP_VARIABLE) throw new GreenwaveError(ErrorCode.Internal, `TraCI: subscription response 0x${response.toString(16)} not expected`);
      let vars = r.u8();
      const values = new Map<number, number | string | string[]>();
      while (vars-- > 0) {
        const varId = r.u8();
        const st = r.u8();
        const v = r.typed();
        if (st === 0) values.set(varId, v);
      }
      out.set(obj, values);
    }
    return out;
  }

  /** Ids of the vehicles in the network now. */
  async vehicleIds(): Promise<string[]> {
    const w = new Writer();
    getVariable(w, CMD_GET_VEHICLE_VARIABLE, ID_LIST, '');
    return this.value(await this.exchange(w), CMD_GET_VEHICLE_VARIABLE) as string[];
  }

  /** Edge, position on its lane (m) and speed (m/s) of each vehicle, in one message. */
  async vehicleStates(ids: readonly string[]): Promise<{ id: string; edge: string; lanePosM: number; speedMps: number }[]> {
    if (ids.length === 0) return [];
    const w = new Writer();
    for (const id of ids) for (const v of [VAR_ROAD_ID, VAR_LANEPOSITION, VAR_SPEED]) getVariable(w, CMD_GET_VEHICLE_VARIABLE, v, id);
    const r = await this.exchange(w);
    const values = w.ids.map(() => this.value(r, CMD_GET_VEHICLE_VARIABLE));
    return ids.map((id, k) => ({ id, edge: String(values[3 * k]), lanePosM: Number(values[3 * k + 1]), speedMps: Number(values[3 * k + 2]) }));
  }

  /** Vehicles still running or waiting to depart; 0 when the demand is done. */
  async minExpectedVehicles(): Promise<number> {
    return Number(await this.simVariable(VAR_MIN_EXPECTED_VEHICLES));
  }

  private async simVariable(v: number): Promise<number | string | string[]> {
    const w = new Writer();
    getVariable(w, CMD_GET_SIM_VARIABLE, v, '');
    return this.value(await this.exchange(w), CMD_GET_SIM_VARIABLE);
  }

  /** Reads one get-variable answer: its status, then the response (id, variable, object) and the typed value. */
  private value(r: Reader, cmd: number): number | string | string[] {
    this.status(r, cmd);
    r.length();
    r.u8();
    r.u8();
    r.str();
    return r.typed();
  }

  /** Ends the simulation (SUMO writes its outputs and exits). */
  async close(): Promise<void> {
    if (!this.socket) return;
    const w = new Writer();
    w.command(CMD_CLOSE, Buffer.alloc(0));
    try {
      const r = await this.exchange(w);
      this.status(r, CMD_CLOSE);
    } finally {
      this.socket.destroy();
      this.socket = undefined;
    }
  }
}
