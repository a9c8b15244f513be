/**
 * The analysis period of a counts file, as a traffic engineer picks it: the
 * peak hour of the 15-minute flows, the peak-hour factor of each intersection
 * (PHF = V / (4 × V15,max)), and the volume of every detector to plan for,
 * per counting interval: by default the hour's mean flow (the planner
 * minimises delay over the whole hour, and its incremental-delay term already
 * prices the variation within it); with `design: 'phf'`, HCM's design flow
 * v = V / PHF, the peak 15 minutes' rate, for sizing a plan to the worst
 * quarter hour.
 *
 * Counts recorded in a simulation (`startsEmpty`) also hold intervals in
 * which the network was filling (the first: the run starts with no vehicle on
 * it) or emptying (the tail after demand ended, whose flows fall off a
 * cliff); those are left out before the peak hour is searched. Field counts
 * have neither, and only the peak-hour search applies.
 *
 * Called by `planFromLoops` (greenwave sumo plan) when no `--at` is given.
 */
import { GreenwaveError, ErrorCode } from '../errors.js';
import type { DetectorCounts } from './csv.js';
import { median } from '../numeric.js';

export type LeftOutReason = 'filling' | 'emptying' | 'outside the peak hour';

export interface AnalysisPeriod {
  /** First interval of the period (index into the counts) and how many intervals it spans. */
  readonly first: number;
  readonly count: number;
  /** Volume to plan for per detector, veh per counting interval (the hour's mean, or its volume ÷ PHF with `design: 'phf'`). */
  readonly designVolumeVeh: Float64Array;
  /** Peak-hour factor per intersection over the period (1 where it saw no traffic). */
  readonly phfByIntersection: Float64Array;
  readonly leftOut: readonly { readonly index: number; readonly reason: LeftOutReason }[];
}

export interface AnalysisPeriodOptions {
  /** The counts come from a simulation that starts with an empty network and runs on after demand ends. */
  readonly startsEmpty?: boolean;
  /**
   * A tail interval is "emptying" when its total flow is below this share of
   * the median total of the intervals kept before it. Steady random demand
   * varies by about ±10 % between 15-minute intervals; a network draining
   * after demand ended drops by half or more.
   */
  readonly emptyingShare?: number;
  /** 'mean' (default): the hour's mean flow; 'phf': volume ÷ PHF (HCM design flow). */
  readonly design?: 'mean' | 'phf';
}

/**
 * Finds the analysis period of cleaned counts. `intersectionOf[d]` is the
 * intersection index of detector d (the PHF is an intersection's), `nI` the
 * intersection count.
 */
export function analysisPeriod(counts: DetectorCounts, intersectionOf: ArrayLike<number>, nI: number, opts: AnalysisPeriodOptions = {}): AnalysisPeriod {
  const nT = counts.intervalStartMs.length;
  const nD = counts.detectorIds.length;
  if (nT === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'counts hold no interval to plan for');
  const total = new Float64Array(nT);
  for (let t = 0; t < nT; t++) {
    let s = 0;
    for (let d = 0; d < nD; d++) {
      const v = counts.volumeVeh[t * nD + d]!;
      if (Number.isFinite(v)) s += v;
    }
    total[t] = s;
  }
  const leftOut: { index: number; reason: LeftOutReason }[] = [];
  let lo = 0;
  let hi = nT; // candidate intervals [lo, hi)
  if (opts.startsEmpty && nT > 1) {
    leftOut.push({ index: 0, reason: 'filling' });
    lo = 1;
    const share = opts.emptyingShare ?? 0.75;
    while (hi - lo > 1 && total[hi - 1]! < share * median(total.subarray(lo, hi - 1))) {
      hi--;
      leftOut.push({ index: hi, reason: 'emptying' });
    }
  }
  const perHour = Math.max(1, Math.round(3600 / counts.intervalS));
  const width = Math.min(perHour, hi - lo);
  let best = lo;
  let bestSum = -1;
  for (let s = lo; s + width <= hi; s++) {
    let sum = 0;
    for (let t = s; t < s + width; t++) sum += total[t]!;
    if (sum > bestSum + 1e-9) {
      bestSum = sum;
      best = s;
    }
  }
  for (let t = lo; t < hi; t++) if (t < best || t >= best + width) leftOut.push({ index: t, reason: 'outside the peak hour' });
  leftOut.sort((a, b) => a.index - b.index);

  // Per intersection: the period's mean and its busiest interval.
  const meanI = new Float64Array(nI);
  const maxI = new Float64Array(nI);
  const perInterval = new Float64Array(nI);
  for (let t = best; t < best + width; t++) {
    perInterval.fill(0);
    for (let d = 0; d < nD; d++) {
      const v = counts.volumeVeh[t * nD + d]!;
      if (Number.isFinite(v)) perInterval[intersectionOf[d]!]! += v;
    }
    for (let i = 0; i < nI; i++) {
      meanI[i]! += perInterval[i]! / width;
      if (perInterval[i]! > maxI[i]!) maxI[i] = perInterval[i]!;
    }
  }
  const phfByIntersection = new Float64Array(nI);
  for (let i = 0; i < nI; i++) phfByIntersection[i] = maxI[i]! > 0 ? meanI[i]! / maxI[i]! : 1;
  const designVolumeVeh = new Float64Array(nD);
  for (let d = 0; d < nD; d++) {
    let sum = 0;
    let n = 0;
    for (let t = best; t < best + width; t++) {
      const v = counts.volumeVeh[t * nD + d]!;
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    designVolumeVeh[d] = n > 0 ? sum / n / (opts.design === 'phf' ? phfByIntersection[intersectionOf[d]!]! : 1) : 0;
  }
  return { first: best, count: width, designVolumeVeh, phfByIntersection, leftOut };
}
