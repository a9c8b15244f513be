/**
 * bench/parking/micro: parking search with and without guidance (issue 17, item 7) in the IDM
 * microsimulator (simulator/parking.ts): the generated cities of bench/parking/sim
 * (test/fixtures/parkingSearchCity.ts: a 9 × 9 signalised grid, 50 car parks, busy districts,
 * 700 searching drivers an hour, the same drivers, car parks, background arrivals and seeds),
 * now with the searching cars driving among general traffic (Poisson arrivals at the volumes
 * the grid's signals are planned for: 600 veh/h per approach east–west, 400 north–south, 85 %
 * straight on, 15 % right) under the plan's fixed-time signals, car following by IDM, and a
 * full car park found by driving to it.
 *
 * Policies: no guidance; guidance at compliance 0.3, 0.6 and 1.0 with each guided driver's car
 * park booked as the service books a Recommend with a vehicle id ("booked",
 * engine/parking/guidedArrivals.ts); and the same with Recommend over the live feed alone
 * ("plain"). Prints per seed and pooled over the drivers of 5 seeds (and the spread
 * of the per-seed cut over seeds) the mean cruising time and distance (from the first arrival
 * at a full car park to parking, as the mesoscopic bench defines it), the share that cruised,
 * the share failing to park, the mean walk, the mean drive to the first car park, and the
 * simulation's own mean delay of the general traffic.
 *
 * The scenario and the drivers' rules are the mesoscopic bench's, fixed on its TUNING seeds;
 * the general traffic's volumes were fixed before any run here. Nothing was tuned on the
 * HELD-OUT seeds; both sets are printed. Run: `npm run bench:parking-micro`
 * (`PARKING_MICRO_SEEDS=heldout` for the held-out set only).
 */
import { movementIndex, movementSlot, MOVEMENT_COUNT } from '../../engine/network/geometry.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { APPROACH_IDS } from '../../engine/network/schema.js';
import { HELDOUT_SEEDS, SEARCH_GRID_VEH_PER_H, TUNING_SEEDS, parkingSearchGrid, parkingSearchScenario } from '../../test/fixtures/parkingSearchCity.js';
import { Simulation } from '../../simulator/simulation.js';
import { SearchPolicy } from '../../simulator/parkingChoice.js';
import type { ParkingSearchResult } from '../../simulator/parkingSearch.js';
import { POLICIES, addToPool, emptyPool, mergePool, type Policy, type Pool } from './searchPolicies.js';

/** The mesoscopic bench's policies, the booked ones listed before the plain ones. */
export const MICRO_POLICIES: readonly Policy[] = [...POLICIES.filter((p) => p.compliance === 0), ...POLICIES.filter((p) => p.bookGuided), ...POLICIES.filter((p) => p.compliance > 0 && !p.bookGuided)];

/** A run stops once every measured driver has parked or given up, or at this time, s. */
const MAX_SIM_S = 9000 + 3600;

/** General traffic per movement: the planned approach volumes, 85 % straight on and 15 % right (the grid's lanes carry no lefts). */
export function gridTraffic(c: CompiledNetwork): Float64Array {
  const flows = new Float64Array(c.intersectionCount * MOVEMENT_COUNT);
  for (let i = 0; i < c.intersectionCount; i++) {
    for (const ap of c.network.intersections[i]!.approaches) {
      const a = APPROACH_IDS.indexOf(ap.id);
      const q = ap.id === 'EB' || ap.id === 'WB' ? SEARCH_GRID_VEH_PER_H.rows : SEARCH_GRID_VEH_PER_H.cols;
      flows[movementSlot(i, movementIndex(a, 1))] = 0.85 * q;
      flows[movementSlot(i, movementIndex(a, 2))] = 0.15 * q;
    }
  }
  return flows;
}

export interface MicroRun {
  readonly result: ParkingSearchResult & { readonly unfinished: number };
  readonly simulatedS: number;
  readonly trafficDelayS: number;
  readonly vehicleUpdates: number;
  readonly turnArounds: number;
}

/** One policy on one seed's city. */
export function runMicro(seed: number, pol: Policy): MicroRun {
  const { c, plan } = parkingSearchGrid();
  const sc = parkingSearchScenario({ seed });
  const sim = new Simulation(c, plan, { movementFlowVehPerH: gridTraffic(c) }, { seed, stepS: 0.5 });
  const park = sim.setParking(sc, new SearchPolicy(sc, { compliance: pol.compliance, bookGuided: pol.bookGuided }));
  while (!park.measuredDone && sim.tS < MAX_SIM_S) sim.runUntil(sim.tS + 60);
  const m = sim.metrics();
  return { result: park.result(sim.tS), simulatedS: sim.tS, trafficDelayS: m.meanDelayPerVehS, vehicleUpdates: sim.vehicleUpdates, turnArounds: park.turnArounds };
}

const pct = (base: number, x: number): string => `${((100 * (base - x)) / base).toFixed(0)} %`;

function row(label: string, p: Pool, base: Pool | undefined, spread: string, delayS: string): string {
  const cruiseS = p.cruiseS / p.n;
  const cut = base ? pct(base.cruiseS / base.n, cruiseS) : '—';
  const cutM = base ? pct(base.cruiseM / base.n, p.cruiseM / p.n) : '—';
  return `| ${label} | ${p.n} | ${cruiseS.toFixed(1)} | ${cut} | ${spread} | ${(p.cruiseM / p.n).toFixed(0)} | ${cutM} | ${((100 * p.cruised) / p.n).toFixed(1)} % | ${((100 * p.failed) / p.n).toFixed(2)} % (${p.unfinished}) | ${(p.walkM / p.parked).toFixed(0)} | ${(p.firstS / p.n).toFixed(0)} | ${delayS} |`;
}

const HEADER =
  '| policy | drivers | mean cruising s | cut vs none | per-seed cut: mean ± sd (min…max) | mean cruising m | cut (m) | cruised | failed to park (unfinished) | mean walk m | mean drive to 1st s | traffic delay s/veh |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|';

function runSet(name: string, seeds: readonly number[]): void {
  const pooled = MICRO_POLICIES.map(emptyPool);
  const cuts = MICRO_POLICIES.map((): number[] => []);
  const delays = MICRO_POLICIES.map((): number[] => []);
  console.log(`\n## ${name} seeds ${seeds.join(', ')}\n`);
  for (const seed of seeds) {
    const t0 = performance.now();
    const runs = MICRO_POLICIES.map((pol) => runMicro(seed, pol));
    const per = runs.map((r) => {
      const p = emptyPool();
      addToPool(p, r.result);
      return p;
    });
    const updates = runs.reduce((a, r) => a + r.vehicleUpdates, 0);
    const turns = runs.map((r) => r.turnArounds).join('/');
    console.log(`seed ${seed} (${per[0]!.n} measured drivers; ${((performance.now() - t0) / 1000).toFixed(1)} s wall for ${runs.length} runs, ${(updates / 1e6).toFixed(0)} M vehicle updates; turn-arounds off the edge per policy ${turns})\n\n${HEADER}`);
    per.forEach((p, j) => {
      const base = per[0]!;
      if (j > 0) cuts[j]!.push(1 - p.cruiseS / p.n / (base.cruiseS / base.n));
      delays[j]!.push(runs[j]!.trafficDelayS);
      console.log(row(MICRO_POLICIES[j]!.label, p, j === 0 ? undefined : base, '', runs[j]!.trafficDelayS.toFixed(1)));
      mergePool(pooled[j]!, p);
    });
    console.log('');
  }
  console.log(`pooled over ${name} seeds ${seeds.join(', ')}\n\n${HEADER}`);
  pooled.forEach((p, j) => {
    const c = cuts[j]!;
    let spread = '—';
    if (c.length > 0) {
      const mean = c.reduce((a, b) => a + b, 0) / c.length;
      const sd = Math.sqrt(c.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, c.length - 1));
      spread = `${(100 * mean).toFixed(0)} ± ${(100 * sd).toFixed(0)} % (${(100 * Math.min(...c)).toFixed(0)}…${(100 * Math.max(...c)).toFixed(0)} %)`;
    }
    const d = delays[j]!;
    console.log(row(MICRO_POLICIES[j]!.label, p, j === 0 ? undefined : pooled[0], spread, (d.reduce((a, b) => a + b, 0) / d.length).toFixed(1)));
  });
}

const which = process.env['PARKING_MICRO_SEEDS'] ?? 'both';
if (process.argv[1] !== undefined && /micro\.(js|ts)$/.test(process.argv[1])) {
  if (which !== 'heldout') runSet('tuning', TUNING_SEEDS);
  if (which !== 'tuning') runSet('held-out', HELDOUT_SEEDS);
}
