/**
 * The high-resolution event codes greenwave emits, in the Indiana enumerations
 * that ATSPM reads (Purdue's "Indiana Traffic Signal Hi Resolution Data Logger
 * Enumerations"; UDOT ATSPM's IndianaEnumerations). Only the codes greenwave
 * writes or reads are named here. Used by the emitters (simulator/events.ts,
 * controllers-adapter/virtual/events.ts), the CSV reader and writer (./csv.ts)
 * and the measures (engine/measures/).
 */

/** Event codes: never renumber, they are the published enumeration. */
export const EventCode = {
  /** Parameter: phase number (./numbering.ts). */
  PhaseBeginGreen: 1,
  PhaseGapOut: 4,
  PhaseMaxOut: 5,
  PhaseForceOff: 6,
  PhaseBeginYellow: 8,
  PhaseEndYellow: 9,
  PhaseBeginRedClearance: 10,
  PhaseEndRedClearance: 11,
  /** Parameter: phase number. */
  PedBeginWalk: 21,
  PedBeginClearance: 22,
  PedBeginDontWalk: 23,
  /** Pedestrian call registered (push button), parameter the phase number: read from field logs, greenwave's heads run on recall. */
  PedCallRegistered: 45,
  /** Parameter: detector channel (./numbering.ts). */
  DetectorOff: 81,
  DetectorOn: 82,
  /** Parameter: TSP request number. */
  TspCheckIn: 112,
  TspEarlyGreen: 113,
  TspExtendGreen: 114,
  TspCheckOut: 115,
  /** Parameter: the new pattern (plan id), cycle length (s) and offset (s). */
  CoordPatternChange: 131,
  CoordCycleLengthChange: 132,
  CoordOffsetChange: 133,
  /** Split n change is 133 + n (n = 1..16): parameter the new split, s. */
  CoordSplit1Change: 134,
  CoordSplit16Change: 149,
  /** Parameter: a FlashStatus value. */
  UnitFlashStatus: 173,
} as const;
export type EventCode = (typeof EventCode)[keyof typeof EventCode];

/** The phase codes the measures read (termination codes are 4, 5, 6). */
export const TERMINATION_CODES = [EventCode.PhaseGapOut, EventCode.PhaseMaxOut, EventCode.PhaseForceOff] as const;

/** The split-change code of phase number n (1..16). */
export function splitChangeCode(phaseNumber: number): number {
  return EventCode.CoordSplit1Change + phaseNumber - 1;
}

/**
 * Parameter of event 173: the unit's flash status, as NTCIP 1202 unitFlashStatus counts it
 * (the value Indiana controllers log): 2 not flashing, 5 flash from the fault (conflict) monitor.
 */
export const FlashStatus = { Other: 1, NotFlash: 2, Automatic: 3, LocalManual: 4, FaultMonitor: 5, Mmu: 6, Startup: 7, Preempt: 8 } as const;

/** Largest event parameter a record holds (a 16-bit field; Indiana loggers use one byte, cycle lengths and plan ids fit). */
export const MAX_EVENT_PARAM = 0xffff;
/** Largest event code (the enumeration is one byte). */
export const MAX_EVENT_CODE = 255;
