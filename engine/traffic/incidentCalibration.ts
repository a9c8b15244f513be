/**
 * Per-station thresholds for the incident detector (incidentDetector.ts), from
 * incident-free loop samples: each station's threshold sits `margin` above the
 * highest flow deficit that its loop, with the blocked-lane occupancy
 * pattern, held for `persistence` judged samples in a row in the training
 * data, and never below the default. Where the training data never came near
 * an alarm the default stands. Called by the incident benchmark's tuning and
 * its tests, and by whoever calibrates a city's detector on days without
 * incidents.
 */
import { IncidentDetector, type IncidentParams } from './incidentDetector.js';
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
