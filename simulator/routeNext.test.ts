/**
 * Routes that say where they go next (routeTable.ts `legNext`, `legEntryPosM`): a trip drives
 * on to the link its route names, not the one the movement's geometric exit would give (on
 * irregular SUMO nets the two differ, and trips used to leave the network there), and comes
 * onto it part-way along when its way there is shorter than the link; approach lengths the
 * caller knows (a SUMO net's own ways) replace the links' lengths.
 */
import { describe, expect, it } from 'vitest';
import { planNetwork } from '../engine/plan.js';
import { movementIndex, movementSlot } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { gridNetwork, gridVolumes } from '../test/fixtures/gridNetwork.js';
import { routeTable } from './routeTable.js';
import { Simulation } from './simulation.js';
import { buildTopology } from './topology.js';

const c = gridNetwork({ rows: 2, cols: 2, colSpacingM: 300, rowSpacingM: 300 });
const plan = planNetwork(c, gridVolumes(c, 400, 200), 900).buffer;
const EB = APPROACH_IDS.indexOf('EB');
const RIGHT = movementIndex(EB, 2);
const THROUGH = movementIndex(EB, 1);
const none = new Float64Array(c.intersectionCount * 16);
const top = new Simulation(c, plan, { movementFlowVehPerH: none }, { seed: 1 }).topology;
const r0c0 = c.intersectionIds.indexOf('R0C0');
const r0c1 = c.intersectionIds.indexOf('R0C1');
const linkAt = (i: number, a: number) => {
  for (let l = 0; l < top.linkCount; l++) if (top.linkIntersection[l] === i && top.linkApproach[l] === a) return l;
  return -1;
};
const entry = linkAt(r0c0, EB);
const target = linkAt(r0c1, EB);

/** 20 trips: right at R0C0, then (their route says, through a junction without signals) on to R0C1's west approach, and straight on there. */
function run(next: number | undefined, nextPosM: number, approachLengthM?: ReadonlyMap<string, number>) {
  const trips = Array.from({ length: 20 }, (_, k) => ({
    id: `t${k}`,
    entryS: 1 + 8 * k,
    entryLink: entry,
    entryPosM: 0,
    entrySpeedMps: Number.NaN,
    legs: [RIGHT, THROUGH],
    ...(next !== undefined ? { next: [next, -1], nextPosM: [nextPosM, 0] } : {}),
    arrivePosM: Infinity,
  }));
  const sim = new Simulation(c, plan, { movementFlowVehPerH: none, routes: routeTable(trips) }, { seed: 2, ...(approachLengthM ? { approachLengthM } : {}) });
  sim.runUntil(900);
  const m = sim.metrics();
  const through = m.movements.find((x) => x.intersectionId === 'R0C1' && x.movement === THROUGH)?.vehicles ?? 0;
  return { m, through };
}

describe('routes that name their next link', () => {
  it('drive on to the link their route names, not the geometric exit of the movement', () => {
    // The premise: the topology sends a right turn at R0C0 elsewhere than R0C1's west approach.
    expect(entry).toBeGreaterThanOrEqual(0);
    expect(target).toBeGreaterThanOrEqual(0);
    expect(top.linkNext[movementSlot(entry, RIGHT)]).not.toBe(target);
    const routed = run(target, 0);
    expect(routed.m.vehiclesCompleted).toBe(20);
    expect(routed.through).toBe(20);
    // Without the route's next link the trips go where the topology says and never reach R0C1's west approach.
    expect(run(undefined, 0).through).toBe(0);
  });

  it('come onto that link part-way along when their way there is shorter than the link', () => {
    const whole = run(target, 0);
    const part = run(target, 150);
    expect(part.through).toBe(20);
    // 150 m less to drive at about 14 m/s: about 11 s less travel per trip (signals add noise, not 8 s of it).
    expect(whole.m.meanTravelTimeS - part.m.meanTravelTimeS).toBeGreaterThan(3);
  });

  it('take the approach lengths the caller gives over the network links', () => {
    const longer = new Map([['R0C1:EB', 500]]);
    const t = buildTopology(c, longer);
    expect(top.linkLengthM[target]).not.toBe(500);
    expect(t.linkLengthM[target]).toBe(500);
    expect(t.linkBoundary[target]).toBe(0);
    // Every other approach as it was.
    for (let l = 0; l < top.linkCount; l++) if (l !== target) expect(t.linkLengthM[l]).toBe(top.linkLengthM[l]);
    // The simulation drives it: the trips' way to R0C1 grows by 500 m less its old length.
    const base = run(target, 0);
    const long = run(target, 0, longer);
    expect(long.through).toBe(20);
    expect(long.m.meanTravelTimeS - base.m.meanTravelTimeS).toBeGreaterThan(((500 - top.linkLengthM[target]!) / 14) * 0.5);
  });
});
