/**
 * The console's HTTP API on a real `startServer` (demo city, SQLite file, no
 * controllers) over plain fetch: the page is served with its security headers,
 * sessions and CSRF, roles per endpoint, the lockout seen over HTTP and audited,
 * logout ending the session, live validation answering the validator's rules
 * without storing anything, and the time-space data agreeing with the plan it
 * was drawn from (each through-green window really is green at the signal).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import { mod } from '../../engine/numeric.js';
import { throughIndex } from '../../engine/corridor/subsystems.js';
import type { ApproachId } from '../../engine/network/schema.js';
import { hashPassword, LOCKOUT_FAILURES, UserStore } from './users.js';
import type { TimeSpaceData } from './timeSpace.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-console-api-'));
let storage: SqliteStorage;
let srv: RunningServer;
let base: string;
type Json = Record<string, unknown>;

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const users = new UserStore([
    { user: 'li', passwordScrypt: await hashPassword('li-password'), roles: ['operator', 'viewer'] },
    { user: 'val', passwordScrypt: await hashPassword('val-password'), roles: ['viewer'] },
  ]);
  srv = await startServer({ insecure: true, port: 0, tokens: new TokenStore([{ token: 'unused-token', client: 'nobody', roles: ['viewer'] }]), storage, webPort: 0, users });
  base = `http://127.0.0.1:${srv.webPort}/`;
}, 60_000);

afterAll(async () => {
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(user: string, password: string): Promise<{ status: number; cookie: string; csrf: string }> {
  const res = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
  const body = (await res.json()) as Json;
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: String(body['csrfToken'] ?? '') };
}

const get = async (s: { cookie: string }, path: string): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, { headers: { cookie: s.cookie } });
  return { status: res.status, json: (await res.json()) as Json };
};
const post = async (s: { cookie: string; csrf: string }, path: string, body: unknown, type = 'application/json'): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, cookie: s.cookie, 'x-csrf-token': s.csrf }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
};

describe('console API', () => {
  it('serves the page with headers that keep it to its own origin', async () => {
    const res = await fetch(base);
    await res.arrayBuffer();
    // The bundle may not be built in the unit tier: either the page or a 404 saying so, with the headers either way.
    expect([200, 404]).toContain(res.status);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // Bodies read to the end, so that the connections are idle when the server closes.
    const status = async (path: string): Promise<number> => {
      const r = await fetch(`${base}${path}`);
      await r.arrayBuffer();
      return r.status;
    };
    expect(await status('../../etc/passwd')).toBe(404);
    expect(await status('api/network')).toBe(401);
  });

  it('logout ends the session; the CSRF token and JSON are required on POST', async () => {
    const li = await login('li', 'li-password');
    expect(li.status).toBe(200);
    expect((await get(li, 'api/session')).json).toMatchObject({ user: 'li', roles: ['operator', 'viewer'] });
    const edit = { edits: [{ intersectionId: 'I3', offsetS: 10 }] };
    expect((await post({ ...li, csrf: 'wrong' }, 'api/corridors/renmin-rd/validate', edit)).json['error']).toMatchObject({ code: 'CSRF' });
    expect((await post(li, 'api/corridors/renmin-rd/validate', edit, 'text/plain')).status).toBe(415);
    expect((await post(li, 'api/logout', {})).status).toBe(200);
    expect((await get(li, 'api/session')).status).toBe(401);
    expect((await post(li, 'api/corridors/renmin-rd/validate', edit)).status).toBe(401);
  });

  it(`locks a user after ${LOCKOUT_FAILURES} failed logins (429) and audits every attempt`, async () => {
    for (let k = 1; k < LOCKOUT_FAILURES; k++) expect((await login('val', 'nope')).status).toBe(401);
    expect((await login('val', 'nope')).status).toBe(429);
    expect((await login('val', 'val-password')).status).toBe(429);
    expect((await login('li', 'li-password')).status).toBe(200);
    const rows = await storage.listAudit({ actionPrefix: 'console.login', actor: 'val' });
    expect(rows.map((r) => (JSON.parse(r.detail) as { reason: string }).reason)).toEqual([...Array(LOCKOUT_FAILURES - 1).fill('bad-credentials'), 'locked', 'locked']);
    expect(rows[0]!.peer).toMatch(/^http:.*:\d+$/);
    // The audit page's search sees them too, with their detail as JSON.
    const li = await login('li', 'li-password');
    const found = await get(li, 'api/audit?actor=val&action=console.login.refused');
    expect((found.json['rows'] as Json[]).map((r) => (r['detail'] as Json)['reason'])).toEqual([...Array(LOCKOUT_FAILURES - 1).fill('bad-credentials'), 'locked', 'locked']);
  });

  it('validates an edit with the one validator, naming the rule, and stores nothing; an unsafe proposal is refused the same way', async () => {
    const li = await login('li', 'li-password');
    const unsafe = await post(li, 'api/corridors/renmin-rd/validate', { edits: [{ intersectionId: 'I2', phases: [{ phaseId: 'S1', greenS: 2 }] }] });
    expect(unsafe.status).toBe(200);
    expect(unsafe.json).toMatchObject({ ok: false, problems: [{ path: 'edits[0].phases[0].greenS', code: 'MIN_GREEN' }] });
    const malformed = await post(li, 'api/corridors/renmin-rd/validate', { edits: [{ intersectionId: 'I99' }] });
    expect(malformed.json).toMatchObject({ ok: false, problems: [{ path: 'edits[0].intersectionId' }] });
    const safe = await post(li, 'api/corridors/renmin-rd/validate', { edits: [{ intersectionId: 'I3', offsetS: 12.3 }] });
    expect(safe.json['ok']).toBe(true);
    expect((safe.json['tsd'] as TimeSpaceData).signals.find((s) => s.id === 'I3')!.offsetS).toBe(12.3);
    expect(await storage.listTimingPlans({ kind: 'network', id: srv.state.c.network.name })).toEqual([]);
    const proposed = await post(li, 'api/plans', { edits: [{ intersectionId: 'I2', phases: [{ phaseId: 'S1', greenS: 2 }] }], reason: 'try' });
    expect(proposed.status).toBe(422);
    expect(proposed.json['error']).toMatchObject({ code: 'UNSAFE_PLAN', issues: [{ code: 'MIN_GREEN' }] });
  });

  it("draws each signal's through green where the plan has it green, at the signal's distance", async () => {
    const li = await login('li', 'li-password');
    const { json } = await get(li, 'api/corridors/renmin-rd/tsd');
    const d = json as unknown as TimeSpaceData;
    const { c, plan } = { c: srv.state.c, plan: srv.state.plan };
    expect(d.signals.map((s) => s.id)).toEqual(c.network.corridors[0]!.intersections);
    expect(d.signals[1]!.positionM).toBe(d.links[0]!.lengthM);
    const greenAt = (i: number, movement: number, tS: number): boolean => {
      const local = mod(tS - plan.buffer.offsetS[i]!, plan.buffer.cycleS[i]!);
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        if (!((c.phaseProtectedMask[p]! >> movement) & 1) || c.phaseOnDemand[p] === 1) continue;
        if (mod(local - plan.buffer.phaseStartS[p]!, plan.buffer.cycleS[i]!) < plan.buffer.phaseGreenS[p]! - 1e-9) return true;
      }
      return false;
    };
    for (const s of d.signals) {
      const i = c.intersectionIds.indexOf(s.id);
      for (const [w, approach] of [
        [s.out, s.outApproach],
        [s.in, s.inApproach],
      ] as const) {
        expect(w.greenS).toBeGreaterThan(0);
        const m = throughIndex(approach as ApproachId);
        for (let f = 0.01; f < 1; f += 0.1) expect(greenAt(i, m, s.offsetS + w.startS + f * w.greenS)).toBe(true);
        expect(greenAt(i, m, s.offsetS + w.startS + w.greenS + 0.05)).toBe(false);
        expect(w.yellowS).toBeGreaterThanOrEqual(3);
      }
    }
    expect(d.bands?.cycleS).toBe(plan.buffer.cycleS[c.intersectionIds.indexOf('I1')]);
    expect((await get(li, 'api/corridors/nowhere/tsd')).status).toBe(404);
  });

  it("streams the corridor's live signal state, agreeing with the diagram: a through movement is green exactly inside its drawn window", async () => {
    const li = await login('li', 'li-password');
    const tsd = (await get(li, 'api/corridors/renmin-rd/tsd')).json as unknown as TimeSpaceData;
    const res = await fetch(`${base}api/corridors/renmin-rd/signals`, { headers: { cookie: li.cookie } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const m = /^event: signals\ndata: (.*)$/m.exec(text)!;
    const live = JSON.parse(m[1]!) as { tS: number; signals: { id: string; cycleTimeS: number; out: string; in: string }[] };
    expect(live.signals.map((s) => s.id)).toEqual(tsd.signals.map((s) => s.id));
    let checked = 0;
    for (const s of tsd.signals) {
      const l = live.signals.find((x) => x.id === s.id)!;
      expect(l.cycleTimeS).toBeCloseTo(mod(live.tS - s.offsetS, s.cycleS), 3);
      for (const [w, state] of [
        [s.out, l.out],
        [s.in, l.in],
      ] as const) {
        const into = mod(live.tS - s.offsetS - w.startS, s.cycleS);
        if (Math.abs(into) < 0.2 || Math.abs(into - w.greenS) < 0.2 || s.cycleS - into < 0.2) continue;
        expect(state.endsWith('MOVEMENT_ALLOWED'), `${s.id} at ${into.toFixed(1)} s into a ${w.greenS} s window: ${state}`).toBe(into < w.greenS);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(12);
    const refused = await fetch(`${base}api/corridors/renmin-rd/signals`);
    await refused.arrayBuffer();
    expect(refused.status).toBe(401);
  });
});
