/**
 * GTFS-realtime vehicle positions → transit priority request candidates.
 * For each vehicle on a known trip: its distance along the trip path (position
 * projected on the path), the next signalised intersection ahead that it has
 * not passed yet, the ETA there (distance / reported speed plus the scheduled
 * dwell at stops in between, or the scheduled running time when no usable speed
 * is reported), its lateness (observation time vs the schedule interpolated at
 * its position) and its occupancy (percentage). The output carries the
 * TspRequest fields with intersection and movement ids; the caller maps them to
 * indices of its compiled network.
 * Times: vehicle timestamps are Unix seconds; schedules are seconds after
 * midnight of the service day in the agency time zone (or `serviceDayStartS`).
 * A buffer that is not a FeedMessage is a GreenwaveError; a vehicle that cannot
 * be used (no trip, unknown trip, off route, no signal ahead, …) is listed in
 * `skipped` with the reason and never stops the others.
 */
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { ErrorCode, GreenwaveError } from '../errors.js';
import type { Network } from '../network/schema.js';
import { PriorityClass } from '../priority/policy.js';
import { serviceRuns, type GtfsFeed } from './gtfsFeed.js';
import { scheduledAt, signalsForTrips, type MatchOptions, type SignalPass, type TripSignals } from './stopsNearSignals.js';

const rt = GtfsRealtimeBindings.transit_realtime;
type FeedMessage = GtfsRealtimeBindings.transit_realtime.FeedMessage;
type IVehiclePosition = GtfsRealtimeBindings.transit_realtime.IVehiclePosition;
const OccupancyStatus = rt.VehiclePosition.OccupancyStatus;

/** Share of seats/standing room used, by GTFS-realtime OccupancyStatus (percent). */
export const OCCUPANCY_PERCENT: Readonly<Record<number, number | undefined>> = {
  [OccupancyStatus.EMPTY]: 0,
  [OccupancyStatus.MANY_SEATS_AVAILABLE]: 25,
  [OccupancyStatus.FEW_SEATS_AVAILABLE]: 60,
  [OccupancyStatus.STANDING_ROOM_ONLY]: 80,
  [OccupancyStatus.CRUSHED_STANDING_ROOM_ONLY]: 95,
  [OccupancyStatus.FULL]: 100,
  [OccupancyStatus.NOT_ACCEPTING_PASSENGERS]: 100,
  [OccupancyStatus.NO_DATA_AVAILABLE]: undefined,
  [OccupancyStatus.NOT_BOARDABLE]: undefined,
};

/** Static data the realtime step needs: trips with their signal passes and the scheduled headways. */
export interface TransitIndex {
  readonly feed: GtfsFeed;
  readonly trips: ReadonlyMap<string, TripSignals>;
  /** Agency time zone (IANA) used to place schedule times on the Unix clock. */
  readonly timezone: string;
  /**
   * Per trip and pass index: scheduled gap to the previous trip of the route/direction at that
   * signal among the trips that run on the service day `yyyymmdd`, and that trip's id.
   */
  previousOn(yyyymmdd: number): ReadonlyMap<string, readonly ({ tripId: string; headwayS: number } | undefined)[]>;
}

export function buildTransitIndex(net: Network, feed: GtfsFeed, opts: MatchOptions & { timezone?: string } = {}): TransitIndex {
  const trips = signalsForTrips(net, feed, opts);
  const groups = new Map<string, { tripId: string; pass: number; s: number }[]>();
  for (const t of trips.values()) {
    t.passes.forEach((p, k) => {
      const key = `${t.routeId}\u0000${t.directionId ?? ''}\u0000${p.intersectionId}\u0000${p.movementId}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push({ tripId: t.tripId, pass: k, s: p.scheduledS });
    });
  }
  for (const g of groups.values()) g.sort((a, b) => a.s - b.s);
  // Weekday and weekend trips must not count as each other's predecessors: headways per service day.
  const byDay = new Map<number, Map<string, ({ tripId: string; headwayS: number } | undefined)[]>>();
  const previousOn = (yyyymmdd: number) => {
    const hit = byDay.get(yyyymmdd);
    if (hit) return hit;
    const previous = new Map<string, ({ tripId: string; headwayS: number } | undefined)[]>();
    for (const t of trips.values()) previous.set(t.tripId, new Array(t.passes.length).fill(undefined));
    const runs = (tripId: string) => serviceRuns(feed, feed.trips.get(tripId)?.serviceId ?? '', yyyymmdd);
    for (const g of groups.values()) {
      let last: { tripId: string; s: number } | undefined;
      for (const x of g) {
        if (!runs(x.tripId)) continue;
        if (last) previous.get(x.tripId)![x.pass] = { tripId: last.tripId, headwayS: x.s - last.s };
        last = x;
      }
    }
    if (byDay.size > 31) byDay.clear();
    byDay.set(yyyymmdd, previous);
    return previous;
  };
  return { feed, trips, timezone: opts.timezone ?? feed.agencies[0]?.timezone ?? 'UTC', previousOn };
}

/** A priority request before the caller maps ids to indices: TspRequest fields plus how they were found. */
export interface PriorityCandidate {
  readonly vehicleId: string;
  readonly routeId: string;
  readonly tripId: string;
  readonly intersectionId: string;
  readonly movementId: string;
  /** Expected arrival at the intersection, Unix s. */
  readonly arrivalS: number;
  /** Positive = late, s. */
  readonly latenessS: number;
  /** Percent, 0 when the feed reports none. */
  readonly occupancy: number;
  /** Estimated actual headway to the previous trip at this signal, s; 0 = unknown (that vehicle is not in the feed). */
  readonly headwayS: number;
  readonly priorityClass: PriorityClass;
  // --- provenance
  /** When the vehicle was observed, Unix s. */
  readonly observedS: number;
  readonly etaS: number;
  readonly distanceM: number;
  readonly speedMps: number;
  readonly speedSource: 'reported' | 'schedule';
  /** Scheduled time at the intersection, Unix s. */
  readonly scheduledArrivalS: number;
  /** Scheduled gap to the previous trip of the route at this signal, s; 0 if none. */
  readonly scheduledHeadwayS: number;
  /** Distance of the vehicle along its trip path and from it, m. */
  readonly alongM: number;
  readonly offRouteM: number;
  readonly served: boolean;
}

export interface SkippedVehicle {
  readonly entityId: string;
  readonly reason: string;
}

export interface CandidateResult {
  readonly candidates: PriorityCandidate[];
  readonly skipped: SkippedVehicle[];
  readonly feedTimestampS: number | undefined;
}

export interface CandidateOptions {
  /** The caller's clock, Unix s: used when a vehicle has no timestamp and for the staleness check. */
  readonly nowS?: number;
  /** Unix s of midnight of the service day; otherwise derived from the time zone. */
  readonly serviceDayStartS?: number;
  /** Positions older than this (vs nowS) are skipped, s. Default 120. */
  readonly maxAgeS?: number;
  /** Vehicles further than this from their trip path are skipped, m. Default 200. */
  readonly offRouteM?: number;
  /** Reported speeds below this are not used for the ETA, m/s. Default 1. */
  readonly minSpeedMps?: number;
  readonly priorityClass?: PriorityClass;
}

/** Decodes a GTFS-realtime FeedMessage; anything else is a GreenwaveError (INVALID_INPUT). */
export function decodeFeedMessage(buffer: unknown): FeedMessage {
  if (!(buffer instanceof Uint8Array)) throw new GreenwaveError(ErrorCode.InvalidInput, `GTFS-realtime: expected a binary FeedMessage (Uint8Array), got ${buffer === null ? 'null' : typeof buffer}`);
  if (buffer.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, 'GTFS-realtime: empty buffer is not a FeedMessage');
  let msg: FeedMessage;
  try {
    msg = rt.FeedMessage.decode(buffer);
  } catch (e) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `GTFS-realtime: not a valid FeedMessage (${(e as Error).message})`, [], { cause: e });
  }
  const version = msg.header?.gtfsRealtimeVersion ?? '';
  if (!/^[12](\.\d+)?$/.test(version)) throw new GreenwaveError(ErrorCode.InvalidInput, `GTFS-realtime: unsupported gtfs_realtime_version "${version}"`);
  return msg;
}

function has(o: object | null | undefined, key: string): boolean {
  return !!o && Object.prototype.hasOwnProperty.call(o, key);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** One formatter per time zone: building an Intl.DateTimeFormat costs far more than using one, and every vehicle needs two readings. */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar fields of instant tS in time zone tz. */
function zoned(tS: number, tz: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  let f = zoneFormats.get(tz);
  if (!f) zoneFormats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })));
  const parts = f.formatToParts(new Date(tS * 1000));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Seconds since local midnight of instant tS in time zone tz. */
export function localSecondsOfDay(tS: number, tz: string): number {
  const z = zoned(tS, tz);
  return z.hour * 3600 + z.minute * 60 + z.second + (tS - Math.floor(tS));
}

/** The local date (yyyymmdd) of instant tS in time zone tz. */
export function localDate(tS: number, tz: string): number {
  const z = zoned(tS, tz);
  return z.year * 10000 + z.month * 100 + z.day;
}

/** Start of the service day the trip runs on (today or, for times past 24:00, yesterday). */
function serviceDayStart(tS: number, trip: TripSignals, tz: string): number {
  const today = tS - localSecondsOfDay(tS, tz);
  const first = trip.stops[0]!.departureS;
  const last = trip.stops[trip.stops.length - 1]!.arrivalS;
  const miss = (start: number) => {
    const s = tS - start;
    return s < first ? first - s : s > last ? s - last : 0;
  };
  return miss(today - 86_400) < miss(today) ? today - 86_400 : today;
}

interface Observed {
  entityId: string;
  vehicleId: string;
  routeId: string;
  trip: TripSignals;
  tS: number;
  dayStartS: number;
  /** The service day (yyyymmdd, agency time zone) the trip runs on. */
  serviceDate: number;
  alongM: number;
  offsetM: number;
  latenessS: number;
  occupancy: number;
  speed: number | undefined;
}

/** Priority request candidates from one FeedMessage buffer. */
export function priorityCandidates(buffer: unknown, index: TransitIndex, opts: CandidateOptions = {}): CandidateResult {
  const msg = decodeFeedMessage(buffer);
  const headerTs = has(msg.header, 'timestamp') ? toNumber(msg.header.timestamp) : undefined;
  const skipped: SkippedVehicle[] = [];
  const observed: Observed[] = [];
  for (const entity of msg.entity) {
    if (entity.isDeleted || !entity.vehicle) continue;
    const entityId = entity.id || '(no id)';
    const reason = observe(entityId, entity.vehicle, index, opts, headerTs, observed);
    if (reason) skipped.push({ entityId, reason });
  }

  const latenessByTrip = new Map(observed.map((o) => [o.trip.tripId, o.latenessS] as const));
  const candidates: PriorityCandidate[] = [];
  for (const o of observed) {
    const k = o.trip.passes.findIndex((p) => p.alongM > o.alongM);
    if (k < 0) {
      skipped.push({ entityId: o.entityId, reason: `trip "${o.trip.tripId}" has no signal ahead` });
      continue;
    }
    const pass = o.trip.passes[k]!;
    const { etaS, speedMps, source } = eta(o, pass, opts.minSpeedMps ?? 1);
    const prev = index.previousOn(o.serviceDate).get(o.trip.tripId)?.[k];
    const prevLate = prev ? latenessByTrip.get(prev.tripId) : undefined;
    candidates.push({
      vehicleId: o.vehicleId,
      routeId: o.routeId,
      tripId: o.trip.tripId,
      intersectionId: pass.intersectionId,
      movementId: pass.movementId,
      arrivalS: o.tS + etaS,
      latenessS: o.latenessS,
      occupancy: o.occupancy,
      headwayS: prev && prevLate !== undefined ? Math.max(0, prev.headwayS + o.latenessS - prevLate) : 0,
      priorityClass: opts.priorityClass ?? PriorityClass.Bus,
      observedS: o.tS,
      etaS,
      distanceM: pass.alongM - o.alongM,
      speedMps,
      speedSource: source,
      scheduledArrivalS: o.dayStartS + pass.scheduledS,
      scheduledHeadwayS: prev?.headwayS ?? 0,
      alongM: o.alongM,
      offRouteM: o.offsetM,
      served: pass.served,
    });
  }
  return { candidates, skipped, feedTimestampS: headerTs };
}

/** Fills `out` and returns undefined, or returns why the vehicle cannot be used. */
function observe(entityId: string, v: IVehiclePosition, index: TransitIndex, opts: CandidateOptions, headerTs: number | undefined, out: Observed[]): string | undefined {
  const tripId = v.trip && has(v.trip, 'tripId') ? v.trip.tripId ?? '' : '';
  if (!tripId) return 'vehicle has no trip_id';
  if (v.trip && has(v.trip, 'scheduleRelationship') && v.trip.scheduleRelationship === rt.TripDescriptor.ScheduleRelationship.CANCELED) return `trip "${tripId}" is canceled`;
  const trip = index.trips.get(tripId);
  if (!trip) return `unknown trip_id "${tripId}"`;
  const routeId = v.trip && has(v.trip, 'routeId') && v.trip.routeId ? v.trip.routeId : trip.routeId;
  if (routeId !== trip.routeId) return `route_id "${routeId}" does not match trip "${tripId}" (route "${trip.routeId}")`;
  const pos = v.position;
  if (!pos) return 'vehicle has no position';
  const lat = pos.latitude;
  const lon = pos.longitude;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return `position ${lat},${lon} is not a valid latitude/longitude`;
  const tS = has(v, 'timestamp') ? toNumber(v.timestamp) : headerTs ?? opts.nowS;
  if (tS === undefined || !Number.isFinite(tS) || tS <= 0) return 'no timestamp (vehicle, header or nowS)';
  if (opts.nowS !== undefined && opts.nowS - tS > (opts.maxAgeS ?? 120)) return `position is stale (${Math.round(opts.nowS - tS)} s old)`;

  // Where along the trip: after the stop before the reported current stop, if any.
  let fromM = 0;
  if (has(v, 'currentStopSequence')) {
    const k = trip.stops.findIndex((s) => s.stopSequence === v.currentStopSequence);
    if (k > 0) fromM = trip.stops[k - 1]!.alongM;
  }
  const q = trip.path.project({ lat, lon }, fromM);
  const maxOff = opts.offRouteM ?? 200;
  if (!(q.offsetM <= maxOff)) return `vehicle is ${Math.round(q.offsetM)} m off the path of trip "${tripId}"`;

  const dayStartS = opts.serviceDayStartS ?? serviceDayStart(tS, trip, index.timezone);
  const latenessS = tS - dayStartS - scheduledAt(trip.stops, q.alongM);
  // The service day: the feed's own start_date when given, else the local date the schedule is placed on.
  const startDate = v.trip && has(v.trip, 'startDate') && /^\d{8}$/.test(v.trip.startDate ?? '') ? Number(v.trip.startDate) : undefined;
  const serviceDate = startDate ?? localDate(dayStartS + 43_200, index.timezone);
  const serviceId = index.feed.trips.get(tripId)?.serviceId ?? '';
  if (!serviceRuns(index.feed, serviceId, serviceDate)) return `trip "${tripId}" does not run on ${serviceDate} (service "${serviceId}")`;

  let occupancy = 0;
  if (has(v, 'occupancyPercentage')) occupancy = Math.max(0, v.occupancyPercentage ?? 0);
  else if (has(v, 'occupancyStatus')) occupancy = OCCUPANCY_PERCENT[v.occupancyStatus ?? -1] ?? 0;

  const speed = has(pos, 'speed') && Number.isFinite(pos.speed) ? (pos.speed as number) : undefined;
  out.push({
    entityId,
    vehicleId: v.vehicle?.id || v.vehicle?.label || entityId,
    routeId,
    trip,
    tS,
    dayStartS,
    serviceDate,
    alongM: q.alongM,
    offsetM: q.offsetM,
    latenessS,
    occupancy,
    speed,
  });
  return undefined;
}

function eta(o: Observed, pass: SignalPass, minSpeed: number): { etaS: number; speedMps: number; source: 'reported' | 'schedule' } {
  const dist = Math.max(0, pass.alongM - o.alongM);
  const stops = o.trip.stops;
  if (o.speed !== undefined && o.speed >= minSpeed) {
    let dwell = 0;
    for (const s of stops) if (s.alongM > o.alongM && s.alongM < pass.alongM) dwell += s.departureS - s.arrivalS;
    return { etaS: dist / o.speed + dwell, speedMps: o.speed, source: 'reported' };
  }
  const run = Math.max(0, pass.scheduledS - scheduledAt(stops, o.alongM));
  return { etaS: run, speedMps: run > 0 ? dist / run : 0, source: 'schedule' };
}
