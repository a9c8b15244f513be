/**
 * `npm run bench:console`: how soon the corridor page's time-space diagram
 * shows an edit, on a 20-signal corridor (issue 16: "within 100 ms of an
 * edit"). A generated arterial of 20 two-stage signals 400 m apart
 * (test/fixtures/gridNetwork.ts, one row) with an hour of generated counts is
 * served by a real `startServer` with the console on loopback; headless
 * Chromium (Debian's, driven by playwright-core) logs in, opens the corridor
 * and makes one edit at a time: mostly an offset, every third a phase green
 * (then Reset, so a refused green does not stay in the editor). Each edit is
 * timed by the page's own measures, from the edit (the input event):
 * `gw:edit-drawn`, the diagram redrawn with the edit's preview (ECharts'
 * `finished`), and `gw:edit-checked`, the validator's answer drawn (which
 * waits out the editor's 200 ms pause); the latter's parts are the request's
 * round trip (`gw:validate-round-trip`, with the server's own time from its
 * Server-Timing header) and the redraw after the answer (`gw:validate-drawn`).
 * The drawn offsets are checked to hold each edit, and each accepted edit's
 * preview is compared with the server's data of the edited plan. The same is
 * done on the demo city's 8-signal Renmin Rd in the same run, for scale.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

/** One drawing of the diagram, as the page's attributes had it. */
interface Draw {
  status: string;
  offsets: string;
  windows: string;
}

interface EditTimes {
  preview: number[];
  checked: number[];
  roundTrip: number[];
  server: number[];
  redraw: number[];
  /** The preview's setOption call alone (building the option, ECharts' layout), before the frame that paints it. */
  setOption: number[];
  /** Accepted edits whose preview had the validated plan's offsets, cycles and through windows, of all accepted. */
  previewsExact: number;
  accepted: number;
  mismatches: string[];
}

const count = (page: Page, name: string): Promise<number> => page.evaluate((n) => performance.getEntriesByName(n).length, name);
const last = (page: Page, name: string): Promise<number> => page.evaluate((n) => performance.getEntriesByName(n).at(-1)!.duration, name);

/** Edits the corridor one value at a time; returns each edit's timings, ms. */
async function timeEdits(page: Page, base: string, corridorId: string, srv: RunningServer): Promise<EditTimes> {
  await page.goto(`${base}#/corridor/${corridorId}`);
  // A fresh browser context per server: always the login form first.
  await page.getByLabel('User').fill('li');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('body[data-corridor-ready="1"]').waitFor();
  // Every drawing's status and data as it is committed (a mutation observer's callback runs right
  // after the render that made it, before any later task): a preview is replaced within ~200 ms,
  // sooner than a loaded machine lets the test poll for it.
  await page.evaluate(() => {
    const g = globalThis as unknown as { gwDraws: Draw[]; document: { querySelector(s: string): unknown }; MutationObserver: new (cb: (records: { target: { dataset: Record<string, string> } }[]) => void) => { observe(el: unknown, o: unknown): void } };
    g.gwDraws = [];
    new g.MutationObserver((records) => {
      const d = records.at(-1)!.target.dataset;
      g.gwDraws.push({ status: d['status'] ?? '', offsets: d['offsets'] ?? '', windows: d['windows'] ?? '' });
    }).observe(g.document.querySelector('.tsd'), { attributes: true, attributeFilter: ['data-status', 'data-offsets', 'data-windows'] });
  });
  const cor = srv.state.c.network.corridors.find((k) => k.id === corridorId)!;
  const chart = page.getByRole('img', { name: new RegExp(`Time-space diagram of .*${cor.intersections.length} signals`) });
  const c = srv.state.c;
  const buf = srv.state.plan.buffer;
  const out: EditTimes = { preview: [], checked: [], roundTrip: [], server: [], redraw: [], setOption: [], previewsExact: 0, accepted: 0, mismatches: [] };
  for (let e = 0; e < EDITS; e++) {
    const id = cor.intersections[(e * 7) % cor.intersections.length]!;
    const i = c.intersectionIds.indexOf(id);
    const green = e % 3 === 2;
    let label: string;
    let value: number;
    if (green) {
      // A phase's green 1–4 s either way: some are refused (below the minimum green, say).
      const k = (e >> 1) % (c.phaseStart[i + 1]! - c.phaseStart[i]!);
      const p = c.phaseStart[i]! + k;
      const ix = c.network.intersections[i]!;
      const spec = (ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases)[c.phaseFileIndex[p]!]!;
      label = `${id} phase ${c.phaseIds[p]} (${(spec.protected ?? []).join(' ')}) green (s)`;
      value = Math.round((buf.phaseGreenS[p]! + ((e % 4) + 1) * (e % 2 === 0 ? 1 : -1)) * 10) / 10;
    } else {
      label = `${id} offset (s)`;
      value = Math.round(((buf.offsetS[i]! + 5 + (e % 9) * 3) % buf.cycleS[i]!) * 10) / 10;
    }
    const [drawn0, checked0] = [await count(page, 'gw:edit-drawn'), await count(page, 'gw:edit-checked')];
    const seen = await page.evaluate(() => (globalThis as unknown as { gwDraws: unknown[] }).gwDraws.length);
    await page.getByLabel(label, { exact: true }).fill(String(value));
    await page.waitForFunction((n) => performance.getEntriesByName('gw:edit-drawn').length > n, drawn0);
    // The first drawing after the edit, as recorded in the page when it happened (it lasts only until the answer).
    const preview = await page.evaluate((k) => (globalThis as unknown as { gwDraws: Draw[] }).gwDraws.slice(k).find((d) => d.status === 'pending') ?? { offsets: '', windows: '', status: 'none' }, seen);
    out.preview.push(await last(page, 'gw:edit-drawn'));
    // The preview's setOption is the newest one before the answer's: the first after the edit mark.
    out.setOption.push(await page.evaluate(() => performance.getEntriesByName('gw:tsd-setoption').find((m) => m.startTime >= performance.getEntriesByName('gw:edit').at(-1)!.startTime)?.duration ?? Number.NaN));
    if (preview.status !== 'pending') throw new Error(`edit ${e}: no preview was drawn`);
    if (!green && !preview.offsets.includes(`${id}:${value.toFixed(1)}`)) throw new Error(`edit ${e}: ${id} at ${value.toFixed(1)} s not in the preview's offsets ${preview.offsets}`);
    await page.waitForFunction((n) => performance.getEntriesByName('gw:edit-checked').length > n, checked0);
    out.checked.push(await last(page, 'gw:edit-checked'));
    out.roundTrip.push(await last(page, 'gw:validate-round-trip'));
    out.redraw.push(await last(page, 'gw:validate-drawn'));
    out.server.push(await page.evaluate(() => (performance.getEntriesByType('resource') as unknown as { name: string; serverTiming: { duration: number }[] }[]).filter((r) => r.name.endsWith('/validate')).at(-1)?.serverTiming[0]?.duration ?? Number.NaN));
    const status = await chart.getAttribute('data-status');
    if (status === 'valid') {
      out.accepted++;
      const windows = (await chart.getAttribute('data-windows')) ?? '';
      if (windows === preview.windows && (await chart.getAttribute('data-offsets')) === preview.offsets) out.previewsExact++;
      else out.mismatches.push(`edit ${e} (${label} = ${value}): preview ${preview.windows} / validated ${windows}`);
    } else if (status !== 'refused') throw new Error(`edit ${e}: the answer was drawn as ${status}`);
    else if (!green) throw new Error(`edit ${e}: an offset edit was refused`);
    if (green) {
      await page.getByRole('button', { name: 'Reset' }).click();
      await page.locator('.tsd[data-status="base"]').waitFor();
    }
  }
  return out;
}

function row(name: string, what: string, ms: number[]): string {
  const s = ms.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return `| ${name} | ${what} | 0 | | | | | |`;
  const q = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const within = s.filter((x) => x <= 100).length;
  const f = (x: number): string => (x < 10 ? x.toFixed(1) : x.toFixed(0));
  return `| ${name} | ${what} | ${s.length} | ${f(q(0.5))} | ${f(q(0.9))} | ${f(q(0.99))} | ${f(s.at(-1)!)} | ${within} of ${s.length} |`;
}

function summary(name: string, t: EditTimes): string {
  return [
    row(name, '**edit → preview drawn**', t.preview),
    row(name, '  of which setOption (sync)', t.setOption),
    row(name, 'edit → validator\'s answer drawn (incl. 200 ms pause)', t.checked),
    row(name, '  request → answer (round trip)', t.roundTrip),
    row(name, '  of which the server (Server-Timing)', t.server),
    row(name, '  answer → drawn (ECharts)', t.redraw),
    `| ${name} | previews equal to the validated plan | ${t.previewsExact} of ${t.accepted} accepted | | | | | |`,
  ].join('\n');
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
        const times = await timeEdits(page, `http://127.0.0.1:${srv.webPort}/`, corridorId, srv);
        rows.push(summary(name, times));
        for (const m of times.mismatches) process.stderr.write(`${name}: ${m}\n`);
        await page.close();
      } finally {
        await srv.close();
      }
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${EDITS} edits per corridor (every third a phase green), ms from the edit (input event) unless said; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end\n`);
  process.stdout.write('| corridor | measure | n | p50 | p90 | p99 | max | ≤ 100 ms |\n|---|---|---:|---:|---:|---:|---:|---:|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
