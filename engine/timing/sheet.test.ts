/**
 * The controller timing sheet of the demo city's 08:00 plan: every number is
 * checked against the plan and settings it must restate, and against the
 * rules a technician relies on (the pedestrian intervals fit the minimum
 * green, splits fill the cycle, force-offs end the coordinated greens).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import { actuatedPlan, corridorApproaches } from './actuated.js';
import { timingSheets } from './sheet.js';
import { mod } from '../numeric.js';

const ROOT = new URL('../../examples/demo-city/', import.meta.url);

function demo() {
  const c = compileNetwork(loadNetwork(readFileSync(new URL('network.json', ROOT), 'utf8')));
  const prepared = prepareCounts(c, readFileSync(new URL('counts.csv', ROOT), 'utf8'), 'counts.csv');
  const demand = demandFor(prepared, '08:00');
  const plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
  const act = actuatedPlan(c, plan.buffer, corridorApproaches(plan.corridors));
  return { c, plan, act, sheets: timingSheets(c, plan.buffer, act) };
}

describe('timingSheets', () => {
  const { c, plan, act, sheets } = demo();

  it('has one sheet per intersection and one row per phase, with the plan’s cycle, offset and greens', () => {
    expect(sheets.map((s) => s.intersectionId)).toEqual(c.intersectionIds);
    for (let i = 0; i < c.intersectionCount; i++) {
      const sh = sheets[i]!;
      expect(sh.cycleS).toBe(plan.plans[i]!.cycleS);
      expect(sh.offsetS).toBeCloseTo(plan.plans[i]!.offsetS, 1);
      expect(sh.phases.map((p) => p.id)).toEqual(plan.plans[i]!.phases.map((p) => p.id));
      sh.phases.forEach((p, k) => expect(p.greenS).toBeCloseTo(plan.plans[i]!.phases[k]!.greenS, 1));
    }
  });

  it('keeps every running phase between its minimum and maximum green, with walk and flashing don’t-walk inside the minimum', () => {
    for (const sh of sheets) {
      for (const p of sh.phases) {
        if (p.greenS === 0) continue;
        expect(p.greenS + 0.05).toBeGreaterThanOrEqual(p.minGreenS);
        expect(p.maxGreenS + 0.05).toBeGreaterThanOrEqual(p.greenS);
        expect(p.walkS + p.flashingDontWalkS).toBeLessThanOrEqual(p.minGreenS + 0.05);
        expect(p.splitS).toBeCloseTo(p.greenS + p.yellowS + p.redClearanceS, 1);
        if (p.walkS > 0) expect(p.flashingDontWalkS).toBeGreaterThan(0);
      }
    }
  });

  it('fills each ring’s cycle with its splits', () => {
    for (const sh of sheets) {
      const rings = new Map<number, number>();
      for (const p of sh.phases) rings.set(p.ring, (rings.get(p.ring) ?? 0) + p.splitS);
      for (const total of rings.values()) expect(total).toBeCloseTo(sh.cycleS, 0);
    }
  });

  it('sets force-offs at the end of each green on coordinated signals only, and names the offset’s reference phase', () => {
    let coordinated = 0;
    sheets.forEach((sh, i) => {
      // The first of ring 1's barrier-1 phases to run, which lead-lag may take out of the file's order.
      const first = sh.phases.filter((p) => p.ring === 1 && p.barrier === 1 && p.greenS > 0).sort((a, b) => a.startS - b.startS)[0]!;
      expect(sh.offsetReferencePhase).toBe(first.id);
      expect(first.startS).toBe(0);
      for (const p of sh.phases) {
        if (sh.control === 'actuated-coordinated' && p.greenS > 0) expect(p.forceOffS).toBeCloseTo(mod(p.startS + p.greenS, sh.cycleS), 1);
        else expect(p.forceOffS).toBeNull();
      }
      if (sh.control === 'actuated-coordinated') {
        coordinated++;
        expect(sh.phases.some((p) => p.coordinated)).toBe(true);
      }
      expect(act.mode[i]).toBeGreaterThan(0);
    });
    expect(coordinated).toBe(plan.corridors.flatMap((k) => k.intersections).length);
  });
});
