/**
 * Modbus RTU over a real serial stack: a pty pair made by socat (started and
 * killed here), the RTU server on one end and, on the other, the engine's
 * ControllerClient (modbus-serial RTU), a raw SerialPort writing hand-made
 * frames, and mbpoll (libmodbus) as an independent master. A missing socat or
 * mbpoll FAILS these tests with an install hint.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { SerialPort } from 'serialport';
import { RtuControllerServer, rtuFrame } from './server.js';
import { ControllerClient, type RtuControllerEndpoint } from '../modbus/client.js';
import { VirtualController } from '../virtual/controller.js';
import { ControllerErrorReason } from '../errors.js';
import { crc16ModbusBytes, encodePlanBlock } from '../codec.js';
import { CommitStatus, HR_ACTIVE, IR_DETECTOR_COUNT, ModbusExceptionCode } from '../registerMap.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';
import { openPtyPair, requireTool, type PtyPair } from '../../test/fixtures/controllers/ptyPair.js';
import { reason } from '../../test/fixtures/controllers/rejection.js';

const c = demoNetwork();
const plan = demoPlan();
const other = planFromVolumes(new Float64Array(c.detectorIds.length).fill(60));
const BAUD = 38400;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function pair(): Promise<PtyPair> {
  const p = await openPtyPair();
  cleanups.push(() => p.close());
  return p;
}

async function rtuFleet(path: string, n: number, clock: { now: number }) {
  const bindings = [];
  for (let i = 0; i < n; i++) bindings.push({ unitId: i + 1, controller: new VirtualController(c, i, plan, { startS: clock.now, commLossTimeoutS: 0 }) });
  const server = await RtuControllerServer.start(bindings, { path, baudRate: BAUD, clock: () => clock.now });
  cleanups.push(() => server.close());
  return { server, bindings };
}

function rtuClient(path: string, units: number[], opts: ConstructorParameters<typeof ControllerClient>[2] = {}): ControllerClient {
  const endpoints: RtuControllerEndpoint[] = units.map((u) => ({ transport: 'rtu', unitId: u, intersection: u - 1, path, baudRate: BAUD }));
  const cl = new ControllerClient(c, endpoints, { timeoutMs: 400, connectTimeoutMs: 1000, retries: 1, backoffMs: 20, ...opts });
  cleanups.push(() => cl.close());
  return cl;
}

/** A raw serial port on one end of the pair: write frames, collect whatever comes back. */
async function rawPort(path: string) {
  const port = new SerialPort({ path, baudRate: BAUD, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  cleanups.push(() => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())));
  let rx = Buffer.alloc(0);
  port.on('data', (d: Buffer) => {
    rx = Buffer.concat([rx, d]);
  });
  return {
    port,
    /** Sends `frame`, then waits until `expect` bytes arrived or `ms` passed; returns what arrived. */
    async exchange(frame: Buffer, expectBytes: number, ms = 600): Promise<Buffer> {
      rx = Buffer.alloc(0);
      port.write(frame);
      const deadline = Date.now() + ms;
      while (rx.length < expectBytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return rx;
    },
    take(): Buffer {
      const out = rx;
      rx = Buffer.alloc(0);
      return out;
    },
  };
}

function crcValid(frame: Buffer): boolean {
  return frame.length >= 4 && frame.readUInt16LE(frame.length - 2) === crc16ModbusBytes(frame.subarray(0, frame.length - 2));
}

describe('Modbus RTU over a pty pair', () => {
  test('push → commit → read back, plan active at cycle zero, detector poll: the TCP client over RTU', async () => {
    const { a, b } = await pair();
    const clock = { now: 100 };
    const { server, bindings } = await rtuFleet(a, 3, clock);
    const cl = rtuClient(b, [1, 2, 3]);
    // Parallel calls on one serial line are queued, one request at a time.
    const pushed = await Promise.all([1, 2, 3].map((u) => cl.pushPlan(u, other)));
    for (const r of pushed) expect(r).toMatchObject({ planId: 1, state: 'pending', attempts: 1 });
    clock.now += 200;
    for (const u of [1, 2, 3]) {
      const st = await cl.readStatus(u);
      expect(st).toMatchObject({ activePlanId: 1, pendingPlanId: 0, commitStatus: CommitStatus.Active, mode: 0, faults: 0 });
      const active = await cl.readActivePlan(u);
      expect([...active]).toEqual([...encodePlanBlock(c, u - 1, other, 1)]);
    }
    // Detectors: counts added on the controller come back in one FC4 poll.
    const vc = bindings[1]!.controller;
    expect(vc.detectorCount).toBeGreaterThan(0);
    const first = await cl.pollDetectors(2);
    expect(first).toMatchObject({ first: true, missedPolls: 0 });
    vc.addDetectorCounts(0, 7);
    clock.now += 30;
    const poll = await cl.pollDetectors(2);
    expect(poll).toMatchObject({ unitId: 2, first: false, missedPolls: 0, seq: first.seq + 1 });
    expect(poll.volumes[0]).toBe(7);
    expect(poll.volumes.length).toBe(vc.detectorCount);
    expect(server.stats.crcErrors).toBe(0);
    // A refused plan comes back as PLAN_REJECTED over RTU too (CRC register wrong → CrcMismatch).
    await cl.writeHolding(1, 0, [...encodePlanBlock(c, 0, plan, 9)]);
    await cl.writeHolding(1, 69, [0x1234]);
    await cl.writeHolding(1, 70, [1]);
    expect((await cl.readHolding(1, 70, 1))[0]).toBe(CommitStatus.CrcMismatch);
    expect((await cl.readHolding(1, HR_ACTIVE, 1))[0]).toBe(1);
  });

  test('a frame with a corrupted CRC is ignored; exceptions, silent foreign units and broadcast writes', async () => {
    const { a, b } = await pair();
    const clock = { now: 50 };
    const { server, bindings } = await rtuFleet(a, 2, clock);
    const raw = await rawPort(b);
    // FC4, unit 1, input register IR_DETECTOR_COUNT, one register.
    const good = rtuFrame([1, 4, 0, IR_DETECTOR_COUNT, 0, 1]);
    const corrupted = Buffer.from(good);
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 0x5a;
    expect(await raw.exchange(corrupted, 1, 400)).toHaveLength(0);
    expect(server.stats.crcErrors).toBe(1);
    // A payload bit flipped (CRC no longer matches) is not executed either: nothing is written.
    const write = rtuFrame([1, 6, 0, 71, 0, 99]); // comm-loss timeout := 99 s
    const flipped = Buffer.from(write);
    flipped[5] = flipped[5]! ^ 0x01;
    expect(await raw.exchange(flipped, 1, 400)).toHaveLength(0);
    expect(server.stats.crcErrors).toBe(2);
    expect(bindings[0]!.controller.readHolding(71, 1)[0]).toBe(0);
    // The line recovers after the silence: the intact frame is answered with a valid CRC.
    const reply = await raw.exchange(good, 7);
    expect(crcValid(reply)).toBe(true);
    expect([...reply.subarray(0, 5)]).toEqual([1, 4, 2, 0, bindings[0]!.controller.detectorCount]);
    // Exceptions: address outside the map (0x02: 405..414, the map ends at 407), too many registers (0x03), unknown function (0x01).
    const badAddr = await raw.exchange(rtuFrame([1, 3, 1, 0x95, 0, 10]), 5);
    expect(crcValid(badAddr)).toBe(true);
    expect([...badAddr.subarray(0, 3)]).toEqual([1, 0x83, ModbusExceptionCode.IllegalDataAddress]);
    const tooMany = await raw.exchange(rtuFrame([2, 4, 0, 0, 0, 126]), 5);
    expect([...tooMany.subarray(0, 3)]).toEqual([2, 0x84, ModbusExceptionCode.IllegalDataValue]);
    const badFc = await raw.exchange(rtuFrame([2, 0x41, 0, 0]), 5);
    expect(crcValid(badFc)).toBe(true);
    expect([...badFc.subarray(0, 3)]).toEqual([2, 0xc1, ModbusExceptionCode.IllegalFunction]);
    // A unit nobody here serves: silence (another slave on the bus may own it).
    expect(await raw.exchange(rtuFrame([77, 4, 0, 0, 0, 1]), 1, 300)).toHaveLength(0);
    expect(server.stats.foreignUnits).toBe(1);
    // Broadcast (unit 0) write: applied by every unit, never answered.
    expect(await raw.exchange(rtuFrame([0, 6, 0, 71, 0, 42]), 1, 300)).toHaveLength(0);
    expect(bindings.map((x) => x.controller.readHolding(71, 1)[0])).toEqual([42, 42]);
    // FC16 over RTU, read back with FC3.
    const fc16 = await raw.exchange(rtuFrame([2, 16, 0, 71, 0, 1, 2, 0, 30]), 8);
    expect([...fc16.subarray(0, 6)]).toEqual([2, 16, 0, 71, 0, 1]);
    const fc3 = await raw.exchange(rtuFrame([2, 3, 0, 71, 0, 1]), 7);
    expect([...fc3.subarray(0, 5)]).toEqual([2, 3, 2, 0, 30]);
  });

  test('unsupported function codes 0, 1, 2, 5, 7, 15, 17 → exactly one exception 0x01; FC16 count 0 or a wrong byte count → one 0x03', async () => {
    const { a, b } = await pair();
    const clock = { now: 50 };
    const { bindings } = await rtuFleet(a, 1, clock);
    const raw = await rawPort(b);
    const requests: number[][] = [[0], [1, 0, 0, 0, 1], [2, 0, 0, 0, 1], [5, 0, 0, 0xff, 0], [7], [15, 0, 0, 0, 2, 1, 1], [17]];
    for (const [fc, ...body] of requests) {
      await raw.exchange(rtuFrame([1, fc!, ...body]), 5);
      await new Promise((r) => setTimeout(r, 80)); // a second reply would arrive meanwhile
      const all = raw.take(); // everything received since the request went out
      expect([...all], `FC ${fc}`).toEqual([...rtuFrame([1, (fc! | 0x80) & 0xff, ModbusExceptionCode.IllegalFunction])]);
    }
    for (const body of [
      [16, 0, 71, 0, 0, 0],
      [16, 0, 71, 0, 1, 4, 0, 7, 0, 8],
      [16, 0, 71, 0, 2, 2, 0, 7],
    ]) {
      await raw.exchange(rtuFrame([1, ...body]), 5);
      await new Promise((r) => setTimeout(r, 80));
      const all = raw.take();
      expect([...all], body.join(' ')).toEqual([...rtuFrame([1, 0x90, ModbusExceptionCode.IllegalDataValue])]);
    }
    expect(bindings[0]!.controller.readHolding(71, 1)[0]).toBe(0);
  });

  test('the client rejects a reply with a bad CRC and never takes its data', async () => {
    const { a, b } = await pair();
    // A faulty device on the line: answers every FC4 with the right length and a broken CRC.
    const device = await rawPort(a);
    let replies = 0;
    device.port.on('data', () => {
      const req = device.take();
      if (req.length < 8) return;
      const count = req.readUInt16BE(4);
      const body = [req[0]!, 4, count * 2, ...new Array<number>(count * 2).fill(0x11)];
      const frame = rtuFrame(body);
      frame[frame.length - 2] = frame[frame.length - 2]! ^ 0xff;
      replies++;
      device.port.write(frame);
    });
    const cl = rtuClient(b, [1], { retries: 1 });
    const t0 = Date.now();
    const err = await reason(cl.readStatus(1));
    expect(err.reason).toBe(ControllerErrorReason.BadFrame);
    expect(err.transient).toBe(true);
    expect(replies).toBe(2); // first attempt + one retry
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test('timeouts do not hang: silent unit, no server on the line, then the same client recovers', async () => {
    const { a, b } = await pair();
    const cl = rtuClient(b, [1, 2], { timeoutMs: 250, retries: 1, breakerFailures: 100 });
    // Nobody listens on the other end yet.
    let t0 = Date.now();
    let err = await reason(cl.readStatus(1));
    expect(err.reason).toBe(ControllerErrorReason.Timeout);
    expect(Date.now() - t0).toBeLessThan(2500);
    // A server that serves unit 1 only: unit 2 stays silent and times out, unit 1 answers on the same port.
    const clock = { now: 10 };
    const bindings = [{ unitId: 1, controller: new VirtualController(c, 0, plan, { startS: 10, commLossTimeoutS: 0 }) }];
    const server = await RtuControllerServer.start(bindings, { path: a, baudRate: BAUD, clock: () => clock.now });
    cleanups.push(() => server.close());
    t0 = Date.now();
    err = await reason(cl.readStatus(2));
    expect(err.reason).toBe(ControllerErrorReason.Timeout);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(server.stats.foreignUnits).toBe(2);
    const st = await cl.readStatus(1);
    expect(st).toMatchObject({ activePlanId: 0, mode: 0 });
  });

  test('mbpoll (libmodbus, RTU) reads the status block and writes a register', async () => {
    const mbpoll = requireTool('mbpoll');
    const { a, b } = await pair();
    const clock = { now: 20 };
    const { bindings } = await rtuFleet(a, 2, clock);
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(mbpoll, args, { timeout: 15_000 }, (e, stdout, stderr) => resolve({ code: e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : -1) : 0, stdout: String(stdout), stderr: String(stderr) }));
      });
    const common = ['-m', 'rtu', '-b', String(BAUD), '-P', 'none', '-0', '-1', '-o', '2'];
    const read = await run([...common, '-a', '2', '-t', '3', '-r', '0', '-c', '16', b]);
    expect(read.code, read.stderr + read.stdout).toBe(0);
    const values = new Map<number, number>();
    for (const m of read.stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) values.set(Number(m[1]), Number(m[2]));
    expect(values.get(IR_DETECTOR_COUNT)).toBe(bindings[1]!.controller.detectorCount);
    const wr = await run([...common, '-a', '1', '-t', '4', '-r', '71', b, '17']);
    expect(wr.code, wr.stderr + wr.stdout).toBe(0);
    expect(bindings[0]!.controller.readHolding(71, 1)[0]).toBe(17);
  });
});
