/**
 * A second opinion on the planner's choice: the engine's analytic model
 * (TRANSYT-style platoons on the corridors, HCM delay elsewhere) shortlists
 * whole-network plans, and this module runs each in the microsimulator on the
 * demand the loops measured (turns fitted between neighbouring signals) and
 * keeps the one with the least mean delay per trip. This is how traffic
 * engineers use Synchro with SimTraffic: optimise on the model, check in
 * simulation. Called by `greenwave sumo plan` (simulator/sumo/plan.ts) and
 * bench/sim.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { timingPlans, type NetworkPlan } from '../engine/plan.js';
import { Simulation } from './simulation.js';
import { movementFlowsFromCounts } from './demand.js';

export interface PlanTrial {
  /** What the alternative is, from the planner (e.g. "system … at 58 s"). */
  readonly label: string;
  /** The planner's own score, veh·s per hour (lower is better). */
  readonly plannerScore: number;
  /** Mean delay per completed trip in the microsimulator, over the seeds, s. */
  readonly simulatedDelayS: number;
  /** Share of the sampled trips left unfinished (the check in SUMO only; simulator/sumo/sumoCheck.ts). */
  readonly unfinishedShare?: number;
}

export interface RankOptions {
  /** Simulated time per run, s. Default 3600. */
  readonly durationS?: number;
  /** One run per seed, same seeds for every plan (common random numbers). Default [1, 2]. */
  readonly seeds?: readonly number[];
  /** Told after each plan is tried: how many are done, of how many, and what that one lost. */
  readonly progress?: (done: number, total: number, trial: PlanTrial) => void;
}

/**
 * Picks among `plan.alternatives` (planNetwork with `alternatives: k`) by simulation and
 * returns the network plan of the winner (its timing reports rebuilt) with every trial.
 * With no alternatives the plan is returned as it is.
 */
export function rankBySimulation(c: CompiledNetwork, plan: NetworkPlan, opts: RankOptions = {}): { plan: NetworkPlan; trials: PlanTrial[]; chosen: number } {
  if (plan.alternatives.length < 2) return { plan, trials: [], chosen: 0 };
  const durationS = opts.durationS ?? 3600;
  const seeds = opts.seeds ?? [1, 2];
  const flows = movementFlowsFromCounts(c, plan.buffer.laneFlowVehPerH);
  const trials = plan.alternatives.map((alt, k) => {
    let delay = 0;
    for (const seed of seeds) {
      const sim = new Simulation(c, alt.buffer, { movementFlowVehPerH: flows }, { seed, stepS: 1 });
      sim.runUntil(durationS);
      delay += sim.metrics().meanDelayPerVehS;
    }
    const trial = { label: alt.label, plannerScore: Math.round(alt.score), simulatedDelayS: Math.round((delay / seeds.length) * 10) / 10 };
    opts.progress?.(k + 1, plan.alternatives.length, trial);
    return trial;
  });
  let chosen = 0;
  trials.forEach((t, k) => {
    if (t.simulatedDelayS < trials[chosen]!.simulatedDelayS) chosen = k;
  });
  return { plan: withAlternative(c, plan, plan.alternatives[chosen]!), trials, chosen };
}

/** The network plan of one of `plan`'s alternatives (its timing reports rebuilt), the shortlist and splits kept. */
export function withAlternative(c: CompiledNetwork, plan: NetworkPlan, alt: NetworkPlan['alternatives'][number]): NetworkPlan {
  return { buffer: alt.buffer, plans: timingPlans(c, alt.buffer), corridors: alt.corridors, alternatives: plan.alternatives, splits: plan.splits };
}
