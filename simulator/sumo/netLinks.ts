/**
 * The network around the imported signals: links between them (a direct
 * edge, or a chain of edges through nodes that only pass traffic on) and the
 * corridors to coordinate (chains of signals along one direction with
 * protected throughs both ways along straight roads). Called by the importer (importNet.ts).
 */
import type { ApproachId } from '../../engine/network/schema.js';
import { travelDirection } from '../../engine/network/geometry.js';
import { clamp, round1 } from '../../engine/numeric.js';
import type { SumoEdge } from './netXml.js';
import type { IntersectionJson, NetworkJson } from './importNet.js';

/** Nodes a link may pass through between two signals (turn-bay starts, geometry nodes). */
const MAX_PASS_THROUGH_NODES = 8;
const OPPOSITE: Record<ApproachId, ApproachId> = { EB: 'WB', WB: 'EB', NB: 'SB', SB: 'NB' };

/**
 * Links between imported signals: a direct edge, or a chain of edges through nodes that only
 * pass traffic on (a turn bay's start, where the lane count changes, or a geometry node).
 */
export function linksBetweenSignals(edges: ReadonlyMap<string, SumoEdge>, intersections: readonly IntersectionJson[]): NetworkJson['links'] {
  const ixById = new Map(intersections.map((ix) => [ix.id, ix]));
  const edgesFrom = new Map<string, SumoEdge[]>();
  for (const e of edges.values()) {
    const list = edgesFrom.get(e.from) ?? [];
    list.push(e);
    edgesFrom.set(e.from, list);
  }
  const netLinks: NetworkJson['links'] = [];
  const pairs = new Set<string>();
  for (const first of edges.values()) {
    if (!ixById.has(first.from)) continue;
    let e = first;
    let lengthM = 0;
    let speed = 0;
    for (let hops = 0; ; hops++) {
      lengthM += Math.max(...e.lanes.map((l) => l.lengthM), 1);
      speed = Math.max(speed, ...e.lanes.map((l) => l.speedMps));
      if (ixById.has(e.to) || hops >= MAX_PASS_THROUGH_NODES) break;
      const onward = (edgesFrom.get(e.to) ?? []).filter((x) => x.to !== e.from);
      if (onward.length !== 1) break;
      e = onward[0]!;
    }
    if (!ixById.has(e.to) || e.to === first.from) continue;
    const key = `${first.from}\u0000${e.to}`;
    if (pairs.has(key)) continue;
    pairs.add(key);
    netLinks.push({ id: first.id.length <= 64 ? first.id : `link${netLinks.length + 1}`, from: first.from, to: e.to, lengthM: round1(Math.min(lengthM, 20_000)), designSpeedKph: round1(clamp(speed * 3.6, 10, 120)) });
  }
  return netLinks;
}

/**
 * Per approach edge of a signal (SUMO edge id): the length of the way to it from the signal
 * upstream, m, along the same chains `linksBetweenSignals` follows (through nodes that only pass
 * traffic on). The links themselves name only the two signals, and the simulator's topology
 * puts a link on the approach the compass direction between them names; on irregular nets
 * (`netgenerate --rand`) that is often another approach, which then gets the wrong length.
 * Approach edges with no signal upstream on such a chain are absent.
 */
export function approachWayLengths(edges: ReadonlyMap<string, SumoEdge>, signals: ReadonlySet<string>): Map<string, number> {
  const edgesFrom = new Map<string, SumoEdge[]>();
  for (const e of edges.values()) {
    const list = edgesFrom.get(e.from) ?? [];
    list.push(e);
    edgesFrom.set(e.from, list);
  }
  const out = new Map<string, number>();
  for (const first of edges.values()) {
    if (!signals.has(first.from)) continue;
    let e = first;
    let lengthM = 0;
    for (let hops = 0; ; hops++) {
      lengthM += Math.max(...e.lanes.map((l) => l.lengthM), 1);
      if (signals.has(e.to) || hops >= MAX_PASS_THROUGH_NODES) break;
      const onward = (edgesFrom.get(e.to) ?? []).filter((x) => x.to !== e.from);
      if (onward.length !== 1) break;
      e = onward[0]!;
    }
    if (!signals.has(e.to) || e.to === first.from) continue;
    const wayM = round1(Math.min(lengthM, 20_000));
    if (!out.has(e.id) || out.get(e.id)! < wayM) out.set(e.id, wayM);
  }
  return out;
}

export function findCorridors(intersections: readonly IntersectionJson[], links: NetworkJson['links'], outboundWeight: number, bending: ReadonlySet<string> = new Set()): NetworkJson['corridors'] {
  const byId = new Map(intersections.map((ix) => [ix.id, ix]));
  const linkLen = new Map(links.map((l) => [`${l.from}\u0000${l.to}`, l.lengthM]));
  const twoWay = (u: string, v: string) => linkLen.has(`${u}\u0000${v}`) && linkLen.has(`${v}\u0000${u}`);
  // A road bending through a T or Y junction (`${junction}:${approach}` in `bending`) is a through movement, not a corridor's straight run.
  const throughProtected = (ix: IntersectionJson, ap: ApproachId) => !bending.has(`${ix.id}:${ap}`) && ix.phasing.stages.some((s) => s.protected.includes(`${ap}T`));
  const qualifies = (ix: IntersectionJson, d: ApproachId) => throughProtected(ix, d) && throughProtected(ix, OPPOSITE[d]);
  const chains: string[][] = [];
  for (const d of ['EB', 'NB'] as const) {
    const next = new Map<string, string>();
    for (const u of intersections) {
      if (!qualifies(u, d)) continue;
      let best: string | undefined;
      let bestLen = Infinity;
      for (const v of intersections) {
        if (v.id === u.id || !qualifies(v, d) || !twoWay(u.id, v.id)) continue;
        if (travelDirection(u.position, v.position) !== d) continue;
        const len = linkLen.get(`${u.id}\u0000${v.id}`)!;
        if (len < bestLen) {
          bestLen = len;
          best = v.id;
        }
      }
      if (best !== undefined) next.set(u.id, best);
    }
    const hasPrev = new Set(next.values());
    for (const u of intersections) {
      if (hasPrev.has(u.id) || !next.has(u.id)) continue;
      const chain = [u.id];
      let cur = u.id;
      while (next.has(cur) && !chain.includes(next.get(cur)!)) {
        cur = next.get(cur)!;
        chain.push(cur);
      }
      if (chain.length >= 3) chains.push(chain);
    }
  }
  // Longest first; an intersection is coordinated by one corridor only.
  chains.sort((a, b) => b.length - a.length || a[0]!.localeCompare(b[0]!));
  const used = new Set<string>();
  const out: NetworkJson['corridors'] = [];
  for (const chain of chains) {
    if (chain.some((id) => used.has(id))) continue;
    chain.forEach((id) => used.add(id));
    const first = byId.get(chain[0]!)!;
    const dir = travelDirection(first.position, byId.get(chain[1]!)!.position);
    const id = `${dir}-${chain[0]}-${chain[chain.length - 1]}`;
    out.push({ id: id.length <= 64 ? id : `corridor${out.length + 1}`, name: `${dir}/${OPPOSITE[dir]} ${chain.join(' – ')}`.slice(0, 200), intersections: chain, outboundWeight });
  }
  return out;
}
