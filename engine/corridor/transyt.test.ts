import { describe, expect, it } from 'vitest';
import { CorridorJobRunner, decodeJob, decodeResult, encodeJob } from './job.js';
import { BAND_KEEP_SHARE } from './transyt.js';
import { randomCorridor, randomTraffic } from '../../test/fixtures/randomCorridor.js';

describe('delay and stops refinement (Robertson dispersion)', () => {
  it('never makes the performance index worse and keeps the band within its share', () => {
    const runner = new CorridorJobRunner();
    let improvedCount = 0;
    for (let k = 0; k < 60; k++) {
      const p = randomCorridor(4 + (k % 12), 5000 + k);
      const t = randomTraffic(p, k);
      const r = runner.solve(p, t);
      expect(r.after.index).toBeLessThanOrEqual(r.before.index + 1e-6);
      expect(r.solution.objective).toBeGreaterThanOrEqual(BAND_KEEP_SHARE * r.bandObjectiveBefore - 1e-6);
      if (r.after.index < r.before.index * 0.99) improvedCount++;
    }
    // The hill climb must find something to improve on a good share of corridors.
    expect(improvedCount).toBeGreaterThan(10);
  });

  it('a platoon arriving on green has less delay than one arriving on red', () => {
    const runner = new CorridorJobRunner();
    const p = randomCorridor(2, 3, { patterns: false });
    const t = randomTraffic(p, 3);
    const good = runner.solve(p, t, false);
    const goodDelay = good.before.delaySPerVeh;
    // Shift the downstream signal by half a cycle: the band is lost and vehicles meet red.
    good.solution.offsetS[1] = (good.solution.offsetS[1]! + p.cycleS / 2) % p.cycleS;
    const bad = new CorridorJobRunner();
    const r2 = bad.solve(p, t, false);
    expect(r2.before.delaySPerVeh).toBeCloseTo(goodDelay, 6);
    // Evaluate the shifted offsets directly.
    const shifted = runner['refiner'].evaluate(p, t, good.solution);
    expect(shifted.delaySPerVeh).toBeGreaterThan(goodDelay);
  });

  it('round-trips a job and its result through the Float64Array encoding', () => {
    const p = randomCorridor(7, 42);
    const t = randomTraffic(p, 42);
    const job = encodeJob(p, t);
    const { problem } = decodeJob(job);
    expect(Array.from(problem.greenOutS)).toEqual(Array.from(p.greenOutS));
    const res = decodeResult(new CorridorJobRunner().run(job));
    const direct = new CorridorJobRunner().solve(p, t);
    expect(res.bandOutS).toBeCloseTo(direct.solution.bandOutS, 9);
    expect(Array.from(res.offsetS)).toEqual(Array.from(direct.solution.offsetS.subarray(0, 7)));
  });
});
