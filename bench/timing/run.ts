/**
 * bench/timing: how long the timing core takes to plan a city. Builds a
 * 10,000-intersection network by repeating the demo city's intersections,
 * feeds one interval of demo counts, and times planning + the safety
 * validator for every intersection (what runs each interval in production),
 * with Benchmark.js on one core. Run: `npm run bench:timing`.
 */
import { readFileSync } from 'node:fs';
import Benchmark from 'benchmark';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import type { Network } from '../../engine/network/schema.js';
import { createPlanBuffer, laneFlowsFromDetectors, PlanScratch, planIntersection } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { demandFor, prepareCounts } from '../../engine/demand.js';

const TARGET = Number(process.env.GREENWAVE_BENCH_INTERSECTIONS ?? 10_000);
const root = new URL('../../../examples/demo-city/', import.meta.url);
const demo = loadNetwork(readFileSync(new URL('network.json', root), 'utf8'), 'demo-city');
const demoCompiled = compileNetwork(demo);
const demand = demandFor(prepareCounts(demoCompiled, readFileSync(new URL('counts.csv', root), 'utf8')), '08:00');

// A city of copies: ids get a suffix so they stay unique; detector volumes repeat per copy.
const copies = Math.ceil(TARGET / demo.intersections.length);
const city: Network = { ...demo, links: [], corridors: [], intersections: [] };
for (let k = 0; k < copies && city.intersections.length < TARGET; k++) {
  for (const ix of demo.intersections) {
    if (city.intersections.length >= TARGET) break;
    city.intersections.push({ ...ix, id: `${ix.id}#${k}`, detectors: ix.detectors.map((d) => ({ ...d, id: `${d.id}#${k}` })) });
  }
}
const c = compileNetwork(city);
const volumes = new Float64Array(c.detectorIds.length);
for (let d = 0; d < volumes.length; d++) volumes[d] = demand.volumeVeh[d % demoCompiled.detectorIds.length]!;
const buffer = createPlanBuffer(c);
const scratch = new PlanScratch();

let sink = 0; // keeps the work observable so it cannot be optimized away
let unsafe = 0;
function planCity(): void {
  laneFlowsFromDetectors(c, volumes, demand.intervalS, buffer);
  for (let i = 0; i < c.intersectionCount; i++) {
    planIntersection(c, i, buffer, scratch);
    if (!validateIntersectionPlan(c, i, buffer)) unsafe++;
  }
  sink += buffer.cycleS[c.intersectionCount - 1]!;
}
function planOnly(): void {
  laneFlowsFromDetectors(c, volumes, demand.intervalS, buffer);
  for (let i = 0; i < c.intersectionCount; i++) planIntersection(c, i, buffer, scratch);
  sink += buffer.cycleS[0]!;
}

const results: Record<string, { meanMs: number; rme: number; samples: number }> = {};
new Benchmark.Suite()
  .add('counts → plan → validate', planCity)
  .add('plan only', planOnly)
  .on('cycle', (e: Benchmark.Event) => {
    const b = e.target as unknown as Benchmark;
    results[b.name!] = { meanMs: b.stats.mean * 1000, rme: b.stats.rme, samples: b.stats.sample.length };
  })
  .run({ async: false });

const n = c.intersectionCount;
console.log(`bench/timing — ${n} intersections (${c.phaseIds.length} phases, ${c.laneIds.length} lanes), one 15-minute interval of demo counts, 1 core, node ${process.version}`);
for (const [name, r] of Object.entries(results)) {
  console.log(`  ${name.padEnd(26)} ${r.meanMs.toFixed(2).padStart(8)} ms per city  ${((r.meanMs * 1000) / n).toFixed(3).padStart(7)} µs per intersection  ±${r.rme.toFixed(1)}%  (${r.samples} samples)`);
}
const planMs = results['counts → plan → validate']!.meanMs;
console.log(`  target: < 50 ms for 10,000 intersections → ${planMs < 50 * (n / 10_000) ? 'MET' : 'NOT MET'} (${planMs.toFixed(2)} ms)`);
if (unsafe > 0) {
  console.error(`  ${unsafe} plans failed the safety validator`);
  process.exitCode = 1;
}
if (sink === 0) console.log('');
