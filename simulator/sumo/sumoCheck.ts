/**
 * The shortlist check run in SUMO itself (`greenwave sumo plan --check sumo`): the planner's
 * best plan and its runners-up are each written as SUMO programs and run in `sumo` on demand
 * estimated from the loop counts, and the plan with the least mean time loss per vehicle is
 * kept. Called by simulator/sumo/plan.ts through `LoopPlanOptions.rank`.
 *
 * Demand: the planned flows (the loops' peak hour) summed per edge are the counts that SUMO's
 * routeSampler.py matches, sampling from candidate routes that randomTrips.py draws between
 * the fringe edges (duarouter shortest paths). Runs go in parallel, as many as the machine has
 * cores, with common random numbers (one seed for every plan). Needs `sumo` and sumo-tools.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import type { NetworkPlan } from '../../engine/plan.js';
import { withAlternative, type PlanTrial } from '../rankPlans.js';
import { exportTlLogic } from './exportTls.js';
import type { SumoMapping } from './importNet.js';
import { readTripinfo } from './tripinfo.js';

export interface SumoCheckOptions {
  /** The SUMO network the plans are for. */
  readonly netPath: string;
  readonly mapping: SumoMapping;
  /** Grid of the written programs (`--resolution`), s. */
  readonly resolutionS: number;
  /** Simulated demand, s (the counts are per hour). Default 3600; the run goes on 900 s more so the last trips finish. */
  readonly durationS?: number;
  /** SUMO seed (the same for every plan). Default 1. */
  readonly seed?: number;
  /** Runs at once. Default: the machine's cores. */
  readonly parallel?: number;
  /** Progress lines ("SUMO check: 4/8 plans run"). */
  readonly progress?: (line: string) => void;
  /**
   * When given, the planner's best plan is also tried as actuated programs (this writes them),
   * and kept if it loses the least time: fixed or actuated control is then SUMO's call too.
   */
  readonly actuatedVariant?: (c: CompiledNetwork, buffer: NetworkPlan['buffer'], corridors: NetworkPlan['corridors']) => string;
  /** How each shortlisted plan is written for SUMO (default: fixed-time, `exportTlLogic`). */
  readonly exportPlan?: (c: CompiledNetwork, buffer: NetworkPlan['buffer'], corridors: NetworkPlan['corridors'], programId: string) => string;
}

export interface SumoRanking {
  readonly plan: NetworkPlan;
  readonly trials: PlanTrial[];
  readonly chosen: number;
  /** The kept plan is to run actuated (only with `actuatedVariant`). */
  readonly actuated: boolean;
}

const SUMO_HOME = process.env['SUMO_HOME'] ?? '/usr/share/sumo';

/** True when `sumo` and the routeSampler tool can be run. */
export function sumoAvailable(): boolean {
  const r = spawnSync('sumo', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && spawnSync('python3', [join(SUMO_HOME, 'tools/routeSampler.py'), '--help'], { encoding: 'utf8' }).status === 0;
}

function run(dir: string, cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, SUMO_HOME }, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new GreenwaveError(ErrorCode.InvalidInput, `SUMO check: ${cmd} ${args.slice(0, 3).join(' ')} … failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}

/** Counted vehicles per edge over `durationS`: the planned lane flows summed per SUMO edge (lane ids are `<edge>_<index>`). */
export function edgeCounts(c: CompiledNetwork, laneFlowVehPerH: Float64Array, durationS: number): Map<string, number> {
  const out = new Map<string, number>();
  c.laneIds.forEach((laneId, l) => {
    const edge = laneId.replace(/_\d+$/, '');
    out.set(edge, (out.get(edge) ?? 0) + (laneFlowVehPerH[l]! * durationS) / 3600);
  });
  return out;
}

/**
 * Picks among `plan.alternatives` by SUMO's mean time loss per vehicle (unfinished trips
 * included) and returns the winner's network plan with every trial, as rankBySimulation does.
 */
export function rankInSumo(c: CompiledNetwork, plan: NetworkPlan, o: SumoCheckOptions): SumoRanking {
  if (plan.alternatives.length < 2 && !o.actuatedVariant) return { plan, trials: [], chosen: 0, actuated: false };
  const durationS = o.durationS ?? 3600;
  const seed = o.seed ?? 1;
  const net = resolve(o.netPath);
  const dir = mkdtempSync(join(tmpdir(), 'gw-sumo-check-'));
  try {
    const counts = edgeCounts(c, plan.buffer.laneFlowVehPerH, durationS);
    const rows = [...counts].filter(([, n]) => n >= 0.5).map(([edge, n]) => `    <edge id="${edge}" entered="${Math.round(n)}"/>`);
    writeFileSync(join(dir, 'counts.xml'), `<data>\n  <interval id="counts" begin="0" end="${durationS}">\n${rows.join('\n')}\n  </interval>\n</data>\n`);
    o.progress?.(`SUMO check: ${durationS} s of demand from the counts (randomTrips.py candidates, routeSampler.py)`);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/randomTrips.py'), '-n', net, '-o', 'candidates.trips.xml', '-r', 'candidates.rou.xml', '-e', String(durationS), '-p', '0.5', '--fringe-factor', '10', '--min-distance', '100', '--seed', String(seed), '--validate']);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/routeSampler.py'), '-r', 'candidates.rou.xml', '-d', 'counts.xml', '-o', 'demand.rou.xml', '-s', String(seed), '-b', '0', '-e', String(durationS)]);
    // Candidates: every shortlisted plan as written (fixed time by default), then the best one actuated (when asked).
    const alts = plan.alternatives.length > 0 ? plan.alternatives : [{ label: 'plan', score: 0, buffer: plan.buffer, corridors: plan.corridors }];
    const write = o.exportPlan ?? ((cc: CompiledNetwork, buffer: NetworkPlan['buffer'], _corridors: NetworkPlan['corridors'], programId: string) => exportTlLogic(cc, buffer, o.mapping, { programId, resolutionS: o.resolutionS }));
    const candidates = alts.map((alt, k) => ({ alt, actuated: false, xml: write(c, alt.buffer, alt.corridors, `check${k}`) }));
    if (o.actuatedVariant) candidates.push({ alt: alts[0]!, actuated: true, xml: o.actuatedVariant(c, alts[0]!.buffer, alts[0]!.corridors) });
    candidates.forEach((x, k) => writeFileSync(join(dir, `plan-${k}.add.xml`), x.xml));
    const parallel = Math.max(1, o.parallel ?? availableParallelism());
    const sumo = (k: number) => `sumo -n '${net.replace(/'/g, `'\\''`)}' -r demand.rou.xml -a plan-${k}.add.xml --end ${durationS + 900} --seed ${seed} --no-step-log --no-warnings --time-to-teleport 300 --tripinfo-output ti-${k}.xml --tripinfo-output.write-unfinished true`;
    for (let k = 0; k < candidates.length; k += parallel) {
      const batch = candidates.slice(k, k + parallel).map((_, j) => k + j);
      run(dir, 'sh', ['-c', `${batch.map((x) => `${sumo(x)} &`).join(' ')} wait; for k in ${batch.join(' ')}; do test -s ti-$k.xml || exit 1; done`]);
      o.progress?.(`SUMO check: ${Math.min(k + parallel, candidates.length)}/${candidates.length} plans run`);
    }
    const trials = candidates.map((x, k) => ({
      label: x.actuated ? `${x.alt.label}, actuated` : x.alt.label,
      plannerScore: Math.round(x.alt.score),
      simulatedDelayS: Math.round(readTripinfo(readFileSync(join(dir, `ti-${k}.xml`), 'utf8')).meanTimeLossS * 10) / 10,
    }));
    let chosen = 0;
    trials.forEach((t, k) => {
      if (t.simulatedDelayS < trials[chosen]!.simulatedDelayS) chosen = k;
    });
    const { alt, actuated } = candidates[chosen]!;
    return { plan: withAlternative(c, plan, alt), trials, chosen, actuated };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
