/**
 * Reads SUMO demand (`.rou.xml`): vehicles with a route (inline or by id),
 * trips (from/to, optional via, routed here on the net's fastest path) and
 * flows (vehsPerHour, period, number or probability, over begin..end), as
 * one list of trips, each a departure time and the SUMO edges it drives.
 * Called by `greenwave sim` and bench/fidelity through `routeTrips`
 * (simulator/sumo/routeMap.ts), which maps them onto the simulator's links.
 *
 * What SUMO offers and this reader does not take is refused or noted, never
 * silently changed: person plans, `routeDistribution`s and triggered
 * departures are counted in `skipped` with the reason.
 */
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';
import { SeededRandom } from '../../engine/numeric.js';
import { attr, children, numAttr, parseSumoXml, type XmlNode } from './xml.js';
import { SUMO_ACCEL_MPS2, SUMO_DEFAULT_DRIVER, SUMO_SIGMA, type DriverModel } from '../vehicles.js';

/** The drivable graph of a SUMO net: normal edges and the edge-to-edge connections. */
export interface SumoGraph {
  readonly edges: ReadonlyMap<string, { readonly lengthM: number; readonly speedMps: number }>;
  /** Edge id → edges a vehicle can turn into. */
  readonly next: ReadonlyMap<string, readonly string[]>;
}

export function readSumoGraph(netXml: string): SumoGraph {
  const doc = parseSumoXml(netXml, 'SUMO network', ['edge', 'lane', 'connection']);
  const root = doc['net'];
  if (root === undefined || root === null || typeof root !== 'object') throw new GreenwaveError(ErrorCode.InvalidInput, 'SUMO network: no <net> root element; is this a .net.xml file?');
  const edges = new Map<string, { lengthM: number; speedMps: number }>();
  for (const e of children(root, 'edge')) {
    const fn = attr(e, 'function');
    const id = attr(e, 'id');
    if ((fn !== undefined && fn !== 'normal') || !id) continue;
    const lanes = children(e, 'lane');
    const lengthM = Math.max(0, ...lanes.map((l) => numAttr(l, 'length') ?? 0));
    const speedMps = Math.max(0.1, ...lanes.map((l) => numAttr(l, 'speed') ?? 13.89));
    edges.set(id, { lengthM, speedMps });
  }
  const next = new Map<string, string[]>();
  for (const c of children(root, 'connection')) {
    const from = attr(c, 'from');
    const to = attr(c, 'to');
    if (!from || !to || !edges.has(from) || !edges.has(to)) continue;
    const list = next.get(from) ?? [];
    if (!list.includes(to)) list.push(to);
    next.set(from, list);
  }
  return { edges, next };
}

/** One vehicle's trip: when it departs and the SUMO edges it drives, in order. */
export interface SumoTrip {
  readonly id: string;
  readonly departS: number;
  readonly edges: readonly string[];
  /** SUMO's departSpeed: a number (m/s), 'max' (its desired speed), or 0 (SUMO's default). */
  readonly departSpeed: number | 'max';
}

export interface SumoDemand {
  /** Sorted by departure time (stable: file order among equal times, as SUMO inserts them). */
  readonly trips: readonly SumoTrip[];
  /**
   * SUMO's dawdling of the trips' vehicle types, σ × acceleration × 1 s (m/s, the most a driver's
   * speed drops in a step at SUMO's default step): the mean over the trips, and the least and
   * most of any trip. SUMO's default type (σ 0.5, 2.6 m/s²: 1.3 m/s) unless the file says otherwise
   * (a `vType` with `sigma` or `accel`, `DEFAULT_VEHTYPE` redefined).
   */
  readonly dawdleMps: { readonly mean: number; readonly min: number; readonly max: number };
  /** The trips' desired-speed factor (vType `speedFactor`, `speedDev`; SUMO's default normc(1, 0.1)): mean over the trips of each one's type's mean and deviation. */
  readonly speedFactor: { readonly mean: number; readonly dev: number };
  /** How many different vehicle types the trips use (the simulator gives every driver their mean). */
  readonly vehicleTypes: number;
  /** What was not taken, with the reason, counted per reason. */
  readonly skipped: ReadonlyMap<string, number>;
}

/** More departures than this in one file is refused: a typo'd rate must not run the machine out of memory. */
export const MAX_TRIPS = 2_000_000;

export interface ReadRoutesOptions {
  /** Departures after this time are dropped, s. */
  readonly endS?: number;
  /** Seed for `probability` flows (SUMO draws them from its own seed; ours is only as random). */
  readonly seed?: number;
}

/** Parses a `.rou.xml` (routes, trips and flows) against the net's graph. */
export function readSumoRoutes(xmlText: string, graph: SumoGraph, opts: ReadRoutesOptions = {}, source = 'SUMO routes'): SumoDemand {
  const doc = parseSumoXml(xmlText, source, ['vehicle', 'trip', 'flow', 'route', 'vType', 'routeDistribution', 'person', 'personFlow', 'container']);
  const root = doc['routes'];
  if (root === undefined || root === null || typeof root !== 'object') throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: no <routes> root element; is this a .rou.xml file?`);
  const skipped = new Map<string, number>();
  const skip = (why: string) => skipped.set(why, (skipped.get(why) ?? 0) + 1);
  const endS = opts.endS ?? Infinity;
  const rng = new SeededRandom(opts.seed ?? 42);
  // Vehicle types: their dawdling (Krauss σ × accel × 1 s) and desired-speed factor; SUMO's default type unless redefined.
  // A type's drivers as the simulator takes them (speedNoiseMps: its dawdling).
  const typeOf = new Map<string, DriverModel>([['DEFAULT_VEHTYPE', SUMO_DEFAULT_DRIVER]]);
  children(root, 'vType').forEach((t, k) => {
    const id = attr(t, 'id');
    if (!id) return;
    const where = `vType[${k}] (${id})`;
    const sigma = numAttr(t, 'sigma') ?? SUMO_SIGMA;
    const accel = numAttr(t, 'accel') ?? SUMO_ACCEL_MPS2;
    if (!(sigma >= 0 && sigma <= 1) || !(accel > 0 && accel <= 10)) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} has sigma ${sigma} and accel ${accel}; expected sigma in 0..1 and accel in (0, 10] m/s²`, [{ path: `vType[${k}]`, message: 'bad sigma or accel' }]);
    const factor = speedFactorOf(attr(t, 'speedFactor'), numAttr(t, 'speedDev'));
    if (factor === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} has speedFactor "${attr(t, 'speedFactor')}" and speedDev ${attr(t, 'speedDev')}; expected a number or norm(mean,dev) / normc(mean,dev,min,max) with a mean in 0.2..2 and a deviation in 0..1`, [{ path: `vType[${k}].speedFactor`, message: 'bad speed factor' }]);
    typeOf.set(id, { speedNoiseMps: sigma * accel * 1, speedFactorMean: factor.mean, speedFactorDev: factor.dev });
  });
  let dawdleSum = 0;
  let dawdleMin = Infinity;
  let dawdleMax = -Infinity;
  let factorMeanSum = 0;
  let factorDevSum = 0;
  const kinds = new Set<DriverModel>();
  const traitsOf = (node: XmlNode): DriverModel => typeOf.get(attr(node, 'type') ?? 'DEFAULT_VEHTYPE') ?? SUMO_DEFAULT_DRIVER;
  const named = new Map<string, string[]>();
  for (const r of children(root, 'route')) {
    const id = attr(r, 'id');
    if (id) named.set(id, splitEdges(attr(r, 'edges')));
  }
  const router = new Router(graph);
  const trips: { trip: SumoTrip; order: number }[] = [];
  let order = 0;
  const edgesOf = (node: XmlNode, where: string): string[] | undefined => {
    const ref = attr(node, 'route');
    let edges: string[] | undefined;
    if (ref !== undefined) {
      edges = named.get(ref);
      if (!edges) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} refers to route "${ref}", which is not defined before it`, [{ path: `${where}.route`, message: 'unknown route' }]);
    } else {
      const inline = children(node, 'route')[0];
      if (inline) edges = splitEdges(attr(inline, 'edges'));
      else {
        const from = attr(node, 'from');
        const to = attr(node, 'to');
        if (!from || !to) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} has neither a route nor from/to`, [{ path: where, message: 'no route' }]);
        const via = splitEdges(attr(node, 'via'));
        edges = router.route([from, ...via, to]);
        if (!edges) {
          skip('no path between its from and to edges');
          return undefined;
        }
      }
    }
    const unknown = edges.find((e) => !graph.edges.has(e));
    if (unknown !== undefined) {
      skip('an edge not in the net');
      return undefined;
    }
    for (let k = 0; k + 1 < edges.length; k++) {
      if (!(graph.next.get(edges[k]!) ?? []).includes(edges[k + 1]!)) {
        skip('a route with no connection between two of its edges');
        return undefined;
      }
    }
    return edges.length > 0 ? edges : undefined;
  };
  const departSpeedOf = (node: XmlNode): number | 'max' => {
    const s = attr(node, 'departSpeed');
    if (s === 'max' || s === 'desired' || s === 'speedLimit' || s === 'last' || s === 'avg') return 'max';
    const n = s === undefined ? 0 : Number(s);
    return Number.isFinite(n) && n > 0 ? n : 0;
  };
  const add = (id: string, departS: number, edges: string[], departSpeed: number | 'max', traits: DriverModel) => {
    if (departS > endS) return;
    dawdleSum += traits.speedNoiseMps;
    dawdleMin = Math.min(dawdleMin, traits.speedNoiseMps);
    dawdleMax = Math.max(dawdleMax, traits.speedNoiseMps);
    factorMeanSum += traits.speedFactorMean;
    factorDevSum += traits.speedFactorDev;
    kinds.add(traits);
    if (trips.length >= MAX_TRIPS) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: more than ${MAX_TRIPS} departures (at ${id}); check the flows' rates and times`, [{ path: id, message: 'too many departures' }]);
    trips.push({ trip: { id, departS, edges, departSpeed }, order: order++ });
  };
  for (const kind of ['vehicle', 'trip'] as const) {
    children(root, kind).forEach((v, k) => {
      const where = `${kind}[${k}]`;
      const id = attr(v, 'id') ?? where;
      const depart = numAttr(v, 'depart');
      if (depart === undefined) {
        skip(`a ${kind} whose depart is not a time (triggered, containerTriggered)`);
        return;
      }
      const edges = edgesOf(v, `${where} (${id})`);
      if (edges) add(id, depart, edges, departSpeedOf(v), traitsOf(v));
    });
  }
  children(root, 'flow').forEach((f, k) => {
    const id = attr(f, 'id') ?? `flow[${k}]`;
    const where = `flow[${k}] (${id})`;
    const begin = numAttr(f, 'begin') ?? 0;
    const end = numAttr(f, 'end') ?? 3600;
    const edges = edgesOf(f, where);
    if (!edges) return;
    const speed = departSpeedOf(f);
    const traits = traitsOf(f);
    const vph = numAttr(f, 'vehsPerHour');
    const periodAttr = attr(f, 'period');
    const number = numAttr(f, 'number');
    const probability = numAttr(f, 'probability');
    const expRate = periodAttr !== undefined ? /^exp\((.+)\)$/.exec(periodAttr.trim()) : null;
    if (!(end >= begin) || !Number.isFinite(end) || !Number.isFinite(begin)) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} runs from ${begin} to ${end} s`, [{ path: `${where}.end`, message: 'must be a finite time not before begin' }]);
    if (probability !== undefined) {
      if (!(probability >= 0 && probability <= 1)) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} probability ${probability} is not in 0..1`, [{ path: `${where}.probability`, message: 'must be in 0..1' }]);
      // One Bernoulli draw per second, as SUMO does for probability flows.
      let n = 0;
      for (let t = begin; t < end; t++) if (rng.next() < probability) add(`${id}.${n++}`, t, edges, speed, traits);
      return;
    }
    if (expRate) {
      const rate = Number(expRate[1]);
      if (!(rate > 0) || rate * (end - begin) > MAX_TRIPS) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} period ${periodAttr} is not a positive rate that departs at most ${MAX_TRIPS} vehicles`, [{ path: `${where}.period`, message: 'bad rate' }]);
      let n = 0;
      // Exponential gaps between departures (a Poisson stream).
      const gap = () => -Math.log(1 - rng.next()) / rate;
      for (let t = begin + gap(); t < end; t += gap()) add(`${id}.${n++}`, t, edges, speed, traits);
      return;
    }
    let periodS: number | undefined;
    if (vph !== undefined) periodS = vph > 0 ? 3600 / vph : undefined;
    else if (periodAttr !== undefined) periodS = Number(periodAttr);
    else if (number !== undefined) periodS = number > 0 ? (end - begin) / number : undefined;
    if (periodS === undefined) {
      if (vph === 0 || number === 0) return;
      throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} gives none of vehsPerHour, period, number or probability`, [{ path: where, message: 'no rate' }]);
    }
    if (!(periodS > 0) || !Number.isFinite(periodS)) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} has a period of ${periodS} s`, [{ path: `${where}.period`, message: 'must be positive' }]);
    const limit = number ?? Infinity;
    if (Math.min(limit, (end - begin) / periodS) > MAX_TRIPS) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${where} would depart ${Math.round((end - begin) / periodS)} vehicles (at most ${MAX_TRIPS})`, [{ path: where, message: 'too many departures' }]);
    let n = 0;
    for (let t = begin; t < end && n < limit; t += periodS) add(`${id}.${n++}`, t, edges, speed, traits);
  });
  for (const [kind, why] of [
    ['routeDistribution', 'a routeDistribution (not read; give routes)'],
    ['person', 'a person plan'],
    ['personFlow', 'a person flow'],
    ['container', 'a container'],
  ] as const) {
    for (const _ of children(root, kind)) skip(why);
  }
  trips.sort((a, b) => a.trip.departS - b.trip.departS || a.order - b.order);
  const n = trips.length;
  const d = SUMO_DEFAULT_DRIVER;
  const dawdleMps = n > 0 ? { mean: dawdleSum / n, min: dawdleMin, max: dawdleMax } : { mean: d.speedNoiseMps, min: d.speedNoiseMps, max: d.speedNoiseMps };
  const speedFactor = n > 0 ? { mean: factorMeanSum / n, dev: factorDevSum / n } : { mean: d.speedFactorMean, dev: d.speedFactorDev };
  return { trips: trips.map((t) => t.trip), skipped, dawdleMps, speedFactor, vehicleTypes: kinds.size };
}

/**
 * A vType's speed factor distribution: `speedFactor` a number (the mean; `speedDev` or SUMO's 0.1
 * the deviation) or norm(mean,dev) / normc(mean,dev[,min,max]); absent: SUMO's default normc(1,0.1).
 * Undefined when it cannot be read or is implausible.
 */
function speedFactorOf(text: string | undefined, speedDev: number | undefined): { mean: number; dev: number } | undefined {
  let mean = 1;
  let dev = speedDev ?? 0.1;
  if (text !== undefined) {
    const dist = /^\s*normc?\(\s*([^,\s]+)\s*,\s*([^,\s)]+)\s*(?:,[^)]*)?\)\s*$/.exec(text);
    if (dist) {
      mean = Number(dist[1]);
      dev = Number(dist[2]);
    } else mean = Number(text);
  }
  return mean >= 0.2 && mean <= 2 && dev >= 0 && dev <= 1 ? { mean, dev } : undefined;
}

function splitEdges(s: string | undefined): string[] {
  return (s ?? '').split(/\s+/).filter((x) => x !== '');
}

/** Fastest paths on the edge graph (free-flow time), Dijkstra with a binary heap; memoised per pair. */
class Router {
  private readonly memo = new Map<string, string[] | null>();
  constructor(private readonly g: SumoGraph) {}

  /** The edges from the first stop to the last through every stop in between, or undefined. */
  route(stops: readonly string[]): string[] | undefined {
    const out: string[] = [stops[0]!];
    for (let k = 0; k + 1 < stops.length; k++) {
      const leg = this.path(stops[k]!, stops[k + 1]!);
      if (!leg) return undefined;
      out.push(...leg.slice(1));
    }
    return out;
  }

  private path(from: string, to: string): string[] | null {
    const key = `${from}\u0000${to}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const result = this.dijkstra(from, to);
    this.memo.set(key, result);
    return result;
  }

  private dijkstra(from: string, to: string): string[] | null {
    if (!this.g.edges.has(from) || !this.g.edges.has(to)) return null;
    if (from === to) return [from];
    const dist = new Map<string, number>([[from, 0]]);
    const prev = new Map<string, string>();
    const heap: [number, string][] = [[0, from]];
    while (heap.length > 0) {
      const [d, e] = popMin(heap);
      if (d > (dist.get(e) ?? Infinity)) continue;
      if (e === to) break;
      for (const n of this.g.next.get(e) ?? []) {
        const info = this.g.edges.get(n)!;
        const nd = d + info.lengthM / info.speedMps;
        if (nd < (dist.get(n) ?? Infinity)) {
          dist.set(n, nd);
          prev.set(n, e);
          pushHeap(heap, [nd, n]);
        }
      }
    }
    if (!prev.has(to)) return null;
    const path = [to];
    while (path[path.length - 1] !== from) path.push(prev.get(path[path.length - 1]!)!);
    return path.reverse();
  }
}

function pushHeap(h: [number, string][], x: [number, string]): void {
  h.push(x);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]![0] <= h[i]![0]) break;
    [h[p], h[i]] = [h[i]!, h[p]!];
    i = p;
  }
}

function popMin(h: [number, string][]): [number, string] {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]![0] < h[m]![0]) m = l;
      if (r < h.length && h[r]![0] < h[m]![0]) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  return top;
}
