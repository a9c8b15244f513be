import { describe, expect, it } from 'vitest';
import { iteAllRedS, iteYellowS, pedestrianClearanceS, ceilTenth } from './clearance.js';

const FT = 0.3048;

describe('ITE clearance intervals', () => {
  // ITE Traffic Engineering Handbook / FHWA Signal Timing Manual (FHWA-HOP-08-024) §5.4.1:
  // y = t + v/(2a + 2Gg) with t = 1 s, a = 10 ft/s², v = 30 mph (44 ft/s), level: 1 + 44/20 = 3.2 s.
  it('yellow for 30 mph on the level is 3.2 s', () => {
    expect(iteYellowS(44 * FT, 0, 1, 10 * FT)).toBeCloseTo(3.2, 2);
  });

  // Same source: a downgrade lengthens the yellow. −3 %: 1 + 44/(20 − 2·0.03·32.2) = 3.435 s.
  it('a 3 % downgrade lengthens the yellow to 3.44 s', () => {
    expect(iteYellowS(44 * FT, -3, 1, 10 * FT)).toBeCloseTo(3.435, 2);
  });

  it('an upgrade shortens it', () => {
    expect(iteYellowS(44 * FT, 3, 1, 10 * FT)).toBeLessThan(3.2);
  });

  // FHWA Signal Timing Manual §5.4.2: r = (W + L)/v; W = 60 ft, L = 20 ft, v = 44 ft/s: 80/44 = 1.82 s.
  it('all-red for a 60 ft crossing at 30 mph is 1.82 s', () => {
    expect(iteAllRedS(60 * FT, 20 * FT, 44 * FT)).toBeCloseTo(1.818, 2);
  });

  // MUTCD 4E.06 pedestrian clearance = crosswalk length / walking speed: 24 m at 1.2 m/s = 20 s.
  it('pedestrian clearance for 24 m at 1.2 m/s is 20 s', () => {
    expect(pedestrianClearanceS(24, 1.2)).toBeCloseTo(20, 6);
  });

  it('rounds up to tenths without float noise', () => {
    expect(ceilTenth(3.2)).toBe(3.2);
    expect(ceilTenth(0.1 + 0.2)).toBe(0.3);
    expect(ceilTenth(3.201)).toBe(3.3);
  });
});
