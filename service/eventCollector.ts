/**
 * EventCollector: pulls every field controller's high-resolution event log over Modbus (the
 * register map's event FIFO, controllers-adapter/modbus/eventPoller.ts) and stores it
 * (./eventBatcher.ts → Storage.insertEvents), as ATSPM collects from field controllers.
 * Started by startServer (./server.ts) when the service has both controllers and a storage.
 *
 *  - One loop per controller, each on its own schedule (every `periodMs`, at once again
 *    while the controller still holds more): a slow or dead controller holds only its own
 *    loop. Requests time out, and the client's per-controller breaker fails fast while one
 *    stays dead; the collector uses its own Modbus client, so plan pushes and priority
 *    overrides (./fieldLink.ts) never wait behind event reads.
 *  - Backpressure: a loop reads no more windows than the batcher's queue has room for, so
 *    when the database falls behind the events wait on the controllers (up to their FIFO),
 *    not in memory; a controller that overwrote unread events shows a gap, which is counted,
 *    logged and audited.
 *  - A controller keeping no log (log id 0) is asked again only every NO_LOG_RECHECK_MS.
 *  - Restarts: each poll's cursor (log id, next sequence) is pushed with its events and
 *    committed in their transaction (./eventBatcher.ts), so at start every loop first reads
 *    its controller's stored cursor and goes on from there: the same log id continues where
 *    the stored events end (a gap if the controller overwrote records meanwhile), another
 *    log id means the controller restarted and reading starts at its oldest record. Until
 *    the cursors can be read, no controller is polled (starting from the oldest records
 *    would store events twice).
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { ControllerClient, type ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { EventLogPoller } from '../controllers-adapter/modbus/eventPoller.js';
import { EV_WINDOW_RECORDS } from '../controllers-adapter/registerMap.js';
import { EventBatcher, type EventBatcherOptions } from './eventBatcher.js';
import type { ControllerEvent, Storage, StoredEventCursor } from './storage/storage.js';

/** How often each controller is read, ms. */
export const DEFAULT_EVENT_POLL_MS = 1000;
/** Windows (23 events each) read per controller in one go before the others get a turn. */
const MAX_WINDOWS_PER_POLL = 64;
const NO_LOG_RECHECK_MS = 60_000;

export interface EventCollectorOptions extends EventBatcherOptions {
  readonly periodMs?: number;
  /** Modbus request timeout, ms (default 1000). */
  readonly timeoutMs?: number;
}

/** Per controller: what the last poll found. */
export interface CollectorUnitStatus {
  readonly unitId: number;
  readonly locationId: string;
  /** Events the controller held beyond what was read. */
  backlog: number;
  /** 0: no log; -1: never answered. */
  logId: number;
  failures: number;
  lastError: string | undefined;
  /**
   * The sequence this collector started at: the stored cursor it resumed from, else the oldest
   * record the controller held at first contact (or after its last restart).
   */
  firstSeq: number | undefined;
  /** The next sequence to collect (everything before it was stored or reported lost). */
  cursor: number | undefined;
}

export class EventCollector {
  readonly batcher: EventBatcher;
  private readonly client: ControllerClient;
  private readonly poller: EventLogPoller;
  private readonly units: CollectorUnitStatus[];
  private readonly loops: Promise<void>[] = [];
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The stored cursors by controller id, once read (one read shared by every loop). */
  private stored: Promise<Map<string, StoredEventCursor>> | undefined;

  constructor(
    c: CompiledNetwork,
    endpoints: readonly ControllerEndpoint[],
    private readonly storage: Storage,
    private readonly opts: EventCollectorOptions = {},
  ) {
    const timeoutMs = opts.timeoutMs ?? 1000;
    // Retries are the next poll's job; the breaker keeps a dead controller from costing a timeout every period.
    this.client = new ControllerClient(c, endpoints, { timeoutMs, connectTimeoutMs: timeoutMs, retries: 0, breakerCooldownMs: 5000 });
    this.poller = new EventLogPoller(this.client);
    this.batcher = new EventBatcher(storage, opts);
    this.units = endpoints.map((e) => ({ unitId: e.unitId, locationId: c.intersectionIds[e.intersection]!, backlog: 0, logId: -1, failures: 0, lastError: undefined, firstSeq: undefined, cursor: undefined }));
  }

  /** Starts one loop per controller. */
  start(): this {
    this.units.forEach((u, k) => this.loops.push(this.loop(u, k)));
    return this;
  }

  status(): readonly CollectorUnitStatus[] {
    return this.units;
  }

  /** Events the controllers hold that were not read yet (as of their last polls). */
  backlog(): number {
    let n = 0;
    for (const u of this.units) n += u.backlog;
    return n;
  }

  /** The stored cursors; a failed read is tried again by the next caller. */
  private storedCursors(): Promise<Map<string, StoredEventCursor>> {
    this.stored ??= this.storage.eventCursors().then(
      (rows) => new Map(rows.map((r) => [r.controllerId, r])),
      (e: unknown) => {
        this.stored = undefined;
        throw e;
      },
    );
    return this.stored;
  }

  /** Hands the poller unit `u`'s stored position, if any; false while the storage cannot say. */
  private async resume(u: CollectorUnitStatus): Promise<boolean> {
    try {
      const at = (await this.storedCursors()).get(u.locationId);
      if (at) this.poller.resume(u.unitId, at.logId, at.nextSeq);
      u.cursor = at?.nextSeq;
      u.firstSeq = at?.nextSeq;
      return true;
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      if (u.failures === 0) this.opts.log?.(`greenwave serve: cannot read where event collection stopped (unit ${u.unitId}, ${u.locationId}); not collecting until it can: ${message}`);
      u.failures++;
      u.lastError = message;
      return false;
    }
  }

  private async loop(u: CollectorUnitStatus, k: number): Promise<void> {
    const periodMs = this.opts.periodMs ?? DEFAULT_EVENT_POLL_MS;
    // Spread the first polls over one period, so that many controllers do not all ask at once.
    await this.sleep((periodMs * k) / Math.max(1, this.units.length));
    while (!this.closed && !(await this.resume(u))) await this.sleep(periodMs);
    let pushed = this.poller.position(u.unitId);
    while (!this.closed) {
      const t0 = Date.now();
      let again = false;
      try {
        const windows = Math.min(MAX_WINDOWS_PER_POLL, Math.floor(this.batcher.free() / EV_WINDOW_RECORDS));
        if (windows >= 1) {
          const before = this.poller.position(u.unitId);
          const p = await this.poller.poll(u.unitId, windows);
          if (u.failures > 0 || u.lastError !== undefined) this.opts.log?.(`greenwave serve: collecting events from unit ${u.unitId} (${u.locationId}) again`);
          u.failures = 0;
          u.lastError = undefined;
          u.logId = p.logId;
          u.backlog = p.backlog;
          u.cursor = this.poller.cursor(u.unitId);
          if (p.restarted) u.firstSeq = undefined;
          u.firstSeq ??= p.startSeq;
          if (p.restarted) {
            this.opts.log?.(`greenwave serve: the event log of unit ${u.unitId} (${u.locationId}) started again (controller restart): events since the last read before it are unknown`);
            if (before) this.batcher.restart({ controllerId: u.locationId, previousLogId: before.logId, previousNextSeq: before.cursor, logId: p.logId, oldestSeq: p.startSeq });
          }
          for (const g of p.gaps) this.batcher.gap({ locationId: u.locationId, fromSeq: g.fromSeq, toSeq: g.toSeq });
          const rows: ControllerEvent[] = new Array(p.events.length);
          for (let j = 0; j < p.events.length; j++) {
            const e = p.events[j]!;
            rows[j] = { locationId: u.locationId, timestampMs: e.timestampMs, eventCode: e.eventCode, eventParam: e.eventParam };
          }
          // The cursor goes with the events it follows, and only when it moved (or the log changed).
          const at = this.poller.position(u.unitId);
          const moved = at !== undefined && at.logId > 0 && (pushed === undefined || at.logId !== pushed.logId || at.cursor !== pushed.cursor);
          if (rows.length > 0 || moved) this.batcher.push(rows, moved ? { controllerId: u.locationId, logId: at.logId, nextSeq: at.cursor } : undefined);
          if (moved) pushed = at;
          again = p.backlog > 0 && p.windows >= windows;
        }
      } catch (e: unknown) {
        const message = e instanceof Error ? e.message : String(e);
        // One line when a controller stops answering, not one per period.
        if (u.failures === 0) this.opts.log?.(`greenwave serve: cannot collect events from unit ${u.unitId} (${u.locationId}): ${message}`);
        u.failures++;
        u.lastError = message;
      }
      if (this.closed) return;
      const waitMs = u.logId === 0 ? NO_LOG_RECHECK_MS : again ? 0 : Math.max(0, periodMs - (Date.now() - t0));
      await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeps.add(entry);
    });
  }

  /** Stops polling, writes what was collected, closes the Modbus connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const s of this.sleeps) {
        clearTimeout(s.timer);
        s.wake();
      }
      this.sleeps.clear();
      await this.client.close();
      await Promise.all(this.loops);
      await this.batcher.close();
    })();
    return this.closing;
  }
}
