/**
 * The cycle search: which common cycle (or cycles) to run each corridor and each
 * system of crossing corridors at. Every whole second from the shortest practical
 * cycle to 60 s above the critical intersection's is timed by coordinate.ts and
 * scored; systems are also tried on one shared cycle with shifts for the crossing
 * traffic (crossing.ts). Called by planCorridors (corridorPlan.ts), which also
 * hands `segmentScore` to the subsystem split (subsystems.ts).
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { ApproachId, Corridor } from '../network/schema.js';
import { planIntersection, type PlanBuffer, type PlanScratch } from '../timing/planner.js';
import { coordinate, finish } from './coordinate.js';
import { chooseShifts, CrossingModel, crossingLinks, type CorridorMember as Member } from './crossing.js';
import { movementDemand } from './movementDemand.js';
import { otherLanesDelay, planIsolated, randomArrivalIndex, throughIndex } from './subsystems.js';

/** Cycle search range of one corridor, s. */
interface CycleRange {
  readonly shortest: number;
  readonly critical: number;
  readonly longest: number;
}

/**
 * The planner's score of signals `indices` (consecutive on a corridor) run as one subsystem at
 * its best common cycle, or isolated when there is one: `coordinate`'s score, plus the through
 * traffic that enters the piece at its ends, which arrives at random.
 */
export function segmentScore(c: CompiledNetwork, buf: PlanBuffer, corridor: Corridor, indices: number[], firstOut: ApproachId, lastIn: ApproachId, scratch: PlanScratch): number {
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

/** One way to time a system of corridors: a cycle per corridor, and shifts when they share one. */
export interface SystemOption {
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
export function systemOptions(c: CompiledNetwork, buf: PlanBuffer, members: readonly Member[], scratch: PlanScratch, count: number): SystemOption[] {
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
      if (!t) {
        t = new Float64Array(C);
        pairs.set(key, t);
      }
      for (let s = 0; s < C; s++) t[s] = t[s]! + linkTable[s]!;
    }
    score += chooseShifts(n, C, (a, b) => pairs.get(a * n + b), shifts);
    out.push({ cycleS, score, shifts: shifts.slice() });
  }
  return out;
}
