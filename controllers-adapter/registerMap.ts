/**
 * The Modbus register map of a greenwave signal controller: the single
 * source of truth for every address (docs/modbus-register-map.md describes
 * the same table for people). One Modbus unit id per intersection (1..247).
 *
 * Addresses are 0-based PDU addresses as they travel on the wire. Tools that
 * count from 1 (mbpoll without -0, most HMI software) use address + 1.
 * All values are uint16; times are in tenths of a second. The one 32-bit
 * value (uptime) is big-endian word order: high word at the lower address.
 *
 * Holding registers (FC3 read, FC6/FC16 write):
 *   [0, 69)    staging block, written in ONE FC16 request:
 *                0 plan id, 1 cycle, 2 offset, 3 phase count,
 *                4 + 4k .. phase k (compiled order): green, yellow, all-red, ring sequence,
 *                68 plan id again (tail: a read with head ≠ tail is torn)
 *   69         CRC-16/MODBUS of the staging block
 *   70         commit: write 1 → check CRC and the safety validator, apply at the next cycle zero;
 *              write 2 → priority override of the running cycle (its untimed rest), 3 → of the
 *              next cycle only (transit priority; the committed plan resumes after it);
 *              read → commit status (CommitStatus)
 *   71         communication-loss timeout, s (0 = never fall back)
 *   72         pending plan id (read-only, 0 = none)
 *   73         plan id of the last commit attempt (read-only)
 *   [74, 143)  active plan block, same layout as staging (read-only)
 *   [143, 195) actuated staging block (written in one FC16, committed WITH the staged plan):
 *                0 plan id (= the staged plan id, else the plan commits fixed-time),
 *                1 control mode (0 fixed-time, 1 free = fully actuated, 2 actuated-coordinated),
 *                2 coordinated phases (bit k = phase k; mode 2 only),
 *                3 + 3k .. phase k: min green, passage, max green,
 *                51 plan id again (tail)
 *   195        CRC-16/MODBUS of the actuated staging block
 *   [196, 248) active actuated block, same layout (read-only): what the running plan carries
 *   [248, 281) time-of-day table (one FC16 from 248): 0 entry count n ≤ 16,
 *                1 + 2e .. entry e: start minute of the day (0..1439), plan id
 *   281        plan id the time-of-day table schedules now (read-only; 0 = no table)
 *   [282, 407) event log read-out (read one FC3 of 125 from 282): 0–1 oldest sequence held,
 *                2–3 next sequence, 4–5 cursor (R/W: one FC16 of both words), 6–7 sequence of
 *                the window's first record, 8 records in the window (≤ 23), 9 log id (0 = no log),
 *                10 + 5r .. record r: time in 0.1 s since 1970 (3 words), code, parameter
 *
 * Input registers (FC4 read):
 *   0 active plan id, 1 phase (ring 1), 2 interval, 3 time in interval, 4 cycle second,
 *   5 mode, 6 fault flags, 7 pending plan id, 8 commit status, 9 running cycle length,
 *   10 detector count, 11–12 uptime s (uint32, high word first), 13–15 reserved (0),
 *   16 detector sequence: a read that covers it latches the counters (volume since
 *      the previous latch) and increments it (uint16, wraps),
 *   17 + 2d .. detector d: volume (veh), occupancy (0.1 %).
 */

/** Modbus protocol limits (Modbus Application Protocol v1.1b3, §6.3 and §6.12). */
export const MODBUS_MAX_READ_REGISTERS = 125;
export const MODBUS_MAX_WRITE_REGISTERS = 123;
export const MIN_UNIT_ID = 1;
export const MAX_UNIT_ID = 247;

/** Capacity of the map. */
export const MAX_PHASES = 16;
export const MAX_DETECTORS = 32;

// ---- holding registers ----
export const HR_STAGE = 0;
/** Offsets inside a plan block (staging or active). */
export const PB_PLAN_ID = 0;
export const PB_CYCLE_DS = 1;
export const PB_OFFSET_DS = 2;
export const PB_PHASE_COUNT = 3;
export const PB_PHASES = 4;
export const PHASE_STRIDE = 4;
export const PH_GREEN_DS = 0;
export const PH_YELLOW_DS = 1;
export const PH_ALL_RED_DS = 2;
/** 1-based position of the phase in its ring's run order over the cycle. */
export const PH_SEQUENCE = 3;
export const PB_PLAN_ID_TAIL = PB_PHASES + MAX_PHASES * PHASE_STRIDE;
export const PLAN_BLOCK_LENGTH = PB_PLAN_ID_TAIL + 1;

export const HR_STAGE_CRC = HR_STAGE + PLAN_BLOCK_LENGTH;
export const HR_COMMIT = HR_STAGE_CRC + 1;
export const HR_COMM_LOSS_TIMEOUT_S = HR_COMMIT + 1;
export const HR_PENDING_PLAN_ID = HR_COMM_LOSS_TIMEOUT_S + 1;
export const HR_LAST_COMMIT_PLAN_ID = HR_PENDING_PLAN_ID + 1;
export const HR_ACTIVE = HR_LAST_COMMIT_PLAN_ID + 1;
/** Highest writable holding register + 1 of the first writable range: staging, CRC, commit and the timeout. */
export const HOLDING_WRITABLE_END = HR_COMM_LOSS_TIMEOUT_S + 1;
/** End of the original (plan) map; the blocks below were appended after it, so no older address moved. */
export const HOLDING_PLAN_MAP_END = HR_ACTIVE + PLAN_BLOCK_LENGTH;

// Actuated settings (per phase min green / passage / max green, per intersection control mode),
// staged next to the plan block and committed with it (see docs/modbus-register-map.md).
export const HR_ACT_STAGE = HOLDING_PLAN_MAP_END;
/** Offsets inside an actuated block (staging or active). */
export const AB_PLAN_ID = 0;
export const AB_MODE = 1;
export const AB_COORD_PHASES = 2;
export const AB_PHASES = 3;
export const ACT_PHASE_STRIDE = 3;
export const AP_MIN_GREEN_DS = 0;
export const AP_PASSAGE_DS = 1;
export const AP_MAX_GREEN_DS = 2;
export const AB_PLAN_ID_TAIL = AB_PHASES + MAX_PHASES * ACT_PHASE_STRIDE;
export const ACT_BLOCK_LENGTH = AB_PLAN_ID_TAIL + 1;
export const HR_ACT_STAGE_CRC = HR_ACT_STAGE + ACT_BLOCK_LENGTH;
export const HR_ACT_ACTIVE = HR_ACT_STAGE_CRC + 1;
/** Control mode (AB_MODE); the values of engine/timing/actuated.ts CONTROL_*. */
export const ActuatedMode = { Fixed: 0, Free: 1, Coordinated: 2 } as const;
export type ActuatedMode = (typeof ActuatedMode)[keyof typeof ActuatedMode];

// Time-of-day table: which plan id runs from which minute of the day.
export const HR_TOD = HR_ACT_ACTIVE + ACT_BLOCK_LENGTH;
export const TOD_COUNT = 0;
export const TOD_ENTRIES = 1;
export const TOD_STRIDE = 2;
export const TOD_START_MIN = 0;
export const TOD_PLAN_ID = 1;
export const MAX_TOD_ENTRIES = 16;
export const TOD_BLOCK_LENGTH = TOD_ENTRIES + MAX_TOD_ENTRIES * TOD_STRIDE;
export const MINUTES_PER_DAY = 1440;
export const HR_TOD_NOW_PLAN_ID = HR_TOD + TOD_BLOCK_LENGTH;

// Event log read-out: the controller's high-resolution log (Indiana codes) as a
// sequence-numbered FIFO. Write the sequence to read from (the cursor, one FC16 of two
// registers), then read the whole block (one FC3): the header and a window of records from
// that sequence. Appended after the time-of-day table, so no older address moved.
export const HR_EVENTS = HR_TOD_NOW_PLAN_ID + 1;
/** Offsets inside the event block. Sequence numbers are uint32, high word first. */
export const EV_OLDEST_SEQ = 0;
export const EV_NEXT_SEQ = 2;
export const EV_CURSOR = 4;
export const EV_WINDOW_SEQ = 6;
export const EV_WINDOW_COUNT = 8;
/** Non-zero id of this log's numbering (new at power-up); 0 = the controller keeps no log. */
export const EV_LOG_ID = 9;
export const EV_RECORDS = 10;
/** One record: timestamp in 0.1 s since 1970 UTC (48 bits, high word first), event code, parameter. */
export const EV_RECORD_STRIDE = 5;
export const ER_TIME_DS = 0;
export const ER_CODE = 3;
export const ER_PARAM = 4;
/** Records per window: the whole block is one FC3 read of at most 125 registers. */
export const EV_WINDOW_RECORDS = 23;
export const EV_BLOCK_LENGTH = EV_RECORDS + EV_WINDOW_RECORDS * EV_RECORD_STRIDE;
export const HR_EV_CURSOR = HR_EVENTS + EV_CURSOR;
export const HOLDING_REGISTER_COUNT = HR_EVENTS + EV_BLOCK_LENGTH;
/** Writable holding ranges [start, end): a write must lie inside one of them. */
export const HOLDING_WRITABLE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [HR_STAGE, HOLDING_WRITABLE_END],
  [HR_ACT_STAGE, HR_ACT_STAGE_CRC + 1],
  [HR_TOD, HR_TOD + TOD_BLOCK_LENGTH],
  [HR_EV_CURSOR, HR_EV_CURSOR + 2],
];
/** The value written to HR_COMMIT to commit the staged plan. */
export const COMMIT_COMMAND = 1;
/**
 * Values of HR_COMMIT for a priority override (TSP): the staged block is one cycle's timing
 * that replaces the rest of the running cycle (Now) or the next cycle only (Next); the
 * committed plan is unchanged and runs again after it.
 */
export const OverrideCommand = { Now: 2, Next: 3 } as const;
export const MAX_COMM_LOSS_TIMEOUT_S = 3600;

// ---- input registers ----
export const IR_ACTIVE_PLAN_ID = 0;
export const IR_PHASE = 1;
export const IR_INTERVAL = 2;
export const IR_TIME_IN_INTERVAL_DS = 3;
export const IR_CYCLE_SECOND_DS = 4;
export const IR_MODE = 5;
export const IR_FAULTS = 6;
export const IR_PENDING_PLAN_ID = 7;
export const IR_COMMIT_STATUS = 8;
export const IR_RUNNING_CYCLE_DS = 9;
export const IR_DETECTOR_COUNT = 10;
export const IR_UPTIME_S_HI = 11;
export const IR_UPTIME_S_LO = 12;
export const IR_STATUS_LENGTH = 16;
export const IR_DET_SEQ = 16;
export const IR_DETECTORS = 17;
export const DETECTOR_STRIDE = 2;
export const DET_VOLUME = 0;
export const DET_OCCUPANCY_PERMILLE = 1;
export const INPUT_REGISTER_COUNT = IR_DETECTORS + MAX_DETECTORS * DETECTOR_STRIDE;
/** IR_PHASE value when no phase is timing (flash). */
export const NO_PHASE = 0xffff;

/** Controller mode (IR_MODE). */
export const ControllerMode = { Coordinated: 0, Free: 1, Flash: 2, Manual: 3 } as const;
export type ControllerMode = (typeof ControllerMode)[keyof typeof ControllerMode];

/** Interval of the ring-1 phase (IR_INTERVAL). Red is the phase's all-red clearance. */
export const Interval = { Green: 0, Yellow: 1, Red: 2, Flash: 3 } as const;
export type Interval = (typeof Interval)[keyof typeof Interval];

/** Fault flags (IR_FAULTS), a bitfield. */
export const FaultFlag = {
  /** The conflict monitor saw conflicting greens/yellows on the lamp outputs: flash, latched. */
  Conflict: 1,
  /** The monitor saw a skipped or short yellow, a short all-red or a short minimum green: flash, latched. */
  Clearance: 2,
  /** No request from central for the communication-loss timeout: running the local plan free. */
  CommLoss: 4,
  /** The last commit was refused (see the commit status). */
  CommitRejected: 8,
} as const;

/** Commit status (HR_COMMIT read, IR_COMMIT_STATUS). 0–15 success states, 16+ refusals. */
export const CommitStatus = {
  Idle: 0,
  /** Accepted; waits for the next cycle zero. */
  Pending: 1,
  /** The committed plan is running. */
  Active: 2,
  /** A priority override is running this cycle. */
  OverrideRunning: 3,
  /** A priority override waits for the next cycle zero. */
  OverridePending: 4,
  /** The CRC register does not match the staging block. */
  CrcMismatch: 16,
  /** The staging block is not a plan for this intersection: plan id 0, head ≠ tail, phase count or ring sequence wrong. */
  Malformed: 17,
  /** The safety validator refused the plan (minimum green, clearances, conflicting overlap, cycle sum, offset). */
  Unsafe: 18,
  /** The controller is in fault flash and accepts no plan until a local reset. */
  RefusedInFlash: 19,
  /**
   * A priority override for the running cycle disagrees with what the cycle has already
   * timed (a phase that has started moved, one that has ended changed, a running green would
   * end in the past, or clearances differ), or the controller is not running a coordinated or
   * free cycle: nothing changed.
   */
  OverrideIncompatible: 20,
} as const;
export type CommitStatus = (typeof CommitStatus)[keyof typeof CommitStatus];

export function commitStatusName(status: number): string {
  for (const [name, value] of Object.entries(CommitStatus)) if (value === status) return name;
  return `unknown(${status})`;
}

/** Modbus exception codes used by the server. */
export const ModbusExceptionCode = {
  IllegalFunction: 0x01,
  IllegalDataAddress: 0x02,
  IllegalDataValue: 0x03,
  DeviceFailure: 0x04,
  Busy: 0x06,
  GatewayTargetFailed: 0x0b,
} as const;

// The whole map must respect the protocol limits: the staging block in one FC16 write,
// each block readable in one FC3/FC4 read. Checked once at load, before anything is allocated.
if (PLAN_BLOCK_LENGTH > MODBUS_MAX_WRITE_REGISTERS) throw new Error(`register map: staging block of ${PLAN_BLOCK_LENGTH} registers exceeds one FC16 write (${MODBUS_MAX_WRITE_REGISTERS})`);
if (HR_ACTIVE > MODBUS_MAX_READ_REGISTERS || PLAN_BLOCK_LENGTH > MODBUS_MAX_READ_REGISTERS) throw new Error('register map: a holding block exceeds one FC3 read');
if (ACT_BLOCK_LENGTH + 1 > MODBUS_MAX_WRITE_REGISTERS || TOD_BLOCK_LENGTH > MODBUS_MAX_WRITE_REGISTERS) throw new Error('register map: the actuated block + CRC or the time-of-day table exceeds one FC16 write');
if (HR_TOD - HR_ACT_STAGE > MODBUS_MAX_READ_REGISTERS) throw new Error('register map: the actuated blocks exceed one FC3 read');
if (EV_BLOCK_LENGTH > MODBUS_MAX_READ_REGISTERS) throw new Error(`register map: the event block of ${EV_BLOCK_LENGTH} registers exceeds one FC3 read`);
if (INPUT_REGISTER_COUNT > MODBUS_MAX_READ_REGISTERS) throw new Error(`register map: ${INPUT_REGISTER_COUNT} input registers exceed one FC4 read (${MODBUS_MAX_READ_REGISTERS})`);
