/**
 * SignalStateService: WatchSignalState streams SPaT for the intersections a
 * client asks for, paced to what the client reads. Registered by startServer
 * (./server.ts) with a ServiceContext (./calls.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from './errors.js';
import { pacedStream, parseWatchRequest } from './governance.js';
import type { ServicePlan } from './replan.js';
import { spatMessage, type Obj } from './messages.js';
import type { ServiceContext } from './calls.js';

/** The handlers of greenwave.v1.SignalStateService. */
export function signalStateService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { state, gov } = ctx;
  /**
   * SPaT of intersection i at the current 0.1 s step, computed once per step for every
   * subscriber (hundreds of viewers of one intersection cost one computation), and again
   * whenever the intersection's schedule or the plan changes.
   */
  const spatCache: ({ tS: number; revision: number; plan: ServicePlan; msg: Obj } | undefined)[] = [];
  const spatNow = (i: number): Obj => {
    const tS = Math.floor(ctx.clock() * 10) / 10;
    const hit = spatCache[i];
    if (hit && hit.tS === tS && hit.revision === state.tsp.revision[i] && hit.plan === state.plan) return hit.msg;
    const msg = spatMessage(state, i, tS);
    spatCache[i] = { tS, revision: state.tsp.revision[i]!, plan: state.plan, msg };
    return msg;
  };
  return {
    WatchSignalState: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      if (!ctx.gate.openStream(call, 'viewer')) return;
      let w: { ids: number[]; periodMs: number };
      try {
        w = parseWatchRequest(call.request, state.c.intersectionCount, gov.limits, (id, path) => state.intersection(id, path));
      } catch (e: unknown) {
        call.emit('error', toGrpcStatus(e));
        return;
      }
      pacedStream(call, w.periodMs, () => w.ids.map((i) => spatNow(i)), ctx.pacing);
    },
  };
}
