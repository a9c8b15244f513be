/**
 * Live detector health on the console (./liveDetectorHealth.ts through
 * ./networkApi.ts and ./intersectionApi.ts): a real `startServer` on the demo
 * city with a SQLite file holding ten minutes of one-minute detector counts,
 * as the count collector stores them, with two faults planted at I3 (one loop
 * stuck on, one loop whose rows stop). The network map and the intersection
 * page show the engine's fault checks on those counts, not the counts file's;
 * the event stream sends new health when the next minute's counts arrive;
 * counts older than the span checked fall back to the planner's view, saying so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import type { DetectorCount } from '../../service/storage/storage.js';
import { STUCK_ON_OCCUPANCY_PCT } from '../../engine/counts/faults.js';
import { HEALTH_WINDOW_INTERVALS } from '../../engine/counts/blackout.js';
import { hashPassword, UserStore } from './users.js';
import { LIVE_CHECK_INTERVALS } from './liveDetectorHealth.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-console-health-'));
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const MIN = 60_000;
let nowMs = T0 + 10 * MIN + 5000;
let storage: SqliteStorage;
let srv: RunningServer;
let base: string;
let cookie: string;
let stuck: string;
let stops: string;
type Json = Record<string, unknown>;
type Det = { id: string; healthy: boolean; faultsInFile: Record<string, number>; substituted: { intervalStart: string; fault: string }[] };

/** One minute's counts of every detector as the collector stores them, but for `skip` and with `stuck` occupied. */
function minute(k: number, skip: readonly string[], stuckOn: boolean): DetectorCount[] {
  return srv.state.c.network.intersections.flatMap((ix) =>
    ix.detectors.filter((d) => !skip.includes(d.id)).map((d) => ({ detectorId: d.id, intervalStartMs: T0 + k * MIN, intervalS: 60, volumeVeh: d.id === stuck && stuckOn ? 0 : 8 + (k % 3), occupancyPct: d.id === stuck && stuckOn ? STUCK_ON_OCCUPANCY_PCT : 9 })),
  );
}

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const users = new UserStore([{ user: 'val', passwordScrypt: await hashPassword('val-password'), roles: ['viewer'] }]);
  srv = await startServer({ insecure: true, port: 0, tokens: new TokenStore([]), storage, webPort: 0, users, countIntervalS: 60, clock: () => nowMs / 1000 });
  const i3 = srv.state.c.network.intersections.find((x) => x.id === 'I3')!;
  stuck = i3.detectors[0]!.id;
  stops = i3.detectors[1]!.id;
  // 08:00–08:09: the stuck loop reads occupied from 08:05, the other has no rows from 08:08.
  for (let k = 0; k < 10; k++) await storage.insertDetectorCounts({ user: 'greenwave' }, minute(k, k >= 8 ? [stops] : [], k >= 5));
  base = `http://127.0.0.1:${srv.webPort}/`;
  const res = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'val', password: 'val-password' }) });
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}, 30_000);

afterAll(async () => {
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string): Promise<Json> => (await (await fetch(`${base}${path}`, { headers: { cookie } })).json()) as Json;

/** Reads `health` events off the intersection's stream until one satisfies `until`. */
async function healthEvent(until: (h: Json) => boolean): Promise<Json> {
  const ac = new AbortController();
  const res = await fetch(`${base}api/network/signals?id=I3`, { headers: { cookie }, signal: ac.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buf += value;
      let cut = buf.indexOf('\n\n');
      while (cut >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (block.startsWith('event: health\n')) {
          const h = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Json;
          if (until(h)) return h;
        }
        cut = buf.indexOf('\n\n');
      }
    }
  } finally {
    ac.abort();
  }
}

describe('live detector health', () => {
  it('judges the counts collected lately with the engine fault checks, and streams the change when a minute is added', async () => {
    const map = await get('api/network/map');
    expect(map['health']).toMatchObject({ source: 'collected', intervalS: 60, windowFrom: '2026-03-02T08:05', windowTo: '2026-03-02T08:09', checkedFrom: '2026-03-02T08:00', checkedIntervals: 10 });
    const ixs = map['intersections'] as { id: string; unhealthyDetectors: number; substitutedDetectors: number }[];
    // Only I3 has faulty counts; its stuck loop is unhealthy, the one with two rows missing of five is repaired but healthy.
    expect(ixs.filter((x) => x.unhealthyDetectors > 0 || x.substitutedDetectors > 0)).toEqual([expect.objectContaining({ id: 'I3', unhealthyDetectors: 1, substitutedDetectors: 2 })]);

    const dets = ((await get('api/intersections/I3'))['health'] as { source: string; detectors: Det[] }).detectors;
    const s = dets.find((d) => d.id === stuck)!;
    expect(s.healthy).toBe(false);
    expect(s.faultsInFile['stuckOn']).toBe(5);
    expect(s.substituted.map((c) => c.fault)).toEqual(Array(HEALTH_WINDOW_INTERVALS + 1).fill('stuckOn'));
    const m = dets.find((d) => d.id === stops)!;
    expect(m).toMatchObject({ healthy: true, faultsInFile: { missing: 2, stuckOn: 0, chatter: 0, zero: 0 } });
    expect(m.substituted.map((c) => [c.intervalStart, c.fault])).toEqual([
      ['2026-03-02T08:08', 'missing'],
      ['2026-03-02T08:09', 'missing'],
    ]);
    expect(dets.filter((d) => d.id !== stuck && d.id !== stops).every((d) => d.healthy && d.substituted.length === 0)).toBe(true);

    // The next minute: still no rows from the second loop, now three of the five missing → unhealthy, pushed on the stream.
    const first = await healthEvent(() => true);
    expect((first['detectors'] as Det[]).find((d) => d.id === stops)!.healthy).toBe(true);
    await storage.insertDetectorCounts({ user: 'greenwave' }, minute(10, [stops], true));
    nowMs += MIN;
    const next = await healthEvent((h) => h['windowTo'] === '2026-03-02T08:10');
    expect(next).toMatchObject({ source: 'collected', windowFrom: '2026-03-02T08:06' });
    expect((next['detectors'] as Det[]).find((d) => d.id === stops)!.healthy).toBe(false);
  });

  it('falls back to the planner’s view, saying so, when nothing was collected in the span checked', async () => {
    nowMs += (LIVE_CHECK_INTERVALS + 1) * MIN;
    const h = await healthEvent(() => true);
    expect(h).toMatchObject({ source: 'startup', fallbackReason: 'NO_COUNTS', forInterval: srv.state.forInterval });
    expect((await get('api/network/map'))['health']).toMatchObject({ source: 'startup', fallbackReason: 'NO_COUNTS' });
  });
});
