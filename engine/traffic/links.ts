/**
 * The road sections the traffic state is kept for, in dense form: one link per
 * signal approach (intersection × approach with lanes), in the same order as
 * the simulator's approach links (simulator/topology.ts), so an index means the
 * same section in both. A network link (`links[]` of the network file) that
 * feeds the approach names it and gives its length; an approach fed from
 * outside the network (a side street, the ends of a corridor) is named
 * `<intersection>-<approach>` and given a nominal length. Built once per
 * network by whoever keeps a traffic state (linkState.ts, the gRPC
 * TrafficStateService); the per-interval work only reads these typed arrays.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { DetectorKind } from '../network/compile.js';
import { APPROACH_IDS } from '../network/schema.js';
import { travelDirection } from '../network/geometry.js';

/** Length given to an approach that no network link feeds, m (the simulator's boundary approach length). */
export const NOMINAL_APPROACH_M = 250;

/**
 * Link classes as GB/T 33171 grades roads (congestion.ts): the network file has no road class,
 * so an approach fed by a link of a corridor counts as an arterial (主干路), one fed by another
 * network link as a collector (次干路), and one fed from outside the network as a side street
 * (支路, graded with the collectors).
 */
export const LinkClass = { Arterial: 0, Collector: 1, Side: 2 } as const;
export type LinkClass = (typeof LinkClass)[keyof typeof LinkClass];
export const LINK_CLASS_NAMES = ['arterial', 'collector', 'side'] as const;

export interface TrafficLinks {
  readonly count: number;
  readonly ids: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Intersection at the downstream end (the signal the link's stop line belongs to). */
  readonly toIntersection: Int32Array;
  /** Upstream intersection, -1 when the link enters from outside the network. */
  readonly fromIntersection: Int32Array;
  readonly approach: Uint8Array;
  readonly lengthM: Float64Array;
  /** Free-flow (approach design) speed, km/h. */
  readonly freeFlowKph: Float64Array;
  readonly linkClass: Uint8Array;
  /** Compiled lanes of the link: linkLanes[laneStart[k] .. laneStart[k+1]). */
  readonly laneStart: Int32Array;
  readonly lanes: Int32Array;
  /** Advance loops of the link (speed from occupancy): advStart/adv, like the lanes. */
  readonly advStart: Int32Array;
  readonly adv: Int32Array;
  /** Links of each corridor, in the corridor's order (outbound then inbound). */
  readonly corridors: readonly { readonly id: string; readonly links: Int32Array }[];
  /** The link from intersection a to b (a network link), by `${a}>${b}` intersection ids. */
  readonly between: ReadonlyMap<string, number>;
}

export function trafficLinks(c: CompiledNetwork): TrafficLinks {
  const net = c.network;
  const ixIndex = new Map(net.intersections.map((ix, i) => [ix.id, i]));
  const keyOf = (i: number, a: number): string => `${i}:${a}`;
  const linkOf = new Map<string, number>();
  const to: number[] = [];
  const appr: number[] = [];
  const ff: number[] = [];
  net.intersections.forEach((ix, i) => {
    for (const ap of ix.approaches) {
      const a = APPROACH_IDS.indexOf(ap.id);
      linkOf.set(keyOf(i, a), to.length);
      to.push(i);
      appr.push(a);
      ff.push(ap.speedKph);
    }
  });
  const n = to.length;
  const ids: string[] = to.map((i, k) => `${c.intersectionIds[i]}-${APPROACH_IDS[appr[k]!]}`);
  const from = new Int32Array(n).fill(-1);
  const lengthM = new Float64Array(n).fill(NOMINAL_APPROACH_M);
  const linkClass = new Uint8Array(n).fill(LinkClass.Side);
  const between = new Map<string, number>();
  const corridorPairs = new Set<string>();
  for (const cor of net.corridors) {
    for (let k = 0; k + 1 < cor.intersections.length; k++) {
      corridorPairs.add(`${cor.intersections[k]}>${cor.intersections[k + 1]}`);
      corridorPairs.add(`${cor.intersections[k + 1]}>${cor.intersections[k]}`);
    }
  }
  for (const link of net.links) {
    const j = ixIndex.get(link.from);
    const i = ixIndex.get(link.to);
    if (j === undefined || i === undefined) continue;
    const dir = travelDirection(net.intersections[j]!.position, net.intersections[i]!.position);
    const k = linkOf.get(keyOf(i, APPROACH_IDS.indexOf(dir)));
    if (k === undefined) continue;
    ids[k] = link.id;
    from[k] = j;
    lengthM[k] = link.lengthM;
    linkClass[k] = corridorPairs.has(`${link.from}>${link.to}`) ? LinkClass.Arterial : LinkClass.Collector;
    between.set(`${link.from}>${link.to}`, k);
  }
  // Lanes: a lane belongs to the approach its movements enter by.
  const perLink: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < c.intersectionCount; i++) {
    for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
      const mask = c.laneMovementMask[l]!;
      let a = 0;
      while (a < 4 && ((mask >> (a * 4)) & 0xf) === 0) a++;
      const k = linkOf.get(keyOf(i, a));
      if (k !== undefined) perLink[k]!.push(l);
    }
  }
  const laneLink = new Int32Array(c.laneIds.length).fill(-1);
  perLink.forEach((lanes, k) => {
    for (const l of lanes) laneLink[l] = k;
  });
  const perLinkAdv: number[][] = Array.from({ length: n }, () => []);
  for (let d = 0; d < c.detectorIds.length; d++) {
    const k = laneLink[c.detectorLane[d]!]!;
    if (k >= 0 && c.detectorKind[d] === DetectorKind.Advance) perLinkAdv[k]!.push(d);
  }
  const flatten = (lists: number[][]): { start: Int32Array; flat: Int32Array } => {
    const start = new Int32Array(lists.length + 1);
    const flat: number[] = [];
    lists.forEach((xs, k) => {
      start[k] = flat.length;
      flat.push(...xs);
    });
    start[lists.length] = flat.length;
    return { start, flat: Int32Array.from(flat) };
  };
  const lanes = flatten(perLink);
  const adv = flatten(perLinkAdv);
  const corridors = net.corridors.map((cor) => {
    const ks: number[] = [];
    const seq = cor.intersections;
    for (let k = 0; k + 1 < seq.length; k++) {
      const x = between.get(`${seq[k]}>${seq[k + 1]}`);
      if (x !== undefined) ks.push(x);
    }
    for (let k = seq.length - 1; k > 0; k--) {
      const x = between.get(`${seq[k]}>${seq[k - 1]}`);
      if (x !== undefined) ks.push(x);
    }
    return { id: cor.id, links: Int32Array.from(ks) };
  });
  return {
    count: n,
    ids,
    index: new Map(ids.map((id, k) => [id, k])),
    toIntersection: Int32Array.from(to),
    fromIntersection: from,
    approach: Uint8Array.from(appr),
    lengthM,
    freeFlowKph: Float64Array.from(ff),
    linkClass,
    laneStart: lanes.start,
    lanes: lanes.flat,
    advStart: adv.start,
    adv: adv.flat,
    corridors,
    between,
  };
}
