/**
 * Live detector health for the console's network and intersection pages: the
 * counts the service collected from the controllers (service/countCollector.ts
 * stores one per detector per interval) over the last LIVE_CHECK_INTERVALS
 * intervals of the service clock, checked by the engine's fault checks
 * (engine/counts/faults.ts cleanCounts: missing, stuck on, chatter, zero) and
 * judged by the planner's rule over the last HEALTH_WINDOW_INTERVALS + 1 of
 * them (./detectorHealth.ts detectorsInWindow, blackout.ts's half-healthy
 * rule). Without a storage, or with no counts collected in that span, the
 * answer is the start-up view (./detectorHealth.ts) with the reason, so the
 * pages can say which they show. One answer is shared by every request and
 * event stream of the console (./networkApi.ts, ./intersectionApi.ts): the
 * storage is read again at most every REFRESH_MS, or when an interval ended.
 */
import { HEALTH_WINDOW_INTERVALS } from '../../engine/counts/blackout.js';
import { type DetectorCounts, formatTimestamp } from '../../engine/counts/csv.js';
import { cleanCounts, detectorTopology, type DetectorTopology } from '../../engine/counts/faults.js';
import type { ServiceState } from '../../service/state.js';
import type { Storage } from '../../service/storage/storage.js';
import { detectorHealth, detectorsInWindow, type HealthReport } from './detectorHealth.js';

/** Collected intervals the fault checks look at (their runs need some before the health window). */
export const LIVE_CHECK_INTERVALS = 15;
/** How often the storage is read again within one interval, ms (a round lands just after the boundary). */
const REFRESH_MS = 5000;

export interface LiveHealth {
  readonly report: HealthReport;
  /** Why the start-up view is shown: no storage to read counts from, or none collected in the span checked. */
  readonly fallbackReason?: 'NO_STORAGE' | 'NO_COUNTS';
  /** Collected: the first interval checked and how many (local time of the service clock, UTC). */
  readonly checkedFrom?: string;
  readonly checkedIntervals?: number;
}

export class LiveDetectorHealth {
  private last: LiveHealth | undefined;
  private lastJson = '';
  private lastBucket = Number.NaN;
  private lastAtMs = Number.NEGATIVE_INFINITY;
  private running: Promise<LiveHealth> | undefined;
  private topology: { network: unknown; t: DetectorTopology } | undefined;

  constructor(
    private readonly state: ServiceState,
    private readonly storage: Storage | undefined,
    /** The service's clock, s. */
    private readonly clock: () => number,
    /** The collector's count interval, s. */
    readonly intervalS: number,
  ) {}

  /**
   * The health to show now. The same object while nothing changed, so a stream sends it again
   * only when it is a different object.
   */
  current(): Promise<LiveHealth> {
    const bucket = Math.floor(this.clock() / this.intervalS);
    const fresh = this.last && bucket === this.lastBucket && performance.now() - this.lastAtMs < REFRESH_MS;
    if (fresh) return Promise.resolve(this.last!);
    if (this.running) return this.running;
    this.running = this.compute(bucket)
      .then((h) => {
        const json = JSON.stringify(h);
        if (json !== this.lastJson || !this.last) {
          this.last = h;
          this.lastJson = json;
        }
        this.lastBucket = bucket;
        this.lastAtMs = performance.now();
        return this.last;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async compute(bucket: number): Promise<LiveHealth> {
    if (!this.storage) return { report: detectorHealth(this.state), fallbackReason: 'NO_STORAGE' };
    const c = this.state.c;
    if (this.topology?.network !== c.network) this.topology = { network: c.network, t: detectorTopology(c.network) };
    const topology = this.topology.t;
    const ivMs = this.intervalS * 1000;
    // The last interval that has ended; the collector stores it in the round just after the boundary.
    const lastEndedMs = (bucket - 1) * ivMs;
    const fromMs = lastEndedMs - (LIVE_CHECK_INTERVALS - 1) * ivMs;
    const column = new Map(topology.detectorIds.map((id, d) => [id, d]));
    const rows = (await this.storage.detectorCounts({ fromMs, toMs: lastEndedMs + ivMs, intervalS: this.intervalS })).filter((r) => column.has(r.detectorId));
    if (rows.length === 0) return { report: detectorHealth(this.state), fallbackReason: 'NO_COUNTS' };
    // From the first interval collected (not before: the service may have started within the span)
    // to the last ended; the newest may still be on its way, so one interval's lag is not "missing".
    let firstMs = Number.POSITIVE_INFINITY;
    let latestMs = Number.NEGATIVE_INFINITY;
    for (const r of rows) {
      firstMs = Math.min(firstMs, r.intervalStartMs);
      latestMs = Math.max(latestMs, r.intervalStartMs);
    }
    const endMs = Math.max(latestMs, lastEndedMs - ivMs);
    const nI = Math.round((endMs - firstMs) / ivMs) + 1;
    const nD = topology.detectorIds.length;
    const volumeVeh = new Float64Array(nI * nD).fill(Number.NaN);
    const occupancyPct = new Float64Array(nI * nD).fill(Number.NaN);
    const intervalStartMs = new Float64Array(nI);
    for (let t = 0; t < nI; t++) intervalStartMs[t] = firstMs + t * ivMs;
    for (const r of rows) {
      const t = Math.round((r.intervalStartMs - firstMs) / ivMs);
      const cell = t * nD + column.get(r.detectorId)!;
      volumeVeh[cell] = r.volumeVeh;
      occupancyPct[cell] = r.occupancyPct;
    }
    const counts: DetectorCounts = { detectorIds: topology.detectorIds, intervalS: this.intervalS, intervalStartMs, volumeVeh, occupancyPct };
    const faults = cleanCounts(counts, topology);
    const w1 = nI - 1;
    const w0 = Math.max(0, w1 - HEALTH_WINDOW_INTERVALS);
    const planned = detectorHealth(this.state);
    return {
      report: {
        source: 'collected',
        forInterval: planned.forInterval,
        windowFrom: formatTimestamp(intervalStartMs[w0]!),
        windowTo: formatTimestamp(intervalStartMs[w1]!),
        intervalS: this.intervalS,
        detectors: detectorsInWindow(c, topology, counts, faults, w0, w1),
        // Whether the plan in force was planned on history is the plan's, not the live counts'.
        fallbacks: planned.fallbacks,
      },
      checkedFrom: formatTimestamp(firstMs),
      checkedIntervals: nI,
    };
  }
}

/** What the pages say about where the health comes from (the network map's and each event's head). */
export function healthHead(h: LiveHealth) {
  const r = h.report;
  return {
    source: r.source,
    ...(h.fallbackReason ? { fallbackReason: h.fallbackReason } : {}),
    forInterval: r.forInterval,
    windowFrom: r.windowFrom,
    windowTo: r.windowTo,
    intervalS: r.intervalS,
    checkIntervals: LIVE_CHECK_INTERVALS,
    ...(h.checkedFrom !== undefined ? { checkedFrom: h.checkedFrom, checkedIntervals: h.checkedIntervals } : {}),
  };
}

/** Per intersection of the network: its detectors, how many are unhealthy or had cells repaired, and whether the plan fell back to history. */
export function networkHealth(h: LiveHealth, intersectionIds: readonly string[]) {
  const fallbackIds = new Set(h.report.fallbacks.map((f) => f.intersectionId));
  return {
    head: healthHead(h),
    intersections: intersectionIds.map((id) => {
      const dets = h.report.detectors.filter((d) => d.intersectionId === id);
      return { id, detectors: dets.length, unhealthyDetectors: dets.filter((d) => !d.healthy).length, substitutedDetectors: dets.filter((d) => d.substituted.length > 0).length, fallback: fallbackIds.has(id) };
    }),
  };
}

/** One intersection's detectors with the head, and its blackout fallback in the plan in force. */
export function intersectionHealth(h: LiveHealth, id: string) {
  return { ...healthHead(h), detectors: h.report.detectors.filter((d) => d.intersectionId === id), fallback: h.report.fallbacks.find((f) => f.intersectionId === id) ?? null };
}
