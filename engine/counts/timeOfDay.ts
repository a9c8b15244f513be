/**
 * Time-of-day periods from a day of counts: where the plan should change.
 *
 * Each counting interval is a demand vector (one volume per detector). The
 * day is cut into contiguous periods that minimise the spread of those
 * vectors around each period's mean (sum of squared deviations, the k-means
 * objective restricted to contiguous clusters, solved exactly by dynamic
 * programming). The day is a circle: a night period may run across midnight.
 * Each period is at least `minPeriodS` long, as agencies' time-of-day tables
 * are (a plan needs a few cycles to settle after a switch). The number of
 * periods is the smallest that leaves less than `gainShare` of the spread
 * for one more period to remove, up to `maxPeriods` (defaults: 10 %, and 6
 * periods, the size of a typical weekday time-of-day table: night, early,
 * AM peak, midday, PM peak, evening).
 *
 * Periods are named by their level and time: the busiest before noon is the
 * AM peak, the busiest from noon the PM peak, the quietest night, the rest
 * off-peak. Called by `greenwave sumo plan --time-of-day` (and anything else
 * that builds a day plan); `analysisPeriod` then finds each period's peak
 * hour to plan for.
 */
import { GreenwaveError, ErrorCode } from '../errors.js';
import type { DetectorCounts } from './csv.js';

export interface TimeOfDayPeriod {
  /** Stable id for programs and patterns: am-peak, pm-peak, night, off-peak-1, … */
  readonly id: string;
  readonly label: string;
  /** Interval indices: the period runs from `first` for `count` intervals, wrapping past the last to 0. */
  readonly first: number;
  readonly count: number;
  /** Minutes after midnight of the period's start and end (end may be smaller: across midnight). */
  readonly startMin: number;
  readonly endMin: number;
  /** Mean total volume per interval over the period. */
  readonly meanTotalVeh: number;
}

export interface TimeOfDayOptions {
  readonly maxPeriods?: number;
  readonly minPeriodS?: number;
  /** Stop adding periods once one more would remove less than this share of the remaining spread. */
  readonly gainShare?: number;
}

/** Periods of a day of counts, in time order starting from the one that contains the file's first interval. */
export function timeOfDayPeriods(counts: DetectorCounts, opts: TimeOfDayOptions = {}): TimeOfDayPeriod[] {
  const nT = counts.intervalStartMs.length;
  const nD = counts.detectorIds.length;
  const minLen = Math.max(1, Math.round((opts.minPeriodS ?? 3600) / counts.intervalS));
  const maxK = Math.max(1, Math.min(opts.maxPeriods ?? 6, Math.floor(nT / minLen)));
  if (nT < minLen) throw new GreenwaveError(ErrorCode.InvalidInput, `time-of-day periods need at least ${minLen} intervals of counts, the file has ${nT}`);
  // The circle is closed only when the file spans a whole day.
  const circular = nT * counts.intervalS === 86_400;
  const at = (t: number, d: number): number => {
    const v = counts.volumeVeh[(t % nT) * nD + d]!;
    return Number.isFinite(v) ? v : 0;
  };
  // Prefix sums over the doubled day: S1[t][d], and S2[t] = Σ_d Σ x².
  const len = circular ? 2 * nT : nT;
  const s1 = new Float64Array((len + 1) * nD);
  const s2 = new Float64Array(len + 1);
  const total = new Float64Array(nT);
  for (let t = 0; t < len; t++) {
    let sq = 0;
    for (let d = 0; d < nD; d++) {
      const x = at(t, d);
      s1[(t + 1) * nD + d] = s1[t * nD + d]! + x;
      sq += x * x;
      if (t < nT) total[t]! += x;
    }
    s2[t + 1] = s2[t]! + sq;
  }
  // Spread of the intervals [a, a + n) of the (doubled) day around their mean, for every
  // start a and length n ≤ nT: one table, so the segmentations below are lookups.
  const starts0 = circular ? nT : 1;
  const table = new Float64Array(len * (nT + 1));
  for (let a = 0; a < len; a++) {
    for (let n = 1; n <= nT && a + n <= len; n++) {
      const b = a + n;
      let c = s2[b]! - s2[a]!;
      for (let d = 0; d < nD; d++) {
        const s = s1[b * nD + d]! - s1[a * nD + d]!;
        c -= (s * s) / n;
      }
      table[a * (nT + 1) + n] = c > 0 ? c : 0;
    }
  }
  const cost = (a: number, b: number): number => table[a * (nT + 1) + (b - a)]!;

  let best: { cuts: number[]; cost: number }[] = [];
  const starts = starts0;
  for (let s = 0; s < starts; s++) {
    const segs = segment(s, nT, minLen, maxK, cost);
    for (let k = 0; k < segs.length; k++) if (segs[k] && (!best[k] || segs[k]!.cost < best[k]!.cost - 1e-9)) best[k] = segs[k]!;
  }
  let k = 0;
  const gain = opts.gainShare ?? 0.1;
  while (k + 1 < maxK && best[k + 1] && best[k]!.cost > 0 && best[k]!.cost - best[k + 1]!.cost > gain * best[k]!.cost) k++;
  const cuts = best[k]!.cuts; // k + 2 boundaries on the doubled day, first = rotation start
  const raw = [];
  for (let j = 0; j + 1 < cuts.length; j++) {
    const a = cuts[j]!;
    const b = cuts[j + 1]!;
    let sum = 0;
    for (let t = a; t < b; t++) sum += total[t % nT]!;
    raw.push({ first: a % nT, count: b - a, meanTotalVeh: sum / (b - a) });
  }
  raw.sort((x, y) => x.first - y.first);
  return name(raw, counts);
}

/** Best cut into 1…maxK segments of the circle starting at `s` (or the line when the day is not whole), each ≥ minLen. */
function segment(s: number, nT: number, minLen: number, maxK: number, cost: (a: number, b: number) => number): ({ cuts: number[]; cost: number } | undefined)[] {
  // f[k][j]: least cost of cutting [s, s + j) into k + 1 segments.
  const f: Float64Array[] = [];
  const arg: Int32Array[] = [];
  for (let k = 0; k < maxK; k++) {
    f.push(new Float64Array(nT + 1).fill(Infinity));
    arg.push(new Int32Array(nT + 1).fill(-1));
  }
  for (let j = minLen; j <= nT; j++) f[0]![j] = cost(s, s + j);
  for (let k = 1; k < maxK; k++) {
    for (let j = (k + 1) * minLen; j <= nT; j++) {
      for (let m = k * minLen; m <= j - minLen; m++) {
        const v = f[k - 1]![m]! + cost(s + m, s + j);
        if (v < f[k]![j]!) {
          f[k]![j] = v;
          arg[k]![j] = m;
        }
      }
    }
  }
  const out: ({ cuts: number[]; cost: number } | undefined)[] = [];
  for (let k = 0; k < maxK; k++) {
    if (!Number.isFinite(f[k]![nT]!)) {
      out.push(undefined);
      continue;
    }
    const cuts = [s + nT];
    let j = nT;
    for (let kk = k; kk > 0; kk--) {
      j = arg[kk]![j]!;
      cuts.push(s + j);
    }
    cuts.push(s);
    out.push({ cuts: cuts.reverse(), cost: f[k]![nT]! });
  }
  return out;
}

function name(raw: { first: number; count: number; meanTotalVeh: number }[], counts: DetectorCounts): TimeOfDayPeriod[] {
  const minuteOf = (t: number): number => Math.floor(((counts.intervalStartMs[0]! + t * counts.intervalS * 1000) % 86_400_000) / 60_000);
  const periods = raw.map((r) => ({ ...r, startMin: minuteOf(r.first), endMin: minuteOf(r.first + r.count) % 1440, id: '', label: '' }));
  // A period's time of day is its midpoint's.
  const midMin = (p: (typeof periods)[number]): number => (p.startMin + ((p.count * counts.intervalS) / 60) / 2) % 1440;
  const byVolume = [...periods].sort((a, b) => b.meanTotalVeh - a.meanTotalVeh);
  const am = byVolume.find((p) => midMin(p) < 720);
  const pm = byVolume.find((p) => midMin(p) >= 720);
  const quietest = byVolume[byVolume.length - 1];
  let offPeak = 0;
  for (const p of periods) {
    if (periods.length === 1) Object.assign(p, { id: 'all-day', label: 'all day' });
    else if (p === quietest && periods.length > 2) Object.assign(p, { id: 'night', label: 'night' });
    else if (p === am && p.meanTotalVeh >= (pm?.meanTotalVeh ?? 0) * 0.5) Object.assign(p, { id: 'am-peak', label: 'AM peak' });
    else if (p === pm && p.meanTotalVeh >= (am?.meanTotalVeh ?? 0) * 0.5) Object.assign(p, { id: 'pm-peak', label: 'PM peak' });
    else {
      offPeak++;
      Object.assign(p, { id: `off-peak-${offPeak}`, label: `off-peak ${offPeak}` });
    }
  }
  if (offPeak === 1) {
    const p = periods.find((x) => x.id === 'off-peak-1')!;
    Object.assign(p, { id: 'off-peak', label: 'off-peak' });
  }
  return periods;
}

/** The counts of one period, in time order (a period across midnight wraps to the file's start). */
export function periodCounts(counts: DetectorCounts, p: Pick<TimeOfDayPeriod, 'first' | 'count'>): DetectorCounts {
  const nT = counts.intervalStartMs.length;
  const nD = counts.detectorIds.length;
  const volumeVeh = new Float64Array(p.count * nD);
  const occupancyPct = new Float64Array(p.count * nD);
  const intervalStartMs = new Float64Array(p.count);
  for (let k = 0; k < p.count; k++) {
    const t = (p.first + k) % nT;
    volumeVeh.set(counts.volumeVeh.subarray(t * nD, (t + 1) * nD), k * nD);
    occupancyPct.set(counts.occupancyPct.subarray(t * nD, (t + 1) * nD), k * nD);
    intervalStartMs[k] = counts.intervalStartMs[t]!;
  }
  return { detectorIds: counts.detectorIds, intervalS: counts.intervalS, intervalStartMs, volumeVeh, occupancyPct };
}
