/**
 * Modbus TCP server for virtual controllers: one listening port, one unit id
 * per intersection. Built on modbus-serial's ServerTCP with three fixes for
 * its pitfalls (shared/reference/protocols.md §3):
 *  - it is created with unitID 255 so every unit reaches the vector, and the
 *    vector routes by unit id itself: unknown units get exception 0x0B
 *    (gateway target failed to respond) instead of silence;
 *  - setRegisterArray is implemented, so an FC16 block write reaches the
 *    controller as one array and is applied all or nothing;
 *  - reads return a synchronous snapshot of the whole range, so a staged or
 *    active plan block is never torn within one request.
 * Out-of-range addresses get 0x02 and bad counts or values 0x03 (the
 * controller throws ModbusException; modbus-serial reads `modbusErrorCode`).
 * Port 0 picks an ephemeral port (`server.port` tells which).
 */
import type { Server, Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import type { VirtualController } from '../virtual/controller.js';
import { UnitTable, type RegisterUnit, type UnitBinding } from './units.js';
import { ControllerError, ControllerErrorReason, ModbusException } from '../errors.js';
import { ModbusExceptionCode } from '../registerMap.js';

/** One request as the server sees it, for fault injection in tests and for tracing. */
export interface ModbusRequestInfo {
  readonly unitId: number;
  /** 3 read holding, 4 read input, 6 write one, 16 write many. */
  readonly functionCode: 3 | 4 | 6 | 16;
  readonly address: number;
  readonly count: number;
}

export interface ControllerServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: an ephemeral port. */
  readonly port?: number;
  /** Clock in seconds; when given, every controller is ticked to it before each request. */
  readonly clock?: () => number;
  /**
   * Called before each write is applied. Return 'drop' to leave it unapplied and
   * unanswered, or 'applyThenDrop' to apply it and never answer (a controller dying
   * mid-request, before or after acting on it); tests close the server from here.
   */
  readonly beforeWrite?: (req: ModbusRequestInfo) => 'drop' | 'applyThenDrop' | void;
}

export type { RegisterUnit, UnitBinding } from './units.js';

type Callback = (err: Error | null) => void;

export class ControllerServer<U extends RegisterUnit = VirtualController> extends UnitTable<U> {
  readonly host: string;
  readonly port: number;
  private readonly inner: ServerTCP;
  private closed = false;
  /** Requests answered, by outcome, for reports. */
  readonly stats = { requests: 0, exceptions: 0, dropped: 0 };

  private constructor(host: string, port: number, units: Map<number, U>, inner: ServerTCP) {
    super(units);
    this.host = host;
    this.port = port;
    this.inner = inner;
  }

  /** Starts listening; resolves once bound. Rejects with the listen error (EADDRINUSE …). */
  static async start<U extends RegisterUnit = VirtualController>(bindings: readonly UnitBinding<U>[], opts: ControllerServerOptions = {}): Promise<ControllerServer<U>> {
    const units = UnitTable.bind(bindings);
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ControllerError(ControllerErrorReason.Limit, `port ${port} must be an integer within [0, 65535]`);
    let holder: ControllerServer<U> | undefined;
    const vector = createControllerVector(units, opts, () => holder);
    // ServerTCP does `options.port || 502`, so port 0 must travel as the string '0' (net.listen accepts numeric strings).
    const inner = new ServerTCP(vector, { host, port: (port === 0 ? '0' : port) as number, unitID: 255 });
    const listener = (inner as unknown as { _server?: Server })._server;
    if (!listener) throw new ControllerError(ControllerErrorReason.ConnectFailed, 'modbus-serial ServerTCP has no _server: unsupported modbus-serial version');
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        inner.removeListener('initialized', onReady);
        reject(new ControllerError(ControllerErrorReason.ConnectFailed, `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
      };
      const onReady = (): void => {
        inner.removeListener('serverError', onError);
        resolve();
      };
      inner.once('serverError', onError);
      inner.once('initialized', onReady);
    });
    // Socket errors (a client resetting) must not crash the process.
    inner.on('socketError', () => {});
    inner.on('serverError', () => {});
    inner.on('error', () => {});
    const address = listener.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    holder = new ControllerServer(host, bound, units, inner);
    return holder;
  }

  /** Stops listening and drops every connection at once (like a controller losing power). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      const socks = (this.inner as unknown as { socks?: Map<Socket, unknown> }).socks;
      this.inner.close(() => resolve());
      // ServerTCP.close destroys the sockets it knows; make sure none lingers half-open.
      if (socks) for (const s of socks.keys()) s.destroy();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** Request counters a server keeps (the TCP server, and the RTU server in ../rtu/server.ts). */
export interface ServerStats {
  requests: number;
  exceptions: number;
  dropped: number;
}

/** The routing options the vector uses (clock and fault injection); both servers pass theirs. */
export type ControllerVectorOptions = Pick<ControllerServerOptions, 'clock' | 'beforeWrite'>;

/**
 * The modbus-serial service vector that routes requests by unit id to the virtual controllers:
 * shared by the TCP server and the RTU server (which feeds it through modbus-serial's own
 * request handlers), so both transports answer exactly alike.
 */
export function createControllerVector(units: ReadonlyMap<number, RegisterUnit>, opts: ControllerVectorOptions, self: () => { readonly stats: ServerStats } | undefined) {
  const route = (unitId: number): RegisterUnit => {
    const s = self();
    if (s) s.stats.requests++;
    const c = units.get(unitId);
    if (!c) {
      if (s) s.stats.exceptions++;
      throw new ModbusException(ModbusExceptionCode.GatewayTargetFailed, `no controller with unit id ${unitId}`);
    }
    if (opts.clock) c.tick(opts.clock());
    c.noteCentralContact();
    return c;
  };
  const counted = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e: unknown) {
      const s = self();
      if (s && e instanceof ModbusException && e.modbusErrorCode !== ModbusExceptionCode.GatewayTargetFailed) s.stats.exceptions++;
      throw e;
    }
  };
  const write = (unitId: number, address: number, values: number[], fc: 6 | 16, cb: Callback): void => {
    let c: RegisterUnit;
    try {
      c = route(unitId);
    } catch (e: unknown) {
      cb(e as Error);
      return;
    }
    const fault = opts.beforeWrite?.({ unitId, functionCode: fc, address, count: values.length });
    if (fault === 'drop') {
      const s = self();
      if (s) s.stats.dropped++;
      return; // never answered: the client times out or sees the connection close
    }
    try {
      counted(() => c.writeHolding(address, values));
    } catch (e: unknown) {
      cb(e as Error);
      return;
    }
    if (fault === 'applyThenDrop') {
      const s = self();
      if (s) s.stats.dropped++;
      return;
    }
    cb(null);
  };
  // Arity matters: modbus-serial calls 4-parameter functions with a callback and the others synchronously.
  // Reads are synchronous (a thrown ModbusException keeps its code); writes take the callback so they can be dropped.
  return {
    getHoldingRegister: (addr: number, unitID: number): number => counted(() => route(unitID).readHolding(addr, 1)[0]!),
    getMultipleHoldingRegisters: (addr: number, length: number, unitID: number): number[] => counted(() => route(unitID).readHolding(addr, length)),
    getInputRegister: (addr: number, unitID: number): number => counted(() => route(unitID).readInput(addr, 1)[0]!),
    getMultipleInputRegisters: (addr: number, length: number, unitID: number): number[] => counted(() => route(unitID).readInput(addr, length)),
    setRegister: (addr: number, value: number, unitID: number, cb: Callback): void => write(unitID, addr, [value], 6, cb),
    setRegisterArray: (addr: number, values: number[], unitID: number, cb: Callback): void => write(unitID, addr, values, 16, cb),
  };
}
