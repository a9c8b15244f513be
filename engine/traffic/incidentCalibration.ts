/**
 * Per-station thresholds for the incident detector (incidentDetector.ts), from
 * incident-free loop samples: each station's threshold sits `margin` above the
 * highest flow deficit that its loop, with the blocked-lane occupancy
 * pattern, held for `persistence` judged samples in a row in the training
 * data, and never below the default. Where the training data never came near
 * an alarm the default stands. Likewise the empty-lane run thresholds
 * (`margin` times the longest run, at least the default), and the lanes'
 * empty-loop profiles for a time of day. Called by the incident benchmark's
 * tuning and its tests, and by whoever calibrates a city's detector on days
 * without incidents.
 */
import { IncidentDetector, PROFILE_RED_OCC_PCT, type EmptyProfile, type IncidentParams } from './incidentDetector.js';
import type { IncidentLayout } from './incidentLayout.js';

/** One incident-free series: `samples` rows of every detector, row-major, and the sample length. */
export interface SampleSeries {
  readonly samples: number;
  /** [sample * detectors + detector], veh. */
  readonly countVeh: Float64Array;
  /** [sample * detectors + detector], %. */
  readonly occupancyPct: Float64Array;
  readonly sampleS: number;
  /** Samples before this one are ignored (a simulation filling up). */
  readonly skipSamples?: number;
}

/** Each station's alarm level in the series: the highest FDF held with the pattern for `persistence` judged samples in a row. */
export function alarmLevels(layout: IncidentLayout, params: Partial<IncidentParams>, series: readonly SampleSeries[]): Float64Array {
  const n = layout.stationCount;
  const nd = layout.detectorIds.length;
  const level = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (const ser of series) {
    const det = new IncidentDetector(layout, params);
    const P = det.params.persistence;
    // The last P judged values per station (−∞ without the pattern), a ring.
    const ring = new Float64Array(n * P).fill(Number.NEGATIVE_INFINITY);
    const seen = new Int32Array(n);
    for (let r = 0; r < ser.samples; r++) {
      det.push((r + 1) * ser.sampleS, ser.countVeh.subarray(r * nd, (r + 1) * nd), ser.occupancyPct.subarray(r * nd, (r + 1) * nd));
      if (r < (ser.skipSamples ?? 0)) continue;
      for (let s = 0; s < n; s++) {
        const def = det.lastDeficit[s]!;
        if (Number.isNaN(def)) continue;
        ring[s * P + (seen[s]! % P)] = det.lastPattern[s] === 1 ? def : Number.NEGATIVE_INFINITY;
        seen[s] = seen[s]! + 1;
        let lo = Number.POSITIVE_INFINITY;
        for (let k = 0; k < P; k++) lo = Math.min(lo, ring[s * P + k]!);
        if (lo > level[s]!) level[s] = lo;
      }
    }
  }
  return level;
}

/** Thresholds per station: `margin` above its alarm level in the incident-free series, at least the default, at most 1 (a loop that counts nothing). */
export function calibrateThresholds(layout: IncidentLayout, params: Partial<IncidentParams>, series: readonly SampleSeries[], margin: number): Float64Array {
  const base = new IncidentDetector(layout, params).params.flowDeficit;
  const level = alarmLevels(layout, params, series);
  return Float64Array.from(level, (x) => Math.min(1, Math.max(base, x + margin)));
}

/**
 * Each station's longest empty-lane run in the series (incident-free), each series with the
 * profile of its time of day (`profiles[k]`, or none).
 */
export function runLevels(layout: IncidentLayout, params: Partial<IncidentParams>, series: readonly SampleSeries[], profiles?: readonly (EmptyProfile | undefined)[]): Float64Array {
  const n = layout.stationCount;
  const nd = layout.detectorIds.length;
  const level = new Float64Array(n);
  series.forEach((ser, k) => {
    const det = new IncidentDetector(layout, { ...params, runEvidence: Number.POSITIVE_INFINITY });
    det.setEmptyProfile(profiles?.[k]);
    for (let r = 0; r < ser.samples; r++) {
      det.push((r + 1) * ser.sampleS, ser.countVeh.subarray(r * nd, (r + 1) * nd), ser.occupancyPct.subarray(r * nd, (r + 1) * nd));
      if (r < (ser.skipSamples ?? 0)) continue;
      for (let s = 0; s < n; s++) if (det.runLevel[s]! > level[s]!) level[s] = det.runLevel[s]!;
    }
  });
  return level;
}

/** Run thresholds per station: `margin` times its longest run in the incident-free series, at least `floor`. */
export function calibrateRunThresholds(layout: IncidentLayout, params: Partial<IncidentParams>, series: readonly SampleSeries[], margin: number, floor: number, profiles?: readonly (EmptyProfile | undefined)[]): Float64Array {
  return Float64Array.from(runLevels(layout, params, series, profiles), (x) => Math.max(floor, x * margin));
}

/**
 * The lanes' empty-loop profile for one time of day from incident-free series at that time: per
 * station, the share of samples its loop was empty (no vehicle, occupancy ≤ `emptyOccPct`) while
 * its siblings' mean occupancy was at least PROFILE_RED_OCC_PCT, and while it was lower; with
 * half a sample added to either count (add-half smoothing), so that no share is 0 or 1.
 */
export function emptyProfile(layout: IncidentLayout, params: Partial<IncidentParams>, series: readonly SampleSeries[]): EmptyProfile {
  const n = layout.stationCount;
  const nd = layout.detectorIds.length;
  const emptyOcc = new IncidentDetector(layout, params).params.emptyOccPct;
  const e = new Float64Array(2 * n);
  const all = new Float64Array(2 * n);
  for (const ser of series) {
    for (let r = ser.skipSamples ?? 0; r < ser.samples; r++) {
      const row = r * nd;
      for (let s = 0; s < n; s++) {
        const d = layout.stationDetector[s]!;
        let os = 0;
        for (let k = layout.siblingStart[s]!; k < layout.siblingStart[s + 1]!; k++) os += ser.occupancyPct[row + layout.siblings[k]!]!;
        os /= layout.siblingStart[s + 1]! - layout.siblingStart[s]!;
        const slot = os >= PROFILE_RED_OCC_PCT ? s : n + s;
        all[slot] = all[slot]! + 1;
        if (ser.countVeh[row + d] === 0 && ser.occupancyPct[row + d]! <= emptyOcc) e[slot] = e[slot]! + 1;
      }
    }
  }
  const share = (k: number) => (e[k]! + 0.5) / (all[k]! + 1);
  return { atRed: Float64Array.from({ length: n }, (_, s) => share(s)), otherwise: Float64Array.from({ length: n }, (_, s) => share(n + s)) };
}

/**
 * Each station's lane ratio from incident-free series: its loop's count over the series against
 * its siblings' mean count (the missed-volume run's expected vehicles per sibling vehicle).
 */
export function laneRatios(layout: IncidentLayout, series: readonly SampleSeries[]): Float64Array {
  const n = layout.stationCount;
  const nd = layout.detectorIds.length;
  const lane = new Float64Array(n);
  const sib = new Float64Array(n);
  for (const ser of series)
    for (let r = ser.skipSamples ?? 0; r < ser.samples; r++) {
      const row = r * nd;
      for (let s = 0; s < n; s++) {
        const from = layout.siblingStart[s]!;
        const to = layout.siblingStart[s + 1]!;
        let q = 0;
        for (let k = from; k < to; k++) q += ser.countVeh[row + layout.siblings[k]!]!;
        lane[s] = lane[s]! + ser.countVeh[row + layout.stationDetector[s]!]!;
        sib[s] = sib[s]! + q / (to - from);
      }
    }
  return Float64Array.from(lane, (x, s) => (sib[s]! > 0 ? x / sib[s]! : 0));
}
