/**
 * One scenario and seed of bench/insumo, as a child process: a time-varying
 * day on an arterial of the scenario family (demand ramps from 0.4× to 1.1×
 * and back over 2.5 h in 15-minute steps, and the major direction swaps
 * halfway), scored in SUMO for: SUMO's actuated control (as SUMO builds it, and with
 * greenwave's clearances), SUMO's Webster +
 * coordinator on the day's routes, greenwave's fixed plan and its time-of-day
 * plan from loops recorded under the net's program, and greenwave adaptive
 * with SUMO in the loop (TraCI; re-planning every 15 minutes from SUMO's
 * loops, starting from the fixed plan; each re-plan, its runners-up and the
 * running plan judged in greenwave's simulator on the counted demand, the
 * running plan kept unless beaten by 5 %: the closed loop's defaults
 * otherwise). Prints one JSON line.
 *
 *   node dist/bench/insumo/one.js <scenario-id> <seed>
 *   GREENWAVE_INSUMO_LOG=1 …: each adaptive re-plan on stderr; GREENWAVE_KEEP=1: keep the folder;
 *   GREENWAVE_INSUMO_JUDGE=sumo, GREENWAVE_INSUMO_SWITCH_MARGIN=0.15: the re-plans' judge and margin
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileImport, importSumoNet } from '../../simulator/sumo/importNet.js';
import { planFromLoops } from '../../simulator/sumo/plan.js';
import { matchLoops, readLoopDefinitions } from '../../simulator/sumo/detectorDefs.js';
import { readTripinfo } from '../../simulator/sumo/tripinfo.js';
import { runInSumo } from '../../simulator/sumo/bridge/inSumo.js';
import { actuatedPlan, corridorApproaches } from '../../engine/timing/actuated.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { arterialScenario } from '../scenarios/family.js';
import { arterialFlows, buildLoops, buildNetwork, greenwaveClearances, greenwavePlan, recordLoops, sh, SUMO_HOME, withClearances } from '../scenarios/build.js';
import { childRun } from '../scenarios/pool.js';

/** Demand factor per 15-minute period, and the day's length. */
export const DAY_FACTORS = [0.4, 0.6, 0.8, 1.0, 1.1, 1.1, 0.9, 0.7, 0.5, 0.4] as const;
export const PERIOD_S = 900;
const DAY_S = DAY_FACTORS.length * PERIOD_S;
const END_S = DAY_S + 1800;
/** GREENWAVE_INSUMO_LOG=1: each adaptive re-plan on stderr (when, vehicles counted, cycles, applied or not). */
const LOG_REPLANS = process.env['GREENWAVE_INSUMO_LOG'] === '1';
/** GREENWAVE_INSUMO_JUDGE=sumo: re-plans judged in SUMO itself (docs/benchmarks.md, "Why adaptive loses"); default our simulator. */
const JUDGE = process.env['GREENWAVE_INSUMO_JUDGE'] === 'sumo' ? 'sumo' : 'greenwave';
/** GREENWAVE_INSUMO_SWITCH_MARGIN: how much better a re-plan must be judged to replace the running plan (default 0.05). */
const SWITCH_MARGIN = Number(process.env['GREENWAVE_INSUMO_SWITCH_MARGIN'] ?? 0.05);
/** GREENWAVE_INSUMO_ACTUATED=1: also the planner's plan run actuated by the bridge, with and without re-plans. */
const ACTUATED = process.env['GREENWAVE_INSUMO_ACTUATED'] === '1';

export interface InSumoCase {
  readonly id: string;
  readonly half: string;
  readonly seed: number;
  readonly timeLossS: Record<string, number>;
  readonly vehicles: Record<string, number>;
  readonly replans: number;
  readonly planSwitches: number;
  readonly conflicts: number;
  readonly shortClearances: number;
  readonly firstViolation: string;
  readonly bridgeWallS: number;
  readonly error?: string;
}

async function main(): Promise<void> {
  const [id, seedArg] = process.argv.slice(2);
  const { spec, arterial: a } = arterialScenario(id);
  const seed = Number(seedArg ?? 1);
  const dir = mkdtempSync(join(tmpdir(), `gw-insumo-${id}-${seed}-`));
  const result: InSumoCase = { id: spec.id, half: spec.half, seed, timeLossS: {}, vehicles: {}, replans: 0, planSwitches: 0, conflicts: 0, shortClearances: 0, firstViolation: '', bridgeWallS: 0 };
  await childRun(dir, result, async () => {
    buildNetwork(spec, dir);
    const flows: string[] = [];
    DAY_FACTORS.forEach((f, k) => {
      // First half eastbound is the major direction; in the second the directions swap.
      const swap = k >= DAY_FACTORS.length / 2;
      flows.push(...arterialFlows(a, f, k * PERIOD_S, (k + 1) * PERIOD_S, `-p${k}`, swap ? a.minorShare : 1, swap ? 1 / a.minorShare : 1));
    });
    writeFileSync(join(dir, 'flows.xml'), `<routes>\n${flows.join('\n')}\n</routes>\n`);
    sh(dir, 'duarouter', ['-n', 'net.net.xml', '--route-files', 'flows.xml', '-o', 'routes.rou.xml', '--seed', String(spec.seed), '--no-step-log', '--ignore-errors']);
    const built = buildLoops(spec, dir);
    recordLoops(dir, built, DAY_S + PERIOD_S, spec.seed);
    greenwavePlan(dir, built, 'gw.add.xml');
    greenwavePlan(dir, built, 'gwtod.add.xml', ['--time-of-day']);
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-o', 'webster.add.xml']);
    sh(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', 'webster.add.xml', '-o', 'coord.add.xml']);
    const score = (name: string, net: string, adds: string[]) => {
      sh(dir, 'sumo', ['-n', net, '-r', 'routes.rou.xml', ...(adds.length ? ['-a', adds.join(',')] : []), '--end', String(END_S), '--seed', String(seed), '--no-step-log', '--time-to-teleport', '300', '--tripinfo-output', 'ti.xml', '--tripinfo-output.write-unfinished', 'true']);
      const t = readTripinfo(readFileSync(join(dir, 'ti.xml'), 'utf8'));
      result.timeLossS[name] = t.meanTimeLossS;
      result.vehicles[name] = t.vehicles;
    };
    score('SUMO actuated', 'actuated.net.xml', []);
    // SUMO's actuated control with greenwave's clearances (ITE yellow and all-red, whole seconds), as
    // bench:scenarios does: how much of the gap to it is the clearances, which greenwave never shortens.
    writeFileSync(join(dir, 'actuated-gwc.net.xml'), withClearances(readFileSync(join(dir, 'actuated.net.xml'), 'utf8'), greenwaveClearances(readFileSync(join(dir, 'net.net.xml'), 'utf8'))));
    score('SUMO actuated (gw clearances)', 'actuated-gwc.net.xml', []);
    score('SUMO Webster+coord', 'net.net.xml', ['webster.add.xml', 'coord.add.xml']);
    score('greenwave fixed', 'net.net.xml', ['gw.add.xml']);
    score('greenwave time-of-day', 'net.net.xml', ['gwtod.add.xml']);
    // Adaptive, SUMO in the loop, from the same fixed plan.
    const netXml = readFileSync(join(dir, 'net.net.xml'), 'utf8');
    const imported = importSumoNet(netXml, { timingStepS: 1 });
    const c0 = compileImport(imported);
    const loopMatch = built.needsDetectors ? matchLoops(readLoopDefinitions(readFileSync(join(dir, built.loopDefs), 'utf8')), imported.mapping) : undefined;
    const fixed = planFromLoops(c0, readFileSync(join(dir, 'loops.xml'), 'utf8'), 'loops.xml', undefined, loopMatch ? { loops: loopMatch.targets } : {});
    const base = { netPath: join(dir, 'net.net.xml'), routesPath: join(dir, 'routes.rou.xml'), dir, seed, endS: END_S, sumoArgs: ['--tripinfo-output.write-unfinished', 'true'] };
    // Every adaptive run: re-planned each period, the re-plan and its runners-up judged against the running plan.
    const adaptive = { replanEveryS: PERIOD_S, check: { alternatives: 7, horizonS: PERIOD_S, switchMargin: SWITCH_MARGIN, judge: JUDGE } } as const;
    if (ACTUATED) {
      // The planner's plan run actuated as a field controller runs it (coordinated where its corridors are), fixed frame and adaptive.
      const approaches = corridorApproaches(fixed.plan.corridors);
      const actuated = (b: PlanBuffer) => actuatedPlan(fixed.compiled, b, approaches);
      const fa = await runInSumo(fixed.compiled, imported.mapping, fixed.plan.buffer, { ...base, actuated });
      result.timeLossS['greenwave actuated (in SUMO)'] = fa.trips.meanTimeLossS;
      result.vehicles['greenwave actuated (in SUMO)'] = fa.trips.vehicles;
      const aa = await runInSumo(fixed.compiled, imported.mapping, fixed.plan.buffer, { ...base, ...adaptive, actuated });
      result.timeLossS['greenwave adaptive actuated (in SUMO)'] = aa.trips.meanTimeLossS;
      result.vehicles['greenwave adaptive actuated (in SUMO)'] = aa.trips.vehicles;
      Object.assign(result, { conflicts: fa.conflicts + aa.conflicts, shortClearances: fa.shortClearances + aa.shortClearances, firstViolation: fa.firstViolation || aa.firstViolation });
    }
    const r = await runInSumo(fixed.compiled, imported.mapping, fixed.plan.buffer, { ...base, ...adaptive, onReplan: LOG_REPLANS ? (x) => process.stderr.write(`${id} seed ${seed}: re-plan at ${x.tS} s, ${x.countedVeh} vehicles counted, cycles ${x.cyclesS.map((c) => c.toFixed(0)).join(' ')} s, ${x.applied ? 'applied' : 'kept the running plan'}\n`) : undefined });
    result.timeLossS['greenwave adaptive (in SUMO)'] = r.trips.meanTimeLossS;
    result.vehicles['greenwave adaptive (in SUMO)'] = r.trips.vehicles;
    Object.assign(result, { replans: r.replans, planSwitches: r.planSwitches, conflicts: result.conflicts + r.conflicts, shortClearances: result.shortClearances + r.shortClearances, firstViolation: result.firstViolation || r.firstViolation, bridgeWallS: r.wallS });
  });
}

await main();
