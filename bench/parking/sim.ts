/**
 * bench/parking/sim: parking search with and without guidance (issue 17, item 7) on
 * generated cities (test/fixtures/parkingSearchCity.ts: a 9 × 9 grid, 50 car parks,
 * busy districts, 700 searching drivers an hour), run by simulator/parkingSearch.ts
 * (mesoscopic: link free-flow times plus the plan's signal delays, no congestion).
 * Policies: no guidance; guidance at compliance 0.3, 0.6 and 1.0 with Recommend as it
 * is over the live occupancy feed ("plain"); and the same with the service booking
 * each recommendation it hands out (engine/parking/guidedArrivals.ts, "booked").
 * Prints, per seed and pooled over the drivers of 5 seeds, the mean cruising time and
 * distance, the share that cruised, the share failing to park, the mean walk and the
 * mean drive to the first car park.
 *
 * The scenario's numbers and the guided drivers' rule were chosen looking only at the
 * TUNING seeds; the HELD-OUT seeds were run once it was fixed, and both are printed.
 * Run: `npm run bench:parking-sim`.
 */
import { HELDOUT_SEEDS, TUNING_SEEDS, parkingSearchScenario } from '../../test/fixtures/parkingSearchCity.js';
import { runParkingSearch } from '../../simulator/parkingSearch.js';
import { POLICIES, addToPool, emptyPool, mergePool, type Pool } from './searchPolicies.js';

function row(label: string, p: Pool, base: Pool | undefined): string {
  const cruiseS = p.cruiseS / p.n;
  const cut = base ? `${((100 * (base.cruiseS / base.n - cruiseS)) / (base.cruiseS / base.n)).toFixed(0)} %` : '—';
  return `| ${label} | ${p.n} | ${cruiseS.toFixed(1)} | ${cut} | ${(p.cruiseM / p.n).toFixed(0)} | ${((100 * p.cruised) / p.n).toFixed(1)} % | ${((100 * p.failed) / p.n).toFixed(2)} % | ${(p.walkM / p.parked).toFixed(0)} | ${(p.firstS / p.n).toFixed(0)} |`;
}

const HEADER = '| policy | drivers | mean cruising s | cut vs none | mean cruising m | cruised | failed to park | mean walk m | mean drive to 1st s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|';

function runSet(name: string, seeds: readonly number[]): void {
  const pooled = POLICIES.map(emptyPool);
  console.log(`\n## ${name} seeds ${seeds.join(', ')}\n`);
  for (const seed of seeds) {
    const sc = parkingSearchScenario({ seed });
    const per = POLICIES.map((pol) => {
      const p = emptyPool();
      addToPool(p, runParkingSearch(sc, { compliance: pol.compliance, bookGuided: pol.bookGuided }));
      return p;
    });
    console.log(`seed ${seed} (${sc.drivers.length} drivers, ${sc.parking.carParkCount} car parks)\n\n${HEADER}`);
    per.forEach((p, j) => {
      console.log(row(POLICIES[j]!.label, p, j === 0 ? undefined : per[0]));
      mergePool(pooled[j]!, p);
    });
    console.log('');
  }
  console.log(`pooled over ${name} seeds ${seeds.join(', ')}\n\n${HEADER}`);
  pooled.forEach((p, j) => console.log(row(POLICIES[j]!.label, p, j === 0 ? undefined : pooled[0])));
}

runSet('tuning', TUNING_SEEDS);
runSet('held-out', HELDOUT_SEEDS);
