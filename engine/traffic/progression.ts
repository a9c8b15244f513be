/**
 * Share of each link's through traffic arriving on green, from the
 * controllers' high-resolution event log (ATSPM's arrivals on green,
 * engine/measures/pcd.ts): the input of the HCM progression factor that
 * linkState.ts puts on the uniform delay. Only links with advance loops get a
 * share: a stop-line loop sees departures, not arrivals, and would call every
 * vehicle an arrival on green. Called per interval by whoever has the events
 * (the validation test records them from the simulator; the service does not
 * yet feed its collected events in: docs/traffic.md).
 */
import { purdueCoordinationDiagram } from '../measures/pcd.js';
import type { MeasureContext } from '../measures/context.js';
import { APPROACH_IDS } from '../network/schema.js';
import { movementIndex, THROUGH_TURN } from '../network/geometry.js';
import type { TrafficLinks } from './links.js';

/** Fewer arrivals than this in the window leave the share unknown (NaN). */
export const MIN_ARRIVALS = 20;

/**
 * Per link, arrivals on green / arrivals over the cycles that start in [fromMs, toMs), NaN
 * where unknown. `out` is written and returned.
 */
export function arrivalOnGreenShares(ctx: MeasureContext, links: TrafficLinks, fromMs: number, toMs: number, out = new Float64Array(links.count)): Float64Array {
  const c = ctx.c;
  out.fill(Number.NaN);
  for (let k = 0; k < links.count; k++) {
    if (links.advStart[k + 1]! === links.advStart[k]!) continue;
    const bit = 1 << movementIndex(links.approach[k]!, THROUGH_TURN);
    let phase = -1;
    for (let q = links.laneStart[k]!; q < links.laneStart[k + 1]! && phase < 0; q++) {
      const l = links.lanes[q]!;
      if ((c.laneMovementMask[l]! & bit) !== 0) phase = c.lanePhase[l]!;
    }
    if (phase < 0) continue;
    const pcd = purdueCoordinationDiagram(ctx, phase, APPROACH_IDS[links.approach[k]!]);
    let n = 0;
    let green = 0;
    for (const cy of pcd.cycles) {
      if (cy.startMs < fromMs || cy.startMs >= toMs) continue;
      for (const a of cy.arrivals) {
        n++;
        if (a.on === 'green') green++;
      }
    }
    if (n >= MIN_ARRIVALS) out[k] = green / n;
  }
  return out;
}
