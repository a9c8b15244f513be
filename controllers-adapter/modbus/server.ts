/**
 * Modbus TCP server for virtual controllers (and the engine's plan
 * publisher): one listening port, one unit id per intersection. It does its
 * own MBAP framing on node:net and hands each PDU to the decoder both
 * servers share (./pdu.ts: exactly one reply per request, exception 0x01 for
 * every unsupported function, 0x03 for bad counts, byte counts and lengths,
 * 0x0B for unknown units). modbus-serial's ServerTCP is not used: it never
 * checks the protocol id, answers some malformed requests twice and others
 * not at all, and holds a silent connection forever.
 *
 * MBAP header (Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1.3):
 * transaction id, protocol id, length (unit id + PDU bytes), unit id.
 *  - length 2..254 (a PDU of 1..253 bytes): the frame is consumed by its
 *    length, whatever it holds, so a PDU too short or too long for its
 *    function is answered 0x03 and the stream stays in step;
 *  - length < 2 (no function code) or > 254 (more than the largest ADU, 260
 *    bytes): the byte stream cannot be trusted to be Modbus any more, and the
 *    connection is closed (counted in `stats.badFrames`);
 *  - protocol id ≠ 0: the frame is not Modbus (§3.1.3: 0 = MODBUS protocol).
 *    It is discarded unanswered (counted in `stats.badProtocol`), framed by its
 *    length so the next request is still read correctly, and it does not count
 *    as activity for the idle timeout; a peer that sends nothing else is
 *    closed at the idle timeout.
 * Connections: TCP keepalive is on (`keepAliveMs`, default 10 s) so a peer
 * that vanished is found by the kernel, and a connection with no complete
 * Modbus request for `idleTimeoutMs` (default 60 s; 0 = never) is closed, so
 * half-open or stalled clients never hold a socket forever. Connections are
 * capped, so one client cannot take every socket (or file descriptor) from the
 * others: at most `maxConnectionsPerPeer` (default 16) per remote address —
 * a peer's next one closes that peer's least recently active connection, so a
 * central restarted on the same host is never locked out by its own stale
 * sockets, and a peer can only crowd out itself — and at most `maxConnections`
 * (default 64) in all, beyond which a new connection is closed at once
 * (`stats.refusedConnections`, `stats.evictedConnections`). Requests on one
 * connection are answered in order; a peer that does not read its replies is
 * not read either until they drain (backpressure). Port 0 picks an ephemeral port.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { VirtualController } from '../virtual/controller.js';
import { UnitTable, type RegisterUnit, type UnitBinding } from './units.js';
import { createPduHandler, type PduHandler, type PduHandlerOptions, type ServerStats } from './pdu.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';

export type { ModbusRequestInfo, ServerStats, PduHandlerOptions } from './pdu.js';

/** MBAP header bytes before the unit id. */
const MBAP_PREFIX = 6;
/** Largest MBAP length field: unit id + a 253-byte PDU (ADU of 260 bytes). */
export const MBAP_MAX_LENGTH = 254;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEPALIVE_MS = 10_000;
export const DEFAULT_MAX_CONNECTIONS = 64;
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 16;

export interface ControllerServerOptions extends PduHandlerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: an ephemeral port. */
  readonly port?: number;
  /** Close a connection that sent no complete Modbus request for this long, ms. Default 60 000; 0 = never. */
  readonly idleTimeoutMs?: number;
  /** TCP keepalive initial delay, ms. Default 10 000; 0 = keepalive off. */
  readonly keepAliveMs?: number;
  /** Connections open at once, in all; a new one beyond this is closed at once. Default 64. */
  readonly maxConnections?: number;
  /** Connections open at once from one remote address; the next closes its least recently active. Default 16. */
  readonly maxConnectionsPerPeer?: number;
}

export type { RegisterUnit, UnitBinding } from './units.js';

export interface TcpServerStats extends ServerStats {
  /** Frames with a protocol id other than 0, discarded unanswered. */
  badProtocol: number;
  /** Connections closed for an impossible MBAP length. */
  badFrames: number;
  /** Connections closed by the idle timeout. */
  idleClosed: number;
  /** Connections closed at once because `maxConnections` were open. */
  refusedConnections: number;
  /** A peer's least recently active connections closed for its new ones (`maxConnectionsPerPeer`). */
  evictedConnections: number;
}

/** What the server keeps per connection for the caps. */
interface Peer {
  readonly address: string;
  /** Last complete Modbus request (or the connection's start), ms. */
  activeMs: number;
}

export class ControllerServer<U extends RegisterUnit = VirtualController> extends UnitTable<U> {
  readonly host: string;
  readonly port: number;
  private readonly listener: Server;
  private readonly sockets = new Map<Socket, Peer>();
  /** Open connections per remote address (the per-peer cap). */
  private readonly byPeer = new Map<string, Set<Socket>>();
  private readonly maxConnections: number;
  private readonly maxPerPeer: number;
  private closed = false;
  /** Requests answered, by outcome, for reports. */
  readonly stats: TcpServerStats = { requests: 0, exceptions: 0, dropped: 0, badProtocol: 0, badFrames: 0, idleClosed: 0, refusedConnections: 0, evictedConnections: 0 };

  private constructor(host: string, port: number, units: Map<number, U>, listener: Server, maxConnections: number, maxPerPeer: number) {
    super(units);
    this.host = host;
    this.port = port;
    this.listener = listener;
    this.maxConnections = maxConnections;
    this.maxPerPeer = maxPerPeer;
  }

  /** Starts listening; resolves once bound. Rejects with the listen error (EADDRINUSE …). */
  static async start<U extends RegisterUnit = VirtualController>(bindings: readonly UnitBinding<U>[], opts: ControllerServerOptions = {}): Promise<ControllerServer<U>> {
    const units = UnitTable.bind(bindings);
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ControllerError(ControllerErrorReason.Limit, `port ${port} must be an integer within [0, 65535]`);
    const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const keepAliveMs = opts.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    if (!(Number.isInteger(idleTimeoutMs) && idleTimeoutMs >= 0)) throw new ControllerError(ControllerErrorReason.Limit, `idleTimeoutMs ${idleTimeoutMs} must be a non-negative integer`);
    if (!(Number.isInteger(keepAliveMs) && keepAliveMs >= 0)) throw new ControllerError(ControllerErrorReason.Limit, `keepAliveMs ${keepAliveMs} must be a non-negative integer`);
    const maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const maxPerPeer = opts.maxConnectionsPerPeer ?? Math.min(DEFAULT_MAX_CONNECTIONS_PER_PEER, maxConnections);
    if (!(Number.isInteger(maxConnections) && maxConnections >= 1)) throw new ControllerError(ControllerErrorReason.Limit, `maxConnections ${maxConnections} must be a positive integer`);
    if (!(Number.isInteger(maxPerPeer) && maxPerPeer >= 1 && maxPerPeer <= maxConnections)) throw new ControllerError(ControllerErrorReason.Limit, `maxConnectionsPerPeer ${maxPerPeer} must be an integer within [1, maxConnections ${maxConnections}]`);
    const listener = createServer();
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(new ControllerError(ControllerErrorReason.ConnectFailed, `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
      listener.once('error', onError);
      listener.listen({ host, port }, () => {
        listener.removeListener('error', onError);
        resolve();
      });
    });
    // A listener error after start (EMFILE …) must not crash the process.
    listener.on('error', () => {});
    const address = listener.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const self = new ControllerServer(host, bound, units, listener, maxConnections, maxPerPeer);
    const handle = createPduHandler(units, opts, self.stats);
    listener.on('connection', (sock) => self.serve(sock, handle, idleTimeoutMs, keepAliveMs));
    return self;
  }

  private serve(sock: Socket, handle: PduHandler, idleTimeoutMs: number, keepAliveMs: number): void {
    // Socket errors (a client resetting) must not crash the process.
    sock.on('error', () => {});
    if (this.closed) {
      sock.destroy();
      return;
    }
    const peer = this.admit(sock);
    if (peer === undefined) return;
    sock.setNoDelay(true);
    if (keepAliveMs > 0) sock.setKeepAlive(true, keepAliveMs);
    sock.once('close', () => {
      this.sockets.delete(sock);
      const mine = this.byPeer.get(peer.address);
      mine?.delete(sock);
      if (mine?.size === 0) this.byPeer.delete(peer.address);
      clearTimeout(idle);
    });
    let idle: NodeJS.Timeout | undefined;
    if (idleTimeoutMs > 0) {
      idle = setTimeout(() => {
        this.stats.idleClosed++;
        sock.destroy();
      }, idleTimeoutMs);
      idle.unref();
    }
    let buf: Buffer = Buffer.alloc(0);
    let draining = false;
    /** Answers every complete frame in `buf`, in order, until the peer stops reading its replies. */
    const pump = (): void => {
      let at = 0;
      while (!draining && buf.length - at >= MBAP_PREFIX) {
        const length = buf.readUInt16BE(at + 4);
        if (length < 2 || length > MBAP_MAX_LENGTH) {
          this.stats.badFrames++;
          sock.destroy();
          return;
        }
        if (buf.length - at < MBAP_PREFIX + length) break;
        const tid = buf.readUInt16BE(at);
        const protocolId = buf.readUInt16BE(at + 2);
        const unitId = buf[at + MBAP_PREFIX]!;
        const pdu = buf.subarray(at + MBAP_PREFIX + 1, at + MBAP_PREFIX + length);
        at += MBAP_PREFIX + length;
        if (protocolId !== 0) {
          this.stats.badProtocol++;
          continue;
        }
        idle?.refresh();
        peer.activeMs = Date.now();
        const reply = handle(unitId, pdu);
        if (this.closed || sock.destroyed) return;
        if (reply) {
          const out = Buffer.allocUnsafe(MBAP_PREFIX + 1 + reply.length);
          out.writeUInt16BE(tid, 0);
          out.writeUInt16BE(0, 2);
          out.writeUInt16BE(reply.length + 1, 4);
          out[MBAP_PREFIX] = unitId;
          reply.copy(out, MBAP_PREFIX + 1);
          // A peer that sends requests but never reads the replies (up to ~20× larger) would grow
          // the send buffer without limit: stop reading and answering it until they drain.
          if (!sock.write(out)) {
            draining = true;
            sock.pause();
            sock.once('drain', () => {
              draining = false;
              sock.resume();
              pump();
            });
          }
        }
      }
      if (at > 0) buf = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      pump();
    });
  }

  /**
   * Applies the caps to a new connection (see the header): its Peer record, or undefined when
   * it was closed at once. A peer at its own cap loses its least recently active connection.
   */
  private admit(sock: Socket): Peer | undefined {
    const address = sock.remoteAddress ?? '?';
    let mine = this.byPeer.get(address);
    if (mine !== undefined && mine.size >= this.maxPerPeer) {
      let oldest: Socket | undefined;
      for (const s of mine) if (oldest === undefined || this.sockets.get(s)!.activeMs < this.sockets.get(oldest)!.activeMs) oldest = s;
      // Forgotten now, not at its 'close' event, so the count below is already right.
      mine.delete(oldest!);
      this.sockets.delete(oldest!);
      oldest!.destroy();
      this.stats.evictedConnections++;
    } else if (this.sockets.size >= this.maxConnections) {
      this.stats.refusedConnections++;
      sock.destroy();
      return undefined;
    }
    if (mine === undefined) {
      mine = new Set();
      this.byPeer.set(address, mine);
    }
    mine.add(sock);
    const peer: Peer = { address, activeMs: Date.now() };
    this.sockets.set(sock, peer);
    return peer;
  }

  /** Bytes of replies waiting in the send buffers of every connection (backpressure, tests). */
  get bufferedBytes(): number {
    let n = 0;
    for (const s of this.sockets.keys()) n += s.writableLength;
    return n;
  }

  /** Stops listening and drops every connection at once (like a controller losing power). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.listener.close(() => resolve());
      for (const s of this.sockets.keys()) s.destroy();
    });
  }

  /** Connections open right now. */
  get connections(): number {
    return this.sockets.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
