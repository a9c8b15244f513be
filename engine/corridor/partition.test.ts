import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { couplingIndex, partitionCorridor, type PartitionInput } from './partition.js';
import { validateNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import { validateIntersectionPlan } from '../safety/validator.js';

const input = (o: Partial<PartitionInput> & Pick<PartitionInput, 'links'>): PartitionInput => {
  const n = o.links.length + 1;
  return {
    ids: Array.from({ length: n }, (_, k) => `S${k + 1}`),
    ownCycleS: new Array<number>(n).fill(80),
    score: () => {
      throw new Error('no candidate, no score');
    },
    ...o,
  };
};

describe('partitionCorridor (Hook–Albers grouping, coupling index V/D²)', () => {
  it('computes the coupling index in 1000 veh/h per square mile', () => {
    // 1 mile, 2000 veh/h both ways: CI 2.
    expect(couplingIndex({ lengthM: 1609.344, twoWayVehPerH: 2000 })).toBeCloseTo(2, 6);
  });

  it('cuts a link of 5,000 ft or more whatever it carries, and keeps close signals together without scoring', () => {
    const p = partitionCorridor(input({ links: [{ lengthM: 400, twoWayVehPerH: 1500 }, { lengthM: 1600, twoWayVehPerH: 3000 }, { lengthM: 300, twoWayVehPerH: 1200 }] }));
    expect(p.pieces).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(p.reasons).toEqual(['cut S2–S3: link 1600 m (5,000 ft or more: platoons disperse)']);
  });

  it('cuts a mid-length link with a coupling index below 1, weighs one between 1 and 50', () => {
    // 1,000 m = 0.62 mi: 300 veh/h gives CI 0.78 (boundary); 2,000 veh/h gives 5.2 (candidate).
    const weak = partitionCorridor(input({ links: [{ lengthM: 1000, twoWayVehPerH: 300 }] }));
    expect(weak.pieces).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(weak.reasons[0]).toMatch(/coupling index 0\.78 < 1/);
    const calls: string[] = [];
    const kept = partitionCorridor(input({ links: [{ lengthM: 1000, twoWayVehPerH: 2000 }], score: (a, b) => (calls.push(`${a}-${b}`), a === b ? 60 : 100) }));
    expect(kept.pieces).toEqual([[0, 1]]); // 60 + 60 is not 5 % below 100
    expect(calls.sort()).toEqual(['0-0', '0-1', '1-1']);
  });

  it('splits at a cycle mismatch only where the planner scores the pieces at least 5 % lower', () => {
    const links = [
      { lengthM: 400, twoWayVehPerH: 2000 },
      { lengthM: 400, twoWayVehPerH: 2000 },
      { lengthM: 400, twoWayVehPerH: 2000 },
    ];
    // S3 needs 150 s, its neighbours 70–80 s: links S2–S3 and S3–S4 are candidates.
    const ownCycleS = [70, 75, 150, 80];
    const cost = (a: number, b: number): number => (b - a + 1) * 100 + (a <= 2 && b >= 2 && b > a ? 200 : 0); // any piece holding S3 with others pays 200
    const split = partitionCorridor(input({ links, ownCycleS, score: cost }));
    expect(split.pieces).toEqual([
      [0, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(split.reasons).toEqual([
      'cut S2–S3: own cycles 75 s and 150 s (2.0×); the pieces score 33 % below the whole',
      'cut S3–S4: own cycles 150 s and 80 s (1.9×); the pieces score 33 % below the whole',
    ]);
    const together = partitionCorridor(input({ links, ownCycleS, score: (a, b) => (b - a + 1) * 100 - (b > a ? 10 : 0) }));
    expect(together.pieces).toEqual([[0, 3]]);
  });
});

describe('corridor partition in the planner', () => {
  const raw = JSON.parse(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')) as { links: { from: string; to: string; lengthM: number }[] };
  const counts = readFileSync(new URL('../../examples/demo-city/counts.csv', import.meta.url), 'utf8');

  it('runs the demo arterial whole at 08:00, and as two subsystems with a 1.8 km link between I4 and I5; every plan validates', () => {
    const plan = (net: unknown) => {
      const v = validateNetwork(net);
      if (!v.ok) throw new Error(JSON.stringify(v.issues));
      const c = compileNetwork(v.network);
      const d = demandFor(prepareCounts(c, counts, 'counts'), '08:00');
      return { c, p: planNetwork(c, d.volumeVeh, d.intervalS) };
    };
    const whole = plan(raw);
    expect(whole.p.splits).toEqual([]);
    expect(whole.p.corridors.map((x) => x.corridorId)).toEqual(['renmin-rd']);

    const far = structuredClone(raw);
    for (const l of far.links) if ((l.from === 'I4' && l.to === 'I5') || (l.from === 'I5' && l.to === 'I4')) l.lengthM = 1800;
    const { c, p } = plan(far);
    expect(p.splits).toHaveLength(1);
    const { pieces, reasons } = p.splits[0]!;
    // The long link is always cut; the pieces on either side may be split further by score.
    expect(pieces.flat()).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8']);
    expect(pieces.some((x) => x.includes('I4') && x.includes('I5'))).toBe(false);
    expect(reasons).toContain('cut I4–I5: link 1800 m (5,000 ft or more: platoons disperse)');
    expect(reasons).toHaveLength(pieces.length - 1);
    // Pieces of two or more signals are coordinated as corridors of their own.
    const multi = pieces.map((x, k) => ({ x, k })).filter(({ x }) => x.length > 1);
    expect(p.corridors.map((x) => x.corridorId)).toEqual(multi.map(({ k }) => `renmin-rd#${k + 1}`));
    p.corridors.forEach((cp, j) => {
      expect(cp.partOf).toEqual({ corridorId: 'renmin-rd', piece: multi[j]!.k + 1, pieces: pieces.length });
      expect(cp.intersections.map((x) => x.id)).toEqual(multi[j]!.x);
    });
    for (let i = 0; i < c.intersectionCount; i++) expect(validateIntersectionPlan(c, i, p.buffer)).toBe(true);
  });
});
