/**
 * Tracked vehicles (buses) and their stops: the registry of tracked vehicles,
 * their entry ahead of the random arrivals, the stop mark a bus brakes for,
 * its dwell (door time plus Poisson boardings from their own random stream),
 * and the per-approach log a TSP study reads. `Simulation`
 * (simulation.ts) adds buses and answers where they are; the car-following
 * step (idm.ts) and link transfers (transfers.ts) call the stop and log
 * functions for the slots marked tracked.
 */
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { movementIndex, movementSlot } from '../engine/network/geometry.js';
import { hasEntrySpace, laneVehicle, newVehicle, placeOnLane } from './lanes.js';
import { chooseLane, curbLane } from './laneChoice.js';
import { BUS, IDM, type SimCore } from './vehicles.js';

/**
 * Dwell at a stop in TCQSM's (3rd ed., ch. 6) form: door opening and closing time (it cites
 * 2–5 s; the upper end here) plus passenger service time at the busier door, boardings
 * through one door at about 2.5 s each. Boardings are Poisson (passengers arriving at random
 * between buses of one route). That gives a dwell coefficient of variation of about 0.3 at
 * 5 boardings, less spread than the ≈ 0.6 TCQSM reports from the field: the model
 * understates how irregular buses get.
 */
export const DWELL = { doorS: 5.0, boardingSPerPax: 2.5, meanBoardings: 5 } as const;
/** A bus standing this close behind its stop mark, at rest, is at the stop (its doors open). */
export const AT_STOP_M = 1.0;

/**
 * A curbside stop where a tracked vehicle (a bus) halts and serves passengers.
 * Its front stops at `positionM`; it stands there for door time + boarding time
 * per passenger × a Poisson number of boardings, drawn when it arrives.
 */
export interface BusStop {
  /** Approach link the stop is on (a far-side stop sits on the link past the signal). */
  readonly link: number;
  /** Stop mark from the link start, m. */
  readonly positionM: number;
  /** Doors opening and closing, s. */
  readonly doorS: number;
  readonly boardingSPerPax: number;
  /** Mean of the Poisson boardings; 0 for a fixed dwell of `doorS`. */
  readonly meanBoardings: number;
}

/** Expected dwell at a stop, s: what a check-in counts for a stop not reached yet. */
export function expectedDwellS(stop: BusStop): number {
  return stop.doorS + stop.boardingSPerPax * stop.meanBoardings;
}

/** One approach a tracked vehicle crossed: entered the link, crossed the stop line, delay against free flow. */
export interface TrackedApproach {
  readonly intersection: number;
  readonly link: number;
  readonly movement: number;
  readonly enterS: number;
  readonly leaveS: number;
  readonly delayS: number;
  readonly stops: number;
  /** Time spent standing at bus stops on this link, s (included in `delayS`, subtract it for signal delay). */
  readonly dwellS: number;
}

/** One stop a tracked vehicle served. */
export interface ServedStop {
  readonly stop: number;
  readonly arriveS: number;
  readonly departS: number;
  readonly boardings: number;
}

export interface TrackedVehicle {
  readonly id: number;
  readonly label: string;
  readonly entryLink: number;
  readonly turn: number;
  readonly requestedS: number;
  /** Entered the network (NaN while waiting outside). */
  enterS: number;
  /** Left the network (NaN while in it). */
  leaveS: number;
  /** Vehicle slot while in the network, else −1. */
  slot: number;
  readonly approaches: TrackedApproach[];
  /** Stops to serve, in route order. */
  readonly stops: readonly BusStop[];
  /** Index into `stops` of the next stop (the one it is at while dwelling); `stops.length` once all are served. */
  nextStop: number;
  /** When the current dwell began and ends (NaN when not dwelling), and its boardings. */
  dwellStartS: number;
  dwellEndS: number;
  dwellBoardings: number;
  /** Total time stood at stops so far, s. */
  dwellServedS: number;
  /** Dwell on the current link so far, s (goes to the approach's `dwellS`). */
  linkDwellS: number;
  readonly served: ServedStop[];
}

/**
 * The tracked vehicles of a run. Kept out of the forked state on purpose: a fork (look-ahead)
 * sees a tracked vehicle as ordinary traffic, so its slot marks are not copied either.
 */
export interface BusRegistry {
  /** 1 for a tracked vehicle's slot: it keeps its turn, stops at its stops and has its approaches logged. */
  readonly vTracked: Uint8Array;
  /** The tracked vehicle's id per slot, -1 for the others. */
  readonly vTrackId: Int32Array;
  readonly tracked: TrackedVehicle[];
  /** Ids waiting to enter, in order. */
  readonly trackedQueue: number[];
}

export function createBusRegistry(vehicles: number): BusRegistry {
  return { vTracked: new Uint8Array(vehicles), vTrackId: new Int32Array(vehicles).fill(-1), tracked: [], trackedQueue: [] };
}

/** Registers a tracked vehicle to enter `link` for `turn` (see `Simulation.addTrackedVehicle`); returns its id. */
export function addTracked(core: SimCore, link: number, turn: number, label: string, stops: readonly BusStop[]): number {
  checkStops(core, link, turn, stops);
  const b = core.buses;
  const id = b.tracked.length;
  b.tracked.push({
    id,
    label,
    entryLink: link,
    turn,
    requestedS: core.s.tS,
    enterS: Number.NaN,
    leaveS: Number.NaN,
    slot: -1,
    approaches: [],
    stops,
    nextStop: 0,
    dwellStartS: Number.NaN,
    dwellEndS: Number.NaN,
    dwellBoardings: 0,
    dwellServedS: 0,
    linkDwellS: 0,
    served: [],
  });
  b.trackedQueue.push(id);
  return id;
}

/** Stops must lie on the vehicle's route (straight on with its turn), in order, inside their links. */
function checkStops(core: SimCore, entryLink: number, turn: number, stops: readonly BusStop[]): void {
  const top = core.top;
  let link = entryLink;
  let prevM = -Infinity;
  for (let k = 0; k < stops.length; k++) {
    const st = stops[k]!;
    while (link >= 0 && link !== st.link) {
      link = top.linkNext[movementSlot(link, movementIndex(top.linkApproach[link]!, turn))]!;
      prevM = -Infinity;
    }
    if (link < 0) throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].link ${st.link} is not on the vehicle's route after the previous stop`);
    const lenM = top.linkLengthM[link]!;
    if (!(st.positionM >= BUS.lengthM && st.positionM <= lenM - IDM.minGapM - 1)) {
      throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].positionM ${st.positionM} must be within [${BUS.lengthM}, ${lenM - IDM.minGapM - 1}] on a ${lenM} m link`);
    }
    if (st.positionM <= prevM) throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].positionM ${st.positionM} must be past the previous stop on the link (${prevM})`);
    if (!(st.doorS >= 0 && st.boardingSPerPax >= 0 && st.meanBoardings >= 0)) {
      throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}]: doorS, boardingSPerPax and meanBoardings must be ≥ 0`);
    }
    prevM = st.positionM;
  }
}

/** Lets queued tracked vehicles in, in order, while their entry has room (ahead of the random arrivals). */
export function spawnTracked(core: SimCore, t: number): void {
  const b = core.buses;
  while (b.trackedQueue.length > 0) {
    const tv = b.tracked[b.trackedQueue[0]!]!;
    const curb = tv.stops[tv.nextStop]?.link === tv.entryLink ? curbLane(core, tv.entryLink, tv.turn) : -1;
    const lane = curb >= 0 && hasEntrySpace(core, curb) ? curb : chooseLane(core, tv.entryLink, tv.turn);
    if (lane < 0 || !hasEntrySpace(core, lane)) return;
    // A bus keeps to the speed limit (speed factor 1).
    const v = newVehicle(core, t, 1, BUS.lengthM, BUS.accelMps2);
    b.vTracked[v] = 1;
    b.vTrackId[v] = tv.id;
    placeOnLane(core, v, lane, tv.entryLink, tv.turn, core.top.linkSpeedMps[tv.entryLink]! * 0.8, t);
    core.s.entered++;
    tv.enterS = t;
    tv.slot = v;
    b.trackedQueue.shift();
  }
}

/**
 * Where the tracked vehicle in slot v must stop next, in the coordinates of its current
 * link (past its length when the stop is on the next link), Infinity if nowhere close.
 * Ends a dwell that is over: the vehicle moves in the step that starts at the dwell's end.
 */
export function stopMarkAhead(core: SimCore, v: number, link: number, t: number): number {
  const tv = core.buses.tracked[core.buses.vTrackId[v]!]!;
  if (!Number.isNaN(tv.dwellEndS)) {
    const stepStartS = t - core.stepS;
    if (stepStartS + 1e-9 < tv.dwellEndS) return tv.stops[tv.nextStop]!.positionM;
    const stoodS = stepStartS - tv.dwellStartS;
    tv.served.push({ stop: tv.nextStop, arriveS: tv.dwellStartS, departS: stepStartS, boardings: tv.dwellBoardings });
    tv.dwellServedS += stoodS;
    tv.linkDwellS += stoodS;
    tv.nextStop++;
    tv.dwellStartS = Number.NaN;
    tv.dwellEndS = Number.NaN;
    tv.dwellBoardings = 0;
  }
  const stop = tv.stops[tv.nextStop];
  if (stop === undefined) return Infinity;
  if (stop.link === link) return stop.positionM;
  if (stop.link === core.top.linkNext[movementSlot(link, core.s.vMove[v]!)]) return core.top.linkLengthM[link]! + stop.positionM;
  return Infinity;
}

/** The tracked vehicle in slot v has come to rest at its next stop at time t: doors open. */
export function arriveAtStop(core: SimCore, v: number, t: number): void {
  const tv = core.buses.tracked[core.buses.vTrackId[v]!]!;
  if (!Number.isNaN(tv.dwellEndS)) return;
  const stop = tv.stops[tv.nextStop]!;
  const boardings = stop.meanBoardings > 0 ? poissonBoardings(core, stop.meanBoardings) : 0;
  tv.dwellStartS = t;
  tv.dwellBoardings = boardings;
  tv.dwellEndS = t + stop.doorS + stop.boardingSPerPax * boardings;
}

/** Poisson draw by Knuth's product of uniforms: exact, and cheap at the few boardings of one stop. */
function poissonBoardings(core: SimCore, mean: number): number {
  const rng = core.s.dwellRng;
  const limit = Math.exp(-mean);
  let n = 0;
  let p = rng.next();
  while (p > limit) {
    n++;
    p *= rng.next();
  }
  return n;
}

/** The tracked vehicle in slot v crossed the stop line of `link` (intersection i, movement m) at t. */
export function logTracked(core: SimCore, v: number, link: number, i: number, m: number, t: number, freeS: number): void {
  const s = core.s;
  const tv = core.buses.tracked[core.buses.vTrackId[v]!]!;
  tv.approaches.push({
    intersection: i,
    link,
    movement: m,
    enterS: s.vLinkEnterS[v]!,
    leaveS: t,
    delayS: Math.max(0, t - s.vLinkEnterS[v]! - freeS),
    stops: s.vLinkStops[v]!,
    dwellS: tv.linkDwellS,
  });
  tv.linkDwellS = 0;
}

/** The tracked vehicle in slot v left the network at t: its slot becomes an ordinary one again. */
export function finishTracked(core: SimCore, v: number, t: number): void {
  const b = core.buses;
  const tv = b.tracked[b.vTrackId[v]!]!;
  tv.leaveS = t;
  tv.slot = -1;
  b.vTracked[v] = 0;
  b.vTrackId[v] = -1;
}

/** Where tracked vehicle `id` is now (see `Simulation.trackedPosition`); undefined when not in the network. */
export function trackedPosition(core: SimCore, id: number): { link: number; posM: number; speedMps: number; movement: number; vehiclesAhead: number; nextStop: number; dwellLeftS: number } | undefined {
  const s = core.s;
  const tv = core.buses.tracked[id];
  if (!tv || tv.slot < 0) return undefined;
  const v = tv.slot;
  const lane = s.vLane[v]!;
  if (lane < 0) return undefined;
  let ahead = 0;
  for (let k = 0; k < s.laneSize[lane]!; k++) {
    if (laneVehicle(core, lane, k) === v) break;
    ahead++;
  }
  const dwellLeftS = !Number.isNaN(tv.dwellEndS) ? Math.max(0, tv.dwellEndS - s.tS) : 0;
  return { link: core.top.laneLink[lane]!, posM: s.vPos[v]!, speedMps: s.vSpeed[v]!, movement: s.vMove[v]!, vehiclesAhead: ahead, nextStop: tv.nextStop, dwellLeftS };
}
