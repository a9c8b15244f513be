/**
 * Every measure for every phase the log has events for (pedestrian service included), TSP
 * requests per intersection, and Link Pivot for every corridor:
 * what `greenwave measures` prints (cli/measures.ts). Plain data, JSON-ready (NaN becomes
 * null in JSON: a measure with nothing to measure).
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { EventBuffer } from '../events/buffer.js';
import { measureContext } from './context.js';
import { approachDelay, arrivalsOnGreen, purdueCoordinationDiagram, type ApproachDelay, type ArrivalsOnGreen } from './pcd.js';
import { splitFailures } from './splitFailure.js';
import { splitMonitor, terminationTypes, type TerminationTypes } from './splitMonitor.js';
import { linkPivot, type LinkPivotResult } from './linkPivot.js';
import { pedestrianMeasures, type PedestrianMeasures } from './pedestrian.js';
import { tspMeasures, type TspMeasures } from './tsp.js';

export interface PhaseMeasures {
  readonly intersectionId: string;
  readonly phaseId: string;
  readonly phaseNumber: number;
  readonly cycles: number;
  readonly arrivalsOnGreen: ArrivalsOnGreen;
  readonly approachDelay: ApproachDelay;
  readonly splitFailures: { readonly cycles: number; readonly failures: number; readonly percentFailures: number };
  readonly terminations: TerminationTypes;
  readonly split: { readonly cycles: number; readonly meanS: number; readonly minS: number; readonly maxS: number };
  /** Walks, clearances and push-button delay (./pedestrian.ts); absent when the phase logged no pedestrian event. */
  readonly pedestrian?: PedestrianMeasures;
}

export interface MeasuresReport {
  readonly events: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly phases: readonly PhaseMeasures[];
  readonly linkPivot: readonly LinkPivotResult[];
  /** Per intersection with TSP events (./tsp.ts). */
  readonly tsp: readonly TspMeasures[];
}

/** True when the log has any event with phase `phaseNumber` as parameter at `loc` (phase codes 1..11). */
export function phaseLogged(ev: EventBuffer, loc: number, phaseNumber: number): boolean {
  for (let k = 0; k < ev.length; k++) if (ev.locationAt(k) === loc && ev.codeAt(k) >= 1 && ev.codeAt(k) <= 11 && ev.paramAt(k) === phaseNumber) return true;
  return false;
}

export function measuresReport(c: CompiledNetwork, events: EventBuffer): MeasuresReport {
  const ctx = measureContext(c, events);
  const phases: PhaseMeasures[] = [];
  for (let i = 0; i < c.intersectionCount; i++) {
    const loc = ctx.location[i]!;
    if (loc < 0) continue;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      if (!phaseLogged(events, loc, ctx.numbering.phaseNumber[p]!)) continue;
      const pcd = purdueCoordinationDiagram(ctx, p);
      const sf = splitFailures(ctx, p);
      const sm = splitMonitor(ctx, p);
      const ped = pedestrianMeasures(ctx, p);
      phases.push({
        intersectionId: c.intersectionIds[i]!,
        phaseId: c.phaseIds[p]!,
        phaseNumber: ctx.numbering.phaseNumber[p]!,
        cycles: pcd.cycles.length,
        arrivalsOnGreen: arrivalsOnGreen(pcd),
        approachDelay: approachDelay(pcd),
        splitFailures: { cycles: sf.cycles.length, failures: sf.failures, percentFailures: sf.percentFailures },
        terminations: terminationTypes(ctx, p),
        split: { cycles: sm.cycles.length, meanS: sm.meanSplitS, minS: sm.minSplitS, maxS: sm.maxSplitS },
        ...(ped ? { pedestrian: ped } : {}),
      });
    }
  }
  const pivots = c.network.corridors.filter((cor) => cor.intersections.some((id) => events.findLocation(id) >= 0)).map((cor) => linkPivot(ctx, cor));
  const tsp: TspMeasures[] = [];
  for (let i = 0; i < c.intersectionCount; i++) {
    const t = tspMeasures(ctx, i);
    if (t) tsp.push(t);
  }
  return { events: events.length, fromMs: events.length > 0 ? events.timestampMsAt(0) : 0, toMs: ctx.lastTimestampMs, phases, linkPivot: pivots, tsp };
}
