/**
 * bench/sim/signals: the simulator's per-step signal cost alone, which bench:sim's
 * vehicle UPS cannot show (signals are well under 1 % of a simulation step there).
 * SignalHeads.update (the engine's cycle runner) on every intersection of an 8 × 8
 * grid, 0.5 s steps; best of 80 trials by CPU time, so other processes on the machine
 * disturb it less than wall time. Run: `npx tsc -p tsconfig.json && node dist/bench/sim/signals.js`.
 */
import { gridNetwork, gridVolumes } from '../../test/fixtures/gridNetwork.js';
import { planNetwork } from '../../engine/plan.js';
import { SignalHeads } from '../../simulator/signals.js';

const c = gridNetwork({ rows: 8, cols: 8, colSpacingM: 400, rowSpacingM: 300 });
const plan = planNetwork(c, gridVolumes(c, 800, 400), 900);
const heads = new SignalHeads(c, plan.buffer, 0);
const STEPS = 15000;
const TRIALS = 80;
let sink = 0;
let t = 0;
for (; t < 20000; t++) {
  heads.update(t * 0.5);
  sink += heads.greenMask[t & 63]!;
}
let best = 0;
for (let trial = 0; trial < TRIALS; trial++) {
  const u0 = process.cpuUsage();
  for (let k = 0; k < STEPS; k++, t++) {
    heads.update(t * 0.5);
    sink += heads.greenMask[t & 63]!;
  }
  const u = process.cpuUsage(u0);
  best = Math.max(best, (STEPS * c.intersectionCount) / ((u.user + u.system) / 1e6));
}
console.log(`bench/sim/signals — SignalHeads.update, ${c.intersectionCount} intersections, 0.5 s steps`);
console.log(`  ${(best / 1e6).toFixed(1)} M intersection updates/s (best of ${TRIALS} trials of ${STEPS} steps, CPU time; checksum ${sink})`);
