/**
 * A day plan for one controller: time-of-day periods (start minute of the
 * day, each with its timing plan and optionally its actuated settings, as
 * simulator/sumo/plan.ts `planTimeOfDay` builds them from
 * engine/counts/timeOfDay.ts periods) → the controller's schedule.
 *
 * Numbering is shared by every export, so one id means one plan everywhere:
 * period k (in order of start time) is Modbus plan id k + 1, NTCIP pattern
 * k + 1 and time-base action k + 1 (./ntcip/timeBase.ts).
 *
 * A schedule covers the whole day from 00:00: when no period starts at
 * midnight, the period running across it (the last one) gets an extra event
 * at 00:00, so neither protocol leaves a controller guessing what runs before
 * the day's first switch. Called by the Modbus side (the time-of-day table,
 * registerMap.ts HR_TOD) and the NTCIP agent and manager.
 */
import type { PlanBuffer } from '../engine/timing/planner.js';
import type { ActuatedPlan } from '../engine/timing/actuated.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { MAX_TOD_ENTRIES, MINUTES_PER_DAY, TOD_BLOCK_LENGTH, TOD_COUNT, TOD_ENTRIES, TOD_PLAN_ID, TOD_START_MIN, TOD_STRIDE } from './registerMap.js';

export interface DayPlanPeriod {
  /** Minutes after midnight at which the period starts, 0..1439. */
  readonly startMin: number;
  readonly plan: PlanBuffer;
  /** Actuated settings for the period's plan; absent = fixed-time. */
  readonly actuated?: ActuatedPlan;
  /** Period id for reports (am-peak, night, …). */
  readonly id?: string;
}

/** One switch of the day: from `startMin`, plan (pattern, action) `planId` runs. */
export interface DayPlanEvent {
  readonly startMin: number;
  readonly planId: number;
}

/**
 * The day's switches: periods sorted by start (plan id = 1 + index in that order), plus a
 * 00:00 event for the period that runs across midnight when none starts there. Throws
 * INVALID_INPUT for starts outside the day, two periods starting together, or more periods
 * than a controller's table holds.
 */
export function dayPlanEvents(periods: readonly Pick<DayPlanPeriod, 'startMin'>[]): DayPlanEvent[] {
  if (periods.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'day plan: no periods');
  periods.forEach((p, k) => {
    if (!(Number.isInteger(p.startMin) && p.startMin >= 0 && p.startMin < MINUTES_PER_DAY)) throw new GreenwaveError(ErrorCode.InvalidInput, `day plan: periods[${k}].startMin ${p.startMin} must be a whole minute within [0, ${MINUTES_PER_DAY})`);
  });
  const order = sortedPeriods(periods);
  const events: DayPlanEvent[] = order.map((p, k) => ({ startMin: p.startMin, planId: k + 1 }));
  for (let k = 1; k < events.length; k++) if (events[k]!.startMin === events[k - 1]!.startMin) throw new GreenwaveError(ErrorCode.InvalidInput, `day plan: two periods start at minute ${events[k]!.startMin}`);
  if (events[0]!.startMin !== 0) events.unshift({ startMin: 0, planId: events.length });
  if (events.length > MAX_TOD_ENTRIES) throw new GreenwaveError(ErrorCode.InvalidInput, `day plan: ${events.length} switches exceed a controller's ${MAX_TOD_ENTRIES}`);
  return events;
}

/** Periods in order of start time (the plan-id order). */
export function sortedPeriods<T extends Pick<DayPlanPeriod, 'startMin'>>(periods: readonly T[]): T[] {
  return [...periods].sort((a, b) => a.startMin - b.startMin);
}

/** The Modbus time-of-day table (TOD_BLOCK_LENGTH registers, written whole in one FC16 at HR_TOD). */
export function encodeTimeOfDayTable(events: readonly DayPlanEvent[]): number[] {
  const regs = new Array<number>(TOD_BLOCK_LENGTH).fill(0);
  regs[TOD_COUNT] = events.length;
  events.forEach((e, k) => {
    regs[TOD_ENTRIES + k * TOD_STRIDE + TOD_START_MIN] = e.startMin;
    regs[TOD_ENTRIES + k * TOD_STRIDE + TOD_PLAN_ID] = e.planId;
  });
  return regs;
}

/** The events a time-of-day table read back holds. */
export function decodeTimeOfDayTable(regs: ArrayLike<number>): DayPlanEvent[] {
  const out: DayPlanEvent[] = [];
  for (let k = 0; k < Math.min(regs[TOD_COUNT]!, MAX_TOD_ENTRIES); k++) out.push({ startMin: regs[TOD_ENTRIES + k * TOD_STRIDE + TOD_START_MIN]!, planId: regs[TOD_ENTRIES + k * TOD_STRIDE + TOD_PLAN_ID]! });
  return out;
}
