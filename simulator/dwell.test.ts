/**
 * Buses dwelling at stops: a bus comes to rest on its stop mark, stands for
 * its dwell, blocks its lane meanwhile, and draws its dwell from a seeded
 * stream. On the two-stage fixture (one lane per approach, 250 m boundary
 * links), with no other traffic unless a test adds it.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { planAndValidate } from '../engine/plan.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import { BUS, IDM, Simulation, type BusStop } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';

const THROUGH = 1;
const EB = 2;
const STEP_S = 0.5;
const MARK_M = 120;

let c: CompiledNetwork;
let plan: PlanBuffer;
let ebLink: number;

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8')));
  plan = createPlanBuffer(c);
  plan.laneFlowVehPerH.set([700, 300, 400, 300]);
  planAndValidate(c, plan);
  const probe = new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(16) }, { seed: 1 });
  ebLink = -1;
  for (let l = 0; l < probe.topology.linkCount; l++) if (probe.topology.linkApproach[l] === EB) ebLink = l;
});

function fixedStop(dwellS: number): BusStop {
  return { link: ebLink, positionM: MARK_M, doorS: dwellS, boardingSPerPax: 0, meanBoardings: 0 };
}

function emptySim(seed = 1): Simulation {
  return new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(16) }, { seed, stepS: STEP_S });
}

describe('bus stops and dwell', () => {
  it('a bus brakes comfortably to its stop mark, stands there for its dwell, then goes on', () => {
    const sim = emptySim();
    const id = sim.addTrackedVehicle(ebLink, THROUGH, 'bus', [fixedStop(20)]);
    let prevSpeed = Number.NaN;
    let hardestBrakeMps2 = 0;
    const standing: { tS: number; posM: number }[] = [];
    while (sim.tS < 200 && Number.isNaN(sim.trackedVehicles()[id]!.leaveS)) {
      sim.step();
      const at = sim.trackedPosition(id);
      if (!at) continue;
      if (at.link === ebLink && at.posM < MARK_M + 5 && !Number.isNaN(prevSpeed)) hardestBrakeMps2 = Math.max(hardestBrakeMps2, (prevSpeed - at.speedMps) / STEP_S);
      prevSpeed = at.speedMps;
      if (at.dwellLeftS > 0) standing.push({ tS: sim.tS, posM: at.posM });
    }
    const bus = sim.trackedVehicles()[id]!;
    expect(bus.served).toHaveLength(1);
    const { arriveS, departS } = bus.served[0]!;
    // Stood for its dwell, to within a step, and on the mark, to within a metre, the whole time.
    expect(departS - arriveS).toBeGreaterThanOrEqual(20 - 1e-9);
    expect(departS - arriveS).toBeLessThanOrEqual(20 + STEP_S + 1e-9);
    expect(standing.length).toBeGreaterThanOrEqual(20 / STEP_S - 1);
    for (const p of standing) expect(Math.abs(p.posM - MARK_M)).toBeLessThanOrEqual(1);
    expect(Math.max(...standing.map((p) => p.posM)) - Math.min(...standing.map((p) => p.posM))).toBeLessThan(0.5);
    // Comfortable braking: about IDM's comfortable deceleration, well short of an emergency stop.
    expect(hardestBrakeMps2).toBeGreaterThan(0.5);
    expect(hardestBrakeMps2).toBeLessThanOrEqual(IDM.decelMps2 * 1.5);
    // It went on, and its dwell is reported on the bus and on the approach.
    expect(Number.isNaN(bus.leaveS)).toBe(false);
    expect(bus.dwellServedS).toBeCloseTo(departS - arriveS, 9);
    expect(bus.approaches[0]!.dwellS).toBeCloseTo(departS - arriveS, 9);
    expect(bus.approaches[0]!.delayS).toBeGreaterThan(bus.dwellServedS);
    expect(bus.nextStop).toBe(1);
  });

  it('blocks the vehicle behind it in its lane until it leaves the stop', () => {
    const sim = emptySim();
    const lead = sim.addTrackedVehicle(ebLink, THROUGH, 'bus', [fixedStop(30)]);
    sim.runUntil(3);
    // A vehicle without stops behind it, in the same (only) lane.
    const follower = sim.addTrackedVehicle(ebLink, THROUGH, 'behind');
    let followerHeld = false;
    while (sim.tS < 200 && Number.isNaN(sim.trackedVehicles()[follower]!.leaveS)) {
      sim.step();
      const a = sim.trackedPosition(lead);
      const b = sim.trackedPosition(follower);
      if (!a || !b || a.link !== b.link) continue;
      expect(b.vehiclesAhead).toBe(1);
      // Never into the bus: its front stays behind the bus's rear.
      expect(b.posM).toBeLessThan(a.posM - BUS.lengthM);
      if (a.dwellLeftS > 5 && b.speedMps < 0.1 && b.posM > MARK_M - BUS.lengthM - IDM.minGapM - 15) followerHeld = true;
    }
    expect(followerHeld).toBe(true);
    const bus = sim.trackedVehicles()[lead]!;
    const behind = sim.trackedVehicles()[follower]!;
    // It crossed the stop line only after the bus had left the stop.
    expect(behind.approaches[0]!.leaveS).toBeGreaterThan(bus.served[0]!.departS);
    expect(behind.approaches[0]!.stops).toBeGreaterThanOrEqual(1);
    expect(behind.dwellServedS).toBe(0);
  });

  it('draws dwell times from the seed: same seed, same dwells and traffic; another seed, other dwells', () => {
    const flows = movementFlowsFromLanes(c, Float64Array.from([500, 300, 400, 300]));
    const stop: BusStop = { link: ebLink, positionM: MARK_M, doorS: 5, boardingSPerPax: 2.5, meanBoardings: 5 };
    const run = (seed: number) => {
      const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed, stepS: STEP_S });
      for (let k = 0; k < 10; k++) {
        sim.addTrackedVehicle(ebLink, THROUGH, `bus-${k}`, [stop]);
        sim.runUntil(sim.tS + 120);
      }
      sim.runUntil(sim.tS + 300);
      return { served: sim.trackedVehicles().map((b) => b.served), metrics: sim.metrics() };
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    const boardings = a.served.flatMap((s) => s.map((x) => x.boardings));
    expect(boardings).toHaveLength(10);
    // Poisson with mean 5: not all equal, and the dwell follows door + 2.5 s × boardings.
    expect(new Set(boardings).size).toBeGreaterThan(1);
    for (const s of a.served.flat()) expect(s.departS - s.arriveS).toBeGreaterThanOrEqual(5 + 2.5 * s.boardings - 1e-9);
    for (const s of a.served.flat()) expect(s.departS - s.arriveS).toBeLessThanOrEqual(5 + 2.5 * s.boardings + STEP_S + 1e-9);
    const other = run(8).served.flatMap((s) => s.map((x) => x.boardings));
    expect(other).not.toEqual(boardings);
  });

  it('rejects a stop off the route or outside its link', () => {
    const sim = emptySim();
    let wb = -1;
    for (let l = 0; l < sim.topology.linkCount; l++) if (sim.topology.linkApproach[l] === 3) wb = l;
    expect(() => sim.addTrackedVehicle(ebLink, THROUGH, 'bus', [{ ...fixedStop(10), link: wb }])).toThrow(/stops\[0\]\.link/);
    expect(() => sim.addTrackedVehicle(ebLink, THROUGH, 'bus', [{ ...fixedStop(10), positionM: 400 }])).toThrow(/stops\[0\]\.positionM/);
    expect(() => sim.addTrackedVehicle(ebLink, THROUGH, 'bus', [fixedStop(10), fixedStop(10)])).toThrow(/stops\[1\]\.positionM/);
  });
});
