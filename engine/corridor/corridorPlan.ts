/**
 * Coordinates the signals of each corridor in a network, after splitting
 * corridors into subsystems where coordination does not pay (subsystems.ts).
 * This file is the orchestration and the plan's report types: it groups
 * corridors into systems (crossing.ts), asks the cycle search (cycleSearch.ts)
 * for the best options per system, and applies them (coordinate.ts: double
 * cycling, splits, the widest weighted two-way band on the problem built by
 * bandProblem.ts, offsets refined for delay and stops), writing cycles, phase
 * starts and offsets into the PlanBuffer and validating every coordinated plan.
 * Called by the CLI and the planning service after the isolated plans are computed.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { ApproachId, Corridor } from '../network/schema.js';
import { IssueList, UnsafePlanError } from '../errors.js';
import { mod, round1 } from '../numeric.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { clonePlanBuffer, PlanScratch, type PlanBuffer } from '../timing/planner.js';
import { coordinate, finish } from './coordinate.js';
import { corridorMembers, corridorSystems, type CorridorMember as Member } from './crossing.js';
import { segmentScore, systemOptions, type SystemOption } from './cycleSearch.js';
import { partitionMembers, type CorridorSplit, type PartOf } from './subsystems.js';

export interface CorridorState {
  readonly bandOutS: number;
  readonly bandInS: number;
  readonly delaySPerVeh: number;
  readonly stopsPerVeh: number;
}

export interface CorridorIntersection {
  readonly id: string;
  readonly name: string;
  readonly positionM: number;
  readonly cycleS: number;
  readonly doubleCycled: boolean;
  readonly offsetS: number;
  /** "lead-lead", "lead-lag", … for dual-ring signals; "fixed" for stage lists. */
  readonly leftTurnOrder: string;
  readonly outboundApproach: ApproachId;
  readonly inboundApproach: ApproachId;
  /** Through greens in the corridor clock (offset applied), full length. */
  readonly outGreen: { readonly startS: number; readonly lengthS: number };
  readonly inGreen: { readonly startS: number; readonly lengthS: number };
  /** Yellow and red clearance right after each through green, s. */
  readonly outClearance: { readonly yellowS: number; readonly allRedS: number };
  readonly inClearance: { readonly yellowS: number; readonly allRedS: number };
  readonly queueClearanceOutS: number;
  readonly queueClearanceInS: number;
}

export interface CorridorPlan {
  readonly corridorId: string;
  readonly name: string;
  readonly cycleS: number;
  readonly mode: 'two-way' | 'outbound only' | 'inbound only';
  readonly weightOut: number;
  readonly weightIn: number;
  /** Band ÷ the narrowest usable through green, per direction (0..1). */
  readonly attainabilityOut: number;
  readonly attainabilityIn: number;
  readonly progressionKph: { readonly out: readonly number[]; readonly in: readonly number[] };
  readonly travelOutS: readonly number[];
  readonly travelInS: readonly number[];
  /** Band start: outbound leaving the first intersection; inbound reaching it (corridor clock). */
  readonly bandOutStartS: number;
  readonly bandInStartS: number;
  readonly uncoordinated: CorridorState;
  readonly bandOptimized: CorridorState;
  readonly refined: CorridorState;
  readonly intersections: readonly CorridorIntersection[];
  /** Set when the corridor runs in a system with crossing corridors: their ids and this corridor's shift, s. */
  readonly system: { readonly corridorIds: readonly string[]; readonly shiftS: number } | null;
  /** Set when this is one piece of a corridor split into subsystems (subsystems.ts). */
  readonly partOf?: PartOf;
}

export type { CorridorSplit, PartOf };

/** A corridor plan of the whole network other than the best one, on its own buffer. */
export interface CorridorAlternative {
  /** What distinguishes it, e.g. "system EB-A0-G0 + 2 more at 58 s". */
  readonly label: string;
  /** The planner's own score (delay and stops, veh·s per hour): lower is better. */
  readonly score: number;
  readonly buffer: PlanBuffer;
  readonly corridors: CorridorPlan[];
}

/**
 * Plans every corridor of the network into `buf` (which must hold the lane
 * flows). Intersections not on a corridor keep their isolated plans. An
 * intersection on two corridors is coordinated by the first one only.
 * Corridors joined by short links are planned together as one system
 * (engine/corridor/crossing.ts) when that beats planning them apart.
 */
export function planCorridors(c: CompiledNetwork, buf: PlanBuffer, scratch: PlanScratch = new PlanScratch(), alternatives = 0, out?: CorridorAlternative[], splits?: CorridorSplit[]): CorridorPlan[] {
  const pieceOf = new Map<string, PartOf>();
  const score = (corridor: Corridor, indices: number[], firstOut: ApproachId, lastIn: ApproachId) => segmentScore(c, buf, corridor, indices, firstOut, lastIn, scratch);
  const members: Member[] = partitionMembers(c, buf, corridorMembers(c), scratch, score, pieceOf, splits);
  const systems = corridorSystems(c, members.map((m) => m.indices));
  const options = systems.map((system) => systemOptions(c, buf, system.map((k) => members[k]!), scratch, alternatives + 1));
  // Alternatives first, each on a copy: the buffer itself ends with the best plan.
  const alternative = (rank: number, buffer: PlanBuffer): CorridorAlternative => {
    // A system with fewer options than `rank` keeps its last (worst distinct) one.
    const chosen = options.map((o) => o[Math.min(rank, o.length - 1)]!);
    const corridors = applyOptions(c, buffer, members, systems, chosen, scratch).map((p) => (pieceOf.has(p.corridorId) ? { ...p, partOf: pieceOf.get(p.corridorId)! } : p));
    return { label: chosen.map((o) => o.label).join('; '), score: chosen.reduce((t, o) => t + o.score, 0), buffer, corridors };
  };
  for (let rank = 1; rank <= alternatives; rank++) {
    if (!options.some((o) => o.length > rank)) break;
    out?.push(alternative(rank, clonePlanBuffer(buf)));
  }
  const best = alternative(0, buf);
  out?.unshift(best);
  return best.corridors;
}

/** Coordinates every corridor by its system's chosen option, into `buf`. */
function applyOptions(c: CompiledNetwork, buf: PlanBuffer, members: readonly Member[], systems: readonly number[][], chosen: readonly SystemOption[], scratch: PlanScratch): CorridorPlan[] {
  const plans: CorridorPlan[] = new Array(members.length);
  systems.forEach((system, g) => {
    const o = chosen[g]!;
    const ids = system.map((k) => members[k]!.corridor.id);
    system.forEach((k, s) => {
      const m = members[k]!;
      const r = coordinate(c, buf, m.corridor, m.indices, o.cycles[s]!, scratch);
      const plan = finish(c, buf, m.corridor, r.prepared, r.sol, r.uncoordinated, r.bandState, r.after, r.bands);
      plans[k] = o.shifts ? shiftCorridor(c, buf, plan, m.indices, o.shifts[s]!, ids) : plan;
    });
  });
  return plans;
}

/** Moves a coordinated corridor's offsets by `shiftS` as a whole (its bands are unchanged) and re-validates. */
function shiftCorridor(c: CompiledNetwork, buf: PlanBuffer, plan: CorridorPlan, indices: readonly number[], shiftS: number, systemIds: readonly string[]): CorridorPlan {
  const issues = new IssueList();
  for (const i of indices) {
    const offset = round1(mod(buf.offsetS[i]! + shiftS, buf.cycleS[i]!));
    buf.offsetS[i] = offset >= buf.cycleS[i]! ? 0 : offset;
    if (!validateIntersectionPlan(c, i, buf, issues)) throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
  }
  const at = (x: number) => round1(mod(x + shiftS, plan.cycleS));
  return {
    ...plan,
    bandOutStartS: at(plan.bandOutStartS),
    bandInStartS: at(plan.bandInStartS),
    system: { corridorIds: systemIds, shiftS },
    intersections: plan.intersections.map((x, k) => ({
      ...x,
      offsetS: buf.offsetS[indices[k]!]!,
      outGreen: { startS: at(x.outGreen.startS), lengthS: x.outGreen.lengthS },
      inGreen: { startS: at(x.inGreen.startS), lengthS: x.inGreen.lengthS },
    })),
  };
}
