/**
 * The simulator's event log (events.ts): on the demo city, fixed time and actuated, the
 * recorder writes well-formed sequences (per phase 1 → 8 → 10 → 11 every cycle, in time
 * order; detector on and off alternating), a termination before each actuated yellow, one
 * detector-on per counted vehicle, and recording changes nothing in the run.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { actuatedPlan, corridorApproaches } from '../engine/timing/actuated.js';
import { Simulation } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';
import { SimEventRecorder, SIM_EPOCH_MS } from './events.js';
import { checkEventSequences } from '../test/fixtures/eventSequences.js';

let c: CompiledNetwork;
let plan: PlanBuffer;
let flows: Float64Array;
let corridors: ReturnType<typeof planNetwork>['corridors'];

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
  const planned = planNetwork(c, d.volumeVeh, d.intervalS);
  plan = planned.buffer;
  corridors = planned.corridors;
  flows = movementFlowsFromLanes(c, plan.laneFlowVehPerH);
});

describe('simulator event log', () => {
  it('fixed time: well-formed phase and detector sequences, no terminations, and the run is unchanged', () => {
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 5, detectorIntervalS: 300 });
    const rec = new SimEventRecorder(sim);
    sim.runUntil(900);
    const report = checkEventSequences(rec.events);
    expect(report.problems).toEqual([]);
    expect(report.terminations).toBe(0);
    // Every non-skipped phase of every intersection came round several times in 15 minutes.
    let phases = 0;
    for (let p = 0; p < c.phaseIds.length; p++) if (c.phaseOnDemand[p] === 0) phases++;
    expect(report.rounds.size).toBe(phases);
    for (const n of report.rounds.values()) expect(n).toBeGreaterThanOrEqual(5);
    expect(rec.events.timestampMsAt(0)).toBeGreaterThanOrEqual(SIM_EPOCH_MS);
    // One detector-on per front passage the loops counted (all three closed intervals).
    const counts = sim.detectorCounts();
    const counted = counts.volumeVeh.reduce((a, b) => a + b, 0);
    expect(report.detectorOns).toBeGreaterThanOrEqual(counted);
    expect(report.detectorOns).toBeLessThanOrEqual(counted * 1.02 + 20);
    const bare = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 5, detectorIntervalS: 300 });
    bare.runUntil(900);
    expect(bare.metrics()).toEqual(sim.metrics());
  });

  it('actuated: each yellow of an actuated pass is preceded by its gap-out, max-out or force-off', () => {
    const act = actuatedPlan(c, plan, corridorApproaches(corridors));
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 6, actuated: act });
    const rec = new SimEventRecorder(sim);
    sim.runUntil(900);
    const report = checkEventSequences(rec.events);
    expect(report.problems).toEqual([]);
    expect(report.terminations).toBeGreaterThan(50);
    const codes = new Set<number>();
    for (let k = 0; k < rec.events.length; k++) codes.add(rec.events.codeAt(k));
    expect([...codes].filter((x) => x >= 4 && x <= 6).length).toBeGreaterThanOrEqual(2);
  });
});
