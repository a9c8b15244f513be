/**
 * Car parks' occupancy history into the control centre's database: every
 * absolute report the service applied (ReportOccupancy, with the client that
 * sent it) and every correction the occupancy tracker logged (drift a report
 * corrected, clamps to 0…capacity), written in batches every `flushMs`
 * (default 5 s) through Storage.insertOccupancyRecords, one transaction and
 * one audit row per batch. Retention is the detector counts' (`retentionDays`,
 * default 90, checked hourly like ./countCollector.ts). Started by startServer
 * (./server.ts) when it has both a parking file and a storage; read back by
 * ParkingGuidanceService.GetOccupancyHistory (./parkingService.ts).
 *
 * A failed write keeps the batch for the next flush (bounded by `maxPending`,
 * oldest dropped first and counted), so a database that is briefly away loses
 * nothing; corrections are read from the tracker's bounded log by sequence
 * number, and those it dropped before they were read are counted too.
 */
import type { OccupancyTracker } from '../engine/parking/occupancy.js';
import type { OccupancyFeed } from '../engine/parking/source.js';
import type { Actor, OccupancyRecord, Storage } from './storage/storage.js';
import { DEFAULT_COUNT_RETENTION_DAYS } from './countCollector.js';

export interface OccupancyHistoryOptions {
  readonly flushMs?: number;
  readonly retentionDays?: number;
  readonly maxPending?: number;
  readonly log?: (line: string) => void;
}

const SYSTEM: Actor = { user: 'greenwave' };
const UPKEEP_EVERY_S = 3600;

export class OccupancyHistory {
  private pending: OccupancyRecord[] = [];
  private lastSeq = 0;
  private lastDropped = 0;
  private lastUpkeepS = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private failing = false;
  readonly stats = { written: 0, dropped: 0, correctionsLost: 0 };

  constructor(
    private readonly feed: OccupancyFeed,
    private readonly storage: Storage,
    /** Seconds (Unix time) now: the service clock. */
    private readonly clock: () => number,
    private readonly opts: OccupancyHistoryOptions = {},
  ) {}

  start(): this {
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? 5000);
    this.timer.unref();
    return this;
  }

  /** An applied absolute report (occupied spaces as applied, the client that sent it). */
  report(carParkId: string, occupied: number, atMs: number, source: string): void {
    this.add({ carParkId, atMs, kind: 'report', occupied, beforeOccupied: null, source });
  }

  /** Writes what is pending (and the tracker's new corrections); one flush at a time. */
  flush(): Promise<void> {
    this.running = this.running.then(() => this.write());
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private add(r: OccupancyRecord): void {
    this.pending.push(r);
    const max = this.opts.maxPending ?? 100_000;
    if (this.pending.length > max) {
      this.stats.dropped += this.pending.length - max;
      this.pending.splice(0, this.pending.length - max);
    }
  }

  private async write(): Promise<void> {
    const tracker = trackerOf(this.feed);
    if (tracker) {
      for (const c of tracker.corrections(this.lastSeq)) {
        this.add({ carParkId: c.carParkId, atMs: Math.round(c.tMs), kind: 'correction', occupied: c.afterOccupied, beforeOccupied: c.beforeOccupied, source: c.kind });
        this.lastSeq = c.seq;
      }
      this.stats.correctionsLost += tracker.droppedCorrections - this.lastDropped;
      this.lastDropped = tracker.droppedCorrections;
    }
    const batch = this.pending;
    if (batch.length > 0) {
      this.pending = [];
      try {
        await this.storage.insertOccupancyRecords(SYSTEM, batch);
        this.stats.written += batch.length;
        this.failing = false;
      } catch (e: unknown) {
        // Kept for the next flush, before anything newer.
        this.pending = [...batch, ...this.pending];
        if (!this.failing) this.opts.log?.(`greenwave serve: storing parking occupancy history failed (kept for the next try): ${e instanceof Error ? e.message : String(e)}`);
        this.failing = true;
        return;
      }
    }
    const nowS = this.clock();
    if (nowS - this.lastUpkeepS >= UPKEEP_EVERY_S) {
      this.lastUpkeepS = nowS;
      await this.storage.deleteOccupancyHistoryOlderThan(SYSTEM, this.opts.retentionDays ?? DEFAULT_COUNT_RETENTION_DAYS, Math.round(nowS * 1000)).catch((e: unknown) => this.opts.log?.(`greenwave serve: parking history retention failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
}

function trackerOf(feed: OccupancyFeed): OccupancyTracker | undefined {
  const t = (feed as { tracker?: OccupancyTracker }).tracker;
  return t && typeof t.corrections === 'function' ? t : undefined;
}
