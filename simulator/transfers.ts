/**
 * A vehicle leaving its link: across the stop line onto the lane it chose on
 * the next link (with its next turn or route leg), or out of the network; or
 * ending its trip mid-link. Records the approach and, at the end, the trip;
 * tells the parking search (parking.ts) when a searching car crosses or leaves.
 * Called by the car-following step (idm.ts).
 */
import { movementIndex, movementSlot, TURN_COUNT } from '../engine/network/geometry.js';
import { freeVehicle, laneTail, placeOnLane, removeAt, removeFront } from './lanes.js';
import { firstTurn, nextEntryPosM, nextLinkOf } from './laneChoice.js';
import { finishTracked, logTracked } from './buses.js';
import { recordApproach, recordTrip } from './metrics.js';
import { idmStartLossS } from './idm.js';
import type { SimCore } from './vehicles.js';

/** The front vehicle v of `lane` crossed the stop line of `link` (intersection i) at t. */
export function leaveLane(core: SimCore, v: number, lane: number, link: number, i: number, t: number): void {
  const top = core.top;
  const s = core.s;
  removeFront(core, lane);
  const m = s.vMove[v]!;
  const freeS = (top.linkLengthM[link]! - s.vLinkStartM[v]!) / (top.linkSpeedMps[link]! * s.vSpeedFactor[v]!);
  recordApproach(s, movementSlot(i, m), t - s.vLinkEnterS[v]! - freeS, s.vLinkStops[v]!);
  s.vFreeS[v] = s.vFreeS[v]! + freeS;
  const tracked = core.buses.vTracked[v] === 1;
  if (tracked) logTracked(core, v, link, i, m, t, freeS);
  const next = nextLinkOf(core, v, link, m);
  const target = next >= 0 ? s.vNextLane[v]! : -1;
  if (target >= 0 && top.laneLink[target] === next && s.laneSize[target]! < core.laneCap - 1) {
    // On the next link where its front got to (past where its route comes on), behind that lane's last vehicle.
    let posM = s.vPos[v]! - top.linkLengthM[link]! + nextEntryPosM(core, v);
    if (s.laneSize[target]! > 0) {
      const tail = laneTail(core, target);
      posM = Math.min(posM, s.vPos[tail]! - s.vLength[tail]! - 0.1);
    }
    posM = Math.max(0, posM);
    if (s.vRoute[v]! >= 0) enterNextOnRoute(core, v, next, target, posM, t);
    else {
      const turn = tracked ? core.buses.tracked[core.buses.vTrackId[v]!]!.turn : s.vNextTurn[v]!;
      const mask = core.c.laneMovementMask[target]!;
      const approach = top.linkApproach[next]!;
      let turnFor = turn;
      if (!((mask >> movementIndex(approach, turn)) & 1)) {
        for (let q = 0; q < TURN_COUNT; q++) if ((mask >> movementIndex(approach, q)) & 1) turnFor = q;
      }
      placeOnLane(core, v, target, next, turnFor, s.vSpeed[v]!, t, posM, false);
      if (core.parking !== undefined) core.parking.entered(v, link, next);
    }
    return;
  }
  finishTrip(core, v, t);
}

/** Moves a route vehicle across the stop line onto its next link, in the lane chosen for its next leg. */
function enterNextOnRoute(core: SimCore, v: number, next: number, lane: number, posM: number, t: number): void {
  const r = core.routes!;
  const s = core.s;
  const k = s.vRoute[v]!;
  const leg = s.vLeg[v]! + 1;
  s.vLeg[v] = leg;
  const hasLeg = leg < r.legStart[k + 1]!;
  // The turn of its next movement (movement = approach * TURN_COUNT + turn).
  placeOnLane(core, v, lane, next, hasLeg ? r.legMove[leg]! % TURN_COUNT : firstTurn(core, lane, next), s.vSpeed[v]!, t, posM, false);
  if (!hasLeg) s.vArriveM[v] = r.arrivePosM[k]!;
}

/** A route vehicle reaches the end of its trip at index k of its lane (not at a stop line). */
export function arrive(core: SimCore, v: number, lane: number, k: number, link: number, t: number): void {
  removeAt(core, lane, k);
  const top = core.top;
  const s = core.s;
  s.vFreeS[v] = s.vFreeS[v]! + (Math.min(s.vArriveM[v]!, top.linkLengthM[link]!) - s.vLinkStartM[v]!) / (top.linkSpeedMps[link]! * s.vSpeedFactor[v]!);
  finishTrip(core, v, t);
}

/** The trip is complete: its travel, delay and stops go into the network totals, and its slot is freed. */
function finishTrip(core: SimCore, v: number, t: number): void {
  const r = core.s.vRoute[v]!;
  // What an imperfect driver (DriverModel) loses on the parts of its route that are not simulated, driven at free flow.
  const noiseMps = core.driver.speedNoiseMps;
  const f = core.s.vSpeedFactor[v]!;
  let outsideS = 0;
  if (r >= 0 && core.routes !== undefined) {
    if (noiseMps > 0) outsideS += ((noiseMps / 2) * core.routes.outsideLossSPerMps[r]!) / (f * f);
    // A start it made before its first modelled link (it entered that link at its desired speed).
    const from = core.routes.upstreamStartMps[r]!;
    if (!Number.isNaN(from)) outsideS += idmStartLossS(core.routes.upstreamStartLimitMps[r]! * f, from, core.s.vAccel[v]!);
  }
  recordTrip(core.s, v, t, outsideS);
  if (core.buses.vTracked[v] === 1) finishTracked(core, v, t);
  if (core.parking !== undefined) core.parking.finished(v, t);
  freeVehicle(core, v);
}
