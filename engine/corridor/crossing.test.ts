import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chooseShifts, corridorMembers, corridorSystems, CrossingModel, crossingLinks } from './crossing.js';
import { planNetwork } from '../plan.js';
import { movementDemand } from './movementDemand.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { gridNetwork, gridVolumes } from '../../test/fixtures/gridNetwork.js';
import { mod } from '../numeric.js';
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';

/** Total crossing delay of a plan, with the same model the planner uses (veh·s per hour). */
function crossingDelay(c: CompiledNetwork, buf: PlanBuffer): number {
  const members = corridorMembers(c).map((m) => m.indices);
  const demand = (i: number, movement: number) => movementDemand(c, buf, i, movement);
  const C = Math.round(Math.max(...Array.from(buf.cycleS)));
  const model = new CrossingModel(C);
  const table = new Float64Array(C);
  let total = 0;
  for (const link of crossingLinks(c, members, demand)) {
    model.linkTable(c, buf, link, C, table);
    total += table[0]!;
  }
  return total;
}

describe('corridor systems', () => {
  it('joins corridors linked within 800 m into one system and leaves distant ones apart', () => {
    const near = gridNetwork({ rows: 3, cols: 4, colSpacingM: 400, rowSpacingM: 200 });
    expect(corridorSystems(near, corridorMembers(near).map((m) => m.indices))).toEqual([[0, 1, 2]]);
    const far = gridNetwork({ rows: 3, cols: 4, colSpacingM: 400, rowSpacingM: 1200 });
    expect(corridorSystems(far, corridorMembers(far).map((m) => m.indices))).toEqual([[0], [1], [2]]);
  });

  it('plans a grid as one system: one common cycle, rows shifted for the cross streets, every plan valid', () => {
    const c = gridNetwork({ rows: 3, cols: 5, colSpacingM: 400, rowSpacingM: 200, minCycleS: 20 });
    const plan = planNetwork(c, gridVolumes(c, 700, 200), 900);
    expect(plan.corridors).toHaveLength(3);
    const cycles = new Set(plan.corridors.map((k) => k.cycleS));
    expect(cycles.size).toBe(1);
    for (const k of plan.corridors) expect(k.system?.corridorIds).toEqual(['row0', 'row1', 'row2']);
    for (let i = 0; i < c.intersectionCount; i++) expect(validateIntersectionPlan(c, i, plan.buffer)).toBe(true);
    // The shifts help the crossing traffic: its delay beats random arrivals, and beats the
    // same plan with every row's shift taken out.
    const shifted = crossingDelay(c, plan.buffer);
    expect(shifted).toBeLessThan(0);
    const unshifted = { ...plan.buffer, offsetS: plan.buffer.offsetS.slice() };
    plan.corridors.forEach((k) => {
      for (const x of k.intersections) {
        const i = c.intersectionIds.indexOf(x.id);
        unshifted.offsetS[i] = mod(unshifted.offsetS[i]! - k.system!.shiftS, unshifted.cycleS[i]!);
      }
    });
    expect(shifted).toBeLessThan(crossingDelay(c, unshifted));
  });

  it('offers distinct, valid runners-up, best first, the first being the plan itself', () => {
    const c = gridNetwork({ rows: 3, cols: 4, colSpacingM: 400, rowSpacingM: 200, minCycleS: 20 });
    const plan = planNetwork(c, gridVolumes(c, 600, 150), 900, { alternatives: 4 });
    expect(plan.alternatives.length).toBeGreaterThan(1);
    expect(plan.alternatives[0]!.buffer).toBe(plan.buffer);
    expect(new Set(plan.alternatives.map((a) => a.label)).size).toBe(plan.alternatives.length);
    for (let k = 1; k < plan.alternatives.length; k++) expect(plan.alternatives[k]!.score).toBeGreaterThanOrEqual(plan.alternatives[k - 1]!.score);
    for (const a of plan.alternatives) for (let i = 0; i < c.intersectionCount; i++) expect(validateIntersectionPlan(c, i, a.buffer)).toBe(true);
  });
});

describe('crossing model', () => {
  it('favours the shift that makes a platoon arrive on green: upstream earlier by the travel time', () => {
    const c = gridNetwork({ rows: 2, cols: 3, colSpacingM: 400, rowSpacingM: 300, minCycleS: 20 });
    const plan = planNetwork(c, gridVolumes(c, 600, 300), 900, { coordinate: false });
    // Identical isolated plans at every signal, all offsets 0: the zero shift is "simultaneous".
    const C = Math.round(plan.buffer.cycleS[0]!);
    for (let i = 0; i < c.intersectionCount; i++) expect(plan.buffer.cycleS[i]).toBe(C);
    const members = corridorMembers(c).map((m) => m.indices);
    const demand = (_i: number, m: number) => ({ flow: m % 4 === 1 ? (m < 8 ? 150 : 300) : 0, lanes: 1.5, sat: 1800 });
    const links = crossingLinks(c, members, demand);
    expect(links.length).toBe(6); // three columns, both ways
    const model = new CrossingModel(C);
    const table = new Float64Array(C);
    model.linkTable(c, plan.buffer, links[0]!, C, table);
    const ideal = mod(-Math.round(links[0]!.travelS), C);
    const worst = mod(ideal + Math.round(C / 2), C);
    expect(table[ideal]!).toBeLessThan(0);
    expect(table[worst]!).toBeGreaterThan(0);
    expect(table[ideal]!).toBeLessThan(Math.min(...table) * 0.7);
  });
});

describe('chooseShifts', () => {
  const tableArb = (C: number) => fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: C, maxLength: C }).map((a) => Float64Array.from(a));

  it('finds the exact best relative shift of two corridors', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 40 }).chain((C) => fc.tuple(fc.constant(C), tableArb(C), tableArb(C))), ([C, ab, ba]) => {
        const shifts = new Int32Array(2);
        const total = chooseShifts(2, C, (a, b) => (a === 0 && b === 1 ? ab : a === 1 && b === 0 ? ba : undefined), shifts);
        let best = Infinity;
        for (let s = 0; s < C; s++) best = Math.min(best, ab[s]! + ba[mod(-s, C)]!);
        // Ties within 1e-9 are not taken (the search keeps the first of equals).
        expect(total).toBeLessThanOrEqual(best + 1e-6);
        expect(total).toBeCloseTo(ab[mod(shifts[0]! - shifts[1]!, C)]! + ba[mod(shifts[1]! - shifts[0]!, C)]!, 9);
      }),
      { numRuns: 200 },
    );
  });

  it('ends at a local optimum for three corridors: no single corridor can move and gain', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 25 }).chain((C) => fc.tuple(fc.constant(C), fc.array(tableArb(C), { minLength: 6, maxLength: 6 }))), ([C, tables]) => {
        const key = (a: number, b: number) => (a === b ? -1 : a * 2 + (b > a ? b - 1 : b));
        const pair = (a: number, b: number) => (a === b ? undefined : tables[key(a, b)]);
        const shifts = new Int32Array(3);
        const total = chooseShifts(3, C, pair, shifts);
        const cost = (s: Int32Array) => {
          let x = 0;
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) if (a !== b) x += pair(a, b)![mod(s[a]! - s[b]!, C)]!;
          return x;
        };
        expect(total).toBeCloseTo(cost(shifts), 9);
        for (let a = 0; a < 3; a++) {
          for (let s = 0; s < C; s++) {
            const moved = shifts.slice();
            moved[a] = s;
            expect(cost(moved)).toBeGreaterThanOrEqual(total - 1e-6);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('property: corridor systems never yield an unsafe plan', () => {
  it('random grids and demands: the plan and every runner-up pass the safety validator', () => {
    fc.assert(
      fc.property(
        fc.record({
          rows: fc.integer({ min: 2, max: 3 }),
          cols: fc.integer({ min: 2, max: 4 }),
          colSpacingM: fc.integer({ min: 120, max: 900 }),
          rowSpacingM: fc.integer({ min: 120, max: 900 }),
          speedKph: fc.integer({ min: 30, max: 70 }),
          minCycleS: fc.integer({ min: 20, max: 60 }),
          // Minimum greens that sometimes need more than the network's shortest cycle.
          minGreenS: fc.integer({ min: 5, max: 20 }),
          rowVehPerH: fc.integer({ min: 0, max: 1400 }),
          colVehPerH: fc.integer({ min: 0, max: 900 }),
        }),
        (o) => {
          const c = gridNetwork(o);
          const plan = planNetwork(c, gridVolumes(c, o.rowVehPerH, o.colVehPerH), 900, { alternatives: 2 });
          for (const a of plan.alternatives) {
            for (let i = 0; i < c.intersectionCount; i++) expect(validateIntersectionPlan(c, i, a.buffer)).toBe(true);
          }
          // Shifted corridors keep every offset inside its cycle.
          for (let i = 0; i < c.intersectionCount; i++) expect(plan.buffer.offsetS[i]!).toBeLessThan(plan.buffer.cycleS[i]!);
          // The cycle a corridor reports is the one its signals run (or half of it, double cycled).
          for (const a of plan.alternatives) {
            for (const k of a.corridors) {
              for (const x of k.intersections) {
                const run = a.buffer.cycleS[c.intersectionIds.indexOf(x.id)]!;
                expect([k.cycleS, k.cycleS / 2]).toContain(run);
              }
            }
          }
        },
      ),
      { numRuns: 25, seed: 20261205 },
    );
  });
});
