/**
 * ParkingGuidanceService (proto/greenwave/v1/parking.proto): the car parks and
 * their live occupancy (ListCarParks, GetCarPark, WatchOccupancy), absolute
 * occupancy reports from car-park systems (ReportOccupancy, a client stream),
 * Recommend, and the stored history of reports and corrections
 * (GetOccupancyHistory, with a database: ./occupancyHistory.ts writes it). Registered by startServer (./server.ts) with a
 * ServiceContext (./calls.ts) and the ParkingGuidance built from
 * `serve --parking FILE` (./parkingState.ts); without one every call is
 * FAILED_PRECONDITION, after authentication like every other RPC.
 *
 * Roles: `viewer` reads and asks for recommendations; `parking` (a car-park
 * system) or `operator` reports. A car park whose file entry names an
 * `operator` takes reports only from the client of that name or an operator
 * (as a priority request may be changed only by its owner or an operator).
 * Limits are the service's (./governance.ts): every unary call and every
 * report counts against maxInFlight and maxCallsPerClient, streams against
 * maxStreams and maxStreamsPerClient, WatchOccupancy's interval against
 * minWatchIntervalS and its ids against the number of car parks.
 *
 * Recommend with a `vehicle_id` books the first-ranked car park for that vehicle
 * (./parkingState.ts over engine/parking/guidedArrivals.ts): keyed by client and
 * vehicle, so asking again replaces the booking; a client holds at most
 * maxBookingsPerClient live bookings (RESOURCE_EXHAUSTED naming the limit).
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, IssueList } from '../engine/errors.js';
import { SPACE_TYPES, type OccupancyState, type SpaceType } from '../engine/parking/schema.js';
import type { RecommendQuery, Recommendation } from '../engine/parking/recommend.js';
import { StatusError, toGrpcStatus } from './errors.js';
import { requireRole, type Principal } from './auth.js';
import { pacedStream, parseWatchRequest, type Release } from './governance.js';
import { num, str, sToTimestamp, timestampToS, type Obj } from './messages.js';
import type { ServiceContext } from './calls.js';
import type { ParkingGuidance } from './parkingState.js';
import type { OccupancyRecord } from './storage/storage.js';
import { encodeRecommendResponse, type RecommendNames } from './recommendWire.js';

/** Caps of a Recommend request (INVALID_ARGUMENT beyond them). */
export const RECOMMEND_LIMITS = { maxTopN: 20, maxWalkM: 5000, maxStayS: 7 * 86_400, maxAheadS: 86_400, maxPastS: 600 } as const;
/** A report may be stamped at most this far ahead of the server's clock (clock skew), s. */
const MAX_REPORT_AHEAD_S = 300;
/** GetOccupancyHistory's caps: the widest range, and records per answer. */
export const HISTORY_LIMITS = { maxRangeS: 31 * 86_400, defaultLimit: 1000, maxLimit: 10_000 } as const;
const CAUSE: Record<string, string> = { report: 'CORRECTION_CAUSE_DRIFT', clampHigh: 'CORRECTION_CAUSE_CLAMP_HIGH', clampLow: 'CORRECTION_CAUSE_CLAMP_LOW' };

const STATUS: Record<OccupancyState['status'], string> = { open: 'PARKING_STATUS_OPEN', full: 'PARKING_STATUS_FULL', closed: 'PARKING_STATUS_CLOSED', unknown: 'PARKING_STATUS_UNKNOWN' };
const TREND: Record<OccupancyState['trend'], string> = { increasing: 'OCCUPANCY_TREND_INCREASING', decreasing: 'OCCUPANCY_TREND_DECREASING', stable: 'OCCUPANCY_TREND_STABLE', unknown: 'OCCUPANCY_TREND_UNKNOWN' };
const spaceTypeName = (t: SpaceType): string => `SPACE_TYPE_${t === 'ev' ? 'EV' : t.toUpperCase()}`;
const SPACE_TYPE_OF = new Map(SPACE_TYPES.map((t) => [spaceTypeName(t), t]));

/** The handlers of greenwave.v1.ParkingGuidanceService; `guidance` undefined = no parking file. */
export function parkingService(ctx: ServiceContext, guidance: ParkingGuidance | undefined): grpc.UntypedServiceImplementation {
  const { gate, gov } = ctx;
  const need = (): ParkingGuidance => {
    if (!guidance) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'parking guidance needs a parking file: start the server with --parking <file> (ServeOptions.parking)');
    return guidance;
  };
  const nowMs = (): number => Math.round(ctx.clock() * 1000);
  const names = guidance ? wireNames(guidance) : undefined;
  return {
    ListCarParks: gate.unary('viewer', () => {
      const g = need();
      return { car_parks: g.parking.file.carParks.map((_, k) => carParkInfo(g, k)) };
    }),
    GetCarPark: gate.unary('viewer', (r) => {
      const g = need();
      const id = str(r['car_park_id']);
      if (id === '') throw invalid('car_park_id', 'must not be empty');
      const k = g.carPark(id, 'car_park_id');
      return { car_park: carParkInfo(g, k), occupancy: occupancyInfo(g.feed.state(k, nowMs())) };
    }),
    WatchOccupancy: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!gate.openStream(call, 'viewer')) return;
      let w: { ids: number[]; periodMs: number };
      let g: ParkingGuidance;
      try {
        g = need();
        w = parseWatchRequest(call.request, g.parking.carParkCount, gov.limits, (id, path) => g.carPark(id, path), { name: 'car_park_ids', size: 'the number of car parks' });
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      pacedStream(
        call,
        w.periodMs,
        () => {
          const t = nowMs();
          return [{ time: sToTimestamp(t / 1000), car_parks: w.ids.map((k) => occupancyInfo(g.feed.state(k, t))) }];
        },
        ctx.pacing,
      );
    },
    ReportOccupancy: (call: grpc.ServerReadableStream<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => reportStream(ctx, need, call, cb),
    GetOccupancyHistory: gate.unary('viewer', async (r) => {
      const g = need();
      const issues = new IssueList();
      const id = str(r['car_park_id']);
      if (id === '') issues.add('car_park_id', 'must not be empty');
      const fromS = r['from'] ? timestampToS(r['from']) : Number.NaN;
      const toS = r['to'] ? timestampToS(r['to']) : Number.NaN;
      if (!Number.isFinite(fromS)) issues.add('from', 'is required');
      if (!Number.isFinite(toS)) issues.add('to', 'is required');
      else if (Number.isFinite(fromS) && !(toS > fromS && toS - fromS <= HISTORY_LIMITS.maxRangeS)) issues.add('to', `must be after from, and at most ${HISTORY_LIMITS.maxRangeS / 86_400} days after it`);
      const limit = num(r['limit']) || HISTORY_LIMITS.defaultLimit;
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= HISTORY_LIMITS.maxLimit)) issues.add('limit', `must be between 0 and ${HISTORY_LIMITS.maxLimit}`);
      issues.throwIfAny('GetOccupancyHistory request');
      g.carPark(id, 'car_park_id');
      const storage = ctx.journal?.storage;
      if (!storage || !g.history) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'this service keeps no database (start it with --db or --pg): no occupancy history is stored');
      // What was applied just now is in the answer: write what is pending first.
      await g.history.flush();
      const rows = await storage.occupancyHistory({ carParkId: id, fromMs: Math.round(fromS * 1000), toMs: Math.round(toS * 1000), limit: limit + 1 });
      return { records: rows.slice(0, limit).map(historyRecord), truncated: rows.length > limit };
    }),
    Recommend: gate.unary('viewer', (r, who) => {
      const g = need();
      const t = nowMs();
      const q = parseRecommend(g, r, t);
      const vehicleId = str(r['vehicle_id']);
      // Bookings are per client: another client's vehicle of the same name is another vehicle.
      const key = vehicleId === '' ? undefined : `${who.client}\u0000${vehicleId}`;
      if (key !== undefined && g.arrivals.get(key) === undefined) gov.checkNewBooking(g.arrivals, who.client, t);
      const { result: res, booked } = g.recommend(q, key === undefined ? undefined : { key, owner: who.client });
      // The answer as protobuf bytes (./recommendWire.ts; registered with passBuffers in ./server.ts), else as an object.
      const wire = encodeRecommendResponse(
        names!,
        res.ranked,
        res.fallback,
        res.refused,
        booked ? { vehicleId, carParkId: g.parking.carParkIds[booked.carPark]!, arrivalMs: booked.arrivalMs, expiresMs: booked.expiresMs, clientBookings: g.arrivals.liveOf(who.client, t) } : undefined,
      );
      if (wire) return wire as unknown as Obj;
      return {
        car_parks: res.ranked.map((x) => recommendation(g, x)),
        fallback: res.fallback ? recommendation(g, res.fallback) : null,
        refused: { closed: res.refused.closed, unknown: res.refused.unknown, height: res.refused.height, space_type: res.refused.spaceType, too_far: res.refused.tooFar, unreachable: res.refused.unreachable },
        booking: booked
          ? { vehicle_id: vehicleId, car_park_id: g.parking.carParkIds[booked.carPark], arrival_time: sToTimestamp(booked.arrivalMs / 1000), expires: sToTimestamp(booked.expiresMs / 1000), client_bookings: g.arrivals.liveOf(who.client, t) }
          : null,
      };
    }),
  };

  /** ReportOccupancy: admitted like a stream, each report counted like a call; the first bad one ends it. */
  function reportStream(c: ServiceContext, needG: () => ParkingGuidance, call: grpc.ServerReadableStream<Obj, Obj>, cb: grpc.sendUnaryData<Obj>): void {
    let who: Principal;
    let releaseStream: Release;
    try {
      gov.checkStreams();
      who = gate.admit(call, ['parking', 'operator']);
      releaseStream = gov.enterStream(who.client);
    } catch (e: unknown) {
      cb(toGrpcStatus(e));
      return;
    }
    let accepted = 0;
    let index = 0;
    let done = false;
    const finish = (e: unknown): void => {
      if (done) return;
      done = true;
      releaseStream();
      if (e === undefined) cb(null, { accepted });
      else cb(toGrpcStatus(e));
    };
    call.on('data', (m: Obj) => {
      if (done) return;
      const i = index++;
      let release: Release | undefined;
      try {
        release = gov.enterCall(who.client);
        const g = needG();
        applyReport(g, m, who, `reports[${i}].`, c.clock());
        accepted++;
      } catch (e: unknown) {
        finish(e);
      } finally {
        release?.();
      }
    });
    call.on('end', () => finish(undefined));
    call.on('cancelled', () => {
      done = true;
      releaseStream();
    });
    call.on('error', () => {
      done = true;
      releaseStream();
    });
  }
}

function invalid(path: string, message: string): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${path}: ${message}`, [{ path, message }]);
}

/** One absolute report: checked (paths prefixed `prefix`), authorised for its car park, applied. */
function applyReport(g: ParkingGuidance, m: Obj, who: Principal, prefix: string, nowS: number): void {
  const issues = new IssueList();
  const id = str(m['car_park_id']);
  if (id === '') issues.add(`${prefix}car_park_id`, 'must not be empty');
  else if (id.length > 64) issues.add(`${prefix}car_park_id`, 'must be at most 64 characters');
  const which = m['value'];
  if (which !== 'occupied' && which !== 'vacant') issues.add(`${prefix}value`, 'one of occupied or vacant is required');
  const atS = m['time'] ? timestampToS(m['time']) : nowS;
  if (!Number.isFinite(atS) || atS > nowS + MAX_REPORT_AHEAD_S) issues.add(`${prefix}time`, `must not be more than ${MAX_REPORT_AHEAD_S} s ahead of the server's clock`);
  issues.throwIfAny('occupancy report');
  const k = g.carPark(id, `${prefix}car_park_id`);
  const operator = g.parking.file.carParks[k]!.operator;
  if (operator !== undefined && operator !== who.client) requireRole(who, 'operator', `${prefix}car_park_id: car park "${id}" reports through "${operator}"`);
  const cap = g.parking.capacity[k]!;
  // A little past the capacity (cars off the marked bays) is clamped by the tracker; far past it is refused.
  const occupied = which === 'occupied' ? num(m['occupied']) : cap - Math.min(cap, num(m['vacant']));
  const atMs = Math.round(atS * 1000);
  try {
    g.feed.report(k, occupied, atMs);
    g.history?.report(id, occupied, atMs, who.client);
  } catch (e: unknown) {
    // The tracker refuses an implausible report (older than the last, far above capacity) naming
    // its own field: name the request's instead.
    const ge = GreenwaveError.from(e);
    if (ge.code !== ErrorCode.InvalidInput) throw ge;
    const field = (path: string): string => (/time/i.test(path) ? 'time' : which === 'vacant' ? 'vacant' : 'occupied');
    throw new GreenwaveError(ErrorCode.InvalidInput, ge.message, (ge.issues.length > 0 ? ge.issues : [{ path: '', message: ge.message }]).map((i) => ({ path: `${prefix}${field(i.path)}`, message: i.message })));
  }
}

/** A request's point (`path` names it in the issues), undefined when absent. */
function parsePoint(issues: IssueList, v: unknown, path: string): { lon: number; lat: number } | undefined {
  if (v === null || v === undefined) {
    issues.add(path, 'is required');
    return undefined;
  }
  const o = v as Obj;
  const lon = num(o['lon']);
  const lat = num(o['lat']);
  if (!(Math.abs(lon) <= 180)) issues.add(`${path}.lon`, 'must be between -180 and 180');
  if (!(Math.abs(lat) <= 90)) issues.add(`${path}.lat`, 'must be between -90 and 90');
  return { lon, lat };
}

/** A request's number in 0…hi (an issue otherwise); 0 = not given (undefined). */
function bounded(issues: IssueList, name: string, v: number, hi: number): number | undefined {
  if (!(Number.isFinite(v) && v >= 0 && v <= hi)) issues.add(name, `must be between 0 and ${hi}`);
  return v > 0 ? v : undefined;
}

/**
 * A Recommend request as the engine's query (INVALID_ARGUMENT naming every bad field). Runs on
 * every call: module functions rather than closures, and no object spread (see engine/parking/recommend.ts on garbage).
 */
function parseRecommend(g: ParkingGuidance, r: Obj, nowMs: number): RecommendQuery {
  const issues = new IssueList();
  const L = RECOMMEND_LIMITS;
  const destination = parsePoint(issues, r['destination'], 'destination');
  let origin: RecommendQuery['origin'] | undefined;
  if (r['origin'] === 'origin_link') {
    const o = (r['origin_link'] ?? {}) as Obj;
    const id = str(o['link_id']);
    const pos = num(o['position_m']);
    const link = g.roads.link(id);
    if (id === '') issues.add('origin_link.link_id', 'must not be empty');
    else if (link === undefined) {
      issues.throwIfAny('Recommend request');
      throw new StatusError(grpc.status.NOT_FOUND, `origin_link.link_id: no link "${id}"`);
    } else if (!(pos >= 0 && pos <= g.roads.linkLengthM[link]!)) issues.add('origin_link.position_m', `must be between 0 and the link's length, ${g.roads.linkLengthM[link]} m`);
    if (link !== undefined) origin = { link, positionM: pos };
  } else if (r['origin'] === 'origin_point') {
    const p = parsePoint(issues, r['origin_point'], 'origin_point');
    if (p && Math.abs(p.lon) <= 180 && Math.abs(p.lat) <= 90) origin = { intersection: g.roads.nearestIntersection(p.lon, p.lat) };
  } else issues.add('origin', 'one of origin_link or origin_point is required');
  let arrivalMs: number | undefined;
  if (r['arrival_time']) {
    const s = timestampToS(r['arrival_time']);
    if (!(s * 1000 <= nowMs + L.maxAheadS * 1000 && s * 1000 >= nowMs - L.maxPastS * 1000)) issues.add('arrival_time', `must be within ${L.maxPastS / 60} minutes before and ${L.maxAheadS / 3600} h after now`);
    else arrivalMs = Math.max(nowMs, Math.round(s * 1000));
  }
  const heightM = bounded(issues, 'vehicle_height_m', num(r['vehicle_height_m']), 10);
  const maxWalkM = bounded(issues, 'max_walk_m', num(r['max_walk_m']), L.maxWalkM);
  const stayS = bounded(issues, 'stay_s', num(r['stay_s']), L.maxStayS);
  const topN = bounded(issues, 'top_n', num(r['top_n']), L.maxTopN);
  const needs: SpaceType[] = [];
  const rawNeeds = r['needs'];
  if (Array.isArray(rawNeeds)) {
    for (let i = 0; i < rawNeeds.length; i++) {
      const t = SPACE_TYPE_OF.get(String(rawNeeds[i]));
      if (t === undefined) issues.add(`needs[${i}]`, `must be one of ${[...SPACE_TYPE_OF.keys()].join(', ')}`);
      else if (!needs.includes(t)) needs.push(t);
    }
  }
  const w = r['weights'] as Obj | null | undefined;
  const walkFactor = bounded(issues, 'weights.walk_factor', num(w?.['walk_factor']), 20);
  const valueOfTimePerH = bounded(issues, 'weights.value_of_time_per_h', num(w?.['value_of_time_per_h']), 100_000);
  const failS = bounded(issues, 'weights.fail_s', num(w?.['fail_s']), 86_400);
  const vehicleId = str(r['vehicle_id']);
  if (vehicleId.length > 64) issues.add('vehicle_id', 'must be at most 64 characters');
  issues.throwIfAny('Recommend request');
  return {
    destination: destination!,
    origin: origin!,
    nowMs,
    arrivalMs,
    vehicle: { heightM, needs },
    preferences: {
      maxWalkM,
      stayS,
      topN: topN === undefined ? undefined : Math.floor(topN),
      // A weight not given is undefined here: the recommender takes its default (`??`).
      weights: { walkFactor, valueOfTimePerH, failS },
    },
  };
}

/** The names recommendWire.ts writes for `g`'s car parks. */
function wireNames(g: ParkingGuidance): RecommendNames {
  const p = g.parking;
  return { carParkId: (k) => p.carParkIds[k]!, entranceId: (e) => p.entranceIds[e]!, currency: (k) => p.file.carParks[k]!.fees.currency };
}

function recommendation(g: ParkingGuidance, x: Recommendation): Obj {
  const p = g.parking;
  return {
    car_park_id: p.carParkIds[x.carPark],
    entrance_id: p.entranceIds[x.entrance],
    drive_s: x.driveS,
    walk_m: x.walkM,
    walk_s: x.walkS,
    price: x.price,
    currency: p.file.carParks[x.carPark]!.fees.currency,
    p_free: x.pFree,
    expected_free: x.expectedFree,
    free_p10: x.freeP10,
    free_p90: x.freeP90,
    arrival_time: sToTimestamp(x.arrivalMs / 1000),
    cost_s: x.costS,
    route_link_ids: x.route,
  };
}

function historyRecord(x: OccupancyRecord): Obj {
  const base = { car_park_id: x.carParkId, time: sToTimestamp(x.atMs / 1000), occupied: x.occupied };
  if (x.kind === 'report') return { ...base, report: { source: x.source } };
  const before = x.beforeOccupied ?? x.occupied;
  return { ...base, correction: { cause: CAUSE[x.source] ?? 'CORRECTION_CAUSE_UNSPECIFIED', before_occupied: before, delta_spaces: x.occupied - before } };
}

function occupancyInfo(s: OccupancyState): Obj {
  const known = Number.isFinite(s.occupied);
  return {
    car_park_id: s.carParkId,
    status: STATUS[s.status],
    capacity: s.capacity,
    occupied: known ? s.occupied : 0,
    vacant: known ? s.vacant : 0,
    occupancy_pct: known ? s.occupancyPct : 0,
    trend: TREND[s.trend],
    status_time: s.statusTimeMs > 0 ? sToTimestamp(s.statusTimeMs / 1000) : null,
  };
}

function carParkInfo(g: ParkingGuidance, k: number): Obj {
  const p = g.parking.file.carParks[k]!;
  const cp = g.parking;
  const hours = p.openingHours === '24/7' ? '24/7' : p.openingHours.map((h) => `${h.days.join(',')} ${h.open}-${h.close}`).join('; ');
  return {
    id: p.id,
    name_zh: p.nameZh,
    name_en: p.nameEn,
    kind: p.kind,
    position: { lon: p.position.lon, lat: p.position.lat },
    capacity: cp.capacity[k],
    capacity_by_type: SPACE_TYPES.filter((t) => (p.capacityByType[t] ?? 0) > 0).map((t) => ({ type: spaceTypeName(t), spaces: p.capacityByType[t] })),
    entrances: p.entrances.map((e) => ({ id: e.id, link_id: e.linkId, position_m: e.positionM })),
    fees: { currency: p.fees.currency, first_hour: p.fees.firstHour, per_hour: p.fees.perHour, daily_max: p.fees.dailyMax ?? 0 },
    opening_hours: hours,
    height_limit_m: p.heightLimitM ?? 0,
  };
}
