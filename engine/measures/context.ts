/**
 * What every measure needs besides the log: the compiled network, the phase and detector
 * numbering of the log (engine/events/numbering.ts), the log's index of each intersection,
 * and per phase the detectors that count its arrivals and measure its occupancy. Built once
 * by `measureContext` and passed to the measure functions (./pcd.ts, ./splitFailure.ts, …).
 *
 * Detectors per phase: a detector belongs to the phase that serves its lane
 * (CompiledNetwork.lanePhase). Arrivals (PCD, arrivals on green, approach delay, Link Pivot)
 * come from the phase's advance detectors when it has any, else from its stop-line
 * detectors; each arrival is moved to the stop line by distanceM / approach speed, as
 * ATSPM moves a detector-on event (t + distance / speed; latency 0 here). Occupancy (split
 * failure) comes from the phase's stop-line detectors.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { DetectorKind } from '../network/compile.js';
import { APPROACH_IDS, type ApproachId } from '../network/schema.js';
import type { EventBuffer } from '../events/buffer.js';
import { eventNumbering, type EventNumbering } from '../events/numbering.js';

export interface MeasureContext {
  readonly c: CompiledNetwork;
  readonly events: EventBuffer;
  readonly numbering: EventNumbering;
  /** Per intersection: its location index in the log, -1 when the log never names it. */
  readonly location: Int32Array;
  /** Per global detector: the approach its lane is on, and the time from it to the stop line at the approach speed, ms. */
  readonly detectorApproach: readonly ApproachId[];
  readonly detectorTravelMs: Float64Array;
  /** Timestamp of the log's last record (what "until the end of the log" means). */
  readonly lastTimestampMs: number;
}

/** A set of detectors of one intersection as the log names them: channel and travel time to the stop line. */
export interface DetectorSet {
  readonly channels: readonly number[];
  /** Per channel (index = channel), ms to add to a detector-on to get the stop-line arrival; NaN for channels outside the set. */
  readonly travelMsByChannel: Float64Array;
}

export function measureContext(c: CompiledNetwork, events: EventBuffer): MeasureContext {
  // Time order is what every scan below assumes; a stable sort keeps same-instant order.
  events.sortByTime();
  const numbering = eventNumbering(c);
  const location = new Int32Array(c.intersectionCount);
  for (let i = 0; i < c.intersectionCount; i++) location[i] = events.findLocation(c.intersectionIds[i]!);
  const nd = c.detectorIds.length;
  const detectorApproach: ApproachId[] = new Array(nd);
  const detectorTravelMs = new Float64Array(nd);
  for (let d = 0; d < nd; d++) {
    const i = numbering.detectorIntersection[d]!;
    const ix = c.network.intersections[i]!;
    const det = ix.detectors[d - numbering.detectorStart[i]!]!;
    const ap = ix.approaches.find((a) => a.lanes.some((l) => l.id === det.lane)) ?? ix.approaches[0]!;
    detectorApproach[d] = ap.id;
    detectorTravelMs[d] = (det.distanceM / (ap.speedKph / 3.6)) * 1000;
  }
  const lastTimestampMs = events.length > 0 ? events.timestampMsAt(events.length - 1) : 0;
  return { c, events, numbering, location, detectorApproach, detectorTravelMs, lastTimestampMs };
}

function detectorSet(ctx: MeasureContext, i: number, pick: (d: number) => boolean): DetectorSet {
  const { numbering } = ctx;
  const start = numbering.detectorStart[i]!;
  const end = numbering.detectorStart[i + 1]!;
  const channels: number[] = [];
  const travel = new Float64Array(end - start + 1).fill(Number.NaN);
  for (let d = start; d < end; d++) {
    if (!pick(d)) continue;
    const ch = numbering.detectorChannel[d]!;
    channels.push(ch);
    travel[ch] = ctx.detectorTravelMs[d]!;
  }
  return { channels, travelMsByChannel: travel };
}

/**
 * The detectors that count arrivals for global phase p (optionally only those on `approach`):
 * its advance detectors, or its stop-line detectors when it has no advance detector.
 */
export function arrivalDetectors(ctx: MeasureContext, p: number, approach?: ApproachId): DetectorSet {
  const { c } = ctx;
  const i = intersectionOfPhaseIndex(c, p);
  const serves = (d: number): boolean => c.lanePhase[c.detectorLane[d]!] === p && (approach === undefined || ctx.detectorApproach[d] === approach);
  const advance = detectorSet(ctx, i, (d) => serves(d) && c.detectorKind[d] === DetectorKind.Advance);
  return advance.channels.length > 0 ? advance : detectorSet(ctx, i, (d) => serves(d) && c.detectorKind[d] === DetectorKind.StopLine);
}

/** The stop-line detectors of global phase p: what split failure measures occupancy on. */
export function stopLineDetectors(ctx: MeasureContext, p: number): DetectorSet {
  const { c } = ctx;
  return detectorSet(ctx, intersectionOfPhaseIndex(c, p), (d) => c.lanePhase[c.detectorLane[d]!] === p && c.detectorKind[d] === DetectorKind.StopLine);
}

export function intersectionOfPhaseIndex(c: CompiledNetwork, p: number): number {
  let i = 0;
  while (i + 1 < c.intersectionCount && c.phaseStart[i + 1]! <= p) i++;
  return i;
}

/** The approach index (APPROACH_IDS) of an approach id. */
export function approachIndex(id: ApproachId): number {
  return APPROACH_IDS.indexOf(id);
}

/**
 * Stop-line arrival times (ms, sorted) at location `loc`: every detector-on (82) of a
 * channel in `set`, moved forward by that detector's travel time.
 */
export function arrivalTimesMs(ctx: MeasureContext, loc: number, set: DetectorSet): Float64Array {
  const ev = ctx.events;
  const out: number[] = [];
  if (loc < 0 || set.channels.length === 0) return new Float64Array(0);
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc || ev.codeAt(k) !== 82) continue;
    const travel = set.travelMsByChannel[ev.paramAt(k)];
    if (travel === undefined || Number.isNaN(travel)) continue;
    out.push(ev.timestampMsAt(k) + travel);
  }
  return Float64Array.from(out).sort();
}

/**
 * When any detector of `set` at `loc` is occupied: each channel's on (82) … off (81)
 * intervals, merged into one union (the stop bar as one detection zone). An off with no
 * on before it is ignored; a detector still on at the end of the log is on until then.
 * Returns [start0, end0, start1, end1, …] in ms, sorted and disjoint.
 */
export function occupiedIntervalsMs(ctx: MeasureContext, loc: number, set: DetectorSet): Float64Array {
  const ev = ctx.events;
  if (loc < 0 || set.channels.length === 0) return new Float64Array(0);
  const onSince = new Map<number, number>();
  const spans: [number, number][] = [];
  for (let k = 0; k < ev.length; k++) {
    if (ev.locationAt(k) !== loc) continue;
    const code = ev.codeAt(k);
    if (code !== 81 && code !== 82) continue;
    const ch = ev.paramAt(k);
    const travel = set.travelMsByChannel[ch];
    if (travel === undefined || Number.isNaN(travel)) continue;
    const t = ev.timestampMsAt(k);
    if (code === 82) {
      if (!onSince.has(ch)) onSince.set(ch, t);
    } else {
      const from = onSince.get(ch);
      if (from !== undefined) spans.push([from, t]);
      onSince.delete(ch);
    }
  }
  for (const from of onSince.values()) spans.push([from, Math.max(from, ctx.lastTimestampMs)]);
  spans.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [a, b] of spans) {
    const last = merged.length - 1;
    if (last > 0 && a <= merged[last]!) merged[last] = Math.max(merged[last]!, b);
    else merged.push(a, b);
  }
  return Float64Array.from(merged);
}

/** Occupied time of [fromMs, toMs) under the merged intervals, ms. */
export function occupiedMsWithin(intervals: Float64Array, fromMs: number, toMs: number): number {
  let sum = 0;
  for (let k = 0; k + 1 < intervals.length; k += 2) {
    const a = Math.max(intervals[k]!, fromMs);
    const b = Math.min(intervals[k + 1]!, toMs);
    if (b > a) sum += b - a;
  }
  return sum;
}
