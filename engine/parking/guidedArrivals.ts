/**
 * Guided arrivals: the spaces the service has already sent drivers to. Every
 * recommendation handed out is a car that will take a space at its expected
 * arrival, and the car park's own report shows it only once it has come in
 * (and the report has been sent). Without this, every driver asking in the
 * same minutes is sent to the same last few spaces (the herding that the
 * parking-search simulation, simulator/parkingSearch.ts, showed: full
 * compliance cruised more than no guidance at all).
 *
 * `GuidedArrivals` wraps the live OccupancySource (./source.ts) the
 * recommender reads: `record` books a recommendation (car park, expected
 * arrival); `predictFree` subtracts, from the prediction at an arrival time,
 * the booked cars expected at that car park after its latest report and no
 * later than that arrival time (one space each: a booked driver is assumed to
 * come, on time). A booking leaves the ledger once the car park has
 * reported after its expected arrival (the car is then in the count), or
 * `forgetAfterMs` after it (the driver went elsewhere). `state` is passed
 * through unchanged: what signs and apps show stays what was measured.
 *
 * A booking may carry a key and an owner (the gRPC service's Recommend with a
 * `vehicle_id`: key = client and vehicle, owner = client): booking the same key
 * again replaces the earlier booking instead of adding one (a re-asked or retried
 * request is idempotent), `take` removes one, and `liveOf` counts an owner's live
 * bookings for the service's per-client cap (service/governance.ts). Keyed
 * bookings leave the ledger by the same two rules.
 * Used by the simulation's guided drivers (anonymous `record`) and by the
 * service (service/parkingState.ts wraps its feed).
 */
import { OptionError } from '../errors.js';
import type { OccupancyState } from './schema.js';
import type { FreePrediction, FreePredictionOut, OccupancySource } from './source.js';

export interface GuidedArrivalsOptions {
  /** A booking not seen by then is dropped, ms after its expected arrival (default 10 min). */
  readonly forgetAfterMs?: number;
}

/** One booked arrival. `key` and `owner` are set for bookings made with `book`. */
export interface Booking {
  readonly carPark: number;
  readonly arrivalMs: number;
  /** When the ledger forgets it if no report has seen the car by then (arrival + forgetAfterMs). */
  readonly expiresMs: number;
  readonly key: string | undefined;
  readonly owner: string | undefined;
}

export class GuidedArrivals implements OccupancySource {
  /** Bookings per car park, in insertion order (not necessarily sorted by arrival). */
  private readonly booked: Booking[][];
  private readonly byKey = new Map<string, Booking>();
  /** Keyed bookings held per owner (some may be past their expiry until a sweep or prune drops them). */
  private readonly ownerCount = new Map<string, number>();
  /** How long past its expected arrival a booking no report has seen is kept, ms. */
  readonly forgetAfterMs: number;

  constructor(
    private readonly inner: OccupancySource,
    carParkCount: number,
    o: GuidedArrivalsOptions = {},
  ) {
    this.forgetAfterMs = o.forgetAfterMs ?? 600_000;
    if (!(this.forgetAfterMs >= 0)) throw new OptionError('options.forgetAfterMs', `must be >= 0, got ${this.forgetAfterMs}`);
    this.booked = Array.from({ length: carParkCount }, () => []);
  }

  /** Books a driver sent to car park k, expected there at `arrivalMs` (no key: never replaced). */
  record(carPark: number, arrivalMs: number): void {
    this.booked[carPark]!.push({ carPark, arrivalMs, expiresMs: arrivalMs + this.forgetAfterMs, key: undefined, owner: undefined });
  }

  /**
   * Books under `key` for `owner`: replaces the key's earlier booking (wherever it was), so the
   * same vehicle asking again holds one booking, not two. Returns the booking made.
   */
  book(key: string, owner: string, carPark: number, arrivalMs: number): Booking {
    this.take(key);
    const b: Booking = { carPark, arrivalMs, expiresMs: arrivalMs + this.forgetAfterMs, key, owner };
    this.booked[carPark]!.push(b);
    this.byKey.set(key, b);
    this.ownerCount.set(owner, (this.ownerCount.get(owner) ?? 0) + 1);
    return b;
  }

  /** Removes the booking held under `key` and returns it (undefined if none, or it already left the ledger). */
  take(key: string): Booking | undefined {
    const b = this.byKey.get(key);
    if (b === undefined) return undefined;
    const list = this.booked[b.carPark]!;
    const i = list.indexOf(b);
    if (i >= 0) list.splice(i, 1);
    this.forget(b);
    return b;
  }

  /** Puts back a booking `take` returned (its key must be free): undoes a take when the replacement failed. */
  restore(b: Booking): void {
    if (b.key === undefined || b.owner === undefined || this.byKey.has(b.key)) return;
    this.booked[b.carPark]!.push(b);
    this.byKey.set(b.key, b);
    this.ownerCount.set(b.owner, (this.ownerCount.get(b.owner) ?? 0) + 1);
  }

  /** The live booking under `key`, if any (not pruned: it may be past its expiry until the next read of its car park). */
  get(key: string): Booking | undefined {
    return this.byKey.get(key);
  }

  /**
   * Live keyed bookings of `owner` at `nowMs`. The count kept is exact only up to bookings
   * past their expiry that no read has pruned yet; with `exact`, every car park is swept
   * first (a scan of all bookings: the service does it only when an owner is at its cap).
   */
  liveOf(owner: string, nowMs: number, exact = false): number {
    if (exact) for (let k = 0; k < this.booked.length; k++) if (this.booked[k]!.length > 0) this.prune(k, nowMs, this.inner.state(k, nowMs).statusTimeMs);
    return this.ownerCount.get(owner) ?? 0;
  }

  /** Bookings held for car park k (after dropping those seen or forgotten as of `nowMs`). */
  pending(carPark: number, nowMs: number): number {
    return this.prune(carPark, nowMs, this.inner.state(carPark, nowMs).statusTimeMs);
  }

  state(carPark: number, nowMs: number): OccupancyState {
    return this.inner.state(carPark, nowMs);
  }

  status(carPark: number, nowMs: number): OccupancyState['status'] {
    return this.inner.status(carPark, nowMs);
  }

  predictFree(carPark: number, arrivalMs: number, nowMs: number): FreePrediction {
    const out = { expected: 0, p10: 0, p90: 0 };
    this.predictFreeInto(carPark, arrivalMs, nowMs, out);
    return out;
  }

  predictFreeInto(carPark: number, arrivalMs: number, nowMs: number, out: FreePredictionOut): void {
    this.inner.predictFreeInto(carPark, arrivalMs, nowMs, out);
    // Most car parks hold no booking: no second read of the state for them.
    if (this.booked[carPark]!.length === 0 || !Number.isFinite(out.expected)) return;
    const seenMs = this.inner.state(carPark, nowMs).statusTimeMs;
    this.prune(carPark, nowMs, seenMs);
    let ahead = 0;
    const list = this.booked[carPark]!;
    for (let i = 0; i < list.length; i++) if (list[i]!.arrivalMs <= arrivalMs) ahead++;
    if (ahead === 0) return;
    out.expected = Math.max(0, out.expected - ahead);
    out.p10 = Math.max(0, out.p10 - ahead);
    out.p90 = Math.max(0, out.p90 - ahead);
  }

  /** Drops bookings the car park's report at `seenMs` already counts, and stale ones; returns how many are left. */
  private prune(k: number, nowMs: number, seenMs: number): number {
    const list = this.booked[k]!;
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const b = list[r]!;
      if (b.arrivalMs <= seenMs || b.expiresMs < nowMs) {
        this.forget(b);
        continue;
      }
      list[w++] = b;
    }
    list.length = w;
    return w;
  }

  /** Drops a keyed booking from the key index and its owner's count (the car park's list is the caller's). */
  private forget(b: Booking): void {
    if (b.key === undefined || b.owner === undefined || this.byKey.get(b.key) !== b) return;
    this.byKey.delete(b.key);
    const n = (this.ownerCount.get(b.owner) ?? 1) - 1;
    if (n > 0) this.ownerCount.set(b.owner, n);
    else this.ownerCount.delete(b.owner);
  }
}
