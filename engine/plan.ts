/**
 * The engine's planning entry point: runs the timing core over a compiled
 * network, passes every intersection's plan through the safety validator, and
 * turns the dense results into `TimingPlan` objects for people and files.
 * Called by the CLI and (later) the service; the benchmark calls the core
 * directly to measure it without the object materialization.
 */
import type { CompiledNetwork } from './network/compile.js';
import { IssueList, UnsafePlanError } from './errors.js';
import { MOVEMENT_COUNT, TURN_COUNT, movementId } from './network/geometry.js';
import { createPlanBuffer, laneFlowsFromDetectors, PlanFlag, PlanScratch, planIntersection, type PlanBuffer } from './timing/planner.js';
import { validateIntersectionPlan } from './safety/validator.js';
import { planCorridors, type CorridorAlternative, type CorridorPlan, type CorridorSplit } from './corridor/corridorPlan.js';
import { round1, round3 } from './numeric.js';
import { APPROACH_IDS } from './network/schema.js';
import { approachStorageM, backOfQueue95, QUEUE_SPACING_M, type BackOfQueue } from './timing/queue.js';

/** HCM signalized level of service by control delay, s/veh (HCM 2010 exhibit 18-4); v/c > 1 is F. */
export type LevelOfService = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';
export function levelOfService(delayS: number, vc: number): LevelOfService {
  if (vc > 1 || !(delayS <= 80)) return 'F';
  if (delayS <= 10) return 'A';
  if (delayS <= 20) return 'B';
  if (delayS <= 35) return 'C';
  if (delayS <= 55) return 'D';
  return 'E';
}

export interface PhaseTiming {
  readonly id: string;
  readonly ring: number;
  readonly barrier: number;
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
  readonly minGreenS: number;
  readonly flowRatio: number;
  /** Runs only when bus priority inserts it; plans skip it (all times 0). */
  readonly onDemand: boolean;
}

export interface MovementPerformance {
  readonly id: string;
  readonly flowVehPerH: number;
  readonly capacityVehPerH: number;
  readonly vc: number;
  readonly delaySPerVeh: number;
  readonly los: LevelOfService;
  /**
   * 95th-percentile back of queue in the movement's worst lane, m (engine/timing/queue.ts); null
   * only when the demand exceeds the saturation flow itself.
   */
  readonly queue95M: number | null;
  /** The 95th-percentile cycle brings more than capacity: queue95M is the maximum after two cycles and may be longer. */
  readonly queue95OverCapacity: boolean;
  /** Storage of the approach, m: the length of the link from the upstream signal; null for an approach fed from outside the network. */
  readonly storageM: number | null;
}

export interface TimingPlan {
  readonly intersectionId: string;
  readonly cycleS: number;
  readonly offsetS: number;
  readonly criticalFlowRatio: number;
  readonly lostTimeS: number;
  readonly criticalVc: number;
  readonly delaySPerVeh: number;
  readonly los: LevelOfService;
  readonly oversaturated: boolean;
  /** Phases in run order (barrier, ring, position). */
  readonly phases: readonly PhaseTiming[];
  readonly movements: readonly MovementPerformance[];
}

/**
 * Plans every intersection from the lane flows already in `buffer.laneFlowVehPerH`
 * and validates each plan. Throws UnsafePlanError (never returns an unsafe plan).
 */
export function planAndValidate(c: CompiledNetwork, buffer: PlanBuffer, scratch: PlanScratch = new PlanScratch()): void {
  for (let i = 0; i < c.intersectionCount; i++) {
    planIntersection(c, i, buffer, scratch);
    if (!validateIntersectionPlan(c, i, buffer)) {
      const issues = new IssueList();
      validateIntersectionPlan(c, i, buffer, issues);
      throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
    }
  }
}


/** The reporting objects of every intersection, in compiled order. */
export function timingPlans(c: CompiledNetwork, buffer: PlanBuffer): TimingPlan[] {
  const plans: TimingPlan[] = [];
  for (let i = 0; i < c.intersectionCount; i++) plans.push(toTimingPlan(c, buffer, i));
  return plans;
}

/** Builds the reporting object for intersection i from the dense results. */
export function toTimingPlan(c: CompiledNetwork, buffer: PlanBuffer, i: number): TimingPlan {
  const phases: PhaseTiming[] = [];
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    phases.push({
      id: c.phaseIds[p]!,
      ring: c.phaseRing[p]! + 1,
      barrier: c.phaseBarrier[p]! + 1,
      startS: buffer.phaseStartS[p]!,
      greenS: buffer.phaseGreenS[p]!,
      yellowS: buffer.phaseYellowS[p]!,
      allRedS: buffer.phaseAllRedS[p]!,
      minGreenS: c.phaseMinGreenS[p]!,
      flowRatio: round3(buffer.phaseFlowRatio[p]!),
      onDemand: c.phaseOnDemand[p] === 1,
    });
  }
  // Shared lanes split their flow equally among the movements they carry.
  const flow = new Float64Array(MOVEMENT_COUNT);
  const cap = new Float64Array(MOVEMENT_COUNT);
  const delayFlow = new Float64Array(MOVEMENT_COUNT);
  const queueVeh = new Float64Array(MOVEMENT_COUNT);
  let overCapacity = 0;
  const laneQueue: BackOfQueue = { veh: 0, overCapacity: false };
  const cycleS = buffer.cycleS[i]!;
  let present = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
    const mask = c.laneMovementMask[l]!;
    let count = 0;
    for (let m = 0; m < MOVEMENT_COUNT; m++) if (mask & (1 << m)) count++;
    // The lane's queue holds all its movements' vehicles; each movement reports its worst lane.
    backOfQueue95(buffer.laneFlowVehPerH[l]!, c.laneSatFlowVehPerH[l]!, buffer.laneCapacityVehPerH[l]!, cycleS, laneQueue);
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      if (!(mask & (1 << m))) continue;
      present |= 1 << m;
      flow[m] = flow[m]! + buffer.laneFlowVehPerH[l]! / count;
      cap[m] = cap[m]! + buffer.laneCapacityVehPerH[l]! / count;
      delayFlow[m] = delayFlow[m]! + (buffer.laneDelayS[l]! * buffer.laneFlowVehPerH[l]!) / count;
      queueVeh[m] = Math.max(queueVeh[m]!, laneQueue.veh);
      if (laneQueue.overCapacity) overCapacity |= 1 << m;
    }
  }
  const storage = approachStorageM(c.network, c.intersectionIds[i]!);
  const movements: MovementPerformance[] = [];
  for (let m = 0; m < MOVEMENT_COUNT; m++) {
    if (!(present & (1 << m))) continue;
    const v = flow[m]!;
    const vc = cap[m]! > 0 ? v / cap[m]! : 0;
    const delay = v > 0 ? delayFlow[m]! / v : 0;
    const queueM = queueVeh[m]! * QUEUE_SPACING_M;
    movements.push({
      id: movementId(m),
      flowVehPerH: Math.round(v),
      capacityVehPerH: Math.round(cap[m]!),
      vc: round3(vc),
      delaySPerVeh: round1(delay),
      los: levelOfService(delay, vc),
      queue95M: Number.isFinite(queueM) ? Math.round(queueM) : null,
      queue95OverCapacity: (overCapacity & (1 << m)) !== 0,
      storageM: storage.get(APPROACH_IDS[Math.floor(m / TURN_COUNT)]!) ?? null,
    });
  }
  const delay = buffer.delaySPerVeh[i]!;
  return {
    intersectionId: c.intersectionIds[i]!,
    cycleS: buffer.cycleS[i]!,
    offsetS: buffer.offsetS[i]!,
    criticalFlowRatio: round3(buffer.criticalFlowRatio[i]!),
    lostTimeS: round1(buffer.lostTimeS[i]!),
    criticalVc: round3(buffer.criticalVc[i]!),
    delaySPerVeh: round1(delay),
    los: levelOfService(delay, buffer.criticalVc[i]!),
    oversaturated: (buffer.flags[i]! & PlanFlag.Oversaturated) !== 0,
    phases,
    movements,
  };
}


export interface NetworkPlan {
  readonly buffer: PlanBuffer;
  readonly plans: TimingPlan[];
  readonly corridors: CorridorPlan[];
  /**
   * With `alternatives: k`: the best plan and up to k runners-up by the planner's score, each
   * whole and validated on its own buffer, for a second opinion (a microsimulation) to choose.
   */
  readonly alternatives: readonly CorridorAlternative[];
  /** Corridors split into subsystems where coordination does not pay, with the reasons (engine/corridor/partition.ts). */
  readonly splits: readonly CorridorSplit[];
}

/**
 * The whole planning step for one interval: lane flows from detector
 * volumes, isolated plans for every signal, then corridor coordination
 * (common cycle, offsets). Every plan has passed the safety validator.
 */
export function planNetwork(c: CompiledNetwork, volumeVeh: Float64Array, intervalS: number, opts: { coordinate?: boolean; cycleLimitMinS?: Float64Array; cycleLimitMaxS?: Float64Array; alternatives?: number; phaseMinFlowRatio?: Float64Array } = {}): NetworkPlan {
  const buffer = createPlanBuffer(c);
  const scratch = new PlanScratch();
  laneFlowsFromDetectors(c, volumeVeh, intervalS, buffer);
  if (opts.phaseMinFlowRatio) buffer.phaseMinFlowRatio.set(opts.phaseMinFlowRatio);
  if (opts.cycleLimitMinS) buffer.cycleLimitMinS.set(opts.cycleLimitMinS);
  if (opts.cycleLimitMaxS) buffer.cycleLimitMaxS.set(opts.cycleLimitMaxS);
  planAndValidate(c, buffer, scratch);
  const alternatives: CorridorAlternative[] = [];
  const splits: CorridorSplit[] = [];
  const corridors = opts.coordinate === false ? [] : planCorridors(c, buffer, scratch, opts.alternatives ?? 0, alternatives, splits);
  return { buffer, plans: timingPlans(c, buffer), corridors, alternatives, splits };
}
