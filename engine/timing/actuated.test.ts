import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { createPlanBuffer } from './planner.js';
import { planAndValidate } from '../plan.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FREE, MAX_GREEN_FACTOR } from './actuated.js';

const twoStage = () => compileNetwork(loadNetwork(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8')));

describe('actuated settings', () => {
  // The hand-computed plan of planner.test.ts: C 48 s, EW green 21.7 s from 0, NS green 16.3 s from 26.7 s.
  const planned = () => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([600, 500, 450, 300]);
    planAndValidate(c, buf);
    return { c, buf };
  };

  it('runs an isolated signal fully actuated: max green the phase maximum, min green and passage from the file', () => {
    const { c, buf } = planned();
    const a = actuatedPlan(c, buf, []);
    expect(a.mode[0]).toBe(CONTROL_FREE);
    expect([...a.minGreenS]).toEqual([8, 8]);
    expect([...a.passageS]).toEqual([3, 3]);
    expect([...a.maxGreenS]).toEqual([...c.phaseMaxGreenS]);
    expect(a.maxGreenS[0]).toBeGreaterThan(21.7 * MAX_GREEN_FACTOR);
    expect([...a.coordinated]).toEqual([0, 0]);
    expect(a.forceOffS.every(Number.isNaN)).toBe(true);
  });

  it('never sets a maximum green above the phase maximum, nor below a planned green above it', () => {
    const { c, buf } = planned();
    const coordinated = [{ intersectionId: 'X1', approaches: ['EB', 'WB'] as const }];
    buf.phaseGreenS[0] = 55;
    expect(actuatedPlan(c, buf, []).maxGreenS[0]).toBe(60);
    expect(actuatedPlan(c, buf, coordinated).maxGreenS[0]).toBe(60);
    buf.phaseGreenS[0] = 70;
    expect(actuatedPlan(c, buf, []).maxGreenS[0]).toBe(70);
    expect(actuatedPlan(c, buf, coordinated).maxGreenS[0]).toBe(70);
  });

  it('coordinated: max green 1.5 × the planned green (the force-offs bound the phases)', () => {
    const { c, buf } = planned();
    const a = actuatedPlan(c, buf, [{ intersectionId: 'X1', approaches: ['EB', 'WB'] }]);
    expect(a.maxGreenS[0]).toBeCloseTo(21.7 * MAX_GREEN_FACTOR, 9);
    expect(a.maxGreenS[1]).toBeCloseTo(16.3 * MAX_GREEN_FACTOR, 9);
  });

  it('coordinates the through phase of the named approaches: force-off at every planned green end, offset included', () => {
    const { c, buf } = planned();
    buf.offsetS[0] = 30;
    const a = actuatedPlan(c, buf, [{ intersectionId: 'X1', approaches: ['EB', 'WB'] }]);
    expect(a.mode[0]).toBe(CONTROL_COORDINATED);
    expect([...a.coordinated]).toEqual([1, 0]);
    // Force-offs are local cycle times (from the cycle start), so the offset does not enter them.
    expect(a.forceOffS[0]).toBeCloseTo(21.7, 9);
    expect(a.forceOffS[1]).toBeCloseTo(43, 9);
  });

  it('leaves a signal free when the named approaches have no through phase', () => {
    const { c, buf } = planned();
    const a = actuatedPlan(c, buf, [{ intersectionId: 'X1', approaches: [] }, { intersectionId: 'nope', approaches: ['EB'] }]);
    expect(a.mode[0]).toBe(CONTROL_FREE);
  });
});
