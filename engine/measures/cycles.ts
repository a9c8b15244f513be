/**
 * A phase's cycles read from the event log, the two ways ATSPM cuts them:
 *  - `phaseCycles`, for the Purdue coordination diagram, arrivals on green, approach delay
 *    and split failure: red → green → yellow → red, from codes 9 → 1 → 8 → 9 (a cycle
 *    starts at the end of yellow; a log without 9 may start red at 10 instead);
 *  - `splitCycles`, for the split monitor and termination types: green → yellow → red
 *    clearance → end, from codes 1 → 8 → 10 → 11, with the 4/5/6 that ended the green.
 * Only complete cycles are returned: a log that starts or ends mid-cycle loses that cycle.
 * The log must be in time order (measureContext sorts it). Called by the other measures.
 */
import { EventCode } from '../events/codes.js';
import type { EventBuffer } from '../events/buffer.js';

export interface SignalCycle {
  /** Red start (end of the yellow before), green start, yellow start, and the next red start (the cycle's end), ms. */
  readonly startMs: number;
  readonly greenStartMs: number;
  readonly yellowStartMs: number;
  readonly endMs: number;
}

export function phaseCycles(ev: EventBuffer, loc: number, phaseNumber: number): SignalCycle[] {
  const out: SignalCycle[] = [];
  let red = Number.NaN;
  let green = Number.NaN;
  let yellow = Number.NaN;
  let inRed = false;
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc || ev.paramAt(k) !== phaseNumber) continue;
    const code = ev.codeAt(k);
    const t = ev.timestampMsAt(k);
    if (code === EventCode.PhaseEndYellow || code === EventCode.PhaseBeginRedClearance) {
      // 10 right after 9 is the same instant of the same red: only the first starts it.
      if (inRed) continue;
      if (!Number.isNaN(red) && !Number.isNaN(green) && !Number.isNaN(yellow)) out.push({ startMs: red, greenStartMs: green, yellowStartMs: yellow, endMs: t });
      red = t;
      green = Number.NaN;
      yellow = Number.NaN;
      inRed = true;
    } else if (code === EventCode.PhaseBeginGreen) {
      if (!inRed) {
        // A green with no red before it (the log's first): no cycle can complete from here.
        red = Number.NaN;
        continue;
      }
      green = t;
      inRed = false;
    } else if (code === EventCode.PhaseBeginYellow) {
      if (!inRed && !Number.isNaN(green)) yellow = t;
    }
  }
  return out;
}

/** How a green ended: the termination code logged for it (4 gap-out, 5 max-out, 6 force-off), 0 when none was. */
export type TerminationCode = 0 | 4 | 5 | 6;

export interface SplitCycle {
  readonly greenStartMs: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly redClearanceS: number;
  /** green + yellow + red clearance, s. */
  readonly splitS: number;
  readonly termination: TerminationCode;
}

export function splitCycles(ev: EventBuffer, loc: number, phaseNumber: number): SplitCycle[] {
  const out: SplitCycle[] = [];
  let green = Number.NaN;
  let yellow = Number.NaN;
  let redClear = Number.NaN;
  let termination: TerminationCode = 0;
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc || ev.paramAt(k) !== phaseNumber) continue;
    const code = ev.codeAt(k);
    const t = ev.timestampMsAt(k);
    switch (code) {
      case EventCode.PhaseBeginGreen:
        green = t;
        yellow = Number.NaN;
        redClear = Number.NaN;
        termination = 0;
        break;
      case EventCode.PhaseGapOut:
      case EventCode.PhaseMaxOut:
      case EventCode.PhaseForceOff:
        if (!Number.isNaN(green)) termination = code;
        break;
      case EventCode.PhaseBeginYellow:
        if (!Number.isNaN(green)) yellow = t;
        break;
      case EventCode.PhaseBeginRedClearance:
        if (!Number.isNaN(yellow)) redClear = t;
        break;
      case EventCode.PhaseEndRedClearance:
        if (!Number.isNaN(redClear)) {
          const greenS = (yellow - green) / 1000;
          const yellowS = (redClear - yellow) / 1000;
          const redClearanceS = (t - redClear) / 1000;
          out.push({ greenStartMs: green, greenS, yellowS, redClearanceS, splitS: round1(greenS + yellowS + redClearanceS), termination });
        }
        green = Number.NaN;
        yellow = Number.NaN;
        redClear = Number.NaN;
        break;
    }
  }
  return out;
}

/** Sums of tenths in floating point, back to tenths. */
function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
