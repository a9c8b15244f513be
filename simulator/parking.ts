/**
 * Parking search in the microsimulator (issue 17, item 7): drivers with destinations enter the
 * network at their departure, drive with IDM car following through the plan's signals to a car
 * park's entrance, and park there if it has a free space (they leave the network; the car
 * park's occupancy goes up by one until their dwell is over). Found full, they cruise: the
 * policy (`ParkingChooser`: simulator/parkingChoice.ts, unguided or guided by the engine's
 * Recommend) names the next entrance, and the driver drives on to it, picking its links at each
 * junction from tables built before the run (./parkingRoutes.ts). Attached to a Simulation
 * with `Simulation.setParking`; used by bench/parking/micro.ts and ./parking.test.ts.
 *
 * Measures, as the mesoscopic model (./parkingSearch.ts) defines them, so the two compare:
 * cruising is the time and the distance driven from the driver's first arrival at a full car
 * park to parking (or giving up after `giveUpAfterS` of it, at a full car park); a driver whose
 * first car park has space cruises 0. The drive to the first car park and the walk from the car
 * park to the destination are reported apart. Distance is what the car drove on simulated links
 * (a turn-around off the network's edge, ./parkingRoutes.ts, adds its time but no metres).
 *
 * Hooks in the step (all behind `core.parking !== undefined`, so a run without parking is bit
 * for bit what it was): `step` each simulation step (events due: departures, turn-arounds coming
 * back, dwells ending, background arrivals, occupancy reports; then entries waiting for room);
 * `reached` when a searching car's front reaches its entrance (idm.ts, only on the branch where a
 * car's trip ends mid-link); `nextTurn` when a searching car at the head of its lane picks its
 * lane on the next link (laneChoice.ts); `entered` after it crosses onto it and `finished` when
 * it leaves the network (transfers.ts). None of them allocates; the policy's decisions (a
 * Recommend call) happen only at a departure or a full car park.
 *
 * Simplifications, stated: a car parks the moment its front reaches the entrance (no slowing to
 * turn in, no queue at the gate); a parked car leaves the car park after its dwell without
 * driving out onto the network; a driver enters at its origin only where a lane for its first
 * turn has a gap (with a 1.2 s headway behind it; after 10 s of waiting, the gap
 * of its length and the minimum gaps nearest its origin anywhere on that link: in a
 * standing queue someone lets it in where the queue discharges; it waits off the
 * road meanwhile). Cars whose search is not
 * modelled (the scenario's background arrivals and the cars parked at the start) take and free
 * spaces without driving. Not carried into a fork (`copyStateFrom`).
 */
import { OptionError } from '../engine/errors.js';
import { movementIndex, TURN_COUNT } from '../engine/network/geometry.js';
import { SeededRandom } from '../engine/numeric.js';
import { DEFAULT_WEIGHTS, haversineM } from '../engine/parking/recommend.js';
import { insertIndex, newVehicle, placeOnLane } from './lanes.js';
import { searchMeasures, type ParkingSearchResult, type ParkingSearchScenario } from './parkingSearch.js';
import type { ParkingRoutes } from './parkingRoutes.js';
import { EventQueue } from './parkingEvents.js';
import { IDM, type SimCore } from './vehicles.js';

/** Where a searching driver goes next: an entrance index (CompiledParking.entranceIds), or -1 (none: the driver gives up). */
export interface ParkingChooser {
  /** Driver i at simulated link `link`, `posM` from its start, at tS: at departure (`first`) or at a full car park. */
  choose(park: SimParking, i: number, tS: number, link: number, posM: number, first: boolean): number;
  /** The car parks report their occupancy (every `reportEveryS`), `occupied` per car park. */
  report(park: SimParking, tS: number, occupied: Int32Array): void;
  /** Whether driver i follows guidance (reported in the result). */
  compliant(i: number): boolean;
}

export interface SimParkingOptions {
  /** Car-park systems report their occupancy this often, s (default 60, as ./parkingSearch.ts). */
  readonly reportEveryS?: number;
  /** A driver gives up after cruising this long, checked at a full car park, s (default 1800). */
  readonly giveUpAfterS?: number;
}

/** Driver states. */
const WAITING = 0;
const DRIVING = 1;
const PARKED = 2;
const FAILED = 3;
const OFF_NETWORK = 4;

/**
 * A driver waiting this long to enter gives up the headway it first wants behind it and takes
 * any gap of its length and the minimum gaps (a car pulling out into a queue that someone lets
 * in): in a dense or standing stream a gap with a 1.2 s headway behind never opens, s.
 */
const ENTRY_PATIENCE_S = 10;

const EV_DEPART = 0;
const EV_LEAVE = 1;
const EV_BACKGROUND = 2;

export class SimParking {
  readonly sc: ParkingSearchScenario;
  readonly routes: ParkingRoutes;
  private readonly core: SimCore;
  private readonly chooser: ParkingChooser;
  readonly reportEveryS: number;
  readonly giveUpAfterS: number;
  readonly carParkCount: number;
  readonly driverCount: number;
  /** Cars in each car park now. */
  readonly occupied: Int32Array;
  /** The car park of each entrance. */
  readonly entranceCarPark: Int32Array;
  /** Per vehicle slot: the searching driver it carries, -1 for other traffic. */
  readonly vDriver: Int32Array;
  /** Per driver and car park: 1 once the driver found it full (or parked there). */
  readonly tried: Uint8Array;

  // Per driver.
  private readonly status: Uint8Array;
  private readonly speedFactor: Float64Array;
  /** Target entrance, its simulated link and position. */
  private readonly targetE: Int32Array;
  private readonly targetLink: Int32Array;
  private readonly targetPosM: Float64Array;
  /** Where the driver comes (back) onto the network, and since when it has been waiting to. */
  private readonly enterLink: Int32Array;
  private readonly enterPosM: Float64Array;
  private readonly enterDueS: Float64Array;
  /** Metres driven up to the start of the current link, and where on it the driver came on. */
  private readonly odoM: Float64Array;
  private readonly linkStartM: Float64Array;
  readonly firstDriveS: Float64Array;
  readonly firstDriveM: Float64Array;
  readonly cruiseFromS: Float64Array;
  private readonly cruiseFromM: Float64Array;
  readonly cruiseS: Float64Array;
  readonly cruiseM: Float64Array;
  readonly walkM: Float64Array;

  /** Departures, comebacks, dwells ending and background arrivals, in time order. */
  private readonly events: EventQueue;
  /** Drivers due to enter, waiting for a gap: a FIFO ring. */
  private readonly entryQ: Int32Array;
  private entryHead = 0;
  private entrySize = 0;
  private nextReportS = 0;
  /** Searching cars that left over the network's edge and came back (./parkingRoutes.ts turn-arounds). */
  turnArounds = 0;
  /** Measured drivers not yet parked or failed. */
  private measuredLeft = 0;

  constructor(core: SimCore, sc: ParkingSearchScenario, routes: ParkingRoutes, chooser: ParkingChooser, seed: number, o: SimParkingOptions = {}) {
    this.core = core;
    this.sc = sc;
    this.routes = routes;
    this.chooser = chooser;
    this.reportEveryS = o.reportEveryS ?? 60;
    this.giveUpAfterS = o.giveUpAfterS ?? 1800;
    if (!(this.reportEveryS > 0)) throw new OptionError('parking.reportEveryS', `must be > 0, got ${this.reportEveryS}`);
    if (!(this.giveUpAfterS > 0)) throw new OptionError('parking.giveUpAfterS', `must be > 0, got ${this.giveUpAfterS}`);
    const p = sc.parking;
    const nK = p.carParkCount;
    const nD = sc.drivers.length;
    this.carParkCount = nK;
    this.driverCount = nD;
    this.entranceCarPark = new Int32Array(p.entranceIds.length);
    for (let k = 0; k < nK; k++) for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) this.entranceCarPark[e] = k;
    this.occupied = new Int32Array(nK);
    for (let k = 0; k < nK; k++) this.occupied[k] = Math.min(p.capacity[k]!, sc.initialStart[k + 1]! - sc.initialStart[k]!);
    this.vDriver = new Int32Array(core.cap).fill(-1);
    this.tried = new Uint8Array(nD * nK);
    this.status = new Uint8Array(nD);
    // Drivers' desired speed factors from a stream of their own: the same for every policy.
    const rng = new SeededRandom(Math.imul(seed ^ 0x2c1b3c6d, 0x297a2d39));
    this.speedFactor = Float64Array.from(sc.drivers, () => 0.9 + 0.2 * rng.next());
    this.targetE = new Int32Array(nD).fill(-1);
    this.targetLink = new Int32Array(nD).fill(-1);
    this.targetPosM = new Float64Array(nD);
    this.enterLink = new Int32Array(nD);
    this.enterPosM = new Float64Array(nD);
    this.enterDueS = new Float64Array(nD);
    this.odoM = new Float64Array(nD);
    this.linkStartM = new Float64Array(nD);
    this.firstDriveS = new Float64Array(nD).fill(Number.NaN);
    this.firstDriveM = new Float64Array(nD).fill(Number.NaN);
    this.cruiseFromS = new Float64Array(nD).fill(Number.NaN);
    this.cruiseFromM = new Float64Array(nD);
    this.cruiseS = new Float64Array(nD);
    this.cruiseM = new Float64Array(nD);
    this.walkM = new Float64Array(nD).fill(Number.NaN);
    // One pending event per driver (a departure or a comeback) and per parked car at most.
    this.events = new EventQueue(2 * nD + sc.initialLeaveS.length + 2 * sc.background.length + 1);
    this.entryQ = new Int32Array(Math.max(1, nD));
    for (let i = 0; i < nD; i++) {
      const d = sc.drivers[i]!;
      const link = routes.simOfRoad[d.origin.link]!;
      if (link < 0) throw new OptionError(`parking.drivers[${i}].origin.link`, `network link ${d.origin.link} feeds no simulated approach`);
      this.enterLink[i] = link;
      this.enterPosM[i] = Math.min(d.origin.positionM, core.top.linkLengthM[link]! - 1);
      this.events.push(d.departS, EV_DEPART, i);
      if (d.departS >= sc.measureFromS && d.departS < sc.measureToS) this.measuredLeft++;
    }
    for (let k = 0; k < nK; k++) {
      for (let j = sc.initialStart[k]!; j < sc.initialStart[k + 1]!; j++) if (j - sc.initialStart[k]! < p.capacity[k]!) this.events.push(sc.initialLeaveS[j]!, EV_LEAVE, k);
    }
    for (let j = 0; j < sc.background.length; j++) this.events.push(sc.background[j]!.atS, EV_BACKGROUND, j);
  }

  /** Every measured driver has parked or failed. */
  get measuredDone(): boolean {
    return this.measuredLeft === 0;
  }

  /** The car park's entrance e is on a link the routes reach. */
  reachable(e: number): boolean {
    const l = this.routes.simOfRoad[this.sc.parking.entranceLink[e]!]!;
    return l >= 0 && this.routes.targetOf[l]! >= 0;
  }

  /**
   * Drive time from `posM` on simulated link `link` to entrance e by the routes' costs (free flow
   * plus the plan's turn delays), s; Infinity if it cannot be reached.
   */
  driveS(link: number, posM: number, e: number): number {
    const r = this.routes;
    const top = this.core.top;
    const tl = r.simOfRoad[this.sc.parking.entranceLink[e]!]!;
    if (tl < 0) return Infinity;
    const pos = this.sc.parking.entrancePositionM[e]!;
    if (tl === link && pos >= posM) return (pos - posM) / top.linkSpeedMps[link]!;
    const t = r.targetOf[tl]!;
    if (t < 0) return Infinity;
    return (top.linkLengthM[link]! - posM) / top.linkSpeedMps[link]! + r.toTargetS[t * r.linkCount + link]! + pos / top.linkSpeedMps[tl]!;
  }

  /** The junction simulated link `link` leads to (an intersection index of the network). */
  junctionOf(link: number): number {
    return this.core.top.linkIntersection[link]!;
  }

  /** Walk from car park k to driver i's destination, m (straight line × the recommender's detour factor). */
  walkOfM(i: number, k: number): number {
    const d = this.sc.drivers[i]!;
    const p = this.sc.parking;
    return haversineM(d.destLon, d.destLat, p.lon[k]!, p.lat[k]!) * DEFAULT_WEIGHTS.detourFactor;
  }

  /** Runs the events due by t, the occupancy reports, and lets waiting drivers in. Each simulation step. */
  step(t: number): void {
    const ev = this.events;
    while (ev.size > 0 && ev.firstT <= t) {
      const kind = ev.firstKind;
      const a = ev.firstA;
      ev.pop();
      if (kind === EV_LEAVE) this.occupied[a] = this.occupied[a]! - 1;
      else if (kind === EV_BACKGROUND) {
        const b = this.sc.background[a]!;
        if (this.occupied[b.carPark]! < this.sc.parking.capacity[b.carPark]!) {
          this.occupied[b.carPark] = this.occupied[b.carPark]! + 1;
          this.events.push(t + b.dwellS, EV_LEAVE, b.carPark);
        }
      } else this.depart(a, t);
    }
    if (t >= this.nextReportS) {
      this.chooser.report(this, t, this.occupied);
      this.nextReportS += this.reportEveryS;
    }
    for (let n = this.entrySize; n > 0; n--) {
      const i = this.entryQ[this.entryHead]!;
      this.entryHead = (this.entryHead + 1) % this.entryQ.length;
      this.entrySize--;
      if (!this.enter(i, t)) this.queue(i);
    }
  }

  /** A driver sets off (or comes back after a turn-around, already with a target). */
  private depart(i: number, t: number): void {
    if (this.status[i] === WAITING) {
      const e = this.chooser.choose(this, i, t, this.enterLink[i]!, this.enterPosM[i]!, true);
      if (e < 0 || !this.reachable(e)) {
        this.fail(i, t, 0);
        return;
      }
      this.setTarget(i, e);
    }
    this.enterDueS[i] = t;
    this.queue(i);
  }

  private queue(i: number): void {
    this.entryQ[(this.entryHead + this.entrySize) % this.entryQ.length] = i;
    this.entrySize++;
  }

  /** Puts driver i on its entry link if a lane there has a gap for it (as a lane change would need); false if none. */
  private enter(i: number, t: number): boolean {
    const core = this.core;
    const top = core.top;
    const link = this.enterLink[i]!;
    const patient = t - this.enterDueS[i]! <= ENTRY_PATIENCE_S;
    let posM = this.enterPosM[i]!;
    let best = -1;
    let bestPosM = posM;
    for (let q = top.linkLaneStart[link]!; q < top.linkLaneStart[link]! + top.linkLaneCount[link]!; q++) {
      const lane = top.linkLanes[q]!;
      if (this.laneTurn(i, lane, link) < 0) continue;
      const at = patient ? (insertIndex(core, lane, posM, IDM.lengthM, IDM.headwayS) >= 0 ? posM : Number.NaN) : this.gapNear(lane, link, posM);
      if (Number.isNaN(at)) continue;
      if (best < 0 || Math.abs(at - posM) < Math.abs(bestPosM - posM) || (at === bestPosM && core.s.laneSize[lane]! < core.s.laneSize[best]!)) {
        best = lane;
        bestPosM = at;
      }
    }
    if (best < 0) return false;
    posM = bestPosM;
    const sf = this.speedFactor[i]!;
    const v = newVehicle(core, t, sf, IDM.lengthM, IDM.accelMps2);
    placeOnLane(core, v, best, link, this.laneTurn(i, best, link), top.linkSpeedMps[link]! * sf, t, posM, posM > 0);
    core.s.entered++;
    this.vDriver[v] = i;
    this.status[i] = DRIVING;
    this.linkStartM[i] = posM;
    this.aim(i, v, link);
    return true;
  }

  /**
   * The front position nearest `posM` on `lane` where a car fits with the minimum gaps ahead and
   * behind (no headway): a queue that has stood for hours near a busy district still opens such
   * gaps where it discharges. NaN if there is none.
   */
  private gapNear(lane: number, link: number, posM: number): number {
    const core = this.core;
    const s = core.s;
    const n = s.laneSize[lane]!;
    const base = lane * core.laneCap;
    const head = s.laneHead[lane]!;
    const need = IDM.lengthM + IDM.minGapM;
    let best = Number.NaN;
    // Slot k's room: from the rear of the car ahead (the link's end for the front) less the minimum gap, down to the front of car k (the link's start past the last) plus a car and the gap.
    let upper = core.top.linkLengthM[link]! - 1;
    for (let k = 0; k <= n; k++) {
      const v = k < n ? s.laneBuf[base + ((head + k) % core.laneCap)]! : -1;
      // A millimetre inside each bound: insertIndex (placeOnLane) must find the same fit.
      const lower = v >= 0 ? s.vPos[v]! + need + 1e-3 : IDM.lengthM;
      if (upper >= lower) {
        const at = Math.min(upper, Math.max(lower, posM));
        if (Number.isNaN(best) || Math.abs(at - posM) < Math.abs(best - posM)) best = at;
      }
      if (v >= 0) upper = s.vPos[v]! - s.vLength[v]! - IDM.minGapM - 1e-3;
    }
    return best;
  }

  /** Car park entrance e becomes driver i's target. */
  private setTarget(i: number, e: number): void {
    this.targetE[i] = e;
    this.targetLink[i] = this.routes.simOfRoad[this.sc.parking.entranceLink[e]!]!;
    this.targetPosM[i] = this.sc.parking.entrancePositionM[e]!;
  }

  /** On link `link` with its front at vPos: stop at the entrance when it is ahead on this link. */
  private aim(i: number, v: number, link: number): void {
    const s = this.core.s;
    s.vArriveM[v] = this.targetLink[i] === link && this.targetPosM[i]! >= s.vPos[v]! ? this.targetPosM[i]! : Infinity;
  }

  /** The turn at the end of `link` towards driver i's target among those `lane` carries (the cheapest), -1 if it carries none. */
  private laneTurn(i: number, lane: number, link: number): number {
    const r = this.routes;
    const top = this.core.top;
    const mask = this.core.c.laneMovementMask[lane]!;
    const t = r.targetOf[this.targetLink[i]!]!;
    let best = -1;
    let bestS = Infinity;
    for (let turn = 0; turn < TURN_COUNT; turn++) {
      if (((mask >> movementIndex(top.linkApproach[link]!, turn)) & 1) === 0) continue;
      const x = link * TURN_COUNT + turn;
      const n = r.turnNext[x]!;
      if (n < 0) continue;
      const viaS = n === this.targetLink[i] ? r.turnCostS[x]! : r.turnCostS[x]! + r.toTargetS[t * r.linkCount + n]!;
      if (best < 0 || viaS < bestS) {
        best = turn;
        bestS = viaS;
      }
    }
    return best;
  }

  /** The turn a searching car in vehicle slot v will make on link `next` (laneChoice.ts crossingLane). */
  nextTurn(v: number, next: number): number {
    const i = this.vDriver[v]!;
    const r = this.routes;
    const t = r.targetOf[this.targetLink[i]!]!;
    const turn = r.bestTurn[t * r.linkCount + next]!;
    if (turn >= 0) return turn;
    // Nowhere to go from there (not on a strongly connected city): any turn a lane carries.
    for (let q = 0; q < TURN_COUNT; q++) if (r.turnNext[next * TURN_COUNT + q]! >= 0) return q;
    return 1;
  }

  /** A searching car crossed from `from` onto the start of `link` (transfers.ts leaveLane). */
  entered(v: number, from: number, link: number): void {
    const i = this.vDriver[v]!;
    if (i < 0) return;
    this.odoM[i] = this.odoM[i]! + this.core.top.linkLengthM[from]! - this.linkStartM[i]!;
    // Its front's overshoot past the line belongs to the new link: counted from 0 there.
    this.linkStartM[i] = 0;
    this.aim(i, v, link);
  }

  /**
   * The front of the car in slot v reached its trip's end on `link` (idm.ts). True when it leaves
   * the lane there (it parked, gave up, or is not a searching car); false when it drives on (its
   * car park was full: `vArriveM` and its turn now point at the next one).
   */
  reached(v: number, link: number, t: number): boolean {
    const i = this.vDriver[v]!;
    if (i < 0) return true;
    const s = this.core.s;
    const k = this.entranceCarPark[this.targetE[i]!]!;
    const nowM = this.odoM[i]! + this.targetPosM[i]! - this.linkStartM[i]!;
    const d = this.sc.drivers[i]!;
    if (Number.isNaN(this.firstDriveS[i]!)) {
      this.firstDriveS[i] = t - d.departS;
      this.firstDriveM[i] = nowM;
    }
    this.tried[i * this.carParkCount + k] = 1;
    if (this.occupied[k]! < this.sc.parking.capacity[k]!) {
      this.occupied[k] = this.occupied[k]! + 1;
      this.events.push(t + d.dwellS, EV_LEAVE, k);
      this.status[i] = PARKED;
      this.walkM[i] = this.walkOfM(i, k);
      this.endCruise(i, t, nowM);
      return true;
    }
    if (Number.isNaN(this.cruiseFromS[i]!)) {
      this.cruiseFromS[i] = t;
      this.cruiseFromM[i] = nowM;
    }
    const e = t - this.cruiseFromS[i]! >= this.giveUpAfterS ? -1 : this.chooser.choose(this, i, t, link, this.targetPosM[i]!, false);
    if (e < 0 || !this.reachable(e)) {
      this.fail(i, t, nowM);
      return true;
    }
    this.setTarget(i, e);
    this.aim(i, v, link);
    if (!Number.isFinite(s.vArriveM[v]!)) {
      // Round to it: the cheapest turn its lane carries, and a fresh choice of lane across the line.
      s.vMove[v] = movementIndex(this.core.top.linkApproach[link]!, Math.max(0, this.laneTurn(i, s.vLane[v]!, link)));
      s.vNextLane[v] = -1;
    }
    return false;
  }

  /** The car in slot v left the network (transfers.ts finishTrip), from `link`'s stop line unless it parked or gave up. */
  finished(v: number, t: number): void {
    const i = this.vDriver[v]!;
    if (i < 0) return;
    this.vDriver[v] = -1;
    if (this.status[i] !== DRIVING) return;
    // Out over a stop line: a turn-around off the network's edge (or a next lane with no slot): it comes back.
    const s = this.core.s;
    const link = this.core.top.laneLink[s.vLane[v]!]!;
    this.odoM[i] = this.odoM[i]! + this.core.top.linkLengthM[link]! - this.linkStartM[i]!;
    const x = link * TURN_COUNT + (s.vMove[v]! % TURN_COUNT);
    const back = this.routes.turnNext[x]!;
    if (back < 0) {
      this.fail(i, t, this.odoM[i]!);
      return;
    }
    this.status[i] = OFF_NETWORK;
    if (this.routes.turnAround[x] === 1) this.turnArounds++;
    this.enterLink[i] = back;
    this.enterPosM[i] = 0;
    this.events.push(t + (this.routes.turnAround[x] === 1 ? this.routes.turnCostS[x]! - this.core.top.linkLengthM[back]! / this.core.top.linkSpeedMps[back]! : 0), EV_DEPART, i);
  }

  /** Driver i gives up at t, having driven `nowM` in all. */
  private fail(i: number, t: number, nowM: number): void {
    this.status[i] = FAILED;
    this.endCruise(i, t, nowM);
  }

  /** Driver i's search is over (parked or failed): its cruising, as ./parkingSearch.ts counts it. */
  private endCruise(i: number, t: number, nowM: number): void {
    if (!Number.isNaN(this.cruiseFromS[i]!)) {
      this.cruiseS[i] = t - this.cruiseFromS[i]!;
      this.cruiseM[i] = nowM - this.cruiseFromM[i]!;
    }
    const dep = this.sc.drivers[i]!.departS;
    if (dep >= this.sc.measureFromS && dep < this.sc.measureToS) this.measuredLeft--;
  }

  /**
   * The measures over the drivers departing in the scenario's measured window, in the
   * mesoscopic model's shape (./parkingSearch.ts). A measured driver still searching when the
   * run stopped counts as failed, with the cruising so far (`unfinished` says how many).
   */
  result(tS: number): ParkingSearchResult & { readonly unfinished: number } {
    const sc = this.sc;
    const n = this.driverCount;
    const parked = new Uint8Array(n);
    const cruiseS = Float64Array.from(this.cruiseS);
    let unfinished = 0;
    for (let i = 0; i < n; i++) {
      if (this.status[i] === PARKED) parked[i] = 1;
      else if (this.status[i] !== FAILED) {
        // Still searching when the run stopped: failed, with the cruising so far.
        const dep = sc.drivers[i]!.departS;
        if (dep >= sc.measureFromS && dep < sc.measureToS) unfinished++;
        cruiseS[i] = Number.isNaN(this.cruiseFromS[i]!) ? 0 : tS - this.cruiseFromS[i]!;
      }
    }
    const m = searchMeasures(sc, { parked, compliant: (i) => this.chooser.compliant(i), cruiseS, cruiseM: this.cruiseM, firstDriveS: this.firstDriveS, firstDriveM: this.firstDriveM, walkM: this.walkM });
    return { ...m, unfinished };
  }
}
