/**
 * The car-following core: one step of every vehicle in a lane, front to back,
 * by the Intelligent Driver Model (Treiber, Hennecke & Helbing 2000). The
 * front vehicle heeds the signal (yellow: stop if it can), yields on a
 * permitted left by gap acceptance, and, when it may go, follows the last
 * vehicle of the lane it will take across the line; a bus also brakes for its
 * stop mark; a car searching for a space that reaches a full car park drives
 * on (parking.ts). Called by `Simulation.step` (simulation.ts) for every lane, every
 * step; allocation-free.
 */
// Permitted lefts go when the nearest opposing vehicle is at least the planner's critical gap away in time.
import { CRITICAL_GAP_S } from '../engine/timing/planner.js';
import { laneTail, laneVehicle } from './lanes.js';
import { crossingLane, nextEntryPosM, nextLinkOf } from './laneChoice.js';
import { LOOP_LENGTH_M } from './detectors.js';
import { AT_STOP_M, arriveAtStop, stopMarkAhead } from './buses.js';
import { arrive, leaveLane } from './transfers.js';
import { IDM, MOVING_MPS, STOPPED_MPS, type SimCore } from './vehicles.js';

/** A vehicle on yellow stops if it can at this deceleration; otherwise it clears. */
const YELLOW_STOP_DECEL_MPS2 = 3.0;
/**
 * A left turner at the head of its lane this close to the line when its green ends is waiting
 * in the box and clears. The IDM front vehicle stands its minimum gap (plus half a metre)
 * short of the line, so the zone must reach past that standstill position.
 */
const SNEAKER_ZONE_M = IDM.minGapM + 1.5;

/** For gap acceptance: the soonest arrival at the stop line of any moving vehicle, per link. */
export function computeOpposingEtas(core: SimCore): void {
  const top = core.top;
  const s = core.s;
  for (let l = 0; l < top.linkCount; l++) {
    let eta = Infinity;
    const len = top.linkLengthM[l]!;
    for (let k = top.linkLaneStart[l]!; k < top.linkLaneStart[l]! + top.linkLaneCount[l]!; k++) {
      const lane = top.linkLanes[k]!;
      if (s.laneSize[lane] === 0) continue;
      const v = laneVehicle(core, lane, 0);
      const e = (len - s.vPos[v]!) / Math.max(s.vSpeed[v]!, 0.5);
      if (s.vSpeed[v]! > STOPPED_MPS && e < eta) eta = e;
    }
    s.linkMinEtaS[l] = eta;
  }
}

/**
 * The IDM acceleration, m/s² (Treiber, Hennecke & Helbing 2000, δ = 4): the free-road term
 * towards the desired speed `v0Mps` less the interaction with an obstacle `gapM` ahead (Infinity:
 * none) that the vehicle closes on at `dvMps`. moveLane's core, exported for its test.
 */
export function idmAccelMps2(speedMps: number, v0Mps: number, gapM: number, dvMps: number, accelMps2: number): number {
  const sStar = IDM.minGapM + Math.max(0, speedMps * IDM.headwayS + (speedMps * dvMps) / (2 * Math.sqrt(accelMps2 * IDM.decelMps2)));
  // (v/v0)^δ with δ = 4 as two products: Math.pow was about half of the simulator's CPU. Not
  // bit-identical to Math.pow (it differs in the last bit).
  const ratio = speedMps / v0Mps;
  const ratio2 = ratio * ratio;
  const free = 1 - ratio2 * ratio2;
  const q = sStar / Math.max(gapM, 0.1);
  const interaction = Number.isFinite(gapM) ? q * q : 0;
  return accelMps2 * (free - interaction);
}

/**
 * Time a car loses getting up to `v0Mps` on a free road from `fromMps`, s: ∫(1 − v/v0)dt under the
 * IDM's free-road term, a(1 − (v/v0)⁴). With u = v/v0 and τ = ta/v0 it is (v0/a)·∫ du/((1+u)(1+u²))
 * from u0 to 1, in closed form: 0.566·v0/a from rest (5.2 s at 50 km/h and 1.5 m/s²). For starts
 * the simulator does not drive (a SUMO trip departing before its first modelled link).
 */
export function idmStartLossS(v0Mps: number, fromMps: number, accelMps2: number): number {
  const F = (u: number) => 0.5 * Math.log(1 + u) - 0.25 * Math.log(1 + u * u) + 0.5 * Math.atan(u);
  const u0 = Math.min(1, Math.max(0, fromMps / v0Mps));
  return (v0Mps / accelMps2) * (F(1) - F(u0));
}

/** Moves every vehicle of the lane one step of dt ending at t, front first. */
export function moveLane(core: SimCore, lane: number, t: number, dt: number): void {
  const top = core.top;
  const link = top.laneLink[lane]!;
  if (link < 0) return;
  const s = core.s;
  const vPos = s.vPos;
  const vSpeed = s.vSpeed;
  const vLength = s.vLength;
  const vStamp = s.vStamp;
  const vStopped = s.vStopped;
  const vArriveM = s.vArriveM;
  const laneSize = s.laneSize;
  const vTracked = core.buses.vTracked;
  const laneBuf = s.laneBuf;
  const laneHead = s.laneHead;
  const laneCap = core.laneCap;
  const base = lane * laneCap;
  const { laneDetStart, laneDets, detectorPosM } = core.loops;
  const detFrom = laneDetStart[lane]!;
  const detTo = laneDetStart[lane + 1]!;
  const stepCount = s.stepCount;
  // A lane blockage's position (incidents.ts); NaN when none, and every comparison below is then false.
  const blockM = core.incidents.laneBlockM[lane]!;
  const len = top.linkLengthM[link]!;
  const linkV0 = top.linkSpeedMps[link]!;
  const i = top.linkIntersection[link]!;
  // A vehicle in a lane that does not serve its movement (lane changing: it has not got over yet) waits at the line.
  const laneMask = core.c.laneMovementMask[lane]!;
  const noiseMps = core.driver.speedNoiseMps;
  const vSpeedNoise = s.vSpeedNoise;
  // Driver imperfection is redrawn once a simulated second, whatever the step (SUMO's default step).
  const redraw = noiseMps > 0 && Math.floor(t + 1e-9) !== Math.floor(t - dt + 1e-9);
  let queued = 0;
  let updates = 0;
  let leaderPos = Infinity;
  let leaderSpeed = 0;
  let k = 0;
  while (k < laneSize[lane]!) {
    // The ring index without `%` (an integer division, a fair share of this loop's time).
    let slot = laneHead[lane]! + k;
    if (slot >= laneCap) slot -= laneCap;
    const v = laneBuf[base + slot]!;
    if (vStamp[v] === stepCount) {
      // Entered this lane during this step: already moved once.
      leaderPos = vPos[v]! - vLength[v]!;
      leaderSpeed = vSpeed[v]!;
      k++;
      continue;
    }
    vStamp[v] = stepCount;
    updates++;
    const pos = vPos[v]!;
    const speed = vSpeed[v]!;
    let obstacle = leaderPos;
    let obstacleSpeed = leaderSpeed;
    let crossing = false;
    // The front vehicle heeds the signal, unless its trip ends before the stop line.
    if (k === 0 && vArriveM[v]! > len) {
      const m = s.vMove[v]!;
      const bit = 1 << m;
      const green = (core.greenMask[i]! & bit) !== 0;
      const yellow = (core.yellowMask[i]! & bit) !== 0;
      const toLine = len - pos;
      let go = green;
      // (m & 3) === 0: a left turn (turn 0 of the movement's TURN_COUNT = 4).
      if (green && (core.permittedMask[i]! & bit) !== 0 && (m & 3) === 0) {
        const opp = top.linkOpposing[link]!;
        go = opp < 0 || s.linkMinEtaS[opp]! > CRITICAL_GAP_S;
      }
      if (!green && yellow) {
        // Stop if it can; a permitted left already waiting at the line (in the box, in reality)
        // clears on the yellow: the "sneaker" of HCM's permitted-left model.
        go = toLine < (speed * speed) / (2 * YELLOW_STOP_DECEL_MPS2) || ((m & 3) === 0 && toLine < SNEAKER_ZONE_M);
      }
      if ((laneMask & bit) === 0) go = false;
      obstacle = len;
      obstacleSpeed = 0;
      if (go) {
        const next = nextLinkOf(core, v, link, m);
        if (next < 0) obstacle = Infinity;
        else {
          // Across the line it follows the last vehicle of the lane it will take (a tracked
          // vehicle, a bus, waits for room in a lane that keeps it on its route). A route that
          // comes onto that link part-way along (through a junction without signals) follows
          // it from there: a last vehicle still short of that point is one to let by first.
          const target = crossingLane(core, v, next);
          if (target >= 0) {
            if (laneSize[target]! === 0) obstacle = Infinity;
            else {
              const tail = laneTail(core, target);
              obstacle = len + vPos[tail]! - vLength[tail]! - nextEntryPosM(core, v);
              obstacleSpeed = vSpeed[tail]!;
            }
            crossing = true;
          }
        }
      }
    }
    // Behind a lane blockage nearer than the leader or the line: it is a standing obstacle.
    if (pos < blockM && blockM < obstacle) {
      obstacle = blockM;
      obstacleSpeed = 0;
      crossing = false;
    }
    // IDM acceleration towards the leader (or the stop line, a standing obstacle).
    // The front vehicle stops half a metre short of the line; followers keep their gap to the rear ahead.
    let gap = obstacle - pos - (k === 0 && !crossing ? 0.5 : 0);
    let dv = speed - obstacleSpeed;
    // A bus's next stop is one more standstill obstacle, placed the minimum gap past the stop
    // mark so that IDM brings its front to rest on the mark. Only tracked vehicles look.
    let stopMarkM = Infinity;
    if (vTracked[v] === 1) {
      stopMarkM = stopMarkAhead(core, v, link, t);
      if (stopMarkM + IDM.minGapM - pos < gap) {
        obstacle = stopMarkM + IDM.minGapM;
        gap = obstacle - pos;
        dv = speed;
      }
    }
    if (redraw) vSpeedNoise[v] = s.rng.next() * noiseMps;
    const v0 = Math.max(1, linkV0 * s.vSpeedFactor[v]! - vSpeedNoise[v]!);
    let acc = idmAccelMps2(speed, v0, gap, dv, s.vAccel[v]!);
    if (acc < -9) acc = -9;
    let nv = speed + acc * dt;
    if (nv < 0) nv = 0;
    let npos = pos + nv * dt;
    if (Number.isFinite(obstacle) && npos > obstacle - 0.5) {
      npos = Math.max(pos, obstacle - 0.5);
      nv = 0;
    }
    // Stops, with hysteresis so a creeping queue counts once.
    if (nv < STOPPED_MPS && vStopped[v] === 0) {
      vStopped[v] = 1;
      s.vStops[v] = s.vStops[v]! + 1;
      s.vLinkStops[v] = s.vLinkStops[v]! + 1;
    } else if (nv > MOVING_MPS) vStopped[v] = 0;
    if (nv < STOPPED_MPS) queued++;
    if (nv < STOPPED_MPS && npos >= stopMarkM - AT_STOP_M && npos < len) arriveAtStop(core, v, t);
    // Loops: a count when the front passes, occupancy while the body covers the loop.
    for (let q = detFrom; q < detTo; q++) {
      const d = laneDets[q]!;
      const dp = detectorPosM[d]!;
      if (pos < dp && npos >= dp) s.detCount[d] = s.detCount[d]! + 1;
      if (npos >= dp && npos - vLength[v]! <= dp + LOOP_LENGTH_M) s.detOccupied[d] = 1;
    }
    vPos[v] = npos;
    vSpeed[v] = nv;
    // Its trip ends here: out of the lane; the one behind now follows the same leader. A car
    // searching for a space whose car park is full drives on instead (parking.ts).
    if (npos >= vArriveM[v]! && (core.parking === undefined || core.parking.reached(v, link, t))) {
      arrive(core, v, lane, k, link, t);
      continue;
    }
    if (k === 0 && npos >= len) {
      leaveLane(core, v, lane, link, i, t);
      // The next vehicle is now the front; do not advance k.
      leaderPos = Infinity;
      leaderSpeed = 0;
      continue;
    }
    leaderPos = npos - vLength[v]!;
    leaderSpeed = nv;
    k++;
  }
  s.vehicleUpdates += updates;
  if (queued > s.linkMaxQueue[link]!) s.linkMaxQueue[link] = queued;
}
