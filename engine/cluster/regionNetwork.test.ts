import { describe, expect, it } from 'vitest';
import { loadNetwork, validateNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { planNetwork } from '../plan.js';
import { gridNetworkJson } from '../../test/fixtures/gridNetwork.js';
import { regionNetwork } from './regionNetwork.js';

describe('regionNetwork', () => {
  // A 3 × 6 grid (a corridor along each row) with a column corridor first in the file, so that
  // it claims R0C2, R1C2 and R2C2 from the rows, as the planner would.
  const json = gridNetworkJson({ rows: 3, cols: 6, colSpacingM: 250, rowSpacingM: 250 }) as { corridors: { id: string; intersections: string[] }[] };
  json.corridors.unshift({ id: 'col2', intersections: ['R0C2', 'R1C2', 'R2C2'] });
  const net = loadNetwork(JSON.stringify(json));
  const region = { id: 'r0001', signalIds: ['R0C0', 'R0C1', 'R0C3', 'R0C4', 'R0C5', 'R1C0'], corridorIds: ['row0'] };

  it('keeps the region’s signals, the links between them and its corridors, cut where a signal is elsewhere', () => {
    const sub = regionNetwork(net, region);
    expect(validateNetwork(sub).ok).toBe(true);
    expect(sub.intersections.map((x) => x.id)).toEqual(['R0C0', 'R0C1', 'R0C3', 'R0C4', 'R0C5', 'R1C0']);
    expect(sub.links.every((l) => region.signalIds.includes(l.from) && region.signalIds.includes(l.to))).toBe(true);
    expect(sub.links.map((l) => l.id).sort()).toEqual(['R0C0-R0C1', 'R0C0-R1C0', 'R0C1-R0C0', 'R0C3-R0C4', 'R0C4-R0C3', 'R0C4-R0C5', 'R0C5-R0C4', 'R1C0-R0C0'].sort());
    // row0 loses R0C2 (col2's, in another region): two pieces; row1 is not the region's.
    expect(sub.corridors.map((c) => [c.id, c.intersections])).toEqual([
      ['row0', ['R0C0', 'R0C1']],
      ['row0~2', ['R0C3', 'R0C4', 'R0C5']],
    ]);
  });

  it('plans each of its signals as the whole network does (isolated plans: same counts, same timings)', () => {
    const c = compileNetwork(net);
    const rc = compileNetwork(regionNetwork(net, region));
    const counts = (cc: typeof c): Float64Array => Float64Array.from(cc.detectorIds, (d, k) => 20 + ((d.length * 7 + k) % 40));
    // Detector counts by id, so both networks see the same count at each detector.
    const byId = new Map(c.detectorIds.map((d, k) => [d, counts(c)[k]!]));
    const whole = planNetwork(c, counts(c), 900, { coordinate: false }).buffer;
    const part = planNetwork(rc, Float64Array.from(rc.detectorIds, (d) => byId.get(d)!), 900, { coordinate: false }).buffer;
    for (const [k, id] of rc.intersectionIds.entries()) {
      const i = c.intersectionIds.indexOf(id);
      expect(part.cycleS[k], id).toBe(whole.cycleS[i]);
      const green = (cc: typeof c, b: typeof whole, j: number) => Array.from(b.phaseGreenS.subarray(cc.phaseStart[j]!, cc.phaseStart[j + 1]!));
      expect(green(rc, part, k), id).toEqual(green(c, whole, i));
    }
  });
});
