/**
 * Corridor subsystems in the planner: splits each corridor where coordination does not pay
 * (the rules and the choice are partition.ts's; the score of a piece comes from
 * cycleSearch.ts), and the per-signal pieces of that score shared with the cycle search
 * and the band problem (cycleSearch.ts, coordinate.ts, bandProblem.ts):
 * travel directions, approach flows, and the delay and stops of traffic arriving at random.
 * Called by planCorridors.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { APPROACH_IDS, type ApproachId, type Corridor } from '../network/schema.js';
import { THROUGH_TURN, movementIndex, travelDirection } from '../network/geometry.js';
import { IssueList, UnsafePlanError } from '../errors.js';
import { PlanScratch, planIntersection, type PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { STOP_WEIGHT_S } from './transyt.js';
import { partitionCorridor, type CorridorLinkFacts } from './partition.js';
import type { CorridorMember as Member } from './crossing.js';

/** A corridor split into subsystems: its pieces (intersection ids; a piece of one runs isolated) and why. */
export interface CorridorSplit {
  readonly corridorId: string;
  readonly pieces: readonly (readonly string[])[];
  readonly reasons: readonly string[];
}

/** The corridor a piece belongs to, and its number (1-based) of how many. */
export interface PartOf {
  readonly corridorId: string;
  readonly piece: number;
  readonly pieces: number;
}

const OPPOSITE: Record<ApproachId, ApproachId> = { EB: 'WB', WB: 'EB', NB: 'SB', SB: 'NB' };

/** Movement index of an approach's through movement. */
export function throughIndex(a: ApproachId): number {
  return movementIndex(APPROACH_IDS.indexOf(a), THROUGH_TURN);
}

export function travelApproaches(c: CompiledNetwork, indices: readonly number[]): { outApproach: ApproachId[]; inApproach: ApproachId[] } {
  const ix = indices.map((i) => c.network.intersections[i]!);
  const outApproach: ApproachId[] = [];
  const inApproach: ApproachId[] = [];
  for (let k = 0; k < ix.length; k++) {
    const dir = travelDirection(ix[Math.max(0, k - 1)]!.position, ix[Math.max(1, k)]!.position);
    outApproach.push(dir);
    inApproach.push(OPPOSITE[dir]);
  }
  return { outApproach, inApproach };
}

/** Signals `indices` back on their isolated plans (no cycle imposed). */
export function planIsolated(c: CompiledNetwork, buf: PlanBuffer, indices: readonly number[], scratch: PlanScratch): void {
  for (const i of indices) {
    buf.forcedCycleS[i] = Number.NaN;
    planIntersection(c, i, buf, scratch);
  }
}

/** The link from signal `from` to `to`, or the one the other way when the file has only that. */
export function linkBetween(net: CompiledNetwork['network'], from: string, to: string): CompiledNetwork['network']['links'][number] | undefined {
  return net.links.find((l) => l.from === from && l.to === to) ?? net.links.find((l) => l.from === to && l.to === from);
}

/**
 * Each corridor split into subsystems where coordination does not pay (partition.ts): the
 * pieces of two or more signals become corridors of their own (ids "<corridor>#<piece>"), a
 * piece of one keeps its isolated plan. `segmentScore` is the planner's score of a piece
 * (cycleSearch.ts); `pieceOf` and `splits` receive what was split and why.
 */
export function partitionMembers(
  c: CompiledNetwork,
  buf: PlanBuffer,
  members: readonly Member[],
  scratch: PlanScratch,
  segmentScore: (corridor: Corridor, indices: number[], firstOut: ApproachId, lastIn: ApproachId) => number,
  pieceOf: Map<string, PartOf>,
  splits?: CorridorSplit[],
): Member[] {
  const out: Member[] = [];
  for (const m of members) {
    const n = m.indices.length;
    const ids = m.indices.map((i) => c.intersectionIds[i]!);
    planIsolated(c, buf, m.indices, scratch);
    const ownCycleS = m.indices.map((i) => buf.cycleS[i]!);
    const { outApproach, inApproach } = travelApproaches(c, m.indices);
    const links: CorridorLinkFacts[] = [];
    for (let k = 0; k < n - 1; k++) {
      const link = linkBetween(c.network, ids[k]!, ids[k + 1]!);
      const twoWayVehPerH = approachFlow(c, buf, m.indices[k + 1]!, outApproach[k + 1]!) + approachFlow(c, buf, m.indices[k]!, inApproach[k]!);
      links.push({ lengthM: link?.lengthM ?? 0, twoWayVehPerH });
    }
    const part = partitionCorridor({
      ids,
      ownCycleS,
      links,
      score: (a, b) => segmentScore(m.corridor, m.indices.slice(a, b + 1), outApproach[a]!, inApproach[b]!),
    });
    // Scoring moved cycles and offsets about: every member back to its isolated plan.
    planIsolated(c, buf, m.indices, scratch);
    if (part.pieces.length === 1) {
      out.push(m);
      continue;
    }
    splits?.push({ corridorId: m.corridor.id, pieces: part.pieces.map(([a, b]) => ids.slice(a, b + 1)), reasons: part.reasons });
    part.pieces.forEach(([a, b], k) => {
      if (b === a) {
        const issues = new IssueList();
        if (!validateIntersectionPlan(c, m.indices[a]!, buf, issues)) throw new UnsafePlanError(ids[a]!, issues.items);
        return;
      }
      const id = `${m.corridor.id}#${k + 1}`;
      pieceOf.set(id, { corridorId: m.corridor.id, piece: k + 1, pieces: part.pieces.length });
      out.push({ corridor: { ...m.corridor, id, name: m.corridor.name ? `${m.corridor.name} (${k + 1}/${part.pieces.length})` : '', intersections: ids.slice(a, b + 1) }, indices: m.indices.slice(a, b + 1) });
    });
  }
  return out;
}

/** Traffic on an approach (all its lanes), veh/h. */
function approachFlow(c: CompiledNetwork, buf: PlanBuffer, i: number, approach: ApproachId): number {
  const mask = 0xf << (APPROACH_IDS.indexOf(approach) * 4);
  let flow = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) if ((c.laneMovementMask[l]! & mask) !== 0) flow += buf.laneFlowVehPerH[l]!;
  return flow;
}

/**
 * Delay and stops (veh·s per hour, stops at STOP_WEIGHT_S) of the lanes of signal i that carry
 * the movements in `mask`, arriving at random: HCM delay, and the stop rate of uniform arrivals
 * (1 − g/C) / (1 − v/s), at most 1.
 */
export function randomArrivalIndex(c: CompiledNetwork, buf: PlanBuffer, i: number, mask: number): number {
  let index = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
    if ((c.laneMovementMask[l]! & mask) === 0) continue;
    const flow = buf.laneFlowVehPerH[l]!;
    const sat = c.laneSatFlowVehPerH[l]!;
    const greenRatio = sat > 0 ? buf.laneCapacityVehPerH[l]! / sat : 0;
    const y = sat > 0 ? flow / sat : 1;
    const stops = y < 1 ? Math.min(1, (1 - greenRatio) / (1 - y)) : 1;
    index += flow * (buf.laneDelayS[l]! + STOP_WEIGHT_S * stops);
  }
  return index;
}

/** HCM delay (veh·s per hour) of signal i's lanes that carry none of the movements in `mask`: `coordinate`'s "others". */
export function otherLanesDelay(c: CompiledNetwork, buf: PlanBuffer, i: number, mask: number): number {
  let others = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) if ((c.laneMovementMask[l]! & mask) === 0) others += buf.laneDelayS[l]! * buf.laneFlowVehPerH[l]!;
  return others;
}
