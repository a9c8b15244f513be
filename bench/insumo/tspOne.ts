/**
 * One scenario and seed of bench/insumo's transit-priority part, as a child
 * process: an arterial of the family at medium demand for an hour, with a
 * bus end to end eastbound every 180 s, 180 s late. greenwave's gRPC service
 * (started here, on the imported network and the loop counts of a run under
 * the net's program, its clock the simulated time) plans the signals; SUMO
 * runs the world with greenwave's cycle runner driving its lights (TraCI),
 * once without priority and once with the buses checking in over gRPC as a
 * dispatch system would. Prints one JSON line: buses' and other vehicles'
 * mean time loss in SUMO, the calls made, and the lamp monitor's counts.
 *
 *   node dist/bench/insumo/tspOne.js <scenario-id> <seed>
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importSumoNet } from '../../simulator/sumo/importNet.js';
import { e1Additional, readE1Output } from '../../simulator/sumo/e1.js';
import { readSumoGraph } from '../../simulator/sumo/routes.js';
import { runInSumo } from '../../simulator/sumo/bridge/inSumo.js';
import { BusDispatch } from '../../simulator/sumo/bridge/busDispatch.js';
import { formatCountsCsv } from '../../engine/counts/csv.js';
import { startServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { children, attr, numAttr, parseSumoXml } from '../../simulator/sumo/xml.js';
import { arterialScenario } from '../scenarios/family.js';
import { arterialFlows, buildNetwork, sh } from '../scenarios/build.js';
import { childRun } from '../scenarios/pool.js';

export const BUS_HEADWAY_S = 180;
export const LATENESS_S = 180;
const DEMAND_S = 3600;
const END_S = DEMAND_S + 1200;

export interface TspCase {
  readonly id: string;
  readonly half: string;
  readonly seed: number;
  /** Mean time loss of the buses and of everyone else, s, without and with priority. */
  readonly busLossS: { off: number; on: number };
  readonly generalLossS: { off: number; on: number };
  readonly buses: number;
  readonly requests: number;
  readonly updates: number;
  readonly granted: number;
  readonly refusedCalls: number;
  readonly conflicts: number;
  readonly shortClearances: number;
  readonly firstViolation: string;
  readonly error?: string;
}

function split(tripinfoPath: string): { bus: number; general: number; buses: number } {
  const doc = parseSumoXml(readFileSync(tripinfoPath, 'utf8'), 'tripinfo', ['tripinfo']);
  let nb = 0;
  let lb = 0;
  let ng = 0;
  let lg = 0;
  for (const t of children(doc['tripinfos'], 'tripinfo')) {
    const loss = numAttr(t, 'timeLoss') ?? 0;
    if ((attr(t, 'id') ?? '').startsWith('bus.')) {
      nb++;
      lb += loss;
    } else {
      ng++;
      lg += loss;
    }
  }
  return { bus: nb > 0 ? lb / nb : Number.NaN, general: ng > 0 ? lg / ng : Number.NaN, buses: nb };
}

async function main(): Promise<void> {
  const [id, seedArg] = process.argv.slice(2);
  const { spec, arterial: a } = arterialScenario(id);
  const seed = Number(seedArg ?? 1);
  const dir = mkdtempSync(join(tmpdir(), `gw-tsp-${id}-${seed}-`));
  const result: TspCase = { id: spec.id, half: spec.half, seed, busLossS: { off: Number.NaN, on: Number.NaN }, generalLossS: { off: Number.NaN, on: Number.NaN }, buses: 0, requests: 0, updates: 0, granted: 0, refusedCalls: 0, conflicts: 0, shortClearances: 0, firstViolation: '' };
  await childRun(dir, result, async () => {
    buildNetwork(spec, dir);
    const flows = arterialFlows(a, 1, 0, DEMAND_S);
    flows.unshift('  <vType id="bus" vClass="bus" length="12" accel="1.0" decel="3.0" maxSpeed="16"/>');
    flows.push(`  <flow id="bus" type="bus" begin="300" end="${DEMAND_S - 300}" period="${BUS_HEADWAY_S}" from="W_A0" to="A${a.signals - 1}_E" departLane="best" departSpeed="max"/>`);
    writeFileSync(join(dir, 'flows.xml'), `<routes>\n${flows.join('\n')}\n</routes>\n`);
    sh(dir, 'duarouter', ['-n', 'net.net.xml', '--route-files', 'flows.xml', '-o', 'routes.rou.xml', '--seed', String(spec.seed), '--no-step-log', '--ignore-errors']);
    // The loops the service plans from: a run under the net's own program.
    const netXml = readFileSync(join(dir, 'net.net.xml'), 'utf8');
    const imported = importSumoNet(netXml, { timingStepS: 1 });
    writeFileSync(join(dir, 'e1.add.xml'), e1Additional(imported.mapping, { periodS: 900, file: 'e1.xml' }));
    sh(dir, 'sumo', ['-n', 'net.net.xml', '-r', 'routes.rou.xml', '-a', 'e1.add.xml', '--end', String(DEMAND_S), '--seed', String(spec.seed), '--no-step-log', '--time-to-teleport', '300']);
    writeFileSync(join(dir, 'network.json'), JSON.stringify(imported.network));
    const detectorIds = imported.network.intersections.flatMap((ix) => ix.detectors.map((d) => d.id));
    writeFileSync(join(dir, 'counts.csv'), formatCountsCsv(readE1Output(readFileSync(join(dir, 'e1.xml'), 'utf8'), detectorIds)));
    let simS = 0;
    const srv = await startServer({ networkPath: join(dir, 'network.json'), countsPath: join(dir, 'counts.csv'), at: '00:30', insecure: true, port: 0, host: '127.0.0.1', tokens: new TokenStore([{ token: 'dispatch-token', client: 'bus-dispatch', roles: ['dispatch', 'viewer'] }]), clock: () => simS });
    try {
      const c = srv.state.c;
      const plan = srv.state.plan.buffer;
      const common = { netPath: join(dir, 'net.net.xml'), routesPath: join(dir, 'routes.rou.xml'), dir, seed, endS: END_S };
      const off = await runInSumo(c, imported.mapping, plan, common);
      const offSplit = split(off.tripinfoPath);
      const dispatch = new BusDispatch(imported.mapping, readSumoGraph(netXml), { address: `127.0.0.1:${srv.port}`, token: 'dispatch-token', latenessS: LATENESS_S });
      const on = await runInSumo(c, imported.mapping, plan, { ...common, priority: { schedule: (i, tS) => srv.state.tsp.cycleAt(i, tS), dispatch, busPrefix: 'bus.', clock: (tS) => (simS = tS) } });
      dispatch.close();
      const onSplit = split(on.tripinfoPath);
      Object.assign(result, {
        busLossS: { off: offSplit.bus, on: onSplit.bus },
        generalLossS: { off: offSplit.general, on: onSplit.general },
        buses: onSplit.buses,
        requests: dispatch.requests,
        updates: dispatch.updates,
        granted: dispatch.granted,
        refusedCalls: dispatch.errors,
        conflicts: off.conflicts + on.conflicts,
        shortClearances: off.shortClearances + on.shortClearances,
        firstViolation: off.firstViolation || on.firstViolation || dispatch.firstError,
      });
    } finally {
      srv.server.forceShutdown();
    }
  });
}

await main();
