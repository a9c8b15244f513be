/**
 * Route following and lane choice: the turn a random-turn vehicle draws, the
 * lane a vehicle enters a link in, and the lane a front vehicle will take on
 * the next link before it crosses the stop line (kept in `vNextLane` and
 * `vNextTurn`), with a look-ahead to the leg after next for routed trips.
 * Called by the entry (entry.ts), the car-following step (idm.ts), link
 * transfers (transfers.ts) and buses (buses.ts).
 */
import { movementIndex, movementSlot, THROUGH_TURN, TURN_COUNT } from '../engine/network/geometry.js';
import { entryBlocked, insertIndex, tailRearM } from './lanes.js';
import { IDM, type SimCore } from './vehicles.js';
import { NEXT_BY_TOPOLOGY } from './routeTable.js';

/** Vehicles a lane must be emptier by, per lane of offset, before a vehicle crossing a junction leaves its own lane's continuation for it. */
const LANE_KEEP_WEIGHT = 1000;
/** A lane without room at its entry is taken only when no lane has room. */
const NO_ROOM_COST = 1e6;
/** Vehicles of queue a driver accepts to be in a lane that leads on into a lane for its turn after next. */
const LOOKAHEAD_COST = 6;

/**
 * The link vehicle v drives on to after its movement m on `link`: its route's (which may run
 * through junctions without signals to any approach), else the topology's; -1 out of the network.
 */
export function nextLinkOf(core: SimCore, v: number, link: number, m: number): number {
  const k = core.s.vRoute[v]!;
  if (k >= 0) {
    const r = core.routes!;
    const leg = core.s.vLeg[v]!;
    if (leg < r.legStart[k + 1]!) {
      const next = r.legNext[leg]!;
      if (next !== NEXT_BY_TOPOLOGY) return next;
    }
  }
  return core.top.linkNext[movementSlot(link, m)]!;
}

/** Where vehicle v comes onto its next link, m from the link's start: 0 but for a route whose way there is shorter than the link. */
export function nextEntryPosM(core: SimCore, v: number): number {
  const k = core.s.vRoute[v]!;
  if (k < 0) return 0;
  const r = core.routes!;
  const leg = core.s.vLeg[v]!;
  return leg < r.legStart[k + 1]! ? r.legEntryPosM[leg]! : 0;
}

/** A random-turn vehicle's turn on a link, drawn from the link's turning shares. */
export function chooseTurn(core: SimCore, link: number): number {
  const turnCdf = core.sources.turnCdf;
  const u = core.s.rng.next();
  for (let turn = 0; turn < TURN_COUNT; turn++) if (u < turnCdf[link * TURN_COUNT + turn]!) return turn;
  for (let turn = TURN_COUNT - 1; turn >= 0; turn--) if (turnCdf[link * TURN_COUNT + turn]! > 0) return turn;
  return THROUGH_TURN;
}

/**
 * The lane of the link that carries the turn with the fewest vehicles, -1 if none. With turn
 * bays (laneChange.ts), a lane that begins further on is not entered: when only such a lane
 * serves the turn, the lane nearest it (the vehicle changes in along the link).
 */
export function chooseLane(core: SimCore, link: number, turn: number): number {
  const top = core.top;
  const laneSize = core.s.laneSize;
  const starts = core.lc.laneStartM;
  const m = movementIndex(top.linkApproach[link]!, turn);
  let best = -1;
  for (let k = top.linkLaneStart[link]!; k < top.linkLaneStart[link]! + top.linkLaneCount[link]!; k++) {
    const lane = top.linkLanes[k]!;
    if (!((core.c.laneMovementMask[lane]! >> m) & 1) || starts[lane]! > 0) continue;
    if (best < 0 || laneSize[lane]! < laneSize[best]!) best = lane;
  }
  if (best < 0 && core.lc.hasBays) best = nearestToServing(core, link, m, 0, true);
  return best;
}

/**
 * Turn bays: the lane begun at the entry nearest (in lanes) to one serving `move`, the emptiest
 * of equals. Room as `routeLane` judges it: soft (crossing a junction, `posM` ≤ 0) a lane whose
 * queue has backed up is taken only when none has room; hard, only a lane with room. -1 if none.
 */
function nearestToServing(core: SimCore, link: number, move: number, posM: number, soft: boolean): number {
  const top = core.top;
  const n = top.linkLaneCount[link]!;
  const first = top.linkLaneStart[link]!;
  let best = -1;
  let bestCost = Infinity;
  for (let q = 0; q < n; q++) {
    const lane = top.linkLanes[first + q]!;
    if (core.lc.laneStartM[lane]! > Math.max(0, posM)) continue;
    const off = servingDistance(core, link, q, move);
    if (off < 0) continue;
    const room = soft ? !entryBlocked(core, lane) && tailRearM(core, lane) - posM >= IDM.minGapM : insertIndex(core, lane, posM, IDM.lengthM) >= 0;
    if (!room && (!soft || core.s.laneSize[lane]! >= core.laneCap - 1)) continue;
    const cost = off * 1e4 + core.s.laneSize[lane]! + (room ? 0 : NO_ROOM_COST);
    if (cost < bestCost) {
      bestCost = cost;
      best = lane;
    }
  }
  return best;
}

/** Lanes from lane q of the link to the nearest lane serving `move` (0: q serves it); -1 if none does. */
function servingDistance(core: SimCore, link: number, q: number, move: number): number {
  const top = core.top;
  const n = top.linkLaneCount[link]!;
  const first = top.linkLaneStart[link]!;
  for (let d = 0; d < n; d++) {
    if (q - d >= 0 && (core.c.laneMovementMask[top.linkLanes[first + q - d]!]! >> move) & 1) return d;
    if (q + d < n && (core.c.laneMovementMask[top.linkLanes[first + q + d]!]! >> move) & 1) return d;
  }
  return -1;
}

/** The link's last lane serving the turn: lanes are listed from the median out, so that is the curb lane. −1 if none. */
export function curbLane(core: SimCore, link: number, turn: number): number {
  const top = core.top;
  const m = movementIndex(top.linkApproach[link]!, turn);
  let curb = -1;
  for (let k = top.linkLaneStart[link]!; k < top.linkLaneStart[link]! + top.linkLaneCount[link]!; k++) {
    if ((core.c.laneMovementMask[top.linkLanes[k]!]! >> m) & 1) curb = top.linkLanes[k]!;
  }
  return curb;
}

/**
 * A lane of the link that serves `move` (any lane when -1) with room at `posM`; -1 if none.
 * Coming from a lane (`fromLane` ≥ 0), the one at the same relative place across the road
 * unless another is emptier by more than LANE_KEEP_WEIGHT vehicles per lane of offset: lanes run on across a
 * junction as SUMO's lane-to-lane connections do, so parallel queues discharge side by side
 * instead of crowding one entry. Entering from outside, the emptiest.
 */
export function routeLane(core: SimCore, link: number, move: number, posM: number, fromLane = -1, soft = false, nextMove = -1, afterLink = NEXT_BY_TOPOLOGY): number {
  const top = core.top;
  const laneSize = core.s.laneSize;
  const n = top.linkLaneCount[link]!;
  const after = nextMove >= 0 && move >= 0 ? (afterLink !== NEXT_BY_TOPOLOGY ? afterLink : top.linkNext[movementSlot(link, move)]!) : -1;
  let target = -1;
  if (fromLane >= 0) {
    const from = top.laneLink[fromLane]!;
    const nFrom = top.linkLaneCount[from]!;
    let idx = 0;
    while (top.linkLanes[top.linkLaneStart[from]! + idx] !== fromLane) idx++;
    target = nFrom > 1 ? (idx / (nFrom - 1)) * (n - 1) : (n - 1) / 2;
  }
  const starts = core.lc.laneStartM;
  const entryM = Math.max(0, posM);
  let best = -1;
  let bestCost = Infinity;
  // Turn bays (laneChange.ts): whether a lane begun at the entry serves the move at all.
  let begunServes = false;
  for (let q = 0; q < n; q++) {
    const lane = top.linkLanes[top.linkLaneStart[link]! + q]!;
    if (move >= 0 && !((core.c.laneMovementMask[lane]! >> move) & 1)) continue;
    if (starts[lane]! > entryM) continue;
    begunServes = true;
    // Soft (crossing a junction, chosen before the vehicle reaches the line, `posM` its front's
    // place relative to the lane's start, ≤ 0): a lane whose queue has not backed up to its
    // entry and whose last vehicle is at least the minimum gap ahead; else any with a free slot.
    const room = soft ? !entryBlocked(core, lane) && tailRearM(core, lane) - posM >= IDM.minGapM : insertIndex(core, lane, posM, IDM.lengthM) >= 0;
    if (!room && (!soft || laneSize[lane]! >= core.laneCap - 1)) continue;
    let cost = laneSize[lane]! + (target >= 0 ? LANE_KEEP_WEIGHT * Math.abs(q - target) : 0) + (room ? 0 : NO_ROOM_COST);
    // Strategic: a lane whose continuation past the junction serves the leg after this one saves a merge there.
    if (after >= 0 && !continuationServes(core, q, n, after, nextMove)) cost += LOOKAHEAD_COST;
    if (cost < bestCost) {
      bestCost = cost;
      best = lane;
    }
  }
  // Only a bay that begins further on serves the move: the lane nearest it, to change in along the link.
  if (!begunServes && move >= 0 && core.lc.hasBays) return nearestToServing(core, link, move, posM, soft);
  return best;
}

/** Whether lane q of n continues, across the junction, into a lane of link `after` that serves `move`. */
function continuationServes(core: SimCore, q: number, n: number, after: number, move: number): boolean {
  const top = core.top;
  const m = top.linkLaneCount[after]!;
  const idx = Math.round(n > 1 ? (q / (n - 1)) * (m - 1) : (m - 1) / 2);
  return ((core.c.laneMovementMask[top.linkLanes[top.linkLaneStart[after]! + idx]!]! >> move) & 1) === 1;
}

/** The turn a lane serves that a vehicle ending on this link is labelled with: straight on if it can. */
export function firstTurn(core: SimCore, lane: number, link: number): number {
  const approach = core.top.linkApproach[link]!;
  const mask = core.c.laneMovementMask[lane]!;
  if ((mask >> movementIndex(approach, THROUGH_TURN)) & 1) return THROUGH_TURN;
  for (let turn = 0; turn < TURN_COUNT; turn++) if ((mask >> movementIndex(approach, turn)) & 1) return turn;
  return THROUGH_TURN;
}

/**
 * The lane a front vehicle that may go will take on the next link, chosen once and kept
 * while it stays usable: a bus's lane for its route; a route vehicle's lane for its next
 * leg; for the others, the turn is drawn now and a lane serving it taken (`routeLane`: its
 * own lane's continuation unless another is much emptier), or, when that lane's queue has
 * backed up to its entry, any lane whose has not (the driver changes its mind on the turn).
 * -1 when none will do (the vehicle waits at the line).
 */
export function crossingLane(core: SimCore, v: number, next: number): number {
  const top = core.top;
  const s = core.s;
  const chosen = s.vNextLane[v]!;
  // Its front relative to the next link's start (≤ 0). The choice stands while the lane has room
  // ahead of it: another vehicle merging in from a neighbouring lane makes it choose again.
  const relM = s.vPos[v]! - top.linkLengthM[top.laneLink[s.vLane[v]!]!]!;
  if (chosen >= 0 && top.laneLink[chosen] === next && !entryBlocked(core, chosen) && tailRearM(core, chosen) - relM >= IDM.minGapM) return chosen;
  let lane: number;
  if (core.buses.vTracked[v] === 1) lane = trackedLane(core, v, next, relM);
  else if (s.vRoute[v]! >= 0) lane = routeNextLane(core, v, next, relM);
  else {
    // A car searching for a space turns towards its car park (parking.ts); the others draw a turn.
    if (chosen < 0) s.vNextTurn[v] = core.parking !== undefined && core.parking.vDriver[v]! >= 0 ? core.parking.nextTurn(v, next) : chooseTurn(core, next);
    lane = routeLane(core, next, movementIndex(top.linkApproach[next]!, s.vNextTurn[v]!), relM, s.vLane[v]!, true);
    if (lane < 0 || entryBlocked(core, lane)) {
      const any = routeLane(core, next, -1, relM, s.vLane[v]!, true);
      if (any >= 0 && (lane < 0 || !entryBlocked(core, any))) lane = any;
    }
  }
  s.vNextLane[v] = lane;
  return lane;
}

/** The lane a route vehicle would take on the next link (for its next leg, or any when it ends there) with room at the entry; -1 if none. */
function routeNextLane(core: SimCore, v: number, next: number, relM: number): number {
  const r = core.routes!;
  const s = core.s;
  const k = s.vRoute[v]!;
  const leg = s.vLeg[v]! + 1;
  const end = r.legStart[k + 1]!;
  return routeLane(core, next, leg < end ? r.legMove[leg]! : -1, relM, s.vLane[v]!, true, leg + 1 < end ? r.legMove[leg + 1]! : -1, leg < end ? r.legNext[leg]! : NEXT_BY_TOPOLOGY);
}

/** A bus's lane on the next link: the curb lane before its stop, else the emptiest lane for its turn, with room ahead of its front (`relM`, ≤ 0, from the link's start); -1 if none. */
function trackedLane(core: SimCore, v: number, next: number, relM: number): number {
  const top = core.top;
  const laneSize = core.s.laneSize;
  const tv = core.buses.tracked[core.buses.vTrackId[v]!]!;
  const m = movementIndex(top.linkApproach[next]!, tv.turn);
  const room = (lane: number) => !entryBlocked(core, lane) && tailRearM(core, lane) - relM >= IDM.minGapM;
  if (tv.nextStop < tv.stops.length && tv.stops[tv.nextStop]!.link === next) {
    const curb = curbLane(core, next, tv.turn);
    if (curb >= 0 && room(curb)) return curb;
  }
  let best = -1;
  for (let k = top.linkLaneStart[next]!; k < top.linkLaneStart[next]! + top.linkLaneCount[next]!; k++) {
    const lane = top.linkLanes[k]!;
    if (!((core.c.laneMovementMask[lane]! >> m) & 1) || !room(lane)) continue;
    if (best < 0 || laneSize[lane]! < laneSize[best]!) best = lane;
  }
  return best;
}
