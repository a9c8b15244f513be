/**
 * The service's network traffic state: the links (engine/traffic/links.ts),
 * their state (engine/traffic/linkState.ts), and the incidents list. Built by
 * startServer (./server.ts); read by TrafficStateService (./trafficService.ts).
 *
 * Two sources. Without live counts the state is that of the loop interval the
 * plan in force was made for, from the counts file the service was started
 * with. When the service collects the controllers' loop counts
 * (./countCollector.ts: `serve --controllers … --db …`), `startLive` switches
 * it to them: every count interval `applyLive` recomputes the links over the
 * last `LIVE_WINDOW_S` of counts, once they span two of the plan's longest
 * cycles (`liveMinWindowS`: one interval of 30 or 60 s holds less than one
 * cycle, its flows one green's worth or none), feeds the interval to the
 * g-factor estimator, and feeds the incident detector (engine/traffic/
 * incidentDetector.ts) the interval's counts and occupancies; its start and
 * clear events open and close the incidents in `incidents`. Where the service
 * also collects the controllers' high-resolution event logs into its store
 * (./eventCollector.ts), `loadProgression` then reads the window's events and
 * gives the links with advance loops their measured arrivals on green and
 * the input-output delay of their through traffic (engine/traffic/
 * progression.ts), as the validation against the simulator does; without
 * events their delay is HCM's with random arrivals.
 */
import { trafficLinks, type TrafficLinks } from '../engine/traffic/links.js';
import { LinkStateEstimator, type LoopInterval } from '../engine/traffic/linkState.js';
import { incidentLayout } from '../engine/traffic/incidentLayout.js';
import { IncidentDetector, type IncidentEvent } from '../engine/traffic/incidentDetector.js';
import { calibrateStations, calibrationText, type CalibrationStatus, type StationCalibration, DEFAULT_CALIBRATION_DAYS, DEFAULT_MIN_CALIBRATION_HOURS, INCIDENT_GUARD_MS, readCalibrationSeries, uncalibratedIncidentParams } from './incidentCalibration.js';
import type { ServiceState } from './state.js';
import { notFound } from './errors.js';
import { IncidentBook, LOOP_SOURCE, type IncidentRecord } from './incidentBook.js';
import type { ServicePlan } from './replan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import type { DetectorCount, Storage } from './storage/storage.js';
import { measureContext } from '../engine/measures/context.js';
import { arrivalOnGreenShares } from '../engine/traffic/progression.js';
import { CHATTER_VEH_PER_H_PER_LANE } from '../engine/counts/faults.js';
import { SaturationFlowEstimator } from '../engine/traffic/saturation.js';
import { loadLog } from './eventService.js';
import type { EventBuffer } from '../engine/events/buffer.js';

/** The live link state covers this much of the latest counts, s. */
export const LIVE_WINDOW_S = 300;

/**
 * The live window must span at least this much before the link state is taken from it, s: two of
 * the plan's longest cycles (a window shorter than a cycle sees one green's discharge or none),
 * at most the whole window.
 */
export function liveMinWindowS(plan: PlanBuffer): number {
  let longest = 0;
  for (const c of plan.cycleS) if (c > longest) longest = c;
  return Math.min(LIVE_WINDOW_S, 2 * longest);
}
/**
 * Events read before the live window for `loadProgression`, ms: the cycle under way when the
 * window starts and the queue it carries (the held-upstream term scans as far back).
 */
export const PROGRESSION_MARGIN_MS = 300_000;
/** Most events `loadProgression` reads for one window (all intersections); beyond, the window keeps random arrivals. */
export const PROGRESSION_MAX_EVENTS = 500_000;

export interface IncidentDetectionStatus {
  readonly running: boolean;
  readonly status: string;
  readonly sampleS: number;
  /** The status as data (the console words it in its language): off (no live counts), waiting for the first interval, filling the window, judging. */
  readonly kind: 'off' | 'waiting' | 'filling' | 'judging';
  /** Samples fed so far and the window's length in samples; loops judged; the last sample's end, ms (NaN before one). */
  readonly samples: number;
  readonly windowSamples: number;
  readonly stations: number;
  readonly lastSampleEndMs: number;
  /** The thresholds the loops are judged against: calibrated on the city's stored counts, or one for every loop and why. */
  readonly calibration: CalibrationStatus;
}

/** What the live link delays take the arrival pattern from, as data; `progressionText` words it. */
export type ProgressionStatus =
  | { readonly kind: 'counts-file' }
  | { readonly kind: 'no-log' }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'no-events' }
  | { readonly kind: 'not-read'; readonly error: string }
  | { readonly kind: 'events'; readonly links: number; readonly ofLinks: number; readonly lanes: number; readonly events: number; readonly fromMs: number; readonly toMs: number };

/** The progression status in English (gRPC's `LinkStatesUpdate.progression`, logs). */
export function progressionText(p: ProgressionStatus): string {
  switch (p.kind) {
    case 'counts-file':
      return 'random arrivals (HCM PF = 1): the state is from the counts file';
    case 'no-log':
      return 'random arrivals (HCM PF = 1): no event log is collected (it needs --controllers and --db)';
    case 'waiting':
      return 'random arrivals (HCM PF = 1) until the first window of collected events is read';
    case 'no-events':
      return 'random arrivals (HCM PF = 1): no events stored for the window (the controllers keep no event log, or it is not collected yet)';
    case 'not-read':
      return `random arrivals (HCM PF = 1): the window's events were not read (${p.error})`;
    case 'events':
      return `arrivals on green and input-output delay on ${p.links} of ${p.ofLinks} links, saturation flows measured on ${p.lanes} lanes, from ${p.events} events collected from the controllers between ${new Date(p.fromMs).toISOString()} and ${new Date(p.toMs).toISOString()}; HCM random arrivals on the others`;
  }
}

/** The live part: the window of counts, the detector, and the incidents it opened. */
interface Live {
  readonly intervalS: number;
  readonly windowIntervals: number;
  /** [slot * detectors + detector], NaN = missing. */
  readonly vol: Float64Array;
  readonly occ: Float64Array;
  readonly startMs: Float64Array;
  intervals: number;
  /**
   * The window's state as a LoopInterval (recomputed each interval), and one interval's, for the
   * g-factor. The window's progression (NaN: unknown) is the last `loadProgression` found: kept
   * until the next one, so a window is not without it while its events are read.
   */
  readonly window: { intervalS: number; volumeVeh: Float64Array; occupancyPct: Float64Array; arrivalOnGreenShare: Float64Array; throughDelayS: Float64Array; saturationFlowVehPerH: Float64Array; linkCapacityFactor: Float64Array };
  /** The window's span, ms (from the first interval's start to the last one's end). */
  fromMs: number;
  toMs: number;
  readonly one: { intervalS: number; volumeVeh: Float64Array; occupancyPct: Float64Array };
  readonly detector: IncidentDetector;
  /** The detector's sample: counts and occupancy per detector (0 where missing). */
  readonly sampleVeh: Float64Array;
  readonly sampleOcc: Float64Array;
  samplesFed: number;
  lastSampleEndS: number;
  /** Whether the window has reached `liveMinWindowS` (once it has, the state is the live one from then on). */
  ready: boolean;
  /** What the window's progression is from (`progression()`). */
  progression: ProgressionStatus;
  /** Incident id of the active incident per detector link (incident layout link index). */
  readonly open: Map<number, string>;
  calibration: CalibrationStatus;
}

export class TrafficState {
  readonly links: TrafficLinks;
  readonly estimator: LinkStateEstimator;
  /** The incidents (./incidentBook.ts): what the loops detected and operators reported, kept across restarts with a storage. */
  readonly book = new IncidentBook(() => this.blockagesChanged());
  /** Start of the interval computed (ms; from a counts file local wall time read as UTC, live the service clock) and its length. */
  intervalStartMs = Number.NaN;
  intervalS = 0;
  private computedFor: ServicePlan | undefined;
  private readonly detectorOfCounts: Int32Array;
  private readonly volume: Float64Array;
  private readonly occupancy: Float64Array;
  private readonly detectorIndex: Map<string, number>;
  private live: Live | undefined;
  /** Saturation flows measured from the collected events, accumulated over every window read, and up to when. */
  private readonly saturation: SaturationFlowEstimator;
  private readonly saturationToMs: Float64Array;
  /** Per link, the share of its capacity the active incidents leave (lanes open ÷ lanes; 1 without a known blockage). */
  private readonly capacityLeft: Float64Array;
  /** Live counts left out since the start as implausible (over the chatter bound, or negative). */
  implausibleCounts = 0;

  /** `events`: the store the event collector writes the controllers' event logs to (`loadProgression` reads it). */
  constructor(
    private readonly state: ServiceState,
    private readonly events?: Storage,
  ) {
    const c = state.c;
    this.links = trafficLinks(c);
    this.estimator = new LinkStateEstimator(c, this.links);
    const counts = state.prepared.faults.cleaned;
    const byId = new Map(counts.detectorIds.map((id, k) => [id, k]));
    this.detectorOfCounts = Int32Array.from(c.detectorIds, (id) => byId.get(id) ?? -1);
    this.volume = new Float64Array(c.detectorIds.length);
    this.occupancy = new Float64Array(c.detectorIds.length);
    this.detectorIndex = new Map(c.detectorIds.map((id, d) => [id, d]));
    this.saturation = new SaturationFlowEstimator(c);
    this.capacityLeft = new Float64Array(this.links.count).fill(1);
    this.saturationToMs = new Float64Array(c.intersectionCount).fill(Number.NEGATIVE_INFINITY);
    // The g-factor from every free-flow interval of the file (the night hours).
    for (let r = 0; r < counts.intervalStartMs.length; r++) this.estimator.calibrate(this.row(r));
  }

  /** The live incident detector (undefined without live counts). */
  get incidentDetector(): IncidentDetector | undefined {
    return this.live?.detector;
  }

  /** Whether the state comes from the controllers' live counts (their window is long enough: `liveMinWindowS`). */
  get isLive(): boolean {
    return this.live !== undefined && this.live.ready;
  }

  private row(r: number): LoopInterval {
    const counts = this.state.prepared.faults.cleaned;
    const nd = counts.detectorIds.length;
    for (let d = 0; d < this.volume.length; d++) {
      const k = this.detectorOfCounts[d]!;
      this.volume[d] = k >= 0 ? counts.volumeVeh[r * nd + k]! : Number.NaN;
      this.occupancy[d] = k >= 0 ? counts.occupancyPct[r * nd + k]! : Number.NaN;
    }
    return { intervalS: counts.intervalS, volumeVeh: this.volume, occupancyPct: this.occupancy, linkCapacityFactor: this.capacityLeft };
  }

  /** The state for the plan in force: live if live counts have arrived, else from the counts file; recomputed when the plan changes. */
  current(): LinkStateEstimator {
    const plan = this.state.plan;
    if (this.computedFor === plan) return this.estimator;
    if (this.live !== undefined && this.live.ready) {
      this.estimator.update(this.live.window, plan.buffer);
      this.computedFor = plan;
      return this.estimator;
    }
    const counts = this.state.prepared.faults.cleaned;
    const total = counts.intervalStartMs.length;
    const forMs = Date.parse(`${this.state.forInterval.replace(' ', 'T')}Z`);
    let r = counts.intervalStartMs.indexOf(forMs);
    if (r < 0) r = total - 1;
    this.estimator.update(this.row(r), plan.buffer);
    this.intervalStartMs = counts.intervalStartMs[r]!;
    this.intervalS = counts.intervalS;
    this.computedFor = plan;
    return this.estimator;
  }

  /**
   * The service collects live counts every `intervalS` (./countCollector.ts): from the first
   * interval that arrives the state and the incident detection run on them.
   */
  startLive(intervalS: number): void {
    const nd = this.state.c.detectorIds.length;
    const windowIntervals = Math.max(1, Math.round(LIVE_WINDOW_S / intervalS));
    const layout = incidentLayout(this.state.c);
    this.live = {
      intervalS,
      windowIntervals,
      vol: new Float64Array(windowIntervals * nd).fill(Number.NaN),
      occ: new Float64Array(windowIntervals * nd).fill(Number.NaN),
      startMs: new Float64Array(windowIntervals).fill(Number.NaN),
      intervals: 0,
      window: {
        intervalS,
        volumeVeh: new Float64Array(nd),
        occupancyPct: new Float64Array(nd),
        arrivalOnGreenShare: new Float64Array(this.links.count).fill(Number.NaN),
        throughDelayS: new Float64Array(this.links.count).fill(Number.NaN),
        saturationFlowVehPerH: new Float64Array(this.state.c.laneIds.length).fill(Number.NaN),
        linkCapacityFactor: this.capacityLeft,
      },
      fromMs: Number.NaN,
      toMs: Number.NaN,
      one: { intervalS, volumeVeh: new Float64Array(nd), occupancyPct: new Float64Array(nd) },
      // One threshold for every station until `calibrateIncidents` has the city's own counts.
      detector: new IncidentDetector(layout, uncalibratedIncidentParams(intervalS)),
      sampleVeh: new Float64Array(nd),
      sampleOcc: new Float64Array(nd),
      samplesFed: 0,
      lastSampleEndS: Number.NaN,
      ready: false,
      progression: this.events ? { kind: 'waiting' } : { kind: 'no-log' },
      open: new Map(),
      calibration: { kind: 'not-yet' },
    };
  }

  /**
   * One whole interval of counts from the controllers (CountCollector's `onCounts`): the link
   * state over the live window and the incident detector's next sample. Detectors without a row
   * (an unreachable controller) are missing from the link state and count nothing for the
   * detector (their approach has no verdict: its siblings are on the same controller). An
   * interval without any row is no sample. Returns the detector's events.
   */
  applyLive(rows: readonly DetectorCount[], interval: { startMs: number; intervalS: number }): IncidentEvent[] {
    const lv = this.live;
    if (lv === undefined || rows.length === 0) return [];
    const nd = this.state.c.detectorIds.length;
    const W = lv.windowIntervals;
    const slot = lv.intervals % W;
    const one = lv.one;
    one.volumeVeh.fill(Number.NaN);
    one.occupancyPct.fill(Number.NaN);
    // A count no lane can carry (the chatter fault's bound, engine/counts/faults.ts) is left out
    // of the link state as if the loop had not reported: one chattering loop must not make its
    // link 严重拥堵 on the signs. The incident detector still gets it as counted (a loop left at
    // 0 beside busy siblings would look like a blocked lane; a chattering one never does).
    const maxVeh = (CHATTER_VEH_PER_H_PER_LANE * interval.intervalS) / 3600;
    const implausible: DetectorCount[] = [];
    for (const r of rows) {
      const d = this.detectorIndex.get(r.detectorId);
      if (d === undefined) continue;
      if (!(r.volumeVeh >= 0 && r.volumeVeh <= maxVeh)) {
        this.implausibleCounts++;
        implausible.push(r);
        continue;
      }
      one.volumeVeh[d] = r.volumeVeh;
      one.occupancyPct[d] = r.occupancyPct;
    }
    lv.vol.set(one.volumeVeh, slot * nd);
    lv.occ.set(one.occupancyPct, slot * nd);
    lv.startMs[slot] = interval.startMs;
    lv.intervals++;
    // The window: per detector, the mean rate over the intervals it reported, as `filled` intervals.
    const filled = Math.min(lv.intervals, W);
    for (let d = 0; d < nd; d++) {
      let v = 0;
      let o = 0;
      let n = 0;
      for (let w = 0; w < filled; w++) {
        const x = lv.vol[w * nd + d]!;
        if (!(x >= 0)) continue;
        v += x;
        o += lv.occ[w * nd + d]!;
        n++;
      }
      lv.window.volumeVeh[d] = n > 0 ? (v * filled) / n : Number.NaN;
      lv.window.occupancyPct[d] = n > 0 ? o / n : Number.NaN;
    }
    lv.window.intervalS = filled * lv.intervalS;
    let first = Number.POSITIVE_INFINITY;
    for (let w = 0; w < filled; w++) first = Math.min(first, lv.startMs[w]!);
    lv.fromMs = first;
    lv.toMs = interval.startMs + interval.intervalS * 1000;
    this.estimator.calibrate(one);
    // Until the window holds whole cycles the flows are a green's worth or none (a 30 s interval
    // of a through lane reads 0 or 2,400 veh/h): the counts file's state stands until then.
    if (!lv.ready && lv.window.intervalS >= liveMinWindowS(this.state.plan.buffer)) lv.ready = true;
    if (lv.ready) {
      this.estimator.update(lv.window, this.state.plan.buffer);
      this.computedFor = this.state.plan;
      this.intervalStartMs = first;
      this.intervalS = lv.window.intervalS;
    }
    // The incident detector's sample.
    for (let d = 0; d < nd; d++) {
      // A missing detector (NaN) counts nothing (Math.max would keep the NaN).
      const missing = Number.isNaN(one.volumeVeh[d]!);
      lv.sampleVeh[d] = missing ? 0 : one.volumeVeh[d]!;
      lv.sampleOcc[d] = missing ? 0 : one.occupancyPct[d]!;
    }
    for (const r of implausible) {
      const d = this.detectorIndex.get(r.detectorId)!;
      // Negative or NaN (refused above too) counts nothing.
      lv.sampleVeh[d] = Math.max(0, r.volumeVeh) || 0;
      lv.sampleOcc[d] = Math.max(0, r.occupancyPct) || 0;
    }
    const endS = (interval.startMs + interval.intervalS * 1000) / 1000;
    const events = lv.detector.push(endS, lv.sampleVeh, lv.sampleOcc);
    lv.samplesFed++;
    lv.lastSampleEndS = endS;
    const layout = lv.detector.layout;
    for (const e of events) {
      const link = layout.linkIds.indexOf(e.linkId);
      if (e.kind === 'start') {
        // A loop incident kept open through a restart that the loops now confirm: the same incident.
        const key = e.networkLinkId || e.linkId;
        const kept = this.book.adopt(key);
        if (kept !== undefined) {
          lv.open.set(link, kept);
          continue;
        }
        const id = this.reportIncident(key, e.detectorId, LOOP_SOURCE, e.tS, e.confidence, e.where);
        lv.open.set(link, id);
      } else {
        const id = lv.open.get(link);
        if (id !== undefined) this.clearIncident(id, e.tS);
        lv.open.delete(link);
      }
    }
    // Kept through a restart and not confirmed in time: the blockage is taken to be gone.
    this.book.expire(endS);
    return events;
  }

  /**
   * Reads the stored events of the live window (and PROGRESSION_MARGIN_MS before it) and gives
   * the window each advance-looped link's arrivals on green and its through traffic's
   * input-output delay (engine/traffic/progression.ts: links with fewer than its minimum of
   * arrivals stay unknown), then recomputes the link state. Called after each `applyLive` by
   * startServer when the event collector runs; a window that moved on while the events were
   * read is left alone (the next call reads the new one). Resolves to what it did.
   */
  async loadProgression(): Promise<string> {
    const lv = this.live;
    if (lv === undefined || !lv.ready || this.events === undefined) return 'no live window yet, or no event store';
    const at = lv.intervals;
    const { fromMs, toMs } = lv;
    const c = this.state.c;
    const aog = new Float64Array(this.links.count).fill(Number.NaN);
    const io = new Float64Array(this.links.count).fill(Number.NaN);
    // One intersection's log at a time, yielding between them: every scan is of one
    // intersection's events, and gRPC calls run between intersections, whatever the city's size.
    let events = 0;
    for (let i = 0; i < c.intersectionCount; i++) {
      let log: EventBuffer;
      try {
        log = await loadLog(this.events, [c.intersectionIds[i]!], fromMs - PROGRESSION_MARGIN_MS, toMs, PROGRESSION_MAX_EVENTS - events);
      } catch (e: unknown) {
        if (lv.intervals === at) lv.progression = { kind: 'not-read', error: e instanceof Error ? e.message : String(e) };
        return progressionText(lv.progression);
      }
      if (lv.intervals !== at) return 'the window moved on while its events were read';
      events += log.length;
      if (log.length === 0) continue;
      const ctx = measureContext(c, log);
      arrivalOnGreenShares(ctx, this.links, fromMs, toMs, aog, io, i);
      // Greens not seen before (windows overlap): their queue discharges.
      this.saturation.observe(ctx, Math.max(fromMs, this.saturationToMs[i]!), toMs, i);
      this.saturationToMs[i] = toMs;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (lv.intervals !== at) return 'the window moved on while its events were read';
    }
    if (events === 0) {
      lv.progression = { kind: 'no-events' };
      return progressionText(lv.progression);
    }
    this.saturation.fill(lv.window.saturationFlowVehPerH);
    lv.window.arrivalOnGreenShare.set(aog);
    lv.window.throughDelayS.set(io);
    let known = 0;
    for (let k = 0; k < aog.length; k++) if (aog[k]! >= 0) known++;
    let measured = 0;
    for (const s of lv.window.saturationFlowVehPerH) if (s > 0) measured++;
    lv.progression = { kind: 'events', links: known, ofLinks: this.links.count, lanes: measured, events, fromMs, toMs };
    this.estimator.update(lv.window, this.state.plan.buffer);
    this.computedFor = this.state.plan;
    return progressionText(lv.progression);
  }

  /** What the live link delays take the arrival pattern from: events, or random arrivals and why. */
  progression(): string {
    return progressionText(this.progressionStatus());
  }

  progressionStatus(): ProgressionStatus {
    return this.live?.ready ? this.live.progression : { kind: 'counts-file' };
  }

  /** Whether incidents are being detected, what from, or why not. */
  detection(): IncidentDetectionStatus {
    const lv = this.live;
    const none = { samples: 0, windowSamples: 0, stations: 0, lastSampleEndMs: Number.NaN };
    if (lv === undefined) return { running: false, sampleS: 0, kind: 'off', ...none, calibration: { kind: 'none' }, status: 'not running: no live loop counts (the service collects them with --controllers and --db); link states come from the counts file' };
    const W = lv.detector.params.windowSamples;
    const at = { samples: lv.samplesFed, windowSamples: W, stations: lv.detector.layout.stationCount, lastSampleEndMs: lv.lastSampleEndS * 1000, calibration: lv.calibration };
    const thresholds = lv.calibration.kind === 'calibrated' ? calibrationText(lv.calibration) : `one threshold for every loop (${calibrationText(lv.calibration)})`;
    if (lv.samplesFed === 0) return { running: false, sampleS: lv.intervalS, kind: 'waiting', ...at, status: `waiting for the controllers' first whole ${lv.intervalS} s interval of loop counts; ${thresholds}` };
    const judging = lv.samplesFed >= W;
    const judged = judging ? `judging ${lv.detector.layout.stationCount} loops against their neighbouring lanes` : `filling its ${W}-sample window (${lv.samplesFed} so far)`;
    return { running: true, sampleS: lv.intervalS, kind: judging ? 'judging' : 'filling', ...at, status: `live ${lv.intervalS} s loop samples, the last ending ${new Date(lv.lastSampleEndS * 1000).toISOString()}; ${judged}; ${thresholds}` };
  }

  /**
   * Calibrates the live detector's loops on the counts stored over the `days` before `nowMs` at
   * the live sample length (./incidentCalibration.ts), leaving out every count within
   * INCIDENT_GUARD_MS of an incident this service knows of (detected or reported). With fewer
   * than `minHours` complete hours (or a store that cannot be read) the thresholds stay as they
   * were (calibrated before, or one for every loop, the status saying why); resolves to what
   * this call found. The thresholds change in place: the detector's window and its open incidents are kept.
   * The store is read ten minutes at a time with the event loop free between reads, and
   * `compute` (serve: a worker thread) calibrates the stations.
   */
  async calibrateIncidents(storage: Storage, nowMs: number, opts: { days?: number; minHours?: number; compute?: StationCalibration } = {}): Promise<CalibrationStatus> {
    const lv = this.live;
    if (lv === undefined) return { kind: 'none' };
    const days = opts.days ?? DEFAULT_CALIBRATION_DAYS;
    const needHours = opts.minHours ?? DEFAULT_MIN_CALIBRATION_HOURS;
    const excluded = this.incidents.map((x) => ({ fromMs: x.detectedS * 1000 - INCIDENT_GUARD_MS, toMs: (x.clearedS ?? nowMs / 1000) * 1000 + INCIDENT_GUARD_MS }));
    const layout = lv.detector.layout;
    let read: Awaited<ReturnType<typeof readCalibrationSeries>>;
    try {
      read = await readCalibrationSeries(storage, layout, { fromMs: nowMs - days * 86_400_000, toMs: nowMs, sampleS: lv.intervalS, excluded });
    } catch (e: unknown) {
      return this.calibrationFailed(lv, { kind: 'not-read', error: e instanceof Error ? e.message : String(e) });
    }
    const hours = (read.samples * lv.intervalS) / 3600;
    if (hours < needHours) return this.calibrationFailed(lv, { kind: 'too-little', hours, needHours, days });
    let computed: { thresholds: Float64Array; runThresholds: Float64Array };
    try {
      computed = opts.compute ? await opts.compute(lv.intervalS, read.series) : calibrateStations(layout, lv.intervalS, read.series);
    } catch (e: unknown) {
      return this.calibrationFailed(lv, { kind: 'not-read', error: `calibration failed: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (this.live !== lv) return lv.calibration;
    const { thresholds, runThresholds } = computed;
    lv.detector.threshold.set(thresholds);
    lv.detector.runThreshold.set(runThresholds);
    lv.calibration = { kind: 'calibrated', hours, fromMs: read.fromMs, toMs: read.toMs + lv.intervalS * 1000, atMs: nowMs, stations: layout.stationCount };
    return lv.calibration;
  }

  /** A calibration that did not happen: thresholds calibrated before stay, with their status; else the status says why not. Returns `why`. */
  private calibrationFailed(lv: Live, why: CalibrationStatus): CalibrationStatus {
    if (lv.calibration.kind !== 'calibrated') lv.calibration = why;
    return why;
  }

  link(id: string, path: string): number {
    const k = this.links.index.get(id);
    if (k === undefined) throw notFound(`${path}: no link "${id}"`);
    return k;
  }

  intersection(id: string, path: string): number {
    return this.state.intersection(id, path);
  }

  /** Every incident so far, oldest first. */
  get incidents(): readonly IncidentRecord[] {
    return this.book.list;
  }

  /**
   * Adds an active incident on a link of the network; returns its id. `by`, `note` and
   * `lanesBlocked`: an operator's report; lanes blocked take their share of the link's capacity
   * from the link state until it clears.
   */
  reportIncident(linkId: string, detectorId: string, source: string, detectedS: number, confidence = 1, location = '', by = '', note = '', lanesBlocked = 0): string {
    this.link(linkId, 'link_id');
    return this.book.report(linkId, detectorId, source, detectedS, confidence, location, by, note, lanesBlocked);
  }

  clearIncident(incidentId: string, clearedS: number, by = '', note = ''): IncidentRecord {
    return this.book.clear(incidentId, clearedS, by, note);
  }

  incident(incidentId: string, path = 'incident_id'): IncidentRecord {
    return this.book.get(incidentId, path);
  }

  /** The book's `restore` for this network's links (./incidentBook.ts). */
  restoreIncidents(storage: Storage, nowS: number, opts: { confirmWithinS?: number } = {}): Promise<{ restored: number; closed: number; unconfirmed: number }> {
    return this.book.restore(storage, nowS, (id) => this.links.index.has(id), opts);
  }

  /** Resolves once every change to the incidents so far has been saved. */
  saved(): Promise<void> {
    return this.book.saved();
  }

  /** Lanes of link `linkId` (what `lanesBlocked` may be at most). */
  laneCount(linkId: string, path = 'link_id'): number {
    const k = this.link(linkId, path);
    return this.links.laneStart[k + 1]! - this.links.laneStart[k]!;
  }

  /** Recomputes each link's capacity left from the active incidents' blocked lanes; the state is recomputed at its next read. */
  private blockagesChanged(): void {
    this.capacityLeft.fill(1);
    const blocked = new Map<number, number>();
    for (const x of this.book.list) {
      if (x.clearedS !== undefined || !(x.lanesBlocked > 0)) continue;
      const k = this.links.index.get(x.linkId)!;
      blocked.set(k, (blocked.get(k) ?? 0) + x.lanesBlocked);
    }
    for (const [k, b] of blocked) {
      const lanes = this.links.laneStart[k + 1]! - this.links.laneStart[k]!;
      this.capacityLeft[k] = Math.max(0, (lanes - b) / lanes);
    }
    this.computedFor = undefined;
  }

  /**
   * Feeds the live state and the incident detector the counts the service stored over the last
   * LIVE_WINDOW_S (and one interval) before `nowMs`, at most a window's intervals (a restart: the
   * counts the previous run collected), oldest first,
   * as if they had just arrived; call after `startLive`, before the collector's first interval.
   * The state is then live at once where they span the window, and the detector judges from its
   * first new sample. Resolves to the intervals fed.
   */
  async primeLive(storage: Storage, nowMs: number): Promise<number> {
    const lv = this.live;
    if (lv === undefined) return 0;
    const stepMs = lv.intervalS * 1000;
    // The window's worth of intervals ending by `nowMs`, from up to one interval more before (the
    // one under way when the previous run stopped is not stored): at most a window's intervals.
    const all = await storage.detectorCounts({ fromMs: nowMs - LIVE_WINDOW_S * 1000 - stepMs, toMs: nowMs - stepMs + 1, intervalS: lv.intervalS });
    const starts = [...new Set(all.map((r) => r.intervalStartMs))];
    const firstMs = starts.length > lv.windowIntervals ? starts[starts.length - lv.windowIntervals]! : Number.NEGATIVE_INFINITY;
    const rows = all.filter((r) => r.intervalStartMs >= firstMs);
    let fed = 0;
    for (let k = 0; k < rows.length; ) {
      const startMs = rows[k]!.intervalStartMs;
      let end = k;
      while (end < rows.length && rows[end]!.intervalStartMs === startMs) end++;
      this.applyLive(rows.slice(k, end), { startMs, intervalS: lv.intervalS });
      fed++;
      k = end;
    }
    return fed;
  }
}
