/**
 * Coordination across region borders: where a signal system was cut between regions
 * (regions.ts's `borderLinks`), the regions on both sides run one common cycle and the
 * follower's side is shifted so that the green band continues over the border link. Called by
 * service/cluster/regionReplan.ts for each region a node re-plans, with the border states its
 * neighbours last published on the bus (service/cluster/borderStates.ts); the result carries
 * the state this region publishes in turn. Engine only: no transport here.
 *
 * The rules, chosen so that re-plans on many nodes converge and never oscillate:
 *  - cycle: the regions joined by border links (a component of the region graph, known to every
 *    node from the partition alone) run the largest of their own cycles, each region's own
 *    being the longest cycle its border systems choose when planned alone (`needCycleS`). That
 *    is the signal-system rule of the critical intersection: a shorter common cycle would leave
 *    the most loaded signal without the capacity it asked for. A need depends only on the
 *    region's own counts, never on another region's plan, so once every region of a component
 *    has published its need, all agree on one cycle;
 *  - offsets: on a border link the region with the lower id leads and keeps its offsets; the
 *    other follows, shifting each of its border systems as a whole (its own bands are
 *    unchanged, as corridorPlan.ts shifts corridors within one system) by the shift that gives
 *    the widest band summed over its links to leaders in both directions (band = the
 *    upstream through green, moved on by the link's travel time at the progression speed,
 *    overlapping the downstream one). Leaders never read followers, so the dependencies form
 *    a graph ordered by region id without cycles: a region `d` steps down a chain of leaders
 *    is settled after at most 2 + d rounds of re-plans (docs/cluster.md).
 * Every signal the shift touches is validated again; the planner validated the rest.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { ApproachId, Network } from '../network/schema.js';
import { travelDirection } from '../network/geometry.js';
import { IssueList, UnsafePlanError } from '../errors.js';
import { mod, round1 } from '../numeric.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { signalSystemOf } from '../corridor/crossing.js';
import { throughIndex } from '../corridor/subsystems.js';
import { currentMovementWindow } from '../corridor/windows.js';
import { planNetwork, timingPlans, type NetworkPlan } from '../plan.js';
import type { RegionPlan } from './regions.js';

/** One end of a border link, seen from the region holding it. */
export interface BorderEnd {
  readonly linkId: string;
  /** This region's signal on the link, and whether traffic leaves it onto the link (`from`) or arrives from it (`to`). */
  readonly signalId: string;
  readonly role: 'from' | 'to';
  readonly otherSignalId: string;
  readonly otherRegion: string;
  /** Direction of travel along the link: the through movement the band follows at both ends. */
  readonly direction: ApproachId;
  /** Link length ÷ progression speed (the middle of the link's speed range), s. */
  readonly travelS: number;
  /** True when this region leads the link (its id is the lower): it keeps its offsets. */
  readonly leads: boolean;
}

/** What a region needs to coordinate across its borders, from the partition and the city's network. */
export interface RegionBorders {
  readonly regionId: string;
  readonly ends: readonly BorderEnd[];
  /** The regions joined to this one by border links, directly or not, itself included, sorted. */
  readonly component: readonly string[];
}

/** The through green a region's signal shows for one border link, in the signal's own clock. */
export interface BorderWindow {
  readonly linkId: string;
  readonly signalId: string;
  readonly cycleS: number;
  /** Green start, offset applied, in [0, cycleS). */
  readonly startS: number;
  readonly greenS: number;
}

/** What a region publishes for its neighbours after each re-plan. */
export interface BorderState {
  readonly regionId: string;
  /** The longest cycle its border systems choose planned alone, s. */
  readonly needCycleS: number;
  /** The common cycle its border systems run, s. */
  readonly cycleS: number;
  readonly windows: readonly BorderWindow[];
}

/** What one border re-plan did. */
export interface BorderReport {
  readonly needCycleS: number;
  readonly cycleS: number;
  /** Planned a second time at the common cycle (the first plan's border systems ran another). */
  readonly replanned: boolean;
  /** Border links followed (a leader's state present, at the common cycle). */
  readonly followed: number;
  /** Border links whose leader's state is missing or at another cycle. */
  readonly waiting: number;
  /** Band over the followed links, summed, s, after the shift; and what it was before it. */
  readonly bandS: number;
  readonly bandBeforeS: number;
  /** Shift applied to each border system (by its first signal's id), s. */
  readonly shifts: Readonly<Record<string, number>>;
}

const speedMps = (l: Network['links'][number]): number => ((l.minSpeedKph ?? l.designSpeedKph * 0.9) + (l.maxSpeedKph ?? l.designSpeedKph * 1.1)) / 2 / 3.6;

/** Every region's border ends and component, from the partition; regions without border links are left out. */
export function regionBorders(net: Network, plan: RegionPlan): Map<string, RegionBorders> {
  const linkById = new Map(net.links.map((l) => [l.id, l]));
  const pos = new Map(net.intersections.map((x) => [x.id, x.position]));
  const ends = new Map<string, BorderEnd[]>();
  const parent = new Map<string, string>();
  const find = (r: string): string => {
    let p = parent.get(r) ?? r;
    while (p !== (parent.get(p) ?? p)) p = parent.get(p) ?? p;
    parent.set(r, p);
    return p;
  };
  for (const b of plan.borderLinks) {
    const l = linkById.get(b.linkId)!;
    const direction = travelDirection(pos.get(l.from)!, pos.get(l.to)!);
    const travelS = round1(l.lengthM / speedMps(l));
    const add = (region: string, e: BorderEnd) => ends.set(region, [...(ends.get(region) ?? []), e]);
    add(b.fromRegion, { linkId: l.id, signalId: l.from, role: 'from', otherSignalId: l.to, otherRegion: b.toRegion, direction, travelS, leads: b.fromRegion < b.toRegion });
    add(b.toRegion, { linkId: l.id, signalId: l.to, role: 'to', otherSignalId: l.from, otherRegion: b.fromRegion, direction, travelS, leads: b.toRegion < b.fromRegion });
    const [x, y] = [find(b.fromRegion), find(b.toRegion)];
    // The lower id is the root, so a component is named by its lowest region.
    if (x < y) parent.set(y, x);
    else if (y < x) parent.set(x, y);
  }
  const components = new Map<string, string[]>();
  for (const r of ends.keys()) components.set(find(r), [...(components.get(find(r)) ?? []), r]);
  const out = new Map<string, RegionBorders>();
  for (const [r, e] of ends) out.set(r, { regionId: r, ends: e, component: [...components.get(find(r))!].sort() });
  return out;
}

/** Length of the overlap of two windows repeating every `cycleS` (each at most a cycle long). */
export function periodicOverlapS(aStartS: number, aS: number, bStartS: number, bS: number, cycleS: number): number {
  const a = mod(aStartS, cycleS);
  const b = mod(bStartS, cycleS);
  let total = 0;
  for (let k = -1; k <= 1; k++) total += Math.max(0, Math.min(a + aS, b + k * cycleS + bS) - Math.max(a, b + k * cycleS));
  return Math.min(total, aS, bS);
}

/**
 * Band over one border link: the upstream (`from`) through green moved on by the travel time,
 * overlapping the downstream (`to`) one. Both windows in their signals' clocks, same cycle.
 */
export function borderBandS(from: Pick<BorderWindow, 'startS' | 'greenS'>, to: Pick<BorderWindow, 'startS' | 'greenS'>, travelS: number, cycleS: number): number {
  return periodicOverlapS(from.startS + travelS, from.greenS, to.startS, to.greenS, cycleS);
}

/** The through window of the region's signal `i` in `direction`, offset applied. */
function windowOf(c: CompiledNetwork, plan: NetworkPlan, i: number, direction: ApproachId, w: Float64Array): { startS: number; greenS: number; cycleS: number } {
  currentMovementWindow(c, plan.buffer, i, throughIndex(direction), w);
  const cycleS = plan.buffer.cycleS[i]!;
  return { startS: round1(mod(plan.buffer.offsetS[i]! + w[0]!, cycleS)), greenS: round1(w[1]!), cycleS };
}

/** The cycle each corridor signal's system runs (a double-cycled signal counts its corridor's), else its own. */
function systemCycles(c: CompiledNetwork, plan: NetworkPlan): Float64Array {
  const out = Float64Array.from(plan.buffer.cycleS);
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  for (const cor of plan.corridors) for (const x of cor.intersections) out[index.get(x.id)!] = cor.cycleS;
  return out;
}

/**
 * Plans a region (the engine planner over its own network, as an isolated re-plan would) and
 * then coordinates it across its borders with `neighbours`' latest published states (any
 * region of its component; missing ones are waited for, not guessed). Returns the plan, every
 * signal validated, and the state to publish.
 */
export function planRegionAtBorders(
  c: CompiledNetwork,
  volumeVeh: Float64Array,
  intervalS: number,
  borders: RegionBorders,
  neighbours: ReadonlyMap<string, BorderState>,
): { plan: NetworkPlan; state: BorderState; report: BorderReport } {
  const index = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const ends = borders.ends.filter((e) => index.has(e.signalId));
  // A border system: the planner's signal system of a border signal (corridors joined by
  // short links inside the region), or the signal alone where the region's network left it on
  // no corridor (a corridor cut to one signal).
  const system = signalSystemOf(c);
  const groupOf = (i: number): number => (system[i]! >= 0 ? system[i]! : -1 - i);
  const groups = new Map<number, number[]>();
  for (const e of ends) groups.set(groupOf(index.get(e.signalId)!), []);
  for (let i = 0; i < c.intersectionCount; i++) groups.get(groupOf(i))?.push(i);
  const members = [...groups.values()].flat();

  let plan = planNetwork(c, volumeVeh, intervalS);
  const cycles = systemCycles(c, plan);
  let needCycleS = 0;
  for (const i of members) needCycleS = Math.max(needCycleS, cycles[i]!);
  let cycleS = needCycleS;
  for (const r of borders.component) if (r !== borders.regionId) cycleS = Math.max(cycleS, neighbours.get(r)?.needCycleS ?? 0);
  const replanned = members.some((i) => plan.buffer.cycleS[i] !== cycleS);
  if (replanned) {
    // The common cycle as both limits of every border-system signal: the cycle search has one
    // cycle to try, and no signal of those systems double-cycles (its minimum is the cycle).
    const lo = new Float64Array(c.intersectionCount).fill(Number.NaN);
    for (const i of members) lo[i] = cycleS;
    plan = planNetwork(c, volumeVeh, intervalS, { cycleLimitMinS: lo, cycleLimitMaxS: lo });
  }

  // Shift each border system against the leaders' windows it follows.
  const w = new Float64Array(2);
  const shifts: Record<string, number> = {};
  let followed = 0;
  let waiting = 0;
  let bandS = 0;
  let bandBeforeS = 0;
  const issues = new IssueList();
  for (const group of groups.values()) {
    const inGroup = new Set(group);
    const terms: { own: { startS: number; greenS: number }; other: BorderWindow; e: BorderEnd }[] = [];
    for (const e of ends) {
      const i = index.get(e.signalId)!;
      if (e.leads || !inGroup.has(i)) continue;
      const other = neighbours.get(e.otherRegion)?.windows.find((x) => x.linkId === e.linkId);
      const own = windowOf(c, plan, i, e.direction, w);
      if (!other || other.cycleS !== own.cycleS || own.cycleS !== cycleS) {
        waiting++;
        continue;
      }
      terms.push({ own, other, e });
    }
    if (terms.length === 0) continue;
    followed += terms.length;
    const band = (shiftS: number): number => {
      let s = 0;
      for (const { own, other, e } of terms) {
        s += e.role === 'to' ? borderBandS(other, { startS: own.startS + shiftS, greenS: own.greenS }, e.travelS, cycleS) : borderBandS({ startS: own.startS + shiftS, greenS: own.greenS }, other, e.travelS, cycleS);
      }
      return s;
    };
    // Misalignment of the windows' middles, to choose among shifts of equal band (centred bands
    // leave room for platoon spread both ways).
    const offCentre = (shiftS: number): number => {
      let s = 0;
      for (const { own, other, e } of terms) {
        const up = e.role === 'to' ? other.startS + other.greenS / 2 + e.travelS : own.startS + shiftS + own.greenS / 2 + e.travelS;
        const down = e.role === 'to' ? own.startS + shiftS + own.greenS / 2 : other.startS + other.greenS / 2;
        const d = mod(down - up, cycleS);
        s += Math.min(d, cycleS - d);
      }
      return s;
    };
    let best = 0;
    let bestBand = band(0);
    let bestOff = offCentre(0);
    bandBeforeS += bestBand;
    for (let tenths = 1; tenths < Math.round(cycleS * 10); tenths++) {
      const shiftS = tenths / 10;
      const b = band(shiftS);
      if (b < bestBand - 1e-6) continue;
      const o = offCentre(shiftS);
      if (b > bestBand + 1e-6 || o < bestOff - 1e-6) [best, bestBand, bestOff] = [shiftS, b, o];
    }
    bandS += bestBand;
    shifts[c.intersectionIds[group[0]!]!] = best;
    if (best === 0) continue;
    for (const i of group) {
      const cyc = plan.buffer.cycleS[i]!;
      const offset = round1(mod(plan.buffer.offsetS[i]! + best, cyc));
      plan.buffer.offsetS[i] = offset >= cyc ? 0 : offset;
      if (!validateIntersectionPlan(c, i, plan.buffer, issues)) throw new UnsafePlanError(c.intersectionIds[i]!, issues.items);
    }
    const ids = new Set(group.map((i) => c.intersectionIds[i]!));
    const at = (x: number, cyc: number) => round1(mod(x + best, cyc));
    plan = {
      ...plan,
      corridors: plan.corridors.map((cor) =>
        cor.intersections.some((x) => ids.has(x.id))
          ? {
              ...cor,
              bandOutStartS: at(cor.bandOutStartS, cor.cycleS),
              bandInStartS: at(cor.bandInStartS, cor.cycleS),
              intersections: cor.intersections.map((x) => ({ ...x, offsetS: plan.buffer.offsetS[index.get(x.id)!]!, outGreen: { ...x.outGreen, startS: at(x.outGreen.startS, cor.cycleS) }, inGreen: { ...x.inGreen, startS: at(x.inGreen.startS, cor.cycleS) } })),
            }
          : cor,
      ),
    };
  }
  if (Object.values(shifts).some((s) => s !== 0)) plan = { ...plan, plans: timingPlans(c, plan.buffer) };

  const windows: BorderWindow[] = ends.map((e) => ({ linkId: e.linkId, signalId: e.signalId, ...windowOf(c, plan, index.get(e.signalId)!, e.direction, w) }));
  return {
    plan,
    state: { regionId: borders.regionId, needCycleS, cycleS, windows },
    report: { needCycleS, cycleS, replanned, followed, waiting, bandS: round1(bandS), bandBeforeS: round1(bandBeforeS), shifts },
  };
}
