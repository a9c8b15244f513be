/**
 * Short-way offset correction at cycle zero, as a field controller does it:
 * the cycle starting now is shortened by at most MAX_SHORTEN_SHARE or
 * lengthened by at most MAX_LENGTHEN_SHARE of its length, whichever reaches
 * the offset sooner, in whole tenths of a second (a controller's timing
 * resolution; rounded toward zero so a correction never overshoots), by
 * stretching or squeezing the longest green of ring 1 and the same barrier's
 * longest green in every other ring. No green goes below its minimum green or
 * walk + pedestrian clearance; clearances never change. Called by CycleRunner.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { greenFloorS } from '../priority/layout.js';
import { mod } from '../numeric.js';

/** Largest share of the cycle an offset correction may cut per cycle. */
export const MAX_SHORTEN_SHARE = 0.12;
/** Largest share of the cycle an offset correction may add per cycle. */
export const MAX_LENGTHEN_SHARE = 0.22;

const EPS = 1e-6;

/**
 * Corrects intersection i's offset error for the cycle starting at `cycleStartS`: `run`
 * holds the plan (a copy of `plan`) and receives the corrected layout. True if the
 * correction passed the safety validator and `run` holds it; false if there was nothing
 * to correct, or the validator refused (then `run` may be part-edited: the caller
 * restores the plan).
 */
export function correctOffset(c: CompiledNetwork, i: number, plan: PlanBuffer, run: PlanBuffer, cycleStartS: number): boolean {
  const cyc = plan.cycleS[i]!;
  const late = mod(cycleStartS - plan.offsetS[i]!, cyc);
  if (late < EPS || cyc - late < EPS) return false;
  let delta = late <= cyc - late ? -late : cyc - late;
  delta = towardZeroTenths(Math.max(-MAX_SHORTEN_SHARE * cyc, Math.min(MAX_LENGTHEN_SHARE * cyc, delta)));
  // Stretch the longest green of ring 1, and the same barrier's longest green in every other ring.
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let longest = p0;
  for (let p = p0; p < p1; p++) if (c.phaseRing[p] === 0 && run.phaseGreenS[p]! > run.phaseGreenS[longest]!) longest = p;
  const barrier = c.phaseBarrier[longest]!;
  const rings = c.ringCount[i]!;
  for (let r = 0; r < rings; r++) {
    const b = longestIn(c, i, run, barrier, r);
    // Never below minimum green or walk + pedestrian clearance (whole tenths up).
    if (b >= 0) delta = Math.max(delta, upTenths(greenFloorS(c, b) - run.phaseGreenS[b]!));
  }
  if (Math.abs(delta) < EPS) return false;
  for (let r = 0; r < rings; r++) {
    const b = longestIn(c, i, run, barrier, r);
    if (b < 0) continue;
    const at = run.phaseStartS[b]!;
    run.phaseGreenS[b] = run.phaseGreenS[b]! + delta;
    // Later phases of this ring in the same barrier move with it.
    for (let p = p0; p < p1; p++) if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && run.phaseStartS[p]! > at + 1e-9) run.phaseStartS[p] = run.phaseStartS[p]! + delta;
  }
  // Every phase of a later barrier moves once.
  for (let p = p0; p < p1; p++) if (c.phaseBarrier[p]! > barrier) run.phaseStartS[p] = run.phaseStartS[p]! + delta;
  run.cycleS[i] = cyc + delta;
  run.offsetS[i] = mod(plan.offsetS[i]!, run.cycleS[i]!);
  return validateIntersectionPlan(c, i, run);
}

/** The phase of ring r in a barrier with the longest green in `run` (first on ties), −1 if none. */
function longestIn(c: CompiledNetwork, i: number, run: PlanBuffer, barrier: number, r: number): number {
  const g = run.phaseGreenS;
  let best = -1;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && (best < 0 || g[p]! > g[best]!)) best = p;
  return best;
}

/** x in whole tenths, rounded toward zero; values within 1e-6 of a tenth snap to it. */
function towardZeroTenths(x: number): number {
  const d = x * 10;
  const n = Math.round(d);
  if (Math.abs(d - n) < 1e-6) return n / 10;
  return (d < 0 ? Math.ceil(d) : Math.floor(d)) / 10;
}

/** x in whole tenths, rounded up; values within 1e-6 of a tenth snap to it. */
function upTenths(x: number): number {
  const d = x * 10;
  const n = Math.round(d);
  if (Math.abs(d - n) < 1e-6) return n / 10;
  return Math.ceil(d) / 10;
}
