/**
 * Lane-blocking incidents in the simulator: a stopped obstacle (a broken-down
 * car, a crash) in one lane of a link, at a position, from a start time for a
 * duration. Vehicles in that lane see it as a standing leader (idm.ts reads
 * `laneBlockM`); vehicles close behind it merge into a neighbouring lane of the
 * same link when a gap there allows (the simulator otherwise has no lane
 * changing along a link). Used by `Simulation.addIncident` (simulation.ts), the
 * incident detection benchmark (bench/incidents) and its tests.
 *
 * The bypass, kept simple on purpose:
 *  - every vehicle whose front is behind the obstacle and within MERGE_ZONE_M
 *    of it tries, each step, the lane to its left and to its right (the link's
 *    lane order, median out); a lane serving its movement first;
 *  - it moves over when its body fits between that lane's vehicles with the
 *    minimum gap ahead, and the follower there has at least its minimum gap
 *    plus half a headway at its speed behind it (a polite zipper merge: a
 *    standing queue in the next lane lets nobody in, a moving one does);
 *  - a random-turn vehicle merging into a lane that does not serve its turn
 *    takes a turn that lane serves (straight on if it can), as the lane choice
 *    already lets a driver change its mind on the turn; a route vehicle or a
 *    tracked bus only merges into a lane serving its movement;
 *  - new arrivals still pick lanes as before; the blocked lane's queue makes it
 *    the fullest, so the emptiest-lane choice steers most of them away.
 * No random draw is made here, so a run stays deterministic by seed; a run
 * without incidents does not enter this module's step at all and is bit for
 * bit what it was. Incidents live beside the state, like tracked vehicles: a
 * fork (`copyStateFrom`) does not carry them.
 */
import { movementIndex } from '../engine/network/geometry.js';
import { OptionError } from '../engine/errors.js';
import { insertAt, insertIndex, laneVehicle, removeAt } from './lanes.js';
import { firstTurn } from './laneChoice.js';
import { IDM, type SimCore } from './vehicles.js';

/** A vehicle this close behind the obstacle (front to obstacle, m) looks for a gap next door. */
export const MERGE_ZONE_M = 60;

/** One lane blockage. */
export interface LaneIncident {
  /** Compiled lane index (`CompiledNetwork.laneIds` order). */
  readonly lane: number;
  /** Where the obstacle stands, m from the link's start (its rear: vehicles stop behind it). */
  readonly positionM: number;
  readonly startS: number;
  readonly durationS: number;
}

/** Incidents of a run, and the per-lane obstacle the car-following step reads. */
export interface IncidentTable {
  readonly list: LaneIncident[];
  /** Obstacle position per lane now, m; NaN = no obstacle (every comparison with NaN is false). */
  readonly laneBlockM: Float64Array;
}

export function createIncidentTable(lanes: number): IncidentTable {
  return { list: [], laneBlockM: new Float64Array(lanes).fill(Number.NaN) };
}

/** Checks an incident against the network and adds it; throws OptionError with the field path. */
export function addIncident(core: SimCore, incident: LaneIncident): void {
  const top = core.top;
  const { lane, positionM, startS, durationS } = incident;
  if (!Number.isInteger(lane) || lane < 0 || lane >= top.laneLink.length || top.laneLink[lane]! < 0) throw new OptionError('incident.lane', `not a simulated lane: ${lane}`);
  const len = top.linkLengthM[top.laneLink[lane]!]!;
  if (!(positionM > 0 && positionM < len)) throw new OptionError('incident.positionM', `must be inside the link (0, ${len}) m, got ${positionM}`);
  if (!(startS >= 0 && Number.isFinite(startS))) throw new OptionError('incident.startS', `must be ≥ 0, got ${startS}`);
  if (!(durationS > 0 && Number.isFinite(durationS))) throw new OptionError('incident.durationS', `must be > 0, got ${durationS}`);
  core.incidents.list.push({ lane, positionM, startS, durationS });
}

/** Start of a step at t: sets each lane's obstacle, then lets vehicles near an obstacle merge around it. */
export function stepIncidents(core: SimCore, t: number): void {
  const { list, laneBlockM } = core.incidents;
  for (const inc of list) laneBlockM[inc.lane] = Number.NaN;
  for (const inc of list) {
    if (t >= inc.startS && t < inc.startS + inc.durationS) {
      const cur = laneBlockM[inc.lane]!;
      // Two obstacles in one lane: the one further upstream is what the queue sees first.
      laneBlockM[inc.lane] = Number.isNaN(cur) ? inc.positionM : Math.min(cur, inc.positionM);
    }
  }
  for (const inc of list) if (laneBlockM[inc.lane] === inc.positionM) mergeAround(core, inc.lane, inc.positionM);
}

/** Vehicles behind the obstacle in `lane`, within the merge zone, move next door where a gap allows. */
function mergeAround(core: SimCore, lane: number, blockM: number): void {
  const s = core.s;
  const top = core.top;
  const link = top.laneLink[lane]!;
  const first = top.linkLaneStart[link]!;
  const n = top.linkLaneCount[link]!;
  let q = 0;
  while (top.linkLanes[first + q] !== lane) q++;
  let k = 0;
  while (k < s.laneSize[lane]!) {
    const v = laneVehicle(core, lane, k);
    const pos = s.vPos[v]!;
    if (pos >= blockM) {
      k++;
      continue;
    }
    if (blockM - pos > MERGE_ZONE_M) break;
    const left = q > 0 ? top.linkLanes[first + q - 1]! : -1;
    const right = q < n - 1 ? top.linkLanes[first + q + 1]! : -1;
    const m = s.vMove[v]!;
    const flexible = s.vRoute[v]! < 0 && core.buses.vTracked[v] !== 1;
    // A lane for its movement first (left before right), then any neighbour if it may change its turn.
    let moved = false;
    for (let pass = 0; pass < 4 && !moved; pass++) {
      const target = pass === 0 || pass === 2 ? left : right;
      if (target < 0 || (pass < 2 ? !servesMove(core, target, m) : !flexible || servesMove(core, target, m))) continue;
      // Not into a lane blocked further on: the vehicle would only have to merge back.
      if (core.incidents.laneBlockM[target]! > pos) continue;
      // Nor into a turn bay that has not begun yet (laneChange.ts).
      if (core.lc.laneStartM[target]! > pos) continue;
      const at = insertIndex(core, target, pos, s.vLength[v]!, 0.5 * IDM.headwayS);
      if (at < 0) continue;
      removeAt(core, lane, k);
      insertAt(core, v, target, at);
      if (pass >= 2) s.vMove[v] = movementIndex(top.linkApproach[link]!, firstTurn(core, target, link));
      moved = true;
    }
    if (!moved) k++;
  }
}

function servesMove(core: SimCore, lane: number, move: number): boolean {
  return ((core.c.laneMovementMask[lane]! >> move) & 1) === 1;
}
