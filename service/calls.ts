/**
 * Admission of gRPC calls and streams, shared by every service handler:
 * deadline, shutdown and bearer token are checked in that order, in-flight
 * calls and open streams are counted by the Governor (nothing queues), and
 * every error leaves as a status from `toGrpcStatus`. Also the context the
 * handlers get instead of startServer's locals. Built by startServer
 * (./server.ts); used by ./priorityService.ts, ./signalStateService.ts,
 * ./timingService.ts and ./healthService.ts.
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

export type AnyCall = grpc.ServerUnaryCall<Obj, Obj> | grpc.ServerWritableStream<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>;
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
}

const ANONYMOUS: Principal = { client: '', roles: [] };

/** The call's deadline, ms since 1970 (Infinity without one). */
export function deadlineMs(call: AnyCall): number {
  const dl = call.getDeadline();
  return dl instanceof Date ? dl.getTime() : typeof dl === 'number' ? dl : Infinity;
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
  ) {}

  /** Deadline, shutdown, then the token: nothing is looked up for a caller not yet authenticated. */
  admit(call: AnyCall, role: Role | readonly Role[] | null): Principal {
    if (deadlineMs(call) <= Date.now()) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'deadline already expired');
    if (!this.serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down');
    if (role === null) return ANONYMOUS;
    try {
      return this.tokens.authenticate(call.metadata, role);
    } catch (e: unknown) {
      this.onRefused(call.getPeer(), call.getPath(), e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /** A unary method: admitted and counted in flight while `fn` runs; `role` null = unauthenticated. */
  unary(role: Role | readonly Role[] | null, fn: UnaryHandler): grpc.handleUnaryCall<Obj, Obj> {
    return (call, cb) => {
      let release: Release | undefined;
      const finish = (e: unknown, res?: Obj): void => {
        release?.();
        if (call.cancelled) return;
        if (e !== undefined) cb(toGrpcStatus(e));
        else cb(null, res);
      };
      try {
        this.gov.checkInFlight();
        const who = this.admit(call, role);
        release = this.gov.enterCall(who.client);
        const res = fn(call.request, who, call);
        if (res instanceof Promise) res.then((r) => finish(undefined, r), finish);
        else finish(undefined, res);
      } catch (e: unknown) {
        finish(e);
      }
    };
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
    const done = (): void => {
      release();
      this.streams.delete(call);
    };
    for (const ev of ['cancelled', 'close', 'finish', 'error']) call.on(ev, done);
    return who;
  }
}
