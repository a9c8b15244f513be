/**
 * Splits a city's network into regions of at most `maxSignals` signals, the unit one cluster
 * node owns at a time (service/cluster/: a region's lease decides which node drives its
 * controllers). Called by the cluster node and its tests; the planner does not use regions.
 *
 * Rules, so that a region boundary never cuts what the planner coordinates:
 *  - a corridor (its signals as the planner counts them, crossing.ts's corridorMembers: a
 *    signal on two corridors belongs to the first) is never split: one longer than
 *    `maxSignals` is an input error;
 *  - a signal system (corridors joined by links of at most SYSTEM_LINK_MAX_M, crossing.ts's
 *    corridorSystems) stays in one region when it fits; a larger one is cut between whole
 *    corridors, taken breadth-first from its westernmost-southernmost corridor so that each
 *    piece is connected where the system allows it, and the links it cuts are reported as
 *    `borderLinks` (where borders.ts coordinates cycles and offsets across regions);
 *  - signals on no corridor run isolated plans and go wherever there is room near them.
 * The pieces are then packed in order along a Hilbert curve over their centres, one region
 * after another (next fit), which keeps regions compact and the result independent of the
 * order of intersections and links in the file. Corridor order matters only as it does to the
 * planner (which corridor claims a shared signal). Same input, same regions.
 */
import { ValidationError } from '../errors.js';
import { SYSTEM_LINK_MAX_M } from '../corridor/crossing.js';

/** What regions need of a network (a validated Network has all of it). */
export interface RegionNetwork {
  readonly intersections: readonly { readonly id: string; readonly position: { readonly lon: number; readonly lat: number } }[];
  readonly links: readonly { readonly id: string; readonly from: string; readonly to: string; readonly lengthM: number }[];
  readonly corridors: readonly { readonly id: string; readonly intersections: readonly string[] }[];
}

export interface Region {
  /** `r0000`, `r0001`, … in Hilbert order; also the lease key of the region. */
  readonly id: string;
  /** Its signals, sorted by id. */
  readonly signalIds: readonly string[];
  /** The corridors whose signals it holds (whole), in file order. */
  readonly corridorIds: readonly string[];
}

/** A link of at most SYSTEM_LINK_MAX_M between corridors of one signal system that ended in two regions. */
export interface BorderLink {
  readonly linkId: string;
  readonly fromRegion: string;
  readonly toRegion: string;
}

export interface RegionPlan {
  readonly maxSignals: number;
  readonly regions: readonly Region[];
  /** Signal id → region id. */
  readonly regionOf: ReadonlyMap<string, string>;
  readonly borderLinks: readonly BorderLink[];
  /** Signal systems too large for one region, cut between corridors. */
  readonly splitSystems: number;
}

/** Hilbert curve order on a 2^16 grid: d of (x, y), both in [0, 65536). */
function hilbertD(x: number, y: number): number {
  let d = 0;
  for (let s = 1 << 15; s > 0; s >>= 1) {
    const rx = (x & s) > 0 ? 1 : 0;
    const ry = (y & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        x = 65535 - x;
        y = 65535 - y;
      }
      const t = x;
      x = y;
      y = t;
    }
  }
  return d;
}

/** A piece that goes into one region whole: signal indices, its Hilbert key, its smallest signal id (tie-break). */
interface Piece {
  readonly signals: number[];
  readonly corridors: number[];
  key: number;
  firstId: string;
}

export function partitionRegions(net: RegionNetwork, maxSignals: number): RegionPlan {
  if (!Number.isInteger(maxSignals) || maxSignals < 1) throw new ValidationError('regions', [{ path: 'maxSignals', message: `must be an integer >= 1, got ${maxSignals}` }]);
  const ids = net.intersections.map((x) => x.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;

  // Corridor membership, as the planner counts it (crossing.ts corridorMembers).
  const corridorOf = new Int32Array(n).fill(-1);
  const members: { k: number; indices: number[] }[] = [];
  const issues: { path: string; message: string }[] = [];
  net.corridors.forEach((corridor, k) => {
    const indices = corridor.intersections.map((id) => index.get(id) ?? -1).filter((i) => i >= 0 && corridorOf[i] === -1);
    if (indices.length < 2) return;
    if (indices.length > maxSignals) {
      issues.push({ path: `corridors[${k}]`, message: `corridor ${corridor.id} has ${indices.length} signals, more than a region's ${maxSignals}: it cannot be kept whole` });
      return;
    }
    for (const i of indices) corridorOf[i] = members.length;
    members.push({ k, indices });
  });
  if (issues.length > 0) throw new ValidationError('regions', issues);

  // Hilbert key of every signal over the network's bounding box.
  let lonMin = Infinity;
  let lonMax = -Infinity;
  let latMin = Infinity;
  let latMax = -Infinity;
  for (const x of net.intersections) {
    lonMin = Math.min(lonMin, x.position.lon);
    lonMax = Math.max(lonMax, x.position.lon);
    latMin = Math.min(latMin, x.position.lat);
    latMax = Math.max(latMax, x.position.lat);
  }
  const grid = 65535;
  const qx = (lon: number) => Math.round(((lon - lonMin) / Math.max(1e-12, lonMax - lonMin)) * grid);
  const qy = (lat: number) => Math.round(((lat - latMin) / Math.max(1e-12, latMax - latMin)) * grid);
  const keyOf = (signals: readonly number[]): number => {
    let lon = 0;
    let lat = 0;
    for (const i of signals) {
      lon += net.intersections[i]!.position.lon;
      lat += net.intersections[i]!.position.lat;
    }
    return hilbertD(qx(lon / signals.length), qy(lat / signals.length));
  };
  const minId = (signals: readonly number[]): string => {
    let best = ids[signals[0]!]!;
    for (const i of signals) if (ids[i]! < best) best = ids[i]!;
    return best;
  };

  // Signal systems: corridors joined by short links (crossing.ts corridorSystems), with their adjacency.
  const m = members.length;
  const parent = Array.from({ length: m }, (_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
    return k;
  };
  const adjacent: Set<number>[] = Array.from({ length: m }, () => new Set());
  const systemLinks: { linkId: string; a: number; b: number }[] = [];
  for (const link of net.links) {
    if (link.lengthM > SYSTEM_LINK_MAX_M) continue;
    const a = corridorOf[index.get(link.from) ?? -1] ?? -1;
    const b = corridorOf[index.get(link.to) ?? -1] ?? -1;
    if (a < 0 || b < 0 || a === b) continue;
    parent[find(a)] = find(b);
    adjacent[a]!.add(b);
    adjacent[b]!.add(a);
    systemLinks.push({ linkId: link.id, a: index.get(link.from)!, b: index.get(link.to)! });
  }
  const systems = new Map<number, number[]>();
  for (let k = 0; k < m; k++) {
    const r = find(k);
    const g = systems.get(r) ?? [];
    g.push(k);
    systems.set(r, g);
  }

  const corridorKey = members.map((c) => keyOf(c.indices));
  const corridorFirst = members.map((c) => minId(c.indices));
  const byKey = (a: number, b: number): number => corridorKey[a]! - corridorKey[b]! || (corridorFirst[a]! < corridorFirst[b]! ? -1 : 1);
  const pieces: Piece[] = [];
  const push = (corridors: number[]): void => {
    const signals = corridors.flatMap((k) => members[k]!.indices);
    pieces.push({ signals, corridors, key: keyOf(signals), firstId: minId(signals) });
  };
  let splitSystems = 0;
  for (const system of systems.values()) {
    const size = system.reduce((s, k) => s + members[k]!.indices.length, 0);
    if (size <= maxSignals) {
      push(system);
      continue;
    }
    splitSystems++;
    // Breadth-first from a peripheral corridor (the last one reached from the first on the
    // curve, as Cuthill–McKee starts), neighbours in curve order, so that the order sweeps
    // across the system instead of spiralling out of its middle; cut when full.
    const breadthFirst = (start: number): number[] => {
      const seen = new Set<number>([start]);
      const queue = [start];
      for (let q = 0; q < queue.length; q++) {
        for (const j of [...adjacent[queue[q]!]!].sort(byKey)) {
          if (seen.has(j)) continue;
          seen.add(j);
          queue.push(j);
        }
      }
      return queue;
    };
    const order = breadthFirst(breadthFirst([...system].sort(byKey)[0]!).at(-1)!);
    let chunk: number[] = [];
    let chunkSize = 0;
    for (const k of order) {
      const s = members[k]!.indices.length;
      if (chunkSize + s > maxSignals) {
        push(chunk);
        chunk = [];
        chunkSize = 0;
      }
      chunk.push(k);
      chunkSize += s;
    }
    if (chunk.length > 0) push(chunk);
  }
  for (let i = 0; i < n; i++) if (corridorOf[i] === -1) pieces.push({ signals: [i], corridors: [], key: keyOf([i]), firstId: ids[i]! });

  // Next fit along the curve.
  pieces.sort((a, b) => a.key - b.key || (a.firstId < b.firstId ? -1 : a.firstId > b.firstId ? 1 : 0));
  const regionIndex = new Int32Array(n).fill(-1);
  const groups: Piece[][] = [];
  let fill = maxSignals;
  for (const p of pieces) {
    if (fill + p.signals.length > maxSignals) {
      groups.push([]);
      fill = 0;
    }
    groups[groups.length - 1]!.push(p);
    fill += p.signals.length;
  }
  const width = Math.max(4, String(groups.length - 1).length);
  const regionId = (r: number): string => `r${String(r).padStart(width, '0')}`;
  const regions: Region[] = groups.map((g, r) => {
    for (const p of g) for (const i of p.signals) regionIndex[i] = r;
    return {
      id: regionId(r),
      signalIds: g.flatMap((p) => p.signals.map((i) => ids[i]!)).sort(),
      corridorIds: g
        .flatMap((p) => p.corridors.map((k) => members[k]!.k))
        .sort((a, b) => a - b)
        .map((k) => net.corridors[k]!.id),
    };
  });
  const regionOf = new Map<string, string>();
  for (let i = 0; i < n; i++) regionOf.set(ids[i]!, regionId(regionIndex[i]!));
  const borderLinks = systemLinks
    .filter((l) => regionIndex[l.a] !== regionIndex[l.b])
    .map((l) => ({ linkId: l.linkId, fromRegion: regionId(regionIndex[l.a]!), toRegion: regionId(regionIndex[l.b]!) }))
    .sort((a, b) => (a.linkId < b.linkId ? -1 : a.linkId > b.linkId ? 1 : 0));
  return { maxSignals, regions, regionOf, borderLinks, splitSystems };
}
