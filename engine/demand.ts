/**
 * Turns a counts file into the demand a plan is computed for: parse, flag and
 * repair faulty detectors, then predict the interval being planned from the
 * counts observed before it and the time-of-day profile. Called by the CLI
 * (and later the adaptive loop); the timing core only ever sees the result.
 */
import type { CompiledNetwork } from './network/compile.js';
import { parseCountsCsv, formatTimestamp, type DetectorCounts } from './counts/csv.js';
import { cleanCounts, detectorTopology, type FaultReport } from './counts/faults.js';
import { predictVolumes } from './counts/predict.js';
import { GreenwaveError, ErrorCode } from './errors.js';

export interface PreparedCounts {
  readonly counts: DetectorCounts;
  readonly faults: FaultReport;
}

/** Parses and cleans a counts CSV against the network's detectors. Throws ValidationError with line numbers. */
export function prepareCounts(c: CompiledNetwork, csvText: string, source = 'counts.csv'): PreparedCounts {
  const topology = detectorTopology(c.network);
  const counts = parseCountsCsv(csvText, { detectorIds: topology.detectorIds, source });
  return { counts, faults: cleanCounts(counts, topology) };
}

export interface Demand {
  /** Veh per interval, per compiled detector index. */
  readonly volumeVeh: Float64Array;
  readonly intervalS: number;
  /** Start of the interval the demand is for (local wall time). */
  readonly forInterval: string;
  /** `predicted` from earlier intervals and the profile; `observed` when there is no history to predict from. */
  readonly basis: 'predicted' | 'observed';
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
  if (target === 0) {
    return { volumeVeh: counts.volumeVeh.slice(0, n), intervalS: counts.intervalS, forInterval: formatTimestamp(forMs), basis: 'observed' };
  }
  const volumeVeh = predictVolumes(counts, { atInterval: target - 1, horizon: 1 }).slice(0, n);
  return { volumeVeh, intervalS: counts.intervalS, forInterval: formatTimestamp(forMs), basis: 'predicted' };
}
