import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import type { PlanBuffer } from '../timing/planner.js';
import { LinkClass, NOMINAL_APPROACH_M, trafficLinks, type TrafficLinks } from './links.js';
import { GFactorEstimator, LinkStateEstimator, type LoopInterval } from './linkState.js';
import { OptionError } from '../errors.js';

let c: CompiledNetwork;
let plan: PlanBuffer;
let volumes: Float64Array;
let links: TrafficLinks;

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
  volumes = d.volumeVeh;
  plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  links = trafficLinks(c);
});

/** Loop data of vehicles all at `speedKph` with effective length `lengthM`: occupancy = n·L/v over the interval. */
function uniform(speedKph: number, lengthM: number, intervalS = 900): LoopInterval {
  const occupancyPct = new Float64Array(c.detectorIds.length);
  for (let d = 0; d < occupancyPct.length; d++) occupancyPct[d] = (100 * volumes[d]! * lengthM) / (speedKph / 3.6) / intervalS;
  return { intervalS, volumeVeh: volumes, occupancyPct };
}

describe('links', () => {
  it('names approaches by the network link feeding them and classes corridor links as arterials', () => {
    const k = links.index.get('L-I1-I2')!;
    expect(c.intersectionIds[links.toIntersection[k]!]).toBe('I2');
    expect(c.intersectionIds[links.fromIntersection[k]!]).toBe('I1');
    expect(links.lengthM[k]).toBe(410);
    expect(links.linkClass[k]).toBe(LinkClass.Arterial);
    const side = links.index.get('I1-NB')!;
    expect(links.fromIntersection[side]).toBe(-1);
    expect(links.lengthM[side]).toBe(NOMINAL_APPROACH_M);
    expect(links.linkClass[side]).toBe(LinkClass.Side);
    expect(links.corridors[0]!.links.length).toBe(14);
  });
});

describe('link state', () => {
  it('estimates the effective length from free-flow intervals and the speed from it', () => {
    const est = new LinkStateEstimator(c, links, { freeFlowOccupancyPct: 30 });
    // Light traffic at the 50 km/h free-flow speed of Renmin Rd, 6.4 m effective length.
    for (let r = 0; r < 2; r++) est.calibrate(uniform(50, 6.4));
    const d = links.adv[links.advStart[links.index.get('L-I1-I2')!]!]!;
    expect(est.g.effectiveLengthM(d)).toBeCloseTo(6.4, 9);
    est.update(uniform(30, 6.4), plan);
    expect(est.spotSpeedKph[links.index.get('L-I1-I2')!]).toBeCloseTo(30, 6);
    expect(est.spotSpeedKph[links.index.get('I1-NB')!]).toBeNaN(); // stop-line loops only
    // Paired loops: the measured speed wins.
    const measured = new Float64Array(c.detectorIds.length).fill(22);
    est.update({ ...uniform(30, 6.4), measuredSpeedKph: measured }, plan);
    expect(est.spotSpeedKph[links.index.get('L-I1-I2')!]).toBeCloseTo(22, 6);
  });

  it('uses the default effective length until enough free-flow vehicles were seen, and refuses silly options', () => {
    const g = new GFactorEstimator(1, { minCalibrationVeh: 50 });
    g.observe(0, 20, 2, 900, 13.9);
    expect(g.effectiveLengthM(0)).toBe(7);
    g.observe(0, 40, 40, 900, 13.9); // congested: not free flow
    expect(g.calibrationVeh(0)).toBe(20);
    expect(() => new GFactorEstimator(1, { freeFlowOccupancyPct: 0 })).toThrow(OptionError);
  });

  it('travel time = running time + HCM delay; progression lowers the delay; routes add up', () => {
    const est = new LinkStateEstimator(c, links);
    est.update(uniform(45, 7), plan);
    const k = links.index.get('L-I2-I3')!;
    expect(est.runningTimeS[k]).toBeCloseTo(355 / (links.freeFlowKph[k]! / 3.6), 9);
    expect(est.travelTimeS[k]).toBeCloseTo(est.runningTimeS[k]! + est.signalDelayS[k]!, 9);
    expect(est.signalDelayS[k]).toBeGreaterThan(5);
    const random = est.signalDelayS[k]!;
    const good = new Float64Array(links.count).fill(0.9);
    est.update({ ...uniform(45, 7), arrivalOnGreenShare: good }, plan);
    expect(est.signalDelayS[k]).toBeLessThan(random);
    // The input-output delay, where known, replaces the HCM delay on the through phase's lanes
    // (and only there: the other lanes keep theirs, so the link's delay moves by the through share).
    const io = (s: number) => {
      est.update({ ...uniform(45, 7), arrivalOnGreenShare: good, throughDelayS: new Float64Array(links.count).fill(s) }, plan);
      return est.signalDelayS[k]!;
    };
    const d0 = io(0);
    const d100 = io(100);
    expect(d0).toBeGreaterThanOrEqual(0);
    expect(d100).toBeGreaterThan(d0 + 50);
    expect(d100).toBeLessThanOrEqual(d0 + 100 + 1e-9);
    const nan = new Float64Array(links.count).fill(Number.NaN);
    est.update({ ...uniform(45, 7), arrivalOnGreenShare: good, throughDelayS: nan }, plan);
    expect(est.signalDelayS[k]).toBeLessThan(random); // unknown: back to HCM × PF
    const path = [links.index.get('L-I1-I2')!, k];
    expect(est.routeTravelTimeS(path)).toBeCloseTo(est.travelTimeS[path[0]!]! + est.travelTimeS[k]!, 9);
    expect(est.tpi[k]).toBeGreaterThanOrEqual(0);
    expect(est.level[k]).toBe(Math.min(4, Math.floor(est.tpi[k]! / 2)));
  });
});
