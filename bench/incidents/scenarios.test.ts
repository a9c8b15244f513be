/**
 * End to end: a lane blockage injected in the simulator (demo city, 08:00 demand) is seen by
 * the incident detector from the 30 s loop samples within 4 minutes, on its link and lane,
 * and cleared once the obstacle is gone; the same seed without the blockage raises nothing on
 * that link. The benchmark (run.ts) measures the rates over seeded sets; this checks one case.
 * The acceptance's 3 minutes is a rate (90 % of blockages), not a bound on each: this one was
 * found within 3 minutes until the planner's shared-lane model (December 2026) re-timed I4,
 * and in 210 s since.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../simulator/simulation.js';
import { IncidentDetector, type IncidentEvent } from '../../engine/traffic/incidentDetector.js';
import { loadCity, SAMPLE_S } from './scenarios.js';

describe('incident detection on the simulator', () => {
  it('detects a blocked through lane on Renmin Rd within 4 minutes and clears it after', () => {
    const city = loadCity(['08:00']);
    const { c, layout } = city;
    const { plan, flows } = city.plans.get('08:00')!;
    const i3 = c.intersectionIds.indexOf('I3');
    let lane = -1;
    for (let l = c.laneStart[i3]!; l < c.laneStart[i3 + 1]!; l++) if (c.laneIds[l] === 'EB-2') lane = l;
    const startS = 900;
    const endS = 1500;
    const run = (incident: boolean) => {
      const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 21, stepS: 1, detectorIntervalS: SAMPLE_S });
      if (incident) sim.addIncident({ lane, positionM: 180, startS, durationS: endS - startS });
      const det = new IncidentDetector(layout);
      const events: IncidentEvent[] = [];
      for (let t = SAMPLE_S; t <= 2100; t += SAMPLE_S) {
        sim.runUntil(t);
        const last = sim.detectorCounts(sim.closedIntervals - 1);
        events.push(...det.push(t, last.volumeVeh, last.occupancyPct));
      }
      return events.filter((e) => e.linkId === 'I3-EB');
    };
    const events = run(true);
    const start = events.find((e) => e.kind === 'start' && e.tS > startS);
    expect(start).toBeDefined();
    expect(start!.tS - startS).toBeLessThanOrEqual(240);
    expect(start!.detectorId).toMatch(/^I3-EB-2-/);
    expect(start!.networkLinkId).toBe('L-I2-I3');
    const clear = events.find((e) => e.kind === 'clear' && e.tS > start!.tS);
    expect(clear).toBeDefined();
    expect(clear!.tS).toBeGreaterThan(endS);
    expect(clear!.tS - endS).toBeLessThanOrEqual(600);
    expect(run(false).filter((e) => e.kind === 'start' && e.tS > startS)).toEqual([]);
  });
});
