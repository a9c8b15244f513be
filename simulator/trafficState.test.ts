/**
 * Link state from the loops (engine/traffic/linkState.ts) against the simulator's own
 * trajectories (./linkTruth.ts) on the demo city under its 08:00 plan: the g-factor is
 * estimated on a light-traffic run (the night's data, as in the field), then speeds at the
 * advance loops and link travel times are estimated for every quarter hour of a run at the
 * counted demand and compared per link. Acceptance (issue 18): within 15 % per link at v/c up
 * to 0.9.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { LinkClass, trafficLinks, type TrafficLinks } from '../engine/traffic/links.js';
import { LinkStateEstimator, type LoopInterval } from '../engine/traffic/linkState.js';
import { Simulation } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';
import { LinkTruth } from './linkTruth.js';
import { SimEventRecorder, SIM_EPOCH_MS } from './events.js';
import { measureContext } from '../engine/measures/context.js';
import { arrivalOnGreenShares } from '../engine/traffic/progression.js';
import { SaturationFlowEstimator } from '../engine/traffic/saturation.js';

const INTERVAL_S = 900;
/**
 * Share of the arterial link-runs whose loop spot speed is within 15 % of the vehicles' passing
 * speeds there (measured: 22 of 25 with lane changing; 22 of 26 since the planner's shared-lane
 * model re-timed I4, which brings one more arterial link-run under v/c 0.9 and leaves two at
 * 15.5 % and 15.7 %; the estimator is unchanged; see docs/traffic.md).
 */
const ARTERIAL_SPOT_SHARE = 0.84;
/** LINK_IO=0: the estimate before the input-output delay (HCM delay × PF from P only), for comparison. */
/**
 * Loop samples the g-factor is calibrated on, s: 30 s as PeMS (an interval with a car standing
 * on the loop then exceeds the free-flow occupancy and is left out; in 15 min it is averaged
 * in). LINK_G_SAMPLE_S=900 gives the earlier calibration on the quarter hours.
 */
const G_SAMPLE_S = Number(process.env.LINK_G_SAMPLE_S ?? 30);
const IO = process.env.LINK_IO !== '0';
/** LINK_IO=measured: the input-output delay with the queue served at the stop-line loops' crossings (progression.ts `Discharge`), not at the saturation flow. */
const DISCHARGE = process.env.LINK_IO === 'measured' ? 'measured' : 'modelled';
/** LINK_SAT=0: the network's saturation flows (the planner's design values) instead of those measured from the events. */
const SAT = process.env.LINK_SAT !== '0';
/**
 * LINK_HELDOUT=1: the check held out while the estimator was developed (fixed before its
 * result was looked at, docs/traffic.md): the 17:45 counts and plan, 75 % of the demand, seed 29.
 * Not in npm test (its time budget).
 */
const HELDOUT = process.env.LINK_HELDOUT === '1';
/**
 * Lane changing along links (simulator/laneChange.ts) on, as issue 13 built it for fidelity to
 * SUMO: drivers get round a left turner waiting in a shared lane, even out the lanes' queues, and
 * move back into a lane after an obstacle, as they do in the field. LINK_LC=0: the simulator's
 * default without it (reported, not asserted; docs/traffic.md has its figures: vehicles stay in
 * the lane they entered, so a shared lane's waiting left turner holds everyone behind it).
 */
const LANE_CHANGE = process.env.LINK_LC !== '0';
/**
 * LINK_SEEDS=12 (or 11,12,13,14): the 08:00 runs on these simulator seeds instead of 11, the
 * test's, each link's vehicles and estimates pooled over them (hours of data, not one). The bound
 * is not met on every single seed (docs/traffic.md "Other seeds": seeds 12 and 13 leave one and three
 * side-street link-runs a few points out), so another seed may fail here; that is the measurement.
 */
const SEEDS = process.env.LINK_SEEDS?.split(',').map(Number);
const CASE = HELDOUT ? { time: '17:45', scales: [0.75], seeds: SEEDS ?? [29] } : { time: '08:00', scales: [0.6, 0.9], seeds: SEEDS ?? [11] };
let c: CompiledNetwork;
let plan: PlanBuffer;
let flows: Float64Array;
let links: TrafficLinks;

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), CASE.time);
  plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  flows = movementFlowsFromLanes(c, plan.laneFlowVehPerH);
  links = trafficLinks(c);
});

function run(scale: number, seed: number, untilS: number, intervalS = INTERVAL_S): { sim: Simulation; truth: LinkTruth; recorder: SimEventRecorder } {
  const f = flows.map((x) => x * scale);
  const sim = new Simulation(c, plan, { movementFlowVehPerH: f }, { seed, detectorIntervalS: intervalS, laneChange: LANE_CHANGE });
  const recorder = new SimEventRecorder(sim);
  const truth = new LinkTruth(sim, INTERVAL_S, recorder);
  sim.runUntil(untilS);
  return { sim, truth, recorder };
}

function intervalOf(sim: Simulation, r: number, intervalS = INTERVAL_S): LoopInterval {
  const counts = sim.detectorCounts(r);
  const nd = c.detectorIds.length;
  return { intervalS, volumeVeh: counts.volumeVeh.subarray(0, nd), occupancyPct: counts.occupancyPct.subarray(0, nd) };
}

describe('link state against the simulator', () => {
  it('maps links to the simulator approach links one to one', () => {
    const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: 1 });
    expect(links.count).toBe(sim.topology.linkCount);
    for (let k = 0; k < links.count; k++) {
      expect(links.toIntersection[k]).toBe(sim.topology.linkIntersection[k]);
      expect(links.lengthM[k]).toBe(sim.topology.linkLengthM[k]);
    }
  });

  it('speeds and travel times per link against the trajectories, v/c up to 0.9', () => {
    const est = new LinkStateEstimator(c, links);
    // The g-factor from a light run (30 % of the counted demand): the night's data in the field.
    const light = run(0.3, 7, 3 * INTERVAL_S, G_SAMPLE_S);
    for (let r = 0; r < light.sim.closedIntervals; r++) est.calibrate(intervalOf(light.sim, r, G_SAMPLE_S));
    const gs = Array.from(links.adv, (d) => est.g.effectiveLengthM(d));
    const rows: string[] = [`effective lengths (vehicle 5 m + loop 2 m in the simulator): ${gs.map((g) => g.toFixed(2)).join(' ')}`];
    const errors: { cls: number; tt: number; spot: number }[] = [];
    for (const scale of CASE.scales) {
      // Per link over the hour after the first quarter (the network filling): Σ over intervals (and seeds).
      const estTt = new Float64Array(links.count);
      const estSpot = new Float64Array(links.count);
      const vcMax = new Float64Array(links.count);
      const runS = new Float64Array(links.count);
      const delayEst = new Float64Array(links.count);
      const pOn = new Float64Array(links.count);
      const n = new Float64Array(links.count);
      const ttTrue = new Float64Array(links.count);
      const passes = new Float64Array(links.count);
      const invTrue = new Float64Array(links.count);
      for (const seed of CASE.seeds) {
      const { sim, truth, recorder } = run(scale, seed, 5 * INTERVAL_S);
      const ctx = measureContext(c, recorder.events);
      // Saturation flows measured from the stop-line loops' events, accumulated interval by interval.
      const satEst = new SaturationFlowEstimator(c);
      const sat = new Float64Array(c.laneIds.length).fill(Number.NaN);
      for (let r = 1; r < sim.closedIntervals; r++) {
        const ioDelay = new Float64Array(links.count);
        const fromMs = SIM_EPOCH_MS + r * INTERVAL_S * 1000;
        const toMs = SIM_EPOCH_MS + (r + 1) * INTERVAL_S * 1000;
        if (SAT) satEst.observe(ctx, r === 1 ? SIM_EPOCH_MS : fromMs, toMs);
        satEst.fill(sat);
        const aog = arrivalOnGreenShares(ctx, links, fromMs, toMs, undefined, IO ? ioDelay : undefined, -1, DISCHARGE);
        est.update({ ...intervalOf(sim, r), arrivalOnGreenShare: aog, ...(IO ? { throughDelayS: ioDelay } : {}), saturationFlowVehPerH: sat }, plan);
        for (let k = 0; k < links.count; k++) {
          const nk = truth.travelN[r]![k]!;
          const pk = truth.passages[r]![k]!;
          n[k] = n[k]! + nk;
          ttTrue[k] = ttTrue[k]! + truth.travelSumS[r]![k]!;
          estTt[k] = estTt[k]! + est.travelTimeS[k]! * nk;
          passes[k] = passes[k]! + pk;
          invTrue[k] = invTrue[k]! + truth.invSpeedSum[r]![k]!;
          if (pk > 0) estSpot[k] = estSpot[k]! + pk / est.spotSpeedKph[k]!;
          vcMax[k] = Math.max(vcMax[k]!, est.laneVcMax(k));
          runS[k] = est.runningTimeS[k]!;
          delayEst[k] = delayEst[k]! + est.signalDelayS[k]! * nk;
          pOn[k] = pOn[k]! + (Number.isFinite(aog[k]!) ? aog[k]! * nk : Number.NaN);
        }
      }
      }
      for (let k = 0; k < links.count; k++) {
        if (n[k]! < 60) continue;
        const tt = ttTrue[k]! / n[k]!;
        const ttEst = estTt[k]! / n[k]!;
        const spot = passes[k]! > 0 ? (3.6 * passes[k]!) / invTrue[k]! : Number.NaN;
        const spotEst = passes[k]! > 0 ? passes[k]! / estSpot[k]! : Number.NaN;
        rows.push(`${scale} ${links.ids[k]!.padEnd(9)} v/c ${vcMax[k]!.toFixed(2)} veh ${n[k]} travel time ${ttEst.toFixed(1)} / ${tt.toFixed(1)} s (${(100 * (ttEst / tt - 1)).toFixed(1)} %) speed at the loops ${spotEst.toFixed(1)} / ${spot.toFixed(1)} km/h (${(100 * (spotEst / spot - 1)).toFixed(1)} %); running ${runS[k]!.toFixed(1)} s, delay ${(delayEst[k]! / n[k]!).toFixed(1)} / ${(tt - runS[k]!).toFixed(1)} s, P ${(pOn[k]! / n[k]!).toFixed(2)}`);
        if (vcMax[k]! <= 0.9) errors.push({ cls: links.linkClass[k]!, tt: ttEst / tt - 1, spot: spotEst / spot - 1 });
      }
    }
    const share = (xs: number[]): number => xs.filter((e) => Math.abs(e) <= 0.15).length / xs.length;
    const worst = (xs: number[]): number => Math.max(...xs.map((e) => Math.abs(e)));
    const arterial = errors.filter((e) => e.cls === LinkClass.Arterial);
    const side = errors.filter((e) => e.cls !== LinkClass.Arterial);
    const spots = arterial.map((e) => e.spot).filter((e) => Number.isFinite(e));
    // The link's own speed, length ÷ travel time (what the congestion index grades), against the trajectories' (length ÷ their mean travel time).
    const linkSpeed = errors.map((e) => 1 / (1 + e.tt) - 1);
    console.log(rows.join('\n'));
    console.log(`link speed (length ÷ travel time) within 15 % on ${(100 * share(linkSpeed)).toFixed(0)} % of the ${linkSpeed.length} link-runs (${linkSpeed.filter((e) => Math.abs(e) <= 0.15).length} of ${linkSpeed.length}; worst ${(100 * worst(linkSpeed)).toFixed(1)} %)`);
    console.log(
      `links at v/c <= 0.9: arterial ${arterial.length}, travel time within 15 % ${(100 * share(arterial.map((e) => e.tt))).toFixed(0)} % (worst ${(100 * worst(arterial.map((e) => e.tt))).toFixed(1)} %), loop speed within 15 % ${(100 * share(spots)).toFixed(0)} % (worst ${(100 * worst(spots)).toFixed(1)} %); side streets ${side.length}, travel time within 15 % ${(100 * share(side.map((e) => e.tt))).toFixed(0)} % (worst ${(100 * worst(side.map((e) => e.tt))).toFixed(1)} %)`,
    );
    if (HELDOUT || !LANE_CHANGE) return; // reported, not held to the shares below
    expect(arterial.length).toBeGreaterThan(15);
    expect(side.length).toBeGreaterThan(15);
    // The acceptance: travel times, and so the link speeds, within 15 % on every link at v/c up to 0.9.
    expect(worst(arterial.map((e) => e.tt))).toBeLessThanOrEqual(0.15);
    expect(worst(side.map((e) => e.tt))).toBeLessThanOrEqual(0.15);
    expect(worst(linkSpeed)).toBeLessThanOrEqual(0.15);
    // The loops' spot speeds, a different quantity (docs/traffic.md): far low where a queue stands over a loop.
    expect(share(spots)).toBeGreaterThanOrEqual(ARTERIAL_SPOT_SHARE);
  });

  it('a lane blocked mid-link: with the reported blockage\'s capacity rule the estimate stays near the trajectories', () => {
    // The rule service/trafficState.ts applies for an operator's report (lanes open ÷ lanes of
    // the link's capacity), against no rule, on the estimator the validation above uses.
    const rows: string[] = [];
    const errs: [number, number][] = [];
    for (const [linkId, laneId, ix, scale] of [
      ['L-I3-I4', 'EB-3', 'I4', 0.6],
      ['L-I3-I4', 'EB-3', 'I4', 0.4],
      ['L-I2-I3', 'EB-4', 'I3', 0.6],
      ['L-I5-I6', 'EB-3', 'I6', 0.6],
    ] as const) {
      const k = links.index.get(linkId)!;
      const lane = c.laneIds.indexOf(laneId, c.laneStart[c.intersectionIds.indexOf(ix)]!);
      const { sim, truth, recorder } = (() => {
        const f = flows.map((x) => x * scale);
        const sim = new Simulation(c, plan, { movementFlowVehPerH: f }, { seed: 4, detectorIntervalS: INTERVAL_S, laneChange: LANE_CHANGE });
        const recorder = new SimEventRecorder(sim);
        const truth = new LinkTruth(sim, INTERVAL_S, recorder);
        sim.addIncident({ lane, positionM: 60, startS: INTERVAL_S, durationS: 4 * INTERVAL_S });
        sim.runUntil(4 * INTERVAL_S);
        return { sim, truth, recorder };
      })();
      const ctx = measureContext(c, recorder.events);
      const lanes = links.laneStart[k + 1]! - links.laneStart[k]!;
      const err = [1, (lanes - 1) / lanes].map((left) => {
        const est = new LinkStateEstimator(c, links);
        let e = 0;
        let t = 0;
        for (let r = 2; r < 4; r++) {
          const io = new Float64Array(links.count);
          const aog = arrivalOnGreenShares(ctx, links, SIM_EPOCH_MS + r * INTERVAL_S * 1000, SIM_EPOCH_MS + (r + 1) * INTERVAL_S * 1000, undefined, io);
          const factor = new Float64Array(links.count).fill(1);
          factor[k] = left;
          est.update({ ...intervalOf(sim, r), arrivalOnGreenShare: aog, throughDelayS: io, linkCapacityFactor: factor }, plan);
          e += est.travelTimeS[k]! * truth.travelN[r]![k]!;
          t += truth.travelSumS[r]![k]!;
        }
        return e / t - 1;
      });
      rows.push(`${linkId} (${laneId} blocked 60 m in, ${scale} of demand): ${(100 * err[0]!).toFixed(1)} % without the rule, ${(100 * err[1]!).toFixed(1)} % with it`);
      errs.push(err as [number, number]);
    }
    console.log(rows.join('\n'));
    // With lane changing the vehicles merge round the obstacle and back (in the trajectories, not
    // in the estimate): the rule, a lane lost up to the stop line, is nearer them in 2 of the 4
    // cases and overshoots where the obstacle is far up a short link (docs/traffic.md).
    const withRule = errs.map(([, e]) => Math.abs(e));
    expect(withRule.reduce((a, b) => a + b, 0) / withRule.length).toBeLessThan(0.1);
    expect(Math.max(...withRule)).toBeLessThan(0.25);
  });
});
