/**
 * The microsimulator running a plan actuated (SimOptions.actuated): its loops feed the
 * engine's cycle runner every step, and the runner gaps out, maxes out, forces off and skips
 * on what they see. On the two-stage worked example: an isolated signal run fully actuated
 * loses less time than its fixed-time plan at light and unbalanced demand, an empty side
 * street is never served, and a stuck-on loop holds its phase to its maximum green.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork } from '../engine/network/compile.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import { planAndValidate } from '../engine/plan.js';
import { actuatedPlan, type ActuatedPlan } from '../engine/timing/actuated.js';
import { movementFlowsFromLanes } from './demand.js';
import { Simulation } from './simulation.js';

const two = compileNetwork(loadNetwork(readFileSync(new URL('../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8')));

function planned(laneVehPerH: readonly number[]): PlanBuffer {
  const buf = createPlanBuffer(two);
  buf.laneFlowVehPerH.set(laneVehPerH);
  planAndValidate(two, buf);
  return buf;
}

function meanDelayS(buf: PlanBuffer, laneVehPerH: readonly number[], actuated: ActuatedPlan | undefined, seeds = [1, 2]): number {
  const demand = movementFlowsFromLanes(two, Float64Array.from(laneVehPerH));
  let sum = 0;
  for (const seed of seeds) {
    const sim = new Simulation(two, buf, { movementFlowVehPerH: demand }, { seed, actuated });
    sim.runUntil(1800);
    sum += sim.metrics().meanDelayPerVehS;
  }
  return sum / seeds.length;
}

describe('simulator with actuated signal heads', () => {
  it('fully actuated beats the fixed-time plan at light demand, and by far when the side street is empty', () => {
    for (const [lanes, atMost] of [
      [[300, 300, 60, 60], 0.95],
      [[700, 700, 0, 0], 0.4],
    ] as const) {
      const buf = planned(lanes);
      const fixed = meanDelayS(buf, lanes, undefined);
      const free = meanDelayS(buf, lanes, actuatedPlan(two, buf, []));
      expect(free, `${lanes.join('/')}: free ${free} s, fixed ${fixed} s`).toBeLessThan(fixed * atMost);
    }
  });

  it('serves an empty side street never after start-up: the main street rests in green', () => {
    const lanes = [700, 700, 0, 0];
    const buf = planned(lanes);
    const sim = new Simulation(two, buf, { movementFlowVehPerH: movementFlowsFromLanes(two, Float64Array.from(lanes)) }, { seed: 3, actuated: actuatedPlan(two, buf, []) });
    let nsGreenS = 0;
    for (let t = 0; t < 1800; t += 0.5) {
      sim.runUntil(t + 0.5);
      if (t > 120 && (sim.signals.greenMask[0]! & two.phaseProtectedMask[1]!) !== 0) nsGreenS += 0.5;
    }
    expect(nsGreenS).toBe(0);
    expect(sim.signals.act.greenNow[0]).toBe(1);
  });

  it('a stuck-on loop holds its phase to its maximum green (or longer, resting, with no call elsewhere); dead loops never call theirs', () => {
    const lanes = [400, 400, 300, 300];
    const buf = planned(lanes);
    const a = actuatedPlan(two, buf, []);
    const demand = movementFlowsFromLanes(two, Float64Array.from(lanes));
    const stuck = new Simulation(two, buf, { movementFlowVehPerH: demand }, { seed: 4, actuated: a });
    stuck.injectFault(two.detectorIds.indexOf('D-EB'), 'stuckOn');
    const dead = new Simulation(two, buf, { movementFlowVehPerH: demand }, { seed: 4, actuated: a });
    for (const id of ['D-EB', 'D-WB']) dead.injectFault(two.detectorIds.indexOf(id), 'dead');
    const ewGreens = (sim: Simulation): number[] => {
      const out: number[] = [];
      let since = -1;
      for (let t = 0.5; t <= 1800; t += 0.5) {
        sim.runUntil(t);
        const green = (sim.signals.greenMask[0]! & two.phaseProtectedMask[0]!) !== 0;
        if (green && since < 0) since = t;
        if (!green && since >= 0) {
          out.push(t - since);
          since = -1;
        }
      }
      return out.slice(1); // the first green started with the run
    };
    const stuckGreens = ewGreens(stuck);
    expect(stuckGreens.length).toBeGreaterThan(10);
    // Sampled every 0.5 s: no green gaps out; most end at the max green, the others rested until NS called.
    for (const g of stuckGreens) expect(g).toBeGreaterThanOrEqual(a.maxGreenS[0]! - 0.5);
    expect(stuckGreens.filter((g) => g <= a.maxGreenS[0]! + 0.5).length).toBeGreaterThan(stuckGreens.length / 2);
    // Dead EW loops: EW is never called again after start-up (no recall: as a field controller, it starves).
    expect(ewGreens(dead)).toEqual([]);
    expect(dead.signals.act.greenNow[1]).toBe(1);
  });
});
