/**
 * The simulator's event log (events.ts): on the demo city, fixed time and actuated, the
 * recorder writes well-formed sequences (per phase 1 → 8 → 10 → 11 every cycle, in time
 * order; detector on and off alternating), a termination before each actuated yellow, one
 * detector-on per counted vehicle, pedestrian walk / clearance / don't walk timed from each
 * green by the network's walk and crosswalks, and recording changes nothing in the run.
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
import { TspController } from '../engine/priority/tsp.js';
import { PriorityClass, priorityConfig } from '../engine/priority/policy.js';
import { movementIndex, THROUGH_TURN } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';

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
    // Pedestrians: every green of a phase with a crossing logs 21 with its 1, 22 after the
    // walk, 23 after walk + the longest crosswalk at the walking speed (0.1 s steps up).
    expect(report.walks).toBeGreaterThan(50);
    const records = rec.events.records();
    const speed = Math.min(c.network.defaults.pedestrianSpeedMps, 1.2);
    let checkedPhases = 0;
    let greens = 0;
    let cut = 0;
    for (let i = 0; i < c.intersectionCount; i++) {
      const ix = c.network.intersections[i]!;
      const defs = ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        const def = defs.find((d) => d.id === c.phaseIds[p])!;
        const n = rec.numbering.phaseNumber[p]!;
        const mine = records.filter((r) => r.locationId === ix.id && r.eventParam === n);
        const ped = mine.filter((r) => r.eventCode >= 21 && r.eventCode <= 23).map((r) => [r.eventCode, r.timestampMs]);
        if (!def.pedestrian) {
          expect(ped).toEqual([]);
          continue;
        }
        const walkS = Math.max(def.pedestrian.walkS, 4);
        const longestM = Math.max(...def.pedestrian.crosswalks.map((leg) => ix.crosswalks.find((x) => x.leg === leg)!.lengthM));
        const dontWalkS = Math.ceil((walkS + longestM / speed) * 10 - 1e-9) / 10;
        const at = (ms: number) => Math.round(ms / 100) * 100;
        // Lamps are sampled once a step, so a green at the pedestrian minimum can show up to a
        // step shorter: then its 23 comes with its 8, never after it.
        const expected = mine.flatMap((r, k) => {
          const yellow = mine.slice(k).find((y) => y.eventCode === 8)?.timestampMs;
          if (r.eventCode !== 1 || yellow === undefined) return [];
          return [
            [21, r.timestampMs],
            [22, Math.min(at(r.timestampMs + walkS * 1000), yellow)],
            [23, Math.min(at(r.timestampMs + dontWalkS * 1000), yellow)],
          ];
        });
        expect(ped.slice(0, expected.length)).toEqual(expected);
        greens += expected.length / 3;
        cut += expected.filter((e, k) => e[0] === 23 && e[1] !== at(expected[k - 2]![1]! + dontWalkS * 1000)).length;
        checkedPhases++;
      }
    }
    expect(checkedPhases).toBeGreaterThanOrEqual(20);
    // Only greens planned at the pedestrian minimum can be cut by the sampling, and few are.
    expect(greens).toBeGreaterThan(150);
    expect(cut).toBeLessThan(greens * 0.05);
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

  it('TSP events from the TspController running on the simulation go into the same log, in time order with the phase events', () => {
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 5 });
    const rec = new SimEventRecorder(sim);
    const tsp = new TspController(c, plan, priorityConfig());
    tsp.events = rec.priorityEvent;
    const i1 = c.intersectionIds.indexOf('I1');
    const ebt = movementIndex(APPROACH_IDS.indexOf('EB'), THROUGH_TURN);
    // I1's eastbound through green ends at 98.3 s of its cycle (engine/priority/tsp.test.ts): a bus
    // checking in at 90 s for 100 s gets a green extension.
    const askS = 90;
    sim.runUntil(askS);
    const d = tsp.request({ vehicleId: 'bus-9', routeId: '7', tripId: 't', intersection: i1, movement: ebt, arrivalS: 100, latenessS: 120, occupancy: 30, headwayS: 0, priorityClass: PriorityClass.Bus }, sim.tS);
    expect(d).toMatchObject({ granted: true, strategy: 'greenExtension' });
    sim.runUntil(askS + 15);
    tsp.cancel('bus-9', i1, sim.tS);
    sim.runUntil(askS + 60);
    const tspRecords = rec.events.records().filter((r) => r.eventCode >= 112 && r.eventCode <= 115);
    const at = (tS: number) => Math.round((SIM_EPOCH_MS + tS * 1000) / 100) * 100;
    expect(tspRecords).toEqual([
      { locationId: 'I1', timestampMs: at(askS), eventCode: 112, eventParam: 1 },
      { locationId: 'I1', timestampMs: at(askS), eventCode: 114, eventParam: 1 },
      { locationId: 'I1', timestampMs: at(askS + 15), eventCode: 115, eventParam: 1 },
    ]);
    expect(rec.events.isTimeOrdered()).toBe(true);
    expect(checkEventSequences(rec.events).problems).toEqual([]);
  });
});
