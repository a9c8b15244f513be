/**
 * Every measure on a hand-made event log (test/fixtures/events/handmade.csv, network
 * test/fixtures/events/network.json), checked against values worked out by hand below.
 *
 * The network: one crossing X1, stages "2" (EBT) and "4" (NBT): NEMA numbers 2 and 4.
 * Approach speed 36 km/h = 10 m/s. Detector channels (file order + 1): 1 EB-1 stop line
 * (0 m), 2 EB-1 advance (50 m: 5 s to the stop line), 3 EB-2 stop line, 4 NB-1 stop line.
 *
 * Phase 2 in the log, seconds after 08:00:00 (2026-01-01):
 *   9/10 at 0, 11 at 2; 1 at 30; 6 + 8 at 56; 9/10 at 60; 11 at 62;
 *   1 at 90; 4 + 8 at 110; 9/10 at 114; 11 at 116; 1 at 144; 5 + 8 at 170; 9/10 at 174;
 *   11 at 176; 1 at 204 (never finishes). The log ends at 230.
 * PCD cycles (red → green → yellow → red): C1 [0, 60) green 30 yellow 56; C2 [60, 114)
 *   green 90 yellow 110; C3 [114, 174) green 144 yellow 170.
 * Arrivals: advance on-events at 10 28 40 52 57 85 100 120 150 168 180, + 5 s →
 *   15 (C1 red, 15 s in cycle), 33 (C1 green, 33), 45 (C1 green, 45), 57 (C1 yellow, 57),
 *   62 (C2 red, 2), 90 (C2 green: at the green start is on green, 30), 105 (C2 green, 45),
 *   125 (C3 red, 11), 155 (C3 green, 41), 173 (C3 yellow, 59); 185 is after C3: not counted.
 *   volume 10; on green 5, on yellow 2, on red 3: %AoG = 50 %.
 *   green time 26 + 20 + 26 = 72 s of 60 + 54 + 60 = 174 s: %green = 7200 / 174 ≈ 41.38 %;
 *   platoon ratio = 50 / 41.38 = 174 / 144 ≈ 1.2083.
 * Approach delay: red arrivals wait 30 − 15 = 15, 90 − 62 = 28, 144 − 125 = 19 s: total 62 s,
 *   average over the volume 62 / 10 = 6.2 s/veh.
 * Split failure (stop-line channels 1 and 3, union of their occupancy):
 *   C1: green+yellow [30, 60): ch1 30–55 and 58–65 → 25 + 2 = 27 s of 30 = 90 %;
 *       first 5 s of red [60, 65): 5 of 5 = 100 %  → failure;
 *   C2: [90, 114): ch1 92–100 ∪ ch3 98–104 = 92–104 (12 s) and ch1 112–116 → 2 s: 14 of 24
 *       = 58.33 %; red [114, 119): 114–116 → 2 of 5 = 40 % → no failure;
 *   C3: [144, 174): 144–170 (26) and 171–174 (3) = 29 of 30 = 96.67 %; red [174, 179):
 *       171–180 → 5 of 5 = 100 % → failure. 2 failures in 3 cycles.
 * Split monitor (1 → 8 → 10 → 11): 30→56→60→62: green 26, yellow 4, red clearance 2 = 32 s,
 *   force-off; 90→110→114→116: 20 + 4 + 2 = 26 s, gap-out; 144→170→174→176: 32 s, max-out.
 *   mean 30, min 26, max 32. Terminations: 1 gap-out, 1 max-out, 1 force-off, 0 unreported.
 * Phase 4 events, channel 4 and the location X2 (not in the network) must change none of this.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { readEventsCsv } from '../events/csv.js';
import { eventNumbering } from '../events/numbering.js';
import { measureContext } from './context.js';
import { approachDelay, arrivalsOnGreen, purdueCoordinationDiagram } from './pcd.js';
import { splitFailures } from './splitFailure.js';
import { splitMonitor, terminationTypes } from './splitMonitor.js';
import { measuresReport } from './report.js';
import { renderPcdSvg } from './pcdSvg.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/events/${name}`, import.meta.url), 'utf8');
const c = compileNetwork(loadNetwork(fixture('network.json')));
const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const at = (s: number) => T0 + s * 1000;

function context() {
  return measureContext(c, readEventsCsv(fixture('handmade.csv'), 'handmade.csv'));
}
/** Global index of phase "2" (NEMA 2). */
const P2 = c.phaseIds.indexOf('2');

describe('measures on the hand-made log', () => {
  it('numbers phases by their NEMA ids and detectors by channel', () => {
    const n = eventNumbering(c);
    expect(Array.from(n.phaseNumber)).toEqual([2, 4]);
    expect(Array.from(n.detectorChannel)).toEqual([1, 2, 3, 4]);
  });

  it('Purdue coordination diagram: cycles and arrivals with their time in cycle', () => {
    const pcd = purdueCoordinationDiagram(context(), P2);
    expect(pcd.phaseNumber).toBe(2);
    expect(pcd.detectorChannels).toEqual([2]);
    expect(pcd.cycles.map((cy) => [cy.startMs, cy.greenStartMs, cy.yellowStartMs, cy.endMs])).toEqual([
      [at(0), at(30), at(56), at(60)],
      [at(60), at(90), at(110), at(114)],
      [at(114), at(144), at(170), at(174)],
    ]);
    expect(pcd.cycles.map((cy) => cy.arrivals.map((a) => [a.inCycleS, a.on]))).toEqual([
      [[15, 'red'], [33, 'green'], [45, 'green'], [57, 'yellow']],
      [[2, 'red'], [30, 'green'], [45, 'green']],
      [[11, 'red'], [41, 'green'], [59, 'yellow']],
    ]);
  });

  it('arrivals on green and platoon ratio', () => {
    const aog = arrivalsOnGreen(purdueCoordinationDiagram(context(), P2));
    expect(aog).toEqual({
      cycles: 3,
      volume: 10,
      arrivalsOnGreen: 5,
      arrivalsOnYellow: 2,
      arrivalsOnRed: 3,
      percentArrivalsOnGreen: 50,
      greenTimeS: 72,
      totalTimeS: 174,
      percentGreen: (100 * 72) / 174,
      platoonRatio: 50 / ((100 * 72) / 174),
    });
    expect(aog.platoonRatio).toBeCloseTo(174 / 144, 12);
  });

  it('approach delay', () => {
    expect(approachDelay(purdueCoordinationDiagram(context(), P2))).toEqual({ volume: 10, arrivalsOnRed: 3, totalDelayS: 62, averageDelayS: 6.2 });
  });

  it('split failures', () => {
    const sf = splitFailures(context(), P2);
    expect(sf.detectorChannels).toEqual([1, 3]);
    expect(sf.cycles).toEqual([
      { greenStartMs: at(30), redStartMs: at(60), greenOccupancyPct: 90, redOccupancyPct: 100, failure: true },
      { greenStartMs: at(90), redStartMs: at(114), greenOccupancyPct: (100 * 14) / 24, redOccupancyPct: 40, failure: false },
      { greenStartMs: at(144), redStartMs: at(174), greenOccupancyPct: (100 * 29) / 30, redOccupancyPct: 100, failure: true },
    ]);
    expect(sf.failures).toBe(2);
    expect(sf.percentFailures).toBe((100 * 2) / 3);
  });

  it('split monitor and termination types', () => {
    const ctx = context();
    const sm = splitMonitor(ctx, P2);
    expect(sm.cycles).toEqual([
      { greenStartMs: at(30), greenS: 26, yellowS: 4, redClearanceS: 2, splitS: 32, termination: 6 },
      { greenStartMs: at(90), greenS: 20, yellowS: 4, redClearanceS: 2, splitS: 26, termination: 4 },
      { greenStartMs: at(144), greenS: 26, yellowS: 4, redClearanceS: 2, splitS: 32, termination: 5 },
    ]);
    expect([sm.meanSplitS, sm.minSplitS, sm.maxSplitS]).toEqual([30, 26, 32]);
    expect(terminationTypes(ctx, P2)).toEqual({ gapOut: 1, maxOut: 1, forceOff: 1, unreported: 0 });
  });

  it('the report carries the same numbers, and the SVG draws every arrival', () => {
    const r = measuresReport(c, readEventsCsv(fixture('handmade.csv')));
    const p2 = r.phases.find((p) => p.phaseNumber === 2)!;
    expect(p2.arrivalsOnGreen.percentArrivalsOnGreen).toBe(50);
    expect(p2.approachDelay.averageDelayS).toBe(6.2);
    expect(p2.splitFailures).toEqual({ cycles: 3, failures: 2, percentFailures: (100 * 2) / 3 });
    expect(p2.split).toEqual({ cycles: 3, meanS: 30, minS: 26, maxS: 32 });
    const svg = renderPcdSvg(purdueCoordinationDiagram(context(), P2));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle/g)?.length).toBe(10);
  });
});
