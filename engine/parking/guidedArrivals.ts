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
 * Used by the simulation's guided drivers; the service can wrap its feed the
 * same way (not wired yet: docs/parking.md).
 */
import { OptionError } from '../errors.js';
import type { OccupancyState } from './schema.js';
import type { FreePrediction, OccupancySource } from './source.js';

export interface GuidedArrivalsOptions {
  /** A booking not seen by then is dropped, ms after its expected arrival (default 10 min). */
  readonly forgetAfterMs?: number;
}

export class GuidedArrivals implements OccupancySource {
  /** Expected arrival times booked per car park, ascending insertion (not necessarily sorted). */
  private readonly booked: number[][];
  private readonly forgetAfterMs: number;

  constructor(
    private readonly inner: OccupancySource,
    carParkCount: number,
    o: GuidedArrivalsOptions = {},
  ) {
    this.forgetAfterMs = o.forgetAfterMs ?? 600_000;
    if (!(this.forgetAfterMs >= 0)) throw new OptionError('options.forgetAfterMs', `must be >= 0, got ${this.forgetAfterMs}`);
    this.booked = Array.from({ length: carParkCount }, () => []);
  }

  /** Books a driver sent to car park k, expected there at `arrivalMs`. */
  record(carPark: number, arrivalMs: number): void {
    this.booked[carPark]!.push(arrivalMs);
  }

  /** Bookings held for car park k (after dropping those seen or forgotten as of `nowMs`). */
  pending(carPark: number, nowMs: number): number {
    return this.prune(carPark, nowMs, this.inner.state(carPark, nowMs).statusTimeMs);
  }

  state(carPark: number, nowMs: number): OccupancyState {
    return this.inner.state(carPark, nowMs);
  }

  predictFree(carPark: number, arrivalMs: number, nowMs: number): FreePrediction {
    const pred = this.inner.predictFree(carPark, arrivalMs, nowMs);
    if (!Number.isFinite(pred.expected)) return pred;
    const seenMs = this.inner.state(carPark, nowMs).statusTimeMs;
    this.prune(carPark, nowMs, seenMs);
    let ahead = 0;
    for (const a of this.booked[carPark]!) if (a <= arrivalMs) ahead++;
    if (ahead === 0) return pred;
    return { expected: Math.max(0, pred.expected - ahead), p10: Math.max(0, pred.p10 - ahead), p90: Math.max(0, pred.p90 - ahead) };
  }

  /** Drops bookings the car park's report at `seenMs` already counts, and stale ones; returns how many are left. */
  private prune(k: number, nowMs: number, seenMs: number): number {
    const list = this.booked[k]!;
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const a = list[r]!;
      if (a <= seenMs || a + this.forgetAfterMs < nowMs) continue;
      list[w++] = a;
    }
    list.length = w;
    return w;
  }
}
