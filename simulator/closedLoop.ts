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
import type { SignalHeads } from './signals.js';
import { mod, round1 } from '../engine/numeric.js';
import { signalSystemOf } from '../engine/corridor/crossing.js';

export interface ClosedLoopOptions extends SimOptions {
  /** Seconds between re-plans (also the detector interval). */
  readonly replanEveryS?: number;
  /** Exponential smoothing weight of the newest counts (1 = no smoothing). */
  readonly smoothing?: number;
  /** Largest cycle change per re-plan, s. */
  readonly maxCycleStepS?: number;
  /** Shift each new plan's offsets (per corridor, as a whole) to need the least transition (default on). */
  readonly alignOffsets?: boolean;
  /** Smallest cycle change that justifies switching plans, s. */
  readonly minCycleChangeS?: number;
  /**
   * Traffic-responsive plan selection: at each re-plan, candidate plans (the engine's plan
   * for the smoothed counts scaled by each factor, and keeping the running plan) are tried
   * on a fork of the simulation for `horizonS`, and the one with the least delay is applied.
   */
  readonly lookahead?: {
    readonly horizonS: number;
    readonly scalings: readonly number[];
    /** A plan library prepared offline (e.g. for typical demand levels), also tried, as TRPS systems do. */
    readonly library?: readonly PlanBuffer[];
    /** A candidate must beat keeping the running plan by this share: one random future is a noisy judge. */
    readonly switchMargin?: number;
    /** Random futures each candidate is judged on (common to all candidates). */
    readonly replications?: number;
    /** Runners-up of each engine plan (planNetwork `alternatives`) also tried. Default 0. */
    readonly alternatives?: number;
  };
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
  // One spare simulation to fork into for look-ahead, allocated once.
  const branch = opts.lookahead ? new Simulation(c, initial, demand, { ...opts, detectorIntervalS: every }) : undefined;
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
    let next: PlanBuffer | undefined;
    if (opts.lookahead) {
      next = chooseByLookahead(c, sim, demand, opts, smoothed, every, limMin, limMax, branch);
      if (!next) continue; // keeping the running plan wins
    } else {
      next = planNetwork(c, smoothed, every, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax }).buffer;
      // Every plan change costs a transition (offset correction over a cycle or two), so small
      // changes are not worth it: switch only when some cycle moves by at least `minCycleChangeS`.
      let worth = false;
      for (let i = 0; i < c.intersectionCount; i++) if (Math.abs(next.cycleS[i]! - lastCycle[i]!) >= minChange) worth = true;
      if (!worth) continue;
    }
    if (opts.alignOffsets !== false) alignOffsets(c, next, sim.signals);
    for (let i = 0; i < c.intersectionCount; i++) {
      sim.signals.setPlan(next, i);
      lastCycle[i] = next.cycleS[i]!;
    }
    cycleHistory.push(Array.from(lastCycle));
  }
  sim.runUntil(durationS);
  return { metrics: sim.metrics(), replans, planSwitches: sim.signals.planSwitches, substitutions, cycleHistory };
}

/**
 * Shifts a new plan's offsets so that switching to it needs as little offset
 * correction as possible. Bands depend only on offset differences within a
 * corridor (and crossing progression on those within a system of corridors),
 * so each system may move as a whole: it moves by the shift that best lines
 * its cycle starts up with where the running cycles end. A signal
 * on no corridor simply starts its new cycle where the old one ends.
 */
export function alignOffsets(c: CompiledNetwork, plan: PlanBuffer, heads: SignalHeads): void {
  // Corridors that run as one system (crossing progression) move together.
  const member = signalSystemOf(c);
  const systems = member.reduce((n, g) => Math.max(n, g + 1), 0);
  // A signal running fully actuated has no boundary to meet (its cycle floats until its rings are
  // done): its offset is left as planned and it weighs nothing in its system's shift.
  const free = (i: number): boolean => !Number.isFinite(heads.nextBoundaryS(i));
  const lateBy = (i: number, shift: number): number => {
    if (free(i)) return 0;
    const cyc = plan.cycleS[i]!;
    const late = mod(heads.nextBoundaryS(i) - (plan.offsetS[i]! + shift), cyc);
    return Math.min(late, cyc - late);
  };
  for (let k = -1; k < systems; k++) {
    const members: number[] = [];
    for (let i = 0; i < c.intersectionCount; i++) if (member[i] === k) members.push(i);
    if (members.length === 0) continue;
    if (k === -1) {
      for (const i of members) if (!free(i)) plan.offsetS[i] = round1(mod(heads.nextBoundaryS(i), plan.cycleS[i]!));
      continue;
    }
    // One shift for the whole system, searched on a 0.1 s grid over the longest cycle.
    const span = Math.max(...members.map((i) => plan.cycleS[i]!));
    let best = 0;
    let bestCost = Infinity;
    for (let d = 0; d < span; d += 0.1) {
      let cost = 0;
      for (const i of members) cost += lateBy(i, d);
      if (cost < bestCost - 1e-9) {
        bestCost = cost;
        best = d;
      }
    }
    for (const i of members) plan.offsetS[i] = round1(mod(plan.offsetS[i]! + best, plan.cycleS[i]!)) % plan.cycleS[i]!;
  }
}


/** The same simulation with one fixed plan throughout, for comparison. */
export function runFixed(c: CompiledNetwork, plan: PlanBuffer, demand: Demand, durationS: number, opts: SimOptions): SimMetrics {
  const sim = new Simulation(c, plan, demand, opts);
  sim.runUntil(durationS);
  return sim.metrics();
}

/** Tries each candidate plan on a fork of `sim`; returns the best, or undefined to keep the running plan. */
function chooseByLookahead(
  c: CompiledNetwork,
  sim: Simulation,
  _demand: Demand,
  opts: ClosedLoopOptions,
  smoothed: Float64Array,
  intervalS: number,
  limMin: Float64Array,
  limMax: Float64Array,
  branch: Simulation | undefined,
): PlanBuffer | undefined {
  const look = opts.lookahead!;
  const fork = branch!;
  const until = sim.tS + look.horizonS;
  const start = sim.accumulatedDelayS();
  const reps = look.replications ?? 1;
  // The same random futures for every candidate (common random numbers), so differences are the plans'.
  const judge = (plan: PlanBuffer | undefined): number => {
    let total = 0;
    for (let r = 0; r < reps; r++) {
      fork.copyStateFrom(sim);
      if (r > 0) fork.reseed(sim.randomState() ^ Math.imul(r, 0x9e3779b1));
      if (plan) {
        if (opts.alignOffsets !== false) alignOffsets(c, plan, fork.signals);
        for (let i = 0; i < c.intersectionCount; i++) fork.signals.setPlan(plan, i);
      }
      fork.runUntil(until);
      total += fork.accumulatedDelayS() - start;
    }
    return total / reps;
  };
  let best: PlanBuffer | undefined;
  let bestDelay = judge(undefined) * (1 - (look.switchMargin ?? 0));
  const candidates = look.scalings.flatMap((k) => {
    const p = planNetwork(c, smoothed.map((v) => v * k), intervalS, { cycleLimitMinS: limMin, cycleLimitMaxS: limMax, alternatives: look.alternatives ?? 0 });
    return p.alternatives.length > 0 ? p.alternatives.map((a) => a.buffer) : [p.buffer];
  });
  candidates.push(...(look.library ?? []));
  for (const plan of candidates) {
    const delay = judge(plan);
    if (delay < bestDelay) {
      bestDelay = delay;
      best = plan;
    }
  }
  return best;
}
