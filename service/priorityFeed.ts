/**
 * The bus priority decisions as they are made, for watchers that are not the
 * gRPC path: the operator console's bus priority page (web/server/priorityApi.ts).
 * BusPriorityService (./priorityService.ts) records each decision and each
 * cancellation here; startServer (./server.ts) makes one and hands it to both.
 *
 * The gRPC path must not feel a watcher, however slow: recording writes one
 * small object into a fixed ring (the last RING_SIZE events) and, when someone
 * watches, schedules one flush FLUSH_MS later; the flush (serialising, writing
 * to sockets) runs after the call has answered, and batches what came in the
 * meantime, so a burst of decisions costs a watcher a few writes a second, not
 * one per decision. A watcher that falls more than
 * the ring behind gets a `gap` (how many it missed) instead of the events, and
 * may read the snapshot again. Nothing else is kept: the open requests come
 * from the TSP controller itself (engine/priority/tsp.ts), with the route, class
 * and lateness of the latest event in the ring that matches.
 */
import type { TspDecision } from '../engine/priority/tsp.js';
import type { ServiceState } from './state.js';

/** How many recent events are kept (and the most a watcher may fall behind). */
export const RING_SIZE = 256;
/** At most this many watchers at once (each is an open console page). */
export const MAX_WATCHERS = 32;
/** How long after an event the watchers are told (with whatever else came meanwhile), ms. */
export const FLUSH_MS = 100;

export type PriorityClassName = 'other' | 'bus' | 'emergency';

export interface PriorityEvent {
  /** 1, 2, … in the order recorded. */
  readonly seq: number;
  readonly kind: 'request' | 'update' | 'cancel';
  /** The service's clock when recorded, ms since 1970. */
  readonly atMs: number;
  /** The client that made or cancelled the request. */
  readonly client: string;
  readonly vehicleId: string;
  readonly intersectionId: string;
  readonly routeId: string;
  readonly tripId: string;
  readonly priorityClass: PriorityClassName | '';
  /** Seconds behind schedule (negative: early); NaN for a cancellation. */
  readonly latenessS: number;
  /** Expected arrival at the stop line, ms since 1970; NaN for a cancellation. */
  readonly arrivalMs: number;
  readonly granted: boolean;
  /** The engine's names (engine/priority/tsp.ts Strategy, Reason); '' for a cancellation. */
  readonly strategy: TspDecision['strategy'] | '';
  readonly reason: TspDecision['reason'] | 'cancelled' | 'withdrawn';
  readonly detail: string;
  readonly adjustmentS: number;
  readonly savedS: number;
}

export interface OpenPriorityRequest {
  readonly vehicleId: string;
  readonly intersectionId: string;
  readonly client: string;
  readonly arrivalMs: number;
  readonly granted: boolean;
  readonly strategy: TspDecision['strategy'];
  readonly reason: TspDecision['reason'];
  /** From the latest matching event still in the ring ('' / NaN when it has left it). */
  readonly routeId: string;
  readonly priorityClass: PriorityClassName | '';
  readonly latenessS: number;
}

/** What a watcher is given at each flush: the new events in order, or how many it missed. */
export type PriorityWatcher = (events: readonly PriorityEvent[], missed: number) => void;

const CLASS_NAME: Readonly<Record<number, PriorityClassName>> = { 1: 'other', 2: 'bus', 3: 'emergency' };

interface Watch {
  readonly on: PriorityWatcher;
  /** The last seq delivered. */
  cursor: number;
}

export class PriorityFeed {
  private readonly ring: (PriorityEvent | undefined)[] = new Array(RING_SIZE).fill(undefined);
  private seq = 0;
  private readonly watchers = new Set<Watch>();
  private flushing = false;
  /** Events that watchers missed by falling more than the ring behind, summed over watchers. */
  missed = 0;

  constructor(private readonly clockMs: () => number) {}

  get lastSeq(): number {
    return this.seq;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** A decision of RequestPriority / UpdatePriority (or a GTFS-realtime check-in). */
  decided(
    kind: 'request' | 'update',
    client: string,
    req: { readonly vehicleId: string; readonly routeId: string; readonly tripId: string; readonly priorityClass: number; readonly latenessS: number; readonly arrivalS: number },
    intersectionId: string,
    d: TspDecision,
  ): void {
    this.push({
      seq: ++this.seq,
      kind,
      atMs: this.clockMs(),
      client,
      vehicleId: req.vehicleId,
      intersectionId,
      routeId: req.routeId,
      tripId: req.tripId,
      priorityClass: CLASS_NAME[req.priorityClass] ?? '',
      latenessS: req.latenessS,
      arrivalMs: Math.round(req.arrivalS * 1000),
      granted: d.granted,
      strategy: d.strategy,
      reason: d.reason,
      detail: d.detail,
      adjustmentS: d.adjustmentS,
      savedS: d.savedS,
    });
  }

  /** A CancelPriority (check-out); `withdrawn` when a grant still ahead was taken back. */
  cancelled(client: string, vehicleId: string, intersectionId: string, withdrawn: boolean): void {
    this.push({
      seq: ++this.seq,
      kind: 'cancel',
      atMs: this.clockMs(),
      client,
      vehicleId,
      intersectionId,
      routeId: '',
      tripId: '',
      priorityClass: '',
      latenessS: Number.NaN,
      arrivalMs: Number.NaN,
      granted: false,
      strategy: '',
      reason: withdrawn ? 'withdrawn' : 'cancelled',
      detail: '',
      adjustmentS: 0,
      savedS: 0,
    });
  }

  /** The events still in the ring, oldest first (at most `limit`, the newest ones). */
  recent(limit = RING_SIZE): PriorityEvent[] {
    const out: PriorityEvent[] = [];
    const from = Math.max(1, this.seq - Math.min(limit, RING_SIZE) + 1);
    for (let s = from; s <= this.seq; s++) {
      const e = this.ring[s % RING_SIZE];
      if (e && e.seq === s) out.push(e);
    }
    return out;
  }

  /** The requests open now in the TSP controller, soonest arrival first (at most `limit`). */
  open(state: ServiceState, limit: number): OpenPriorityRequest[] {
    const latest = new Map<string, PriorityEvent>();
    for (const e of this.recent()) if (e.kind !== 'cancel') latest.set(`${e.vehicleId}\u0000${e.intersectionId}`, e);
    const out: OpenPriorityRequest[] = [];
    for (const o of state.tsp.openRequests()) {
      const intersectionId = state.c.intersectionIds[o.intersection] ?? String(o.intersection);
      const e = latest.get(`${o.vehicleId}\u0000${intersectionId}`);
      out.push({
        vehicleId: o.vehicleId,
        intersectionId,
        client: o.owner,
        arrivalMs: Math.round(o.arrivalS * 1000),
        granted: o.decision.granted,
        strategy: o.decision.strategy,
        reason: o.decision.reason,
        routeId: e?.routeId ?? '',
        priorityClass: e?.priorityClass ?? '',
        latenessS: e?.latenessS ?? Number.NaN,
      });
    }
    out.sort((a, b) => a.arrivalMs - b.arrivalMs);
    return out.slice(0, limit);
  }

  /**
   * Calls `on` with every event after `afterSeq` (later flushes: after the last delivered), FLUSH_MS
   * after the first of them and off the recording call's stack. Returns the function that stops it, or undefined when MAX_WATCHERS watch already.
   */
  watch(on: PriorityWatcher, afterSeq = this.seq): (() => void) | undefined {
    if (this.watchers.size >= MAX_WATCHERS) return undefined;
    const w: Watch = { on, cursor: Math.min(afterSeq, this.seq) };
    this.watchers.add(w);
    if (w.cursor < this.seq) this.schedule();
    return () => {
      this.watchers.delete(w);
    };
  }

  private push(e: PriorityEvent): void {
    this.ring[e.seq % RING_SIZE] = e;
    if (this.watchers.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushing = false;
    for (const w of this.watchers) {
      if (w.cursor >= this.seq) continue;
      const behind = this.seq - w.cursor;
      const missed = Math.max(0, behind - RING_SIZE);
      this.missed += missed;
      const events = this.recent(behind);
      w.cursor = this.seq;
      try {
        w.on(events, missed);
      } catch {
        // A watcher that throws is dropped: it never reaches the service.
        this.watchers.delete(w);
      }
    }
  }
}
