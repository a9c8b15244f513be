/**
 * Admission of gRPC calls and streams, shared by every service handler:
 * deadline, shutdown and bearer token are checked in that order, in-flight
 * calls and open streams are counted by the Governor (nothing queues), and
 * every error leaves as a status from `toGrpcStatus`. Also the context the
 * handlers get instead of startServer's locals. Built by startServer
 * (./server.ts); used by ./priorityService.ts, ./signalStateService.ts,
 * ./timingService.ts and ./healthService.ts.
 *
 * Observability lives here because every unary call ends here: its latency
 * goes to the metrics (./metrics.ts) by method and status code, and it gets a
 * request id (the client's `x-request-id`, or a new one) and one log line:
 * info for a failed or slow call, debug otherwise (./logging.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { StatusError, toGrpcStatus } from './errors.js';
import type { Principal, Role, TokenStore } from './auth.js';
import type { Governor, PacingStats, Release } from './governance.js';
import type { Replanner } from './replan.js';
import type { Obj } from './messages.js';
import type { ServiceState } from './state.js';
import type { FieldLink } from './fieldLink.js';
import type { ServiceJournal } from './journal.js';
import type { ServiceMetrics } from './metrics.js';
import type { PriorityFeed } from './priorityFeed.js';
import { requestId, SLOW_CALL_MS, type Logger } from './logging.js';

export type AnyCall = grpc.ServerUnaryCall<Obj, Obj> | grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj> | grpc.ServerReadableStream<Obj, Obj>;
export type AnyStream = grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>;
export type UnaryHandler = (req: Obj, who: Principal, call: grpc.ServerUnaryCall<Obj, Obj>) => Obj | Promise<Obj>;

/** What the service handlers share: the state they serve, the clock, and the call machinery. */
export interface ServiceContext {
  readonly state: ServiceState;
  /** Seconds (Unix time) now. */
  readonly clock: () => number;
  readonly gov: Governor;
  readonly gate: CallGate;
  /** The controllers, when the service drives any. */
  readonly field: FieldLink | undefined;
  readonly replanner: Replanner;
  readonly pacing: PacingStats;
  /** What survives a restart (plans, priority requests, refused authentications); undefined = nothing is kept. */
  readonly journal: ServiceJournal | undefined;
  /** This server's Prometheus metrics. */
  readonly metrics: ServiceMetrics | undefined;
  /** Throws (FAILED_PRECONDITION) when an operator's plan change would be undone by a running time-of-day schedule. */
  readonly manualPlanGuard?: (() => void) | undefined;
  /** Where priority decisions are told to watchers (the console's bus priority page); undefined = none. */
  readonly priorityFeed?: PriorityFeed | undefined;
}

/** Where the gate reports calls: metrics and the per-call log line. */
export interface CallObservers {
  readonly metrics?: ServiceMetrics | undefined;
  readonly logger?: Logger | undefined;
  /** A successful call slower than this is logged at info level, ms (default SLOW_CALL_MS). */
  readonly slowCallMs?: number | undefined;
}

const ANONYMOUS: Principal = { client: '', roles: [] };

/** The call's deadline, ms since 1970 (Infinity without one). */
export function deadlineMs(call: AnyCall): number {
  const dl = call.getDeadline();
  return dl instanceof Date ? dl.getTime() : typeof dl === 'number' ? dl : Infinity;
}

/**
 * An AbortSignal that aborts when the call is cancelled or its deadline passes, for work a call
 * waits on (a Replan, a proposal); `release` detaches it once the work is over.
 */
export function callSignal(call: grpc.ServerUnaryCall<Obj, Obj>): { readonly signal: AbortSignal; readonly deadlineMs: number; release(): void } {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  call.on('cancelled', stop);
  const dl = deadlineMs(call);
  const timer = Number.isFinite(dl) ? setTimeout(stop, Math.max(0, dl - Date.now())) : undefined;
  return {
    signal: abort.signal,
    deadlineMs: dl,
    release: () => {
      clearTimeout(timer);
      call.off('cancelled', stop);
    },
  };
}

export class CallGate {
  /** False once close() began: new calls are UNAVAILABLE. */
  serving = true;
  /** Authenticated streams open right now (drained on close). */
  readonly streams = new Set<AnyStream>();
  /** Health watches open right now (told NOT_SERVING on close). */
  readonly healthWatchers = new Set<grpc.ServerWritableStream<Obj, Obj>>();

  constructor(
    private readonly gov: Governor,
    private readonly tokens: TokenStore,
    /** Told of every refused authentication (for the audit log). */
    private readonly onRefused: (peer: string, method: string, reason: string) => void = () => {},
    private readonly obs: CallObservers = {},
  ) {}

  /** Deadline, shutdown, then the token: nothing is looked up for a caller not yet authenticated. */
  admit(call: AnyCall, role: Role | readonly Role[] | null): Principal {
    if (deadlineMs(call) <= Date.now()) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'deadline already expired');
    if (!this.serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down');
    if (role === null) return ANONYMOUS;
    try {
      return this.tokens.authenticate(call.metadata, role);
    } catch (e: unknown) {
      this.obs.metrics?.authenticationRefused(call.getPath());
      this.onRefused(call.getPeer(), call.getPath(), e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /** A unary method: admitted and counted in flight while `fn` runs; `role` null = unauthenticated. */
  unary(role: Role | readonly Role[] | null, fn: UnaryHandler): grpc.handleUnaryCall<Obj, Obj> {
    return (call, cb) => {
      const t0 = performance.now();
      let release: Release | undefined;
      let who: Principal | undefined;
      const finish = (e: unknown, res?: Obj): void => {
        release?.();
        let code: number = grpc.status.CANCELLED;
        let details: string | undefined;
        if (!call.cancelled) {
          if (e !== undefined) {
            const st = toGrpcStatus(e);
            code = st.code;
            details = st.details;
            cb(st);
          } else {
            code = grpc.status.OK;
            cb(null, res);
          }
        }
        this.ended(call, code, details, who, t0);
      };
      try {
        this.gov.checkInFlight();
        who = this.admit(call, role);
        release = this.gov.enterCall(who.client);
        const res = fn(call.request, who, call);
        if (res instanceof Promise) res.then((r) => finish(undefined, r), finish);
        else finish(undefined, res);
      } catch (e: unknown) {
        finish(e);
      }
    };
  }

  /** Metrics and the log line of a unary call that ended with `code`. */
  private ended(call: grpc.ServerUnaryCall<Obj, Obj>, code: number, details: string | undefined, who: Principal | undefined, t0: number): void {
    const ms = performance.now() - t0;
    const method = call.getPath();
    this.obs.metrics?.callEnded(method, code, ms / 1000);
    const logger = this.obs.logger;
    if (!logger) return;
    const notable = code !== grpc.status.OK || ms >= (this.obs.slowCallMs ?? SLOW_CALL_MS);
    // The line's fields are built only when the level lets it out: most calls cost nothing here.
    if (!(notable ? logger.isLevelEnabled('info') : logger.isLevelEnabled('debug'))) return;
    const line = {
      reqId: requestId(call.metadata.get('x-request-id')[0]),
      method,
      code: grpc.status[code] ?? String(code),
      ms: Math.round(ms * 1000) / 1000,
      client: who?.client || undefined,
      peer: call.getPeer(),
      ...(details !== undefined ? { details } : {}),
    };
    if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) logger.error(line, 'gRPC call failed');
    else if (code !== grpc.status.OK) logger.info(line, 'gRPC call failed');
    else if (notable) logger.info(line, 'slow gRPC call');
    else logger.debug(line, 'gRPC call');
  }

  /** Admits an authenticated stream (counted in all and per client until it ends), or fails it. */
  openStream(call: AnyStream, role: Role): Principal | undefined {
    let who: Principal;
    let release: Release;
    try {
      this.gov.checkStreams();
      who = this.admit(call, role);
      release = this.gov.enterStream(who.client);
    } catch (e: unknown) {
      call.emit('error', toGrpcStatus(e));
      return undefined;
    }
    this.streams.add(call);
    const method = call.getPath();
    this.obs.metrics?.streamOpened(method);
    let ended = false;
    const done = (): void => {
      release();
      this.streams.delete(call);
      // Several of the events below fire for one stream: count it closed once.
      if (ended) return;
      ended = true;
      this.obs.metrics?.streamClosed(method);
    };
    for (const ev of ['cancelled', 'close', 'finish', 'error']) call.on(ev, done);
    return who;
  }
}
