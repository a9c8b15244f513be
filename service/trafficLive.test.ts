/**
 * The TrafficStateService on live loop counts, end to end: the demo city's virtual controllers
 * on Modbus TCP, `startServer` on a SQLite file (test/fixtures/controlCentre.ts), a hand-driven
 * clock. Counts put on the controllers' loops are collected every minute (./countCollector.ts)
 * and become the link states (source LIVE, flows from the live window); a through lane of I3's
 * eastbound approach that stops counting while its neighbours go on (a lane blocked upstream of
 * its stop-line loop) opens an incident on L-I2-I3 seen on WatchIncidents and ListIncidents, and
 * the incident clears once the lane counts like its neighbours again. Each minute's round is
 * run at once (`counts.tick()` after moving the clock), not waited for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { i3Eb2 } from '../test/fixtures/blockedLane.js';
import { startControlCentre, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-traffic-live-'));
let cc: ControlCentre;
let client: GrpcClient;

beforeAll(async () => {
  cc = await startControlCentre(dir, { countIntervalS: 60 });
  client = new (greenwaveStubs()['TrafficStateService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
}, 30_000);
afterAll(async () => {
  client?.close();
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Obj = Record<string, unknown>;

test('live counts become the link states; a lane that stops counting opens an incident on WatchIncidents, which clears', async () => {
  // The station of I3's eastbound through lane EB-2 (stop-line loop) and its sibling lanes' loops.
  const lane = i3Eb2(() => cc);
  expect([...lane.siblingIds].sort()).toEqual(['I3-EB-3-S', 'I3-EB-4-S']);

  const meta = bearer(TEST_TOKENS.val);
  // Before any live interval: the counts file, detection waiting for the first interval.
  const before = await unaryCall(client, 'ListIncidents', {}, meta, 5000);
  expect(before.err).toBeNull();
  expect((before.res['detection'] as Obj)['running']).toBe(false);
  expect((before.res['detection'] as Obj)['status']).toMatch(/waiting for the controllers' first whole 60 s interval/);
  expect(cc.srv.traffic.isLive).toBe(false);

  const updates: Obj[] = [];
  const watch = (client['WatchIncidents'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Obj>)({ interval_s: 0.1 }, meta);
  watch.on('data', (u: Obj) => updates.push(u));
  watch.on('error', () => undefined);
  const activeIn = (u: Obj) => (u['incidents'] as Obj[]).filter((x) => x['link_id'] === 'L-I2-I3');
  const waitFor = async (cond: () => boolean) => {
    for (let k = 0; k < 100 && !cond(); k++) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  const minute = lane.minute;
  // The minute the service started in is only part of one: not a sample. Then the counts file's state stands
  // until the live window spans two of the plan's longest cycles (2 × 150 s: five whole minutes).
  await minute(14);
  expect(cc.srv.traffic.isLive).toBe(false);
  for (let k = 0; k < 4; k++) await minute(14);
  expect(cc.srv.traffic.isLive).toBe(false);
  await minute(14);
  expect(cc.srv.traffic.isLive).toBe(true);
  // The window's events are read after the counts (the collector runs, the controllers keep no log).
  expect(await waitFor(() => /no events stored/.test(cc.srv.traffic.progression()))).toBe(true);
  // The link state is the live window's: two whole minutes of 14 vehicles on each of three lanes.
  const states = await new Promise<Obj>((resolve, reject) => {
    const call = (client['WatchLinkStates'] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Obj>)({ link_ids: ['L-I2-I3'], interval_s: 0.1 }, meta);
    call.once('data', (m: Obj) => {
      call.cancel();
      resolve(m);
    });
    call.once('error', reject);
  });
  expect(states['source']).toBe('TRAFFIC_DATA_SOURCE_LIVE');
  // These controllers keep no event log: the delays take arrivals as random, and say why.
  expect(states['progression']).toMatch(/^random arrivals \(HCM PF = 1\): no events stored for the window/);
  expect((states['links'] as Obj[])[0]!['arrival_on_green_share']).toBeUndefined();
  expect(states['interval_s']).toBe(300);
  expect((states['links'] as Obj[])[0]!['flow_veh_per_h']).toBeCloseTo((3 * 5 * 14 * 3600) / 300, 6);
  expect(cc.srv.traffic.incidents).toEqual([]);

  // EB-2 stops counting while its neighbours go on: an incident on L-I2-I3 within two minutes.
  await minute(0, 16);
  await minute(0, 16);
  expect(await waitFor(() => updates.some((u) => activeIn(u).length === 1))).toBe(true);
  const inc = activeIn(updates.find((u) => activeIn(u).length === 1)!)[0]!;
  expect(inc).toMatchObject({ detector_id: 'I3-EB-2-S', state: 'INCIDENT_STATE_ACTIVE', source: 'loops', location: 'upstream' });
  expect(inc['confidence']).toBeGreaterThanOrEqual(0.5);
  const detected = Number((inc['detected'] as Obj)['seconds']);
  expect(detected).toBeLessThanOrEqual(cc.now());
  expect(detected).toBeGreaterThan(cc.now() - 180);
  const during = await unaryCall(client, 'ListIncidents', {}, meta, 5000);
  expect((during.res['incidents'] as Obj[]).map((x) => x['link_id'])).toEqual(['L-I2-I3']);
  expect(during.res['detection']).toMatchObject({ running: true, sample_s: 60 });

  // The lane counts again: cleared (two judged samples below the clear level), gone from the watch.
  for (let k = 0; k < 4 && cc.srv.traffic.incidents[0]!.clearedS === undefined; k++) await minute(14);
  expect(cc.srv.traffic.incidents[0]!.clearedS).toBeDefined();
  const n = updates.length;
  expect(await waitFor(() => updates.length > n && activeIn(updates.at(-1)!).length === 0)).toBe(true);
  const after = await unaryCall(client, 'ListIncidents', { include_cleared: true }, meta, 5000);
  expect((after.res['incidents'] as Obj[]).map((x) => [x['link_id'], x['state']])).toEqual([['L-I2-I3', 'INCIDENT_STATE_CLEARED']]);
  watch.cancel();
}, 30_000);

test('with the controllers\' event logs collected, each live window\'s delays are read from the stored events (the default 30 s interval)', async () => {
  const dir2 = mkdtempSync(join(tmpdir(), 'gw-traffic-live-events-'));
  const cc2 = await startControlCentre(dir2, { eventLogs: true, eventPollMs: 100 });
  try {
    expect(cc2.srv.counts!.intervalS).toBe(30);
    expect(cc2.srv.traffic.progression()).toMatch(/the state is from the counts file/);
    // A partial interval, then ten whole ones: the window spans 300 s, two of the plan's longest cycles.
    for (let m = 0; m < 11; m++) {
      cc2.advance(30 - (cc2.now() % 30) + 1);
      // The collector stores the controllers' events on its own timer; then the interval's counts.
      await new Promise((r) => setTimeout(r, 300));
      await cc2.srv.counts!.tick();
    }
    expect(cc2.srv.traffic.isLive).toBe(true);
    expect(cc2.srv.traffic.detection()).toMatchObject({ sampleS: 30 });
    let said = '';
    for (let k = 0; k < 100 && !/events collected from the controllers/.test(said); k++) {
      await new Promise((r) => setTimeout(r, 20));
      said = cc2.srv.traffic.progression();
    }
    const m = /from (\d+) events collected from the controllers between/.exec(said);
    expect(m, said).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
  } finally {
    await cc2.close();
    rmSync(dir2, { recursive: true, force: true });
  }
}, 30_000);
