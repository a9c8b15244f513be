/**
 * The road graph the simulator drives on, derived from a compiled greenwave
 * network: one approach link per intersection approach, its lanes in the
 * compiled lane order, where each movement leads (the next signal's approach
 * or out of the network), and where each loop detector sits. Built once per
 * simulation; the step loop only reads these typed arrays.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { APPROACH_IDS, type ApproachId } from '../engine/network/schema.js';
import { exitLeg, movementIndex, movementSlot, travelDirection } from '../engine/network/geometry.js';

/** Length of an approach that enters the network from outside (no upstream signal), m. */
export const BOUNDARY_APPROACH_M = 250;
const LEG_TO_DIRECTION: ApproachId[] = ['NB', 'EB', 'SB', 'WB']; // leaving by leg N/E/S/W = travelling N/E/S/W

export interface SimTopology {
  readonly intersectionCount: number;
  /** Approach links: (intersection, approach) pairs that have lanes. */
  readonly linkCount: number;
  readonly linkIntersection: Int32Array;
  readonly linkApproach: Uint8Array;
  readonly linkLengthM: Float64Array;
  readonly linkSpeedMps: Float64Array;
  /** 1 when vehicles enter the link from outside the network. */
  readonly linkBoundary: Uint8Array;
  /** Link each approach link's movement leads to: [link * 16 + movement], -1 = leaves the network. */
  readonly linkNext: Int32Array;
  /** Lanes: compiled lane index → link. */
  readonly laneLink: Int32Array;
  readonly linkLaneStart: Int32Array;
  readonly linkLaneCount: Int32Array;
  /** Compiled lane indices of each link, contiguous per link. */
  readonly linkLanes: Int32Array;
  /** Detector position from the link start, m. */
  readonly detectorPosM: Float64Array;
  readonly detectorLane: Int32Array;
  /** Opposing link of each link (for permitted-left gap acceptance), -1 if none. */
  readonly linkOpposing: Int32Array;
}

/**
 * `approachLengthM`, keyed `${intersectionId}:${approachId}`, gives approaches their length
 * where the caller knows it better than the network's links (a SUMO net: the way from the
 * signal upstream along its own edges, sumo/netLinks.ts `approachWayLengths`); the link then
 * counts as fed from inside the network.
 */
export function buildTopology(c: CompiledNetwork, approachLengthM?: ReadonlyMap<string, number>): SimTopology {
  const net = c.network;
  const n = c.intersectionCount;
  const keyOf = (i: number, a: number) => `${i}:${a}`;
  const linkIndex = new Map<string, number>();
  const linkIntersection: number[] = [];
  const linkApproach: number[] = [];
  const linkSpeed: number[] = [];
  net.intersections.forEach((ix, i) => {
    for (const ap of ix.approaches) {
      const a = APPROACH_IDS.indexOf(ap.id);
      linkIndex.set(keyOf(i, a), linkIntersection.length);
      linkIntersection.push(i);
      linkApproach.push(a);
      linkSpeed.push(ap.speedKph / 3.6);
    }
  });
  const linkCount = linkIntersection.length;
  const linkLength = new Float64Array(linkCount).fill(BOUNDARY_APPROACH_M);
  const linkBoundary = new Uint8Array(linkCount).fill(1);
  const linkNext = new Int32Array(linkCount * 16).fill(-1);
  const ids = new Map(net.intersections.map((ix, i) => [ix.id, i]));
  // A network link from j to i feeds i's approach named by its direction of travel.
  const downstreamOf = new Map<string, number>(); // `${j}:${direction}` → link at i
  for (const link of net.links) {
    const j = ids.get(link.from);
    const i = ids.get(link.to);
    if (j === undefined || i === undefined) continue;
    const dir = travelDirection(net.intersections[j]!.position, net.intersections[i]!.position);
    const target = linkIndex.get(keyOf(i, APPROACH_IDS.indexOf(dir)));
    if (target === undefined) continue;
    linkLength[target] = link.lengthM;
    linkBoundary[target] = 0;
    downstreamOf.set(`${j}:${dir}`, target);
  }
  if (approachLengthM !== undefined) {
    for (let l = 0; l < linkCount; l++) {
      const lengthM = approachLengthM.get(`${net.intersections[linkIntersection[l]!]!.id}:${APPROACH_IDS[linkApproach[l]!]!}`);
      if (lengthM === undefined) continue;
      linkLength[l] = lengthM;
      linkBoundary[l] = 0;
    }
  }
  for (let l = 0; l < linkCount; l++) {
    const i = linkIntersection[l]!;
    const a = linkApproach[l]!;
    for (let turn = 0; turn < 4; turn++) {
      const m = movementIndex(a, turn);
      const dir = LEG_TO_DIRECTION[exitLeg(m)]!;
      linkNext[movementSlot(l, m)] = downstreamOf.get(`${i}:${dir}`) ?? -1;
    }
  }
  const laneLink = new Int32Array(c.laneIds.length).fill(-1);
  const perLink: number[][] = Array.from({ length: linkCount }, () => []);
  for (let i = 0; i < n; i++) {
    for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
      const mask = c.laneMovementMask[l]!;
      let a = 0;
      while (a < 4 && ((mask >> (a * 4)) & 0xf) === 0) a++;
      const link = linkIndex.get(keyOf(i, a));
      if (link === undefined) continue;
      laneLink[l] = link;
      perLink[link]!.push(l);
    }
  }
  const linkLaneStart = new Int32Array(linkCount);
  const linkLaneCount = new Int32Array(linkCount);
  const linkLanes: number[] = [];
  perLink.forEach((lanes, link) => {
    linkLaneStart[link] = linkLanes.length;
    linkLaneCount[link] = lanes.length;
    linkLanes.push(...lanes);
  });
  const detectorPosM = new Float64Array(c.detectorIds.length);
  const detectorLane = new Int32Array(c.detectorIds.length);
  let d = 0;
  for (const ix of net.intersections) {
    for (const det of ix.detectors) {
      const lane = c.detectorLane[d]!;
      const link = laneLink[lane]!;
      detectorLane[d] = lane;
      detectorPosM[d] = Math.max(0, (link >= 0 ? linkLength[link]! : BOUNDARY_APPROACH_M) - det.distanceM);
      d++;
    }
  }
  const linkOpposing = new Int32Array(linkCount).fill(-1);
  const opposite = [1, 0, 3, 2]; // NB↔SB, EB↔WB
  for (let l = 0; l < linkCount; l++) linkOpposing[l] = linkIndex.get(keyOf(linkIntersection[l]!, opposite[linkApproach[l]!]!)) ?? -1;
  return {
    intersectionCount: n,
    linkCount,
    linkIntersection: Int32Array.from(linkIntersection),
    linkApproach: Uint8Array.from(linkApproach),
    linkLengthM: linkLength,
    linkSpeedMps: Float64Array.from(linkSpeed),
    linkBoundary,
    linkNext,
    laneLink,
    linkLaneStart,
    linkLaneCount,
    linkLanes: Int32Array.from(linkLanes),
    detectorPosM,
    detectorLane,
    linkOpposing,
  };
}
