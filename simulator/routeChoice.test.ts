/**
 * Route choice at entry (routeTable.ts RouteChoice, Simulation.setRouteChoice): a trip told to
 * take its alternative drives the alternative's legs, one told not to drives its own, a choice
 * that never switches leaves the run bit for bit as without one, and a malformed alternative
 * table is refused with its field path.
 */
import { describe, expect, it } from 'vitest';
import { planNetwork } from '../engine/plan.js';
import { movementIndex } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { OptionError } from '../engine/errors.js';
import { gridNetwork, gridVolumes } from '../test/fixtures/gridNetwork.js';
import { routeTable } from './routeTable.js';
import { Simulation } from './simulation.js';

const c = gridNetwork({ rows: 2, cols: 2, colSpacingM: 300, rowSpacingM: 300 });
const plan = planNetwork(c, gridVolumes(c, 400, 200), 900).buffer;
const EB = APPROACH_IDS.indexOf('EB');
const sim0 = new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(c.intersectionCount * 16) }, { seed: 1 });
const r0c0 = c.intersectionIds.indexOf('R0C0');
const r0c1 = c.intersectionIds.indexOf('R0C1');
let entryLink = -1;
for (let l = 0; l < sim0.topology.linkCount; l++) if (sim0.topology.linkIntersection[l] === r0c0 && sim0.topology.linkApproach[l] === EB) entryLink = l;

/** 40 trips entering R0C0 from the west, one every 6 s: straight on twice, or (alternative) right at R0C0 and out. */
function demand() {
  const n = 40;
  const trip = (k: number, alt: boolean) => ({ id: `t${k}${alt ? '-alt' : ''}`, entryS: alt ? Infinity : 1 + 6 * k, entryLink, entryPosM: 0, entrySpeedMps: Number.NaN, legs: alt ? [movementIndex(EB, 2)] : [movementIndex(EB, 1), movementIndex(EB, 1)], arrivePosM: Infinity });
  const routes = routeTable([...Array.from({ length: n }, (_, k) => trip(k, false)), ...Array.from({ length: n }, (_, k) => trip(k, true))]);
  const alternative = new Int32Array(2 * n).fill(-1);
  for (let k = 0; k < n; k++) alternative[k] = n + k;
  return { routes, alternative, n };
}

function run(choose: ((k: number) => boolean) | undefined) {
  const { routes, alternative, n } = demand();
  const sim = new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(c.intersectionCount * 16), routes }, { seed: 3 });
  if (choose !== undefined) sim.setRouteChoice({ alternative, choose });
  sim.runUntil(600);
  const m = sim.metrics();
  const count = (i: number, turn: number) => m.movements.find((x) => x.intersectionId === c.intersectionIds[i] && x.movement === movementIndex(EB, turn))?.vehicles ?? 0;
  return { sim, m, n, loss: sim.tripTimeLossS(), throughR0C1: count(r0c1, 1), rightR0C0: count(r0c0, 2) };
}

describe('route choice at entry', () => {
  it('switches the trips told to, and only those', () => {
    const r = run((k) => k % 4 === 0);
    expect(r.m.vehiclesCompleted).toBe(r.n);
    expect(r.rightR0C0).toBe(10);
    expect(r.throughR0C1).toBe(30);
    // A switched trip's time loss is reported under its alternative's row, the others under their own.
    for (let k = 0; k < r.n; k++) {
      expect(Number.isNaN(r.loss[k]!)).toBe(k % 4 === 0);
      expect(Number.isNaN(r.loss[r.n + k]!)).toBe(k % 4 !== 0);
    }
  });

  it('leaves a run bit for bit as it was when nobody switches', () => {
    const a = run(undefined);
    const b = run(() => false);
    expect(b.sim.accumulatedDelayS()).toBe(a.sim.accumulatedDelayS());
    expect(b.sim.vehicleUpdates).toBe(a.sim.vehicleUpdates);
    expect(Array.from(b.loss)).toEqual(Array.from(a.loss));
    expect(a.rightR0C0).toBe(0);
  });

  it('refuses an alternative that does not start where its trip does, or that would enter on its own', () => {
    const { routes, alternative } = demand();
    const sim = new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(c.intersectionCount * 16), routes }, { seed: 3 });
    const bad = alternative.slice();
    bad[2] = 5; // trip 5 enters at 31 s: not an alternative
    expect(() => sim.setRouteChoice({ alternative: bad, choose: () => true })).toThrow(OptionError);
    expect(() => sim.setRouteChoice({ alternative: bad, choose: () => true })).toThrow(/routeChoice\.alternative\[2\]/);
    expect(() => sim.setRouteChoice({ alternative: alternative.subarray(1), choose: () => true })).toThrow(/routeChoice\.alternative/);
  });
});
