/**
 * The SUMO check's demand (sumoCheck.ts): the turn counts handed to routeSampler beside the edge
 * counts, on the two-signal fixture. The check itself runs in SUMO in loops.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileNetwork } from '../../engine/network/compile.js';
import { validateNetwork } from '../../engine/network/validate.js';
import { importSumoNet } from './importNet.js';
import { edgeCounts, turnCounts } from './sumoCheck.js';
import { movementFlowsFromCounts, movementFlowsFromLanes } from '../demand.js';
import { movementSlot, parseMovementId } from '../../engine/network/geometry.js';

const XML = readFileSync(fileURLToPath(new URL('../../test/fixtures/sumo/two-signals.net.xml', import.meta.url)), 'utf8');

describe('the SUMO check demand', () => {
  const { network, mapping } = importSumoNet(XML);
  const res = validateNetwork(network);
  if (!res.ok) throw new Error(res.issues.map((x) => `${x.path}: ${x.message}`).join('\n'));
  const c = compileNetwork(res.network);
  // Unequal lane flows, so that the fitted turns of shared lanes differ from an even split.
  const lanes = Float64Array.from(c.laneIds, (_, l) => 150 + 90 * (l % 5));

  it('turn counts are SUMO connections, and carry every counted vehicle of their approach', () => {
    const turns = turnCounts(c, mapping, lanes, 1800);
    const connections = new Set([...XML.matchAll(/<connection from="([^"]+)" to="([^"]+)"[^>]*tl="/g)].map((m) => `${m[1]}\u2192${m[2]}`));
    expect(turns.size).toBeGreaterThan(8);
    for (const key of turns.keys()) expect(connections.has(key), key).toBe(true);
    // Per approach edge: the turns out of it add up to its edge count (the lanes' flows, over 1800 s).
    const edges = edgeCounts(c, lanes, 1800);
    const out = new Map<string, number>();
    for (const [key, n] of turns) out.set(key.split('\u2192')[0]!, (out.get(key.split('\u2192')[0]!) ?? 0) + n);
    for (const [edge, n] of out) expect(n, edge).toBeCloseTo(edges.get(edge)!, 6);
  });

  it('a movement gets the fitted flow the simulator check drives, not an even share of its lanes', () => {
    const turns = turnCounts(c, mapping, lanes, 3600);
    const fitted = movementFlowsFromCounts(c, lanes);
    const even = movementFlowsFromLanes(c, lanes);
    // Edge pairs of each movement; pairs two movements share are left out (their counts add up).
    const owners = new Map<string, string[]>();
    const pairsOf = new Map<string, { i: number; slot: number; pairs: Set<string> }>();
    for (const ix of mapping.intersections) {
      const i = c.intersectionIds.indexOf(ix.intersectionId);
      for (const [id, idx] of Object.entries(ix.movements)) {
        const pairs = new Set(idx.flatMap((k) => (ix.links[k] ? [`${ix.links[k]!.from}\u2192${ix.links[k]!.to}`] : [])));
        pairsOf.set(`${ix.intersectionId}:${id}`, { i, slot: movementSlot(i, parseMovementId(id)!.index), pairs });
        for (const p of pairs) owners.set(p, [...(owners.get(p) ?? []), id]);
      }
    }
    let checked = 0;
    let differs = 0;
    for (const { slot, pairs } of pairsOf.values()) {
      if (pairs.size === 0 || [...pairs].some((p) => owners.get(p)!.length > 1)) continue;
      const n = [...pairs].reduce((a, p) => a + (turns.get(p) ?? 0), 0);
      expect(n).toBeCloseTo(fitted[slot]!, 6);
      if (Math.abs(fitted[slot]! - even[slot]!) > 1) differs++;
      checked++;
    }
    expect(checked).toBeGreaterThan(8);
    expect(differs, 'shared lanes whose turns the fit moves').toBeGreaterThan(0);
  });
});
