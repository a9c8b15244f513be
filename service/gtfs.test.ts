import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

const rt = GtfsRealtimeBindings.transit_realtime;
const GTFS_DIR = join(import.meta.dirname, '../test/fixtures/gtfs/renmin');
/** 2025-03-10 00:00 in Asia/Shanghai (UTC+8), Unix s. */
const DAY = Date.UTC(2025, 2, 9, 16) / 1000;
/** Between I3 (lon 120.138085) and I4 (lon 120.144541), ~290 m before I4 (as in engine/transit/realtime.test.ts). */
const BUS = { latitude: 30.27196, longitude: 120.1415 };
const SCHED_AT_BUS = 8 * 3600 + 140 + ((BUS.longitude - 120.135) / (120.14515 - 120.135)) * 160;
const T = Math.round(DAY + SCHED_AT_BUS + 90);

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
type Res = Record<string, unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const md = (token?: string): grpc.Metadata => {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};
function unary(client: Client, method: string, req: object, meta: grpc.Metadata): Promise<{ err: grpc.ServiceError | null; res: Res }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Res) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}
function encode(msg: GtfsRealtimeBindings.transit_realtime.IFeedMessage): Uint8Array {
  return rt.FeedMessage.encode(rt.FeedMessage.create(msg)).finish();
}
function lateBusFeed(): Uint8Array {
  return encode({
    header: { gtfsRealtimeVersion: '2.0', timestamp: T },
    entity: [
      { id: '1', vehicle: { vehicle: { id: 'bus-1' }, trip: { tripId: 'T1', routeId: 'R1' }, position: { ...BUS, speed: 8 }, timestamp: T, occupancyStatus: rt.VehiclePosition.OccupancyStatus.FEW_SEATS_AVAILABLE } },
      { id: 'x', vehicle: { vehicle: { id: 'bus-x' }, trip: { tripId: 'NOPE' }, position: BUS, timestamp: T } },
    ],
  });
}

let now = T + 2;
let srv: RunningServer;
let plain: RunningServer;
let bus: Client;
beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, gtfsDir: GTFS_DIR, shutdownGraceMs: 500 });
  plain = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => now, shutdownGraceMs: 500 });
  bus = new pkg.greenwave.v1['BusPriorityService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  bus?.close();
  await Promise.all([srv?.close(), plain?.close()]);
});

describe('SubmitVehiclePositions (GTFS-realtime → TSP)', () => {
  test('a bus between I3 and I4, 90 s late, gets a TSP decision for I4; the others are skipped with a reason', async () => {
    now = T + 2;
    const { err, res } = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect(err).toBeNull();
    expect(res['skipped']).toEqual([{ vehicle_id: 'bus-x', reason: 'unknown trip_id "NOPE"', entity_id: 'x' }]);
    expect(res['feed_timestamp']).toEqual({ seconds: T, nanos: 0 });
    const decisions = res['decisions'] as Res[];
    expect(decisions).toHaveLength(1);
    const d = decisions[0]!;
    expect(d).toMatchObject({ vehicle_id: 'bus-1', intersection_id: 'I4' });
    expect(d['reason']).toMatch(/^REASON_(?!UNSPECIFIED)/);
    expect(typeof d['granted']).toBe('boolean');
    if (d['granted']) expect(d['reason']).toBe('REASON_GRANTED');
    else expect(d['strategy']).toBe('STRATEGY_NONE');
    expect(String(d['detail']).length).toBeGreaterThan(0);

    // It went through the TSP request path: an open request keyed (bus-1, I4) whose decision is the one returned.
    const i4 = srv.state.intersection('I4', 'test');
    expect(srv.state.tsp.hasOpen('bus-1', i4)).toBe(true);
    expect(srv.state.tsp.lastDecision('bus-1', i4)?.granted).toBe(d['granted']);

    // SPaT and the plan still answer for I4.
    const timing = new pkg.greenwave.v1['TimingService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const plan = await unary(timing, 'GetPlan', { intersection_id: 'I4' }, md('viewer-secret-1'));
    expect(plan.err).toBeNull();
    expect((plan.res['plans'] as Res[])[0]).toMatchObject({ intersection_id: 'I4' });
    timing.close();
    const spatClient = new pkg.greenwave.v1['SignalStateService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const spat = await new Promise<Res>((resolve, reject) => {
      const call = (spatClient['WatchSignalState'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Res>)({ intersection_ids: ['I4'] }, md('viewer-secret-1'));
      call.on('data', (m) => {
        resolve(m);
        call.cancel();
      });
      call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    });
    expect(spat['intersection_id']).toBe('I4');
    expect(spat['priority_active']).toBe(d['granted']);
    spatClient.close();

    // A repeat of the same feed re-decides the same open request (no duplicate), and CancelPriority checks it out.
    const again = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect(again.err).toBeNull();
    expect((again.res['decisions'] as Res[]).map((x) => [x['vehicle_id'], x['intersection_id']])).toEqual([['bus-1', 'I4']]);
    const cancel = await unary(bus, 'CancelPriority', { vehicle_id: 'bus-1', intersection_id: 'I4' }, md('dispatch-secret-1'));
    expect(cancel.err).toBeNull();
  });

  test('the same validation as RequestPriority: a position whose ETA is long past is skipped, not decided', async () => {
    // 100 s after the observation (not stale: the limit is 120 s) the ~36 s ETA to I4 is in the past.
    now = T + 100;
    const { err, res } = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect(err).toBeNull();
    expect(res['decisions']).toEqual([]);
    expect(res['skipped']).toEqual([
      { vehicle_id: 'bus-x', reason: 'unknown trip_id "NOPE"', entity_id: 'x' },
      { vehicle_id: 'bus-1', reason: 'INVALID_ARGUMENT: eta_time: must not be in the past', entity_id: '1' },
    ]);
    expect(srv.state.tsp.hasOpen('bus-1', srv.state.intersection('I4', 'test'))).toBe(false);
    // 10 minutes after: the realtime step already drops the position as stale.
    now = T + 600;
    const stale = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect(stale.res['skipped']).toContainEqual({ vehicle_id: 'bus-1', reason: 'position is stale (600 s old)', entity_id: '1' });
    now = T + 2;
  });

  test('a vehicle that moved on to the next intersection is checked out of the previous one', async () => {
    now = T + 2;
    const first = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect((first.res['decisions'] as Res[])[0]).toMatchObject({ vehicle_id: 'bus-1', intersection_id: 'I4' });
    const i4 = srv.state.intersection('I4', 'test');
    const i5 = srv.state.intersection('I5', 'test');
    expect(srv.state.tsp.hasOpen('bus-1', i4)).toBe(true);
    // 40 s later the bus is past I4, between I4 and I5.
    const t2 = T + 40;
    now = t2 + 1;
    const feed = encode({
      header: { gtfsRealtimeVersion: '2.0', timestamp: t2 },
      entity: [{ id: '1', vehicle: { vehicle: { id: 'bus-1' }, trip: { tripId: 'T1' }, position: { latitude: 30.27197, longitude: 120.1465, speed: 8 }, timestamp: t2 } }],
    });
    const next = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(feed) }, md('dispatch-secret-1'));
    expect(next.err).toBeNull();
    expect(next.res['skipped']).toEqual([]);
    expect((next.res['decisions'] as Res[])[0]).toMatchObject({ vehicle_id: 'bus-1', intersection_id: 'I5' });
    expect(srv.state.tsp.hasOpen('bus-1', i4)).toBe(false);
    expect(srv.state.tsp.hasOpen('bus-1', i5)).toBe(true);
    const cancel = await unary(bus, 'CancelPriority', { vehicle_id: 'bus-1', intersection_id: 'I5' }, md('dispatch-secret-1'));
    expect(cancel.err).toBeNull();
    now = T + 2;
  });

  test('malformed feeds are INVALID_ARGUMENT naming the problem', async () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('hello world, this is not protobuf'), /^gtfs_realtime_feed: not a valid FeedMessage/],
      [Buffer.alloc(0), /^gtfs_realtime_feed: empty buffer is not a FeedMessage/],
      [Buffer.from(rt.FeedMessage.encode({ header: { gtfsRealtimeVersion: '9.9' }, entity: [] }).finish()), /^gtfs_realtime_feed: unsupported gtfs_realtime_version "9.9"/],
    ];
    for (const [b, re] of cases) {
      const { err } = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: b }, md('dispatch-secret-1'));
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(re);
    }
  });

  test('without --gtfs: FAILED_PRECONDITION', async () => {
    const c = new pkg.greenwave.v1['BusPriorityService']!(`127.0.0.1:${plain.port}`, grpc.credentials.createInsecure());
    const { err } = await unary(c, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('dispatch-secret-1'));
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toMatch(/--gtfs <dir>/);
    c.close();
  });

  test('authentication: missing token UNAUTHENTICATED, viewer PERMISSION_DENIED', async () => {
    const none = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md());
    expect(none.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const viewer = await unary(bus, 'SubmitVehiclePositions', { gtfs_realtime_feed: Buffer.from(lateBusFeed()) }, md('viewer-secret-1'));
    expect(viewer.err?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  test('a broken static feed is a start-up error with its located messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-gtfs-'));
    try {
      cpSync(GTFS_DIR, dir, { recursive: true });
      const st = readFileSync(join(dir, 'stop_times.txt'), 'utf8').split('\n');
      st[1] = st[1]!.replace(/\d\d:\d\d:\d\d/, '25:61:00');
      writeFileSync(join(dir, 'stop_times.txt'), st.join('\n'));
      await expect(startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), gtfsDir: dir })).rejects.toThrow(/stop_times\.txt:2 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
