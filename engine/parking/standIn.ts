/**
 * STAND-IN occupancy source: a table of occupied spaces filled directly
 * (absolute reports, or a test setting it), with naive persistence as its
 * prediction. It exists so that the recommender, the gRPC service, the sign
 * registers and the benchmark can run before the real OccupancyTracker and
 * predictor (engine/parking/occupancy*.ts, predict*.ts) are merged; wiring
 * those in replaces `new TableOccupancySource(...)` in service/parkingService.ts
 * and nothing else. Kept deliberately simple:
 *  - a report clamps to 0..capacity (no drift reconciliation, no gate counts);
 *  - no report for `staleAfterMs` (default 10 min), or none yet: `unknown`;
 *  - outside opening hours: `closed`; no vacant space: `full`;
 *  - prediction = the current free spaces (persistence), with a band that widens with the
 *    horizon (± `bandPerHour` × capacity per hour, default 10 %), clamped to 0..capacity.
 */
import type { OccupancyState, OccupancyTrend } from './schema.js';
import { isOpenAt, type CompiledParking } from './load.js';
import type { FreePrediction, FreePredictionOut, OccupancyFeed } from './source.js';

export interface TableSourceOptions {
  readonly staleAfterMs?: number;
  /** Half-width of the 10–90 % band per hour of horizon, as a share of capacity. */
  readonly bandPerHour?: number;
}

export class TableOccupancySource implements OccupancyFeed {
  readonly occupied: Float64Array;
  readonly reportMs: Float64Array;
  private readonly previous: Float64Array;
  private readonly staleAfterMs: number;
  private readonly bandPerHour: number;
  revision = 0;

  constructor(
    private readonly p: CompiledParking,
    o: TableSourceOptions = {},
  ) {
    this.occupied = new Float64Array(p.carParkCount).fill(Number.NaN);
    this.previous = new Float64Array(p.carParkCount).fill(Number.NaN);
    this.reportMs = new Float64Array(p.carParkCount).fill(Number.NEGATIVE_INFINITY);
    this.staleAfterMs = o.staleAfterMs ?? 600_000;
    this.bandPerHour = o.bandPerHour ?? 0.1;
  }

  report(k: number, occupied: number, atMs: number): void {
    if (atMs < this.reportMs[k]!) return; // an older report than the one held changes nothing
    this.previous[k] = this.occupied[k]!;
    this.occupied[k] = Math.min(this.p.capacity[k]!, Math.max(0, Math.round(occupied)));
    this.reportMs[k] = atMs;
    this.revision++;
  }

  private stale(k: number, nowMs: number): boolean {
    return !(nowMs - this.reportMs[k]! <= this.staleAfterMs) || Number.isNaN(this.occupied[k]!);
  }

  status(k: number, nowMs: number): OccupancyState['status'] {
    return this.state(k, nowMs).status;
  }

  state(k: number, nowMs: number): OccupancyState {
    const capacity = this.p.capacity[k]!;
    const carParkId = this.p.carParkIds[k]!;
    const statusTimeMs = Number.isFinite(this.reportMs[k]!) ? this.reportMs[k]! : 0;
    if (!isOpenAt(this.p, k, nowMs)) return { carParkId, capacity, occupied: Number.NaN, vacant: Number.NaN, occupancyPct: Number.NaN, trend: 'unknown', status: 'closed', statusTimeMs };
    if (this.stale(k, nowMs)) return { carParkId, capacity, occupied: Number.NaN, vacant: Number.NaN, occupancyPct: Number.NaN, trend: 'unknown', status: 'unknown', statusTimeMs };
    const occupied = this.occupied[k]!;
    const before = this.previous[k]!;
    const trend: OccupancyTrend = Number.isNaN(before) ? 'unknown' : occupied > before ? 'increasing' : occupied < before ? 'decreasing' : 'stable';
    return { carParkId, capacity, occupied, vacant: capacity - occupied, occupancyPct: (100 * occupied) / capacity, trend, status: occupied >= capacity ? 'full' : 'open', statusTimeMs };
  }

  predictFree(k: number, arrivalMs: number, nowMs: number): FreePrediction {
    const out = { expected: 0, p10: 0, p90: 0 };
    this.predictFreeInto(k, arrivalMs, nowMs, out);
    return out;
  }

  predictFreeInto(k: number, arrivalMs: number, nowMs: number, out: FreePredictionOut): void {
    const capacity = this.p.capacity[k]!;
    if (this.stale(k, nowMs)) {
      out.expected = Number.NaN;
      out.p10 = Number.NaN;
      out.p90 = Number.NaN;
      return;
    }
    const free = capacity - this.occupied[k]!;
    const half = (this.bandPerHour * capacity * Math.max(0, arrivalMs - nowMs)) / 3_600_000;
    out.expected = free;
    out.p10 = Math.max(0, free - half);
    out.p90 = Math.min(capacity, free + half);
  }
}
