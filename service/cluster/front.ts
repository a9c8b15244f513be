/**
 * A cluster node's gRPC front (issue 19, item 4): BusPriorityService's RequestPriority,
 * UpdatePriority and CancelPriority on every node, so that any node answers. Started by
 * nodeMain.ts (--grpc-port) next to ClusterNode (node.ts), told of each region taken and lost.
 *
 * Forwarding, not redirecting (why: docs/cluster.md, "The gRPC front"):
 *  - a request for an intersection in a region this node holds is decided here, by the same
 *    code as `serve` (priorityService.ts `decidePriority`, the engine's TspController) on the
 *    region's committed plan (regionPlans.ts);
 *  - any other is forwarded over NATS request-reply on `gw.front.<region>.priority`, to which
 *    the region's holder subscribes from taking the lease to losing it, with a deadline of
 *    min(forwardTimeoutMs, the call's own deadline). Every subscriber gets each call (no queue
 *    group) and only one whose lease check says yes answers; the others stay silent. So a
 *    subscription the server keeps for a node that is gone without closing its connection (a
 *    machine lost: the server notices only at its ping timeout, minutes) or for a paused
 *    former holder takes nothing away from the real holder;
 *  - no subscriber (the region has no owner: a node died and its lease has not lapsed yet, or
 *    is being handed over) is NATS's immediate "no responders": the client gets UNAVAILABLE
 *    with the trailer `retry-after-ms`; an owner that does not answer in time (paused, or
 *    killed with the request in hand) is UNAVAILABLE too, saying the request may or may not
 *    have been decided: repeating it is safe (a repeated check-in updates the vehicle's open
 *    request in place). So every call ends with an answer or a status within its
 *    deadline; none waits on a region without an owner.
 * Every answer carries the initial metadata `greenwave-node` (the node that decided) and
 * `greenwave-region`.
 *
 * The front authenticates the caller (bearer tokens, as `serve`); the owner trusts the
 * principal the front forwards with the request: NATS between nodes is inside the cluster's
 * trust boundary. A region's open requests live in its holder's memory and are lost with it:
 * the new owner starts with none (an UpdatePriority for one is NOT_FOUND, a new check-in works).
 * The decisions are not sent to the controllers (no field link here yet) and not journaled.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ErrorCode as NatsErrorCode, type KV, type NatsConnection, type Subscription } from 'nats';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { TspController } from '../../engine/priority/tsp.js';
import { priorityConfig, type PriorityConfig } from '../../engine/priority/policy.js';
import type { Principal, TokenStore } from '../auth.js';
import { CallGate, deadlineMs } from '../calls.js';
import { StatusError, toGrpcStatus } from '../errors.js';
import { Governor, governanceLimits, type GovernanceLimits } from '../governance.js';
import { str, type Obj } from '../messages.js';
import { decodePlan } from '../planWire.js';
import { cancelPriority, decidePriority, type PriorityContext } from '../priorityService.js';
import { parsePlanBody, readRegionPlan, type CommittedRegionPlan } from './regionPlans.js';

export const FRONT_SUBJECT_ROOT = 'gw.front';
/** The subject a region's holder answers forwarded priority calls on (outside the GW_REGIONS stream's `gw.region.>`). */
export const frontSubject = (regionId: string): string => `${FRONT_SUBJECT_ROOT}.${regionId}.priority`;

type Method = 'request' | 'update' | 'cancel';

/** A forwarded call: what the front parsed and authenticated. */
interface Forwarded {
  readonly method: Method;
  readonly req: Obj;
  readonly who: Principal;
}
/** The owner's reply: the response, or a status. */
interface Reply {
  readonly node: string;
  readonly ok?: Obj;
  readonly code?: number;
  readonly details?: string;
  readonly trailers?: Record<string, string>;
}

export interface NodeFrontOptions {
  readonly nodeId: string;
  readonly nc: NatsConnection;
  /** Each region's own network (engine/cluster/regionNetwork.ts): its committed plan is sized by it. */
  readonly networkOf: (regionId: string) => CompiledNetwork;
  /** Intersection id → region id (regions.ts), the same on every node. */
  readonly regionOf: ReadonlyMap<string, string>;
  /** The plan bucket (regionPlans.ts): a region's decisions are made on its committed plan. */
  readonly plans: KV;
  /** The lease check (ClusterNode.holds). */
  readonly holds: (regionId: string) => boolean;
  readonly tokens: TokenStore;
  readonly host?: string;
  /** 0 (default): any free port. */
  readonly port?: number;
  /** Longest wait for a region's owner to answer a forwarded call, ms (default 1000). */
  readonly forwardTimeoutMs?: number;
  /** The retry hint given while a region has no owner, ms (default 500). */
  readonly retryAfterMs?: number;
  readonly priority?: PriorityConfig;
  readonly limits?: Partial<GovernanceLimits>;
  /** Seconds (Unix time) now. */
  readonly clock?: () => number;
}

/** A held region's TSP state, on the committed plan of `revision`. */
interface RegionTsp {
  readonly revision: number;
  readonly ctx: PriorityContext;
}

function protoRoot(): string {
  for (const rel of ['../..', '../../..']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url)).replace(/\/$/, '');
    if (existsSync(`${dir}/proto/greenwave/v1/priority.proto`)) return `${dir}/proto`;
  }
  throw new GreenwaveError(ErrorCode.Io, 'cannot find proto/greenwave/v1 next to the service');
}

export class NodeFront {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 1 << 20 });
  private readonly gov: Governor;
  private readonly gate: CallGate;
  private readonly cfg: PriorityConfig;
  private readonly clock: () => number;
  private readonly subs = new Map<string, Subscription>();
  private readonly tsp = new Map<string, RegionTsp>();
  private readonly latest = new Map<string, CommittedRegionPlan>();
  private watch: { stop(): void } | undefined;
  port = 0;

  private constructor(private readonly opts: NodeFrontOptions) {
    this.gov = new Governor(governanceLimits(opts.limits));
    this.gate = new CallGate(this.gov, opts.tokens);
    this.cfg = opts.priority ?? priorityConfig();
    this.clock = opts.clock ?? (() => Date.now() / 1000);
  }

  static async start(opts: NodeFrontOptions): Promise<NodeFront> {
    const f = new NodeFront(opts);
    // The committed plans as they change; a region taken before its entry arrived reads the bucket.
    const w = await opts.plans.watch({ key: '>' });
    f.watch = w;
    void (async () => {
      for await (const e of w) {
        if (e.operation !== 'PUT') continue;
        try {
          const p = { regionId: e.key, revision: e.revision, body: parsePlanBody(e.key, e.string()) };
          if ((f.latest.get(e.key)?.revision ?? 0) < p.revision) f.latest.set(e.key, p);
        } catch {
          // Not a plan: the region stays without decisions until a valid one is committed.
        }
      }
    })();
    const def = protoLoader.loadSync(['greenwave/v1/common.proto', 'greenwave/v1/priority.proto'], { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoRoot()] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { greenwave: { v1: Record<string, { service: grpc.ServiceDefinition }> } };
    const unimplemented = (what: string) => (call: grpc.ServerUnaryCall<Obj, Obj> | grpc.ServerDuplexStream<Obj, Obj>, cb?: grpc.sendUnaryData<Obj>) => {
      const st = { code: grpc.status.UNIMPLEMENTED, details: `${what} is not served by a cluster node's front (docs/cluster.md): use RequestPriority, UpdatePriority and CancelPriority` };
      if (cb) cb(st);
      else call.emit('error', st);
    };
    f.server.addService(pkg.greenwave.v1['BusPriorityService']!.service, {
      RequestPriority: f.gate.unary('dispatch', (r, who, call) => f.route('request', r, who, call)),
      UpdatePriority: f.gate.unary('dispatch', (r, who, call) => f.route('update', r, who, call)),
      CancelPriority: f.gate.unary(['dispatch', 'operator'], (r, who, call) => f.route('cancel', r, who, call)),
      PriorityStream: unimplemented('PriorityStream'),
      SubmitVehiclePositions: unimplemented('SubmitVehiclePositions'),
    });
    f.port = await new Promise<number>((resolve, reject) =>
      f.server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(new GreenwaveError(ErrorCode.Io, `cannot listen: ${err.message}`)) : resolve(p))),
    );
    return f;
  }

  /** The region is held from now: answer its forwarded calls. */
  acquired(regionId: string): void {
    if (this.subs.has(regionId)) return;
    // No queue group: every subscriber gets each call and only the holder answers (above).
    const sub = this.opts.nc.subscribe(frontSubject(regionId), {
      callback: (err, m) => {
        if (err || !this.opts.holds(regionId)) return;
        void this.answerForwarded(regionId, m.data).then((reply) => m.respond(new TextEncoder().encode(JSON.stringify(reply))));
      },
    });
    this.subs.set(regionId, sub);
    // A new holding starts with no open requests; its TSP state is made now rather than on the
    // first call (decoding the plan), when the plan is known.
    this.tsp.delete(regionId);
    void this.regionContext(regionId).catch(() => {});
  }

  /** The region is lost: no more calls for it here, and its open requests go with it. */
  lost(regionId: string): void {
    this.subs.get(regionId)?.unsubscribe();
    this.subs.delete(regionId);
    this.tsp.delete(regionId);
  }

  async close(): Promise<void> {
    this.gate.serving = false;
    this.watch?.stop();
    for (const r of [...this.subs.keys()]) this.lost(r);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private retryTrailers(regionId: string): Record<string, string> {
    return { 'retry-after-ms': String(this.opts.retryAfterMs ?? 500), 'greenwave-region': regionId };
  }

  /** A gRPC call: decided here when the region is held, forwarded to its holder otherwise. */
  private async route(method: Method, r: Obj, who: Principal, call: grpc.ServerUnaryCall<Obj, Obj>): Promise<Obj> {
    const id = str(r['intersection_id']);
    if (id === '') throw new StatusError(grpc.status.INVALID_ARGUMENT, 'intersection_id: is required');
    const regionId = this.opts.regionOf.get(id);
    if (regionId === undefined) throw new StatusError(grpc.status.NOT_FOUND, `intersection_id: no intersection "${id}"`);
    const reply = this.opts.holds(regionId) ? await this.decideHere(regionId, { method, req: r, who }) : await this.forward(regionId, { method, req: r, who }, call);
    const md = new grpc.Metadata();
    md.set('greenwave-node', reply.node);
    md.set('greenwave-region', regionId);
    call.sendMetadata(md);
    if (reply.ok) return reply.ok;
    throw new StatusError(reply.code ?? grpc.status.INTERNAL, reply.details ?? 'no answer', reply.trailers);
  }

  private async forward(regionId: string, f: Forwarded, call: grpc.ServerUnaryCall<Obj, Obj>): Promise<Reply> {
    // A little of the call's own deadline is kept for the answer's way back.
    const budgetMs = Math.min(this.opts.forwardTimeoutMs ?? 1000, deadlineMs(call) - Date.now() - 20);
    if (budgetMs <= 0) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'too little of the deadline left to forward the call to the region’s owner');
    let data: Uint8Array;
    try {
      data = (await this.opts.nc.request(frontSubject(regionId), new TextEncoder().encode(JSON.stringify(f)), { timeout: budgetMs })).data;
    } catch (e: unknown) {
      const code = (e as { code?: string }).code;
      if (code === NatsErrorCode.NoResponders)
        throw new StatusError(grpc.status.UNAVAILABLE, `region ${regionId} has no owner right now (a node failed, or the region is being handed over): nothing was decided; retry in ${this.opts.retryAfterMs ?? 500} ms`, this.retryTrailers(regionId));
      if (code === NatsErrorCode.Timeout)
        throw new StatusError(grpc.status.UNAVAILABLE, `the owner of region ${regionId} did not answer within ${Math.round(budgetMs)} ms: the request may or may not have been decided; repeating it is safe`, this.retryTrailers(regionId));
      throw new StatusError(grpc.status.UNAVAILABLE, `cannot reach the owner of region ${regionId}: ${e instanceof Error ? e.message : String(e)}`, this.retryTrailers(regionId));
    }
    return JSON.parse(new TextDecoder().decode(data)) as Reply;
  }

  private async answerForwarded(regionId: string, data: Uint8Array): Promise<Reply> {
    let f: Forwarded;
    try {
      f = JSON.parse(new TextDecoder().decode(data)) as Forwarded;
    } catch {
      return { node: this.opts.nodeId, code: grpc.status.INTERNAL, details: 'a forwarded call that is not JSON' };
    }
    return this.decideHere(regionId, f);
  }

  /**
   * Decides a call for a region this node holds, or refuses it (UNAVAILABLE) when it no longer
   * does: the lease ended while the plan was being read.
   */
  private async decideHere(regionId: string, f: Forwarded): Promise<Reply> {
    const node = this.opts.nodeId;
    const notHeld = (): Reply => ({ node, code: grpc.status.UNAVAILABLE, details: `node ${node} no longer holds region ${regionId}: nothing was decided; retry in ${this.opts.retryAfterMs ?? 500} ms`, trailers: this.retryTrailers(regionId) });
    if (!this.opts.holds(regionId)) return notHeld();
    try {
      const ctx = await this.regionContext(regionId);
      // The plan may have been read from the bucket meanwhile: the lease is checked again.
      if (!this.opts.holds(regionId)) return notHeld();
      const ok = f.method === 'cancel' ? cancelPriority(ctx, f.req, f.who) : decidePriority(ctx, f.method, f.req, f.who);
      return { node, ok };
    } catch (e: unknown) {
      const st = toGrpcStatus(e);
      return { node, code: st.code, details: st.details };
    }
  }

  /** The region's TSP state on its latest committed plan (made, or moved to a newer plan, here). */
  private async regionContext(regionId: string): Promise<PriorityContext> {
    let p = this.latest.get(regionId);
    if (!p) {
      p = await readRegionPlan(this.opts.plans, regionId);
      if (p && (this.latest.get(regionId)?.revision ?? 0) < p.revision) this.latest.set(regionId, p);
      p = this.latest.get(regionId);
    }
    if (!p) throw new StatusError(grpc.status.FAILED_PRECONDITION, `region ${regionId} has no committed plan: there is no schedule to give priority on`);
    const have = this.tsp.get(regionId);
    if (have?.revision === p.revision) return have.ctx;
    const c = this.opts.networkOf(regionId);
    const bytes = Buffer.from(p.body.wire, 'base64');
    const buffer = decodePlan(c, new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))).plan.buffer;
    let ctx: PriorityContext;
    if (have) {
      // A newer plan: as `serve` on a new plan, the open requests and adjustments are dropped.
      have.ctx.state.tsp.setBasePlan(buffer);
      ctx = have.ctx;
    } else {
      const byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
      const state = {
        c,
        tsp: new TspController(c, buffer, this.cfg),
        intersection: (id: string, path: string): number => {
          const i = byId.get(id);
          if (i === undefined || this.opts.regionOf.get(id) !== regionId) throw new StatusError(grpc.status.NOT_FOUND, `${path}: no intersection "${id}" in region ${regionId}`);
          return i;
        },
      };
      ctx = { state, clock: this.clock, gov: this.gov, field: undefined, metrics: undefined, journal: undefined, priorityFeed: undefined };
    }
    this.tsp.set(regionId, { revision: p.revision, ctx });
    return ctx;
  }
}
