/**
 * Which lamps are lit at a position in a cycle: the one place that turns a
 * cycle layout (phase starts, greens, yellows, all-reds) and a cycle time into
 * each phase's interval and the movement lamp masks. CycleRunner calls it on
 * every step (the simulator, the virtual controller); service/spat.ts calls it
 * on the TSP controller's schedule. Nothing here allocates.
 */
import type { CompiledNetwork } from '../network/compile.js';

/** A phase's interval. Red covers rest red and a skipped (on-demand) phase; ALL_RED is its own red clearance. */
export const PHASE_RED = 0;
export const PHASE_GREEN = 1;
export const PHASE_YELLOW = 2;
export const PHASE_ALL_RED = 3;

const ALL_RED_END_TOLERANCE_S = 1e-9;

/**
 * Lamps of intersection i at cycle time `tauS` of a layout. The layout arrays are
 * indexed by global phase, as in a PlanBuffer (a local CycleLayout is copied to
 * [phaseStart[i], phaseStart[i + 1]) first: an index offset here costs the
 * simulator ~4 % per step). Writes at index `slot`:
 *  - green[slot]: movements with a green arrow or ball (protected or permitted),
 *  - yellow[slot]: movements in yellow and not green by another phase,
 *  - permitted[slot]: movements green only as permitted (not protected by any phase).
 * A movement green by a protected phase is `green & ~permitted`. A phase is green on
 * [start, start + green) and yellow on [start + green, start + green + yellow): at an
 * edge the later interval shows. phaseIntervals below applies the same edges.
 * Kept to the masks alone: the simulator calls it for every intersection every step.
 */
export function evaluateLamps(
  c: CompiledNetwork,
  i: number,
  tauS: number,
  startS: Float64Array,
  greenS: Float64Array,
  yellowS: Float64Array,
  green: Uint16Array,
  yellow: Uint16Array,
  permitted: Uint16Array,
  slot: number,
): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  let g = 0;
  let y = 0;
  let perm = 0;
  let prot = 0;
  for (let p = p0; p < p1; p++) {
    const s = startS[p]!;
    const ge = s + greenS[p]!;
    if (tauS >= s && tauS < ge) {
      g |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
      prot |= c.phaseProtectedMask[p]!;
      perm |= c.phasePermittedMask[p]!;
    } else if (tauS >= ge && tauS < ge + yellowS[p]!) {
      y |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
    }
  }
  green[slot] = g;
  yellow[slot] = y & ~g;
  permitted[slot] = perm & ~prot;
}

/**
 * The interval of every phase of intersection i at cycle time `tauS` of a layout (same
 * arrays, global phase index, and edges as evaluateLamps), into `phaseInterval`.
 */
export function phaseIntervals(c: CompiledNetwork, i: number, tauS: number, startS: Float64Array, greenS: Float64Array, yellowS: Float64Array, allRedS: Float64Array, phaseInterval: Uint8Array): void {
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    const s = startS[p]!;
    const ge = s + greenS[p]!;
    const ye = ge + yellowS[p]!;
    let interval = PHASE_RED;
    if (tauS >= s && tauS < ge) interval = PHASE_GREEN;
    else if (tauS >= ge && tauS < ye) interval = PHASE_YELLOW;
    // The all-red's end is summed in floating point and may overshoot the start of the
    // next (conflicting) phase by ~1e-14 s; lamps are red either way.
    else if (tauS >= ye && tauS + ALL_RED_END_TOLERANCE_S < ye + allRedS[p]!) interval = PHASE_ALL_RED;
    phaseInterval[p] = interval;
  }
}

/**
 * The local phases of intersection i in green, yellow or all-red at cycle time `tauS` of a
 * layout (bit k = local phase k): CycleRunner.activePhases, for conflict monitors.
 */
export function activePhaseMask(c: CompiledNetwork, i: number, tauS: number, startS: Float64Array, greenS: Float64Array, yellowS: Float64Array, allRedS: Float64Array): number {
  const p0 = c.phaseStart[i]!;
  let mask = 0;
  for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
    const s = startS[p]!;
    // 1 µs tolerance at the end: green + yellow + all-red summed in floating point may overshoot the next start.
    if (tauS >= s - 1e-6 && tauS < s + greenS[p]! + yellowS[p]! + allRedS[p]! - 1e-6) mask |= 1 << (p - p0);
  }
  return mask;
}

/** Every lamp red (start-up all red; flash is the caller's). */
export function allRedLamps(green: Uint16Array, yellow: Uint16Array, permitted: Uint16Array, slot: number): void {
  green[slot] = 0;
  yellow[slot] = 0;
  permitted[slot] = 0;
}

/**
 * The first interval edge (phase start, end of green, of yellow, of all-red) strictly
 * after `tauS` in a layout, or `cycleS` if none: where the lamps can next change.
 */
export function nextEdgeS(c: CompiledNetwork, i: number, tauS: number, cycleS: number, startS: Float64Array, greenS: Float64Array, yellowS: Float64Array, allRedS: Float64Array): number {
  let best = cycleS;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    const s = startS[p]!;
    const ge = s + greenS[p]!;
    const ye = ge + yellowS[p]!;
    const re = ye + allRedS[p]!;
    if (s > tauS && s < best) best = s;
    if (ge > tauS && ge < best) best = ge;
    if (ye > tauS && ye < best) best = ye;
    if (re > tauS && re < best) best = re;
  }
  return best;
}
