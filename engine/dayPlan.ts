/**
 * A day plan from a day of detector counts: the time-of-day periods
 * (engine/counts/timeOfDay.ts), and for each its peak hour's mean flows
 * (engine/counts/analysisPeriod.ts), left-turn mode (timing/leftTurnMode.ts)
 * and the planner's network plan. Called by `greenwave sumo plan
 * --time-of-day` (simulator/sumo/plan.ts) and `greenwave controllers
 * --counts … --time-of-day` (controllers' NTCIP time base and Modbus
 * time-of-day table).
 */
import type { CompiledNetwork } from './network/compile.js';
import { detectorTopology, type FaultReport } from './counts/faults.js';
import { formatTimestamp, type DetectorCounts } from './counts/csv.js';
import { analysisPeriod } from './counts/analysisPeriod.js';
import { periodCounts, timeOfDayPeriods, type TimeOfDayOptions, type TimeOfDayPeriod } from './counts/timeOfDay.js';
import { leftTurnMode, type LeftTurnDecision } from './timing/leftTurnMode.js';
import { planNetwork, type NetworkPlan } from './plan.js';

export interface TimeOfDayPlan {
  readonly period: TimeOfDayPeriod;
  /** The period's peak hour, as "HH:MM–HH:MM". */
  readonly peakHour: string;
  readonly plan: NetworkPlan;
  readonly leftTurns: readonly LeftTurnDecision[];
}

/**
 * One plan per time-of-day period of `faults.cleaned` (counts already cleaned for `c`'s
 * detectors). `cycleLimitMinS` (per intersection, NaN = none) bounds the cycles, e.g. to
 * what the controllers that will run the plan accept.
 */
export function planDay(c: CompiledNetwork, faults: FaultReport, opts: TimeOfDayOptions & { cycleLimitMinS?: Float64Array } = {}): TimeOfDayPlan[] {
  const topology = detectorTopology(c.network);
  const cleaned = faults.cleaned;
  const intersectionOf = Int32Array.from(topology.detectors, (d) => d.intersectionIndex);
  return timeOfDayPeriods(cleaned, opts).map((period) => {
    const slice = periodCounts(cleaned, period);
    const peak = analysisPeriod(slice, intersectionOf, c.intersectionCount);
    const volumeVeh = inCompiledOrder(c, cleaned.detectorIds, peak.designVolumeVeh);
    // Each period decides its own left-turn mode; omitted phases get no green, so one export of `c` shows them all.
    const left = leftTurnMode(c, volumeVeh, cleaned.intervalS);
    return { period, peakHour: spanLabel(slice, peak.first, peak.count), plan: planNetwork(left.compiled, volumeVeh, cleaned.intervalS, opts.cycleLimitMinS ? { cycleLimitMinS: opts.cycleLimitMinS } : {}), leftTurns: left.decisions };
  });
}

/** Volumes per counts detector, reordered to the compiled network's detectors (0 for one the counts lack). */
export function inCompiledOrder(c: CompiledNetwork, ids: readonly string[], volumes: ArrayLike<number>): Float64Array {
  const byId = new Map(ids.map((id, k) => [id, volumes[k]!]));
  return Float64Array.from(c.detectorIds, (id) => byId.get(id) ?? 0);
}

/** "HH:MM–HH:MM": the wall-clock span of `count` intervals from `first`. */
export function spanLabel(counts: DetectorCounts, first: number, count: number): string {
  const endMs = counts.intervalStartMs[first + count - 1]! + counts.intervalS * 1000;
  return `${formatTimestamp(counts.intervalStartMs[first]!).slice(11, 16)}–${formatTimestamp(endMs).slice(11, 16)}`;
}
