/**
 * Detector blackout: when too few of an intersection's detectors are healthy
 * around the interval being planned, their repaired and predicted volumes are
 * not worth planning on (the repairs have nothing healthy to lean on, and a
 * detector with no healthy reading at all is repaired to 0). Then the demand
 * for that intersection falls back to history, and the caller says so.
 * Called by engine/demand.ts after the prediction; the CLI prints the result.
 *
 * Health: a detector is healthy for the plan when at least half of its cells
 * in the health window (the HEALTH_WINDOW_INTERVALS intervals before the
 * planned one, and the planned one itself when the file has it) passed the
 * fault checks of faults.ts. An intersection is blacked out when fewer than
 * MIN_HEALTHY_SHARE of its detectors are healthy.
 *
 * Fallback, per detector of a blacked-out intersection, first that exists:
 *   historical  median of the detector's healthy volumes in the same
 *               time-of-day interval on the other days of the file;
 *   dayProfile  with one day (or no healthy same-time value): linear between the
 *               detector's nearest healthy intervals before and after the window
 *               on the same day, or the one side that exists, each at most
 *               MAX_NEIGHBOUR_GAP_S from the planned interval (night counts say
 *               nothing about the morning peak);
 *   intersection  the mean fallback of the intersection's other detectors.
 * If no detector of the intersection has such a value, or they sum to zero, there
 * is nothing to plan on: BlackoutError. The engine never plans a blacked-out
 * intersection for zero demand.
 */
import { GreenwaveError, ErrorCode, type Issue } from '../errors.js';
import type { DetectorCounts } from './csv.js';
import type { FaultReport } from './faults.js';
import { median, mod, round1 } from '../numeric.js';

/** Below this share of healthy detectors an intersection is planned on its historical profile. */
export const MIN_HEALTHY_SHARE = 0.5;
/** Intervals before the planned one whose health counts (1 h at 15 min). */
export const HEALTH_WINDOW_INTERVALS = 4;
/** How far from the planned interval a same-day healthy interval may be to stand in for it. */
export const MAX_NEIGHBOUR_GAP_S = 2 * 3600;

const MS_PER_DAY = 86_400_000;

export type FallbackSource = 'historical' | 'dayProfile' | 'intersection';

export interface BlackoutFallback {
  readonly intersectionId: string;
  readonly detectors: number;
  readonly healthyDetectors: number;
  /** How many of the intersection's detectors got each kind of fallback. */
  readonly sources: Readonly<Record<FallbackSource, number>>;
  /** Veh in the planned interval, all detectors of the intersection: the prediction (from repaired counts), and the fallback used instead. */
  readonly predictedVeh: number;
  readonly fallbackVeh: number;
  /** One sentence for people: which intersection, why, and what was used. */
  readonly reason: string;
}

/** No healthy reading anywhere for a blacked-out intersection: planning would invent its demand. */
export class BlackoutError extends GreenwaveError {
  constructor(issues: readonly Issue[]) {
    super(ErrorCode.InvalidInput, `detector blackout with no history to fall back on; refusing to plan for made-up demand\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`, issues);
    this.name = 'BlackoutError';
  }
}

/** Fault mask from the report's substitutions: 1 where a cell was flagged, [interval * nDet + det]. */
export function faultMask(counts: DetectorCounts, faults: FaultReport): Uint8Array {
  const nD = counts.detectorIds.length;
  const mask = new Uint8Array(counts.intervalStartMs.length * nD);
  const det = new Map(counts.detectorIds.map((id, d) => [id, d]));
  const interval = new Map<number, number>();
  counts.intervalStartMs.forEach((ms, t) => interval.set(ms, t));
  for (const s of faults.substitutions) {
    const d = det.get(s.detectorId);
    const t = interval.get(s.intervalStartMs);
    if (d !== undefined && t !== undefined) mask[t * nD + d] = 1;
  }
  return mask;
}

/**
 * Replaces, in `volumeVeh` (veh per interval per detector, the planned interval), the demand of
 * every blacked-out intersection by its historical fallback. `target` is the planned interval's
 * index (the file's length when it is the interval after the file), `forMs` its start.
 * `groupOf[d]` is the intersection index of counts detector d, `groupIds` their ids.
 * Returns one entry per intersection on fallback; throws BlackoutError when one has no history.
 */
export function applyBlackoutFallback(
  raw: DetectorCounts,
  faults: FaultReport,
  groupOf: ArrayLike<number>,
  groupIds: readonly string[],
  target: number,
  forMs: number,
  volumeVeh: Float64Array,
): BlackoutFallback[] {
  const nD = raw.detectorIds.length;
  const nI = raw.intervalStartMs.length;
  const mask = faultMask(raw, faults);
  const healthyCell = (t: number, d: number): boolean => mask[t * nD + d] === 0 && Number.isFinite(raw.volumeVeh[t * nD + d]!);
  const w0 = Math.max(0, target - HEALTH_WINDOW_INTERVALS);
  const w1 = Math.min(target, nI - 1);

  const members: number[][] = groupIds.map(() => []);
  for (let d = 0; d < nD; d++) members[groupOf[d]!]?.push(d);

  const out: BlackoutFallback[] = [];
  const refused: Issue[] = [];
  members.forEach((dets, g) => {
    if (dets.length === 0) return;
    let healthy = 0;
    for (const d of dets) {
      let ok = 0;
      let n = 0;
      for (let t = w0; t <= w1; t++, n++) if (healthyCell(t, d)) ok++;
      if (n > 0 && ok * 2 >= n) healthy++;
    }
    if (healthy >= MIN_HEALTHY_SHARE * dets.length) return;

    const sources: Record<FallbackSource, number> = { historical: 0, dayProfile: 0, intersection: 0 };
    const value = new Map<number, number>();
    for (const d of dets) {
      const hist = historicalMedian(raw, healthyCell, d, forMs);
      if (hist !== undefined) {
        value.set(d, hist);
        sources.historical++;
        continue;
      }
      const day = dayProfile(raw, healthyCell, d, forMs, w0, w1);
      if (day !== undefined) {
        value.set(d, day);
        sources.dayProfile++;
      }
    }
    const id = groupIds[g]!;
    let known = 0;
    for (const v of value.values()) known += v;
    if (value.size === 0 || !(known > 0)) {
      const why = value.size === 0 ? 'none has a healthy reading at this time on other days or within 2 h on the same day' : 'the healthy history there is all zero';
      refused.push({ path: id, message: `${healthy} of ${dets.length} detectors healthy around ${stamp(forMs)}, and ${why}` });
      return;
    }
    const mean = known / value.size;
    let predicted = 0;
    let fallback = 0;
    for (const d of dets) {
      predicted += volumeVeh[d]!;
      if (!value.has(d)) {
        value.set(d, mean);
        sources.intersection++;
      }
      volumeVeh[d] = value.get(d)!;
      fallback += volumeVeh[d]!;
    }
    const used = (['historical', 'dayProfile', 'intersection'] as const).filter((s) => sources[s] > 0).map((s) => `${DESCRIBE[s]} (${sources[s]})`);
    out.push({
      intersectionId: id,
      detectors: dets.length,
      healthyDetectors: healthy,
      sources,
      predictedVeh: round1(predicted),
      fallbackVeh: round1(fallback),
      reason: `${healthy} of ${dets.length} detectors healthy in the hour to ${stamp(forMs)} (below ${MIN_HEALTHY_SHARE * 100} %); planned on ${used.join(', ')} instead of ${round1(predicted)} veh predicted from repaired counts`,
    });
  });
  if (refused.length > 0) throw new BlackoutError(refused);
  return out;
}

const DESCRIBE: Record<FallbackSource, string> = {
  historical: 'the median of other days at this time',
  dayProfile: "the day's neighbouring healthy intervals",
  intersection: 'the mean of its other detectors',
};

/** Median of d's healthy volumes in forMs's time-of-day interval on other days. */
function historicalMedian(raw: DetectorCounts, healthy: (t: number, d: number) => boolean, d: number, forMs: number): number | undefined {
  const tod = mod(forMs, MS_PER_DAY);
  const day = Math.floor(forMs / MS_PER_DAY);
  const nD = raw.detectorIds.length;
  const values: number[] = [];
  raw.intervalStartMs.forEach((ms, t) => {
    if (mod(ms, MS_PER_DAY) !== tod || Math.floor(ms / MS_PER_DAY) === day || !healthy(t, d)) return;
    values.push(raw.volumeVeh[t * nD + d]!);
  });
  return values.length === 0 ? undefined : median(values);
}

/** Linear in time between d's nearest healthy intervals of forMs's day outside the window [w0, w1], within MAX_NEIGHBOUR_GAP_S. */
function dayProfile(raw: DetectorCounts, healthy: (t: number, d: number) => boolean, d: number, forMs: number, w0: number, w1: number): number | undefined {
  const day = Math.floor(forMs / MS_PER_DAY);
  const nD = raw.detectorIds.length;
  // Same day, and close enough to the planned interval to stand in for it.
  const near = (t: number): boolean => Math.floor(raw.intervalStartMs[t]! / MS_PER_DAY) === day && Math.abs(raw.intervalStartMs[t]! - forMs) <= MAX_NEIGHBOUR_GAP_S * 1000;
  let p = w0 - 1;
  while (p >= 0 && near(p) && !healthy(p, d)) p--;
  let q = w1 + 1;
  while (q < raw.intervalStartMs.length && near(q) && !healthy(q, d)) q++;
  const before = p >= 0 && near(p) && healthy(p, d) ? p : -1;
  const after = q < raw.intervalStartMs.length && near(q) && healthy(q, d) ? q : -1;
  if (before < 0 && after < 0) return undefined;
  if (before < 0) return raw.volumeVeh[after * nD + d]!;
  if (after < 0) return raw.volumeVeh[before * nD + d]!;
  const a = raw.volumeVeh[before * nD + d]!;
  const b = raw.volumeVeh[after * nD + d]!;
  const ta = raw.intervalStartMs[before]!;
  const tb = raw.intervalStartMs[after]!;
  return a + ((b - a) * (forMs - ta)) / (tb - ta);
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
