/**
 * A region's own network: the part of a city's network file that one region (regions.ts)
 * holds, as a network of its own, so that everything a cluster node does for a region is sized
 * by the region and not by the city: its committed plan (service/cluster/regionPlans.ts: a
 * plan buffer of the region's signals only, ~0.6 KB per signal in base64, so a region of 300
 * signals is ~180 KB under NATS's 1 MB payload limit whatever the city's size), its re-plan
 * (the engine planner over the region), its Modbus client and its priority state. Called by
 * service/cluster/nodeMain.ts and the cluster tests and benchmark.
 *
 * What it keeps: the region's intersections (file order), the links between two of them, and
 * its corridors. A corridor's signal claimed by an earlier corridor in another region (a
 * signal on two corridors belongs to the first, as in the planner) is left out; where that
 * leaves a gap, the corridor is cut in two at it (`<id>`, `<id>~2`, …: consecutive corridor
 * signals must be linked), and a piece of fewer than 2 signals is dropped. Links to other
 * regions are left out: what crosses a region border (`borderLinks`) is the business of
 * borders.ts (coordination across region borders, through the neighbours' published states).
 *
 * Per intersection, the compiled phases, lanes and detectors are those of the whole network
 * (compilation is per intersection), so a plan for the region drives the same controllers.
 */
import type { Network } from '../network/schema.js';
import type { Region } from './regions.js';

export function regionNetwork(net: Network, region: Pick<Region, 'id' | 'signalIds' | 'corridorIds'>): Network {
  const inside = new Set(region.signalIds);
  const intersections = net.intersections.filter((x) => inside.has(x.id));
  const links = net.links.filter((l) => inside.has(l.from) && inside.has(l.to));
  const linked = new Set(links.map((l) => `${l.from}\u0000${l.to}`));
  const isLinked = (a: string, b: string): boolean => linked.has(`${a}\u0000${b}`) || linked.has(`${b}\u0000${a}`);
  const wanted = new Set(region.corridorIds);
  const corridors: Network['corridors'] = [];
  for (const cor of net.corridors) {
    if (!wanted.has(cor.id)) continue;
    const runs: string[][] = [];
    let run: string[] = [];
    for (const id of cor.intersections) {
      const prev = run[run.length - 1];
      if (!inside.has(id) || (prev !== undefined && !isLinked(prev, id))) {
        if (run.length > 0) runs.push(run);
        run = inside.has(id) ? [id] : [];
      } else run.push(id);
    }
    if (run.length > 0) runs.push(run);
    runs
      .filter((r) => r.length >= 2)
      .forEach((r, k) => corridors.push({ ...cor, id: k === 0 ? cor.id : `${cor.id}~${k + 1}`, intersections: r }));
  }
  return { ...net, name: `${net.name} ${region.id}`.trim(), intersections, links, corridors };
}
