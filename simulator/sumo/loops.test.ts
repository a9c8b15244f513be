/**
 * Loop files as people have them: E1 loops with any ids (defined in an
 * additional file), several per lane, advance loops, loops on lanes no signal
 * owns; and counts whose first interval is the network filling and whose tail
 * is it emptying. Unit tests on the two-signal fixture, then the real SUMO
 * writes the loop output that `greenwave sumo plan --detectors` reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';
import { importSumoNet } from './importNet.js';
import { matchLoops, readLoopDefinitions } from './detectorDefs.js';
import { readE1Output, SUMO_EPOCH_MS } from './e1.js';
import { analysisPeriod } from '../../engine/counts/analysisPeriod.js';
import type { DetectorCounts } from '../../engine/counts/csv.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/sumo/two-signals.net.xml');
const SUMO_HOME = process.env['SUMO_HOME'] ?? '/usr/share/sumo';

const DEFS = `<additional>
  <e1Detector id="D-101" lane="WC1_0" pos="-8" period="900" file="out.xml"/>
  <e1Detector id="adv 7" lane="WC1_0" pos="60" period="900" file="out.xml"/>
  <inductionLoop id="q.9" lane="EC2_2" pos="230" period="900" file="out.xml"/>
  <e1Detector id="exit-1" lane="C1W_0" pos="20" period="900" file="out.xml"/>
</additional>`;

describe('loop definitions', () => {
  const { mapping } = importSumoNet(readFileSync(FIXTURE, 'utf8'));

  it('match loops of any id to their lane, nearest the stop line first; other lanes are unmatched by id', () => {
    const m = matchLoops(readLoopDefinitions(DEFS), mapping);
    expect(m.unmatched).toEqual(['exit-1']);
    expect(m.targets.get('D-101')).toMatchObject({ detectorId: 'e1_WC1_0', rank: 0 });
    expect(m.targets.get('D-101')!.distanceToStopLineM).toBeCloseTo(8, 6);
    expect(m.targets.get('adv 7')).toMatchObject({ detectorId: 'e1_WC1_0', rank: 1 });
    expect(m.targets.get('q.9')).toMatchObject({ detectorId: 'e1_EC2_2', rank: 0 });
  });

  it('the loop nearest the stop line counts; an advance loop fills in where it has no value', () => {
    const m = matchLoops(readLoopDefinitions(DEFS), mapping);
    const row = (b: number, id: string, n: number | string): string => `<interval begin="${b}" end="${b + 900}" id="${id}" nVehContrib="${n}" occupancy="5"/>`;
    const xml = `<detector>${row(0, 'D-101', 100)}${row(0, 'adv 7', 97)}${row(900, 'adv 7', 120)}${row(900, 'D-101', 'x')}${row(0, 'exit-1', 300)}</detector>`;
    const counts = readE1Output(xml, ['e1_WC1_0', 'e1_EC2_2'], m.targets);
    expect(Array.from(counts.volumeVeh)).toEqual([100, Number.NaN, 120, Number.NaN]);
  });

  it('bad definitions are located errors', () => {
    expect(() => readLoopDefinitions('<additional><e1Detector id="a" pos="3"/></additional>', 'defs.xml')).toThrow(/defs\.xml: <e1Detector>\[0\]\.lane/);
    expect(() => readLoopDefinitions('<additional><e1Detector id="a" lane="x_0" pos="3"/><inductionLoop id="a" lane="y_0" pos="1"/></additional>')).toThrow(/defined twice/);
    expect(() => readLoopDefinitions('<additional/>')).toThrow(/no <e1Detector> or <inductionLoop>/);
    expect(() => readLoopDefinitions('<additional><e1Detector')).toThrow(/not well-formed/);
  });
});

describe('analysis period', () => {
  // Two detectors at intersection 0, one at intersection 1; six 15-minute intervals.
  const totals = [
    [40, 20, 30], // filling
    [80, 40, 60],
    [100, 40, 50],
    [90, 50, 70],
    [70, 30, 60],
    [10, 5, 8], // emptying
  ];
  const counts: DetectorCounts = {
    detectorIds: ['a', 'b', 'c'],
    intervalS: 900,
    intervalStartMs: Float64Array.from(totals, (_, t) => SUMO_EPOCH_MS + t * 900_000),
    volumeVeh: Float64Array.from(totals.flat()),
    occupancyPct: new Float64Array(18),
  };

  it('leaves out the filling and emptying intervals, and plans for the peak hour (mean, or volume ÷ PHF)', () => {
    const p = analysisPeriod(counts, [0, 0, 1], 2, { startsEmpty: true, design: 'phf' });
    expect(p.leftOut).toEqual([
      { index: 0, reason: 'filling' },
      { index: 5, reason: 'emptying' },
    ]);
    expect([p.first, p.count]).toEqual([1, 4]);
    // Intersection 0 over intervals 1–4: 120, 140, 140, 100 → mean 125, max 140, PHF 0.893.
    expect(p.phfByIntersection[0]).toBeCloseTo(125 / 140, 9);
    // Intersection 1: 60, 50, 70, 60 → mean 60, max 70.
    expect(p.phfByIntersection[1]).toBeCloseTo(60 / 70, 9);
    // Detector a: mean 85 over the hour ÷ PHF.
    expect(p.designVolumeVeh[0]).toBeCloseTo(85 / (125 / 140), 9);
    expect(p.designVolumeVeh[2]).toBeCloseTo(70, 9);
    const mean = analysisPeriod(counts, [0, 0, 1], 2, { startsEmpty: true });
    expect(Array.from(mean.designVolumeVeh)).toEqual([85, 40, 60]);
  });

  it('field counts: only the busiest hour is searched, nothing is called filling or emptying', () => {
    const p = analysisPeriod(counts, [0, 0, 1], 2);
    expect([p.first, p.count]).toEqual([1, 4]);
    expect(p.leftOut.map((x) => x.reason)).toEqual(['outside the peak hour', 'outside the peak hour']);
  });
});

describe('sumo plan --detectors on loops SUMO wrote (real sumo)', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('plans from loops with foreign ids and an emptying tail, and says which intervals it used', () => {
    const probe = spawnSync('sumo', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) throw new Error('SUMO is not installed: this test runs the real sumo (apt-get install sumo sumo-tools)');
    dir = mkdtempSync(join(tmpdir(), 'gw-loops-'));
    const env = { ...process.env, SUMO_HOME };
    const sh = (cmd: string, args: string[]): void => {
      const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
      if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
    };
    // Demand for 45 minutes; the run goes on for 15 more while the network empties.
    sh('python3', [join(SUMO_HOME, 'tools/randomTrips.py'), '-n', FIXTURE, '-e', '2700', '-p', '1.5', '--fringe-factor', '20', '-o', 'trips.xml', '-r', 'routes.rou.xml', '--seed', '7']);
    const { mapping } = importSumoNet(readFileSync(FIXTURE, 'utf8'));
    // Every approach lane gets a stop-line loop and an advance loop, with ids of a field convention, plus one exit loop.
    const lines = ['<additional>'];
    let k = 0;
    for (const ix of mapping.intersections) {
      for (const lane of ix.lanes) {
        lines.push(`  <e1Detector id="DET-${++k}" lane="${lane.laneId}" pos="-6" period="900" file="loops.xml"/>`);
        lines.push(`  <inductionLoop id="ADV-${k}" lane="${lane.laneId}" pos="${Math.min(40, lane.lengthM / 3).toFixed(1)}" period="900" file="loops.xml"/>`);
      }
    }
    lines.push('  <e1Detector id="EXIT-W" lane="C1W_0" pos="30" period="900" file="loops.xml"/>', '</additional>');
    writeFileSync(join(dir, 'defs.add.xml'), lines.join('\n'));
    sh('sumo', ['-n', FIXTURE, '-r', 'routes.rou.xml', '-a', 'defs.add.xml', '--end', '3600', '--no-step-log', '--seed', '1']);

    let stdout = '';
    let stderr = '';
    const argv = ['sumo', 'plan', '--net', FIXTURE, '--loops', join(dir, 'loops.xml'), '--out', join(dir, 'plan.add.xml'), '--alternatives', '0'];
    // Without the definitions the ids mean nothing, and the error says what to pass.
    expect(run(argv, (s) => (stdout += s), (s) => (stderr += s))).toBe(2);
    expect(stderr).toMatch(/--detectors/);
    stdout = '';
    stderr = '';
    const code = run([...argv, '--detectors', join(dir, 'defs.add.xml')], (s) => (stdout += s), (s) => (stderr += s));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/demand: peak hour 00:15–00:45 \(2 × 15 min; mean flows; PHF 0\.\d\d–[01]\.\d\d\)/);
    expect(stdout).toMatch(/intervals left out: 00:00 filling, 00:45 emptying/);
    expect(stdout).toMatch(/loops: 32 matched to signalised lanes/);
    expect(stdout).toMatch(/loops matching no signalised lane \(ignored\): 1: EXIT-W/);
    expect(readFileSync(join(dir, 'plan.add.xml'), 'utf8')).toMatch(/<tlLogic id="C1"/);
  });

  it('--check sumo runs the shortlist and the best plan actuated in SUMO on demand sampled from the counts, and keeps the least time loss', () => {
    expect(dir, 'runs after the test above, on its loops').not.toBe('');
    let stdout = '';
    let stderr = '';
    const code = run(['sumo', 'plan', '--net', FIXTURE, '--loops', join(dir, 'loops.xml'), '--detectors', join(dir, 'defs.add.xml'), '--out', join(dir, 'checked.add.xml'), '--alternatives', '2', '--check', 'sumo', '--check-demand-s', '900', '--json'], (s) => (stdout += s), (s) => (stderr += s));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/SUMO check: 900 s of demand from the counts/);
    expect(stderr).toMatch(/SUMO check: \d+\/\d+ plans run/);
    const report = JSON.parse(stdout) as { check: { inconclusive?: string; trust: { shape: string } }; trials: { label: string; simulatedDelayS: number; unfinishedShare: number; chosen: boolean }[]; signals: { control: string }[] };
    // Two signals in a row are an arterial: the planner's shortlist (up to 3 here) under the default control, then its
    // best plan with every signal actuated; the uncoordinated variant is tried on grids and irregular networks only.
    expect(report.check.trust.shape).toBe('arterial');
    expect(report.trials.length).toBeGreaterThanOrEqual(2);
    expect(report.trials.at(-1)!.label).toMatch(/, actuated$/);
    expect(report.trials.some((t) => /uncoordinated/.test(t.label))).toBe(false);
    for (const t of report.trials) {
      expect(t.simulatedDelayS).toBeGreaterThan(0);
      expect(t.unfinishedShare).toBeGreaterThanOrEqual(0);
      expect(t.unfinishedShare).toBeLessThanOrEqual(1);
    }
    const kept = report.trials.findIndex((t) => t.chosen);
    // Light demand on two signals: the sample is served, so the check decides (chooseTrial's limit is sumoCheck.test.ts's).
    expect(report.check.inconclusive).toBeUndefined();
    expect(report.trials[kept]!.simulatedDelayS).toBe(Math.min(...report.trials.map((t) => t.simulatedDelayS)));
    // What was kept is what was written: every signal actuated exactly when the actuated trial won, else the
    // default control (fixed time where a corridor coordinates, fully actuated elsewhere), one program per signal.
    const written = readFileSync(join(dir, 'checked.add.xml'), 'utf8');
    const actuatedWon = kept === report.trials.length - 1;
    const count = (re: RegExp) => written.match(re)?.length ?? 0;
    expect(count(/<tlLogic [^>]*type="static"/g)).toBe(actuatedWon ? 0 : report.signals.filter((x) => x.control === 'fixed').length);
    expect(count(/<tlLogic [^>]*type="actuated"/g)).toBe(report.signals.filter((x) => x.control !== 'fixed').length);
    expect(report.signals.some((x) => x.control === 'actuated-coordinated')).toBe(actuatedWon && report.signals.some((x) => x.control !== 'fully actuated'));
  });

  it('--check-demand-s is refused with a check that never runs in SUMO and outside 300–14400 s, before any work', () => {
    const base = ['sumo', 'plan', '--net', FIXTURE, '--loops', join(dir, 'loops.xml'), '--out', join(dir, 'never.add.xml')];
    for (const [extra, message] of [
      [['--check', 'greenwave', '--check-demand-s', '900'], /--check-demand-s is for a check in SUMO/],
      [['--check', 'none', '--check-demand-s', '900'], /--check-demand-s is for a check in SUMO/],
      [['--check', 'simulator'], /--check "simulator": expected auto, greenwave, sumo or none/],
      [['--check', 'sumo', '--check-demand-s', '60'], /--check-demand-s "60": expected 300 to 14400 s/],
      [['--check', 'sumo', '--check-demand-s', 'soon'], /--check-demand-s "soon": expected a positive number/],
    ] as const) {
      let stderr = '';
      expect(run([...base, ...extra], () => {}, (s) => (stderr += s))).toBe(2);
      expect(stderr).toMatch(message);
    }
  });
});
