/**
 * Turns a phase's interval change (engine/runner/lamps.ts PHASE_*) into its Indiana phase
 * events, the same way for every emitter (simulator/events.ts,
 * controllers-adapter/virtual/events.ts). The intervals run green → yellow → red clearance
 * → red → green; a change that skips intervals between two samples (a zero all-red, or a
 * sampled clock) emits every edge on the way, at the one timestamp, in order:
 *   green → yellow:           [4/5/6 how the green ended, when known] 8 begin yellow
 *   yellow → red clearance:   9 end yellow, 10 begin red clearance
 *   red clearance → red:      11 end red clearance
 *   red → green:              1 begin green
 */
import { PHASE_ALL_RED, PHASE_GREEN, PHASE_RED, PHASE_YELLOW } from '../runner/lamps.js';
import { EventCode } from './codes.js';
import type { EventBuffer } from './buffer.js';

/** The interval after `interval` in a phase's run. */
function nextInterval(interval: number): number {
  switch (interval) {
    case PHASE_GREEN:
      return PHASE_YELLOW;
    case PHASE_YELLOW:
      return PHASE_ALL_RED;
    case PHASE_ALL_RED:
      return PHASE_RED;
    default:
      return PHASE_GREEN;
  }
}

/**
 * Appends the events of a phase going from interval `from` to `to` at `timestampMs`;
 * `termination` (4, 5 or 6; 0 = unknown) is logged before its begin-yellow.
 */
export function emitPhaseChange(events: EventBuffer, location: number, timestampMs: number, phaseNumber: number, from: number, to: number, termination: number): void {
  let cur = from;
  // At most four edges lead anywhere; the bound guards against an unknown interval value.
  for (let guard = 0; cur !== to && guard < 4; guard++) {
    const next = nextInterval(cur);
    if (next === PHASE_YELLOW) {
      if (termination !== 0) events.push(location, timestampMs, termination, phaseNumber);
      events.push(location, timestampMs, EventCode.PhaseBeginYellow, phaseNumber);
    } else if (next === PHASE_ALL_RED) {
      events.push(location, timestampMs, EventCode.PhaseEndYellow, phaseNumber);
      events.push(location, timestampMs, EventCode.PhaseBeginRedClearance, phaseNumber);
    } else if (next === PHASE_RED) {
      events.push(location, timestampMs, EventCode.PhaseEndRedClearance, phaseNumber);
    } else {
      events.push(location, timestampMs, EventCode.PhaseBeginGreen, phaseNumber);
    }
    cur = next;
  }
}
