import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../numeric.js';
import { DiversionGuide, type DecisionPointConfig } from './diversion.js';

// Links 0..4: main = 0,1,2; alternative A = 3,4; alternative B = 4 alone.
const index = new Map(['m1', 'm2', 'm3', 'a1', 'a2'].map((id, k) => [id, k]));
const point: DecisionPointConfig = {
  id: 'DP1',
  signId: 'S1',
  routes: [
    { id: 'main', nameZh: '人民路', nameEn: 'Renmin Rd', direction: 'ahead', links: ['m1', 'm2', 'm3'] },
    { id: 'alt', nameZh: '北街', nameEn: 'North St', direction: 'left', links: ['a1', 'a2'] },
  ],
};

/** Travel times with the main route at `mainS` and the alternative at `altS` (split over their links). */
function times(mainS: number, altS: number): Float64Array {
  return Float64Array.from([mainS / 3, mainS / 3, mainS / 3, altS / 2, altS / 2]);
}

describe('DiversionGuide', () => {
  it('a travel-times-only point never diverts, and may have one route', () => {
    const g = new DiversionGuide([{ ...point, travelTimesOnly: true }, { id: 'DP2', signId: 'S2', travelTimesOnly: true, routes: [point.routes[1]!] }], index, { minHoldS: 0 });
    const [m, one] = g.update(0, times(1200, 300));
    expect(m!.divertTo).toBe(-1);
    expect(m!.lines.map((l) => l.kind)).toEqual(['travelTime', 'travelTime']);
    expect(one!.textZh).toBe('北街 5分钟');
    // The same point without the flag diverts; with one route only it is refused.
    expect(new DiversionGuide([point], index, { minHoldS: 0 }).update(0, times(1200, 300))[0]!.divertTo).toBe(1);
    expect(() => new DiversionGuide([{ ...point, routes: [point.routes[0]!] }], index)).toThrow(/decisionPoints\[0\]\.routes needs a main route/);
  });

  it('shows travel times, sums along the path, while the routes are close', () => {
    const g = new DiversionGuide([point], index);
    const [m] = g.update(0, times(300, 400));
    expect(m!.divertTo).toBe(-1);
    expect(m!.lines.map((l) => [l.kind, l.minutes])).toEqual([
      ['travelTime', 5],
      ['travelTime', 7],
    ]);
    expect(m!.lines[0]!.travelTimeS).toBeCloseTo(300, 9);
    expect(m!.textZh).toBe('人民路 5分钟 | 北街 7分钟');
    expect(m!.textEn).toBe('Renmin Rd 5 min | North St 7 min');
  });

  it('diverts when the main route is slower by the on margin, and says so in both languages', () => {
    const g = new DiversionGuide([point], index, { onMarginS: 120, offMarginS: 30, minHoldS: 300 });
    expect(g.update(0, times(400, 300))[0]!.divertTo).toBe(-1); // 100 s gain: below 120
    const [m] = g.update(60, times(430, 300));
    expect(m!.divertTo).toBe(1);
    expect(m!.guidanceChanged).toBe(true);
    expect(m!.textZh).toBe('前方拥堵 请绕行北街');
    expect(m!.textEn).toBe('Congestion ahead, use North St');
    expect(m!.lines.map((l) => l.kind)).toEqual(['congested', 'divert']);
  });

  it('holds a diversion for the minimum time, and ends it only below the off margin', () => {
    const g = new DiversionGuide([point], index, { onMarginS: 120, offMarginS: 30, minHoldS: 300 });
    g.update(0, times(600, 300));
    expect(g.update(100, times(300, 300))[0]!.divertTo).toBe(1); // gain 0, but held
    expect(g.update(310, times(360, 300))[0]!.divertTo).toBe(1); // hold over, gain 60 ≥ 30: stays
    const m = g.update(320, times(320, 300))[0]!; // gain 20 < 30: ends
    expect(m.divertTo).toBe(-1);
    expect(m.sinceS).toBe(320);
    // And the travel-time state is held too: a jump straight back is refused for 300 s.
    expect(g.update(400, times(900, 300))[0]!.divertTo).toBe(-1);
    expect(g.update(620, times(900, 300))[0]!.divertTo).toBe(1);
  });

  it('does not flap on a noisy gain around the thresholds (and would without hysteresis)', () => {
    const rnd = mulberry32(7);
    // A gain of 100 ± 60 s, re-drawn every 30 s for 2 hours: the routes are about 100 s apart.
    const input: number[] = [];
    for (let k = 0; k < 240; k++) input.push(100 + 120 * (rnd() - 0.5));
    const switches = (g: DiversionGuide, gains: readonly number[]): number => {
      let n = 0;
      gains.forEach((gain, k) => {
        if (g.update(k * 30, times(300 + gain, 300))[0]!.guidanceChanged) n++;
      });
      return n;
    };
    const bare = switches(new DiversionGuide([point], index, { onMarginS: 100, offMarginS: 99.999, minHoldS: 0 }), input);
    const held = switches(new DiversionGuide([point], index, { onMarginS: 120, offMarginS: 30, minHoldS: 300 }), input);
    expect(bare).toBeGreaterThan(60);
    // On once (the first gain above 120 s), never off: the gain stays above 30 s.
    expect(held).toBe(1);
    // A gain that jumps between 0 and 200 s every 30 s: the hold allows one change per 300 s at most.
    const jumping = input.map((_, k) => (k % 2 === 0 ? 200 : 0));
    const heldJumping = switches(new DiversionGuide([point], index, { onMarginS: 120, offMarginS: 30, minHoldS: 300 }), jumping);
    expect(heldJumping).toBeGreaterThan(1);
    expect(heldJumping).toBeLessThanOrEqual(Math.floor((240 * 30) / 300) + 1);
  });

  it('picks the best alternative, and treats an unknown time as no evidence', () => {
    const three: DecisionPointConfig = { ...point, routes: [...point.routes, { id: 'b', nameZh: '南街', nameEn: 'South St', direction: 'right', links: ['a2'] }] };
    const g = new DiversionGuide([three], index, { minHoldS: 0 });
    // alt = 400 s, b = 200 s (only a2), main = 600 s.
    const t = Float64Array.from([200, 200, 200, 200, 200]);
    expect(g.update(0, t)[0]!.divertTo).toBe(2);
    t[4] = Number.NaN; // both alternatives unknown now
    const m = g.update(10, t)[0]!;
    expect(m.divertTo).toBe(-1);
    expect(m.lines.map((l) => l.kind)).toEqual(['travelTime', 'unknown', 'unknown']);
    expect(m.textEn).toBe('Renmin Rd 10 min | North St — | South St —');
  });

  it('refuses bad configuration with the field path', () => {
    expect(() => new DiversionGuide([{ ...point, routes: [point.routes[0]!] }], index)).toThrow(/decisionPoints\[0\]\.routes/);
    expect(() => new DiversionGuide([{ ...point, routes: [point.routes[0]!, { ...point.routes[1]!, links: ['a1', 'zz'] }] }], index)).toThrow(/decisionPoints\[0\]\.routes\[1\]\.links\[1\]/);
    expect(() => new DiversionGuide([point], index, { onMarginS: 60, offMarginS: 60 })).toThrow(/offMarginS/);
  });
});
