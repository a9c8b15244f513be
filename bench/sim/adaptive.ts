/**
 * bench/sim/adaptive: closed-loop adaptive control against fixed plans in our
 * simulator, on the demo city with a peak that rises and falls (0.4× → 1.1× →
 * 0.4× of the 08:00 counts over 2 h). Fixed plans are planned for 0.4, 0.75,
 * 0.9 and 1.1× demand; the adaptive loop re-plans every 600 s with look-ahead
 * plan selection and offset alignment. Several seeds, one table.
 * Run: `npm run bench:adaptive` (about 3 minutes).
 */
import { readFileSync } from 'node:fs';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { demandFor, prepareCounts } from '../../engine/demand.js';
import { planNetwork } from '../../engine/plan.js';
import { runClosedLoop, runFixed } from '../../simulator/closedLoop.js';
import { movementFlowsFromLanes, peakProfile } from '../../simulator/demand.js';

const SEEDS = (process.env.GREENWAVE_BENCH_SEEDS ?? '1,2,3,4,5').split(',').map(Number);
const DURATION_S = 7200;
const FIXED = [0.4, 0.75, 0.9, 1.1];
const root = new URL('../../../examples/demo-city/', import.meta.url);
const c = compileNetwork(loadNetwork(readFileSync(new URL('network.json', root), 'utf8')));
const d = demandFor(prepareCounts(c, readFileSync(new URL('counts.csv', root), 'utf8')), '08:00');
const base = planNetwork(c, d.volumeVeh, d.intervalS);
const demand = { movementFlowVehPerH: movementFlowsFromLanes(c, base.buffer.laneFlowVehPerH), scale: peakProfile(DURATION_S, 0.4, 1.1) };
const planFor = (k: number) => planNetwork(c, d.volumeVeh.map((v) => v * k), d.intervalS).buffer;

console.log(`bench/sim/adaptive — demo city, ${DURATION_S / 3600} h, demand 0.4× → 1.1× → 0.4× of 08:00; mean trip delay (s) in our simulator`);
console.log(`  seed ${FIXED.map((k) => `fixed ${k}×`.padStart(11)).join('')}   best fixed   adaptive   adaptive vs best`);
let sumBest = 0;
let sumAdaptive = 0;
let wins = 0;
for (const seed of SEEDS) {
  const fixed = FIXED.map((k) => runFixed(c, planFor(k), demand, DURATION_S, { seed }).meanDelayPerVehS);
  const best = Math.min(...fixed);
  const adaptive = runClosedLoop(c, planFor(0.4), demand, DURATION_S, {
    seed,
    replanEveryS: 600,
    maxCycleStepS: 40,
    lookahead: { horizonS: 900, scalings: [0.8, 1.0, 1.2], library: [0.5, 0.7, 0.9, 1.1].map(planFor), replications: 2 },
  }).metrics.meanDelayPerVehS;
  sumBest += best;
  sumAdaptive += adaptive;
  if (adaptive < best) wins++;
  console.log(`  ${String(seed).padStart(4)} ${fixed.map((x) => x.toFixed(1).padStart(11)).join('')}   ${best.toFixed(1).padStart(10)}   ${adaptive.toFixed(1).padStart(8)}   ${(((adaptive - best) / best) * 100).toFixed(1).padStart(6)} %`);
}
console.log(`  mean best fixed ${(sumBest / SEEDS.length).toFixed(1)} s, mean adaptive ${(sumAdaptive / SEEDS.length).toFixed(1)} s (${(((sumAdaptive - sumBest) / sumBest) * 100).toFixed(1)} %); adaptive better on ${wins} of ${SEEDS.length} seeds`);
