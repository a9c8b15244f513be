/**
 * Controller-link benchmark: 1,000 virtual controllers (demo-city
 * intersections repeated) behind 5 Modbus TCP servers on loopback; the
 * engine's client pushes one plan to each (staging FC16, CRC, commit,
 * read-back) and polls every controller's detectors once. Reports time,
 * throughput and errors. Run after a build: node dist/bench/controllers/run.js
 */
import { readFileSync } from 'node:fs';
import { parseNetworkText } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { planNetwork } from '../../engine/plan.js';
import { VirtualController } from '../../controllers-adapter/virtual/controller.js';
import { ControllerServer } from '../../controllers-adapter/modbus/server.js';
import { ControllerClient, type ControllerEndpoint } from '../../controllers-adapter/modbus/client.js';

const CONTROLLERS = Number(process.env.BENCH_CONTROLLERS ?? 1000);
const UNITS_PER_SERVER = 200;

async function main(): Promise<void> {
  const parsed = parseNetworkText(readFileSync('examples/demo-city/network.json', 'utf8'));
  if (!parsed.ok) throw new Error('demo network invalid');
  const c = compileNetwork(parsed.network);
  const local = planNetwork(c, new Float64Array(c.detectorIds.length).fill(60), 900).buffer;
  const next = planNetwork(c, new Float64Array(c.detectorIds.length).fill(90), 900).buffer;
  const servers: ControllerServer[] = [];
  const endpoints: ControllerEndpoint[] = [];
  for (let s = 0; s * UNITS_PER_SERVER < CONTROLLERS; s++) {
    const bindings = [];
    for (let u = 0; u < UNITS_PER_SERVER && s * UNITS_PER_SERVER + u < CONTROLLERS; u++) {
      const i = (s * UNITS_PER_SERVER + u) % c.intersectionCount;
      bindings.push({ unitId: u + 1, controller: new VirtualController(c, i, local, { commLossTimeoutS: 0, detectorVehPerH: 300 }) });
    }
    const server = await ControllerServer.start(bindings, { clock: () => 10 });
    servers.push(server);
    bindings.forEach((b) => endpoints.push({ unitId: b.unitId, intersection: b.controller.intersection, host: '127.0.0.1', port: server.port }));
  }
  // One client per server: unit ids repeat across servers.
  const clients = servers.map((srv) => new ControllerClient(c, endpoints.filter((e) => e.port === srv.port), { timeoutMs: 5000, maxInFlightPerConnection: 32 }));
  const byPort = new Map(servers.map((srv, k) => [srv.port, clients[k]!]));

  let errors = 0;
  const t0 = performance.now();
  await Promise.all(endpoints.map((e) => byPort.get(e.port)!.pushPlan(e.unitId, next).catch(() => errors++)));
  const t1 = performance.now();
  let vehicles = 0;
  await Promise.all(endpoints.map((e) => byPort.get(e.port)!.pollDetectors(e.unitId).then((p) => (vehicles += p.volumes.reduce((a, b) => a + b, 0))).catch(() => errors++)));
  const t2 = performance.now();
  const push = t1 - t0;
  const poll = t2 - t1;
  console.log(`controllers ${endpoints.length} on ${servers.length} servers (loopback)`);
  console.log(`pushPlan:      ${push.toFixed(0)} ms  ${((endpoints.length / push) * 1000).toFixed(0)} plans/s  (6 requests each: status, FC16, CRC, commit, commit read-back, status)`);
  console.log(`pollDetectors: ${poll.toFixed(0)} ms  ${((endpoints.length / poll) * 1000).toFixed(0)} polls/s  (sink ${vehicles})`);
  console.log(`errors: ${errors}`);
  await Promise.all(clients.map((cl) => cl.close()));
  await Promise.all(servers.map((s) => s.close()));
  if (errors > 0) process.exitCode = 1;
}

void main();
