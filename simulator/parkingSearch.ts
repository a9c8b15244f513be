/**
 * Parking search on the simulated network (issue 17, item 7): drivers with
 * destinations drive to a car park, park if it has a free space and stay for
 * their dwell, or find it full and cruise on to another. Without guidance a
 * driver heads for the car park nearest the destination and, when it is full,
 * for the untried car park nearest by the network from where they stand (within
 * a walk of the destination that widens once when none is left); with guidance
 * a compliant driver (a share `compliance` of all drivers) asks
 * engine/parking/recommend.ts at departure, as the service would answer it, fed by the live
 * occupancy the car parks report (engine/parking/occupancyFeed.ts: the
 * tracker and predictor the service runs), and goes to the best car park it ranks
 * with a space on arrival more likely than not (asking for twice the walk when none
 * is); found full, they ask again from the entrance. Optionally the service books
 * each recommendation followed (engine/parking/guidedArrivals.ts). Used by
 * bench/parking/sim.ts and its test.
 *
 * Cruising (Shoup 2006, "Cruising for parking", Transport Policy 13(6)): the time and the
 * distance driven from the driver's first arrival at a full car park to parking
 * (or giving up); a driver whose first car park has space cruises 0. Drive time and
 * distance to the first car park are reported apart; so is the walk from the car park
 * to the destination, so guidance cannot look better by sending drivers far away unseen.
 *
 * SIMPLIFICATION, stated: vehicles move mesoscopically, not through the IDM
 * microsimulator (the same scenario driven there, re-routed at each junction, is
 * ./parking.ts, `Simulation.setParking`): each link takes its free-flow time plus the signal delay
 * of the turn out of it in the plan (engine/parking/roads.ts, the recommender's own
 * graph), with no queues and no interaction between vehicles. The search behaviour,
 * the car parks' occupancy and the information delay are simulated; congestion is not.
 *
 * Events run in time order from one binary heap (ties by insertion); every random
 * draw is made before the run from the scenario's seed, so the same drivers,
 * dwells and background traffic meet each policy (common random numbers), and a
 * seed fixes a run bit for bit.
 */
import { OptionError } from '../engine/errors.js';
import type { CompiledParking } from '../engine/parking/load.js';
import { GuidedArrivals } from '../engine/parking/guidedArrivals.js';
import { TrackedOccupancySource } from '../engine/parking/occupancyFeed.js';
import { DEFAULT_WEIGHTS, Recommender, haversineM } from '../engine/parking/recommend.js';
import type { LinkPosition, RoadGraph } from '../engine/parking/roads.js';
import { EventQueue } from './parkingEvents.js';

/** A driver looking for a space: all drawn before the run. */
export interface ParkingDriver {
  readonly departS: number;
  readonly origin: LinkPosition;
  readonly destLon: number;
  readonly destLat: number;
  readonly dwellS: number;
  /** Uniform draw in [0, 1): the driver complies with guidance when it is below the compliance rate (so the compliant set grows with the rate). */
  readonly complianceDraw: number;
}

/** Cars whose search is not modelled (they know where they park): they arrive at a car park, take a space if there is one, and leave after their dwell. */
export interface BackgroundArrival {
  readonly atS: number;
  readonly carPark: number;
  readonly dwellS: number;
}

export interface ParkingSearchScenario {
  readonly parking: CompiledParking;
  /** The drive graph, with the plan's signal delays set. */
  readonly roads: RoadGraph;
  /** In departure order. */
  readonly drivers: readonly ParkingDriver[];
  /** Drivers departing in [measureFromS, measureToS) are measured; the others load the car parks. */
  readonly measureFromS: number;
  readonly measureToS: number;
  /** Cars parked at time 0, per car park, with the time each leaves (s): [initialStart[k], initialStart[k+1]) into initialLeaveS. */
  readonly initialStart: Uint32Array;
  readonly initialLeaveS: Float64Array;
  readonly background: readonly BackgroundArrival[];
  /** Wall-clock time of the simulation's second 0, ms (opening hours and the occupancy feed read it). */
  readonly startMs: number;
}

export interface ParkingSearchOptions {
  /** Share of drivers following Recommend, 0..1 (0 = no guidance). */
  readonly compliance: number;
  /** Car-park systems report their occupancy this often, s (default 60). */
  readonly reportEveryS?: number;
  /** Walk a driver first accepts, m (default 800); when no untried car park lies within it, once twice as far. */
  readonly maxWalkM?: number;
  /** A driver gives up (fails to park) after cruising this long, s (default 1800). */
  readonly giveUpAfterS?: number;
  /**
   * The service books every recommendation it hands out and counts the booked cars as taking a
   * space on arrival (engine/parking/guidedArrivals.ts); false = Recommend over the feed alone.
   */
  readonly bookGuided?: boolean;
}

export interface ParkingSearchResult {
  readonly measured: number;
  readonly parked: number;
  readonly failed: number;
  readonly compliant: number;
  /** Means over the measured drivers (a failed driver counts the cruising until giving up). */
  readonly meanCruiseS: number;
  readonly meanCruiseM: number;
  /** Share of measured drivers that cruised at all. */
  readonly cruisedShare: number;
  readonly failShare: number;
  /** Mean drive to the first car park tried, s and m. */
  readonly meanFirstDriveS: number;
  readonly meanFirstDriveM: number;
  /** Mean walk from the car park to the destination over those who parked, m (detour factor included). */
  readonly meanWalkM: number;
  /** Per measured driver: cruising time, s (in the drivers' order). */
  readonly cruiseS: Float64Array;
}

const EV_DEPART = 0;
const EV_ARRIVE = 1;
const EV_LEAVE = 2;
const EV_BACKGROUND = 3;
const EV_REPORT = 4;
const MAX_DRIVE_S = 3600;

/** Runs one policy over a scenario. */
export function runParkingSearch(sc: ParkingSearchScenario, opts: ParkingSearchOptions): ParkingSearchResult {
  const r = opts.compliance;
  if (!(r >= 0 && r <= 1)) throw new OptionError('options.compliance', `must be in 0..1, got ${r}`);
  const reportEveryS = opts.reportEveryS ?? 60;
  if (!(reportEveryS > 0)) throw new OptionError('options.reportEveryS', `must be > 0, got ${reportEveryS}`);
  const maxWalkM = opts.maxWalkM ?? 800;
  const giveUpAfterS = opts.giveUpAfterS ?? 1800;
  const p = sc.parking;
  const roads = sc.roads;
  const nK = p.carParkCount;
  const nD = sc.drivers.length;
  let nowMs = sc.startMs;
  const feed = new TrackedOccupancySource(p, { tracker: { clock: () => nowMs } });
  const ledger = opts.bookGuided ? new GuidedArrivals(feed, p.carParkCount) : undefined;
  const rec = new Recommender(p, roads, ledger ?? feed);
  const occupied = new Int32Array(nK);
  for (let k = 0; k < nK; k++) occupied[k] = Math.min(p.capacity[k]!, sc.initialStart[k + 1]! - sc.initialStart[k]!);

  // Per driver: where they stand, what they tried, and the measures.
  const tried = new Uint8Array(nD * nK);
  const posLink = new Int32Array(nD);
  const posM = new Float64Array(nD);
  const compliant = new Uint8Array(nD);
  const cruiseFromS = new Float64Array(nD).fill(Number.NaN);
  const cruiseM = new Float64Array(nD);
  const firstDriveS = new Float64Array(nD).fill(Number.NaN);
  const firstDriveM = new Float64Array(nD);
  const cruiseS = new Float64Array(nD);
  const outcome = new Int8Array(nD); // 0 searching, 1 parked, 2 failed
  const walkM = new Float64Array(nD);
  /** The leg being driven: distance and time, booked on arrival. */
  const legM = new Float64Array(nD);
  const legS = new Float64Array(nD);
  const walkOf = (d: ParkingDriver, k: number): number => haversineM(d.destLon, d.destLat, p.lon[k]!, p.lat[k]!) * DEFAULT_WEIGHTS.detourFactor;

  const heap = new EventQueue(nD + sc.initialLeaveS.length + sc.background.length + 1);
  for (let i = 0; i < nD; i++) {
    heap.push(sc.drivers[i]!.departS, EV_DEPART, i, 0);
    compliant[i] = sc.drivers[i]!.complianceDraw < r ? 1 : 0;
  }
  for (let k = 0; k < nK; k++) for (let j = sc.initialStart[k]!; j < sc.initialStart[k + 1]!; j++) if (j - sc.initialStart[k]! < p.capacity[k]!) heap.push(sc.initialLeaveS[j]!, EV_LEAVE, k, 0);
  sc.background.forEach((b, j) => heap.push(b.atS, EV_BACKGROUND, j, 0));
  heap.push(0, EV_REPORT, 0, 0);
  const report = (tS: number): void => {
    for (let k = 0; k < nK; k++) feed.report(k, occupied[k]!, sc.startMs + tS * 1000);
  };
  let searching = nD;

  /**
   * Drive time and distance from the driver's place to each car park in `cands` (one search).
   * Writes into candS/candM/candE; Infinity where unreachable.
   */
  const candS = new Float64Array(nK);
  const candM = new Float64Array(nK);
  const candE = new Int32Array(nK);
  const g = { x: 0, y: 0 };
  const driveTo = (from: LinkPosition, cands: readonly number[]): void => {
    roads.beginSearch();
    let targets = 0;
    // Aimed (A*, exact) at the smallest circle about the entrances' centroid that holds them all.
    let gx = 0;
    let gy = 0;
    let nE = 0;
    for (const k of cands) {
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        targets += roads.addTarget(p.entranceLink[e]!);
        roads.pointOn(p.entranceLink[e]!, p.entrancePositionM[e]!, g);
        gx += g.x;
        gy += g.y;
        nE++;
      }
    }
    gx /= Math.max(1, nE);
    gy /= Math.max(1, nE);
    let radiusM = 0;
    for (const k of cands) {
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        roads.pointOn(p.entranceLink[e]!, p.entrancePositionM[e]!, g);
        radiusM = Math.max(radiusM, Math.hypot(g.x - gx, g.y - gy));
      }
    }
    roads.setGoal(gx, gy, radiusM + 1);
    roads.seedFromLink(from);
    roads.run(targets, MAX_DRIVE_S);
    for (const k of cands) {
      let best = Number.POSITIVE_INFINITY;
      let bestM = Number.POSITIVE_INFINITY;
      let bestE = -1;
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        const link = p.entranceLink[e]!;
        const pos = p.entrancePositionM[e]!;
        let t = roads.timeTo({ link, positionM: pos });
        let m = Number.isFinite(t) ? routeLengthM(roads, from, link, pos) : Number.POSITIVE_INFINITY;
        if (link === from.link && pos > from.positionM + 1e-9) {
          const direct = (pos - from.positionM) / roads.linkSpeedMps[link]!;
          if (direct <= t) {
            t = direct;
            m = pos - from.positionM;
          }
        }
        if (t < best) {
          best = t;
          bestM = m;
          bestE = e;
        }
      }
      candS[k] = best;
      candM[k] = bestM;
      candE[k] = bestE;
    }
  };

  /** Heads driver i for car park k (candS/candM/candE filled for k); false if it cannot be reached. */
  const headFor = (i: number, k: number, tS: number): boolean => {
    if (!Number.isFinite(candS[k]!)) return false;
    legS[i] = candS[k]!;
    legM[i] = candM[k]!;
    const e = candE[k]!;
    posLink[i] = p.entranceLink[e]!;
    posM[i] = p.entrancePositionM[e]!;
    heap.push(tS + candS[k]!, EV_ARRIVE, i, k);
    return true;
  };

  /** The untried car parks within `walk` of driver i's destination, open at tS. */
  const untriedWithin = (i: number, walk: number, tS: number): number[] => {
    const d = sc.drivers[i]!;
    const out: number[] = [];
    for (let k = 0; k < nK; k++) if (tried[i * nK + k] === 0 && walkOf(d, k) <= walk && isOpenNow(k, tS)) out.push(k);
    return out;
  };
  const isOpenNow = (k: number, tS: number): boolean => feed.state(k, sc.startMs + tS * 1000).status !== 'closed';

  /** Unguided choice from where driver i is: the untried car park nearest by the network within the walk (widened once). */
  const cruiseOn = (i: number, tS: number): boolean => {
    const from = { link: posLink[i]!, positionM: posM[i]! };
    for (const walk of [maxWalkM, 2 * maxWalkM]) {
      const cands = untriedWithin(i, walk, tS);
      if (cands.length === 0) continue;
      driveTo(from, cands);
      let best = -1;
      for (const k of cands) if (Number.isFinite(candS[k]!) && (best < 0 || candS[k]! < candS[best]!)) best = k;
      if (best >= 0 && headFor(i, best, tS)) return true;
    }
    return false;
  };

  /**
   * Guided choice: the best untried car park Recommend ranks from where driver i is with a
   * space on arrival more likely than not (P ≥ 0.5), asking for the driver's walk and then, as
   * an app would offer, twice as far; false when neither offers one (the driver then searches
   * on their own).
   */
  const guided = (i: number, tS: number): boolean => {
    const d = sc.drivers[i]!;
    const from = { link: posLink[i]!, positionM: posM[i]! };
    for (const walk of [maxWalkM, 2 * maxWalkM]) {
      const res = rec.recommend({ destination: { lon: d.destLon, lat: d.destLat }, origin: from, nowMs: sc.startMs + tS * 1000, preferences: { maxWalkM: walk, topN: 5, stayS: d.dwellS } });
      for (const x of res.ranked) {
        if (tried[i * nK + x.carPark] === 1 || x.pFree < 0.5) continue;
        // Its drive time, entrance and route are Recommend's own (the same graph): no second search.
        candS[x.carPark] = x.driveS;
        candE[x.carPark] = x.entrance;
        candM[x.carPark] = routeIdsLengthM(roads, from, x.route, p.entrancePositionM[x.entrance]!);
        if (headFor(i, x.carPark, tS)) {
          ledger?.record(x.carPark, x.arrivalMs);
          return true;
        }
      }
    }
    return false;
  };

  const fail = (i: number, tS: number): void => {
    outcome[i] = 2;
    cruiseS[i] = Number.isNaN(cruiseFromS[i]!) ? 0 : tS - cruiseFromS[i]!;
    searching--;
  };

  const ev = { t: 0, kind: 0, a: 0, b: 0 };
  while (heap.size > 0 && (searching > 0 || heap.size > 0)) {
    ev.t = heap.firstT;
    ev.kind = heap.firstKind;
    ev.a = heap.firstA;
    ev.b = heap.firstB;
    heap.pop();
    const tS = ev.t;
    nowMs = sc.startMs + tS * 1000;
    if (ev.kind === EV_REPORT) {
      report(tS);
      if (searching > 0) heap.push(tS + reportEveryS, EV_REPORT, 0, 0);
    } else if (ev.kind === EV_LEAVE) {
      occupied[ev.a] = occupied[ev.a]! - 1;
    } else if (ev.kind === EV_BACKGROUND) {
      const b = sc.background[ev.a]!;
      if (occupied[b.carPark]! < p.capacity[b.carPark]! && isOpenNow(b.carPark, tS)) {
        occupied[b.carPark] = occupied[b.carPark]! + 1;
        heap.push(tS + b.dwellS, EV_LEAVE, b.carPark, 0);
      }
    } else if (ev.kind === EV_DEPART) {
      const i = ev.a;
      const d = sc.drivers[i]!;
      posLink[i] = d.origin.link;
      posM[i] = d.origin.positionM;
      let going = compliant[i] === 1 && guided(i, tS);
      if (!going) {
        // The car park nearest the destination (the one the driver knows), open now.
        let best = -1;
        let bestW = Number.POSITIVE_INFINITY;
        for (let k = 0; k < nK; k++) {
          const w = walkOf(d, k);
          if (w < bestW && isOpenNow(k, tS)) {
            best = k;
            bestW = w;
          }
        }
        if (best >= 0) {
          driveTo(d.origin, [best]);
          going = headFor(i, best, tS);
        }
        if (!going) going = cruiseOn(i, tS);
      }
      if (!going) fail(i, tS);
    } else {
      // EV_ARRIVE: driver a at car park b.
      const i = ev.a;
      const k = ev.b;
      const d = sc.drivers[i]!;
      if (Number.isNaN(firstDriveS[i]!)) {
        firstDriveS[i] = legS[i]!;
        firstDriveM[i] = legM[i]!;
      } else cruiseM[i] = cruiseM[i]! + legM[i]!;
      tried[i * nK + k] = 1;
      if (occupied[k]! < p.capacity[k]! && isOpenNow(k, tS)) {
        occupied[k] = occupied[k]! + 1;
        heap.push(tS + d.dwellS, EV_LEAVE, k, 0);
        outcome[i] = 1;
        cruiseS[i] = Number.isNaN(cruiseFromS[i]!) ? 0 : tS - cruiseFromS[i]!;
        walkM[i] = walkOf(d, k);
        searching--;
        continue;
      }
      if (Number.isNaN(cruiseFromS[i]!)) cruiseFromS[i] = tS;
      if (tS - cruiseFromS[i]! >= giveUpAfterS) {
        fail(i, tS);
        continue;
      }
      const going = (compliant[i] === 1 && guided(i, tS)) || cruiseOn(i, tS);
      if (!going) fail(i, tS);
    }
  }

  return searchMeasures(sc, { parked: outcome, compliant: (i) => compliant[i] === 1, cruiseS, cruiseM, firstDriveS, firstDriveM, walkM });
}

/** Per driver, what a search ended with (the mesoscopic model's and the microsimulator's, parking.ts). */
export interface SearchOutcomes {
  /** 1 where the driver parked. */
  readonly parked: ArrayLike<number>;
  readonly compliant: (driver: number) => boolean;
  /** Cruising time, s (0: parked at the first car park). */
  readonly cruiseS: ArrayLike<number>;
  readonly cruiseM: ArrayLike<number>;
  /** The drive to the first car park (NaN: never reached one). */
  readonly firstDriveS: ArrayLike<number>;
  readonly firstDriveM: ArrayLike<number>;
  readonly walkM: ArrayLike<number>;
}

/** The measures over the drivers departing in the scenario's measured window. */
export function searchMeasures(sc: ParkingSearchScenario, o: SearchOutcomes): ParkingSearchResult {
  let measured = 0;
  let parked = 0;
  let failed = 0;
  let nCompliant = 0;
  let sumCruiseS = 0;
  let sumCruiseM = 0;
  let cruised = 0;
  let sumFirstS = 0;
  let sumFirstM = 0;
  let nFirst = 0;
  let sumWalk = 0;
  const perDriver: number[] = [];
  for (let i = 0; i < sc.drivers.length; i++) {
    const dep = sc.drivers[i]!.departS;
    if (dep < sc.measureFromS || dep >= sc.measureToS) continue;
    measured++;
    if (o.compliant(i)) nCompliant++;
    if (o.parked[i] === 1) {
      parked++;
      sumWalk += o.walkM[i]!;
    } else failed++;
    const cs = o.cruiseS[i]!;
    sumCruiseS += cs;
    sumCruiseM += o.cruiseM[i]!;
    perDriver.push(cs);
    if (cs > 0) cruised++;
    if (!Number.isNaN(o.firstDriveS[i]!)) {
      sumFirstS += o.firstDriveS[i]!;
      sumFirstM += o.firstDriveM[i]!;
      nFirst++;
    }
  }
  return {
    measured,
    parked,
    failed,
    compliant: nCompliant,
    meanCruiseS: sumCruiseS / measured,
    meanCruiseM: sumCruiseM / measured,
    cruisedShare: cruised / measured,
    failShare: failed / measured,
    meanFirstDriveS: sumFirstS / nFirst,
    meanFirstDriveM: sumFirstM / nFirst,
    meanWalkM: sumWalk / parked,
    cruiseS: Float64Array.from(perDriver),
  };
}

/** Length of the route the last search found from `from` to `positionM` on settled link `link`, m. */
function routeLengthM(roads: RoadGraph, from: LinkPosition, link: number, positionM: number): number {
  // Walk the search tree back from the target: every link entered whole, but the last only to the entrance.
  let m = positionM;
  let x = roads.prev[link]!;
  for (let guard = 0; guard <= roads.linkCount && x >= 0; guard++) {
    m += roads.linkLengthM[x]!;
    x = roads.prev[x]!;
  }
  // x < -1: entered from the origin link (-2 - origin): the rest of it.
  if (x < -1) m += roads.linkLengthM[from.link]! - from.positionM;
  return m;
}

/** Length of a route given as link ids from the origin link (Recommend's `route`) to `positionM` on its last link, m. */
function routeIdsLengthM(roads: RoadGraph, from: LinkPosition, route: readonly string[], positionM: number): number {
  if (route.length === 1) return positionM - from.positionM; // ahead on the origin link
  let m = roads.linkLengthM[from.link]! - from.positionM + positionM;
  for (let j = 1; j < route.length - 1; j++) m += roads.linkLengthM[roads.link(route[j]!)!]!;
  return m;
}
