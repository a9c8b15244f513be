/**
 * How vehicles get into the simulation: Poisson arrivals per link from the
 * movement flows (boundary links carry their whole demand, inner links a
 * mid-block source for what upstream does not deliver), each with a turn drawn
 * from the link's turning shares; and routed trips, queued per entry link in
 * order and let in as a lane for their first movement has room. The tables
 * are built once by `Simulation`'s constructor; `spawn` and `spawnRoutes` run
 * every step.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { movementIndex, movementSlot, MOVEMENT_COUNT, THROUGH_TURN, TURN_COUNT } from '../engine/network/geometry.js';
import type { SeededRandom } from '../engine/numeric.js';
import type { SimTopology } from './topology.js';
import { hasEntrySpace, newVehicle, placeOnLane } from './lanes.js';
import { chooseLane, chooseTurn, firstTurn, routeLane } from './laneChoice.js';
import { NEXT_BY_TOPOLOGY } from './routeTable.js';
import { IDM, type DriverModel, type SimCore, type SimState } from './vehicles.js';

/** Per-link arrival rates and turning shares, fixed for a run. */
export interface EntrySources {
  /** Cumulative turning shares per link: [link * TURN_COUNT + turn]. */
  readonly turnCdf: Float64Array;
  /** Mean arrivals per second per link, before the demand's scale. */
  readonly sourceRate: Float64Array;
  readonly scale: (tS: number) => number;
}

/**
 * Turning probabilities per link, and entry rates: boundary links carry their whole
 * demand; inner links get a mid-block source for what their upstream does not deliver.
 * Draws each link's first arrival time into `s.nextArrivalS`.
 */
export function buildSources(c: CompiledNetwork, top: SimTopology, flows: Float64Array, scale: (tS: number) => number, s: SimState): EntrySources {
  const turnCdf = new Float64Array(top.linkCount * TURN_COUNT);
  const linkDemand = new Float64Array(top.linkCount);
  for (let l = 0; l < top.linkCount; l++) {
    const i = top.linkIntersection[l]!;
    const a = top.linkApproach[l]!;
    let servedMask = 0;
    for (let k = top.linkLaneStart[l]!; k < top.linkLaneStart[l]! + top.linkLaneCount[l]!; k++) servedMask |= c.laneMovementMask[top.linkLanes[k]!]!;
    let total = 0;
    for (let turn = 0; turn < TURN_COUNT; turn++) {
      const m = movementIndex(a, turn);
      const f = (servedMask >> m) & 1 ? Math.max(0, flows[movementSlot(i, m)]!) : 0;
      total += f;
      turnCdf[l * TURN_COUNT + turn] = total;
    }
    if (total <= 0) {
      // No measured demand: send the odd vehicle straight on if it can, else anywhere served.
      let fallback = -1;
      for (let turn = 0; turn < TURN_COUNT; turn++) if ((servedMask >> movementIndex(a, turn)) & 1 && (fallback < 0 || turn === THROUGH_TURN)) fallback = turn;
      for (let turn = 0; turn < TURN_COUNT; turn++) turnCdf[l * TURN_COUNT + turn] = turn >= fallback && fallback >= 0 ? 1 : 0;
      total = 1;
    } else for (let turn = 0; turn < TURN_COUNT; turn++) turnCdf[l * TURN_COUNT + turn] = turnCdf[l * TURN_COUNT + turn]! / total;
    linkDemand[l] = totalOf(flows, i, a, servedMask);
  }
  const inflow = new Float64Array(top.linkCount);
  for (let l = 0; l < top.linkCount; l++) {
    const i = top.linkIntersection[l]!;
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      const next = top.linkNext[movementSlot(l, m)]!;
      if (next >= 0) inflow[next] = inflow[next]! + Math.max(0, flows[movementSlot(i, m)]!);
    }
  }
  const sourceRate = new Float64Array(top.linkCount);
  for (let l = 0; l < top.linkCount; l++) {
    const rate = top.linkBoundary[l] === 1 ? linkDemand[l]! : Math.max(0, linkDemand[l]! - inflow[l]!);
    sourceRate[l] = rate / 3600;
    s.nextArrivalS[l] = rate > 0 ? exponential(s.rng, sourceRate[l]!) : Infinity;
  }
  return { turnCdf, sourceRate, scale };
}

/** Demand of the movements a link's lanes serve, veh/h. */
function totalOf(flows: Float64Array, i: number, a: number, servedMask: number): number {
  let total = 0;
  for (let turn = 0; turn < TURN_COUNT; turn++) {
    const m = movementIndex(a, turn);
    if ((servedMask >> m) & 1) total += Math.max(0, flows[movementSlot(i, m)]!);
  }
  return total;
}

/** Time to the next Poisson arrival at this rate, s. */
function exponential(rng: SeededRandom, ratePerS: number): number {
  return -Math.log(1 - rng.next()) / ratePerS;
}

/**
 * A driver's desired speed factor: normal, the run's mean and deviation (1 and 0.1 as SUMO's
 * default vehicle type draws it, DriverModel), cut at ±2 deviations and at SUMO's floor 0.2.
 * Without the spread every car would ride a green wave exactly at the design speed, and narrow
 * bands would look better than they are.
 */
function speedFactor(rng: SeededRandom, driver: DriverModel): number {
  const u = 1 - rng.next();
  const w = rng.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  return Math.max(0.2, driver.speedFactorMean + driver.speedFactorDev * Math.max(-2, Math.min(2, z)));
}

/** Random-turn arrivals due by t; those that find their entry full wait outside (and count their delay). */
export function spawn(core: SimCore, t: number): void {
  const top = core.top;
  const s = core.s;
  const { sourceRate, scale } = core.sources;
  const sc = scale(t);
  for (let l = 0; l < top.linkCount; l++) {
    const rate = sourceRate[l]! * sc;
    while (s.nextArrivalS[l]! <= t) {
      s.waitingToEnter[l] = s.waitingToEnter[l]! + 1;
      s.nextArrivalS[l] = rate > 0 ? s.nextArrivalS[l]! + exponential(s.rng, rate) : Infinity;
    }
    if (rate > 0 && !Number.isFinite(s.nextArrivalS[l]!)) s.nextArrivalS[l] = t + exponential(s.rng, rate);
    while (s.waitingToEnter[l]! > 0) {
      const turn = chooseTurn(core, l);
      const lane = chooseLane(core, l, turn);
      if (lane < 0 || !hasEntrySpace(core, lane)) break;
      const v = newVehicle(core, t, speedFactor(s.rng, core.driver), IDM.lengthM, IDM.accelMps2);
      placeOnLane(core, v, lane, l, turn, top.linkSpeedMps[l]! * 0.8, t);
      s.waitingToEnter[l] = s.waitingToEnter[l]! - 1;
      s.entered++;
    }
  }
}

/**
 * Trips whose time has come queue at their entry link, in order; each link lets its first
 * in as soon as a lane for its first movement has room at its entry position (SUMO's
 * insertion queue per edge does the same). Waiting counts as entry delay, not as delay.
 */
export function spawnRoutes(core: SimCore, t: number): void {
  const r = core.routes!;
  const s = core.s;
  while (s.nextRoute < r.count && r.entryS[s.nextRoute]! <= t) {
    const k = s.nextRoute++;
    const l = r.entryLink[k]!;
    if (s.linkPendTail[l]! < 0) s.linkPendHead[l] = k;
    else s.pendNext[s.linkPendTail[l]!] = k;
    s.linkPendTail[l] = k;
    s.routePending++;
  }
  if (s.routePending === 0) return;
  for (let l = 0; l < s.linkPendHead.length; l++) {
    let k = s.linkPendHead[l]!;
    while (k >= 0 && enterRoute(core, k, t)) {
      const after = s.pendNext[k]!;
      s.linkPendHead[l] = after;
      if (after < 0) s.linkPendTail[l] = -1;
      s.routePending--;
      s.entered++;
      k = after;
    }
  }
}

/**
 * Puts trip `trip` on its entry link if a lane for its first movement has room there; it drives
 * its alternative route instead when the route choice says so (routeTable.ts RouteChoice).
 */
function enterRoute(core: SimCore, trip: number, t: number): boolean {
  const r = core.routes!;
  const s = core.s;
  const rc = core.routeChoice;
  const alt = rc === undefined ? -1 : rc.alternative[trip]!;
  const k = alt >= 0 && rc!.choose(trip, t) ? alt : trip;
  const link = r.entryLink[k]!;
  const first = r.legStart[k]!;
  const hasLeg = first < r.legStart[k + 1]!;
  const move = hasLeg ? r.legMove[first]! : -1;
  const pos = r.entryPosM[k]!;
  const lane = routeLane(core, link, move, pos, -1, false, hasLeg && first + 1 < r.legStart[k + 1]! ? r.legMove[first + 1]! : -1, hasLeg ? r.legNext[first]! : NEXT_BY_TOPOLOGY);
  if (lane < 0) return false;
  const sf = speedFactor(s.rng, core.driver);
  const v = newVehicle(core, t, sf, IDM.lengthM, IDM.accelMps2);
  const desired = core.top.linkSpeedMps[link]! * sf;
  const speed = Number.isNaN(r.entrySpeedMps[k]!) ? desired : Math.min(desired, r.entrySpeedMps[k]!);
  // The turn of its first movement (movement = approach * TURN_COUNT + turn).
  placeOnLane(core, v, lane, link, hasLeg ? move % TURN_COUNT : firstTurn(core, lane, link), speed, t, pos);
  s.vRoute[v] = k;
  s.vLeg[v] = first;
  if (!hasLeg) s.vArriveM[v] = r.arrivePosM[k]!;
  return true;
}
