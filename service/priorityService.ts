/**
 * BusPriorityService: transit priority requests, updates and cancellations
 * (unary, over a bidirectional stream, or from a GTFS-realtime feed), each
 * decided by the TSP controller in ServiceState and sent on to the field
 * controllers when it changed a schedule, and told to the console's watchers
 * (./priorityFeed.ts) without waiting on them. Registered by startServer
 * (./server.ts) with a ServiceContext (./calls.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { PriorityClass } from '../engine/priority/policy.js';
import { priorityCandidates } from '../engine/transit/realtime.js';
import { StatusError, notFound, toGrpcStatus } from './errors.js';
import { requireRole, type Principal } from './auth.js';
import { candidateToPriorityRequest, feedVehicleIds } from './gtfs.js';
import type { Release } from './governance.js';
import { parseCancel, parsePriorityRequest, priorityResponse, PRIORITY_CLASS_NAME, sToTimestamp, str, type Obj, type PriorityState } from './messages.js';
import type { ServiceContext } from './calls.js';

/** The handlers of greenwave.v1.BusPriorityService. */
export function busPriorityService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { gate, gov } = ctx;
  return {
    SubmitVehiclePositions: gate.unary('dispatch', (r, who) => submitPositions(ctx, r, who)),
    RequestPriority: gate.unary('dispatch', (r, who) => decidePriority(ctx, 'request', r, who)),
    UpdatePriority: gate.unary('dispatch', (r, who) => decidePriority(ctx, 'update', r, who)),
    CancelPriority: gate.unary(['dispatch', 'operator'], (r, who) => cancelPriority(ctx, r, who)),
    PriorityStream: (call: grpc.ServerDuplexStream<Obj, Obj>) => {
      const who = gate.openStream(call, 'dispatch');
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
          if (action === 'request' || action === 'update') reply({ correlation_id, response: decidePriority(ctx, action, (m[action] ?? {}) as Obj, who, `${action}.`) });
          else if (action === 'cancel') reply({ correlation_id, cancelled: cancelPriority(ctx, (m['cancel'] ?? {}) as Obj, who, 'cancel.') });
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
  };
}

/**
 * What a priority decision needs: the TSP state and its limits, and where the decision is told.
 * A cluster node deciding for one of its regions (cluster/front.ts) gives only these.
 */
export type PriorityContext = Pick<ServiceContext, 'clock' | 'gov' | 'metrics' | 'journal' | 'priorityFeed'> & {
  readonly state: PriorityState;
  /** Told of each intersection whose schedule a decision changed (serve's field link, or a cluster node's PriorityLink for the region). */
  readonly field: Pick<NonNullable<ServiceContext['field']>, 'changed'> | undefined;
};

/** An open request belongs to the client that made it; only it or an operator may change it. */
function denyOthers(who: Principal, owner: string, what: string): void {
  if (owner !== who.client && !who.roles.includes('operator')) throw new StatusError(grpc.status.PERMISSION_DENIED, `${what} was made by another client; only it or an operator may change it`);
}

/** RequestPriority / UpdatePriority (`prefix`: where the request sits in a stream message, for error paths). */
export function decidePriority(ctx: PriorityContext, kind: 'request' | 'update', r: Obj, who: Principal, prefix = ''): Obj {
  const { state } = ctx;
  const now = ctx.clock();
  const req = parsePriorityRequest(state, r, now, prefix, who.client);
  if (req.priorityClass === PriorityClass.Emergency) requireRole(who, 'emergency', `${prefix}priority_class: PRIORITY_CLASS_EMERGENCY (preemption) needs it`);
  const owner = state.tsp.ownerOf(req.vehicleId, req.intersection);
  const what = `vehicle "${req.vehicleId}" has no open request at ${state.c.intersectionIds[req.intersection]}`;
  if (owner === undefined) {
    if (kind === 'update') throw notFound(`${prefix}vehicle_id: ${what}`);
    ctx.gov.checkNewOpenRequest(state.tsp, who.client);
  } else denyOthers(who, owner, `${prefix}vehicle_id: the open request of vehicle "${req.vehicleId}" at ${state.c.intersectionIds[req.intersection]}`);
  const d = kind === 'request' ? state.tsp.request(req, now) : state.tsp.update(req, now);
  if (!d) throw notFound(`${prefix}vehicle_id: ${what}`);
  ctx.field?.changed(req.intersection);
  const res = priorityResponse(state, req, d);
  ctx.metrics?.priorityDecided(d.granted, String(res['strategy']));
  ctx.journal?.priority(who.client, req.vehicleId, state.c.intersectionIds[req.intersection]!, PRIORITY_CLASS_NAME[req.priorityClass], Math.round(req.arrivalS * 1000), Math.round(now * 1000), d.granted ? 'granted' : 'denied', `${String(res['reason'])}${d.detail ? `: ${d.detail}` : ''}`);
  ctx.priorityFeed?.decided(kind, who.client, req, state.c.intersectionIds[req.intersection]!, d);
  return res;
}

/** CancelPriority. */
export function cancelPriority(ctx: PriorityContext, r: Obj, who: Principal, prefix = ''): Obj {
  const { state } = ctx;
  const { vehicleId, i } = parseCancel(state, r, prefix);
  const owner = state.tsp.ownerOf(vehicleId, i);
  if (owner === undefined) throw notFound(`${prefix}vehicle_id: vehicle "${vehicleId}" has no open request at ${state.c.intersectionIds[i]}`);
  denyOthers(who, owner, `${prefix}vehicle_id: the open request of vehicle "${vehicleId}" at ${state.c.intersectionIds[i]}`);
  const res = state.tsp.cancel(vehicleId, i, ctx.clock());
  if (res.withdrawn) ctx.field?.changed(i);
  ctx.journal?.cancelled(vehicleId, state.c.intersectionIds[i]!, Math.round(ctx.clock() * 1000), who.client);
  ctx.priorityFeed?.cancelled(who.client, vehicleId, state.c.intersectionIds[i]!, res.withdrawn);
  return { vehicle_id: vehicleId, intersection_id: state.c.intersectionIds[i], withdrawn: res.withdrawn };
}

/**
 * GTFS-realtime: every usable vehicle becomes a RequestPriority (same validation,
 * same TSP path, same response). Per-vehicle problems are `skipped`; only a feed
 * that is not a FeedMessage fails the call. A vehicle whose next intersection
 * changed since its previous feed check-in is checked out of the old one.
 */
function submitPositions(ctx: ServiceContext, r: Obj, who: Principal): Obj {
  const { state, clock } = ctx;
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
      const res = decidePriority(ctx, 'request', candidateToPriorityRequest(cand), who);
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
}
