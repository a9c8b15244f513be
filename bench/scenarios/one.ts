/**
 * One scenario at one demand level, end to end, as a child process of
 * bench/scenarios/run.ts (so scenarios run in parallel, one per core):
 * build the network and demand, record the loops under SUMO's default
 * programs (tail included), plan with greenwave's default `sumo plan` (its
 * shortlist checked in our simulator where the trust rule trusts it, else in SUMO; and
 * with `--alternatives 0`, the planner alone, and `--control actuated`, the
 * same plan run actuated), run SUMO's tools, then score
 * every plan in SUMO over the scoring seeds. Prints one JSON line.
 *
 *   node dist/bench/scenarios/one.js <scenario-id> <level> <seeds> [smoke]
 *
 * Score: SUMO's mean time loss per vehicle (s), unfinished trips included
 * with the time they lost so far (`--tripinfo-output.write-unfinished`), so
 * gridlock cannot hide behind vehicles that never arrive.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTripinfo } from '../../simulator/sumo/tripinfo.js';
import { familySizeFromEnv, scenarioFamily, smokeFamily, type DemandLevel } from './family.js';
import { buildDemand, buildLoops, buildNetwork, FULL, greenwaveClearances, greenwavePlan, recordLoops, SMOKE, sh, SUMO_HOME, withClearances } from './build.js';
import { OPT_IN_TOOLS, TOOLS, type PlanScore, type ScenarioResult } from './report.js';
import { childRun } from './pool.js';

/**
 * GREENWAVE_TOOLS (comma-separated tool names as in the tables, e.g. `greenwave,SUMO actuated`):
 * score only these (and make only the plans they need); default every tool but the opt-in ones
 * (OPT_IN_TOOLS), which run only when named. For a shorter run of the headline comparison; the
 * smoke test scores every tool but the opt-in ones.
 */
const only = process.env['GREENWAVE_TOOLS']?.split(',').map((t) => t.trim());
const wanted = (tool: (typeof TOOLS)[number]): boolean => (OPT_IN_TOOLS.includes(tool) ? only?.includes(tool) === true : !only || only.includes(tool));

async function main(): Promise<void> {
  const [id, level, seedsArg, smoke] = process.argv.slice(2);
  const spec = (smoke ? smokeFamily() : scenarioFamily(familySizeFromEnv())).find((s) => s.id === id);
  if (!spec || !level) throw new Error(`unknown scenario ${id}`);
  const time = smoke ? SMOKE : FULL;
  const seeds = Array.from({ length: Number(seedsArg ?? 3) }, (_, k) => k + 1);
  const dir = mkdtempSync(join(tmpdir(), `gw-scn-${id}-${level}-`));
  const result: ScenarioResult = { id: spec.id, level: level as DemandLevel, half: spec.half, signals: 0, scores: [], planSeconds: 0 };
  await childRun(dir, result, async () => {
    buildNetwork(spec, dir);
    buildDemand(spec, level as DemandLevel, dir, time.demandS);
    const built = buildLoops(spec, dir);
    Object.assign(result, { signals: built.mapping.intersections.length });
    recordLoops(dir, built, time.recordEndS, spec.seed);

    const t0 = performance.now();
    const plan = (out: string, extra: string[]): string => greenwavePlan(dir, built, out, extra);
    // The smoke's demand lasts 20 minutes, so a check run in SUMO simulates that much, not the default hour.
    const sumoDemand = smoke ? ['--check-demand-s', String(time.demandS)] : [];
    // The default checks in our simulator where the trust rule trusts it, else in SUMO (simulator/checkTrust.ts).
    // When the default is not scored (GREENWAVE_TOOLS), it is planned without a check: the trust verdict is still reported.
    const planned = JSON.parse(plan('gw.add.xml', ['--json', ...(wanted('greenwave') ? sumoDemand : ['--check', 'none'])])) as { check: { used: string; inconclusive?: string; trust?: { shape: string; load: number; trusted: boolean } }; trials: ScenarioResult['trials'] };
    const check = planned.check;
    Object.assign(result, { planSeconds: (performance.now() - t0) / 1000, trials: planned.trials, check: { used: check.used, ...(check.trust ? { shape: check.trust.shape, load: check.trust.load, trusted: check.trust.trusted } : {}), ...(check.inconclusive ? { inconclusive: true } : {}) } });
    if (wanted('greenwave (no check)')) plan('gw0.add.xml', ['--alternatives', '0']);
    // In the smoke, where the default checked in SUMO, the actuated variant is the planner's best written actuated, not
    // a second SUMO check of the same shortlist: the smoke proves the pipeline; plan quality is bench:scenarios' to judge.
    if (wanted('greenwave actuated')) plan('gwa.add.xml', ['--control', 'actuated', ...(smoke && check.used === 'sumo' ? ['--check', 'none'] : sumoDemand)]);
    // The planner's best with every signal fully actuated on its own (opt-in: OPT_IN_TOOLS).
    if (wanted('greenwave fully actuated')) plan('gwf.add.xml', ['--control', 'free', '--check', 'none']);
    // The shortlist checked in SUMO itself (fixed or actuated, SUMO's call): slow, so in the smoke test and on request.
    // Where the default already ran that check (same demand, same seed), its plan is the same: not run twice.
    const sumoCheck = (Boolean(smoke) || process.env['GREENWAVE_SUMO_CHECK'] === '1') && wanted('greenwave (SUMO check)');
    if (sumoCheck && check.used === 'sumo') copyFileSync(join(dir, 'gw.add.xml'), join(dir, 'gws.add.xml'));
    else if (sumoCheck) plan('gws.add.xml', ['--check', 'sumo', ...sumoDemand]);
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-o', 'webster.add.xml']);
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', 'webster.add.xml', '-o', 'coord.add.xml']);
    // The same SUMO tools with greenwave's clearances (ITE yellow and all-red), for a like-for-like comparison of timing.
    const clearances = greenwaveClearances(readFileSync(join(dir, 'net.net.xml'), 'utf8'));
    for (const [from, to] of [['net.net.xml', 'net-gwc.net.xml'], ['actuated.net.xml', 'actuated-gwc.net.xml']] as const) writeFileSync(join(dir, to), withClearances(readFileSync(join(dir, from), 'utf8'), clearances));
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', 'net-gwc.net.xml', '-r', 'routes.rou.xml', '-o', 'webster-gwc.add.xml']);
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', 'net-gwc.net.xml', '-r', 'routes.rou.xml', '-a', 'webster-gwc.add.xml', '-o', 'coord-gwc.add.xml']);

    const runs: Record<(typeof TOOLS)[number], { net: string; adds: string[] }> = {
      'SUMO static': { net: 'net.net.xml', adds: [] },
      'SUMO actuated': { net: 'actuated.net.xml', adds: [] },
      'SUMO delay_based': { net: 'delay.net.xml', adds: [] },
      'SUMO Webster': { net: 'net.net.xml', adds: ['webster.add.xml'] },
      'SUMO Webster+coord': { net: 'net.net.xml', adds: ['webster.add.xml', 'coord.add.xml'] },
      greenwave: { net: 'net.net.xml', adds: ['gw.add.xml'] },
      'greenwave (no check)': { net: 'net.net.xml', adds: ['gw0.add.xml'] },
      'greenwave actuated': { net: 'net.net.xml', adds: ['gwa.add.xml'] },
      'SUMO actuated (gw clearances)': { net: 'actuated-gwc.net.xml', adds: [] },
      'SUMO Webster+coord (gw clearances)': { net: 'net-gwc.net.xml', adds: ['webster-gwc.add.xml', 'coord-gwc.add.xml'] },
      'greenwave (SUMO check)': { net: 'net.net.xml', adds: ['gws.add.xml'] },
      'greenwave fully actuated': { net: 'net.net.xml', adds: ['gwf.add.xml'] },
    };
    for (const tool of TOOLS) {
      if (!wanted(tool) || (tool === 'greenwave (SUMO check)' && !sumoCheck)) continue;
      const score: PlanScore = { tool, timeLossS: [], vehicles: [] };
      for (const seed of seeds) {
        const { net, adds } = runs[tool];
        sh(dir, 'sumo', ['-n', net, '-r', 'routes.rou.xml', ...(adds.length ? ['-a', adds.join(',')] : []), '--end', String(time.scoreEndS), '--seed', String(seed), '--no-step-log', '--time-to-teleport', '300', '--tripinfo-output', 'ti.xml', '--tripinfo-output.write-unfinished', 'true']);
        const t = readTripinfo(readFileSync(join(dir, 'ti.xml'), 'utf8'));
        score.timeLossS.push(t.meanTimeLossS);
        score.vehicles.push(t.vehicles);
      }
      result.scores.push(score);
    }
  });
}

await main();
