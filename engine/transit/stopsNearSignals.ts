/**
 * Where a transit trip meets the signals of a greenwave network. For each trip
 * the path is its shape (shapes.txt) or, without one, the straight lines between
 * its stops. A signalised intersection is passed when the path comes within
 * `radiusM` of it between the first and the last stop of the trip. For each pass:
 *  - the movement: approach = travel direction from a path point at least
 *    `lookM` before the intersection (the previous stop or shape point) to the
 *    intersection; turn from the angle between that incoming direction and the
 *    outgoing one (to a path point at least `lookM` after): within ±45° → T,
 *    45–135° counter-clockwise → L, clockwise → R, beyond → U;
 *  - the stops before and after it along the path;
 *  - the scheduled time: departure from the stop before + (arrival at the stop
 *    after − that departure) · share of the distance between them.
 * Distances are along the path in a local equirectangular projection (exact
 * enough at city scale); the radius test uses the haversine distance.
 */
import { travelDirection } from '../network/geometry.js';
import type { ApproachId, Intersection, Network, Turn } from '../network/schema.js';
import { EARTH_RADIUS_M, haversineM, RAD_PER_DEG, type LonLat } from './geo.js';
import type { GtfsFeed, GtfsStopTime } from './gtfsFeed.js';

/** A polyline in a local plane with cumulative distance. */
export class TripPath {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Cumulative distance at each vertex, m. */
  readonly cum: Float64Array;
  private readonly lat0: number;
  private readonly lon0: number;
  private readonly kx: number;
  readonly points: readonly LonLat[];

  constructor(points: readonly LonLat[]) {
    if (points.length < 2) throw new RangeError('a path needs at least two points');
    this.points = points;
    this.lat0 = points.reduce((s, p) => s + p.lat, 0) / points.length;
    this.lon0 = points[0]!.lon;
    this.kx = Math.cos(this.lat0 * RAD_PER_DEG) * EARTH_RADIUS_M * RAD_PER_DEG;
    const n = points.length;
    this.x = new Float64Array(n);
    this.y = new Float64Array(n);
    this.cum = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const [x, y] = this.toXY(points[k]!);
      this.x[k] = x;
      this.y[k] = y;
      if (k > 0) this.cum[k] = this.cum[k - 1]! + Math.hypot(x - this.x[k - 1]!, y - this.y[k - 1]!);
    }
  }

  get lengthM(): number {
    return this.cum[this.cum.length - 1]!;
  }

  toXY(p: LonLat): [number, number] {
    return [(p.lon - this.lon0) * this.kx, (p.lat - this.lat0) * EARTH_RADIUS_M * RAD_PER_DEG];
  }

  toLonLat(x: number, y: number): LonLat {
    return { lon: this.lon0 + x / this.kx, lat: this.lat0 + y / (EARTH_RADIUS_M * RAD_PER_DEG) };
  }

  /** Projection of p on segment k: distance along the path and offset from it. */
  projectOnSegment(p: LonLat, k: number): { alongM: number; offsetM: number } {
    const [px, py] = this.toXY(p);
    const ax = this.x[k]!;
    const ay = this.y[k]!;
    const dx = this.x[k + 1]! - ax;
    const dy = this.y[k + 1]! - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
    const qx = ax + t * dx;
    const qy = ay + t * dy;
    return { alongM: this.cum[k]! + t * Math.sqrt(len2), offsetM: Math.hypot(px - qx, py - qy) };
  }

  /** Closest projection of p on the path at or after `fromM` along it. */
  project(p: LonLat, fromM = 0): { alongM: number; offsetM: number } {
    let best = { alongM: NaN, offsetM: Infinity };
    for (let k = 0; k + 1 < this.x.length; k++) {
      if (this.cum[k + 1]! < fromM) continue;
      const q = this.projectOnSegment(p, k);
      if (q.alongM < fromM) continue;
      if (q.offsetM < best.offsetM - 1e-9) best = q;
    }
    return best;
  }

  /** The point at distance s along the path (clamped). */
  pointAt(s: number): LonLat {
    const n = this.cum.length;
    if (s <= 0) return this.points[0]!;
    if (s >= this.lengthM) return this.points[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! <= s) lo = mid;
      else hi = mid;
    }
    const seg = this.cum[hi]! - this.cum[lo]!;
    const t = seg > 0 ? (s - this.cum[lo]!) / seg : 0;
    return this.toLonLat(this.x[lo]! + t * (this.x[hi]! - this.x[lo]!), this.y[lo]! + t * (this.y[hi]! - this.y[lo]!));
  }

  /** Last vertex at or before s − gap (else the first vertex). */
  vertexBefore(s: number, gapM: number): LonLat {
    for (let k = this.cum.length - 1; k >= 0; k--) if (this.cum[k]! <= s - gapM) return this.points[k]!;
    return this.points[0]!;
  }

  /** First vertex at or after s + gap (else the last vertex). */
  vertexAfter(s: number, gapM: number): LonLat {
    for (let k = 0; k < this.cum.length; k++) if (this.cum[k]! >= s + gapM) return this.points[k]!;
    return this.points[this.cum.length - 1]!;
  }
}

export interface TripStop {
  readonly stopId: string;
  readonly stopSequence: number;
  readonly alongM: number;
  readonly arrivalS: number;
  readonly departureS: number;
}

export interface SignalPass {
  readonly intersectionId: string;
  /** Movement id such as "EBT". */
  readonly movementId: string;
  readonly approach: ApproachId;
  readonly turn: Turn;
  /** Scheduled time at the intersection, s after midnight of the service day. */
  readonly scheduledS: number;
  /** Distance of the intersection along the trip path, m. */
  readonly alongM: number;
  /** Distance of the intersection from the path, m. */
  readonly offsetM: number;
  /** Stop before and after the intersection along the path (indices into TripSignals.stops). */
  readonly stopBefore: number;
  readonly stopAfter: number;
  /** Whether the intersection has this approach with a lane for this turn. */
  readonly served: boolean;
}

export interface TripSignals {
  readonly tripId: string;
  readonly routeId: string;
  readonly directionId: number | undefined;
  readonly path: TripPath;
  readonly stops: readonly TripStop[];
  /** In the order the trip passes them. */
  readonly passes: readonly SignalPass[];
}

export interface MatchOptions {
  /** Largest distance between an intersection and the trip path, m. Default 150. */
  readonly radiusM?: number;
  /** Distance before/after the intersection used for the incoming/outgoing direction, m. Default 20. */
  readonly lookM?: number;
}

/** Signals passed by every trip of the feed; trips meeting none are kept with an empty list. */
export function signalsForTrips(net: Network, feed: GtfsFeed, opts: MatchOptions = {}): Map<string, TripSignals> {
  const out = new Map<string, TripSignals>();
  for (const trip of feed.trips.values()) {
    const sts = feed.stopTimes.get(trip.tripId);
    if (!sts) continue;
    out.set(trip.tripId, signalsForTrip(net, feed, trip.tripId, sts, opts));
  }
  return out;
}

export function signalsForTrip(net: Network, feed: GtfsFeed, tripId: string, sts: readonly GtfsStopTime[], opts: MatchOptions = {}): TripSignals {
  const radiusM = opts.radiusM ?? 150;
  const lookM = opts.lookM ?? 20;
  const trip = feed.trips.get(tripId)!;
  const stopPos = sts.map((st) => feed.stops.get(st.stopId)!);
  const shape = trip.shapeId !== undefined ? feed.shapes.get(trip.shapeId) : undefined;
  const path = new TripPath(shape && shape.length >= 2 ? shape : dedupe(stopPos));

  // Stops along the path, monotonic.
  const stops: TripStop[] = [];
  let from = 0;
  sts.forEach((st, k) => {
    const q = path.project(stopPos[k]!, from);
    const alongM = Number.isFinite(q.alongM) ? q.alongM : from;
    from = alongM;
    stops.push({ stopId: st.stopId, stopSequence: st.stopSequence, alongM, arrivalS: st.arrivalS, departureS: st.departureS });
  });
  const firstM = stops[0]!.alongM;
  const lastM = stops[stops.length - 1]!.alongM;

  const passes: SignalPass[] = [];
  for (const ix of net.intersections) {
    for (const hit of passesOf(path, ix.position, radiusM)) {
      if (hit.alongM < firstM || hit.alongM > lastM) continue;
      if (haversineM(ix.position, path.pointAt(hit.alongM)) > radiusM) continue;
      const before = path.vertexBefore(hit.alongM, lookM);
      const after = path.vertexAfter(hit.alongM, lookM);
      const { approach, turn } = movementOf(before, ix.position, after);
      let b = 0;
      while (b + 1 < stops.length && stops[b + 1]!.alongM <= hit.alongM) b++;
      const a = Math.min(stops.length - 1, b + 1);
      passes.push({
        intersectionId: ix.id,
        movementId: `${approach}${turn}`,
        approach,
        turn,
        scheduledS: scheduledAt(stops, hit.alongM),
        alongM: hit.alongM,
        offsetM: hit.offsetM,
        stopBefore: b,
        stopAfter: a,
        served: serves(ix, approach, turn),
      });
    }
  }
  passes.sort((p, q) => p.alongM - q.alongM);
  return { tripId, routeId: trip.routeId, directionId: trip.directionId, path, stops, passes };
}

function dedupe(points: readonly LonLat[]): LonLat[] {
  const out: LonLat[] = [];
  for (const p of points) {
    const q = out[out.length - 1];
    if (!q || q.lat !== p.lat || q.lon !== p.lon) out.push(p);
  }
  if (out.length === 1) out.push(out[0]!);
  return out;
}

/**
 * Every separate pass of the path near a point: segment projections within the
 * radius, grouped when they are close along the path, best offset per group
 * (a loop that crosses the same intersection twice gives two passes).
 */
function passesOf(path: TripPath, p: LonLat, radiusM: number): { alongM: number; offsetM: number }[] {
  const hits: { alongM: number; offsetM: number }[] = [];
  for (let k = 0; k + 1 < path.x.length; k++) {
    const q = path.projectOnSegment(p, k);
    if (q.offsetM <= radiusM) hits.push(q);
  }
  hits.sort((a, b) => a.alongM - b.alongM);
  const out: { alongM: number; offsetM: number }[] = [];
  let lastAlong = -Infinity;
  for (const h of hits) {
    const cur = out[out.length - 1];
    if (cur && h.alongM - lastAlong <= 2 * radiusM) {
      if (h.offsetM < cur.offsetM) out[out.length - 1] = h;
    } else out.push(h);
    lastAlong = h.alongM;
  }
  return out;
}

/** Approach and turn of a vehicle coming from `before`, through `at`, on to `after`. */
export function movementOf(before: LonLat, at: LonLat, after: LonLat): { approach: ApproachId; turn: Turn } {
  const vec = (a: LonLat, b: LonLat): [number, number] => [(b.lon - a.lon) * Math.cos(((a.lat + b.lat) / 2) * RAD_PER_DEG), b.lat - a.lat];
  const inV = vec(before, at);
  const outV = vec(at, after);
  const inLen = Math.hypot(inV[0], inV[1]);
  const outLen = Math.hypot(outV[0], outV[1]);
  // At a path end there is only one direction: call it a through movement.
  if (inLen < 1e-7) return { approach: travelDirection(at, after), turn: 'T' };
  const approach = travelDirection(before, at);
  if (outLen < 1e-7) return { approach, turn: 'T' };
  const angle = Math.atan2(inV[0] * outV[1] - inV[1] * outV[0], inV[0] * outV[0] + inV[1] * outV[1]) / RAD_PER_DEG;
  const turn: Turn = Math.abs(angle) <= 45 ? 'T' : Math.abs(angle) >= 135 ? 'U' : angle > 0 ? 'L' : 'R';
  return { approach, turn };
}

function serves(ix: Intersection, approach: ApproachId, turn: Turn): boolean {
  const a = ix.approaches.find((x) => x.id === approach);
  return !!a && a.lanes.some((l) => l.movements.includes(turn));
}

/**
 * Scheduled time at distance s along the trip: at a stop's position the
 * departure, between stops linear in distance from departure to arrival.
 */
export function scheduledAt(stops: readonly TripStop[], s: number): number {
  if (s <= stops[0]!.alongM) return stops[0]!.departureS;
  for (let k = 0; k + 1 < stops.length; k++) {
    const a = stops[k]!;
    const b = stops[k + 1]!;
    if (s > b.alongM) continue;
    const span = b.alongM - a.alongM;
    const f = span > 0 ? (s - a.alongM) / span : 1;
    return f >= 1 ? b.departureS : a.departureS + f * (b.arrivalS - a.departureS);
  }
  return stops[stops.length - 1]!.arrivalS;
}
