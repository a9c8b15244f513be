import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCompiledNetwork } from '../network/load.js';
import { compileNetwork } from '../network/compile.js';
import { loadNetwork } from '../network/validate.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import { mulberry32 } from '../numeric.js';
import { parkingCityJson } from '../../test/fixtures/parkingCity.js';
import { compileParking } from './load.js';
import { RoadGraph } from './roads.js';
import { Recommender, haversineM, probabilityFree } from './recommend.js';
import { TableOccupancySource } from './standIn.js';

const root = new URL('../../examples/demo-city/', import.meta.url).pathname;
const c = loadCompiledNetwork(`${root}network.json`);
const parking = compileParking(JSON.parse(readFileSync(`${root}parking.json`, 'utf8')), c);
// Monday 2026-03-02 10:00 in Hangzhou.
const NOW = Date.parse('2026-03-02T10:00:00+08:00');

function demo(): { roads: RoadGraph; source: TableOccupancySource; rec: Recommender } {
  const roads = new RoadGraph(c);
  const source = new TableOccupancySource(parking);
  for (let k = 0; k < parking.carParkCount; k++) source.report(k, Math.floor(parking.capacity[k]! / 2), NOW - 60_000);
  return { roads, source, rec: new Recommender(parking, roads, source) };
}
const P = (id: string): number => parking.carPark(id)!;
const near = (id: string) => ({ lon: parking.lon[P(id)]! + 0.0003, lat: parking.lat[P(id)]! });

describe('Recommend', () => {
  it('ranks by expected cost, with the route from the driver to the entrance and a fallback from there', () => {
    const { rec } = demo();
    const r = rec.recommend({ destination: near('P4'), origin: { link: 0, positionM: 0 }, nowMs: NOW, preferences: { topN: 3 } });
    expect(r.ranked.length).toBe(3);
    for (let i = 1; i < r.ranked.length; i++) expect(r.ranked[i]!.costS).toBeGreaterThanOrEqual(r.ranked[i - 1]!.costS);
    const first = r.ranked[0]!;
    expect(first.route[0]).toBe('L-I1-I2');
    expect(first.route.at(-1)).toBe(c.network.links[parking.entranceLink[first.entrance]!]!.id);
    expect(first.walkM).toBeCloseTo(haversineM(near('P4').lon, near('P4').lat, parking.lon[first.carPark]!, parking.lat[first.carPark]!) * 1.3, 6);
    expect(r.fallback).toBeDefined();
    expect(r.fallback!.carPark).not.toBe(first.carPark);
    expect(r.fallback!.route[0]).toBe(first.route.at(-1));
    expect(r.fallback!.arrivalMs).toBeGreaterThan(first.arrivalMs);
    // The fallback is reached from the first's entrance: its arrival is the first's plus the drive on (in seconds, not milliseconds).
    expect(r.fallback!.arrivalMs).toBeCloseTo(first.arrivalMs + r.fallback!.driveS * 1000, 3);
    // Every link of a route leads into the next.
    const byId = new Map(c.network.links.map((l) => [l.id, l]));
    for (const rt of [first.route, r.fallback!.route]) for (let i = 1; i < rt.length; i++) expect(byId.get(rt[i]!)!.from).toBe(byId.get(rt[i - 1]!)!.to);
  });

  it('never recommends a stale (unknown) or closed car park, nor one the vehicle does not fit', () => {
    const { rec } = demo();
    const everyone = { maxWalkM: 50_000, topN: 8 };
    const all = rec.recommend({ destination: near('P4'), origin: { intersection: 0 }, nowMs: NOW, preferences: everyone });
    expect(all.ranked.length).toBe(8);
    // P4's feed goes stale (last report 12 minutes ago), or has never reported: unknown, refused.
    for (const lastMs of [NOW - 12 * 60_000, undefined]) {
      const src = new TableOccupancySource(parking);
      for (let k = 0; k < parking.carParkCount; k++) if (k !== P('P4') || lastMs !== undefined) src.report(k, 0, k === P('P4') ? lastMs! : NOW);
      const r = new Recommender(parking, new RoadGraph(c), src).recommend({ destination: near('P4'), origin: { intersection: 0 }, nowMs: NOW, preferences: everyone });
      expect(r.ranked.map((x) => x.carPark)).not.toContain(P('P4'));
      expect(r.refused.unknown).toBe(1);
      expect(src.state(P('P4'), NOW).status).toBe('unknown');
    }
    // P6 opens 06:00–23:00: at 23:30 it is closed.
    const late = Date.parse('2026-03-02T23:30:00+08:00');
    const src3 = new TableOccupancySource(parking);
    for (let k = 0; k < parking.carParkCount; k++) src3.report(k, 0, late);
    const r3 = new Recommender(parking, new RoadGraph(c), src3).recommend({ destination: near('P6'), origin: { intersection: 0 }, nowMs: late, preferences: everyone });
    expect(r3.ranked.map((x) => x.carPark)).not.toContain(P('P6'));
    expect(r3.refused.closed).toBe(1);
    // A 2.5 m van fits only the car parks without a height limit (P3, P6, P7); EV needs EV spaces.
    const van = rec.recommend({ destination: near('P4'), origin: { intersection: 0 }, nowMs: NOW, vehicle: { heightM: 2.5 }, preferences: everyone });
    expect(van.ranked.map((x) => parking.carParkIds[x.carPark]).sort()).toEqual(['P3', 'P6', 'P7']);
    expect(van.refused.height).toBe(5);
    const ev = rec.recommend({ destination: near('P4'), origin: { intersection: 0 }, nowMs: NOW, vehicle: { needs: ['ev'] }, preferences: everyone });
    expect(ev.refused.spaceType).toBe(2); // the two on-street zones
  });

  it('a car park full on arrival ranks behind one with space, and the chance follows the band', () => {
    const { rec, source } = demo();
    const dest = near('P4');
    const before = rec.recommend({ destination: dest, origin: { intersection: 0 }, nowMs: NOW, preferences: { maxWalkM: 50_000, topN: 8 } });
    const p4Before = before.ranked.find((x) => x.carPark === P('P4'))!;
    source.report(P('P4'), parking.capacity[P('P4')]!, NOW);
    const after = rec.recommend({ destination: dest, origin: { intersection: 0 }, nowMs: NOW, preferences: { maxWalkM: 50_000, topN: 8 } });
    const p4After = after.ranked.find((x) => x.carPark === P('P4'))!;
    expect(p4After.pFree).toBeLessThan(0.5);
    expect(p4After.costS - p4Before.costS).toBeCloseTo((p4Before.pFree - p4After.pFree) * 600, 6);
    expect(after.ranked[0]!.carPark).not.toBe(P('P4'));
    expect(probabilityFree(10, 10, 10)).toBe(1);
    expect(probabilityFree(0, 0, 0)).toBe(0);
    expect(probabilityFree(0.5, -12.3, 13.3)).toBeCloseTo(0.5, 6);
    expect(probabilityFree(5.5, 5.5 - 1.2815515655, 5.5 + 1.2815515655)).toBeCloseTo(0.99997, 4); // 4 σ
  });

  it('drive times include the current plan\'s signal delays', () => {
    const { roads, rec } = demo();
    const q = { destination: near('P8'), origin: { link: 0, positionM: 0 }, nowMs: NOW, preferences: { maxWalkM: 200 } };
    const free = rec.recommend(q).ranked[0]!;
    const prepared = prepareCounts(c, readFileSync(`${root}counts.csv`, 'utf8'));
    const d = demandFor(prepared, '08:00');
    roads.setDelays(planNetwork(c, d.volumeVeh, d.intervalS).buffer);
    const delayed = rec.recommend(q).ranked[0]!;
    expect(delayed.carPark).toBe(free.carPark);
    // Four signals on the way east along Renmin Rd (I2..I5), each with some delay.
    expect(delayed.driveS - free.driveS).toBeGreaterThan(4 * 2);
  });

  it('shortest drive times equal a Bellman–Ford reference on a grid (only right turns and straight on: no left lanes)', () => {
    const city = parkingCityJson({ grid: { rows: 5, cols: 5, colSpacingM: 300, rowSpacingM: 250 }, carParks: 80, signs: 4, seed: 3 });
    const gc = compileNetwork(loadNetwork(JSON.stringify(city.network)));
    const gp = compileParking(city.parking, gc);
    const roads = new RoadGraph(gc);
    const rnd = mulberry32(9);
    for (let t = 0; t < roads.turnDelayS.length; t++) roads.turnDelayS[t] = rnd() * 40;
    roads.delaysChanged();
    const src = new TableOccupancySource(gp);
    for (let k = 0; k < gp.carParkCount; k++) src.report(k, 0, NOW);
    const rec = new Recommender(gp, roads, src);
    for (let trial = 0; trial < 20; trial++) {
      const link = Math.floor(rnd() * roads.linkCount);
      const pos = rnd() * roads.linkLengthM[link]!;
      // Reference: entry time of every link by Bellman–Ford over the same turns.
      const entry = new Float64Array(roads.linkCount).fill(Infinity);
      const endS = (roads.linkLengthM[link]! - pos) / roads.linkSpeedMps[link]!;
      for (let t = roads.turnStart[link]!; t < roads.turnStart[link + 1]!; t++) entry[roads.turnTo[t]!] = Math.min(entry[roads.turnTo[t]!]!, endS + roads.turnDelayS[t]!);
      for (let changed = true; changed; ) {
        changed = false;
        for (let a = 0; a < roads.linkCount; a++) {
          if (!Number.isFinite(entry[a]!)) continue;
          const leave = entry[a]! + roads.linkLengthM[a]! / roads.linkSpeedMps[a]!;
          for (let t = roads.turnStart[a]!; t < roads.turnStart[a + 1]!; t++) {
            const b = roads.turnTo[t]!;
            if (leave + roads.turnDelayS[t]! < entry[b]! - 1e-9) {
              entry[b] = leave + roads.turnDelayS[t]!;
              changed = true;
            }
          }
        }
      }
      const dest = { lon: gp.lon[trial]!, lat: gp.lat[trial]! };
      const r = rec.recommend({ destination: dest, origin: { link, positionM: pos }, nowMs: NOW, preferences: { maxWalkM: 100_000, topN: 80 } });
      expect(r.ranked.length).toBeGreaterThan(70);
      for (const x of r.ranked) {
        const e = gp.entranceStart[x.carPark]!;
        const l = gp.entranceLink[e]!;
        const p = gp.entrancePositionM[e]!;
        let want = entry[l]! + p / roads.linkSpeedMps[l]!;
        if (l === link && p >= pos) want = Math.min(want, (p - pos) / roads.linkSpeedMps[l]!);
        expect(x.driveS).toBeCloseTo(want, 6);
      }
    }
  });
});

describe('Recommend: the fast paths against the straightforward search', () => {
  it('directed and bounded, or read from kept trees: the same ranking, routes and fallback as plain Dijkstra run to the end, on generated cities', () => {
    // Links settled by the last search of each query (the fallback's, or the main one's when there is none).
    let settledFull = 0;
    let settledBoundedSum = 0;
    let hits = 0;
    // Seeds 3 and 4: random delays. Seed 5: delays of 0, 10 or 20 s on a grid of equal blocks, so
    // many routes tie exactly (the tie rule decides them, whatever order the links are settled in);
    // its trees are kept in a budget of 12, so older ones are dropped and rebuilt.
    for (const seed of [3, 4, 5]) {
      const city = parkingCityJson({ grid: { rows: 12, cols: 12, colSpacingM: 250, rowSpacingM: 200 }, carParks: 400, signs: 4, seed });
      const gc = compileNetwork(loadNetwork(JSON.stringify(city.network)));
      const gp = compileParking(city.parking, gc);
      const roads = new RoadGraph(gc);
      const kept = new RoadGraph(gc, { treeCacheBytes: (seed === 5 ? 12 : 1000) * 12 * roads.linkCount });
      const plain = new RoadGraph(gc);
      const rnd = mulberry32(seed);
      for (let t = 0; t < roads.turnDelayS.length; t++) roads.turnDelayS[t] = seed === 5 ? 10 * Math.floor(rnd() * 3) : rnd() * 40;
      for (const g of [kept, plain]) {
        g.turnDelayS.set(roads.turnDelayS);
        g.delaysChanged();
      }
      const src = new TableOccupancySource(gp);
      for (let k = 0; k < gp.carParkCount; k++) src.report(k, Math.floor(gp.capacity[k]! * rnd()), NOW);
      const bounded = new Recommender(gp, roads, src);
      const fromTrees = new Recommender(gp, kept, src);
      const full = new Recommender(gp, plain, src, { exhaustive: true });
      // Origins from a few links and intersections, so trees are read again.
      const links = Array.from({ length: 25 }, () => Math.floor(rnd() * roads.linkCount));
      for (let trial = 0; trial < 100; trial++) {
        const k = Math.floor(rnd() * gp.carParkCount);
        const link = links[Math.floor(rnd() * links.length)]!;
        const q = {
          destination: { lon: gp.lon[k]! + (rnd() - 0.5) * 0.006, lat: gp.lat[k]! + (rnd() - 0.5) * 0.006 },
          origin: trial % 5 === 0 ? { intersection: trial % 3 } : { link, positionM: rnd() * roads.linkLengthM[link]! },
          nowMs: NOW,
          preferences: { topN: 1 + (trial % 4), maxWalkM: 600 + rnd() * 600, stayS: 1800 + rnd() * 7200 },
          ...(trial % 7 === 0 ? { vehicle: { needs: ['ev' as const] } } : {}),
        };
        const reachedLinks = (g: RoadGraph): number => {
          let n = 0;
          for (let x = 0; x < g.linkCount; x++) if (g.reached(x)) n++;
          return n;
        };
        const a = bounded.recommend(q);
        settledBoundedSum += reachedLinks(roads);
        const b = full.recommend(q);
        settledFull += reachedLinks(plain);
        const c = fromTrees.recommend(q);
        expect(a.ranked).toEqual(b.ranked);
        expect(a.fallback).toEqual(b.fallback);
        // Only what the bounded search never reached goes uncounted; a kept tree reaches everything.
        expect(a.refused.unreachable).toBeLessThanOrEqual(b.refused.unreachable);
        for (const r of ['closed', 'height', 'spaceType', 'tooFar', 'unknown'] as const) expect(a.refused[r]).toBe(b.refused[r]);
        expect(c).toEqual(b);
      }
      hits += kept.treeHits;
      if (seed === 5) expect(kept.treeBuilds).toBeGreaterThan(12); // the budget made it drop and rebuild
    }
    // The bound did cut the searches short, and the trees were read again (else this test proves nothing).
    expect(settledBoundedSum).toBeLessThan(0.8 * settledFull);
    expect(hits).toBeGreaterThan(150);
  });
});
