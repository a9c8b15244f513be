/**
 * Screenshots of the operator console for docs/: the corridor page (with an
 * unsafe split refused by the validator), the plans page (a proposed
 * version side by side with the plan in force), the network page and the
 * intersection page of I3 (its measures from fifteen simulated minutes of
 * controller events stored just before), the bus priority page (requests a
 * dispatch client made over gRPC, one cancelled), the parking page (the
 * demo city's car parks with occupancy reported, one full, one never heard
 * from) and the traffic page (the counts file's state, an incident an operator
 * reported), in English and Chinese, taken in headless Chromium from a console
 * served by startServer on the demo city and its parking file (temporary
 * SQLite file, no controllers). Run by `npm run docs:generate` after the
 * build (node dist/web/screenshots.js); Chromium from GREENWAVE_CHROMIUM or
 * /usr/bin/chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../service/server.js';
import { TokenStore } from '../service/auth.js';
import { SqliteStorage } from '../service/storage/sqlite.js';
import { hashPassword, UserStore } from './server/users.js';
import { Simulation } from '../simulator/simulation.js';
import { movementFlowsFromLanes } from '../simulator/demand.js';
import { SimEventRecorder } from '../simulator/events.js';
import * as grpc from '@grpc/grpc-js';
import { bearer, greenwaveStubs, unaryCall } from '../test/fixtures/grpc/client.js';

/** The repository's docs/, from web/ (sources) or dist/web/ (compiled). */
const DOCS = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../docs/' : '../docs/', import.meta.url));
export const SCREENSHOTS = ['console-corridor-en.png', 'console-corridor-zh-CN.png', 'console-plans-en.png', 'console-plans-zh-CN.png', 'console-network-en.png', 'console-network-zh-CN.png', 'console-intersection-en.png', 'console-intersection-zh-CN.png', 'console-priority-en.png', 'console-priority-zh-CN.png', 'console-parking-en.png', 'console-parking-zh-CN.png', 'console-traffic-en.png', 'console-traffic-zh-CN.png'] as const;
/** The demo city's car parks and signs. */
const PARKING = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../examples/demo-city/parking.json' : '../examples/demo-city/parking.json', import.meta.url));
/** Bus priority requests for the shot: vehicle, route, intersection, movement, arrival in s, lateness s. */
const BUSES: readonly [string, string, string, string, number, number][] = [
  ['bus-901', '9', 'I2', 'EBT', 25, 150],
  ['bus-902', '9', 'I5', 'EBT', 40, 40],
  ['bus-315', '31', 'I4', 'WBT', 18, 260],
  ['bus-316', '31', 'I6', 'WBT', 55, 0],
  ['bus-127', '12', 'I3', 'NBT', 30, 200],
];
/** Simulated controller events stored before the shots, s (ending at the service's clock, now). */
const EVENTS_S = 900;

export async function takeScreenshots(docsDir = DOCS): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-shots-'));
  const storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const password = 'docs-screenshot-pw';
  const users = new UserStore([{ user: 'li', passwordScrypt: await hashPassword(password), roles: ['operator', 'supervisor', 'viewer'] }]);
  const tokens = new TokenStore([{ token: 'docs-dispatch-token', client: 'bus-dispatch', roles: ['dispatch'] }]);
  const srv = await startServer({ insecure: true, port: 0, tokens, storage, webPort: 0, users, parking: PARKING });
  const base = `http://127.0.0.1:${srv.webPort}/`;
  // The bus priority page: requests from a dispatch client over gRPC, as the field would make them; one cancelled.
  const bus = new (greenwaveStubs()['BusPriorityService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  try {
    for (const [vehicle_id, route_id, intersection_id, movement, eta_s, lateness_s] of BUSES) {
      const { err } = await unaryCall(bus, 'RequestPriority', { vehicle_id, route_id, intersection_id, movement, eta_s, lateness_s, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, bearer('docs-dispatch-token'), 5000);
      if (err) throw err;
    }
    const { err } = await unaryCall(bus, 'CancelPriority', { vehicle_id: 'bus-316', intersection_id: 'I6' }, bearer('docs-dispatch-token'), 5000);
    if (err) throw err;
  } finally {
    bus.close();
  }
  // The parking page: every car park but the last reported, at 35–100 % full (the third full).
  const parking = srv.parking!;
  const nowMs = Date.now();
  for (let k = 0; k < parking.parking.carParkCount - 1; k++) {
    const cap = parking.parking.capacity[k]!;
    parking.feed.report(k, k === 2 ? cap : Math.round(cap * (0.35 + 0.09 * k)), nowMs - k * 20_000);
  }
  // The traffic page: the counts file's state, with one incident an operator reported on L-I2-I3.
  srv.traffic.reportIncident('L-I2-I3', 'I3-EB-2-S', 'operator', nowMs / 1000 - 90);
  // The intersection page's measures: a fixed-time run of the service's own plan, logged as the controllers would.
  const { c, plan } = srv.state;
  const sim = new Simulation(c, plan.buffer, { movementFlowVehPerH: movementFlowsFromLanes(c, plan.buffer.laneFlowVehPerH) }, { seed: 1 });
  const rec = new SimEventRecorder(sim, { epochMs: Date.now() - EVENTS_S * 1000 });
  sim.runUntil(EVENTS_S);
  const records = rec.events.records();
  for (let k = 0; k < records.length; k += 5000) await storage.insertEvents({ user: 'docs' }, records.slice(k, k + 5000));
  const browser = await chromium.launch({ executablePath: process.env['GREENWAVE_CHROMIUM'] ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const written: string[] = [];
  try {
    let planId = 0;
    for (const lang of ['en', 'zh-CN'] as const) {
      const page = await (await browser.newContext({ locale: lang === 'en' ? 'en-US' : 'zh-CN', viewport: { width: 1280, height: 1000 } })).newPage();
      await page.goto(`${base}#/corridor/renmin-rd`);
      await page.locator('input[name=user]').fill('li');
      await page.locator('input[name=password]').fill(password);
      await page.locator('form.login button[type=submit]').click();
      await page.locator('body[data-corridor-ready="1"]').waitFor();
      await page.getByLabel(/^I2 .*S1/).fill('3');
      await page.getByRole('alert').waitFor();
      const corridor = join(docsDir, `console-corridor-${lang}.png`);
      await page.screenshot({ path: corridor, fullPage: true });
      written.push(corridor);
      if (planId === 0) {
        const i3 = srv.state.plan.buffer.offsetS[srv.state.c.intersectionIds.indexOf('I3')]!;
        const res = await page.evaluate(
          async ([offsetS]) => {
            const s = (await (await fetch('/api/session')).json()) as { csrfToken: string };
            const r = await fetch('/api/plans', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ edits: [{ intersectionId: 'I3', offsetS }], reason: 'platoon reaches I3 early' }) });
            return (await r.json()) as { planId: number };
          },
          [Math.round((i3 + 20) * 10) / 10],
        );
        planId = res.planId;
      }
      await page.goto(`${base}#/plans/${planId}`);
      await page.locator('table.diff tbody th').first().waitFor();
      const plans = join(docsDir, `console-plans-${lang}.png`);
      await page.screenshot({ path: plans, fullPage: true });
      written.push(plans);
      await page.goto(`${base}#/network`);
      await page.locator('td[data-live]').first().waitFor();
      await page.locator('.netmap[data-rendered]').waitFor();
      await page.waitForTimeout(400);
      const network = join(docsDir, `console-network-${lang}.png`);
      await page.screenshot({ path: network, fullPage: true });
      written.push(network);
      await page.goto(`${base}#/intersection/I3`);
      await page.locator('.rb[data-now]:not([data-now=""])').waitFor();
      await page.locator('[data-measures="available"] .measure[data-rendered]').first().waitFor();
      await page.waitForTimeout(400);
      const intersection = join(docsDir, `console-intersection-${lang}.png`);
      await page.screenshot({ path: intersection, fullPage: true });
      written.push(intersection);
      await page.goto(`${base}#/priority`);
      await page.locator('table.priority-log tbody tr[data-outcome="cancel"]').waitFor();
      await page.locator('[role=status][data-live="1"]').waitFor();
      const priority = join(docsDir, `console-priority-${lang}.png`);
      await page.screenshot({ path: priority, fullPage: true });
      written.push(priority);
      await page.goto(`${base}#/parking`);
      await page.locator('table.parking tr[data-status="full"]').waitFor();
      await page.locator('[role=status][data-live="1"]').waitFor();
      const parkingShot = join(docsDir, `console-parking-${lang}.png`);
      await page.screenshot({ path: parkingShot, fullPage: true });
      written.push(parkingShot);
      await page.goto(`${base}#/traffic`);
      await page.locator('table.traffic tr[data-link="L-I2-I3"]').waitFor();
      await page.locator('.netmap canvas').waitFor();
      await page.locator('[role=status][data-live="1"]').waitFor();
      const trafficShot = join(docsDir, `console-traffic-${lang}.png`);
      await page.screenshot({ path: trafficShot, fullPage: true });
      written.push(trafficShot);
    }
  } finally {
    await browser.close();
    await srv.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await takeScreenshots();
  process.stdout.write(`console screenshots: ${files.join(', ')}\n`);
}
