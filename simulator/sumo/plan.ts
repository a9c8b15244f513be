/**
 * Plans every signal of an imported SUMO network from SUMO induction-loop
 * output: loops → detector counts → fault cleaning → demand (the last full
 * interval as observed, or a predicted interval with `at`) → the engine's
 * planNetwork (isolated plans, then the corridors it found, with runners-up)
 * → the microsimulator's check of the shortlist (simulator/rankPlans.ts). Called by
 * `greenwave sumo plan` and by bench/sim.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { detectorTopology, cleanCounts, type FaultReport } from '../../engine/counts/faults.js';
import { formatTimestamp } from '../../engine/counts/csv.js';
import { demandFor } from '../../engine/demand.js';
import { planNetwork, type NetworkPlan } from '../../engine/plan.js';
import { readE1Output } from './e1.js';
import { rankBySimulation, type PlanTrial } from '../rankPlans.js';

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
}

export function planFromLoops(c: CompiledNetwork, loopsXml: string, source = 'loops', at?: string, opts: { alternatives?: number } = {}): LoopPlan {
  const topology = detectorTopology(c.network);
  let counts;
  try {
    counts = readE1Output(loopsXml, topology.detectorIds);
  } catch (e: unknown) {
    if (e instanceof GreenwaveError && e.code === ErrorCode.InvalidInput) throw new GreenwaveError(e.code, `${source}: ${e.message}`, e.issues, { cause: e });
    throw e;
  }
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
  if (seen === 0) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: no loop matches a detector of the network (expected ids e1_<laneId>, as written by \`greenwave sumo loops\`)`);
  const faults = cleanCounts(counts, topology);

  // Demand per compiled detector index.
  let volumes: Float64Array;
  let forInterval: string;
  let basis: string;
  const cleaned = faults.cleaned;
  const last = cleaned.intervalStartMs.length - 1;
  if (at !== undefined) {
    // demandFor predicts intervals inside the file by time of day, and the one right after it when given no time.
    const nextMs = cleaned.intervalStartMs[last]! + cleaned.intervalS * 1000;
    const isNext = formatTimestamp(nextMs).slice(11, 16) === at.padStart(5, '0');
    const demand = demandFor({ counts, faults }, isNext ? undefined : at);
    volumes = demand.volumeVeh;
    forInterval = demand.forInterval;
    basis = demand.basis;
  } else {
    volumes = cleaned.volumeVeh.slice(last * nD, (last + 1) * nD);
    forInterval = formatTimestamp(cleaned.intervalStartMs[last]!);
    basis = 'observed (last full interval)';
  }
  const byId = new Map(cleaned.detectorIds.map((id, k) => [id, volumes[k]!]));
  const volumeVeh = Float64Array.from(c.detectorIds, (id) => byId.get(id) ?? 0);
  const shortlisted = planNetwork(c, volumeVeh, cleaned.intervalS, { alternatives: opts.alternatives ?? DEFAULT_ALTERNATIVES });
  const { plan, trials, chosen } = rankBySimulation(c, shortlisted);
  return { plan, faults, forInterval, basis, intervalS: cleaned.intervalS, volumeVeh, trials, chosen };
}
