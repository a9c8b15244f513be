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

/** Cycles equal (or one a whole multiple of another) within this, s. */
const CYCLE_EPS_S = 1e-6;

export function measurePlanBands(c: CompiledNetwork, buf: PlanBuffer): MeasuredBand[] {
  const byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const out: MeasuredBand[] = [];
  for (const cor of c.network.corridors) {
    const indices = cor.intersections.map((id) => byId.get(id)!).filter((i) => i !== undefined);
    if (indices.length < 2) continue;
    const cycleS = Math.max(...indices.map((i) => buf.cycleS[i]!));
    const common = indices.every((i) => {
      const ratio = cycleS / buf.cycleS[i]!;
      return Math.abs(ratio - Math.round(ratio)) < CYCLE_EPS_S;
    });
    if (!common) {
      out.push({ corridorId: cor.id, cycleS: null, bandOutS: 0, bandInS: 0 });
      continue;
    }
    const { outApproach, inApproach } = travelApproaches(c, indices);
    out.push({ corridorId: cor.id, cycleS, bandOutS: band(c, buf, indices, outApproach.map(throughIndex), cycleS, true), bandInS: band(c, buf, indices, inApproach.map(throughIndex), cycleS, false) });
  }
  return out;
}

function band(c: CompiledNetwork, buf: PlanBuffer, indices: readonly number[], movements: readonly number[], cycleS: number, outbound: boolean): number {
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
  return acc.longest(cycleS, one);
}
