/**
 * The console's JSON API under /api/: login and sessions (./sessions.ts,
 * ./users.ts), the network, a corridor's time-space data (./timeSpace.ts),
 * live validation of an edit by the one validator (service/lifecycle/edits.ts
 * applyEdits, nothing stored), and the plan lifecycle in-process
 * (service/lifecycle/lifecycle.ts, the object OperationsService uses):
 * propose, list, review, approve/reject, deploy, rollouts (polled and as
 * server-sent events), rollback, audit search; and a corridor's live signal
 * state (SPaT, service/spat.ts) as server-sent events; bus priority, parking,
 * traffic state, locks and schedules come from ./priorityApi.ts, ./parkingApi.ts,
 * ./trafficApi.ts and ./locksApi.ts. Roles are checked here, per
 * endpoint, whatever the page shows: viewer reads, operator edits and
 * proposes, supervisor decides, deploys and rolls back. Every state-changing
 * request needs the session's CSRF token. Served by ./http.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, type Issue } from '../../engine/errors.js';
import type { PlanBuffer } from '../../engine/timing/planner.js';
import { timingPlans } from '../../engine/plan.js';
import type { Role } from '../../service/auth.js';
import { StatusError } from '../../service/errors.js';
import { storedPlanBuffer } from '../../service/deployer.js';
import { applyEdits, type PlanEdit } from '../../service/lifecycle/edits.js';
import { isProposal, type PlanLifecycle, type PlanStatus } from '../../service/lifecycle/lifecycle.js';
import type { ServiceState } from '../../service/state.js';
import type { Deployment, Storage } from '../../service/storage/storage.js';
import type { Session, SessionStore } from './sessions.js';
import type { UserStore } from './users.js';
import { timeSpaceData } from './timeSpace.js';
import { streamPeriodic } from './sse.js';
import { intersectionSpat } from '../../service/spat.js';
import { travelApproaches } from '../../engine/corridor/subsystems.js';
import type { PriorityFeed } from '../../service/priorityFeed.js';
import type { ParkingGuidance } from '../../service/parkingState.js';
import type { ScheduleKeeper } from '../../service/lifecycle/schedule.js';
import { priorityRoutes } from './priorityApi.js';
import { parkingRoutes } from './parkingApi.js';
import { trafficRoutes } from './trafficApi.js';
import type { TrafficState } from '../../service/trafficState.js';
import type { RunningDiversion } from '../../service/diversionSigns.js';
import { locksRoutes } from './locksApi.js';
import { networkRoutes } from './networkApi.js';
import { intersectionRoutes } from './intersectionApi.js';
import { LiveDetectorHealth } from './liveDetectorHealth.js';
import { DEFAULT_COUNT_INTERVAL_S } from '../../service/countCollector.js';

export interface ConsoleDeps {
  readonly state: ServiceState;
  readonly users: UserStore;
  /** Without a storage there is no lifecycle: the plan endpoints answer 409. */
  readonly lifecycle: PlanLifecycle | undefined;
  readonly storage: Storage | undefined;
  readonly log: (line: string) => void;
  /** The service's clock, s (the one SPaT and the controllers run on). */
  readonly clock: () => number;
  /** The bus priority decisions as made (./priorityApi.ts); undefined = the page says there is none. */
  readonly priorityFeed?: PriorityFeed | undefined;
  /** With `serve --parking`: the car parks and signs (./parkingApi.ts). */
  readonly parking?: ParkingGuidance | undefined;
  /** The network traffic state and incidents (./trafficApi.ts); undefined = the page says there is none. */
  readonly traffic?: TrafficState | undefined;
  /** With `serve --diversion`: the decision points' sign messages (./trafficApi.ts). */
  readonly diversion?: RunningDiversion | undefined;
  /** With controllers and a storage: the time-of-day schedule in force (./locksApi.ts). */
  readonly schedules?: ScheduleKeeper | undefined;
  /** The interval the service collects detector counts on, s (service/countCollector.ts; default 30): the live detector health reads them. */
  readonly countIntervalS?: number | undefined;
}

/** An answer other than 200, with a stable code and, for bad input, the problems by path. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_PLANS = 200;
const MAX_AUDIT_ROWS = 500;
/** How often a rollout's record is read for its event stream, ms. */
const ROLLOUT_POLL_MS = 200;
/** How often the live signal state is sent, ms. */
export const SIGNALS_PERIOD_MS = 1000;

type Json = Record<string, unknown>;
export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: readonly string[];
  readonly body: Json;
  readonly session: Session | undefined;
}
export interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  /** undefined: open to anyone (login); [] any logged-in user; else one of these roles. */
  readonly roles: readonly Role[] | undefined;
  /** Answers JSON, or undefined when it wrote the response itself (event streams). */
  readonly handle: (call: Call) => Promise<unknown>;
}

/** The API's request handler; `sse` collects open event streams so that closing the server ends them. */
export function consoleApi(deps: ConsoleDeps, sessions: SessionStore, sse: Set<ServerResponse>): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { state, users, storage, log } = deps;
  const c = state.c;
  const lc = (): PlanLifecycle => {
    if (!deps.lifecycle) throw new HttpError(409, 'NO_LIFECYCLE', 'the plan lifecycle needs a database: start greenwave serve with --db or --pg');
    return deps.lifecycle;
  };
  const peer = (req: IncomingMessage): string => `http:${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
  const actor = (call: Call) => ({ user: call.session!.user, peer: peer(call.req) });
  const who = (call: Call) => ({ client: call.session!.user, roles: call.session!.roles });
  const audit = (user: string, p: string, action: string, detail: unknown): Promise<void> =>
    storage ? storage.recordAudit({ user, peer: p }, action, detail).then(() => undefined, (e: unknown) => log(`greenwave console: could not audit ${action}: ${e instanceof Error ? e.message : String(e)}`)) : Promise.resolve();

  /** A stored lifecycle plan's buffer, or the plan the service runs when `planId` is undefined. */
  const planBuffer = async (planId: number | undefined): Promise<PlanBuffer> => {
    if (planId === undefined) return state.plan.buffer;
    const plan = await storage?.getTimingPlan(planId);
    if (!plan || plan.scope.id !== lc().networkScope) throw new HttpError(404, 'NOT_FOUND', `no plan ${planId} of this network`);
    if (!isProposal(plan.body)) throw new HttpError(409, 'NOT_DEPLOYABLE', `plan ${planId} is a Replan record without a deployable plan`);
    return storedPlanBuffer(c, plan);
  };
  const planMessage = (s: PlanStatus, withTiming: boolean): Json => {
    const body = s.plan.body as Json;
    const proposal = isProposal(body);
    return {
      planId: s.plan.planId,
      version: s.plan.version,
      author: s.plan.author,
      createdAtMs: s.plan.createdAtMs,
      reason: s.plan.reason,
      source: s.plan.source,
      state: proposal ? s.state : 'replan',
      parentVersion: s.plan.parentVersion,
      rollbackOfVersion: proposal ? (body['rollbackOfVersion'] ?? null) : null,
      inForce: deps.lifecycle?.inForce === s.plan.planId,
      decisions: s.decisions.map((d) => ({ actor: d.actor, decision: d.decision, comment: d.comment, atMs: d.atMs })),
      deployments: s.deployments.map(deploymentMessage),
      edits: proposal ? (body['edits'] ?? null) : null,
      ...(withTiming && proposal ? { timing: timingMessage(storedPlanBuffer(c, s.plan)) } : {}),
    };
  };
  const timingMessage = (buf: PlanBuffer): Json[] =>
    timingPlans(c, buf).map((tp, i) => ({
      intersectionId: c.intersectionIds[i],
      cycleS: buf.cycleS[i],
      offsetS: buf.offsetS[i],
      phases: tp.phases.map((p) => ({ phaseId: p.id, startS: p.startS, greenS: p.greenS, yellowS: p.yellowS, allRedS: p.allRedS })),
    }));

  const routes: Route[] = [
    {
      method: 'POST',
      pattern: /^\/api\/login$/,
      roles: undefined,
      handle: async ({ req, res, body }) => {
        const user = typeof body['user'] === 'string' ? body['user'] : '';
        const password = typeof body['password'] === 'string' ? body['password'] : '';
        if (user === '' || password === '') throw new HttpError(400, 'INVALID_INPUT', 'user and password are required');
        const outcome = await users.login(user, password);
        if (!outcome.ok) {
          await audit(user.slice(0, 64), peer(req), 'console.login.refused', { reason: outcome.reason, ...(outcome.lockedUntilMs ? { lockedUntilMs: outcome.lockedUntilMs } : {}) });
          if (outcome.reason === 'locked') throw new HttpError(429, 'LOCKED', 'too many failed logins: this user is locked for a few minutes');
          throw new HttpError(401, 'BAD_CREDENTIALS', 'unknown user or wrong password');
        }
        // A login always starts a fresh session: an id planted before login is worth nothing after it.
        const previous = sessions.fromRequest(req);
        if (previous) sessions.end(previous);
        const s = sessions.create(outcome.user.user, outcome.user.roles);
        await audit(s.user, peer(req), 'console.login', { roles: s.roles });
        res.setHeader('set-cookie', sessions.setCookie(s));
        return { user: s.user, roles: s.roles, csrfToken: s.csrfToken };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/logout$/,
      roles: [],
      handle: async (call) => {
        sessions.end(call.session!);
        await audit(call.session!.user, peer(call.req), 'console.logout', {});
        call.res.setHeader('set-cookie', sessions.clearCookie());
        return {};
      },
    },
    { method: 'GET', pattern: /^\/api\/session$/, roles: [], handle: async ({ session: s }) => ({ user: s!.user, roles: s!.roles, csrfToken: s!.csrfToken }) },
    {
      method: 'GET',
      pattern: /^\/api\/network$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async () => ({
        name: c.network.name,
        intersections: c.network.intersections.map((ix) => ({ id: ix.id, name: ix.name, lon: ix.position.lon, lat: ix.position.lat })),
        corridors: c.network.corridors.map((k) => ({ id: k.id, name: k.name ?? k.id, intersections: k.intersections })),
        current: { planId: deps.lifecycle?.inForce ?? null, forInterval: state.forInterval },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/corridors\/([\w.-]+)\/tsd$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async ({ params, url }) => {
        const planId = optionalId(url.searchParams.get('plan'), 'plan');
        const data = timeSpaceData(c, await planBuffer(planId), params[0]!);
        if (!data) throw new HttpError(404, 'NOT_FOUND', `no corridor "${params[0]}"`);
        return { planId: planId ?? deps.lifecycle?.inForce ?? null, ...data };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/corridors\/([\w.-]+)\/validate$/,
      roles: ['operator', 'supervisor'],
      handle: async ({ params, body, res }) => {
        const t0 = performance.now();
        // The server's share of an edit's round trip, for the page's timing (bench/console).
        const timed = <R>(r: R): R => {
          res.setHeader('server-timing', `validate;dur=${(performance.now() - t0).toFixed(2)}`);
          return r;
        };
        const base = await planBuffer(optionalId(body['basePlanId'], 'basePlanId'));
        const edits = parseEdits(body['edits']);
        let edited: PlanBuffer;
        try {
          edited = applyEdits(c, base, edits);
        } catch (e: unknown) {
          // The validator's answer is the point of this call: the problems, with their rules, not an error.
          if (e instanceof GreenwaveError && (e.code === ErrorCode.UnsafePlan || e.code === ErrorCode.InvalidInput)) return timed({ ok: false, problems: e.issues });
          throw e;
        }
        return timed({ ok: true, problems: [], tsd: timeSpaceData(c, edited, params[0]!) ?? null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/corridors\/([\w.-]+)\/signals$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async ({ req, res, params }) => {
        streamSignals(deps, req, res, params[0]!, sse);
        return undefined;
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/plans$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async () => ({ plans: (await lc().list(MAX_PLANS)).map((s) => planMessage(s, false)), inForce: deps.lifecycle?.inForce ?? null }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/plans$/,
      roles: ['operator'],
      handle: async (call) => {
        const reason = typeof call.body['reason'] === 'string' ? call.body['reason'] : '';
        const plan = await lc().proposeEdit(actor(call), optionalId(call.body['basePlanId'], 'basePlanId'), parseEdits(call.body['edits']), reason);
        return planMessage(await lc().status(plan.planId), false);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/plans\/current$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async () => ({ planId: deps.lifecycle?.inForce ?? null, forInterval: state.forInterval, timing: timingMessage(state.plan.buffer) }),
    },
    { method: 'GET', pattern: /^\/api\/plans\/(\d+)$/, roles: ['viewer', 'operator', 'supervisor'], handle: async ({ params }) => planMessage(await lc().status(Number(params[0])), true) },
    {
      method: 'GET',
      pattern: /^\/api\/plans\/(\d+)\/review$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async ({ params, url }) => lc().review(Number(params[0]), optionalId(url.searchParams.get('against'), 'against')),
    },
    {
      method: 'POST',
      pattern: /^\/api\/plans\/(\d+)\/decision$/,
      roles: ['supervisor'],
      handle: async (call) => {
        const decision = call.body['decision'];
        if (decision !== 'approve' && decision !== 'reject') throw new HttpError(400, 'INVALID_INPUT', 'decision must be "approve" or "reject"', [{ path: 'decision', message: 'must be "approve" or "reject"' }]);
        const comment = typeof call.body['comment'] === 'string' ? call.body['comment'] : '';
        return planMessage(await lc().decide(who(call), peer(call.req), Number(call.params[0]), decision, comment), false);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/plans\/(\d+)\/deploy$/,
      roles: ['supervisor'],
      handle: async (call) => {
        const d = await lc().deploy(actor(call), Number(call.params[0]));
        return { rolloutId: d.rolloutId, planId: Number(call.params[0]), deployments: d.staged.map(deploymentMessage) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/rollback$/,
      roles: ['supervisor'],
      handle: async (call) => {
        const version = optionalId(call.body['version'], 'version');
        if (version === undefined) throw new HttpError(400, 'INVALID_INPUT', 'version is required', [{ path: 'version', message: 'is required' }]);
        const reason = typeof call.body['reason'] === 'string' ? call.body['reason'] : '';
        const d = await lc().rollback(who(call), peer(call.req), version, reason);
        return { rolloutId: d.rolloutId, planId: d.plan.planId, version: d.plan.version, deployments: d.staged.map(deploymentMessage) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/rollouts\/([\w.-]+)$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async ({ params }) => ({ deployments: (await lc().rolloutDeployments(params[0]!)).map(deploymentMessage) }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/rollouts\/([\w.-]+)\/events$/,
      roles: ['viewer', 'operator', 'supervisor'],
      handle: async ({ req, res, params }) => {
        await streamRollout(lc(), req, res, params[0]!, sse);
        return undefined;
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/audit$/,
      roles: ['operator', 'supervisor'],
      handle: async ({ url }) => {
        if (!storage) throw new HttpError(409, 'NO_LIFECYCLE', 'no database');
        const q = url.searchParams;
        const limit = Math.min(MAX_AUDIT_ROWS, optionalId(q.get('limit'), 'limit') ?? 100);
        const rows = await storage.listAudit({
          afterSeq: optionalId(q.get('afterSeq'), 'afterSeq') ?? 0,
          limit,
          ...(q.get('actor') ? { actor: q.get('actor')! } : {}),
          ...(q.get('action') ? { actionPrefix: q.get('action')! } : {}),
        });
        return { rows: rows.map((a) => ({ seq: a.seq, atMs: a.atMs, actor: a.actor, peer: a.peer, action: a.action, detail: parseDetail(a.detail) })) };
      },
    },
  ];
  // The live pages' routes, each in a module of its own.
  routes.push(...priorityRoutes(deps, sse), ...parkingRoutes(deps, sse), ...trafficRoutes(deps, sse), ...locksRoutes(deps));
  // The network and intersection pages' routes live in their own modules.
  const health = new LiveDetectorHealth(deps.state, deps.storage, deps.clock, deps.countIntervalS ?? DEFAULT_COUNT_INTERVAL_S);
  routes.push(...networkRoutes(deps, sse, health), ...intersectionRoutes(deps, health));

  return async (req, res, url) => {
    try {
      const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route) {
        const known = routes.some((r) => r.pattern.test(url.pathname));
        throw known ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`) : new HttpError(404, 'NOT_FOUND', `no API at ${url.pathname}`);
      }
      const session = sessions.fromRequest(req);
      if (route.roles !== undefined) {
        if (!session) throw new HttpError(401, 'UNAUTHENTICATED', 'log in first');
        if (route.roles.length > 0 && !route.roles.some((r) => session.roles.includes(r))) throw new HttpError(403, 'FORBIDDEN', `user "${session.user}" has none of the roles ${route.roles.join(', ')}`);
      }
      if (route.method === 'POST') {
        // JSON only: a cross-site form cannot send it without a CORS preflight, which is never granted.
        if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
        if (route.roles !== undefined && !sessions.csrfOk(req, session!)) throw new HttpError(403, 'CSRF', 'missing or wrong x-csrf-token header');
      }
      const body = route.method === 'POST' ? await readJson(req) : {};
      const params = route.pattern.exec(url.pathname)!.slice(1);
      const answer = await route.handle({ req, res, url, params, body, session });
      if (answer !== undefined) sendJson(res, 200, answer);
    } catch (e: unknown) {
      const h = toHttpError(e);
      if (h.status >= 500) log(`greenwave console: ${req.method} ${url.pathname}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) sendJson(res, h.status, { error: { code: h.code, message: h.message, issues: h.issues } });
      else res.end();
    }
  };
}

function deploymentMessage(d: Deployment): Json {
  return { id: d.id, controllerId: d.controllerId, planId: d.planId, wirePlanId: d.wirePlanId, rolloutId: d.rolloutId, state: d.state, readBackPlanId: d.readBackPlanId, reason: d.reason, updatedAtMs: d.updatedAtMs };
}

/** Each deployment of the rollout when it changes, as `deployment` events, then `done` once none is in flight. */
async function streamRollout(lc: PlanLifecycle, req: IncomingMessage, res: ServerResponse, rolloutId: string, open: Set<ServerResponse>): Promise<void> {
  const first = await lc.rolloutDeployments(rolloutId);
  if (first.length === 0) throw new HttpError(404, 'NOT_FOUND', `no rollout "${rolloutId}"`);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  open.add(res);
  let live = true;
  const stop = (): void => {
    live = false;
    open.delete(res);
  };
  req.on('close', stop);
  const seen = new Map<number, string>();
  let deps: Deployment[] = first;
  try {
    for (;;) {
      for (const d of deps) {
        const key = `${d.state}:${d.updatedAtMs}`;
        if (seen.get(d.id) === key) continue;
        seen.set(d.id, key);
        res.write(`event: deployment\ndata: ${JSON.stringify(deploymentMessage(d))}\n\n`);
      }
      const inFlight = deps.filter((d) => d.state === 'staged' || d.state === 'committed').length;
      if (inFlight === 0) {
        res.write(`event: done\ndata: ${JSON.stringify({ rolloutId, confirmed: deps.filter((d) => d.state === 'confirmed').length, failed: deps.filter((d) => d.state === 'failed').length })}\n\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, ROLLOUT_POLL_MS));
      if (!live || !open.has(res)) return;
      deps = await lc.rolloutDeployments(rolloutId);
    }
  } finally {
    stop();
    res.end();
  }
}

/**
 * The corridor's signals as they are now, every SIGNALS_PERIOD_MS, as `signals` events: the
 * service's clock, and per signal its time in cycle, the phases green and the state of the
 * outbound and inbound through movements (from the SPaT the gRPC stream serves, service/spat.ts).
 */
function streamSignals(deps: ConsoleDeps, req: IncomingMessage, res: ServerResponse, corridorId: string, open: Set<ServerResponse>): void {
  const c = deps.state.c;
  const cor = c.network.corridors.find((x) => x.id === corridorId);
  if (!cor) throw new HttpError(404, 'NOT_FOUND', `no corridor "${corridorId}"`);
  const indices = cor.intersections.map((id) => c.intersectionIds.indexOf(id)).filter((i) => i >= 0);
  const { outApproach, inApproach } = travelApproaches(c, indices);
  streamPeriodic(req, res, open, 'signals', SIGNALS_PERIOD_MS, () => {
    const tS = deps.clock();
    const signals = indices.map((i, k) => {
      const spat = intersectionSpat(c, deps.state.tsp, i, tS);
      const through = (a: string): string => spat.movements.find((m) => m.movementId === `${a}T`)?.state ?? 'MOVEMENT_PHASE_STATE_STOP_AND_REMAIN';
      return { id: c.intersectionIds[i], cycleTimeS: spat.cycleTimeS, greenPhaseIds: spat.greenPhaseIds, out: through(outApproach[k]!), in: through(inApproach[k]!), priorityActive: spat.priorityActive };
    });
    return { tS, signals };
  });
}

function parseEdits(raw: unknown): PlanEdit[] {
  const bad = (path: string, message: string): HttpError => new HttpError(400, 'INVALID_INPUT', `${path}: ${message}`, [{ path, message }]);
  if (!Array.isArray(raw)) throw bad('edits', 'must be a list');
  if (raw.length > 1000) throw bad('edits', 'at most 1000');
  return raw.map((x: unknown, k): PlanEdit => {
    const e = (x ?? {}) as Json;
    if (typeof e['intersectionId'] !== 'string') throw bad(`edits[${k}].intersectionId`, 'must be a string');
    if (e['offsetS'] !== undefined && typeof e['offsetS'] !== 'number') throw bad(`edits[${k}].offsetS`, 'must be a number');
    const phases = e['phases'] ?? [];
    if (!Array.isArray(phases)) throw bad(`edits[${k}].phases`, 'must be a list');
    return {
      intersectionId: e['intersectionId'],
      ...(typeof e['offsetS'] === 'number' ? { offsetS: e['offsetS'] } : {}),
      phases: phases.map((p: unknown, j) => {
        const q = (p ?? {}) as Json;
        if (typeof q['phaseId'] !== 'string' || typeof q['greenS'] !== 'number') throw bad(`edits[${k}].phases[${j}]`, 'must be { phaseId: string, greenS: number }');
        return { phaseId: q['phaseId'], greenS: q['greenS'] };
      }),
    };
  });
}

/** An audit row's detail (canonical JSON text as stored) as JSON for the page; text that is not JSON stays text. */
function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function optionalId(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new HttpError(400, 'INVALID_INPUT', `${path} must be a positive whole number`, [{ path, message: 'must be a positive whole number' }]);
  return n;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'TOO_LARGE', `a request body is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch {
    throw new HttpError(400, 'INVALID_INPUT', 'the body must be a JSON object');
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const GRPC_TO_HTTP: Partial<Record<grpcStatus, [number, string]>> = {
  [grpcStatus.INVALID_ARGUMENT]: [400, 'INVALID_INPUT'],
  [grpcStatus.UNAUTHENTICATED]: [401, 'UNAUTHENTICATED'],
  [grpcStatus.PERMISSION_DENIED]: [403, 'FORBIDDEN'],
  [grpcStatus.NOT_FOUND]: [404, 'NOT_FOUND'],
  [grpcStatus.FAILED_PRECONDITION]: [409, 'FAILED_PRECONDITION'],
  [grpcStatus.RESOURCE_EXHAUSTED]: [429, 'RESOURCE_EXHAUSTED'],
  [grpcStatus.DEADLINE_EXCEEDED]: [504, 'DEADLINE_EXCEEDED'],
  [grpcStatus.UNAVAILABLE]: [503, 'UNAVAILABLE'],
};

/** The one place where what a handler threw becomes an HTTP answer; internal details never leak. */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof StatusError) {
    const [code, name] = GRPC_TO_HTTP[e.grpcCode] ?? [500, 'INTERNAL'];
    return new HttpError(code, name, code === 500 ? 'internal error' : e.message);
  }
  if (e instanceof GreenwaveError) {
    const map: Partial<Record<ErrorCode, number>> = { [ErrorCode.InvalidInput]: 400, [ErrorCode.UnsafePlan]: 422, [ErrorCode.Conflict]: 409, [ErrorCode.IllegalTransition]: 409, [ErrorCode.NotFound]: 404, [ErrorCode.Io]: 503 };
    const code = map[e.code];
    if (code !== undefined) return new HttpError(code, e.code, e.message, e.issues);
  }
  return new HttpError(500, 'INTERNAL', 'internal error');
}
