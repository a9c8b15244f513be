/**
 * Puts SUMO trips on the simulator's road graph: the first signal approach a
 * trip reaches is its entry link, each (approach edge, next edge) pair it
 * drives through a signal is a movement, the next signal approach on its
 * route (through any junctions without signals) is the link it drives on to,
 * coming onto it as far along as that link is longer than its way there, and
 * it leaves where its route leaves the modelled links or ends. Called by
 * `greenwave sim` and bench/fidelity.
 *
 * The next link is the route's, not the movement's geometric exit
 * (topology.ts `linkNext`): on irregular nets (`netgenerate --rand`) a left
 * turn does not always lead to the approach the compass names, and the chain
 * of edges to the next signal may branch at a priority junction; trips used to
 * leave the network there, after two or three of their six signals.
 *
 * The simulator models only signal approaches. Driving on edges outside them
 * (the streets before the first signal, after the last) is taken as free
 * flow: a trip that starts further upstream than its entry link is long
 * enters that link's start as much later as the extra distance takes at the
 * edges' speed limits, and the time it would lose there is not counted.
 * Trips that cross no modelled approach are left out (`unmodelled`).
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { movementSlot, parseMovementId } from '../../engine/network/geometry.js';
import { APPROACH_IDS } from '../../engine/network/schema.js';
import type { SimTopology } from '../topology.js';
import { NEXT_BY_TOPOLOGY, routeTable, type RouteRecord, type SimRoutes } from '../routeTable.js';
import type { SumoMapping } from './importNet.js';
import type { SumoGraph, SumoTrip } from './routes.js';

export interface MappedRoutes {
  readonly routes: SimRoutes;
  /** Trips that never drive on a modelled approach (free flow in the simulator's terms). */
  readonly unmodelled: number;
  /** Trips dropped because a turn they make is not one the simulator's lanes serve. */
  readonly unservedTurn: number;
}

export function mapTrips(trips: readonly SumoTrip[], graph: SumoGraph, c: CompiledNetwork, top: SimTopology, mapping: SumoMapping): MappedRoutes {
  const linkOf = new Map<string, number>(); // `${intersection}:${approach}` → link
  for (let l = 0; l < top.linkCount; l++) linkOf.set(`${top.linkIntersection[l]}:${top.linkApproach[l]}`, l);
  const intersectionIndex = new Map(c.intersectionIds.map((id, i) => [id, i]));
  // Approach edge → its link, and (approach edge, next edge) → movement.
  const approachLink = new Map<string, number>();
  const moveOf = new Map<string, number>();
  for (const m of mapping.intersections) {
    const i = intersectionIndex.get(m.intersectionId);
    if (i === undefined) continue;
    for (const ap of m.approaches) {
      const link = linkOf.get(`${i}:${APPROACH_IDS.indexOf(ap.approach)}`);
      if (link !== undefined) approachLink.set(ap.edgeId, link);
    }
    for (const info of m.links) {
      if (!info?.movement) continue;
      const ref = parseMovementId(info.movement);
      if (ref) moveOf.set(`${info.from}\u0000${info.to}`, ref.index);
    }
  }
  const servedMask = new Int32Array(top.linkCount);
  for (let l = 0; l < top.linkCount; l++) {
    for (let k = top.linkLaneStart[l]!; k < top.linkLaneStart[l]! + top.linkLaneCount[l]!; k++) servedMask[l] = servedMask[l]! | c.laneMovementMask[top.linkLanes[k]!]!;
  }
  const len = (e: string) => graph.edges.get(e)?.lengthM ?? 0;
  // Σ length / speed² over `metres` of edges E[from..to), taken from their start (or, with fromEnd, their end).
  const lossRate = (E: readonly string[], from: number, to: number, metres: number, fromEnd: boolean): number => {
    let rate = 0;
    let left = metres;
    for (let q = fromEnd ? to - 1 : from; left > 0 && q >= from && q < to; q += fromEnd ? -1 : 1) {
      const info = graph.edges.get(E[q]!);
      if (!info) continue;
      const d = Math.min(left, info.lengthM);
      rate += d / (info.speedMps * info.speedMps);
      left -= d;
    }
    return rate;
  };
  const out: RouteRecord[] = [];
  let unmodelled = 0;
  let unservedTurn = 0;
  nextTrip: for (const trip of trips) {
    const E = trip.edges;
    let j = E.findIndex((e) => approachLink.has(e));
    if (j < 0) {
      unmodelled++;
      continue;
    }
    let link = approachLink.get(E[j]!)!;
    // Distance from the trip's start to the entry link's stop line, and the time to drive the part that lies upstream of the link.
    let toLineM = 0;
    let upstreamS = 0;
    let outside = 0;
    for (let k = 0; k <= j; k++) toLineM += len(E[k]!);
    let entryPosM = top.linkLengthM[link]! - toLineM;
    if (entryPosM < 0) {
      let excess = -entryPosM;
      for (let k = 0; k <= j && excess > 0; k++) {
        const info = graph.edges.get(E[k]!)!;
        const d = Math.min(excess, info.lengthM);
        upstreamS += d / info.speedMps;
        outside += d / (info.speedMps * info.speedMps);
        excess -= d;
      }
      entryPosM = 0;
    }
    const entryLink = link;
    const legs: number[] = [];
    const next: number[] = [];
    const nextPosM: number[] = [];
    let arrivePosM = top.linkLengthM[link]!;
    for (;;) {
      if (j + 1 >= E.length) {
        arrivePosM = top.linkLengthM[link]!;
        break;
      }
      const m = moveOf.get(`${E[j]}\u0000${E[j + 1]}`);
      if (m === undefined || m >> 2 !== top.linkApproach[link] || !((servedMask[link]! >> m) & 1)) {
        unservedTurn++;
        continue nextTrip;
      }
      legs.push(m);
      // The next signal approach on its route, through any junctions without signals on the way.
      let k = j + 1;
      let wayM = 0;
      while (k < E.length && !approachLink.has(E[k]!)) wayM += len(E[k++]!);
      if (k < E.length) {
        const routeNext = approachLink.get(E[k]!)!;
        wayM += len(E[k]!);
        // It comes onto that link as far along as the link is longer than its way there (a link
        // shorter than the way is driven from its start; lengths within a metre are the same).
        const posM = top.linkLengthM[routeNext]! - wayM;
        // A way longer than the link: its first metres are not driven.
        if (posM < 1 && wayM > top.linkLengthM[routeNext]!) outside += lossRate(E, j + 1, k + 1, wayM - top.linkLengthM[routeNext]!, false);
        next.push(routeNext);
        nextPosM.push(posM >= 1 ? posM : 0);
        link = routeNext;
        j = k;
        continue;
      }
      // No signal ahead on its route: the topology's next link, if any, is the one it drives on.
      next.push(NEXT_BY_TOPOLOGY);
      nextPosM.push(0);
      const topoNext = top.linkNext[movementSlot(link, m)]!;
      if (topoNext < 0) {
        // It leaves the network at the stop line: the rest of its route is not driven.
        outside += lossRate(E, j + 1, E.length, Infinity, false);
        arrivePosM = Infinity;
        break;
      }
      // The route ends (or turns off) before the next signal: it leaves where the rest of its route runs out.
      const nextLink = topoNext;
      let rest = 0;
      for (let q = j + 1; q < E.length; q++) rest += len(E[q]!);
      link = nextLink;
      arrivePosM = Math.min(rest, top.linkLengthM[nextLink]!);
      if (rest > arrivePosM) outside += lossRate(E, j + 1, E.length, rest - arrivePosM, true);
      break;
    }
    out.push({
      id: trip.id,
      entryS: trip.departS + upstreamS,
      entryLink,
      entryPosM,
      // A trip that drove upstream edges first arrives at its desired speed.
      entrySpeedMps: trip.departSpeed === 'max' || upstreamS > 0 ? Number.NaN : trip.departSpeed,
      legs,
      next,
      nextPosM,
      arrivePosM,
      outsideLossSPerMps: outside,
      // Departing before the entry link, not at its desired speed: it would have got up to speed there.
      ...(upstreamS > 0 && trip.departSpeed !== 'max' ? { upstreamStart: { fromMps: trip.departSpeed, limitMps: graph.edges.get(E[0]!)?.speedMps ?? top.linkSpeedMps[entryLink]! } } : {}),
    });
  }
  out.sort((a, b) => a.entryS - b.entryS);
  return { routes: routeTable(out), unmodelled, unservedTurn };
}
