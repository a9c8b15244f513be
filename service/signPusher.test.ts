/**
 * The service pushing guidance sign messages over Modbus: `serve --parking`
 * with a parking file whose signs have endpoints, two virtual signs behind one
 * Modbus TCP port and a third sign whose address accepts connections and never
 * answers. Occupancy changes reach the signs on the next round, FULL's
 * hysteresis keeps an unchanged display from being pushed again, and the dead
 * sign fails by its timeout without holding up the others.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { startServer, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { SIGN_LINE_KIND, SIGN_STATE_CODE } from '../controllers-adapter/signBlock.js';

const DEMO_PARKING = new URL('../examples/demo-city/parking.json', import.meta.url);
// Monday 2026-03-02 10:00 in Hangzhou, in seconds.
const T0 = Date.parse('2026-03-02T10:00:00+08:00') / 1000;

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let dir: string;
let signServer: ControllerServer<VirtualSign>;
let hole: Server;
const holeSockets: Socket[] = [];
let srv: RunningServer;
const s1 = new VirtualSign(T0);
const s2 = new VirtualSign(T0);
const now = T0;

beforeAll(async () => {
  signServer = await ControllerServer.start([
    { unitId: 100, controller: s1 },
    { unitId: 101, controller: s2 },
  ]);
  hole = createServer((s) => {
    holeSockets.push(s);
    s.on('data', () => {});
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  const file = JSON.parse(readFileSync(DEMO_PARKING, 'utf8'));
  file.signs[0].endpoint = { host: '127.0.0.1', port: signServer.port };
  file.signs[1].endpoint = { host: '127.0.0.1', port: signServer.port };
  file.signs[2].endpoint = { host: '127.0.0.1', port: (hole.address() as { port: number }).port };
  dir = mkdtempSync(join(tmpdir(), 'gw-signs-'));
  writeFileSync(join(dir, 'parking.json'), JSON.stringify(file));
  srv = await startServer({
    insecure: true,
    port: 0,
    tokens: new TokenStore([]),
    clock: () => now,
    parking: join(dir, 'parking.json'),
    shutdownGraceMs: 500,
    // Rounds by hand (tick), after the first at start; short timeouts for the dead sign.
    signOptions: { periodMs: 3_600_000, client: { timeoutMs: 300, connectTimeoutMs: 300, retries: 1, backoffMs: 10 } },
  });
});
afterAll(async () => {
  await srv?.close();
  await signServer?.close();
  for (const s of holeSockets) s.destroy();
  await new Promise<void>((resolve) => (hole ? hole.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sign pusher', () => {
  test('messages reach the signs; FULL keeps its display; a dead sign holds up no other', async () => {
    const pusher = srv.signs!;
    expect(pusher.states().map((s) => s.signId)).toEqual(['S1', 'S2', 'S3']);
    // At start nothing is known: the signs go dark ("—" on every line).
    await until('the dark message at start, confirmed', () => pusher.states()[0]!.pushes === 1 && pusher.states()[1]!.pushes === 1);
    expect([s1.shown()?.state, s2.shown()?.state]).toEqual([SIGN_STATE_CODE.dark, SIGN_STATE_CODE.dark]);
    const feed = srv.parking!.feed;
    const k = (id: string): number => srv.parking!.parking.carPark(id)!;
    // P1: 206 spaces, P2: 156; S1 shows P1 ahead and P2 right.
    feed.report(k('P1'), 100, now * 1000);
    feed.report(k('P2'), 155, now * 1000);
    const t0 = Date.now();
    const round = pusher.tick();
    await until('S1 showing the reports', () => s1.shown()?.lines[0]?.freeSpaces === 106);
    expect(Date.now() - t0).toBeLessThan(250);
    expect(s1.shown()).toMatchObject({ state: SIGN_STATE_CODE.normal, lines: [{ kind: SIGN_LINE_KIND.spaces, freeSpaces: 106, direction: 1 }, { kind: SIGN_LINE_KIND.full, freeSpaces: 1, direction: 2 }] });
    // S2's car parks are still unknown: what it shows did not change, so it was not pushed again.
    expect(s2.commits).toBe(1);
    const s3 = pusher.states()[2]!;
    // S3's first push (from the start) is still trying; this round left it alone.
    expect(s3.inFlight).toBe(true);
    await round;
    await until('S3 failing by its timeout', () => s3.failures === 1);
    expect(s3.lastError).toMatch(/timed out after 300 ms/);

    // 4 free on P2: FULL stays (hysteresis: a number again from 7), nothing to push.
    const commits = s1.commits;
    feed.report(k('P2'), 152, now * 1000);
    await pusher.tick();
    expect(s1.commits).toBe(commits);
    feed.report(k('P2'), 140, now * 1000);
    await pusher.tick();
    expect(s1.shown()?.lines[1]).toMatchObject({ kind: SIGN_LINE_KIND.spaces, freeSpaces: 16 });
    expect(s1.commits).toBe(commits + 1);
    expect(pusher.states()[0]).toMatchObject({ signId: 'S1', failures: 0, lastError: '' });
    expect(s3.failures).toBeGreaterThanOrEqual(2);
  });
});
