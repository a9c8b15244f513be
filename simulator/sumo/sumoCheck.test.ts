/**
 * The check in SUMO's choice among its trials (`chooseTrial`): the least time loss, unless the
 * demand sampled from the counts was beyond every plan (more than UNSERVED_LIMIT of its trips
 * unfinished under each), when the planner's best is kept. The check itself runs real SUMO in
 * loops.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { chooseTrial, UNSERVED_LIMIT, type SumoTrial } from './sumoCheck.js';

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
