/**
 * bench/sim: greenwave's simulator and plans against SUMO, in one run, on a
 * SUMO-generated arterial grid with random trips (fixed seeds):
 *  - simulator speed: vehicle updates per second, ours vs SUMO's own UPS;
 *  - fidelity: our mean delay vs SUMO's mean time loss, same plan;
 *  - plan quality in SUMO (mean time loss): SUMO's static default, SUMO's
 *    actuated control, SUMO's Webster (tlsCycleAdaptation.py) + green wave
 *    (tlsCoordinator.py), greenwave's plan from the loop counts;
 *  - greenwave closed loop in our simulator;
 *  - speed on a 10 × 10 grid with the same random trips in both simulators
 *    (routes read by ours, SUMO's own programs in both), 1 s steps.
 * Run: `npm run bench:sim` (needs Debian's sumo and sumo-tools).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { validateNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { importSumoNet } from '../../simulator/sumo/importNet.js';
import { e1Additional } from '../../simulator/sumo/e1.js';
import { exportTlLogic } from '../../simulator/sumo/exportTls.js';
import { readTripinfo } from '../../simulator/sumo/tripinfo.js';
import { planFromLoops } from '../../simulator/sumo/plan.js';
import { Simulation } from '../../simulator/simulation.js';
import { runClosedLoop } from '../../simulator/closedLoop.js';
import { movementSlot, parseMovementId } from '../../engine/network/geometry.js';
import { formatTrials } from '../../cli/format.js';
import { runSumoScenario } from '../../simulator/sumo/scenario.js';
import { GREENWAVE_DRIVER } from '../../simulator/vehicles.js';

const SUMO_HOME = process.env.SUMO_HOME ?? '/usr/share/sumo';
const END_S = Number(process.env.GREENWAVE_BENCH_SIM_S ?? 3600);
const dir = mkdtempSync(join(tmpdir(), 'gw-bench-sim-'));
const env = { ...process.env, SUMO_HOME };

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return `${r.stdout}\n${r.stderr}`;
}

function sumo(net: string, additional: string[], tag: string): { timeLossS: number; vehicles: number; ups: number; wallS: number } {
  const t0 = performance.now();
  const out = sh('sumo', ['-n', net, '-r', 'routes.rou.xml', ...(additional.length ? ['-a', additional.join(',')] : []), '--end', String(END_S), '--seed', '42', '--no-step-log', '--duration-log.statistics', '--tripinfo-output', `tripinfo-${tag}.xml`]);
  const wallS = (performance.now() - t0) / 1000;
  const ups = Number(/UPS: ([\d.]+)/.exec(out)?.[1] ?? NaN);
  const t = readTripinfo(readFileSync(join(dir, `tripinfo-${tag}.xml`), 'utf8'));
  return { timeLossS: t.meanTimeLossS, vehicles: t.vehicles, ups, wallS };
}

// The sample corridor: a 7-signal east-west arterial (the middle row of a 7 × 3 grid, 400 m
// blocks) with cross streets and two parallel streets; every junction signalised by netconvert.
const grid = ['--grid', '--grid.x-number=7', '--grid.y-number=3', '--grid.x-length=400', '--grid.y-length=200', '--grid.attach-length=150', '--default.lanenumber=2', '--default.speed=13.89', '--tls.guess=true', '--no-turnarounds=true'];
sh('netgenerate', [...grid, '-o', 'net.net.xml']);
sh('netgenerate', [...grid, '--tls.default-type=actuated', '-o', 'actuated.net.xml']);
// Demand: heavy two-way arterial traffic, lighter cross and parallel streets, a few turns.
const flowXml: string[] = [];
const flow = (id: string, from: string, to: string, vehPerH: number) => flowXml.push(`  <flow id="${id}" from="${from}" to="${to}" begin="0" end="${END_S}" vehsPerHour="${vehPerH}" departLane="best" departSpeed="max"/>`);
flow('art-eb', 'left1A1', 'G1right1', Number(process.env.GREENWAVE_BENCH_EB ?? 800));
flow('art-wb', 'right1G1', 'A1left1', Number(process.env.GREENWAVE_BENCH_WB ?? 600));
flow('par-n-eb', 'left2A2', 'G2right2', 120);
flow('par-n-wb', 'right2G2', 'A2left2', 120);
flow('par-s-eb', 'left0A0', 'G0right0', 120);
flow('par-s-wb', 'right0G0', 'A0left0', 120);
'ABCDEFG'.split('').forEach((x, k) => {
  flow(`cross-nb-${k}`, `bottom${k}${x}0`, `${x}2top${k}`, 110);
  flow(`cross-sb-${k}`, `top${k}${x}2`, `${x}0bottom${k}`, 110);
});
flow('turn-eb-n', 'left1A1', 'D2top3', 80);
flow('turn-wb-s', 'right1G1', 'C0bottom2', 80);
writeFileSync(join(dir, 'flows.xml'), `<routes>\n${flowXml.join('\n')}\n</routes>\n`);
sh('duarouter', ['-n', 'net.net.xml', '--route-files', 'flows.xml', '-o', 'routes.rou.xml', '--seed', '42', '--no-step-log']);

// The importer's own minimum cycle (20 s: the net has no crossings), as \`greenwave sumo plan\` uses it.
const MIN_CYCLE_S = process.env.GREENWAVE_BENCH_MIN_CYCLE ? Number(process.env.GREENWAVE_BENCH_MIN_CYCLE) : undefined;
const imported = importSumoNet(readFileSync(join(dir, 'net.net.xml'), 'utf8'), { name: 'bench grid', ...(MIN_CYCLE_S !== undefined ? { minCycleS: MIN_CYCLE_S } : {}) });
writeFileSync(join(dir, 'loops.add.xml'), e1Additional(imported.mapping, { periodS: 900, file: 'e1.xml' }));
const valid = validateNetwork(imported.network);
if (!valid.ok) throw new Error(`imported network invalid: ${JSON.stringify(valid.issues.slice(0, 5))}`);
const c = compileNetwork(valid.network);

const rows: Array<[string, { timeLossS: number; vehicles: number }]> = [];
const sDefault = sumo('net.net.xml', ['loops.add.xml'], 'default');
rows.push(["SUMO default static program", sDefault]);
rows.push(["SUMO actuated control", sumo('actuated.net.xml', [], 'actuated')]);
sh('python3', [join(SUMO_HOME, 'tools/tlsCycleAdaptation.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-o', 'webster.add.xml']);
sh('python3', [join(SUMO_HOME, 'tools/tlsCoordinator.py'), '-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', 'webster.add.xml', '-o', 'coordinated.add.xml']);
rows.push(["SUMO Webster + coordinator tools", sumo('net.net.xml', ['webster.add.xml', 'coordinated.add.xml'], 'webster')]);

// greenwave: plan from the loop counts of the default run (the peak hour of the counts, the filling first interval left out).
const loops = planFromLoops(c, readFileSync(join(dir, 'e1.xml'), 'utf8'), 'e1.xml');
writeFileSync(join(dir, 'greenwave.add.xml'), exportTlLogic(c, loops.plan.buffer, imported.mapping));
const sGreen = sumo('net.net.xml', ['greenwave.add.xml'], 'greenwave');
rows.push(["greenwave plan from loop counts", sGreen]);

// Our simulator on the imported network with the same plan and the same demand: the movement
// flows SUMO's routes actually make at each signal (loops cannot tell a shared lane's turns apart,
// so demand from loop counts alone would send vehicles the wrong way round the grid).
const movementOf = new Map<string, number>();
for (const m of imported.mapping.intersections) {
  const i = c.intersectionIds.indexOf(m.intersectionId);
  for (const link of m.links) {
    const ref = link?.movement ? parseMovementId(link.movement) : undefined;
    if (link && ref) movementOf.set(`${link.from}>${link.to}`, movementSlot(i, ref.index));
  }
}
const flows = new Float64Array(c.intersectionCount * 16);
for (const m of readFileSync(join(dir, 'routes.rou.xml'), 'utf8').matchAll(/<route edges="([^"]+)"/g)) {
  const edges = m[1]!.split(' ');
  for (let k = 0; k + 1 < edges.length; k++) {
    const slot = movementOf.get(`${edges[k]}>${edges[k + 1]}`);
    if (slot !== undefined) flows[slot] = flows[slot]! + 3600 / END_S;
  }
}
const sim = new Simulation(c, loops.plan.buffer, { movementFlowVehPerH: flows }, { seed: 42, stepS: 1 });
const t0 = performance.now();
sim.runUntil(END_S);
const oursWallS = (performance.now() - t0) / 1000;
const ours = sim.metrics();
const oursUps = ours.vehicleUpdates / oursWallS;
// Per signal passage: SUMO's trips cross a few signals on their routes, while our demand model
// (turning ratios from counts) lets vehicles wander, so trip totals are not comparable; delay
// per signal passed is. SUMO: Σ time loss / Σ signalised approaches on the finished routes.
const signalEdges = new Set(imported.mapping.intersections.flatMap((m) => m.approaches.map((a) => a.edgeId)));
const finished = new Set([...readFileSync(join(dir, 'tripinfo-greenwave.xml'), 'utf8').matchAll(/<tripinfo id="([^"]+)"/g)].map((m) => m[1]!));
let passages = 0;
const passagesByEdge = new Map<string, number>();
for (const m of readFileSync(join(dir, 'routes.rou.xml'), 'utf8').matchAll(/<vehicle id="([^"]+)"[^>]*>\s*<route edges="([^"]+)"/g)) {
  if (!finished.has(m[1]!)) continue;
  for (const e of m[2]!.split(' ')) {
    if (!signalEdges.has(e)) continue;
    passages++;
    passagesByEdge.set(e, (passagesByEdge.get(e) ?? 0) + 1);
  }
}
const sumoPerSignalS = (sGreen.timeLossS * sGreen.vehicles) / Math.max(passages, 1);
let ourVeh = 0;
let ourDelay = 0;
for (const x of ours.intersections) {
  ourVeh += x.vehicles;
  ourDelay += x.meanDelayS * x.vehicles;
}
const oursPerSignalS = ourDelay / Math.max(ourVeh, 1);
// Closed loop from the same plan: every 900 s the loops are re-read, and the engine's plan for
// them and its runners-up are tried on a fork of the running simulation (look-ahead plan selection).
const loop = runClosedLoop(c, loops.plan.buffer, { movementFlowVehPerH: flows }, END_S, { seed: 42, stepS: 1, replanEveryS: 900, lookahead: { horizonS: 900, scalings: [1], alternatives: 4, replications: 2 } });

console.log(`bench/sim — SUMO ${/Version ([\d.]+)/.exec(sh('sumo', ['--version']))?.[1]}, sample corridor: ${c.intersectionCount} signals imported from a 7×3 netgenerate grid (7-signal arterial), ${END_S} s of flows (seed 42)`);
console.log('\nsimulator speed (vehicle updates per second, single thread, 1 s steps, same plan):');
console.log(`  SUMO       ${sGreen.ups.toExponential(2)} UPS (${sGreen.wallS.toFixed(2)} s wall incl. start-up)`);
console.log(`  greenwave  ${oursUps.toExponential(2)} UPS (${oursWallS.toFixed(2)} s wall)   ratio ${(oursUps / sGreen.ups).toFixed(1)}× (target ≥ 5×)`);
console.log('\nfidelity (same greenwave plan):');
console.log(`  SUMO mean time loss ${sGreen.timeLossS.toFixed(1)} s/veh over ${sGreen.vehicles} trips; greenwave simulator mean delay ${ours.meanDelayPerVehS.toFixed(1)} s/veh over ${ours.vehiclesCompleted} trips: ${(((ours.meanDelayPerVehS - sGreen.timeLossS) / sGreen.timeLossS) * 100).toFixed(0)} % (target within ±20 %)`);
console.log(`  per signal passed: SUMO ${sumoPerSignalS.toFixed(1)} s (${passages} passages), greenwave simulator ${oursPerSignalS.toFixed(1)} s (${ourVeh} passages): ${(((oursPerSignalS - sumoPerSignalS) / sumoPerSignalS) * 100).toFixed(0)} %`);
console.log('\nplan quality in SUMO (mean time loss per vehicle, lower is better):');
for (const [name, r] of rows) console.log(`  ${name.padEnd(36)} ${r.timeLossS.toFixed(1).padStart(6)} s  (${r.vehicles} trips)`);
console.log(`  ${'greenwave closed loop (our simulator)'.padEnd(36)} ${loop.metrics.meanDelayPerVehS.toFixed(1).padStart(6)} s  (${loop.metrics.vehiclesCompleted} trips; fixed greenwave plan in our simulator: ${ours.meanDelayPerVehS.toFixed(1)} s)`);
if (loops.trials.length > 0) {
  console.log('\ngreenwave shortlist, checked in our simulator on the counted demand (the kept plan starred):');
  process.stdout.write(formatTrials(loops.trials, loops.chosen));
}
if (process.env.GW_DEBUG) {
  const sumoBy = new Map<string, number>();
  for (const m of imported.mapping.intersections) sumoBy.set(m.intersectionId, m.approaches.reduce((t, a) => t + (passagesByEdge.get(a.edgeId) ?? 0), 0));
  console.log(ours.intersections.map((x) => `${x.id} ours ${x.vehicles} sumo ${sumoBy.get(x.id)}`).join('\n'));
}
if (process.env.GW_DEBUG) console.log([...ours.movements].sort((a, b) => b.meanDelayS * b.vehicles - a.meanDelayS * a.vehicles).slice(0, 12).map((m) => `${m.intersectionId}:${m.movement} n=${m.vehicles} d=${m.meanDelayS.toFixed(0)} st=${m.stopsPerVeh.toFixed(2)}`).join("\n"), ours.intersections.map((x) => `${x.id} q${x.maxQueueVeh}`).join(" "));
// Speed on the grid of the fidelity issue: 10 × 10 signals, an hour of random trips, the same routes in both.
const GRID_DIR = join(dir, 'grid10');
sh('mkdir', ['-p', GRID_DIR]);
const gridSh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: GRID_DIR, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
};
gridSh('netgenerate', ['--grid', '--grid.number=10', '--grid.length=200', '--grid.attach-length=150', '--default.lanenumber=2', '--default.speed=13.89', '--tls.guess=true', '--no-turnarounds=true', '-o', 'grid.net.xml']);
gridSh('python3', [join(SUMO_HOME, 'tools/randomTrips.py'), '-n', 'grid.net.xml', '-e', String(END_S), '-p', '0.5', '--fringe-factor', '5', '--min-distance', '400', '--seed', '42', '-o', 'trips.xml', '-r', 'routes.rou.xml', '--validate']);
const gt0 = performance.now();
const gridOut = gridSh('sumo', ['-n', 'grid.net.xml', '-r', 'routes.rou.xml', '--seed', '42', '--no-step-log', '--duration-log.statistics', '--time-to-teleport', '300', '--tripinfo-output', 'ti.xml']);
const gridSumoWallS = (performance.now() - gt0) / 1000;
const gridSumoUps = Number(/UPS: ([\d.]+)/.exec(gridOut)?.[1] ?? NaN);
const gridSumo = readTripinfo(readFileSync(join(GRID_DIR, 'ti.xml'), 'utf8'));
const gridNet = readFileSync(join(GRID_DIR, 'grid.net.xml'), 'utf8');
const gridRoutes = readFileSync(join(GRID_DIR, 'routes.rou.xml'), 'utf8');
// greenwave's own drivers without lane changing, then the default for SUMO scenarios (`greenwave sim`):
// SUMO's default car emulated, lane changing along links (simulator/laneChange.ts) and its dawdling.
const gridOurs = runSumoScenario(gridNet, gridRoutes, { seed: 42, stepS: 1, laneChange: false, driver: GREENWAVE_DRIVER });
const gridOursLc = runSumoScenario(gridNet, gridRoutes, { seed: 42, stepS: 1 });
console.log(`\nsimulator speed on a 10 × 10 signal grid (200 m blocks, 2 lanes), ${gridOurs.tripsInFile} random trips over ${END_S} s, the same routes and SUMO's own programs in both, 1 s steps:`);
console.log(`  SUMO       ${gridSumoUps.toExponential(2)} UPS (${gridSumoWallS.toFixed(1)} s wall incl. start-up), ${gridSumo.vehicles} trips finished, mean time loss ${gridSumo.meanTimeLossS.toFixed(1)} s`);
for (const [name, r] of [['greenwave, own drivers, no lane changes', gridOurs], ['greenwave sim (SUMO drivers, lane changes)', gridOursLc]] as const) {
  console.log(`  ${name} ${r.vehicleUpdatesPerS.toExponential(2)} UPS (${r.wallS.toFixed(1)} s wall), ${r.metrics.vehiclesCompleted} of ${r.tripsSimulated} trips finished, mean time loss ${r.meanTimeLossS.toFixed(1)} s   ratio ${(r.vehicleUpdatesPerS / gridSumoUps).toFixed(1)}× (target ≥ 10× with lane changing on)`);
}

console.log(`\nfiles in ${dir}`);
