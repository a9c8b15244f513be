/**
 * The diversion benchmark end to end on one tuning seed: with the incident, the guide says
 * divert only after the incident began, stops within the run, and the guided run loses less
 * than the unguided one; without the incident it says nothing and the run is the unguided one
 * bit for bit (the compliance draw takes nothing from the simulation's random state).
 */
import { describe, expect, it } from 'vitest';
import { ladderCity } from './city.js';
import { complianceDraw, COMPLIANCE, END_S, INCIDENT, runSeed, TUNING_SEEDS } from './scenario.js';

const city = ladderCity();
const seed = TUNING_SEEDS[0]!;
const opts = { onMarginS: 60, offMarginS: 15, minHoldS: 300 };

describe('diversion benchmark', () => {
  it('diverts during the incident and cuts total delay', () => {
    const base = runSeed(city, seed, undefined);
    const guided = runSeed(city, seed, opts);
    expect(base.diverted).toBe(0);
    expect(guided.firstDivertS).toBeGreaterThan(INCIDENT.startS);
    expect(guided.guidanceChanges).toBe(2);
    expect(guided.firstDivertS + guided.divertingS).toBeLessThan(END_S);
    // About COMPLIANCE of the trips passing while the sign said divert.
    const passing = (guided.throughTrips * guided.divertingS) / END_S;
    expect(guided.diverted).toBeGreaterThan(0.5 * COMPLIANCE * passing);
    expect(guided.diverted).toBeLessThan(1.5 * COMPLIANCE * passing);
    expect(guided.delayH).toBeLessThan(base.delayH);
  });

  it('says nothing without an incident, and changes nothing', () => {
    const base = runSeed(city, seed, undefined, { incident: false });
    const guided = runSeed(city, seed, opts, { incident: false });
    expect(guided.guidanceChanges).toBe(0);
    expect(guided.delayH).toBe(base.delayH);
  });

  it('draws compliance evenly', () => {
    let n = 0;
    for (let k = 0; k < 10_000; k++) if (complianceDraw(7, k) < 0.3) n++;
    expect(n).toBeGreaterThan(2850);
    expect(n).toBeLessThan(3150);
  });
});
