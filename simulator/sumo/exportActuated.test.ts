/**
 * The actuated export runs in the real SUMO as the controller it describes:
 * loop counts for a four-signal arterial (the scenario bench's smoke
 * arterial, built with netconvert) → `greenwave sumo plan --control
 * actuated` → SUMO runs the programs with light side streets, and its
 * SaveTLSStates log (one line per step) shows
 *  - every green slice within its minDur and maxDur, every yellow and
 *    all-red exactly as long as written;
 *  - on an actuated-coordinated signal, the coordinated green ending at the
 *    yield point (cycle zero of the program: time ≡ offset mod cycle) in
 *    every cycle, and starting early in some (a side street gapped out: early
 *    return), so the slack goes to the arterial;
 *  - no link going from green to red without its yellow;
 *  - every actuated-coordinated program's jam threshold longer than its
 *    cycle: SUMO counts a vehicle's standing time from when it stopped, red
 *    included, so a shorter one (30 s before) marked a queue that had waited
 *    through its red as jammed the moment its green began, and the phase ended
 *    at its minimum with the queue still there (exportActuated.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';
import { importSumoNet } from './importNet.js';
import { buildNetwork } from '../../bench/scenarios/build.js';
import { smokeFamily } from '../../bench/scenarios/family.js';

const END_S = 1500;

interface WrittenPhase {
  readonly durationS: number;
  readonly minDurS?: number;
  readonly maxDurS?: number;
  readonly earliestEndS?: number;
  readonly state: string;
}

function writtenPrograms(xml: string): Map<string, { offsetS: number; cycleS?: number; jamS?: number; phases: WrittenPhase[] }> {
  const out = new Map<string, { offsetS: number; cycleS?: number; jamS?: number; phases: WrittenPhase[] }>();
  for (const m of xml.matchAll(/<tlLogic id="([^"]+)" type="actuated"[^>]* offset="([\d.]+)">([\s\S]*?)<\/tlLogic>/g)) {
    const body = m[3]!;
    const cycle = /key="cycleTime" value="([\d.]+)"/.exec(body);
    const jam = /key="jam-threshold" value="([\d.]+)"/.exec(body);
    const num = (s: string, attr: string) => {
      const a = new RegExp(`${attr}="([\\d.]+)"`).exec(s);
      return a ? Number(a[1]) : undefined;
    };
    const phases = [...body.matchAll(/<phase ([^>]*)\/>/g)].map((p) => {
      const a = p[1]!;
      return { durationS: num(a, 'duration')!, minDurS: num(a, 'minDur'), maxDurS: num(a, 'maxDur'), earliestEndS: num(a, 'earliestEnd'), state: /state="([^"]+)"/.exec(a)![1]! } as WrittenPhase;
    });
    out.set(m[1]!, { offsetS: Number(m[2]), ...(cycle ? { cycleS: Number(cycle[1]) } : {}), ...(jam ? { jamS: Number(jam[1]) } : {}), phases });
  }
  return out;
}

describe('actuated export in SUMO (real sumo)', () => {
  let dir = '';
  afterAll(() => {
    if (dir && !process.env["GREENWAVE_KEEP"]) rmSync(dir, { recursive: true, force: true });
  });

  it('runs min/max durations, holds the coordinated green to the yield point, returns early, never cuts a yellow', () => {
    const probe = spawnSync('sumo', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) throw new Error('SUMO is not installed: this test runs the real sumo (apt-get install sumo sumo-tools)');
    dir = mkdtempSync(join(tmpdir(), 'gw-act-'));
    buildNetwork(smokeFamily().find((x) => x.id === 'smoke-arterial')!, dir);
    const NET = join(dir, 'net.net.xml');
    const { mapping } = importSumoNet(readFileSync(NET, 'utf8'));
    // One hour of counts: a busy arterial, side streets at 360 veh/h per lane (they will run at 35–50).
    const rows: string[] = [];
    for (let t = 0; t < 6; t++) {
      for (const ix of mapping.intersections) {
        for (const lane of ix.lanes) {
          const arterial = /^(W|E|A\d)_A\d_/.test(lane.laneId);
          const v = arterial ? 110 : 90; // the side streets are planned for far more than run below: they gap out
          rows.push(`<interval begin="${t * 900}" end="${t * 900 + 900}" id="e1_${lane.laneId}" nVehContrib="${v}" occupancy="${(v / 20).toFixed(2)}"/>`);
        }
      }
    }
    writeFileSync(join(dir, 'loops.xml'), `<detector>\n${rows.join('\n')}\n</detector>\n`);
    let stdout = '';
    let stderr = '';
    const code = run(['sumo', 'plan', '--net', NET, '--loops', join(dir, 'loops.xml'), '--out', join(dir, 'act.add.xml'), '--control', 'actuated', '--alternatives', '0', '--json'], (s) => (stdout += s), (s) => (stderr += s));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const signals = (JSON.parse(stdout) as { signals: { tls: string; control: string }[] }).signals;
    expect(signals.map((s) => s.control)).toContain('actuated-coordinated');

    const flows: [string, string, number][] = [
      ['W_A0', 'A3_E', 1100],
      ['E_A3', 'A0_W', 900],
    ];
    for (let k = 0; k < 4; k++) flows.push([`N${k}_A${k}`, `A${k}_S${k}`, 50], [`S${k}_A${k}`, `A${k}_N${k}`, 35]);
    writeFileSync(join(dir, 'routes.rou.xml'), `<routes>\n${flows.map(([from, to, v], k) => `  <flow id="f${k}" from="${from}" to="${to}" begin="0" end="${END_S}" vehsPerHour="${v}" departLane="best"/>`).join('\n')}\n</routes>\n`);
    writeFileSync(join(dir, 'watch.add.xml'), `<additional>${signals.map((s) => `<timedEvent type="SaveTLSStates" source="${s.tls}" dest="states-${s.tls}.xml"/>`).join('')}</additional>\n`);
    const sumo = spawnSync('sumo', ['-n', NET, '-r', 'routes.rou.xml', '-a', 'act.add.xml,watch.add.xml', '--end', String(END_S), '--no-step-log', '--seed', '1'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SUMO_HOME: process.env['SUMO_HOME'] ?? '/usr/share/sumo' } });
    expect(sumo.error).toBeUndefined();
    expect(sumo.stderr).not.toMatch(/Error/);
    expect(sumo.status).toBe(0);

    const programs = writtenPrograms(readFileSync(join(dir, 'act.add.xml'), 'utf8'));
    let earlyReturns = 0;
    let yieldChecks = 0;
    for (const s of signals) {
      const prog = programs.get(s.tls)!;
      expect(prog, s.tls).toBeDefined();
      const log = [...readFileSync(join(dir, `states-${s.tls}.xml`), 'utf8').matchAll(/<tlsState time="([\d.]+)" id="[^"]+" programID="greenwave" phase="(\d+)" state="([^"]+)"/g)].map((m) => ({ t: Number(m[1]), phase: Number(m[2]), state: m[3]! }));
      expect(log.length).toBeGreaterThan(END_S / 2);
      // Phase runs: [start, end) per occurrence; the first and the last are cut by the simulation.
      const runs: { phase: number; startS: number; endS: number }[] = [];
      for (let k = 1; k < log.length; k++) {
        const a = log[k - 1]!;
        const b = log[k]!;
        for (let l = 0; l < b.state.length; l++) {
          if ('Gg'.includes(a.state[l]!) && b.state[l] === 'r') throw new Error(`${s.tls} link ${l} went from green to red without yellow at ${b.t} s`);
        }
        if (b.phase !== a.phase) {
          const startS = runs.length > 0 ? runs[runs.length - 1]!.endS : Number.NaN;
          runs.push({ phase: a.phase, startS, endS: b.t });
        }
      }
      const lastCoordinated = prog.cycleS === undefined ? -1 : prog.phases.findIndex((p) => p.earliestEndS === prog.cycleS);
      if (s.control === 'actuated-coordinated') {
        expect(lastCoordinated, s.tls).toBeGreaterThanOrEqual(0);
        // A queue that waited through its red (shorter than the cycle) still extends its green.
        expect(prog.jamS, `${s.tls} jam-threshold`).toBeGreaterThan(prog.cycleS!);
      }
      // SUMO starts an actuated program in its first phase at time 0, whatever the offset; it
      // falls into step within two cycles (seen: the third cycle ends at the yield point).
      const warmUpS = 3 * (prog.cycleS ?? 0);
      for (const r of runs.slice(1).filter((x) => x.startS >= warmUpS)) {
        const w = prog.phases[r.phase]!;
        const lengthS = r.endS - r.startS;
        if (w.minDurS === undefined) expect(lengthS, `${s.tls} phase ${r.phase} at ${r.startS}`).toBe(w.durationS);
        else {
          expect(lengthS, `${s.tls} phase ${r.phase} at ${r.startS}`).toBeGreaterThanOrEqual(w.minDurS);
          expect(lengthS, `${s.tls} phase ${r.phase} at ${r.startS}`).toBeLessThanOrEqual(w.maxDurS!);
        }
        if (r.phase === lastCoordinated) {
          // Ends at the yield point: SUMO's time in cycle (t − offset) mod cycle wraps to 0.
          expect(((r.endS - prog.offsetS) % prog.cycleS! + prog.cycleS!) % prog.cycleS!, `${s.tls} coordinated green ending at ${r.endS}`).toBe(0);
          yieldChecks++;
          if (lengthS > w.durationS) earlyReturns++;
        }
      }
    }
    expect(yieldChecks).toBeGreaterThan(10);
    expect(earlyReturns).toBeGreaterThan(0);
  }, 120_000);

  it('--control free: every signal fully actuated and uncoordinated, its green slices up to the phase maximum', () => {
    expect(dir, 'the test above builds the network and the counts').not.toBe('');
    const NET = join(dir, 'net.net.xml');
    const { network } = importSumoNet(readFileSync(NET, 'utf8'));
    const phaseMaxS = new Map(network.intersections.map((x) => [x.id, Math.min(...x.phasing.stages.map((st) => st.maxGreenS))]));
    let stdout = '';
    let stderr = '';
    const code = run(['sumo', 'plan', '--net', NET, '--loops', join(dir, 'loops.xml'), '--out', join(dir, 'free.add.xml'), '--control', 'free', '--alternatives', '0', '--json'], (s) => (stdout += s), (s) => (stderr += s));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const signals = (JSON.parse(stdout) as { signals: { tls: string; intersection: string; control: string }[] }).signals;
    expect(signals.length).toBe(4);
    const xml = readFileSync(join(dir, 'free.add.xml'), 'utf8');
    expect(xml).not.toMatch(/coordinated|cycleTime|earliestEnd|latestEnd/);
    const programs = writtenPrograms(xml);
    for (const s of signals) {
      expect(s.control, s.tls).toBe('fully actuated');
      // The side streets are planned for 90 veh/h a lane against the arterial's 110: short planned greens,
      // which 1.5 × would cap well below the phase maximum.
      const greens = programs.get(s.tls)!.phases.filter((p) => p.minDurS !== undefined);
      expect(greens.length, s.tls).toBeGreaterThan(1);
      // A slice's maximum is its share of the phase maximum, floored to the 1 s grid.
      for (const g of greens) expect(g.maxDurS!, `${s.tls} ${g.state}`).toBeGreaterThanOrEqual(Math.min(phaseMaxS.get(s.intersection)!, 2 * g.durationS) - 1);
    }
  });
});
