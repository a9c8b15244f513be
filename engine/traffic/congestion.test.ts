import { describe, expect, it } from 'vitest';
import { levelOf, linkTpi, SPEED_THRESHOLDS_KPH, weightedTpi } from './congestion.js';

describe('congestion index and levels (GB/T 33171 speed table as reproduced; docs/traffic.md)', () => {
  const art = SPEED_THRESHOLDS_KPH.arterial;
  it('puts the thresholds on the level boundaries, so a link level is the table row', () => {
    // Arterial: 畅通 above 40, 基本畅通 30–40, 轻度 20–30, 中度 15–20, 严重 at or below 15.
    expect(levelOf(linkTpi(45, 50, art))).toBe(0);
    expect(levelOf(linkTpi(40, 50, art))).toBe(1);
    expect(levelOf(linkTpi(30.01, 50, art))).toBe(1);
    expect(levelOf(linkTpi(30, 50, art))).toBe(2);
    expect(levelOf(linkTpi(20, 50, art))).toBe(3);
    expect(levelOf(linkTpi(15, 50, art))).toBe(4);
    expect(levelOf(linkTpi(0, 50, art))).toBe(4);
    expect(linkTpi(0, 50, art)).toBe(10);
    expect(linkTpi(50, 50, art)).toBe(0);
    expect(linkTpi(35, 50, art)).toBeCloseTo(3, 9);
  });

  it('is monotone in speed and unknown for an unknown speed', () => {
    let last = 11;
    for (let v = 0; v <= 60; v += 0.5) {
      const x = linkTpi(v, 50, SPEED_THRESHOLDS_KPH.collector);
      expect(x).toBeLessThanOrEqual(last);
      last = x;
    }
    expect(linkTpi(Number.NaN, 50, art)).toBeNaN();
  });

  it('weights corridor and city indices by vehicle-kilometres, skipping links without traffic', () => {
    const tpi = Float64Array.from([2, 8, Number.NaN, 5]);
    const vkt = Float64Array.from([3, 1, 10, 0]);
    expect(weightedTpi(tpi, vkt)).toBeCloseTo((2 * 3 + 8 * 1) / 4, 12);
    expect(weightedTpi(tpi, vkt, Int32Array.from([1, 3]))).toBe(8);
    expect(weightedTpi(tpi, vkt, Int32Array.from([2, 3]))).toBeNaN();
  });
});
