/**
 * Saturation flow from the stop-line loops' events (./saturation.ts), on hand-made logs of the
 * demo city's I9: headways from the fifth crossing of a green on count, until one is longer than
 * a queue's; a green with fewer than five crossings, a lane's own other loops and another
 * phase's greens do not; nothing until enough headways.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { EventBuffer } from '../events/buffer.js';
import { EventCode } from '../events/codes.js';
import { measureContext } from '../measures/context.js';
import { eventNumbering } from '../events/numbering.js';
import { MIN_HEADWAYS, SaturationFlowEstimator } from './saturation.js';

const c = compileNetwork(loadNetwork(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')));
const i9 = c.intersectionIds.indexOf('I9');
const numbering = eventNumbering(c);
const laneOf = (id: string): number => c.laneIds.indexOf(id, c.laneStart[i9]!);
const stopLoop = (lane: number): number => [...c.detectorLane.keys()].find((d) => c.detectorLane[d] === lane && c.detectorIds[d]!.endsWith('-S'))!;

/** `greens` cycles of the phase serving `laneId`, 60 s apart: red from 0, green at 10 s, yellow at 40 s; `crossings(g)` the on-times (s into the green). */
function log(laneId: string, greens: number, crossings: (g: number) => number[]): EventBuffer {
  const ev = new EventBuffer(256);
  const loc = ev.locationIndex('I9');
  const lane = laneOf(laneId);
  const phase = numbering.phaseNumber[c.lanePhase[lane]!]!;
  const ch = numbering.detectorChannel[stopLoop(lane)]!;
  for (let g = 0; g <= greens; g++) {
    const t0 = g * 60_000;
    ev.push(loc, t0, EventCode.PhaseEndYellow, phase);
    if (g === greens) break;
    ev.push(loc, t0 + 10_000, EventCode.PhaseBeginGreen, phase);
    ev.push(loc, t0 + 40_000, EventCode.PhaseBeginYellow, phase);
    for (const s of crossings(g)) ev.push(loc, t0 + 10_000 + s * 1000, EventCode.DetectorOn, ch);
  }
  ev.sortByTime();
  return ev;
}

it('counts the headways of a discharging queue from the fifth crossing, until it has cleared', () => {
  const est = new SaturationFlowEstimator(c);
  const lane = laneOf('NB-1');
  // Crossings 2.5 s apart for the first four (start-up), then 2.0 s for six more, then a 5 s gap
  // (the queue has gone) and two more 2 s apart that must not count: 6 headways of 2.0 s a green.
  const ev = log('NB-1', 5, () => [1, 3.5, 6, 8.5, 10.5, 12.5, 14.5, 16.5, 18.5, 20.5, 25.5, 27.5]);
  est.observe(measureContext(c, ev), 0, 10 * 60_000);
  expect(est.headways[lane]).toBe(30);
  expect(est.sumHeadwayS[lane]).toBeCloseTo(60, 9);
  expect(MIN_HEADWAYS).toBe(30);
  expect(est.satFlowVehPerH(lane)).toBeCloseTo(1800, 6);
  // No other lane was measured.
  const all = est.fill(new Float64Array(c.laneIds.length));
  expect([...all.keys()].filter((l) => !Number.isNaN(all[l]!))).toEqual([lane]);
});

it('needs five crossings in a green and enough headways; greens outside the window are not read', () => {
  const est = new SaturationFlowEstimator(c);
  const lane = laneOf('NB-1');
  est.observe(measureContext(c, log('NB-1', 8, () => [1, 3, 5, 7])), 0, 10 * 60_000);
  expect(est.headways[lane]).toBe(0);
  // 5 greens of nine crossings, 5 headways each: 25, fewer than MIN_HEADWAYS, so no figure yet.
  const nine = (): number[] => [1, 3, 5, 7, 9, 11, 13, 15, 17];
  est.observe(measureContext(c, log('NB-1', 5, nine)), 0, 10 * 60_000);
  expect(est.headways[lane]).toBe(25);
  expect(est.satFlowVehPerH(lane)).toBeNaN();
  // The same log again, but only the greens starting in [2 min, 4 min): two more greens.
  est.observe(measureContext(c, log('NB-1', 5, nine)), 120_000, 240_000);
  expect(est.headways[lane]).toBe(35);
  expect(est.satFlowVehPerH(lane)).toBeCloseTo(1800, 6);
});
