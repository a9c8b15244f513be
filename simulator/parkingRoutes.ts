/**
 * Where a searching driver turns next (simulator/parking.ts): for every target link (a car
 * park's entrance link) and every simulated link, the turn at the link's stop line on the
 * fastest way to that target, and the time from the stop line to the target's start. Built
 * once per run, before it starts, by a Dijkstra per target on the simulator's own links
 * (topology.ts), so a driver whose car park turns out full picks its next links from a table
 * at each junction: no search while the simulation steps.
 *
 * Costs are those the parking recommender drives on (engine/parking/roads.ts): the next link's
 * free-flow time plus the plan's signal delay of the turn (read from the RoadGraph's
 * `turnDelayS`, set with its `setDelays`). A turn is allowed when a lane of the link carries
 * it. A turn out of the network (at the city's edge) is allowed as a turn-around: the driver
 * leaves, drives round streets the network does not hold, and comes back on the approach that
 * enters the same junction from the leg it left by, after TURN_AROUND_S (the recommender's
 * cost of a U-turn no lane carries), so the city is strongly connected for a searching driver.
 *
 * Also the map between the simulator's links (intersection approaches, topology.ts) and the
 * network's links (the RoadGraph's and the parking file's `linkId`): a network link from j to
 * i is the approach of i named by its direction of travel, as topology.ts builds it.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { entryLeg, exitLeg, movementIndex, movementSlot, MOVEMENT_COUNT, TURN_COUNT, travelDirection } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { TURN_AROUND_S, type RoadGraph } from '../engine/parking/roads.js';
import type { SimTopology } from './topology.js';

export { TURN_AROUND_S };

export interface ParkingRoutes {
  readonly linkCount: number;
  /** Simulator link → network (RoadGraph) link, -1 for an approach fed from outside. */
  readonly roadOfSim: Int32Array;
  /** Network link → simulator link, -1 when the network link feeds no simulated approach. */
  readonly simOfRoad: Int32Array;
  /** Per simulator link and turn: the link the turn leads to (-1 none: no lane carries it) and whether it is a turn-around off the network. */
  readonly turnNext: Int32Array;
  readonly turnAround: Uint8Array;
  /** Per simulator link and turn: the cost of reaching the next link's start from the stop line, s (Infinity: not allowed). */
  readonly turnCostS: Float64Array;
  /** Target links (simulator links), and the target index of each simulator link (-1: not a target). */
  readonly targets: Int32Array;
  readonly targetOf: Int32Array;
  /** [target * linkCount + link]: time from link's stop line to the target's start, s (Infinity: unreachable). */
  readonly toTargetS: Float64Array;
  /** [target * linkCount + link]: the turn to take at link's stop line towards the target (-1: none). */
  readonly bestTurn: Int8Array;
}

/**
 * Tables towards each of `targetRoadLinks` (network link indices, e.g. every car park's
 * entrance links), over the simulator's links of `top`.
 */
export function buildParkingRoutes(c: CompiledNetwork, top: SimTopology, roads: RoadGraph, targetRoadLinks: readonly number[]): ParkingRoutes {
  const L = top.linkCount;
  const net = c.network;
  const ixIndex = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const simByIxApproach = new Int32Array(c.intersectionCount * 4).fill(-1);
  for (let l = 0; l < L; l++) simByIxApproach[top.linkIntersection[l]! * 4 + top.linkApproach[l]!] = l;
  const roadOfSim = new Int32Array(L).fill(-1);
  const simOfRoad = new Int32Array(roads.linkCount).fill(-1);
  net.links.forEach((link, a) => {
    const j = ixIndex.get(link.from);
    const i = ixIndex.get(link.to);
    if (j === undefined || i === undefined) return;
    const dir = travelDirection(net.intersections[j]!.position, net.intersections[i]!.position);
    const l = simByIxApproach[i * 4 + APPROACH_IDS.indexOf(dir)]!;
    if (l < 0 || top.linkBoundary[l] === 1) return;
    simOfRoad[a] = l;
    roadOfSim[l] = a;
  });

  // The plan's delay per movement slot, as the recommender's graph holds it.
  const slotDelayS = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
  for (let t = 0; t < roads.turnMovement.length; t++) {
    const slot = roads.turnMovement[t]!;
    if (slot >= 0) slotDelayS[slot] = roads.turnDelayS[t]!;
  }

  const turnNext = new Int32Array(L * TURN_COUNT).fill(-1);
  const turnAround = new Uint8Array(L * TURN_COUNT);
  const turnCostS = new Float64Array(L * TURN_COUNT).fill(Infinity);
  for (let l = 0; l < L; l++) {
    const i = top.linkIntersection[l]!;
    const a = top.linkApproach[l]!;
    let served = 0;
    for (let q = top.linkLaneStart[l]!; q < top.linkLaneStart[l]! + top.linkLaneCount[l]!; q++) served |= c.laneMovementMask[top.linkLanes[q]!]!;
    for (let turn = 0; turn < TURN_COUNT; turn++) {
      const m = movementIndex(a, turn);
      if (((served >> m) & 1) === 0) continue;
      let next = top.linkNext[movementSlot(l, m)]!;
      let extraS = slotDelayS[movementSlot(i, m)]!;
      if (next < 0) {
        // Out at the city's edge: back on the approach entering this junction from the leg it left by.
        next = -1;
        for (let b = 0; b < 4; b++) {
          const back = simByIxApproach[i * 4 + b]!;
          if (back >= 0 && top.linkBoundary[back] === 1 && entryLeg(movementIndex(b, 0)) === exitLeg(m)) next = back;
        }
        if (next < 0) continue;
        turnAround[l * TURN_COUNT + turn] = 1;
        extraS = TURN_AROUND_S;
      }
      turnNext[l * TURN_COUNT + turn] = next;
      turnCostS[l * TURN_COUNT + turn] = extraS + top.linkLengthM[next]! / top.linkSpeedMps[next]!;
    }
  }

  const targetList: number[] = [];
  const targetOf = new Int32Array(L).fill(-1);
  for (const a of targetRoadLinks) {
    const l = simOfRoad[a]!;
    if (l < 0 || targetOf[l]! >= 0) continue;
    targetOf[l] = targetList.length;
    targetList.push(l);
  }
  const nT = targetList.length;
  const toTargetS = new Float64Array(nT * L).fill(Infinity);
  const bestTurn = new Int8Array(nT * L).fill(-1);
  // Predecessors: which (link, turn) lead into each link.
  const predStart = new Int32Array(L + 1);
  for (let x = 0; x < L * TURN_COUNT; x++) if (turnNext[x]! >= 0) predStart[turnNext[x]! + 1]!++;
  for (let l = 0; l < L; l++) predStart[l + 1] = predStart[l + 1]! + predStart[l]!;
  const pred = new Int32Array(predStart[L]!);
  const fill = predStart.slice(0, L);
  for (let x = 0; x < L * TURN_COUNT; x++) if (turnNext[x]! >= 0) pred[fill[turnNext[x]!]!++] = x;
  const done = new Uint8Array(L);
  for (let tIdx = 0; tIdx < nT; tIdx++) {
    const target = targetList[tIdx]!;
    const base = tIdx * L;
    done.fill(0);
    // Dijkstra backwards from the target's start. Value of link x: the time from x's stop line to
    // the target's start; through link n it is the cost of the turn into n, plus n's free-flow
    // time and n's own value (the turn's cost holds n's free-flow time already).
    const relax = (n: number, viaS: number): void => {
      for (let p = predStart[n]!; p < predStart[n + 1]!; p++) {
        const x = pred[p]!;
        const from = (x / TURN_COUNT) | 0;
        const turn = x % TURN_COUNT;
        const cost = n === target ? turnCostS[x]! - top.linkLengthM[n]! / top.linkSpeedMps[n]! : turnCostS[x]! + viaS;
        // Ties go to the lower turn index, whatever the order links are settled in.
        if (cost < toTargetS[base + from]! || (cost === toTargetS[base + from]! && turn < bestTurn[base + from]!)) {
          toTargetS[base + from] = cost;
          bestTurn[base + from] = turn;
        }
      }
    };
    relax(target, 0);
    for (;;) {
      let best = -1;
      for (let l = 0; l < L; l++) if (done[l] === 0 && Number.isFinite(toTargetS[base + l]!) && (best < 0 || toTargetS[base + l]! < toTargetS[base + best]!)) best = l;
      if (best < 0) break;
      done[best] = 1;
      relax(best, toTargetS[base + best]!);
    }
  }
  return { linkCount: L, roadOfSim, simOfRoad, turnNext, turnAround, turnCostS, targets: Int32Array.from(targetList), targetOf, toTargetS, bestTurn };
}
