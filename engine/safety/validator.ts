/**
 * The one safety validator. Every timing plan passes through it before it
 * leaves the engine, whoever produced it (the timing core, the corridor
 * optimizer, bus priority, or a plan read from a file). It checks what a
 * conflict monitor would fault on and what a controller would refuse:
 *  - each requirement at the stricter of the compiled network's value and the
 *    absolute floors of floors.ts (a compiled network built some other way
 *    cannot lower them); the cycle and every green within the cycle ceiling;
 *  - minimum greens, and pedestrian walk + clearance within the green; an
 *    on-demand phase (a bus phase) may instead be skipped: no green, no yellow,
 *    no all-red, taking no time;
 *  - yellow and all-red no shorter than the ITE clearances of the phase;
 *  - each ring's phases back to back, rings meeting at every barrier, and
 *    the barriers summing exactly to the cycle; the offset inside the cycle;
 *  - no two conflicting phases (vehicle or pedestrian) green, yellow or in
 *    their red clearance at the same moment, around the cycle boundary too.
 * It runs on the compiled arrays and allocates nothing when a plan is sound.
 *
 * validateActuatedPlan checks the actuated settings a plan may carry
 * (engine/timing/actuated.ts): per phase minimum green, passage and maximum
 * green, and in coordinated mode the force-offs and coordinated phases. The
 * cycle runner refuses settings it refuses (engine/runner/cycleRunner.ts).
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import type { IssueList } from '../errors.js';
import type { ActuatedPlan } from '../timing/actuated.js';
import { mod, round3 } from '../numeric.js';
import { SAFETY_FLOORS, cycleCeilingS } from './floors.js';

/** Tolerance for float comparisons: plans are quantized to 0.1 s. */
const EPS = 1e-6;

/**
 * Stable names of the validator's rules, carried as `code` on every issue it reports.
 * Tests assert on them, and scripts/mutate-validator.mjs deletes each rule's lines (marked
 * `// rule:CODE`) in turn to show a test fails without it. Never rename: tools match on them.
 */
export const ValidatorRule = {
  /** Cycle, offset or a phase time is NaN or infinite, or the cycle is not positive. */
  NonFinite: 'NON_FINITE',
  /** The offset is negative or not less than the cycle. */
  Offset: 'OFFSET',
  /** The cycle is longer than the intersection's ceiling (floors.ts cycleCeilingS). */
  MaxCycle: 'MAX_CYCLE',
  /** Green shorter than walk + pedestrian clearance. */
  PedClearance: 'PED_CLEARANCE',
  /** Green shorter than the minimum green (and the absolute 4 s floor). */
  MinGreen: 'MIN_GREEN',
  /** Green longer than the cycle ceiling leaves after the phase's own clearances. */
  MaxGreen: 'MAX_GREEN',
  /** Yellow shorter than the ITE change interval (and the absolute 3 s floor). */
  Yellow: 'YELLOW',
  /** All-red shorter than the ITE red clearance. */
  AllRed: 'ALL_RED',
  /** A ring's phases leave a gap or overlap. */
  RingTiling: 'RING_TILING',
  /** Rings do not meet at a barrier. */
  Barrier: 'BARRIER',
  /** The phase times do not sum to the cycle. */
  CycleSum: 'CYCLE_SUM',
  /** Conflicting phases (or a phase with itself) green, yellow or in red clearance together. */
  Conflict: 'CONFLICT',
} as const;
export type ValidatorRule = (typeof ValidatorRule)[keyof typeof ValidatorRule];

/** Checks intersection i of `plan`; returns true if safe. Problems go to `issues` when given. */
export function validateIntersectionPlan(c: CompiledNetwork, i: number, plan: PlanBuffer, issues?: IssueList): boolean {
  const id = c.intersectionIds[i]!;
  let ok = true;
  const fail = (rule: ValidatorRule, path: string, message: string): void => {
    ok = false;
    issues?.add(`plan[${id}]${path}`, message, rule);
  };
  const cycle = plan.cycleS[i]!;
  const offset = plan.offsetS[i]!;
  if (!(Number.isFinite(cycle) && cycle > 0)) {
    fail(ValidatorRule.NonFinite, '.cycleS', `cycle ${cycle} s is not a positive finite duration`); // rule:NON_FINITE
    return false;
  }
  if (!(Number.isFinite(offset) && offset >= 0 && offset < cycle)) fail(ValidatorRule.Offset, '.offsetS', `offset ${offset} s must be at least 0 and less than the cycle ${cycle} s`); // rule:OFFSET
  // The ceiling is the network's max cycle with room for transitions, never above 300 s, whatever the compiled network says.
  const ceilingS = cycleCeilingS(c.maxCycleS[i]!);
  if (cycle > ceilingS + EPS) fail(ValidatorRule.MaxCycle, '.cycleS', `cycle ${cycle} s is above the ceiling ${ceilingS} s (max cycle ${c.maxCycleS[i]} s × ${SAFETY_FLOORS.transitionCycleFactor} for transitions, at most ${SAFETY_FLOORS.maxCycleS} s)`); // rule:MAX_CYCLE

  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  for (let p = p0; p < p1; p++) {
    const g = plan.phaseGreenS[p]!;
    const y = plan.phaseYellowS[p]!;
    const r = plan.phaseAllRedS[p]!;
    const s = plan.phaseStartS[p]!;
    const ph = `.phases[${c.phaseIds[p]}]`;
    if (!(Number.isFinite(g) && Number.isFinite(y) && Number.isFinite(r) && Number.isFinite(s))) {
      fail(ValidatorRule.NonFinite, ph, 'phase times must be finite numbers'); // rule:NON_FINITE
      return false;
    }
    if (c.phaseOnDemand[p] === 1 && g === 0 && y === 0 && r === 0) continue;
    // Each requirement is the stricter of the compiled network's and the absolute floor.
    const pedS = c.phasePedestrianS[p]! > 0 ? Math.max(c.phasePedestrianS[p]!, SAFETY_FLOORS.minWalkS) : 0;
    const minGreenS = Math.max(c.phaseMinGreenS[p]!, SAFETY_FLOORS.minVehicleGreenS);
    const yellowS = Math.max(c.phaseYellowS[p]!, SAFETY_FLOORS.minYellowS);
    const allRedS = c.phaseAllRedS[p]!;
    const shortForPed = pedS > 0 && g + EPS < pedS;
    if (shortForPed) fail(ValidatorRule.PedClearance, `${ph}.greenS`, `green ${g} s is shorter than pedestrian walk + clearance ${pedS} s`); // rule:PED_CLEARANCE
    if (!shortForPed && g + EPS < minGreenS) fail(ValidatorRule.MinGreen, `${ph}.greenS`, `green ${g} s is below the minimum green ${minGreenS} s`); // rule:MIN_GREEN
    if (g > ceilingS - y - r + EPS) fail(ValidatorRule.MaxGreen, `${ph}.greenS`, `green ${g} s is longer than the cycle allows: at most ${round3(ceilingS - y - r)} s within the ${ceilingS} s ceiling`); // rule:MAX_GREEN
    if (y + EPS < yellowS) fail(ValidatorRule.Yellow, `${ph}.yellowS`, `yellow ${y} s is below the required change interval ${yellowS} s`); // rule:YELLOW
    if (r + EPS < allRedS) fail(ValidatorRule.AllRed, `${ph}.allRedS`, `all-red ${r} s is below the required red clearance ${allRedS} s`); // rule:ALL_RED
  }
  if (!ok) return false;

  // Within each barrier, each ring's phases tile it back to back, in any order (a lagging left
  // runs after its through), and all rings end together at the barrier.
  const nb = c.barrierCount[i]!;
  const nr = c.ringCount[i]!;
  let barrierStart = 0;
  let first = p0;
  // Placed phases, by local index: a skipped phase starts where the next one does, so a
  // phase found at time t must not be found again (conflict masks cap phases at 32).
  let placedMask = 0;
  for (let b = 0; b < nb; b++) {
    let barrierEnd = -1;
    for (let r = 0; r < nr; r++) {
      let last = first;
      while (last < p1 && c.phaseBarrier[last] === b && c.phaseRing[last] === r) last++;
      let t = barrierStart;
      for (let placed = first; placed < last; placed++) {
        // A skipped phase at t runs before the phase that starts there (engine/timing/runOrder.ts).
        let next = -1;
        for (let q = first; q < last; q++) {
          if (((placedMask >>> (q - p0)) & 1) !== 0 || Math.abs(plan.phaseStartS[q]! - t) > EPS) continue;
          if (next < 0 || plan.phaseGreenS[q]! + plan.phaseYellowS[q]! + plan.phaseAllRedS[q]! === 0) next = q;
          if (plan.phaseGreenS[next]! + plan.phaseYellowS[next]! + plan.phaseAllRedS[next]! === 0) break;
        }
        if (next < 0) {
          fail(ValidatorRule.RingTiling, `.barriers[${b}].rings[${r}]`, `no phase of ring ${r + 1} starts at ${round3(t)} s: its phases leave a gap or overlap`); // rule:RING_TILING
          break;
        }
        placedMask |= 1 << (next - p0);
        t += plan.phaseGreenS[next]! + plan.phaseYellowS[next]! + plan.phaseAllRedS[next]!;
      }
      first = last;
      if (barrierEnd < 0) barrierEnd = t;
      else if (Math.abs(t - barrierEnd) > EPS) fail(ValidatorRule.Barrier, `.barriers[${b}]`, `ring ${r + 1} ends at ${round3(t)} s but ring 1 ends at ${round3(barrierEnd)} s: rings must meet at the barrier`); // rule:BARRIER
    }
    barrierStart = barrierEnd;
  }
  if (Math.abs(barrierStart - cycle) > EPS) fail(ValidatorRule.CycleSum, '.cycleS', `phase times sum to ${round3(barrierStart)} s but the cycle is ${cycle} s`); // rule:CYCLE_SUM

  // Conflicting phases must not overlap, clearances included, on the circular cycle.
  for (let a = p0; a < p1; a++) {
    const mask = c.phaseConflictMask[a]!;
    if (mask === 0) continue;
    const la = a - p0;
    if ((mask >>> la) & 1) fail(ValidatorRule.Conflict, `.phases[${c.phaseIds[a]}]`, 'phase greens conflicting movements at the same time'); // rule:CONFLICT
    const sa = plan.phaseStartS[a]!;
    const da = plan.phaseGreenS[a]! + plan.phaseYellowS[a]! + plan.phaseAllRedS[a]!;
    // Only a skipped on-demand phase takes no time (checked above): it shows nothing.
    if (da === 0) continue;
    for (let b = a + 1; b < p1; b++) {
      if (((mask >>> (b - p0)) & 1) === 0) continue;
      const sb = plan.phaseStartS[b]!;
      const db = plan.phaseGreenS[b]! + plan.phaseYellowS[b]! + plan.phaseAllRedS[b]!;
      if (db === 0) continue;
      if (mod(sb - sa, cycle) + EPS < da || mod(sa - sb, cycle) + EPS < db) {
        fail(ValidatorRule.Conflict, `.phases[${c.phaseIds[a]}]`, `conflicts with phase ${c.phaseIds[b]} but their green, yellow or all-red overlap`); // rule:CONFLICT
      }
    }
  }
  return ok;
}

/**
 * Stable names of the actuated-settings rules (validateActuatedPlan), carried as `code`.
 * Never rename: tools match on them.
 */
export const ActuatedRule = {
  /** An array of the settings does not match the network (intersection or phase count). */
  Shape: 'ACT_SHAPE',
  /** The mode is not CONTROL_FIXED, CONTROL_FREE or CONTROL_COORDINATED. */
  Mode: 'ACT_MODE',
  /** A minimum green, passage, maximum green or force-off is NaN or infinite where it is used. */
  NonFinite: 'ACT_NON_FINITE',
  /** Minimum green below the phase's compiled minimum green, the 4 s floor or walk + pedestrian clearance. */
  MinGreen: 'ACT_MIN_GREEN',
  /** Passage (gap) time outside (0, 10] s. */
  Passage: 'ACT_PASSAGE',
  /** Maximum green below the minimum green, or above the phase's maximum green (or its planned green if longer). */
  MaxGreen: 'ACT_MAX_GREEN',
  /** A force-off outside the cycle, or leaving the phase less than its minimum green, or later than its planned green end. */
  ForceOff: 'ACT_FORCE_OFF',
  /** Coordinated mode without a coordinated phase that runs, or a coordinated phase outside coordinated mode or without green. */
  Coordinated: 'ACT_COORDINATED',
  /** Two phases of different rings in one barrier conflict: actuated control may run any two of them together. */
  RingConflict: 'ACT_RING_CONFLICT',
} as const;
export type ActuatedRule = (typeof ActuatedRule)[keyof typeof ActuatedRule];

/** Longest passage (gap) time accepted, s: NTCIP 1202 phasePassage is 0–25.5 s; over 10 s a phase never gaps out in practice. */
export const MAX_PASSAGE_S = 10;

/**
 * Checks the actuated settings `a` of intersection i against `plan` (which must itself pass
 * validateIntersectionPlan: force-offs are read against its starts and greens). True if the
 * cycle runner may run them; problems go to `issues` when given. A phase the plan skips
 * (no green) is never served actuated: only its shape is checked. Allocates nothing when sound.
 */
export function validateActuatedPlan(c: CompiledNetwork, i: number, plan: PlanBuffer, a: ActuatedPlan, issues?: IssueList): boolean {
  const id = c.intersectionIds[i]!;
  let ok = true;
  const fail = (rule: ActuatedRule, path: string, message: string): void => {
    ok = false;
    issues?.add(`actuated[${id}]${path}`, message, rule);
  };
  const nP = c.phaseIds.length;
  if (a.mode.length !== c.intersectionCount || a.minGreenS.length !== nP || a.passageS.length !== nP || a.maxGreenS.length !== nP || a.coordinated.length !== nP || a.forceOffS.length !== nP) {
    fail(ActuatedRule.Shape, '', `settings are sized for another network (${a.mode.length} intersections, ${a.minGreenS.length} phases; this one has ${c.intersectionCount} and ${nP})`); // rule:ACT_SHAPE
    return false;
  }
  const mode = a.mode[i]!;
  if (mode !== 0 && mode !== 1 && mode !== 2) {
    fail(ActuatedRule.Mode, '.mode', `mode ${mode} is not fixed (0), free (1) or coordinated (2)`); // rule:ACT_MODE
    return false;
  }
  if (mode === 0) return true;
  const coordinatedMode = mode === 2;
  const cycle = plan.cycleS[i]!;
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let coordinatedRuns = false;
  for (let p = p0; p < p1; p++) {
    const ph = `.phases[${c.phaseIds[p]}]`;
    const g = plan.phaseGreenS[p]!;
    const coordinated = a.coordinated[p] === 1;
    if (g <= 0) {
      if (coordinated) fail(ActuatedRule.Coordinated, `${ph}.coordinated`, 'a phase the plan skips (no green) cannot be coordinated'); // rule:ACT_COORDINATED
      continue;
    }
    if (coordinated && !coordinatedMode) fail(ActuatedRule.Coordinated, `${ph}.coordinated`, 'a coordinated phase needs the intersection in coordinated mode'); // rule:ACT_COORDINATED
    if (coordinated) coordinatedRuns = true;
    const minS = a.minGreenS[p]!;
    const passS = a.passageS[p]!;
    const maxS = a.maxGreenS[p]!;
    if (!(Number.isFinite(minS) && Number.isFinite(passS) && Number.isFinite(maxS))) {
      fail(ActuatedRule.NonFinite, ph, `minimum green ${minS} s, passage ${passS} s and maximum green ${maxS} s must be finite`); // rule:ACT_NON_FINITE
      continue;
    }
    const pedS = c.phasePedestrianS[p]! > 0 ? Math.max(c.phasePedestrianS[p]!, SAFETY_FLOORS.minWalkS) : 0;
    const floorS = Math.max(c.phaseMinGreenS[p]!, SAFETY_FLOORS.minVehicleGreenS, pedS);
    if (minS + EPS < floorS) fail(ActuatedRule.MinGreen, `${ph}.minGreenS`, `minimum green ${minS} s is below the phase's ${floorS} s (minimum green, the ${SAFETY_FLOORS.minVehicleGreenS} s floor, walk + pedestrian clearance)`); // rule:ACT_MIN_GREEN
    if (!(passS > 0 && passS <= MAX_PASSAGE_S + EPS)) fail(ActuatedRule.Passage, `${ph}.passageS`, `passage ${passS} s must be more than 0 and at most ${MAX_PASSAGE_S} s`); // rule:ACT_PASSAGE
    const ceilingS = Math.max(c.phaseMaxGreenS[p]!, g);
    if (maxS + EPS < minS) fail(ActuatedRule.MaxGreen, `${ph}.maxGreenS`, `maximum green ${maxS} s is below the minimum green ${minS} s`); // rule:ACT_MAX_GREEN
    if (maxS + EPS >= minS && maxS > ceilingS + EPS) fail(ActuatedRule.MaxGreen, `${ph}.maxGreenS`, `maximum green ${maxS} s is above the phase's maximum green ${round3(ceilingS)} s`); // rule:ACT_MAX_GREEN
    if (coordinatedMode) {
      const f = a.forceOffS[p]!;
      if (!(Number.isFinite(f) && f >= 0 && f < cycle)) {
        fail(ActuatedRule.ForceOff, `${ph}.forceOffS`, `force-off ${f} s must be at least 0 and less than the cycle ${cycle} s`); // rule:ACT_FORCE_OFF
      } else {
        // Phases start no later than planned (early return only moves them earlier), so a force-off
        // this far into the planned green always leaves the minimum green; none later than the
        // planned green end, or the phases after it (and the yield point) would be pushed late.
        const into = mod(f - plan.phaseStartS[p]!, cycle);
        if (into + EPS < minS || into > g + EPS) fail(ActuatedRule.ForceOff, `${ph}.forceOffS`, `force-off ${f} s is ${round3(into)} s into the green; it must be between the minimum green ${minS} s and the planned green ${round3(g)} s`); // rule:ACT_FORCE_OFF
      }
    }
  }
  if (coordinatedMode && !coordinatedRuns) fail(ActuatedRule.Coordinated, '.coordinated', 'coordinated mode needs at least one coordinated phase with green'); // rule:ACT_COORDINATED
  // Actuated control runs any phase of one ring beside any phase of another ring in the same barrier.
  for (let p = p0; p < p1; p++) {
    for (let q = p + 1; q < p1; q++) {
      if (c.phaseBarrier[p] === c.phaseBarrier[q] && c.phaseRing[p] !== c.phaseRing[q] && ((c.phaseConflictMask[p]! >>> (q - p0)) & 1) === 1) {
        fail(ActuatedRule.RingConflict, `.phases[${c.phaseIds[p]}]`, `conflicts with phase ${c.phaseIds[q]} of another ring in the same barrier`); // rule:ACT_RING_CONFLICT
      }
    }
  }
  return ok;
}

