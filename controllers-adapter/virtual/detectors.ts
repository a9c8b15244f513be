/**
 * The virtual controller's loop detectors: counts and occupancy time per
 * local detector (from `addDetectorCounts` or a deterministic rate), latched
 * into the volume and occupancy registers when central reads them, and the
 * vehicle-by-vehicle arrivals of the deterministic rate that feed actuated
 * control. Owned by VirtualController (./controller.ts); the register layout
 * is ../registerMap.ts.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { DET_OCCUPANCY_PERMILLE, DET_VOLUME, DETECTOR_STRIDE, MAX_DETECTORS } from '../registerMap.js';

/** Seconds a loop is occupied per vehicle when counts come without an occupancy time. */
export const DEFAULT_OCCUPIED_S_PER_VEHICLE = 0.5;

/** Local detector range of intersection i: detectors are compiled in intersection order. */
export function detectorRange(c: CompiledNetwork, i: number): { start: number; count: number } {
  const l0 = c.laneStart[i]!;
  const l1 = c.laneStart[i + 1]!;
  let start = -1;
  let count = 0;
  for (let d = 0; d < c.detectorIds.length; d++) {
    const lane = c.detectorLane[d]!;
    if (lane >= l0 && lane < l1) {
      if (start < 0) start = d;
      count++;
    }
  }
  return { start: Math.max(start, 0), count };
}

export class DetectorBank {
  /** First global detector index of the intersection. */
  readonly start: number;
  readonly count: number;
  /** Latch sequence number (input register IR_DET_SEQ), wraps at 16 bits. */
  seq = 0;
  private readonly vehPerH: Float64Array;
  private readonly accumVeh: Float64Array;
  private readonly occupiedS: Float64Array;
  private readonly volume: Uint16Array;
  private readonly occupancyPermille: Uint16Array;
  private readonly nextVehicleS: Float64Array;
  private lastLatchS: number;

  /** The detectors of intersection `intersection`, counting from clock time startS. */
  constructor(c: CompiledNetwork, intersection: number, startS: number, vehPerH: number | ArrayLike<number> | undefined) {
    const range = detectorRange(c, intersection);
    this.start = range.start;
    this.count = range.count;
    if (range.count > MAX_DETECTORS) throw new GreenwaveError(ErrorCode.InvalidInput, `intersection ${c.intersectionIds[intersection]} has ${range.count} detectors; the register map carries at most ${MAX_DETECTORS}`);
    const n = range.count;
    this.vehPerH = new Float64Array(n);
    for (let d = 0; d < n; d++) this.vehPerH[d] = vehPerH === undefined ? 0 : typeof vehPerH === 'number' ? vehPerH : (vehPerH[d] ?? 0);
    this.accumVeh = new Float64Array(n);
    this.occupiedS = new Float64Array(n);
    this.volume = new Uint16Array(n);
    this.occupancyPermille = new Uint16Array(n);
    this.nextVehicleS = new Float64Array(n);
    for (let d = 0; d < n; d++) this.nextVehicleS[d] = this.vehPerH[d]! > 0 ? startS + 3600 / this.vehPerH[d]! : Number.POSITIVE_INFINITY;
    this.lastLatchS = startS;
  }

  /** The deterministic rate's counts over dtS seconds (fractions carry over to the next latch). */
  accrue(dtS: number): void {
    for (let d = 0; d < this.count; d++) {
      const veh = (this.vehPerH[d]! * dtS) / 3600;
      this.accumVeh[d] = this.accumVeh[d]! + veh;
      this.occupiedS[d] = this.occupiedS[d]! + veh * DEFAULT_OCCUPIED_S_PER_VEHICLE;
    }
  }

  /** Counts given from outside (a simulator, a test) on local detector d. */
  add(d: number, vehicles: number, occupiedS: number): void {
    this.accumVeh[d] = this.accumVeh[d]! + vehicles;
    this.occupiedS[d] = this.occupiedS[d]! + occupiedS;
  }

  /** Whole vehicles and occupancy since the last latch go to the registers; a new period starts at nowS. */
  latch(nowS: number): void {
    const period = nowS - this.lastLatchS;
    for (let d = 0; d < this.count; d++) {
      const whole = Math.floor(this.accumVeh[d]! + 1e-9);
      this.accumVeh[d] = Math.max(0, this.accumVeh[d]! - whole);
      this.volume[d] = Math.min(whole, 0xffff);
      this.occupancyPermille[d] = period > 0 ? Math.min(1000, Math.round((this.occupiedS[d]! / period) * 1000)) : 0;
      this.occupiedS[d] = 0;
    }
    this.seq = (this.seq + 1) & 0xffff;
    this.lastLatchS = nowS;
  }

  /** A power cycle at nowS: counters and registers are volatile. */
  reset(nowS: number): void {
    this.lastLatchS = nowS;
    this.seq = 0;
    this.accumVeh.fill(0);
    this.occupiedS.fill(0);
    this.volume.fill(0);
    this.occupancyPermille.fill(0);
  }

  /** The detector registers' value at offset `k` from IR_DETECTORS (0 past the last detector). */
  register(k: number): number {
    const d = Math.floor(k / DETECTOR_STRIDE);
    if (d >= this.count) return 0;
    return k % DETECTOR_STRIDE === DET_VOLUME ? this.volume[d]! : k % DETECTOR_STRIDE === DET_OCCUPANCY_PERMILLE ? this.occupancyPermille[d]! : 0;
  }

  /** The detector whose next deterministic vehicle comes first at or before untilS (the last on a tie), or -1. */
  firstArrival(untilS: number): number {
    let next = untilS;
    let det = -1;
    for (let d = 0; d < this.count; d++) {
      if (this.nextVehicleS[d]! <= next) {
        next = this.nextVehicleS[d]!;
        det = d;
      }
    }
    return det;
  }

  /** When detector d's next deterministic vehicle arrives, s. */
  arrivalS(d: number): number {
    return this.nextVehicleS[d]!;
  }

  /** Detector d's vehicle has been counted: the next one comes one headway later. */
  scheduleNext(d: number): void {
    this.nextVehicleS[d] = this.nextVehicleS[d]! + 3600 / this.vehPerH[d]!;
  }
}
