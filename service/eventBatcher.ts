/**
 * The write path of collected controller events into the storage: a bounded queue, drained
 * in batched transactions (Storage.insertEvents: one transaction and one audit row per
 * batch) every `flushMs`, or at once while a full batch is waiting. One batch is in flight
 * at a time, so the database sees one writer and commits in arrival order.
 *
 * Bounded memory: at most `maxQueued` events wait. Producers ask `free()` first and take no
 * more than that (the EventCollector reads fewer windows, leaving events on the controller);
 * what still arrives over the bound is dropped, counted, and audited ('events.overflow') at
 * the next flush. A failed write keeps its batch at the head of the queue and is tried again
 * at the next flush.
 *
 * Progress rides with the events: a producer's cursor (where it stands in a controller's log),
 * the gaps it found (events a controller overwrote before central read them) and the logs it
 * found restarted (what the controller logged before it restarted, unread) are marks at
 * the queue position where they were pushed, and each is written in the transaction of the
 * batch that reaches that position (Storage.insertEvents' `progress`). So a cursor is never
 * stored ahead of the events before it, nor a gap left off the record once the cursor passed
 * it, whenever the process dies; a restarted collector resumes from the stored cursors.
 *
 * Used by the EventCollector (./eventCollector.ts) and by bench/events, which measures this
 * same path. Reports to the service's metrics (./metrics.ts EventMetrics).
 */
import type { Actor, ControllerEvent, EventCursor, EventLogRestart, Storage } from './storage/storage.js';

/** How often queued events are written, ms. */
export const EVENT_FLUSH_MS = 200;
/** Events per transaction, at most. */
export const EVENT_BATCH_ROWS = 20_000;
/** Events waiting at most; beyond, dropped and audited. */
export const MAX_QUEUED_EVENTS = 200_000;

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

/** Progress to commit with the batch that reaches queue position `pos`. */
interface Mark {
  /** Events queued (since start) when the mark was made. */
  readonly pos: number;
  readonly cursor?: EventCursor;
  readonly gap?: GapReport;
  readonly restart?: EventLogRestart;
}

export class EventBatcher {
  private queue: ControllerEvent[] = [];
  /** Events queued since start, and committed since start (the queue's head is at `committed`). */
  private pushed = 0;
  private committed = 0;
  private marks: Mark[] = [];
  private dropped = 0;
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

  /**
   * Queues events; those over the bound are dropped and counted (audited at the next flush).
   * `cursor`: where the producer stands after them, stored with the batch that holds the last of them.
   */
  push(events: readonly ControllerEvent[], cursor?: EventCursor): void {
    if (this.closed) return;
    const room = this.free();
    const take = Math.min(room, events.length);
    for (let k = 0; k < take; k++) this.queue.push(events[k]!);
    this.pushed += take;
    if (cursor) this.marks.push({ pos: this.pushed, cursor });
    const over = events.length - take;
    if (over > 0) {
      this.dropped += over;
      this.totals.dropped += over;
      this.opts.metrics?.eventsDropped(over);
    }
    // A full batch need not wait for the timer.
    if (this.queue.length >= this.batchRows && !this.writing) void this.flush();
  }

  /** A poller's gap: events [fromSeq, toSeq) of `locationId` were lost on the controller (audited with the next batch). */
  gap(g: GapReport): void {
    const n = g.toSeq - g.fromSeq;
    this.totals.lost += n;
    this.opts.metrics?.eventsLost(n);
    this.opts.log?.(`greenwave serve: events ${g.fromSeq}..${g.toSeq - 1} of ${g.locationId} were overwritten on the controller before they were collected (${n} lost)`);
    this.marks.push({ pos: this.pushed, gap: g });
  }

  /** A poller found a controller's log restarted (audited with the next batch). */
  restart(r: EventLogRestart): void {
    this.marks.push({ pos: this.pushed, restart: r });
  }

  /** Progress not yet committed (cursors, gaps and restarts waiting for their batch). */
  get pendingMarks(): number {
    return this.marks.length;
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
      const n = Math.min(this.queue.length, this.batchRows);
      const end = this.committed + n;
      // The marks this batch reaches; later ones (also those pushed during the write) wait.
      let m = 0;
      while (m < this.marks.length && this.marks[m]!.pos <= end) m++;
      if (n === 0 && m === 0) break;
      const batch = n === this.queue.length ? this.queue : this.queue.slice(0, n);
      this.queue = batch === this.queue ? [] : this.queue.slice(n);
      const cursors: EventCursor[] = [];
      const gaps: GapReport[] = [];
      const restarts: EventLogRestart[] = [];
      for (let k = 0; k < m; k++) {
        const mark = this.marks[k]!;
        if (mark.cursor) cursors.push(mark.cursor);
        if (mark.gap) gaps.push(mark.gap);
        if (mark.restart) restarts.push(mark.restart);
      }
      try {
        await this.storage.insertEvents(this.actor, batch, m > 0 ? { cursors, gaps, restarts } : undefined);
      } catch (e: unknown) {
        // Kept, in order, for the next flush (with their marks): the producers see less room meanwhile.
        this.queue = batch.concat(this.queue);
        this.totals.failedFlushes++;
        this.opts.metrics?.eventFlushFailed();
        this.opts.log?.(`greenwave serve: could not store ${batch.length} events (kept for the next try): ${e instanceof Error ? e.message : String(e)}`);
        break;
      }
      this.committed = end;
      this.marks.splice(0, m);
      const at = this.now();
      if (batch.length > 0) {
        this.totals.stored += batch.length;
        this.totals.batches++;
        if (this.opts.metrics) {
          const lag = new Float64Array(batch.length);
          for (let k = 0; k < batch.length; k++) lag[k] = (at - batch[k]!.timestampMs) / 1000;
          this.opts.metrics.eventsStored(batch.length, lag);
        }
        this.opts.onCommitted?.(batch, at);
      }
    } while (this.queue.length >= this.batchRows);
    await this.auditLosses();
  }

  /** One audit row per flush for overflow: the record says what it does not hold (gaps go with their batch). */
  private async auditLosses(): Promise<void> {
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
    while (this.queue.length + this.marks.length > 0 && this.queue.length + this.marks.length !== before) {
      before = this.queue.length + this.marks.length;
      await this.flush();
    }
    await this.flush();
  }
}
