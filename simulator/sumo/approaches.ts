/**
 * Approach ids for a SUMO junction's incoming edges: EB/NB/WB/SB by the
 * one-to-one assignment with the least total turn between each edge's heading
 * and its id's (see `assignApproaches`). Called by `importSumoNet`.
 */
import type { ApproachId } from '../../engine/network/schema.js';

/** What the assignment needs of an edge: its ends, and its lanes' shapes (index 0 = rightmost). */
export interface HeadedEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly lanes: readonly { readonly shape: readonly (readonly [number, number])[] }[];
}

/** Direction of travel at the end of the edge (radians, east = 0, counter-clockwise): last segment of its rightmost lane's shape. */
function edgeHeading(e: HeadedEdge, junctionPos: Map<string, { x: number; y: number }>): number {
  const shape = e.lanes[0]?.shape ?? [];
  for (let k = shape.length - 1; k > 0; k--) {
    const [x1, y1] = shape[k - 1]!;
    const [x2, y2] = shape[k]!;
    if (Math.abs(x2 - x1) + Math.abs(y2 - y1) > 1e-6) return Math.atan2(y2 - y1, x2 - x1);
  }
  const a = junctionPos.get(e.from) ?? { x: 0, y: 0 };
  const b = junctionPos.get(e.to) ?? { x: 0, y: 0 };
  return Math.atan2(b.y - a.y, b.x - a.x);
}

const HEADING: Record<ApproachId, number> = { EB: 0, NB: Math.PI / 2, WB: Math.PI, SB: -Math.PI / 2 };

/**
 * Gives each incoming edge its own approach id: the one-to-one assignment of edges to EB/NB/WB/SB
 * with the least total turn between each edge's heading and its id's. Irregular junctions (netgenerate
 * --rand, OSM) often have two edges nearest the same compass direction; naming each by its nearest
 * direction alone would drop one of them, leaving its links red for ever. With more than four
 * edges, the four that fit the compass best get ids (ties: more lanes first) and the rest are skipped.
 */
export function assignApproaches(edges: readonly HeadedEdge[], junctionPos: Map<string, { x: number; y: number }>): Map<string, ApproachId> {
  const heading = edges.map((e) => edgeHeading(e, junctionPos));
  const ids: ApproachId[] = ['EB', 'NB', 'WB', 'SB'];
  const turn = (h: number, id: ApproachId): number => {
    const d = Math.abs(h - HEADING[id]) % (2 * Math.PI);
    return d > Math.PI ? 2 * Math.PI - d : d;
  };
  // Cost per edge: its turn, less a hair per lane so that wider roads win ties.
  const cost = (k: number, id: ApproachId): number => turn(heading[k]!, id) - 1e-4 * edges[k]!.lanes.length;
  let best: (ApproachId | undefined)[] = [];
  let bestCost = Infinity;
  const pick: (ApproachId | undefined)[] = [];
  const search = (k: number, skips: number, c: number): void => {
    if (c >= bestCost - 1e-9) return;
    if (k === edges.length) {
      best = [...pick];
      bestCost = c;
      return;
    }
    for (const id of ids) {
      if (pick.includes(id)) continue;
      pick.push(id);
      search(k + 1, skips, c + cost(k, id));
      pick.pop();
    }
    if (skips > 0) {
      pick.push(undefined);
      search(k + 1, skips - 1, c);
      pick.pop();
    }
  };
  search(0, Math.max(0, edges.length - 4), 0);
  const out = new Map<string, ApproachId>();
  edges.forEach((e, k) => {
    if (best[k] !== undefined) out.set(e.id, best[k]!);
  });
  return out;
}
