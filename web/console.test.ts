/**
 * The operator console end to end, in headless Chromium (Debian's, driven by
 * playwright-core) against a real `startServer` with a SQLite file and the demo
 * city's ten virtual controllers on Modbus TCP. The controllers and the service
 * share a hand-driven clock, moved on while a rollout runs so that each plan
 * becomes active at the controllers' cycle zero. The operator opens Renmin Rd,
 * sees the time-space diagram, has an unsafe split refused with its rule named,
 * proposes a safe offset change; a supervisor approves and deploys it, watches
 * every controller confirm, then rolls back. At the API: a viewer cannot
 * deploy, a POST without the CSRF token is refused, logins are audited. Then
 * the bus priority page shows a decision made over gRPC as it arrives, the
 * parking page says parking guidance is not configured, the network page draws
 * all ten signals live, and I3's link opens its intersection page with the
 * ring-barrier diagram's cursor where the plan puts I3 at the (stopped) clock.
 * Needs `npm run build` (the page bundle, the review worker).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { levelOf } from '../engine/traffic/congestion.js';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../service/server.js';
import type { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, type ControlCentre } from '../test/fixtures/controlCentre.js';
import type { SqliteStorage } from '../service/storage/sqlite.js';
import { wirePlanId } from '../service/deployer.js';
import { hashPassword, UserStore } from './server/users.js';
import * as grpc from '@grpc/grpc-js';
import { TokenStore } from '../service/auth.js';
import { bearer, greenwaveStubs, unaryCall } from '../test/fixtures/grpc/client.js';

const PASSWORDS = { li: 'li-operator-pw', sam: 'sam-supervisor-pw', val: 'val-viewer-pw' } as const;

const dir = mkdtempSync(join(tmpdir(), 'gw-console-'));
let cc: ControlCentre;
let storage: SqliteStorage;
let srv: RunningServer;
let controllers: readonly VirtualController[];
let browser: Browser;
let page: Page;
let base: string;
const { c } = demo();
const ix = (id: string): number => c.intersectionIds.indexOf(id);

/** Moves the shared clock on (5 s every 20 ms) while `f` runs: plans start at each controller's next cycle zero. */
async function withTime<R>(f: () => Promise<R>): Promise<R> {
  const ticker = setInterval(() => cc.advance(5), 20);
  try {
    return await f();
  } finally {
    clearInterval(ticker);
  }
}

/** A session for the API: its cookie and CSRF token. */
async function login(user: keyof typeof PASSWORDS): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password: PASSWORDS[user] }) });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/^gw_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict/);
  return { cookie: cookie.split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
}

async function post(s: { cookie: string; csrf?: string }, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: s.cookie, ...(s.csrf ? { 'x-csrf-token': s.csrf } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Logs in from the keyboard only: the labelled fields in tab order, Enter submits. */
async function pageLogin(user: keyof typeof PASSWORDS): Promise<void> {
  await page.getByLabel('User').focus();
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORDS[user]);
  await page.keyboard.press('Enter');
  await page.getByText(`Signed in as ${user}`).waitFor();
}

beforeAll(async () => {
  const users = new UserStore([
    { user: 'li', passwordScrypt: await hashPassword(PASSWORDS.li), roles: ['operator', 'viewer'] },
    { user: 'sam', passwordScrypt: await hashPassword(PASSWORDS.sam), roles: ['operator', 'supervisor', 'viewer'] },
    { user: 'val', passwordScrypt: await hashPassword(PASSWORDS.val), roles: ['viewer'] },
  ]);
  const tokens = new TokenStore([{ token: 'bus-dispatch-token', client: 'bus-dispatch', roles: ['dispatch'] }]);
  cc = await startControlCentre(dir, { countIntervalS: 60, review: { durationS: 300, seeds: [1] }, webPort: 0, users, tokens });
  ({ srv, storage, controllers } = cc);
  base = `http://127.0.0.1:${srv.webPort}/`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await (await browser.newContext({ locale: 'en-US' })).newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('operator console', () => {
  let v1: number;

  it('API: a first plan deployed by a supervisor; a viewer cannot deploy; no CSRF token, no change; logins audited', async () => {
    const sam = await login('sam');
    const i1 = srv.state.plan.buffer.offsetS[ix('I1')]!;
    const proposed = await post(sam, 'api/plans', { edits: [{ intersectionId: 'I1', offsetS: (i1 + 4) % srv.state.plan.buffer.cycleS[ix('I1')]! }], reason: 'baseline' });
    expect(proposed.status).toBe(200);
    v1 = Number(proposed.json['planId']);
    expect((await post(sam, `api/plans/${v1}/decision`, { decision: 'approve' })).json['state']).toBe('approved');

    const val = await login('val');
    const refused = await post(val, `api/plans/${v1}/deploy`, {});
    expect(refused.status).toBe(403);
    expect(refused.json['error']).toMatchObject({ code: 'FORBIDDEN' });
    expect((await post({ cookie: sam.cookie }, `api/plans/${v1}/deploy`, {})).json['error']).toMatchObject({ code: 'CSRF' });
    expect((await post({ cookie: sam.cookie, csrf: val.csrf }, `api/plans/${v1}/deploy`, {})).status).toBe(403);
    expect((await post({ cookie: 'gw_session=forged' }, `api/plans/${v1}/deploy`, {})).status).toBe(401);
    expect((await storage.listDeployments({ planId: v1 })).length).toBe(0);

    const d = await post(sam, `api/plans/${v1}/deploy`, {});
    expect(d.status).toBe(200);
    await withTime(async () => {
      while ((await storage.listDeployments({ planId: v1 })).some((x) => x.state !== 'confirmed')) await new Promise((r) => setTimeout(r, 50));
    });
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(v1)));

    const wrong = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'val', password: 'wrong' }) });
    await wrong.arrayBuffer();
    expect(wrong.status).toBe(401);
    const audited = await storage.listAudit({ actionPrefix: 'console.login' });
    expect(audited.map((a) => [a.actor, a.action])).toEqual([
      ['sam', 'console.login'],
      ['val', 'console.login'],
      ['val', 'console.login.refused'],
    ]);
  }, 60_000);

  it('in Chromium: the operator tunes Renmin Rd, the supervisor approves and deploys, the controllers confirm, then rolls back', async () => {
    await page.goto(`${base}#/corridor/renmin-rd`);
    await pageLogin('li');
    await page.locator('body[data-corridor-ready="1"]').waitFor();
    // Navigation to an interactive corridor page, logged in already: timed by the page's own mark.
    await page.reload();
    await page.locator('body[data-corridor-ready="1"]').waitFor();
    const readyMs = await page.evaluate(() => performance.getEntriesByName('gw:corridor-ready')[0]!.startTime);
    const chart = page.getByRole('img', { name: /Time-space diagram of Renmin Rd.*8 signals/ });
    await expect.poll(() => chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(await chart.getAttribute('data-band-out')).toMatch(/^\d+\.\d$/);
    // The live signal state (SPaT over server-sent events) fills the editor's "Now" column.
    await expect.poll(() => page.locator('td[data-live-out]').count()).toBe(8);

    // Bilingual: the same page in Chinese, and back.
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: /干线/ }).waitFor();
    await page.getByLabel('语言').selectOption('en');

    // An unsafe split: refused with the rule named, nothing stored.
    await page.getByLabel('I2 phase S1 (EBL WBL) green (s)').fill('2');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/I2 · S1.*below the minimum green.*rule MIN_GREEN/);
    expect(await page.getByRole('button', { name: 'Propose' }).isDisabled()).toBe(true);
    // The preview drawn at once is gone: the diagram is the plan in force again, marked refused.
    expect(await chart.getAttribute('data-status')).toBe('refused');

    // A safe change: the diagram redraws the edit as it would run; proposed as a new version.
    await page.getByRole('button', { name: 'Reset' }).click();
    const i3 = srv.state.plan.buffer;
    const newOffset = Math.round(((i3.offsetS[ix('I3')]! + 20) % i3.cycleS[ix('I3')]!) * 10) / 10;
    await page.getByLabel('I3 offset (s)').fill(String(newOffset));
    await page.locator('[data-check="ok"]').waitFor();
    await page.locator('.tsd[data-status="valid"]').waitFor();
    await expect.poll(() => page.evaluate(() => performance.getEntriesByName('gw:edit-checked').length)).toBeGreaterThan(1);
    // From the edit: its preview drawn, and the validator's answer drawn (after the editor's pause).
    const [previewMs, editMs] = await page.evaluate(() => [performance.getEntriesByName('gw:edit-drawn').at(-1)!.duration, performance.getEntriesByName('gw:edit-checked').at(-1)!.duration]);
    // What is drawn is the edited plan: I3 at its new offset, the others as they were.
    expect(await chart.getAttribute('data-offsets')).toContain(`I3:${newOffset.toFixed(1)}`);
    expect(await chart.getAttribute('data-offsets')).toContain(`I1:${i3.offsetS[ix('I1')]!.toFixed(1)}`);
    await page.getByLabel('Reason for the change').fill('platoon reaches I3 early');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByText(/Proposed as version 2 \(plan #\d+\)/).waitFor();
    const v2 = Number(/#(\d+)/.exec((await page.getByText(/Proposed as version 2/).textContent())!)![1]);
    await page.getByRole('button', { name: 'Simulate before/after' }).click();
    await page.getByRole('table', { name: /Before and after \(simulated 300 s/ }).waitFor({ timeout: 30_000 });

    // The operator cannot approve: no button, and the API says no.
    await page.goto(`${base}#/plans/${v2}`);
    await page.getByRole('heading', { name: `Version 2 (plan #${v2})` }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Log out' }).click();

    // The supervisor: side-by-side diff, approve, deploy, every controller confirms live.
    await pageLogin('sam');
    await page.goto(`${base}#/plans/${v2}`);
    const diff = page.getByRole('table', { name: 'Side by side: in force and this version' });
    await diff.getByRole('rowheader', { name: 'I3' }).waitFor();
    expect(await diff.locator('td.after').first().textContent()).toBe(String(newOffset));
    // Approve from the keyboard too.
    await page.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await withTime(() => page.locator('.rollout[data-done="1"]').waitFor({ timeout: 30_000 }));
    expect(await page.locator('.rollout tbody tr[data-state="confirmed"]').count()).toBe(10);
    expect(await page.getByText('Rollout finished: 10 confirmed, 0 failed.').count()).toBe(1);
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(v2)));
    expect(srv.state.plan.buffer.offsetS[ix('I3')]).toBeCloseTo(newOffset, 6);

    // Roll back to version 1 in one step.
    await page.goto(`${base}#/plans/${v1}`);
    await page.getByRole('button', { name: 'Roll back to this version' }).click();
    await withTime(() => page.locator('.rollout[data-done="1"]').waitFor({ timeout: 30_000 }));
    const rolloutId = (await page.locator('.rollout').getAttribute('data-rollout'))!;
    const v3 = Number(/^rollout-(\d+)-/.exec(rolloutId)![1]);
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(v3)));
    expect(srv.state.plan.buffer.offsetS[ix('I3')]).not.toBeCloseTo(newOffset, 1);
    const rolled = await storage.getTimingPlan(v3);
    expect(rolled?.reason).toMatch(/^rollback to version 1/);

    process.stdout.write(`console: corridor page interactive ${readyMs.toFixed(0)} ms after navigation; an edit's preview drawn ${previewMs!.toFixed(0)} ms after it, the validator's answer drawn ${editMs!.toFixed(0)} ms after it\n`);
    expect(readyMs).toBeLessThan(5000);
  }, 90_000);

  it('in Chromium: a priority request made over gRPC appears on the bus priority page as it is decided', async () => {
    const t0 = performance.now();
    await page.goto(`${base}#/priority`);
    await page.getByRole('heading', { name: 'Bus priority' }).waitFor();
    await page.locator('[data-live="1"]').waitFor();
    const bus = new (greenwaveStubs()['BusPriorityService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    try {
      const ask = { vehicle_id: 'bus-e2e', route_id: '12', intersection_id: 'I4', movement: 'EBT', eta_s: 30, lateness_s: 200, occupancy: 50, priority_class: 'PRIORITY_CLASS_BUS' };
      const { err, res } = await unaryCall(bus, 'RequestPriority', ask, bearer('bus-dispatch-token'), 5000);
      expect(err).toBeNull();
      const row = page.locator('table.priority-log tr[data-vehicle="bus-e2e"]');
      await row.waitFor();
      expect(await row.getAttribute('data-outcome')).toBe(res['granted'] ? 'granted' : 'refused');
      expect(await row.textContent()).toMatch(/request.*bus-e2e.*12.*I4.*bus.*200/);
      await page.locator('table.priority-open tr[data-vehicle="bus-e2e"]').waitFor();
    } finally {
      bus.close();
    }
    // Keyboard: the nav reaches the parking page, which says what is missing.
    await page.getByRole('link', { name: 'Parking' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Parking guidance is not configured').waitFor();
    process.stdout.write(`console: bus priority page and parking page in ${(performance.now() - t0).toFixed(0)} ms\n`);
  });

  it('in Chromium: the traffic page shows every road section with its level and the map, in both languages', async () => {
    const t0 = performance.now();
    await page.getByRole('link', { name: 'Traffic' }).click();
    await page.getByRole('heading', { name: 'Traffic state' }).waitFor();
    await page.getByRole('img', { name: /^Traffic map of .*: \d+ road sections coloured by congestion level$/ }).locator('canvas').waitFor();
    const est = srv.traffic.current();
    const L = srv.traffic.links;
    await expect.poll(() => page.locator('table.traffic tbody tr').count()).toBe(L.count);
    // Each row is the link state TrafficStateService serves: its travel time and level.
    const k = L.index.get('L-I2-I3')!;
    const row = page.locator('table.traffic tr[data-link="L-I2-I3"]');
    expect(Number(await row.locator('td[data-travel-time]').getAttribute('data-travel-time'))).toBeCloseTo(est.travelTimeS[k]!, 1);
    expect(await row.getAttribute('data-level')).toBe(String(levelOf(est.tpi[k]!)));
    expect(await page.locator('li[data-corridor="renmin-rd"]').textContent()).toMatch(/^Renmin Rd/);
    // An operator (or supervisor) reports an incident from the page, sees it listed live, then clears it; both audited.
    await page.getByRole('form', { name: 'Report an incident' }).getByLabel('Road section').selectOption('L-I5-I6');
    await page.getByRole('form', { name: 'Report an incident' }).getByLabel('Lanes blocked').fill('1');
    await page.getByRole('form', { name: 'Report an incident' }).getByLabel('Note').fill('stalled truck, lane 1');
    await page.getByRole('button', { name: 'Report', exact: true }).click();
    const li = page.locator('li[data-incident][data-link="L-I5-I6"]');
    await li.waitFor();
    // The page is signed in as sam (a supervisor) since the corridor test.
    expect(await li.textContent()).toMatch(/1 lane\(s\) blocked · reported by sam · stalled truck, lane 1/);
    const incidentId = (await li.getAttribute('data-incident'))!;
    expect(srv.traffic.incident(incidentId)).toMatchObject({ source: 'operator', reportedBy: 'sam', clearedS: undefined, lanesBlocked: 1 });
    await page.getByLabel(`Note on clearing ${incidentId}`).fill('towed');
    await page.locator(`button[data-clear="${incidentId}"]`).click();
    await li.waitFor({ state: 'detached' });
    expect(srv.traffic.incident(incidentId)).toMatchObject({ clearedBy: 'sam', note: 'stalled truck, lane 1 | towed' });
    expect((await storage.listAudit({ actionPrefix: 'incident.' })).map((r) => [r.action, r.actor])).toEqual([
      ['incident.report', 'sam'],
      ['incident.clear', 'sam'],
    ]);
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '路网交通状态' }).waitFor();
    // The service's status texts are English; the page words them in its language.
    expect(await page.locator('[data-progression]').textContent()).toMatch(/按随机到达计算/);
    expect(await page.locator('[data-detection]').textContent()).toMatch(/事件检测/);
    expect(await row.locator('td').nth(7).textContent()).toMatch(/^(畅通|基本畅通|轻度拥堵|中度拥堵|严重拥堵|无车流)$/);
    await page.getByLabel('语言').selectOption('en');
    process.stdout.write(`console: traffic page in ${(performance.now() - t0).toFixed(0)} ms\n`);
  });

  it('in Chromium: the network page draws every signal live; a signal opens its intersection, whose ring-barrier cursor is at its time in cycle', async () => {
    // Seven minutes of counts on the controllers' loops, one I3 loop stuck on, collected minute by minute
    // (the collector's own rounds, run here rather than on its timer, so none races the test): the pages judge these.
    const c = srv.state.c;
    const stuck = c.network.intersections[ix('I3')]!.detectors[0]!.id;
    await srv.counts!.tick();
    for (let m = 0; m < 7; m++) {
      controllers.forEach((k, i) => {
        const { start, count } = detectorRange(c, i);
        for (let d = start; d < start + count; d++) {
          if (c.detectorIds[d] === stuck) k.addDetectorCounts(d - start, 0, 60);
          else k.addDetectorCounts(d - start, 9, 6);
        }
      });
      cc.advance(60 - (cc.now() % 60) + 1);
      await srv.counts!.tick();
    }
    const t0 = performance.now();
    await page.goto(`${base}#/network`);
    await page.getByRole('img', { name: /Schematic of .*: 10 signals/ }).locator('canvas').waitFor();
    await expect.poll(() => page.locator('td[data-live]').count()).toBe(10);
    await page.locator('p[data-health-source="collected"]').waitFor();
    expect(await page.locator('tr[data-signal="I3"] td').last().textContent()).toMatch(/, 1 faulty/);
    // From the keyboard: the signal's link in the table opens its page.
    await page.getByRole('link', { name: /^I3 / }).focus();
    await page.keyboard.press('Enter');
    const rb = page.getByRole('img', { name: /Ring-barrier diagram of I3: 2 rows/ });
    await rb.locator('canvas').waitFor();
    expect(await rb.getAttribute('data-phases')).toBe('8');
    // The clock stands still here: the cursor is where the plan in force puts I3 now.
    await expect.poll(() => rb.getAttribute('data-now')).toMatch(/^\d/);
    const b = srv.state.plan.buffer;
    const want = (((cc.now() - b.offsetS[ix('I3')]!) % b.cycleS[ix('I3')]!) + b.cycleS[ix('I3')]!) % b.cycleS[ix('I3')]!;
    expect(Number(await rb.getAttribute('data-now'))).toBeCloseTo(want, 0);
    expect(['available', 'NO_EVENTS']).toContain(await page.locator('[data-measures]').first().getAttribute('data-measures'));
    // Its detectors as the collected counts have them: the stuck loop alone faulty.
    await page.getByRole('table', { name: 'Detector faults in the counts collected from the controllers' }).waitFor();
    expect(await page.locator('table.detectors tr[data-healthy="0"] th').allTextContents()).toEqual([stuck]);
    process.stdout.write(`console: network page, then intersection page drawn, in ${(performance.now() - t0).toFixed(0)} ms\n`);
  }, 30_000);
});
