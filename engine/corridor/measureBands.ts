/**
 * The green-wave bands of a plan as it stands: for each corridor, the widest
 * outbound and inbound through band the plan's offsets and splits give at the
 * links' design speeds. Unlike the band optimizer (./band.ts), nothing is
 * chosen here: a stored plan or an operator's edit is measured as it would
 * run. The plan lifecycle's review (service/lifecycle/) reports it before and
 * after a change.
 *
 * Each signal's through window is moved to the first signal's clock by the
 * travel time to it, and the band is the longest arc common to all of them
 * (the same intersection as measureBand). A corridor whose signals do not run
 * one common cycle (or a whole fraction of it, double cycling) has no band.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { ArcSet } from './arcs.js';
import { linkBetween, throughIndex, travelApproaches } from './subsystems.js';
import { currentMovementWindow } from './windows.js';

export interface MeasuredBand {
  readonly corridorId: string;
  /** The common cycle, or null when the signals do not share one (then both bands are 0). */
  readonly cycleS: number | null;
  readonly bandOutS: number;
  readonly bandInS: number;
}

/** One corridor's bands with where they sit, for drawing them (the console's time-space diagram). */
export interface BandDetail {
  readonly corridorId: string;
  readonly cycleS: number | null;
  /** Outbound: the band leaves the first signal at `startS` (first signal's clock) and reaches signal k `travelS[k]` later. */
  readonly out: { readonly widthS: number; readonly startS: number; readonly travelS: readonly number[] };
  /** Inbound: the band reaches the first signal at `startS` and passed signal k `travelS[k]` earlier. */
  readonly in: { readonly widthS: number; readonly startS: number; readonly travelS: readonly number[] };
}

/** Cycles equal (or one a whole multiple of another) within this, s. */
const CYCLE_EPS_S = 1e-6;

export function measurePlanBands(c: CompiledNetwork, buf: PlanBuffer): MeasuredBand[] {
  const out: MeasuredBand[] = [];
  for (const cor of c.network.corridors) {
    const d = measureCorridorBand(c, buf, cor.id);
    if (d) out.push({ corridorId: cor.id, cycleS: d.cycleS, bandOutS: d.out.widthS, bandInS: d.in.widthS });
  }
  return out;
}

/** The bands of corridor `corridorId` with their start and travel times; undefined for a corridor of fewer than two known signals. */
export function measureCorridorBand(c: CompiledNetwork, buf: PlanBuffer, corridorId: string): BandDetail | undefined {
  const cor = c.network.corridors.find((x) => x.id === corridorId);
  if (!cor) return undefined;
  const byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const indices = cor.intersections.map((id) => byId.get(id)!).filter((i) => i !== undefined);
  if (indices.length < 2) return undefined;
  const cycleS = Math.max(...indices.map((i) => buf.cycleS[i]!));
  const common = indices.every((i) => {
    const ratio = cycleS / buf.cycleS[i]!;
    return Math.abs(ratio - Math.round(ratio)) < CYCLE_EPS_S;
  });
  const outTravel = travelTimes(c, indices, true);
  const inTravel = travelTimes(c, indices, false);
  if (!common) return { corridorId, cycleS: null, out: { widthS: 0, startS: 0, travelS: outTravel }, in: { widthS: 0, startS: 0, travelS: inTravel } };
  const { outApproach, inApproach } = travelApproaches(c, indices);
  const start = new Float64Array(1);
  const outW = band(c, buf, indices, outApproach.map(throughIndex), cycleS, true, start);
  const outStart = start[0]!;
  const inW = band(c, buf, indices, inApproach.map(throughIndex), cycleS, false, start);
  return { corridorId, cycleS, out: { widthS: outW, startS: outStart, travelS: outTravel }, in: { widthS: inW, startS: start[0]!, travelS: inTravel } };
}

/** Cumulative travel time from the first signal to each, s, at the links' design speeds (NaN past a missing link). */
function travelTimes(c: CompiledNetwork, indices: readonly number[], outbound: boolean): number[] {
  const t = [0];
  for (let k = 1; k < indices.length; k++) {
    const a = c.intersectionIds[indices[k - 1]!]!;
    const b = c.intersectionIds[indices[k]!]!;
    const link = outbound ? linkBetween(c.network, a, b) : linkBetween(c.network, b, a);
    t.push(t[k - 1]! + (link ? link.lengthM / (link.designSpeedKph / 3.6) : Number.NaN));
  }
  return t;
}

function band(c: CompiledNetwork, buf: PlanBuffer, indices: readonly number[], movements: readonly number[], cycleS: number, outbound: boolean, startOut: Float64Array): number {
  startOut[0] = 0;
  const acc = new ArcSet();
  const win = new ArcSet();
  const spare = new ArcSet();
  const w = new Float64Array(2);
  const one = new Float64Array(1);
  acc.setFull(cycleS);
  let travelS = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (k > 0) {
      const link = outbound ? linkBetween(c.network, c.intersectionIds[indices[k - 1]!]!, c.intersectionIds[i]!) : linkBetween(c.network, c.intersectionIds[i]!, c.intersectionIds[indices[k - 1]!]!);
      if (!link) return 0;
      travelS += link.lengthM / (link.designSpeedKph / 3.6);
    }
    currentMovementWindow(c, buf, i, movements[k]!, w);
    if (w[1]! <= 0) return 0;
    // Outbound reaches signal k travelS after leaving the first; inbound left k travelS before reaching it.
    const from = buf.offsetS[i]! + w[0]! + (outbound ? -travelS : travelS);
    const period = buf.cycleS[i]!;
    win.clear();
    for (let rep = 0; rep < cycleS / period - 1e-9; rep++) win.addArc(from + rep * period, w[1]!, cycleS);
    win.normalize();
    acc.intersect(win, spare);
    acc.copyFrom(spare);
    if (acc.isEmpty()) return 0;
  }
  const width = acc.longest(cycleS, one);
  startOut[0] = one[0]!;
  return width;
}
