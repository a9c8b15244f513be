/**
 * Resource governance of the gRPC service (server.ts calls it on every call):
 * how many calls and streams run at once, in all and per client; a budget of
 * its own for unauthenticated health watches and one for reflection streams,
 * so they can never starve the authenticated streams; caps on open priority
 * requests per client and in all, and on live parking bookings (Recommend with a
 * vehicle_id) per client;
 * the checks of a WatchSignalState request (ids de-duplicated, at most the
 * network's size; the shortest interval); and `pacedStream`, which writes a
 * server stream only as fast as its client reads it.
 *
 * Every refusal is a StatusError (RESOURCE_EXHAUSTED, or INVALID_ARGUMENT for a
 * request that asks too much) whose message names the limit, as ServeOptions
 * and docs/grpc.md spell it, so an operator knows which knob to turn.
 */
import { status } from '@grpc/grpc-js';
import { StatusError } from './errors.js';
import type { TspController } from '../engine/priority/tsp.js';
import type { GuidedArrivals } from '../engine/parking/guidedArrivals.js';
import { OptionError } from '../engine/errors.js';

export interface GovernanceLimits {
  /** Unary calls and stream messages being handled at once, all clients. */
  readonly maxInFlight: number;
  /** The same, per client (token identity). */
  readonly maxCallsPerClient: number;
  /** Authenticated streams open, all clients. */
  readonly maxStreams: number;
  /** Authenticated streams open per client. */
  readonly maxStreamsPerClient: number;
  /** Unauthenticated grpc.health.v1.Health/Watch streams: a budget apart from maxStreams. */
  readonly maxHealthWatches: number;
  /** Unauthenticated server-reflection streams (grpcurl, Postman, …): a budget apart from maxStreams. */
  readonly maxReflectionStreams: number;
  /** Open priority requests (vehicle × intersection) one client may hold. */
  readonly maxOpenRequestsPerClient: number;
  /** Open priority requests in all. */
  readonly maxOpenRequests: number;
  /** Live parking bookings (Recommend with a vehicle_id, engine/parking/guidedArrivals.ts) one client may hold. */
  readonly maxBookingsPerClient: number;
  /** Shortest WatchSignalState interval_s a client may ask for; shorter is INVALID_ARGUMENT. */
  readonly minWatchIntervalS: number;
  /** Distinct Replan intervals computing at once (concurrent Replans of one interval share one computation). */
  readonly maxPendingReplans: number;
}

export const DEFAULT_GOVERNANCE: GovernanceLimits = {
  maxInFlight: 1024,
  maxCallsPerClient: 512,
  maxStreams: 4096,
  maxStreamsPerClient: 1024,
  maxHealthWatches: 4096,
  maxReflectionStreams: 256,
  maxOpenRequestsPerClient: 5000,
  maxOpenRequests: 20_000,
  maxBookingsPerClient: 5000,
  minWatchIntervalS: 0.1,
  maxPendingReplans: 4,
};

export function governanceLimits(partial: Partial<GovernanceLimits> = {}): GovernanceLimits {
  const out = { ...DEFAULT_GOVERNANCE, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new OptionError('governance', `limit ${k} must be a positive finite number, got ${String(v)}`);
  }
  return out;
}

const exhausted = (msg: string): StatusError => new StatusError(status.RESOURCE_EXHAUSTED, msg);
const invalid = (path: string, msg: string): StatusError => new StatusError(status.INVALID_ARGUMENT, `${path}: ${msg}`);

/** Releases what an enter* took; calling it again does nothing. */
export type Release = () => void;

export class Governor {
  private inFlight = 0;
  private readonly callsOf = new Map<string, number>();
  private streamCount = 0;
  private readonly streamsOf = new Map<string, number>();
  private healthWatches = 0;
  private reflectionStreams = 0;

  constructor(readonly limits: GovernanceLimits) {}

  /** Before authentication: sheds load without looking at the caller. */
  checkInFlight(): void {
    if (this.inFlight >= this.limits.maxInFlight) throw exhausted(`more than ${this.limits.maxInFlight} calls in flight (limit maxInFlight)`);
  }

  /** A call (or a stream message) of an authenticated client starts. */
  enterCall(client: string): Release {
    this.checkInFlight();
    const mine = this.callsOf.get(client) ?? 0;
    if (mine >= this.limits.maxCallsPerClient) throw exhausted(`client "${client}" has ${mine} calls in flight (limit maxCallsPerClient ${this.limits.maxCallsPerClient})`);
    this.inFlight++;
    this.callsOf.set(client, mine + 1);
    return once(() => {
      this.inFlight--;
      dec(this.callsOf, client);
    });
  }

  /** Before authentication: no more streams fit in all. */
  checkStreams(): void {
    if (this.streamCount >= this.limits.maxStreams) throw exhausted(`more than ${this.limits.maxStreams} streams open (limit maxStreams)`);
  }

  enterStream(client: string): Release {
    this.checkStreams();
    const mine = this.streamsOf.get(client) ?? 0;
    if (mine >= this.limits.maxStreamsPerClient) throw exhausted(`client "${client}" has ${mine} streams open (limit maxStreamsPerClient ${this.limits.maxStreamsPerClient})`);
    this.streamCount++;
    this.streamsOf.set(client, mine + 1);
    return once(() => {
      this.streamCount--;
      dec(this.streamsOf, client);
    });
  }

  enterHealthWatch(): Release {
    if (this.healthWatches >= this.limits.maxHealthWatches) throw exhausted(`more than ${this.limits.maxHealthWatches} health watches open (limit maxHealthWatches)`);
    this.healthWatches++;
    return once(() => {
      this.healthWatches--;
    });
  }

  enterReflection(): Release {
    if (this.reflectionStreams >= this.limits.maxReflectionStreams) throw exhausted(`more than ${this.limits.maxReflectionStreams} reflection streams open (limit maxReflectionStreams)`);
    this.reflectionStreams++;
    return once(() => {
      this.reflectionStreams--;
    });
  }

  /** A request for a vehicle and intersection with nothing open yet: may this client open one more? */
  checkNewOpenRequest(tsp: TspController, client: string): void {
    const mine = tsp.openCountOf(client);
    if (mine >= this.limits.maxOpenRequestsPerClient) throw exhausted(`client "${client}" has ${mine} open priority requests (limit maxOpenRequestsPerClient ${this.limits.maxOpenRequestsPerClient}); cancel some first`);
    if (tsp.openCount >= this.limits.maxOpenRequests) throw exhausted(`${tsp.openCount} open priority requests in all (limit maxOpenRequests ${this.limits.maxOpenRequests})`);
  }

  /**
   * A Recommend that would book a vehicle with no booking yet: may this client hold one more?
   * The ledger's count may still hold expired bookings nobody has read since; at the cap it is
   * swept (every car park) before refusing.
   */
  checkNewBooking(arrivals: GuidedArrivals, client: string, nowMs: number): void {
    const cap = this.limits.maxBookingsPerClient;
    if (arrivals.liveOf(client, nowMs) < cap) return;
    const mine = arrivals.liveOf(client, nowMs, true);
    if (mine >= cap) throw exhausted(`client "${client}" has ${mine} live parking bookings (limit maxBookingsPerClient ${cap}); each ends when its car park reports after the arrival, or ${arrivals.forgetAfterMs / 60_000} minutes past it`);
  }

  stats(): { inFlight: number; streams: number; healthWatches: number; reflectionStreams: number } {
    return { inFlight: this.inFlight, streams: this.streamCount, healthWatches: this.healthWatches, reflectionStreams: this.reflectionStreams };
  }
}

function once(f: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 1) - 1;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}

/**
 * WatchSignalState's request (and WatchOccupancy's, with `field`): intersection ids de-duplicated (first occurrence order),
 * at most the network's size; an interval of 0 means 1 s, otherwise between
 * `minWatchIntervalS` and 60 s. `lookup` turns an id into its index (NOT_FOUND otherwise);
 * it runs only after the size check, so an oversized request costs no lookups.
 */
export function parseWatchRequest(
  r: Record<string, unknown>,
  networkSize: number,
  limits: GovernanceLimits,
  lookup: (id: string, path: string) => number,
  /** The request's id field and what bounds it (WatchOccupancy: car_park_ids, the number of car parks). */
  field: { readonly name: string; readonly size: string } = { name: 'intersection_ids', size: "the network's size" },
): { ids: number[]; periodMs: number } {
  const raw = r[field.name];
  const names = Array.isArray(raw) ? (raw as unknown[]).map(String) : [];
  if (names.length > networkSize) throw invalid(field.name, `${names.length} ids given; at most ${networkSize} (${field.size})`);
  const iv = typeof r['interval_s'] === 'number' ? r['interval_s'] : Number(r['interval_s'] ?? 0);
  if (!Number.isFinite(iv) || (iv !== 0 && (iv < limits.minWatchIntervalS - 1e-9 || iv > 60))) throw invalid('interval_s', `must be 0 (1 s) or between ${limits.minWatchIntervalS} (limit minWatchIntervalS) and 60`);
  let ids: number[];
  if (names.length === 0) ids = Array.from({ length: networkSize }, (_, i) => i);
  else {
    const seen = new Set<number>();
    ids = [];
    names.forEach((id, k) => {
      const i = lookup(id, `${field.name}[${k}]`);
      if (!seen.has(i)) {
        seen.add(i);
        ids.push(i);
      }
    });
  }
  return { ids, periodMs: (iv === 0 ? 1 : iv) * 1000 };
}

/** What paced streams did; for tests and metrics. */
export interface PacingStats {
  /** Ticks not written because the client had not read the previous ones. */
  skippedTicks: number;
  /** Rounds written on 'drain' (the latest state, after a skip). */
  catchUps: number;
}

export interface PacedStream {
  write(chunk: unknown): boolean;
  on(event: 'drain' | 'cancelled' | 'close' | 'finish' | 'error', f: () => void): unknown;
  readonly cancelled: boolean;
  readonly destroyed: boolean;
}

/**
 * Writes `render()` (one round of messages) every `periodMs`, but never more than the
 * client reads: once write() says the stream is full, ticks only mark the state stale,
 * and on 'drain' one fresh round (the latest state) goes out. A client that never reads
 * holds at most one round plus the stream's HTTP/2 window, however long it stays.
 */
export function pacedStream(call: PacedStream, periodMs: number, render: () => unknown[], stats: PacingStats): void {
  let blocked = false;
  let stale = false;
  const send = (): void => {
    if (call.cancelled || call.destroyed) return;
    let ok = true;
    for (const m of render()) ok = call.write(m) && ok;
    blocked = !ok;
  };
  const tick = (): void => {
    if (blocked) {
      stale = true;
      stats.skippedTicks++;
      return;
    }
    send();
  };
  call.on('drain', () => {
    blocked = false;
    if (stale) {
      stale = false;
      stats.catchUps++;
      send();
    }
  });
  send();
  const timer = setInterval(tick, periodMs);
  const stop = (): void => clearInterval(timer);
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('finish', stop);
  call.on('error', stop);
}
