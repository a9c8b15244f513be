/**
 * Split failures (Purdue / UDOT ATSPM): per cycle of a phase, on its stop-line detectors
 *  - green occupancy ratio (GOR): the share of the green and yellow (green start → red
 *    start) the stop bar is occupied;
 *  - red occupancy ratio (ROR5): the share of the first 5 s of the red that follows
 *    (cut short by the next green if the red is shorter);
 * the cycle is a split failure when both exceed 79 %. The stop bar is one detection zone:
 * occupancy is the union of its detectors' on … off intervals (./context.ts). A cycle whose
 * 5 s of red run past the end of the log is not judged. Called by ./report.ts and the tests.
 */
import { intersectionOfPhaseIndex, occupiedIntervalsMs, occupiedMsWithin, stopLineDetectors, type MeasureContext } from './context.js';
import { phaseCycles } from './cycles.js';

export const SPLIT_FAILURE_THRESHOLD_PCT = 79;
export const RED_OCCUPANCY_WINDOW_S = 5;

export interface SplitFailureCycle {
  readonly greenStartMs: number;
  /** Red start after this green: the end of the green + yellow window, ms. */
  readonly redStartMs: number;
  readonly greenOccupancyPct: number;
  readonly redOccupancyPct: number;
  readonly failure: boolean;
}

export interface SplitFailures {
  readonly detectorChannels: readonly number[];
  readonly cycles: readonly SplitFailureCycle[];
  readonly failures: number;
  /** failures / cycles judged, %; NaN when none. */
  readonly percentFailures: number;
}

export function splitFailures(ctx: MeasureContext, p: number): SplitFailures {
  const i = intersectionOfPhaseIndex(ctx.c, p);
  const loc = ctx.location[i]!;
  const set = stopLineDetectors(ctx, p);
  const cycles = loc < 0 || set.channels.length === 0 ? [] : phaseCycles(ctx.events, loc, ctx.numbering.phaseNumber[p]!);
  const occupied = occupiedIntervalsMs(ctx, loc, set);
  const out: SplitFailureCycle[] = [];
  cycles.forEach((cy, k) => {
    const next = cycles[k + 1];
    let redEnd = cy.endMs + RED_OCCUPANCY_WINDOW_S * 1000;
    if (next && next.startMs === cy.endMs) redEnd = Math.min(redEnd, next.greenStartMs);
    if (redEnd > ctx.lastTimestampMs || redEnd <= cy.endMs) return;
    const gor = (100 * occupiedMsWithin(occupied, cy.greenStartMs, cy.endMs)) / (cy.endMs - cy.greenStartMs);
    const ror = (100 * occupiedMsWithin(occupied, cy.endMs, redEnd)) / (redEnd - cy.endMs);
    out.push({ greenStartMs: cy.greenStartMs, redStartMs: cy.endMs, greenOccupancyPct: gor, redOccupancyPct: ror, failure: gor > SPLIT_FAILURE_THRESHOLD_PCT && ror > SPLIT_FAILURE_THRESHOLD_PCT });
  });
  const failures = out.filter((x) => x.failure).length;
  return { detectorChannels: set.channels, cycles: out, failures, percentFailures: out.length > 0 ? (100 * failures) / out.length : Number.NaN };
}
