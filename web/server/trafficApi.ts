/**
 * The console's traffic routes (registered by ./api.ts): GET /api/traffic,
 * the network's traffic state as TrafficStateService serves it
 * (service/trafficState.ts): the city's and each corridor's congestion index
 * and level, every link's flow, speeds, running time, signal delay, travel
 * time, index, level and arrivals on green, where the state comes from and
 * what its delays take the arrivals from, the incidents still active and
 * whether detection runs, and with `serve --diversion` every decision point's
 * sign message; GET /api/traffic/events, the same as server-sent events
 * every TRAFFIC_PERIOD_MS when it changed (and at least every
 * KEEPALIVE_PERIODS). The traffic page (../src/pages/Traffic.tsx) draws it.
 * Every role may read both. POST /api/traffic/incidents ({linkId, note}) and
 * POST /api/traffic/incidents/:id/clear ({note}): an operator's incident report
 * and clearing (operator, supervisor; audited), the actions TrafficStateService's
 * ReportIncident and ClearIncident take (service/incidentActions.ts).
 */
import type { ServerResponse } from 'node:http';
import { levelOf, weightedTpi } from '../../engine/traffic/congestion.js';
import { LINK_CLASS_NAMES } from '../../engine/traffic/links.js';
import { type Call, type ConsoleDeps, HttpError, type Route } from './api.js';
import { clearIncident, reportIncident, storageAudit } from '../../service/incidentActions.js';
import type { TrafficState } from '../../service/trafficState.js';
import type { IncidentRecord } from '../../service/incidentBook.js';
import { streamChanges } from './sse.js';

/** How often the traffic stream looks for changes, ms (the state changes with each count interval). */
export const TRAFFIC_PERIOD_MS = 1000;
/** A state is sent at least every this many periods, changed or not. */
const KEEPALIVE_PERIODS = 15;

const READERS = ['viewer', 'operator', 'supervisor'] as const;
const OPERATORS = ['operator', 'supervisor'] as const;

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
const level = (tpi: number): number | null => (tpi >= 0 ? levelOf(tpi) : null);

export function trafficRoutes(deps: ConsoleDeps, streams: Set<ServerResponse>): Route[] {
  const snapshot = (): Record<string, unknown> => {
    const traffic = deps.traffic;
    if (!traffic) return { configured: false };
    const s = traffic.current();
    const L = traffic.links;
    const c = deps.state.c;
    const city = weightedTpi(s.tpi, s.vehKm);
    const detection = traffic.detection();
    return {
      configured: true,
      tMs: Math.round(deps.clock() * 1000),
      source: traffic.isLive ? 'live' : 'counts-file',
      progression: traffic.progression(),
      progressionStatus: traffic.progressionStatus(),
      intervalStartMs: num(traffic.intervalStartMs),
      intervalS: traffic.intervalS,
      city: { tpi: num(city), level: level(city) },
      corridors: L.corridors.map((cor) => {
        const x = weightedTpi(s.tpi, s.vehKm, cor.links);
        return { id: cor.id, name: c.network.corridors.find((k) => k.id === cor.id)?.name ?? cor.id, tpi: num(x), level: level(x) };
      }),
      links: Array.from({ length: L.count }, (_, k) => ({
        id: L.ids[k],
        from: L.fromIntersection[k]! >= 0 ? c.intersectionIds[L.fromIntersection[k]!] : null,
        to: c.intersectionIds[L.toIntersection[k]!],
        cls: LINK_CLASS_NAMES[L.linkClass[k]!],
        lengthM: L.lengthM[k],
        flowVehPerH: s.flowVehPerH[k],
        spotSpeedKph: num(s.spotSpeedKph[k]!),
        travelSpeedKph: num(s.travelSpeedKph[k]!),
        runningTimeS: s.runningTimeS[k],
        signalDelayS: s.signalDelayS[k],
        travelTimeS: s.travelTimeS[k],
        tpi: num(s.tpi[k]!),
        level: level(s.tpi[k]!),
        arrivalOnGreen: num(s.arrivalOnGreenShare[k]!),
      })),
      incidents: traffic.incidents.filter((x) => x.clearedS === undefined).map((x) => ({ id: x.incidentId, linkId: x.linkId, detectorId: x.detectorId, source: x.source, detectedMs: Math.round(x.detectedS * 1000), confidence: x.confidence, location: x.location, reportedBy: x.reportedBy, note: x.note, lanesBlocked: x.lanesBlocked })),
      detection: { running: detection.running, status: detection.status, sampleS: detection.sampleS, kind: detection.kind, samples: detection.samples, windowSamples: detection.windowSamples, stations: detection.stations, lastSampleEndMs: num(detection.lastSampleEndMs), calibration: detection.calibration },
      diversion: deps.diversion ? deps.diversion.messages().map((m) => ({ decisionPointId: m.decisionPointId, signId: m.signId, diverting: m.divertTo >= 0, textZh: m.textZh, textEn: m.textEn, sinceMs: Math.round(m.sinceS * 1000) })) : null,
    };
  };
  const actor = (call: Call) => ({ user: call.session!.user, peer: `http:${call.req.socket.remoteAddress ?? '?'}:${call.req.socket.remotePort ?? 0}` });
  const audit = storageAudit(deps.storage);
  const traffic = (): TrafficState => {
    if (!deps.traffic) throw new HttpError(409, 'NO_TRAFFIC_STATE', 'the service keeps no traffic state');
    return deps.traffic;
  };
  const incidentJson = (x: IncidentRecord) => ({ id: x.incidentId, linkId: x.linkId, detectorId: x.detectorId, source: x.source, detectedMs: Math.round(x.detectedS * 1000), clearedMs: x.clearedS === undefined ? null : Math.round(x.clearedS * 1000), reportedBy: x.reportedBy, clearedBy: x.clearedBy, note: x.note, lanesBlocked: x.lanesBlocked });
  return [
    { method: 'GET', pattern: /^\/api\/traffic$/, roles: READERS, handle: async () => snapshot() },
    // An operator's incident report and clearing: the same actions as TrafficStateService's (service/incidentActions.ts).
    { method: 'POST', pattern: /^\/api\/traffic\/incidents$/, roles: OPERATORS, handle: async (call) => incidentJson(await reportIncident(traffic(), call.body['linkId'], call.body['note'], call.body['lanesBlocked'], { link: 'linkId', lanes: 'lanesBlocked' }, actor(call), deps.clock(), audit)) },
    { method: 'POST', pattern: /^\/api\/traffic\/incidents\/([\w.-]+)\/clear$/, roles: OPERATORS, handle: async (call) => incidentJson(await clearIncident(traffic(), call.params[0], call.body['note'], 'incidentId', actor(call), deps.clock(), audit)) },
    {
      method: 'GET',
      pattern: /^\/api\/traffic\/events$/,
      roles: READERS,
      handle: async ({ req, res }) => {
        streamChanges(req, res, streams, 'traffic', TRAFFIC_PERIOD_MS, KEEPALIVE_PERIODS, deps.traffic !== undefined, snapshot);
        return undefined;
      },
    },
  ];
}
