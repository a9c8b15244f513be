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
 *
 * With `field` (the node drives the region's controllers: nodeMain --controllers) a held
 * region's decisions reach its controllers as priority overrides over Modbus, by the code
 * `serve --controllers` uses (controllers-adapter/priorityLink.ts, on the region's TSP state and
 * the Modbus client the node deploys plans with), after each decision and every `syncMs`; every
 * override write first asks the lease check (`holds`), as plan writes do. With `journalFor`
 * (nodeMain --pg) the requests and decisions are journaled (service/journal.ts) in the cluster's
 * record through the holding's fenced view, so a node that lost the region records no more;
 * a new holder closes, as expired, the requests its predecessor left open there (it does not
 * reload them: its TSP state starts empty).
 */
import { tuneHeapForServer } from '../heapTuning.js';
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
import { ServiceJournal } from '../journal.js';
import type { Storage } from '../storage/storage.js';
import type { ControllerClient, ControllerEndpoint } from '../../controllers-adapter/modbus/client.js';
import { PriorityLink } from '../../controllers-adapter/priorityLink.js';
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
  /**
   * A region's controllers and the Modbus client the node drives them with (nodeMain
   * --controllers): a held region's decisions are sent to them as priority overrides.
   */
  readonly field?: (regionId: string) => { readonly client: ControllerClient; readonly endpoints: readonly ControllerEndpoint[] } | undefined;
  /** The record a held region's priority requests and decisions are journaled to (nodeMain --pg: the holding's fenced view). */
  readonly journalFor?: (regionId: string) => Storage | undefined;
  /** How often each held region's controllers get their next adjusted cycle staged, ms (default 1000, as serve). */
  readonly syncMs?: number;
  readonly log?: (line: string) => void;
}

/** A held region's TSP state, on the committed plan of `revision`. */
interface RegionTsp {
  readonly revision: number;
  readonly ctx: PriorityContext;
  /** With `field`: the link sending the region's adjusted cycles, and the intersections it drives. */
  readonly link?: { readonly link: PriorityLink; readonly intersections: readonly number[] } | undefined;
  readonly journal?: ServiceJournal | undefined;
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
  private syncTimer: NodeJS.Timeout | undefined;
  port = 0;

  private constructor(private readonly opts: NodeFrontOptions) {
    this.gov = new Governor(governanceLimits(opts.limits));
    this.gate = new CallGate(this.gov, opts.tokens);
    this.cfg = opts.priority ?? priorityConfig();
    this.clock = opts.clock ?? (() => Date.now() / 1000);
  }

  static async start(opts: NodeFrontOptions): Promise<NodeFront> {
    tuneHeapForServer();
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
    // As serve's field link: once a period, each held region's next adjusted cycles are staged before they begin.
    if (opts.field) {
      f.syncTimer = setInterval(() => f.syncAll(), opts.syncMs ?? 1000);
      f.syncTimer.unref();
    }
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
    void this.dropRegion(regionId);
    void this.regionContext(regionId).catch(() => {});
    const record = this.opts.journalFor?.(regionId);
    if (record) void this.expireLeftOpen(regionId, record, Date.now());
  }

  /**
   * A new holding starts with no open requests (its TSP state is new): those a previous holder
   * left open in the record for the region's intersections are closed as expired, as `serve`
   * does at start (their vehicles ask again). Only those opened before `sinceMs`, when the
   * holding began, so that none of this holding's own is closed.
   */
  private async expireLeftOpen(regionId: string, record: Storage, sinceMs: number): Promise<void> {
    try {
      const left = (await record.listOpenPriorityRequests()).filter((q) => q.requestedAtMs < sinceMs && this.opts.regionOf.get(q.intersectionId) === regionId);
      if (left.length === 0) return;
      const reason = `expired: region ${regionId} taken over by node ${this.opts.nodeId}; the previous holder's priority schedule was lost`;
      await record.journalPriority({ user: `node:${this.opts.nodeId}` }, left.map((q) => ({ kind: 'close' as const, requestId: q.requestId, reason, closedAtMs: Date.now() })));
    } catch (e: unknown) {
      this.opts.log?.(`greenwave node ${this.opts.nodeId}: region ${regionId}: could not close the previous holder's open priority requests: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The region is lost: no more calls for it here, and its open requests go with it. */
  lost(regionId: string): void {
    this.subs.get(regionId)?.unsubscribe();
    this.subs.delete(regionId);
    void this.dropRegion(regionId);
  }

  /** The overrides the region's controllers refused or that were not sent (fenced), with why. */
  linkFailures(regionId: string): readonly string[] {
    return this.tsp.get(regionId)?.link?.link.failures ?? [];
  }

  /** Writes the region's queued journal entries now (tests; otherwise every 250 ms). */
  async flushJournal(regionId: string): Promise<void> {
    await this.tsp.get(regionId)?.journal?.flush();
  }

  private dropRegion(regionId: string): Promise<void> {
    // What the journal holds is written under the holding's fence: refused if a new holder wrote since.
    const closing = this.tsp.get(regionId)?.journal?.close() ?? Promise.resolve();
    this.tsp.delete(regionId);
    return closing;
  }

  private syncAll(): void {
    const nowS = this.clock();
    for (const [r, t] of this.tsp) {
      if (!t.link || !this.opts.holds(r)) continue;
      for (const i of t.link.intersections) void t.link.link.sync(i, nowS);
    }
  }

  async close(): Promise<void> {
    this.gate.serving = false;
    this.watch?.stop();
    clearInterval(this.syncTimer);
    // The journals' last entries are written before the node closes its record.
    const journals = [...this.tsp.keys()].map((r) => this.dropRegion(r));
    for (const r of [...this.subs.keys()]) this.lost(r);
    await Promise.all(journals);
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
    // Some of the call's own deadline is kept for the answer's way back: 50 ms, as 20 ms was too
    // little on a loaded machine (at load 11 a refusal reached the client 3 ms past its deadline).
    const budgetMs = Math.min(this.opts.forwardTimeoutMs ?? 1000, deadlineMs(call) - Date.now() - 50);
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
      // The field link and the journal belong to a holding: made only while the region is held.
      const held = this.opts.holds(regionId);
      const field = held ? this.opts.field?.(regionId) : undefined;
      let link: RegionTsp['link'];
      if (field) {
        const unitOf = new Map(field.endpoints.map((e) => [e.intersection, e.unitId]));
        const l = new PriorityLink(c, state.tsp, field.client, (i) => unitOf.get(i), () => this.opts.holds(regionId));
        link = { link: l, intersections: field.endpoints.map((e) => e.intersection) };
      }
      const record = held ? this.opts.journalFor?.(regionId) : undefined;
      const journal = record
        ? new ServiceJournal(record, `region:${regionId}`, this.opts.log ?? (() => {}), (vehicleId, id) => {
            const i = byId.get(id);
            return i !== undefined && state.tsp.ownerOf(vehicleId, i) !== undefined;
          })
        : undefined;
      ctx = {
        state,
        clock: this.clock,
        gov: this.gov,
        field: link ? { changed: (i: number) => void link.link.sync(i, this.clock()) } : undefined,
        metrics: undefined,
        journal,
        priorityFeed: undefined,
      };
      this.tsp.set(regionId, { revision: p.revision, ctx, link, journal });
      return ctx;
    }
    this.tsp.set(regionId, { ...have, revision: p.revision });
    return ctx;
  }
}
