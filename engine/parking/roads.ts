/**
 * The road graph the parking recommender drives on, and its shortest-path
 * search. Nodes are the network's links (a driver is on a link, and an
 * entrance is on a link); an edge is a turn from a link into one leaving its
 * downstream intersection, allowed when some lane of that approach carries
 * the turn. An edge costs the next link's free-flow time plus the signal delay
 * of that movement (the lanes' delays, flow-weighted per movement), so a left
 * turn through a congested junction costs what it does: the plan's HCM delays
 * (`setDelays`), or those of the traffic state measured from the loops under
 * the plan in force (`setLaneDelays` with engine/traffic/linkState.ts's, as the
 * service does, re-set when the state is recomputed); the graph itself is
 * built once per network.
 *
 * Search: Dijkstra over the links with a binary heap in typed arrays and
 * per-search generation stamps (no clearing, no allocation per search), ending
 * once every target link is settled. Goal-directed (A*) when the caller gives
 * the circle all targets lie in (`setGoal`): a link is keyed by its entry time
 * plus the straight-line distance from its start to that circle at the
 * network's highest straight-line speed (the largest straight-line distance a
 * link covers per second of its free-flow time, so the bound holds even for a
 * file whose link lengths are shorter than the map says): consistent, so every
 * settled link's time is still exact. The key is shrunk by a millionth so
 * that a link's key is always strictly above that of any link it is reached
 * from, and where two predecessors give a link exactly the same entry time the
 * lower-numbered one is kept: the times and the routes (the tree) are then the
 * same whatever order the links are settled in, directed or not, cut short or
 * run to the end (the grid's equal blocks and equal signals make exact ties
 * common; without the rule the route among equal ones followed the search).
 *
 * Times are kept from the moment the driver leaves the origin link (or the
 * origin intersection); the time along the origin link to its end is added
 * when a time is read (`timeTo`). So the whole tree from an origin does not
 * depend on where on the link the driver is, and with `treeCacheBytes` the
 * full tree of each origin (every link, searched to the end) is kept for the
 * current delays (until `setDelays` or `delaysChanged`), least recently used
 * out first once the budget is spent: a later search from the same origin
 * reads it (`complete`) instead of searching. Link delays change with the plan
 * or the count interval, not per request, and a city has only so many links
 * to start from, so in a busy service almost every search is a look-up. The
 * kept trees live in slabs of TREES_PER_SLAB slots (one Float64Array of entry
 * times and one Int32Array of predecessors per slab, allocated as the slots
 * are first needed and reused after `delaysChanged`, so they hold the
 * high-water mark of the budget), found by an origin-to-slot table, with a
 * last-use stamp per slot for the eviction: a look-up allocates nothing (a
 * Map in recency order, re-inserted on every hit, grew a new table every two
 * thousand hits, each kept alive by the dead one before it until a full
 * collection), and a service keeps a few dozen buffers rather than two per
 * origin. Used by ./recommend.ts and simulator/parkingSearch.ts; one
 * RoadGraph serves one thread (its scratch is shared).
 */
import type { CompiledNetwork } from '../network/compile.js';
import { MOVEMENT_COUNT, movementIndex, travelDirection } from '../network/geometry.js';
import { APPROACH_IDS } from '../network/schema.js';
import type { PlanBuffer } from '../timing/planner.js';

const TURN_L = 0;
const TURN_T = 1;
const TURN_R = 2;
const TURN_U = 3;

/**
 * A U-turn no lane carries still gets the driver back the way they came, round a block of
 * streets the network does not hold (a corridor file has no side-street links): allowed, at
 * this cost in place of a signal delay, s.
 */
export const TURN_AROUND_S = 120;

const TURN_AROUND = -2;
const M_PER_DEG_LAT = 111_320;
/** The goal bound is shrunk by this fraction: strictly consistent, with room for rounding. */
const BOUND_SHRINK = 1 - 1e-6;

/** Kept trees per slab: a slab is one buffer of entry times and one of predecessors, linkCount each per tree. */
const TREES_PER_SLAB = 64;

/** A place on the network: link index and distance from the link's start, m. */
export interface LinkPosition {
  readonly link: number;
  readonly positionM: number;
}

export class RoadGraph {
  readonly linkCount: number;
  readonly linkIds: readonly string[];
  readonly linkFrom: Int32Array;
  readonly linkTo: Int32Array;
  readonly linkLengthM: Float64Array;
  /** Free-flow speed (the design speed), m/s. */
  readonly linkSpeedMps: Float64Array;
  /** Turns out of link a: [turnStart[a], turnStart[a+1]) into turnTo / turnMovement / turnDelayS. */
  readonly turnStart: Uint32Array;
  readonly turnTo: Int32Array;
  /** Movement slot at the downstream intersection (intersection * MOVEMENT_COUNT + movement); -1 = unmodelled approach (no delay), -2 = a turn-around (TURN_AROUND_S). */
  readonly turnMovement: Int32Array;
  /** Signal delay of the turn in the current plan, s. */
  readonly turnDelayS: Float64Array;
  /** Links leaving intersection i: [outStart[i], outStart[i+1]) into outLinks. */
  readonly outStart: Uint32Array;
  readonly outLinks: Int32Array;
  readonly intersectionLon: Float64Array;
  readonly intersectionLat: Float64Array;
  private readonly byId: Map<string, number>;

  // Search scratch, reused by every search.
  /** Time at which the driver enters link a (s after departure), valid where stamp[a] === generation. */
  readonly entryS: Float64Array;
  /** The link the driver came from: -1 = entered from the origin intersection, -2 - o = turned into from origin link o. */
  readonly prev: Int32Array;
  private readonly stamp: Uint32Array;
  private readonly settledStamp: Uint32Array;
  private readonly targetStamp: Uint32Array;
  private generation = 0;
  /** Intersections in a local plane (equirectangular about the network's centre), m. */
  private readonly ixX: Float64Array;
  private readonly ixY: Float64Array;
  /** Highest straight-line distance covered per second of a link's free-flow time, m/s. */
  private readonly planeSpeedMps: number;
  private readonly lon0: number;
  private readonly lat0: number;
  private readonly mPerDegLon: number;
  private goalX = 0;
  private goalY = 0;
  private goalRadiusM = Number.POSITIVE_INFINITY;
  private heapLink: Int32Array;
  private heapKey: Float64Array;
  private heapSize = 0;
  /** Time from the origin point to the end of the origin link, s (0 from an intersection): added to every time read. */
  private offsetS = 0;
  private readonly treeCacheBytes: number;
  /** Trees the budget holds (0: none kept). */
  private readonly maxTrees: number;
  /** The slot of each origin's kept tree (link a → a, intersection i → linkCount + i), -1 = none for the current delays. */
  private readonly treeSlot: Int32Array;
  /** The origin of the tree in each slot, and when it was last read (`useClock`), for least-recently-used eviction. */
  private readonly slotOrigin: Int32Array;
  private readonly slotUsed: Float64Array;
  private useClock = 0;
  /** Slots filled since the delays last changed (they are filled in order; then the least recently used is replaced). */
  private slotsFilled = 0;
  /** Slot s's entry times (s after leaving its origin, Infinity = not reached) and predecessors: slab s / TREES_PER_SLAB, from (s % TREES_PER_SLAB) · linkCount. */
  private readonly slabEntryS: Float64Array[] = [];
  private readonly slabPrev: Int32Array[] = [];
  /** The kept tree the current search reads, if any (then the search is `complete` without running): its slab arrays and offset. */
  private treeEntryS: Float64Array | undefined;
  private treePrev: Int32Array | undefined;
  private treeBase = 0;
  /** Searches answered from a cached tree, and trees computed (for the benchmark and tests). */
  treeHits = 0;
  treeBuilds = 0;

  /**
   * `treeCacheBytes`: memory for full trees by origin (12 bytes per link each; 0 = none, every
   * search runs): a search from an origin whose tree is kept reads it; from another, the tree
   * is computed (the whole network) and kept while the budget lasts, else the search runs.
   */
  constructor(
    private readonly c: CompiledNetwork,
    options: { readonly treeCacheBytes?: number } = {},
  ) {
    this.treeCacheBytes = options.treeCacheBytes ?? 0;
    const net = c.network;
    const n = net.links.length;
    this.linkCount = n;
    this.linkIds = net.links.map((l) => l.id);
    this.byId = new Map(this.linkIds.map((id, i) => [id, i]));
    const ixIndex = new Map(c.intersectionIds.map((id, i) => [id, i]));
    this.linkFrom = Int32Array.from(net.links, (l) => ixIndex.get(l.from) ?? -1);
    this.linkTo = Int32Array.from(net.links, (l) => ixIndex.get(l.to) ?? -1);
    this.linkLengthM = Float64Array.from(net.links, (l) => l.lengthM);
    this.linkSpeedMps = Float64Array.from(net.links, (l) => l.designSpeedKph / 3.6);
    this.intersectionLon = Float64Array.from(net.intersections, (x) => x.position.lon);
    this.intersectionLat = Float64Array.from(net.intersections, (x) => x.position.lat);
    this.lon0 = this.intersectionLon.reduce((a, b) => a + b, 0) / Math.max(1, this.intersectionLon.length);
    this.lat0 = this.intersectionLat.reduce((a, b) => a + b, 0) / Math.max(1, this.intersectionLat.length);
    this.mPerDegLon = M_PER_DEG_LAT * Math.cos((this.lat0 * Math.PI) / 180);
    this.ixX = Float64Array.from(this.intersectionLon, (lon) => (lon - this.lon0) * this.mPerDegLon);
    this.ixY = Float64Array.from(this.intersectionLat, (lat) => (lat - this.lat0) * M_PER_DEG_LAT);
    let planeSpeed = 1e-9;
    for (let a = 0; a < n; a++) {
      const f = this.linkFrom[a]!;
      const t = this.linkTo[a]!;
      if (f < 0 || t < 0) continue;
      const d = Math.hypot(this.ixX[t]! - this.ixX[f]!, this.ixY[t]! - this.ixY[f]!);
      planeSpeed = Math.max(planeSpeed, (d * this.linkSpeedMps[a]!) / this.linkLengthM[a]!);
    }
    this.planeSpeedMps = planeSpeed;

    const ni = c.intersectionCount;
    const outCount = new Uint32Array(ni + 1);
    for (let a = 0; a < n; a++) if (this.linkFrom[a]! >= 0) outCount[this.linkFrom[a]! + 1]!++;
    for (let i = 0; i < ni; i++) outCount[i + 1] = outCount[i + 1]! + outCount[i]!;
    this.outStart = outCount;
    const outLinks = new Int32Array(outCount[ni]!);
    const fill = outCount.slice(0, ni);
    for (let a = 0; a < n; a++) {
      const f = this.linkFrom[a]!;
      if (f >= 0) outLinks[fill[f]!++] = a;
    }
    this.outLinks = outLinks;

    // Which movements each intersection's lanes carry (bit per movement index).
    const carried = new Uint16Array(ni);
    for (let i = 0; i < ni; i++) for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) carried[i] = carried[i]! | c.laneMovementMask[l]!;
    const heading = Float64Array.from(net.links, (_, a) => this.headingRad(a));
    const turnStart = new Uint32Array(n + 1);
    const to: number[] = [];
    const movement: number[] = [];
    for (let a = 0; a < n; a++) {
      turnStart[a] = to.length;
      const i = this.linkTo[a]!;
      const f = this.linkFrom[a]!;
      if (i < 0 || f < 0) continue;
      const approach = APPROACH_IDS.indexOf(travelDirection(net.intersections[f]!.position, net.intersections[i]!.position));
      const approachMask = 0xf << (approach * 4);
      const modelled = (carried[i]! & approachMask) !== 0;
      for (let k = this.outStart[i]!; k < this.outStart[i + 1]!; k++) {
        const b = this.outLinks[k]!;
        const turn = this.linkTo[b] === f ? TURN_U : turnOf(heading[a]!, heading[b]!);
        const m = movementIndex(approach, turn);
        const lane = modelled && (carried[i]! & (1 << m)) !== 0;
        if (modelled && !lane && turn !== TURN_U) continue; // no lane carries it: the turn is not allowed
        to.push(b);
        movement.push(lane ? i * MOVEMENT_COUNT + m : turn === TURN_U ? TURN_AROUND : -1);
      }
    }
    turnStart[n] = to.length;
    this.turnStart = turnStart;
    this.turnTo = Int32Array.from(to);
    this.turnMovement = Int32Array.from(movement);
    this.turnDelayS = Float64Array.from(movement, (s) => (s === TURN_AROUND ? TURN_AROUND_S : 0));

    this.entryS = new Float64Array(n);
    this.prev = new Int32Array(n);
    this.stamp = new Uint32Array(n);
    this.settledStamp = new Uint32Array(n);
    this.targetStamp = new Uint32Array(n);
    // Lazy deletion pushes at most one entry per relaxation: turns + origins bound the heap.
    this.heapLink = new Int32Array(to.length + n + 1);
    this.heapKey = new Float64Array(to.length + n + 1);

    const origins = n + ni;
    this.maxTrees = n > 0 ? Math.min(origins, Math.floor(this.treeCacheBytes / (12 * n))) : 0;
    this.treeSlot = new Int32Array(origins).fill(-1);
    this.slotOrigin = new Int32Array(this.maxTrees);
    this.slotUsed = new Float64Array(this.maxTrees);
  }

  link(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** The intersection nearest to a point (equirectangular distance: fine at city scale). */
  nearestIntersection(lon: number, lat: number): number {
    const k = Math.cos((lat * Math.PI) / 180);
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.intersectionLon.length; i++) {
      const dx = (this.intersectionLon[i]! - lon) * k;
      const dy = this.intersectionLat[i]! - lat;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  /**
   * Per-turn signal delays from a plan: each movement's delay is the flow-weighted mean of the
   * HCM delays of the lanes that carry it (a shared lane's flow split equally over its
   * movements), or the plain mean when no flow was counted.
   */
  setDelays(buffer: PlanBuffer): void {
    this.setLaneDelays(buffer.laneDelayS, buffer.laneFlowVehPerH);
  }

  /**
   * Per-turn signal delays from per-lane delays and flows (a plan's, or the traffic state's
   * measured ones: engine/traffic/linkState.ts), as `setDelays` describes.
   */
  setLaneDelays(laneDelayS: Float64Array, laneFlowVehPerH: Float64Array): void {
    const c = this.c;
    const delayFlow = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
    const flow = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
    const delaySum = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
    const lanes = new Uint16Array(c.intersectionCount * MOVEMENT_COUNT);
    for (let i = 0; i < c.intersectionCount; i++) {
      for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
        const mask = c.laneMovementMask[l]!;
        let count = 0;
        for (let m = 0; m < MOVEMENT_COUNT; m++) if (mask & (1 << m)) count++;
        const d = laneDelayS[l]!;
        const q = laneFlowVehPerH[l]! / count;
        if (!Number.isFinite(d)) continue;
        for (let m = 0; m < MOVEMENT_COUNT; m++) {
          if (!(mask & (1 << m))) continue;
          const s = i * MOVEMENT_COUNT + m;
          delayFlow[s] = delayFlow[s]! + d * q;
          flow[s] = flow[s]! + q;
          delaySum[s] = delaySum[s]! + d;
          lanes[s] = lanes[s]! + 1;
        }
      }
    }
    for (let t = 0; t < this.turnMovement.length; t++) {
      const s = this.turnMovement[t]!;
      if (s === TURN_AROUND) this.turnDelayS[t] = TURN_AROUND_S;
      else if (s < 0) this.turnDelayS[t] = 0;
      else this.turnDelayS[t] = flow[s]! > 0 ? delayFlow[s]! / flow[s]! : lanes[s]! > 0 ? delaySum[s]! / lanes[s]! : 0;
    }
    this.delaysChanged();
  }

  /** Forgets the trees of the old delays: call after writing `turnDelayS` other than through `setDelays` (tests do). */
  delaysChanged(): void {
    this.treeSlot.fill(-1);
    this.slotsFilled = 0;
    this.treeEntryS = undefined;
    this.treePrev = undefined;
  }

  /** Whether every search reads a kept tree (one tree fits the budget: a missing one is computed): no goal needed. */
  get keepsEveryTree(): boolean {
    return this.maxTrees > 0;
  }

  /** Whether the current search is already complete: its tree was kept (every link's time final, `run` does nothing). */
  get complete(): boolean {
    return this.treeEntryS !== undefined;
  }

  /** A point on link `link`, `positionM` from its start, in the search's plane, m (into `out`). */
  pointOn(link: number, positionM: number, out: { x: number; y: number }): void {
    const f = this.linkFrom[link]!;
    const t = this.linkTo[link]!;
    const u = Math.min(1, positionM / this.linkLengthM[link]!);
    out.x = this.ixX[f]! + (this.ixX[t]! - this.ixX[f]!) * u;
    out.y = this.ixY[f]! + (this.ixY[t]! - this.ixY[f]!) * u;
  }

  /** A point given in degrees, in the search's plane, m (into `out`). */
  planePoint(lon: number, lat: number, out: { x: number; y: number }): void {
    out.x = (lon - this.lon0) * this.mPerDegLon;
    out.y = (lat - this.lat0) * M_PER_DEG_LAT;
  }

  /**
   * Directs the next search (call after `beginSearch`, before seeding): every target lies
   * within `radiusM` of (x, y) in the plane of `planePoint`. Without it the search is plain Dijkstra.
   */
  setGoal(x: number, y: number, radiusM: number): void {
    this.goalX = x;
    this.goalY = y;
    this.goalRadiusM = radiusM;
  }

  /** Lower bound of the time from entering link b to reaching the goal circle, s. */
  private toGoalS(b: number): number {
    const f = this.linkFrom[b]!;
    const d = Math.hypot(this.ixX[f]! - this.goalX, this.ixY[f]! - this.goalY) - this.goalRadiusM;
    return d > 0 ? (d / this.planeSpeedMps) * BOUND_SHRINK : 0;
  }

  /** Marks a link as a target of the next search (call after `beginSearch`). */
  addTarget(link: number): number {
    if (this.targetStamp[link] === this.generation) return 0;
    this.targetStamp[link] = this.generation;
    return 1;
  }

  /** Starts a new search: forgets the previous one's distances and targets (in O(1)). */
  beginSearch(): void {
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.stamp.fill(0);
      this.settledStamp.fill(0);
      this.targetStamp.fill(0);
      this.generation = 1;
    }
    this.heapSize = 0;
    this.goalRadiusM = Number.POSITIVE_INFINITY;
    this.treeEntryS = undefined;
    this.treePrev = undefined;
    this.offsetS = 0;
  }

  /** The driver is on `from.link` at `from.positionM`: every turn at its end is a start (times from the link's end). */
  seedFromLink(from: LinkPosition): void {
    const a = from.link;
    this.offsetS = Math.max(0, this.linkLengthM[a]! - from.positionM) / this.linkSpeedMps[a]!;
    if (this.fromTree(a)) return;
    for (let t = this.turnStart[a]!; t < this.turnStart[a + 1]!; t++) this.relax(this.turnTo[t]!, this.turnDelayS[t]!, -2 - a);
  }

  /** The driver is at intersection i: every link leaving it is a start, entered at once. */
  seedFromIntersection(i: number): void {
    this.offsetS = 0;
    if (this.fromTree(this.linkCount + i)) return;
    for (let k = this.outStart[i]!; k < this.outStart[i + 1]!; k++) this.relax(this.outLinks[k]!, 0, -1);
  }

  /**
   * With a tree budget: the search from `origin` (a link, or linkCount + an intersection) reads
   * its kept tree, computing it first if it is not kept and the budget allows. False: search.
   */
  private fromTree(origin: number): boolean {
    if (this.maxTrees === 0) return false;
    let slot = this.treeSlot[origin]!;
    if (slot >= 0) this.treeHits++;
    else {
      if (this.slotsFilled < this.maxTrees) slot = this.slotsFilled++;
      else {
        // Every slot holds a tree: replace the least recently read (a scan, only when the budget is spent).
        slot = 0;
        for (let s = 1; s < this.maxTrees; s++) if (this.slotUsed[s]! < this.slotUsed[slot]!) slot = s;
        this.treeSlot[this.slotOrigin[slot]!] = -1;
      }
      this.buildTree(origin, slot);
      this.treeSlot[origin] = slot;
      this.slotOrigin[slot] = origin;
      this.treeBuilds++;
    }
    this.slotUsed[slot] = ++this.useClock;
    this.treeEntryS = this.slabEntryS[(slot / TREES_PER_SLAB) | 0]!;
    this.treePrev = this.slabPrev[(slot / TREES_PER_SLAB) | 0]!;
    this.treeBase = (slot % TREES_PER_SLAB) * this.linkCount;
    return true;
  }

  /** The slab of tree slot `slot`, allocated when a slot in it is first filled (the last slab only as large as the budget's slots). */
  private slabOf(slot: number): number {
    const s = (slot / TREES_PER_SLAB) | 0;
    while (this.slabEntryS.length <= s) {
      const first = this.slabEntryS.length * TREES_PER_SLAB;
      const trees = Math.min(TREES_PER_SLAB, this.maxTrees - first);
      this.slabEntryS.push(new Float64Array(trees * this.linkCount));
      this.slabPrev.push(new Int32Array(trees * this.linkCount));
    }
    return s;
  }

  /** The full search from `origin`, undirected, to the end (no time limit: a time past it is refused by the caller), into tree slot `slot`. */
  private buildTree(origin: number, slot: number): void {
    const gen = this.generation;
    const goal = this.goalRadiusM;
    this.goalRadiusM = Number.POSITIVE_INFINITY;
    if (origin < this.linkCount) {
      for (let t = this.turnStart[origin]!; t < this.turnStart[origin + 1]!; t++) this.relax(this.turnTo[t]!, this.turnDelayS[t]!, -2 - origin);
    } else {
      const i = origin - this.linkCount;
      for (let k = this.outStart[i]!; k < this.outStart[i + 1]!; k++) this.relax(this.outLinks[k]!, 0, -1);
    }
    while (this.heapSize > 0) {
      const a = this.pop();
      if (this.settledStamp[a] === gen) continue;
      this.settledStamp[a] = gen;
      const leaveS = this.entryS[a]! + this.linkLengthM[a]! / this.linkSpeedMps[a]!;
      for (let t = this.turnStart[a]!; t < this.turnStart[a + 1]!; t++) this.relax(this.turnTo[t]!, leaveS + this.turnDelayS[t]!, a);
    }
    this.goalRadiusM = goal;
    const s = this.slabOf(slot);
    const entryS = this.slabEntryS[s]!;
    const prev = this.slabPrev[s]!;
    const base = (slot % TREES_PER_SLAB) * this.linkCount;
    for (let a = 0; a < this.linkCount; a++) {
      const settled = this.settledStamp[a] === gen;
      entryS[base + a] = settled ? this.entryS[a]! : Number.POSITIVE_INFINITY;
      prev[base + a] = settled ? this.prev[a]! : -1;
    }
  }

  /**
   * Runs the search until `targets` target links are settled (links entered later than
   * `maxS` are not expanded). After it, `reached(a)` tells whether entryS[a] is final.
   */
  run(targets: number, maxS: number): void {
    if (this.treeEntryS) return;
    let left = targets;
    const gen = this.generation;
    while (this.heapSize > 0 && left > 0) {
      const a = this.pop();
      // The first time a link comes off the heap its entry time is final (a consistent goal bound).
      if (this.settledStamp[a] === gen) continue;
      this.settledStamp[a] = gen;
      if (this.targetStamp[a] === gen) left--;
      const entry = this.entryS[a]!;
      if (this.offsetS + entry > maxS) continue;
      const leaveS = entry + this.linkLengthM[a]! / this.linkSpeedMps[a]!;
      for (let t = this.turnStart[a]!; t < this.turnStart[a + 1]!; t++) this.relax(this.turnTo[t]!, leaveS + this.turnDelayS[t]!, a);
    }
  }

  /**
   * Continues the search until the next target link is settled and returns it (-1 when the
   * heap runs dry first); links entered later than `maxS` are settled but not expanded, as in `run`.
   */
  settleNextTarget(maxS: number): number {
    const gen = this.generation;
    while (this.heapSize > 0) {
      const a = this.pop();
      if (this.settledStamp[a] === gen) continue;
      this.settledStamp[a] = gen;
      const entry = this.entryS[a]!;
      if (this.offsetS + entry <= maxS) {
        const leaveS = entry + this.linkLengthM[a]! / this.linkSpeedMps[a]!;
        for (let t = this.turnStart[a]!; t < this.turnStart[a + 1]!; t++) this.relax(this.turnTo[t]!, leaveS + this.turnDelayS[t]!, a);
      }
      if (this.targetStamp[a] === gen) return a;
    }
    return -1;
  }

  /**
   * A lower bound of the entry time of every link not yet settled, s: the smallest key in the
   * heap (the goal bound is never negative and is consistent); Infinity when the heap is empty.
   */
  minKeyS(): number {
    if (this.treeEntryS) return Number.POSITIVE_INFINITY;
    return this.heapSize > 0 ? this.offsetS + this.heapKey[0]! : Number.POSITIVE_INFINITY;
  }

  /** Was link a settled by the last search (its time final)? From a kept tree: was it reached at all. */
  reached(a: number): boolean {
    if (this.treeEntryS) return this.treeEntryS[this.treeBase + a]! !== Number.POSITIVE_INFINITY;
    return this.settledStamp[a] === this.generation;
  }

  /** Drive time from the search's origin to a point on a settled link, s (Infinity if not reached). */
  timeTo(at: LinkPosition): number {
    return this.timeToPoint(at.link, at.positionM);
  }

  /** `timeTo` of the point `positionM` along `link` (no object: the recommender asks it per entrance). */
  timeToPoint(link: number, positionM: number): number {
    if (!this.reached(link)) return Number.POSITIVE_INFINITY;
    const entry = this.treeEntryS ? this.treeEntryS[this.treeBase + link]! : this.entryS[link]!;
    return this.offsetS + entry + positionM / this.linkSpeedMps[link]!;
  }

  /** The links driven from the origin to settled link a, in order (the origin link first when the search started on one). */
  route(a: number): string[] {
    const out: string[] = [];
    if (!this.reached(a)) return out;
    const prev = this.treePrev ?? this.prev;
    const base = this.treePrev ? this.treeBase : 0;
    let x = a;
    for (let guard = 0; guard <= this.linkCount; guard++) {
      out.push(this.linkIds[x]!);
      const p = prev[base + x]!;
      if (p === -1) break;
      if (p < -1) {
        out.push(this.linkIds[-2 - p]!);
        break;
      }
      x = p;
    }
    return out.reverse();
  }

  private relax(b: number, entry: number, from: number): void {
    const gen = this.generation;
    if (this.stamp[b] === gen) {
      const old = this.entryS[b]!;
      if (old < entry) return;
      if (old === entry) {
        // A tie: the lower-numbered predecessor, whichever came first (every tied one is settled before b).
        if (from < this.prev[b]! && this.settledStamp[b] !== gen) this.prev[b] = from;
        return;
      }
    }
    if (this.settledStamp[b] === gen) return;
    this.stamp[b] = gen;
    this.entryS[b] = entry;
    this.prev[b] = from;
    this.push(b, this.goalRadiusM === Number.POSITIVE_INFINITY ? entry : entry + this.toGoalS(b));
  }

  private push(link: number, key: number): void {
    let i = this.heapSize++;
    if (i >= this.heapLink.length) this.grow();
    const hl = this.heapLink;
    const hk = this.heapKey;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (hk[parent]! <= key) break;
      hl[i] = hl[parent]!;
      hk[i] = hk[parent]!;
      i = parent;
    }
    hl[i] = link;
    hk[i] = key;
  }

  private pop(): number {
    const hl = this.heapLink;
    const hk = this.heapKey;
    const top = hl[0]!;
    const n = --this.heapSize;
    const link = hl[n]!;
    const key = hk[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && hk[child + 1]! < hk[child]!) child++;
      if (hk[child]! >= key) break;
      hl[i] = hl[child]!;
      hk[i] = hk[child]!;
      i = child;
    }
    hl[i] = link;
    hk[i] = key;
    return top;
  }

  private grow(): void {
    const l = new Int32Array(this.heapLink.length * 2);
    const k = new Float64Array(this.heapKey.length * 2);
    l.set(this.heapLink);
    k.set(this.heapKey);
    this.heapLink = l;
    this.heapKey = k;
  }

  /** Heading of link a from its start to its end, radians counter-clockwise from east. */
  private headingRad(a: number): number {
    const net = this.c.network;
    const f = net.intersections[this.linkFrom[a]!]?.position;
    const t = net.intersections[this.linkTo[a]!]?.position;
    if (!f || !t) return 0;
    const dx = (t.lon - f.lon) * Math.cos((((f.lat + t.lat) / 2) * Math.PI) / 180);
    return Math.atan2(t.lat - f.lat, dx);
  }
}

/** Left, through or right from the change of heading (counter-clockwise positive: a left turn). */
function turnOf(fromRad: number, toRad: number): number {
  let d = toRad - fromRad;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d <= -Math.PI) d += 2 * Math.PI;
  const deg = (d * 180) / Math.PI;
  if (deg > 45) return deg > 150 ? TURN_U : TURN_L;
  if (deg < -45) return deg < -150 ? TURN_U : TURN_R;
  return TURN_T;
}
