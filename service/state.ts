/**
 * The service's state: the compiled network and counts it was started with,
 * the current plan, and the TSP controller that adjusts it; the RPC handlers
 * (./priorityService.ts, ./timingService.ts, ./signalStateService.ts) read
 * and change it, Replan swaps its plan in one step. Built by startServer
 * (./server.ts) from the network and counts files.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { compileNetworkText } from '../engine/network/load.js';
import { readText } from '../engine/files.js';
import { demandFor, prepareCounts, type PreparedCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { TspController } from '../engine/priority/tsp.js';
import type { PriorityConfig } from '../engine/priority/policy.js';
import type { TransitIndex } from '../engine/transit/realtime.js';
import { notFound } from './errors.js';
import type { ReplanResult, ServicePlan } from './replan.js';

/** The planned network and the live TSP state the RPCs read and change. */
export class ServiceState {
  plan: ServicePlan;
  forInterval: string;
  readonly tsp: TspController;
  /** The static GTFS feed matched to the network (serve --gtfs); undefined = GTFS-realtime is off. */
  transit: TransitIndex | undefined = undefined;
  /** Per vehicle id: the intersection its last GTFS-realtime check-in was for (to check it out once it moves on). */
  readonly feedCheckIns = new Map<string, number>();
  private readonly byId: Map<string, number>;

  constructor(
    readonly c: CompiledNetwork,
    readonly prepared: PreparedCounts,
    at: string | undefined,
    cfg: PriorityConfig,
    /** The files' text as loaded: the Replan worker plans exactly this network and these counts. */
    readonly source: { readonly networkPath: string; readonly networkText: string; readonly countsPath: string; readonly countsText: string },
  ) {
    const demand = demandFor(prepared, at);
    this.plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
    this.forInterval = demand.forInterval;
    this.tsp = new TspController(c, this.plan.buffer, cfg);
    this.byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  }

  static load(networkPath: string, countsPath: string, at: string | undefined, cfg: PriorityConfig): ServiceState {
    const networkText = readText(networkPath, 'network file');
    const c = compileNetworkText(networkText, networkPath);
    const countsText = readText(countsPath, 'counts file');
    return new ServiceState(c, prepareCounts(c, countsText, countsPath), at, cfg, { networkPath, networkText, countsPath, countsText });
  }

  intersection(id: string, path: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw notFound(`${path}: no intersection "${id}"`);
    return i;
  }

  /** Installs a new plan in one synchronous step (drops open requests and adjustments). */
  /** Does the TSP controller still hold a request of this vehicle at this intersection (by id)? */
  tspHolds(vehicleId: string, intersectionId: string): boolean {
    const i = this.byId.get(intersectionId);
    return i !== undefined && this.tsp.ownerOf(vehicleId, i) !== undefined;
  }

  apply(r: ReplanResult): void {
    if (this.plan === r.plan) return; // coalesced Replans hand every caller the same result
    this.plan = r.plan;
    this.forInterval = r.forInterval;
    this.tsp.setBasePlan(r.plan.buffer);
    this.feedCheckIns.clear();
  }
}

