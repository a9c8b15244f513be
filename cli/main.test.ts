/**
 * The `greenwave` CLI, run in-process through `run(argv, out, err)`, plus one
 * run of the built binary as a real process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './main.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NETWORK = join(ROOT, 'examples/demo-city/network.json');
const COUNTS = join(ROOT, 'examples/demo-city/counts.csv');
const ARTERIAL = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'];
const ALL_IDS = [...ARTERIAL, 'I9', 'I10'];
const STACK_TRACE = /\n\s+at /;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...argv: string[]): Outcome {
  let stdout = '';
  let stderr = '';
  const code = run(
    argv,
    (s) => {
      stdout += s;
    },
    (s) => {
      stderr += s;
    },
  );
  return { code, stdout, stderr };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'greenwave-cli-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function demoNetwork(): any {
  return JSON.parse(readFileSync(NETWORK, 'utf8'));
}

describe('greenwave validate', () => {
  it('accepts the demo network', () => {
    const r = cli('validate', NETWORK);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
    expect(r.stdout).toContain('10 intersections');
  });

  it('rejects a broken file with exit 2, listing the bad field paths without a stack trace', () => {
    const net = demoNetwork();
    net.intersections[2].approaches[0].speedKph = 'fast';
    net.intersections[0].phasing.stages[1].minGreenS = -4;
    const file = join(dir, 'broken-shape.json');
    writeFileSync(file, JSON.stringify(net));
    const r = cli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('2 problems');
    expect(r.stderr).toContain('intersections[2].approaches[0].speedKph');
    expect(r.stderr).toContain('intersections[0].phasing.stages[1].minGreenS');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('reports semantic problems with their paths', () => {
    const net = demoNetwork();
    net.intersections[0].phasing.stages[0].protected = ['EBL', 'NBL2'];
    net.intersections[1].detectors[0].lane = 'nowhere';
    const file = join(dir, 'broken-rules.json');
    writeFileSync(file, JSON.stringify(net));
    const r = cli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('intersections[0].phasing.stages[0].protected[1]: unknown movement "NBL2"');
    expect(r.stderr).toContain('intersections[1].detectors[0].lane');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('rejects a file that is not JSON, naming the file', () => {
    const file = join(dir, 'not-json.json');
    writeFileSync(file, '{ "formatVersion": 1, ');
    const r = cli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: not valid JSON`);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('rejects a nonexistent file with exit 2 and a clear message', () => {
    const file = join(dir, 'does-not-exist.json');
    const r = cli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read network file "${file}": no such file`);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('rejects a directory given as the network file', () => {
    const r = cli('validate', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a directory');
  });

  it('requires exactly one file', () => {
    const none = cli('validate');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('validate: expected exactly one network file');
    expect(none.stderr).toContain('usage:');
    const two = cli('validate', NETWORK, NETWORK);
    expect(two.code).toBe(2);
  });
});

describe('greenwave plan', () => {
  it('--check N runs the planner\'s best and N runners-up in the microsimulator, shows its progress, and keeps the least delay where the simulator is trusted', () => {
    // 01:00: light demand on the arterial, where bench/fidelity measured our simulator within its bounds; a
    // runner-up simulates better than the planner's best there (43.3 s against 45.8), so keeping the least delay
    // is seen. (04:00 showed it until the planner's shared-lane model, 03:00 until the runner's samples were
    // taken a nanosecond after their time; which hour shows it moves with the simulation's details.)
    const light = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '01:00', '--check', '3', '--json');
    expect(light.code).toBe(0);
    expect(light.stderr).not.toContain('warning');
    const lr = JSON.parse(light.stdout) as { simulationCheck: { label: string; simulatedDelayS: number; chosen: boolean }[]; simulationCheckTrust: { trusted: boolean }; corridors: { cycleS: number }[] };
    expect(lr.simulationCheckTrust.trusted).toBe(true);
    const lk = lr.simulationCheck.filter((t) => t.chosen);
    expect(lk).toHaveLength(1);
    expect(lk[0]!.simulatedDelayS).toBe(Math.min(...lr.simulationCheck.map((t) => t.simulatedDelayS)));
    expect(lk[0]!.label).toBe(`renmin-rd at ${lr.corridors[0]!.cycleS} s`);
    expect(lk[0]).not.toBe(lr.simulationCheck[0]);

    // 12:00: busier, untrusted; there too a runner-up simulates better than the planner's best, and is not taken.
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '12:00', '--check', '3', '--json');
    // Standard error carries the trust rule's warning (the demo arterial at this load is beyond what bench/fidelity
    // measured our simulator within its bounds against SUMO), then the progress, one line per plan tried, and nothing else.
    const [warning, ...lines] = r.stderr.trim().split('\n');
    expect(warning).toMatch(/^warning: plan --check 3: our simulator is not trusted to rank plans here: planned load Y \d\.\d\d \(90th-percentile signal\) on an arterial is above 0\.30.*; the shortlist is simulated and shown, and the planner's best is kept$/);
    expect(lines).toHaveLength(4);
    lines.forEach((l, k) => expect(l).toMatch(new RegExp(`^checking plans in greenwave's microsimulator: ${k + 1}/4 \\(renmin-rd at \\d+ s: [\\d.]+ s\\)$`)));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { simulationCheck: { label: string; simulatedDelayS: number; chosen: boolean }[]; simulationCheckTrust: { trusted: boolean; shape: string }; corridors: { corridorId: string; cycleS: number }[] };
    expect(report.simulationCheckTrust).toMatchObject({ trusted: false, shape: 'arterial' });
    const trials = report.simulationCheck;
    expect(trials).toHaveLength(4);
    expect(new Set(trials.map((t) => t.label)).size).toBe(4);
    // Untrusted here (issue 13): our simulator does not choose; the planner's best (the first tried) is kept.
    const kept = trials.filter((t) => t.chosen);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toBe(trials[0]);
    expect(Math.min(...trials.map((t) => t.simulatedDelayS))).toBeLessThan(trials[0]!.simulatedDelayS);
    // The plan reported is the one kept: its corridor runs the kept cycle.
    expect(kept[0]!.label).toBe(`renmin-rd at ${report.corridors[0]!.cycleS} s`);
    expect(cli('plan', '--network', NETWORK, '--counts', COUNTS, '--check', 'x').code).toBe(2);
  });

  it('--check N says so when the planner has no other plan to try, instead of running nothing silently', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--check', '3');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('plan: --check 3: the planner found no other plan to try for this demand; nothing was simulated\n');
  });

  it('plans every intersection of the demo city at 08:00', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('08:00');
    expect(r.stdout).toMatch(/cycle \d+(\.\d+)? s/);
    for (const id of ALL_IDS) expect(r.stdout).toMatch(new RegExp(`■ ${id}\\b`));
    // One block per intersection, each with a cycle line and a flagged-detectors line.
    expect(r.stdout.match(/^■ /gm)).toHaveLength(ALL_IDS.length);
    expect(r.stdout.match(/^ {2}cycle /gm)).toHaveLength(ALL_IDS.length);
    expect(r.stdout.match(/flagged detectors: /g)).toHaveLength(ALL_IDS.length);
  });

  it('shows a corridor split into subsystems, with the reason for each cut, in plan and corridor', () => {
    const net = demoNetwork();
    for (const l of net.links) if ((l.from === 'I4' && l.to === 'I5') || (l.from === 'I5' && l.to === 'I4')) l.lengthM = 1800;
    const file = join(dir, 'far.json');
    writeFileSync(file, JSON.stringify(net));
    const r = cli('plan', '--network', file, '--counts', COUNTS, '--at', '08:00');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^▶ corridor renmin-rd runs as \d subsystems: .*I4 \| I5/m);
    expect(r.stdout).toContain('\n  cut I4–I5: link 1800 m (5,000 ft or more: platoons disperse)\n');
    expect(r.stdout).toMatch(/^▶ corridor renmin-rd#\d+  Renmin Rd 人民路 \(\d\/\d\): common cycle/m);
    const c = cli('corridor', '--network', file, '--counts', COUNTS, '--at', '08:00', '--corridor', 'renmin-rd');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/runs as \d subsystems/);
    expect(c.stdout.match(/^▶ corridor renmin-rd#/gm)!.length).toBeGreaterThanOrEqual(2);
  });

  it('writes a JSON plan with --out: one plan per intersection, peak cycles 60–150 s on the arterial', () => {
    const file = join(dir, 'plan.json');
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--out', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`plan written to ${file}`);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { forInterval: string; plans: Array<{ intersectionId: string; cycleS: number }> };
    expect(report.forInterval).toMatch(/T08:00/);
    expect(report.plans.map((p) => p.intersectionId).sort()).toEqual([...ALL_IDS].sort());
    const cycles = Object.fromEntries(report.plans.map((p) => [p.intersectionId, p.cycleS]));
    for (const id of ARTERIAL) {
      expect(cycles[id], `cycle of ${id}; all cycles: ${JSON.stringify(cycles)}`).toBeGreaterThanOrEqual(60);
      expect(cycles[id], `cycle of ${id}; all cycles: ${JSON.stringify(cycles)}`).toBeLessThanOrEqual(150);
    }
  });

  it('prints the same report as JSON with --json', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { plans: unknown[] };
    expect(report.plans).toHaveLength(ALL_IDS.length);
  });

  it('rejects a counts file with a negative count, naming the line', () => {
    const lines = readFileSync(COUNTS, 'utf8').split('\n');
    // Line 4 of the file (index 3): make its volume negative.
    const fields = lines[3]!.split(',');
    fields[2] = '-5';
    lines[3] = fields.join(',');
    const file = join(dir, 'negative.csv');
    writeFileSync(file, lines.join('\n'));
    const r = cli('plan', '--network', NETWORK, '--counts', file, '--at', '08:00');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:4`);
    expect(r.stderr).toContain('"-5" is not a valid count');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('refuses a network that asks for 0.2 s yellows, naming the field and the absolute floor', () => {
    const net = demoNetwork();
    net.defaults = { ...net.defaults, minYellowS: 0.1, maxYellowS: 0.2 };
    const file = join(dir, 'short-yellow.json');
    writeFileSync(file, JSON.stringify(net));
    const r = cli('plan', '--network', file, '--counts', COUNTS, '--at', '08:00');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('defaults.minYellowS: 0.1 s is below the absolute floor 3 s (MUTCD 4D.26, GB 14886)');
    expect(r.stderr).toContain('defaults.maxYellowS: 0.2 s is below the absolute floor 3 s (MUTCD 4D.26, GB 14886)');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  describe('detector blackout', () => {
    /** The demo counts with every detector's volume x1000 where `blackout(time)` holds. */
    function scaledCounts(name: string, blackout: (time: string) => boolean): string {
      const lines = readFileSync(COUNTS, 'utf8').trimEnd().split('\n');
      const out = lines.map((line, k) => {
        if (k === 0) return line;
        const f = line.split(',');
        if (blackout(f[0]!.slice(11, 16))) f[2] = String(Number(f[2]) * 1000);
        return f.join(',');
      });
      const file = join(dir, name);
      writeFileSync(file, `${out.join('\n')}\n`);
      return file;
    }
    /** Vehicles per hour over all movements of each intersection in a JSON report. */
    const demandByIntersection = (report: any): Map<string, number> =>
      new Map(report.plans.map((p: any) => [p.intersectionId, p.movements.reduce((t: number, m: any) => t + m.flowVehPerH, 0)]));

    it('every detector x1000 in the hour to 08:00: falls back to the day profile, says so, never plans zero demand', () => {
      const file = scaledCounts('blackout-0800.csv', (hhmm) => hhmm >= '07:00' && hhmm <= '08:00');
      const text = cli('plan', '--network', NETWORK, '--counts', file, '--at', '08:00');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/WARNING: detector blackout at 10 intersections \(fewer than 50 % of detectors healthy\)/);
      for (const id of ALL_IDS) expect(text.stdout).toMatch(new RegExp(`WARNING: ${id} on fallback: 0 of \\d+ detectors healthy in the hour to 08:00 \\(below 50 %\\); planned on the day's neighbouring healthy intervals`));

      const json = cli('plan', '--network', NETWORK, '--counts', file, '--at', '08:00', '--json');
      expect(json.code).toBe(0);
      expect(json.stderr).toMatch(/WARNING: detector blackout/);
      const report = JSON.parse(json.stdout);
      expect(report.detectorBlackout.fallback).toBe(true);
      expect(report.detectorBlackout.intersections.map((x: any) => x.intersectionId).sort()).toEqual([...ALL_IDS].sort());
      for (const f of report.detectorBlackout.intersections) {
        expect(f.healthyDetectors).toBe(0);
        expect(f.fallbackVeh).toBeGreaterThan(0);
      }
      // Demand is the day's profile around 08:00: close to the clean file's, nowhere zero.
      const clean = JSON.parse(cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--json').stdout);
      expect(clean.detectorBlackout).toMatchObject({ fallback: false, intersections: [] });
      const cleanDemand = demandByIntersection(clean);
      for (const [id, vehPerH] of demandByIntersection(report)) {
        expect(vehPerH, id).toBeGreaterThan(0.5 * cleanDemand.get(id)!);
        expect(vehPerH, id).toBeLessThan(2 * cleanDemand.get(id)!);
      }
    });

    it('every count x1000 all day: no history to fall back on, so it refuses instead of planning zero demand', () => {
      const file = scaledCounts('blackout-all.csv', () => true);
      const r = cli('plan', '--network', NETWORK, '--counts', file, '--at', '08:00');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('detector blackout with no history to fall back on');
      expect(r.stderr).toMatch(/I1: 0 of \d+ detectors healthy around 08:00, and none has a healthy reading at this time on other days or within 2 h on the same day/);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    });
  });

  it('requires --counts', () => {
    const r = cli('plan', '--network', NETWORK);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--counts is required');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('requires --network', () => {
    const r = cli('plan', '--counts', COUNTS);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--network is required');
  });

  it('rejects a nonexistent counts file', () => {
    const file = join(dir, 'missing.csv');
    const r = cli('plan', '--network', NETWORK, '--counts', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read counts file "${file}": no such file`);
  });

  it('rejects a malformed --at', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '25:99');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--at "25:99"');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('rejects an unknown option as a usage error', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--colour', 'red');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--colour');
    expect(r.stderr).toContain('usage:');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('reports an unwritable --out path as bad input', () => {
    const r = cli('plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--out', join(dir, 'no-such-dir', 'plan.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot write');
  });
});

describe('other commands', () => {
  it('rejects an unknown command with exit 2 and the usage', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('usage:');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('prints usage with exit 2 when no command is given, exit 0 for help', () => {
    expect(cli().code).toBe(2);
    const help = cli('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage:');
  });

  it('prints the network format as JSON Schema', () => {
    const r = cli('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { type?: string; properties?: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(schema.properties).toHaveProperty('intersections');
  });
});

describe('the built binary', () => {
  const bin = join(ROOT, 'dist/cli/main.js');

  it('runs as a real process: validate the demo network exits 0', () => {
    const p = spawnSync(process.execPath, [bin, 'validate', 'examples/demo-city/network.json'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    expect(p.stdout).toContain('valid');
  });

  it('exits 2 as a real process on a missing file', () => {
    const p = spawnSync(process.execPath, [bin, 'validate', join(dir, 'nope.json')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('no such file');
    expect(p.stderr).not.toMatch(STACK_TRACE);
  });

  it('exits 2 as a real process when controllers cannot read their network, like every other command', () => {
    const p = spawnSync(process.execPath, [bin, 'controllers', '--virtual', '1', '--port', '0', '--network', join(dir, 'nope.json')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('no such file');
    expect(p.stderr).not.toMatch(STACK_TRACE);
  });
});
