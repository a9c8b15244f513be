/**
 * Turns a counts file into the demand a plan is computed for: parse, flag and
 * repair faulty detectors, then predict the interval being planned from the
 * counts observed before it and the time-of-day profile. Where too few of an
 * intersection's detectors are healthy, its demand falls back to history
 * (counts/blackout.ts) and the Demand says so. Called by the CLI (and later
 * the adaptive loop); the timing core only ever sees the result.
 */
import type { CompiledNetwork } from './network/compile.js';
import { parseCountsCsv, formatTimestamp, type DetectorCounts } from './counts/csv.js';
import { cleanCounts, detectorTopology, type FaultReport } from './counts/faults.js';
import { predictVolumes } from './counts/predict.js';
import { applyBlackoutFallback, type BlackoutFallback } from './counts/blackout.js';
import { GreenwaveError, ErrorCode } from './errors.js';

export interface PreparedCounts {
  readonly counts: DetectorCounts;
  readonly faults: FaultReport;
  /** Intersection index of each counts detector, and the intersection ids; without them the network is judged as one group. */
  readonly detectorIntersection?: Int32Array;
  readonly intersectionIds?: readonly string[];
}

/** Parses and cleans a counts CSV against the network's detectors. Throws ValidationError with line numbers. */
export function prepareCounts(c: CompiledNetwork, csvText: string, source = 'counts.csv'): PreparedCounts {
  const topology = detectorTopology(c.network);
  const counts = parseCountsCsv(csvText, { detectorIds: topology.detectorIds, source });
  const detectorIntersection = Int32Array.from(topology.detectors, (d) => d.intersectionIndex);
  return { counts, faults: cleanCounts(counts, topology), detectorIntersection, intersectionIds: c.intersectionIds };
}

export interface Demand {
  /** Veh per interval, per compiled detector index. */
  readonly volumeVeh: Float64Array;
  readonly intervalS: number;
  /** Start of the interval the demand is for (local wall time). */
  readonly forInterval: string;
  /** `predicted` from earlier intervals and the profile; `observed` when there is no history to predict from. */
  readonly basis: 'predicted' | 'observed';
  /** Intersections whose detectors were mostly faulty: planned on their historical profile instead (empty when none). */
  readonly fallbacks: readonly BlackoutFallback[];
}

/**
 * Demand for the interval starting at `timeOfDay` ("HH:MM"), or for the
 * interval after the last one in the file when it is omitted.
 */
export function demandFor(prepared: PreparedCounts, timeOfDay?: string): Demand {
  const counts = prepared.faults.cleaned;
  const n = counts.detectorIds.length;
  const total = counts.intervalStartMs.length;
  let target = total; // the interval after the last observed one
  if (timeOfDay !== undefined) {
    const m = /^(\d{1,2}):(\d{2})$/.exec(timeOfDay);
    const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    if (!m || minutes >= 24 * 60 || Number(m[2]) >= 60) throw new GreenwaveError(ErrorCode.InvalidInput, `--at "${timeOfDay}": expected a time of day HH:MM`, [{ path: '--at', message: 'expected HH:MM' }]);
    target = counts.intervalStartMs.findIndex((ms) => Math.floor((ms % 86_400_000) / 60_000) === minutes);
    if (target < 0) {
      const first = formatTimestamp(counts.intervalStartMs[0]!);
      const last = formatTimestamp(counts.intervalStartMs[total - 1]!);
      throw new GreenwaveError(ErrorCode.InvalidInput, `--at ${timeOfDay}: no counts interval starts then (the file covers ${first} to ${last} in ${counts.intervalS / 60}-minute intervals)`, [{ path: '--at', message: 'no interval starts at this time' }]);
    }
  }
  const forMs = target < total ? counts.intervalStartMs[target]! : counts.intervalStartMs[total - 1]! + counts.intervalS * 1000;
  const volumeVeh = target === 0 ? counts.volumeVeh.slice(0, n) : predictVolumes(counts, { atInterval: target - 1, horizon: 1 }).slice(0, n);
  const groupOf = prepared.detectorIntersection ?? new Int32Array(n);
  const groupIds = prepared.intersectionIds ?? ['network'];
  const fallbacks = applyBlackoutFallback(prepared.counts, prepared.faults, groupOf, groupIds, target, forMs, volumeVeh);
  return { volumeVeh, intervalS: counts.intervalS, forInterval: formatTimestamp(forMs), basis: target === 0 ? 'observed' : 'predicted', fallbacks };
}
