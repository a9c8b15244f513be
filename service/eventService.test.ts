/**
 * EventService over a real gRPC server with a real SQLite store holding the hand-made event
 * log of engine/measures/measures.test.ts (test/fixtures/events/handmade.csv: one crossing,
 * NEMA phases 2 and 4), whose measures are worked out by hand there: ListEvents pages
 * through exactly the stored log with its caps named, and GetMeasures returns the hand-made
 * numbers for phase 2 (50 % arrivals on green, platoon ratio 174/144, delay 6.2 s/veh, 2
 * split failures of 3, one gap-out / max-out / force-off, splits 32, 26, 32 s).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { SqliteStorage } from './storage/sqlite.js';
import { readEventsCsv } from '../engine/events/csv.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { MAX_PAGE_SIZE } from './eventService.js';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/events/${name}`, import.meta.url));
const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const dir = mkdtempSync(join(tmpdir(), 'gw-eventsvc-'));

function md(token = 'viewer-secret-1'): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}
function unary(client: Client, method: string, req: object, meta = md()): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}

let srv: RunningServer;
let storage: SqliteStorage;
let client: Client;
const log = readEventsCsv(readFileSync(fixture('handmade.csv'), 'utf8'), 'handmade.csv').records();

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'events.db') });
  // Two writes, as the collector's batches would be.
  await storage.insertEvents({ user: 'test' }, log.slice(0, 30));
  await storage.insertEvents({ user: 'test' }, log.slice(30));
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), networkPath: fixture('network.json'), countsPath: fixture('counts.csv'), at: '08:00', storage, shutdownGraceMs: 1000 });
  client = new pkg.greenwave.v1['EventService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EventService', () => {
  test('ListEvents pages through exactly the stored log, in order, with filters and caps', async () => {
    const all: Record<string, unknown>[] = [];
    let token = '';
    let pages = 0;
    do {
      const { err, res } = await unary(client, 'ListEvents', { from: ts(T0 - 60_000), to: ts(T0 + 3_600_000), page_size: 7, page_token: token });
      expect(err).toBeNull();
      all.push(...(res['events'] as Record<string, unknown>[]));
      token = String(res['next_page_token']);
      pages++;
    } while (token !== '' && pages < 100);
    const want = log.map((e) => ({ location_id: e.locationId, timestamp: { seconds: String(Math.floor(e.timestampMs / 1000)), nanos: (e.timestampMs % 1000) * 1e6 }, event_code: e.eventCode, event_param: e.eventParam }));
    expect(all.map((e) => ({ ...e, timestamp: { seconds: String((e['timestamp'] as { seconds: unknown }).seconds), nanos: (e['timestamp'] as { nanos: number }).nanos } }))).toEqual(want);
    expect(pages).toBe(Math.ceil(log.length / 7));
    const greens = await unary(client, 'ListEvents', { location_id: 'X1', from: ts(T0), to: ts(T0 + 3_600_000), event_codes: [1] });
    expect((greens.res['events'] as { event_code: number }[]).map((e) => e.event_code)).toEqual(log.filter((e) => e.locationId === 'X1' && e.eventCode === 1).map(() => 1));
    const tooBig = await unary(client, 'ListEvents', { from: ts(T0), to: ts(T0 + 1000), page_size: MAX_PAGE_SIZE + 1 });
    expect(tooBig.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(tooBig.err?.details).toContain(`page_size: must be at most ${MAX_PAGE_SIZE}`);
    const badToken = await unary(client, 'ListEvents', { from: ts(T0), to: ts(T0 + 1000), page_token: 'v1.1.2' });
    expect(badToken.err?.details).toContain('page_token');
    const unauth = await unary(client, 'ListEvents', { from: ts(T0), to: ts(T0 + 1000) }, md('nope'));
    expect(unauth.err?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  test('GetMeasures: the hand-computed measures of phase 2', async () => {
    const { err, res } = await unary(client, 'GetMeasures', { intersection_id: 'X1', from: ts(T0 - 60_000), to: ts(T0 + 3_600_000), include_pcd: true });
    expect(err).toBeNull();
    const p2 = (res['phases'] as Record<string, unknown>[]).find((p) => p['phase_id'] === '2')!;
    expect(p2).toMatchObject({ phase_number: 2, cycles: 3, arrivals: 10, arrivals_on_green: 5, percent_arrivals_on_green: 50, split_failures: 2, split_failure_cycles: 3, total_delay_s: 62 });
    expect(p2['percent_green']).toBeCloseTo((100 * 72) / 174, 9);
    expect(p2['platoon_ratio']).toBeCloseTo(174 / 144, 9);
    expect(p2['approach_delay_s_per_veh']).toBeCloseTo(6.2, 9);
    expect(p2['percent_split_failures']).toBeCloseTo(200 / 3, 9);
    expect(p2['terminations']).toEqual({ gap_out: 1, max_out: 1, force_off: 1, unreported: 0 });
    // Splits 32, 26, 32 s: mean 30, p50 32 (nearest rank), p85 and p95 32.
    expect(p2['split']).toEqual({ cycles: 3, mean_s: 30, min_s: 26, max_s: 32, p50_s: 32, p85_s: 32, p95_s: 32 });
    // The PCD: cycle 1 is [0, 60) s, green at 30, yellow at 56; its arrivals at 15, 33, 45, 57 s.
    expect((p2['pcd_cycles'] as Record<string, unknown>[])[0]).toMatchObject({ green_start_s: 30, yellow_start_s: 56, end_s: 60 });
    expect((p2['pcd_points'] as { cycle: number; in_cycle_s: number; on: string }[]).filter((pt) => pt.cycle === 0).map((pt) => [pt.in_cycle_s, pt.on])).toEqual([[15, 'red'], [33, 'green'], [45, 'green'], [57, 'yellow']]);
    // A range that misses the first cycle's red start loses that cycle.
    const later = await unary(client, 'GetMeasures', { intersection_id: 'X1', from: ts(T0 + 1000), to: ts(T0 + 3_600_000) });
    expect((later.res['phases'] as Record<string, unknown>[]).find((p) => p['phase_id'] === '2')!['cycles']).toBe(2);
    const day = await unary(client, 'GetMeasures', { intersection_id: 'X1', from: ts(T0), to: ts(T0 + 2 * 86_400_000) });
    expect(day.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(day.err?.details).toContain('to: the range may span at most 86400 s');
    const unknown = await unary(client, 'GetMeasures', { intersection_id: 'nope', from: ts(T0), to: ts(T0 + 1000) });
    expect(unknown.err?.code).toBe(grpc.status.NOT_FOUND);
  });

  test('GetMeasures: pedestrian service and TSP requests, stored after the hand-made log', async () => {
    const at = (s: number) => T0 + 4_000_000 + s * 1000;
    const e = (s: number, eventCode: number, eventParam: number) => ({ locationId: 'X1', timestampMs: at(s), eventCode, eventParam });
    // Phase 2 cycles once around them, so it is a logged phase. A walk on a call at 0 (delay 10 s,
    // walk 7, clearance 12); TSP request 5 extended, 30 s; request 6 still open.
    await storage.insertEvents({ user: 'test' }, [e(0, 45, 2), e(10, 1, 2), e(10, 21, 2), e(17, 22, 2), e(29, 23, 2), e(31, 112, 5), e(32, 114, 5), e(40, 8, 2), e(44, 9, 2), e(61, 115, 5), e(70, 112, 6)]);
    const { err, res } = await unary(client, 'GetMeasures', { intersection_id: 'X1', from: ts(at(-5)), to: ts(at(100)) });
    expect(err).toBeNull();
    const p2 = (res['phases'] as Record<string, unknown>[]).find((p) => p['phase_id'] === '2')!;
    expect(p2['pedestrian']).toEqual({ walks: 1, walks_on_recall: 0, mean_walk_s: 7, mean_clearance_s: 12, min_clearance_s: 12, calls: 1, served_calls: 1, average_delay_s: 10, max_delay_s: 10 });
    const tsp = res['tsp'] as Record<string, unknown>;
    expect(tsp).toMatchObject({ requests: 2, early_greens: 0, extend_greens: 1, not_adjusted: 0, checked_out: 1, open: 1, unmatched_check_outs: 0, mean_service_s: 30, max_service_s: 30 });
    const records = tsp['records'] as Record<string, unknown>[];
    expect(records.map((r) => [r['request_number'], r['adjustment'], r['service_s'], r['check_out'] === null || r['check_out'] === undefined])).toEqual([
      [5, 'extendGreen', 30, false],
      [6, 'none', Number.NaN, true],
    ]);
    // The hand-made hour has neither.
    const hour = await unary(client, 'GetMeasures', { intersection_id: 'X1', from: ts(T0 - 60_000), to: ts(T0 + 3_600_000) });
    expect(hour.res['tsp'] ?? null).toBeNull();
    expect((hour.res['phases'] as Record<string, unknown>[]).every((p) => (p['pedestrian'] ?? null) === null)).toBe(true);
  });
});
