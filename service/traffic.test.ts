/**
 * TrafficStateService over a real server and grpc-js client: the link states stream carries
 * every link and the corridor and city indices, a route's time is the sum of its links', the
 * incidents list shows what the service holds, and a bad watch request is refused naming the
 * field. Without controllers the state comes from the counts file and incident detection does
 * not run, and the responses say so (live counts: ./trafficLive.test.ts).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from './storage/sqlite.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';

const T0 = Date.parse('2026-03-02T10:00:00+08:00') / 1000;
let srv: RunningServer;
let client: GrpcClient;
let storage: SqliteStorage;
const dir = mkdtempSync(join(tmpdir(), 'gw-traffic-'));
beforeAll(async () => {
  const tokens = new TokenStore([
    { token: 'viewer-secret-1', client: 'dashboard', roles: ['viewer'] },
    { token: 'operator-secret-1', client: 'tmc-duty-officer', roles: ['operator', 'viewer'] },
  ]);
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  srv = await startServer({ insecure: true, port: 0, tokens, clock: () => T0, shutdownGraceMs: 500, storage });
  client = new (greenwaveStubs()['TrafficStateService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

function first(req: object, method = 'WatchLinkStates'): Promise<{ msg?: Record<string, unknown>; err?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const call = (client[method] as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<Record<string, unknown>>)(req, bearer('viewer-secret-1'));
    call.once('data', (msg: Record<string, unknown>) => {
      call.cancel();
      resolve({ msg });
    });
    call.once('error', (err: grpc.ServiceError) => resolve({ err }));
  });
}

test('WatchLinkStates: every link, corridor and city index; the state the estimator holds', async () => {
  const { msg } = await first({ interval_s: 1 });
  const links = msg!['links'] as Record<string, unknown>[];
  expect(links.length).toBe(srv.traffic.links.count);
  const est = srv.traffic.current();
  links.forEach((l, k) => {
    expect(l['link_id']).toBe(srv.traffic.links.ids[k]);
    expect(l['travel_time_s']).toBe(est.travelTimeS[k]);
    expect(l['tpi']).toBeGreaterThanOrEqual(0);
    expect(l['tpi']).toBeLessThanOrEqual(10);
  });
  expect((msg!['corridors'] as Record<string, unknown>[]).map((c) => c['corridor_id'])).toEqual(['renmin-rd']);
  expect(msg!['city_tpi']).toBeGreaterThanOrEqual(0);
  expect(msg!['source']).toBe('TRAFFIC_DATA_SOURCE_COUNTS_FILE');
  expect(msg!['progression']).toBe('random arrivals (HCM PF = 1): the state is from the counts file');
  const bad = await first({ link_ids: ['L-I1-I2'], interval_s: 0.001 });
  expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(bad.err?.details).toMatch(/^interval_s: /);
});

test('GetRouteTravelTime: the sum of the links on the path', async () => {
  const { err, res } = await unaryCall(client, 'GetRouteTravelTime', { intersection_ids: ['I8', 'I7', 'I6'] }, bearer('viewer-secret-1'), 5000);
  expect(err).toBeNull();
  const est = srv.traffic.current();
  const k1 = srv.traffic.links.index.get('L-I8-I7')!;
  const k2 = srv.traffic.links.index.get('L-I7-I6')!;
  expect(res['travel_time_s']).toBeCloseTo(est.travelTimeS[k1]! + est.travelTimeS[k2]!, 9);
  expect(res['length_m']).toBe(455 + 545);
  const one = await unaryCall(client, 'GetRouteTravelTime', { intersection_ids: ['I8'] }, bearer('viewer-secret-1'), 5000);
  expect(one.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(one.err?.details).toBe('intersection_ids: at least two intersections are needed');
  const apart = await unaryCall(client, 'GetRouteTravelTime', { intersection_ids: ['I1', 'I3'] }, bearer('viewer-secret-1'), 5000);
  expect(apart.err?.code).toBe(grpc.status.NOT_FOUND);
  expect(apart.err?.details).toBe('intersection_ids[1]: no link from "I1" to "I3"');
});

test('incidents: the in-memory list, active ones streamed, cleared ones only when asked for', async () => {
  const empty = await unaryCall(client, 'ListIncidents', {}, bearer('viewer-secret-1'), 5000);
  expect(empty.res['incidents']).toEqual([]);
  expect(empty.res['detection']).toMatchObject({ running: false, sample_s: 0 });
  expect((empty.res['detection'] as Record<string, unknown>)['status']).toMatch(/^not running: no live loop counts/);
  const a = srv.traffic.reportIncident('L-I3-I4', 'I4-WB-2-A', 'test', T0 - 60);
  const b = srv.traffic.reportIncident('I1-NB', '', 'test', T0 - 30);
  srv.traffic.clearIncident(b, T0);
  const active = await unaryCall(client, 'ListIncidents', {}, bearer('viewer-secret-1'), 5000);
  expect((active.res['incidents'] as Record<string, unknown>[]).map((x) => [x['incident_id'], x['link_id'], x['state']])).toEqual([[a, 'L-I3-I4', 'INCIDENT_STATE_ACTIVE']]);
  const all = await unaryCall(client, 'ListIncidents', { include_cleared: true }, bearer('viewer-secret-1'), 5000);
  expect((all.res['incidents'] as Record<string, unknown>[]).map((x) => x['state'])).toEqual(['INCIDENT_STATE_ACTIVE', 'INCIDENT_STATE_CLEARED']);
  const { msg } = await first({ interval_s: 1 }, 'WatchIncidents');
  expect((msg!['incidents'] as Record<string, unknown>[]).map((x) => x['incident_id'])).toEqual([a]);
  expect((msg!['detection'] as Record<string, unknown>)['running']).toBe(false);
});

test('ReportIncident and ClearIncident: an operator reports and clears, audited; a viewer may not; bad requests name the field', async () => {
  const op = bearer('operator-secret-1');
  const rep = await unaryCall(client, 'ReportIncident', { link_id: 'L-I3-I4', note: 'two lanes blocked by a collision 碰撞' }, op, 5000);
  expect(rep.err).toBeNull();
  expect(rep.res).toMatchObject({ link_id: 'L-I3-I4', state: 'INCIDENT_STATE_ACTIVE', source: 'operator', reported_by: 'tmc-duty-officer', cleared_by: '', note: 'two lanes blocked by a collision 碰撞', confidence: 1 });
  expect(Number((rep.res['detected'] as { seconds: number }).seconds)).toBe(T0);
  const id = String(rep.res['incident_id']);
  const listed = await unaryCall(client, 'ListIncidents', {}, bearer('viewer-secret-1'), 5000);
  expect((listed.res['incidents'] as Record<string, unknown>[]).map((x) => x['incident_id'])).toContain(id);

  const viewer = await unaryCall(client, 'ReportIncident', { link_id: 'L-I3-I4' }, bearer('viewer-secret-1'), 5000);
  expect(viewer.err?.code).toBe(grpc.status.PERMISSION_DENIED);
  const empty = await unaryCall(client, 'ReportIncident', { note: 'x'.repeat(501) }, op, 5000);
  expect([empty.err?.code, empty.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'link_id: is required; note: at most 500 characters, got 501']);
  const unknown = await unaryCall(client, 'ReportIncident', { link_id: 'L-NOPE' }, op, 5000);
  expect([unknown.err?.code, unknown.err?.details]).toEqual([grpc.status.NOT_FOUND, 'link_id: no link "L-NOPE"']);

  const cleared = await unaryCall(client, 'ClearIncident', { incident_id: id, note: 'towed away' }, op, 5000);
  expect(cleared.err).toBeNull();
  expect(cleared.res).toMatchObject({ incident_id: id, state: 'INCIDENT_STATE_CLEARED', cleared_by: 'tmc-duty-officer', note: 'two lanes blocked by a collision 碰撞 | towed away' });
  const again = await unaryCall(client, 'ClearIncident', { incident_id: id }, op, 5000);
  expect([again.err?.code, again.err?.details]).toEqual([grpc.status.FAILED_PRECONDITION, `incident_id: ${id} was cleared already`]);
  const none = await unaryCall(client, 'ClearIncident', { incident_id: 'INC-999' }, op, 5000);
  expect([none.err?.code, none.err?.details]).toEqual([grpc.status.NOT_FOUND, 'incident_id: no incident "INC-999"']);
  const active = await unaryCall(client, 'ListIncidents', {}, bearer('viewer-secret-1'), 5000);
  expect((active.res['incidents'] as Record<string, unknown>[]).map((x) => x['incident_id'])).not.toContain(id);

  // Both in the audit log, with who and what.
  const rows = await storage.listAudit({ actionPrefix: 'incident.' });
  expect(rows.map((r) => [r.action, r.actor, JSON.parse(r.detail)])).toEqual([
    ['incident.report', 'tmc-duty-officer', { incidentId: id, linkId: 'L-I3-I4', lanesBlocked: 0, note: 'two lanes blocked by a collision 碰撞' }],
    ['incident.clear', 'tmc-duty-officer', { incidentId: id, linkId: 'L-I3-I4', source: 'operator', note: 'towed away' }],
  ]);
  expect(rows[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
});

test('lanes an incident blocks take their share of the link\'s capacity until it clears: its travel time and the routes over it', async () => {
  const op = bearer('operator-secret-1');
  const route = async (): Promise<number> => Number((await unaryCall(client, 'GetRouteTravelTime', { intersection_ids: ['I2', 'I3', 'I4', 'I5'] }, bearer('viewer-secret-1'), 5000)).res['travel_time_s']);
  const k = srv.traffic.links.index.get('L-I3-I4')!;
  const before = srv.traffic.current().travelTimeS[k]!;
  const routeBefore = await route();
  const other = srv.traffic.current().travelTimeS[srv.traffic.links.index.get('L-I2-I3')!]!;
  expect(srv.traffic.laneCount('L-I3-I4')).toBe(3);
  const tooMany = await unaryCall(client, 'ReportIncident', { link_id: 'L-I3-I4', lanes_blocked: 4 }, op, 5000);
  expect([tooMany.err?.code, tooMany.err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, "lanes_blocked: must be a whole number from 0 to the link's 3 lanes, got 4"]);
  const rep = await unaryCall(client, 'ReportIncident', { link_id: 'L-I3-I4', lanes_blocked: 1, note: 'one lane closed' }, op, 5000);
  expect(rep.res).toMatchObject({ lanes_blocked: 1, state: 'INCIDENT_STATE_ACTIVE' });
  const during = srv.traffic.current().travelTimeS[k]!;
  // A third of the capacity gone: the link slower, the route over it by as much, the link before it as it was.
  expect(during).toBeGreaterThan(before + 5);
  expect(await route()).toBeCloseTo(routeBefore + (during - before), 6);
  expect(srv.traffic.current().travelTimeS[srv.traffic.links.index.get('L-I2-I3')!]).toBe(other);
  await unaryCall(client, 'ClearIncident', { incident_id: String(rep.res['incident_id']) }, op, 5000);
  expect(srv.traffic.current().travelTimeS[k]).toBe(before);
  expect(await route()).toBeCloseTo(routeBefore, 9);
});
