import { describe, expect, it } from 'vitest';
import { generateOccupancy } from './generate.js';

const DAY = 288;
/** Mean occupancy fraction at 12:00–13:00 over the given day indices. */
function noon(occ: Float64Array, cap: number, days: number[]): number {
  let s = 0;
  for (const d of days) for (let k = 144; k < 156; k++) s += occ[d * DAY + k]! / cap;
  return s / (days.length * 12);
}

describe('synthetic occupancy', () => {
  it('is reproducible from its seed and stays within 0…capacity in whole spaces', () => {
    const a = generateOccupancy({ kind: 'shopping', capacity: 200, seed: 9, days: 28 });
    const b = generateOccupancy({ kind: 'shopping', capacity: 200, seed: 9, days: 28 });
    const c = generateOccupancy({ kind: 'shopping', capacity: 200, seed: 10, days: 28 });
    expect(a.occupied).toEqual(b.occupied);
    expect(a.occupied).not.toEqual(c.occupied);
    expect(a.occupied.length).toBe(28 * DAY);
    for (const v of a.occupied) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(200);
    }
  });

  it('has the weekly shape of its kind, holidays and events', () => {
    // 2026-03-02 is a Monday; day 33 is 2026-04-04, a holiday (Saturday), 34 a Sunday holiday, 35 a Monday holiday.
    const cap = 300;
    const commute = generateOccupancy({ kind: 'commute', capacity: cap, seed: 1, days: 42, eventsPerWeek: 0 });
    const weekdays = [0, 1, 2, 3, 7, 8, 9, 10, 14, 15];
    const weekends = [5, 6, 12, 13, 19, 20];
    expect(noon(commute.occupied, cap, weekdays)).toBeGreaterThan(0.8);
    expect(noon(commute.occupied, cap, weekends)).toBeLessThan(0.35);
    // The Monday holiday is quiet like a Sunday, unlike an ordinary Monday.
    expect(noon(commute.occupied, cap, [35])).toBeLessThan(0.35);
    const shopping = generateOccupancy({ kind: 'shopping', capacity: cap, seed: 1, days: 42, eventsPerWeek: 0 });
    expect(noon(shopping.occupied, cap, weekends)).toBeGreaterThan(noon(shopping.occupied, cap, weekdays) + 0.3);
    const withEvents = generateOccupancy({ kind: 'hospital', capacity: cap, seed: 1, days: 42, eventsPerWeek: 2 });
    expect(withEvents.events.length).toBeGreaterThan(4);
    expect(commute.events).toEqual([]);
  });
});
