/**
 * Who gets transit signal priority: request classes and their rank, per-route
 * conditions (lateness, occupancy, headway) and the arbitration order between
 * conflicting requests (class, then lateness, then arrival order). Pure
 * functions, used by the TSP controller (`tsp.ts`) and the gRPC service.
 */

/** Rank order: Emergency > Bus > Other. The numbers are the rank. */
export const PriorityClass = { Other: 1, Bus: 2, Emergency: 3 } as const;
export type PriorityClass = (typeof PriorityClass)[keyof typeof PriorityClass];

/** Conditions a route's vehicles must meet to get (conditional) priority. */
export interface RoutePolicy {
  /** Grant only to vehicles at least this late, s. */
  readonly minLatenessS: number;
  /** Grant only with at least this many passengers on board. */
  readonly minOccupancy: number;
  /** Deny a vehicle closer than this to the previous one of its route (bunching), s; 0 = off. Unknown headway (0) passes. */
  readonly minHeadwayS: number;
}

export const DEFAULT_ROUTE_POLICY: RoutePolicy = { minLatenessS: 60, minOccupancy: 0, minHeadwayS: 0 };

/** Limits of the adjustments; the emergency limits apply to preemption. */
export interface TspLimits {
  /** Longest green extension for a bus, s. */
  readonly maxExtensionS: number;
  /** Longest red truncation (early green) for a bus, s. */
  readonly maxEarlyGreenS: number;
  /** Longest extension or red truncation for an emergency vehicle, s. */
  readonly maxPreemptionS: number;
  /** Extra green after the ETA so the vehicle clears the stop line, s. */
  readonly passMarginS: number;
  /** Cycles after the adjusted one in which truncated phases get their time back. */
  readonly compensationCycles: number;
  /** Cycles within which the intersection is back on its coordination offset. */
  readonly maxRecoveryCycles: number;
  /** Largest change of one cycle's length while recovering the offset, as a share of the cycle. */
  readonly maxRecoveryShare: number;
  /** After a granted vehicle's arrival, no new (non-emergency) grant at the intersection for this long, s. */
  readonly lockoutS: number;
  /**
   * Least green of an inserted on-demand phase (its own minimum green still holds if longer), s.
   * A bus phase on a lane shared with cars must clear the queue ahead of the bus.
   */
  readonly minInsertedGreenS: number;
  /** Requests with an ETA further out are denied (TOO_FAR), s. */
  readonly maxEtaS: number;
  /**
   * No phase is cut below the green that keeps its planned demand at or under this degree of
   * saturation (v/c); a phase planned above it is not cut at all. Infinity turns it off.
   */
  readonly maxDegreeOfSaturation: number;
}

export const DEFAULT_TSP_LIMITS: TspLimits = {
  maxExtensionS: 15,
  maxEarlyGreenS: 20,
  maxPreemptionS: 40,
  passMarginS: 3,
  compensationCycles: 2,
  maxRecoveryCycles: 2,
  maxRecoveryShare: 0.2,
  lockoutS: 60,
  maxEtaS: 300,
  minInsertedGreenS: 10,
  maxDegreeOfSaturation: 1,
};

export interface PriorityConfig {
  readonly defaultPolicy: RoutePolicy;
  /** Route id → policy overrides. */
  readonly routes: Readonly<Record<string, Partial<RoutePolicy>>>;
  readonly limits: TspLimits;
}

export function priorityConfig(partial: { defaultPolicy?: Partial<RoutePolicy>; routes?: Record<string, Partial<RoutePolicy>>; limits?: Partial<TspLimits> } = {}): PriorityConfig {
  return {
    defaultPolicy: { ...DEFAULT_ROUTE_POLICY, ...partial.defaultPolicy },
    routes: partial.routes ?? {},
    limits: { ...DEFAULT_TSP_LIMITS, ...partial.limits },
  };
}

export function policyFor(cfg: PriorityConfig, routeId: string): RoutePolicy {
  return { ...cfg.defaultPolicy, ...cfg.routes[routeId] };
}

export interface EligibilityInput {
  readonly priorityClass: PriorityClass;
  readonly routeId: string;
  readonly latenessS: number;
  readonly occupancy: number;
  readonly headwayS: number;
}

/** Why a vehicle is not eligible, or undefined when it is. Emergency vehicles are always eligible. */
export function ineligibility(cfg: PriorityConfig, r: EligibilityInput): string | undefined {
  if (r.priorityClass === PriorityClass.Emergency) return undefined;
  const p = policyFor(cfg, r.routeId);
  if (r.latenessS < p.minLatenessS) return `lateness ${r.latenessS} s is below the route's threshold ${p.minLatenessS} s`;
  if (r.occupancy < p.minOccupancy) return `occupancy ${r.occupancy} is below the route's threshold ${p.minOccupancy}`;
  if (p.minHeadwayS > 0 && r.headwayS > 0 && r.headwayS < p.minHeadwayS) return `headway ${r.headwayS} s is below ${p.minHeadwayS} s: priority would bunch the route`;
  return undefined;
}

export interface RankInput {
  readonly priorityClass: PriorityClass;
  readonly latenessS: number;
  /** Arrival order of the request (smaller = earlier). */
  readonly seq: number;
}

/** Negative when a outranks b: class, then lateness, then arrival order. */
export function compareRequests(a: RankInput, b: RankInput): number {
  if (a.priorityClass !== b.priorityClass) return b.priorityClass - a.priorityClass;
  if (a.latenessS !== b.latenessS) return b.latenessS - a.latenessS;
  return a.seq - b.seq;
}
