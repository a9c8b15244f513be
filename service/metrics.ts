/**
 * Prometheus metrics of `greenwave serve` (prom-client), and the small HTTP
 * server that exposes them at `/metrics`. startServer (./server.ts) makes one
 * ServiceMetrics per server, on a Registry of its own (not prom-client's
 * global one, so that tests and benchmarks can run several servers in one
 * process); the call gate (./calls.ts), the priority and timing handlers, the
 * Replanner (./replan.ts), the field link (./fieldLink.ts), the journal
 * (./journal.ts) and the Deployer (./deployer.ts) report to it through the
 * narrow interfaces below, so none of them depends on prom-client.
 *
 * The hot path (every unary call, every priority decision) must stay cheap:
 * label children are looked up once and kept (per method and status code,
 * per outcome and strategy), so a call costs a Map lookup and an observe, and
 * no label string is built per call. Names and units follow Prometheus
 * conventions (`_seconds`, `_total`); docs/operations.md lists them.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DiversionMessage } from '../engine/traffic/diversion.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import type { EventMetrics } from './eventBatcher.js';

/** gRPC status code number → its name (the `code` label), e.g. 0 → "OK". */
const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, i) => (grpcStatus as unknown as Record<number, string>)[i] ?? String(i));

/** Unary latency buckets, s: RequestPriority answers in about a millisecond, Replan takes about a second. */
const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Replan computation buckets, s (≈ 0.5 s on the demo city). */
const REPLAN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
/** Event commit lag buckets, s: from the controller's timestamp to the commit (poll period + flush period + write). */
const EVENT_LAG_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300];
/** Journal flush buckets, s (one transaction every 250 ms). */
const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the Replanner reports. */
export interface ReplanMetrics {
  replanComputed(seconds: number, ok: boolean): void;
}
/** What the ServiceJournal reports. */
export interface JournalMetrics {
  journalFlushed(seconds: number, ok: boolean): void;
  journalDropped(ops: number): void;
}
/** What the Deployer reports: each deployment's end (`greenwave deploy` passes none, or its own). */
export interface DeploymentMetrics {
  deploymentEnded(outcome: 'confirmed' | 'failed'): void;
}
/** What the field link reports (controllers-adapter/resync.ts events). */
export interface FieldMetrics {
  controllerEvent(kind: 'mismatch' | 'pushed' | 'push-failed' | 'unreachable' | 'reachable'): void;
}

type HistogramChild = ReturnType<Histogram<'method' | 'code'>['labels']>;
type CounterChild = ReturnType<Counter<string>['labels']>;

export class ServiceMetrics implements ReplanMetrics, JournalMetrics, DeploymentMetrics, FieldMetrics, EventMetrics {
  readonly registry = new Registry();
  private readonly callSeconds: Histogram<'method' | 'code'>;
  private readonly streamsOpened: Counter<'method'>;
  private readonly streamsClosed: Counter<'method'>;
  private readonly authRefused: Counter<'method'>;
  private readonly replanRuns: Counter<'outcome'>;
  private readonly replanSeconds: Histogram<'outcome'>;
  private readonly priorityDecisions: Counter<'outcome' | 'strategy'>;
  private readonly controllerPushes: Counter<'result'>;
  private readonly controllerResyncs: Counter;
  private readonly controllerTransitions: Counter<'to'>;
  private readonly deployments: Counter<'outcome'>;
  private readonly journalFlushSeconds: Histogram<'outcome'>;
  private readonly journalDroppedOps: Counter;
  private readonly eventsStoredTotal: Counter;
  private readonly eventsLostTotal: Counter;
  private readonly eventsDroppedTotal: Counter;
  private readonly eventFlushFailures: Counter;
  private readonly eventLagSeconds: Histogram;
  /** Per method path: one child per status code, made on first use. */
  private readonly callChildren = new Map<string, (HistogramChild | undefined)[]>();
  /** Per "granted"/"denied": one child per strategy name, made on first use. */
  private readonly decisionChildren = { granted: new Map<string, CounterChild>(), denied: new Map<string, CounterChild>() };
  private readonly pushOk: CounterChild;
  private readonly pushFailed: CounterChild;
  private readonly replanOk: { runs: CounterChild; seconds: ReturnType<Histogram<'outcome'>['labels']> };
  private readonly replanFailed: { runs: CounterChild; seconds: ReturnType<Histogram<'outcome'>['labels']> };

  constructor(
    /** Controllers the service drives and how many answered their last check (undefined: no field side). */
    private readonly controllers?: () => { total: number; reachable: number } | undefined,
  ) {
    const registers = [this.registry];
    this.callSeconds = new Histogram({ name: 'greenwave_grpc_server_handling_seconds', help: 'Unary gRPC calls from arrival to answer, by method and status code', labelNames: ['method', 'code'], buckets: CALL_BUCKETS, registers });
    this.streamsOpened = new Counter({ name: 'greenwave_grpc_streams_opened_total', help: 'Authenticated gRPC streams admitted, by method', labelNames: ['method'], registers });
    this.streamsClosed = new Counter({ name: 'greenwave_grpc_streams_closed_total', help: 'Authenticated gRPC streams ended (any reason), by method', labelNames: ['method'], registers });
    this.authRefused = new Counter({ name: 'greenwave_auth_refused_total', help: 'Calls refused for a missing, unknown or under-privileged bearer token, by method', labelNames: ['method'], registers });
    this.replanRuns = new Counter({ name: 'greenwave_replan_runs_total', help: 'Replan (optimizer) computations finished, by outcome (concurrent Replans of one interval share one)', labelNames: ['outcome'], registers });
    this.replanSeconds = new Histogram({ name: 'greenwave_replan_duration_seconds', help: 'Replan (optimizer) computation time on the worker thread, by outcome', labelNames: ['outcome'], buckets: REPLAN_BUCKETS, registers });
    this.priorityDecisions = new Counter({ name: 'greenwave_priority_decisions_total', help: 'Transit priority decisions of the TSP controller, by outcome (granted/denied) and strategy', labelNames: ['outcome', 'strategy'], registers });
    this.controllerPushes = new Counter({ name: 'greenwave_controller_plan_pushes_total', help: 'Base plan pushes to field controllers, by result (ok/failed)', labelNames: ['result'], registers });
    this.controllerResyncs = new Counter({ name: 'greenwave_controller_resyncs_total', help: 'Controllers found off the current plan (restarted, local plan) and sent it again', registers });
    this.controllerTransitions = new Counter({ name: 'greenwave_controller_link_transitions_total', help: 'Controllers going silent (to="unreachable") or answering again (to="reachable")', labelNames: ['to'], registers });
    this.deployments = new Counter({ name: 'greenwave_deployments_total', help: 'Deployments of a stored plan to a controller that ended, by outcome (confirmed/failed)', labelNames: ['outcome'], registers });
    this.journalFlushSeconds = new Histogram({ name: 'greenwave_journal_flush_duration_seconds', help: 'Writes of the queued priority record and refused-auth counts, by outcome', labelNames: ['outcome'], buckets: FLUSH_BUCKETS, registers });
    this.journalDroppedOps = new Counter({ name: 'greenwave_journal_dropped_ops_total', help: 'Priority record operations dropped because the write-behind queue was full', registers });
    this.eventsStoredTotal = new Counter({ name: 'greenwave_events_stored_total', help: 'Controller events collected and committed to the storage', registers });
    this.eventsLostTotal = new Counter({ name: 'greenwave_event_gaps_events_total', help: 'Controller events overwritten on the controller before they were collected (gaps; audited as events.gap)', registers });
    this.eventsDroppedTotal = new Counter({ name: 'greenwave_events_dropped_total', help: 'Collected events dropped because the write queue was full (audited as events.overflow)', registers });
    this.eventFlushFailures = new Counter({ name: 'greenwave_event_flush_failures_total', help: 'Event batches the storage refused (kept and tried again)', registers });
    this.eventLagSeconds = new Histogram({ name: 'greenwave_event_commit_lag_seconds', help: 'Per stored event: from its controller timestamp to its commit', buckets: EVENT_LAG_BUCKETS, registers });
    const ctl = this.controllers;
    new Gauge({
      name: 'greenwave_controllers',
      help: 'Field controllers the service drives',
      registers,
      collect() {
        this.set(ctl?.()?.total ?? 0);
      },
    });
    new Gauge({
      name: 'greenwave_controllers_reachable',
      help: 'Field controllers that answered their last status check',
      registers,
      collect() {
        this.set(ctl?.()?.reachable ?? 0);
      },
    });
    this.pushOk = this.controllerPushes.labels('ok');
    this.pushFailed = this.controllerPushes.labels('failed');
    this.replanOk = { runs: this.replanRuns.labels('ok'), seconds: this.replanSeconds.labels('ok') };
    this.replanFailed = { runs: this.replanRuns.labels('failed'), seconds: this.replanSeconds.labels('failed') };
    // Zero series exist from the start, so a rate() over them works before the first event.
    for (const o of ['confirmed', 'failed']) this.deployments.labels(o).inc(0);
    for (const o of ['unreachable', 'reachable']) this.controllerTransitions.labels(o).inc(0);
    for (const c of [this.pushOk, this.pushFailed, this.replanOk.runs, this.replanFailed.runs]) c.inc(0);
    this.controllerResyncs.inc(0);
    this.journalDroppedOps.inc(0);
    for (const c of [this.eventsStoredTotal, this.eventsLostTotal, this.eventsDroppedTotal, this.eventFlushFailures]) c.inc(0);
    for (const o of ['ok', 'failed']) {
      this.journalFlushSeconds.zero({ outcome: o });
      this.replanSeconds.zero({ outcome: o });
    }
  }

  /** Also the process's CPU, memory, event-loop lag and GC (only when served: it starts monitors). */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** One unary call ended with status `code` after `seconds`. */
  callEnded(method: string, code: number, seconds: number): void {
    let byCode = this.callChildren.get(method);
    if (!byCode) {
      byCode = [];
      this.callChildren.set(method, byCode);
    }
    let child = byCode[code];
    if (!child) {
      child = this.callSeconds.labels(method, CODE_NAMES[code] ?? String(code));
      byCode[code] = child;
    }
    child.observe(seconds);
  }

  streamOpened(method: string): void {
    this.streamsOpened.labels(method).inc();
  }

  streamClosed(method: string): void {
    this.streamsClosed.labels(method).inc();
  }

  authenticationRefused(method: string): void {
    this.authRefused.labels(method).inc();
  }

  /** A priority decision; `strategy` is the wire enum name (e.g. STRATEGY_GREEN_EXTENSION). */
  priorityDecided(granted: boolean, strategy: string): void {
    const m = granted ? this.decisionChildren.granted : this.decisionChildren.denied;
    let child = m.get(strategy);
    if (!child) {
      child = this.priorityDecisions.labels(granted ? 'granted' : 'denied', strategy);
      m.set(strategy, child);
    }
    child.inc();
  }

  replanComputed(seconds: number, ok: boolean): void {
    const s = ok ? this.replanOk : this.replanFailed;
    s.runs.inc();
    s.seconds.observe(seconds);
  }

  controllerEvent(kind: 'mismatch' | 'pushed' | 'push-failed' | 'unreachable' | 'reachable'): void {
    if (kind === 'pushed') this.pushOk.inc();
    else if (kind === 'push-failed') this.pushFailed.inc();
    else if (kind === 'mismatch') this.controllerResyncs.inc();
    else this.controllerTransitions.labels(kind).inc();
  }

  deploymentEnded(outcome: 'confirmed' | 'failed'): void {
    this.deployments.labels(outcome).inc();
  }

  journalFlushed(seconds: number, ok: boolean): void {
    this.journalFlushSeconds.labels(ok ? 'ok' : 'failed').observe(seconds);
  }

  journalDropped(ops: number): void {
    this.journalDroppedOps.inc(ops);
  }

  eventsStored(n: number, lagS: Float64Array): void {
    this.eventsStoredTotal.inc(n);
    for (let k = 0; k < lagS.length; k++) this.eventLagSeconds.observe(lagS[k]!);
  }

  eventsLost(n: number): void {
    this.eventsLostTotal.inc(n);
  }

  eventsDropped(n: number): void {
    this.eventsDroppedTotal.inc(n);
  }

  eventFlushFailed(): void {
    this.eventFlushFailures.inc();
  }

  /**
   * The diversion signs (./diversionSigns.ts): per decision point, 1 while it diverts, and every
   * route's travel time as last shown (NaN until known).
   */
  diversion(read: () => readonly DiversionMessage[]): void {
    new Gauge({
      name: 'greenwave_diversion_active',
      help: 'Per decision point: 1 while its sign says 前方拥堵 请绕行 (diverting), 0 while it shows travel times',
      labelNames: ['decision_point'],
      registers: [this.registry],
      collect() {
        for (const m of read()) this.labels(m.decisionPointId).set(m.divertTo > 0 ? 1 : 0);
      },
    });
    new Gauge({
      name: 'greenwave_diversion_route_travel_time_seconds',
      help: 'Per decision point and route: the route travel time the sign last showed (sum over its links)',
      labelNames: ['decision_point', 'route'],
      registers: [this.registry],
      collect() {
        for (const m of read()) for (const l of m.lines) this.labels(m.decisionPointId, l.routeId).set(l.travelTimeS);
      },
    });
  }

  /**
   * The live incident detection (./trafficState.ts): the hours of stored counts its loops were
   * calibrated on (0: one threshold for every loop), and the incidents open now by source.
   */
  incidents(read: () => { calibrationHours: number; open: ReadonlyMap<string, number> }): void {
    new Gauge({
      name: 'greenwave_incident_calibration_hours',
      help: 'Hours of the city\'s stored loop counts the incident detector\'s loops are calibrated on (0: one threshold for every loop)',
      registers: [this.registry],
      collect() {
        this.set(read().calibrationHours);
      },
    });
    new Gauge({
      name: 'greenwave_incidents_open',
      help: 'Incidents open now, by source (loops: detected; operator: reported)',
      labelNames: ['source'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [source, n] of read().open) this.labels(source).set(n);
      },
    });
  }

  /** The event collector's backlog: events the controllers hold that were not read yet. */
  eventBacklog(read: () => number): void {
    new Gauge({
      name: 'greenwave_event_collector_backlog_events',
      help: 'Events held on the controllers beyond what the collector has read (as of each one\'s last poll)',
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}

/** The `/metrics` endpoint of one server. */
export interface MetricsEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` at GET /metrics on host:port (0 = any free port); everything else is 404.
 * Plain HTTP: it carries no secrets, and a scraper on the same network is the usual setup.
 */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  // A scraper keeps its connection open between scrapes; close() must not wait for it.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new GreenwaveError(ErrorCode.Io, `cannot serve metrics on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
