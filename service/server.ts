/**
 * The greenwave gRPC service: loads a network and counts, plans them
 * (planNetwork), keeps the current plan and the TSP controller that adjusts it,
 * and serves BusPriorityService, SignalStateService, TimingService, the
 * standard health service and server reflection (proto/ is the contract).
 *
 * Robustness: malformed requests → INVALID_ARGUMENT naming the field; unknown
 * ids → NOT_FOUND; expired deadlines → DEADLINE_EXCEEDED; more than
 * `maxInFlight` concurrent calls or `maxStreams` open streams →
 * RESOURCE_EXHAUSTED (nothing queues); bearer tokens with roles; TLS unless
 * `insecure` is set explicitly; `close()` drains streams, then tryShutdown
 * with a timeout, then forceShutdown. All statuses come from `toGrpcStatus`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { CompiledNetwork } from '../engine/network/compile.js';
import { compileNetwork } from '../engine/network/compile.js';
import { parseNetworkText } from '../engine/network/validate.js';
import { demandFor, prepareCounts, type PreparedCounts } from '../engine/demand.js';
import { planNetwork, type NetworkPlan } from '../engine/plan.js';
import { movementId, parseMovementId } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { GreenwaveError, ErrorCode, IssueList, formatIssues } from '../engine/errors.js';
import { TspController, type TspDecision, type TspRequest } from '../engine/priority/tsp.js';
import { ControllerClient, type ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { PriorityLink } from '../controllers-adapter/priorityLink.js';
import { DEFAULT_RESYNC_PERIOD_MS, PlanResync } from '../controllers-adapter/resync.js';
import { PriorityClass, priorityConfig, type PriorityConfig } from '../engine/priority/policy.js';
import { StatusError, notFound, toGrpcStatus } from './errors.js';
import { TokenStore, type Role } from './auth.js';
import { intersectionSpat } from './spat.js';
import { priorityCandidates, type TransitIndex } from '../engine/transit/realtime.js';
import { candidateToPriorityRequest, feedVehicleIds, loadTransitIndex } from './gtfs.js';

export interface ServeOptions {
  readonly networkPath?: string;
  readonly countsPath?: string;
  /** Time of day of the counts interval to plan for, "HH:MM". */
  readonly at?: string;
  readonly host?: string;
  /** 0 = ephemeral. */
  readonly port?: number;
  /** Plaintext; must be asked for explicitly. Otherwise `tls` is required. */
  readonly insecure?: boolean;
  readonly tls?: { readonly certPath: string; readonly keyPath: string; readonly caPath?: string };
  readonly tokens: TokenStore;
  readonly maxInFlight?: number;
  readonly maxStreams?: number;
  readonly priority?: PriorityConfig;
  /** Seconds (Unix time) now; injectable for tests. */
  readonly clock?: () => number;
  /** How long close() waits for calls to finish before forcing, ms. */
  readonly shutdownGraceMs?: number;
  /** Static GTFS feed directory; enables SubmitVehiclePositions (GTFS-realtime). */
  readonly gtfsDir?: string;
  /**
   * Field controllers over Modbus TCP (unit id and intersection each). The base plan is pushed
   * to every one at start and after Replan; transit-priority adjustments follow as priority
   * overrides (controllers-adapter/priorityLink.ts) after every decision and once a second.
   */
  readonly controllers?: readonly ControllerEndpoint[];
  /** Shorthand for `controllers`: every intersection at one Modbus TCP address, unit id = index + 1 (as `greenwave controllers --virtual N` serves). */
  readonly controllerAddress?: { readonly host: string; readonly port: number };
  /** How often each controller's active plan id is checked and a restarted one re-sent the plan, ms (controllers-adapter/resync.ts; default 5000). */
  readonly controllerResyncMs?: number;
  /** Operational log lines (controller re-sync); default standard error. */
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly port: number;
  readonly server: grpc.Server;
  readonly state: ServiceState;
  /** With `controllers`: the link carrying priority to them, and what the controllers refused or missed. */
  readonly controllers: { readonly link: PriorityLink; readonly failures: string[] } | undefined;
  /** Streams open right now. */
  openStreams(): number;
  close(): Promise<void>;
}

const ROOT = findRepoRoot();
export const PROTO_ROOT = `${ROOT}/proto`;
export const PROTO_FILES = ['greenwave/v1/common.proto', 'greenwave/v1/priority.proto', 'greenwave/v1/signal_state.proto', 'greenwave/v1/timing.proto', 'grpc/health/v1/health.proto'];
export const DEFAULT_NETWORK = `${ROOT}/examples/demo-city/network.json`;
export const DEFAULT_COUNTS = `${ROOT}/examples/demo-city/counts.csv`;

function findRepoRoot(): string {
  for (const rel of ['..', '../..']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url)).replace(/\/$/, '');
    if (existsSync(`${dir}/proto/greenwave/v1/priority.proto`)) return dir;
  }
  throw new GreenwaveError(ErrorCode.Io, 'cannot find proto/greenwave/v1 next to the service');
}

export function loadProtos(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILES, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_ROOT] });
}

/** The planned network and the live TSP state the RPCs read and change. */
export class ServiceState {
  plan: NetworkPlan;
  forInterval: string;
  readonly tsp: TspController;
  /** The static GTFS feed matched to the network (serve --gtfs); undefined = GTFS-realtime is off. */
  transit: TransitIndex | undefined = undefined;
  /** Per vehicle id: the intersection its last GTFS-realtime check-in was for (to check it out once it moves on). */
  readonly feedCheckIns = new Map<string, number>();
  private readonly byId: Map<string, number>;

  constructor(
    readonly c: CompiledNetwork,
    readonly prepared: PreparedCounts,
    at: string | undefined,
    cfg: PriorityConfig,
  ) {
    const demand = demandFor(prepared, at);
    this.plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
    this.forInterval = demand.forInterval;
    this.tsp = new TspController(c, this.plan.buffer, cfg);
    this.byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  }

  static load(networkPath: string, countsPath: string, at: string | undefined, cfg: PriorityConfig): ServiceState {
    const parsed = parseNetworkText(readText(networkPath), networkPath);
    if (!parsed.ok) throw new GreenwaveError(ErrorCode.InvalidInput, `${networkPath}: ${formatIssues(parsed.issues)}`, parsed.issues);
    const c = compileNetwork(parsed.network);
    return new ServiceState(c, prepareCounts(c, readText(countsPath), countsPath), at, cfg);
  }

  intersection(id: string, path: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw notFound(`${path}: no intersection "${id}"`);
    return i;
  }

  replan(at: string): void {
    const demand = demandFor(this.prepared, at);
    this.plan = planNetwork(this.c, demand.volumeVeh, demand.intervalS);
    this.forInterval = demand.forInterval;
    this.tsp.setBasePlan(this.plan.buffer);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.Io, `cannot read "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---- request validation (field paths in every message) ----

type Obj = Record<string, unknown>;
const CLASS: Record<string, PriorityClass> = { PRIORITY_CLASS_OTHER: PriorityClass.Other, PRIORITY_CLASS_BUS: PriorityClass.Bus, PRIORITY_CLASS_EMERGENCY: PriorityClass.Emergency };

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function checkId(issues: IssueList, path: string, v: string): void {
  if (v.length === 0) issues.add(path, 'must not be empty');
  else if (v.length > 64) issues.add(path, 'must be at most 64 characters');
}

export function timestampToS(t: unknown): number {
  const o = (t ?? {}) as Obj;
  return num(o['seconds']) + num(o['nanos']) / 1e9;
}
export function sToTimestamp(s: number): { seconds: number; nanos: number } {
  if (!Number.isFinite(s)) return { seconds: 0, nanos: 0 };
  const sec = Math.floor(s);
  return { seconds: sec, nanos: Math.round((s - sec) * 1e9) % 1_000_000_000 };
}

/** Parses a PriorityRequest; throws INVALID_ARGUMENT (all problems, with paths) or NOT_FOUND. */
export function parsePriorityRequest(state: ServiceState, r: Obj, nowS: number, prefix = ''): TspRequest {
  const issues = new IssueList();
  const f = (name: string): string => `${prefix}${name}`;
  const vehicleId = str(r['vehicle_id']);
  const intersectionId = str(r['intersection_id']);
  checkId(issues, f('vehicle_id'), vehicleId);
  checkId(issues, f('intersection_id'), intersectionId);
  if (str(r['route_id']).length > 64) issues.add(f('route_id'), 'must be at most 64 characters');
  if (str(r['trip_id']).length > 64) issues.add(f('trip_id'), 'must be at most 64 characters');
  let movement = -1;
  const ref = r['movement_ref'];
  if (ref === 'approach') {
    const a = str(r['approach']).replace('APPROACH_', '');
    const idx = (APPROACH_IDS as readonly string[]).indexOf(a);
    if (idx < 0) issues.add(f('approach'), 'must be one of APPROACH_NB, APPROACH_SB, APPROACH_EB, APPROACH_WB');
    else movement = idx * 4 + 1;
  } else if (ref === 'movement') {
    const m = parseMovementId(str(r['movement']));
    if (!m) issues.add(f('movement'), `"${str(r['movement'])}" is not a movement id such as "EBT" or "NBL"`);
    else movement = m.index;
  } else issues.add(f('movement_ref'), 'one of approach or movement is required');
  let arrivalS = Number.NaN;
  if (r['eta'] === 'eta_s') {
    const e = num(r['eta_s']);
    if (!Number.isFinite(e)) issues.add(f('eta_s'), 'must be a finite number');
    else if (e < 0) issues.add(f('eta_s'), 'must be >= 0');
    else arrivalS = nowS + e;
  } else if (r['eta'] === 'eta_time') {
    const t = timestampToS(r['eta_time']);
    if (!Number.isFinite(t) || t < nowS - 5) issues.add(f('eta_time'), 'must not be in the past');
    else arrivalS = Math.max(t, nowS);
  } else issues.add(f('eta'), 'one of eta_s or eta_time is required');
  const latenessS = num(r['lateness_s']);
  if (!Number.isFinite(latenessS) || Math.abs(latenessS) > 86_400) issues.add(f('lateness_s'), 'must be a finite number of seconds within ±86400');
  const headwayS = num(r['headway_s']);
  if (!Number.isFinite(headwayS) || headwayS < 0) issues.add(f('headway_s'), 'must be >= 0');
  const cls = CLASS[str(r['priority_class'])];
  if (cls === undefined) issues.add(f('priority_class'), 'must be PRIORITY_CLASS_EMERGENCY, PRIORITY_CLASS_BUS or PRIORITY_CLASS_OTHER');
  issues.throwIfAny('PriorityRequest');
  const i = state.intersection(intersectionId, f('intersection_id'));
  return { vehicleId, routeId: str(r['route_id']), tripId: str(r['trip_id']), intersection: i, movement, arrivalS, latenessS, occupancy: num(r['occupancy']), headwayS, priorityClass: cls! };
}

const STRATEGY: Record<TspDecision['strategy'], string> = { none: 'STRATEGY_NONE', greenExtension: 'STRATEGY_GREEN_EXTENSION', earlyGreen: 'STRATEGY_EARLY_GREEN', phaseInsertion: 'STRATEGY_PHASE_INSERTION', preemption: 'STRATEGY_PREEMPTION' };
const REASON: Record<TspDecision['reason'], string> = {
  granted: 'REASON_GRANTED',
  alreadyGreen: 'REASON_ALREADY_GREEN',
  notEligible: 'REASON_NOT_ELIGIBLE',
  lockout: 'REASON_LOCKOUT',
  conflict: 'REASON_CONFLICT',
  noRoom: 'REASON_NO_ROOM',
  tooFar: 'REASON_TOO_FAR',
  unsafe: 'REASON_UNSAFE',
  movementNotServed: 'REASON_MOVEMENT_NOT_SERVED',
  preempted: 'REASON_PREEMPTED',
};

function priorityResponse(state: ServiceState, req: TspRequest, d: TspDecision): Obj {
  return {
    vehicle_id: req.vehicleId,
    intersection_id: state.c.intersectionIds[req.intersection],
    granted: d.granted,
    strategy: STRATEGY[d.strategy],
    expected_time_saved_s: d.savedS,
    reason: REASON[d.reason],
    detail: d.detail,
    phase_id: d.phase >= 0 ? state.c.phaseIds[d.phase] : '',
    adjustment_s: d.adjustmentS,
    green_at: Number.isFinite(d.greenAtS) ? sToTimestamp(d.greenAtS) : null,
  };
}

function parseCancel(state: ServiceState, r: Obj, prefix = ''): { vehicleId: string; i: number } {
  const issues = new IssueList();
  const vehicleId = str(r['vehicle_id']);
  const intersectionId = str(r['intersection_id']);
  checkId(issues, `${prefix}vehicle_id`, vehicleId);
  checkId(issues, `${prefix}intersection_id`, intersectionId);
  issues.throwIfAny('CancelPriorityRequest');
  return { vehicleId, i: state.intersection(intersectionId, `${prefix}intersection_id`) };
}

function phaseMovements(mask: number): string[] {
  const out: string[] = [];
  for (let m = 0; m < 16; m++) if (mask & (1 << m)) out.push(movementId(m));
  return out;
}

function intersectionPlan(state: ServiceState, i: number): Obj {
  const c = state.c;
  const tp = state.plan.plans[i]!;
  return {
    intersection_id: tp.intersectionId,
    cycle_s: tp.cycleS,
    offset_s: tp.offsetS,
    delay_s_per_veh: tp.delaySPerVeh,
    los: tp.los,
    phases: tp.phases.map((ph, k) => {
      const p = c.phaseStart[i]! + k;
      return {
        id: ph.id,
        ring: ph.ring,
        barrier: ph.barrier,
        start_s: ph.startS,
        green_s: ph.greenS,
        yellow_s: ph.yellowS,
        all_red_s: ph.allRedS,
        min_green_s: ph.minGreenS,
        protected_movements: phaseMovements(c.phaseProtectedMask[p]!),
        permitted_movements: phaseMovements(c.phasePermittedMask[p]!),
        on_demand: ph.onDemand,
      };
    }),
  };
}

function spatMessage(state: ServiceState, i: number, tS: number): Obj {
  const s = intersectionSpat(state.c, state.tsp, i, tS);
  return {
    intersection_id: s.intersectionId,
    timestamp: sToTimestamp(tS),
    revision: s.revision,
    cycle_s: s.cycleS,
    cycle_time_s: s.cycleTimeS,
    green_phase_ids: s.greenPhaseIds,
    priority_active: s.priorityActive,
    movements: s.movements.map((m) => ({
      movement_id: m.movementId,
      state: m.state,
      min_end_time: sToTimestamp(m.minEndS),
      likely_end_time: sToTimestamp(m.likelyEndS),
      min_end_in_s: Math.round((m.minEndS - tS) * 1000) / 1000,
      likely_end_in_s: Math.round((m.likelyEndS - tS) * 1000) / 1000,
    })),
  };
}

// ---- server ----

type AnyCall = grpc.ServerUnaryCall<Obj, Obj> | grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>;

/**
 * The field side of the service: a Modbus client to the controllers, the base plan pushed to
 * each, and the priority link that sends TSP adjustments after each decision and once a second.
 * Failures never fail a gRPC call: they are collected in `link.failures`.
 */
function connectControllers(state: ServiceState, endpoints: readonly ControllerEndpoint[], clock: () => number, opts: Pick<ServeOptions, 'controllerResyncMs' | 'log'>) {
  if (endpoints.length === 0) return undefined;
  const resyncMs = opts.controllerResyncMs ?? DEFAULT_RESYNC_PERIOD_MS;
  // An open breaker fails fast for at most one re-sync period, so a controller that comes back is re-synced at the next check.
  const client = new ControllerClient(state.c, endpoints, { timeoutMs: 1000, connectTimeoutMs: 1000, breakerCooldownMs: Math.min(5000, resyncMs) });
  const unitOf = new Map(endpoints.map((e) => [e.intersection, e.unitId]));
  const link = new PriorityLink(state.c, state.tsp, client, (i) => unitOf.get(i));
  // The base plan: pushed at start and after Replan, and again to any controller found off it (a restart).
  const resync = new PlanResync(state.c, client, endpoints, () => state.plan.buffer, { periodMs: resyncMs, ...(opts.log ? { log: opts.log } : {}), onFailure: (m) => link.failures.push(m) });
  const pushPlans = (): void => void resync.pushAll();
  const changed = (i: number): void => {
    if (unitOf.has(i)) void link.sync(i, clock());
  };
  // Once a second: stage each intersection's next adjusted cycle before it begins.
  const timer = setInterval(() => {
    for (const e of endpoints) void link.sync(e.intersection, clock());
  }, 1000);
  timer.unref();
  pushPlans();
  resync.start();
  return {
    link,
    resync,
    changed,
    pushPlans,
    close: (): void => {
      clearInterval(timer);
      resync.stop();
      void client.close();
    },
  };
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (!opts.insecure && !opts.tls) throw new GreenwaveError(ErrorCode.InvalidInput, 'refusing to serve without TLS: give TLS certificate and key, or ask for plaintext explicitly with --insecure');
  const clock = opts.clock ?? (() => Date.now() / 1000);
  const cfg = opts.priority ?? priorityConfig();
  const state = ServiceState.load(opts.networkPath ?? DEFAULT_NETWORK, opts.countsPath ?? DEFAULT_COUNTS, opts.at ?? '08:00', cfg);
  if (opts.gtfsDir !== undefined) state.transit = await loadTransitIndex(state.c.network, opts.gtfsDir);
  const maxInFlight = opts.maxInFlight ?? 1024;
  const maxStreams = opts.maxStreams ?? 4096;
  const tokens = opts.tokens;
  const pkgDef = loadProtos();
  const pkg = grpc.loadPackageDefinition(pkgDef) as unknown as {
    greenwave: { v1: Record<string, { service: grpc.ServiceDefinition }> };
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 1 << 20 });
  const addr = opts.controllerAddress;
  const endpoints = opts.controllers ?? (addr ? state.c.intersectionIds.slice(0, 247).map((_, i) => ({ unitId: i + 1, intersection: i, host: addr.host, port: addr.port })) : []);
  const field = connectControllers(state, endpoints, clock, opts);
  let inFlight = 0;
  let serving = true;
  const streams = new Set<grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>>();
  const healthWatchers = new Set<grpc.ServerWritableStream<Obj, Obj>>();

  const admit = (call: AnyCall, role: Role | null): void => {
    const dl = call.getDeadline();
    const dlMs = dl instanceof Date ? dl.getTime() : typeof dl === 'number' ? dl : Infinity;
    if (dlMs <= Date.now()) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'deadline already expired');
    if (!serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down');
    if (role !== null) tokens.authenticate(call.metadata, role);
  };

  const unary =
    (role: Role | null, fn: (req: Obj) => Obj): grpc.handleUnaryCall<Obj, Obj> =>
    (call, cb) => {
      if (inFlight >= maxInFlight) return cb(toGrpcStatus(new StatusError(grpc.status.RESOURCE_EXHAUSTED, `more than ${maxInFlight} calls in flight`)));
      inFlight++;
      try {
        admit(call, role);
        const res = fn(call.request);
        if (call.cancelled) return;
        cb(null, res);
      } catch (e: unknown) {
        cb(toGrpcStatus(e));
      } finally {
        inFlight--;
      }
    };

  const openStream = (call: grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>, role: Role | null): boolean => {
    try {
      if (streams.size >= maxStreams) throw new StatusError(grpc.status.RESOURCE_EXHAUSTED, `more than ${maxStreams} streams open`);
      admit(call, role);
    } catch (e: unknown) {
      call.emit('error', toGrpcStatus(e));
      return false;
    }
    streams.add(call);
    const done = (): void => {
      streams.delete(call);
    };
    call.on('cancelled', done);
    call.on('close', done);
    call.on('finish', done);
    return true;
  };

  const decide = (kind: 'request' | 'update', r: Obj, prefix = ''): Obj => {
    const now = clock();
    const req = parsePriorityRequest(state, r, now, prefix);
    const d = kind === 'request' ? state.tsp.request(req, now) : state.tsp.update(req, now);
    if (!d) throw notFound(`${prefix}vehicle_id: vehicle "${req.vehicleId}" has no open request at ${state.c.intersectionIds[req.intersection]}`);
    field?.changed(req.intersection);
    return priorityResponse(state, req, d);
  };
  const cancel = (r: Obj, prefix = ''): Obj => {
    const { vehicleId, i } = parseCancel(state, r, prefix);
    const res = state.tsp.cancel(vehicleId, i, clock());
    if (res.withdrawn) field?.changed(i);
    if (!res.found) throw notFound(`${prefix}vehicle_id: vehicle "${vehicleId}" has no open request at ${state.c.intersectionIds[i]}`);
    return { vehicle_id: vehicleId, intersection_id: state.c.intersectionIds[i], withdrawn: res.withdrawn };
  };

  /**
   * GTFS-realtime: every usable vehicle becomes a RequestPriority (same validation,
   * same TSP path, same response). Per-vehicle problems are `skipped`; only a feed
   * that is not a FeedMessage fails the call. A vehicle whose next intersection
   * changed since its previous feed check-in is checked out of the old one.
   */
  const submitPositions = (r: Obj): Obj => {
    const transit = state.transit;
    if (!transit) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'SubmitVehiclePositions needs a static GTFS feed: start the server with --gtfs <dir> (ServeOptions.gtfsDir)');
    const buf = r['gtfs_realtime_feed'];
    const vehicleOf = feedVehicleIds(buf);
    const { candidates, skipped, feedTimestampS } = priorityCandidates(buf, transit, { nowS: clock() });
    const entityOf = new Map<string, string>();
    for (const [entityId, vehicleId] of vehicleOf) if (!entityOf.has(vehicleId)) entityOf.set(vehicleId, entityId);
    const out: Obj[] = skipped.map((s) => ({ vehicle_id: vehicleOf.get(s.entityId) ?? s.entityId, reason: s.reason, entity_id: s.entityId }));
    const decisions: Obj[] = [];
    for (const cand of candidates) {
      try {
        const res = decide('request', candidateToPriorityRequest(cand));
        const i = state.intersection(cand.intersectionId, 'intersection_id');
        const before = state.feedCheckIns.get(cand.vehicleId);
        if (before !== undefined && before !== i && state.tsp.hasOpen(cand.vehicleId, before)) state.tsp.cancel(cand.vehicleId, before, clock());
        state.feedCheckIns.set(cand.vehicleId, i);
        decisions.push(res);
      } catch (e: unknown) {
        const st = toGrpcStatus(e);
        if (st.code === grpc.status.INTERNAL) throw e;
        out.push({ vehicle_id: cand.vehicleId, reason: `${grpc.status[st.code]}: ${st.details}`, entity_id: entityOf.get(cand.vehicleId) ?? '' });
      }
    }
    return { decisions, skipped: out, feed_timestamp: feedTimestampS !== undefined && Number.isFinite(feedTimestampS) ? sToTimestamp(feedTimestampS) : null };
  };

  server.addService(pkg.greenwave.v1['BusPriorityService']!.service, {
    SubmitVehiclePositions: unary('dispatch', (r) => submitPositions(r)),
    RequestPriority: unary('dispatch', (r) => decide('request', r)),
    UpdatePriority: unary('dispatch', (r) => decide('update', r)),
    CancelPriority: unary('dispatch', (r) => cancel(r)),
    PriorityStream: (call: grpc.ServerDuplexStream<Obj, Obj>) => {
      if (!openStream(call, 'dispatch')) return;
      call.on('data', (m: Obj) => {
        const correlation_id = str(m['correlation_id']);
        if (inFlight >= maxInFlight) {
          call.write({ correlation_id, error: { code: grpc.status.RESOURCE_EXHAUSTED, message: `more than ${maxInFlight} calls in flight` } });
          return;
        }
        inFlight++;
        try {
          const action = m['action'];
          if (action === 'request' || action === 'update') call.write({ correlation_id, response: decide(action, (m[action] ?? {}) as Obj, `${action}.`) });
          else if (action === 'cancel') call.write({ correlation_id, cancelled: cancel((m['cancel'] ?? {}) as Obj, 'cancel.') });
          else throw new GreenwaveError(ErrorCode.InvalidInput, 'action', [{ path: 'action', message: 'one of request, update or cancel is required' }]);
        } catch (e: unknown) {
          const st = toGrpcStatus(e);
          call.write({ correlation_id, error: { code: st.code, message: st.details } });
        } finally {
          inFlight--;
        }
      });
      call.on('end', () => call.end());
    },
  });

  server.addService(pkg.greenwave.v1['SignalStateService']!.service, {
    WatchSignalState: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      let ids: number[];
      let periodMs: number;
      try {
        const r = call.request;
        const names = (r['intersection_ids'] as string[] | undefined) ?? [];
        ids = names.length === 0 ? state.c.intersectionIds.map((_, i) => i) : names.map((id, k) => state.intersection(id, `intersection_ids[${k}]`));
        const iv = num(r['interval_s']);
        if (!Number.isFinite(iv) || (iv !== 0 && (iv < 0.1 || iv > 60))) throw new GreenwaveError(ErrorCode.InvalidInput, 'interval_s', [{ path: 'interval_s', message: 'must be 0 (1 s) or between 0.1 and 60' }]);
        periodMs = (iv === 0 ? 1 : iv) * 1000;
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      if (!openStream(call, 'viewer')) return;
      const tick = (): void => {
        if (call.cancelled || call.destroyed) return;
        const t = clock();
        for (const i of ids) call.write(spatMessage(state, i, t));
      };
      tick();
      const timer = setInterval(tick, periodMs);
      const stop = (): void => clearInterval(timer);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('finish', stop);
    },
  });

  server.addService(pkg.greenwave.v1['TimingService']!.service, {
    GetPlan: unary('viewer', (r) => {
      if (r['target'] === 'intersection_id') {
        const i = state.intersection(str(r['intersection_id']), 'intersection_id');
        return { for_interval: state.forInterval, plans: [intersectionPlan(state, i)] };
      }
      if (r['target'] === 'corridor_id') {
        const id = str(r['corridor_id']);
        const cor = state.c.network.corridors.find((x) => x.id === id);
        if (!cor) throw notFound(`corridor_id: no corridor "${id}"`);
        const cp = state.plan.corridors.find((x) => x.corridorId === id);
        return { for_interval: state.forInterval, corridor_id: id, corridor_cycle_s: cp?.cycleS ?? 0, plans: cor.intersections.map((x) => intersectionPlan(state, state.intersection(x, 'corridor_id'))) };
      }
      throw new GreenwaveError(ErrorCode.InvalidInput, 'target', [{ path: 'target', message: 'one of intersection_id or corridor_id is required' }]);
    }),
    ListIntersections: unary('viewer', () => ({
      intersections: state.c.network.intersections.map((ix, i) => ({
        id: ix.id,
        name: ix.name,
        lon: ix.position.lon,
        lat: ix.position.lat,
        phase_ids: state.c.phaseIds.slice(state.c.phaseStart[i]!, state.c.phaseStart[i + 1]!),
      })),
    })),
    ListCorridors: unary('viewer', () => ({
      corridors: state.c.network.corridors.map((cor) => ({ id: cor.id, name: cor.name, intersection_ids: cor.intersections, cycle_s: state.plan.corridors.find((x) => x.corridorId === cor.id)?.cycleS ?? 0 })),
    })),
    Replan: unary('operator', (r) => {
      const at = str(r['at']);
      if (!/^\d{1,2}:\d{2}$/.test(at)) throw new GreenwaveError(ErrorCode.InvalidInput, 'at', [{ path: 'at', message: 'must be a time of day HH:MM' }]);
      try {
        state.replan(at);
        field?.pushPlans();
      } catch (e: unknown) {
        const ge = GreenwaveError.from(e);
        if (ge.code === ErrorCode.InvalidInput) throw new GreenwaveError(ErrorCode.InvalidInput, ge.message, [{ path: 'at', message: ge.message.replace(/^--at /, '') }]);
        throw ge;
      }
      return { for_interval: state.forInterval, intersections: state.c.intersectionCount };
    }),
  });

  const KNOWN = new Set(['', 'greenwave.v1.BusPriorityService', 'greenwave.v1.SignalStateService', 'greenwave.v1.TimingService']);
  const healthStatus = (svc: string): string => (!KNOWN.has(svc) ? 'SERVICE_UNKNOWN' : serving ? 'SERVING' : 'NOT_SERVING');
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: unary(null, (r) => {
      const svc = str(r['service']);
      if (!KNOWN.has(svc)) throw notFound(`service: unknown service "${svc}"`);
      return { status: healthStatus(svc) };
    }),
    Watch: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!openStream(call, null)) return;
      healthWatchers.add(call);
      call.write({ status: healthStatus(str(call.request['service'])) });
      call.on('cancelled', () => healthWatchers.delete(call));
    },
  });
  new ReflectionService(pkgDef).addToServer(server);

  let creds: grpc.ServerCredentials;
  if (opts.tls) {
    const ca = opts.tls.caPath ? readFileSync(opts.tls.caPath) : null;
    creds = grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(opts.tls.certPath), private_key: readFileSync(opts.tls.keyPath) }], false);
  } else creds = grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(new GreenwaveError(ErrorCode.Io, `cannot listen: ${err.message}`)) : resolve(p))),
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      serving = false;
      field?.close();
      for (const w of healthWatchers) w.write({ status: 'NOT_SERVING' });
      // Drain: end every open stream cleanly (clients see OK), then stop accepting and wait.
      for (const s of streams) s.end();
      streams.clear();
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, opts.shutdownGraceMs ?? 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closing;
  };

  return { port, server, state, controllers: field ? { link: field.link, failures: field.link.failures } : undefined, openStreams: () => streams.size, close };
}
