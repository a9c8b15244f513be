import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { prepareCounts } from '../demand.js';
import { periodCounts, timeOfDayPeriods } from './timeOfDay.js';
import type { DetectorCounts } from './csv.js';

const DAY0 = Date.UTC(2026, 10, 24);

/** A synthetic day of 15-minute counts at two detectors, with a little noise. */
function day(levelByHour: (h: number) => [number, number]): DetectorCounts {
  const volumeVeh = new Float64Array(96 * 2);
  for (let t = 0; t < 96; t++) {
    const [a, b] = levelByHour(Math.floor(t / 4));
    const wobble = ((t * 7919) % 11) - 5; // deterministic ±5 veh
    volumeVeh[t * 2] = a + wobble;
    volumeVeh[t * 2 + 1] = b - wobble;
  }
  return { detectorIds: ['a', 'b'], intervalS: 900, intervalStartMs: Float64Array.from({ length: 96 }, (_, t) => DAY0 + t * 900_000), volumeVeh, occupancyPct: new Float64Array(192) };
}

const level = (h: number): [number, number] => (h >= 6 && h < 9 ? [200, 60] : h >= 9 && h < 16 ? [100, 100] : h >= 16 && h < 19 ? [60, 220] : h >= 19 && h < 22 ? [50, 50] : [15, 15]);

describe('time-of-day periods', () => {
  it('finds the breakpoints of a day with two peaks, and the night runs across midnight', () => {
    const periods = timeOfDayPeriods(day(level));
    expect(periods.map((p) => [p.id, p.startMin / 60, p.endMin / 60])).toEqual([
      ['am-peak', 6, 9],
      ['off-peak-1', 9, 16],
      ['pm-peak', 16, 19],
      ['off-peak-2', 19, 22],
      ['night', 22, 6],
    ]);
    const night = periods[4]!;
    expect([night.first, night.count]).toEqual([88, 32]);
    const nightCounts = periodCounts(day(level), night);
    expect(nightCounts.intervalStartMs[8]).toBe(DAY0); // 22:00 … 23:45, then 00:00
  });

  it('stops adding periods that explain little; one level all day is one period', () => {
    expect(timeOfDayPeriods(day(() => [80, 80])).map((p) => p.id)).toEqual(['all-day']);
    const twoLevels = timeOfDayPeriods(day((h) => (h >= 7 && h < 20 ? [120, 120] : [20, 20])), { maxPeriods: 5 });
    expect(twoLevels.map((p) => [p.startMin / 60, p.endMin / 60])).toEqual([
      [7, 20],
      [20, 7],
    ]);
  });

  it('every period is at least minPeriodS long', () => {
    const spiky = timeOfDayPeriods(day((h) => (h === 8 ? [400, 10] : [50, 50])), { minPeriodS: 7200 });
    for (const p of spiky) expect(p.count).toBeGreaterThanOrEqual(8);
  });

  it('on the demo city day: AM peak in the morning, PM peak in the afternoon', () => {
    const c = compileNetwork(loadNetwork(readFileSync('examples/demo-city/network.json', 'utf8')));
    const { faults } = prepareCounts(c, readFileSync('examples/demo-city/counts.csv', 'utf8'));
    const periods = timeOfDayPeriods(faults.cleaned);
    console.log(periods.map((p) => `${p.label} ${String(Math.floor(p.startMin / 60)).padStart(2, '0')}:${String(p.startMin % 60).padStart(2, '0')}`).join(', '));
    const am = periods.find((p) => p.id === 'am-peak')!;
    const pm = periods.find((p) => p.id === 'pm-peak')!;
    // The counts' peaks are about 07:30–09:00 and 17:00–19:00 (examples/demo-city/README.md).
    expect(am.startMin).toBeGreaterThanOrEqual(6 * 60);
    expect(am.startMin + am.count * 15).toBeLessThanOrEqual(10 * 60);
    expect(pm.startMin).toBeGreaterThanOrEqual(15 * 60);
    expect(pm.startMin + pm.count * 15).toBeLessThanOrEqual(21 * 60);
    expect(periods.find((p) => p.id === 'night')!.startMin).toBeGreaterThanOrEqual(20 * 60);
  });
});
