/**
 * Resource governance over a real gRPC server (issue 11 item 4): authentication
 * before any lookup on every RPC, the health-watch budget, request ownership and
 * the emergency role, the caps (open requests, streams and calls per client, watch
 * ids and interval), backpressure on server streams, and Replan off the event loop.
 * Needs the compiled dist/ (the Replan worker loads dist/service/replanWorker.js).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { rawCall, rawSession } from '../test/fixtures/grpc/rawGrpc.js';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
type Ctor = new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => Client;
const pkgDef = loadProtos();
const pkg = grpc.loadPackageDefinition(pkgDef) as unknown as { greenwave: { v1: Record<string, Ctor> }; grpc: { health: { v1: { Health: Ctor } } } };
const insecure = grpc.credentials.createInsecure();
const T0 = 150 * 12_000_000;

const md = (token?: string): grpc.Metadata => {
  const m = new grpc.Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
};
function unary(client: Client, method: string, req: object, meta: grpc.Metadata, timeoutMs = 5000): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, meta, { deadline: Date.now() + timeoutMs }, (err, res) => resolve({ err, res })));
}
const busReq = (vehicle: string, extra: object = {}): object => ({ vehicle_id: vehicle, route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS', ...extra });
/** First message or final status of a server stream. */
function firstOf(call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>): Promise<{ data?: Record<string, unknown>; code?: number; details?: string }> {
  return new Promise((resolve) => {
    call.on('data', (d: Record<string, unknown>) => resolve({ data: d }));
    call.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
}
/** CPU time of the calling thread (utime + stime), ms; Linux. */
const threadCpuMs = (): number => {
  const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

let now = T0 + 90;
let srv: RunningServer;
let addr: string;
beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, shutdownGraceMs: 500 });
  addr = `127.0.0.1:${srv.port}`;
});
afterAll(async () => {
  await srv?.close();
});

describe('authentication comes before any lookup', () => {
  test('every greenwave RPC, with no token and with a bad token, is UNAUTHENTICATED (never NOT_FOUND / INVALID_ARGUMENT)', async () => {
    // A request that would fail every lookup and validation if the server got that far.
    const hostile = { car_park_id: 'NOPE', car_park_ids: ['NOPE'], intersection_id: 'NOPE', intersection_ids: Array.from({ length: 50 }, () => 'NOPE'), interval_s: 0.001, corridor_id: 'NOPE', vehicle_id: '', at: '99:99', gtfs_realtime_feed: Buffer.from('junk') };
    const methods = Object.entries(pkgDef).filter(([name]) => name.startsWith('greenwave.v1.') && name.endsWith('Service'));
    let walked = 0;
    for (const [svcName, def] of methods) {
      const client = new pkg.greenwave.v1[svcName.split('.').pop()!]!(addr, insecure);
      for (const [method, m] of Object.entries(def as Record<string, { requestStream: boolean; responseStream: boolean }>)) {
        for (const token of [undefined, 'not-a-real-token']) {
          let code: number | undefined;
          let details = '';
          if (!m.requestStream && !m.responseStream) {
            const { err } = await unary(client, method, hostile, md(token));
            code = err?.code;
            details = err?.details ?? '';
          } else if (!m.requestStream) {
            const r = await firstOf((client[method] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)(hostile, md(token)));
            code = r.code;
            details = r.details ?? '';
          } else if (!m.responseStream) {
            // A client stream (ReportOccupancy): the status comes to the callback.
            const r = await new Promise<grpc.ServiceError | null>((resolve) => {
              const call = (client[method] as (m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object>)(md(token), (e) => resolve(e));
              call.write({ car_park_id: 'NOPE', occupied: 1 });
              call.end();
            });
            code = r?.code;
            details = r?.details ?? '';
          } else {
            const call = (client[method] as (m: grpc.Metadata) => grpc.ClientDuplexStream<object, unknown>)(md(token));
            call.write({ correlation_id: 'x', cancel: { vehicle_id: 'v', intersection_id: 'NOPE' } });
            const r = await firstOf(call);
            code = r.code;
            details = r.details ?? '';
          }
          expect({ rpc: `${svcName}/${method}`, token, code: grpc.status[code ?? -1] ?? code }).toEqual({ rpc: `${svcName}/${method}`, token, code: 'UNAUTHENTICATED' });
          expect(details).not.toMatch(/NOPE|intersection/);
          walked++;
        }
      }
      client.close();
    }
    expect(walked).toBe(2 * 41); // 5 + 1 + 4 + 16 + 3 + 6 (parking) + 6 (traffic) RPCs in proto/greenwave/v1
  });
});

describe('caps answered with RESOURCE_EXHAUSTED / INVALID_ARGUMENT naming the limit', () => {
  test('WatchSignalState: 20,000 repeated ids refused; ids de-duplicated; the shortest interval', async () => {
    const spat = new pkg.greenwave.v1['SignalStateService']!(addr, insecure);
    const watch = (req: object): grpc.ClientReadableStream<unknown> => (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)(req, md('viewer-secret-1'));
    const many = await firstOf(watch({ intersection_ids: Array.from({ length: 20_000 }, () => 'I1'), interval_s: 0.1 }));
    expect(many).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "intersection_ids: 20000 ids given; at most 10 (the network's size)" });
    const fast = await firstOf(watch({ intersection_ids: ['I1'], interval_s: 0.05 }));
    expect(fast.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(fast.details).toMatch(/^interval_s: .*0\.1 \(limit minWatchIntervalS\)/);
    // Duplicates are sent once per tick.
    const call = watch({ intersection_ids: ['I3', 'I1', 'I3', 'I1', 'I3'], interval_s: 0.2 });
    const ids: string[] = [];
    await new Promise<void>((resolve) =>
      call.on('data', (m: Record<string, unknown>) => {
        ids.push(m['intersection_id'] as string);
        if (ids.length === 4) resolve();
      }),
    );
    call.on('error', () => undefined);
    call.cancel();
    expect(ids).toEqual(['I3', 'I1', 'I3', 'I1']);
    spat.close();
  });

  test('open priority requests per client and in total; updates of open ones still pass', async () => {
    const s = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, shutdownGraceMs: 500, limits: { maxOpenRequestsPerClient: 3, maxOpenRequests: 5 } });
    const bus = new pkg.greenwave.v1['BusPriorityService']!(`127.0.0.1:${s.port}`, insecure);
    try {
      for (const v of ['a1', 'a2', 'a3']) expect((await unary(bus, 'RequestPriority', busReq(v), md('dispatch-secret-1'))).err).toBeNull();
      const over = await unary(bus, 'RequestPriority', busReq('a4'), md('dispatch-secret-1'));
      expect(over.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(over.err?.details).toBe('client "bus-dispatch" has 3 open priority requests (limit maxOpenRequestsPerClient 3); cancel some first');
      expect((await unary(bus, 'RequestPriority', busReq('a2', { eta_s: 12 }), md('dispatch-secret-1'))).err).toBeNull();
      expect((await unary(bus, 'UpdatePriority', busReq('a3', { eta_s: 14 }), md('dispatch-secret-1'))).err).toBeNull();
      for (const v of ['b1', 'b2']) expect((await unary(bus, 'RequestPriority', busReq(v), md('dispatch-secret-2'))).err).toBeNull();
      const total = await unary(bus, 'RequestPriority', busReq('b3'), md('dispatch-secret-2'));
      expect(total.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(total.err?.details).toBe('5 open priority requests in all (limit maxOpenRequests 5)');
      expect((await unary(bus, 'CancelPriority', { vehicle_id: 'a1', intersection_id: 'I1' }, md('dispatch-secret-1'))).err).toBeNull();
      expect((await unary(bus, 'RequestPriority', busReq('b3'), md('dispatch-secret-2'))).err).toBeNull();
      expect(s.state.tsp.openCount).toBe(5);
    } finally {
      bus.close();
      await s.close();
    }
  });

  test('streams and calls per client', async () => {
    const s = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, shutdownGraceMs: 500, limits: { maxStreamsPerClient: 2, maxCallsPerClient: 1 } });
    const a = `127.0.0.1:${s.port}`;
    const spat = new pkg.greenwave.v1['SignalStateService']!(a, insecure);
    const timing = new pkg.greenwave.v1['TimingService']!(a, insecure);
    const watch = (token: string): grpc.ClientReadableStream<unknown> => (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ intersection_ids: ['I1'], interval_s: 5 }, md(token));
    try {
      const open = [watch('viewer-secret-1'), watch('viewer-secret-1')];
      for (const c of open) expect((await firstOf(c)).data).toBeDefined();
      const third = await firstOf(watch('viewer-secret-1'));
      expect(third).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'client "dashboard" has 2 streams open (limit maxStreamsPerClient 2)' });
      const other = watch('dispatch-secret-1');
      expect((await firstOf(other)).data).toBeDefined(); // another client is not affected
      for (const c of [...open, other]) {
        c.on('error', () => undefined);
        c.cancel();
      }
      // Replan is asynchronous: a second concurrent call by the same operator is over maxCallsPerClient 1.
      const first = unary(timing, 'Replan', { at: '17:45' }, md('operator-secret-1'), 20_000);
      await new Promise((r) => setTimeout(r, 50));
      const second = await unary(timing, 'Replan', { at: '17:45' }, md('operator-secret-1'));
      expect(second.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(second.err?.details).toBe('client "tmc-operator" has 1 calls in flight (limit maxCallsPerClient 1)');
      expect((await first).err).toBeNull();
    } finally {
      spat.close();
      timing.close();
      await s.close();
    }
  });
});

describe('ownership and the emergency role', () => {
  test('only the client that made a request, or an operator, may update or cancel it; EMERGENCY needs the emergency role', async () => {
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, insecure);
    try {
      now = T0 + 90;
      expect((await unary(bus, 'RequestPriority', busReq('own-1'), md('dispatch-secret-1'))).err).toBeNull();
      const i1 = srv.state.intersection('I1', 'test');
      for (const [method, req] of [
        ['CancelPriority', { vehicle_id: 'own-1', intersection_id: 'I1' }],
        ['UpdatePriority', busReq('own-1', { eta_s: 20 })],
        ['RequestPriority', busReq('own-1', { eta_s: 20 })],
      ] as const) {
        const r = await unary(bus, method, req, md('dispatch-secret-2'));
        expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(r.err?.details).toBe('vehicle_id: the open request of vehicle "own-1" at I1 was made by another client; only it or an operator may change it');
      }
      expect(srv.state.tsp.hasOpen('own-1', i1)).toBe(true);
      // The same through PriorityStream.
      const stream = (bus['PriorityStream'] as (m: grpc.Metadata) => grpc.ClientDuplexStream<object, Record<string, unknown>>)(md('dispatch-secret-2'));
      stream.write({ correlation_id: 's1', cancel: { vehicle_id: 'own-1', intersection_id: 'I1' } });
      const sr = (await firstOf(stream)).data!;
      expect(sr['error']).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      stream.end();
      // An operator may cancel anyone's request.
      const op = await unary(bus, 'CancelPriority', { vehicle_id: 'own-1', intersection_id: 'I1' }, md('operator-secret-1'));
      expect(op.err).toBeNull();
      expect(srv.state.tsp.hasOpen('own-1', i1)).toBe(false);
      // EMERGENCY: a dispatch token without the emergency role is refused, nothing opens.
      const em = busReq('fire-1', { priority_class: 'PRIORITY_CLASS_EMERGENCY' });
      const denied = await unary(bus, 'RequestPriority', em, md('dispatch-secret-1'));
      expect(denied.err?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied.err?.details).toBe('client "bus-dispatch" lacks the "emergency" role: priority_class: PRIORITY_CLASS_EMERGENCY (preemption) needs it');
      expect(srv.state.tsp.hasOpen('fire-1', i1)).toBe(false);
      const ok = await unary(bus, 'RequestPriority', em, md('emergency-secret-1'));
      expect(ok.err).toBeNull();
      expect(ok.res['reason']).not.toBe('REASON_CODE_UNSPECIFIED');
      expect((await unary(bus, 'CancelPriority', { vehicle_id: 'fire-1', intersection_id: 'I1' }, md('emergency-secret-1'))).err).toBeNull();
    } finally {
      bus.close();
    }
  });
});

describe('health watches have a budget of their own', () => {
  test('4,096 unauthenticated Health/Watch streams open: authenticated streams (an EMERGENCY PriorityStream too) are served', async () => {
    // Four HTTP/2 connections of 1,024 watches each (own subchannels, so really four connections).
    const conns = Array.from({ length: 4 }, () => new pkg.grpc.health.v1.Health(addr, insecure, { 'grpc.use_local_subchannel_pool': 1 }));
    const watches: grpc.ClientReadableStream<unknown>[] = [];
    const serving: Promise<unknown>[] = [];
    for (let k = 0; k < 4096; k++) {
      const w = (conns[k % 4]!['Watch'] as (r: object) => grpc.ClientReadableStream<Record<string, unknown>>)({ service: '' });
      w.on('error', () => undefined);
      serving.push(new Promise((resolve) => w.once('data', resolve)));
      watches.push(w);
    }
    const first = (await Promise.all(serving)) as Record<string, unknown>[];
    expect(first.every((m) => m['status'] === 'SERVING')).toBe(true);
    expect(srv.governance.stats().healthWatches).toBe(4096);
    // One more is over the health budget, and says so.
    const extra = await firstOf((conns[0]!['Watch'] as (r: object) => grpc.ClientReadableStream<unknown>)({ service: '' }));
    expect(extra).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'more than 4096 health watches open (limit maxHealthWatches)' });

    const spat = new pkg.greenwave.v1['SignalStateService']!(addr, insecure);
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, insecure);
    const w = (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ intersection_ids: ['I2'] }, md('viewer-secret-1'));
    expect((await firstOf(w)).data?.['intersection_id']).toBe('I2');
    now = T0 + 90;
    const ps = (bus['PriorityStream'] as (m: grpc.Metadata) => grpc.ClientDuplexStream<object, Record<string, unknown>>)(md('emergency-secret-1'));
    ps.write({ correlation_id: 'e1', request: busReq('ambulance-1', { intersection_id: 'I4', priority_class: 'PRIORITY_CLASS_EMERGENCY' }) });
    const reply = (await firstOf(ps)).data!;
    expect(reply['correlation_id']).toBe('e1');
    expect(reply['response']).toBeDefined();
    ps.write({ correlation_id: 'e2', cancel: { vehicle_id: 'ambulance-1', intersection_id: 'I4' } });
    ps.end();
    await new Promise((r) => ps.on('status', r));
    for (const x of [w, ...watches]) {
      x.on('error', () => undefined);
      x.cancel();
    }
    spat.close();
    bus.close();
    for (const c of conns) c.close();
    for (let k = 0; k < 50 && srv.governance.stats().healthWatches > 0; k++) await new Promise((r) => setTimeout(r, 100));
    expect(srv.governance.stats().healthWatches).toBe(0);
  }, 30_000);
});

describe('server streams respect backpressure', () => {
  test('a viewer that never reads is held to the latest state: ticks are skipped, not buffered; a reader catches up', async () => {
    const before = { ...srv.governance.pacing };
    const session = rawSession(srv.port, 4096);
    const slow = rawCall(session, 'greenwave.v1.SignalStateService/WatchSignalState', { interval_s: 0.1 }, 'viewer-secret-1');
    await new Promise((r) => setTimeout(r, 2500));
    const skipped = srv.governance.pacing.skippedTicks - before.skippedTicks;
    // 25 ticks went by; what the window and the stream's buffers take is a few rounds: the rest were not written.
    expect(skipped).toBeGreaterThanOrEqual(15);
    // Once the client reads, the stream drains and the latest state is sent.
    slow.stream.on('data', () => undefined);
    slow.stream.resume();
    await new Promise((r) => setTimeout(r, 500));
    expect(srv.governance.pacing.catchUps).toBeGreaterThan(before.catchUps);
    slow.stream.close();
    session.close();
  });
});

describe('Replan runs off the event loop, coalesced, and honours deadlines and cancellation', () => {
  test('50 concurrent Replans with 100 ms deadlines: one computation, the plan unchanged, RequestPriority p99 < 50 ms meanwhile', async () => {
    const timing = new pkg.greenwave.v1['TimingService']!(addr, insecure);
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, insecure);
    try {
      now = T0 + 90;
      // Warm the worker (first start) with an interval that is then the current plan.
      expect((await unary(timing, 'Replan', { at: '08:00' }, md('operator-secret-1'), 20_000)).err).toBeNull();
      const planBefore = srv.state.plan;
      const forBefore = srv.state.forInterval;
      expect((await unary(bus, 'RequestPriority', busReq('keep-1'), md('dispatch-secret-1'))).err).toBeNull();
      /** RequestPriority latencies, one call every 5 ms, until `until` says stop. */
      const sample = async (until: () => boolean): Promise<number[]> => {
        const lat: number[] = [];
        while (!until()) {
          const t = performance.now();
          const r = await unary(bus, 'RequestPriority', busReq(`lat-${lat.length % 20}`), md('dispatch-secret-1'));
          lat.push(performance.now() - t);
          expect(r.err).toBeNull();
          await new Promise((res) => setTimeout(res, 5));
        }
        return lat;
      };
      const tb = Date.now();
      const cpuB = threadCpuMs();
      const base = await sample(() => Date.now() - tb > 1500);
      const baseCpuMs = threadCpuMs() - cpuB;
      const computations = srv.governance.replanComputations();
      const cpu0 = threadCpuMs();
      const burst = Array.from({ length: 50 }, () => unary(timing, 'Replan', { at: '17:45' }, md('operator-secret-1'), 100));
      let done = false;
      const all = Promise.all(burst).finally(() => (done = true));
      const t0 = Date.now();
      const lat = await sample(() => done && Date.now() - t0 > 1500);
      // Event-loop CPU the burst added, beyond what the latency probe itself costs (as measured before).
      const loopCpuMs = threadCpuMs() - cpu0 - (baseCpuMs * lat.length) / base.length;
      console.log(`RequestPriority p99: ${p99(base).toFixed(1)} ms before, ${p99(lat).toFixed(1)} ms during the Replan burst (${lat.length} calls); event-loop CPU added by the burst ${loopCpuMs.toFixed(0)} ms; load ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
      const results = await all;
      expect(results.map((r) => grpc.status[r.err?.code ?? 0])).toEqual(Array(50).fill('DEADLINE_EXCEEDED'));
      expect(srv.governance.replanComputations() - computations).toBe(1);
      await new Promise((r) => setTimeout(r, 1000)); // the computation would have finished by now
      expect(srv.state.plan).toBe(planBefore);
      expect(srv.state.forInterval).toBe(forBefore);
      expect(srv.state.tsp.hasOpen('keep-1', srv.state.intersection('I1', 't'))).toBe(true);
      expect(lat.length).toBeGreaterThan(30);
      // The burst cost the event loop (server and this client) less CPU than ONE Replan
      // computes (≈ 450 ms on the demo city; 50 of them ran synchronously before): it ran elsewhere.
      expect(loopCpuMs).toBeLessThan(250);
      // p99 under 50 ms (above the probe's own noise floor measured before the burst). Wall-clock
      // latency is only asserted when the machine is not oversubscribed (load < 2 per core): this
      // machine is shared, and at load 10 on 2 cores the probe alone sees p99 of 100-300 ms.
      // The CPU bound above holds whatever the load.
      if (loadavg()[0]! / availableParallelism() < 2) expect(p99(lat)).toBeLessThan(50 + Math.max(0, p99(base) - 10));
    } finally {
      timing.close();
      bus.close();
    }
  }, 30_000);

  test('a cancelled Replan changes nothing; a completed one applies', async () => {
    const timing = new pkg.greenwave.v1['TimingService']!(addr, insecure);
    try {
      const planBefore = srv.state.plan;
      const call = (timing['Replan'] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)({ at: '17:45' }, md('operator-secret-1'), { deadline: Date.now() + 20_000 }, () => undefined);
      await new Promise((r) => setTimeout(r, 50));
      call.cancel();
      await new Promise((r) => setTimeout(r, 1500));
      expect(srv.state.plan).toBe(planBefore);
      const ok = await unary(timing, 'Replan', { at: '17:45' }, md('operator-secret-1'), 20_000);
      expect(ok.err).toBeNull();
      expect(srv.state.forInterval).toBe(ok.res['for_interval']);
      expect(srv.state.plan).not.toBe(planBefore);
    } finally {
      timing.close();
    }
  }, 30_000);
});
