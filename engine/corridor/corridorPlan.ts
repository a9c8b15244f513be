/**
 * Coordinates the signals of each corridor in a network, after splitting
 * corridors into subsystems where coordination does not pay (subsystems.ts): a common cycle
 * (the critical intersection's), double cycling where a lightly loaded
 * signal does better on half the cycle, splits re-timed for that cycle, the
 * widest weighted two-way band (lead/lag chosen per signal), then offsets
 * refined for delay and stops. Writes cycles, phase starts and offsets into
 * the PlanBuffer and validates every coordinated plan. Called by the CLI and
 * the planning service after the isolated plans are computed.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { Corridor } from '../network/schema.js';
import type { ApproachId } from '../network/schema.js';
import { exitLeg } from '../network/geometry.js';
import { IssueList, UnsafePlanError, GreenwaveError, ErrorCode } from '../errors.js';
import { clonePlanBuffer, PlanScratch, planIntersection, type PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { allocateSolution, BandMode, BandSolver, MAX_PATTERNS, narrowestGreenS, type BandProblem, type BandSolution } from './band.js';
import { OffsetRefiner, type CorridorTraffic, type Performance } from './transyt.js';
import { linkBetween, otherLanesDelay, partitionMembers, planIsolated, randomArrivalIndex, throughIndex, travelApproaches, type CorridorSplit, type PartOf } from './subsystems.js';
import { applyPattern, newThroughWindows, throughWindows, type ThroughWindows } from './windows.js';
import { mod, round1, round3 } from '../numeric.js';
import { chooseShifts, corridorMembers, corridorSystems, CrossingModel, crossingLinks, type CorridorMember as Member } from './crossing.js';

/** Saturation headway used to turn a queue of turning-in vehicles into clearance time, s. */
const QUEUE_HEADWAY_S = 2.0;
/** Queue clearance may take at most this share of the through green. */
const MAX_QUEUE_SHARE = 0.5;
/** Default progression speed range as a share of the link's design speed. */
const SPEED_RANGE = [0.9, 1.1] as const;

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




/** Flow (veh/h), lanes (shared lanes count by share) and mean lane saturation flow of a movement. */
export function movementDemand(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number): { flow: number; lanes: number; sat: number } {
  let flow = 0;
  let lanes = 0;
  let sat = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
    const mask = c.laneMovementMask[l]!;
    if (!((mask >> movement) & 1)) continue;
    let count = 0;
    for (let m = 0; m < 16; m++) if ((mask >> m) & 1) count++;
    flow += buf.laneFlowVehPerH[l]! / count;
    lanes += 1 / count;
    sat += c.laneSatFlowVehPerH[l]! / count;
  }
  return { flow, lanes, sat: lanes > 0 ? sat / lanes : 1800 };
}

/** Turning traffic at `i` that leaves toward the next signal alongside the through movement `through`. */
function turnInFlow(c: CompiledNetwork, buf: PlanBuffer, i: number, through: number): number {
  const leg = exitLeg(through);
  let flow = 0;
  for (let m = 0; m < 16; m++) {
    if (m === through || exitLeg(m) !== leg) continue;
    flow += movementDemand(c, buf, i, m).flow;
  }
  return flow;
}

interface Prepared {
  readonly indices: number[];
  readonly problem: BandProblem;
  readonly traffic: CorridorTraffic;
  readonly windows: ThroughWindows[];
  readonly doubleCycled: boolean[];
  readonly outApproach: ApproachId[];
  readonly inApproach: ApproachId[];
  readonly positionM: number[];
  readonly lengthM: number[];
}

/** Cycle search range of one corridor, s. */
interface CycleRange {
  readonly shortest: number;
  readonly critical: number;
  readonly longest: number;
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

/**
 * The planner's score of signals `indices` (consecutive on a corridor) run as one subsystem at
 * its best common cycle, or isolated when there is one: `coordinate`'s score, plus the through
 * traffic that enters the piece at its ends, which arrives at random.
 */
function segmentScore(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], firstOut: ApproachId, lastIn: ApproachId, scratch: PlanScratch): number {
  const n = indices.length;
  const through = (a: ApproachId) => 1 << throughIndex(a);
  if (n === 1) {
    const i = indices[0]!;
    planIsolated(c, buf, indices, scratch);
    const both = through(firstOut) | through(lastIn);
    return randomArrivalIndex(c, buf, i, both) + otherLanesDelay(c, buf, i, both);
  }
  const range = cycleRange(c, buf, indices, scratch);
  let best = Infinity;
  for (let cycleS = range.shortest; cycleS <= searchEnd(range) + 1e-9; cycleS += CYCLE_STEP_S) {
    const r = coordinate(c, buf, corridor, indices, cycleS, scratch);
    const entering = randomArrivalIndex(c, buf, indices[0]!, through(firstOut)) + randomArrivalIndex(c, buf, indices[n - 1]!, through(lastIn));
    best = Math.min(best, r.score + entering);
  }
  return best;
}

/** A corridor plan of the whole network other than the best one, on its own buffer. */
export interface CorridorAlternative {
  /** What distinguishes it, e.g. "system EB-A0-G0 + 2 more at 58 s". */
  readonly label: string;
  /** The planner's own score (delay and stops, veh·s per hour): lower is better. */
  readonly score: number;
  readonly buffer: PlanBuffer;
  readonly corridors: CorridorPlan[];
}

/** One way to time a system of corridors: a cycle per corridor, and shifts when they share one. */
interface SystemOption {
  readonly label: string;
  readonly score: number;
  readonly cycles: readonly number[];
  readonly shifts: Int32Array | undefined;
}

/** Options that differ by less than this in their common cycle are the same plan for a second opinion. */
const DISTINCT_CYCLE_S = 3;

/**
 * The ways to time one system, best first: each corridor on its own cycle, and the system on
 * each common cycle (shifts chosen for the crossing traffic); at most `count`, mutually distinct.
 */
function systemOptions(c: CompiledNetwork, buf: PlanBuffer, members: readonly Member[], scratch: PlanScratch, count: number): SystemOption[] {
  const ranges = members.map((m) => cycleRange(c, buf, m.indices, scratch));
  const own = members.map((m, s) => searchCycle(c, buf, m, ranges[s]!.shortest, searchEnd(ranges[s]!), scratch));
  const apart: SystemOption = {
    label: members.map((m, s) => `${m.corridor.id} at ${own[s]!.cycleS} s`).join(', '),
    score: own.reduce((t, o) => t + o.score, 0),
    cycles: own.map((o) => o.cycleS),
    shifts: undefined,
  };
  const all: SystemOption[] = [apart];
  if (members.length === 1) {
    // A corridor on its own: its other common cycles are the runners-up.
    const id = members[0]!.corridor.id;
    for (const x of own[0]!.all) if (x.cycleS !== own[0]!.cycleS) all.push({ label: `${id} at ${x.cycleS} s`, score: x.score, cycles: [x.cycleS], shifts: undefined });
  } else {
    const name = `system ${members[0]!.corridor.id} + ${members.length - 1} more`;
    for (const j of searchSystemCycle(c, buf, members, ranges, scratch)) all.push({ label: `${name} at ${j.cycleS} s`, score: j.score, cycles: members.map(() => j.cycleS), shifts: j.shifts });
  }
  all.sort((a, b) => a.score - b.score);
  const picked: SystemOption[] = [];
  for (const o of all) {
    if (picked.length >= count) break;
    // Options on one common cycle (a system, or a lone corridor) a few seconds apart are the same plan.
    const common = o.shifts || members.length === 1 ? o.cycles[0]! : Number.NaN;
    if (picked.some((p) => (p.shifts || members.length === 1) && Math.abs(p.cycles[0]! - common) < DISTINCT_CYCLE_S)) continue;
    picked.push(o);
  }
  return picked;
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

/**
 * Common cycles tried: every whole second from the shortest practical cycle to 60 s above
 * the critical intersection's. Progression is sharply tuned to the cycle (a block's travel
 * time against half or all of it), so a coarse step misses the good ones.
 */
const CYCLE_STEP_S = 1;
const CYCLE_SEARCH_S = 60;

function searchEnd(r: CycleRange): number {
  return Math.min(r.longest, r.critical + CYCLE_SEARCH_S);
}

function cycleRange(c: CompiledNetwork, buf: PlanBuffer, indices: readonly number[], scratch: PlanScratch): CycleRange {
  // Isolated plans first: the critical intersection's cycle is Webster's common cycle.
  planIsolated(c, buf, indices, scratch);
  const critical = Math.max(...indices.map((i) => buf.cycleS[i]!));
  // Adaptive control bounds how far one re-plan may move a cycle; the search respects that too.
  const limit = Math.min(...indices.map((i) => (Number.isFinite(buf.cycleLimitMaxS[i]!) ? buf.cycleLimitMaxS[i]! : Infinity)));
  const longest = Math.max(critical, Math.min(limit, ...indices.map((i) => c.maxCycleS[i]!)));
  // …and a lower bound (adaptive control, or what the controllers accept) as well.
  const floor = Math.max(0, ...indices.map((i) => (Number.isFinite(buf.cycleLimitMinS[i]!) ? buf.cycleLimitMinS[i]! : 0)));
  return { shortest: Math.max(Math.ceil(floor), practicalMinCycleS(c, buf, indices, critical, scratch)), critical, longest };
}

/**
 * The shortest common cycle that every member can run (its minimum times fit) with each lane
 * at or below its target degree of saturation. Webster's optimum (the critical cycle) is longer: for an isolated
 * signal a shorter cycle costs a little delay, but on a corridor it can buy a progression.
 */
function practicalMinCycleS(c: CompiledNetwork, buf: PlanBuffer, indices: readonly number[], criticalS: number, scratch: PlanScratch): number {
  let cycleS = Math.ceil(Math.min(criticalS, ...indices.map((i) => c.minCycleS[i]!)));
  for (; cycleS < criticalS; cycleS += CYCLE_STEP_S) {
    let ok = true;
    for (const i of indices) {
      buf.forcedCycleS[i] = cycleS;
      planIntersection(c, i, buf, scratch);
      // A cycle too short for a member's minimum times is lengthened by the planner: the
      // corridor would report one cycle and run another, and its band would be for neither.
      if (buf.cycleS[i] !== cycleS) ok = false;
      const xt = c.targetDegreeOfSaturation[i]!;
      for (let l = c.laneStart[i]!; ok && l < c.laneStart[i + 1]!; l++) {
        const flow = buf.laneFlowVehPerH[l]!;
        if (flow > 0 && !(flow <= xt * buf.laneCapacityVehPerH[l]!)) ok = false;
      }
      buf.forcedCycleS[i] = Number.NaN;
      if (!ok) break;
    }
    if (ok) break;
  }
  return Math.min(cycleS, criticalS);
}

/** Like PASSER: the common cycle with the least delay and stops over the whole corridor. */
function searchCycle(c: CompiledNetwork, buf: PlanBuffer, m: Member, fromS: number, toS: number, scratch: PlanScratch): { cycleS: number; score: number; all: { cycleS: number; score: number }[] } {
  let bestCycle = fromS;
  let bestScore = Infinity;
  const all: { cycleS: number; score: number }[] = [];
  for (let cycleS = fromS; cycleS <= toS + 1e-9; cycleS += CYCLE_STEP_S) {
    const score = coordinate(c, buf, m.corridor, m.indices, cycleS, scratch).score;
    all.push({ cycleS, score });
    if (score < bestScore - 1e-6) {
      bestScore = score;
      bestCycle = cycleS;
    }
  }
  return { cycleS: bestCycle, score: bestScore, all };
}

/**
 * One common cycle for a system of corridors: each corridor coordinated at the cycle, then
 * the corridors shifted against one another for the traffic crossing between them. Its score
 * is the corridors' scores plus what the crossing traffic gains or loses against random arrivals.
 */
function searchSystemCycle(c: CompiledNetwork, buf: PlanBuffer, members: readonly Member[], ranges: readonly CycleRange[], scratch: PlanScratch): { cycleS: number; score: number; shifts: Int32Array }[] {
  const fromS = Math.max(...ranges.map((r) => r.shortest));
  const toS = Math.min(...ranges.map(searchEnd));
  if (!(fromS <= toS)) return [];
  const links = crossingLinks(c, members.map((m) => m.indices), (i, movement) => movementDemand(c, buf, i, movement));
  if (links.length === 0) return [];
  const n = members.length;
  const model = new CrossingModel(toS);
  const linkTable = new Float64Array(Math.ceil(toS) + 1);
  const pairs = new Map<number, Float64Array>();
  const shifts = new Int32Array(n);
  const out: { cycleS: number; score: number; shifts: Int32Array }[] = [];
  for (let cycleS = fromS; cycleS <= toS + 1e-9; cycleS += CYCLE_STEP_S) {
    let score = 0;
    for (const m of members) {
      const r = coordinate(c, buf, m.corridor, m.indices, cycleS, scratch);
      finish(c, buf, m.corridor, r.prepared, r.sol, r.uncoordinated, r.bandState, r.after, r.bands);
      score += r.score;
    }
    const C = Math.round(cycleS);
    pairs.clear();
    for (const link of links) {
      model.linkTable(c, buf, link, C, linkTable);
      const key = link.upCorridor * n + link.downCorridor;
      let t = pairs.get(key);
      if (!t) pairs.set(key, (t = new Float64Array(C)));
      for (let s = 0; s < C; s++) t[s] = t[s]! + linkTable[s]!;
    }
    score += chooseShifts(n, C, (a, b) => pairs.get(a * n + b), shifts);
    out.push({ cycleS, score, shifts: shifts.slice() });
  }
  return out;
}

/** Moves a coordinated corridor's offsets by `shiftS` as a whole (its bands are unchanged) and re-validates. */
function shiftCorridor(c: CompiledNetwork, buf: PlanBuffer, plan: CorridorPlan, indices: readonly number[], shiftS: number, systemIds: readonly string[]): CorridorPlan {
  const issues = new IssueList();
  for (const i of indices) {
    const offset = Math.round(mod(buf.offsetS[i]! + shiftS, buf.cycleS[i]!) * 10) / 10;
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

/** Times the corridor at one common cycle: double cycling, splits, band, refinement, and a score. */
function coordinate(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], cycleS: number, scratch: PlanScratch) {
  const n = indices.length;
  // With defaults.slackToCoordinatedPhases the through phases of both directions are the
  // coordinated phases, and the slack of the common cycle goes to them (planner.ts).
  if (c.network.defaults.slackToCoordinatedPhases) {
    const { outApproach, inApproach } = travelApproaches(c, indices);
    indices.forEach((i, k) => {
      const through = (1 << throughIndex(outApproach[k]!)) | (1 << throughIndex(inApproach[k]!));
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) buf.phaseCoordinated[p] = (c.phaseProtectedMask[p]! & through) !== 0 ? 1 : 0;
    });
  }
  const doubleCycled = indices.map((i) => {
    buf.forcedCycleS[i] = Number.NaN;
    planIntersection(c, i, buf, scratch);
    if (buf.cycleS[i]! > cycleS / 2 || buf.cycleLimitMinS[i]! > cycleS / 2) return false;
    buf.forcedCycleS[i] = cycleS / 2;
    planIntersection(c, i, buf, scratch);
    if (buf.cycleS[i] !== cycleS / 2) return false; // minimum times do not fit half the cycle
    const halfDelay = buf.delaySPerVeh[i]!;
    buf.forcedCycleS[i] = cycleS;
    planIntersection(c, i, buf, scratch);
    return halfDelay < buf.delaySPerVeh[i]!;
  });
  indices.forEach((i, k) => {
    buf.forcedCycleS[i] = doubleCycled[k] ? cycleS / 2 : cycleS;
    planIntersection(c, i, buf, scratch);
  });

  const prepared = prepare(c, buf, corridor, indices, cycleS, doubleCycled);
  const { problem, traffic } = prepared;
  const bands = new BandSolver(n);
  const refiner = new OffsetRefiner(n, Math.ceil(cycleS) + 1);

  // Uncoordinated reference: every signal starts its cycle at 0, pattern as programmed.
  const ref = allocateSolution(n);
  for (let k = 0; k < n - 1; k++) {
    ref.travelOutS[k] = 0.5 * (problem.travelOutMinS[k]! + problem.travelOutMaxS[k]!);
    ref.travelInS[k] = 0.5 * (problem.travelInMinS[k]! + problem.travelInMaxS[k]!);
  }
  bands.measure(problem, ref);
  const uncoordinated = state(ref, refiner.evaluate(problem, traffic, ref));

  const sol = bands.solve(problem, allocateSolution(n));
  const bandOutS = sol.bandOutS;
  const bandInS = sol.bandInS;
  const before: Performance = { delaySPerVeh: 0, stopsPerVeh: 0, index: 0 };
  const after = refiner.refine(problem, traffic, sol, bands, before);
  const bandState: CorridorState = { bandOutS, bandInS, delaySPerVeh: before.delaySPerVeh, stopsPerVeh: before.stopsPerVeh };
  // Score per hour: the arterial through movements by the platoon model (delay + stop penalty),
  // everything else by its HCM delay in the plan at this cycle.
  let others = 0;
  indices.forEach((i, k) => (others += otherLanesDelay(c, buf, i, (1 << throughIndex(prepared.outApproach[k]!)) | (1 << throughIndex(prepared.inApproach[k]!)))));
  const score = (after.index * 3600) / cycleS + others;
  return { prepared, sol, uncoordinated, bandState, after, bands, score };
}

function state(s: BandSolution, perf: Performance): CorridorState {
  return { bandOutS: s.bandOutS, bandInS: s.bandInS, delaySPerVeh: perf.delaySPerVeh, stopsPerVeh: perf.stopsPerVeh };
}

/** The approach outbound and inbound traffic enter each corridor signal by (from the signals' positions). */

function prepare(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], cycleS: number, doubleCycled: boolean[]): Prepared {
  const net = c.network;
  const n = indices.length;
  const ix = indices.map((i) => net.intersections[i]!);
  const { outApproach, inApproach } = travelApproaches(c, indices);
  const lengthM: number[] = [];
  const positionM: number[] = [0];
  const travelOutMinS = new Float64Array(n - 1);
  const travelOutMaxS = new Float64Array(n - 1);
  const travelInMinS = new Float64Array(n - 1);
  const travelInMaxS = new Float64Array(n - 1);
  for (let k = 0; k < n - 1; k++) {
    const from = ix[k]!.id;
    const to = ix[k + 1]!.id;
    const outLink = linkBetween(net, from, to);
    const inLink = net.links.find((l) => l.from === to && l.to === from) ?? outLink;
    if (!outLink || !inLink) throw new GreenwaveError(ErrorCode.InvalidInput, `corridor ${corridor.id}: no link between ${from} and ${to}`);
    lengthM.push(outLink.lengthM);
    positionM.push(positionM[k]! + outLink.lengthM);
    const range = (link: typeof outLink, which: 0 | 1) => (which === 0 ? link.minSpeedKph ?? SPEED_RANGE[0] * link.designSpeedKph : link.maxSpeedKph ?? SPEED_RANGE[1] * link.designSpeedKph) / 3.6;
    travelOutMinS[k] = outLink.lengthM / range(outLink, 1);
    travelOutMaxS[k] = outLink.lengthM / range(outLink, 0);
    travelInMinS[k] = inLink.lengthM / range(inLink, 1);
    travelInMaxS[k] = inLink.lengthM / range(inLink, 0);
  }

  const periodS = new Float64Array(n);
  const greenOutS = new Float64Array(n);
  const greenInS = new Float64Array(n);
  const patternCount = new Uint8Array(n);
  const outStartS = new Float64Array(n * MAX_PATTERNS);
  const inStartS = new Float64Array(n * MAX_PATTERNS);
  const flowOut = new Float64Array(n);
  const flowIn = new Float64Array(n);
  const satOut = new Float64Array(n);
  const satIn = new Float64Array(n);
  const lanesOut = new Float64Array(n);
  const lanesIn = new Float64Array(n);
  const queueOut = new Float64Array(n);
  const queueIn = new Float64Array(n);
  const windows: ThroughWindows[] = [];
  const starts = new Float64Array(c.phaseIds.length);
  let volumeOut = 0;
  let volumeIn = 0;
  indices.forEach((i, k) => {
    const outM = throughIndex(outApproach[k]!);
    const inM = throughIndex(inApproach[k]!);
    const w = newThroughWindows();
    throughWindows(c, buf, i, outM, inM, starts, w);
    if (w.outGreenS <= 0 || w.inGreenS <= 0) {
      throw new GreenwaveError(ErrorCode.InvalidInput, `corridor ${corridor.id}: intersection ${c.intersectionIds[i]} has no protected ${w.outGreenS <= 0 ? outApproach[k] : inApproach[k]} through green to coordinate`);
    }
    windows.push(w);
    periodS[k] = buf.cycleS[i]!;
    const dOut = movementDemand(c, buf, i, outM);
    const dIn = movementDemand(c, buf, i, inM);
    volumeOut += dOut.flow;
    volumeIn += dIn.flow;
    flowOut[k] = dOut.lanes > 0 ? dOut.flow / dOut.lanes : 0;
    flowIn[k] = dIn.lanes > 0 ? dIn.flow / dIn.lanes : 0;
    satOut[k] = dOut.sat;
    satIn[k] = dIn.sat;
    lanesOut[k] = Math.max(dOut.lanes, 1e-3);
    lanesIn[k] = Math.max(dIn.lanes, 1e-3);
    // Queue clearance: traffic that turned in upstream and reached the stop line during red.
    const redShareOut = 1 - w.outGreenS / periodS[k]!;
    const redShareIn = 1 - w.inGreenS / periodS[k]!;
    const upOut = k > 0 ? turnInFlow(c, buf, indices[k - 1]!, throughIndex(outApproach[k - 1]!)) : 0;
    const upIn = k < indices.length - 1 ? turnInFlow(c, buf, indices[k + 1]!, throughIndex(inApproach[k + 1]!)) : 0;
    queueOut[k] = Math.min(MAX_QUEUE_SHARE * w.outGreenS, ((upOut * periodS[k]!) / 3600 / lanesOut[k]!) * redShareOut * QUEUE_HEADWAY_S);
    queueIn[k] = Math.min(MAX_QUEUE_SHARE * w.inGreenS, ((upIn * periodS[k]!) / 3600 / lanesIn[k]!) * redShareIn * QUEUE_HEADWAY_S);
    greenOutS[k] = w.outGreenS - queueOut[k]!;
    greenInS[k] = w.inGreenS - queueIn[k]!;
    patternCount[k] = w.patternCount;
    for (let p = 0; p < w.patternCount; p++) {
      outStartS[k * MAX_PATTERNS + p] = w.outStartS[p]! + queueOut[k]!;
      inStartS[k * MAX_PATTERNS + p] = w.inStartS[p]! + queueIn[k]!;
    }
  });
  // Weights: the corridor's direction preference times each direction's through volume.
  const wo = corridor.outboundWeight * volumeOut;
  const wi = (1 - corridor.outboundWeight) * volumeIn;
  const total = wo + wi > 0 ? wo + wi : 1;
  const problem: BandProblem = {
    n,
    cycleS,
    weightOut: wo + wi > 0 ? wo / total : 0.5,
    weightIn: wo + wi > 0 ? wi / total : 0.5,
    periodS,
    greenOutS,
    greenInS,
    patternCount,
    outStartS,
    inStartS,
    travelOutMinS,
    travelOutMaxS,
    travelInMinS,
    travelInMaxS,
  };
  const traffic: CorridorTraffic = { flowOutVehPerH: flowOut, flowInVehPerH: flowIn, satOutVehPerH: satOut, satInVehPerH: satIn, lanesOut, lanesIn, queueOutS: queueOut, queueInS: queueIn };
  return { indices, problem, traffic, windows, doubleCycled, outApproach, inApproach, positionM, lengthM };
}

const ORDER_NAMES = ['lead-lead', 'lag-lead', 'lead-lag', 'lag-lag'];

function finish(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, prep: Prepared, sol: BandSolution, uncoordinated: CorridorState, bandState: CorridorState, refined: Performance, bands: BandSolver): CorridorPlan {
  const { problem: p, indices, windows } = prep;
  const n = p.n;
  // The first signal is the time reference: shift everything so its offset is 0.
  const shift = sol.offsetS[0]!;
  const issues = new IssueList();
  const members: CorridorIntersection[] = [];
  indices.forEach((i, k) => {
    const w = windows[k]!;
    const pattern = sol.pattern[k]!;
    applyPattern(c, buf, i, w.barrier, w.swapMask[pattern]!);
    const offset = mod(sol.offsetS[k]! - shift, p.periodS[k]!);
    buf.offsetS[i] = Math.round(offset * 10) / 10 >= p.periodS[k]! ? 0 : Math.round(offset * 10) / 10;
    if (!validateIntersectionPlan(c, i, buf, issues)) throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
    const ix = c.network.intersections[i]!;
    members.push({
      id: ix.id,
      name: ix.name,
      positionM: prep.positionM[k]!,
      cycleS: buf.cycleS[i]!,
      doubleCycled: prep.doubleCycled[k]!,
      offsetS: buf.offsetS[i]!,
      leftTurnOrder: w.barrier < 0 ? 'fixed' : ORDER_NAMES[w.swapMask[pattern]!]!,
      outboundApproach: prep.outApproach[k]!,
      inboundApproach: prep.inApproach[k]!,
      outGreen: { startS: round1(buf.offsetS[i]! + w.outStartS[pattern]!), lengthS: round1(w.outGreenS) },
      inGreen: { startS: round1(buf.offsetS[i]! + w.inStartS[pattern]!), lengthS: round1(w.inGreenS) },
      queueClearanceOutS: round1(prep.traffic.queueOutS[k]!),
      queueClearanceInS: round1(prep.traffic.queueInS[k]!),
    });
  });
  // Bands of the plan as it will run (offsets rounded to 0.1 s), measured on its green windows.
  for (let k = 0; k < n; k++) sol.offsetS[k] = buf.offsetS[indices[k]!]!;
  bands.measure(p, sol);
  const minOut = narrowestGreenS(p.greenOutS, n);
  const minIn = narrowestGreenS(p.greenInS, n);
  const speeds = (len: readonly number[], t: Float64Array) => len.map((m, k) => round1((m / t[k]!) * 3.6));
  return {
    corridorId: corridor.id,
    name: corridor.name,
    cycleS: p.cycleS,
    mode: sol.mode === BandMode.TwoWay ? 'two-way' : sol.mode === BandMode.OutboundOnly ? 'outbound only' : 'inbound only',
    weightOut: round3(p.weightOut),
    weightIn: round3(p.weightIn),
    attainabilityOut: round3(sol.bandOutS / minOut),
    attainabilityIn: round3(sol.bandInS / minIn),
    progressionKph: { out: speeds(prep.lengthM, sol.travelOutS), in: speeds(prep.lengthM, sol.travelInS) },
    travelOutS: Array.from(sol.travelOutS.subarray(0, n - 1), round1),
    travelInS: Array.from(sol.travelInS.subarray(0, n - 1), round1),
    bandOutStartS: round1(sol.bandOutStartS),
    bandInStartS: round1(sol.bandInStartS),
    uncoordinated: roundState(uncoordinated),
    bandOptimized: roundState(bandState),
    refined: roundState(state(sol, refined)),
    intersections: members,
    system: null,
  };
}

function roundState(s: CorridorState): CorridorState {
  return { bandOutS: round1(s.bandOutS), bandInS: round1(s.bandInS), delaySPerVeh: round1(s.delaySPerVeh), stopsPerVeh: round3(s.stopsPerVeh) };
}

