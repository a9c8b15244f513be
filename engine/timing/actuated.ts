/**
 * Actuated settings for a timing plan: what a field controller needs to run
 * the plan actuated rather than fixed-time. Per phase the minimum green, the
 * passage (gap) time and the maximum green; per intersection the mode:
 *
 *  - fully actuated (an isolated signal): every phase gaps out after its
 *    minimum green when the gap between vehicles exceeds the passage time,
 *    and maxes out at its maximum green; the cycle floats;
 *  - actuated-coordinated (a signal a corridor coordinates): the cycle and
 *    offset are the plan's; every phase is forced off at its planned green
 *    end (fixed force-offs, NTCIP 1202 "split" mode), and the coordinated
 *    phases (the arterial through movements) are held to their planned end
 *    (the yield point). A side street that gaps out early hands its time to
 *    the phases after it and, in the end, to the coordinated phases (early
 *    return to green): slack goes to the arterial, as an engineer sets it up.
 *
 * Maximum green, fully actuated (free mode): the phase's own maximum green
 * (the network's `maxGreenS`, as a field controller's Max 1 is set per phase),
 * never below the planned green. The cycle floats, so nothing else bounds a
 * phase; gap-out ends a green whose queue has cleared. It was the planned green
 * × MAX_GREEN_FACTOR (1.25–1.5 × the Webster green is the headroom practice
 * gives, e.g. the FHWA Traffic Signal Timing Manual, 2nd ed., §5.3.3), but the
 * planned green is the split of the planner's cycle, often short on a grid, and
 * 1.5 × it maxed phases out under the cycle-to-cycle swings of the same hourly
 * demand: on the scenario bench's tuning half (24 grid and irregular cases, every
 * signal fully actuated, SUMO, seed 1) time loss against SUMO's own actuated
 * control was 1.052 on the geometric mean, 7 cases more than 5 % worse; with the
 * phase maximum 0.987 and 1; with 2.5 × the planned green 1.028 and 2
 * (docs/benchmarks.md, 7 December 2026).
 *
 * Maximum green, actuated-coordinated: the planned green × MAX_GREEN_FACTOR
 * within the phase's minimum and maximum green; the force-offs bound every
 * phase there in any case.
 *
 * Pure function over the compiled network and a validated plan; allocates its
 * result only. Called by the SUMO actuated export (simulator/sumo/exportTls.ts),
 * `greenwave sumo plan --control`, and the controller adapters' phase tables.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { APPROACH_IDS, type ApproachId } from '../network/schema.js';
import type { PlanBuffer } from './planner.js';
import { mod } from '../numeric.js';
import type { CorridorPlan } from '../corridor/corridorPlan.js';
import { THROUGH_TURN, movementIndex } from '../network/geometry.js';

/** Intersection control modes. */
export const CONTROL_FIXED = 0;
export const CONTROL_FREE = 1;
export const CONTROL_COORDINATED = 2;

/** Coordinated mode's maximum green over the planned green (see the header). */
export const MAX_GREEN_FACTOR = 1.5;

export interface ActuatedPlan {
  /** CONTROL_* per intersection. */
  readonly mode: Uint8Array;
  /** Per global phase, s. */
  readonly minGreenS: Float64Array;
  readonly passageS: Float64Array;
  readonly maxGreenS: Float64Array;
  /** 1 = a coordinated phase (held to its yield point; coordinated mode only). */
  readonly coordinated: Uint8Array;
  /** Coordinated mode: the cycle time (from the local cycle start) at which the phase's green ends at the latest; NaN in free mode. */
  readonly forceOffS: Float64Array;
}

/** The through approaches a corridor coordinates at an intersection. */
export interface CoordinatedApproaches {
  readonly intersectionId: string;
  readonly approaches: readonly ApproachId[];
}

/**
 * Actuated settings for `plan`. Intersections listed in `coordinated` run
 * actuated-coordinated with those approaches' through phases as the
 * coordinated phases; every other signal runs fully actuated.
 */
export function actuatedPlan(c: CompiledNetwork, plan: PlanBuffer, coordinated: readonly CoordinatedApproaches[]): ActuatedPlan {
  const n = c.intersectionCount;
  const nP = c.phaseIds.length;
  const out: ActuatedPlan = {
    mode: new Uint8Array(n).fill(CONTROL_FREE),
    minGreenS: c.phaseMinGreenS.slice(),
    passageS: c.phasePassageS.slice(),
    maxGreenS: new Float64Array(nP),
    coordinated: new Uint8Array(nP),
    forceOffS: new Float64Array(nP).fill(Number.NaN),
  };
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  for (const entry of coordinated) {
    const i = index.get(entry.intersectionId);
    if (i === undefined || entry.approaches.length === 0) continue;
    let throughMask = 0;
    for (const a of entry.approaches) throughMask |= 1 << (movementIndex(APPROACH_IDS.indexOf(a), THROUGH_TURN));
    let any = false;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      if (((c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!) & throughMask) !== 0 && plan.phaseGreenS[p]! > 0) {
        out.coordinated[p] = 1;
        any = true;
      }
    }
    if (any) out.mode[i] = CONTROL_COORDINATED;
  }
  for (let i = 0; i < n; i++) {
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const greenS = plan.phaseGreenS[p]!;
      const minS = out.minGreenS[p]!;
      // A phase the plan skips (on demand, no green) keeps max = min: it is not run actuated.
      const ceilingS = Math.max(c.phaseMaxGreenS[p]!, greenS);
      out.maxGreenS[p] = greenS <= 0 ? minS : out.mode[i] === CONTROL_FREE ? Math.max(ceilingS, minS) : Math.min(Math.max(greenS * MAX_GREEN_FACTOR, minS), ceilingS);
      if (out.mode[i] === CONTROL_COORDINATED && greenS > 0) out.forceOffS[p] = plannedForceOffS(plan, i, p);
    }
  }
  return out;
}

/**
 * Coordinated mode's fixed force-off of global phase p of intersection i: its planned green
 * end, as cycle time from the local cycle start. Shared with the controllers, which derive
 * force-offs from the committed plan (they are not sent: controllers-adapter/actuatedBlock.ts).
 */
export function plannedForceOffS(plan: PlanBuffer, i: number, p: number): number {
  return mod(plan.phaseStartS[p]! + plan.phaseGreenS[p]!, plan.cycleS[i]!);
}

/** The through approaches each coordinated corridor signal of a network plan coordinates (for `actuatedPlan`). */
export function corridorApproaches(corridors: readonly CorridorPlan[]): CoordinatedApproaches[] {
  return corridors.flatMap((k) => k.intersections.map((x) => ({ intersectionId: x.id, approaches: [x.outboundApproach, x.inboundApproach] })));
}
