/**
 * What the ParkingGuidanceService serves: the parking file compiled against
 * the service's network, the road graph its recommendations drive on, the
 * occupancy feed, and the recommender. The road graph's signal delays are the
 * service's traffic state's (./trafficState.ts, what TrafficStateService
 * serves: the plan in force with the measured lane flows, live from the
 * controllers' loops when the service collects them), re-read whenever that
 * state is recomputed (a new plan, a new count interval); without a traffic
 * state (tests), the plan's own delays, re-read when the plan changes. Built by
 * startServer (./server.ts) when a parking file is given (`serve --parking`);
 * read by ./parkingService.ts.
 *
 * The occupancy feed is the OccupancyTracker with its free-space predictors
 * (engine/parking/occupancyFeed.ts): absolute reports reconciled with gate
 * counts and clamped, stale feeds `unknown`, closed hours `closed`. Its
 * predictors are fed a few per read after each 5-minute grid time, not all at
 * once (`sweepPerRead`), so no call waits for the whole city's.
 *
 * Recommendations read the feed through a GuidedArrivals ledger
 * (engine/parking/guidedArrivals.ts): a Recommend with a vehicle id books its
 * first-ranked car park (`recommend(q, booking)`), and later answers count the
 * booked cars against that car park's predicted free spaces. States, signs and
 * WatchOccupancy read the feed itself: what was measured.
 *
 * The guidance signs' messages (engine/parking/signs.ts) are worked out here
 * from the same states, once per feed revision and second whoever asks (the
 * console's parking page, web/server/parkingApi.ts), so that every reader sees
 * the same hysteresis.
 */
import { loadCompiledParking, type CompiledParking } from '../engine/parking/load.js';
import { RoadGraph } from '../engine/parking/roads.js';
import { Recommender, type RecommendQuery, type RecommendResult } from '../engine/parking/recommend.js';
import type { OccupancyFeed } from '../engine/parking/source.js';
import { TrackedOccupancySource } from '../engine/parking/occupancyFeed.js';
import { GuidedArrivals, type Booking } from '../engine/parking/guidedArrivals.js';
import { SignMessenger, type SignMessage } from '../engine/parking/signs.js';
import type { OccupancyState } from '../engine/parking/schema.js';
import type { ServicePlan } from './replan.js';
import type { ServiceState } from './state.js';
import { notFound } from './errors.js';
import type { OccupancyHistory } from './occupancyHistory.js';
import type { TrafficState } from './trafficState.js';

/**
 * Memory for the road graph's full trees by origin (engine/parking/roads.ts): 12 bytes per
 * link per origin kept, so 128 MiB holds every link's tree of a 3,000-link city (the 2,400-link
 * benchmark city takes 69 MB) and the 4,600 most recently used origins of a 20,000-link one.
 * A Recommend from a kept origin reads its tree instead of searching: in the benchmark city the
 * server's Recommend path took 398–491 µs of CPU a call with searches, 77–89 µs with the trees
 * kept (docs/benchmarks.md); a tree not yet kept costs one full search (about 0.3 ms) once per
 * origin, and every tree is dropped when the plan changes.
 */
export const ROAD_TREE_CACHE_BYTES = 128 * 2 ** 20;

export class ParkingGuidance {
  readonly roads: RoadGraph;
  readonly recommender: Recommender;
  /** The bookings Recommend made (vehicle ids), counted against predicted free spaces. */
  readonly arrivals: GuidedArrivals;
  /** Where applied reports are recorded when the service has a database (set by startServer). */
  history: OccupancyHistory | undefined;
  /** The traffic state whose delays the drives use (set by startServer); absent: the plan's. */
  traffic: TrafficState | undefined;
  private delaysOf: ServicePlan | undefined;
  /** The traffic state's `revision` the road graph's delays were read at (-1: none yet). */
  private delaysRevision = -1;
  private readonly signs: SignMessenger;
  private signsAt: { revision: number; second: number; states: OccupancyState[]; messages: SignMessage[] } | undefined;

  constructor(
    readonly parking: CompiledParking,
    private readonly state: ServiceState,
    /** Seconds (Unix time) now: the service's clock, which staleness and the future check follow. */
    clock: () => number = () => Date.now() / 1000,
    // One predictor fed per read besides the one predicted: feeding 2,000 at once paused the gRPC thread 15–200 ms every 5 minutes.
    readonly feed: OccupancyFeed = new TrackedOccupancySource(parking, { tracker: { clock: () => Math.round(clock() * 1000) }, sweepPerRead: 1 }),
  ) {
    this.roads = new RoadGraph(state.c, { treeCacheBytes: ROAD_TREE_CACHE_BYTES });
    this.arrivals = new GuidedArrivals(feed, parking.carParkCount);
    this.recommender = new Recommender(parking, this.roads, this.arrivals);
    this.signs = new SignMessenger(parking.file);
  }

  /**
   * The drives' signal delays: the traffic state's (recomputed for a new plan or a new interval
   * of live counts), else the plan's, re-read only when they changed (the road graph then drops
   * its kept trees).
   */
  private refreshDelays(): void {
    if (this.traffic !== undefined) {
      const est = this.traffic.current();
      if (est.revision === this.delaysRevision) return;
      this.roads.setLaneDelays(est.laneDelayS, est.laneFlowVehPerH);
      this.delaysRevision = est.revision;
      return;
    }
    // Replan swaps the plan object whole.
    if (this.delaysOf !== this.state.plan) {
      this.roads.setDelays(this.state.plan.buffer);
      this.delaysOf = this.state.plan;
    }
  }

  /** Every car park's state and every sign's message at `nowMs` (recomputed when the feed or the second changed). */
  live(nowMs: number): { readonly states: readonly OccupancyState[]; readonly signs: readonly SignMessage[] } {
    const second = Math.floor(nowMs / 1000);
    const at = this.signsAt;
    if (at && at.revision === this.feed.revision && at.second === second) return { states: at.states, signs: at.messages };
    const states = this.parking.file.carParks.map((_, k) => this.feed.state(k, nowMs));
    const messages = this.signs.update(states);
    this.signsAt = { revision: this.feed.revision, second, states, messages };
    return { states, signs: messages };
  }

  /** Reads and checks the parking file against the service's network (INVALID_INPUT with every located problem: exit 2 from `serve`). */
  static load(path: string, state: ServiceState, clock?: () => number): ParkingGuidance {
    return new ParkingGuidance(loadCompiledParking(path, state.c), state, clock);
  }

  carPark(id: string, path: string): number {
    const k = this.parking.carPark(id);
    if (k === undefined) throw notFound(`${path}: no car park "${id}"`);
    return k;
  }

  /**
   * Recommends; with `booking` (key = client and vehicle, owner = client), the vehicle's earlier
   * booking is taken out first (its own car does not count against its new answer) and the
   * first-ranked car park is booked in its place; nothing ranked leaves the vehicle without a
   * booking. If the recommender throws, the earlier booking is put back.
   */
  recommend(q: RecommendQuery, booking?: { readonly key: string; readonly owner: string }): { result: RecommendResult; booked: Booking | undefined } {
    this.refreshDelays();
    if (booking === undefined) return { result: this.recommender.recommend(q), booked: undefined };
    const earlier = this.arrivals.take(booking.key);
    let result: RecommendResult;
    try {
      result = this.recommender.recommend(q);
    } catch (e: unknown) {
      if (earlier) this.arrivals.restore(earlier);
      throw e;
    }
    const first = result.ranked[0];
    const booked = first ? this.arrivals.book(booking.key, booking.owner, first.carPark, first.arrivalMs) : undefined;
    return { result, booked };
  }
}
