import { describe, expect, it } from 'vitest';
import { generateLinks, SLOTS_PER_DAY } from './generate.js';
import { LinkClass } from './links.js';
import { fitPredictor, historicalProfile, HORIZON_SLOTS, scoreSeries } from './predict.js';
import { HELD_OUT_SEEDS, TUNING_SEEDS } from './predictSets.js';

// A small cut of the benchmark (bench/traffic/predict.ts): 6 weeks, 3 arterials and 3 side streets per seed.
const of = (seed: number, cls: number): Float64Array[] => generateLinks(seed, 42, 3, 3).filter((l) => l.cls === cls).map((l) => l.travelTimeS);

describe('link travel-time prediction', () => {
  it('the historical profile is the mean of the same slot on earlier days of the same type', () => {
    const y = of(TUNING_SEEDS[0], LinkClass.Arterial)[0]!;
    const h = historicalProfile(y);
    const s = 100;
    // Day 8 is a Tuesday: Monday..Friday of week 0 and Monday of week 1 came before (days 0-4, 7).
    const days = [0, 1, 2, 3, 4, 7];
    expect(h[8 * SLOTS_PER_DAY + s]).toBeCloseTo(days.reduce((a, d) => a + y[d * SLOTS_PER_DAY + s]!, 0) / days.length, 9);
    expect(h[s]).toBeNaN();
  });

  for (const cls of [LinkClass.Arterial, LinkClass.Side]) {
    it(`beats the historical average and persistence at 15, 30 and 60 min on held-out links (${cls === LinkClass.Arterial ? 'arterials' : 'side streets'})`, () => {
      const params = fitPredictor(of(TUNING_SEEDS[0], cls));
      expect(params.phi.length).toBe(HORIZON_SLOTS.length);
      for (const r of scoreSeries(of(HELD_OUT_SEEDS[0], cls), params)) {
        expect(r.maeMethod, `${r.horizonMin} min`).toBeLessThan(r.maeHistorical);
        expect(r.maeMethod, `${r.horizonMin} min`).toBeLessThan(r.maePersistence);
      }
    });
  }
});
