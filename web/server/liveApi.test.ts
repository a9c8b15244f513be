/**
 * The console's live APIs (./priorityApi.ts, ./parkingApi.ts, ./locksApi.ts,
 * ./sse.ts) on a real `startServer` (demo city and its parking file, a SQLite
 * file) over plain fetch: a priority request made over real gRPC shows up in
 * the bus priority stream and among the open requests with what it asked and
 * what was decided, its cancellation too; the parking page's car parks and
 * signs follow an occupancy report; the locks in force are listed; a viewer
 * reads all of it, nobody unauthenticated does. And an event stream whose
 * reader stops reading drops events instead of buffering them, then says how
 * many it dropped.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../../test/fixtures/grpc/client.js';
import { hashPassword, UserStore } from './users.js';
import { openEventStream } from './sse.js';

const PARKING = new URL('../../examples/demo-city/parking.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gw-console-live-'));
let storage: SqliteStorage;
let srv: RunningServer;
let base: string;
let bus: GrpcClient;
let cookie: string;
type Json = Record<string, unknown>;

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const users = new UserStore([{ user: 'val', passwordScrypt: await hashPassword('val-password'), roles: ['viewer'] }]);
  const tokens = new TokenStore([{ token: 'dispatch-token', client: 'bus-dispatch', roles: ['dispatch'] }]);
  srv = await startServer({ insecure: true, port: 0, tokens, storage, webPort: 0, users, parking: PARKING });
  base = `http://127.0.0.1:${srv.webPort}/`;
  bus = new (greenwaveStubs()['BusPriorityService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  const res = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'val', password: 'val-password' }) });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}, 60_000);

afterAll(async () => {
  bus?.close();
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, c = cookie): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, { headers: { cookie: c } });
  return { status: res.status, json: (await res.json()) as Json };
};

/** An open event stream: `next(name)` resolves with the data of the next event of that name. */
async function events(path: string): Promise<{ next: (name: string) => Promise<Json>; close: () => void }> {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, { headers: { cookie }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const next = async (name: string): Promise<Json> => {
    for (;;) {
      const end = buf.indexOf('\n\n');
      if (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        if (ev === name) return JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Json;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before a "${name}" event`);
      buf += value;
    }
  };
  return { next, close: () => abort.abort() };
}

describe('console live APIs', () => {
  it('a priority request made over gRPC appears in the stream and among the open requests; its cancellation too', async () => {
    expect((await get('api/priority', 'gw_session=nobody')).status).toBe(401);
    const before = await get('api/priority');
    expect(before.status).toBe(200);
    expect(before.json['recent']).toEqual([]);
    const stream = await events(`api/priority/events?after=${String(before.json['lastSeq'])}`);
    await stream.next('ready');

    const ask = { vehicle_id: 'bus-901', route_id: '9', intersection_id: 'I2', movement: 'EBT', eta_s: 25, lateness_s: 150, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' };
    const { err, res } = await unaryCall(bus, 'RequestPriority', ask, bearer('dispatch-token'), 5000);
    expect(err).toBeNull();
    const got = ((await stream.next('priority'))['events'] as Json[])[0]!;
    expect(got).toMatchObject({ kind: 'request', client: 'bus-dispatch', vehicleId: 'bus-901', routeId: '9', intersectionId: 'I2', priorityClass: 'bus', latenessS: 150, granted: res['granted'] });
    // The engine's names for what gRPC spells as enums.
    expect(`STRATEGY_${String(got['strategy']).replace(/[A-Z]/g, (ch) => `_${ch}`).toUpperCase()}`).toBe(res['strategy']);
    expect(`REASON_${String(got['reason']).replace(/[A-Z]/g, (ch) => `_${ch}`).toUpperCase()}`).toBe(res['reason']);

    const open = (await get('api/priority')).json;
    expect(open['openCount']).toBe(1);
    expect(open['open']).toEqual([expect.objectContaining({ vehicleId: 'bus-901', intersectionId: 'I2', routeId: '9', priorityClass: 'bus', latenessS: 150, client: 'bus-dispatch', granted: res['granted'] })]);

    const cancelled = await unaryCall(bus, 'CancelPriority', { vehicle_id: 'bus-901', intersection_id: 'I2' }, bearer('dispatch-token'), 5000);
    expect(cancelled.err).toBeNull();
    expect(((await stream.next('priority'))['events'] as Json[])[0]).toMatchObject({ kind: 'cancel', vehicleId: 'bus-901', reason: cancelled.res['withdrawn'] ? 'withdrawn' : 'cancelled' });
    expect((await get('api/priority')).json['open']).toEqual([]);
    stream.close();
  });

  it('parking: car parks and signs follow an occupancy report, live', async () => {
    const first = (await get('api/parking')).json;
    expect(first['configured']).toBe(true);
    const parks = first['carParks'] as Json[];
    expect(parks.length).toBe(8);
    // Never heard from: unknown (not stale), no numbers.
    expect(parks[0]).toMatchObject({ id: 'P1', status: 'unknown', vacant: null, statusTimeMs: null });
    const stream = await events('api/parking/events');
    await stream.next('parking');

    const capacity = Number(parks[0]!['capacity']);
    const nowMs = Math.round(Date.now());
    srv.parking!.feed.report(0, capacity - 37, nowMs);
    const live = await stream.next('parking');
    const p1 = (live['carParks'] as Json[])[0]!;
    expect(p1).toMatchObject({ id: 'P1', status: 'open', vacant: 37, occupied: capacity - 37, statusTimeMs: nowMs });
    expect(Number(p1['occupancyPct'])).toBeCloseTo((100 * (capacity - 37)) / capacity, 6);
    // Sign S1's first line shows P1 alone; its second line's car park is still unknown.
    const s1 = (live['signs'] as Json[]).find((s) => s['signId'] === 'S1')!;
    const lines = s1['lines'] as Json[];
    expect(lines[0]).toMatchObject({ carParkIds: ['P1'], kind: 'spaces', freeSpaces: 37, textEn: '37', textZh: '37' });
    expect(lines[1]).toMatchObject({ kind: 'unknown', textEn: '—' });
    expect(s1['state']).toBe('degraded');
    stream.close();
  });

  it('traffic: the link states TrafficStateService serves, then live counts and an incident, on the stream', async () => {
    const first = (await get('api/traffic')).json;
    expect(first).toMatchObject({ configured: true, source: 'counts-file', progression: 'random arrivals (HCM PF = 1): the state is from the counts file', progressionStatus: { kind: 'counts-file' }, incidents: [], diversion: null });
    const links = first['links'] as Json[];
    const est = srv.traffic.current();
    expect(links.map((l) => l['id'])).toEqual(srv.traffic.links.ids);
    links.forEach((l, k) => {
      expect(l['travelTimeS']).toBe(est.travelTimeS[k]);
      expect(l['signalDelayS']).toBe(est.signalDelayS[k]);
      expect(l['level']).toBeGreaterThanOrEqual(0);
    });
    expect(links.find((l) => l['id'] === 'L-I1-I2')).toMatchObject({ from: 'I1', to: 'I2', cls: 'arterial', arrivalOnGreen: null });
    expect(links.find((l) => l['id'] === 'I9-NB')).toMatchObject({ from: null, to: 'I9', cls: 'side' });
    expect((first['corridors'] as Json[]).map((c) => c['id'])).toEqual(['renmin-rd']);
    expect((first['city'] as Json)['level']).toBeGreaterThanOrEqual(0);

    const stream = await events('api/traffic/events');
    expect((await stream.next('traffic'))['source']).toBe('counts-file');
    // Five minutes of live counts, every loop at 20 vehicles a minute: the state becomes the live one (its
    // window now spans two of the plan's longest cycles), then an incident.
    const startMs = Math.round(Date.now() / 60_000) * 60_000;
    srv.traffic.startLive(60);
    for (let m = 0; m < 5; m++) {
      const atMs = startMs + m * 60_000;
      srv.traffic.applyLive(
        srv.state.c.detectorIds.map((detectorId) => ({ detectorId, intervalStartMs: atMs, intervalS: 60, volumeVeh: 20, occupancyPct: 10 })),
        { startMs: atMs, intervalS: 60 },
      );
    }
    const live = await stream.next('traffic');
    expect(live).toMatchObject({ source: 'live', intervalS: 300, intervalStartMs: startMs });
    const nowMs = startMs + 4 * 60_000;
    expect((live['links'] as Json[]).find((l) => l['id'] === 'L-I1-I2')!['flowVehPerH']).toBeCloseTo(srv.traffic.current().flowVehPerH[srv.traffic.links.index.get('L-I1-I2')!]!, 9);
    const id = srv.traffic.reportIncident('L-I2-I3', 'I3-EB-2-S', 'operator', nowMs / 1000 + 60);
    const withIncident = await stream.next('traffic');
    expect(withIncident['incidents']).toEqual([{ id, linkId: 'L-I2-I3', detectorId: 'I3-EB-2-S', source: 'operator', detectedMs: nowMs + 60_000, confidence: 1, location: '', reportedBy: '', note: '', lanesBlocked: 0 }]);
    srv.traffic.clearIncident(id, nowMs / 1000 + 120);
    expect((await stream.next('traffic'))['incidents']).toEqual([]);
    // A viewer cannot report one from the console (operators and supervisors may: web/console.test.ts).
    const refused = await fetch(`${base}api/traffic/incidents`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': 'x' }, body: JSON.stringify({ linkId: 'L-I2-I3' }) });
    expect(refused.status).toBe(403);
    await refused.arrayBuffer();
    stream.close();
  });

  it('locks in force and the schedule, read-only', async () => {
    const none = (await get('api/locks')).json;
    expect(none).toEqual({ configured: true, locks: [], schedule: null });
    await storage.setLock({ user: 'sam' }, { scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 120 }, reason: 'school run' });
    const locks = (await get('api/locks')).json['locks'] as Json[];
    expect(locks).toEqual([expect.objectContaining({ scope: { kind: 'corridor', id: 'renmin-rd' }, what: 'cycle', value: { cycleS: 120 }, reason: 'school run', author: 'sam' })]);
  });

  it('an event stream whose reader stops reading drops events, then says how many', async () => {
    let stream: ReturnType<typeof openEventStream> | undefined;
    const server = createServer((req, res) => {
      stream = openEventStream(req, res, new Set([res]), () => undefined, 64 * 1024);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const req = httpGet(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    const payload = 'x'.repeat(4096);
    let sent = 0;
    // Until the socket's buffers are full and the stream starts dropping (the reader reads nothing).
    while (stream!.dropped === 0 && sent < 100_000) if (stream!.send('tick', { n: sent, payload })) sent++;
    expect(stream!.dropped).toBe(1);
    for (let k = 0; k < 9; k++) stream!.send('tick', { n: -1, payload });
    expect(stream!.dropped).toBe(10);
    // The reader catches up; the next event is preceded by a gap of 10.
    res.setEncoding('utf8');
    let text = '';
    res.on('data', (d: string) => (text += d));
    res.resume();
    while (!text.includes(`"n":${sent - 1},`)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(stream!.send('last', { n: 'last' })).toBe(true);
    while (!text.includes('"n":"last"')) await new Promise((r) => setTimeout(r, 5));
    expect(text).toMatch(/event: gap\ndata: \{"dropped":10\}\n\nevent: last\n/);
    expect(text).not.toContain('"n":-1');
    stream!.end();
    req.destroy();
    server.close();
  });
});
