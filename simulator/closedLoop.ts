/**
 * Closed-loop adaptive control in the simulator, the way SCATS-class systems
 * run: every `replanEveryS` the emulated loop counts go through the engine's
 * own pipeline (fault detection and substitution), are smoothed, and the
 * engine re-plans (splits, cycle, corridor offsets) with the cycle allowed to
 * move only a bounded step per re-plan. The new plans reach the signal heads
 * through the controller transition rules (cycle boundary, shortway offset
 * correction, validator). Called by bench/sim and the tests.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { cleanCounts, detectorTopology, type DetectorTopology } from '../engine/counts/faults.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { Simulation, type Demand, type SimMetrics, type SimOptions } from './simulation.js';

export interface ClosedLoopOptions extends SimOptions {
  /** Seconds between re-plans (also the detector interval). */
  readonly replanEveryS?: number;
  /** Exponential smoothing weight of the newest counts (1 = no smoothing). */
  readonly smoothing?: number;
  /** Largest cycle change per re-plan, s. */
  readonly maxCycleStepS?: number;
  /** Smallest cycle change that justifies switching plans, s. */
  readonly minCycleChangeS?: number;
  /** Detectors failed for the whole run, by compiled index, with their fault. */
  readonly faults?: ReadonlyArray<{ detector: number; fault: 'dead' | 'stuckOn' | 'chatter' }>;
}

export interface ClosedLoopResult {
  readonly metrics: SimMetrics;
  readonly replans: number;
  readonly planSwitches: number;
  readonly substitutions: number;
  readonly cycleHistory: number[][];
}

/** Runs the simulation for `durationS` with the engine re-planning from the simulated loops. */
export function runClosedLoop(c: CompiledNetwork, initial: PlanBuffer, demand: Demand, durationS: number, opts: ClosedLoopOptions): ClosedLoopResult {
  const every = opts.replanEveryS ?? 180;
  const alpha = opts.smoothing ?? 0.6;
  const step = opts.maxCycleStepS ?? 15;
  const minChange = opts.minCycleChangeS ?? 8;
  const sim = new Simulation(c, initial, demand, { ...opts, detectorIntervalS: every });
  for (const f of opts.faults ?? []) sim.injectFault(f.detector, f.fault);
  const topology: DetectorTopology = detectorTopology(c.network);
  const nd = c.detectorIds.length;
  const smoothed = new Float64Array(nd);
  let primed = false;
  const lastCycle = Float64Array.from(initial.cycleS);
  const limMin = new Float64Array(c.intersectionCount);
  const limMax = new Float64Array(c.intersectionCount);
  let replans = 0;
  let substitutions = 0;
  const cycleHistory: number[][] = [Array.from(lastCycle)];
  for (let t = every; t <= durationS + 1e-9; t += every) {
    sim.runUntil(t);
    if (t >= durationS) break;
    // The engine sees the loops as a controller reports them: all intervals so far, faults and all.
    const report = cleanCounts(sim.detectorCounts(), topology);
    substitutions += report.substitutions.filter((s) => s.intervalStartMs === report.cleaned.intervalStartMs[report.cleaned.intervalStartMs.length - 1]).length;
    const last = report.cleaned.volumeVeh.subarray((report.cleaned.intervalStartMs.length - 1) * nd);
    for (let d = 0; d < nd; d++) smoothed[d] = primed ? alpha * last[d]! + (1 - alpha) * smoothed[d]! : last[d]!;
    primed = true;
    replans++;
    for (let i = 0; i < c.intersectionCount; i++) {
      limMin[i] = lastCycle[i]! - step;
      limMax[i] = lastCycle[i]! + step;
    }
    const { buffer } = planNetwork(c, smoothed, every, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax });
    // Every plan change costs a transition (offset correction over a cycle or two), so small
    // changes are not worth it: switch only when some cycle moves by at least `minCycleChangeS`.
    let worth = false;
    for (let i = 0; i < c.intersectionCount; i++) if (Math.abs(buffer.cycleS[i]! - lastCycle[i]!) >= minChange) worth = true;
    if (!worth) continue;
    for (let i = 0; i < c.intersectionCount; i++) {
      sim.signals.setPlan(buffer, i);
      lastCycle[i] = buffer.cycleS[i]!;
    }
    cycleHistory.push(Array.from(lastCycle));
  }
  sim.runUntil(durationS);
  return { metrics: sim.metrics(), replans, planSwitches: sim.signals.planSwitches, substitutions, cycleHistory };
}

/** The same simulation with one fixed plan throughout, for comparison. */
export function runFixed(c: CompiledNetwork, plan: PlanBuffer, demand: Demand, durationS: number, opts: SimOptions): SimMetrics {
  const sim = new Simulation(c, plan, demand, opts);
  sim.runUntil(durationS);
  return sim.metrics();
}
