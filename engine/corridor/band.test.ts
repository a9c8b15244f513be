import { describe, expect, it } from 'vitest';
import { allocateSolution, BandMode, BandSolver } from './band.js';
import { certifyBands, solveMaxbandMilp } from '../../test/fixtures/maxbandMilp.js';
import { randomCorridor } from '../../test/fixtures/randomCorridor.js';

describe('band optimizer against the HiGHS MILP', () => {
  it('matches the exact optimum on 240 random corridors of 3 to 12 intersections', async () => {
    const solver = new BandSolver(12);
    const sol = allocateSolution(12);
    let twoWay = 0;
    let oneWay = 0;
    let highsShort = 0;
    for (let k = 0; k < 240; k++) {
      const n = 3 + (k % 10);
      const seed = 1000 + k;
      const p = randomCorridor(n, seed);
      solver.solve(p, sol);
      // HiGHS with presolve on is the cheaper run and agrees with ours on most corridors; where it does not, the
      // referee also runs with presolve off and keeps the better (solveMaxbandMilp says why), as it did always before.
      let ref = await solveMaxbandMilp(p, { presolve: 'on' });
      if (Math.abs(sol.modelObjective - ref.modelObjective) > 0.5) {
        const off = await solveMaxbandMilp(p, { presolve: 'off' });
        if (off.twoWayObjective > ref.twoWayObjective) ref = off;
      }
      const where = `corridor seed ${seed} (n=${n}): ours ${sol.modelObjective.toFixed(4)} vs HiGHS ${ref.modelObjective.toFixed(4)}`;
      // Never worse than HiGHS by more than 0.5 s of (weighted) bandwidth: weights sum to 1.
      expect(sol.modelObjective, where).toBeGreaterThan(ref.modelObjective - 0.5);
      if (sol.modelObjective > ref.modelObjective + 0.5) {
        // Better than HiGHS's "optimal": only acceptable if HiGHS itself confirms our bands are feasible in its model.
        expect(sol.mode, where).toBe(BandMode.TwoWay);
        expect(await certifyBands(p, sol.bandOutS - 1e-3, sol.bandInS - 1e-3), `${where}: HiGHS cannot certify our bands`).toBe(true);
        highsShort++;
      }
      // What we deliver, measured on the green windows, is at least the model optimum
      // (offsets are built 1e-5 s inside the optimum).
      expect(sol.objective, `${where}: measured ${sol.objective}`).toBeGreaterThanOrEqual(sol.modelObjective - 1e-4);
      if (sol.mode === BandMode.TwoWay) twoWay++;
      else oneWay++;
    }
    // Both regimes occur, so the comparison exercises the two-way sweep and the one-way choice.
    expect(twoWay).toBeGreaterThan(50);
    expect(oneWay).toBeGreaterThan(0);
    // HiGHS falling short must stay the rare exception, or the comparison proves little.
    expect(highsShort).toBeLessThan(5);
  }, 300_000);

  it('finds the full two-way band where it exists by construction', () => {
    // 60 s cycle, 30 s greens, 30 s travel each way: the round trip is one cycle, so both bands can be 30 s.
    const p = randomCorridor(2, 1);
    const fixed = { ...p, cycleS: 60, periodS: new Float64Array([60, 60]), greenOutS: new Float64Array([30, 30]), greenInS: new Float64Array([30, 30]), patternCount: new Uint8Array([1, 1]), outStartS: new Float64Array(8), inStartS: new Float64Array(8), travelOutMinS: new Float64Array([30]), travelOutMaxS: new Float64Array([30]), travelInMinS: new Float64Array([30]), travelInMaxS: new Float64Array([30]), weightOut: 0.5, weightIn: 0.5 };
    const sol = new BandSolver(2).solve(fixed, allocateSolution(2));
    expect(sol.bandOutS).toBeCloseTo(30, 5);
    expect(sol.bandInS).toBeCloseTo(30, 5);
  });

  it('chooses a one-way wave when no two-way band path exists', () => {
    // 10 s greens, fixed speeds with a round trip of half a cycle: the arcs u ∈ [−10, 10] and
    // u + 30 ∈ [−10, 10] (mod 60) cannot both hold, so no band path exists in both directions.
    const p = randomCorridor(2, 1);
    const fixed = { ...p, cycleS: 60, periodS: new Float64Array([60, 60]), greenOutS: new Float64Array([10, 10]), greenInS: new Float64Array([10, 10]), patternCount: new Uint8Array([1, 1]), outStartS: new Float64Array(8), inStartS: new Float64Array(8), travelOutMinS: new Float64Array([15]), travelOutMaxS: new Float64Array([15]), travelInMinS: new Float64Array([15]), travelInMaxS: new Float64Array([15]), weightOut: 0.7, weightIn: 0.3 };
    const sol = new BandSolver(2).solve(fixed, allocateSolution(2));
    expect(Number.isNaN(sol.twoWayTotalS)).toBe(true);
    expect(sol.mode).toBe(BandMode.OutboundOnly);
    expect(sol.bandOutS).toBeCloseTo(10, 5);
  });
});
