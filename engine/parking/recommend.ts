/**
 * Parking recommendations (停车诱导): for a destination, an arrival time, a
 * vehicle and the driver's preferences, the car parks ranked by expected total
 * cost, the route to each one's entrance, and a fallback (the best car park to
 * drive on to if the first is full on arrival). Called by the gRPC service
 * (service/parkingService.ts) and the benchmark (bench/parking/recommend.ts).
 *
 * Expected total cost of car park k, in seconds of driving (docs/parking.md):
 *   driveS_k                       shortest drive over the network (./roads.ts: free flow + the plan's signal delays)
 * + walkFactor · walkS_k           walk from the car park to the destination (haversine × detourFactor at walkSpeedMps)
 * + 3600 · price_k / valueOfTimePerH   the fee for the stay (./load.ts priceOfStay)
 * + (1 − P_k) · failS              P_k = P(at least one free space on arrival) from the occupancy source's prediction
 * Refused outright (counted in `refused`, never ranked): closed now or at arrival, `unknown`
 * (a stale feed: never shown as having space), too high for the entrance, without the space
 * type the vehicle needs, beyond maxWalkM, or not reachable within maxDriveS.
 *
 * Hot path: candidates are first cut by walking distance (a scan of typed arrays), then one
 * Dijkstra that ends once every candidate's entrance link is settled; the top N are kept by
 * insertion into fixed arrays. One Recommender per thread (its scratch is shared).
 */
import { OptionError } from '../errors.js';
import type { CompiledParking } from './load.js';
import { SPACE_TYPE_COUNT, isOpenAt, priceOfStay } from './load.js';
import type { RoadGraph, LinkPosition } from './roads.js';
import { SPACE_TYPES, type SpaceType } from './schema.js';
import type { OccupancySource } from './source.js';

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

type Ranked = Omit<Recommendation, 'route'> & { readonly direct: boolean };

/** Longest drive searched, s: beyond it a car park is `unreachable`. */
const MAX_DRIVE_S = 3600;
/** 10–90 % band of a normal = ±1.2816 σ. */
const Z90 = 1.2815515655446004;
const EARTH_RADIUS_M = 6_371_008.8;

export class Recommender {
  private readonly cand: Int32Array;
  private readonly candWalkM: Float64Array;
  private readonly candDriveS: Float64Array;
  private readonly candEntrance: Int32Array;
  /** 1 where the best entrance is ahead on the origin link itself (no search path to it). */
  private readonly candDirect: Uint8Array;
  private readonly pt = { x: 0, y: 0 };

  constructor(
    readonly parking: CompiledParking,
    readonly roads: RoadGraph,
    readonly source: OccupancySource,
  ) {
    const n = parking.carParkCount;
    this.cand = new Int32Array(n);
    this.candWalkM = new Float64Array(n);
    this.candDriveS = new Float64Array(n);
    this.candEntrance = new Int32Array(n);
    this.candDirect = new Uint8Array(n);
  }

  recommend(q: RecommendQuery): RecommendResult {
    const p = this.parking;
    const w: CostWeights = q.preferences?.weights ? { ...DEFAULT_WEIGHTS, ...q.preferences.weights } : DEFAULT_WEIGHTS;
    const maxWalkM = q.preferences?.maxWalkM ?? 1000;
    const stayS = q.preferences?.stayS ?? 7200;
    const topN = q.preferences?.topN ?? 3;
    if (!(topN >= 1 && Number.isInteger(topN))) throw new OptionError('preferences.topN', `must be a whole number >= 1, got ${topN}`);
    const heightM = q.vehicle?.heightM ?? 0;
    const needs = q.vehicle?.needs ?? [];
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
    for (let k = 0; k < p.carParkCount; k++) {
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
      for (const t of needs) if (p.capacityByType[k * SPACE_TYPE_COUNT + SPACE_TYPES.indexOf(t)]! <= 0) fits = false;
      if (!fits) {
        refused.spaceType++;
        continue;
      }
      const status = this.source.state(k, q.nowMs).status;
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

    // 2. One search from the driver to every candidate's entrances, directed at the circle round the destination they lie in.
    this.aimAt(dLon, dLat, nc, -1);
    const origin = 'link' in q.origin ? q.origin : undefined;
    if (origin) roads.seedFromLink(origin);
    else roads.seedFromIntersection((q.origin as { intersection: number }).intersection);
    if (nc > 0) roads.run(targets, MAX_DRIVE_S);
    this.driveTimes(nc, origin);

    const top = this.rank(q, nc, w, stayS, topN, -1, refused);
    const ranked = top.map((r) => this.withRoute(r, origin));

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
      this.aimAt(dLon, dLat, nc, first.carPark);
      roads.seedFromLink(from);
      roads.run(t2, MAX_DRIVE_S);
      this.driveTimes(nc, from);
      const alt = this.rank({ ...q, arrivalMs: undefined }, nc, w, stayS, 1, first.carPark, undefined, first.arrivalMs - q.nowMs);
      if (alt[0]) fallback = this.withRoute(alt[0], from);
    }
    return { ranked, fallback, refused };
  }

  /** Directs the search at the smallest circle round the destination holding every candidate entrance (but `skip`'s). */
  private aimAt(lon: number, lat: number, nc: number, skip: number): void {
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

  private withRoute(r: Ranked, origin: LinkPosition | undefined): Recommendation {
    const { direct, ...rest } = r;
    return { ...rest, route: direct && origin ? [this.roads.linkIds[origin.link]!] : this.roads.route(this.parking.entranceLink[r.entrance]!) };
  }

  /** Drive time to each candidate's best entrance (Infinity if none was reached); an entrance ahead on the origin link is reached directly. */
  private driveTimes(nc: number, origin: LinkPosition | undefined): void {
    const p = this.parking;
    const roads = this.roads;
    for (let j = 0; j < nc; j++) {
      const k = this.cand[j]!;
      let best = Number.POSITIVE_INFINITY;
      let bestE = -1;
      let direct = 0;
      for (let e = p.entranceStart[k]!; e < p.entranceStart[k + 1]!; e++) {
        const link = p.entranceLink[e]!;
        const pos = p.entrancePositionM[e]!;
        const viaSearch = roads.timeTo({ link, positionM: pos });
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
  }

  /**
   * The `topN` cheapest candidates (skipping car park `skip`); `startOffsetS` is added to every
   * drive time for the arrival (the fallback starts at the first car park's arrival).
   */
  private rank(q: RecommendQuery, nc: number, w: CostWeights, stayS: number, topN: number, skip: number, refused: Record<RefusalReason, number> | undefined, startOffsetS = 0): Ranked[] {
    const p = this.parking;
    const needs = q.vehicle?.needs ?? [];
    const out: Ranked[] = [];
    for (let j = 0; j < nc; j++) {
      const k = this.cand[j]!;
      if (k === skip) continue;
      const driveS = this.candDriveS[j]!;
      if (!(driveS <= MAX_DRIVE_S)) {
        if (refused) refused.unreachable++;
        continue;
      }
      const arrivalMs = q.arrivalMs ?? q.nowMs + (startOffsetS + driveS) * 1000;
      if (!isOpenAt(p, k, arrivalMs)) {
        if (refused) refused.closed++;
        continue;
      }
      const pred = this.source.predictFree(k, arrivalMs, q.nowMs);
      if (!Number.isFinite(pred.expected)) {
        if (refused) refused.unknown++;
        continue;
      }
      // Spaces of a needed type: the prediction is for all spaces, so take the type's share.
      let share = 1;
      for (const t of needs) share = Math.min(share, p.capacityByType[k * SPACE_TYPE_COUNT + SPACE_TYPES.indexOf(t)]! / p.capacity[k]!);
      const expectedFree = pred.expected * share;
      const pFree = probabilityFree(expectedFree, pred.p10 * share, pred.p90 * share);
      const walkM = this.candWalkM[j]!;
      const walkS = walkM / w.walkSpeedMps;
      const price = priceOfStay(p, k, stayS);
      const costS = driveS + w.walkFactor * walkS + (3600 * price) / w.valueOfTimePerH + (1 - pFree) * w.failS;
      if (out.length === topN && costS >= out[topN - 1]!.costS) continue;
      const r: Ranked = { carPark: k, entrance: this.candEntrance[j]!, direct: this.candDirect[j] === 1, driveS, walkM, walkS, price, pFree, expectedFree, freeP10: pred.p10 * share, freeP90: pred.p90 * share, arrivalMs, costS };
      let at = out.length === topN ? topN - 1 : out.length;
      if (out.length < topN) out.push(r);
      while (at > 0 && out[at - 1]!.costS > costS) {
        out[at] = out[at - 1]!;
        at--;
      }
      out[at] = r;
    }
    return out;
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
