/**
 * PlanBuffer ⇄ NTCIP 1202 pattern and split tables, shared by the agent
 * (controller side) and the manager (engine side) so both apply the same
 * rules. NTCIP carries timing in whole seconds (splits INCLUDE the phase's
 * yellow change and red clearance, which come from the phase table), the
 * ring order of the phases as a sequence number, and nothing else.
 *
 * What an NTCIP controller refuses (protocols.md §5, [ETX]) is checked here,
 * before the engine's own safety validator:
 *  - an offset of at least one cycle;
 *  - a cycle below the sum of the phase minimums, each minimum being
 *    min green + walk + ped clearance + yellow + red clearance (summed along
 *    the critical path: per barrier the ring that needs most);
 *  - splits whose critical path (per barrier the longest ring) exceeds the cycle.
 * Spare time (splits summing to less than the cycle) goes to the coordinated
 * phase: within a barrier each ring's shortfall goes to its coordinated phase
 * there (else its longest split), and the cycle's spare to the barrier of the
 * first coordinated phase (else ring 1's longest split).
 *
 * Actuated plans (engine/timing/actuated.ts) go out as NTCIP expresses them:
 * the phase table carries min green, passage (0.1 s) and maximum 1; the split
 * table marks the coordinated phases (splitCoordPhase, held on max recall to
 * their yield point) and runs the others actuated (splitMode none: they gap
 * out, and are forced off at their split end, coordForceMode fixed); a fully
 * actuated (isolated) signal runs free, coordOperationalMode 254.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { IssueList } from '../../engine/errors.js';
import { allPhases, pedestrianTimeS } from '../../engine/network/phaseTiming.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { compareRunOrder, phaseDurationS } from '../../engine/timing/runOrder.js';
import { CONTROL_COORDINATED, CONTROL_FIXED, CONTROL_FREE, type ActuatedPlan } from '../../engine/timing/actuated.js';
import { PatternControl, SplitMode } from './oids.js';
import { round1 } from '../../engine/numeric.js';

/** The phase table of one intersection as NTCIP publishes it (integers, units per column). */
export interface PhaseProgram {
  readonly walkS: number;
  readonly pedestrianClearS: number;
  readonly minimumGreenS: number;
  readonly passageDs: number;
  readonly maximum1S: number;
  readonly maximum2S: number;
  readonly yellowChangeDs: number;
  readonly redClearDs: number;
  /** 1-based. */
  readonly ring: number;
  /** 0-based, compiled. */
  readonly barrier: number;
}

/** Pattern + its split table, in NTCIP units (s). Splits and coordinated flags per local phase (compiled order). */
export interface PatternTables {
  readonly cycleS: number;
  readonly offsetS: number;
  readonly sequence: number;
  readonly splitS: readonly number[];
  readonly coord: readonly boolean[];
  /**
   * Per local phase: splitMode phaseOmitted(7). Only an on-demand (bus) phase may be omitted,
   * with a split of 0: that is how a pattern carries a phase the plan skips. Absent: none.
   */
  readonly omitted?: readonly boolean[];
}

const MAX_SEQUENCES = 255;

/**
 * The phase table of intersection i. Fixed-time (no `actuated`): passage 0 (no vehicle
 * extension), maximum 1 = the phase's maximum green. With `actuated`, in an actuated mode:
 * min green rounded up to the second, passage in tenths, maximum 1 = the actuated max green
 * rounded up (never below the min green, never cut below the planned green it covers).
 */
export function phaseProgram(c: CompiledNetwork, i: number, actuated?: ActuatedPlan): PhaseProgram[] {
  const act = actuated && actuated.mode[i] !== CONTROL_FIXED ? actuated : undefined;
  const ix = c.network.intersections[i]!;
  const phases = allPhases(ix);
  const out: PhaseProgram[] = [];
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    const ph = phases[c.phaseFileIndex[p]!]!;
    const walk = ph.pedestrian ? ph.pedestrian.walkS : 0;
    const ped = pedestrianTimeS(ph, ix, c.network.defaults);
    // The engine's minimum is the least green the phase ever shows, pedestrian time included; NTCIP
    // carries that as min green + walk + ped clearance, so only a minimum raised above it goes here.
    const minimumGreenS = Math.ceil((act && act.minGreenS[p]! > c.phaseMinGreenS[p]! + 1e-9 ? act.minGreenS[p]! : ph.minGreenS) - 1e-9);
    out.push({
      walkS: Math.ceil(walk - 1e-9),
      pedestrianClearS: ped > 0 ? Math.ceil(ped - walk - 1e-9) : 0,
      minimumGreenS,
      // Fixed-time: no vehicle extension.
      passageDs: act ? Math.min(255, Math.round(act.passageS[p]! * 10)) : 0,
      maximum1S: act ? Math.min(255, Math.max(minimumGreenS, Math.ceil(act.maxGreenS[p]! - 1e-9))) : Math.round(c.phaseMaxGreenS[p]!),
      maximum2S: Math.round(c.phaseMaxGreenS[p]!),
      yellowChangeDs: Math.round(c.phaseYellowS[p]! * 10),
      redClearDs: Math.round(c.phaseAllRedS[p]! * 10),
      ring: c.phaseRing[p]! + 1,
      barrier: c.phaseBarrier[p]!,
    });
  }
  return out;
}

/** coordOperationalMode for intersection i: 254 (free) for a fully actuated signal, else 0 (automatic: run the selected pattern). */
export function operationalMode(i: number, actuated?: ActuatedPlan): number {
  return actuated?.mode[i] === CONTROL_FREE ? PatternControl.Free : 0;
}

/**
 * splitMode and splitCoordPhase per local phase of a pattern: fixed-time, every phase on maximum
 * vehicle recall (it runs its whole split); actuated-coordinated, the coordinated phases on
 * maximum recall with splitCoordPhase set (held to the yield point, slack comes to them) and
 * the others splitMode none (actuated: gap out, forced off at the split end); free, every phase
 * none. An omitted (skipped bus) phase stays omitted.
 */
export function splitModes(c: CompiledNetwork, i: number, pattern: PatternTables, actuated?: ActuatedPlan): { mode: number[]; coord: boolean[] } {
  const p0 = c.phaseStart[i]!;
  const m = actuated?.mode[i] ?? CONTROL_FIXED;
  const mode: number[] = [];
  const coord: boolean[] = [];
  for (let k = 0; k < pattern.splitS.length; k++) {
    const isCoord = m === CONTROL_COORDINATED && actuated!.coordinated[p0 + k] === 1;
    coord.push(m === CONTROL_FIXED ? pattern.coord[k] === true : isCoord);
    if (pattern.omitted?.[k]) mode.push(SplitMode.PhaseOmitted);
    else if (m === CONTROL_FIXED || isCoord) mode.push(SplitMode.MaximumVehicleRecall);
    else mode.push(SplitMode.None);
  }
  return { mode, coord };
}

/** NTCIP phase minimum (ETX): min green + walk + ped clearance + yellow + red clearance, s. */
export function phaseMinimumS(ph: PhaseProgram): number {
  return ph.minimumGreenS + ph.walkS + ph.pedestrianClearS + (ph.yellowChangeDs + ph.redClearDs) / 10;
}

/**
 * The shortest cycle an NTCIP controller accepts for intersection i: per barrier the ring
 * with the largest sum of phase minimums (min green + walk + ped clearance + clearances, each
 * rounded up to the whole second a split is), summed over barriers (the check in `patternToPlan`).
 */
export function ntcipMinimumCycleS(c: CompiledNetwork, i: number): number {
  const prog = phaseProgram(c, i);
  const p0 = c.phaseStart[i]!;
  let sum = 0;
  for (const rings of phaseGroups(c, i)) {
    let mb = 0;
    // Whole-second splits: each phase needs its minimum rounded up to the second.
    for (const g of rings) mb = Math.max(mb, g.reduce((m, k) => m + (c.phaseOnDemand[p0 + k] === 1 ? 0 : Math.ceil(phaseMinimumS(prog[k]!) - 1e-9)), 0));
    sum += mb;
  }
  return sum;
}

/** Local phase indices per barrier and ring, compiled order: groups[b][r]. */
export function phaseGroups(c: CompiledNetwork, i: number): number[][][] {
  const p0 = c.phaseStart[i]!;
  const groups: number[][][] = [];
  for (let b = 0; b < c.barrierCount[i]!; b++) {
    const rings: number[][] = [];
    for (let r = 0; r < c.ringCount[i]!; r++) rings.push([]);
    groups.push(rings);
  }
  for (let p = p0; p < c.phaseStart[i + 1]!; p++) groups[c.phaseBarrier[p]!]![c.phaseRing[p]!]!.push(p - p0);
  return groups;
}

function factorial(n: number): number {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return f;
}

/** The k-th permutation (lexicographic, 0-based) of `items`. */
function permutation<T>(items: readonly T[], k: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  for (let n = pool.length; n > 0; n--) {
    const f = factorial(n - 1);
    const at = Math.floor(k / f);
    k %= f;
    out.push(pool.splice(at, 1)[0]!);
  }
  return out;
}

function permutationIndex<T>(items: readonly T[], order: readonly T[]): number {
  const pool = [...items];
  let k = 0;
  for (let n = order.length; n > 0; n--) {
    const at = pool.indexOf(order[order.length - n]!);
    if (at < 0) return -1;
    k += at * factorial(n - 1);
    pool.splice(at, 1);
  }
  return k;
}

/** How many sequences the intersection has: every order of the phases within each barrier and ring (at most 255). Sequence 1 = compiled order. */
export function sequenceCount(c: CompiledNetwork, i: number): number {
  let n = 1;
  for (const rings of phaseGroups(c, i)) for (const g of rings) n *= factorial(g.length);
  return Math.min(n, MAX_SEQUENCES);
}

/** Phase order of sequence `seq` (1-based): orders[b][r] = local phase indices in run order. */
export function sequenceOrder(c: CompiledNetwork, i: number, seq: number): number[][][] {
  let k = seq - 1;
  return phaseGroups(c, i).map((rings) =>
    rings.map((g) => {
      const n = factorial(g.length);
      const pick = k % n;
      k = Math.floor(k / n);
      return permutation(g, pick);
    }),
  );
}

/** sequenceData of (seq, ring 1-based): the ring's phase numbers (1-based) in run order over the cycle. */
export function sequenceData(c: CompiledNetwork, i: number, seq: number, ring: number): number[] {
  return sequenceOrder(c, i, seq).flatMap((rings) => (rings[ring - 1] ?? []).map((k) => k + 1));
}

/**
 * Expands a pattern into intersection i of `out` (cycle, offset, phase starts and times, yellow
 * and red from the phase table). Returns false with the reasons in `issues` when an NTCIP
 * controller would refuse it or the engine's safety validator does.
 */
export function patternToPlan(c: CompiledNetwork, i: number, pat: PatternTables, out: PlanBuffer, issues: IssueList, program?: readonly PhaseProgram[]): boolean {
  const id = c.intersectionIds[i]!;
  const prog = program ?? phaseProgram(c, i);
  const n = prog.length;
  const at = `pattern[${id}]`;
  if (pat.splitS.length !== n || pat.coord.length !== n) {
    issues.add(at, `the split table has ${pat.splitS.length} phases, the intersection ${n}`);
    return false;
  }
  if (!(Number.isInteger(pat.cycleS) && pat.cycleS > 0)) {
    issues.add(`${at}.cycleTime`, `cycle ${pat.cycleS} s: the pattern is not programmed (cycle must be a whole number of seconds > 0)`);
    return false;
  }
  if (!(Number.isInteger(pat.sequence) && pat.sequence >= 1 && pat.sequence <= sequenceCount(c, i))) {
    issues.add(`${at}.sequenceNumber`, `sequence ${pat.sequence} does not exist (1..${sequenceCount(c, i)})`);
    return false;
  }
  if (!(pat.offsetS >= 0 && pat.offsetS < pat.cycleS)) issues.add(`${at}.offsetTime`, `offset ${pat.offsetS} s must be less than the cycle ${pat.cycleS} s`);
  const p0 = c.phaseStart[i]!;
  const omitted = (k: number): boolean => pat.omitted?.[k] === true;
  for (let k = 0; k < n; k++) {
    if (!omitted(k)) continue;
    if (c.phaseOnDemand[p0 + k] !== 1) issues.add(`${at}.splits[${k + 1}].mode`, `phase ${c.phaseIds[p0 + k]} always runs: a fixed-time controller cannot omit it (splitMode phaseOmitted)`);
    else if (pat.splitS[k] !== 0) issues.add(`${at}.splits[${k + 1}].time`, `omitted phase ${c.phaseIds[p0 + k]} has a split of ${pat.splitS[k]} s; it must be 0`);
  }
  if (issues.length > 0) return false;
  const orders = sequenceOrder(c, i, pat.sequence);
  let minSum = 0;
  let critical = 0;
  const barrierLen: number[] = [];
  for (const rings of orders) {
    let mb = 0;
    let lb = 0;
    for (const g of rings) {
      let m = 0;
      let s = 0;
      for (const k of g) {
        if (omitted(k)) continue;
        m += phaseMinimumS(prog[k]!);
        s += pat.splitS[k]!;
      }
      mb = Math.max(mb, m);
      lb = Math.max(lb, s);
    }
    minSum += mb;
    critical += lb;
    barrierLen.push(lb);
  }
  if (pat.cycleS + 1e-9 < minSum) issues.add(`${at}.cycleTime`, `cycle ${pat.cycleS} s is below the sum of the phase minimums ${round1(minSum)} s (min green + walk + ped clearance + yellow + red clearance along the critical path)`);
  if (critical > pat.cycleS + 1e-9) issues.add(`${at}.splits`, `the splits' critical path ${critical} s exceeds the cycle ${pat.cycleS} s`);
  if (issues.length > 0) return false;

  // Spare time: ring shortfalls within each barrier, then the cycle's spare, to the coordinated phases.
  const split = [...pat.splitS];
  // An omitted phase takes no time and never receives any.
  const receiver = (g: readonly number[]): number => {
    const coord = g.find((k) => pat.coord[k] && !omitted(k));
    if (coord !== undefined) return coord;
    let best = -1;
    for (const k of g) if (!omitted(k) && (best < 0 || split[k]! >= split[best]!)) best = k;
    return best;
  };
  orders.forEach((rings, b) => {
    for (const g of rings) {
      if (receiver(g) < 0) continue;
      const short = barrierLen[b]! - g.reduce((s, k) => s + split[k]!, 0);
      if (short > 0) split[receiver(g)]! += short;
    }
  });
  const spare = pat.cycleS - critical;
  if (spare > 0) {
    let cb = orders.findIndex((rings) => rings.some((g) => g.some((k) => pat.coord[k] && !omitted(k))));
    if (cb < 0) {
      let best = -1;
      orders.forEach((rings, b) => {
        for (const k of rings[0] ?? []) if (!omitted(k) && (best < 0 || split[k]! > split[best]!)) ((best = k), (cb = b));
      });
    }
    for (const g of orders[cb]!) if (receiver(g) >= 0) split[receiver(g)]! += spare;
  }

  out.cycleS[i] = pat.cycleS;
  out.offsetS[i] = pat.offsetS;
  let barrierStart = 0;
  orders.forEach((rings) => {
    let end = barrierStart;
    for (const g of rings) {
      let t = barrierStart;
      for (const k of g) {
        const y = omitted(k) ? 0 : prog[k]!.yellowChangeDs / 10;
        const r = omitted(k) ? 0 : prog[k]!.redClearDs / 10;
        out.phaseStartS[p0 + k] = round1(t);
        out.phaseYellowS[p0 + k] = y;
        out.phaseAllRedS[p0 + k] = r;
        out.phaseGreenS[p0 + k] = round1(split[k]! - y - r);
        t += split[k]!;
      }
      end = Math.max(end, t);
    }
    barrierStart = end;
  });
  const before = issues.length;
  validateIntersectionPlan(c, i, out, issues);
  return issues.length === before;
}

/**
 * Quantizes intersection i of an engine plan to an NTCIP pattern: whole-second cycle, offset and
 * splits (phase end times rounded, so every ring still meets at each barrier), the sequence that
 * matches the plan's ring order. Problems (clearances that differ from the phase table, orders
 * no sequence carries) go to `issues`; the NTCIP checks run in patternToPlan.
 */
export function planToPattern(c: CompiledNetwork, i: number, plan: PlanBuffer, issues: IssueList): PatternTables | undefined {
  const id = c.intersectionIds[i]!;
  const prog = phaseProgram(c, i);
  const p0 = c.phaseStart[i]!;
  const at = `plan[${id}]`;
  const groups = phaseGroups(c, i);
  // A phase the plan skips (an on-demand bus phase) goes out omitted, with a split of 0.
  const omitted = prog.map((_, k) => c.phaseOnDemand[p0 + k] === 1 && plan.phaseGreenS[p0 + k]! + plan.phaseYellowS[p0 + k]! + plan.phaseAllRedS[p0 + k]! === 0);
  for (let k = 0; k < prog.length; k++) {
    if (omitted[k]) continue;
    if (Math.abs(plan.phaseYellowS[p0 + k]! * 10 - prog[k]!.yellowChangeDs) > 0.5 || Math.abs(plan.phaseAllRedS[p0 + k]! * 10 - prog[k]!.redClearDs) > 0.5) {
      issues.add(`${at}.phases[${c.phaseIds[p0 + k]}]`, `yellow ${plan.phaseYellowS[p0 + k]} s / red ${plan.phaseAllRedS[p0 + k]} s differ from the phase table (${prog[k]!.yellowChangeDs / 10} / ${prog[k]!.redClearDs / 10} s): NTCIP patterns cannot carry clearances`);
    }
  }
  const cycle = plan.cycleS[i]!;
  const C = Math.round(cycle);
  if (!(plan.offsetS[i]! >= 0 && plan.offsetS[i]! < cycle)) issues.add(`${at}.offsetS`, `offset ${plan.offsetS[i]} s must be less than the cycle ${cycle} s (NTCIP controllers refuse an offset of a cycle or more)`);
  if (!(C > 0 && C <= 255)) issues.add(`${at}.cycleS`, `cycle ${cycle} s does not fit patternCycleTime (1..255 s)`);
  if (issues.length > 0) return undefined;
  const scale = C / cycle;
  // Plan order per group, by start time.
  const orders = groups.map((rings) => rings.map((g) => [...g].sort((a, b) => compareRunOrder(plan.phaseStartS[p0 + a]!, phaseDurationS(plan, p0 + a), a, plan.phaseStartS[p0 + b]!, phaseDurationS(plan, p0 + b), b))));
  // Sequence number: mixed radix over the groups, as sequenceOrder decodes it.
  let seq = 0;
  let radix = 1;
  groups.forEach((rings, b) => rings.forEach((g, r) => {
    seq += permutationIndex(g, orders[b]![r]!) * radix;
    radix *= factorial(g.length);
  }));
  seq += 1;
  if (seq > MAX_SEQUENCES) {
    issues.add(at, `its phase order is sequence ${seq}; the sequence table holds ${MAX_SEQUENCES}`);
    return undefined;
  }
  const split = new Array<number>(prog.length).fill(0);
  /** A phase's minimum as a whole-second split (min green with pedestrian time, plus clearances). */
  const needS = (k: number): number => Math.ceil(c.phaseMinGreenS[p0 + k]! + plan.phaseYellowS[p0 + k]! + plan.phaseAllRedS[p0 + k]! - 1e-9);
  let barrierStart = 0;
  let barrierStartInt = 0;
  orders.forEach((rings) => {
    // Barrier end from ring 1 (the validator guarantees the rings meet).
    const len = rings[0]!.reduce((s, k) => s + plan.phaseGreenS[p0 + k]! + plan.phaseYellowS[p0 + k]! + plan.phaseAllRedS[p0 + k]!, 0);
    const endInt = Math.round((barrierStart + len) * scale);
    for (const g of rings) {
      let t = barrierStart;
      let prev = barrierStartInt;
      g.forEach((k, j) => {
        t += plan.phaseGreenS[p0 + k]! + plan.phaseYellowS[p0 + k]! + plan.phaseAllRedS[p0 + k]!;
        const e = j === g.length - 1 ? endInt : Math.round(t * scale);
        split[k] = e - prev;
        prev = e;
      });
      // Whole seconds can round a phase planned at its minimum (a fractional pedestrian
      // minimum, 30.4 s) below it: take the second from the ring's phase with the most room.
      for (const k of g) {
        if (omitted[k]) continue;
        while (split[k]! < needS(k)) {
          let donor = -1;
          for (const q of g) if (q !== k && !omitted[q] && split[q]! > needS(q) && (donor < 0 || split[q]! - needS(q) > split[donor]! - needS(donor))) donor = q;
          if (donor < 0) break;
          split[donor]!--;
          split[k]!++;
        }
      }
    }
    barrierStart += len;
    barrierStartInt = endInt;
  });
  // A barrier rounded below its minimum (stage lists: one phase per barrier) takes a second from a
  // barrier with room: each of its rings gives it from its phase with the most room.
  const ringNeed = (g: readonly number[]): number => g.reduce((m, k) => m + (omitted[k] ? 0 : needS(k)), 0);
  const ringLen = (g: readonly number[]): number => g.reduce((m, k) => m + split[k]!, 0);
  for (let guard = 0; guard < 4 * C; guard++) {
    const short = orders.findIndex((rings) => rings.some((g) => ringLen(g) < ringNeed(g)));
    if (short < 0) break;
    const donor = orders.findIndex((rings, b) => b !== short && rings.every((g) => ringLen(g) > ringNeed(g)));
    if (donor < 0) break;
    const pick = (g: readonly number[], score: (k: number) => number): number => g.filter((k) => !omitted[k]).reduce((best, k) => (best < 0 || score(k) > score(best) ? k : best), -1);
    for (const g of orders[short]!) split[pick(g, (k) => needS(k) - split[k]!)]!++;
    for (const g of orders[donor]!) split[pick(g, (k) => split[k]! - needS(k))]!--;
  }
  const offset = ((Math.round(plan.offsetS[i]! * scale) % C) + C) % C;
  return { cycleS: C, offsetS: offset, sequence: seq, splitS: split, coord: new Array<boolean>(prog.length).fill(false), omitted };
}

