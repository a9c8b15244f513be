import { describe, expect, it } from 'vitest';
import { HELDOUT_SEEDS, parkingSearchScenario } from '../test/fixtures/parkingSearchCity.js';
import { runParkingSearch } from './parkingSearch.js';

describe('parking search in the simulated city', () => {
  it('is deterministic by seed, and every measured driver parks or fails', () => {
    const sc = parkingSearchScenario({ seed: 7, horizonS: 2400 });
    const a = runParkingSearch(sc, { compliance: 0.5, bookGuided: true });
    const b = runParkingSearch(parkingSearchScenario({ seed: 7, horizonS: 2400 }), { compliance: 0.5, bookGuided: true });
    expect(b).toEqual(a);
    expect(a.parked + a.failed).toBe(a.measured);
    expect(a.compliant).toBeGreaterThan(0.35 * a.measured);
    expect(a.compliant).toBeLessThan(0.65 * a.measured);
    const other = runParkingSearch(parkingSearchScenario({ seed: 8, horizonS: 2400 }), { compliance: 0.5, bookGuided: true });
    expect(other.cruiseS).not.toEqual(a.cruiseS);
    // No one complies at 0: booking changes nothing.
    expect(runParkingSearch(sc, { compliance: 0, bookGuided: true })).toEqual(runParkingSearch(sc, { compliance: 0 }));
    expect(() => runParkingSearch(sc, { compliance: 1.5 })).toThrow(/compliance/);
  });

  it('guidance at compliance 0.6 (recommendations booked) cuts mean cruising time by at least 30 % over the 5 held-out seeds', () => {
    let none = 0;
    let guided = 0;
    let n = 0;
    for (const seed of HELDOUT_SEEDS) {
      const sc = parkingSearchScenario({ seed });
      const a = runParkingSearch(sc, { compliance: 0 });
      const g = runParkingSearch(sc, { compliance: 0.6, bookGuided: true });
      expect(g.measured).toBe(a.measured);
      // Search matters in this city: without guidance a good share of drivers cruise.
      expect(a.cruisedShare).toBeGreaterThan(0.2);
      none += a.meanCruiseS * a.measured;
      guided += g.meanCruiseS * g.measured;
      n += a.measured;
    }
    const cut = 1 - guided / n / (none / n);
    expect(cut).toBeGreaterThanOrEqual(0.3);
  });
});
