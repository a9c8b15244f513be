/**
 * Pedestrian service of one phase from the event log: the walk and clearance intervals it
 * ran (21 begin walk, 22 begin pedestrian clearance, 23 begin solid don't walk, parameter the
 * phase number) and, where the log has push-button calls (45, parameter the phase number,
 * as field controllers log them), ATSPM's pedestrian delay: for each walk, the time from the
 * first call registered since the previous walk to this walk's start. A call while the walk
 * shows is served by it and starts nothing. Walks with no call before them ran on recall,
 * as every greenwave head does (engine/events/pedestrian.ts), so a greenwave log has walks
 * and no delay. Called by ./report.ts.
 *
 * The shortest clearance is the figure an engineer checks against the crossing's required
 * pedestrian clearance time; the safety validator keeps it in every plan greenwave runs, a
 * field log may show otherwise.
 */
import { EventCode } from '../events/codes.js';
import { intersectionOfPhase } from '../network/compile.js';
import type { MeasureContext } from './context.js';

export interface PedestrianMeasures {
  /** Begin-walk events (21). */
  readonly walks: number;
  /** Walks with no call since the previous walk (recall). */
  readonly walksOnRecall: number;
  /** 21 → 22 and 22 → 23, s, over the complete intervals; NaN when none. */
  readonly meanWalkS: number;
  readonly meanClearanceS: number;
  readonly minClearanceS: number;
  /** Push-button calls (45). */
  readonly calls: number;
  /** Walks that served a call, with the call-to-walk delay over them, s; NaN when none. */
  readonly servedCalls: number;
  readonly averageDelayS: number;
  readonly maxDelayS: number;
}

/** Phase p's pedestrian service (undefined when the log has no pedestrian event for it). */
export function pedestrianMeasures(ctx: MeasureContext, p: number): PedestrianMeasures | undefined {
  const i = intersectionOfPhase(ctx.c, p);
  const loc = ctx.location[i]!;
  if (loc < 0) return undefined;
  const phase = ctx.numbering.phaseNumber[p]!;
  const ev = ctx.events;
  let walks = 0;
  let walksOnRecall = 0;
  let calls = 0;
  let walkStartMs = Number.NaN;
  let clearanceStartMs = Number.NaN;
  let firstCallMs = Number.NaN;
  let walkSum = 0;
  let walkCount = 0;
  let clearanceSum = 0;
  let clearanceCount = 0;
  let minClearanceS = Number.POSITIVE_INFINITY;
  let delaySum = 0;
  let servedCalls = 0;
  let maxDelayS = Number.NaN;
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc || ev.paramAt(k) !== phase) continue;
    const t = ev.timestampMsAt(k);
    switch (ev.codeAt(k)) {
      case EventCode.PedBeginWalk:
        walks++;
        if (Number.isNaN(firstCallMs)) walksOnRecall++;
        else {
          const d = (t - firstCallMs) / 1000;
          delaySum += d;
          servedCalls++;
          maxDelayS = Number.isNaN(maxDelayS) ? d : Math.max(maxDelayS, d);
        }
        firstCallMs = Number.NaN;
        walkStartMs = t;
        clearanceStartMs = Number.NaN;
        break;
      case EventCode.PedBeginClearance:
        if (!Number.isNaN(walkStartMs)) {
          walkSum += (t - walkStartMs) / 1000;
          walkCount++;
        }
        walkStartMs = Number.NaN;
        clearanceStartMs = t;
        break;
      case EventCode.PedBeginDontWalk:
        if (!Number.isNaN(clearanceStartMs)) {
          const s = (t - clearanceStartMs) / 1000;
          clearanceSum += s;
          clearanceCount++;
          minClearanceS = Math.min(minClearanceS, s);
        }
        walkStartMs = Number.NaN;
        clearanceStartMs = Number.NaN;
        break;
      case EventCode.PedCallRegistered:
        calls++;
        // A call while the walk shows is served by it.
        if (Number.isNaN(walkStartMs) && Number.isNaN(firstCallMs)) firstCallMs = t;
        break;
      default:
        break;
    }
  }
  if (walks === 0 && calls === 0) return undefined;
  return {
    walks,
    walksOnRecall,
    meanWalkS: walkCount > 0 ? walkSum / walkCount : Number.NaN,
    meanClearanceS: clearanceCount > 0 ? clearanceSum / clearanceCount : Number.NaN,
    minClearanceS: clearanceCount > 0 ? minClearanceS : Number.NaN,
    calls,
    servedCalls,
    averageDelayS: servedCalls > 0 ? delaySum / servedCalls : Number.NaN,
    maxDelayS,
  };
}
