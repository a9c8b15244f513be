/**
 * bench/traffic: link travel-time prediction at 15, 30 and 60 minutes
 * (engine/traffic/predict.ts) against the historical time-of-day average and
 * persistence, per link class, on synthetic links (engine/traffic/generate.ts:
 * 8 weeks at 5 minutes, 12 arterials and 8 side streets per seed). The
 * method's parameters are fitted on the tuning seeds only and scored on both
 * sets; scoring starts on day 28, when the baseline has its four weeks.
 * Prints the mean absolute error (s) and MAPE (%) of all three methods.
 * Run: `npm run bench:traffic-predict`.
 */
import { generateLinks } from '../../engine/traffic/generate.js';
import { LINK_CLASS_NAMES, LinkClass } from '../../engine/traffic/links.js';
import { fitPredictor, scoreSeries } from '../../engine/traffic/predict.js';
import { HELD_OUT_SEEDS, TUNING_SEEDS, WEEKS } from '../../engine/traffic/predictSets.js';

const classes = [LinkClass.Arterial, LinkClass.Side] as const;

function series(seeds: readonly number[], cls: number): Float64Array[] {
  return seeds.flatMap((seed) => generateLinks(seed, WEEKS * 7, 12, 8).filter((l) => l.cls === cls).map((l) => l.travelTimeS));
}

const t0 = performance.now();
console.log(`link travel-time prediction; tuning seeds ${TUNING_SEEDS.join(', ')}, held-out seeds ${HELD_OUT_SEEDS.join(', ')}; ${WEEKS} weeks at 5 min, scored from day 28`);
for (const cls of classes) {
  const params = fitPredictor(series(TUNING_SEEDS, cls));
  console.log(`\n${LINK_CLASS_NAMES[cls]} links: fitted on tuning alpha ${params.alpha}, phi ${params.phi.map((p) => p.toFixed(3)).join(' / ')} (15 / 30 / 60 min)`);
  for (const [name, seeds] of [
    ['tuning', TUNING_SEEDS],
    ['held-out', HELD_OUT_SEEDS],
  ] as const) {
    console.log(`  ${name} set:  horizon   forecasts   MAE method / historical / persistence (s)    MAPE method / historical / persistence (%)   beats both`);
    for (const r of scoreSeries(series(seeds, cls), params)) {
      const beats = r.maeMethod < r.maeHistorical && r.maeMethod < r.maePersistence;
      console.log(
        `            ${String(r.horizonMin).padStart(4)} min ${String(r.n).padStart(10)}   ${r.maeMethod.toFixed(2).padStart(7)} / ${r.maeHistorical.toFixed(2).padStart(7)} / ${r.maePersistence.toFixed(2).padStart(7)}            ${r.mapeMethod.toFixed(2).padStart(6)} / ${r.mapeHistorical.toFixed(2).padStart(6)} / ${r.mapePersistence.toFixed(2).padStart(6)}              ${beats ? 'yes' : 'NO'}`,
      );
    }
  }
}
console.log(`\n${((performance.now() - t0) / 1000).toFixed(1)} s`);
