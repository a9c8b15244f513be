import { describe, expect, it } from 'vitest';
import { gridNetwork, gridVolumes } from '../../test/fixtures/gridNetwork.js';
import { movementIndex } from '../network/geometry.js';
import { APPROACH_IDS } from '../network/schema.js';
import { divertedVolumes, diversionPlan } from './diversionPlan.js';

const c = gridNetwork({ rows: 2, cols: 2, colSpacingM: 300, rowSpacingM: 300 });
const volumes = gridVolumes(c, 600, 300);
const EB = APPROACH_IDS.indexOf('EB');
const SB = APPROACH_IDS.indexOf('SB');
const i = c.intersectionIds.indexOf('R1C0');
const det = (id: string) => c.detectorIds.indexOf(id);

describe('diversion plan', () => {
  it('moves the diverted flow from the main movements to the alternative ones, lane by lane', () => {
    // 200 veh/h from R1C0 eastbound through (lanes 1: T R, 2: T) to its right turn (lane 1 only).
    const v = divertedVolumes(c, volumes, 900, [{ intersection: i, movement: movementIndex(EB, 1) }], [{ intersection: i, movement: movementIndex(EB, 2) }], 200);
    expect(v[det('d-R1C0-EB-1')]! - volumes[det('d-R1C0-EB-1')]!).toBeCloseTo(-25 + 50, 9);
    expect(v[det('d-R1C0-EB-2')]! - volumes[det('d-R1C0-EB-2')]!).toBeCloseTo(-25, 9);
    // Elsewhere nothing moves.
    let other = 0;
    for (let d = 0; d < v.length; d++) if (!c.detectorIds[d]!.startsWith('d-R1C0-EB')) other += Math.abs(v[d]! - volumes[d]!);
    expect(other).toBe(0);
  });

  it('never goes below zero, and refuses a movement no lane serves', () => {
    const v = divertedVolumes(c, volumes, 900, [{ intersection: i, movement: movementIndex(EB, 1) }], [], 10_000);
    expect(v[det('d-R1C0-EB-2')]).toBe(0);
    expect(() => divertedVolumes(c, volumes, 900, [], [{ intersection: i, movement: movementIndex(SB, 0) }], 100)).toThrow(/to\[0\]\.movement/);
  });

  it('plans (and validates) the network for the diverted demand: the turn gets more green', () => {
    const base = diversionPlan(c, volumes, 900, [], [], 0).buffer;
    const p = diversionPlan(c, volumes, 900, [{ intersection: i, movement: movementIndex(SB, 1) }], [{ intersection: i, movement: movementIndex(EB, 2) }], 400).buffer;
    // R1C0's stages: EW first, NS second (gridNetwork); EW now carries 400 veh/h more, NS 400 less.
    const ew = c.phaseStart[i]!;
    expect(p.phaseGreenS[ew]! / p.cycleS[i]!).toBeGreaterThan(base.phaseGreenS[ew]! / base.cycleS[i]!);
  });
});
