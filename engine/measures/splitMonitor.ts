/**
 * Split monitor and termination types (Purdue / UDOT ATSPM), for one phase:
 *  - split monitor: per cycle, the phase's green + yellow + red clearance (./cycles.ts
 *    splitCycles: 1 → 8 → 10 → 11), with how the green ended;
 *  - termination types: counts of the 4 gap-out, 5 max-out and 6 force-off events the log
 *    has for the phase, and of complete splits with none (fixed time logs no termination).
 * Called by ./report.ts and the tests.
 */
import { EventCode } from '../events/codes.js';
import { intersectionOfPhaseIndex, type MeasureContext } from './context.js';
import { splitCycles, type SplitCycle } from './cycles.js';

export interface SplitMonitor {
  readonly cycles: readonly SplitCycle[];
  /** Mean, smallest and largest split, s; NaN without a complete cycle. */
  readonly meanSplitS: number;
  readonly minSplitS: number;
  readonly maxSplitS: number;
}

export function splitMonitor(ctx: MeasureContext, p: number): SplitMonitor {
  const loc = ctx.location[intersectionOfPhaseIndex(ctx.c, p)]!;
  const cycles = loc < 0 ? [] : splitCycles(ctx.events, loc, ctx.numbering.phaseNumber[p]!);
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const cy of cycles) {
    sum += cy.splitS;
    min = Math.min(min, cy.splitS);
    max = Math.max(max, cy.splitS);
  }
  const n = cycles.length;
  return { cycles, meanSplitS: n > 0 ? sum / n : Number.NaN, minSplitS: n > 0 ? min : Number.NaN, maxSplitS: n > 0 ? max : Number.NaN };
}

export interface TerminationTypes {
  readonly gapOut: number;
  readonly maxOut: number;
  readonly forceOff: number;
  /** Complete splits whose green ended with no termination event. */
  readonly unreported: number;
}

export function terminationTypes(ctx: MeasureContext, p: number): TerminationTypes {
  const loc = ctx.location[intersectionOfPhaseIndex(ctx.c, p)]!;
  const phaseNumber = ctx.numbering.phaseNumber[p]!;
  const ev = ctx.events;
  let gapOut = 0;
  let maxOut = 0;
  let forceOff = 0;
  for (let k = 0; k < ev.length && loc >= 0; k++) {
    if (ev.locationAt(k) !== loc || ev.paramAt(k) !== phaseNumber) continue;
    const code = ev.codeAt(k);
    if (code === EventCode.PhaseGapOut) gapOut++;
    else if (code === EventCode.PhaseMaxOut) maxOut++;
    else if (code === EventCode.PhaseForceOff) forceOff++;
  }
  const unreported = loc < 0 ? 0 : splitCycles(ev, loc, phaseNumber).filter((cy) => cy.termination === 0).length;
  return { gapOut, maxOut, forceOff, unreported };
}
