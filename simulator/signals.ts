/**
 * Signal heads in the simulator: the engine's one cycle runner
 * (engine/runner/cycleRunner.ts) over every intersection, run like a field
 * controller (plans taken at cycle zero, short-way offset correction, every
 * layout validated, an external TSP schedule followed on request). The
 * simulation calls `update(t)` every step and reads the lamp masks.
 */
import { CycleRunner } from '../engine/runner/cycleRunner.js';

/**
 * What the simulator's vehicles look at: per intersection, the movements (bit = movement
 * index) showing green, yellow, and green that yields (permitted). The cycle runner is one;
 * a replayed SUMO program (sumo/programLamps.ts) is the other, for comparisons with SUMO.
 */
export interface LampSource {
  readonly greenMask: Uint16Array;
  readonly yellowMask: Uint16Array;
  readonly permittedMask: Uint16Array;
  update(tS: number): void;
}

export { MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE, type ScheduledCycle, type ScheduleSource } from '../engine/runner/cycleRunner.js';

/** The simulator's name for the cycle runner: `new SignalHeads(c, plan, startS)` runs every intersection. */
export const SignalHeads = CycleRunner;
export type SignalHeads = CycleRunner;
