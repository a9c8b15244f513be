/**
 * Live occupancy of a parking file's car parks from the two kinds of input a
 * city platform gets (GA/T 1302's lower tier reporting to the upper): gate
 * counts of entries and exits over an interval (loop or barrier detectors, the
 * Modbus detector polls) and absolute reports from car-park systems (occupied
 * or vacant spaces at a time; the gRPC ReportOccupancy stream calls
 * `report`). Produces DATEX II-style states (schema.ts OccupancyState) for the
 * sign messages (./signs.ts), the predictor's samples (./predict.ts) and the
 * service's WatchOccupancy.
 *
 * Rules (docs/parking.md, "Occupancy"): counts move the estimate, an absolute
 * report resets it (the report wins; counts after the report's time are added
 * on top), and the estimate is clamped to 0…capacity. Each reset that moved a
 * count-propagated estimate, and each clamp, is a correction in a bounded log.
 * No input for `staleAfterMin` is `unknown`, never full or empty; outside the
 * opening hours a car park is `closed`. Implausible input is refused whole with
 * a ValidationError naming the field, and changes nothing.
 * Per car park state lives in typed arrays indexed by the car park's position
 * in the file (`indexOf`), as hot code elsewhere in the engine does.
 */
import { GreenwaveError, ErrorCode, IssueList, OptionError } from '../errors.js';
import { compileOpeningHours, isOpenAt, type CompiledHours } from './occupancyHours.js';
import { capacityOf, type OccupancyState, type OccupancyTrend, type ParkingFile, type ParkingSiteStatus } from './schema.js';

export interface OccupancyTrackerOptions {
  /** No count or report for this long: status `unknown`. Default 10. */
  readonly staleAfterMin?: number;
  /** A report may exceed capacity by this fraction of it (at least `overCapacityMinSpaces`) and is clamped; beyond, refused. Default 0.05. */
  readonly overCapacityFraction?: number;
  readonly overCapacityMinSpaces?: number;
  /** Input stamped later than the clock plus this is refused. Default 5 min. */
  readonly futureToleranceMs?: number;
  /** Corrections kept for the caller to read; older ones are dropped (counted in `droppedCorrections`). Default 1000. */
  readonly correctionLogSize?: number;
  /** Window of the slope behind `trend`. Default 15 min. */
  readonly trendWindowMin?: number;
  /** Status `full` at this many vacant spaces or fewer. Default 0. */
  readonly fullAtVacant?: number;
  /** The clock staleness and the future check use. Default Date.now. */
  readonly clock?: () => number;
}

/** Entries and exits counted over [fromMs, toMs). */
export interface GateCounts {
  readonly fromMs: number;
  readonly toMs: number;
  readonly entries: number;
  readonly exits: number;
}

/** An absolute report from a car-park system: exactly one of occupied and vacant. */
export interface OccupancyReport {
  readonly timeMs: number;
  readonly occupied?: number;
  readonly vacant?: number;
}

export type CorrectionKind = 'report' | 'clampHigh' | 'clampLow';

export interface OccupancyCorrection {
  /** Increasing from 1; read the log incrementally with `corrections(lastSeenSeq)`. */
  readonly seq: number;
  readonly carParkId: string;
  /** The report's time (kind 'report') or the end of the count interval or report that was clamped. */
  readonly tMs: number;
  readonly kind: CorrectionKind;
  readonly beforeOccupied: number;
  readonly afterOccupied: number;
  /** afterOccupied - beforeOccupied, spaces. */
  readonly deltaSpaces: number;
}

/** Count intervals kept per car park, so that a report stamped before counts already applied still wins at its time. */
const COUNT_RING = 32;
/** Occupancy samples kept per car park for the trend. */
const TREND_RING = 16;

export class OccupancyTracker {
  readonly ids: readonly string[];
  readonly capacity: Float64Array;
  private readonly index = new Map<string, number>();
  private readonly hours: readonly CompiledHours[];
  private readonly utcOffsetMin: number;
  private readonly staleMs: number;
  private readonly overFraction: number;
  private readonly overMin: number;
  private readonly futureMs: number;
  private readonly logSize: number;
  private readonly trendMs: number;
  private readonly fullAtVacant: number;
  private readonly clock: () => number;

  /** The estimate (fractional: counts after a report are prorated), NaN while unknown. */
  private readonly occ: Float64Array;
  /** The time the estimate refers to: the latest report time or count end; NaN before any. */
  private readonly asOfMs: Float64Array;
  private readonly lastReportMs: Float64Array;
  private readonly lastCountToMs: Float64Array;
  /** 1 when counts moved the estimate since the last report (only then is a report's difference drift). */
  private readonly countedSinceReport: Uint8Array;
  private readonly ringFrom: Float64Array;
  private readonly ringTo: Float64Array;
  private readonly ringNet: Float64Array;
  private readonly ringSize: Int32Array;
  private readonly ringHead: Int32Array;
  /** End of the newest count interval dropped from the ring: a report older than it cannot be placed. */
  private readonly ringDroppedToMs: Float64Array;
  private readonly trendT: Float64Array;
  private readonly trendV: Float64Array;
  private readonly trendSize: Int32Array;
  private readonly trendHead: Int32Array;

  private readonly log: OccupancyCorrection[] = [];
  private nextSeq = 1;
  /** Corrections dropped from the bounded log before anyone read them out. */
  droppedCorrections = 0;

  constructor(file: ParkingFile, options: OccupancyTrackerOptions = {}) {
    const staleAfterMin = options.staleAfterMin ?? 10;
    if (!(staleAfterMin > 0)) throw new OptionError('options.staleAfterMin', `must be > 0, got ${staleAfterMin}`);
    this.staleMs = staleAfterMin * 60_000;
    this.overFraction = options.overCapacityFraction ?? 0.05;
    this.overMin = options.overCapacityMinSpaces ?? 5;
    this.futureMs = options.futureToleranceMs ?? 5 * 60_000;
    this.logSize = Math.max(1, options.correctionLogSize ?? 1000);
    this.trendMs = (options.trendWindowMin ?? 15) * 60_000;
    this.fullAtVacant = options.fullAtVacant ?? 0;
    this.clock = options.clock ?? Date.now;
    this.utcOffsetMin = file.utcOffsetMin;
    const n = file.carParks.length;
    this.ids = file.carParks.map((p) => p.id);
    this.ids.forEach((id, i) => this.index.set(id, i));
    this.capacity = Float64Array.from(file.carParks, capacityOf);
    this.hours = file.carParks.map((p) => compileOpeningHours(p.openingHours));
    this.occ = new Float64Array(n).fill(Number.NaN);
    this.asOfMs = new Float64Array(n).fill(Number.NaN);
    this.lastReportMs = new Float64Array(n).fill(Number.NaN);
    this.lastCountToMs = new Float64Array(n).fill(Number.NaN);
    this.countedSinceReport = new Uint8Array(n);
    this.ringFrom = new Float64Array(n * COUNT_RING);
    this.ringTo = new Float64Array(n * COUNT_RING);
    this.ringNet = new Float64Array(n * COUNT_RING);
    this.ringSize = new Int32Array(n);
    this.ringHead = new Int32Array(n);
    this.ringDroppedToMs = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.trendT = new Float64Array(n * TREND_RING);
    this.trendV = new Float64Array(n * TREND_RING);
    this.trendSize = new Int32Array(n);
    this.trendHead = new Int32Array(n);
  }

  /** Dense index of a car park; NOT_FOUND for an id the file does not have. */
  indexOf(carParkId: string): number {
    const i = this.index.get(carParkId);
    if (i === undefined) throw new GreenwaveError(ErrorCode.NotFound, `no car park "${carParkId}"`, [{ path: 'carParkId', message: `unknown car park "${carParkId}"` }]);
    return i;
  }

  private resolve(carPark: number | string): number {
    if (typeof carPark === 'string') return this.indexOf(carPark);
    if (!Number.isInteger(carPark) || carPark < 0 || carPark >= this.ids.length) {
      throw new GreenwaveError(ErrorCode.NotFound, `no car park at index ${carPark}`, [{ path: 'carPark', message: `index ${carPark} is not in 0..${this.ids.length - 1}` }]);
    }
    return carPark;
  }

  /** Spaces a report may exceed capacity by before it is refused. */
  overCapacityMargin(i: number): number {
    return Math.max(this.overMin, Math.ceil(this.overFraction * this.capacity[i]!));
  }

  /** Applies gate counts; a ValidationError (nothing changed) for implausible ones. */
  addCounts(carPark: number | string, c: GateCounts): void {
    const i = this.resolve(carPark);
    const now = this.clock();
    const issues = new IssueList();
    for (const f of ['entries', 'exits'] as const) {
      const v = c[f];
      if (!Number.isInteger(v) || v < 0) issues.add(`counts.${f}`, `must be a whole number >= 0, got ${v}`, 'IMPLAUSIBLE');
    }
    if (!Number.isFinite(c.fromMs)) issues.add('counts.fromMs', `must be a time, got ${c.fromMs}`, 'IMPLAUSIBLE');
    if (!Number.isFinite(c.toMs)) issues.add('counts.toMs', `must be a time, got ${c.toMs}`, 'IMPLAUSIBLE');
    else if (c.toMs < c.fromMs) issues.add('counts.toMs', `ends (${c.toMs}) before it starts (${c.fromMs})`, 'IMPLAUSIBLE');
    else if (c.toMs > now + this.futureMs) issues.add('counts.toMs', `is ${Math.round((c.toMs - now) / 1000)} s in the future`, 'IMPLAUSIBLE');
    const lastTo = this.lastCountToMs[i]!;
    if (c.fromMs < lastTo) issues.add('counts.fromMs', `goes back before the previous interval's end (${lastTo}): counted twice`, 'IMPLAUSIBLE');
    issues.throwIfAny(`gate counts for car park ${this.ids[i]} refused`);

    const net = c.entries - c.exits;
    this.pushCount(i, c.fromMs, c.toMs, net);
    this.lastCountToMs[i] = c.toMs;
    const asOf = this.asOfMs[i]!;
    if (Number.isNaN(this.occ[i]!)) return;
    // Counts resuming after a gap longer than the staleness lost what happened in it.
    if (c.fromMs - asOf > this.staleMs) {
      this.occ[i] = Number.NaN;
      return;
    }
    // The part of the interval before the last report is already in the report.
    const from = Math.max(c.fromMs, Number.isNaN(this.lastReportMs[i]!) ? c.fromMs : this.lastReportMs[i]!);
    const share = c.toMs > c.fromMs ? Math.max(0, c.toMs - from) / (c.toMs - c.fromMs) : from <= c.fromMs ? 1 : 0;
    this.occ[i] = this.occ[i]! + net * share;
    this.countedSinceReport[i] = 1;
    this.asOfMs[i] = Math.max(asOf, c.toMs);
    this.clampAndLog(i, c.toMs);
    this.pushTrend(i, this.asOfMs[i]!, this.occ[i]!);
  }

  /** Applies an absolute report (the report wins); a ValidationError (nothing changed) for an implausible one. */
  report(carPark: number | string, r: OccupancyReport): void {
    const i = this.resolve(carPark);
    const now = this.clock();
    const cap = this.capacity[i]!;
    const margin = this.overCapacityMargin(i);
    const issues = new IssueList();
    const hasOcc = r.occupied !== undefined;
    const hasVac = r.vacant !== undefined;
    if (hasOcc === hasVac) issues.add('report', 'must give exactly one of occupied and vacant', 'IMPLAUSIBLE');
    else if (hasOcc) {
      const v = r.occupied!;
      if (!Number.isInteger(v) || v < 0 || v > cap + margin) issues.add('report.occupied', `must be a whole number in 0..${cap + margin} (capacity ${cap} + margin ${margin}), got ${v}`, 'IMPLAUSIBLE');
    } else {
      const v = r.vacant!;
      if (!Number.isInteger(v) || v < -margin || v > cap) issues.add('report.vacant', `must be a whole number in ${-margin}..${cap} (capacity ${cap}, margin ${margin}), got ${v}`, 'IMPLAUSIBLE');
    }
    if (!Number.isFinite(r.timeMs)) issues.add('report.timeMs', `must be a time, got ${r.timeMs}`, 'IMPLAUSIBLE');
    else {
      if (r.timeMs > now + this.futureMs) issues.add('report.timeMs', `is ${Math.round((r.timeMs - now) / 1000)} s in the future`, 'IMPLAUSIBLE');
      if (r.timeMs < this.lastReportMs[i]!) issues.add('report.timeMs', `goes back before the previous report (${this.lastReportMs[i]})`, 'IMPLAUSIBLE');
      if (r.timeMs < this.ringDroppedToMs[i]!) issues.add('report.timeMs', 'is older than the counts kept to bring it up to date', 'IMPLAUSIBLE');
    }
    issues.throwIfAny(`occupancy report for car park ${this.ids[i]} refused`);

    const reported = hasOcc ? r.occupied! : cap - r.vacant!;
    const after = reported + this.netCountsAfter(i, r.timeMs);
    const before = this.occ[i]!;
    if (this.countedSinceReport[i] === 1 && !Number.isNaN(before) && after !== before) {
      this.logCorrection(i, r.timeMs, 'report', before, after);
      // The counts measured the flow well; only their level drifted: keep the slope.
      this.shiftTrend(i, after - before);
    }
    this.occ[i] = after;
    this.lastReportMs[i] = r.timeMs;
    this.countedSinceReport[i] = 0;
    const lastTo = this.lastCountToMs[i]!;
    this.asOfMs[i] = Number.isNaN(lastTo) || lastTo < r.timeMs ? r.timeMs : lastTo;
    this.clampAndLog(i, r.timeMs);
    this.pushTrend(i, this.asOfMs[i]!, this.occ[i]!);
  }

  /** The DATEX II-style state of one car park at `nowMs` (default: the clock). */
  state(carPark: number | string, nowMs: number = this.clock()): OccupancyState {
    const i = this.resolve(carPark);
    const cap = this.capacity[i]!;
    const asOf = this.asOfMs[i]!;
    const known = this.known(i, nowMs);
    const occupied = known ? Math.round(this.occ[i]!) : Number.NaN;
    const vacant = known ? cap - occupied : Number.NaN;
    const status = this.statusOf(i, nowMs);
    return {
      carParkId: this.ids[i]!,
      capacity: cap,
      occupied,
      vacant,
      occupancyPct: known ? (cap > 0 ? (100 * occupied) / cap : 100) : Number.NaN,
      trend: known ? this.trendOf(i, asOf) : 'unknown',
      status,
      statusTimeMs: asOf,
    };
  }

  /**
   * `state(i, nowMs).status` without the rest (no trend, nothing allocated): what the
   * recommender asks of every candidate on each request.
   */
  statusOf(i: number, nowMs: number): ParkingSiteStatus {
    if (!isOpenAt(this.hours[i]!, nowMs, this.utcOffsetMin)) return 'closed';
    if (!this.known(i, nowMs)) return 'unknown';
    return this.capacity[i]! - Math.round(this.occ[i]!) <= this.fullAtVacant ? 'full' : 'open';
  }

  /** `state(i, nowMs).vacant` when the status is open or full, else NaN (no trend, nothing allocated). */
  vacantOf(i: number, nowMs: number): number {
    if (!isOpenAt(this.hours[i]!, nowMs, this.utcOffsetMin) || !this.known(i, nowMs)) return Number.NaN;
    return this.capacity[i]! - Math.round(this.occ[i]!);
  }

  /** An estimate exists and is not stale at `nowMs`. */
  private known(i: number, nowMs: number): boolean {
    return !Number.isNaN(this.occ[i]!) && nowMs - this.asOfMs[i]! <= this.staleMs;
  }

  /** All car parks' states, in file order. */
  states(nowMs: number = this.clock()): OccupancyState[] {
    return this.ids.map((_, i) => this.state(i, nowMs));
  }

  /** Corrections with seq above `afterSeq` still in the log (oldest first). */
  corrections(afterSeq = 0): OccupancyCorrection[] {
    return this.log.filter((c) => c.seq > afterSeq);
  }

  // -------------------------------------------------------------------------

  private clampAndLog(i: number, tMs: number): void {
    const v = this.occ[i]!;
    const cap = this.capacity[i]!;
    if (v > cap) {
      this.logCorrection(i, tMs, 'clampHigh', v, cap);
      this.occ[i] = cap;
    } else if (v < 0) {
      this.logCorrection(i, tMs, 'clampLow', v, 0);
      this.occ[i] = 0;
    }
  }

  private logCorrection(i: number, tMs: number, kind: CorrectionKind, before: number, after: number): void {
    if (this.log.length >= this.logSize) {
      this.log.shift();
      this.droppedCorrections++;
    }
    this.log.push({ seq: this.nextSeq++, carParkId: this.ids[i]!, tMs, kind, beforeOccupied: before, afterOccupied: after, deltaSpaces: after - before });
  }

  private pushCount(i: number, fromMs: number, toMs: number, net: number): void {
    const base = i * COUNT_RING;
    const head = this.ringHead[i]!;
    if (this.ringSize[i] === COUNT_RING) this.ringDroppedToMs[i] = this.ringTo[base + head]!;
    else this.ringSize[i]!++;
    this.ringFrom[base + head] = fromMs;
    this.ringTo[base + head] = toMs;
    this.ringNet[base + head] = net;
    this.ringHead[i] = (head + 1) % COUNT_RING;
  }

  /** Net counts after tMs (an interval straddling it prorated by time). */
  private netCountsAfter(i: number, tMs: number): number {
    const base = i * COUNT_RING;
    let sum = 0;
    for (let k = 0; k < this.ringSize[i]!; k++) {
      const from = this.ringFrom[base + k]!;
      const to = this.ringTo[base + k]!;
      if (to <= tMs) continue;
      const net = this.ringNet[base + k]!;
      sum += from >= tMs || to === from ? net : (net * (to - tMs)) / (to - from);
    }
    return sum;
  }

  private pushTrend(i: number, tMs: number, v: number): void {
    const base = i * TREND_RING;
    const head = this.trendHead[i]!;
    this.trendT[base + head] = tMs;
    this.trendV[base + head] = v;
    this.trendHead[i] = (head + 1) % TREND_RING;
    if (this.trendSize[i]! < TREND_RING) this.trendSize[i]!++;
  }

  private shiftTrend(i: number, delta: number): void {
    const base = i * TREND_RING;
    for (let k = 0; k < this.trendSize[i]!; k++) this.trendV[base + k]! += delta;
  }

  /** Least-squares slope over the window before asOf: a change of 2 % of capacity (at least 2 spaces) over the window is a trend. */
  private trendOf(i: number, asOf: number): OccupancyTrend {
    const base = i * TREND_RING;
    let n = 0;
    let st = 0;
    let sv = 0;
    let stt = 0;
    let stv = 0;
    for (let k = 0; k < this.trendSize[i]!; k++) {
      const t = this.trendT[base + k]!;
      if (t < asOf - this.trendMs || t > asOf) continue;
      const x = (t - asOf) / 60_000;
      const v = this.trendV[base + k]!;
      n++;
      st += x;
      sv += v;
      stt += x * x;
      stv += x * v;
    }
    const den = n * stt - st * st;
    if (n < 2 || den <= 0) return 'unknown';
    const slopePerMin = (n * stv - st * sv) / den;
    const change = slopePerMin * (this.trendMs / 60_000);
    const threshold = Math.max(2, 0.02 * this.capacity[i]!);
    if (change >= threshold) return 'increasing';
    if (change <= -threshold) return 'decreasing';
    return 'stable';
  }
}
