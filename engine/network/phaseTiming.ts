/**
 * Per-phase facts fixed by geometry and policy: the clearance intervals each
 * phase needs, its minimum green once pedestrians are counted, and whether
 * two phases may ever show green at the same time. Shared by network
 * validation and compilation so that the rules exist once. Every number is
 * clamped to the absolute floors (engine/safety/floors.ts): validation has
 * refused looser files already, and a network built without it gets no
 * looser timing either.
 */
import type { Defaults, Intersection, Phase } from './schema.js';
import { compatible, legIndex, movementId, movementUsesLeg, parseMovementId } from './geometry.js';
import { ceilStep, iteAllRedS, iteYellowS, kphToMps, pedestrianClearanceS } from '../timing/clearance.js';
import { SAFETY_FLOORS as F } from '../safety/floors.js';

export function allPhases(ix: Intersection): readonly Phase[] {
  return ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
}

export interface Green {
  readonly index: number;
  readonly permitted: boolean;
}

/** The movements a phase greens; unknown names are skipped (validation reports them). */
export function phaseGreens(ph: Phase): Green[] {
  const out: Green[] = [];
  for (const name of ph.protected) {
    const ref = parseMovementId(name);
    if (ref) out.push({ index: ref.index, permitted: false });
  }
  for (const name of ph.permitted) {
    const ref = parseMovementId(name);
    if (ref) out.push({ index: ref.index, permitted: true });
  }
  return out;
}

/**
 * A phase's pedestrian intervals, s: walk (at least the floor) and flashing don't-walk (the
 * clearance for the longest crosswalk it serves). Both 0 for a phase without pedestrians.
 */
export function pedestrianIntervalsS(ph: Phase, ix: Intersection, d: Defaults): { walkS: number; clearanceS: number } {
  if (!ph.pedestrian) return { walkS: 0, clearanceS: 0 };
  let longestM = 0;
  for (const leg of ph.pedestrian.crosswalks) {
    const cw = ix.crosswalks.find((c) => c.leg === leg);
    if (cw) longestM = Math.max(longestM, cw.lengthM);
  }
  return { walkS: Math.max(ph.pedestrian.walkS, F.minWalkS), clearanceS: pedestrianClearanceS(longestM, Math.min(d.pedestrianSpeedMps, F.maxPedestrianSpeedMps)) };
}

/** Walk plus pedestrian clearance for the longest crosswalk the phase serves, on the timing step, s. */
export function pedestrianTimeS(ph: Phase, ix: Intersection, d: Defaults): number {
  if (!ph.pedestrian) return 0;
  const { walkS, clearanceS } = pedestrianIntervalsS(ph, ix, d);
  return ceilStep(walkS + clearanceS, d.timingStepS);
}

/** The least green the phase may ever show: its min green, or the pedestrian time if longer. */
export function phaseMinGreenS(ph: Phase, ix: Intersection, d: Defaults): number {
  return Math.max(ceilStep(Math.max(ph.minGreenS, F.minVehicleGreenS), d.timingStepS), pedestrianTimeS(ph, ix, d));
}

export interface PhaseClearances {
  readonly yellowS: Float64Array;
  readonly allRedS: Float64Array;
}

/**
 * Yellow and all-red per phase from the ITE formulas over every movement the
 * phase greens (the worst approach decides). Yellow is capped at the policy
 * maximum; what the formula asks beyond it moves into all-red, so the total
 * clearance never falls short of the formula.
 */
export function phaseClearances(ix: Intersection, d: Defaults): PhaseClearances {
  const phases = allPhases(ix);
  const yellowS = new Float64Array(phases.length);
  const allRedS = new Float64Array(phases.length);
  const minYellowS = Math.max(d.minYellowS, F.minYellowS);
  const maxYellowS = Math.max(d.maxYellowS, minYellowS);
  const reactionS = Math.max(d.perceptionReactionS, F.minPerceptionReactionS);
  const decelMps2 = Math.min(d.decelerationMps2, F.maxDecelerationMps2);
  const vehicleLengthM = Math.max(d.vehicleLengthM, F.minVehicleLengthM);
  phases.forEach((ph, p) => {
    let y = minYellowS;
    let r = Math.max(d.minAllRedS, 0);
    for (const g of phaseGreens(ph)) {
      const ap = ix.approaches.find((a) => a.id === movementId(g.index).slice(0, 2));
      if (!ap) continue;
      const v = kphToMps(ap.speedKph);
      const yIte = iteYellowS(v, ap.gradePercent, reactionS, decelMps2);
      const yPolicy = Math.min(Math.max(yIte, minYellowS), maxYellowS);
      y = Math.max(y, yPolicy);
      r = Math.max(r, iteAllRedS(ix.widthM, vehicleLengthM, v) + Math.max(0, yIte - maxYellowS));
    }
    yellowS[p] = ceilStep(y, d.timingStepS);
    allRedS[p] = ceilStep(r, d.timingStepS);
  });
  return { yellowS, allRedS };
}

/**
 * Why two phases must never show green together, or undefined if they may.
 * Covers vehicle-vehicle conflicts and pedestrians against protected traffic.
 */
export function phaseConflictReason(a: Phase, b: Phase, table: Uint8Array): string | undefined {
  const ga = phaseGreens(a);
  const gb = phaseGreens(b);
  for (const x of ga) {
    for (const y of gb) {
      if (!compatible(table, x.index, x.permitted, y.index, y.permitted)) {
        return `conflicting movements "${movementId(x.index)}" and "${movementId(y.index)}"`;
      }
    }
  }
  const pedVsTraffic = (walk: Phase, traffic: readonly Green[]): string | undefined => {
    for (const leg of walk.pedestrian?.crosswalks ?? []) {
      for (const g of traffic) {
        if (!g.permitted && movementUsesLeg(g.index, legIndex(leg))) return `pedestrians on the ${leg} crosswalk and protected movement "${movementId(g.index)}"`;
      }
    }
    return undefined;
  };
  return pedVsTraffic(a, gb) ?? pedVsTraffic(b, ga);
}
