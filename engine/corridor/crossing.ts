/**
 * Coordination between corridors. Corridors whose signals are joined by short
 * links (the FHWA Signal Timing Manual's rule of thumb: signals within about
 * 800 m normally benefit from coordination) form one signal system. Inside a
 * system every corridor runs the same common cycle, and each corridor's
 * offsets are shifted as a whole (which leaves its own bands intact) so that
 * the traffic crossing from one corridor to the next arrives on green: in a
 * grid, the cross streets get their own progression.
 *
 * The crossing traffic is modelled the TRANSYT way on 1 s steps: the
 * upstream through movement's cyclic departure profile (queue discharge at
 * saturation flow, then arrivals) is moved by the link travel time and
 * queued at the downstream stop line. What the system gains is that delay
 * against the same traffic arriving at random. Called by planCorridors
 * (engine/corridor/corridorPlan.ts).
 */
import type { CompiledNetwork } from '../network/compile.js';
import { APPROACH_IDS, type Corridor } from '../network/schema.js';
import { THROUGH_TURN, movementIndex, travelDirection } from '../network/geometry.js';
import type { PlanBuffer } from '../timing/planner.js';
import { mod } from '../numeric.js';

/** Signals joined by a link at most this long are coordinated as one system, m. */
export const SYSTEM_LINK_MAX_M = 800;

/** A link from a signal of one corridor to a signal of another, with the through traffic on it. */
export interface CrossingLink {
  /** Corridors (indices into the system) at the upstream and downstream end. */
  readonly upCorridor: number;
  readonly downCorridor: number;
  /** Intersections (compiled indices). */
  readonly up: number;
  readonly down: number;
  /** Through movements (movement indices) leaving `up` and arriving at `down`. */
  readonly upMovement: number;
  readonly downMovement: number;
  readonly travelS: number;
  /** Flow and saturation flow per lane, veh/s: of the upstream through movement (up…) and of the downstream one (down…). */
  readonly upFlowPerLane: number;
  readonly upSatPerLane: number;
  readonly downFlowPerLane: number;
  readonly downSatPerLane: number;
  readonly downLanes: number;
}

export interface MovementDemandFn {
  (i: number, movement: number): { flow: number; lanes: number; sat: number };
}

/** A corridor and the signals (compiled indices, in corridor order) it coordinates. */
export interface CorridorMember {
  readonly corridor: Corridor;
  readonly indices: number[];
}

/**
 * Each corridor's signals (compiled indices) in network order; a signal on two corridors
 * belongs to the first, and a corridor left with fewer than two signals is dropped.
 */
export function corridorMembers(c: CompiledNetwork): CorridorMember[] {
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const claimed = new Set<number>();
  const out: CorridorMember[] = [];
  for (const corridor of c.network.corridors) {
    const indices = corridor.intersections.map((id) => index.get(id) ?? -1).filter((i) => i >= 0 && !claimed.has(i));
    if (indices.length < 2) continue;
    indices.forEach((i) => claimed.add(i));
    out.push({ corridor, indices });
  }
  return out;
}

/** The signal system of every intersection (-1: on no corridor), numbered from 0. */
export function signalSystemOf(c: CompiledNetwork): Int32Array {
  const members = corridorMembers(c).map((m) => m.indices);
  const out = new Int32Array(c.intersectionCount).fill(-1);
  corridorSystems(c, members).forEach((system, g) => system.forEach((k) => members[k]!.forEach((i) => (out[i] = g))));
  return out;
}

/**
 * Systems of corridors: corridor k's signals (compiled indices) in `members[k]`.
 * Returns groups of corridor indices joined (directly or through others) by links
 * of at most SYSTEM_LINK_MAX_M between their signals; singletons included.
 */
export function corridorSystems(c: CompiledNetwork, members: readonly (readonly number[])[]): number[][] {
  const owner = new Int32Array(c.intersectionCount).fill(-1);
  members.forEach((m, k) => m.forEach((i) => (owner[i] = k)));
  const parent = members.map((_, k) => k);
  const find = (k: number): number => (parent[k] === k ? k : (parent[k] = find(parent[k]!)));
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  for (const link of c.network.links) {
    if (link.lengthM > SYSTEM_LINK_MAX_M) continue;
    const a = owner[index.get(link.from) ?? -1] ?? -1;
    const b = owner[index.get(link.to) ?? -1] ?? -1;
    if (a < 0 || b < 0 || a === b) continue;
    parent[find(a)] = find(b);
  }
  const groups = new Map<number, number[]>();
  members.forEach((_, k) => {
    const r = find(k);
    const g = groups.get(r) ?? [];
    g.push(k);
    groups.set(r, g);
  });
  return [...groups.values()];
}

/** The links between different corridors of one system (`system[k]`: the signals of its corridor k). */
export function crossingLinks(c: CompiledNetwork, system: readonly (readonly number[])[], demand: MovementDemandFn): CrossingLink[] {
  const owner = new Map<number, number>();
  system.forEach((indices, k) => indices.forEach((i) => owner.set(i, k)));
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const out: CrossingLink[] = [];
  for (const link of c.network.links) {
    if (link.lengthM > SYSTEM_LINK_MAX_M) continue;
    const up = index.get(link.from);
    const down = index.get(link.to);
    if (up === undefined || down === undefined) continue;
    const a = owner.get(up);
    const b = owner.get(down);
    if (a === undefined || b === undefined || a === b) continue;
    const dir = travelDirection(c.network.intersections[up]!.position, c.network.intersections[down]!.position);
    const movement = movementIndex(APPROACH_IDS.indexOf(dir), THROUGH_TURN);
    const u = demand(up, movement);
    const d = demand(down, movement);
    if (!(u.lanes > 0 && d.lanes > 0 && d.flow > 0)) continue;
    out.push({
      upCorridor: a,
      downCorridor: b,
      up,
      down,
      upMovement: movement,
      downMovement: movement,
      travelS: link.lengthM / (link.designSpeedKph / 3.6),
      upFlowPerLane: u.flow / u.lanes / 3600,
      upSatPerLane: u.sat / 3600,
      downFlowPerLane: d.flow / d.lanes / 3600,
      downSatPerLane: d.sat / 3600,
      downLanes: d.lanes,
    });
  }
  return out;
}

/**
 * Evaluates crossing links on a common cycle. Scratch arrays are sized once for the
 * longest cycle; `table` receives, per link, the extra delay (veh·s per hour, negative
 * = a gain) for every whole-second shift of the upstream corridor against the downstream one.
 */
export class CrossingModel {
  private readonly greenUp: Uint8Array;
  private readonly greenDown: Uint8Array;
  private readonly departures: Float64Array;
  private readonly arrivals: Float64Array;

  constructor(maxCycleS: number) {
    const n = Math.ceil(maxCycleS) + 1;
    this.greenUp = new Uint8Array(n);
    this.greenDown = new Uint8Array(n);
    this.departures = new Float64Array(n);
    this.arrivals = new Float64Array(n);
  }

  /** Marks the 1 s steps of the common cycle in which `movement` has a protected green at i. */
  private greens(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number, cycleS: number, out: Uint8Array): void {
    const period = buf.cycleS[i]!;
    out.fill(0, 0, cycleS);
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      if (!((c.phaseProtectedMask[p]! >> movement) & 1)) continue;
      const start = buf.offsetS[i]! + buf.phaseStartS[p]!;
      const green = buf.phaseGreenS[p]!;
      for (let t = 0; t < cycleS; t++) {
        // Step t counts as green when its middle is.
        if (mod(t + 0.5 - start, period) < green) out[t] = 1;
      }
    }
  }

  /** Delay (veh·s per cycle per lane) of arrivals `arr` queued at a stop line with greens `green`. */
  private queueDelay(arr: Float64Array, green: Uint8Array, satPerS: number, cycleS: number, shift: number): number {
    let queue = 0;
    let delay = 0;
    // Two cycles: the first reaches the periodic state, the second is measured.
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 0; t < cycleS; t++) {
        queue += arr[(t - shift + cycleS) % cycleS]!;
        if (green[t]) queue = queue > satPerS ? queue - satPerS : 0;
        if (pass === 1) delay += queue;
      }
    }
    return delay;
  }

  /** Fills `table[0..cycleS)` for one link; the current offsets in `buf` are the zero shift. */
  linkTable(c: CompiledNetwork, buf: PlanBuffer, link: CrossingLink, cycleS: number, table: Float64Array): void {
    const C = Math.round(cycleS);
    this.greens(c, buf, link.up, link.upMovement, C, this.greenUp);
    this.greens(c, buf, link.down, link.downMovement, C, this.greenDown);
    // Upstream departures: random arrivals stored in red, discharged at saturation flow.
    let queue = 0;
    const dep = this.departures;
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 0; t < C; t++) {
        queue += link.upFlowPerLane;
        let d = 0;
        if (this.greenUp[t]) {
          d = queue > link.upSatPerLane ? link.upSatPerLane : queue;
          queue -= d;
        }
        dep[t] = d;
      }
    }
    let total = 0;
    for (let t = 0; t < C; t++) total += dep[t]!;
    // Shape of the upstream departures, volume of the downstream approach, moved by the travel time.
    const scale = total > 0 ? (link.downFlowPerLane * C) / total : 0;
    const travel = Math.round(link.travelS);
    const arr = this.arrivals;
    for (let t = 0; t < C; t++) arr[(t + travel) % C] = dep[t]! * scale;
    // Reference: the same volume arriving at random (uniformly).
    const uniform = this.departures;
    for (let t = 0; t < C; t++) uniform[t] = link.downFlowPerLane;
    const random = this.queueDelay(uniform, this.greenDown, link.downSatPerLane, C, 0);
    const perHour = (link.downLanes * 3600) / C;
    for (let s = 0; s < C; s++) table[s] = (this.queueDelay(arr, this.greenDown, link.downSatPerLane, C, s) - random) * perHour;
  }
}

/**
 * Shifts (s, whole seconds in [0, cycleS)) for the corridors of a system that minimise the
 * crossing links' delay: `pair(a, b)` gives the table of extra delay by shift of a against b
 * (or undefined when no link joins them). Greedy from the most connected corridor, then
 * coordinate descent. Returns the total extra delay, veh·s per hour.
 */
export function chooseShifts(count: number, cycleS: number, pair: (a: number, b: number) => Float64Array | undefined, shifts: Int32Array): number {
  const C = Math.round(cycleS);
  shifts.fill(0);
  const fixed = new Uint8Array(count);
  const weight = (a: number): number => {
    let w = 0;
    for (let b = 0; b < count; b++) {
      if (b === a) continue;
      if (pair(a, b) || pair(b, a)) w++;
    }
    return w;
  };
  const cost = (a: number, s: number): number => {
    let x = 0;
    for (let b = 0; b < count; b++) {
      if (b === a || !fixed[b]) continue;
      const ab = pair(a, b);
      const ba = pair(b, a);
      if (ab) x += ab[mod(s - shifts[b]!, C)]!;
      if (ba) x += ba[mod(shifts[b]! - s, C)]!;
    }
    return x;
  };
  const best = (a: number): number => {
    let bestS = shifts[a]!;
    let bestCost = cost(a, bestS);
    for (let s = 0; s < C; s++) {
      const x = cost(a, s);
      if (x < bestCost - 1e-9) {
        bestCost = x;
        bestS = s;
      }
    }
    return bestS;
  };
  let first = 0;
  for (let a = 1; a < count; a++) if (weight(a) > weight(first)) first = a;
  fixed[first] = 1;
  for (let placed = 1; placed < count; placed++) {
    // Next: the free corridor with the most links to placed ones.
    let next = -1;
    let links = -1;
    for (let a = 0; a < count; a++) {
      if (fixed[a]) continue;
      let w = 0;
      for (let b = 0; b < count; b++) if (fixed[b] && (pair(a, b) || pair(b, a))) w++;
      if (w > links) {
        links = w;
        next = a;
      }
    }
    shifts[next] = best(next);
    fixed[next] = 1;
  }
  // Each pass only lowers the total, so this ends at a local optimum; the bound is a guard.
  for (let pass = 0; pass < 100; pass++) {
    let moved = false;
    for (let a = 0; a < count; a++) {
      const s = best(a);
      if (s !== shifts[a]) {
        shifts[a] = s;
        moved = true;
      }
    }
    if (!moved) break;
  }
  let total = 0;
  for (let a = 0; a < count; a++) {
    for (let b = 0; b < count; b++) {
      const ab = a === b ? undefined : pair(a, b);
      if (ab) total += ab[mod(shifts[a]! - shifts[b]!, C)]!;
    }
  }
  return total;
}
