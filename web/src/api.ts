/**
 * The page's side of the console API (web/server/api.ts): JSON over fetch with
 * the session cookie, the CSRF token on every POST, and the answers' types.
 * An error answer becomes an ApiError with the server's code and problems.
 */
export interface Issue {
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly Issue[],
  ) {
    super(message);
  }
}

export interface SessionInfo {
  readonly user: string;
  readonly roles: readonly string[];
  readonly csrfToken: string;
}

export interface ThroughGreen {
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
}
export interface TsdPhase {
  readonly phaseId: string;
  readonly protected: readonly string[];
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
  readonly minGreenS: number;
  readonly maxGreenS: number;
  readonly ring: number;
  readonly barrier: number;
  readonly servesOut: boolean;
  readonly servesIn: boolean;
}
export interface TsdSignal {
  readonly id: string;
  readonly name: string;
  readonly positionM: number;
  readonly cycleS: number;
  readonly offsetS: number;
  readonly outApproach: string;
  readonly inApproach: string;
  readonly out: ThroughGreen;
  readonly in: ThroughGreen;
  readonly phases: readonly TsdPhase[];
}
export interface BandSide {
  readonly widthS: number;
  readonly startS: number;
  readonly travelS: readonly number[];
}
export interface TimeSpaceData {
  readonly planId: number | null;
  readonly corridorId: string;
  readonly name: string;
  readonly signals: readonly TsdSignal[];
  readonly links: readonly { readonly from: string; readonly to: string; readonly lengthM: number; readonly speedKph: number }[];
  readonly bands: { readonly cycleS: number | null; readonly out: BandSide; readonly in: BandSide } | undefined;
}
export interface NetworkInfo {
  readonly name: string;
  readonly intersections: readonly { readonly id: string; readonly name: string }[];
  readonly corridors: readonly { readonly id: string; readonly name: string; readonly intersections: readonly string[] }[];
  readonly current: { readonly planId: number | null; readonly forInterval: string };
}
export interface PlanEdit {
  readonly intersectionId: string;
  readonly offsetS?: number;
  readonly phases?: readonly { readonly phaseId: string; readonly greenS: number }[];
}
export interface Deployment {
  readonly id: number;
  readonly controllerId: string;
  readonly planId: number;
  readonly wirePlanId: number;
  readonly rolloutId: string | null;
  readonly state: string;
  readonly readBackPlanId: number | null;
  readonly reason: string | null;
}
export interface IntersectionTiming {
  readonly intersectionId: string;
  readonly cycleS: number;
  readonly offsetS: number;
  readonly phases: readonly { readonly phaseId: string; readonly startS: number; readonly greenS: number; readonly yellowS: number; readonly allRedS: number }[];
}
export interface PlanVersion {
  readonly planId: number;
  readonly version: number;
  readonly author: string;
  readonly createdAtMs: number;
  readonly reason: string;
  readonly source: string;
  readonly state: 'proposed' | 'approved' | 'rejected' | 'replan';
  readonly parentVersion: number | null;
  readonly rollbackOfVersion: number | null;
  readonly inForce: boolean;
  readonly decisions: readonly { readonly actor: string; readonly decision: string; readonly comment: string }[];
  readonly deployments: readonly Deployment[];
  readonly timing?: readonly IntersectionTiming[];
}
export interface SimulatedSide {
  readonly meanDelayS: number;
  readonly stopsPerVeh: number;
  readonly throughputVehPerH: number;
}
export interface PlanReview {
  readonly bands: { readonly before: readonly { corridorId: string; bandOutS: number; bandInS: number }[]; readonly after: readonly { corridorId: string; bandOutS: number; bandInS: number }[] };
  readonly simulated: { readonly before: SimulatedSide; readonly after: SimulatedSide; readonly durationS: number; readonly seeds: readonly number[] };
}
export interface AuditRow {
  readonly seq: number;
  readonly atMs: number;
  readonly actor: string;
  readonly peer: string | null;
  readonly action: string;
  readonly detail: unknown;
}

export interface LiveSignal {
  readonly id: string;
  readonly cycleTimeS: number;
  readonly greenPhaseIds: readonly string[];
  /** J2735 MovementPhaseState of the outbound and inbound through movements. */
  readonly out: string;
  readonly in: string;
  readonly priorityActive: boolean;
}
export interface LiveSignals {
  readonly tS: number;
  readonly signals: readonly LiveSignal[];
}

/** A corridor's live signal state (server-sent events, one a second); returns the function that stops it. */
export function watchSignals(corridorId: string, on: (s: LiveSignals) => void): () => void {
  const es = new EventSource(`/api/corridors/${encodeURIComponent(corridorId)}/signals`);
  es.addEventListener('signals', (ev) => on(JSON.parse((ev as MessageEvent<string>).data) as LiveSignals));
  return () => es.close();
}

let csrfToken = '';

async function call<R>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<R> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: method === 'POST' ? { 'content-type': 'application/json', 'x-csrf-token': csrfToken } : {},
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; issues?: Issue[] } };
  if (!res.ok) throw new ApiError(res.status, json.error?.code ?? 'HTTP', json.error?.message ?? res.statusText, json.error?.issues ?? []);
  return json as R;
}

export const api = {
  async session(): Promise<SessionInfo | undefined> {
    try {
      const s = await call<SessionInfo>('GET', '/api/session');
      csrfToken = s.csrfToken;
      return s;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return undefined;
      throw e;
    }
  },
  async login(user: string, password: string): Promise<SessionInfo> {
    const s = await call<SessionInfo>('POST', '/api/login', { user, password });
    csrfToken = s.csrfToken;
    return s;
  },
  logout: () => call<unknown>('POST', '/api/logout'),
  network: () => call<NetworkInfo>('GET', '/api/network'),
  tsd: (corridorId: string, planId?: number) => call<TimeSpaceData>('GET', `/api/corridors/${encodeURIComponent(corridorId)}/tsd${planId ? `?plan=${planId}` : ''}`),
  validate: (corridorId: string, edits: readonly PlanEdit[], basePlanId?: number) =>
    call<{ ok: boolean; problems: readonly Issue[]; tsd?: TimeSpaceData }>('POST', `/api/corridors/${encodeURIComponent(corridorId)}/validate`, { edits, basePlanId }),
  propose: (edits: readonly PlanEdit[], reason: string, basePlanId?: number) => call<PlanVersion>('POST', '/api/plans', { edits, reason, basePlanId }),
  plans: () => call<{ plans: PlanVersion[]; inForce: number | null }>('GET', '/api/plans'),
  plan: (id: number) => call<PlanVersion>('GET', `/api/plans/${id}`),
  currentTiming: () => call<{ planId: number | null; timing: IntersectionTiming[] }>('GET', '/api/plans/current'),
  review: (id: number) => call<PlanReview>('GET', `/api/plans/${id}/review`),
  decide: (id: number, decision: 'approve' | 'reject', comment: string) => call<PlanVersion>('POST', `/api/plans/${id}/decision`, { decision, comment }),
  deploy: (id: number) => call<{ rolloutId: string; deployments: Deployment[] }>('POST', `/api/plans/${id}/deploy`),
  rollback: (version: number, reason: string) => call<{ rolloutId: string; planId: number; version: number; deployments: Deployment[] }>('POST', '/api/rollback', { version, reason }),
  audit: (q: { actor?: string; action?: string; afterSeq?: number }) => {
    const p = new URLSearchParams();
    if (q.actor) p.set('actor', q.actor);
    if (q.action) p.set('action', q.action);
    if (q.afterSeq) p.set('afterSeq', String(q.afterSeq));
    return call<{ rows: AuditRow[] }>('GET', `/api/audit?${p}`);
  },
};

/** One bus priority decision or cancellation (web/server/priorityApi.ts, service/priorityFeed.ts). */
export interface PriorityEvent {
  readonly seq: number;
  readonly kind: 'request' | 'update' | 'cancel';
  readonly atMs: number;
  readonly client: string;
  readonly vehicleId: string;
  readonly intersectionId: string;
  readonly routeId: string;
  readonly tripId: string;
  readonly priorityClass: 'other' | 'bus' | 'emergency' | '';
  /** null for a cancellation. */
  readonly latenessS: number | null;
  readonly arrivalMs: number | null;
  readonly granted: boolean;
  readonly strategy: string;
  readonly reason: string;
  readonly detail: string;
  readonly adjustmentS: number;
  readonly savedS: number;
}
export interface OpenPriorityRequest {
  readonly vehicleId: string;
  readonly intersectionId: string;
  readonly client: string;
  readonly arrivalMs: number;
  readonly granted: boolean;
  readonly strategy: string;
  readonly reason: string;
  readonly routeId: string;
  readonly priorityClass: 'other' | 'bus' | 'emergency' | '';
  readonly latenessS: number | null;
}
export interface PrioritySnapshot {
  readonly lastSeq: number;
  readonly recent: readonly PriorityEvent[];
  readonly open: readonly OpenPriorityRequest[];
  readonly openCount: number;
  readonly tS: number;
}
export interface CarParkLive {
  readonly id: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly kind: string;
  readonly capacity: number;
  /** null while unknown or closed. */
  readonly occupied: number | null;
  readonly vacant: number | null;
  readonly occupancyPct: number | null;
  readonly trend: 'increasing' | 'decreasing' | 'stable' | 'unknown';
  readonly status: 'open' | 'full' | 'closed' | 'unknown' | 'stale';
  readonly statusTimeMs: number | null;
}
export interface SignLive {
  readonly signId: string;
  readonly state: 'normal' | 'degraded' | 'dark';
  readonly lines: readonly {
    readonly labelZh: string;
    readonly labelEn: string;
    readonly direction: 'left' | 'ahead' | 'right';
    readonly carParkIds: readonly string[];
    readonly kind: 'spaces' | 'full' | 'unknown' | 'closed';
    readonly textZh: string;
    readonly textEn: string;
    readonly partial: boolean;
  }[];
}
export type ParkingLive = { readonly configured: false } | { readonly configured: true; readonly tMs: number; readonly carParks: readonly CarParkLive[]; readonly signs: readonly SignLive[] };
export interface LocksView {
  readonly configured: boolean;
  readonly locks: readonly { readonly id: number; readonly scope: { readonly kind: string; readonly id: string }; readonly what: string; readonly value: unknown; readonly reason: string; readonly author: string; readonly createdAtMs: number }[];
  readonly schedule: { readonly planId: number; readonly version: number; readonly author: string; readonly entries: readonly { readonly startMin: number; readonly planId: number }[]; readonly due: { readonly startMin: number; readonly planId: number } | null } | null;
}

// The traffic page (web/server/trafficApi.ts).
/** A GB/T 33171 level, 0 (free) … 4 (heavily congested); null without traffic. */
export type CongestionLevel = 0 | 1 | 2 | 3 | 4;
export interface TrafficLink {
  readonly id: string;
  /** Upstream intersection; null for an approach from outside the network. */
  readonly from: string | null;
  readonly to: string;
  readonly cls: 'arterial' | 'collector' | 'side';
  readonly lengthM: number;
  readonly flowVehPerH: number;
  readonly spotSpeedKph: number | null;
  readonly travelSpeedKph: number | null;
  readonly runningTimeS: number;
  readonly signalDelayS: number;
  readonly travelTimeS: number;
  readonly tpi: number | null;
  readonly level: CongestionLevel | null;
  readonly arrivalOnGreen: number | null;
}
export type TrafficLive =
  | { readonly configured: false }
  | {
      readonly configured: true;
      readonly tMs: number;
      readonly source: 'live' | 'counts-file';
      readonly progression: string;
      readonly progressionStatus:
        | { readonly kind: 'counts-file' | 'no-log' | 'waiting' | 'no-events' }
        | { readonly kind: 'not-read'; readonly error: string }
        | { readonly kind: 'events'; readonly links: number; readonly ofLinks: number; readonly lanes: number; readonly events: number; readonly fromMs: number; readonly toMs: number };
      readonly intervalStartMs: number | null;
      readonly intervalS: number;
      readonly city: { readonly tpi: number | null; readonly level: CongestionLevel | null };
      readonly corridors: readonly { readonly id: string; readonly name: string; readonly tpi: number | null; readonly level: CongestionLevel | null }[];
      readonly links: readonly TrafficLink[];
      readonly incidents: readonly { readonly id: string; readonly linkId: string; readonly detectorId: string; readonly source: string; readonly detectedMs: number; readonly confidence: number; readonly location: string; readonly reportedBy: string; readonly note: string; readonly lanesBlocked: number }[];
      readonly detection: { readonly running: boolean; readonly status: string; readonly sampleS: number; readonly kind: 'off' | 'waiting' | 'filling' | 'judging'; readonly samples: number; readonly windowSamples: number; readonly stations: number; readonly lastSampleEndMs: number | null;
        readonly calibration:
          | { readonly kind: 'none' | 'not-yet' }
          | { readonly kind: 'too-little'; readonly hours: number; readonly needHours: number; readonly days: number }
          | { readonly kind: 'not-read'; readonly error: string }
          | { readonly kind: 'calibrated'; readonly hours: number; readonly fromMs: number; readonly toMs: number; readonly atMs: number; readonly stations: number } };
      readonly diversion: readonly { readonly decisionPointId: string; readonly signId: string; readonly diverting: boolean; readonly textZh: string; readonly textEn: string; readonly sinceMs: number }[] | null;
    };

/** The live pages' reads (bus priority, parking, traffic, locks and schedule). */
export const liveApi = {
  priority: () => call<PrioritySnapshot>('GET', '/api/priority'),
  parking: () => call<ParkingLive>('GET', '/api/parking'),
  traffic: () => call<TrafficLive>('GET', '/api/traffic'),
  /** An operator's incident report and clearing (the stream brings the new state). */
  reportIncident: (linkId: string, lanesBlocked: number, note: string) => call<{ id: string }>('POST', '/api/traffic/incidents', { linkId, lanesBlocked, note }),
  clearIncident: (id: string, note: string) => call<{ id: string }>('POST', `/api/traffic/incidents/${encodeURIComponent(id)}/clear`, { note }),
  locks: () => call<LocksView>('GET', '/api/locks'),
};

/**
 * Bus priority decisions as they are made, after `afterSeq` (server-sent events). `onGap` when some
 * were dropped (the page reads its snapshot again); `onLive` whether the stream is connected.
 */
export function watchPriority(afterSeq: number, on: (events: readonly PriorityEvent[]) => void, onGap: () => void, onLive: (live: boolean) => void): () => void {
  const es = new EventSource(`/api/priority/events?after=${afterSeq}`);
  es.addEventListener('ready', () => onLive(true));
  es.addEventListener('priority', (ev) => on((JSON.parse((ev as MessageEvent<string>).data) as { events: PriorityEvent[] }).events));
  es.addEventListener('gap', () => onGap());
  es.addEventListener('error', () => onLive(false));
  return () => es.close();
}

/** Whole states from a stream of them (web/server/sse.ts streamChanges), and whether it is connected. */
function watchSnapshots<S>(path: string, event: string, on: (s: S) => void, onLive: (live: boolean) => void): () => void {
  const es = new EventSource(path);
  es.addEventListener('open', () => onLive(true));
  es.addEventListener(event, (ev) => on(JSON.parse((ev as MessageEvent<string>).data) as S));
  es.addEventListener('error', () => onLive(false));
  return () => es.close();
}

/** The car parks and signs, as they change (server-sent events). */
export function watchParking(on: (p: ParkingLive) => void, onLive: (live: boolean) => void): () => void {
  return watchSnapshots('/api/parking/events', 'parking', on, onLive);
}
/** The traffic state, as it changes (server-sent events). */
export function watchTraffic(on: (p: TrafficLive) => void, onLive: (live: boolean) => void): () => void {
  return watchSnapshots('/api/traffic/events', 'traffic', on, onLive);
}
// The network and intersection pages (web/server/networkApi.ts, intersectionApi.ts).
export type Lamp = 'protected' | 'permitted' | 'clearance' | 'stop';
export interface MapIntersection {
  readonly id: string;
  readonly name: string;
  readonly lon: number;
  readonly lat: number;
  readonly approaches: readonly string[];
  readonly corridors: readonly string[];
  readonly detectors: number;
  readonly unhealthyDetectors: number;
  readonly substitutedDetectors: number;
  readonly fallback: boolean;
}
/** Where the detector health comes from (web/server/liveDetectorHealth.ts healthHead). */
export interface HealthHead {
  /** `collected`: the counts collected from the controllers lately; `startup`: the planner's view of the counts file. */
  readonly source: 'collected' | 'startup';
  readonly fallbackReason?: 'NO_STORAGE' | 'NO_COUNTS';
  readonly forInterval: string;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly intervalS: number;
  /** How many collected intervals the live health checks (counted back from the service's clock). */
  readonly checkIntervals: number;
  readonly checkedFrom?: string;
  readonly checkedIntervals?: number;
}
/** The network stream's `health` event. */
export interface NetworkHealth {
  readonly head: HealthHead;
  readonly intersections: readonly Pick<MapIntersection, 'id' | 'detectors' | 'unhealthyDetectors' | 'substitutedDetectors' | 'fallback'>[];
}
export interface NetworkMap {
  readonly name: string;
  readonly forInterval: string;
  readonly healthWindow: { readonly from: string; readonly to: string };
  readonly health: HealthHead;
  readonly intersections: readonly MapIntersection[];
  readonly links: readonly { readonly id: string; readonly from: string; readonly to: string; readonly lengthM: number; readonly speedKph: number }[];
}
export interface SignalState {
  readonly id: string;
  readonly cycleS: number;
  readonly cycleTimeS: number;
  readonly greenPhaseIds: readonly string[];
  readonly priorityActive: boolean;
  readonly movements: Readonly<Record<string, Lamp>>;
}
export interface SignalStates {
  readonly tS: number;
  readonly signals: readonly SignalState[];
}
export interface RbPhase {
  readonly phaseId: string;
  readonly ring: number;
  readonly barrier: number;
  readonly startS: number;
  readonly greenS: number;
  readonly yellowS: number;
  readonly allRedS: number;
  readonly minGreenS: number;
  readonly maxGreenS: number | null;
  readonly onDemand: boolean;
  readonly protected: readonly string[];
  readonly permitted: readonly string[];
}
export interface SubstitutedCell {
  readonly intervalStart: string;
  readonly fault: 'zero' | 'stuckOn' | 'chatter' | 'missing';
  readonly observedVeh: number | null;
  readonly substitutedVeh: number;
  readonly method: 'neighbours' | 'profile' | 'interpolation' | 'none';
}
export interface DetectorHealth {
  readonly id: string;
  readonly laneId: string;
  readonly kind: 'stopLine' | 'advance';
  readonly approach: string;
  readonly healthy: boolean;
  readonly faultsInFile: Readonly<Record<SubstitutedCell['fault'], number>>;
  readonly substituted: readonly SubstitutedCell[];
}
export interface IntersectionInfo {
  readonly id: string;
  readonly name: string;
  readonly planId: number | null;
  readonly forInterval: string;
  readonly phasing: 'stages' | 'ringBarrier';
  readonly cycleS: number;
  readonly offsetS: number;
  readonly rings: number;
  readonly barriers: number;
  readonly phases: readonly RbPhase[];
  readonly corridors: readonly string[];
  readonly health: IntersectionHealth;
}
/** One intersection's detector health; also its stream's `health` event. */
export interface IntersectionHealth extends HealthHead {
  readonly detectors: readonly DetectorHealth[];
  readonly fallback: { readonly detectors: number; readonly healthyDetectors: number; readonly predictedVeh: number; readonly fallbackVeh: number; readonly sources: Readonly<Record<string, number>> } | null;
}
export interface PhaseMeasures {
  readonly phaseId: string;
  readonly phaseNumber: number;
  readonly plannedSplitS: number;
  readonly cycles: number;
  readonly arrivals: number;
  readonly percentArrivalsOnGreen: number | null;
  readonly platoonRatio: number | null;
  readonly delaySPerVeh: number | null;
  readonly splitFailures: number;
  readonly splitFailureCycles: number;
  readonly percentSplitFailures: number | null;
  readonly terminations: { readonly gapOut: number; readonly maxOut: number; readonly forceOff: number; readonly unreported: number };
  readonly meanSplitS: number | null;
  /** [red start ms, green start s, yellow start s, end s] per cycle. */
  readonly pcdCycles: readonly (readonly [number, number, number, number])[];
  /** [cycle's red start ms, s in cycle, 0 red / 1 green / 2 yellow] per arrival. */
  readonly pcdPoints: readonly (readonly [number, number, 0 | 1 | 2])[];
  /** [green start ms, split s, termination code 0/4/5/6] per cycle. */
  readonly splits: readonly (readonly [number, number, number])[];
  /** [green start ms, green occupancy %, red occupancy %, 1 failure] per cycle judged. */
  readonly occupancy: readonly (readonly [number, number, number, 0 | 1])[];
}
export type Measures =
  | { readonly available: false; readonly reason: 'NO_STORAGE' | 'NO_EVENTS'; readonly fromMs: number; readonly toMs: number }
  | { readonly available: true; readonly fromMs: number; readonly toMs: number; readonly events: number; readonly thresholdPct: number; readonly phases: readonly PhaseMeasures[] };

/** Every signal's live state (or one intersection's: `id`), one event a second; returns the function that stops it. */
export function watchNetworkSignals(on: (s: SignalStates) => void, id?: string, onHealth?: (h: unknown) => void): () => void {
  const es = new EventSource(`/api/network/signals${id ? `?id=${encodeURIComponent(id)}` : ''}`);
  es.addEventListener('signals', (ev) => on(JSON.parse((ev as MessageEvent<string>).data) as SignalStates));
  // Detector health, at the start and whenever it changed: NetworkHealth, or IntersectionHealth with `id`.
  if (onHealth) es.addEventListener('health', (ev) => onHealth(JSON.parse((ev as MessageEvent<string>).data)));
  return () => es.close();
}

export const networkApi = {
  map: () => call<NetworkMap>('GET', '/api/network/map'),
  intersection: (id: string) => call<IntersectionInfo>('GET', `/api/intersections/${encodeURIComponent(id)}`),
  /** The measures of the `windowS` before the service's clock. */
  measures: (id: string, windowS: number) => call<Measures>('GET', `/api/intersections/${encodeURIComponent(id)}/measures?windowS=${windowS}`),
};
