/**
 * Link Pivot offset suggestions (UDOT ATSPM's Link Pivot), along a corridor's signals in
 * order. For each pair of neighbours (u upstream, d downstream in the outbound direction):
 *  - the outbound arrivals at d (d's through phase on the approach from u) and the inbound
 *    arrivals at u (u's through phase on the approach from d) come from the log, moved to
 *    the stop line (./pcd.ts), with each signal's logged green windows (green start →
 *    yellow start of its cycles);
 *  - for every adjustment a = 0, 1, …, C − 1 s of d's offset relative to u's (d's greens a s
 *    later), the upstream signal's arrival profile is shifted against d's greens (an
 *    outbound arrival at t counts as at t − a) and the inbound one against u's greens
 *    (t + a); the adjustment with the most arrivals on green over both directions wins
 *    (ties: the smallest, so no change when nothing is gained);
 *  - the adjustments cascade from the first signal (the pivot, unchanged): signal k's
 *    suggested offset change is the sum of the links' adjustments before it, mod C.
 * Only arrivals at least one cycle inside the logged greens are counted, so every shift is
 * judged on the same vehicles. C is the median cycle of the downstream phase (or given).
 * This predicts AoG from the arrival profiles as they were; traffic reshaped by the new
 * offsets is for the simulator to show (simulator/linkPivot.test.ts). Called by
 * ./report.ts, `greenwave measures` and that test.
 */
import type { Corridor } from '../network/schema.js';
import { APPROACH_IDS, type ApproachId } from '../network/schema.js';
import { movementIndex, THROUGH_TURN, travelDirection } from '../network/geometry.js';
import { GreenwaveError, ErrorCode } from '../errors.js';
import { arrivalDetectors, arrivalTimesMs, type MeasureContext } from './context.js';
import { phaseCycles } from './cycles.js';

const OPPOSITE: Record<ApproachId, ApproachId> = { NB: 'SB', SB: 'NB', EB: 'WB', WB: 'EB' };

export interface LinkPivotLink {
  readonly upstreamId: string;
  readonly downstreamId: string;
  /** Direction of outbound travel (the approach at the downstream signal). */
  readonly outboundApproach: ApproachId;
  /** Adjustment of the downstream offset relative to the upstream one, s in [0, C). */
  readonly adjustmentS: number;
  /** Arrivals counted (both directions) and on green before and after the adjustment. */
  readonly arrivals: number;
  readonly arrivalsOnGreenBefore: number;
  readonly arrivalsOnGreenAfter: number;
}

export interface LinkPivotResult {
  readonly corridorId: string;
  readonly cycleS: number;
  readonly links: readonly LinkPivotLink[];
  /** Per corridor signal, in corridor order: suggested change of its offset, s in [0, C). */
  readonly offsetAdjustmentS: readonly { readonly intersectionId: string; readonly adjustmentS: number }[];
  /** Predicted arrivals on green over every link, %: before and after. */
  readonly percentArrivalsOnGreenBefore: number;
  readonly percentArrivalsOnGreenAfter: number;
}

export interface LinkPivotOptions {
  /** The corridor's common cycle, s; default the median logged cycle of each downstream phase. */
  readonly cycleS?: number;
}

/** The global phase of intersection i that protects the through movement of `approach`, or -1. */
export function throughPhase(ctx: MeasureContext, i: number, approach: ApproachId): number {
  const { c } = ctx;
  const bit = 1 << movementIndex(APPROACH_IDS.indexOf(approach), THROUGH_TURN);
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if ((c.phaseProtectedMask[p]! & bit) !== 0 && c.phaseOnDemand[p] === 0) return p;
  return -1;
}

interface Side {
  readonly arrivals: Float64Array;
  /** [greenStart, yellowStart) per cycle, ms, sorted. */
  readonly greens: Float64Array;
  readonly fromMs: number;
  readonly toMs: number;
  readonly medianCycleMs: number;
}

function side(ctx: MeasureContext, i: number, approach: ApproachId): Side | undefined {
  const p = throughPhase(ctx, i, approach);
  const loc = ctx.location[i]!;
  if (p < 0 || loc < 0) return undefined;
  const cycles = phaseCycles(ctx.events, loc, ctx.numbering.phaseNumber[p]!);
  if (cycles.length < 3) return undefined;
  const greens = new Float64Array(cycles.length * 2);
  cycles.forEach((cy, k) => {
    greens[2 * k] = cy.greenStartMs;
    greens[2 * k + 1] = cy.yellowStartMs;
  });
  const lengths = cycles.map((cy) => cy.endMs - cy.startMs).sort((a, b) => a - b);
  return { arrivals: arrivalTimesMs(ctx, loc, arrivalDetectors(ctx, p, approach)), greens, fromMs: cycles[0]!.startMs, toMs: cycles[cycles.length - 1]!.endMs, medianCycleMs: lengths[lengths.length >> 1]! };
}

/** True when t falls in one of the green windows (binary search on the starts). */
function onGreen(greens: Float64Array, t: number): boolean {
  let lo = 0;
  let hi = greens.length / 2 - 1;
  if (hi < 0 || t < greens[0]!) return false;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (greens[2 * mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return t < greens[2 * lo + 1]!;
}

/** Arrivals on green of `s` with every arrival moved by shiftMs, counting only arrivals inside [from + margin, to − margin). */
function greenCount(s: Side, shiftMs: number, marginMs: number): { n: number; green: number } {
  let n = 0;
  let green = 0;
  for (let k = 0; k < s.arrivals.length; k++) {
    const t = s.arrivals[k]!;
    if (t < s.fromMs + marginMs || t >= s.toMs - marginMs) continue;
    n++;
    if (onGreen(s.greens, t + shiftMs)) green++;
  }
  return { n, green };
}

export function linkPivot(ctx: MeasureContext, corridor: Corridor, opts: LinkPivotOptions = {}): LinkPivotResult {
  const { c } = ctx;
  const index = (id: string): number => {
    const i = c.intersectionIds.indexOf(id);
    if (i < 0) throw new GreenwaveError(ErrorCode.InvalidInput, `corridor ${corridor.id}: no intersection ${id}`);
    return i;
  };
  const members = corridor.intersections.map(index);
  const links: LinkPivotLink[] = [];
  let cycleS = opts.cycleS ?? Number.NaN;
  let total = 0;
  let before = 0;
  let after = 0;
  const adjustments = [0];
  for (let k = 0; k + 1 < members.length; k++) {
    const u = members[k]!;
    const d = members[k + 1]!;
    const ixU = c.network.intersections[u]!;
    const ixD = c.network.intersections[d]!;
    const out = travelDirection(ixU.position, ixD.position);
    const down = side(ctx, d, out);
    const up = side(ctx, u, OPPOSITE[out]);
    const linkCycleMs = opts.cycleS !== undefined ? opts.cycleS * 1000 : (down ?? up)?.medianCycleMs;
    if (linkCycleMs === undefined || (!down && !up)) {
      // Nothing logged on this link: keep its relative offset.
      links.push({ upstreamId: ixU.id, downstreamId: ixD.id, outboundApproach: out, adjustmentS: 0, arrivals: 0, arrivalsOnGreenBefore: 0, arrivalsOnGreenAfter: 0 });
      adjustments.push(adjustments[k]!);
      continue;
    }
    if (Number.isNaN(cycleS)) cycleS = linkCycleMs / 1000;
    const shifts = Math.max(1, Math.round(linkCycleMs / 1000));
    let best = 0;
    let bestGreen = -1;
    let base = { n: 0, green: 0 };
    for (let a = 0; a < shifts; a++) {
      const o = down ? greenCount(down, -a * 1000, linkCycleMs) : { n: 0, green: 0 };
      const i = up ? greenCount(up, a * 1000, linkCycleMs) : { n: 0, green: 0 };
      const g = o.green + i.green;
      if (a === 0) base = { n: o.n + i.n, green: g };
      if (g > bestGreen) {
        bestGreen = g;
        best = a;
      }
    }
    links.push({ upstreamId: ixU.id, downstreamId: ixD.id, outboundApproach: out, adjustmentS: best, arrivals: base.n, arrivalsOnGreenBefore: base.green, arrivalsOnGreenAfter: bestGreen });
    total += base.n;
    before += base.green;
    after += bestGreen;
    adjustments.push((adjustments[k]! + best) % shifts);
  }
  return {
    corridorId: corridor.id,
    cycleS,
    links,
    offsetAdjustmentS: members.map((i, k) => ({ intersectionId: c.intersectionIds[i]!, adjustmentS: adjustments[k]! })),
    percentArrivalsOnGreenBefore: total > 0 ? (100 * before) / total : Number.NaN,
    percentArrivalsOnGreenAfter: total > 0 ? (100 * after) / total : Number.NaN,
  };
}
