/**
 * The event-log read-out over a real Modbus TCP socket: a virtual controller serving its
 * log (VirtualController.serveEventLog, ../virtual/eventFifo.ts) and central's poller
 * (./eventPoller.ts). The reference is a twin controller driven identically that keeps its
 * log in memory (recordEvents): what the poller collects must be exactly that log, in order,
 * each event once; a poller that falls behind the FIFO must report the gap's exact size; a
 * power-up (new log id) must be seen as a restart.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ControllerServer } from './server.js';
import { ControllerClient, type ControllerEndpoint } from './client.js';
import { EventLogPoller } from './eventPoller.js';
import { VirtualController } from '../virtual/controller.js';
import { EV_BLOCK_LENGTH, EV_LOG_ID, EV_WINDOW_RECORDS, HR_EV_CURSOR, HR_EVENTS, HR_TOD_NOW_PLAN_ID, ModbusExceptionCode } from '../registerMap.js';
import { demoNetwork, demoPlan } from '../../test/fixtures/controllers/demo.js';
import { reason } from '../../test/fixtures/controllers/rejection.js';
import type { WireEvent } from '../eventWindow.js';

const c = demoNetwork();
const plan = demoPlan();
const EPOCH_MS = Date.UTC(2026, 0, 1);
const I = 1;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function serve(controller: VirtualController, port = 0): Promise<ControllerServer> {
  const server = await ControllerServer.start([{ unitId: 1, controller }], { port });
  cleanups.push(() => server.close());
  return server;
}

function client(port: number): ControllerClient {
  const endpoints: ControllerEndpoint[] = [{ unitId: 1, intersection: I, host: '127.0.0.1', port }];
  const cl = new ControllerClient(c, endpoints, { timeoutMs: 500, connectTimeoutMs: 500, retries: 1, breakerFailures: 1000 });
  cleanups.push(() => cl.close());
  return cl;
}

/** Drives a controller (and its twin) through the same clock and detector inputs. */
function drive(vs: readonly VirtualController[], fromS: number, toS: number): void {
  for (let t = fromS; t < toS; t += 0.5) {
    for (const v of vs) {
      v.tick(t);
      if (Math.round(t * 2) % 7 === 0) v.addDetectorCounts(Math.round(t) % v.detectorCount, 1);
    }
  }
}

/** The twin's log as wire events (sequence = position), after its pending detector-offs up to `tS`. */
function reference(twin: VirtualController, tS: number): Omit<WireEvent, 'seq'>[] {
  const log = twin.recordEvents();
  log.flush(tS);
  return log.events.records().map((r) => ({ timestampMs: r.timestampMs, eventCode: r.eventCode, eventParam: r.eventParam }));
}
const strip = (es: readonly WireEvent[]) => es.map(({ timestampMs, eventCode, eventParam }) => ({ timestampMs, eventCode, eventParam }));

describe('event log over Modbus', () => {
  test('the poller collects exactly the twin log, in order, once, with consecutive sequences', async () => {
    const v = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const twin = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    v.serveEventLog({ epochMs: EPOCH_MS, capacity: 4096 });
    twin.recordEvents({ epochMs: EPOCH_MS });
    const server = await serve(v);
    const poller = new EventLogPoller(client(server.port));
    const got: WireEvent[] = [];
    let t = 0;
    for (let round = 0; round < 6; round++) {
      drive([v, twin], t, t + 60);
      t += 60;
      for (;;) {
        const p = await poller.poll(1, 4);
        expect(p.gaps).toEqual([]);
        expect(p.restarted).toBe(false);
        got.push(...p.events);
        if (p.backlog === 0) break;
      }
    }
    const ref = reference(twin, t - 0.5);
    expect(ref.length).toBeGreaterThan(200);
    expect(strip(got)).toEqual(ref);
    expect(got.map((e) => e.seq)).toEqual(ref.map((_, k) => k));
    // Nothing new: an empty poll, the cursor where it was.
    const idle = await poller.poll(1);
    expect(idle.events).toEqual([]);
    expect(poller.cursor(1)).toBe(ref.length);
  });

  test('falling behind the FIFO: the gap is reported with its exact size, then reading goes on', async () => {
    const v = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const twin = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const fifo = v.serveEventLog({ epochMs: EPOCH_MS, capacity: 64 });
    expect(fifo.capacity).toBe(64);
    twin.recordEvents({ epochMs: EPOCH_MS });
    const server = await serve(v);
    const poller = new EventLogPoller(client(server.port));
    drive([v, twin], 0, 20);
    const first = await poller.poll(1, 100);
    expect(first.gaps).toEqual([]);
    drive([v, twin], 20, 400);
    const second = await poller.poll(1, 100);
    // Unread and pushed out of the ring: from what the first poll read up to the oldest held
    // (the read drained the last tick's events; no clock ticks the controller after it).
    const lost = fifo.oldestSeq - first.events.length;
    expect(lost).toBeGreaterThan(0);
    expect(second.lost).toBe(lost);
    expect(second.gaps).toEqual([{ fromSeq: poller.cursor(1)! - second.events.length - lost, toSeq: poller.cursor(1)! - second.events.length }]);
    // What was read is the twin's log with the lost stretch cut out, exactly.
    const ref = reference(twin, 399.5);
    const kept = [...first.events, ...second.events];
    expect(strip(kept)).toEqual([...ref.slice(0, first.events.length), ...ref.slice(first.events.length + lost)]);
    expect(kept.length + lost).toBe(ref.length);
  });

  test('resume: a new poller handed a kept position reads on from it; one overwritten meanwhile is a gap', async () => {
    const v = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const twin = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const fifo = v.serveEventLog({ epochMs: EPOCH_MS, capacity: 200, logId: 21 });
    twin.recordEvents({ epochMs: EPOCH_MS });
    const server = await serve(v);
    const cl = client(server.port);
    const first = new EventLogPoller(cl);
    drive([v, twin], 0, 60);
    const a = await first.poll(1, 1000);
    expect(first.position(1)).toEqual({ logId: 21, cursor: a.events.length });
    // A later process, told where the first one stopped: the rest of the log, each event once.
    drive([v, twin], 60, 90);
    const second = new EventLogPoller(cl);
    second.resume(1, 21, a.events.length);
    const b = await second.poll(1, 1000);
    expect(b.restarted).toBe(false);
    expect(b.gaps).toEqual([]);
    expect(b.startSeq).toBe(a.events.length);
    const ref = reference(twin, 89.5);
    expect(strip([...a.events, ...b.events])).toEqual(ref);
    // Resumed at a position the FIFO has overwritten since: the gap, exactly, then the rest.
    drive([v, twin], 90, 600);
    const third = new EventLogPoller(cl);
    third.resume(1, 21, second.cursor(1)!);
    const d = await third.poll(1, 1000);
    expect(d.gaps).toEqual([{ fromSeq: second.cursor(1)!, toSeq: fifo.oldestSeq }]);
    expect(d.events[0]!.seq).toBe(fifo.oldestSeq);
    expect(() => third.resume(1, 0, 5)).toThrow(/log id 0 must be 1\.\.65535/);
    expect(() => third.resume(1, 21, -1)).toThrow(/sequence -1/);
  });

  test('a power-up (new log id) is a restart: reading starts again at the new log', async () => {
    const v1 = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    v1.serveEventLog({ epochMs: EPOCH_MS, logId: 11 });
    const s1 = await serve(v1);
    const port = s1.port;
    const cl = client(port);
    const poller = new EventLogPoller(cl);
    drive([v1], 0, 120);
    const a = await poller.poll(1, 1000);
    expect(a.events.length).toBeGreaterThan(0);
    await s1.close();
    const v2 = new VirtualController(c, I, plan, { commLossTimeoutS: 0, startS: 1000 });
    v2.serveEventLog({ epochMs: EPOCH_MS, logId: 12 });
    await serve(v2, port);
    drive([v2], 1000, 1100);
    let b = await poller.poll(1, 1000).catch(() => undefined);
    // The first request after the server came back may find the old connection dead.
    b ??= await poller.poll(1, 1000);
    expect(b.restarted).toBe(true);
    expect(b.logId).toBe(12);
    expect(b.gaps).toEqual([]);
    expect(b.events[0]!.seq).toBe(0);
    expect(b.events[0]!.timestampMs).toBeGreaterThanOrEqual(EPOCH_MS + 1000_000);
  });

  test('register level: one read of the block, log id 0 without a log, the cursor written whole', async () => {
    const off = new VirtualController(c, I, plan, { commLossTimeoutS: 0 });
    const server = await serve(off);
    const cl = client(server.port);
    expect(EV_BLOCK_LENGTH).toBeLessThanOrEqual(125);
    const block = await cl.readHolding(1, HR_EVENTS, EV_BLOCK_LENGTH);
    expect(block.every((x) => x === 0)).toBe(true);
    expect((await reason(cl.writeHolding(1, HR_EV_CURSOR, [0, 5]))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataAddress);
    const fifo = off.serveEventLog({ logId: 7 });
    // A read across the time-of-day register and into the block is one snapshot of both.
    const across = await cl.readHolding(1, HR_TOD_NOW_PLAN_ID, 1 + EV_LOG_ID + 1);
    expect(across[1 + EV_LOG_ID]).toBe(7);
    expect((await reason(cl.writeHolding(1, HR_EV_CURSOR + 1, [3]))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataValue);
    for (let k = 0; k < 30; k++) fifo.append(EPOCH_MS + k * 100, 82, 1 + (k % 3));
    const w = await cl.readEventWindow(1, 5);
    expect(w).toMatchObject({ logId: 7, oldestSeq: 0, nextSeq: 30, cursor: 5, windowSeq: 5 });
    expect(w.events).toHaveLength(EV_WINDOW_RECORDS);
    expect(w.events[0]).toEqual({ seq: 5, timestampMs: EPOCH_MS + 500, eventCode: 82, eventParam: 3 });
    // A cursor past the end: an empty window at the next sequence.
    expect(await cl.readEventWindow(1, 99)).toMatchObject({ cursor: 99, windowSeq: 30, events: [] });
  });
});
