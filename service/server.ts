/**
 * The greenwave gRPC service: loads a network and counts, plans them
 * (planNetwork), keeps the current plan and the TSP controller that adjusts it,
 * and serves BusPriorityService, SignalStateService, TimingService,
 * TrafficStateService (./trafficService.ts), the
 * standard health service and server reflection (proto/ is the contract).
 *
 * Robustness: malformed requests → INVALID_ARGUMENT naming the field; unknown
 * ids → NOT_FOUND; expired deadlines → DEADLINE_EXCEEDED; more than
 * `maxInFlight` concurrent calls or `maxStreams` open streams →
 * RESOURCE_EXHAUSTED (nothing queues); bearer tokens with roles; TLS unless
 * `insecure` is set explicitly; `close()` drains streams, then tryShutdown
 * with a timeout, then forceShutdown. All statuses come from `toGrpcStatus`.
 * startServer wires the parts: the state (./state.ts), the field controllers
 * (./fieldLink.ts), call admission (./calls.ts) and one module per service
 * (./priorityService.ts, ./signalStateService.ts, ./timingService.ts,
 * ./healthService.ts).
 * Operations: a Prometheus registry per server (./metrics.ts), served at
 * /metrics on `metricsPort` when it is given, and a pino logger (./logging.ts)
 * for the operational lines and one line per notable call.
 * The operator console (web/server/http.ts) on `webPort`, when it is given,
 * calls the same plan lifecycle in-process.
 */
import { tuneHeapForServer } from './heapTuning.js';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import type { ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import type { PriorityLink } from '../controllers-adapter/priorityLink.js';
import { priorityConfig, type PriorityConfig } from '../engine/priority/policy.js';
import type { TokenStore } from './auth.js';
import { loadTransitIndex } from './gtfs.js';
import { Governor, governanceLimits, type GovernanceLimits, type PacingStats } from './governance.js';
import { Replanner } from './replan.js';
import { ServiceState } from './state.js';
import { connectControllers } from './fieldLink.js';
import { CallGate, type ServiceContext } from './calls.js';
import { busPriorityService } from './priorityService.js';
import { signalStateService } from './signalStateService.js';
import { timingService } from './timingService.js';
import { healthService } from './healthService.js';
import { ServiceJournal, sha256 } from './journal.js';
import { operationsService } from './operationsService.js';
import { PlanLifecycle } from './lifecycle/lifecycle.js';
import { Reviewer, type ReviewOptions } from './lifecycle/review.js';
import { ScheduleKeeper } from './lifecycle/schedule.js';
import { CountCollector } from './countCollector.js';
import { Deployer, storedPlanResult, wirePlanId } from './deployer.js';
import type { DetectorCount, Storage } from './storage/storage.js';
import { storageAudit } from './incidentActions.js';
import { ServiceMetrics, serveMetrics, type MetricsEndpoint } from './metrics.js';
import { lineLog, makeLogger, type Logger } from './logging.js';
import { EventCollector } from './eventCollector.js';
import { eventService } from './eventService.js';
import { parkingService } from './parkingService.js';
import { passBuffers } from './recommendWire.js';
import { ParkingGuidance } from './parkingState.js';
import { TrafficState } from './trafficState.js';
import { CONFIRM_AFTER_RESTART_S } from './incidentBook.js';
import { DIVERSION_AUTHOR, startDiversion, type ProposeDiversionPlan, type RunningDiversion, type WithdrawDiversionPlan } from './diversionSigns.js';
import { trafficService } from './trafficService.js';
import { PriorityFeed } from './priorityFeed.js';
import { SignPusher, type SignPusherOptions } from './signPusher.js';
import { ParkingGates } from './parkingGates.js';
import { OccupancyHistory } from './occupancyHistory.js';
import { addReflection } from './reflection.js';
import { startConsole, type RunningConsole } from '../web/server/http.js';
import type { UserStore } from '../web/server/users.js';
import { calibratedHours, DEFAULT_CALIBRATION_DAYS, IncidentCalibrator } from './incidentCalibration.js';

export { parsePriorityRequest, sToTimestamp, timestampToS } from './messages.js';
export { ServiceState } from './state.js';

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
  /** Operational log (controller re-sync, restored state, notable calls): pino JSON lines; default: warn level on standard error (`greenwave serve` passes its own, info by default). */
  readonly logger?: Logger;
  /** Serve Prometheus metrics at http://host:metricsPort/metrics (0 = any free port); undefined = not served (they are still kept). */
  readonly metricsPort?: number;
  /** Where /metrics listens (default `host`). */
  readonly metricsHost?: string;
  /** A successful call slower than this is logged at info level, ms (default 1000). */
  readonly slowCallMs?: number;
  /**
   * Where the service keeps what must survive a restart (./journal.ts): the last Replan is
   * restored at start in place of `at`, priority requests left open are closed as expired, and
   * refused authentications are audited. The caller opens and closes it; undefined = nothing kept.
   */
  readonly storage?: Storage;
  /** The plan lifecycle (with a storage): the author of a plan cannot approve it (default false). */
  readonly twoPersonRule?: boolean;
  /** The plan review's simulation: simulated time per run, s, and seeds (defaults 1800 and [1, 2]). */
  readonly review?: ReviewOptions;
  /** The detector count interval stored from the controllers, s (./countCollector.ts; default 30). Needs controllers, and a storage or gate loops in the parking file. */
  readonly countIntervalS?: number;
  /**
   * Days of stored loop counts the live incident detector's loops are calibrated on, at start and
   * daily (./incidentCalibration.ts; default 3, 0 = one threshold for every loop). Needs
   * controllers and a storage. The raw counts are kept that many days (at least one) before
   * they are rolled up into 15-minute counts.
   */
  readonly incidentCalibrationDays?: number;
  /** Complete hours of counts a calibration needs (default 24; tests lower it). */
  readonly incidentCalibrationMinHours?: number;
  /** How often each controller's event log is collected into `storage`, ms (./eventCollector.ts; default 1000). Needs controllers and a storage. */
  readonly eventPollMs?: number;
  /** A parking file (docs/parking.md) checked against the network: enables ParkingGuidanceService (./parkingService.ts). */
  readonly parking?: string;
  /** The sign pusher's period, refresh, comm-loss timeout and Modbus timeouts (./signPusher.ts; tests and embedding programs). */
  readonly signOptions?: SignPusherOptions;
  /** A diversion file (engine/traffic/diversionFile.ts, docs/traffic.md) checked against the network's links: its signs show route travel times or 前方拥堵 请绕行 (./diversionSigns.ts). */
  readonly diversion?: string;
  /** Serve the operator console (web/) at http(s)://webHost:webPort/ (0 = any free port); undefined = not served. Needs `users`. */
  readonly webPort?: number;
  /** Where the console listens (default `host`). */
  readonly webHost?: string;
  /** The console's users, passwords and roles (web/server/users.ts). */
  readonly users?: UserStore;
}

export interface RunningServer {
  readonly port: number;
  /** Where /metrics is served (undefined without `metricsPort`). */
  readonly metricsPort: number | undefined;
  /** Where the operator console is served (undefined without `webPort`). */
  readonly webPort: number | undefined;
  /** This server's metrics (its own prom-client Registry). */
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  readonly server: grpc.Server;
  readonly state: ServiceState;
  /** With `controllers`: the link carrying priority to them, and what the controllers refused or missed. */
  readonly controllers: { readonly link: PriorityLink; readonly failures: string[] } | undefined;
  /** With `parking`: the car parks, their occupancy feed and the recommender. */
  readonly parking: ParkingGuidance | undefined;
  /** The network traffic state and the incidents list TrafficStateService serves. */
  readonly traffic: TrafficState;
  /** The collector of the controllers' loop counts, when it runs (with controllers, and a storage or gate loops). */
  readonly counts: CountCollector | undefined;
  /** With live counts and a storage (and `incidentCalibrationDays` > 0): the incident detector's daily calibration. */
  readonly incidentCalibrator: IncidentCalibrator | undefined;
  /** With a parking file whose signs have endpoints: the pusher of their messages (./signPusher.ts). */
  readonly signs: SignPusher | undefined;
  /** With `diversion`: the decision points' current messages and their signs' pusher (./diversionSigns.ts). */
  readonly diversion: RunningDiversion | undefined;
  /** Authenticated streams open right now (health watches have a budget of their own). */
  openStreams(): number;
  readonly governance: {
    readonly limits: GovernanceLimits;
    stats(): { inFlight: number; streams: number; healthWatches: number; reflectionStreams: number };
    /** Server streams held back for clients that do not read (service/governance.ts pacedStream). */
    readonly pacing: PacingStats;
    /** Replan computations started (concurrent Replans of one interval share one). */
    replanComputations(): number;
  };
  close(): Promise<void>;
}

const ROOT = findRepoRoot();
export const PROTO_ROOT = `${ROOT}/proto`;
export const PROTO_FILES = ['greenwave/v1/common.proto', 'greenwave/v1/priority.proto', 'greenwave/v1/signal_state.proto', 'greenwave/v1/timing.proto', 'greenwave/v1/operations.proto', 'greenwave/v1/events.proto', 'greenwave/v1/parking.proto', 'greenwave/v1/traffic.proto', 'grpc/health/v1/health.proto'];
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

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (!opts.insecure && !opts.tls) throw new GreenwaveError(ErrorCode.InvalidInput, 'refusing to serve without TLS: give TLS certificate and key, or ask for plaintext explicitly with --insecure');
  tuneHeapForServer();
  const clock = opts.clock ?? (() => Date.now() / 1000);
  const cfg = opts.priority ?? priorityConfig();
  // Without a logger (tests, benchmarks, embedding programs) only warnings and errors are written:
  // those callers provoke thousands of refused calls on purpose, one info line each would flood them.
  const logger = opts.logger ?? makeLogger('warn');
  const log = lineLog(logger);
  // The field link is made later; the gauges read it when scraped.
  let fieldRef: ReturnType<typeof connectControllers>;
  const metrics = new ServiceMetrics(() => (fieldRef ? { total: fieldRef.resync.size, reachable: fieldRef.resync.reachableCount() } : undefined));
  let state = ServiceState.load(opts.networkPath ?? DEFAULT_NETWORK, opts.countsPath ?? DEFAULT_COUNTS, opts.at ?? '08:00', cfg);
  let journal: ServiceJournal | undefined;
  let restoredWire: number | undefined;
  let restoredPlanId: number | undefined;
  if (opts.storage) {
    journal = new ServiceJournal(opts.storage, state.c.network.name || state.source.networkPath, lineLog(logger, 'warn'), (v, ix) => state.tspHolds(v, ix), metrics);
    await opts.storage.saveNetworkVersion({ user: 'greenwave' }, state.c.network.name || state.source.networkPath, state.source.networkText);
    const restored = await journal.lastPlan(sha256(state.source.networkText), sha256(state.source.countsText));
    if (restored?.exact && restored.sameInputs) {
      // A deployed lifecycle plan: the very plan that was approved, not a re-computation.
      state = ServiceState.load(opts.networkPath ?? DEFAULT_NETWORK, opts.countsPath ?? DEFAULT_COUNTS, restored.at ?? opts.at ?? '08:00', cfg);
      state.apply(storedPlanResult(state.c, restored.exact));
      restoredWire = wirePlanId(restored.planId);
      restoredPlanId = restored.planId;
      log(`greenwave serve: restored deployed plan ${restored.planId} (version ${restored.version}) in place of --at ${opts.at ?? '08:00'}`);
    } else if (restored?.at !== undefined) {
      state = ServiceState.load(opts.networkPath ?? DEFAULT_NETWORK, opts.countsPath ?? DEFAULT_COUNTS, restored.at, cfg);
      log(`greenwave serve: restored the plan for ${restored.at} (stored plan ${restored.planId}, version ${restored.version}) in place of --at ${opts.at ?? '08:00'}${restored.sameInputs ? '' : '; the stored plan was made from other network or counts files, so it was re-planned from these'}`);
    } else if (restored) log(`greenwave serve: deployed plan ${restored.planId} was made for another network file: planning for --at ${opts.at ?? '08:00'} instead`);
    const expired = await journal.expireLeftOpen(Math.round(clock() * 1000));
    if (expired > 0) log(`greenwave serve: ${expired} priority request${expired === 1 ? '' : 's'} left open by the previous run closed as expired`);
  }
  if (opts.gtfsDir !== undefined) state.transit = await loadTransitIndex(state.c.network, opts.gtfsDir);
  const parking = opts.parking !== undefined ? ParkingGuidance.load(opts.parking, state, clock) : undefined;
  const gov = new Governor(governanceLimits({ ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}), ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}), ...opts.limits }));
  const replanner = new Replanner(state.c, state.source, gov.limits.maxPendingReplans, metrics);
  const pacing: PacingStats = { skippedTicks: 0, catchUps: 0 };
  const pkgDef = loadProtos();
  const pkg = grpc.loadPackageDefinition(pkgDef) as unknown as {
    greenwave: { v1: Record<string, { service: grpc.ServiceDefinition }> };
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 1 << 20 });
  const addr = opts.controllerAddress;
  const endpoints = opts.controllers ?? (addr ? state.c.intersectionIds.slice(0, 247).map((_, i) => ({ unitId: i + 1, intersection: i, host: addr.host, port: addr.port })) : []);
  const field = connectControllers(state, endpoints, clock, { controllerResyncMs: opts.controllerResyncMs, log, metrics });
  fieldRef = field;
  if (field && restoredWire !== undefined) field.deployed(restoredWire);
  let lifecycle: PlanLifecycle | undefined;
  let reviewer: Reviewer | undefined;
  let schedules: ScheduleKeeper | undefined;
  if (opts.storage) {
    reviewer = new Reviewer(state.c, state.source, opts.review);
    const deployer = field ? new Deployer(opts.storage, field.client, state.c, field.endpoints, log, metrics) : undefined;
    lifecycle = new PlanLifecycle(opts.storage, state, replanner, reviewer, state.c.network.name || state.source.networkPath, field, deployer, { twoPersonRule: opts.twoPersonRule ?? false }, log);
    lifecycle.inForce = restoredPlanId;
    if (field) schedules = new ScheduleKeeper(opts.storage, lifecycle, field, clock, log);
    // Deployments a previous run left in flight are finished or reported, then the schedule in
    // force (if any) resumes: both in the background, serving starts now.
    const sk = schedules;
    if (deployer)
      void deployer
        .recover({ user: 'greenwave' })
        .then(() => sk?.start())
        .catch((e: unknown) => log(`greenwave serve: recovering deployments or the schedule failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  // The controllers' event logs, collected into the storage (ATSPM-style), when there are both.
  const collector = endpoints.length > 0 && opts.storage ? new EventCollector(state.c, endpoints, opts.storage, { periodMs: opts.eventPollMs, log: lineLog(logger, 'warn'), metrics }).start() : undefined;
  if (collector) metrics.eventBacklog(() => collector.backlog());
  // The controllers' loop counts, one row per detector per interval, into the storage; the car
  // parks' gate loops among them to the occupancy tracker (with or without a storage).
  // With a storage they also become the live traffic state and feed the incident detector.
  const gates = parking ? new ParkingGates(parking, state.c, log) : undefined;
  // With the event collector, the live link delays take the arrival pattern from the collected events.
  const traffic = new TrafficState(state, collector ? opts.storage : undefined);
  traffic.book.log = log;
  metrics.incidents(() => {
    const d = traffic.detection();
    const open = new Map<string, number>();
    for (const x of traffic.incidents) if (x.clearedS === undefined) open.set(x.source, (open.get(x.source) ?? 0) + 1);
    return { calibrationHours: calibratedHours(d.calibration), open };
  });
  // The incidents a previous run kept (an operator's report still open blocks its lanes again).
  if (opts.storage) {
    try {
      const r = await traffic.restoreIncidents(opts.storage, clock(), { confirmWithinS: field !== undefined ? CONFIRM_AFTER_RESTART_S : 0 });
      if (r.restored > 0) log(`greenwave serve: ${r.restored} incidents restored from the database; of those the loops had detected and were open, ${r.unconfirmed} wait ${CONFIRM_AFTER_RESTART_S} s for the loops to confirm them, ${r.closed} closed (no live detection)`);
    } catch (e: unknown) {
      log(`greenwave serve: incidents not restored, and not kept this run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // Recommend's drives take the link state's signal delays, as GetRouteTravelTime does.
  if (parking) parking.traffic = traffic;
  const liveTraffic = field !== undefined && opts.storage !== undefined;
  // One window's events read at a time, in order (each read waits for the one before).
  let progression = Promise.resolve();
  const onCounts = (rows: readonly DetectorCount[], iv: { startMs: number; intervalS: number }): void => {
    if (gates?.any) gates.apply(rows, iv);
    if (!liveTraffic) return;
    traffic.applyLive(rows, iv);
    if (collector) progression = progression.then(() => traffic.loadProgression()).then(() => undefined, (e: unknown) => log(`greenwave serve: arrivals on green not read: ${e instanceof Error ? e.message : String(e)}`));
  };
  // The incident detector's calibration reads the raw counts of its days: they are rolled up later.
  const calibrationDays = opts.incidentCalibrationDays ?? DEFAULT_CALIBRATION_DAYS;
  const downsampleAfterS = Math.max(1, calibrationDays) * 86_400;
  const counts = field && (opts.storage || gates?.any) ? new CountCollector(field.client, field.endpoints, opts.storage, clock, { intervalS: opts.countIntervalS, downsampleAfterS, log, onCounts }).start() : undefined;
  if (counts && liveTraffic) {
    traffic.startLive(counts.intervalS);
    // The counts the previous run stored over the live window: live at once after a restart.
    try {
      const fed = await traffic.primeLive(opts.storage!, Math.round(clock() * 1000));
      if (fed > 0) log(`greenwave serve: traffic state and incident detector primed with ${fed} stored count intervals`);
    } catch (e: unknown) {
      log(`greenwave serve: stored counts not read for the live window: ${e instanceof Error ? e.message : String(e)}`);
    }
    log(`greenwave serve: traffic state and incident detection from the controllers' loop counts every ${counts.intervalS} s (the counts file until they span two of the plan's longest cycles); link delays ${collector ? "from the arrivals on green in the controllers' collected events" : 'with random arrivals (no event log collected)'}`);
  } else log('greenwave serve: traffic state from the counts file; incident detection not running (no live loop counts: it needs --controllers and --db)');
  // Each loop's incident thresholds from the counts this service has stored, at start and daily.
  const calibrator = counts && liveTraffic && opts.storage && calibrationDays > 0 ? new IncidentCalibrator(traffic, opts.storage, clock, log, { days: calibrationDays, minHours: opts.incidentCalibrationMinHours, network: { networkPath: state.source.networkPath, networkText: state.source.networkText } }).start() : undefined;
  // Reports and the tracker's corrections into the database, when there is one.
  const history = parking && opts.storage ? new OccupancyHistory(parking.feed, opts.storage, clock, { log }).start() : undefined;
  if (parking) parking.history = history;
  // Guidance signs with an address in the parking file get their messages pushed over Modbus.
  const signs = parking ? SignPusher.forParking(parking, clock, { log, ...opts.signOptions })?.start() : undefined;
  const gate = new CallGate(gov, opts.tokens, (peer, method, reason) => journal?.authRefused(peer, method, reason), { metrics, logger, slowCallMs: opts.slowCallMs });
  const priorityFeed = new PriorityFeed(() => Math.round(clock() * 1000));
  const ctx: ServiceContext = { state, clock, gov, gate, field, replanner, pacing, journal, metrics, manualPlanGuard: () => lifecycle?.beforeManualDeploy(), priorityFeed };
  server.addService(pkg.greenwave.v1['BusPriorityService']!.service, busPriorityService(ctx));
  server.addService(pkg.greenwave.v1['SignalStateService']!.service, signalStateService(ctx));
  server.addService(pkg.greenwave.v1['TimingService']!.service, timingService(ctx));
  server.addService(pkg.greenwave.v1['OperationsService']!.service, operationsService(ctx, lifecycle, schedules));
  server.addService(pkg.greenwave.v1['EventService']!.service, eventService(ctx));
  // Registered with or without a parking file: without one its calls authenticate, then say what is missing.
  // Recommend answers with bytes already encoded (./recommendWire.ts); its other answers are objects.
  server.addService(passBuffers(pkg.greenwave.v1['ParkingGuidanceService']!.service, ['Recommend']), parkingService(ctx, parking));
  let diversion: RunningDiversion | undefined;
  let metricsEndpoint: MetricsEndpoint | undefined;
  // A start that fails part-way closes everything it had started: nothing half-started is left behind.
  const abandonStart = async (): Promise<void> => {
    server.forceShutdown();
    field?.close();
    void replanner.close();
    void reviewer?.close();
    await metricsEndpoint?.close();
    await journal?.close();
    await collector?.close();
    await counts?.close();
    await calibrator?.close();
    await signs?.close();
    await diversion?.close();
    await history?.close();
  };
  // Loaded before listening: a bad diversion file stops the start (exit 2 in `serve`).
  try {
    const lc = lifecycle;
    // The diversion's plan is planned for the counts interval the plan in force was made for.
    const proposePlan: ProposeDiversionPlan | undefined = lc ? (decisionPointId, plan, reason) => lc.proposeDiversion({ user: DIVERSION_AUTHOR }, state.forInterval.slice(-5), { decisionPointId, ...plan }, reason) : undefined;
    const withdrawPlan: WithdrawDiversionPlan | undefined = lc ? (planId, comment) => lc.withdraw({ user: DIVERSION_AUTHOR }, planId, comment) : undefined;
    diversion = opts.diversion !== undefined ? startDiversion(opts.diversion, traffic, { name: state.c.network.name, c: state.c }, clock, { log, metrics, ...(opts.signOptions ? { signOptions: opts.signOptions } : {}), ...(proposePlan && withdrawPlan ? { proposePlan, withdrawPlan } : {}) }) : undefined;
  } catch (e: unknown) {
    await abandonStart();
    throw e;
  }
  // An operator's incident reports and clearings go to the audit log when there is a database.
  server.addService(pkg.greenwave.v1['TrafficStateService']!.service, trafficService(ctx, traffic, storageAudit(opts.storage)));
  server.addService(pkg.grpc.health.v1.Health.service, healthService(ctx));
  addReflection(server, pkgDef, gate, gov);

  let creds: grpc.ServerCredentials;
  if (opts.tls) {
    const ca = opts.tls.caPath ? readFileSync(opts.tls.caPath) : null;
    creds = grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(opts.tls.certPath), private_key: readFileSync(opts.tls.keyPath) }], false);
  } else creds = grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(new GreenwaveError(ErrorCode.Io, `cannot listen: ${err.message}`)) : resolve(p))),
  );
  if (opts.metricsPort !== undefined) {
    metrics.collectProcessMetrics();
    try {
      metricsEndpoint = await serveMetrics(metrics.registry, opts.metricsHost ?? opts.host ?? '127.0.0.1', opts.metricsPort);
    } catch (e: unknown) {
      await abandonStart();
      throw e;
    }
  }

  let web: RunningConsole | undefined;
  if (opts.webPort !== undefined) {
    try {
      if (!opts.users) throw new GreenwaveError(ErrorCode.InvalidInput, 'the console needs a users file (serve --users users.json, docs/console.md)');
      web = await startConsole({ host: opts.webHost ?? opts.host ?? '127.0.0.1', port: opts.webPort, tls: opts.tls, state, users: opts.users, lifecycle, storage: opts.storage, log, clock, priorityFeed, parking, traffic, diversion, schedules, countIntervalS: opts.countIntervalS });
    } catch (e: unknown) {
      await abandonStart();
      throw e;
    }
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      gate.serving = false;
      const metricsDone = Promise.all([metricsEndpoint?.close(), web?.close()]);
      field?.close();
      void replanner.close();
      void reviewer?.close();
      schedules?.stop();
      const journalDone = Promise.all([journal?.close(), collector?.close(), counts?.close(), calibrator?.close(), signs?.close(), diversion?.close(), history?.close(), metricsDone]);
      // Drain: end every open stream cleanly (clients see OK), then stop accepting and wait.
      // A stream whose client does not read cannot flush; forceShutdown after the grace ends it.
      for (const w of gate.healthWatchers) {
        w.write({ status: 'NOT_SERVING' });
        w.end();
      }
      for (const s of gate.streams) s.end();
      gate.streams.clear();
      gate.healthWatchers.clear();
      // Closing ends either way: a part that fails to close (logged where it fails) must not leave
      // close() pending or a rejection unhandled.
      const timer = setTimeout(() => {
        server.forceShutdown();
        void journalDone.then(() => resolve(), () => resolve());
      }, opts.shutdownGraceMs ?? 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        void journalDone.then(() => resolve(), () => resolve());
      });
    });
    return closing;
  };

  return {
    port,
    metricsPort: metricsEndpoint?.port,
    webPort: web?.port,
    metrics,
    logger,
    server,
    state,
    controllers: field ? { link: field.link, failures: field.link.failures } : undefined,
    parking,
    traffic,
    counts,
    incidentCalibrator: calibrator,
    signs,
    diversion,
    openStreams: () => gov.stats().streams,
    governance: { limits: gov.limits, stats: () => gov.stats(), pacing, replanComputations: () => replanner.computations },
    close,
  };
}
