/**
 * Plans every signal of an imported SUMO network from SUMO induction-loop
 * output: loops (ids `e1_<lane>`, or any ids with their definitions) →
 * detector counts → fault cleaning → demand (the mean flows of the peak
 * hour, filling and emptying intervals left out, engine/counts/analysisPeriod.ts;
 * or a predicted interval with `at`) → left-turn mode (protected left phases
 * the demand does not warrant are omitted, engine/timing/leftTurnMode.ts) → the engine's
 * planNetwork (isolated plans, then the corridors it found, with runners-up)
 * → the check of the shortlist in the microsimulator (simulator/rankPlans.ts) or in
 * SUMO (sumoCheck.ts). Called by
 * `greenwave sumo plan` and by bench/sim.
 */
import { phaseIndex, type CompiledNetwork } from '../../engine/network/compile.js';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { detectorTopology, cleanCounts, type FaultReport } from '../../engine/counts/faults.js';
import { formatTimestamp, type DetectorCounts } from '../../engine/counts/csv.js';
import { demandFor } from '../../engine/demand.js';
import { planNetwork, type NetworkPlan } from '../../engine/plan.js';
import { e1DetectorId, readE1Output } from './e1.js';
import type { SumoMapping } from './importNet.js';
import type { LoopTarget } from './detectorDefs.js';
import { analysisPeriod } from '../../engine/counts/analysisPeriod.js';
import type { TimeOfDayOptions } from '../../engine/counts/timeOfDay.js';
import { inCompiledOrder, planDay, spanLabel, type TimeOfDayPlan } from '../../engine/dayPlan.js';

export type { TimeOfDayPlan } from '../../engine/dayPlan.js';
import { rankBySimulation, type PlanTrial } from '../rankPlans.js';
import { leftTurnMode, type LeftTurnDecision } from '../../engine/timing/leftTurnMode.js';

/** Runners-up the planner shortlists for the microsimulator to check, by default. */
export const DEFAULT_ALTERNATIVES = 7;

export interface LoopPlan {
  readonly plan: NetworkPlan;
  readonly faults: FaultReport;
  readonly forInterval: string;
  readonly basis: string;
  readonly intervalS: number;
  /** Volumes per compiled detector for the planned interval, veh per interval. */
  readonly volumeVeh: Float64Array;
  /** The shortlisted plans as tried in the microsimulator (empty when there was nothing to choose). */
  readonly trials: readonly PlanTrial[];
  /** Index into `trials` of the plan kept. */
  readonly chosen: number;
  /** Intervals of the counts not planned for, and why (empty with `at`). */
  readonly leftOut: readonly { readonly interval: string; readonly reason: string }[];
  /** Loop ids in the output that match no detector (only with loop definitions). */
  readonly unmatchedLoops: readonly string[];
  /** Protected left-turn phases kept or omitted for this demand (engine/timing/leftTurnMode.ts). */
  readonly leftTurns: readonly LeftTurnDecision[];
  /** The network the plan is for: the input, with omitted left-turn phases marked onDemand. */
  readonly compiled: CompiledNetwork;
}

export interface LoopPlanOptions {
  readonly alternatives?: number;
  /** Loop id → network detector, from the loops' definitions (`--detectors`); without it ids must be `e1_<lane>`. */
  readonly loops?: ReadonlyMap<string, LoopTarget>;
  /**
   * Lanes greenwave does not model whose links follow its stages (`SumoIntersectionMapping.unmodelledLanes`):
   * their loops' counts over the planned intervals become the flow ratio those stages must serve.
   */
  readonly unmodelled?: readonly UnmodelledLane[];
  /** Loop id → unmodelled lane's `e1_<lane>`, from the loops' definitions; without it ids must be `e1_<lane>`. */
  readonly unmodelledLoops?: ReadonlyMap<string, LoopTarget>;
  /** How the shortlist is checked: greenwave's microsimulator (default, rankBySimulation) or SUMO itself (sumoCheck.ts). */
  readonly rank?: (c: CompiledNetwork, shortlisted: NetworkPlan) => { plan: NetworkPlan; trials: PlanTrial[]; chosen: number };
}

export interface UnmodelledLane {
  readonly intersectionId: string;
  readonly laneId: string;
  /** Stage ids its links are green in. */
  readonly stages: readonly string[];
}

/** The unmodelled lanes of an imported network, for `LoopPlanOptions.unmodelled`. */
export function unmodelledLanesOf(mapping: SumoMapping): UnmodelledLane[] {
  return mapping.intersections.flatMap((ix) => (ix.unmodelledLanes ?? []).map((l) => ({ intersectionId: ix.intersectionId, laneId: l.laneId, stages: l.stages })));
}

export function planFromLoops(c: CompiledNetwork, loopsXml: string, source = 'loops', at?: string, opts: LoopPlanOptions = {}): LoopPlan {
  const topology = detectorTopology(c.network);
  const unmatched = new Set<string>();
  const counts = readLoops(loopsXml, source, topology.detectorIds, opts.loops, unmatched);
  for (const id of opts.unmodelledLoops?.keys() ?? []) unmatched.delete(id);
  const unmatchedLoops = [...unmatched].sort();
  const nD = counts.detectorIds.length;
  let seen = 0;
  for (let d = 0; d < nD; d++) {
    for (let t = 0; t < counts.intervalStartMs.length; t++) {
      if (!Number.isNaN(counts.volumeVeh[t * nD + d]!)) {
        seen++;
        break;
      }
    }
  }
  if (seen === 0) {
    const hint = opts.loops
      ? 'none of its ids is a loop defined on a signalised approach lane in the detector definitions'
      : 'expected ids e1_<laneId>, as written by `greenwave sumo loops`; for loops with other ids, pass the additional file that defines them with --detectors';
    throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: no loop matches a detector of the network (${hint})`);
  }
  const faults = cleanCounts(counts, topology);

  // Demand per compiled detector index.
  let volumes: Float64Array;
  let forInterval: string;
  let basis: string;
  const cleaned = faults.cleaned;
  const last = cleaned.intervalStartMs.length - 1;
  let leftOut: { interval: string; reason: string }[] = [];
  // The intervals planned for (start, ms), for the unmodelled lanes' counts.
  let plannedMs: number[] = [];
  if (at !== undefined) {
    // demandFor predicts intervals inside the file by time of day, and the one right after it when given no time.
    const nextMs = cleaned.intervalStartMs[last]! + cleaned.intervalS * 1000;
    const isNext = formatTimestamp(nextMs).slice(11, 16) === at.padStart(5, '0');
    const demand = demandFor({ counts, faults }, isNext ? undefined : at);
    volumes = demand.volumeVeh;
    forInterval = demand.forInterval;
    basis = demand.basis;
    plannedMs = [...cleaned.intervalStartMs].filter((ms) => formatTimestamp(ms) === forInterval);
  } else {
    const intersectionOf = Int32Array.from(topology.detectors, (d) => d.intersectionIndex);
    const period = analysisPeriod(cleaned, intersectionOf, c.intersectionCount, { startsEmpty: true });
    volumes = period.designVolumeVeh;
    forInterval = formatTimestamp(cleaned.intervalStartMs[period.first]!);
    let phfMin = 1;
    let phfMax = 0;
    for (const f of period.phfByIntersection) {
      phfMin = Math.min(phfMin, f);
      phfMax = Math.max(phfMax, f);
    }
    basis = `peak hour ${spanLabel(cleaned, period.first, period.count)} (${period.count} × ${cleaned.intervalS / 60} min; mean flows; PHF ${phfMin.toFixed(2)}–${phfMax.toFixed(2)})`;
    leftOut = period.leftOut.map((x) => ({ interval: formatTimestamp(cleaned.intervalStartMs[x.index]!), reason: x.reason }));
    plannedMs = Array.from({ length: period.count }, (_, k) => cleaned.intervalStartMs[period.first + k]!);
  }
  const volumeVeh = inCompiledOrder(c, cleaned.detectorIds, volumes);
  const unmodelled = opts.unmodelled && opts.unmodelled.length > 0 ? unmodelledDemand(c, loopsXml, source, opts.unmodelled, opts.unmodelledLoops, plannedMs) : undefined;
  const phaseMinFlowRatio = unmodelled?.flowRatio;
  const left = leftTurnMode(c, volumeVeh, cleaned.intervalS, unmodelled?.onlyStage);
  const shortlisted = planNetwork(left.compiled, volumeVeh, cleaned.intervalS, { alternatives: opts.alternatives ?? DEFAULT_ALTERNATIVES, ...(phaseMinFlowRatio ? { phaseMinFlowRatio } : {}) });
  const { plan, trials, chosen } = (opts.rank ?? rankBySimulation)(left.compiled, shortlisted);
  return { plan, faults, forInterval, basis, intervalS: cleaned.intervalS, volumeVeh, trials, chosen, leftOut, unmatchedLoops, leftTurns: left.decisions, compiled: left.compiled };
}

/**
 * A day plan from a day of loop counts: engine/dayPlan.ts on the loop output
 * (no simulation check: that is `planFromLoops`' job for one period). Called
 * by `greenwave sumo plan --time-of-day`.
 */
export function planTimeOfDay(c: CompiledNetwork, loopsXml: string, source = 'loops', opts: Pick<LoopPlanOptions, 'loops'> & TimeOfDayOptions = {}): { periods: TimeOfDayPlan[]; faults: FaultReport } {
  const topology = detectorTopology(c.network);
  const faults = cleanCounts(readLoops(loopsXml, source, topology.detectorIds, opts.loops), topology);
  return { periods: planDay(c, faults, opts), faults };
}

/** Loop output as counts, its errors prefixed with the file it came from. */
/**
 * Per compiled phase, the flow ratio the unmodelled lanes' counts ask of it (`flowRatio`): each lane's
 * mean flow over the planned intervals ÷ the network's saturation flow per lane, spread evenly over
 * the stages its links follow; the largest lane per phase. Lanes with no count leave nothing. And
 * (`onlyStage`, 1) the phases that are the one stage of a counted lane: omitting such a left-turn
 * stage would leave the lane no green.
 */
function unmodelledDemand(c: CompiledNetwork, loopsXml: string, source: string, lanes: readonly UnmodelledLane[], loops: ReadonlyMap<string, LoopTarget> | undefined, plannedMs: readonly number[]): { flowRatio: Float64Array; onlyStage: Uint8Array } {
  const out = new Float64Array(c.phaseIds.length);
  const onlyStage = new Uint8Array(c.phaseIds.length);
  if (plannedMs.length === 0) return { flowRatio: out, onlyStage };
  const ids = [...new Set(lanes.map((l) => e1DetectorId(l.laneId)))];
  const counts = readLoops(loopsXml, source, ids, loops);
  const nD = ids.length;
  const satVehPerH = c.network.defaults.saturationFlowVehPerHPerLane;
  for (const lane of lanes) {
    const d = ids.indexOf(e1DetectorId(lane.laneId));
    let sum = 0;
    let n = 0;
    for (const ms of plannedMs) {
      const t = Math.round((ms - counts.intervalStartMs[0]!) / (counts.intervalS * 1000));
      const v = t >= 0 && t < counts.intervalStartMs.length ? counts.volumeVeh[t * nD + d]! : Number.NaN;
      if (Number.isNaN(v)) continue;
      sum += v;
      n++;
    }
    const i = c.intersectionIds.indexOf(lane.intersectionId);
    if (n === 0 || i < 0) continue;
    const y = (sum / n) * (3600 / counts.intervalS) / satVehPerH / lane.stages.length;
    for (const stage of lane.stages) {
      const p = phaseIndex(c, i, stage);
      if (p < 0) continue;
      if (y > out[p]!) out[p] = y;
      if (lane.stages.length === 1 && y > 0) onlyStage[p] = 1;
    }
  }
  return { flowRatio: out, onlyStage };
}

function readLoops(xml: string, source: string, detectorIds?: readonly string[], loops?: ReadonlyMap<string, LoopTarget>, unmatched?: Set<string>): DetectorCounts {
  try {
    return readE1Output(xml, detectorIds, loops, unmatched);
  } catch (e: unknown) {
    if (e instanceof GreenwaveError && e.code === ErrorCode.InvalidInput) throw new GreenwaveError(e.code, `${source}: ${e.message}`, e.issues, { cause: e });
    throw e;
  }
}
