/**
 * Transit signal priority as the event log records it (codes 112 check-in, 113 early green,
 * 114 extend green, 115 check-out, each with the TSP request number as its parameter):
 * per intersection, each request from its check-in to its check-out, what the controller
 * did for it, and how long the signal ran adjusted. ATSPM's TSP report plans splits for
 * priority; this is the companion an operator checks first: were the requests served, and
 * how. Called by ./report.ts (`greenwave measures`, EventService.GetMeasures).
 *
 * Pairing: a 112 opens request n and the next 115 with parameter n closes it; a 113 or 114
 * for an open n records the adjustment (the first one counts). A 112 for an n still open (its
 * 115 lost) leaves the earlier request open. A 115 with no open request (the log began
 * inside it) is counted, not paired.
 */
import { EventCode } from '../events/codes.js';
import type { MeasureContext } from './context.js';

export type TspAdjustment = 'earlyGreen' | 'extendGreen' | 'none';

export interface TspRequestRecord {
  readonly requestNumber: number;
  readonly checkInMs: number;
  readonly adjustment: TspAdjustment;
  /** NaN while the request is open at the end of the log. */
  readonly checkOutMs: number;
  /** Check-in to check-out, s; NaN while open. */
  readonly serviceS: number;
}

export interface TspMeasures {
  readonly intersectionId: string;
  readonly requests: number;
  readonly earlyGreens: number;
  readonly extendGreens: number;
  /** Checked in and out with neither 113 nor 114: the controller left the cycle as it was. */
  readonly notAdjusted: number;
  readonly checkedOut: number;
  /** Requests with no check-out in the log. */
  readonly open: number;
  /** Check-outs whose check-in is not in the log. */
  readonly unmatchedCheckOuts: number;
  /** Over the checked-out requests, s; NaN when there are none. */
  readonly meanServiceS: number;
  readonly maxServiceS: number;
  readonly records: readonly TspRequestRecord[];
}

interface OpenRequest {
  requestNumber: number;
  checkInMs: number;
  adjustment: TspAdjustment;
  checkOutMs: number;
}

/** The TSP requests of intersection i (undefined when the log has no TSP event there). */
export function tspMeasures(ctx: MeasureContext, i: number): TspMeasures | undefined {
  const loc = ctx.location[i]!;
  if (loc < 0) return undefined;
  const ev = ctx.events;
  const all: OpenRequest[] = [];
  const open = new Map<number, OpenRequest>();
  let unmatchedCheckOuts = 0;
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc) continue;
    const code = ev.codeAt(k);
    if (code < EventCode.TspCheckIn || code > EventCode.TspCheckOut) continue;
    const n = ev.paramAt(k);
    const t = ev.timestampMsAt(k);
    if (code === EventCode.TspCheckIn) {
      const r: OpenRequest = { requestNumber: n, checkInMs: t, adjustment: 'none', checkOutMs: Number.NaN };
      all.push(r);
      open.set(n, r);
      continue;
    }
    const r = open.get(n);
    if (code === EventCode.TspCheckOut) {
      if (r === undefined) unmatchedCheckOuts++;
      else {
        r.checkOutMs = t;
        open.delete(n);
      }
    } else if (r !== undefined && r.adjustment === 'none') r.adjustment = code === EventCode.TspEarlyGreen ? 'earlyGreen' : 'extendGreen';
  }
  if (all.length === 0 && unmatchedCheckOuts === 0) return undefined;
  const records = all.map((r): TspRequestRecord => ({ ...r, serviceS: (r.checkOutMs - r.checkInMs) / 1000 }));
  const served = records.filter((r) => !Number.isNaN(r.checkOutMs));
  const count = (a: TspAdjustment) => records.filter((r) => r.adjustment === a).length;
  return {
    intersectionId: ctx.c.intersectionIds[i]!,
    requests: records.length,
    earlyGreens: count('earlyGreen'),
    extendGreens: count('extendGreen'),
    notAdjusted: served.filter((r) => r.adjustment === 'none').length,
    checkedOut: served.length,
    open: records.length - served.length,
    unmatchedCheckOuts,
    meanServiceS: served.length > 0 ? served.reduce((s, r) => s + r.serviceS, 0) / served.length : Number.NaN,
    maxServiceS: served.length > 0 ? Math.max(...served.map((r) => r.serviceS)) : Number.NaN,
    records,
  };
}
