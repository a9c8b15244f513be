/**
 * Modbus TCP conformance of the controller server over real sockets: raw TCP
 * frames (malformed on purpose), mbpoll (libmodbus) and pymodbus as
 * independent masters. Exactly one reply per request; exception 0x01 for
 * every unsupported function; counts, byte counts, MBAP length and protocol
 * id checked; idle connections closed; TCP keepalive on (seen with `ss`);
 * connections capped per peer and in all.
 * A missing mbpoll, pymodbus or ss FAILS these tests on purpose.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type Socket } from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ControllerServer, type ControllerServerOptions } from './server.js';
import { VirtualController } from '../virtual/controller.js';
import { HR_COMM_LOSS_TIMEOUT_S, IR_DETECTOR_COUNT, ModbusExceptionCode } from '../registerMap.js';
import { demoNetwork, demoPlan } from '../../test/fixtures/controllers/demo.js';

const c = demoNetwork();
const plan = demoPlan();
const CONFORMANCE_SCRIPT = fileURLToPath(new URL('../../test/fixtures/controllers/pymodbus_conformance.py', import.meta.url));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function serve(opts: ControllerServerOptions = {}) {
  const controllers = [0, 1].map((i) => new VirtualController(c, i, plan, { commLossTimeoutS: 0 }));
  const server = await ControllerServer.start(
    controllers.map((v, i) => ({ unitId: i + 1, controller: v })),
    { clock: () => 10, ...opts },
  );
  cleanups.push(() => server.close());
  return { server, controllers };
}

/** MBAP frame: transaction id, protocol id, length = unit + PDU (overridable), unit, PDU. */
function mbap(tid: number, unit: number, pdu: number[], o: { protocolId?: number; length?: number } = {}): Buffer {
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(tid, 0);
  b.writeUInt16BE(o.protocolId ?? 0, 2);
  b.writeUInt16BE(o.length ?? pdu.length + 1, 4);
  b[6] = unit;
  Buffer.from(pdu).copy(b, 7);
  return b;
}

interface Reply {
  tid: number;
  unit: number;
  pdu: number[];
}

/** A raw TCP peer: write bytes, collect every complete MBAP reply, see when the server closes. */
async function raw(port: number, localAddress?: string) {
  const sock: Socket = connect({ host: '127.0.0.1', port, ...(localAddress !== undefined ? { localAddress } : {}) });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => {});
  cleanups.push(() => {
    sock.destroy();
  });
  let rx = Buffer.alloc(0);
  const replies: Reply[] = [];
  let closed = false;
  sock.on('close', () => {
    closed = true;
  });
  sock.on('data', (d: Buffer) => {
    rx = Buffer.concat([rx, d]);
    while (rx.length >= 7 && rx.length >= 6 + rx.readUInt16BE(4)) {
      const len = rx.readUInt16BE(4);
      replies.push({ tid: rx.readUInt16BE(0), unit: rx[6]!, pdu: [...rx.subarray(7, 6 + len)] });
      rx = rx.subarray(6 + len);
    }
  });
  return {
    sock,
    replies,
    get closed() {
      return closed;
    },
    /**
     * Sends bytes, waits for `expected` replies (at most 2 s), then `settleMs` more so a second,
     * unwanted reply would be seen too; returns every reply that came.
     */
    async send(bytes: Buffer, expected = 1, settleMs = 60): Promise<Reply[]> {
      const from = replies.length;
      sock.write(bytes);
      const deadline = Date.now() + 2000;
      while (replies.length - from < expected && !closed && Date.now() < deadline) await sleep(5);
      await sleep(settleMs);
      return replies.slice(from);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function requireTool(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed (Debian package "${name === 'ss' ? 'iproute2' : name}"); these tests must not be skipped.`);
  }
}

function pymodbusPython(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import pymodbus'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  throw new Error('pymodbus is not importable: install the Debian package "python3-pymodbus"; these tests must not be skipped.');
}

const { IllegalFunction, IllegalDataValue, IllegalDataAddress } = ModbusExceptionCode;

describe('Modbus TCP conformance: one reply per request, exception 01 for unsupported functions', () => {
  test('function codes 0, 1, 2, 5, 7, 15, 17, 43 and 0x7f get exactly one exception 0x01 each', async () => {
    const { server } = await serve();
    const peer = await raw(server.port);
    const requests: Array<[number, number[]]> = [
      [0, []],
      [1, [0, 0, 0, 1]],
      [2, [0, 0, 0, 1]],
      [5, [0, 0, 0xff, 0]],
      [7, []],
      [15, [0, 0, 0, 2, 1, 1]],
      [17, []],
      [43, [14, 1, 0]],
      [0x7f, [1, 2, 3]],
    ];
    for (const [k, [fc, body]] of requests.entries()) {
      const got = await peer.send(mbap(100 + k, 1, [fc, ...body]));
      expect(got, `FC ${fc}`).toEqual([{ tid: 100 + k, unit: 1, pdu: [(fc | 0x80) & 0xff, IllegalFunction] }]);
    }
    expect(peer.closed).toBe(false);
  });

  test('FC16: count 0, count 124 and a byte count ≠ 2 × count get ONE exception 0x03 and write nothing', async () => {
    const { server, controllers } = await serve();
    const peer = await raw(server.port);
    const before = controllers[0]!.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0];
    // count 0, byte count 0
    expect(await peer.send(mbap(1, 1, [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 0, 0]))).toEqual([{ tid: 1, unit: 1, pdu: [0x90, IllegalDataValue] }]);
    // count 1, byte count 4 (and 4 bytes): byte count must be 2 × count
    expect(await peer.send(mbap(2, 1, [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 1, 4, 0, 7, 0, 8]))).toEqual([{ tid: 2, unit: 1, pdu: [0x90, IllegalDataValue] }]);
    // count 2, byte count 2 (and 2 bytes)
    expect(await peer.send(mbap(3, 1, [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 2, 2, 0, 7]))).toEqual([{ tid: 3, unit: 1, pdu: [0x90, IllegalDataValue] }]);
    // count 1, byte count 2, but 4 data bytes: the PDU is longer than it says
    expect(await peer.send(mbap(4, 1, [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 1, 2, 0, 7, 0, 8]))).toEqual([{ tid: 4, unit: 1, pdu: [0x90, IllegalDataValue] }]);
    // count 124 > 123 with a consistent byte count of 248 would be a 255-byte MBAP length: use 124 with bc 0 instead
    expect(await peer.send(mbap(5, 1, [16, 0, 0, 0, 124, 0]))).toEqual([{ tid: 5, unit: 1, pdu: [0x90, IllegalDataValue] }]);
    expect(controllers[0]!.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0]).toBe(before);
    // A correct FC16 on the same connection: one normal reply, applied.
    expect(await peer.send(mbap(6, 1, [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 1, 2, 0, 33]))).toEqual([{ tid: 6, unit: 1, pdu: [16, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 1] }]);
    expect(controllers[0]!.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0]).toBe(33);
  });

  test('read counts 0 and 126 → 0x03, 125 past the map → 0x02; FC6 with a short PDU → 0x03', async () => {
    const { server } = await serve();
    const peer = await raw(server.port);
    expect(await peer.send(mbap(1, 1, [3, 0, 0, 0, 0]))).toEqual([{ tid: 1, unit: 1, pdu: [0x83, IllegalDataValue] }]);
    expect(await peer.send(mbap(2, 1, [4, 0, 0, 0, 126]))).toEqual([{ tid: 2, unit: 1, pdu: [0x84, IllegalDataValue] }]);
    expect(await peer.send(mbap(3, 1, [4, 0, 0, 0, 125]))).toEqual([{ tid: 3, unit: 1, pdu: [0x84, IllegalDataAddress] }]);
    expect(await peer.send(mbap(4, 1, [3, 0xff, 0xff, 0, 2]))).toEqual([{ tid: 4, unit: 1, pdu: [0x83, IllegalDataAddress] }]);
    expect(await peer.send(mbap(5, 1, [6, 0, HR_COMM_LOSS_TIMEOUT_S, 0]))).toEqual([{ tid: 5, unit: 1, pdu: [0x86, IllegalDataValue] }]);
    expect(await peer.send(mbap(6, 9, [4, 0, 0, 0, 1]))).toEqual([{ tid: 6, unit: 9, pdu: [0x84, ModbusExceptionCode.GatewayTargetFailed] }]);
  });

  test('MBAP: a PDU too short or too long for its function → 0x03 and the stream stays in step; pipelined requests answered in order', async () => {
    const { server, controllers } = await serve();
    const peer = await raw(server.port);
    const det = controllers[1]!.detectorCount;
    const read = (tid: number): Buffer => mbap(tid, 2, [4, 0, IR_DETECTOR_COUNT, 0, 1]);
    // FC4 with 2 trailing bytes (length says 8), then FC4 cut short (length says 4), then a good read: all in one write.
    const got = await peer.send(Buffer.concat([mbap(1, 2, [4, 0, IR_DETECTOR_COUNT, 0, 1, 0xaa, 0xbb]), mbap(2, 2, [4, 0, IR_DETECTOR_COUNT]), read(3), read(4)]), 4);
    expect(got).toEqual([
      { tid: 1, unit: 2, pdu: [0x84, IllegalDataValue] },
      { tid: 2, unit: 2, pdu: [0x84, IllegalDataValue] },
      { tid: 3, unit: 2, pdu: [4, 2, 0, det] },
      { tid: 4, unit: 2, pdu: [4, 2, 0, det] },
    ]);
    // A request split across writes, byte by byte, is answered once when complete.
    const split = read(5);
    for (let k = 0; k < split.length - 1; k++) expect(await peer.send(split.subarray(k, k + 1), 0, 5)).toEqual([]);
    expect(await peer.send(split.subarray(split.length - 1))).toEqual([{ tid: 5, unit: 2, pdu: [4, 2, 0, det] }]);
  });

  test('protocol id ≠ 0: discarded unanswered, the next request on the connection is read correctly', async () => {
    const { server, controllers } = await serve();
    const peer = await raw(server.port);
    const got = await peer.send(Buffer.concat([mbap(1, 1, [4, 0, IR_DETECTOR_COUNT, 0, 1], { protocolId: 1 }), mbap(2, 1, [6, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 9], { protocolId: 0x1234 }), mbap(3, 1, [4, 0, IR_DETECTOR_COUNT, 0, 1])]), 1, 150);
    expect(got).toEqual([{ tid: 3, unit: 1, pdu: [4, 2, 0, controllers[0]!.detectorCount] }]);
    expect(controllers[0]!.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)[0]).toBe(0); // the non-Modbus write was not applied
    expect(server.stats.badProtocol).toBe(2);
    expect(peer.closed).toBe(false);
  });

  test('MBAP length > 254 or < 2 closes the connection; other connections are unaffected', async () => {
    const { server } = await serve();
    const other = await raw(server.port);
    for (const length of [255, 0xffff, 1, 0]) {
      const peer = await raw(server.port);
      const got = await peer.send(mbap(1, 1, [3, 0, 0, 0, 1], { length }), 1);
      expect(got, `length ${length}`).toEqual([]);
      expect(peer.closed, `length ${length}`).toBe(true);
    }
    // FC16 of 124 registers with a consistent byte count is a 255-byte MBAP length: closed too.
    const big = await raw(server.port);
    expect(await big.send(mbap(1, 1, [16, 0, 0, 0, 124, 248, ...new Array<number>(248).fill(0)]), 1)).toEqual([]);
    expect(big.closed).toBe(true);
    expect(server.stats.badFrames).toBe(5);
    expect(await other.send(mbap(9, 1, [3, 0, HR_COMM_LOSS_TIMEOUT_S, 0, 1]))).toEqual([{ tid: 9, unit: 1, pdu: [3, 2, 0, 0] }]);
  });
});

describe('Modbus TCP connections: idle timeout and keepalive', () => {
  test('a silent or half-sent connection is closed after idleTimeoutMs; an active one is kept', async () => {
    const { server } = await serve({ idleTimeoutMs: 300 });
    const silent = await raw(server.port);
    const halfSent = await raw(server.port);
    halfSent.sock.write(mbap(1, 1, [4, 0, 0, 0, 1]).subarray(0, 5)); // a header cut short, never finished
    const junk = await raw(server.port); // only non-Modbus frames: not activity
    const active = await raw(server.port);
    const t0 = Date.now();
    while (Date.now() - t0 < 900) {
      await active.send(mbap(2, 1, [4, 0, 0, 0, 1]), 1, 0);
      junk.sock.write(mbap(3, 1, [4, 0, 0, 0, 1], { protocolId: 7 }));
      await sleep(100);
    }
    expect({ silent: silent.closed, halfSent: halfSent.closed, junk: junk.closed, active: active.closed }).toEqual({ silent: true, halfSent: true, junk: true, active: false });
    expect(server.stats.idleClosed).toBe(3);
    expect(server.connections).toBe(1);
  });

  test('the default idle timeout is 60 s and server sockets have TCP keepalive (ss shows the keepalive timer)', async () => {
    const ss = requireTool('ss');
    const { server } = await serve({ keepAliveMs: 5000 });
    const peer = await raw(server.port);
    expect(await peer.send(mbap(1, 1, [4, 0, 0, 0, 1]))).toHaveLength(1);
    const r = await run(ss, ['-tnoH', 'state', 'established', `( sport = :${server.port} )`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/timer:\(keepalive,/);
  });
});

describe('Modbus TCP connection caps', () => {
  test('a peer at its own cap loses its least recently active connection; past the total cap a new one is closed at once; the rest keep answering', async () => {
    const { server } = await serve({ maxConnections: 3, maxConnectionsPerPeer: 2 });
    const read = (tid: number) => mbap(tid, 1, [4, 0, 0, 0, 1]);
    // Peer 127.0.0.1: a1 idle, a2 active, then a3 closes a1 (a central reconnecting past its own stale sockets).
    const a1 = await raw(server.port);
    const a2 = await raw(server.port);
    expect(await a2.send(read(1))).toHaveLength(1);
    const a3 = await raw(server.port);
    await sleep(100);
    expect({ a1: a1.closed, a2: a2.closed, a3: a3.closed }).toEqual({ a1: true, a2: false, a3: false });
    // Peer 127.0.0.2 (another address on loopback): b1 fits the total of 3, b2 does not and is closed at once.
    const b1 = await raw(server.port, '127.0.0.2');
    const b2 = await raw(server.port, '127.0.0.2');
    await sleep(100);
    expect({ b1: b1.closed, b2: b2.closed }).toEqual({ b1: false, b2: true });
    expect(server.stats).toMatchObject({ evictedConnections: 1, refusedConnections: 1 });
    expect(server.connections).toBe(3);
    for (const [k, p] of [a2, a3, b1].entries()) expect(await p.send(read(10 + k)), `connection ${k}`).toHaveLength(1);
    // Options the server cannot honour are refused at start.
    await expect(ControllerServer.start([], { maxConnections: 2, maxConnectionsPerPeer: 3 })).rejects.toThrow(/maxConnectionsPerPeer 3/);
  });
});

describe('Modbus TCP backpressure', () => {
  test('a peer that sends 100,000 reads and never reads the replies does not grow the server: it is simply not read', async () => {
    const { server } = await serve();
    const sock = connect({ host: '127.0.0.1', port: server.port });
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    cleanups.push(() => {
      sock.destroy();
    });
    sock.pause(); // never read
    const N = 100_000;
    const one = mbap(0, 1, [3, 0, 0, 0, 125]); // FC3 of 125 holding registers: 12 bytes in, 259 bytes out
    const burst = Buffer.alloc(one.length * N);
    for (let k = 0; k < N; k++) {
      one.writeUInt16BE(k & 0xffff, 0);
      one.copy(burst, k * one.length);
    }
    sock.write(burst);
    // Until the server stops taking requests: all answered, or it stopped reading the peer.
    for (let last = -1, t0 = Date.now(); server.stats.requests !== last && server.stats.requests < N && Date.now() - t0 < 15_000; ) {
      last = server.stats.requests;
      await sleep(300);
    }
    // Without backpressure: ~26 MB of replies, less what the kernel buffers hold, queued in the server.
    expect(server.bufferedBytes).toBeLessThan(1 << 20);
    // Once the peer reads, every request is answered exactly once, in order.
    let bytes = 0;
    let nextTid = 0;
    let rx: Buffer = Buffer.alloc(0);
    let inOrder = true;
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      rx = rx.length ? Buffer.concat([rx, d]) : d;
      while (rx.length >= 259) {
        if (rx.readUInt16BE(0) !== (nextTid & 0xffff)) inOrder = false;
        nextTid++;
        rx = rx.subarray(259);
      }
    });
    sock.resume();
    const t0 = Date.now();
    while (bytes < N * 259 && Date.now() - t0 < 20_000) await sleep(50);
    await sleep(100);
    expect({ bytes, replies: nextTid, inOrder }).toEqual({ bytes: N * 259, replies: N, inOrder: true });
  }, 30_000);
});

describe('independent masters see exception 0x01, not a timeout', () => {
  test('pymodbus: FC 1, 2, 5, 7, 15, 17, 22, 23 each answered with exception 1, and the connection still works', async () => {
    const { server, controllers } = await serve();
    const r = await run(pymodbusPython(), [CONFORMANCE_SCRIPT, String(server.port), '1']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toEqual({ '1': 1, '2': 1, '5': 1, '7': 1, '15': 1, '17': 1, '22': 1, '23': 1, after: [controllers[0]!.detectorCount] });
  });

  test('mbpoll: reading coils (FC1) and discrete inputs (FC2), writing a coil (FC5) → "Illegal function" at once', async () => {
    const mbpoll = requireTool('mbpoll');
    const { server } = await serve();
    for (const args of [
      ['-t', '0', '-r', '1', '-c', '1'],
      ['-t', '1', '-r', '1', '-c', '1'],
      ['-t', '0', '-r', '1', '--', '1'],
    ]) {
      const t0 = Date.now();
      // A write value goes after the host: split it off the options.
      const [opts, value] = args.includes('--') ? [args.slice(0, args.indexOf('--')), args.slice(args.indexOf('--') + 1)] : [args, []];
      const r = await run(mbpoll, ['-m', 'tcp', '-a', '1', ...opts, '-1', '-o', '3', '-p', String(server.port), '127.0.0.1', ...value]);
      expect(r.stdout + r.stderr, args.join(' ')).toMatch(/Illegal function/i);
      // The exception came back at once, not after mbpoll's 3 s timeout.
      expect(Date.now() - t0, args.join(' ')).toBeLessThan(2500);
    }
  });
});
