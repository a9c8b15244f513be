import { describe, expect, it } from 'vitest';
import { rankBySimulation } from './rankPlans.js';
import { planNetwork } from '../engine/plan.js';
import { validateIntersectionPlan } from '../engine/safety/validator.js';
import { gridNetwork, gridVolumes } from '../test/fixtures/gridNetwork.js';

describe('a second opinion by simulation', () => {
  const c = gridNetwork({ rows: 3, cols: 4, colSpacingM: 400, rowSpacingM: 200, minCycleS: 20 });
  const shortlisted = planNetwork(c, gridVolumes(c, 700, 150), 900, { alternatives: 3 });

  it('keeps the shortlisted plan with the least simulated delay, whole and valid', () => {
    expect(shortlisted.alternatives.length).toBeGreaterThan(1);
    const r = rankBySimulation(c, shortlisted, { durationS: 1200, seeds: [1] });
    expect(r.trials).toHaveLength(shortlisted.alternatives.length);
    const delays = r.trials.map((t) => t.simulatedDelayS);
    expect(delays[r.chosen]).toBe(Math.min(...delays));
    // The trials differ: the shortlist holds genuinely different plans.
    expect(new Set(delays).size).toBeGreaterThan(1);
    expect(r.plan.buffer).toBe(shortlisted.alternatives[r.chosen]!.buffer);
    expect(r.plan.corridors).toBe(shortlisted.alternatives[r.chosen]!.corridors);
    expect(r.plan.plans.map((p) => p.cycleS)).toEqual(Array.from(r.plan.buffer.cycleS));
    for (let i = 0; i < c.intersectionCount; i++) expect(validateIntersectionPlan(c, i, r.plan.buffer)).toBe(true);
  });

  it('is deterministic, and leaves a plan without alternatives as it is', () => {
    const a = rankBySimulation(c, shortlisted, { durationS: 900, seeds: [3] });
    const b = rankBySimulation(c, shortlisted, { durationS: 900, seeds: [3] });
    expect(b.trials).toEqual(a.trials);
    const single = planNetwork(c, gridVolumes(c, 700, 150), 900);
    const r = rankBySimulation(c, single);
    expect(r.plan).toBe(single);
    expect(r.trials).toEqual([]);
  });
});
