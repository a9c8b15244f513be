import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { mulberry32 } from '../numeric.js';
import { loadNetwork } from '../network/validate.js';
import { SYSTEM_LINK_MAX_M } from '../corridor/crossing.js';
import { gridNetworkJson } from '../../test/fixtures/gridNetwork.js';
import { cityLayout } from '../../test/fixtures/cityLayout.js';
import { partitionRegions, type RegionNetwork, type RegionPlan } from './regions.js';

/** Corridor members and signal systems computed here on their own, to check the plan against. */
function referenceSystems(net: RegionNetwork): { corridorSignals: string[][]; systemSignals: string[][] } {
  const claimed = new Set<string>();
  const known = new Set(net.intersections.map((x) => x.id));
  const corridorSignals: string[][] = [];
  for (const c of net.corridors) {
    const s = c.intersections.filter((id) => known.has(id) && !claimed.has(id));
    if (s.length < 2) continue;
    s.forEach((id) => claimed.add(id));
    corridorSignals.push(s);
  }
  const owner = new Map<string, number>();
  corridorSignals.forEach((s, k) => s.forEach((id) => owner.set(id, k)));
  const parent = corridorSignals.map((_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
    return k;
  };
  for (const l of net.links) {
    const a = owner.get(l.from);
    const b = owner.get(l.to);
    if (l.lengthM <= SYSTEM_LINK_MAX_M && a !== undefined && b !== undefined) parent[find(a)] = find(b);
  }
  const groups = new Map<number, string[]>();
  corridorSignals.forEach((s, k) => groups.set(find(k), [...(groups.get(find(k)) ?? []), ...s]));
  return { corridorSignals, systemSignals: [...groups.values()] };
}

/** Every rule checked over the whole plan, the failures collected (one expect per rule, not per signal). */
function checkPlan(net: RegionNetwork, plan: RegionPlan): void {
  const all = plan.regions.flatMap((r) => r.signalIds);
  expect(all.length).toBe(net.intersections.length);
  expect(new Set(all).size).toBe(all.length);
  expect(plan.regions.filter((r) => r.signalIds.length === 0 || r.signalIds.length > plan.maxSignals).map((r) => r.id)).toEqual([]);
  expect(plan.regions.flatMap((r) => r.signalIds.filter((id) => plan.regionOf.get(id) !== r.id))).toEqual([]);
  const { corridorSignals, systemSignals } = referenceSystems(net);
  expect(corridorSignals.filter((s) => new Set(s.map((id) => plan.regionOf.get(id))).size !== 1)).toEqual([]);
  const regionsOf = systemSignals.map((s) => new Set(s.map((id) => plan.regionOf.get(id))).size);
  expect(systemSignals.filter((s, k) => s.length <= plan.maxSignals && regionsOf[k] !== 1).length).toBe(0);
  expect(plan.splitSystems).toBe(regionsOf.filter((r) => r > 1).length);
  expect(plan.borderLinks.filter((b) => b.fromRegion === b.toRegion)).toEqual([]);
}

describe('partitionRegions', () => {
  it('cuts a grid system between whole corridors and reports the cut links', () => {
    const net = loadNetwork(JSON.stringify(gridNetworkJson({ rows: 6, cols: 10, colSpacingM: 250, rowSpacingM: 250 })));
    const plan = partitionRegions(net, 25);
    checkPlan(net, plan);
    expect(plan.splitSystems).toBe(1);
    // Six rows of ten: two rows to a region, three regions.
    expect(plan.regions.map((r) => r.signalIds.length)).toEqual([20, 20, 20]);
    expect(plan.regions.map((r) => r.corridorIds.length)).toEqual([2, 2, 2]);
    // Two row pairs meet across 10 column links each way (the grid has both directions).
    expect(plan.borderLinks.length).toBe(2 * 2 * 10);
    // Large enough, the whole system is one region and nothing crosses.
    const whole = partitionRegions(net, 60);
    expect(whole.regions.length).toBe(1);
    expect(whole.borderLinks).toEqual([]);
  });

  it('refuses a corridor longer than a region, naming it', () => {
    const net = loadNetwork(JSON.stringify(gridNetworkJson({ rows: 2, cols: 12, colSpacingM: 250, rowSpacingM: 250 })));
    let err: unknown;
    try {
      partitionRegions(net, 10);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['corridors[0]', 'corridors[1]']);
    expect(() => partitionRegions(net, 0)).toThrow(ValidationError);
  });

  it('packs signals on no corridor by place, regions full but the last', () => {
    const net = cityLayout({ signals: 500, seed: 3 });
    const bare = { ...net, corridors: [] };
    const plan = partitionRegions(bare, 64);
    checkPlan(bare, plan);
    expect(plan.regions.length).toBe(Math.ceil(500 / 64));
    expect(plan.regions.slice(0, -1).every((r) => r.signalIds.length === 64)).toBe(true);
  });

  it('partitions a generated 20,000-signal city: whole corridors and systems, compact, fast, independent of file order', () => {
    const net = cityLayout({ signals: 20_000, seed: 19 });
    const t0 = performance.now();
    const plan = partitionRegions(net, 300);
    const ms = performance.now() - t0;
    console.log(`regions: ${net.intersections.length} signals, ${plan.regions.length} regions of at most 300, ${plan.splitSystems} systems cut, ${plan.borderLinks.length} border links, ${ms.toFixed(0)} ms`);
    checkPlan(net, plan);
    expect(plan.splitSystems).toBeGreaterThan(0);
    expect(plan.borderLinks.length).toBeGreaterThan(0);
    // Next fit along the curve wastes some room at piece boundaries, not much.
    expect(plan.regions.length).toBeLessThanOrEqual(Math.ceil((20_000 / 300) * 1.35));
    expect(ms).toBeLessThan(3000);
    // Shuffled intersections and links: the same regions.
    const rnd = mulberry32(7);
    const shuffle = <T>(a: readonly T[]): T[] => {
      const b = [...a];
      for (let i = b.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [b[i], b[j]] = [b[j]!, b[i]!];
      }
      return b;
    };
    const again = partitionRegions({ ...net, intersections: shuffle(net.intersections), links: shuffle(net.links) }, 300);
    expect(again.regions).toEqual(plan.regions);
    expect(again.borderLinks).toEqual(plan.borderLinks);
  });
});
