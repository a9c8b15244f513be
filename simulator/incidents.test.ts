/**
 * Lane blockages in the simulator (incidents.ts) on the demo city: the blocked lane stops
 * flowing past the obstacle while its neighbours carry the traffic around it, it flows again
 * once the obstacle is gone, runs stay deterministic by seed, and an incident that never
 * becomes active leaves a run exactly as it was.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { OptionError } from '../engine/errors.js';
import { Simulation, type LaneIncident } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';

let c: CompiledNetwork;
let plan: PlanBuffer;
let flows: Float64Array;
let lane: number;

const laneOf = (ix: string, id: string) => {
  const i = c.intersectionIds.indexOf(ix);
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) if (c.laneIds[l] === id) return l;
  throw new Error(`no lane ${ix} ${id}`);
};
const det = (id: string) => c.detectorIds.indexOf(id);

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
  plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  flows = movementFlowsFromLanes(c, plan.laneFlowVehPerH);
  // I3 EB (from I2, 355 m): lanes L, T, T, TR; block the first through lane mid-block.
  lane = laneOf('I3', 'EB-2');
});

function run(seed: number, incident: LaneIncident | undefined, untilS: number) {
  const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed, stepS: 1, detectorIntervalS: 300 });
  if (incident !== undefined) sim.addIncident(incident);
  sim.runUntil(untilS);
  return sim;
}

describe('simulator incidents', () => {
  it('blocks its lane past the obstacle, the neighbours carry the traffic round it, and the lane flows again after', () => {
    // Blocked from 600 s to 1800 s; intervals of 300 s: [0] 0–300 … [5] 1500–1800, [6] 1800–2100.
    // The demand is steady, so the intervals before the incident are the baseline.
    const sim = run(5, { lane, positionM: 200, startS: 600, durationS: 1200 }, 2100);
    const counts = sim.detectorCounts();
    const nd = c.detectorIds.length;
    const at = (r: number, id: string) => counts.volumeVeh[r * nd + det(id)]!;
    const stopLine = ['I3-EB-2-S', 'I3-EB-3-S', 'I3-EB-4-S'];
    for (let r = 3; r <= 5; r++) {
      // What was past the obstacle has left within the first interval; then nothing passes it.
      expect(at(r, 'I3-EB-2-S')).toBe(0);
      expect(at(r, 'I3-EB-2-A')).toBe(0);
    }
    const before = stopLine.reduce((a, id) => a + at(1, id) + at(2, id), 0) / 2;
    const during = stopLine.reduce((a, id) => a + at(3, id) + at(4, id) + at(5, id), 0) / 3;
    // Through traffic still gets through the other two through lanes: at least 60 % of what the three carried.
    expect(during / before).toBeGreaterThan(0.6);
    expect(during / before).toBeLessThan(1);
    // Once cleared the lane carries traffic again.
    expect(at(6, 'I3-EB-2-S')).toBeGreaterThan(0.3 * (at(1, 'I3-EB-2-S') + at(2, 'I3-EB-2-S')) / 2);
  });

  it('is deterministic by seed, and an incident that never starts changes nothing', () => {
    const inc = { lane, positionM: 150, startS: 200, durationS: 300 };
    const a = run(8, inc, 600).metrics();
    expect(run(8, inc, 600).metrics()).toEqual(a);
    const none = run(8, undefined, 600).metrics();
    expect(run(8, { ...inc, startS: 5000 }, 600).metrics()).toEqual(none);
    expect(a).not.toEqual(none);
  });

  it('rejects an incident off the network or outside its link, naming the field', () => {
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 1 });
    const bad: [LaneIncident, string][] = [
      [{ lane: -1, positionM: 10, startS: 0, durationS: 60 }, 'incident.lane'],
      [{ lane, positionM: 400, startS: 0, durationS: 60 }, 'incident.positionM'],
      [{ lane, positionM: 100, startS: -5, durationS: 60 }, 'incident.startS'],
      [{ lane, positionM: 100, startS: 0, durationS: 0 }, 'incident.durationS'],
    ];
    for (const [inc, option] of bad) {
      const e = (() => {
        try {
          sim.addIncident(inc);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(OptionError);
      expect((e as OptionError).option).toBe(option);
    }
  });
});
