/**
 * `greenwave sumo compare`: one SUMO scenario (a net and its routes) run under several controls,
 * SUMO being the referee every time, with the same table for each (issue 13 item 4):
 *  - the net's own programs (the run that also records the loops greenwave plans from);
 *  - SUMO's actuated control on the net's own phases (minDur 5 s, maxDur 50 s per green, as
 *    netconvert makes actuated programs), as SUMO's clearances are and with greenwave's (the
 *    yellow and all-red greenwave's plans use there: simulator/sumo/clearances.ts);
 *  - SUMO's Webster (tlsCycleAdaptation.py) + tlsCoordinator.py on the routes;
 *  - greenwave's plan from the recorded loops, fixed time, written as SUMO programs;
 *  - that plan run by greenwave's cycle runner with SUMO in the loop (TraCI), actuated on SUMO's
 *    loops (simulator/sumo/bridge/inSumo.ts);
 *  - greenwave adaptive in the loop: re-planned from SUMO's loops every --replan-every seconds,
 *    each re-plan judged in greenwave's simulator, fixed time (bench/insumo's adaptive).
 * The bridge rows carry the lamp monitor's counts (conflicts, short clearances), which must be 0.
 * Bus priority in the loop needs the gRPC service and a dispatch: `npm run bench:insumo-tsp`.
 * Called by cli/main.ts (runAsync).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { actuatedPlan, corridorApproaches } from '../engine/timing/actuated.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { compileImport, importSumoNet } from '../simulator/sumo/importNet.js';
import { e1Additional } from '../simulator/sumo/e1.js';
import { planFromLoops } from '../simulator/sumo/plan.js';
import { exportTlLogic } from '../simulator/sumo/exportTls.js';
import { readTripinfo } from '../simulator/sumo/tripinfo.js';
import { runInSumo } from '../simulator/sumo/bridge/inSumo.js';
import { actuatedOwnPrograms } from '../simulator/sumo/ownActuated.js';
import { greenwaveClearances, withClearances } from '../simulator/sumo/clearances.js';
import { runSumoTool, SUMO_HOME, sumoAvailable } from '../simulator/sumo/sumoCheck.js';
import { readText } from './io.js';

export const SUMO_COMPARE_USAGE = `usage:
  greenwave sumo compare --net <x.net.xml> --routes <r.rou.xml> [--end S] [--seed 1]
                         [--replan-every 900] [--keep DIR] [--json]
      Runs the scenario in SUMO under the net's own programs, SUMO's actuated
      control (with its own clearances and with greenwave's), SUMO's Webster +
      coordinator, greenwave's plan from the loops (recorded under the net's
      own programs), that plan run actuated by
      greenwave with SUMO in the loop (TraCI), and greenwave adaptive in the
      loop (re-planned from SUMO's loops every --replan-every s); prints the mean
      time loss per vehicle (SUMO's timeLoss, unfinished trips included), the
      vehicles and those unfinished for each, and for the rows greenwave drives
      the lamp monitor's conflicts and short clearances. --end: the simulated
      seconds (default: the routes' last departure + 1,800 s). --keep: keep the
      working files there. Needs sumo and sumo-tools (SUMO_HOME).
`;

export const SUMO_COMPARE_OPTIONS = {
  net: { type: 'string' },
  routes: { type: 'string' },
  end: { type: 'string' },
  seed: { type: 'string' },
  'replan-every': { type: 'string' },
  keep: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** One control's result in SUMO. */
export interface CompareRow {
  readonly control: string;
  readonly meanTimeLossS: number;
  readonly vehicles: number;
  readonly unfinished: number;
  /** Rows greenwave drives through TraCI: what its lamp monitor saw, and the plan switches. */
  readonly bridge?: { readonly conflicts: number; readonly shortClearances: number; readonly planSwitches: number; readonly replans: number };
}

const run = (dir: string, cmd: string, args: readonly string[]): void => runSumoTool(dir, cmd, args, 'sumo compare', ErrorCode.Io);

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0) throw new GreenwaveError(ErrorCode.InvalidInput, `--${name}: "${value}" must be a positive number`);
  return x;
}

/** The routes' last departure, s (vehicles, trips, and flows' end), for the default --end. */
function lastDepartureS(routesXml: string): number {
  let last = 0;
  for (const m of routesXml.matchAll(/<(?:vehicle|trip|flow|person)\b[^>]*?\b(?:depart|end)="([\d.]+)"/g)) last = Math.max(last, Number(m[1]));
  return last;
}

export async function cmdSumoCompare(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: SUMO_COMPARE_OPTIONS, strict: true, allowPositionals: false });
  if (!values.net || !values.routes) throw new GreenwaveError(ErrorCode.InvalidInput, `sumo compare: --net and --routes are required\n${SUMO_COMPARE_USAGE}`);
  if (!sumoAvailable()) throw new GreenwaveError(ErrorCode.InvalidInput, 'sumo compare: `sumo` or SUMO\'s tools cannot be run here (install sumo and sumo-tools, set SUMO_HOME)');
  const netPath = resolve(values.net);
  const routesPath = resolve(values.routes);
  const netXml = readText(values.net, 'SUMO network');
  const routesXml = readText(values.routes, 'SUMO routes');
  const seed = Math.round(positive(values.seed, 'seed', 1));
  const replanEveryS = positive(values['replan-every'], 'replan-every', 900);
  const endS = Math.round(positive(values.end, 'end', lastDepartureS(routesXml) + 1800));
  const imported = importSumoNet(netXml, { timingStepS: 1 });
  const c0 = compileImport(imported);
  const dir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'gw-sumo-compare-'));
  if (values.keep) mkdirSync(dir, { recursive: true });
  const rows: CompareRow[] = [];
  const progress = (what: string) => err(`sumo compare: ${what}\n`);
  try {
    const sumo = (label: string, adds: readonly string[]): CompareRow => {
      progress(label);
      run(dir, 'sumo', ['-n', netPath, '-r', routesPath, ...(adds.length ? ['-a', adds.join(',')] : []), '--end', String(endS), '--seed', String(seed), '--no-step-log', '--no-warnings', '--time-to-teleport', '300', '--tripinfo-output', 'ti.xml', '--tripinfo-output.write-unfinished', 'true']);
      const t = readTripinfo(readFileSync(join(dir, 'ti.xml'), 'utf8'));
      return { control: label, meanTimeLossS: t.meanTimeLossS, vehicles: t.vehicles, unfinished: t.unfinished };
    };
    // The net's own programs, recording the loops greenwave plans from.
    writeFileSync(join(dir, 'loops.add.xml'), e1Additional(imported.mapping, { periodS: replanEveryS, file: 'e1.xml' }));
    rows.push(sumo("the net's own programs", [join(dir, 'loops.add.xml')]));
    const ownActuated = actuatedOwnPrograms(netXml);
    writeFileSync(join(dir, 'sumo-actuated.add.xml'), ownActuated);
    rows.push(sumo('SUMO actuated (own phases)', [join(dir, 'sumo-actuated.add.xml')]));
    // The same with the yellow and all-red greenwave's plans use there: control compared, not clearance lengths.
    writeFileSync(join(dir, 'sumo-actuated-gwc.add.xml'), withClearances(ownActuated, greenwaveClearances(netXml)));
    rows.push(sumo("SUMO actuated, greenwave's clearances", [join(dir, 'sumo-actuated-gwc.add.xml')]));
    // SUMO's tools read the routes' edges: trips and from/to flows are routed first (duarouter).
    progress("SUMO's Webster and coordinator (duarouter, tlsCycleAdaptation.py, tlsCoordinator.py)");
    run(dir, 'duarouter', ['-n', netPath, '--route-files', routesPath, '-o', 'routed.rou.xml', '--seed', String(seed), '--no-step-log', '--ignore-errors', '--no-warnings']);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', netPath, '-r', 'routed.rou.xml', '-o', 'webster.add.xml']);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', netPath, '-r', 'routed.rou.xml', '-a', 'webster.add.xml', '-o', 'coord.add.xml']);
    if (!readFileSync(join(dir, 'webster.add.xml'), 'utf8').includes('<tlLogic')) throw new GreenwaveError(ErrorCode.InvalidInput, 'sumo compare: tlsCycleAdaptation.py wrote no program for these routes (do they pass any traffic light?)');
    rows.push(sumo('SUMO Webster + coordinator', [join(dir, 'webster.add.xml'), join(dir, 'coord.add.xml')]));
    // greenwave's plan from the loops: the planner's best for the counts' peak hour.
    const planned = planFromLoops(c0, readFileSync(join(dir, 'e1.xml'), 'utf8'), 'e1.xml');
    const c = planned.compiled;
    writeFileSync(join(dir, 'greenwave.add.xml'), exportTlLogic(c, planned.plan.buffer, imported.mapping, { programId: 'greenwave', resolutionS: 1 }));
    rows.push(sumo('greenwave fixed time', [join(dir, 'greenwave.add.xml')]));
    const approaches = corridorApproaches(planned.plan.corridors);
    const actuated = (b: PlanBuffer) => actuatedPlan(c, b, approaches);
    const bridge = async (label: string, o: { actuated?: typeof actuated; adaptive?: boolean }): Promise<void> => {
      progress(`${label} (SUMO in the loop)`);
      const r = await runInSumo(c, imported.mapping, planned.plan.buffer, {
        netPath,
        routesPath,
        dir,
        seed,
        endS,
        sumoArgs: ['--tripinfo-output.write-unfinished', 'true', '--no-warnings'],
        ...(o.actuated ? { actuated: o.actuated } : {}),
        ...(o.adaptive ? { replanEveryS, check: { alternatives: 7, horizonS: replanEveryS, switchMargin: 0.05 } } : {}),
      });
      rows.push({ control: label, meanTimeLossS: r.trips.meanTimeLossS, vehicles: r.trips.vehicles, unfinished: r.trips.unfinished, bridge: { conflicts: r.conflicts, shortClearances: r.shortClearances, planSwitches: r.planSwitches, replans: r.replans } });
    };
    await bridge('greenwave actuated', { actuated });
    await bridge('greenwave adaptive', { adaptive: true });
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
  if (values.json) {
    out(`${JSON.stringify({ net: values.net, routes: values.routes, seed, endS, rows }, null, 2)}\n`);
    return 0;
  }
  out(`greenwave sumo compare — ${values.net}, ${values.routes}, seed ${seed}, ${endS} s in SUMO\n\n`);
  out('  control                                time loss (s/veh)  vehicles  unfinished  conflicts  short clearances\n');
  for (const r of rows) {
    const b = r.bridge;
    out(`  ${r.control.padEnd(38)} ${r.meanTimeLossS.toFixed(1).padStart(17)}  ${String(r.vehicles).padStart(8)}  ${String(r.unfinished).padStart(10)}  ${(b ? String(b.conflicts) : '–').padStart(9)}  ${(b ? String(b.shortClearances) : '–').padStart(16)}\n`);
  }
  const best = rows.reduce((a, b) => (b.meanTimeLossS < a.meanTimeLossS ? b : a));
  out(`\nleast time loss: ${best.control} (${best.meanTimeLossS.toFixed(1)} s/veh)${values.keep ? `; working files in ${values.keep}` : ''}\n`);
  return 0;
}
