/**
 * The check in SUMO's choice among its trials (`chooseTrial`): the least time loss, unless the
 * demand sampled from the counts was beyond every plan (more than UNSERVED_LIMIT of its trips
 * unfinished under each), when the planner's best is kept; and the turning counts its sample is
 * held to (`turnCounts`). The check itself runs real SUMO in loops.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chooseTrial, edgeCounts, turnCounts, UNSERVED_LIMIT, type SumoTrial } from './sumoCheck.js';
import { compileImport, importSumoNet } from './importNet.js';

const trial = (simulatedDelayS: number, unfinishedShare: number): SumoTrial => ({ label: `${simulatedDelayS}`, plannerScore: 0, simulatedDelayS, unfinishedShare });

describe('chooseTrial', () => {
  it('keeps the least time loss when some plan serves the sample', () => {
    expect(chooseTrial([trial(60, 0), trial(48, 0.01), trial(55, 0)])).toEqual({ chosen: 1 });
    // One plan within the limit is enough: the sample can be served, so the ranking stands (arterial-01 near saturation: 17 %, 24 %, 2.4 %).
    expect(chooseTrial([trial(462, 0.17), trial(498, 0.244), trial(273, 0.024)])).toEqual({ chosen: 2 });
    expect(chooseTrial([trial(90, UNSERVED_LIMIT), trial(80, 0.5)]).chosen).toBe(1);
  });

  it('keeps the planner\'s best, and says why, when every plan leaves more than the limit unfinished', () => {
    // arterial-07 near saturation, tuning half: the sample lost 533–696 s a vehicle, the scenario 94–134 s.
    const r = chooseTrial([trial(689.2, 0.302), trial(564.8, 0.29), trial(533.3, 0.277)]);
    expect(r.chosen).toBe(0);
    expect(r.inconclusive).toMatch(/every plan left at least 28 % of the trips sampled from the counts unfinished \(limit 10 %\)/);
  });

  it('has nothing to choose from an empty list', () => {
    expect(chooseTrial([])).toEqual({ chosen: 0 });
  });
});

describe('turnCounts', () => {
  // Two signals, C1 and C2, 250 m apart; every incoming lane counted at 360 veh/h, the arterial's lanes into C2
  // (right/through, through, left) at 400 each: what C1 sent on.
  const imported = importSumoNet(readFileSync(fileURLToPath(new URL('../../test/fixtures/sumo/two-signals.net.xml', import.meta.url)), 'utf8'));
  const c = compileImport(imported);
  const flow = new Float64Array(c.laneIds.length).fill(360);
  c.laneIds.forEach((id, l) => {
    if (id.startsWith('C1C2_')) flow[l] = 400;
  });
  const edges = edgeCounts(c, flow, 3600);
  const turns = turnCounts(c, imported.mapping, flow, edges, 3600, 'fitted');
  const total = (match: (relation: string) => boolean) => [...turns].filter(([k]) => match(k)).reduce((s, [, n]) => s + n, 0);

  it('keeps every counted approach\'s total', () => {
    for (const edge of ['WC1', 'EC2', 'N1C1', 'S1C1', 'C1C2', 'C2C1']) expect(total((k) => k.startsWith(`${edge}>`)), edge).toBeCloseTo(edges.get(edge)!, 6);
  });

  it('sends into a counted edge what the next signal counted on it', () => {
    expect(total((k) => k.endsWith('>C1C2'))).toBeCloseTo(1200, -1);
    // The rest of C1's approaches goes where nothing counts it.
    expect(total((k) => k.startsWith('C2C1>') || k.startsWith('WC1>') || k.startsWith('N1C1>') || k.startsWith('S1C1>'))).toBeCloseTo(1080 + 1080 + 360 + 360, 6);
  });

  it('counts an exclusive lane as its own turn, and sends most of a shared lane straight where nothing downstream counts', () => {
    // C1C2's lanes into C2: 0 right or through, 1 through, 2 left only; every edge they lead to leaves the counted network.
    expect(turns.get('C1C2>C2N2')).toBeCloseTo(400, 6);
    expect(turns.get('C1C2>C2S2')).toBeCloseTo(400 / 5, 6);
    expect(turns.get('C1C2>C2E')).toBeCloseTo(400 + (400 * 4) / 5, 6);
  });

  it('holds the sample to nothing more with turns off', () => {
    expect(turnCounts(c, imported.mapping, flow, edges, 3600, 'none').size).toBe(0);
  });
});
