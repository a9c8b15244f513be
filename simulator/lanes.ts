/**
 * Lanes as ring buffers of vehicle slots, front first: who is where in a lane,
 * whether a lane has room at its entry, and putting a vehicle on a lane or
 * taking it off. Called by the entry (entry.ts), the lane choice
 * (laneChoice.ts), the car-following step (idm.ts) and link transfers
 * (transfers.ts).
 */
import { movementIndex } from '../engine/network/geometry.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { IDM, MOVING_MPS, type SimCore } from './vehicles.js';

/** The slot of the k-th vehicle of a lane (0 = front). */
export function laneVehicle(core: SimCore, lane: number, k: number): number {
  const s = core.s;
  return s.laneBuf[lane * core.laneCap + ((s.laneHead[lane]! + k) % core.laneCap)]!;
}

/** The slot of a lane's last vehicle (the lane must not be empty). */
export function laneTail(core: SimCore, lane: number): number {
  return laneVehicle(core, lane, core.s.laneSize[lane]! - 1);
}

/** Where the rear of a lane's last vehicle is, m from the lane's start; Infinity for an empty lane. */
export function tailRearM(core: SimCore, lane: number): number {
  const s = core.s;
  if (s.laneSize[lane]! === 0) return Infinity;
  const tail = laneTail(core, lane);
  return s.vPos[tail]! - s.vLength[tail]!;
}

/** A lane whose queue has backed up to its entry (its last vehicle stands within the minimum gap of it), or whose slots are full. */
export function entryBlocked(core: SimCore, lane: number): boolean {
  const s = core.s;
  const size = s.laneSize[lane]!;
  if (size === 0) return false;
  if (size >= core.laneCap - 1) return true;
  const tail = laneTail(core, lane);
  return s.vPos[tail]! - s.vLength[tail]! < IDM.minGapM && s.vSpeed[tail]! < MOVING_MPS;
}

export function hasEntrySpace(core: SimCore, lane: number): boolean {
  const s = core.s;
  const size = s.laneSize[lane]!;
  if (size === 0) return true;
  if (size >= core.laneCap - 1) return false;
  const tail = laneTail(core, lane);
  return s.vPos[tail]! - s.vLength[tail]! > IDM.minGapM;
}

/**
 * Where in the lane's order (0 = front) a vehicle of `lengthM` fits with its front at `posM`,
 * keeping the minimum gap to the vehicles ahead and behind (and behind it, `behindHeadwayS` at the
 * follower's speed more: a lane change, incidents.ts); -1 if it does not fit.
 */
export function insertIndex(core: SimCore, lane: number, posM: number, lengthM: number, behindHeadwayS = 0): number {
  const s = core.s;
  const size = s.laneSize[lane]!;
  if (size >= core.laneCap - 1) return -1;
  let k = 0;
  while (k < size && s.vPos[laneVehicle(core, lane, k)]! >= posM) k++;
  if (k > 0) {
    const ahead = laneVehicle(core, lane, k - 1);
    if (s.vPos[ahead]! - s.vLength[ahead]! - IDM.minGapM < posM) return -1;
  }
  if (k < size) {
    const behind = laneVehicle(core, lane, k);
    if (posM - lengthM - IDM.minGapM - behindHeadwayS * s.vSpeed[behind]! < s.vPos[behind]!) return -1;
  }
  return k;
}

/** A free vehicle slot, entering the network at t as a driver with these traits. */
export function newVehicle(core: SimCore, t: number, speedFactor: number, lengthM: number, accelMps2: number): number {
  const s = core.s;
  if (s.freeTop === 0) throw new GreenwaveError(ErrorCode.Internal, `simulation vehicle capacity ${core.cap} exhausted`);
  const v = s.freeSlots[--s.freeTop]!;
  s.vEnterS[v] = t;
  s.vFreeS[v] = 0;
  s.vStops[v] = 0;
  s.vSpeedFactor[v] = speedFactor;
  // Drawn at the next whole second, with everyone else's.
  s.vSpeedNoise[v] = 0;
  s.vLength[v] = lengthM;
  s.vAccel[v] = accelMps2;
  s.vRoute[v] = -1;
  s.vLeg[v] = 0;
  s.vArriveM[v] = Infinity;
  s.vLinkStartM[v] = 0;
  s.vLaneChangeS[v] = Number.NEGATIVE_INFINITY;
  return v;
}

/** Gives the slot back once its trip is over. */
export function freeVehicle(core: SimCore, v: number): void {
  const s = core.s;
  s.vLane[v] = -1;
  s.freeSlots[s.freeTop++] = v;
}

/** Puts a vehicle on a lane at `posM` (the link start unless a route begins mid-link), behind whoever is ahead of that point. */
export function placeOnLane(core: SimCore, v: number, lane: number, link: number, turn: number, speed: number, t: number, posM = 0, mid = posM > 0): void {
  const s = core.s;
  const laneCap = core.laneCap;
  const size = s.laneSize[lane]!;
  const base = lane * laneCap;
  const head = s.laneHead[lane]!;
  // Mid-link (a route starting there): where it fits, which the caller has checked; else at the tail.
  const at = mid ? Math.max(0, insertIndex(core, lane, posM, s.vLength[v]!)) : size;
  for (let q = size; q > at; q--) s.laneBuf[base + ((head + q) % laneCap)] = s.laneBuf[base + ((head + q - 1) % laneCap)]!;
  s.laneBuf[base + ((head + at) % laneCap)] = v;
  s.laneSize[lane] = size + 1;
  s.vLane[v] = lane;
  s.vPos[v] = posM;
  s.vLinkStartM[v] = posM;
  s.vNextLane[v] = -1;
  // Enter no faster than the gap to the vehicle ahead allows.
  let sp = speed;
  if (at > 0) {
    const ahead = s.laneBuf[base + ((head + at - 1) % laneCap)]!;
    sp = Math.min(sp, s.vSpeed[ahead]!);
  }
  s.vSpeed[v] = sp;
  s.vMove[v] = movementIndex(core.top.linkApproach[link]!, turn);
  s.vLinkEnterS[v] = t;
  s.vLinkStops[v] = 0;
  s.vStopped[v] = 0;
  s.vStamp[v] = s.stepCount;
}

/** Takes the front vehicle off a lane. */
export function removeFront(core: SimCore, lane: number): void {
  const s = core.s;
  s.laneHead[lane] = (s.laneHead[lane]! + 1) % core.laneCap;
  s.laneSize[lane] = s.laneSize[lane]! - 1;
}

/** Takes the k-th vehicle (0 = front) off a lane; the ones behind close up in order. */
export function removeAt(core: SimCore, lane: number, k: number): void {
  const s = core.s;
  const laneCap = core.laneCap;
  const base = lane * laneCap;
  const head = s.laneHead[lane]!;
  const size = s.laneSize[lane]!;
  if (k === 0) s.laneHead[lane] = (head + 1) % laneCap;
  else for (let q = k; q < size - 1; q++) s.laneBuf[base + ((head + q) % laneCap)] = s.laneBuf[base + ((head + q + 1) % laneCap)]!;
  s.laneSize[lane] = size - 1;
}

/**
 * Puts vehicle v into `lane` at order index `at` (a lane change: incidents.ts, laneChange.ts),
 * keeping its link times and stops; with `clampSpeed`, no faster than the vehicle ahead.
 */
export function insertAt(core: SimCore, v: number, lane: number, at: number, clampSpeed = true): void {
  const s = core.s;
  const laneCap = core.laneCap;
  const base = lane * laneCap;
  const head = s.laneHead[lane]!;
  const size = s.laneSize[lane]!;
  for (let q = size; q > at; q--) s.laneBuf[base + ((head + q) % laneCap)] = s.laneBuf[base + ((head + q - 1) % laneCap)]!;
  s.laneBuf[base + ((head + at) % laneCap)] = v;
  s.laneSize[lane] = size + 1;
  s.vLane[v] = lane;
  s.vNextLane[v] = -1;
  if (clampSpeed && at > 0) {
    const ahead = s.laneBuf[base + ((head + at - 1) % laneCap)]!;
    s.vSpeed[v] = Math.min(s.vSpeed[v]!, s.vSpeed[ahead]!);
  }
}
