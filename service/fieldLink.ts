/**
 * The service's field side: a Modbus client to the controllers, the base plan
 * pushed to each (and re-pushed to one found off it), and the priority link
 * that sends TSP adjustments. Started by startServer (./server.ts); the
 * priority and timing handlers tell it when an intersection or the plan
 * changed.
 */
import { ControllerClient, type ControllerEndpoint } from '../controllers-adapter/modbus/client.js';
import { PriorityLink } from '../controllers-adapter/priorityLink.js';
import { DEFAULT_RESYNC_PERIOD_MS, PlanResync } from '../controllers-adapter/resync.js';
import type { ServiceState } from './state.js';
import type { FieldMetrics } from './metrics.js';

export interface FieldLinkOptions {
  /** How often each controller's active plan id is checked, ms (default DEFAULT_RESYNC_PERIOD_MS). */
  readonly controllerResyncMs?: number | undefined;
  readonly log?: ((line: string) => void) | undefined;
  /** Told of pushes, re-syncs and controllers going silent or answering again. */
  readonly metrics?: FieldMetrics | undefined;
}

/** The running field side. */
export interface FieldLink {
  readonly link: PriorityLink;
  readonly resync: PlanResync;
  /** Intersection i's TSP schedule changed: send its next cycle now. */
  changed(i: number): void;
  /** The base plan changed (Replan): push it to every controller (under the next free plan id). */
  pushPlans(): void;
  /**
   * The base plan is now a deployed lifecycle plan sent by the deployer as wire plan id
   * `wirePlanId`: re-sync expects that id and re-sends the plan under it to a restarted controller.
   */
  deployed(wirePlanId: number): void;
  /** The Modbus client the link talks through (the deployer shares it: one writer per controller). */
  readonly client: ControllerClient;
  readonly endpoints: readonly ControllerEndpoint[];
  close(): void;
}

/**
 * The field side of the service: a Modbus client to the controllers, the base plan pushed to
 * each, and the priority link that sends TSP adjustments after each decision and once a second.
 * Failures never fail a gRPC call: they are collected in `link.failures`.
 */
export function connectControllers(state: ServiceState, endpoints: readonly ControllerEndpoint[], clock: () => number, opts: FieldLinkOptions): FieldLink | undefined {
  if (endpoints.length === 0) return undefined;
  const resyncMs = opts.controllerResyncMs ?? DEFAULT_RESYNC_PERIOD_MS;
  // An open breaker fails fast for at most one re-sync period, so a controller that comes back is re-synced at the next check.
  const client = new ControllerClient(state.c, endpoints, { timeoutMs: 1000, connectTimeoutMs: 1000, breakerCooldownMs: Math.min(5000, resyncMs) });
  const unitOf = new Map(endpoints.map((e) => [e.intersection, e.unitId]));
  const link = new PriorityLink(state.c, state.tsp, client, (i) => unitOf.get(i));
  // The base plan: pushed at start and after Replan, and again to any controller found off it (a restart).
  let wirePlanId: number | undefined;
  const resync = new PlanResync(state.c, client, endpoints, () => state.plan.buffer, { planId: () => wirePlanId, periodMs: resyncMs, ...(opts.log ? { log: opts.log } : {}), onFailure: (m) => link.failures.push(m), ...(opts.metrics ? { onEvent: (k) => opts.metrics?.controllerEvent(k) } : {}) });
  const pushPlans = (): void => {
    wirePlanId = undefined;
    void resync.pushAll();
  };
  const deployed = (id: number): void => {
    wirePlanId = id;
    for (const e of endpoints) resync.expect(e.unitId, id);
  };
  const changed = (i: number): void => {
    if (unitOf.has(i)) void link.sync(i, clock());
  };
  // Once a second: stage each intersection's next adjusted cycle before it begins.
  const timer = setInterval(() => {
    for (const e of endpoints) void link.sync(e.intersection, clock());
  }, 1000);
  timer.unref();
  pushPlans();
  resync.start();
  return {
    link,
    resync,
    changed,
    pushPlans,
    deployed,
    client,
    endpoints,
    close: (): void => {
      clearInterval(timer);
      resync.stop();
      void client.close();
    },
  };
}
