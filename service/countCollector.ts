/**
 * Detector counts from the field into the storage: every `intervalS` of the
 * service clock (default 30 s, on the interval boundary) each controller's
 * loop counters are read and latched in one Modbus read (ControllerClient
 * pollDetectors) and stored as one count per detector for the interval just
 * ended (Storage.insertDetectorCounts, one transaction per round). What cannot
 * be a whole interval is not stored as one: the reads at start (a baseline) and
 * at the first boundary after it (part of an interval), the first read of a
 * controller, a controller that restarted, and reads another master latched in
 * between are skipped and counted. Upkeep runs once an hour: counts older than `downsampleAfterS`
 * are rolled up into 15-minute counts, and counts older than `retentionDays`
 * are deleted. Started by startServer (./server.ts) when the service has
 * controllers and a storage, or controllers and car-park gate loops in its
 * parking file: each round's whole-interval counts also go to `onCounts`
 * (./parkingGates.ts turns the gate loops' counts into the occupancy tracker's
 * gate counts), with or without a storage.
 */
import type { ControllerClient, ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import type { Actor, DetectorCount, Storage } from './storage/storage.js';

export interface CountCollectorOptions {
  /** Count interval, s (default 30; a divisor of 900 so that upkeep can roll counts up). */
  readonly intervalS?: number | undefined;
  /** Counts older than this are rolled up into 900 s counts, s (default one day). */
  readonly downsampleAfterS?: number | undefined;
  /** Counts older than this are deleted, days (default 90). */
  readonly retentionDays?: number | undefined;
  readonly log?: ((line: string) => void) | undefined;
  /** Every round's whole-interval counts (after they are stored, if there is a storage), in the order read. */
  readonly onCounts?: ((rows: readonly DetectorCount[], interval: { startMs: number; intervalS: number }) => void) | undefined;
}

const SYSTEM: Actor = { user: 'greenwave' };
/**
 * The count interval when none is given, s. 30 s, the samples the live incident detector was
 * tuned on (docs/benchmarks.md, bench/incidents): on the benchmark's tuning half 60 s samples
 * found the same blockages 10 s later on average with almost four times the false alarms (0.38
 * against 0.10 per detector-day); its held-out half, looked at after, lost a third of them past 3
 * minutes at 60 s. Twice the count reads and raw rows of 60 s (rolled up to 15 minutes later).
 */
export const DEFAULT_COUNT_INTERVAL_S = 30;
/** Days counts are kept (the parking occupancy history follows it: ./occupancyHistory.ts). */
export const DEFAULT_COUNT_RETENTION_DAYS = 90;
/** The rollup interval of upkeep, s. */
const ROLLUP_S = 900;
/** How often upkeep runs, s of the service clock. */
const UPKEEP_EVERY_S = 3600;

export class CountCollector {
  readonly intervalS: number;
  private timer: NodeJS.Timeout | undefined;
  private lastBucket = Number.NaN;
  private lastRoundOnBoundary = false;
  private lastUpkeepS = Number.NEGATIVE_INFINITY;
  private running: Promise<void> = Promise.resolve();
  /** Rounds stored, and detector reads skipped (first read, restart, another master's latch): for tests and status. */
  readonly stats = { rounds: 0, rowsStored: 0, skipped: 0 };

  constructor(
    private readonly client: ControllerClient,
    private readonly endpoints: readonly ControllerEndpoint[],
    /** Undefined: counts only go to `onCounts`. */
    private readonly storage: Storage | undefined,
    /** Seconds (Unix time) now: the service clock. */
    private readonly clock: () => number,
    private readonly opts: CountCollectorOptions = {},
  ) {
    this.intervalS = opts.intervalS ?? DEFAULT_COUNT_INTERVAL_S;
  }

  /** Reads every controller once now (the baseline) and then on every interval boundary. */
  start(): this {
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
    void this.tick();
    return this;
  }

  /** One check of the clock: a new interval begun → a round of reads (one round at a time). */
  tick(): Promise<void> {
    const bucket = Math.floor(this.clock() / this.intervalS);
    if (bucket === this.lastBucket) return this.running;
    const endedStartMs = this.lastBucket * this.intervalS * 1000;
    // The reads since the last round are a whole interval only if that round was itself on a
    // boundary (not the start, mid-interval) and no interval was skipped in between.
    const whole = bucket === this.lastBucket + 1 && this.lastRoundOnBoundary;
    this.lastRoundOnBoundary = !Number.isNaN(this.lastBucket);
    this.lastBucket = bucket;
    this.running = this.running.then(() => this.round(endedStartMs, whole)).catch((e: unknown) => this.opts.log?.(`greenwave serve: storing detector counts failed: ${e instanceof Error ? e.message : String(e)}`));
    return this.running;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.running;
  }

  /**
   * Reads every controller; stores the counts as the interval starting at `startMs` when the
   * previous read closed the interval before (`whole`), else only latches (a new baseline).
   */
  private async round(startMs: number, whole: boolean): Promise<void> {
    const rows: DetectorCount[] = [];
    let skipped = 0;
    await Promise.all(
      this.endpoints.map(async (e) => {
        try {
          const p = await this.client.pollDetectors(e.unitId);
          if (!whole || p.first || p.restarted || p.missedPolls > 0) {
            skipped += p.detectorIds.length;
            return;
          }
          p.detectorIds.forEach((detectorId, k) => rows.push({ detectorId, intervalStartMs: startMs, intervalS: this.intervalS, volumeVeh: p.volumes[k]!, occupancyPct: Math.min(100, p.occupancyPct[k]!) }));
        } catch {
          // An unreachable controller: its counts for this interval are lost (re-sync logs it).
          skipped++;
        }
      }),
    );
    this.stats.skipped += skipped;
    if (rows.length > 0) {
      if (this.storage) {
        await this.storage.insertDetectorCounts(SYSTEM, rows);
        this.stats.rowsStored += rows.length;
      }
      this.stats.rounds++;
    }
    // Told of every whole interval, even one with no rows: a listener learns the gates' counts were lost.
    if (whole) this.opts.onCounts?.(rows, { startMs, intervalS: this.intervalS });
    if (this.storage) await this.upkeep(this.storage);
  }

  private async upkeep(storage: Storage): Promise<void> {
    const nowS = this.clock();
    if (nowS - this.lastUpkeepS < UPKEEP_EVERY_S) return;
    this.lastUpkeepS = nowS;
    if (ROLLUP_S % this.intervalS === 0 && this.intervalS < ROLLUP_S) {
      await storage.downsampleDetectorCounts(SYSTEM, { fromIntervalS: this.intervalS, toIntervalS: ROLLUP_S, beforeMs: Math.round((nowS - (this.opts.downsampleAfterS ?? 86_400)) * 1000) });
    }
    await storage.deleteDetectorCountsOlderThan(SYSTEM, this.opts.retentionDays ?? DEFAULT_COUNT_RETENTION_DAYS, Math.round(nowS * 1000));
  }
}
