/**
 * The time-of-day export runs in the real SUMO and switches plans at the
 * right times: a day of loop counts with an AM and a PM peak (written as
 * SUMO's E1 output for the two-signal fixture) → `greenwave sumo plan
 * --time-of-day` → SUMO runs the day with the WAUT, and its SaveTLSStates
 * log shows each signal changing program exactly at the switch times the
 * file lists, at a cycle boundary, and no link ever going from green to red
 * without its yellow.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';
import { importSumoNet } from './importNet.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/sumo/two-signals.net.xml');

/** veh per 15 min on a lane at hour h: an eastbound AM peak, a westbound PM peak, quiet nights. */
function laneVolume(laneId: string, h: number): number {
  const eastbound = laneId.startsWith('WC1') || laneId.startsWith('C1C2');
  const westbound = laneId.startsWith('EC2') || laneId.startsWith('C2C1');
  if (h < 6 || h >= 22) return 4;
  if (h >= 7 && h < 9) return eastbound ? 140 : westbound ? 50 : 40;
  if (h >= 17 && h < 19) return westbound ? 150 : eastbound ? 50 : 45;
  return eastbound || westbound ? 70 : 25;
}

describe('time-of-day plan in SUMO (real sumo)', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('switches programs at the listed times, at cycle boundaries, never cutting a yellow', () => {
    const probe = spawnSync('sumo', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) throw new Error('SUMO is not installed: this test runs the real sumo (apt-get install sumo sumo-tools)');
    dir = mkdtempSync(join(tmpdir(), 'gw-tod-'));
    const { mapping } = importSumoNet(readFileSync(FIXTURE, 'utf8'));
    const rows: string[] = [];
    for (let t = 0; t < 96; t++) {
      for (const ix of mapping.intersections) {
        for (const lane of ix.lanes) {
          const v = laneVolume(lane.laneId, Math.floor(t / 4)) + ((t * 31 + lane.laneId.length) % 5);
          rows.push(`<interval begin="${t * 900}" end="${t * 900 + 900}" id="e1_${lane.laneId}" nVehContrib="${v}" occupancy="${(v / 20).toFixed(2)}"/>`);
        }
      }
    }
    writeFileSync(join(dir, 'day.xml'), `<detector>\n${rows.join('\n')}\n</detector>\n`);

    let stdout = '';
    let stderr = '';
    const code = run(['sumo', 'plan', '--net', FIXTURE, '--loops', join(dir, 'day.xml'), '--out', join(dir, 'day.add.xml'), '--time-of-day', '--json'], (s) => (stdout += s), (s) => (stderr += s));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const periods = (JSON.parse(stdout) as { periods: { id: string; start: string; programId: string }[] }).periods;
    expect(periods.map((p) => p.id)).toEqual(expect.arrayContaining(['am-peak', 'pm-peak', 'night']));
    expect(periods.find((p) => p.id === 'am-peak')!.start).toBe('07:00');
    expect(periods.find((p) => p.id === 'pm-peak')!.start).toBe('17:00');

    const dayXml = readFileSync(join(dir, 'day.add.xml'), 'utf8');
    writeFileSync(join(dir, 'watch.add.xml'), '<additional><timedEvent type="SaveTLSStates" source="C1" dest="states.xml"/></additional>\n');
    const sumo = spawnSync('sumo', ['-n', FIXTURE, '-a', 'day.add.xml,watch.add.xml', '--begin', '0', '--end', '86400', '--no-step-log'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(sumo.error).toBeUndefined();
    expect(sumo.stderr).not.toMatch(/Error/);
    expect(sumo.status).toBe(0);

    // Expected switches of C1, from the WAUT the file wrote.
    const waut = /<WAUT id="[^"]*-C1"[^>]*startProg="([^"]+)">([\s\S]*?)<\/WAUT>/.exec(dayXml)!;
    expect(waut).not.toBeNull();
    const expected = [...waut[2]!.matchAll(/time="([\d.]+)" to="([^"]+)"/g)].map((m) => ({ t: Number(m[1]), to: m[2]! }));
    expect(expected.length).toBe(periods.length);

    const log = [...readFileSync(join(dir, 'states.xml'), 'utf8').matchAll(/<tlsState time="([\d.]+)" id="C1" programID="([^"]+)"[^>]* state="([^"]+)"/g)].map((m) => ({ t: Number(m[1]), program: m[2]!, state: m[3]! }));
    expect(log.length).toBeGreaterThan(1000);
    expect(log[0]!.program).toBe(waut[1]);
    const seen: { t: number; to: string }[] = [];
    for (let k = 1; k < log.length; k++) {
      const a = log[k - 1]!;
      const b = log[k]!;
      if (b.program !== a.program) seen.push({ t: b.t, to: b.program });
      for (let l = 0; l < b.state.length; l++) {
        if ('Gg'.includes(a.state[l]!) && b.state[l] === 'r') throw new Error(`link ${l} of C1 went from green to red without yellow at ${b.t} s (${a.program} → ${b.program})`);
      }
    }
    expect(seen).toEqual(expected);
    // Each switch is at a cycle boundary of the program it leaves: the state before it is that program's last phase (its all-red).
    for (const sw of seen) {
      const before = log.find((x) => x.t === sw.t - 1)!;
      expect(before.state).toMatch(/^[r]+$/);
    }
  });
});
