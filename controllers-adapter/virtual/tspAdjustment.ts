/**
 * What a priority override does to the cycle it displaces, in the terms of the TSP events
 * (113 early green, 114 extend green). The controller never learns which phase the bus
 * needs, only the adjusted cycle central sends (../priorityLink.ts), so this reads it off
 * the layouts. Called by the virtual controller's event log (./events.ts) when the first
 * override of a TSP request starts running.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { EventCode } from '../../engine/events/codes.js';

/** Float slack, s: the layouts are sums of tenths. */
const EPS = 1e-6;

/** One intersection's cycle, local phase order (what the override displaced). */
export interface LocalLayout {
  cycleS: number;
  readonly startS: Float64Array;
  readonly greenS: Float64Array;
}

/** Copies intersection i's cycle out of `b` into `into` (no allocation). */
export function copyLayout(c: CompiledNetwork, i: number, b: PlanBuffer, into: LocalLayout): void {
  const p0 = c.phaseStart[i]!;
  into.cycleS = b.cycleS[i]!;
  for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
    into.startS[p - p0] = b.phaseStartS[p]!;
    into.greenS[p - p0] = b.phaseGreenS[p]!;
  }
}

/**
 * 113 when the override serves a phase sooner than the displaced cycle: a green that starts
 * earlier, an on-demand phase given a green it did not have (phase insertion serves the bus
 * phase early), or a shorter cycle (the next cycle's first phase starts early; the phases
 * cut to make room are the conflicting ones). Otherwise 114 when a green starts at the same
 * time and ends later (an extension, with the cycle or the later phases making room).
 * 0 when neither: the same cycle, or one that only shortens greens.
 */
export function overrideAdjustment(c: CompiledNetwork, i: number, displaced: LocalLayout, override: PlanBuffer): number {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  if (override.cycleS[i]! < displaced.cycleS - EPS) return EventCode.TspEarlyGreen;
  let extended = false;
  for (let p = p0; p < p1; p++) {
    const g = override.phaseGreenS[p]!;
    if (g <= 0) continue;
    const was = displaced.greenS[p - p0]!;
    const s = override.phaseStartS[p]!;
    const wasS = displaced.startS[p - p0]!;
    if (was <= 0 || s < wasS - EPS) return EventCode.TspEarlyGreen;
    if (Math.abs(s - wasS) <= EPS && s + g > wasS + was + EPS) extended = true;
  }
  return extended ? EventCode.TspExtendGreen : 0;
}
