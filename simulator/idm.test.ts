/**
 * The car-following core is the textbook Intelligent Driver Model (Treiber,
 * Hennecke & Helbing 2000) with δ = 4: the simulator's other tests judge
 * delays and counts, which a wrong exponent or sign barely moves.
 */
import { describe, expect, it } from 'vitest';
import { idmAccelMps2, idmStartLossS } from './idm.js';
import { IDM } from './vehicles.js';

/** The IDM as written in the paper. */
function textbook(v: number, v0: number, gap: number, dv: number, a: number): number {
  const sStar = IDM.minGapM + Math.max(0, v * IDM.headwayS + (v * dv) / (2 * Math.sqrt(a * IDM.decelMps2)));
  return a * (1 - (v / v0) ** 4 - (Number.isFinite(gap) ? (sStar / gap) ** 2 : 0));
}

describe('IDM acceleration', () => {
  it('on a free road: a (1 − (v/v0)^4)', () => {
    // At 80 % of the desired speed δ = 4 leaves 59 % of the acceleration (δ = 2 would leave 36 %).
    expect(idmAccelMps2(11.2, 14, Infinity, 0, 1.5)).toBeCloseTo(1.5 * (1 - 0.8 ** 4), 12);
    expect(idmAccelMps2(0, 14, Infinity, 0, 1.5)).toBe(1.5);
    expect(idmAccelMps2(14, 14, Infinity, 0, 1.5)).toBeCloseTo(0, 12);
    // Faster than desired: it slows down.
    expect(idmAccelMps2(16, 14, Infinity, 0, 1.5)).toBeLessThan(0);
  });

  it('behind an obstacle: standing still at the minimum gap it stays; closer or closing fast it brakes', () => {
    expect(idmAccelMps2(0, 14, IDM.minGapM, 0, 1.5)).toBeCloseTo(0, 12);
    expect(idmAccelMps2(0, 14, IDM.minGapM / 2, 0, 1.5)).toBeLessThan(0);
    expect(idmAccelMps2(12, 14, 20, 12, 1.5)).toBeLessThan(-IDM.decelMps2);
  });

  it('matches the paper’s formula across speeds, gaps and approach rates', () => {
    for (const v of [0, 2.5, 7, 11, 13.9, 17])
      for (const gap of [2.5, 6, 15, 40, 120, Infinity])
        for (const dv of [-4, 0, 3, 10])
          for (const a of [1.0, 1.5]) {
            const want = textbook(v, 13.9, gap, dv, a);
            expect(idmAccelMps2(v, 13.9, gap, dv, a), `v ${v} gap ${gap} dv ${dv} a ${a}`).toBeCloseTo(want, 9);
          }
  });

  it('a free-road start loses what integrating the IDM says: 0.566 v0/a from rest', () => {
    // Euler integration of dv/dt = idmAccelMps2 on a free road, the time lost against v0.
    const integrated = (v0: number, from: number, a: number): number => {
      let v = from;
      let lost = 0;
      const dt = 0.001;
      for (let t = 0; t < 200; t += dt) {
        v += idmAccelMps2(v, v0, Infinity, 0, a) * dt;
        lost += (1 - v / v0) * dt;
      }
      return lost;
    };
    for (const [v0, from, a] of [[13.89, 0, 1.5], [13.89, 5, 1.5], [16.7, 0, 1.0], [11.1, 11.1, 1.5]] as const) {
      expect(idmStartLossS(v0, from, a), `v0 ${v0} from ${from} a ${a}`).toBeCloseTo(integrated(v0, from, a), 1);
    }
    expect(idmStartLossS(13.89, 0, 1.5)).toBeCloseTo(0.566 * (13.89 / 1.5), 1);
  });
});
