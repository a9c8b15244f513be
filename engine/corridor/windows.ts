/**
 * Where the arterial through movements are green inside one intersection's
 * plan, for each left-turn lead/lag pattern the phasing allows. The corridor
 * planner feeds these windows to the band optimizer and applies the chosen
 * pattern back to the plan. Works on the compiled arrays and a PlanBuffer.
 *
 * A pattern swaps the two phases of a ring inside the barrier that carries
 * the through phases (NEMA lead/lag: 1-2 → 2-1). Stage lists have a single
 * pattern: reordering stages would change the sequence a controller is
 * programmed with, not just a left turn's position.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { MAX_PATTERNS } from './band.js';
import { mod } from '../numeric.js';
import { phaseDurationS } from '../timing/runOrder.js';

export interface ThroughWindows {
  patternCount: number;
  /** Barrier whose rings the patterns reorder (-1: none). */
  barrier: number;
  /** Per pattern: bit r set = ring r's two phases run in reverse order. */
  readonly swapMask: Uint8Array;
  /** Per pattern: start of the outbound / inbound through green from the cycle start, s. */
  readonly outStartS: Float64Array;
  readonly inStartS: Float64Array;
  outGreenS: number;
  inGreenS: number;
}

export function newThroughWindows(): ThroughWindows {
  return { patternCount: 1, barrier: -1, swapMask: new Uint8Array(MAX_PATTERNS), outStartS: new Float64Array(MAX_PATTERNS), inStartS: new Float64Array(MAX_PATTERNS), outGreenS: 0, inGreenS: 0 };
}

/** Phase start times for intersection i with the rings of `barrier` reordered by `swapMask`; written to `starts` by global phase index. */
export function layoutPhases(c: CompiledNetwork, buf: PlanBuffer, i: number, barrier: number, swapMask: number, starts: Float64Array): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let barrierStart = 0;
  let p = p0;
  for (let b = 0; b < c.barrierCount[i]!; b++) {
    let barrierLength = 0;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      const first = p;
      let regular = 0;
      for (; p < p1 && c.phaseBarrier[p] === b && c.phaseRing[p] === r; p++) if (c.phaseOnDemand[p] === 0) regular++;
      // Reversing runs the ring backwards: its two regular phases swap, and an on-demand phase
      // mirrors with them (a bus left lagging a leading left leads a lagging one).
      const reverse = b === barrier && ((swapMask >> r) & 1) === 1 && regular === 2;
      let t = barrierStart;
      for (let k = 0; k < p - first; k++) {
        const q = reverse ? p - 1 - k : first + k;
        starts[q] = t;
        t += phaseDurationS(buf, q);
      }
      if (r === 0) barrierLength = t - barrierStart;
    }
    barrierStart += barrierLength;
  }
}

/**
 * The longest stretch of green for `movement` (its protected phases, merged
 * where one follows straight on from another), as [start, length] in `out`.
 */
function movementWindow(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number, starts: Float64Array, cycleS: number, out: Float64Array): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let bestStart = 0;
  let bestLength = 0;
  for (let p = p0; p < p1; p++) {
    // On-demand phases are skipped in plans: only bus priority runs them.
    if (!((c.phaseProtectedMask[p]! >> movement) & 1) || c.phaseOnDemand[p] === 1) continue;
    // Start a window only at a phase that no other serving phase runs straight into.
    let predecessor = false;
    for (let q = p0; q < p1; q++) {
      if (q !== p && (c.phaseProtectedMask[q]! >> movement) & 1 && c.phaseOnDemand[q] === 0 && Math.abs(mod(starts[q]! + phaseDurationS(buf, q), cycleS) - starts[p]!) < 1e-6) predecessor = true;
    }
    if (predecessor) continue;
    const start = starts[p]!;
    let end = start + buf.phaseGreenS[p]!;
    let cur = p;
    for (let guard = 0; guard < p1 - p0; guard++) {
      let next = -1;
      const after = mod(starts[cur]! + phaseDurationS(buf, cur), cycleS);
      for (let q = p0; q < p1; q++) {
        if (q !== cur && (c.phaseProtectedMask[q]! >> movement) & 1 && c.phaseOnDemand[q] === 0 && Math.abs(starts[q]! - after) < 1e-6) next = q;
      }
      if (next < 0 || next === p) break;
      end += phaseDurationS(buf, cur) - buf.phaseGreenS[cur]! + buf.phaseGreenS[next]!;
      cur = next;
    }
    if (end - start > bestLength) {
      bestLength = end - start;
      bestStart = start;
    }
  }
  out[0] = bestStart;
  out[1] = bestLength;
}


/**
 * The longest green window of `movement` in intersection i's plan as it stands (its phase
 * starts as laid out in `buf`), as [start from the cycle start, length] in `out`. Measures an
 * edited or stored plan without trying other patterns (engine/corridor/measureBands.ts).
 */
export function currentMovementWindow(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number, out: Float64Array): void {
  movementWindow(c, buf, i, movement, buf.phaseStartS, buf.cycleS[i]!, out);
}

/**
 * Through-green windows of intersection i for the outbound and inbound
 * through movements (movement indices), for every allowed pattern.
 */
export function throughWindows(c: CompiledNetwork, buf: PlanBuffer, i: number, outMovement: number, inMovement: number, starts: Float64Array, out: ThroughWindows): void {
  const cycleS = buf.cycleS[i]!;
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  // The barrier holding the outbound through phase; lead/lag only where its rings have a left and a
  // through (and perhaps on-demand phases, which mirror with them).
  let barrier = -1;
  for (let p = p0; p < p1; p++) if ((c.phaseProtectedMask[p]! >> outMovement) & 1 && c.phaseOnDemand[p] === 0) barrier = c.phaseBarrier[p]!;
  let swappable = 0;
  if (c.ringCount[i]! > 1 && barrier >= 0) {
    for (let r = 0; r < Math.min(2, c.ringCount[i]!); r++) {
      let count = 0;
      for (let p = p0; p < p1; p++) if (c.phaseBarrier[p] === barrier && c.phaseRing[p] === r && c.phaseOnDemand[p] === 0) count++;
      if (count === 2) swappable |= 1 << r;
    }
  }
  out.barrier = swappable === 0 ? -1 : barrier;
  out.patternCount = 0;
  const w = new Float64Array(2);
  for (let mask = 0; mask < MAX_PATTERNS; mask++) {
    if ((mask & ~swappable) !== 0) continue;
    layoutPhases(c, buf, i, out.barrier, mask, starts);
    const k = out.patternCount++;
    out.swapMask[k] = mask;
    movementWindow(c, buf, i, outMovement, starts, cycleS, w);
    out.outStartS[k] = w[0]!;
    out.outGreenS = w[1]!;
    movementWindow(c, buf, i, inMovement, starts, cycleS, w);
    out.inStartS[k] = w[0]!;
    out.inGreenS = w[1]!;
  }
}

/**
 * The yellow and red clearance that follow a movement's through window ending at local time
 * `endS`: those of the serving phase whose green ends there (zeros if none does). The
 * time-space diagram draws them after the green.
 */
export function windowClearance(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number, endS: number): { yellowS: number; allRedS: number } {
  const cycleS = buf.cycleS[i]!;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    if (!((c.phaseProtectedMask[p]! >> movement) & 1) || c.phaseOnDemand[p] === 1) continue;
    const gap = mod(buf.phaseStartS[p]! + buf.phaseGreenS[p]! - endS, cycleS);
    if (gap < 1e-6 || cycleS - gap < 1e-6) return { yellowS: buf.phaseYellowS[p]!, allRedS: buf.phaseAllRedS[p]! };
  }
  return { yellowS: 0, allRedS: 0 };
}

/** Rewrites intersection i's phase starts in `buf` for the chosen pattern. */
export function applyPattern(c: CompiledNetwork, buf: PlanBuffer, i: number, barrier: number, swapMask: number): void {
  layoutPhases(c, buf, i, barrier, swapMask, buf.phaseStartS);
}
