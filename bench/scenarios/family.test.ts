import { describe, expect, it } from 'vitest';
import { FAMILY_SIZE, familySizeFromEnv, scenarioFamily } from './family.js';

describe('the scenario family and the scenarios drawn past it', () => {
  it('draws the same 24 scenarios whatever the size, so the held-out half stays fixed', () => {
    expect(scenarioFamily(48).slice(0, FAMILY_SIZE)).toEqual(scenarioFamily());
    expect(scenarioFamily().map((s) => s.half)).toEqual(Array.from({ length: 24 }, (_, k) => (k % 2 === 0 ? 'tuning' : 'held-out')));
  });

  it('past seed 24: odd seeds tune, even seeds are the second held-out set', () => {
    const more = scenarioFamily(30).slice(FAMILY_SIZE);
    expect(more.map((s) => `${s.id} ${s.half}`)).toEqual(['arterial-25 tuning', 'grid-26 held-out-2', 'rand-27 tuning', 'arterial-28 held-out-2', 'grid-29 tuning', 'rand-30 held-out-2']);
  });

  it('takes GREENWAVE_FAMILY_SIZE only as a whole number above 24', () => {
    expect(familySizeFromEnv({})).toBe(24);
    expect(familySizeFromEnv({ GREENWAVE_FAMILY_SIZE: '48' })).toBe(48);
    for (const bad of ['12', '30.5', 'many', '']) expect(familySizeFromEnv({ GREENWAVE_FAMILY_SIZE: bad }), bad).toBe(24);
  });
});
