/**
 * Lane changing along a link, on the principles of MOBIL (Kesting, Treiber &
 * Helbing 2007) with a strategic part in the manner of SUMO's LC2013. Run by
 * `Simulation.step` (simulation.ts) before the car-following step when the
 * option `laneChange` is on; the layout (which lane is where in its link, and
 * where a turn bay begins) is built by the Simulation's constructor.
 *
 *  - Strategic: a vehicle in a lane that does not serve its movement (it came
 *    onto the link beside a turn bay that had not begun yet, or the bay was
 *    full) moves one lane at a time towards the nearest lane that does. It
 *    accepts a harder braking of the new follower the nearer it is to the stop
 *    line (URGENT_DECEL_MPS2 at the line). One that cannot get over drives to
 *    the stop line and waits there (idm.ts stops a vehicle whose lane does not
 *    serve its movement): it blocks its lane, as in SUMO.
 *  - Discretionary (speed gain): a vehicle moves to a neighbouring lane that
 *    also serves its movement when its own IDM acceleration there, plus
 *    POLITENESS times the change in acceleration it imposes on the old and the
 *    new follower, beats staying by THRESHOLD_MPS2 (MOBIL's incentive, no
 *    keep-right bias: a city approach). At most one change per COOLDOWN_S.
 *  - Safety, for both: the minimum gap to the new leader and from the new
 *    follower, and the new follower's IDM braking no harder than SAFE_DECEL_MPS2
 *    (MOBIL's b_safe); the changer itself must not have to brake harder than that.
 *
 * The leader in a lane is the vehicle ahead or, when the vehicle would stop
 * there (its movement not green, or that lane not serving it), the stop line.
 * Buses (tracked vehicles) keep their lane. No random draw is made: a run is
 * deterministic by seed. Allocation-free: the per-step work is scans of the
 * lane ring buffers and IDM evaluations; results go through module scratch.
 */
import { idmAccelMps2 } from './idm.js';
import { insertAt, laneVehicle, removeAt } from './lanes.js';
import { IDM, type SimCore } from './vehicles.js';

/** MOBIL's politeness factor: how much the followers' gain or loss counts against the changer's. */
export const POLITENESS = 0.25;
/** MOBIL's threshold: the least net gain in acceleration worth a discretionary change, m/s². */
export const THRESHOLD_MPS2 = 0.2;
/** The hardest braking a change may impose on the new follower (MOBIL's b_safe), m/s². */
export const SAFE_DECEL_MPS2 = 4;
/** A strategic change at the stop line accepts up to this, m/s² (growing linearly over URGENCY_ZONE_M). */
export const URGENT_DECEL_MPS2 = 6;
/** Distance to the stop line over which a strategic change grows urgent, m. */
export const URGENCY_ZONE_M = 100;
/** Least time between two discretionary changes of one vehicle, s (no ping-pong). */
export const COOLDOWN_S = 3;

/** Where each lane sits in its link and where it begins (a turn bay: short of the link start). */
export interface LaneChangeLayout {
  readonly enabled: boolean;
  /** Position of the lane in its link's list (median out), per compiled lane. */
  readonly laneIndex: Int32Array;
  /** Where the lane begins, m from its link's start: 0, or the start of a turn bay. */
  readonly laneStartM: Float64Array;
  /** Some lane begins after its link's start. */
  readonly hasBays: boolean;
}

/**
 * The layout for a run. `bayLengthM` (lane id → length, m) makes a lane exist only on the last
 * metres of its link; a bay as long as the link or longer is an ordinary lane.
 */
export function createLaneChangeLayout(core: Pick<SimCore, 'top' | 'c'>, enabled: boolean, bayLengthM?: ReadonlyMap<string, number>): LaneChangeLayout {
  const top = core.top;
  const lanes = core.c.laneIds.length;
  const laneIndex = new Int32Array(lanes).fill(-1);
  const laneStartM = new Float64Array(lanes);
  let hasBays = false;
  for (let l = 0; l < top.linkCount; l++) {
    for (let q = 0; q < top.linkLaneCount[l]!; q++) {
      const lane = top.linkLanes[top.linkLaneStart[l]! + q]!;
      laneIndex[lane] = q;
      const bay = bayLengthM?.get(core.c.laneIds[lane]!);
      if (bay !== undefined && bay > 0 && bay < top.linkLengthM[l]!) {
        laneStartM[lane] = top.linkLengthM[l]! - bay;
        hasBays = true;
      }
    }
  }
  return { enabled, laneIndex, laneStartM, hasBays };
}

// Scratch for the leader lookups: the leader's rear, m, and speed (no object per call).
let leadRearM = Infinity;
let leadSpeedMps = 0;

/** The stop line as an obstacle for v in `lane` (where IDM stops the front), or Infinity when v would cross it. */
function lineFor(core: SimCore, v: number, lane: number, len: number, greenBits: number): number {
  const s = core.s;
  if (s.vArriveM[v]! <= len) return Infinity;
  const bit = 1 << s.vMove[v]!;
  return (greenBits & bit) === 0 || (core.c.laneMovementMask[lane]! & bit) === 0 ? len - 0.5 : Infinity;
}

/** Sets the scratch leader: the vehicle at order index j - 1 of `lane`, or the stop line `lineM`. */
function leaderAt(core: SimCore, lane: number, j: number, lineM: number): void {
  if (j > 0) {
    const u = laneVehicle(core, lane, j - 1);
    leadRearM = core.s.vPos[u]! - core.s.vLength[u]!;
    leadSpeedMps = core.s.vSpeed[u]!;
  } else {
    leadRearM = lineM;
    leadSpeedMps = 0;
  }
}

/** v's IDM acceleration with its front at `posM` behind the scratch leader. */
function accelBehindLeader(core: SimCore, v: number, posM: number, v0Mps: number): number {
  const s = core.s;
  const sp = s.vSpeed[v]!;
  return idmAccelMps2(sp, Math.max(1, v0Mps * s.vSpeedFactor[v]! - s.vSpeedNoise[v]!), leadRearM - posM, sp - leadSpeedMps, s.vAccel[v]!);
}

/** Order index in `lane` of the first vehicle whose front is behind `posM` (= the lane's size when none). */
function indexBehind(core: SimCore, lane: number, posM: number): number {
  const s = core.s;
  const size = s.laneSize[lane]!;
  let j = 0;
  while (j < size && s.vPos[laneVehicle(core, lane, j)]! >= posM) j++;
  return j;
}

/** One step of lane changing at t: every vehicle on a link of two lanes or more may move one lane. */
export function changeLanes(core: SimCore, t: number): void {
  const top = core.top;
  const s = core.s;
  for (let link = 0; link < top.linkCount; link++) {
    const n = top.linkLaneCount[link]!;
    if (n < 2) continue;
    const first = top.linkLaneStart[link]!;
    for (let q = 0; q < n; q++) {
      const lane = top.linkLanes[first + q]!;
      let k = 0;
      while (k < s.laneSize[lane]!) {
        if (!tryChange(core, lane, k, link, q, n, t)) k++;
      }
    }
  }
}

/** Whether the k-th vehicle of `lane` (lane q of the link's n) changes lane now; if it does it has left `lane`. */
function tryChange(core: SimCore, lane: number, k: number, link: number, q: number, n: number, t: number): boolean {
  const s = core.s;
  const top = core.top;
  const v = laneVehicle(core, lane, k);
  if (core.buses.vTracked[v] === 1 || s.vLaneChangeS[v] === t) return false;
  const mask = core.c.laneMovementMask;
  const bit = 1 << s.vMove[v]!;
  const len = top.linkLengthM[link]!;
  const pos = s.vPos[v]!;
  const first = top.linkLaneStart[link]!;
  const starts = core.lc.laneStartM;
  const endsHere = s.vArriveM[v]! <= len;
  if (!endsHere && (mask[lane]! & bit) === 0) {
    // Strategic: one lane towards the nearest lane serving its movement.
    let dir = 0;
    for (let d = 1; d < n && dir === 0; d++) {
      if (q - d >= 0 && (mask[top.linkLanes[first + q - d]!]! & bit) !== 0) dir = -1;
      else if (q + d < n && (mask[top.linkLanes[first + q + d]!]! & bit) !== 0) dir = 1;
    }
    if (dir === 0) return false;
    const target = top.linkLanes[first + q + dir]!;
    if (starts[target]! > pos) return false;
    const urgency = Math.min(1, Math.max(0, 1 - (len - pos) / URGENCY_ZONE_M));
    return attempt(core, v, lane, k, target, link, SAFE_DECEL_MPS2 + (URGENT_DECEL_MPS2 - SAFE_DECEL_MPS2) * urgency, true, t);
  }
  if (t - s.vLaneChangeS[v]! < COOLDOWN_S) return false;
  let best = -1;
  let bestGain = THRESHOLD_MPS2;
  for (let d = -1; d <= 1; d += 2) {
    if (q + d < 0 || q + d >= n) continue;
    const target = top.linkLanes[first + q + d]!;
    if ((!endsHere && (mask[target]! & bit) === 0) || starts[target]! > pos) continue;
    const gain = incentive(core, v, lane, k, target, link);
    if (gain > bestGain) {
      bestGain = gain;
      best = target;
    }
  }
  return best >= 0 && attempt(core, v, lane, k, best, link, SAFE_DECEL_MPS2, false, t);
}

/** MOBIL's incentive for v (k-th of `lane`) to move to `target`, m/s²; -Infinity when unsafe. */
function incentive(core: SimCore, v: number, lane: number, k: number, target: number, link: number): number {
  const s = core.s;
  const top = core.top;
  const len = top.linkLengthM[link]!;
  const v0 = top.linkSpeedMps[link]!;
  const green = core.greenMask[top.linkIntersection[link]!]!;
  const pos = s.vPos[v]!;
  // Not into a lane blocked further on (an incident: incidents.ts); NaN compares false.
  if (core.incidents.laneBlockM[target]! > pos) return -Infinity;
  leaderAt(core, lane, k, lineFor(core, v, lane, len, green));
  const aOld = accelBehindLeader(core, v, pos, v0);
  const j = indexBehind(core, target, pos);
  leaderAt(core, target, j, lineFor(core, v, target, len, green));
  if (leadRearM - pos < IDM.minGapM) return -Infinity;
  const aNew = accelBehindLeader(core, v, pos, v0);
  if (aNew < -SAFE_DECEL_MPS2) return -Infinity;
  let followers = 0;
  if (j < s.laneSize[target]!) {
    const f = laneVehicle(core, target, j);
    const fPos = s.vPos[f]!;
    if (pos - s.vLength[v]! - fPos < IDM.minGapM) return -Infinity;
    leaderAt(core, target, j, lineFor(core, f, target, len, green));
    const before = accelBehindLeader(core, f, fPos, v0);
    leadRearM = pos - s.vLength[v]!;
    leadSpeedMps = s.vSpeed[v]!;
    const after = accelBehindLeader(core, f, fPos, v0);
    if (after < -SAFE_DECEL_MPS2) return -Infinity;
    followers += after - before;
  }
  if (k + 1 < s.laneSize[lane]!) {
    const o = laneVehicle(core, lane, k + 1);
    const oPos = s.vPos[o]!;
    leadRearM = pos - s.vLength[v]!;
    leadSpeedMps = s.vSpeed[v]!;
    const before = accelBehindLeader(core, o, oPos, v0);
    leaderAt(core, lane, k, lineFor(core, o, lane, len, green));
    followers += accelBehindLeader(core, o, oPos, v0) - before;
  }
  return aNew - aOld + POLITENESS * followers;
}

/**
 * Moves v into `target` if the gaps there are safe: the minimum gap to the leader and from the
 * follower, the follower braking no harder than `safeDecel`. A strategic (`mandatory`) change
 * takes the leader's speed if it is slower (it squeezes in); a discretionary one was checked by
 * `incentive` and keeps its speed.
 */
function attempt(core: SimCore, v: number, lane: number, k: number, target: number, link: number, safeDecel: number, mandatory: boolean, t: number): boolean {
  const s = core.s;
  const pos = s.vPos[v]!;
  const j = indexBehind(core, target, pos);
  if (mandatory) {
    if (core.incidents.laneBlockM[target]! > pos) return false;
    if (j > 0) {
      const u = laneVehicle(core, target, j - 1);
      if (s.vPos[u]! - s.vLength[u]! - pos < IDM.minGapM) return false;
    }
    if (j < s.laneSize[target]!) {
      const f = laneVehicle(core, target, j);
      const fPos = s.vPos[f]!;
      if (pos - s.vLength[v]! - fPos < IDM.minGapM) return false;
      leadRearM = pos - s.vLength[v]!;
      leadSpeedMps = Math.min(s.vSpeed[v]!, j > 0 ? s.vSpeed[laneVehicle(core, target, j - 1)]! : s.vSpeed[v]!);
      if (accelBehindLeader(core, f, fPos, core.top.linkSpeedMps[link]!) < -safeDecel) return false;
    }
  }
  if (s.laneSize[target]! >= core.laneCap - 1) return false;
  removeAt(core, lane, k);
  insertAt(core, v, target, j, mandatory);
  s.vLaneChangeS[v] = t;
  s.laneChanges++;
  return true;
}
