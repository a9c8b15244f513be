/**
 * The write path of collected controller events into the storage: a bounded queue, drained
 * in batched transactions (Storage.insertEvents: one transaction and one audit row per
 * batch) every `flushMs`, or at once while a full batch is waiting. One batch is in flight
 * at a time, so the database sees one writer and commits in arrival order.
 *
 * Bounded memory: at most `maxQueued` events wait. Producers ask `free()` first and take no
 * more than that (the EventCollector reads fewer windows, leaving events on the controller);
 * what still arrives over the bound is dropped, counted, and audited ('events.overflow') at
 * the next flush. Gaps a poller reports (events a controller overwrote before central read
 * them) are audited the same way ('events.gap'), one row per flush listing them. A failed
 * write keeps its batch at the head of the queue and is tried again at the next flush.
 *
 * Used by the EventCollector (./eventCollector.ts) and by bench/events, which measures this
 * same path. Reports to the service's metrics (./metrics.ts EventMetrics).
 */
import type { Actor, ControllerEvent, Storage } from './storage/storage.js';

/** How often queued events are written, ms. */
export const EVENT_FLUSH_MS = 200;
/** Events per transaction, at most. */
export const EVENT_BATCH_ROWS = 20_000;
/** Events waiting at most; beyond, dropped and audited. */
export const MAX_QUEUED_EVENTS = 200_000;
/** Gaps listed per audit row at most (the rest are counted in it). */
const MAX_GAPS_LISTED = 100;

/** What the batcher reports (service/metrics.ts implements it). */
export interface EventMetrics {
  /** A batch of `n` events committed; `lagS` per event: commit time − event timestamp. */
  eventsStored(n: number, lagS: Float64Array): void;
  eventsLost(n: number): void;
  eventsDropped(n: number): void;
  eventFlushFailed(): void;
}

export interface EventBatcherOptions {
  readonly flushMs?: number;
  readonly batchRows?: number;
  readonly maxQueued?: number;
  /** Who the writes are audited as (default the system, 'greenwave' from 'event-collector'). */
  readonly actor?: Actor;
  readonly metrics?: EventMetrics | undefined;
  readonly log?: ((line: string) => void) | undefined;
  /** Told of every committed batch and when it committed (bench/events measures lag with it). */
  readonly onCommitted?: ((batch: readonly ControllerEvent[], committedAtMs: number) => void) | undefined;
  /** Wall clock, ms (tests pin it). */
  readonly nowMs?: () => number;
}

export interface GapReport {
  readonly locationId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

export class EventBatcher {
  private queue: ControllerEvent[] = [];
  private dropped = 0;
  private gaps: GapReport[] = [];
  private gapEvents = 0;
  private writing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly actor: Actor;
  private readonly batchRows: number;
  readonly maxQueued: number;
  private readonly now: () => number;
  /** Totals since start, for status and tests. */
  readonly totals = { stored: 0, batches: 0, dropped: 0, lost: 0, failedFlushes: 0 };

  constructor(
    private readonly storage: Storage,
    private readonly opts: EventBatcherOptions = {},
  ) {
    this.actor = opts.actor ?? { user: 'greenwave', peer: 'event-collector' };
    this.batchRows = opts.batchRows ?? EVENT_BATCH_ROWS;
    this.maxQueued = opts.maxQueued ?? MAX_QUEUED_EVENTS;
    this.now = opts.nowMs ?? Date.now;
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? EVENT_FLUSH_MS);
    this.timer.unref();
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  /** Room left in the queue: what a producer may push without a drop. */
  free(): number {
    return Math.max(0, this.maxQueued - this.queue.length);
  }

  /** Queues events; those over the bound are dropped and counted (audited at the next flush). */
  push(events: readonly ControllerEvent[]): void {
    if (this.closed) return;
    const room = this.free();
    const take = Math.min(room, events.length);
    for (let k = 0; k < take; k++) this.queue.push(events[k]!);
    const over = events.length - take;
    if (over > 0) {
      this.dropped += over;
      this.totals.dropped += over;
      this.opts.metrics?.eventsDropped(over);
    }
    // A full batch need not wait for the timer.
    if (this.queue.length >= this.batchRows && !this.writing) void this.flush();
  }

  /** A poller's gap: events [fromSeq, toSeq) of `locationId` were lost on the controller. */
  gap(g: GapReport): void {
    const n = g.toSeq - g.fromSeq;
    this.gapEvents += n;
    this.totals.lost += n;
    this.opts.metrics?.eventsLost(n);
    this.opts.log?.(`greenwave serve: events ${g.fromSeq}..${g.toSeq - 1} of ${g.locationId} were overwritten on the controller before they were collected (${n} lost)`);
    if (this.gaps.length < MAX_GAPS_LISTED) this.gaps.push(g);
  }

  /** Writes what is queued, batch after batch, until the queue is below one batch; resolves when done. */
  flush(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async drain(): Promise<void> {
    do {
      if (this.queue.length === 0) break;
      const batch = this.queue.length <= this.batchRows ? this.queue : this.queue.slice(0, this.batchRows);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.batchRows);
      try {
        await this.storage.insertEvents(this.actor, batch);
      } catch (e: unknown) {
        // Kept, in order, for the next flush: the producers see less room meanwhile.
        this.queue = batch.concat(this.queue);
        this.totals.failedFlushes++;
        this.opts.metrics?.eventFlushFailed();
        this.opts.log?.(`greenwave serve: could not store ${batch.length} events (kept for the next try): ${e instanceof Error ? e.message : String(e)}`);
        break;
      }
      const at = this.now();
      this.totals.stored += batch.length;
      this.totals.batches++;
      if (this.opts.metrics) {
        const lag = new Float64Array(batch.length);
        for (let k = 0; k < batch.length; k++) lag[k] = (at - batch[k]!.timestampMs) / 1000;
        this.opts.metrics.eventsStored(batch.length, lag);
      }
      this.opts.onCommitted?.(batch, at);
    } while (this.queue.length >= this.batchRows);
    await this.auditLosses();
  }

  /** One audit row per flush for gaps, one for overflow: the record says what it does not hold. */
  private async auditLosses(): Promise<void> {
    if (this.gaps.length > 0 || this.gapEvents > 0) {
      const gaps = this.gaps;
      const lost = this.gapEvents;
      this.gaps = [];
      this.gapEvents = 0;
      await this.storage.recordAudit(this.actor, 'events.gap', { lost, gaps, listed: gaps.length }).catch((e: unknown) => this.opts.log?.(`greenwave serve: could not audit an event gap: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (this.dropped > 0) {
      const dropped = this.dropped;
      this.dropped = 0;
      await this.storage.recordAudit(this.actor, 'events.overflow', { dropped, maxQueued: this.maxQueued }).catch((e: unknown) => this.opts.log?.(`greenwave serve: could not audit dropped events: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** Stops the timer and writes everything still queued (every batch, until a write fails); the storage stays open. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    if (this.writing) await this.writing;
    let before = -1;
    while (this.queue.length > 0 && this.queue.length !== before) {
      before = this.queue.length;
      await this.flush();
    }
    await this.flush();
  }
}
