/**
 * `greenwave sumo compare` against the real SUMO (Debian's sumo and sumo-tools): the two-signal
 * fixture under every control, one table; the rows greenwave drives through TraCI carry the lamp
 * monitor's zero counts; bad input is one located error line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runAsync } from './main.js';
import { actuatedOwnPrograms } from '../simulator/sumo/ownActuated.js';

const NET = fileURLToPath(new URL('../test/fixtures/sumo/two-signals.net.xml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gw-compare-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROUTES = readFileSync(new URL('../test/fixtures/sumo/two-signals.rou.xml', import.meta.url), 'utf8');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAsync(argv, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('greenwave sumo compare', () => {
  it('runs the scenario in SUMO under seven controls and prints one row each; greenwave’s rows in the loop send no unsafe lamp', async () => {
    const routes = join(dir, 'routes.rou.xml');
    writeFileSync(routes, ROUTES);
    const r = await cli('sumo', 'compare', '--net', NET, '--routes', routes, '--replan-every', '300', '--json');
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as { endS: number; rows: { control: string; meanTimeLossS: number; vehicles: number; unfinished: number; bridge?: { conflicts: number; shortClearances: number; replans: number } }[] };
    expect(doc.endS).toBe(2400);
    expect(doc.rows.map((x) => x.control)).toEqual(["the net's own programs", 'SUMO actuated (own phases)', "SUMO actuated, greenwave's clearances", 'SUMO Webster + coordinator', 'greenwave fixed time', 'greenwave actuated', 'greenwave adaptive']);
    for (const row of doc.rows) {
      // Every control served the same 249 vehicles of the routes, all of them to the end.
      expect(row.vehicles, row.control).toBe(249);
      expect(row.unfinished, row.control).toBe(0);
      expect(row.meanTimeLossS, row.control).toBeGreaterThan(0);
    }
    // The controls differ: each baseline really ran its own programs.
    expect(new Set(doc.rows.map((x) => x.meanTimeLossS.toFixed(3))).size).toBe(7);
    const bridged = doc.rows.filter((x) => x.bridge);
    expect(bridged).toHaveLength(2);
    for (const row of bridged) {
      expect(row.bridge!.conflicts).toBe(0);
      expect(row.bridge!.shortClearances).toBe(0);
    }
    expect(bridged[1]!.bridge!.replans).toBeGreaterThanOrEqual(2);
    // Nothing left behind without --keep.
    expect(readdirSync(dir)).toEqual(['routes.rou.xml']);
  }, 60_000);

  it('prints the table, and says which control lost the least', async () => {
    const routes = join(dir, 'routes.rou.xml');
    writeFileSync(routes, ROUTES);
    const r = await cli('sumo', 'compare', '--net', NET, '--routes', routes, '--end', '1500', '--replan-every', '300');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/control +time loss \(s\/veh\) +vehicles +unfinished +conflicts +short clearances/);
    expect(r.out).toMatch(/greenwave actuated +\d+\.\d +249 +0 +0 +0/);
    expect(r.out).toMatch(/least time loss: .+ \(\d+\.\d s\/veh\)/);
    expect(r.err).toMatch(/sumo compare: greenwave adaptive \(SUMO in the loop\)/);
  }, 60_000);

  it('refuses missing or bad options with one line and exit 2', async () => {
    expect(await cli('sumo', 'compare', '--net', NET)).toMatchObject({ code: 2, err: expect.stringMatching(/^greenwave: error \[INVALID_INPUT\]: sumo compare: --net and --routes are required/) });
    expect((await cli('sumo', 'compare', '--net', NET, '--routes', join(dir, 'none.rou.xml'))).err).toMatch(/none\.rou\.xml/);
    expect((await cli('sumo', 'compare', '--net', NET, '--routes', NET, '--seed', '0')).err).toMatch(/--seed: "0" must be a positive number/);
  });
});

describe('actuatedOwnPrograms', () => {
  it('copies every program as actuated: minDur and maxDur on greens only', () => {
    const xml = actuatedOwnPrograms(`<net><tlLogic id="J&amp;1" type="static" programID="0" offset="7">
        <phase duration="31" state="GGgrr"/>
        <phase duration="3"  state="yyyrr"/>
        <phase duration="4" state="rrrGG"/>
    </tlLogic></net>`);
    expect(xml).toContain('<tlLogic id="J&amp;1" type="actuated" programID="sumo-actuated" offset="7">');
    expect(xml).toContain('<phase duration="31" state="GGgrr" minDur="5" maxDur="50"/>');
    expect(xml).toContain('<phase duration="3" state="yyyrr"/>');
    // A green shorter than 5 s keeps its own length as the minimum.
    expect(xml).toContain('<phase duration="4" state="rrrGG" minDur="4" maxDur="50"/>');
  });
});
