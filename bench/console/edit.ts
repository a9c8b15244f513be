/**
 * `npm run bench:console`: how soon the corridor page's time-space diagram
 * shows an edit, on a 20-signal corridor (issue 16: "within 100 ms of an
 * edit"). A generated arterial of 20 two-stage signals 400 m apart
 * (test/fixtures/gridNetwork.ts, one row) with an hour of generated counts is
 * served by a real `startServer` with the console on loopback; headless
 * Chromium (Debian's, driven by playwright-core) logs in, opens the corridor
 * and changes one signal's offset at a time. Each edit is timed by the page's
 * own `gw:edit-drawn` measure: from the validation request (sent after the
 * editor's 200 ms pause) to ECharts' `finished` event with the edited plan
 * drawn, so it includes the server's validation by the one validator and the
 * time-space data of the edited plan. The same is done on the demo city's
 * 8-signal Renmin Rd in the same run, for scale. Prints the distribution.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { TokenStore } from '../../service/auth.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { hashPassword, UserStore } from '../../web/server/users.js';
import { gridNetwork, gridNetworkJson, gridVolumes } from '../../test/fixtures/gridNetwork.js';

const EDITS = Number(process.env['GREENWAVE_BENCH_CONSOLE_EDITS'] ?? 60);
const PASSWORD = 'bench-operator-pw';

/** A 20-signal arterial and a day's counts around 08:00 for it, written to `dir`. */
function writeCorridor(dir: string): { networkPath: string; countsPath: string } {
  const o = { rows: 1, cols: 20, colSpacingM: 400, rowSpacingM: 300 };
  const c = gridNetwork(o);
  const volumes = gridVolumes(c, 1100, 450);
  const lines = ['interval_start,detector_id,volume_veh,occupancy_pct'];
  for (let q = 0; q < 16; q++) {
    const minutes = 6 * 60 + q * 15;
    const at = `2026-11-24T${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    c.detectorIds.forEach((d, k) => lines.push(`${at},${d},${Math.round(volumes[k]!)},12.0`));
  }
  const networkPath = join(dir, 'corridor20.json');
  const countsPath = join(dir, 'corridor20.csv');
  writeFileSync(networkPath, JSON.stringify(gridNetworkJson(o)));
  writeFileSync(countsPath, `${lines.join('\n')}\n`);
  return { networkPath, countsPath };
}

async function serve(users: UserStore, paths: { networkPath?: string; countsPath?: string }): Promise<RunningServer> {
  return startServer({ insecure: true, port: 0, tokens: new TokenStore([]), at: '08:00', webPort: 0, users, ...paths });
}

/** Edits the corridor's offsets one at a time; returns each edit's `gw:edit-drawn` duration, ms. */
async function timeEdits(page: Page, base: string, corridorId: string, srv: RunningServer): Promise<number[]> {
  await page.goto(`${base}#/corridor/${corridorId}`);
  // A fresh browser context per server: always the login form first.
  await page.getByLabel('User').fill('li');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('body[data-corridor-ready="1"]').waitFor();
  const cor = srv.state.c.network.corridors.find((k) => k.id === corridorId)!;
  const chart = page.getByRole('img', { name: new RegExp(`Time-space diagram of .*${cor.intersections.length} signals`) });
  const buf = srv.state.plan.buffer;
  const times: number[] = [];
  for (let e = 0; e < EDITS; e++) {
    const id = cor.intersections[(e * 7) % cor.intersections.length]!;
    const i = srv.state.c.intersectionIds.indexOf(id);
    const offset = Math.round(((buf.offsetS[i]! + 5 + (e % 9) * 3) % buf.cycleS[i]!) * 10) / 10;
    const before = await page.evaluate(() => performance.getEntriesByName('gw:edit-drawn').length);
    await page.getByLabel(`${id} offset (s)`).fill(String(offset));
    await page.waitForFunction((n) => performance.getEntriesByName('gw:edit-drawn').length > n, before);
    times.push(await page.evaluate(() => performance.getEntriesByName('gw:edit-drawn').at(-1)!.duration));
    // What was timed is the edited plan drawn: the signal at its new offset.
    const drawn = (await chart.getAttribute('data-offsets')) ?? '';
    if (!drawn.includes(`${id}:${offset.toFixed(1)}`)) throw new Error(`edit ${e}: ${id} at ${offset.toFixed(1)} s not in the drawn offsets ${drawn}`);
  }
  return times;
}

function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const within = s.filter((x) => x <= 100).length;
  return `| ${name} | ${s.length} | ${q(0.5).toFixed(0)} | ${q(0.9).toFixed(0)} | ${q(0.99).toFixed(0)} | ${s.at(-1)!.toFixed(0)} | ${((100 * within) / s.length).toFixed(0)} % |`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-console-'));
  const users = new UserStore([{ user: 'li', passwordScrypt: await hashPassword(PASSWORD), roles: ['operator', 'viewer'] }]);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const rows: string[] = [];
  try {
    for (const [name, paths, corridorId] of [
      ['20-signal arterial (generated)', writeCorridor(dir), 'row0'],
      ['demo city, Renmin Rd (8 signals)', {}, 'renmin-rd'],
    ] as const) {
      const srv = await serve(users, paths);
      try {
        const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
        rows.push(summary(name, await timeEdits(page, `http://127.0.0.1:${srv.webPort}/`, corridorId, srv)));
        await page.close();
      } finally {
        await srv.close();
      }
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`edit → diagram redrawn (gw:edit-drawn: validation request to ECharts finished), ms; ${EDITS} edits each\n`);
  process.stdout.write('| corridor | edits | p50 | p90 | p99 | max | ≤ 100 ms |\n|---|---:|---:|---:|---:|---:|---:|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
