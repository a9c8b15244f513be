/**
 * Modbus RTU server for virtual controllers: the same register map as the TCP
 * server, on a serial line (a real port, or one end of a pty pair in tests),
 * several unit ids on one bus.
 *
 * modbus-serial's own ServerSerial is not used: it overwrites the received CRC
 * with the computed one before checking it, so a corrupted frame is executed
 * instead of ignored. This server does the RTU framing itself:
 *  - frames are cut by their length (FC3/4/6: 8 bytes; FC16: 9 + byte count)
 *    and by the inter-frame silence: bytes left over after `frameGapMs` of
 *    silence are discarded, so noise never desynchronises the line for long;
 *  - a frame whose CRC-16/MODBUS (../codec.ts) does not match is dropped
 *    without an answer (the master times out and retries), like any RTU slave;
 *  - unit ids the server does not serve get no answer (another slave on the
 *    bus may own them); unit 0 is broadcast: writes are applied to every unit,
 *    nothing is answered;
 *  - every framed request goes to the PDU decoder the TCP server uses
 *    (../modbus/pdu.ts), so routing, atomic FC16 writes, exactly one reply,
 *    exceptions (0x01 every unsupported function, 0x02 address, 0x03 counts,
 *    byte counts and lengths) and fault injection are the same on both.
 */
import { SerialPort } from 'serialport';
import type { VirtualController } from '../virtual/controller.js';
import type { UnitBinding } from '../modbus/server.js';
import { createPduHandler, type PduHandler, type PduHandlerOptions, type ServerStats } from '../modbus/pdu.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { crc16ModbusBytes } from '../codec.js';
import { UnitTable } from '../modbus/units.js';

/** Largest RTU frame (Modbus over serial line v1.02 §2.5.1). */
export const RTU_MAX_FRAME = 256;
export const BROADCAST_UNIT_ID = 0;

export interface RtuServerOptions extends PduHandlerOptions {
  /** Serial device, e.g. /dev/ttyUSB0 or a pty link. */
  readonly path: string;
  /** Default 9600 (8N1). */
  readonly baudRate?: number;
  /**
   * Silence after which a partial frame is discarded, ms. Default: 3.5 character times at the
   * baud rate, but at least 20 ms (ptys and USB adapters deliver bytes in bursts, not on time).
   */
  readonly frameGapMs?: number;
}

export interface RtuServerStats extends ServerStats {
  /** Frames dropped for a CRC mismatch. */
  crcErrors: number;
  /** Bytes discarded as noise (partial frames at a silence, over-long garbage). */
  noiseBytes: number;
  /** Frames for units this server does not serve (left unanswered). */
  foreignUnits: number;
  /** Broadcast frames applied. */
  broadcasts: number;
}

export class RtuControllerServer extends UnitTable<VirtualController> {
  readonly path: string;
  readonly baudRate: number;
  readonly stats: RtuServerStats = { requests: 0, exceptions: 0, dropped: 0, crcErrors: 0, noiseBytes: 0, foreignUnits: 0, broadcasts: 0 };
  private readonly handle: PduHandler;
  private readonly frameGapMs: number;
  private port: SerialPort | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private gapTimer: NodeJS.Timeout | undefined;
  private resync = false;
  private closed = false;

  private constructor(units: Map<number, VirtualController>, opts: RtuServerOptions) {
    super(units);
    this.path = opts.path;
    this.baudRate = opts.baudRate ?? 9600;
    // 11 bits per character (start, 8 data, parity or second stop, stop).
    this.frameGapMs = opts.frameGapMs ?? Math.max(20, Math.ceil((3.5 * 11 * 1000) / this.baudRate));
    this.handle = createPduHandler(units, opts, this.stats);
  }

  /** Opens the serial port; resolves once it is open. Rejects with CONNECT_FAILED (no such device, locked …). */
  static async start(bindings: readonly UnitBinding[], opts: RtuServerOptions): Promise<RtuControllerServer> {
    const units = UnitTable.bind(bindings);
    const baudRate = opts.baudRate ?? 9600;
    if (!(Number.isInteger(baudRate) && baudRate > 0)) throw new ControllerError(ControllerErrorReason.Limit, `baud rate ${baudRate} must be a positive integer`);
    const server = new RtuControllerServer(units, opts);
    await new Promise<void>((resolve, reject) => {
      const port = new SerialPort({ path: opts.path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
      port.open((err) => {
        if (err) {
          reject(new ControllerError(ControllerErrorReason.ConnectFailed, `cannot open serial port ${opts.path}: ${err.message}`, { cause: err }));
          return;
        }
        server.port = port;
        resolve();
      });
    });
    const port = server.port!;
    port.on('data', (chunk: Buffer) => server.onData(chunk));
    // A vanished device must not crash the process; the server simply stops answering.
    port.on('error', () => {});
    return server;
  }

  /** Closes the port. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearTimeout(this.gapTimer);
    const port = this.port;
    if (!port || !port.isOpen) return Promise.resolve();
    return new Promise((resolve) => port.close(() => resolve()));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ----------------------------------------------------------- framing

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.resync) {
      // After a corrupted frame the byte stream cannot be trusted until the line goes quiet.
      this.stats.noiseBytes += chunk.length;
      this.armGapTimer();
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const need = frameLength(this.buf);
      if (need === 0) break; // wait for more bytes
      if (need < 0 || need > RTU_MAX_FRAME) {
        // Unknown function code or impossible length: nothing can be framed until the line goes quiet.
        break;
      }
      if (this.buf.length < need) break;
      const frame = Buffer.from(this.buf.subarray(0, need));
      this.buf = this.buf.subarray(need);
      if (!crcOk(frame)) {
        // An RTU slave never answers a corrupted frame; what follows it in the burst is discarded too.
        this.stats.crcErrors++;
        this.stats.noiseBytes += this.buf.length;
        this.buf = Buffer.alloc(0);
        this.resync = true;
        break;
      }
      this.onFrame(frame);
    }
    if (this.buf.length > 0 || this.resync) this.armGapTimer();
    else clearTimeout(this.gapTimer);
  }

  private armGapTimer(): void {
    clearTimeout(this.gapTimer);
    this.gapTimer = setTimeout(() => this.onSilence(), this.frameGapMs);
    this.gapTimer.unref();
  }

  /** The line went quiet: whatever is buffered is one (incomplete or unknown) frame. */
  private onSilence(): void {
    this.resync = false;
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    if (rest.length === 0 || this.closed) return;
    // A complete frame of a function we do not know: answer 0x01 if its CRC holds, else it is noise.
    if (rest.length >= 4 && rest.length <= RTU_MAX_FRAME && crcOk(rest) && frameLength(rest) < 0) {
      this.onFrame(rest);
      return;
    }
    this.stats.noiseBytes += rest.length;
  }

  /** A frame whose CRC holds. */
  private onFrame(frame: Buffer): void {
    const unitId = frame[0]!;
    const fc = frame[1]!;
    if (unitId === BROADCAST_UNIT_ID) {
      if (fc !== 6 && fc !== 16) return; // reads cannot be broadcast
      this.stats.broadcasts++;
      for (const id of this.units.keys()) this.dispatch(id, fc, withUnit(frame, id), () => {});
      return;
    }
    if (!this.units.has(unitId)) {
      this.stats.foreignUnits++;
      return;
    }
    this.dispatch(unitId, fc, frame, (reply) => this.send(reply));
  }

  /** One request (unit id, PDU, CRC): the shared decoder answers it exactly once, or not at all for a dropped write. */
  private dispatch(unitId: number, _fc: number, frame: Buffer, reply: (b: Buffer) => void): void {
    const pdu = this.handle(unitId, frame.subarray(1, frame.length - 2));
    if (pdu) reply(rtuFrame([unitId, ...pdu]));
  }

  private send(frame: Buffer): void {
    if (this.closed || !this.port || !this.port.isOpen) return;
    this.port.write(frame);
  }
}

/** Expected length of the request frame at the head of `b`: 0 = need more bytes, -1 = unknown function. */
export function frameLength(b: Buffer): number {
  if (b.length < 2) return 0;
  const fc = b[1]!;
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return 8;
    case 15:
    case 16:
      return b.length < 7 ? 0 : 9 + b[6]!;
    default:
      return -1;
  }
}

function crcOk(frame: Buffer): boolean {
  if (frame.length < 4) return false;
  return frame.readUInt16LE(frame.length - 2) === crc16ModbusBytes(frame.subarray(0, frame.length - 2));
}

/** Adds the CRC (little-endian, as RTU sends it) to a frame body. */
export function rtuFrame(body: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(body.length + 2);
  for (let k = 0; k < body.length; k++) out[k] = body[k]! & 0xff;
  out.writeUInt16LE(crc16ModbusBytes(out.subarray(0, body.length)), body.length);
  return out;
}


/** A copy of a broadcast frame addressed to one unit (the CRC is not re-checked by the handlers). */
function withUnit(frame: Buffer, unitId: number): Buffer {
  const copy = Buffer.from(frame);
  copy[0] = unitId;
  return copy;
}
