/**
 * Recommend drives on the traffic state's delays (issue 18: "parking recommendations use its
 * travel times"), over a real gRPC server: live loop counts that load Renmin Rd's eastbound
 * through lanes at I2 (an interval of the controllers' counts, fed as the count collector feeds
 * it) make the drive to a car park past I2 longer by the change in that movement's delay the
 * traffic state reports, and leave the drive to a car park before I2 as it was.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import type { DetectorCount } from './storage/storage.js';

const T0 = Date.parse('2026-03-02T10:00:00+08:00') / 1000;
const PARKING_FILE = new URL('../examples/demo-city/parking.json', import.meta.url).pathname;
let srv: RunningServer;
let client: GrpcClient;
beforeAll(async () => {
  const tokens = new TokenStore([{ token: 'viewer-secret-1', client: 'dashboard', roles: ['viewer'] }]);
  srv = await startServer({ insecure: true, port: 0, tokens, clock: () => T0, parking: PARKING_FILE, shutdownGraceMs: 500 });
  client = new (greenwaveStubs()['ParkingGuidanceService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  for (const id of ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8']) srv.parking!.feed.report(srv.parking!.parking.carPark(id)!, 10, T0 * 1000);
});
afterAll(async () => {
  client?.close();
  await srv?.close();
});

type Ranked = { car_park_id: string; drive_s: number };
async function drives(): Promise<Map<string, number>> {
  const { err, res } = await unaryCall(client, 'Recommend', { destination: { lon: 120.1365, lat: 30.2722 }, origin_link: { link_id: 'L-I1-I2', position_m: 10 }, top_n: 8, max_walk_m: 5000 }, bearer('viewer-secret-1'), 5000);
  expect(err).toBeNull();
  return new Map((res['car_parks'] as Ranked[]).map((x) => [x.car_park_id, x.drive_s]));
}

/** The flow-weighted delay of I2's eastbound through-only lanes (EB-2, EB-3) in the traffic state. */
function i2ThroughDelayS(): number {
  const c = srv.state.c;
  const est = srv.traffic.current();
  const i2 = c.intersectionIds.indexOf('I2');
  let dq = 0;
  let q = 0;
  for (const id of ['EB-2', 'EB-3']) {
    const l = c.laneIds.indexOf(id, c.laneStart[i2]!);
    dq += est.laneDelayS[l]! * est.laneFlowVehPerH[l]!;
    q += est.laneFlowVehPerH[l]!;
  }
  return dq / q;
}

test('live counts that load a movement lengthen the drives through it by its delay in the traffic state', async () => {
  const before = await drives();
  const delayBefore = i2ThroughDelayS();
  // P3's entrance is on L-I2-I3 (through I2 eastbound), P1's on the origin link ahead of the driver.
  expect(before.has('P3') && before.has('P1')).toBe(true);

  // Live counts: the file's interval for every loop, I2's eastbound through lanes at 1,000 veh/h each.
  const c = srv.state.c;
  const counts = srv.state.prepared.faults.cleaned;
  const forMs = Date.parse(`${srv.state.forInterval.replace(' ', 'T')}Z`);
  const r = Math.max(0, counts.intervalStartMs.indexOf(forMs));
  const nd = counts.detectorIds.length;
  const rows: DetectorCount[] = counts.detectorIds.map((detectorId, k) => {
    const loaded = detectorId === 'I2-EB-2-S' || detectorId === 'I2-EB-3-S';
    return { detectorId, intervalStartMs: T0 * 1000, intervalS: 60, volumeVeh: loaded ? 1000 / 60 : (counts.volumeVeh[r * nd + k]! * 60) / counts.intervalS, occupancyPct: counts.occupancyPct[r * nd + k]! };
  });
  expect(rows.filter((x) => c.detectorIds.includes(x.detectorId)).length).toBe(c.detectorIds.length);
  // Five such minutes: the live state stands once its window spans two of the plan's longest cycles.
  srv.traffic.startLive(60);
  for (let m = 0; m < 5; m++) srv.traffic.applyLive(rows.map((r) => ({ ...r, intervalStartMs: T0 * 1000 + m * 60_000 })), { startMs: T0 * 1000 + m * 60_000, intervalS: 60 });
  expect(srv.traffic.isLive).toBe(true);
  const delayAfter = i2ThroughDelayS();
  expect(delayAfter - delayBefore).toBeGreaterThan(30);

  const after = await drives();
  // The drive past I2 carries the movement's new delay; the drive that does not cross I2 is unchanged.
  expect(after.get('P3')! - before.get('P3')!).toBeCloseTo(delayAfter - delayBefore, 6);
  expect(after.get('P1')).toBeCloseTo(before.get('P1')!, 9);
});

test('a chattering loop is left out of the live state: its link does not jam on one impossible count', () => {
  const c = srv.state.c;
  const k = srv.traffic.links.index.get('L-I2-I3')!;
  const before = srv.traffic.current().travelTimeS[k]!;
  const counts = srv.state.prepared.faults.cleaned;
  const nd = counts.detectorIds.length;
  const forMs = Date.parse(`${srv.state.forInterval.replace(' ', 'T')}Z`);
  const r = Math.max(0, counts.intervalStartMs.indexOf(forMs));
  const rows = (m: number): DetectorCount[] =>
    counts.detectorIds.map((detectorId, d) => ({
      detectorId,
      intervalStartMs: T0 * 1000 + m * 60_000,
      intervalS: 60,
      // I3's eastbound through loop chatters: 50,000 vehicles in a minute.
      volumeVeh: detectorId === 'I3-EB-2-S' ? 50_000 : (counts.volumeVeh[r * nd + d]! * 60) / counts.intervalS,
      occupancyPct: counts.occupancyPct[r * nd + d]!,
    }));
  const seen = srv.traffic.implausibleCounts;
  for (let m = 5; m < 10; m++) srv.traffic.applyLive(rows(m), { startMs: T0 * 1000 + m * 60_000, intervalS: 60 });
  expect(c.detectorIds).toContain('I3-EB-2-S');
  expect(srv.traffic.implausibleCounts - seen).toBe(5);
  // The link keeps a travel time its other loops make: not the hour of delay 50,000 veh/min would give.
  const after = srv.traffic.current().travelTimeS[k]!;
  expect(after).toBeLessThan(1.5 * before);
  expect(after).toBeGreaterThan(0.5 * before);
});
