/**
 * What the two parking-search benchmarks share (bench/parking/sim.ts, mesoscopic, and
 * bench/parking/micro.ts, in the microsimulator): the guidance policies compared and the sums
 * over drivers that pool seeds (means weighted by drivers, not by seed).
 */
import type { ParkingSearchResult } from '../../simulator/parkingSearch.js';

export interface Policy {
  readonly label: string;
  readonly compliance: number;
  readonly bookGuided: boolean;
}

/** No guidance; guidance at compliance 0.3, 0.6 and 1.0 with Recommend alone ("plain") and with the guided drivers' car parks booked. */
export const POLICIES: readonly Policy[] = [
  { label: 'no guidance', compliance: 0, bookGuided: false },
  ...[0.3, 0.6, 1].map((r) => ({ label: `plain, r = ${r}`, compliance: r, bookGuided: false })),
  ...[0.3, 0.6, 1].map((r) => ({ label: `booked, r = ${r}`, compliance: r, bookGuided: true })),
];

/** Sums over drivers of one policy. */
export interface Pool {
  n: number;
  parked: number;
  cruiseS: number;
  cruiseM: number;
  cruised: number;
  failed: number;
  /** Still searching when the run stopped (the microsimulator's; counted among `failed`). */
  unfinished: number;
  walkM: number;
  firstS: number;
}

export const emptyPool = (): Pool => ({ n: 0, parked: 0, cruiseS: 0, cruiseM: 0, cruised: 0, failed: 0, unfinished: 0, walkM: 0, firstS: 0 });

export function addToPool(p: Pool, r: ParkingSearchResult & { readonly unfinished?: number }): void {
  p.n += r.measured;
  p.parked += r.parked;
  p.cruiseS += r.meanCruiseS * r.measured;
  p.cruiseM += r.meanCruiseM * r.measured;
  p.cruised += r.cruisedShare * r.measured;
  p.failed += r.failed;
  p.unfinished += r.unfinished ?? 0;
  p.walkM += r.meanWalkM * r.parked;
  p.firstS += r.meanFirstDriveS * r.measured;
}

/** Adds `p` into `into`, field by field. */
export function mergePool(into: Pool, p: Pool): void {
  for (const k of Object.keys(into) as (keyof Pool)[]) into[k] += p[k];
}
