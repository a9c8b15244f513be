/**
 * Turn bays in a SUMO network: lanes that exist only on the last part of an
 * approach. netconvert builds a bay (an edge's `<split>`, or a lane added
 * where the lane count grows) as a short edge downstream of a node that only
 * passes traffic on; the importer (netLinks.ts) joins the two into one link
 * with the short edge's lanes, as long as the whole chain. This finds those
 * extra lanes and their length, so the simulator can begin them where SUMO
 * does (simulation.ts option `bayLengthM`). Called by sumo/scenario.ts.
 */
import type { SumoNet } from './netXml.js';

/**
 * Compiled lane id (`<edge>_<index>`, as importNet.ts names approach lanes) → bay length, m, for
 * every edge that has one more lane (or more) than the single edge feeding it through a
 * pass-through node. The extra lanes are taken to be the highest-indexed (SUMO numbers lanes
 * from the curb: a left-turn bay, as netconvert adds it by `<split>`); a right-turn bay, whose
 * extra lane is the curb lane, is not told apart.
 */
export function sumoTurnBays(net: SumoNet): Map<string, number> {
  const bays = new Map<string, number>();
  const outgoing = new Map<string, number>();
  const pairs = new Set<string>();
  for (const e of net.edges.values()) {
    outgoing.set(e.from, (outgoing.get(e.from) ?? 0) + 1);
    pairs.add(`${e.from}\u0000${e.to}`);
  }
  for (const e of net.edges.values()) {
    const feeders = (net.incomingEdges.get(e.from) ?? []).filter((x) => x.from !== e.to);
    if (feeders.length !== 1) continue;
    // A pass-through node: the feeder's only way on is this edge (besides turning back).
    const reverse = pairs.has(`${e.from}\u0000${feeders[0]!.from}`) ? 1 : 0;
    if ((outgoing.get(e.from) ?? 0) - reverse !== 1) continue;
    const upstreamLanes = feeders[0]!.lanes.length;
    for (const lane of e.lanes) if (lane.index >= upstreamLanes) bays.set(`${e.id}_${lane.index}`, lane.lengthM);
  }
  return bays;
}
