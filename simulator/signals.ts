/**
 * Signal heads in the simulator: the engine's one cycle runner
 * (engine/runner/cycleRunner.ts) over every intersection, run like a field
 * controller (plans taken at cycle zero, short-way offset correction, every
 * layout validated, an external TSP schedule followed on request). The
 * simulation calls `update(t)` every step and reads the lamp masks.
 */
import { CycleRunner } from '../engine/runner/cycleRunner.js';

export { MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE, type ScheduledCycle, type ScheduleSource } from '../engine/runner/cycleRunner.js';

/** The simulator's name for the cycle runner: `new SignalHeads(c, plan, startS)` runs every intersection. */
export const SignalHeads = CycleRunner;
export type SignalHeads = CycleRunner;
