/**
 * NTCIP 1202 (Actuated Signal Controller MIB) object identifiers used by the
 * greenwave agent and manager, under asc = 1.3.6.1.4.1.1206.4.2.1, with the
 * unit of every column as the MIB text gives it (shared/reference/
 * protocols.md §1; docs/ntcip.md). All values are INTEGER 0..255 unless noted.
 * Table objects are `<column oid>.<index…>`; scalars end in `.0`.
 */
export const ASC = '1.3.6.1.4.1.1206.4.2.1';

// ---- phaseTable …1.2.1.<col>.<phase> (read-only here: the controller's program) ----
export const PHASE_ENTRY = `${ASC}.1.2.1`;
export const PhaseColumn = {
  /** Index, 1..n (the compiled phase order of the intersection). */
  Number: 1,
  /** s */
  Walk: 2,
  /** s */
  PedestrianClear: 3,
  /** s */
  MinimumGreen: 4,
  /** 0.1 s */
  Passage: 5,
  /** s */
  Maximum1: 6,
  /** s */
  Maximum2: 7,
  /** 0.1 s */
  YellowChange: 8,
  /** 0.1 s */
  RedClear: 9,
  /** ring number, 1-based */
  Ring: 22,
} as const;

// ---- phaseStatusGroupTable …1.4.1.<col>.<group>: 8-bit maps, group g = phases 8(g−1)+1 … 8g, bit k−1 = phase k ----
export const PHASE_STATUS_GROUP_ENTRY = `${ASC}.1.4.1`;
export const PhaseStatusGroupColumn = { Number: 1, Reds: 2, Yellows: 3, Greens: 4 } as const;

// ---- unit ----
/** unitBackupTime, s: central must write systemPatternControl/systemSyncControl within this time. */
export const UNIT_BACKUP_TIME = `${ASC}.3.3`;

// ---- coordination …1.4 ----
/** 0 automatic (run the selected / time-base pattern), 1..253 manual pattern, 254 free, 255 flash. */
export const COORD_OPERATIONAL_MODE = `${ASC}.4.1`;
/** other(1) maximum1(2) maximum2(3) maxInhibit(4): which maximum applies in coordination. */
export const COORD_MAXIMUM_MODE = `${ASC}.4.3`;
export const CoordMaximumMode = { Other: 1, Maximum1: 2, Maximum2: 3, MaxInhibit: 4 } as const;
/** other(1) floating(2) fixed(3): fixed = each phase is forced off at its split end in the cycle. */
export const COORD_FORCE_MODE = `${ASC}.4.4`;
export const CoordForceMode = { Other: 1, Floating: 2, Fixed: 3 } as const;
export const PATTERN_ENTRY = `${ASC}.4.7.1`;
export const PatternColumn = {
  Number: 1,
  /** s */
  CycleTime: 2,
  /** s, < cycle */
  OffsetTime: 3,
  /** split table number the pattern uses */
  SplitNumber: 4,
  /** sequenceTable number (ring order of the phases) */
  SequenceNumber: 5,
} as const;
export const SPLIT_ENTRY = `${ASC}.4.9.1`;
export const SplitColumn = {
  Number: 1,
  Phase: 2,
  /** s, INCLUDING the phase's yellow change and red clearance */
  Time: 3,
  /** other(1) none(2) minVehRecall(3) maxVehRecall(4) pedRecall(5) maxVehPedRecall(6) omitted(7) */
  Mode: 4,
  /** non-zero: the coordinated phase (gets the spare time) */
  CoordPhase: 5,
} as const;
export const SplitMode = { Other: 1, None: 2, MinimumVehicleRecall: 3, MaximumVehicleRecall: 4, PedestrianRecall: 5, MaximumVehicleAndPedestrianRecall: 6, PhaseOmitted: 7 } as const;
/** Active pattern: 1..253, 254 Free, 255 Flash (0: none / local plan). */
export const COORD_PATTERN_STATUS = `${ASC}.4.10`;
/** Position in the running cycle, s. */
export const COORD_CYCLE_STATUS = `${ASC}.4.12`;
/** 0 standby, 1..253 pattern, 254 Free, 255 Flash. Must be re-written before unitBackupTime runs out. */
export const SYSTEM_PATTERN_CONTROL = `${ASC}.4.14`;
export const SYSTEM_SYNC_CONTROL = `${ASC}.4.15`;
export const PatternControl = { Standby: 0, Free: 254, Flash: 255 } as const;

// ---- time base (NTCIP 1202 timebaseAsc …1.5): action n selects a pattern ----
export const MAX_TIMEBASE_ASC_ACTIONS = `${ASC}.5.2`;
export const TIMEBASE_ACTION_ENTRY = `${ASC}.5.3.1`;
export const TimebaseActionColumn = { Number: 1, Pattern: 2, AuxillaryFunction: 3, SpecialFunction: 4 } as const;
/** The action now in effect (0 = none). */
export const TIMEBASE_ASC_ACTION_STATUS = `${ASC}.5.4`;

// ---- time base (NTCIP 1201 globalTimeManagement …4.2.6.3.3): schedule → day plan → events → actions ----
export const TIMEBASE = '1.3.6.1.4.1.1206.4.2.6.3.3';
export const MAX_TIME_BASE_SCHEDULE_ENTRIES = `${TIMEBASE}.1`;
/** timeBaseScheduleTable, index timeBaseScheduleNumber. Month: bit 1 Jan … bit 12 Dec; Day: bit 1 Sunday … bit 7 Saturday; Date: bit 1 … bit 31 (day of the month). */
export const TIME_BASE_SCHEDULE_ENTRY = `${TIMEBASE}.2.1`;
export const TimeBaseScheduleColumn = { Number: 1, Month: 2, Day: 3, Date: 4, DayPlan: 5 } as const;
export const MAX_DAY_PLANS = `${TIMEBASE}.3`;
export const MAX_DAY_PLAN_EVENTS = `${TIMEBASE}.4`;
/** timeBaseDayPlanTable, index dayPlanNumber.dayPlanEventNumber; ActionNumberOID = the timebaseAscActionNumber instance of the action to run. */
export const DAY_PLAN_ENTRY = `${TIMEBASE}.5.1`;
export const DayPlanColumn = { Number: 1, EventNumber: 2, Hour: 3, Minute: 4, ActionNumberOid: 5 } as const;
/** The day plan in effect (0 = none). */
export const DAY_PLAN_STATUS = `${TIMEBASE}.6`;

// ---- sequenceTable …1.7.3.1.<col>.<sequence>.<ring>: sequenceData = phase numbers in ring order (OCTET STRING) ----
export const SEQUENCE_ENTRY = `${ASC}.7.3.1`;
export const SequenceColumn = { Number: 1, Ring: 2, Data: 3 } as const;

/** `<base>.<a>.<b>…` */
export function oid(base: string, ...index: number[]): string {
  return index.length === 0 ? base : `${base}.${index.join('.')}`;
}

/** Scalar instance `<base>.0`. */
export function scalar(base: string): string {
  return `${base}.0`;
}

/** Splits `<entry>.<col>.<index…>` into column and index, or undefined if `o` is not under `entry`. */
export function parseColumnOid(entry: string, o: string): { column: number; index: number[] } | undefined {
  if (!o.startsWith(entry + '.')) return undefined;
  const parts = o.slice(entry.length + 1).split('.').map(Number);
  if (parts.length < 2 || parts.some((n) => !Number.isInteger(n))) return undefined;
  return { column: parts[0]!, index: parts.slice(1) };
}
