/**
 * The live incident detector's per-loop thresholds from the city's own loop
 * counts: the service stores every count interval it collects from the
 * controllers (./countCollector.ts → Storage.detectorCounts); this reads the
 * last days of them at the live sample length, cuts them into complete
 * stretches (every monitored loop reported, no gap, nothing within
 * `INCIDENT_GUARD_MS` of an incident the service knows of), and calibrates each
 * station as the incident benchmark does (engine/traffic/incidentCalibration.ts:
 * its flow-deficit threshold a margin above the highest deficit the loop held
 * with the blocked-lane pattern, its empty-lane run threshold a margin times its
 * longest run, at the settings `npm run bench:incidents` chose, INCIDENT_DEFAULTS).
 * Called by TrafficState.calibrateIncidents (./trafficState.ts), which startServer
 * runs when live detection starts and once a day after.
 */
import { calibrateRunThresholds, calibrateThresholds, type SampleSeries } from '../engine/traffic/incidentCalibration.js';
import { INCIDENT_DEFAULTS, type IncidentParams } from '../engine/traffic/incidentDetector.js';
import type { IncidentLayout } from '../engine/traffic/incidentLayout.js';
import type { Storage } from './storage/storage.js';
import { WorkerPool } from '../engine/pool/pool.js';
import { serviceWorkerUrl } from './workerUrl.js';

/** The incident detector's window, s: at least one green of a 120 s cycle (the benchmark's 4 × 30 s). */
export const INCIDENT_WINDOW_S = 120;
/** Margin over each station's highest incident-free flow deficit (the benchmark's choice). */
export const FDF_MARGIN = 0.05;
/** Each station's run threshold: this times its longest incident-free empty-lane run, at least RUN_FLOOR. */
export const RUN_MARGIN = 1.05;
export const RUN_FLOOR = 4;
/** Days of stored counts read by default (the benchmark calibrated on 72 hours). */
export const DEFAULT_CALIBRATION_DAYS = 3;
/** Complete hours needed before the calibrated thresholds replace the one for every loop. */
export const DEFAULT_MIN_CALIBRATION_HOURS = 24;
/** Counts this close to a known incident are left out, ms. */
export const INCIDENT_GUARD_MS = 30 * 60_000;
/**
 * Counts are read this much at a time, ms: the SQLite driver runs a query on the event loop, and
 * ten minutes at 30 s are about 2,800 rows for 142 loops: 3 days read in about 3 s, the event
 * loop held at most about 30 ms at a time on a loaded 2-core machine (44 ms with 30-minute reads).
 */
const READ_CHUNK_MS = 10 * 60_000;

/**
 * The detector's thresholds for every loop while none is calibrated on the city's own
 * incident-free days, by sample length: chosen on the incident benchmark's tuning seeds as its
 * settings are (the most blockages within 3 minutes at no more than 0.5 false alarms per
 * detector-day), with the 30 s samples, and with pairs of them summed into 60 s ones
 * (docs/traffic.md "The service"). The detector's own defaults (FDF 0.7) are floors for
 * calibrated thresholds: uncalibrated they raise 1.4 false alarms per detector-day there.
 */
export function uncalibratedIncidentParams(sampleS: number): Partial<IncidentParams> {
  const windowSamples = windowSamplesFor(sampleS);
  return sampleS <= 45 ? { windowSamples, flowDeficit: 0.9, runEvidence: 6 } : { windowSamples, flowDeficit: 0.8, runEvidence: 6 };
}

/** The detector's settings at sample length `sampleS` when its stations are calibrated: the benchmark's, with the window in samples. */
export function calibratedIncidentParams(sampleS: number): Partial<IncidentParams> {
  return { ...INCIDENT_DEFAULTS, windowSamples: windowSamplesFor(sampleS) };
}

function windowSamplesFor(sampleS: number): number {
  return Math.max(1, Math.round(INCIDENT_WINDOW_S / sampleS));
}

export interface CalibrationRead {
  readonly series: SampleSeries[];
  /** Complete samples in the series. */
  readonly samples: number;
  /** Samples read but left out: a monitored loop missing, or near a known incident. */
  readonly incomplete: number;
  readonly nearIncident: number;
  /** First and last sample start of the stretches kept, ms (NaN without any). */
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The stored counts of [fromMs, toMs) at `sampleS`, as complete stretches: a new stretch after
 * any gap in time, any sample in which a monitored loop (a station or a sibling) did not report,
 * and any sample within `excluded` (the known incidents with their guard). A stretch shorter than
 * `minSamples` is dropped (the detector's window does not fill).
 */
export async function readCalibrationSeries(
  storage: Storage,
  layout: IncidentLayout,
  q: { fromMs: number; toMs: number; sampleS: number; excluded?: readonly { fromMs: number; toMs: number }[]; minSamples?: number },
): Promise<CalibrationRead> {
  const nd = layout.detectorIds.length;
  const index = new Map(layout.detectorIds.map((id, d) => [id, d]));
  const monitored = new Uint8Array(nd);
  for (const d of layout.stationDetector) monitored[d] = 1;
  for (const d of layout.siblings) monitored[d] = 1;
  let needed = 0;
  for (const m of monitored) needed += m;
  const stepMs = q.sampleS * 1000;
  const minSamples = q.minSamples ?? 20;
  const series: SampleSeries[] = [];
  let count: number[] = [];
  let occ: number[] = [];
  let lastMs = Number.NaN;
  let samples = 0;
  let incomplete = 0;
  let nearIncident = 0;
  let fromMs = Number.NaN;
  let toMs = Number.NaN;
  /** The open stretch's first sample start, ms. */
  let stretchFromMs = Number.NaN;
  const endStretch = (): void => {
    const n = count.length / nd;
    if (n >= minSamples) {
      series.push({ samples: n, countVeh: Float64Array.from(count), occupancyPct: Float64Array.from(occ), sampleS: q.sampleS });
      samples += n;
      if (!(fromMs <= stretchFromMs)) fromMs = stretchFromMs;
      toMs = lastMs;
    }
    count = [];
    occ = [];
  };
  const rowVeh = new Float64Array(nd);
  const rowOcc = new Float64Array(nd);
  const seen = new Uint8Array(nd);
  let rowMs = Number.NaN;
  let seenMonitored = 0;
  const finishRow = (): void => {
    if (Number.isNaN(rowMs)) return;
    const excluded = q.excluded?.some((x) => rowMs + stepMs > x.fromMs && rowMs < x.toMs) ?? false;
    if (excluded || seenMonitored < needed) {
      if (excluded) nearIncident++;
      else incomplete++;
      endStretch();
    } else {
      if (rowMs !== lastMs + stepMs) endStretch();
      if (count.length === 0) stretchFromMs = rowMs;
      for (let d = 0; d < nd; d++) {
        count.push(seen[d] === 1 ? rowVeh[d]! : 0);
        occ.push(seen[d] === 1 ? rowOcc[d]! : 0);
      }
      lastMs = rowMs;
    }
    seen.fill(0);
    seenMonitored = 0;
  };
  for (let at = q.fromMs; at < q.toMs; at += READ_CHUNK_MS) {
    // A driver that answers at once (SQLite) resolves in the microtask queue: yield to I/O and
    // timers between reads so that gRPC calls are served while days of counts are read.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const rows = await storage.detectorCounts({ fromMs: at, toMs: Math.min(q.toMs, at + READ_CHUNK_MS), intervalS: q.sampleS });
    for (const r of rows) {
      if (r.intervalStartMs !== rowMs) {
        finishRow();
        rowMs = r.intervalStartMs;
      }
      const d = index.get(r.detectorId);
      if (d === undefined || seen[d] === 1) continue;
      seen[d] = 1;
      rowVeh[d] = r.volumeVeh;
      rowOcc[d] = r.occupancyPct;
      if (monitored[d] === 1) seenMonitored++;
    }
  }
  finishRow();
  endStretch();
  return { series, samples, incomplete, nearIncident, fromMs, toMs };
}

/** Per-station thresholds from incident-free series (what `IncidentDetector` takes). */
export function calibrateStations(layout: IncidentLayout, sampleS: number, series: readonly SampleSeries[]): { thresholds: Float64Array; runThresholds: Float64Array } {
  const params = calibratedIncidentParams(sampleS);
  return {
    thresholds: calibrateThresholds(layout, params, series, FDF_MARGIN),
    runThresholds: calibrateRunThresholds(layout, params, series, RUN_MARGIN, RUN_FLOOR),
  };
}

/** The live detector's thresholds, as data; `calibrationText` words it. */
export type CalibrationStatus =
  | { readonly kind: 'none' }
  | { readonly kind: 'not-yet' }
  | { readonly kind: 'too-little'; readonly hours: number; readonly needHours: number; readonly days: number }
  | { readonly kind: 'not-read'; readonly error: string }
  | { readonly kind: 'calibrated'; readonly hours: number; readonly fromMs: number; readonly toMs: number; readonly atMs: number; readonly stations: number };

/** The hours of counts the loops' thresholds rest on: 0 unless calibrated (`calibration_hours`, the metrics). */
export function calibratedHours(x: CalibrationStatus): number {
  return x.kind === 'calibrated' ? x.hours : 0;
}

/** The calibration status in English (part of `IncidentDetection.status`, logs). */
export function calibrationText(x: CalibrationStatus): string {
  switch (x.kind) {
    case 'none':
      return 'no live detection';
    case 'not-yet':
      return 'the stored counts not read yet';
    case 'too-little':
      return `${x.hours.toFixed(1)} h of complete counts stored in the last ${x.days} days, ${x.needHours} h needed to calibrate each loop`;
    case 'not-read':
      return `the stored counts could not be read or calibrated (${x.error})`;
    case 'calibrated':
      return `each loop's thresholds calibrated on ${x.hours.toFixed(1)} h of the city's counts from ${new Date(x.fromMs).toISOString()} to ${new Date(x.toMs).toISOString()}`;
  }
}

/** Computes the stations' thresholds from the series (in-process by default; the calibrator's worker in serve). */
export type StationCalibration = (sampleS: number, series: readonly SampleSeries[]) => Promise<{ thresholds: Float64Array; runThresholds: Float64Array }>;

/** The series as one array for a worker: [sampleS, count, samples of each…, then each series' counts and occupancies]. */
export function encodeSeries(sampleS: number, series: readonly SampleSeries[]): Float64Array {
  let n = 2 + series.length;
  for (const s of series) n += 2 * s.countVeh.length;
  const out = new Float64Array(n);
  out[0] = sampleS;
  out[1] = series.length;
  let at = 2;
  for (const s of series) out[at++] = s.samples;
  for (const s of series) {
    out.set(s.countVeh, at);
    at += s.countVeh.length;
    out.set(s.occupancyPct, at);
    at += s.occupancyPct.length;
  }
  return out;
}

export function decodeSeries(input: Float64Array, detectors: number): { sampleS: number; series: SampleSeries[] } {
  const sampleS = input[0]!;
  const count = input[1]!;
  let at = 2 + count;
  const series: SampleSeries[] = [];
  for (let k = 0; k < count; k++) {
    const len = input[2 + k]! * detectors;
    const countVeh = input.subarray(at, at + len);
    at += len;
    const occupancyPct = input.subarray(at, at + len);
    at += len;
    series.push({ samples: input[2 + k]!, countVeh, occupancyPct, sampleS });
  }
  return { sampleS, series };
}

/** What the calibrator calibrates: TrafficState (./trafficState.ts). */
export interface CalibrationTarget {
  calibrateIncidents(storage: Storage, nowMs: number, opts: { days?: number; minHours?: number; compute?: StationCalibration }): Promise<CalibrationStatus>;
}

/**
 * Runs the calibration when started and every `periodMs` (a day) after, one at a time; a run
 * still going when the next is due is not doubled. startServer's; `close` waits for a run in
 * progress (the store is closed after it).
 */
export class IncidentCalibrator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pool: WorkerPool | undefined;
  /** The last run's outcome, as the target reported it (undefined before the first has ended). */
  last: CalibrationStatus | undefined;

  constructor(
    private readonly target: CalibrationTarget,
    private readonly storage: Storage,
    private readonly clock: () => number,
    private readonly log: (line: string) => void,
    private readonly opts: { days?: number | undefined; minHours?: number | undefined; periodMs?: number; network?: { readonly networkPath: string; readonly networkText: string } } = {},
  ) {}

  /** The stations' thresholds on a worker thread (with the network's text), else in-process. */
  private readonly compute: StationCalibration = async (sampleS, series) => {
    const network = this.opts.network;
    if (network === undefined) throw new Error('no network text for the calibration worker');
    this.pool ??= new WorkerPool({ workerUrl: serviceWorkerUrl('calibrationWorker'), size: 1, maxRetries: 0, workerData: { networkPath: network.networkPath, networkText: network.networkText } });
    const out = await this.pool.run(encodeSeries(sampleS, series));
    const n = out.length / 2;
    return { thresholds: out.slice(0, n), runThresholds: out.slice(n) };
  };

  start(): this {
    void this.run();
    this.timer = setInterval(() => void this.run(), this.opts.periodMs ?? 86_400_000);
    this.timer.unref();
    return this;
  }

  /** One calibration now (or the one in progress); resolves when it has ended. */
  run(): Promise<void> {
    this.running ??= this.target
      .calibrateIncidents(this.storage, Math.round(this.clock() * 1000), {
        ...(this.opts.days !== undefined ? { days: this.opts.days } : {}),
        ...(this.opts.minHours !== undefined ? { minHours: this.opts.minHours } : {}),
        ...(this.opts.network !== undefined ? { compute: this.compute } : {}),
      })
      .then(
        (st) => {
          this.last = st;
          this.log(`greenwave serve: incident detector calibration: ${calibrationText(st)}`);
        },
        (e: unknown) => this.log(`greenwave serve: incident detector calibration failed: ${e instanceof Error ? e.message : String(e)}`),
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.pool?.destroy();
  }
}
