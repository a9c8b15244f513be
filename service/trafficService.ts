/**
 * TrafficStateService (proto/greenwave/v1/traffic.proto): the links' state
 * and congestion index (WatchLinkStates, a paced server stream: a slow reader
 * gets the latest state), route travel times (GetRouteTravelTime), and the
 * incidents (ListIncidents, WatchIncidents) that the loop incident detector
 * opened and cleared on the controllers' live counts, with whether detection is
 * running (./trafficState.ts; without live counts it is not, and the link
 * states come from the counts file: `source` says which). Registered by startServer
 * (./server.ts) with a ServiceContext (./calls.ts).
 *
 * Role `viewer` for every call. Limits are the service's (./governance.ts):
 * unary calls count against maxInFlight and maxCallsPerClient, streams
 * against maxStreams and maxStreamsPerClient, watch intervals against
 * minWatchIntervalS, link ids against the number of links, and a route
 * against MAX_ROUTE_ENTRIES.
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, IssueList } from '../engine/errors.js';
import { levelOf, weightedTpi } from '../engine/traffic/congestion.js';
import { LinkClass } from '../engine/traffic/links.js';
import type { LinkStateEstimator } from '../engine/traffic/linkState.js';
import { notFound, toGrpcStatus } from './errors.js';
import { clearIncident, type IncidentAudit, reportIncident } from './incidentActions.js';
import { pacedStream, parseWatchRequest } from './governance.js';
import { sToTimestamp, type Obj } from './messages.js';
import type { ServiceContext } from './calls.js';
import type { TrafficState } from './trafficState.js';
import type { IncidentRecord } from './incidentBook.js';
import { calibratedHours } from './incidentCalibration.js';

/** Most entries a route may list. */
export const MAX_ROUTE_ENTRIES = 200;

const LEVEL = ['CONGESTION_LEVEL_FREE', 'CONGESTION_LEVEL_BASICALLY_FREE', 'CONGESTION_LEVEL_LIGHTLY_CONGESTED', 'CONGESTION_LEVEL_MODERATELY_CONGESTED', 'CONGESTION_LEVEL_HEAVILY_CONGESTED'] as const;
const CLASS: Record<number, string> = { [LinkClass.Arterial]: 'LINK_CLASS_ARTERIAL', [LinkClass.Collector]: 'LINK_CLASS_COLLECTOR', [LinkClass.Side]: 'LINK_CLASS_SIDE' };

const levelName = (tpi: number): string => (tpi >= 0 ? LEVEL[levelOf(tpi)]! : 'CONGESTION_LEVEL_UNSPECIFIED');
const known = (x: number): boolean => Number.isFinite(x);

function invalid(path: string, message: string): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${path}: ${message}`, [{ path, message }]);
}

/**
 * The handlers of greenwave.v1.TrafficStateService. `audit`: records an operator's incident report
 * or clearing (the service's database, when it has one).
 */
export function trafficService(ctx: ServiceContext, traffic: TrafficState, audit?: IncidentAudit): grpc.UntypedServiceImplementation {
  const { gate, gov } = ctx;
  const c = ctx.state.c;
  const L = traffic.links;

  const linkMessage = (s: LinkStateEstimator, k: number): Obj => ({
    link_id: L.ids[k],
    from_intersection_id: L.fromIntersection[k]! >= 0 ? c.intersectionIds[L.fromIntersection[k]!] : '',
    to_intersection_id: c.intersectionIds[L.toIntersection[k]!],
    link_class: CLASS[L.linkClass[k]!],
    length_m: L.lengthM[k],
    free_flow_speed_kph: L.freeFlowKph[k],
    flow_veh_per_h: s.flowVehPerH[k],
    ...(known(s.occupancyPct[k]!) ? { occupancy_pct: s.occupancyPct[k] } : {}),
    ...(known(s.spotSpeedKph[k]!) ? { spot_speed_kph: s.spotSpeedKph[k] } : {}),
    running_time_s: s.runningTimeS[k],
    signal_delay_s: s.signalDelayS[k],
    travel_time_s: s.travelTimeS[k],
    travel_speed_kph: s.travelSpeedKph[k],
    tpi: s.tpi[k],
    level: levelName(s.tpi[k]!),
    ...(known(s.arrivalOnGreenShare[k]!) ? { arrival_on_green_share: s.arrivalOnGreenShare[k] } : {}),
  });

  const statesMessage = (ids: readonly number[]): Obj => {
    const s = traffic.current();
    const city = weightedTpi(s.tpi, s.vehKm);
    return {
      time: sToTimestamp(ctx.clock()),
      interval_start: sToTimestamp(traffic.intervalStartMs / 1000),
      interval_s: traffic.intervalS,
      links: ids.map((k) => linkMessage(s, k)),
      corridors: L.corridors.map((cor) => {
        const x = weightedTpi(s.tpi, s.vehKm, cor.links);
        return { corridor_id: cor.id, ...(known(x) ? { tpi: x } : {}), level: levelName(x) };
      }),
      ...(known(city) ? { city_tpi: city } : {}),
      city_level: levelName(city),
      source: sourceName(),
      progression: traffic.progression(),
    };
  };

  const sourceName = (): string => (traffic.isLive ? 'TRAFFIC_DATA_SOURCE_LIVE' : 'TRAFFIC_DATA_SOURCE_COUNTS_FILE');
  const detection = (): Obj => {
    const d = traffic.detection();
    return { running: d.running, status: d.status, sample_s: d.sampleS, calibration_hours: calibratedHours(d.calibration) };
  };
  const incidentMessage = (x: IncidentRecord): Obj => ({
    incident_id: x.incidentId,
    link_id: x.linkId,
    detector_id: x.detectorId,
    state: x.clearedS === undefined ? 'INCIDENT_STATE_ACTIVE' : 'INCIDENT_STATE_CLEARED',
    detected: sToTimestamp(x.detectedS),
    ...(x.clearedS !== undefined ? { cleared: sToTimestamp(x.clearedS) } : {}),
    source: x.source,
    confidence: x.confidence,
    location: x.location,
    reported_by: x.reportedBy,
    cleared_by: x.clearedBy,
    note: x.note,
    lanes_blocked: x.lanesBlocked,
  });

  return {
    WatchLinkStates: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!gate.openStream(call, 'viewer')) return;
      let w: { ids: number[]; periodMs: number };
      try {
        w = parseWatchRequest(call.request, L.count, gov.limits, (id, path) => traffic.link(id, path), { name: 'link_ids', size: 'the number of links' });
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      pacedStream(call, w.periodMs, () => [statesMessage(w.ids)], ctx.pacing);
    },
    GetRouteTravelTime: gate.unary('viewer', (r) => {
      const path = parseRoute(traffic, r);
      const s = traffic.current();
      let tt = 0;
      let ff = 0;
      let len = 0;
      for (const k of path) {
        tt += s.travelTimeS[k]!;
        ff += s.runningTimeS[k]!;
        len += L.lengthM[k]!;
      }
      const tpi = weightedTpi(s.tpi, s.vehKm, Int32Array.from(path));
      return {
        travel_time_s: tt,
        free_flow_time_s: ff,
        length_m: len,
        ...(known(tpi) ? { tpi } : {}),
        level: levelName(tpi),
        links: path.map((k) => ({ link_id: L.ids[k], travel_time_s: s.travelTimeS[k], signal_delay_s: s.signalDelayS[k], tpi: s.tpi[k], level: levelName(s.tpi[k]!) })),
        interval_start: sToTimestamp(traffic.intervalStartMs / 1000),
        source: sourceName(),
        progression: traffic.progression(),
      };
    }),
    ReportIncident: gate.unary('operator', async (r, who, call) => incidentMessage(await reportIncident(traffic, r['link_id'], r['note'], r['lanes_blocked'], { link: 'link_id', lanes: 'lanes_blocked' }, { user: who.client, peer: call.getPeer() }, ctx.clock(), audit))),
    ClearIncident: gate.unary('operator', async (r, who, call) => incidentMessage(await clearIncident(traffic, r['incident_id'], r['note'], 'incident_id', { user: who.client, peer: call.getPeer() }, ctx.clock(), audit))),
    ListIncidents: gate.unary('viewer', (r) => {
      const all = r['include_cleared'] === true;
      return { incidents: traffic.incidents.filter((x) => all || x.clearedS === undefined).map(incidentMessage), detection: detection() };
    }),
    WatchIncidents: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!gate.openStream(call, 'viewer')) return;
      let periodMs: number;
      try {
        periodMs = parseWatchRequest({ interval_s: call.request['interval_s'] }, 0, gov.limits, () => 0, { name: 'none', size: '' }).periodMs;
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      pacedStream(call, periodMs, () => [{ time: sToTimestamp(ctx.clock()), incidents: traffic.incidents.filter((x) => x.clearedS === undefined).map(incidentMessage), detection: detection() }], ctx.pacing);
    },
  };
}

/** The route's links in order, from link ids or intersection ids; every problem at once where they are independent. */
function parseRoute(traffic: TrafficState, r: Obj): number[] {
  const L = traffic.links;
  const linkIds = Array.isArray(r['link_ids']) ? (r['link_ids'] as unknown[]).map(String) : [];
  const ixIds = Array.isArray(r['intersection_ids']) ? (r['intersection_ids'] as unknown[]).map(String) : [];
  if (linkIds.length === 0 && ixIds.length === 0) throw invalid('route', 'one of link_ids or intersection_ids is required');
  if (linkIds.length > 0 && ixIds.length > 0) throw invalid('route', 'give link_ids or intersection_ids, not both');
  const field = linkIds.length > 0 ? 'link_ids' : 'intersection_ids';
  const n = Math.max(linkIds.length, ixIds.length);
  if (n > MAX_ROUTE_ENTRIES) throw invalid(field, `${n} entries given; at most ${MAX_ROUTE_ENTRIES}`);
  const issues = new IssueList();
  if (linkIds.length > 0) {
    linkIds.forEach((id, k) => {
      if (id === '') issues.add(`link_ids[${k}]`, 'must not be empty');
    });
    issues.throwIfAny('route');
    const path = linkIds.map((id, k) => traffic.link(id, `link_ids[${k}]`));
    for (let q = 1; q < path.length; q++) {
      const from = L.fromIntersection[path[q]!]!;
      if (from !== L.toIntersection[path[q - 1]!]) issues.add(`link_ids[${q}]`, `does not start where link_ids[${q - 1}] ends`);
    }
    issues.throwIfAny('route');
    return path;
  }
  if (ixIds.length < 2) throw invalid('intersection_ids', 'at least two intersections are needed');
  const ix = ixIds.map((id, k) => {
    if (id === '') throw invalid(`intersection_ids[${k}]`, 'must not be empty');
    return traffic.intersection(id, `intersection_ids[${k}]`);
  });
  const path: number[] = [];
  for (let q = 1; q < ix.length; q++) {
    const k = L.between.get(`${ixIds[q - 1]}>${ixIds[q]}`);
    if (k === undefined) throw notFound(`intersection_ids[${q}]: no link from "${ixIds[q - 1]}" to "${ixIds[q]}"`);
    path.push(k);
  }
  return path;
}
