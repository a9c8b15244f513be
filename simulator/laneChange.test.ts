/**
 * Lane changing along a link (laneChange.ts) on the demo city's I3 eastbound approach (355 m:
 * lanes L, T, T, TR, median out), with no demand but the vehicles each test places: a left
 * turner that came on beside a 50 m bay gets into it before the stop line; a car behind a slow
 * one overtakes it when the next lane is free, and stays behind without lane changing; a car
 * with a vehicle beside it does not change into that gap; and a full run is deterministic by
 * seed and never leaves two vehicles overlapping.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { OptionError } from '../engine/errors.js';
import { THROUGH_TURN } from '../engine/network/geometry.js';
import { Simulation, type SimOptions } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';
import { laneVehicle, newVehicle, placeOnLane } from './lanes.js';
import { IDM, type SimCore } from './vehicles.js';

let c: CompiledNetwork;
let plan: PlanBuffer;
let flows: Float64Array;

const laneOf = (ix: string, id: string) => {
  const i = c.intersectionIds.indexOf(ix);
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) if (c.laneIds[l] === id) return l;
  throw new Error(`no lane ${ix} ${id}`);
};

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
  plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  flows = movementFlowsFromLanes(c, plan.laneFlowVehPerH);
});

/** An empty city (no arrivals) and its step context, to place vehicles by hand. */
function emptyCity(opts: Partial<SimOptions>) {
  const sim = new Simulation(c, plan, { movementFlowVehPerH: new Float64Array(flows.length) }, { seed: 1, stepS: 0.5, ...opts });
  // The step context is private to the simulator's modules; the test places vehicles as entry.ts does.
  const core = (sim as unknown as { core: SimCore }).core;
  const place = (laneId: string, turn: number, posM: number, speedMps: number, speedFactor = 1) => {
    const lane = laneOf('I3', laneId);
    const v = newVehicle(core, sim.tS, speedFactor, IDM.lengthM, IDM.accelMps2);
    placeOnLane(core, v, lane, core.top.laneLink[lane]!, turn, speedMps, sim.tS, posM, true);
    return v;
  };
  return { sim, core, place };
}

describe('lane changing along a link', () => {
  it('a left turner that came on beside a 50 m bay gets into the bay before the stop line', () => {
    const bay = laneOf('I3', 'EB-1');
    const { sim, core, place } = emptyCity({ laneChange: true, bayLengthM: new Map([['EB-1', 50]]) });
    const len = core.top.linkLengthM[core.top.laneLink[bay]!]!;
    expect(core.lc.laneStartM[bay]).toBeCloseTo(len - 50, 6);
    // It entered the link in the through lane next to the bay (the bay had not begun).
    const v = place('EB-2', 0, 150, 10);
    let inBayAtM = Number.NaN;
    for (let k = 0; k < 240 && Number.isNaN(inBayAtM); k++) {
      sim.step();
      if (core.s.vLane[v] === bay) inBayAtM = core.s.vPos[v]!;
      // Never in the bay before it begins, never past the line in the wrong lane.
      if (core.s.vLane[v] === laneOf('I3', 'EB-2')) expect(core.s.vPos[v]!).toBeLessThan(len);
    }
    expect(inBayAtM).toBeGreaterThanOrEqual(len - 50);
    expect(inBayAtM).toBeLessThan(len);
    expect(sim.laneChanges).toBe(1);
  });

  it('turn bays without lane changing are refused', () => {
    expect(() => emptyCity({ bayLengthM: new Map([['EB-1', 50]]) })).toThrow(OptionError);
  });

  it('a car behind a slow one overtakes it when the next lane is free; without lane changing it stays behind', () => {
    const passed = (laneChange: boolean) => {
      const { sim, core, place } = emptyCity({ laneChange });
      const slow = place('EB-3', THROUGH_TURN, 120, 3, 0.2);
      const fast = place('EB-3', THROUGH_TURN, 60, 11, 1);
      for (let k = 0; k < 30; k++) sim.step();
      return { ahead: core.s.vPos[fast]! > core.s.vPos[slow]!, changes: sim.laneChanges, lane: core.s.vLane[fast]! };
    };
    const on = passed(true);
    expect(on.ahead).toBe(true);
    expect(on.changes).toBe(1);
    expect([laneOf('I3', 'EB-2'), laneOf('I3', 'EB-4')]).toContain(on.lane);
    const off = passed(false);
    expect(off.ahead).toBe(false);
    expect(off.changes).toBe(0);
  });

  it('does not change into a gap that is unsafe: a car beside it in each neighbouring lane', () => {
    const { sim, core, place } = emptyCity({ laneChange: true });
    place('EB-3', THROUGH_TURN, 120, 3, 0.2);
    const fast = place('EB-3', THROUGH_TURN, 60, 11, 1);
    // Alongside on both sides, a little behind its front, as fast as it is.
    place('EB-2', THROUGH_TURN, 58, 11, 1);
    place('EB-4', THROUGH_TURN, 57, 11, 1);
    sim.step();
    sim.step();
    expect(sim.laneChanges).toBe(0);
    expect(core.s.vLane[fast]).toBe(laneOf('I3', 'EB-3'));
  });

  it('twenty minutes of the demo city is deterministic by seed and no two vehicles in a lane overlap', () => {
    const run = () => {
      const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 3, stepS: 1, laneChange: true });
      const core = (sim as unknown as { core: SimCore }).core;
      let worstGapM = Infinity;
      for (let k = 0; k < 1200; k++) {
        sim.step();
        if (k % 10 !== 0) continue;
        for (let lane = 0; lane < c.laneIds.length; lane++) {
          for (let j = 1; j < core.s.laneSize[lane]!; j++) {
            const a = laneVehicle(core, lane, j - 1);
            const b = laneVehicle(core, lane, j);
            worstGapM = Math.min(worstGapM, core.s.vPos[a]! - core.s.vLength[a]! - core.s.vPos[b]!);
          }
        }
      }
      return { m: sim.metrics(), changes: sim.laneChanges, worstGapM };
    };
    const a = run();
    const b = run();
    expect(a.changes).toBeGreaterThan(100);
    expect(b.changes).toBe(a.changes);
    expect(b.m.meanDelayPerVehS).toBe(a.m.meanDelayPerVehS);
    expect(b.m.vehiclesCompleted).toBe(a.m.vehiclesCompleted);
    expect(a.worstGapM).toBeGreaterThanOrEqual(0);
  });
});
