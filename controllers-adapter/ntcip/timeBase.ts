/**
 * A day plan (../dayPlan.ts) as an NTCIP time base for one intersection:
 *  - patternTable / splitTable: period k is pattern k + 1 (its plan quantized
 *    as ./convert.ts does for a single push, split modes from its actuated
 *    settings);
 *  - timebaseAscActionTable (NTCIP 1202): action k + 1 runs pattern k + 1,
 *    or Free (254) when the period runs the signal fully actuated;
 *  - timeBaseDayPlanTable (NTCIP 1201): day plan 1, one event per switch
 *    (hour, minute, dayPlanActionNumberOID = the timebaseAscActionNumber
 *    instance of the action);
 *  - timeBaseScheduleTable (NTCIP 1201): schedule 1 runs day plan 1 on every
 *    month, weekday and date.
 * NTCIP 1202 has one phase table per controller, so the phase table of a day
 * plan carries the network's min green and passage (the same in every
 * period) and, as maximum 1, the largest actuated max green of the periods;
 * in coordinated periods the splits and fixed force-offs bound each phase.
 * Every pattern is expanded back and must pass the NTCIP checks and the
 * engine's safety validator, as in a single push. Used by the agent (served
 * tables) and its tests; nothing here talks to the network.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { CONTROL_FIXED, CONTROL_FREE } from '../../engine/timing/actuated.js';
import { IssueList } from '../../engine/errors.js';
import { dayPlanEvents, sortedPeriods, type DayPlanEvent, type DayPlanPeriod } from '../dayPlan.js';
import { patternToPlan, phaseProgram, planToPattern, splitModes, type PatternTables, type PhaseProgram } from './convert.js';
import { oid, PatternControl, TIMEBASE_ACTION_ENTRY, TimebaseActionColumn } from './oids.js';

/** Every month (bits 1..12), every weekday (bits 1..7), every date (bits 1..31); bit 0 is reserved. */
export const ALL_MONTHS = 0x1ffe;
export const ALL_DAYS = 0xfe;
export const ALL_DATES = 0xfffffffe;

export interface TimeBaseTables {
  /** Pattern k + 1, with splitMode per phase in `mode`. */
  readonly patterns: ReadonlyArray<PatternTables & { readonly mode: readonly number[] }>;
  /** Phase table (the controller's one): min green, passage, maximum 1 over the day. */
  readonly program: readonly PhaseProgram[];
  /** actionPattern[k] = timebaseAscPattern of action k + 1 (a pattern number, or 254 Free). */
  readonly actionPattern: readonly number[];
  /** Day plan 1's events, in time order: dayPlanEventNumber = index + 1. */
  readonly events: ReadonlyArray<DayPlanEvent & { readonly hour: number; readonly minute: number; readonly action: number }>;
  readonly schedule: { readonly month: number; readonly day: number; readonly date: number; readonly dayPlan: number };
}

/** dayPlanActionNumberOID of action `a`: the timebaseAscActionNumber instance. */
export function actionOid(a: number): string {
  return oid(`${TIMEBASE_ACTION_ENTRY}.${TimebaseActionColumn.Number}`, a);
}

/**
 * Intersection i of a day plan as time-base tables, or undefined with the reasons in `issues`
 * (a period's pattern the NTCIP rules or the validator refuse, at `periods[k]`).
 */
export function timeBaseTables(c: CompiledNetwork, i: number, periods: readonly DayPlanPeriod[], issues: IssueList): TimeBaseTables | undefined {
  const events = dayPlanEvents(periods);
  const ordered = sortedPeriods(periods);
  // The day's phase table: per phase the largest maximum 1 of the actuated periods.
  const program = phaseProgram(c, i).map((ph) => ({ ...ph }));
  let actuated = false;
  for (const period of ordered) {
    if (!period.actuated || period.actuated.mode[i] === CONTROL_FIXED) continue;
    const prog = phaseProgram(c, i, period.actuated);
    prog.forEach((ph, k) => {
      const day = program[k]!;
      day.maximum1S = actuated ? Math.max(day.maximum1S, ph.maximum1S) : ph.maximum1S;
      day.passageDs = ph.passageDs;
      day.minimumGreenS = ph.minimumGreenS;
    });
    actuated = true;
  }
  const patterns: Array<PatternTables & { mode: number[] }> = [];
  const actionPattern: number[] = [];
  const before = issues.length;
  ordered.forEach((period, k) => {
    const local = new IssueList();
    const pattern = planToPattern(c, i, period.plan, local);
    if (pattern && patternToPlan(c, i, pattern, createPlanBuffer(c), local, program)) {
      const { mode, coord } = splitModes(c, i, pattern, period.actuated);
      patterns.push({ ...pattern, coord, mode });
      actionPattern.push(period.actuated?.mode[i] === CONTROL_FREE ? PatternControl.Free : k + 1);
    }
    for (const issue of local.items) issues.add(`periods[${k}]${period.id ? `(${period.id})` : ''}.${issue.path}`, issue.message);
  });
  if (issues.length > before) return undefined;
  return {
    patterns,
    program,
    actionPattern,
    events: events.map((e) => ({ ...e, hour: Math.floor(e.startMin / 60), minute: e.startMin % 60, action: e.planId })),
    schedule: { month: ALL_MONTHS, day: ALL_DAYS, date: ALL_DATES, dayPlan: 1 },
  };
}
