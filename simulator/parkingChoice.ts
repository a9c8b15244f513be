/**
 * Where searching drivers in the microsimulator go (./parking.ts `ParkingChooser`), with the
 * rules of the mesoscopic model (./parkingSearch.ts), so the two compare:
 *
 * - Unguided: at departure the open car park nearest the destination (the one the driver
 *   knows); found full, the untried open car park nearest by the network from where the driver
 *   stands (drive time over the routes' costs: free flow plus the plan's turn delays), within a
 *   walk of `maxWalkM` of the destination, or once twice that; none: the driver gives up.
 * - Guided (a driver whose compliance draw is below `compliance`, so the compliant set grows
 *   with the rate): asks the engine's Recommend (engine/parking/recommend.ts) at departure and at
 *   every full car park, from where it stands, over the live occupancy the car parks report
 *   (engine/parking/occupancyFeed.ts: the tracker and predictor the service runs), and goes to
 *   the best untried car park ranked with a space on arrival more likely than not (P ≥ 0.5),
 *   asking for `maxWalkM` and then twice as far; when neither offers one it searches as an
 *   unguided driver would.
 * - Booked (`bookGuided`): as the service does for a Recommend with a `vehicle_id`
 *   (service/parkingState.ts), each guided driver holds one booking in
 *   engine/parking/guidedArrivals.ts under its own key: its earlier booking is taken out before
 *   it asks, and the car park it then heads for is booked at the expected arrival, so later
 *   answers count it against that car park's predicted free spaces. (The service books its
 *   first-ranked car park; a driver here skips ones it already found full, so it books the one
 *   it heads for.)
 *
 * Used by bench/parking/micro.ts and ./parking.test.ts. Allocates per decision (a Recommend
 * call), never per simulation step.
 */
import { OptionError } from '../engine/errors.js';
import { GuidedArrivals } from '../engine/parking/guidedArrivals.js';
import { TrackedOccupancySource } from '../engine/parking/occupancyFeed.js';
import { Recommender } from '../engine/parking/recommend.js';
import type { ParkingChooser, SimParking } from './parking.js';
import type { ParkingSearchScenario } from './parkingSearch.js';

export interface SearchPolicyOptions {
  /** Share of drivers following Recommend, 0..1 (0 = no guidance). */
  readonly compliance: number;
  /** The service books each guided driver's car park (engine/parking/guidedArrivals.ts). */
  readonly bookGuided?: boolean;
  /** Walk a driver first accepts, m (default 800); when nothing is left within it, once twice as far. */
  readonly maxWalkM?: number;
}

export class SearchPolicy implements ParkingChooser {
  private readonly sc: ParkingSearchScenario;
  private readonly compliantDriver: Uint8Array;
  private readonly maxWalkM: number;
  private nowMs: number;
  private readonly feed: TrackedOccupancySource;
  private readonly ledger: GuidedArrivals | undefined;
  private readonly rec: Recommender;

  constructor(sc: ParkingSearchScenario, o: SearchPolicyOptions) {
    if (!(o.compliance >= 0 && o.compliance <= 1)) throw new OptionError('options.compliance', `must be in 0..1, got ${o.compliance}`);
    this.sc = sc;
    this.maxWalkM = o.maxWalkM ?? 800;
    if (!(this.maxWalkM > 0)) throw new OptionError('options.maxWalkM', `must be > 0, got ${this.maxWalkM}`);
    this.compliantDriver = Uint8Array.from(sc.drivers, (d) => (d.complianceDraw < o.compliance ? 1 : 0));
    this.nowMs = sc.startMs;
    this.feed = new TrackedOccupancySource(sc.parking, { tracker: { clock: () => this.nowMs } });
    this.ledger = o.bookGuided === true ? new GuidedArrivals(this.feed, sc.parking.carParkCount) : undefined;
    this.rec = new Recommender(sc.parking, sc.roads, this.ledger ?? this.feed);
  }

  compliant(i: number): boolean {
    return this.compliantDriver[i] === 1;
  }

  report(_park: SimParking, tS: number, occupied: Int32Array): void {
    this.nowMs = this.sc.startMs + tS * 1000;
    for (let k = 0; k < occupied.length; k++) this.feed.report(k, occupied[k]!, this.nowMs);
  }

  choose(park: SimParking, i: number, tS: number, link: number, posM: number, first: boolean): number {
    this.nowMs = this.sc.startMs + tS * 1000;
    if (this.compliantDriver[i] === 1) {
      const e = this.guided(park, i, link, posM);
      if (e >= 0) return e;
    }
    if (first) {
      // The open car park nearest the destination: the one the driver knows.
      let best = -1;
      let bestW = Number.POSITIVE_INFINITY;
      for (let k = 0; k < park.carParkCount; k++) {
        const w = park.walkOfM(i, k);
        if (w < bestW && this.isOpen(k)) {
          best = k;
          bestW = w;
        }
      }
      const e = best >= 0 ? this.nearestEntrance(park, best, link, posM) : -1;
      if (e >= 0) return e;
    }
    return this.cruiseOn(park, i, link, posM);
  }

  private isOpen(k: number): boolean {
    return this.feed.status(k, this.nowMs) !== 'closed';
  }

  /** Car park k's entrance nearest by the network from (link, posM), -1 if none can be reached. */
  private nearestEntrance(park: SimParking, k: number, link: number, posM: number): number {
    const p = this.sc.parking;
    let best = -1;
    let bestS = Number.POSITIVE_INFINITY;
    for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
      const s = park.driveS(link, posM, e);
      if (s < bestS) {
        best = e;
        bestS = s;
      }
    }
    return best;
  }

  /** The untried open car park nearest by the network within the walk (widened once); its entrance, -1 if none. */
  private cruiseOn(park: SimParking, i: number, link: number, posM: number): number {
    const p = this.sc.parking;
    const nK = park.carParkCount;
    for (const walk of [this.maxWalkM, 2 * this.maxWalkM]) {
      let best = -1;
      let bestS = Number.POSITIVE_INFINITY;
      for (let k = 0; k < nK; k++) {
        if (park.tried[i * nK + k] === 1 || park.walkOfM(i, k) > walk || !this.isOpen(k)) continue;
        for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
          const s = park.driveS(link, posM, e);
          if (s < bestS) {
            best = e;
            bestS = s;
          }
        }
      }
      if (best >= 0) return best;
    }
    return -1;
  }

  /** Recommend from where driver i stands: the first untried car park ranked with P(space) ≥ 0.5 (booked if the service books); -1 if none. */
  private guided(park: SimParking, i: number, link: number, posM: number): number {
    const d = this.sc.drivers[i]!;
    const nK = park.carParkCount;
    const road = park.routes.roadOfSim[link]!;
    // An approach fed from outside the network (after a turn-around) is not a network link: ask from its junction.
    const origin = road >= 0 ? { link: road, positionM: posM } : { intersection: park.junctionOf(link) };
    const key = `d${i}`;
    this.ledger?.take(key);
    for (const walk of [this.maxWalkM, 2 * this.maxWalkM]) {
      const res = this.rec.recommend({ destination: { lon: d.destLon, lat: d.destLat }, origin, nowMs: this.nowMs, preferences: { maxWalkM: walk, topN: 5, stayS: d.dwellS } });
      for (const x of res.ranked) {
        if (park.tried[i * nK + x.carPark] === 1 || x.pFree < 0.5 || !park.reachable(x.entrance)) continue;
        this.ledger?.book(key, 'sim', x.carPark, x.arrivalMs);
        return x.entrance;
      }
    }
    return -1;
  }
}
