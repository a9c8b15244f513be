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
import { planNetwork } from '../engine/plan.js';
import { GreenwaveError, ErrorCode, formatIssues } from '../engine/errors.js';
import { TspController } from '../engine/priority/tsp.js';
import { ControllerClient, type ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { PriorityLink } from '../controllers-adapter/priorityLink.js';
import { DEFAULT_RESYNC_PERIOD_MS, PlanResync } from '../controllers-adapter/resync.js';
import { PriorityClass, priorityConfig, type PriorityConfig } from '../engine/priority/policy.js';
import { StatusError, notFound, toGrpcStatus } from './errors.js';
import { TokenStore, requireRole, type Principal, type Role } from './auth.js';
import { priorityCandidates, type TransitIndex } from '../engine/transit/realtime.js';
import { candidateToPriorityRequest, feedVehicleIds, loadTransitIndex } from './gtfs.js';
import { Governor, governanceLimits, pacedStream, parseWatchRequest, type GovernanceLimits, type PacingStats, type Release } from './governance.js';
import { Replanner, type ReplanResult, type ServicePlan } from './replan.js';
import { minutesOf } from './planWire.js';
import { intersectionPlan, parseCancel, parsePriorityRequest, priorityResponse, sToTimestamp, spatMessage, str, type Obj } from './messages.js';

export { parsePriorityRequest, sToTimestamp, timestampToS } from './messages.js';

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
  /** Caps on calls, streams, open requests, watch intervals and Replans (service/governance.ts; defaults there). */
  readonly limits?: Partial<GovernanceLimits>;
  /** Shorthand for limits.maxInFlight. */
  readonly maxInFlight?: number;
  /** Shorthand for limits.maxStreams. */
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
  /** Authenticated streams open right now (health watches have a budget of their own). */
  openStreams(): number;
  readonly governance: {
    readonly limits: GovernanceLimits;
    stats(): { inFlight: number; streams: number; healthWatches: number };
    /** Server streams held back for clients that do not read (service/governance.ts pacedStream). */
    readonly pacing: PacingStats;
    /** Replan computations started (concurrent Replans of one interval share one). */
    replanComputations(): number;
  };
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
  plan: ServicePlan;
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
    /** The files' text as loaded: the Replan worker plans exactly this network and these counts. */
    readonly source: { readonly networkPath: string; readonly networkText: string; readonly countsPath: string; readonly countsText: string },
  ) {
    const demand = demandFor(prepared, at);
    this.plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
    this.forInterval = demand.forInterval;
    this.tsp = new TspController(c, this.plan.buffer, cfg);
    this.byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  }

  static load(networkPath: string, countsPath: string, at: string | undefined, cfg: PriorityConfig): ServiceState {
    const networkText = readText(networkPath);
    const parsed = parseNetworkText(networkText, networkPath);
    if (!parsed.ok) throw new GreenwaveError(ErrorCode.InvalidInput, `${networkPath}: ${formatIssues(parsed.issues)}`, parsed.issues);
    const c = compileNetwork(parsed.network);
    const countsText = readText(countsPath);
    return new ServiceState(c, prepareCounts(c, countsText, countsPath), at, cfg, { networkPath, networkText, countsPath, countsText });
  }

  intersection(id: string, path: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw notFound(`${path}: no intersection "${id}"`);
    return i;
  }

  /** Installs a new plan in one synchronous step (drops open requests and adjustments). */
  apply(r: ReplanResult): void {
    if (this.plan === r.plan) return; // coalesced Replans hand every caller the same result
    this.plan = r.plan;
    this.forInterval = r.forInterval;
    this.tsp.setBasePlan(r.plan.buffer);
    this.feedCheckIns.clear();
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.Io, `cannot read "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
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
  const gov = new Governor(governanceLimits({ ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}), ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}), ...opts.limits }));
  const replanner = new Replanner(state.c, state.source, gov.limits.maxPendingReplans);
  const pacing: PacingStats = { skippedTicks: 0, catchUps: 0 };
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
  let serving = true;
  const streams = new Set<grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>>();
  const healthWatchers = new Set<grpc.ServerWritableStream<Obj, Obj>>();
  const ANONYMOUS: Principal = { client: '', roles: [] };

  const deadlineMs = (call: AnyCall): number => {
    const dl = call.getDeadline();
    return dl instanceof Date ? dl.getTime() : typeof dl === 'number' ? dl : Infinity;
  };
  /** Deadline, shutdown, then the token: nothing is looked up for a caller not yet authenticated. */
  const admit = (call: AnyCall, role: Role | readonly Role[] | null): Principal => {
    if (deadlineMs(call) <= Date.now()) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'deadline already expired');
    if (!serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down');
    return role === null ? ANONYMOUS : tokens.authenticate(call.metadata, role);
  };

  type Handler = (req: Obj, who: Principal, call: grpc.ServerUnaryCall<Obj, Obj>) => Obj | Promise<Obj>;
  const unary =
    (role: Role | readonly Role[] | null, fn: Handler): grpc.handleUnaryCall<Obj, Obj> =>
    (call, cb) => {
      let release: Release | undefined;
      const finish = (e: unknown, res?: Obj): void => {
        release?.();
        if (call.cancelled) return;
        if (e !== undefined) cb(toGrpcStatus(e));
        else cb(null, res);
      };
      try {
        gov.checkInFlight();
        const who = admit(call, role);
        release = gov.enterCall(who.client);
        const res = fn(call.request, who, call);
        if (res instanceof Promise) res.then((r) => finish(undefined, r), finish);
        else finish(undefined, res);
      } catch (e: unknown) {
        finish(e);
      }
    };

  /** Admits an authenticated stream (counted in all and per client until it ends), or fails it. */
  const openStream = (call: grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>, role: Role): Principal | undefined => {
    let who: Principal;
    let release: Release;
    try {
      gov.checkStreams();
      who = admit(call, role);
      release = gov.enterStream(who.client);
    } catch (e: unknown) {
      call.emit('error', toGrpcStatus(e));
      return undefined;
    }
    streams.add(call);
    const done = (): void => {
      release();
      streams.delete(call);
    };
    for (const ev of ['cancelled', 'close', 'finish', 'error']) call.on(ev, done);
    return who;
  };

  const denyOthers = (who: Principal, owner: string, what: string): void => {
    if (owner !== who.client && !who.roles.includes('operator')) throw new StatusError(grpc.status.PERMISSION_DENIED, `${what} was made by another client; only it or an operator may change it`);
  };
  const decide = (kind: 'request' | 'update', r: Obj, who: Principal, prefix = ''): Obj => {
    const now = clock();
    const req = parsePriorityRequest(state, r, now, prefix, who.client);
    if (req.priorityClass === PriorityClass.Emergency) requireRole(who, 'emergency', `${prefix}priority_class: PRIORITY_CLASS_EMERGENCY (preemption) needs it`);
    const owner = state.tsp.ownerOf(req.vehicleId, req.intersection);
    const what = `vehicle "${req.vehicleId}" has no open request at ${state.c.intersectionIds[req.intersection]}`;
    if (owner === undefined) {
      if (kind === 'update') throw notFound(`${prefix}vehicle_id: ${what}`);
      gov.checkNewOpenRequest(state.tsp, who.client);
    } else denyOthers(who, owner, `${prefix}vehicle_id: the open request of vehicle "${req.vehicleId}" at ${state.c.intersectionIds[req.intersection]}`);
    const d = kind === 'request' ? state.tsp.request(req, now) : state.tsp.update(req, now);
    if (!d) throw notFound(`${prefix}vehicle_id: ${what}`);
    field?.changed(req.intersection);
    return priorityResponse(state, req, d);
  };
  const cancel = (r: Obj, who: Principal, prefix = ''): Obj => {
    const { vehicleId, i } = parseCancel(state, r, prefix);
    const owner = state.tsp.ownerOf(vehicleId, i);
    if (owner === undefined) throw notFound(`${prefix}vehicle_id: vehicle "${vehicleId}" has no open request at ${state.c.intersectionIds[i]}`);
    denyOthers(who, owner, `${prefix}vehicle_id: the open request of vehicle "${vehicleId}" at ${state.c.intersectionIds[i]}`);
    const res = state.tsp.cancel(vehicleId, i, clock());
    if (res.withdrawn) field?.changed(i);
    return { vehicle_id: vehicleId, intersection_id: state.c.intersectionIds[i], withdrawn: res.withdrawn };
  };

  /**
   * GTFS-realtime: every usable vehicle becomes a RequestPriority (same validation,
   * same TSP path, same response). Per-vehicle problems are `skipped`; only a feed
   * that is not a FeedMessage fails the call. A vehicle whose next intersection
   * changed since its previous feed check-in is checked out of the old one.
   */
  const submitPositions = (r: Obj, who: Principal): Obj => {
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
        const res = decide('request', candidateToPriorityRequest(cand), who);
        const i = state.intersection(cand.intersectionId, 'intersection_id');
        const before = state.feedCheckIns.get(cand.vehicleId);
        if (before !== undefined && before !== i && state.tsp.ownerOf(cand.vehicleId, before) === who.client) state.tsp.cancel(cand.vehicleId, before, clock());
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

  /**
   * Replan: computed on the worker (coalesced per interval), applied here in one step only
   * if the call still wants it. A call cancelled or past its deadline changes nothing.
   */
  const replan = async (r: Obj, call: grpc.ServerUnaryCall<Obj, Obj>): Promise<Obj> => {
    const at = str(r['at']);
    minutesOf(at);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    call.on('cancelled', stop);
    const dl = deadlineMs(call);
    const timer = Number.isFinite(dl) ? setTimeout(stop, Math.max(0, dl - Date.now())) : undefined;
    try {
      const result = await replanner.plan(at, abort.signal);
      if (abort.signal.aborted || call.cancelled || Date.now() >= dl) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'Replan cancelled or past its deadline: the plan is unchanged');
      if (!serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down: the plan is unchanged');
      state.apply(result);
      field?.pushPlans();
      return { for_interval: state.forInterval, intersections: state.c.intersectionCount };
    } catch (e: unknown) {
      if (e instanceof StatusError) throw e;
      const ge = GreenwaveError.from(e);
      if (ge.code === ErrorCode.Cancelled) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'Replan cancelled or past its deadline: the plan is unchanged');
      if (ge.code === ErrorCode.InvalidInput) throw new GreenwaveError(ErrorCode.InvalidInput, ge.message, [{ path: 'at', message: ge.message.replace(/^--at "?[^"\s]*"?:? ?/, '') }]);
      throw ge;
    } finally {
      clearTimeout(timer);
      call.off('cancelled', stop);
    }
  };

  server.addService(pkg.greenwave.v1['BusPriorityService']!.service, {
    SubmitVehiclePositions: unary('dispatch', (r, who) => submitPositions(r, who)),
    RequestPriority: unary('dispatch', (r, who) => decide('request', r, who)),
    UpdatePriority: unary('dispatch', (r, who) => decide('update', r, who)),
    CancelPriority: unary(['dispatch', 'operator'], (r, who) => cancel(r, who)),
    PriorityStream: (call: grpc.ServerDuplexStream<Obj, Obj>) => {
      const who = openStream(call, 'dispatch');
      if (!who) return;
      // Backpressure: a client that does not read its answers is not read either.
      const reply = (m: Obj): void => {
        if (!call.write(m)) {
          call.pause();
          call.once('drain', () => call.resume());
        }
      };
      call.on('data', (m: Obj) => {
        const correlation_id = str(m['correlation_id']);
        let release: Release | undefined;
        try {
          release = gov.enterCall(who.client);
          const action = m['action'];
          if (action === 'request' || action === 'update') reply({ correlation_id, response: decide(action, (m[action] ?? {}) as Obj, who, `${action}.`) });
          else if (action === 'cancel') reply({ correlation_id, cancelled: cancel((m['cancel'] ?? {}) as Obj, who, 'cancel.') });
          else throw new GreenwaveError(ErrorCode.InvalidInput, 'action', [{ path: 'action', message: 'one of request, update or cancel is required' }]);
        } catch (e: unknown) {
          const st = toGrpcStatus(e);
          reply({ correlation_id, error: { code: st.code, message: st.details } });
        } finally {
          release?.();
        }
      });
      call.on('end', () => call.end());
    },
  });

  /**
   * SPaT of intersection i at the current 0.1 s step, computed once per step for every
   * subscriber (hundreds of viewers of one intersection cost one computation), and again
   * whenever the intersection's schedule or the plan changes.
   */
  const spatCache: ({ tS: number; revision: number; plan: ServicePlan; msg: Obj } | undefined)[] = [];
  const spatNow = (i: number): Obj => {
    const tS = Math.floor(clock() * 10) / 10;
    const hit = spatCache[i];
    if (hit && hit.tS === tS && hit.revision === state.tsp.revision[i] && hit.plan === state.plan) return hit.msg;
    const msg = spatMessage(state, i, tS);
    spatCache[i] = { tS, revision: state.tsp.revision[i]!, plan: state.plan, msg };
    return msg;
  };

  server.addService(pkg.greenwave.v1['SignalStateService']!.service, {
    WatchSignalState: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!openStream(call, 'viewer')) return;
      let w: { ids: number[]; periodMs: number };
      try {
        w = parseWatchRequest(call.request, state.c.intersectionCount, gov.limits, (id, path) => state.intersection(id, path));
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      pacedStream(call, w.periodMs, () => w.ids.map((i) => spatNow(i)), pacing);
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
    Replan: unary('operator', (r, _who, call) => replan(r, call)),
  });

  const KNOWN = new Set(['', 'greenwave.v1.BusPriorityService', 'greenwave.v1.SignalStateService', 'greenwave.v1.TimingService']);
  const healthStatus = (svc: string): string => (!KNOWN.has(svc) ? 'SERVICE_UNKNOWN' : serving ? 'SERVING' : 'NOT_SERVING');
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: unary(null, (r) => {
      const svc = str(r['service']);
      if (!KNOWN.has(svc)) throw notFound(`service: unknown service "${svc}"`);
      return { status: healthStatus(svc) };
    }),
    // Unauthenticated: a budget of their own (maxHealthWatches), never counted against maxStreams.
    Watch: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      let release: Release;
      try {
        admit(call, null);
        release = gov.enterHealthWatch();
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      healthWatchers.add(call);
      const done = (): void => {
        release();
        healthWatchers.delete(call);
      };
      for (const ev of ['cancelled', 'close', 'finish', 'error']) call.on(ev, done);
      call.write({ status: healthStatus(str(call.request['service'])) });
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
      void replanner.close();
      // Drain: end every open stream cleanly (clients see OK), then stop accepting and wait.
      // A stream whose client does not read cannot flush; forceShutdown after the grace ends it.
      for (const w of healthWatchers) {
        w.write({ status: 'NOT_SERVING' });
        w.end();
      }
      for (const s of streams) s.end();
      streams.clear();
      healthWatchers.clear();
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

  return {
    port,
    server,
    state,
    controllers: field ? { link: field.link, failures: field.link.failures } : undefined,
    openStreams: () => gov.stats().streams,
    governance: { limits: gov.limits, stats: () => gov.stats(), pacing, replanComputations: () => replanner.computations },
    close,
  };
}
