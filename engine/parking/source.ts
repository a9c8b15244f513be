/**
 * What the recommender and the gRPC service need from live occupancy: the
 * state of a car park now, a prediction of its free spaces at an arrival time
 * (with a band), and a place to put absolute reports from car-park systems.
 * The OccupancyTracker and predictor (engine/parking/occupancy*.ts,
 * predict*.ts, written apart) are meant to implement it; until they are wired
 * in, ./standIn.ts's TableOccupancySource does. Car parks are the dense
 * indices of a CompiledParking (./load.ts).
 */
import type { OccupancyState } from './schema.js';

/** Free spaces expected at an arrival time, with the 10th and 90th percentiles of the band. */
export interface FreePrediction {
  readonly expected: number;
  readonly p10: number;
  readonly p90: number;
}

/** A FreePrediction written in place by `predictFreeInto`. */
export interface FreePredictionOut {
  expected: number;
  p10: number;
  p90: number;
}

export interface OccupancySource {
  /** The DATEX II-style state of car park k at `nowMs` (status `unknown` when its feed is stale, `closed` outside its hours). */
  state(carPark: number, nowMs: number): OccupancyState;
  /** `state(carPark, nowMs).status` alone: the recommender asks it of every candidate, so it should not build the whole state. */
  status(carPark: number, nowMs: number): OccupancyState['status'];
  /** Free spaces of car park k expected at `arrivalMs`, as seen at `nowMs`. */
  predictFree(carPark: number, arrivalMs: number, nowMs: number): FreePrediction;
  /**
   * `predictFree` written into `out`, nothing allocated: the recommender asks it of every
   * candidate of every request (an object per candidate was a third of a call's garbage).
   */
  predictFreeInto(carPark: number, arrivalMs: number, nowMs: number, out: FreePredictionOut): void;
}

/** Where absolute reports go (ReportOccupancy): occupied spaces of car park k at `atMs`. */
export interface OccupancySink {
  report(carPark: number, occupied: number, atMs: number): void;
}

/** Told of every state change, for WatchOccupancy and the sign registers. */
export interface OccupancyFeed extends OccupancySource, OccupancySink {
  /** Increases whenever any report is applied: streams compare it to skip unchanged rounds. */
  readonly revision: number;
}
