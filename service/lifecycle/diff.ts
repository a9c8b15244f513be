/**
 * What changes between two plans of one network, per intersection and per
 * phase: cycle, offset, and each phase's start, green, yellow and all-red.
 * Only what differs (by at least the controllers' 0.1 s resolution) is listed,
 * so a review reads like a change list. Called by the plan review
 * (./review.ts); the console shows it side by side.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';

/** Differences below this are the same time on a controller (0.1 s resolution), s. */
const SAME_S = 0.05;

export interface ValueChange {
  readonly field: string;
  readonly before: number;
  readonly after: number;
}

export interface PhaseDiff {
  readonly phaseId: string;
  readonly changes: readonly ValueChange[];
}

export interface IntersectionDiff {
  readonly intersectionId: string;
  /** Cycle and offset changes. */
  readonly changes: readonly ValueChange[];
  readonly phases: readonly PhaseDiff[];
}

const PHASE_FIELDS = [
  ['startS', 'phaseStartS'],
  ['greenS', 'phaseGreenS'],
  ['yellowS', 'phaseYellowS'],
  ['allRedS', 'phaseAllRedS'],
] as const;

/** The intersections whose timing differs between `before` and `after`, in network order. */
export function diffPlans(c: CompiledNetwork, before: PlanBuffer, after: PlanBuffer): IntersectionDiff[] {
  const out: IntersectionDiff[] = [];
  for (let i = 0; i < c.intersectionCount; i++) {
    const changes: ValueChange[] = [];
    push(changes, 'cycleS', before.cycleS[i]!, after.cycleS[i]!);
    push(changes, 'offsetS', before.offsetS[i]!, after.offsetS[i]!);
    const phases: PhaseDiff[] = [];
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const pc: ValueChange[] = [];
      for (const [name, key] of PHASE_FIELDS) push(pc, name, before[key][p]!, after[key][p]!);
      if (pc.length > 0) phases.push({ phaseId: c.phaseIds[p]!, changes: pc });
    }
    if (changes.length > 0 || phases.length > 0) out.push({ intersectionId: c.intersectionIds[i]!, changes, phases });
  }
  return out;
}

function push(list: ValueChange[], field: string, before: number, after: number): void {
  if (Math.abs(before - after) >= SAME_S || Number.isNaN(before) !== Number.isNaN(after)) list.push({ field, before, after });
}
