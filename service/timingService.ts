/**
 * TimingService: the current plan per intersection or corridor, the network's
 * intersections and corridors, and Replan (a new plan for another counts
 * interval, computed off the event loop and pushed to the field
 * controllers). Registered by startServer (./server.ts) with a
 * ServiceContext (./calls.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { StatusError, notFound } from './errors.js';
import { minutesOf } from './planWire.js';
import { intersectionPlan, str, type Obj } from './messages.js';
import { callSignal, type ServiceContext } from './calls.js';
import { sha256 } from './journal.js';

/** The handlers of greenwave.v1.TimingService. */
export function timingService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { gate, state } = ctx;
  return {
    GetPlan: gate.unary('viewer', (r) => {
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
    ListIntersections: gate.unary('viewer', () => ({
      intersections: state.c.network.intersections.map((ix, i) => ({
        id: ix.id,
        name: ix.name,
        lon: ix.position.lon,
        lat: ix.position.lat,
        phase_ids: state.c.phaseIds.slice(state.c.phaseStart[i]!, state.c.phaseStart[i + 1]!),
      })),
    })),
    ListCorridors: gate.unary('viewer', () => ({
      corridors: state.c.network.corridors.map((cor) => ({ id: cor.id, name: cor.name, intersection_ids: cor.intersections, cycle_s: state.plan.corridors.find((x) => x.corridorId === cor.id)?.cycleS ?? 0 })),
    })),
    Replan: gate.unary('operator', (r, who, call) => replan(ctx, r, call, who.client)),
  };
}

/**
 * Replan: computed on the worker (coalesced per interval), applied here in one step only
 * if the call still wants it. A call cancelled or past its deadline changes nothing.
 */
async function replan(ctx: ServiceContext, r: Obj, call: grpc.ServerUnaryCall<Obj, Obj>, client: string): Promise<Obj> {
  const { state } = ctx;
  const at = str(r['at']);
  minutesOf(at);
  ctx.manualPlanGuard?.();
  const { signal, deadlineMs: dl, release } = callSignal(call);
  try {
    const result = await ctx.replanner.plan(at, signal);
    if (signal.aborted || call.cancelled || Date.now() >= dl) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'Replan cancelled or past its deadline: the plan is unchanged');
    if (!ctx.gate.serving) throw new StatusError(grpc.status.UNAVAILABLE, 'server is shutting down: the plan is unchanged');
    // Durable before it is applied: a plan the store refused is not run, and one that is stored
    // is what a restart comes back to (./journal.ts).
    if (ctx.journal && state.plan !== result.plan) {
      await ctx.journal.savePlan({ user: client, peer: call.getPeer() }, { at, forInterval: result.forInterval, networkSha256: sha256(state.source.networkText), countsSha256: sha256(state.source.countsText), plans: result.plan.plans }, `Replan for ${at}`);
    }
    state.apply(result);
    ctx.field?.pushPlans();
    return { for_interval: state.forInterval, intersections: state.c.intersectionCount };
  } catch (e: unknown) {
    if (e instanceof StatusError) throw e;
    const ge = GreenwaveError.from(e);
    if (ge.code === ErrorCode.Cancelled) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, 'Replan cancelled or past its deadline: the plan is unchanged');
    if (ge.code === ErrorCode.InvalidInput) throw new GreenwaveError(ErrorCode.InvalidInput, ge.message, [{ path: 'at', message: ge.message.replace(/^--at "?[^"\s]*"?:? ?/, '') }]);
    throw ge;
  } finally {
    release();
  }
}
