/**
 * Parking recommendations (停车诱导): for a destination, an arrival time, a
 * vehicle and the driver's preferences, the car parks ranked by expected total
 * cost, the route to each one's entrance, and a fallback (the best car park to
 * drive on to if the first is full on arrival). Called by the gRPC service
 * (service/parkingService.ts) and the benchmark (bench/parking/recommend.ts).
 *
 * Expected total cost of car park k, in seconds of driving (docs/parking.md):
 *   driveS_k                       shortest drive over the network (./roads.ts: free flow + signal delays, the plan's or the traffic state's)
 * + walkFactor · walkS_k           walk from the car park to the destination (haversine × detourFactor at walkSpeedMps)
 * + 3600 · price_k / valueOfTimePerH   the fee for the stay (./load.ts priceOfStay)
 * + (1 − P_k) · failS              P_k = P(at least one free space on arrival) from the occupancy source's prediction
 * Refused outright (counted in `refused`, never ranked): closed now or at arrival, `unknown`
 * (a stale feed: never shown as having space), too high for the entrance, without the space
 * type the vehicle needs, beyond maxWalkM, or not reachable within maxDriveS.
 *
 * Hot path: candidates are first cut by walking distance (the car parks of the grid cells round
 * the destination, ./cells.ts, then exact tests on typed arrays), then one
 * directed search that ends once every candidate's entrance link is settled or, sooner, once no
 * candidate still unsettled can reach the top N (its drive is at least the search's frontier
 * and its walk and fee are known: `searchForBest`); the fallback's search likewise for the top 1.
 * When the road graph keeps full trees by origin (./roads.ts `treeCacheBytes`, as the service's
 * does) and has the origin's, neither search runs: every candidate's drive is read from it.
 * The ranking, routes and fallback are those of the searches run to the end; `refused.unreachable`
 * and a `closed` at the arrival time count only the candidates the search reached (one it
 * stopped short of is neither ranked nor counted). The top N are kept by insertion into fixed
 * arrays. One Recommender per thread (its scratch is shared).
 *
 * Garbage: a call allocates its answer (an object and a route per car park returned, the
 * refusal counts) and nothing per candidate: predictions are written into a scratch object
 * (`OccupancySource.predictFreeInto`), a cost's parts into typed arrays per rank slot, the
 * weights and the query's needs into scratch read by every step. A request is short, but
 * in a server its garbage meets the collector with other requests in flight; an object per
 * candidate, and an answer copied by object spread (whose copies outlived their call, promoted
 * to the old generation by the thousand), made for frequent scavenges and growing old space.
 */
import { OptionError } from '../errors.js';
import { CarParkCells } from './cells.js';
import type { CompiledParking } from './load.js';
import { SPACE_TYPE_COUNT, isOpenAt, priceOfStay } from './load.js';
import type { RoadGraph, LinkPosition } from './roads.js';
import { SPACE_TYPES, type SpaceType } from './schema.js';
import type { FreePredictionOut, OccupancySource } from './source.js';

export interface CostWeights {
  /** A second of walking costs this many seconds of driving (default 1.5). */
  readonly walkFactor: number;
  /** Price units (the car park's currency, CNY) a driver pays to save an hour (default 40). */
  readonly valueOfTimePerH: number;
  /** Cost of finding the car park full and searching on, s (default 600). */
  readonly failS: number;
  /** Walking route length over straight-line distance (default 1.3). */
  readonly detourFactor: number;
  readonly walkSpeedMps: number;
}

export const DEFAULT_WEIGHTS: CostWeights = { walkFactor: 1.5, valueOfTimePerH: 40, failS: 600, detourFactor: 1.3, walkSpeedMps: 1.2 };

export interface RecommendQuery {
  readonly destination: { readonly lon: number; readonly lat: number };
  /** Where the driver is: on a link, or at an intersection. */
  readonly origin: LinkPosition | { readonly intersection: number };
  readonly nowMs: number;
  /** When the driver expects to reach the car park; default: now plus the drive time to each. */
  readonly arrivalMs?: number | undefined;
  readonly vehicle?: { readonly heightM?: number | undefined; readonly needs?: readonly SpaceType[] | undefined } | undefined;
  readonly preferences?:
    | {
        /** Longest walk accepted, m (default 1000). */
        readonly maxWalkM?: number | undefined;
        /** Expected stay, s (default 7200): prices the fee. */
        readonly stayS?: number | undefined;
        /** How many car parks to return (default 3). */
        readonly topN?: number | undefined;
        readonly weights?: Partial<CostWeights> | undefined;
      }
    | undefined;
}

export interface Recommendation {
  readonly carPark: number;
  /** The entrance driven to (index into CompiledParking.entranceIds). */
  readonly entrance: number;
  readonly driveS: number;
  readonly walkM: number;
  readonly walkS: number;
  readonly price: number;
  /** P(at least one free space of the needed type on arrival). */
  readonly pFree: number;
  readonly expectedFree: number;
  readonly freeP10: number;
  readonly freeP90: number;
  readonly arrivalMs: number;
  readonly costS: number;
  /** Link ids from the origin to the entrance's link. */
  readonly route: string[];
}

export const REFUSAL_REASONS = ['closed', 'unknown', 'height', 'spaceType', 'tooFar', 'unreachable'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface RecommendResult {
  readonly ranked: Recommendation[];
  /** The best other car park driven to from the first's entrance, should the first be full. */
  readonly fallback: Recommendation | undefined;
  readonly refused: Record<RefusalReason, number>;
}

/** Longest drive searched, s: beyond it a car park is `unreachable`. */
const MAX_DRIVE_S = 3600;
/** 10–90 % band of a normal = ±1.2816 σ. */
const Z90 = 1.2815515655446004;
const EARTH_RADIUS_M = 6_371_008.8;
/** What `costOf` returns for a refused candidate (a cost is never negative with the default weights; these are told apart by identity). */
const UNREACHABLE = -1e300;
const CLOSED = -2e300;
const UNKNOWN = -3e300;
/** Values kept per rank slot besides the candidate and its cost (`Recommender.topParts`). */
const TOP_PARTS = 7;

export class Recommender {
  private readonly cand: Int32Array;
  private readonly candWalkM: Float64Array;
  private readonly candDriveS: Float64Array;
  private readonly candEntrance: Int32Array;
  /** 1 where the best entrance is ahead on the origin link itself (no search path to it). */
  private readonly candDirect: Uint8Array;
  private readonly pt = { x: 0, y: 0 };
  /** 1 once candidate j's drive is final in the fallback's bounded search. */
  private readonly candFinal: Uint8Array;
  /** Walk and fee part of candidate j's cost, s (the fallback's bound). */
  private readonly candStaticS: Float64Array;
  private tops = new Float64Array(8);
  /** Candidates by entrance link for the bounded search: head entrance per link (valid where linkStamp matches), chained by entNext; entCand = the candidate of an entrance. */
  private readonly linkHead: Int32Array;
  private readonly linkStamp: Uint32Array;
  private linkStampGen = 0;
  private readonly entNext: Int32Array;
  private readonly entCand: Int32Array;
  /** Candidate indices sorted by walk-and-fee cost. */
  private readonly order: Int32Array;
  /** Entrances ahead on the fallback's start link: candidate index and drive along the link, s. */
  private readonly directJ: Int32Array;
  private readonly directS: Float64Array;
  /** The car parks by grid cell, and the scratch `within` fills. */
  private readonly cells: CarParkCells;
  private readonly near: Int32Array;
  /** The parts of the last cost `costOf` computed. */
  private readonly ev = { arrivalMs: 0, expectedFree: 0, freeP10: 0, freeP90: 0, pFree: 0, walkS: 0, price: 0 };
  /** The prediction `costOf` has the source write. */
  private readonly pred: FreePredictionOut = { expected: 0, p10: 0, p90: 0 };
  /** This request's weights (the defaults where it gives none), now, fixed arrival (if any) and needed space types (indices into SPACE_TYPES). */
  private readonly w: { -readonly [K in keyof CostWeights]: number } = { ...DEFAULT_WEIGHTS };
  private nowMs = 0;
  private hasArrival = false;
  private arrivalMs = 0;
  private needIdx = new Int32Array(SPACE_TYPES.length * 2);
  private nNeeds = 0;
  /** The ranking's slots, cheapest first: candidate, cost and its parts (`rank` fills them, `recommendationOf` reads them). */
  private topJ = new Int32Array(8);
  private topCost = new Float64Array(8);
  /** Per slot: arrivalMs, expectedFree, freeP10, freeP90, pFree, walkS, price (TOP_PARTS values). */
  private topParts = new Float64Array(8 * TOP_PARTS);

  /**
   * `exhaustive`: look at every car park (not only the grid cells round the destination) and
   * run every search to the end, undirected (plain Dijkstra), not stopping at the bound (the
   * straightforward search the tests compare the fast paths with: directed and bounded, or read
   * from the road graph's kept trees; same answers, slower).
   */
  constructor(
    readonly parking: CompiledParking,
    readonly roads: RoadGraph,
    readonly source: OccupancySource,
    private readonly options: { readonly exhaustive?: boolean } = {},
  ) {
    const n = parking.carParkCount;
    this.cand = new Int32Array(n);
    this.candWalkM = new Float64Array(n);
    this.candDriveS = new Float64Array(n);
    this.candEntrance = new Int32Array(n);
    this.candDirect = new Uint8Array(n);
    this.candFinal = new Uint8Array(n);
    this.candStaticS = new Float64Array(n);
    this.linkHead = new Int32Array(roads.linkCount);
    this.linkStamp = new Uint32Array(roads.linkCount);
    this.entNext = new Int32Array(parking.entranceIds.length);
    this.entCand = new Int32Array(parking.entranceIds.length);
    this.order = new Int32Array(n);
    this.directJ = new Int32Array(parking.entranceIds.length);
    this.directS = new Float64Array(parking.entranceIds.length);
    this.cells = new CarParkCells(parking.lon, parking.lat);
    this.near = new Int32Array(n);
  }

  recommend(q: RecommendQuery): RecommendResult {
    const p = this.parking;
    const w = this.w;
    const given = q.preferences?.weights;
    w.walkFactor = given?.walkFactor ?? DEFAULT_WEIGHTS.walkFactor;
    w.valueOfTimePerH = given?.valueOfTimePerH ?? DEFAULT_WEIGHTS.valueOfTimePerH;
    w.failS = given?.failS ?? DEFAULT_WEIGHTS.failS;
    w.detourFactor = given?.detourFactor ?? DEFAULT_WEIGHTS.detourFactor;
    w.walkSpeedMps = given?.walkSpeedMps ?? DEFAULT_WEIGHTS.walkSpeedMps;
    const maxWalkM = q.preferences?.maxWalkM ?? 1000;
    const stayS = q.preferences?.stayS ?? 7200;
    const topN = q.preferences?.topN ?? 3;
    if (!(topN >= 1 && Number.isInteger(topN))) throw new OptionError('preferences.topN', `must be a whole number >= 1, got ${topN}`);
    const heightM = q.vehicle?.heightM ?? 0;
    const needs = q.vehicle?.needs;
    this.nNeeds = 0;
    if (needs) {
      if (this.needIdx.length < needs.length) this.needIdx = new Int32Array(needs.length);
      for (let i = 0; i < needs.length; i++) this.needIdx[this.nNeeds++] = SPACE_TYPES.indexOf(needs[i]!);
    }
    this.nowMs = q.nowMs;
    this.hasArrival = q.arrivalMs !== undefined;
    this.arrivalMs = q.arrivalMs ?? 0;
    const refused: Record<RefusalReason, number> = { closed: 0, unknown: 0, height: 0, spaceType: 0, tooFar: 0, unreachable: 0 };
    const dLon = q.destination.lon;
    const dLat = q.destination.lat;
    const cosLat = Math.cos((dLat * Math.PI) / 180);
    // Straight-line bound before the exact distance: a degree of latitude is at least 110.5 km.
    const boundDeg = maxWalkM / w.detourFactor / 110_500;

    // 1. Static and live refusals, and the walk.
    let nc = 0;
    const roads = this.roads;
    roads.beginSearch();
    let targets = 0;
    // Only the car parks in the grid cells round the box can pass; every other one is too far.
    const near = this.near;
    let nNear = p.carParkCount;
    if (!this.options.exhaustive && Number.isFinite(boundDeg) && cosLat > 0) nNear = this.cells.within(dLon, dLat, boundDeg / cosLat, boundDeg, near);
    else for (let k = 0; k < nNear; k++) near[k] = k;
    refused.tooFar = p.carParkCount - nNear;
    for (let i = 0; i < nNear; i++) {
      const k = near[i]!;
      const dy = p.lat[k]! - dLat;
      if (dy > boundDeg || dy < -boundDeg || Math.abs(p.lon[k]! - dLon) * cosLat > boundDeg) {
        refused.tooFar++;
        continue;
      }
      const walkM = haversineM(dLon, dLat, p.lon[k]!, p.lat[k]!) * w.detourFactor;
      if (walkM > maxWalkM) {
        refused.tooFar++;
        continue;
      }
      if (heightM > p.heightLimitM[k]!) {
        refused.height++;
        continue;
      }
      let fits = true;
      for (let i = 0; i < this.nNeeds; i++) if (p.capacityByType[k * SPACE_TYPE_COUNT + this.needIdx[i]!]! <= 0) fits = false;
      if (!fits) {
        refused.spaceType++;
        continue;
      }
      const status = this.source.status(k, q.nowMs);
      if (status === 'closed') {
        refused.closed++;
        continue;
      }
      if (status === 'unknown') {
        refused.unknown++;
        continue;
      }
      this.cand[nc] = k;
      this.candWalkM[nc] = walkM;
      nc++;
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) targets += roads.addTarget(p.entranceLink[e]!);
    }

    // 2. One search from the driver to every candidate's entrances, directed at the circle round the destination they lie in
    // (not needed when the road graph answers every search from a kept tree).
    if (!roads.keepsEveryTree) this.aimAt(dLon, dLat, nc, -1);
    const origin = 'link' in q.origin ? q.origin : undefined;
    if (origin) roads.seedFromLink(origin);
    else roads.seedFromIntersection((q.origin as { intersection: number }).intersection);
    if (this.tops.length < topN) this.tops = new Float64Array(topN);
    if (this.topJ.length < topN) {
      this.topJ = new Int32Array(topN);
      this.topCost = new Float64Array(topN);
      this.topParts = new Float64Array(topN * TOP_PARTS);
    }
    // Stopped at the bound: a candidate not reached was not shown unreachable, only outranked.
    const stopped = nc > 0 && this.searchForBest(nc, stayS, -1, origin, targets, 0, topN);
    this.driveTimes(nc, origin);

    const nRanked = this.rank(nc, stayS, topN, -1, refused, 0, stopped);
    const ranked: Recommendation[] = [];
    for (let i = 0; i < nRanked; i++) ranked.push(this.recommendationOf(i, origin));

    // 3. The fallback: from the first's entrance to the best of the others.
    let fallback: Recommendation | undefined;
    const first = ranked[0];
    if (first && nc > 1) {
      roads.beginSearch();
      let t2 = 0;
      for (let j = 0; j < nc; j++) {
        const k = this.cand[j]!;
        if (k === first.carPark) continue;
        for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) t2 += roads.addTarget(p.entranceLink[e]!);
      }
      const from = { link: p.entranceLink[first.entrance]!, positionM: p.entrancePositionM[first.entrance]! };
      if (!roads.keepsEveryTree) this.aimAt(dLon, dLat, nc, first.carPark);
      roads.seedFromLink(from);
      // The fallback's arrival is its own drive on from the first's (the request's arrival time is the first's).
      this.hasArrival = false;
      this.searchForBest(nc, stayS, first.carPark, from, t2, (first.arrivalMs - q.nowMs) / 1000);
      this.driveTimes(nc, from);
      if (this.rank(nc, stayS, 1, first.carPark, undefined, (first.arrivalMs - q.nowMs) / 1000) > 0) fallback = this.recommendationOf(0, from);
    }
    return { ranked, fallback, refused };
  }

  /**
   * Runs a search (seeded, targets marked) only as far as it can matter for the `topN` cheapest
   * (candidate `skip` left out): every
   * drive to a candidate not yet final is at least the heap's smallest key (the candidates'
   * entrances lie in the goal circle, so the goal bound of their links is at most the time along
   * the link to the entrance) or its direct time along `from`'s link; its walk and fee are known
   * and the chance term is non-negative. Once the least such bound exceeds the topN-th cheapest
   * final cost, nothing left can make the top N. Settled times and routes are those of the full
   * search, so the top N are the same. With a negative weight the bound does not hold: the search
   * runs to the end.
   */
  private searchForBest(nc: number, stayS: number, skip: number, from: LinkPosition | undefined, targets: number, startOffsetS: number, topN = 1): boolean {
    const roads = this.roads;
    const p = this.parking;
    const w = this.w;
    // From a kept tree every time is final already: nothing to search, nothing cut short.
    if (roads.complete) return false;
    if (this.options.exhaustive || !(w.walkFactor >= 0 && w.failS >= 0 && w.valueOfTimePerH > 0)) {
      roads.run(targets, MAX_DRIVE_S);
      return false;
    }
    // The part of each candidate's cost the search does not change (walk and fee); the candidates
    // by entrance link (a chain per link, for the one just settled); those with an entrance ahead
    // on `from`'s link (reached along it, without the search).
    const stamp = ++this.linkStampGen;
    let nDirect = 0;
    let nOrder = 0;
    for (let j = 0; j < nc; j++) {
      const k = this.cand[j]!;
      this.candStaticS[j] = w.walkFactor * (this.candWalkM[j]! / w.walkSpeedMps) + (3600 * priceOfStay(p, k, stayS)) / w.valueOfTimePerH;
      if (k === skip) continue;
      this.order[nOrder++] = j;
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        const link = p.entranceLink[e]!;
        if (this.linkStamp[link] !== stamp) {
          this.linkStamp[link] = stamp;
          this.linkHead[link] = -1;
        }
        // Chain entry e (an entrance of candidate j) onto its link.
        this.entCand[e] = j;
        this.entNext[e] = this.linkHead[link]!;
        this.linkHead[link] = e;
        if (from && link === from.link && p.entrancePositionM[e]! >= from.positionM) {
          this.directJ[nDirect] = j;
          this.directS[nDirect] = (p.entrancePositionM[e]! - from.positionM) / roads.linkSpeedMps[from.link]!;
          nDirect++;
        }
      }
    }
    // Cheapest walk-and-fee first, so the least among the candidates not yet final is found by skipping the final ones.
    const order = this.order.subarray(0, nOrder).sort((a, b) => this.candStaticS[a]! - this.candStaticS[b]!);
    let lo = 0;
    let best = Number.POSITIVE_INFINITY;
    let stopped = false;
    let nBest = 0;
    const tops = this.tops;
    let left = targets;
    while (left > 0) {
      // The least cost any candidate not yet final can still reach (drive ≥ the heap's smallest key).
      while (lo < nOrder && this.candFinal[order[lo]!] === 1) lo++;
      let bound = lo < nOrder ? roads.minKeyS() + this.candStaticS[order[lo]!]! : Number.POSITIVE_INFINITY;
      for (let d = 0; d < nDirect; d++) {
        const j = this.directJ[d]!;
        if (this.candFinal[j] === 0) bound = Math.min(bound, this.directS[d]! + this.candStaticS[j]!);
      }
      // A margin for rounding: the bound adds the same terms as the cost, in another order.
      if (bound > best + 1e-9 * (1 + best)) {
        stopped = true;
        break;
      }
      const link = roads.settleNextTarget(MAX_DRIVE_S);
      if (link < 0) break;
      left--;
      if (this.linkStamp[link] !== stamp) continue;
      for (let e0 = this.linkHead[link]!; e0 >= 0; e0 = this.entNext[e0]!) {
        const j = this.entCand[e0]!;
        if (this.candFinal[j] === 1) continue;
        const k = this.cand[j]!;
        let all = true;
        for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) if (!roads.reached(p.entranceLink[e]!)) all = false;
        if (!all) continue;
        // Every entrance of car park k is settled: its drive, and so its cost, is final.
        this.candFinal[j] = 1;
        this.driveTimeOf(j, from);
        const c = this.costOf(j, stayS, startOffsetS);
        // A refused one (negative) bounds nothing; `best` is the topN-th cheapest final cost.
        if (c >= 0 && (nBest < topN || c < tops[nBest - 1]!)) {
          let at = nBest < topN ? nBest++ : nBest - 1;
          while (at > 0 && tops[at - 1]! > c) {
            tops[at] = tops[at - 1]!;
            at--;
          }
          tops[at] = c;
          if (nBest === topN) best = tops[topN - 1]!;
        }
      }
    }
    this.candFinal.fill(0, 0, nc);
    return stopped;
  }

  /** Directs the search at the smallest circle round the destination holding every candidate entrance (but `skip`'s). */
  private aimAt(lon: number, lat: number, nc: number, skip: number): void {
    if (this.options.exhaustive) return;
    const p = this.parking;
    const g = this.pt;
    this.roads.planePoint(lon, lat, g);
    const gx = g.x;
    const gy = g.y;
    let r = 0;
    for (let j = 0; j < nc; j++) {
      const k = this.cand[j]!;
      if (k === skip) continue;
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        this.roads.pointOn(p.entranceLink[e]!, p.entrancePositionM[e]!, g);
        r = Math.max(r, Math.hypot(g.x - gx, g.y - gy));
      }
    }
    this.roads.setGoal(gx, gy, r + 1);
  }

  /** The answer for rank slot i, with its route (from `origin`, the search's start). */
  private recommendationOf(i: number, origin: LinkPosition | undefined): Recommendation {
    const j = this.topJ[i]!;
    const entrance = this.candEntrance[j]!;
    const t = this.topParts;
    const b = i * TOP_PARTS;
    return {
      carPark: this.cand[j]!,
      entrance,
      driveS: this.candDriveS[j]!,
      walkM: this.candWalkM[j]!,
      walkS: t[b + 5]!,
      price: t[b + 6]!,
      pFree: t[b + 4]!,
      expectedFree: t[b + 1]!,
      freeP10: t[b + 2]!,
      freeP90: t[b + 3]!,
      arrivalMs: t[b]!,
      costS: this.topCost[i]!,
      route: this.candDirect[j] === 1 && origin ? [this.roads.linkIds[origin.link]!] : this.roads.route(this.parking.entranceLink[entrance]!),
    };
  }

  /** Drive time to each candidate's best entrance (Infinity if none was reached); an entrance ahead on the origin link is reached directly. */
  private driveTimes(nc: number, origin: LinkPosition | undefined): void {
    for (let j = 0; j < nc; j++) this.driveTimeOf(j, origin);
  }

  private driveTimeOf(j: number, origin: LinkPosition | undefined): void {
    const p = this.parking;
    const roads = this.roads;
    const k = this.cand[j]!;
    let best = Number.POSITIVE_INFINITY;
    let bestE = -1;
    let direct = 0;
    for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
      const link = p.entranceLink[e]!;
      const pos = p.entrancePositionM[e]!;
      const viaSearch = roads.timeToPoint(link, pos);
      const ahead = origin && origin.link === link && pos >= origin.positionM ? (pos - origin.positionM) / roads.linkSpeedMps[link]! : Number.POSITIVE_INFINITY;
      const t = Math.min(viaSearch, ahead);
      if (t < best) {
        best = t;
        bestE = e;
        direct = ahead <= viaSearch ? 1 : 0;
      }
    }
    this.candDriveS[j] = best;
    this.candEntrance[j] = bestE;
    this.candDirect[j] = direct;
  }

  /**
   * The `topN` cheapest candidates (skipping car park `skip`) into the rank slots, cheapest first
   * (of equal costs, the one met first); returns how many. `startOffsetS` is added to every drive
   * time for the arrival (the fallback starts at the first car park's arrival).
   */
  private rank(nc: number, stayS: number, topN: number, skip: number, refused: Record<RefusalReason, number> | undefined, startOffsetS = 0, stopped = false): number {
    const ev = this.ev;
    const topJ = this.topJ;
    const topCost = this.topCost;
    const parts = this.topParts;
    let n = 0;
    for (let j = 0; j < nc; j++) {
      const k = this.cand[j]!;
      if (k === skip) continue;
      const costS = this.costOf(j, stayS, startOffsetS);
      if (costS === UNREACHABLE || costS === CLOSED || costS === UNKNOWN) {
        if (refused && !(stopped && this.candDriveS[j] === Number.POSITIVE_INFINITY)) refused[costS === UNREACHABLE ? 'unreachable' : costS === CLOSED ? 'closed' : 'unknown']++;
        continue;
      }
      if (n === topN && costS >= topCost[topN - 1]!) continue;
      let at = n === topN ? topN - 1 : n++;
      while (at > 0 && topCost[at - 1]! > costS) {
        topJ[at] = topJ[at - 1]!;
        topCost[at] = topCost[at - 1]!;
        parts.copyWithin(at * TOP_PARTS, (at - 1) * TOP_PARTS, at * TOP_PARTS);
        at--;
      }
      topJ[at] = j;
      topCost[at] = costS;
      const b = at * TOP_PARTS;
      parts[b] = ev.arrivalMs;
      parts[b + 1] = ev.expectedFree;
      parts[b + 2] = ev.freeP10;
      parts[b + 3] = ev.freeP90;
      parts[b + 4] = ev.pFree;
      parts[b + 5] = ev.walkS;
      parts[b + 6] = ev.price;
    }
    return n;
  }

  /**
   * Expected total cost of candidate j with its drive time as found (`this.ev` gets the parts),
   * or UNREACHABLE / CLOSED / UNKNOWN (negative) when it is refused at this point.
   */
  private costOf(j: number, stayS: number, startOffsetS: number): number {
    const p = this.parking;
    const w = this.w;
    const k = this.cand[j]!;
    const driveS = this.candDriveS[j]!;
    if (!(driveS <= MAX_DRIVE_S)) return UNREACHABLE;
    const arrivalMs = this.hasArrival ? this.arrivalMs : this.nowMs + (startOffsetS + driveS) * 1000;
    if (!isOpenAt(p, k, arrivalMs)) return CLOSED;
    const pred = this.pred;
    this.source.predictFreeInto(k, arrivalMs, this.nowMs, pred);
    if (!Number.isFinite(pred.expected)) return UNKNOWN;
    // Spaces of a needed type: the prediction is for all spaces, so take the type's share.
    let share = 1;
    for (let i = 0; i < this.nNeeds; i++) share = Math.min(share, p.capacityByType[k * SPACE_TYPE_COUNT + this.needIdx[i]!]! / p.capacity[k]!);
    const ev = this.ev;
    ev.arrivalMs = arrivalMs;
    ev.expectedFree = pred.expected * share;
    ev.freeP10 = pred.p10 * share;
    ev.freeP90 = pred.p90 * share;
    ev.pFree = probabilityFree(ev.expectedFree, ev.freeP10, ev.freeP90);
    ev.walkS = this.candWalkM[j]! / w.walkSpeedMps;
    ev.price = priceOfStay(p, k, stayS);
    return driveS + w.walkFactor * ev.walkS + (3600 * ev.price) / w.valueOfTimePerH + (1 - ev.pFree) * w.failS;
  }
}

/**
 * P(free ≥ 1) for a prediction with a 10–90 % band, by a normal approximation with
 * continuity correction: σ = (p90 − p10) / 2.563; no band = certain.
 */
export function probabilityFree(expected: number, p10: number, p90: number): number {
  const sigma = (p90 - p10) / (2 * Z90);
  if (!(sigma > 1e-9)) return expected >= 0.5 ? 1 : 0;
  return normalCdf((expected - 0.5) / sigma);
}

/** Φ(x), the standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Great-circle distance, m. */
export function haversineM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r;
  const dLon = (lon2 - lon1) * r;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
