/**
 * The one safety validator. Every timing plan passes through it before it
 * leaves the engine, whoever produced it (the timing core, the corridor
 * optimizer, bus priority, or a plan read from a file). It checks what a
 * conflict monitor would fault on and what a controller would refuse:
 *  - minimum greens, and pedestrian walk + clearance within the green; an
 *    on-demand phase (a bus phase) may instead be skipped: no green, no yellow,
 *    no all-red, taking no time;
 *  - yellow and all-red no shorter than the ITE clearances of the phase;
 *  - each ring's phases back to back, rings meeting at every barrier, and
 *    the barriers summing exactly to the cycle; the offset inside the cycle;
 *  - no two conflicting phases (vehicle or pedestrian) green, yellow or in
 *    their red clearance at the same moment, around the cycle boundary too.
 * It runs on the compiled arrays and allocates nothing when a plan is sound.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import type { IssueList } from '../errors.js';
import { mod } from '../numeric.js';

/** Tolerance for float comparisons: plans are quantized to 0.1 s. */
const EPS = 1e-6;

/** Checks intersection i of `plan`; returns true if safe. Problems go to `issues` when given. */
export function validateIntersectionPlan(c: CompiledNetwork, i: number, plan: PlanBuffer, issues?: IssueList): boolean {
  const id = c.intersectionIds[i]!;
  let ok = true;
  const fail = (path: string, message: string): void => {
    ok = false;
    issues?.add(`plan[${id}]${path}`, message);
  };
  const cycle = plan.cycleS[i]!;
  const offset = plan.offsetS[i]!;
  if (!(Number.isFinite(cycle) && cycle > 0)) {
    fail('.cycleS', `cycle ${cycle} s is not a positive finite duration`);
    return false;
  }
  if (!(Number.isFinite(offset) && offset >= 0 && offset < cycle)) fail('.offsetS', `offset ${offset} s must be at least 0 and less than the cycle ${cycle} s`);

  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  for (let p = p0; p < p1; p++) {
    const g = plan.phaseGreenS[p]!;
    const y = plan.phaseYellowS[p]!;
    const r = plan.phaseAllRedS[p]!;
    const s = plan.phaseStartS[p]!;
    const ph = `.phases[${c.phaseIds[p]}]`;
    if (!(Number.isFinite(g) && Number.isFinite(y) && Number.isFinite(r) && Number.isFinite(s))) {
      fail(ph, 'phase times must be finite numbers');
      return false;
    }
    if (c.phaseOnDemand[p] === 1 && g === 0 && y === 0 && r === 0) continue;
    if (c.phasePedestrianS[p]! > 0 && g + EPS < c.phasePedestrianS[p]!) fail(`${ph}.greenS`, `green ${g} s is shorter than pedestrian walk + clearance ${c.phasePedestrianS[p]} s`);
    else if (g + EPS < c.phaseMinGreenS[p]!) fail(`${ph}.greenS`, `green ${g} s is below the minimum green ${c.phaseMinGreenS[p]} s`);
    if (y + EPS < c.phaseYellowS[p]!) fail(`${ph}.yellowS`, `yellow ${y} s is below the required change interval ${c.phaseYellowS[p]} s`);
    if (r + EPS < c.phaseAllRedS[p]!) fail(`${ph}.allRedS`, `all-red ${r} s is below the required red clearance ${c.phaseAllRedS[p]} s`);
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
          fail(`.barriers[${b}].rings[${r}]`, `no phase of ring ${r + 1} starts at ${round(t)} s: its phases leave a gap or overlap`);
          break;
        }
        placedMask |= 1 << (next - p0);
        t += plan.phaseGreenS[next]! + plan.phaseYellowS[next]! + plan.phaseAllRedS[next]!;
      }
      first = last;
      if (barrierEnd < 0) barrierEnd = t;
      else if (Math.abs(t - barrierEnd) > EPS) fail(`.barriers[${b}]`, `ring ${r + 1} ends at ${round(t)} s but ring 1 ends at ${round(barrierEnd)} s: rings must meet at the barrier`);
    }
    barrierStart = barrierEnd;
  }
  if (Math.abs(barrierStart - cycle) > EPS) fail('.cycleS', `phase times sum to ${round(barrierStart)} s but the cycle is ${cycle} s`);

  // Conflicting phases must not overlap, clearances included, on the circular cycle.
  for (let a = p0; a < p1; a++) {
    const mask = c.phaseConflictMask[a]!;
    if (mask === 0) continue;
    const la = a - p0;
    if ((mask >>> la) & 1) fail(`.phases[${c.phaseIds[a]}]`, 'phase greens conflicting movements at the same time');
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
        fail(`.phases[${c.phaseIds[a]}]`, `conflicts with phase ${c.phaseIds[b]} but their green, yellow or all-red overlap`);
      }
    }
  }
  return ok;
}


function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
