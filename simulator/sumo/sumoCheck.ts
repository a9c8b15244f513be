/**
 * The shortlist check run in SUMO itself (`greenwave sumo plan --check sumo`): the planner's
 * best plan and its runners-up are each written as SUMO programs and run in `sumo` on demand
 * estimated from the loop counts, and the plan with the least mean time loss per vehicle is
 * kept. Called by simulator/sumo/plan.ts through `LoopPlanOptions.rank`.
 *
 * Demand: the planned flows (the loops' peak hour) summed per edge are the counts that SUMO's
 * routeSampler.py matches, sampling from candidate routes that randomTrips.py draws between
 * the fringe edges (duarouter shortest paths); and where vehicles turn, estimated per signal from
 * the lanes' counts, the edges each lane leads to and the next signal's counts (`turnCounts`), is
 * matched too. Runs go in parallel, as many as the machine has cores, with common random numbers
 * (one seed for every plan). Needs `sumo` and sumo-tools.
 *
 * Why the turns: edge counts say nothing of where vehicles turn, and on arterials routeSampler.py
 * met them alone with trips that leave the arterial at side streets (arterial-07 medium: 6,348
 * sampled trips against the scenario's 4,342, 4,403 of them leaving at side streets against 1,686; 281–395 s lost
 * a vehicle under the shortlist where the scenario's own demand loses 49–60 s, and ranked the nine
 * plans against the scenario, Spearman ρ −0.30). Held to the turns as well, the sample lost 42–51 s
 * and ranked them as the scenario does, ρ 0.92 (docs/benchmarks.md).
 *
 * A sample the counted network could not have been: the counts are flows the network served, so
 * when every plan leaves more than UNSERVED_LIMIT of the sampled trips unfinished 15 minutes after
 * the demand ends, the check is inconclusive and the planner's best is kept (`chooseTrial`), and
 * `sumo plan` says so.
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
   * Other ways to run the planner's best plan (each writes it as SUMO programs: every signal
   * actuated, say), tried after the shortlist and kept if one loses the least time: the control
   * is then SUMO's call too.
   */
  readonly variants?: readonly CheckVariant[];
  /** Turning counts the sample is held to as well (`turnCounts`). Default 'fitted'. */
  readonly turns?: CheckTurns;
  /** How each shortlisted plan is written for SUMO (default: fixed-time, `exportTlLogic`). */
  readonly exportPlan?: (c: CompiledNetwork, buffer: NetworkPlan['buffer'], corridors: NetworkPlan['corridors'], programId: string) => string;
}

/** The planner's best plan run another way in the check (`SumoCheckOptions.variants`). */
export interface CheckVariant {
  /** Shown after the plan's label ("…, actuated") and returned as `SumoRanking.variant` when kept. */
  readonly name: string;
  readonly write: (c: CompiledNetwork, buffer: NetworkPlan['buffer'], corridors: NetworkPlan['corridors']) => string;
}

/** A plan run in SUMO's check: its mean time loss and the share of the sampled trips it left unfinished. */
export interface SumoTrial extends PlanTrial {
  readonly unfinishedShare: number;
}

export interface SumoRanking {
  readonly plan: NetworkPlan;
  readonly trials: SumoTrial[];
  readonly chosen: number;
  /** The variant kept (`SumoCheckOptions.variants`' name); undefined when a shortlisted plan as `exportPlan` writes it won. */
  readonly variant?: string;
  /** Set when the sample could not tell the plans apart and the planner's best was kept: why. */
  readonly inconclusive?: string;
}

/**
 * Share of the sampled trips that every plan may leave unfinished before the check is inconclusive.
 * From bench/scenarios' tuning half (one seed, 7 December; docs/benchmarks.md): the least share over a
 * check's plans was 0–2.4 % in 21 of the 25 cases where the check ran in SUMO (the highest,
 * arterial-01 near saturation, where the check helped), 21–30 % in the four where it fires
 * (arterial-07 near saturation, arterial-13 medium and near saturation, arterial-19 near
 * saturation); 10 % lies between.
 */
export const UNSERVED_LIMIT = 0.1;

/**
 * The trial to keep: the least mean time loss, unless every trial left more than UNSERVED_LIMIT of
 * the sampled trips unfinished; then the planner's best (trial 0) and why.
 */
export function chooseTrial(trials: readonly SumoTrial[]): { chosen: number; inconclusive?: string } {
  if (trials.length === 0) return { chosen: 0 };
  let chosen = 0;
  let leastUnfinished = Infinity;
  trials.forEach((t, k) => {
    if (t.simulatedDelayS < trials[chosen]!.simulatedDelayS) chosen = k;
    leastUnfinished = Math.min(leastUnfinished, t.unfinishedShare);
  });
  if (leastUnfinished <= UNSERVED_LIMIT) return { chosen };
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  return {
    chosen: 0,
    inconclusive: `every plan left at least ${pct(leastUnfinished)} of the trips sampled from the counts unfinished (limit ${pct(UNSERVED_LIMIT)}), though the network served the counted flows: the sample is not the counted network, so the planner's best is kept`,
  };
}

/** Where SUMO's tools are (Debian's sumo-tools by default). */
export const SUMO_HOME = process.env['SUMO_HOME'] ?? '/usr/share/sumo';

/** True when `sumo` and the routeSampler tool can be run. */
export function sumoAvailable(): boolean {
  const r = spawnSync('sumo', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && spawnSync('python3', [join(SUMO_HOME, 'tools/routeSampler.py'), '--help'], { encoding: 'utf8' }).status === 0;
}

/**
 * Runs a SUMO program or tool in `dir` with SUMO_HOME set; a failure is a GreenwaveError (`code`)
 * naming the command and the last lines it printed, after `what` ("SUMO check", "sumo compare").
 */
export function runSumoTool(dir: string, cmd: string, args: readonly string[], what: string, code: ErrorCode = ErrorCode.InvalidInput): void {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, SUMO_HOME }, maxBuffer: 256 << 20 });
  if (r.error || r.status !== 0) throw new GreenwaveError(code, `${what}: ${cmd} ${args.slice(0, 3).join(' ')} … failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}

const run = (dir: string, cmd: string, args: readonly string[]): void => runSumoTool(dir, cmd, args, 'SUMO check');

/** Counted vehicles per edge over `durationS`: the planned lane flows summed per SUMO edge (lane ids are `<edge>_<index>`). */
export function edgeCounts(c: CompiledNetwork, laneFlowVehPerH: Float64Array, durationS: number): Map<string, number> {
  const out = new Map<string, number>();
  c.laneIds.forEach((laneId, l) => {
    const edge = laneId.replace(/_\d+$/, '');
    out.set(edge, (out.get(edge) ?? 0) + (laneFlowVehPerH[l]! * durationS) / 3600);
  });
  return out;
}

/** Which turning counts the check's sample is held to besides the edge counts (`SumoCheckOptions.turns`). */
export type CheckTurns = 'none' | 'fitted';

/**
 * Prior share of a shared lane's flow by turn (greenwave's movement letter), where neither the lane
 * (it serves several edges) nor the counts downstream (the edge leaves the counted network) tell:
 * most of a shared lane goes straight. A prior only: `turnCounts` fits it to every count it can.
 */
const TURN_PRIOR: Readonly<Record<string, number>> = { T: 1, L: 0.25, R: 0.25, U: 0.02 };

/**
 * Counted vehicles per turning relation (`from>to` SUMO edge ids) over `durationS`, estimated per
 * signal from what the loops tell: each lane's count (planned lane flows) and the edges its links
 * lead to, and the count of each edge it leads to that the next signal's loops count (`counted`,
 * `edgeCounts` of the same flows and duration; an edge has
 * one upstream junction, so that count is what this junction sent into it). Iterative proportional
 * fitting of `TURN_PRIOR` to those row and column totals; an edge that leaves the counted network
 * gets what the lanes' totals leave for it. Edge counts alone do not say where vehicles turn: on an
 * arterial a sample held to them alone sends most of its trips off at side streets.
 */
export function turnCounts(c: CompiledNetwork, mapping: SumoMapping, laneFlowVehPerH: Float64Array, counted: ReadonlyMap<string, number>, durationS: number, mode: CheckTurns): Map<string, number> {
  const out = new Map<string, number>();
  if (mode === 'none') return out;
  const laneIndex = new Map(c.laneIds.map((id, l) => [id, l] as const));
  for (const ix of mapping.intersections) {
    // One cell per (lane, edge led to), its prior from the movement's turn.
    const cells: { lane: string; from: string; to: string; x: number }[] = [];
    const seen = new Set<string>();
    for (const link of ix.links) {
      if (!link || link.movement === undefined) continue;
      const lane = `${link.from}_${link.fromLane}`;
      if (!laneIndex.has(lane) || seen.has(`${lane}>${link.to}`)) continue;
      seen.add(`${lane}>${link.to}`);
      cells.push({ lane, from: link.from, to: link.to, x: TURN_PRIOR[link.movement.slice(-1)] ?? 1 });
    }
    const rowTotal = (lane: string) => (laneFlowVehPerH[laneIndex.get(lane)!]! * durationS) / 3600;
    const scale = (key: (x: (typeof cells)[number]) => string, target: (k: string) => number | undefined) => {
      const sums = new Map<string, number>();
      for (const x of cells) sums.set(key(x), (sums.get(key(x)) ?? 0) + x.x);
      for (const x of cells) {
        const t = target(key(x));
        const sum = sums.get(key(x))!;
        if (t !== undefined && sum > 0) x.x *= t / sum;
      }
    };
    for (let it = 0; it < 50; it++) {
      scale((x) => x.to, (to) => counted.get(to));
      scale((x) => x.lane, rowTotal);
    }
    for (const x of cells) out.set(`${x.from}>${x.to}`, (out.get(`${x.from}>${x.to}`) ?? 0) + x.x);
  }
  return out;
}

/**
 * Picks among `plan.alternatives` by SUMO's mean time loss per vehicle (unfinished trips
 * included) and returns the winner's network plan with every trial, as rankBySimulation does.
 */
export function rankInSumo(c: CompiledNetwork, plan: NetworkPlan, o: SumoCheckOptions): SumoRanking {
  if (plan.alternatives.length < 2 && !o.variants?.length) return { plan, trials: [], chosen: 0 };
  const durationS = o.durationS ?? 3600;
  const seed = o.seed ?? 1;
  const net = resolve(o.netPath);
  const dir = mkdtempSync(join(tmpdir(), 'gw-sumo-check-'));
  try {
    // routeSampler.py's count files: one interval over the demand, a row per edge or turning relation counted.
    const writeCounts = (file: string, counts: Map<string, number>, row: (key: string, n: number) => string): boolean => {
      const rows = [...counts].filter(([, n]) => n >= 0.5).map(([key, n]) => `    ${row(key, Math.round(n))}`);
      writeFileSync(join(dir, file), `<data>\n  <interval id="${file}" begin="0" end="${durationS}">\n${rows.join('\n')}\n  </interval>\n</data>\n`);
      return rows.length > 0;
    };
    const counted = edgeCounts(c, plan.buffer.laneFlowVehPerH, durationS);
    writeCounts('counts.xml', counted, (edge, n) => `<edge id="${edge}" entered="${n}"/>`);
    const turns = writeCounts('turns.xml', turnCounts(c, o.mapping, plan.buffer.laneFlowVehPerH, counted, durationS, o.turns ?? 'fitted'), (key, n) => {
      const [from, to] = key.split('>');
      return `<edgeRelation from="${from}" to="${to}" count="${n}"/>`;
    });
    o.progress?.(`SUMO check: ${durationS} s of demand from the counts (randomTrips.py candidates, routeSampler.py)`);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/randomTrips.py'), '-n', net, '-o', 'candidates.trips.xml', '-r', 'candidates.rou.xml', '-e', String(durationS), '-p', '0.5', '--fringe-factor', '10', '--min-distance', '100', '--seed', String(seed), '--validate']);
    run(dir, 'python3', [join(SUMO_HOME, 'tools/routeSampler.py'), '-r', 'candidates.rou.xml', '-d', 'counts.xml', ...(turns ? ['-t', 'turns.xml'] : []), '-o', 'demand.rou.xml', '-s', String(seed), '-b', '0', '-e', String(durationS)]);
    // Candidates: every shortlisted plan as written (fixed time by default), then the best one run each other way asked for.
    const alts = plan.alternatives.length > 0 ? plan.alternatives : [{ label: 'plan', score: 0, buffer: plan.buffer, corridors: plan.corridors }];
    const write = o.exportPlan ?? ((cc: CompiledNetwork, buffer: NetworkPlan['buffer'], _corridors: NetworkPlan['corridors'], programId: string) => exportTlLogic(cc, buffer, o.mapping, { programId, resolutionS: o.resolutionS }));
    const candidates: { alt: (typeof alts)[number]; variant?: string; xml: string }[] = alts.map((alt, k) => ({ alt, xml: write(c, alt.buffer, alt.corridors, `check${k}`) }));
    for (const v of o.variants ?? []) candidates.push({ alt: alts[0]!, variant: v.name, xml: v.write(c, alts[0]!.buffer, alts[0]!.corridors) });
    candidates.forEach((x, k) => writeFileSync(join(dir, `plan-${k}.add.xml`), x.xml));
    const parallel = Math.max(1, o.parallel ?? availableParallelism());
    const sumo = (k: number) => `sumo -n '${net.replace(/'/g, `'\\''`)}' -r demand.rou.xml -a plan-${k}.add.xml --end ${durationS + 900} --seed ${seed} --no-step-log --no-warnings --time-to-teleport 300 --tripinfo-output ti-${k}.xml --tripinfo-output.write-unfinished true`;
    for (let k = 0; k < candidates.length; k += parallel) {
      const batch = candidates.slice(k, k + parallel).map((_, j) => k + j);
      run(dir, 'sh', ['-c', `${batch.map((x) => `${sumo(x)} &`).join(' ')} wait; for k in ${batch.join(' ')}; do test -s ti-$k.xml || exit 1; done`]);
      o.progress?.(`SUMO check: ${Math.min(k + parallel, candidates.length)}/${candidates.length} plans run`);
    }
    // Trips sampled; a trip SUMO never inserted is not in its tripinfo, so it counts as unfinished too.
    const sampled = (readFileSync(join(dir, 'demand.rou.xml'), 'utf8').match(/<vehicle\s/g) ?? []).length;
    const trials: SumoTrial[] = candidates.map((x, k) => {
      const ti = readTripinfo(readFileSync(join(dir, `ti-${k}.xml`), 'utf8'));
      return {
        label: x.variant ? `${x.alt.label}, ${x.variant}` : x.alt.label,
        plannerScore: Math.round(x.alt.score),
        simulatedDelayS: Math.round(ti.meanTimeLossS * 10) / 10,
        unfinishedShare: sampled > 0 ? Math.round((1 - (ti.vehicles - ti.unfinished) / sampled) * 1000) / 1000 : 0,
      };
    });
    const { chosen, inconclusive } = chooseTrial(trials);
    const { alt, variant } = candidates[chosen]!;
    return { plan: withAlternative(c, plan, alt), trials, chosen, ...(variant ? { variant } : {}), ...(inconclusive ? { inconclusive } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
