/**
 * Compiles a validated network into dense structure-of-arrays form for the hot
 * timing core and the safety validator: string ids become integer indices,
 * geometry becomes fixed clearances, saturation flows and phase conflict masks.
 * Called once per network load; everything per-plan runs on these arrays.
 *
 * Phases are stored per intersection ordered by (barrier, ring, position), so
 * the planner can walk rings without indirection. Stage lists compile to one
 * ring with one barrier per stage.
 *
 * Timing is clamped to the absolute floors (engine/safety/floors.ts) here too,
 * so a network that skipped validation still compiles to no looser numbers:
 * yellows, minimum greens and pedestrian times at or above the floors (in
 * phaseTiming.ts), max cycles whole seconds at most 300 s, and no max green
 * longer than the max cycle leaves after the phase's own clearances.
 */
import type { Defaults, Lane, Network, Phase } from './schema.js';
import { APPROACH_IDS, TURNS } from './schema.js';
import { buildConflictTable, entryLeg, movementIndex, parseMovementId } from './geometry.js';
import { allPhases, pedestrianTimeS, phaseClearances, phaseConflictReason, phaseGreens, phaseMinGreenS } from './phaseTiming.js';
import { SAFETY_FLOORS, clampMaxCycleS } from '../safety/floors.js';
import { ceilStep } from '../timing/clearance.js';
import { MAX_PHASES_PER_INTERSECTION, ringStructure } from './validate.js';
import { GreenwaveError, ErrorCode } from '../errors.js';

export const DetectorKind = { StopLine: 0, Advance: 1 } as const;

/** Saturation-flow adjustment for a lane's turn (HCM 2010 exhibit 18-13, exclusive lanes). */
const TURN_FACTOR: Record<string, number> = { L: 0.95, T: 1.0, R: 0.85, U: 0.8 };

export interface CompiledNetwork {
  readonly network: Network;
  readonly intersectionCount: number;
  readonly intersectionIds: readonly string[];
  /** Per intersection: [start, end) ranges into the phase and lane arrays. */
  readonly phaseStart: Uint32Array;
  readonly laneStart: Uint32Array;
  readonly barrierCount: Uint8Array;
  readonly ringCount: Uint8Array;
  readonly minCycleS: Float64Array;
  readonly maxCycleS: Float64Array;
  readonly oversaturationY: Float64Array;
  readonly targetDegreeOfSaturation: Float64Array;

  /** Per phase (global index). */
  readonly phaseIds: readonly string[];
  /** Index of the phase in the file's own list, for reporting. */
  readonly phaseFileIndex: Uint16Array;
  readonly phaseBarrier: Uint8Array;
  readonly phaseRing: Uint8Array;
  readonly phaseMinGreenS: Float64Array;
  readonly phaseMaxGreenS: Float64Array;
  /** Passage (gap) time of actuated operation, s. */
  readonly phasePassageS: Float64Array;
  /**
   * Not the walk + clearance time itself: the phase's minimum green (step-rounded) when its
   * pedestrians are what set that minimum, else 0. The validator and TSP read it as the green a
   * phase with a crossing may never be cut below.
   */
  readonly phasePedestrianS: Float64Array;
  readonly phaseYellowS: Float64Array;
  readonly phaseAllRedS: Float64Array;
  /** 1 for a phase that runs only when called (bus priority inserts it); plans skip it otherwise. */
  readonly phaseOnDemand: Uint8Array;
  /** Bit j set: this phase and local phase j must never be green together (bit self = unsafe phase). */
  readonly phaseConflictMask: Uint32Array;
  /** Bit per movement index (approach*4+turn) the phase protects / permits. */
  readonly phaseProtectedMask: Uint16Array;
  readonly phasePermittedMask: Uint16Array;

  /** Per lane (global index). */
  readonly laneIds: readonly string[];
  readonly laneSatFlowVehPerH: Float64Array;
  /** Global index of the phase that serves the lane's demand, -1 if never green. */
  readonly lanePhase: Int32Array;
  /** 1 when the lane only ever moves permitted (it yields to the opposing flow). */
  readonly lanePermittedOnly: Uint8Array;
  /** Bit per movement index (approach*4+turn) that the lane carries. */
  readonly laneMovementMask: Uint16Array;
  /**
   * Share of the lane's movements that are lefts or U-turns yielding to the opposing flow in
   * the lane's serving phase (permitted there and protected in no phase): 1 for an exclusive
   * permitted left lane, 1/3 for the left-through-right lane of a one-lane approach whose left
   * goes permitted, 0 for a lane that never yields and for a shared lane with other lanes
   * beside it (drivers going straight avoid it). Movements in a shared lane are taken as equal shares, as
   * movementDemand does. The planner's shared-lane model (timing/planner.ts) reads it.
   */
  readonly laneYieldShare: Float64Array;
  /** Opposing lanes of a lane with a yielding share: [opposeStart[l], opposeStart[l+1]) into opposeLanes. */
  readonly opposeStart: Uint32Array;
  readonly opposeLanes: Uint32Array;

  /** Per detector (global index). */
  readonly detectorIds: readonly string[];
  readonly detectorLane: Uint32Array;
  readonly detectorKind: Uint8Array;
  /** Detector whose counts measure the lane (stop line preferred), -1 if none. */
  readonly laneDetector: Int32Array;

  readonly startUpLostTimeS: number;
  readonly extensionOfEffectiveGreenS: number;
}

/** Compiled (global) index of intersection i's phase `phaseId`; -1 if it has none. */
export function phaseIndex(c: CompiledNetwork, i: number, phaseId: string): number {
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (c.phaseIds[p] === phaseId) return p;
  return -1;
}

/** Saturation flow of one lane in veh/h (HCM: f_w = 1 + (W − 3.6)/9, f_g = 1 − G/200). */
export function laneSaturationFlow(lane: Lane, gradePercent: number, d: Defaults): number {
  if (lane.saturationFlowVehPerH !== undefined) return lane.saturationFlowVehPerH;
  const fw = 1 + (lane.widthM - 3.6) / 9;
  const fg = 1 - gradePercent / 200;
  // Shared lanes: equal shares assumed, so the factors combine harmonically.
  let inv = 0;
  for (const t of lane.movements) inv += 1 / (TURN_FACTOR[t] ?? 1);
  const fturn = lane.movements.length / inv;
  return d.saturationFlowVehPerHPerLane * fw * fg * fturn;
}

export function compileNetwork(net: Network): CompiledNetwork {
  const d = net.defaults;
  const n = net.intersections.length;
  let phaseTotal = 0;
  let laneTotal = 0;
  let detectorTotal = 0;
  for (const ix of net.intersections) {
    const count = allPhases(ix).length;
    if (count > MAX_PHASES_PER_INTERSECTION) throw new GreenwaveError(ErrorCode.InvalidInput, `intersection ${ix.id} has ${count} phases; at most ${MAX_PHASES_PER_INTERSECTION} are supported`);
    phaseTotal += count;
    for (const ap of ix.approaches) laneTotal += ap.lanes.length;
    detectorTotal += ix.detectors.length;
  }

  const phaseStart = new Uint32Array(n + 1);
  const laneStart = new Uint32Array(n + 1);
  const barrierCount = new Uint8Array(n);
  const ringCount = new Uint8Array(n);
  const minCycleS = new Float64Array(n);
  const maxCycleS = new Float64Array(n);
  const oversaturationY = new Float64Array(n);
  const targetDegreeOfSaturation = new Float64Array(n);
  const phaseIds: string[] = new Array(phaseTotal);
  const phaseFileIndex = new Uint16Array(phaseTotal);
  const phaseBarrier = new Uint8Array(phaseTotal);
  const phaseRing = new Uint8Array(phaseTotal);
  const phaseMinGreen = new Float64Array(phaseTotal);
  const phaseMaxGreen = new Float64Array(phaseTotal);
  const phasePed = new Float64Array(phaseTotal);
  const phaseYellow = new Float64Array(phaseTotal);
  const phasePassage = new Float64Array(phaseTotal);
  const phaseAllRed = new Float64Array(phaseTotal);
  const phaseOnDemand = new Uint8Array(phaseTotal);
  const phaseConflictMask = new Uint32Array(phaseTotal);
  const phaseProtectedMask = new Uint16Array(phaseTotal);
  const phasePermittedMask = new Uint16Array(phaseTotal);
  const laneIds: string[] = new Array(laneTotal);
  const laneSat = new Float64Array(laneTotal);
  const lanePhase = new Int32Array(laneTotal).fill(-1);
  const lanePermittedOnly = new Uint8Array(laneTotal);
  const laneYieldShare = new Float64Array(laneTotal);
  const laneMovementMask = new Uint16Array(laneTotal);
  const laneDetector = new Int32Array(laneTotal).fill(-1);
  const opposeStart = new Uint32Array(laneTotal + 1);
  const opposeList: number[] = [];
  const detectorIds: string[] = new Array(detectorTotal);
  const detectorLane = new Uint32Array(detectorTotal);
  const detectorKind = new Uint8Array(detectorTotal);

  let ph = 0;
  let ln = 0;
  let dt = 0;
  net.intersections.forEach((ix, i) => {
    phaseStart[i] = ph;
    laneStart[i] = ln;
    maxCycleS[i] = clampMaxCycleS(ix.maxCycleS ?? d.maxCycleS);
    minCycleS[i] = Math.min(ix.minCycleS ?? d.minCycleS, maxCycleS[i]!);
    oversaturationY[i] = d.oversaturationY;
    targetDegreeOfSaturation[i] = d.targetDegreeOfSaturation;
    const phases = allPhases(ix);
    const structure = ringStructure(ix, phases);
    barrierCount[i] = structure.length;
    ringCount[i] = structure[0]?.length ?? 1;
    const clear = phaseClearances(ix, d);
    const table = buildConflictTable(ix.conflicts);

    // Local order (barrier, ring, position) -> file index.
    const order: number[] = [];
    structure.forEach((barrier, b) =>
      barrier.forEach((ring, r) =>
        ring.forEach((p) => {
          const g = ph + order.length;
          phaseBarrier[g] = b;
          phaseRing[g] = r;
          order.push(p);
        }),
      ),
    );
    order.forEach((p, k) => {
      const g = ph + k;
      const phase = phases[p]!;
      phaseIds[g] = phase.id;
      phaseFileIndex[g] = p;
      phaseOnDemand[g] = phase.onDemand ? 1 : 0;
      phaseMinGreen[g] = phaseMinGreenS(phase, ix, d);
      // No green longer than the cycle allows: the max cycle less the phase's own clearances.
      const greenRoomS = maxCycleS[i]! - clear.yellowS[p]! - clear.allRedS[p]!;
      phaseMaxGreen[g] = Math.max(Math.min(phase.maxGreenS, greenRoomS), phaseMinGreen[g]!);
      // Walk + clearance counts as the phase's pedestrian time only where it is what sets the minimum.
      const pedS = pedestrianTimeS(phase, ix, d);
      phasePed[g] = pedS > 0 && pedS > ceilStep(Math.max(phase.minGreenS, SAFETY_FLOORS.minVehicleGreenS), d.timingStepS) ? phaseMinGreen[g]! : 0;
      for (const green of phaseGreens(phase)) {
        if (green.permitted) phasePermittedMask[g] = phasePermittedMask[g]! | (1 << green.index);
        else phaseProtectedMask[g] = phaseProtectedMask[g]! | (1 << green.index);
      }
      phaseYellow[g] = clear.yellowS[p]!;
      phasePassage[g] = phase.passageS;
      phaseAllRed[g] = clear.allRedS[p]!;
      let mask = 0;
      order.forEach((q, j) => {
        // q === p tests the phase against itself: a phase that conflicts internally is unsafe.
        if (phaseConflictReason(phase, phases[q]!, table) !== undefined) mask |= 1 << j;
      });
      phaseConflictMask[g] = mask >>> 0;
    });

    const laneIndexById = new Map<string, number>();
    const laneEntry: number[] = [];
    for (const ap of ix.approaches) {
      const apIndex = APPROACH_IDS.indexOf(ap.id);
      for (const lane of ap.lanes) {
        laneIds[ln] = lane.id;
        laneIndexById.set(lane.id, ln);
        laneSat[ln] = laneSaturationFlow(lane, ap.gradePercent, d);
        let mask = 0;
        for (const t of lane.movements) mask |= 1 << (movementIndex(apIndex, TURNS.indexOf(t)));
        laneMovementMask[ln] = mask;
        laneEntry.push(entryLeg(apIndex * 4));
        const served = servingPhase(mask, order.map((p) => phases[p]!));
        if (served.local >= 0) {
          lanePhase[ln] = ph + served.local;
          lanePermittedOnly[ln] = served.permittedOnly ? 1 : 0;
          // Where the approach has other lanes, through drivers leave a lane a left blocks (its
          // loop counts what it carries) and its left share cannot be told from lane counts.
          const share = yieldShare(mask, phaseProtectedMask, phasePermittedMask, phaseOnDemand, ph, ph + order.length, lanePhase[ln]!);
          laneYieldShare[ln] = share >= 1 || ap.lanes.length === 1 ? share : 0;
        }
        ln++;
      }
    }
    // Opposing flow for lanes whose lefts yield: through and right lanes of the opposite approach.
    const first = laneStart[i]!;
    for (let l = first; l < ln; l++) {
      opposeStart[l] = opposeList.length;
      // Gap acceptance applies to lefts and U-turns; permitted rights only yield to pedestrians.
      if (laneYieldShare[l] === 0) continue;
      for (let o = first; o < ln; o++) {
        const oppositeEntry = laneEntry[o - first] === ((laneEntry[l - first]! + 2) & 3);
        const carriesThroughOrRight = (laneMovementMask[o]! & 0b0110_0110_0110_0110) !== 0;
        if (oppositeEntry && carriesThroughOrRight) opposeList.push(o);
      }
    }
    for (const det of ix.detectors) {
      detectorIds[dt] = det.id;
      const lane = laneIndexById.get(det.lane) ?? 0;
      detectorLane[dt] = lane;
      detectorKind[dt] = det.kind === 'stopLine' ? DetectorKind.StopLine : DetectorKind.Advance;
      const current = laneDetector[lane]!;
      // Stop-line loops measure discharge at the signal; advance loops are the fallback.
      if (current < 0 || (detectorKind[current] === DetectorKind.Advance && det.kind === 'stopLine')) laneDetector[lane] = dt;
      dt++;
    }
    ph += order.length;
  });
  phaseStart[n] = ph;
  laneStart[n] = ln;
  opposeStart[laneTotal] = opposeList.length;

  return {
    network: net,
    intersectionCount: n,
    intersectionIds: net.intersections.map((ix) => ix.id),
    phaseStart,
    laneStart,
    barrierCount,
    ringCount,
    minCycleS,
    maxCycleS,
    oversaturationY,
    targetDegreeOfSaturation,
    phaseIds,
    phaseFileIndex,
    phaseBarrier,
    phaseRing,
    phaseMinGreenS: phaseMinGreen,
    phaseMaxGreenS: phaseMaxGreen,
    phasePedestrianS: phasePed,
    phaseYellowS: phaseYellow,
    phasePassageS: phasePassage,
    phaseAllRedS: phaseAllRed,
    phaseOnDemand,
    phaseConflictMask,
    phaseProtectedMask,
    phasePermittedMask,
    laneIds,
    laneSatFlowVehPerH: laneSat,
    lanePhase,
    lanePermittedOnly,
    laneYieldShare,
    laneMovementMask,
    opposeStart,
    opposeLanes: Uint32Array.from(opposeList),
    detectorIds,
    detectorLane,
    detectorKind,
    laneDetector,
    startUpLostTimeS: d.startUpLostTimeS,
    extensionOfEffectiveGreenS: d.extensionOfEffectiveGreenS,
  };
}

/**
 * The first phase (in run order) that protects one of the lane's movements, else the first that
 * permits one. On-demand phases are skipped: a lane's demand is served by the phases that always run.
 */
/** Lefts and U-turns: the movements that yield to the opposing flow when permitted. */
const LEFT_U_MASK = 0b1001_1001_1001_1001;

/**
 * Share of a lane's movements (equal shares) that are lefts or U-turns permitted in its serving
 * phase `served` and protected in no planned phase of the intersection [p0, p1): they yield in a lane
 * the protected movements share (the HCM's shared-lane permitted left) or have to themselves.
 */
function yieldShare(laneMask: number, protectedMask: Uint16Array, permittedMask: Uint16Array, onDemand: Uint8Array, p0: number, p1: number, served: number): number {
  let protectedAnywhere = 0;
  // A phase that runs only when called (bus priority) protects nothing the plan can count on.
  for (let p = p0; p < p1; p++) if (onDemand[p] === 0) protectedAnywhere |= protectedMask[p]!;
  const yielding = laneMask & LEFT_U_MASK & permittedMask[served]! & ~protectedAnywhere;
  if (yielding === 0) return 0;
  return popcount(yielding) / popcount(laneMask);
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

function servingPhase(laneMask: number, ordered: readonly Phase[]): { local: number; permittedOnly: boolean } {
  const carries = (names: readonly string[]): boolean =>
    names.some((name) => {
      const ref = parseMovementId(name);
      return ref !== undefined && (laneMask & (1 << ref.index)) !== 0;
    });
  for (let k = 0; k < ordered.length; k++) if (!ordered[k]!.onDemand && carries(ordered[k]!.protected)) return { local: k, permittedOnly: false };
  for (let k = 0; k < ordered.length; k++) if (!ordered[k]!.onDemand && carries(ordered[k]!.permitted)) return { local: k, permittedOnly: true };
  return { local: -1, permittedOnly: false };
}

/** Lookup helper for reports: the intersection that owns a global phase index. */
export function intersectionOfPhase(c: CompiledNetwork, phase: number): number {
  let lo = 0;
  let hi = c.intersectionCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c.phaseStart[mid]! <= phase) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

