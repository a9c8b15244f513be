/**
 * Routes for the simulator: each trip's entry (time, link, position, speed),
 * the movement it makes at every signal it crosses, and where it leaves.
 * Flat typed arrays, read by `Simulation` in its step loop instead of drawing
 * turns at random. Built from SUMO demand by simulator/sumo/routeMap.ts; any
 * other source can fill the same table (the diversion benchmark builds its
 * own, bench/diversion/city.ts).
 *
 * Route choice at entry (`RouteChoice`): a trip may name an alternative route
 * (another row of the table, with the same entry link and position, and an
 * entry time of Infinity so that it never enters on its own); when the trip
 * enters, a callback decides which of the two it drives. That is a guidance
 * sign on the entry link, before the first junction: the driver picks the
 * route there, before choosing a lane. The callback is the caller's: to keep a
 * run deterministic by seed it must draw nothing from the simulation's random
 * state (the diversion benchmark hashes the trip index).
 */

export interface SimRoutes {
  readonly count: number;
  /** When the trip reaches its first modelled link, s, ascending. */
  readonly entryS: Float64Array;
  readonly entryLink: Int32Array;
  /** Where on that link it appears, m from the link start. */
  readonly entryPosM: Float64Array;
  /** Speed it enters at, m/s; NaN for its desired speed (SUMO's departSpeed="max"). */
  readonly entrySpeedMps: Float64Array;
  /** Legs of trip r: `legMove[legStart[r] .. legStart[r + 1])`, one movement (approach * 4 + turn) per signal, in order. */
  readonly legStart: Int32Array;
  readonly legMove: Int8Array;
  /**
   * Per leg: the link the trip drives on to after that movement, as its route says (SUMO's
   * edges, through junctions without signals); -1 out of the network; NEXT_BY_TOPOLOGY when
   * the topology's `linkNext` (the movement's geometric exit) decides.
   */
  readonly legNext: Int32Array;
  /**
   * Per leg: where on that next link the trip comes on, m from its start: the link's length
   * less the route's distance from the stop line it crossed (0 when that distance is the
   * link's length or more).
   */
  readonly legEntryPosM: Float64Array;
  /**
   * Per trip: Σ length / speed² over the parts of its route the simulator does not drive
   * (before its entry link, ways between signals longer than the next link, after its last
   * link), s per m/s: the time it loses there per m/s its driver runs under the speed limit.
   * Driven at free flow, those parts lose only what an imperfect driver loses (DriverModel).
   */
  readonly outsideLossSPerMps: Float64Array;
  /**
   * Per trip that departs on an edge before its entry link, not from its desired speed (SUMO's
   * default departSpeed 0): the speed it departs at, m/s, and that edge's speed limit; NaN for
   * the others. It enters the link at its desired speed, so the time its start would have cost
   * it there is added when it arrives (idm.ts `idmStartLossS`).
   */
  readonly upstreamStartMps: Float64Array;
  readonly upstreamStartLimitMps: Float64Array;
  /**
   * Where the trip ends on the link it is on after its last leg (its entry link when it has
   * none), m from that link's start; Infinity when the last leg takes it out of the network.
   */
  readonly arrivePosM: Float64Array;
  /** Trip ids, for reports. */
  readonly ids: readonly string[];
}

/** `legNext` value: the next link is the topology's (`SimTopology.linkNext`). */
export const NEXT_BY_TOPOLOGY = -2;

/** One trip for `routeTable`; `next` and `nextPosM`, when given, have one entry per leg (see `SimRoutes.legNext`). */
export interface RouteRecord {
  readonly id: string;
  readonly entryS: number;
  readonly entryLink: number;
  readonly entryPosM: number;
  readonly entrySpeedMps: number;
  readonly legs: readonly number[];
  readonly next?: readonly number[];
  readonly nextPosM?: readonly number[];
  readonly arrivePosM: number;
  /** SimRoutes.outsideLossSPerMps; 0 when absent. */
  readonly outsideLossSPerMps?: number;
  /** SimRoutes.upstreamStartMps and upstreamStartLimitMps; none when absent. */
  readonly upstreamStart?: { readonly fromMps: number; readonly limitMps: number };
}

/** Builds the table from per-trip records (already in entry-time order). */
export function routeTable(trips: readonly RouteRecord[]): SimRoutes {
  const n = trips.length;
  const legStart = new Int32Array(n + 1);
  let legs = 0;
  trips.forEach((t, r) => {
    legStart[r] = legs;
    legs += t.legs.length;
  });
  legStart[n] = legs;
  const legMove = new Int8Array(legs);
  trips.forEach((t, r) => legMove.set(t.legs, legStart[r]!));
  const legNext = new Int32Array(legs).fill(NEXT_BY_TOPOLOGY);
  const legEntryPosM = new Float64Array(legs);
  trips.forEach((t, r) => {
    if (t.next !== undefined) legNext.set(t.next, legStart[r]!);
    if (t.nextPosM !== undefined) legEntryPosM.set(t.nextPosM, legStart[r]!);
  });
  return {
    count: n,
    entryS: Float64Array.from(trips, (t) => t.entryS),
    entryLink: Int32Array.from(trips, (t) => t.entryLink),
    entryPosM: Float64Array.from(trips, (t) => t.entryPosM),
    entrySpeedMps: Float64Array.from(trips, (t) => t.entrySpeedMps),
    legStart,
    legMove,
    legNext,
    legEntryPosM,
    arrivePosM: Float64Array.from(trips, (t) => t.arrivePosM),
    outsideLossSPerMps: Float64Array.from(trips, (t) => t.outsideLossSPerMps ?? 0),
    upstreamStartMps: Float64Array.from(trips, (t) => t.upstreamStart?.fromMps ?? Number.NaN),
    upstreamStartLimitMps: Float64Array.from(trips, (t) => t.upstreamStart?.limitMps ?? Number.NaN),
    ids: trips.map((t) => t.id),
  };
}

/**
 * Which trips may switch to an alternative route as they enter, and who decides. `alternative[r]`
 * is the route trip r may drive instead (-1: none). `choose(r, tS)` is asked when trip r enters
 * (again at each step it waits for room); true = drive the alternative. The switched vehicle
 * reports its time loss under the alternative's index (`Simulation.tripTimeLossS`).
 */
export interface RouteChoice {
  readonly alternative: Int32Array;
  readonly choose: (route: number, tS: number) => boolean;
}
