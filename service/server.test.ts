import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { PYTHON, pythonStubs } from '../test/fixtures/grpc/pythonStubs.js';
import { PROTO_DIR, PY_CLIENT, TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { busPhaseNetworkJson } from '../test/fixtures/busPhaseNetwork.js';

/** A frozen clock on a 150 s cycle boundary of I1 (offset 0): the TSP decisions are deterministic. */
const T0 = 150 * 12_000_000;
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

let srv: RunningServer;
let now = T0 + 90;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const md = (token?: string): grpc.Metadata => {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};
function unary(client: Client, method: string, req: object, meta: grpc.Metadata): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}

beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, maxStreams: 8, limits: { maxReflectionStreams: 2 }, shutdownGraceMs: 1000 });
});
afterAll(async () => {
  await srv?.close();
});

describe('greenwave gRPC service (Node client)', () => {
  test('RequestPriority grants a green extension to a late bus; SPaT shows the adjusted plan', async () => {
    const addr = `127.0.0.1:${srv.port}`;
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, grpc.credentials.createInsecure());
    now = T0 + 90;
    const { err, res } = await unary(bus, 'RequestPriority', { vehicle_id: 'n-bus-1', route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, md('dispatch-secret-1'));
    expect(err).toBeNull();
    expect(res).toMatchObject({ granted: true, strategy: 'STRATEGY_GREEN_EXTENSION', reason: 'REASON_GRANTED', phase_id: 'S2', adjustment_s: 4.7 });
    expect(res['expected_time_saved_s']).toBeCloseTo(88.3, 1);
    const spat = new pkg.greenwave.v1['SignalStateService']!(addr, grpc.credentials.createInsecure());
    now = T0 + 99;
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const call = (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Record<string, unknown>>)({ intersection_ids: ['I1'] }, md('viewer-secret-1'));
      call.on('data', (m) => {
        resolve(m);
        call.cancel();
      });
      call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    });
    expect(first['priority_active']).toBe(true);
    expect(first['green_phase_ids']).toEqual(['S2']);
    const ebt = (first['movements'] as Record<string, unknown>[]).find((m) => m['movement_id'] === 'EBT')!;
    expect(ebt['state']).toBe('MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED');
    expect(ebt['likely_end_in_s']).toBeCloseTo(103 - 99, 3);
    const cancel = await unary(bus, 'CancelPriority', { vehicle_id: 'n-bus-1', intersection_id: 'I1' }, md('dispatch-secret-1'));
    expect(cancel.res).toMatchObject({ withdrawn: true });
    bus.close();
    spat.close();
  });

  test('server reflection lists the services (grpcurl-style)', async () => {
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [join(PROTO_DIR, '../node_modules/@grpc/reflection/build/proto')], keepCase: true, oneofs: true });
    const R = (grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => Client } } } }).grpc.reflection.v1.ServerReflection;
    const client = new R(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const services = await new Promise<string[]>((resolve, reject) => {
      const call = (client['ServerReflectionInfo'] as () => grpc.ClientDuplexStream<object, Record<string, unknown>>)();
      let names: string[] = [];
      call.on('data', (m) => {
        names = ((m['list_services_response'] as { service: { name: string }[] }).service ?? []).map((s) => s.name);
        call.end();
      });
      // Resolved when the stream has ended on both sides, so its reflection place is free again.
      call.on('status', () => resolve(names));
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    expect(services).toEqual(expect.arrayContaining(['greenwave.v1.BusPriorityService', 'greenwave.v1.SignalStateService', 'greenwave.v1.TimingService', 'greenwave.v1.EventService', 'greenwave.v1.OperationsService', 'greenwave.v1.ParkingGuidanceService', 'grpc.health.v1.Health']));

    // Reflection streams have a budget of their own (2 on this server), apart from maxStreams.
    type Held = { call: grpc.ClientDuplexStream<object, Record<string, unknown>>; first: Promise<{ ok: boolean; code?: number; details?: string }> };
    const open = (): Held => {
      const call = (client['ServerReflectionInfo'] as () => grpc.ClientDuplexStream<object, Record<string, unknown>>)();
      const first = new Promise<{ ok: boolean; code?: number; details?: string }>((resolve) => {
        call.on('data', () => resolve({ ok: true }));
        call.on('error', (e: grpc.ServiceError) => resolve({ ok: false, code: e.code, details: e.details }));
      });
      call.write({ list_services: '' });
      return { call, first };
    };
    const held = [open(), open()];
    expect((await Promise.all(held.map((h) => h.first))).map((r) => r.ok)).toEqual([true, true]);
    expect(srv.governance.stats().reflectionStreams).toBe(2);
    expect(srv.openStreams()).toBe(0);
    const third = await open().first;
    expect(third).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED, details: 'more than 2 reflection streams open (limit maxReflectionStreams)' });
    held[0]!.call.end();
    await new Promise<void>((resolve) => held[0]!.call.on('status', () => resolve()));
    const again = open();
    expect((await again.first).ok).toBe(true);
    for (const h of [held[1]!, again]) h.call.end();
    client.close();
  });

  test('overload is shed with RESOURCE_EXHAUSTED (bounded open streams)', async () => {
    const spat = new pkg.greenwave.v1['SignalStateService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const calls: grpc.ClientReadableStream<unknown>[] = [];
    const opened = Array.from({ length: 8 }, () => {
      const c = (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ intersection_ids: ['I5'], interval_s: 5 }, md('viewer-secret-1'));
      calls.push(c);
      c.on('error', () => {});
      return new Promise<void>((resolve) => c.once('data', () => resolve()));
    });
    await Promise.all(opened);
    expect(srv.openStreams()).toBe(8);
    const code = await new Promise<number>((resolve) => {
      const c = (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({}, md('viewer-secret-1'));
      c.on('error', (e: grpc.ServiceError) => resolve(e.code));
      c.on('data', () => resolve(-1));
    });
    expect(code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    for (const c of calls) c.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.openStreams()).toBe(0);
    spat.close();
  });

  test('an expired deadline is DEADLINE_EXCEEDED', async () => {
    const timing = new pkg.greenwave.v1['TimingService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => (timing['ListIntersections'] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null) => void) => void)({}, md('viewer-secret-1'), { deadline: Date.now() - 1 }, (e) => resolve(e)));
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    timing.close();
  });
});

describe('independent Python client (grpcio, stubs generated by grpc_tools.protoc)', () => {
  test('calls every RPC, bad requests and a missing token', async () => {
    const stubs = pythonStubs('gw-py-');
    try {
      now = T0 + 10;
      // Asynchronously: the server runs in this process and must keep answering.
      const { stdout: out } = await promisify(execFile)(PYTHON, [PY_CLIENT, '--port', String(srv.port), '--stubs', stubs.dir], { encoding: 'utf8', timeout: 30_000 });
      const r = JSON.parse(out) as Record<string, Record<string, unknown>>;
      expect(r['health']).toEqual({ code: 'OK', raw: '0801' }); // status: SERVING
      expect(r['list_intersections']).toMatchObject({ code: 'OK', ids: ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9', 'I10'] });
      expect(r['list_corridors']).toMatchObject({ code: 'OK', ids: ['renmin-rd'] });
      expect(r['get_plan_intersection']).toMatchObject({ code: 'OK', n: 1, cycle: 150, phases: ['S1', 'S2', 'S3'] });
      expect(r['get_plan_corridor']).toMatchObject({ code: 'OK', n: 8 });
      expect(r['get_plan_unknown']).toMatchObject({ code: 'NOT_FOUND', details: 'intersection_id: no intersection "NOPE"' });
      expect(r['get_plan_empty']).toMatchObject({ code: 'INVALID_ARGUMENT' });
      // now = T0+10 (I1 in S1, the lefts); a late EB bus in 20 s, S2 due at 38.3 s: early green of S2.
      expect(r['request']).toMatchObject({ code: 'OK', granted: true, strategy: 'STRATEGY_EARLY_GREEN', reason: 'REASON_GRANTED', phase: 'S2' });
      expect(r['update']!['code']).toBe('OK');
      expect(r['cancel']).toMatchObject({ code: 'OK' });
      expect(r['cancel_again']!['code']).toBe('NOT_FOUND');
      expect(r['update_unknown_vehicle']!['code']).toBe('NOT_FOUND');
      expect(r['bad_eta']).toEqual({ code: 'INVALID_ARGUMENT', details: 'eta_s: must be >= 0' });
      expect(r['bad_class']!['code']).toBe('INVALID_ARGUMENT');
      expect(r['bad_class']!['details']).toMatch(/^priority_class: /);
      expect(r['bad_movement']!['details']).toMatch(/^movement: "XX" is not a movement id/);
      expect(r['unknown_intersection']).toEqual({ code: 'NOT_FOUND', details: 'intersection_id: no intersection "I99"' });
      expect(r['missing_token']!['code']).toBe('UNAUTHENTICATED');
      expect(r['bad_token']!['code']).toBe('UNAUTHENTICATED');
      expect(r['wrong_role']!['code']).toBe('PERMISSION_DENIED');
      expect(r['vehicle_positions_no_gtfs']!['code']).toBe('FAILED_PRECONDITION');
      expect(r['replan_operator']).toMatchObject({ code: 'OK', for: '2026-11-24T17:45' });
      expect(r['replan_dispatch']!['code']).toBe('PERMISSION_DENIED');
      expect(r['replan_bad']).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(r['replan_bad']!['details']).toMatch(/^at: /);
      const stream = r['stream']!['responses'] as Record<string, unknown>[];
      expect(stream.map((x) => [x['id'], x['kind']])).toEqual([
        ['a', 'response'],
        ['b', 'error'],
        ['c', 'cancelled'],
        ['d', 'error'],
      ]);
      expect(stream[1]).toMatchObject({ code: 3, message: 'request.eta_s: must be >= 0' });
      expect(stream[3]).toMatchObject({ code: 5 });
      const watch = r['watch']!['messages'] as Record<string, unknown>[];
      expect(watch.map((m) => m['id'])).toEqual(['I1', 'I3', 'I1', 'I3']);
      for (const m of watch) expect(m['likely_ok']).toBe(true);
      expect(r['watch_unknown']!['code']).toBe('NOT_FOUND');
      expect(r['watch_no_token']!['code']).toBe('UNAUTHENTICATED');
    } finally {
      stubs.remove();
    }
  });
});

describe('shutdown', () => {
  test('close() drains open streams (clients see OK) and stops within the grace period', async () => {
    const s2 = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), shutdownGraceMs: 1000 });
    const spat = new pkg.greenwave.v1['SignalStateService']!(`127.0.0.1:${s2.port}`, grpc.credentials.createInsecure());
    const call = (spat['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ interval_s: 0.1 }, md('viewer-secret-1'));
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    const ended = new Promise<number>((resolve) => call.on('status', (st: grpc.StatusObject) => resolve(st.code)));
    call.on('data', () => {});
    const t = Date.now();
    await s2.close();
    expect(await ended).toBe(grpc.status.OK);
    expect(Date.now() - t).toBeLessThan(1500);
    spat.close();
  });

  test('refuses plaintext unless asked for explicitly', async () => {
    await expect(startServer({ port: 0, tokens: TokenStore.fromFile(TOKENS_FILE) })).rejects.toThrow(/--insecure/);
  });
});

describe('greenwave serve (CLI)', () => {
  test('bad arguments exit 2 with a located message', async () => {
    const { run } = await import('../cli/main.js');
    const errs: string[] = [];
    expect(run(['serve', '--insecure'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['serve', '--tokens', TOKENS_FILE], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['serve', '--insecure', '--tokens', TOKENS_FILE, '--port', '70000'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('')).toMatch(/--tokens <file.json> is required[\s\S]*--insecure to serve plaintext[\s\S]*--port 70000/);
  });
});

describe('phase insertion over gRPC (demo city with an on-demand bus stage S2B at I1)', () => {
  test('GetPlan marks the bus stage on demand and skipped; a left-turning bus during S2 gets PHASE_INSERTION', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-busphase-'));
    const networkPath = join(dir, 'network.json');
    writeFileSync(networkPath, JSON.stringify(busPhaseNetworkJson()));
    let t = T0;
    const s3 = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), networkPath, clock: () => t, shutdownGraceMs: 1000 });
    const addr = `127.0.0.1:${s3.port}`;
    const timing = new pkg.greenwave.v1['TimingService']!(addr, grpc.credentials.createInsecure());
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, grpc.credentials.createInsecure());
    try {
      const got = await unary(timing, 'GetPlan', { intersection_id: 'I1' }, md('viewer-secret-1'));
      expect(got.err).toBeNull();
      const plan = (got.res['plans'] as Record<string, unknown>[])[0]!;
      const phases = plan['phases'] as Record<string, unknown>[];
      const s2b = phases.find((p) => p['id'] === 'S2B')!;
      const s2 = phases.find((p) => p['id'] === 'S2')!;
      expect(s2b).toMatchObject({ on_demand: true, green_s: 0, yellow_s: 0, all_red_s: 0 });
      expect(s2['on_demand']).toBe(false);
      // Five seconds into S2; the bus arrives 20 s later, while EBL (served by S1) is red.
      const cycleS = plan['cycle_s'] as number;
      const cycleStart = t - (((t - (plan['offset_s'] as number)) % cycleS) + cycleS) % cycleS;
      t = cycleStart + (s2['start_s'] as number) + 5;
      const r = await unary(bus, 'RequestPriority', { vehicle_id: 'bus-left-1', route_id: '7', intersection_id: 'I1', movement: 'EBL', eta_s: 20, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, md('dispatch-secret-1'));
      expect(r.err).toBeNull();
      expect(r.res).toMatchObject({ granted: true, strategy: 'STRATEGY_PHASE_INSERTION', phase_id: 'S2B', reason: 'REASON_GRANTED' });
      expect(r.res['expected_time_saved_s'] as number).toBeGreaterThan(20);
    } finally {
      timing.close();
      bus.close();
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
