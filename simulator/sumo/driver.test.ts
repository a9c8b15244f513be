/**
 * SUMO's default car emulated (vehicles.ts SUMO_DEFAULT_DRIVER), judged by SUMO itself: on the
 * two-signal fixture with every lamp green, lone cars 40 s apart, the time loss SUMO's dawdling
 * (σ 0.5 against σ 0) adds must be what our drivers' imperfection adds (SUMO's driver against
 * greenwave's); a standing queue must discharge through a signal as SUMO's does; and a start made
 * on an edge before the first signal approach, which the simulator does not drive, is charged.
 * Runs the real `sumo` and `netgenerate`; CI installs them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSumoScenario } from './scenario.js';
import { readTripinfo } from './tripinfo.js';
import { GREENWAVE_DRIVER, SUMO_DEFAULT_DRIVER } from '../vehicles.js';

const NET_PATH = fileURLToPath(new URL('../../test/fixtures/sumo/two-signals.net.xml', import.meta.url));
const NET = readFileSync(NET_PATH, 'utf8');
const ENV = { ...process.env, SUMO_HOME: process.env['SUMO_HOME'] ?? '/usr/share/sumo' };
const SEEDS = [1, 2, 3];

/** Every signal green throughout: one phase as long as the run, all of the program's links green. */
function allGreen(): string {
  const out = ['<additional>'];
  for (const m of NET.matchAll(/<tlLogic id="([^"]+)"[^>]*>\s*<phase duration="[0-9.]+" state="([^"]+)"/g)) {
    out.push(`  <tlLogic id="${m[1]}" type="static" programID="green" offset="0"><phase duration="3600" state="${'G'.repeat(m[2]!.length)}"/></tlLogic>`);
  }
  return [...out, '</additional>', ''].join('\n');
}

/**
 * 30 lone cars eastbound through both signals and out on C2E, 40 s apart; σ for SUMO's default type.
 * C2E leads to no signal, so our simulator does not drive it: what its drivers lose there is added
 * at free flow (routeMap.ts `outsideLossSPerMps`).
 */
function loneCars(sigma?: number): string {
  const lines = ['<routes>'];
  if (sigma !== undefined) lines.push(`  <vType id="DEFAULT_VEHTYPE" sigma="${sigma}"/>`);
  for (let k = 0; k < 30; k++) lines.push(`  <vehicle id="v${k}" depart="${k * 40}" departSpeed="max"><route edges="WC1 C1C2 C2E"/></vehicle>`);
  return [...lines, '</routes>', ''].join('\n');
}

describe('SUMO’s default car emulated (real sumo)', () => {
  let dir: string;
  beforeAll(() => {
    const probe = spawnSync('sumo', ['--version'], { encoding: 'utf8', env: ENV });
    if (probe.error || probe.status !== 0) throw new Error('SUMO is not installed or not on PATH (apt-get install sumo sumo-tools)');
    dir = mkdtempSync(join(tmpdir(), 'gw-driver-'));
    writeFileSync(join(dir, 'green.add.xml'), allGreen());
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function sumoLossS(sigma: number): number {
    writeFileSync(join(dir, 'lone.rou.xml'), loneCars(sigma));
    let sum = 0;
    for (const seed of SEEDS) {
      const r = spawnSync('sumo', ['-n', NET_PATH, '-r', 'lone.rou.xml', '-a', 'green.add.xml', '--seed', String(seed), '--no-step-log', '--tripinfo-output', 'ti.xml'], { cwd: dir, encoding: 'utf8', env: ENV, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const ti = readTripinfo(readFileSync(join(dir, 'ti.xml'), 'utf8'));
      expect(ti.vehicles).toBe(30);
      sum += ti.meanTimeLossS;
    }
    return sum / SEEDS.length;
  }

  /** Our simulator's mean time loss on the same cars: the drivers given, or as the routes file's σ says. */
  function oursLossS(routes: string, driver?: typeof GREENWAVE_DRIVER): number {
    let sum = 0;
    for (const seed of SEEDS) {
      const r = runSumoScenario(NET, routes, { seed, planXml: allGreen(), ...(driver !== undefined ? { driver } : {}) });
      expect(r.metrics.vehiclesCompleted).toBe(30);
      sum += r.meanTimeLossS;
    }
    return sum / SEEDS.length;
  }

  it('loses on a free road the time SUMO’s dawdling loses', () => {
    const sumoAdds = sumoLossS(0.5) - sumoLossS(0);
    const oursAdds = oursLossS(loneCars(), SUMO_DEFAULT_DRIVER) - oursLossS(loneCars(), GREENWAVE_DRIVER);
    // About 2.8 s over 750 m in SUMO: 5 % of the free-flow time.
    expect(sumoAdds).toBeGreaterThan(1.2);
    expect(Math.abs(oursAdds - sumoAdds) / sumoAdds, `ours adds ${oursAdds.toFixed(2)} s, SUMO's dawdling ${sumoAdds.toFixed(2)} s`).toBeLessThan(0.2);
    // By default the routes file's vehicle type decides: σ 0 there, no dawdling here either.
    expect(oursLossS(loneCars(0))).toBeCloseTo(oursLossS(loneCars(), GREENWAVE_DRIVER), 6);
    expect(oursLossS(loneCars(0.5))).toBeCloseTo(oursLossS(loneCars(), SUMO_DEFAULT_DRIVER), 6);
  });

  it('discharges a standing queue through a signal as SUMO’s car does', () => {
    // One lane of a 3 × 3 netgenerate grid, 1,500 veh/h offered for an hour through B1's signal:
    // the queue stands back to the entry all hour, so what gets through is the discharge.
    const net = join(dir, 'grid.net.xml');
    const gen = spawnSync('netgenerate', ['--grid', '--grid.number', '3', '--grid.length', '400', '--default.lanenumber', '1', '--default.speed', '13.89', '--default-junction-type', 'traffic_light', '-o', net], { encoding: 'utf8', env: ENV });
    expect(gen.status, gen.stderr).toBe(0);
    const rou = '<routes>\n  <flow id="f" begin="0" end="3600" from="A1B1" to="B1C1" vehsPerHour="1500" departLane="best" departSpeed="max"/>\n</routes>\n';
    writeFileSync(join(dir, 'queue.rou.xml'), rou);
    const r = spawnSync('sumo', ['-n', net, '-r', 'queue.rou.xml', '--end', '3600', '--seed', '1', '--no-step-log', '--tripinfo-output', 'tq.xml'], { cwd: dir, encoding: 'utf8', env: ENV, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const sumoThrough = readTripinfo(readFileSync(join(dir, 'tq.xml'), 'utf8')).vehicles;
    const netXml = readFileSync(net, 'utf8');
    const ours = runSumoScenario(netXml, rou, { seed: 1, endS: 3600, snapshotS: 3600 }).finishedBySnapshot;
    const own = runSumoScenario(netXml, rou, { seed: 1, endS: 3600, snapshotS: 3600, driver: GREENWAVE_DRIVER }).finishedBySnapshot;
    expect(sumoThrough).toBeGreaterThan(700);
    expect(Math.abs(ours / sumoThrough - 1), `ours ${ours}, SUMO ${sumoThrough}`).toBeLessThan(0.03);
    // The dawdling barely touches the discharge: greenwave's car without it gets as many through.
    expect(Math.abs(own / sumoThrough - 1), `own drivers ${own}, SUMO ${sumoThrough}`).toBeLessThan(0.03);
  });

  it('charges a start made before the first signal approach (the simulator does not drive that edge)', () => {
    // A 3 × 3 grid with one signal, B1: trips depart on A0A1, before B1's approach A1B1.
    const net = join(dir, 'one-signal.net.xml');
    const gen = spawnSync('netgenerate', ['--grid', '--grid.number', '3', '--grid.length', '300', '--default.lanenumber', '1', '--default.speed', '13.89', '--default-junction-type', 'priority', '--tls.set', 'B1', '-o', net], { encoding: 'utf8', env: ENV });
    expect(gen.status, gen.stderr).toBe(0);
    const netXml = readFileSync(net, 'utf8');
    const links = /<tlLogic id="B1"[^>]*>\s*<phase duration="[0-9.]+" state="([^"]+)"/.exec(netXml)![1]!.length;
    const green = `<additional><tlLogic id="B1" type="static" programID="g" offset="0"><phase duration="3600" state="${'G'.repeat(links)}"/></tlLogic></additional>`;
    const cars = (speed: string) => `<routes>\n${Array.from({ length: 20 }, (_, k) => `  <vehicle id="v${k}" depart="${k * 60}"${speed}><route edges="A0A1 A1B1 B1C1"/></vehicle>`).join('\n')}\n</routes>\n`;
    const loss = (speed: string) => runSumoScenario(netXml, cars(speed), { seed: 1, planXml: green, driver: GREENWAVE_DRIVER });
    const fromRest = loss('');
    const atSpeed = loss(' departSpeed="max"');
    expect(fromRest.metrics.vehiclesCompleted).toBe(20);
    // The IDM car's start from rest at 50 km/h: 0.566 × 13.89 / 1.5 = 5.2 s (idm.ts idmStartLossS), give or take the drivers' speed factors.
    expect(fromRest.meanTimeLossS - atSpeed.meanTimeLossS).toBeGreaterThan(4.4);
    expect(fromRest.meanTimeLossS - atSpeed.meanTimeLossS).toBeLessThan(6.2);
  });
});
