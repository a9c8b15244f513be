/**
 * What a run measured: approach delay and stops per movement as vehicles cross
 * stop lines, trip travel time and time loss as they finish, and the reports
 * built from those totals (`SimMetrics`, the look-ahead's accumulated delay).
 * The record functions run in the step (transfers.ts); the reports are
 * `Simulation`'s (simulation.ts) `metrics`, `accumulatedDelayS` and
 * `tripTimeLossS`.
 */
import { MOVEMENT_COUNT, movementSlot } from '../engine/network/geometry.js';
import { laneVehicle } from './lanes.js';
import type { SimCore, SimState } from './vehicles.js';

export interface MovementMetrics {
  readonly intersectionId: string;
  readonly movement: number;
  readonly vehicles: number;
  readonly meanDelayS: number;
  readonly stopsPerVeh: number;
}

export interface SimMetrics {
  readonly simulatedS: number;
  readonly vehiclesEntered: number;
  readonly vehiclesCompleted: number;
  readonly vehiclesInNetwork: number;
  /** Over completed trips: travel time minus free-flow time at each approach's speed, plus what is charged for route parts not simulated. */
  readonly meanDelayPerVehS: number;
  /** The part of meanDelayPerVehS charged for route parts not simulated (recordTrip's `outsideLossS`). */
  readonly meanOutsideDelayPerVehS: number;
  readonly meanTravelTimeS: number;
  readonly stopsPerVeh: number;
  /** Per intersection: approach delay and stops of vehicles that crossed it, and the longest queue. */
  readonly intersections: readonly { id: string; vehicles: number; meanDelayS: number; stopsPerVeh: number; maxQueueVeh: number }[];
  readonly movements: readonly MovementMetrics[];
  readonly vehicleUpdates: number;
  /** Vehicles that are due but have not found room to enter yet. */
  readonly vehiclesWaitingToEnter: number;
}

/** A vehicle crossed the stop line of movement `slot` (movementSlot) having lost `lostS` (negative counts as 0) and stopped `stops` times on the approach. */
export function recordApproach(s: SimState, slot: number, lostS: number, stops: number): void {
  s.mVeh[slot] = s.mVeh[slot]! + 1;
  s.mDelay[slot] = s.mDelay[slot]! + Math.max(0, lostS);
  s.mStops[slot] = s.mStops[slot]! + stops;
}

/**
 * Vehicle v finished its trip at t: its travel, time loss and stops go into the network totals.
 * `outsideLossS`: time it lost on parts of its route the simulator does not drive (transfers.ts).
 */
export function recordTrip(s: SimState, v: number, t: number, outsideLossS = 0): void {
  const travel = t - s.vEnterS[v]!;
  s.completed++;
  s.sumTravelS += travel;
  const lossS = Math.max(0, travel - s.vFreeS[v]!) + outsideLossS;
  s.sumDelayS += lossS;
  s.sumOutsideDelayS += outsideLossS;
  if (s.vRoute[v]! >= 0) s.routeLossS[s.vRoute[v]!] = lossS;
  s.sumStops += s.vStops[v]!;
}

/**
 * Delay so far, completed approaches plus what vehicles now in the network
 * have already lost on their current approach: the objective a look-ahead compares.
 */
export function accumulatedDelayS(core: SimCore): number {
  const s = core.s;
  const top = core.top;
  let total = 0;
  for (let k = 0; k < s.mDelay.length; k++) total += s.mDelay[k]!;
  for (let lane = 0; lane < s.laneSize.length; lane++) {
    const link = top.laneLink[lane]!;
    if (link < 0) continue;
    for (let k = 0; k < s.laneSize[lane]!; k++) {
      const v = laneVehicle(core, lane, k);
      const freeS = top.linkLengthM[link]! / (top.linkSpeedMps[link]! * s.vSpeedFactor[v]!);
      const spent = s.tS - s.vLinkEnterS[v]!;
      // Only what is already lost: the part of the free-flow time still ahead is not delay yet.
      const fractionDone = Math.min(1, s.vPos[v]! / top.linkLengthM[link]!);
      total += Math.max(0, spent - fractionDone * freeS);
    }
  }
  return total + s.entryWaitS;
}

export function metricsOf(core: SimCore): SimMetrics {
  const c = core.c;
  const s = core.s;
  const top = core.top;
  const movements: MovementMetrics[] = [];
  const intersections: SimMetrics['intersections'][number][] = [];
  for (let i = 0; i < c.intersectionCount; i++) {
    let veh = 0;
    let delay = 0;
    let stops = 0;
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      const slot = movementSlot(i, m);
      const n = s.mVeh[slot]!;
      if (n === 0) continue;
      movements.push({ intersectionId: c.intersectionIds[i]!, movement: m, vehicles: n, meanDelayS: s.mDelay[slot]! / n, stopsPerVeh: s.mStops[slot]! / n });
      veh += n;
      delay += s.mDelay[slot]!;
      stops += s.mStops[slot]!;
    }
    let maxQueue = 0;
    for (let l = 0; l < top.linkCount; l++) if (top.linkIntersection[l] === i) maxQueue = Math.max(maxQueue, s.linkMaxQueue[l]!);
    intersections.push({ id: c.intersectionIds[i]!, vehicles: veh, meanDelayS: veh > 0 ? delay / veh : 0, stopsPerVeh: veh > 0 ? stops / veh : 0, maxQueueVeh: maxQueue });
  }
  let inNetwork = 0;
  for (let l = 0; l < s.laneSize.length; l++) inNetwork += s.laneSize[l]!;
  return {
    simulatedS: s.tS,
    vehiclesEntered: s.entered,
    vehiclesCompleted: s.completed,
    vehiclesInNetwork: inNetwork,
    meanDelayPerVehS: s.completed > 0 ? s.sumDelayS / s.completed : 0,
    meanOutsideDelayPerVehS: s.completed > 0 ? s.sumOutsideDelayS / s.completed : 0,
    meanTravelTimeS: s.completed > 0 ? s.sumTravelS / s.completed : 0,
    stopsPerVeh: s.completed > 0 ? s.sumStops / s.completed : 0,
    intersections,
    movements,
    vehicleUpdates: s.vehicleUpdates,
    vehiclesWaitingToEnter: s.waitingToEnter.reduce((a, b) => a + b, 0) + s.routePending,
  };
}
