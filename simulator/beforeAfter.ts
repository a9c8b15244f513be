/**
 * Before and after: two plans of one network run in the microsimulator on the
 * same demand (the loops' lane flows, turns fitted between neighbouring
 * signals) with the same seeds (common random numbers), so that the
 * difference is the plans' and not the dice's. The plan lifecycle's review
 * (service/lifecycle/, through service/reviewWorker.ts) reports it beside the
 * diff; the numbers are our simulator's (see README "Not finished" for where
 * it agrees with SUMO).
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { Simulation } from './simulation.js';
import { movementFlowsFromCounts } from './demand.js';

export interface SimulatedPerformance {
  /** Mean delay per completed trip, s. */
  readonly meanDelayS: number;
  readonly stopsPerVeh: number;
  /** Trips completed per hour of simulated time. */
  readonly throughputVehPerH: number;
  /** Per intersection (dense order): mean approach delay of the vehicles that crossed it, s. */
  readonly intersectionDelayS: Float64Array;
}

export interface BeforeAfterOptions {
  /** Simulated time per run, s (default 1800). */
  readonly durationS?: number;
  /** Default [1, 2]. */
  readonly seeds?: readonly number[];
}

/** Runs `plan` on the demand of `demand` (a plan buffer holding the lane flows) over the seeds and averages. */
export function simulatePlan(c: CompiledNetwork, plan: PlanBuffer, demand: PlanBuffer, opts: BeforeAfterOptions = {}): SimulatedPerformance {
  const durationS = opts.durationS ?? 1800;
  const seeds = opts.seeds ?? [1, 2];
  const flows = movementFlowsFromCounts(c, demand.laneFlowVehPerH);
  let delay = 0;
  let stops = 0;
  let completed = 0;
  const perIx = new Float64Array(c.intersectionCount);
  for (const seed of seeds) {
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed, stepS: 1 });
    sim.runUntil(durationS);
    const m = sim.metrics();
    delay += m.meanDelayPerVehS;
    stops += m.stopsPerVeh;
    completed += m.vehiclesCompleted;
    m.intersections.forEach((x, i) => {
      perIx[i] = perIx[i]! + x.meanDelayS;
    });
  }
  const k = seeds.length;
  for (let i = 0; i < perIx.length; i++) perIx[i] = perIx[i]! / k;
  return { meanDelayS: delay / k, stopsPerVeh: stops / k, throughputVehPerH: (completed / k) * (3600 / durationS), intersectionDelayS: perIx };
}
