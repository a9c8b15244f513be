/**
 * One Modbus link (a TCP connection or a serial port) shared by every unit
 * behind it, recreated whenever it dies, with a per-request timeout and a
 * bound on requests in flight. Used by ControllerClient (./client.ts); retry
 * and the circuit breaker are not its business (./retry.ts), so a failure
 * here is reported once, mapped to a ControllerError, and never retried.
 */
import ModbusSerial from 'modbus-serial';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import type { FilledClientOptions } from './clientOptions.js';

const ModbusRTU = ModbusSerial.default;
/** A modbus-serial client (TCP or RTU: the library calls both "ModbusRTU"). */
export type Rtu = InstanceType<typeof ModbusRTU>;
export type NodeCallback<T> = (err: Error | null, value: T) => void;

/** Where one controller lives: its unit id, the intersection it runs, and its link (Modbus TCP, or RTU on a serial line). */
export type AnyControllerEndpoint = ControllerEndpoint | RtuControllerEndpoint;

/** A controller behind Modbus TCP. */
export interface ControllerEndpoint {
  readonly transport?: 'tcp';
  readonly unitId: number;
  readonly intersection: number;
  readonly host: string;
  readonly port: number;
}

/**
 * A controller on a Modbus RTU serial line (8N1). Every unit on the same `path` shares one
 * port, and requests on it go one at a time (a serial bus is half duplex).
 */
export interface RtuControllerEndpoint {
  readonly transport: 'rtu';
  readonly unitId: number;
  readonly intersection: number;
  /** Serial device, e.g. /dev/ttyUSB0. */
  readonly path: string;
  /** Default 9600. */
  readonly baudRate?: number;
  readonly host?: undefined;
  readonly port?: undefined;
}

/** The link a Connection opens. @internal */
export type Link = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'rtu'; readonly path: string; readonly baudRate: number };

export function linkOf(e: AnyControllerEndpoint): Link {
  return e.transport === 'rtu' ? { kind: 'rtu', path: e.path, baudRate: e.baudRate ?? 9600 } : { kind: 'tcp', host: e.host, port: e.port };
}

export function linkKey(l: Link): string {
  return l.kind === 'rtu' ? `rtu:${l.path}` : `${l.host}:${l.port}`;
}

/** What a connection needs of the client options (timeouts, requests in flight). */
export type ConnectionOptions = Pick<FilledClientOptions, 'timeoutMs' | 'connectTimeoutMs' | 'maxInFlightPerConnection'>;

interface Outstanding {
  readonly rtu: Rtu;
  readonly fail: (e: ControllerError) => void;
}

/** One TCP connection to one endpoint, recreated whenever it dies. @internal */
export class Connection {
  readonly key: string;
  private rtu: Rtu | undefined;
  private opening: Promise<Rtu> | undefined;
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly outstanding = new Set<Outstanding>();
  private lastSuccessMs = 0;
  private closed = false;

  private readonly maxInFlight: number;

  constructor(
    private readonly link: Link,
    private readonly opts: ConnectionOptions,
  ) {
    this.key = linkKey(link);
    // A serial line carries one request at a time (modbus-serial cannot match parallel RTU replies).
    this.maxInFlight = link.kind === 'rtu' ? 1 : opts.maxInFlightPerConnection;
  }

  async run<T>(unitId: number, label: string, op: (m: Rtu, cb: NodeCallback<T>) => void): Promise<T> {
    await this.acquire();
    try {
      const rtu = await this.open(unitId);
      const started = Date.now();
      return await new Promise<T>((resolve, reject) => {
        let settled = false;
        const entry: Outstanding = { rtu, fail: (e) => finish(e, undefined) };
        const finish = (err: ControllerError | null, value: T | undefined): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.outstanding.delete(entry);
          if (err) reject(err);
          else resolve(value as T);
        };
        // Guard timer: modbus-serial's own timeout should fire first; this one never lets a request hang.
        const timer = setTimeout(() => {
          finish(new ControllerError(ControllerErrorReason.Timeout, `unit ${unitId}: ${label} timed out after ${this.opts.timeoutMs} ms (${this.key})`, { unitId }), undefined);
          // Nothing answered on this TCP connection since the request went out: assume it is dead.
          // A serial port does not die of a silent slave (unknown unit, corrupted frame): keep it.
          if (this.lastSuccessMs < started && this.link.kind === 'tcp') this.drop(rtu);
        }, this.opts.timeoutMs + 25);
        this.outstanding.add(entry);
        try {
          op(rtu, (err, value) => {
            if (!err) {
              this.lastSuccessMs = Date.now();
              finish(null, value);
              return;
            }
            const mapped = mapError(err, unitId, label, this.key, this.opts.timeoutMs);
            // Settle first: dropping the connection fails whatever is still outstanding on it.
            finish(mapped, undefined);
            if (mapped.reason === ControllerErrorReason.Timeout) {
              if (this.lastSuccessMs < started && this.link.kind === 'tcp') this.drop(rtu);
            } else if (mapped.reason === ControllerErrorReason.Exception || mapped.reason === ControllerErrorReason.BadFrame) {
              this.lastSuccessMs = Date.now();
            } else {
              this.drop(rtu);
            }
          });
        } catch (e: unknown) {
          finish(mapError(e, unitId, label, this.key, this.opts.timeoutMs), undefined);
          this.drop(rtu);
        }
      });
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rtu) this.drop(this.rtu);
    for (const w of this.waiters.splice(0)) w();
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(() => {
      this.inFlight++;
      resolve();
    }));
  }

  private release(): void {
    this.inFlight--;
    const next = this.waiters.shift();
    if (next) next();
  }

  private open(unitId: number): Promise<Rtu> {
    if (this.closed) return Promise.reject(new ControllerError(ControllerErrorReason.Closed, 'client is closed', { unitId }));
    if (this.rtu && this.rtu.isOpen) return Promise.resolve(this.rtu);
    // A client that is not open is never reused ("Port Not Open" can stick after a peer restart).
    if (this.rtu) this.drop(this.rtu);
    if (!this.opening) {
      this.opening = this.connect().finally(() => {
        this.opening = undefined;
      });
    }
    // Units behind one address share the connection attempt; each failure names its own unit.
    return this.opening.catch((e: unknown) => {
      if (e instanceof ControllerError && e.reason === ControllerErrorReason.Closed) throw new ControllerError(ControllerErrorReason.Closed, 'client is closed', { unitId });
      throw new ControllerError(ControllerErrorReason.ConnectFailed, `unit ${unitId}: cannot connect to ${this.key}: ${e instanceof Error ? e.message : String(e)}`, { unitId, cause: e });
    });
  }

  private async connect(): Promise<Rtu> {
    const rtu = new ModbusRTU();
    rtu.setTimeout(this.opts.timeoutMs);
    // modbus-serial re-emits port errors; without a listener they would crash the process.
    rtu.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      const link = this.link;
      await Promise.race([
        link.kind === 'rtu' ? rtu.connectRTUBuffered(link.path, { baudRate: link.baudRate, dataBits: 8, parity: 'none', stopBits: 1 }) : rtu.connectTCP(link.host, { port: link.port }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
        }),
      ]);
    } catch (e: unknown) {
      destroyQuietly(rtu);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (this.closed) {
      destroyQuietly(rtu);
      throw new ControllerError(ControllerErrorReason.Closed, 'client is closed');
    }
    rtu.on('close', () => this.drop(rtu));
    this.rtu = rtu;
    return rtu;
  }

  /** Forgets a client for good and fails everything still waiting on it. */
  private drop(rtu: Rtu): void {
    if (this.rtu === rtu) this.rtu = undefined;
    destroyQuietly(rtu);
    for (const o of [...this.outstanding]) {
      if (o.rtu === rtu) o.fail(new ControllerError(this.closed ? ControllerErrorReason.Closed : ControllerErrorReason.ConnectionLost, `connection to ${this.key} closed with the request outstanding`));
    }
  }
}

function destroyQuietly(rtu: Rtu): void {
  try {
    (rtu as unknown as { removeAllListeners(event: string): void }).removeAllListeners('close');
    rtu.destroy(() => {});
  } catch {
    // already gone
  }
}

function mapError(e: unknown, unitId: number, label: string, key: string, timeoutMs: number): ControllerError {
  const err = e as { modbusCode?: unknown; name?: unknown; message?: unknown; errno?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (typeof err?.modbusCode === 'number') return new ControllerError(ControllerErrorReason.Exception, `unit ${unitId}: ${label}: Modbus exception 0x${err.modbusCode.toString(16).padStart(2, '0')} (${message})`, { unitId, exceptionCode: err.modbusCode, cause: e });
  // RTU replies with a bad CRC or length: line noise, the request may be retried.
  if (message === 'CRC error' || message.startsWith('Data length error')) return new ControllerError(ControllerErrorReason.BadFrame, `unit ${unitId}: ${label}: bad reply frame on ${key} (${message})`, { unitId, cause: e });
  if (err?.name === 'TransactionTimedOutError' || err?.errno === 'ETIMEDOUT' || message === 'Timed out') return new ControllerError(ControllerErrorReason.Timeout, `unit ${unitId}: ${label} timed out after ${timeoutMs} ms (${key})`, { unitId, cause: e });
  return new ControllerError(ControllerErrorReason.ConnectionLost, `unit ${unitId}: ${label} failed on ${key}: ${message}`, { unitId, cause: e });
}
