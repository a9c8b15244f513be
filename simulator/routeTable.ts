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
   * Where the trip ends on the link it is on after its last leg (its entry link when it has
   * none), m from that link's start; Infinity when the last leg takes it out of the network.
   */
  readonly arrivePosM: Float64Array;
  /** Trip ids, for reports. */
  readonly ids: readonly string[];
}

/** Builds the table from per-trip records (already in entry-time order). */
export function routeTable(trips: readonly { id: string; entryS: number; entryLink: number; entryPosM: number; entrySpeedMps: number; legs: readonly number[]; arrivePosM: number }[]): SimRoutes {
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
  return {
    count: n,
    entryS: Float64Array.from(trips, (t) => t.entryS),
    entryLink: Int32Array.from(trips, (t) => t.entryLink),
    entryPosM: Float64Array.from(trips, (t) => t.entryPosM),
    entrySpeedMps: Float64Array.from(trips, (t) => t.entrySpeedMps),
    legStart,
    legMove,
    arrivePosM: Float64Array.from(trips, (t) => t.arrivePosM),
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
