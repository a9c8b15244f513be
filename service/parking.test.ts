/**
 * ParkingGuidanceService over a real gRPC server (grpc-js client): car parks and their live
 * state, reports from a car-park system over a client stream (roles, ownership, the first bad
 * report ending the call), WatchOccupancy, Recommend with its validation, and the service
 * without a parking file. The Python grpcio client's checks are in ./parkingPy.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer } from './server.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { TokenStore } from './auth.js';

const PARKING_TOKENS = new TokenStore([
  { token: 'viewer-secret-1', client: 'dashboard', roles: ['viewer'] },
  { token: 'parking-secret-1', client: 'intime-system', roles: ['parking'] },
  { token: 'dispatch-secret-1', client: 'bus-dispatch', roles: ['dispatch', 'viewer'] },
  { token: 'operator-secret-1', client: 'tmc-operator', roles: ['operator', 'viewer'] },
]);
const PARKING_FILE = new URL('../examples/demo-city/parking.json', import.meta.url).pathname;
// Monday 2026-03-02 10:00 in Hangzhou, in seconds.
const T0 = Date.parse('2026-03-02T10:00:00+08:00') / 1000;
const stubs = greenwaveStubs();
const md = bearer;
type Res = { err: grpc.ServiceError | null; res: Record<string, unknown> };
const unary = (client: GrpcClient, method: string, req: object, token = 'viewer-secret-1'): Promise<Res> => unaryCall(client, method, req, md(token), 5000);
const report = (client: GrpcClient, msgs: object[], token = 'parking-secret-1'): Promise<Res> =>
  new Promise((resolve) => {
    const call = (client['ReportOccupancy'] as (m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => grpc.ClientWritableStream<object>)(md(token), (err, res) => resolve({ err, res }));
    for (const m of msgs) call.write(m);
    call.end();
  });

let now = T0;
let srv: RunningServer;
let client: GrpcClient;
beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: PARKING_TOKENS, clock: () => now, parking: PARKING_FILE, shutdownGraceMs: 500 });
  client = new stubs['ParkingGuidanceService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  // P1 reports through "intime-system" only.
  (srv.parking!.parking.file.carParks[0] as { operator?: string }).operator = 'intime-system';
});
afterAll(async () => {
  client?.close();
  await srv?.close();
});

describe('ParkingGuidanceService', () => {
  test('ListCarParks and GetCarPark: static data, and unknown until a report comes', async () => {
    const list = await unary(client, 'ListCarParks', {});
    expect((list.res['car_parks'] as { id: string }[]).map((x) => x.id)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8']);
    const p4 = await unary(client, 'GetCarPark', { car_park_id: 'P4' });
    expect(p4.res['car_park']).toMatchObject({ id: 'P4', capacity: 466, entrances: [{ id: 'P4-E1', link_id: 'L-I3-I2', position_m: 189 }], fees: { currency: 'CNY', first_hour: 10, per_hour: 5, daily_max: 60 }, height_limit_m: 2.2 });
    expect(p4.res['occupancy']).toMatchObject({ car_park_id: 'P4', status: 'PARKING_STATUS_UNKNOWN', occupied: 0, vacant: 0 });
    const unknown = await unary(client, 'GetCarPark', { car_park_id: 'P99' });
    expect([unknown.err?.code, unknown.err?.details]).toEqual([grpc.status.NOT_FOUND, 'car_park_id: no car park "P99"']);
    const empty = await unary(client, 'GetCarPark', {});
    expect([empty.err?.code, empty.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'car_park_id: must not be empty']);
  });

  test('ReportOccupancy: applied in order; the first bad report ends the call naming it; roles and owners', async () => {
    const ok = await report(client, [
      { car_park_id: 'P4', occupied: 400 },
      { car_park_id: 'P2', vacant: 0, time: { seconds: now - 5 } },
      { car_park_id: 'P1', occupied: 20 },
    ]);
    expect(ok.err).toBeNull();
    expect(ok.res['accepted']).toBe(3);
    const p2 = await unary(client, 'GetCarPark', { car_park_id: 'P2' });
    expect(p2.res['occupancy']).toMatchObject({ status: 'PARKING_STATUS_FULL', occupied: 156, vacant: 0 });
    const bad = await report(client, [{ car_park_id: 'P5', occupied: 10 }, { car_park_id: 'NOPE', occupied: 1 }, { car_park_id: 'P6', occupied: 1 }]);
    expect([bad.err?.code, bad.err?.details]).toEqual([grpc.status.NOT_FOUND, 'reports[1].car_park_id: no car park "NOPE"']);
    expect((await unary(client, 'GetCarPark', { car_park_id: 'P5' })).res['occupancy']).toMatchObject({ status: 'PARKING_STATUS_OPEN', occupied: 10 });
    expect((await unary(client, 'GetCarPark', { car_park_id: 'P6' })).res['occupancy']).toMatchObject({ status: 'PARKING_STATUS_UNKNOWN' });
    const noValue = await report(client, [{ car_park_id: 'P5' }]);
    expect([noValue.err?.code, noValue.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'reports[0].value: one of occupied or vacant is required']);
    const future = await report(client, [{ car_park_id: 'P5', occupied: 3, time: { seconds: now + 3600 } }]);
    expect(future.err?.details).toBe("reports[0].time: must not be more than 300 s ahead of the server's clock");
    const viewer = await report(client, [{ car_park_id: 'P5', occupied: 3 }], 'viewer-secret-1');
    expect(viewer.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    // P1 is intime-system's: a dispatch client cannot report it, an operator can.
    const other = await report(client, [{ car_park_id: 'P1', occupied: 3 }], 'dispatch-secret-1');
    expect(other.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    const op = await report(client, [{ car_park_id: 'P1', occupied: 30 }], 'operator-secret-1');
    expect(op.res['accepted']).toBe(1);
    // The occupancy tracker refuses a report older than the one it has, naming the request's field, and keeps its state.
    const stale = await report(client, [{ car_park_id: 'P5', occupied: 50, time: { seconds: now - 600 } }]);
    expect(stale.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(stale.err?.details).toMatch(/^reports\[0\]\.time: /);
    expect((await unary(client, 'GetCarPark', { car_park_id: 'P5' })).res['occupancy']).toMatchObject({ occupied: 10 });
  });

  test('WatchOccupancy: the car parks asked for, unknown ids NOT_FOUND, the interval bounded', async () => {
    const watch = (req: object): grpc.ClientReadableStream<Record<string, unknown>> => (client['WatchOccupancy'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Record<string, unknown>>)(req, md('viewer-secret-1'));
    const call = watch({ car_park_ids: ['P4', 'P2', 'P4'], interval_s: 0.2 });
    const first = await new Promise<Record<string, unknown>>((resolve) => call.once('data', resolve));
    call.on('error', () => {}); // the cancellation below
    call.cancel();
    expect((first['car_parks'] as { car_park_id: string; status: string }[]).map((x) => [x.car_park_id, x.status])).toEqual([
      ['P4', 'PARKING_STATUS_OPEN'],
      ['P2', 'PARKING_STATUS_FULL'],
    ]);
    const status = (c: grpc.ClientReadableStream<unknown>): Promise<grpc.ServiceError> => new Promise((resolve) => c.on('error', resolve));
    expect((await status(watch({ car_park_ids: ['NOPE'] }))).details).toBe('car_park_ids[0]: no car park "NOPE"');
    expect((await status(watch({ interval_s: 0.01 }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('Recommend: ranked with routes and a fallback; stale car parks refused; bad requests name the field', async () => {
    for (const id of ['P3', 'P5', 'P6', 'P7', 'P8']) srv.parking!.feed.report(srv.parking!.parking.carPark(id)!, 10, now * 1000);
    const dest = { lon: 120.1365, lat: 30.2722 };
    const r = await unary(client, 'Recommend', { destination: dest, origin_link: { link_id: 'L-I1-I2', position_m: 10 }, top_n: 3, max_walk_m: 2000 });
    expect(r.err).toBeNull();
    const ranked = r.res['car_parks'] as { car_park_id: string; route_link_ids: string[]; p_free: number; drive_s: number }[];
    expect(ranked.length).toBe(3);
    expect(ranked.map((x) => x.car_park_id)).not.toContain('P2'); // full: ranked behind (P(free) 0)
    for (const x of ranked) expect(x.route_link_ids[0]).toBe('L-I1-I2');
    const fb = r.res['fallback'] as { car_park_id: string; route_link_ids: string[] };
    expect(fb.car_park_id).not.toBe(ranked[0]!.car_park_id);
    expect(r.res['refused']).toMatchObject({ unknown: 0 });
    // Eleven minutes later every feed is stale: nothing is recommended as having space.
    now += 11 * 60;
    const stale = await unary(client, 'Recommend', { destination: dest, origin_point: { lon: 120.13, lat: 30.27 }, max_walk_m: 5000 });
    expect(stale.res['car_parks']).toEqual([]);
    expect((stale.res['refused'] as { unknown: number }).unknown).toBeGreaterThan(0);
    now = T0;
    const bad = await unary(client, 'Recommend', { origin_link: { link_id: 'L-I1-I2', position_m: 9999 }, top_n: 99, needs: ['SPACE_TYPE_UNSPECIFIED'] });
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.err?.details).toBe("destination: is required; origin_link.position_m: must be between 0 and the link's length, 410 m; top_n: must be between 0 and 20; needs[0]: must be one of SPACE_TYPE_GENERAL, SPACE_TYPE_ACCESSIBLE, SPACE_TYPE_EV, SPACE_TYPE_FAMILY, SPACE_TYPE_MOTORCYCLE");
    const noLink = await unary(client, 'Recommend', { destination: dest, origin_link: { link_id: 'L-NOPE' } });
    expect([noLink.err?.code, noLink.err?.details]).toEqual([grpc.status.NOT_FOUND, 'origin_link.link_id: no link "L-NOPE"']);
  });

  test('GetOccupancyHistory: bad requests name the field, unknown car parks NOT_FOUND, no database FAILED_PRECONDITION', async () => {
    const bad = await unary(client, 'GetOccupancyHistory', { from: { seconds: now }, to: { seconds: now - 1 }, limit: 20_000 });
    expect([bad.err?.code, bad.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'car_park_id: must not be empty; to: must be after from, and at most 31 days after it; limit: must be between 0 and 10000']);
    const missing = await unary(client, 'GetOccupancyHistory', { car_park_id: 'P1' });
    expect(missing.err?.details).toBe('from: is required; to: is required');
    const range = { from: { seconds: now - 3600 }, to: { seconds: now } };
    expect((await unary(client, 'GetOccupancyHistory', { car_park_id: 'P99', ...range })).err?.code).toBe(grpc.status.NOT_FOUND);
    const noDb = await unary(client, 'GetOccupancyHistory', { car_park_id: 'P1', ...range });
    expect([noDb.err?.code, noDb.err?.details]).toEqual([grpc.status.FAILED_PRECONDITION, 'this service keeps no database (start it with --db or --pg): no occupancy history is stored']);
  });

  test('without a parking file: FAILED_PRECONDITION after authentication', async () => {
    const bare = await startServer({ insecure: true, port: 0, tokens: PARKING_TOKENS, clock: () => now, shutdownGraceMs: 200 });
    const c2 = new stubs['ParkingGuidanceService']!(`127.0.0.1:${bare.port}`, grpc.credentials.createInsecure());
    try {
      const r = await unary(c2, 'ListCarParks', {});
      expect([r.err?.code, r.err?.details]).toEqual([grpc.status.FAILED_PRECONDITION, 'parking guidance needs a parking file: start the server with --parking <file> (ServeOptions.parking)']);
      expect((await unary(c2, 'ListCarParks', {}, 'nope-nope-nope')).err?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      c2.close();
      await bare.close();
    }
  });
});
