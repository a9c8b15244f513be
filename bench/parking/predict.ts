/**
 * bench/parking: free-space prediction at 15, 30 and 60 minutes against naive
 * persistence and the "relativized average of previous weeks", on synthetic
 * car parks (engine/parking/generate.ts: commute, shopping, hospital; 16 weeks
 * at 5 min, holidays known to the predictor, events not). Prints the mean
 * absolute error of all three methods and the band's coverage, on the tuning
 * set and on the held-out set (fixed by seed: engine/parking/predictEvaluate.ts).
 * Scoring starts on day 21, when the baseline has its three weeks.
 * Run: `npm run bench:parking`. GREENWAVE_BENCH_PARKING_TUNING='{"profileDays":5}'
 * scores other settings (on the tuning set when tuning: do not pick on held-out).
 */
import { generateOccupancy } from '../../engine/parking/generate.js';
import { addSums, benchmarkCarParks, emptySums, HELD_OUT_SEEDS, SLICES, type PredictorTuning, scoreRows, scoreSeries, type ScoreSums, TUNING_SEEDS } from '../../engine/parking/predictEvaluate.js';

const tuning: PredictorTuning = JSON.parse(process.env.GREENWAVE_BENCH_PARKING_TUNING ?? '{}');
const sets = (process.env.GREENWAVE_BENCH_PARKING_SETS ?? 'tuning,held-out').split(',');

function f(x: number, d = 2): string {
  return x.toFixed(d).padStart(8);
}

function report(name: string, seeds: readonly number[]): void {
  const t0 = performance.now();
  const byKind = new Map<string, ScoreSums>();
  const parks = benchmarkCarParks(seeds);
  for (const opts of parks) {
    const k = byKind.get(opts.kind) ?? emptySums();
    byKind.set(opts.kind, scoreSeries(generateOccupancy(opts), k, tuning));
  }
  const all = addSums([...byKind.values()]);
  const ms = performance.now() - t0;
  console.log(`\n${name} set: seeds ${seeds.join(', ')} (${parks.length} car parks, capacities ${parks.map((p) => p.capacity).join(' ')}; ${(ms / 1000).toFixed(1)} s)`);
  console.log('  horizon   forecasts   MAE method  persistence  rel. avg.   method/best   band cover   band width');
  for (const slice of SLICES) {
    if (slice !== 'all') console.log(`  targets ${slice === 'holiday' ? 'on holidays' : 'in events (from 1 h before to 1 h after)'}:`);
    for (const r of scoreRows(all[slice])) {
      const best = Math.min(r.maePersistence, r.maeRelativized);
      console.log(`  ${String(r.horizonMin).padStart(4)} min ${String(r.n).padStart(10)} ${f(r.maeMethod)}     ${f(r.maePersistence)}  ${f(r.maeRelativized)}   ${f(r.maeMethod / best, 3)}     ${f(r.coverage * 100, 1)} %  ${f(r.meanBandWidth, 1)}`);
    }
  }
  for (const [kind, s] of byKind) {
    console.log(`  ${kind}: ${scoreRows(s.all).map((r) => `${r.horizonMin} min ${r.maeMethod.toFixed(2)} / ${r.maePersistence.toFixed(2)} / ${r.maeRelativized.toFixed(2)}`).join(';  ')}`);
  }
}

console.log(`free-space prediction, MAE in spaces (method / persistence / relativized average); tuning ${JSON.stringify(tuning)}`);
if (sets.includes('tuning')) report('tuning', TUNING_SEEDS);
if (sets.includes('held-out')) report('held-out', HELD_OUT_SEEDS);
