import { describe, expect, it } from 'vitest';
import { compileNetwork } from '../network/compile.js';
import { loadNetwork } from '../network/validate.js';
import { mulberry32 } from '../numeric.js';
import { gridNetworkJson } from '../../test/fixtures/gridNetwork.js';
import { RoadGraph } from './roads.js';

// A grid of 8 × 8 signals: 224 links and 64 intersections, so 288 origins; trees in slabs of 64.
const c = compileNetwork(loadNetwork(JSON.stringify(gridNetworkJson({ rows: 8, cols: 8, colSpacingM: 250, rowSpacingM: 200 }))));

/** Every link's reach, time to a point 10 m along it and route from `origin`, by the graph as it answers (kept tree or search run to the end). */
function answers(g: RoadGraph, origin: number): { kept: boolean; reached: boolean[]; timeS: number[]; route: string[][] } {
  g.beginSearch();
  if (origin < g.linkCount) g.seedFromLink({ link: origin, positionM: 5 });
  else g.seedFromIntersection(origin - g.linkCount);
  const kept = g.complete;
  g.run(g.linkCount + 1, Number.POSITIVE_INFINITY);
  const reached: boolean[] = [];
  const timeS: number[] = [];
  const route: string[][] = [];
  for (let a = 0; a < g.linkCount; a++) {
    reached.push(g.reached(a));
    timeS.push(g.timeToPoint(a, 10));
    // Routes of every 5th link (building all of them is most of the test's time).
    route.push(a % 5 === origin % 5 ? g.route(a) : []);
  }
  return { kept, reached, timeS, route };
}

describe('RoadGraph kept trees', () => {
  it('read from slabs, across slabs, after least-recently-used eviction and after new delays: the same times and routes as a search run to the end', () => {
    const plain = new RoadGraph(c);
    // Room for 100 trees (two slabs: 64 and 36), and for 70 (eviction once they are full).
    const wide = new RoadGraph(c, { treeCacheBytes: 100 * 12 * plain.linkCount });
    const narrow = new RoadGraph(c, { treeCacheBytes: 70 * 12 * plain.linkCount });
    const origins = plain.linkCount + c.intersectionCount;
    const rnd = mulberry32(17);
    for (const round of [0, 1]) {
      // New delays (ties on the first round, random on the second): every kept tree is dropped.
      for (let t = 0; t < plain.turnDelayS.length; t++) plain.turnDelayS[t] = round === 0 ? 10 * Math.floor(rnd() * 3) : rnd() * 40;
      for (const g of [plain, wide, narrow]) {
        if (g !== plain) g.turnDelayS.set(plain.turnDelayS);
        g.delaysChanged();
      }
      const narrowBefore = narrow.treeBuilds;
      const wideBefore = wide.treeBuilds;
      // 90 origins, then the first 40 again: the wide graph keeps all of them, the narrow one has dropped its least recently used.
      const picked = Array.from({ length: 90 }, () => Math.floor(rnd() * origins));
      for (const origin of [...picked, ...picked.slice(0, 40).reverse()]) {
        const want = answers(plain, origin);
        expect(want.kept).toBe(false);
        for (const g of [wide, narrow]) {
          const got = answers(g, origin);
          expect(got.kept).toBe(true);
          expect(got.reached).toEqual(want.reached);
          expect(got.timeS).toEqual(want.timeS);
          expect(got.route).toEqual(want.route);
        }
      }
      const distinct = new Set(picked).size;
      expect(distinct).toBeGreaterThan(70);
      // Every distinct origin built once in the wide graph's slabs; the narrow one rebuilt what it dropped.
      expect(wide.treeBuilds - wideBefore).toBe(distinct);
      expect(narrow.treeBuilds - narrowBefore).toBeGreaterThan(distinct);
    }
  });
});
