/**
 * `greenwave demo` (what `npm start` runs): the whole system on the demo city
 * in one process, on loopback: virtual controllers for every intersection on
 * Modbus TCP, the gRPC service driving them (state kept in SQLite, metrics on
 * HTTP), and the microsimulator running the 08:00 demand in real time and
 * feeding every vehicle it sees on a loop into that controller's detector
 * counts, as the loops in the road would. The operator console is served
 * (examples/demo-city/users.json) with the demo city's travel-time signs
 * (diversion.json). It prints where to look and runs until Ctrl-C, then stops
 * everything cleanly. Run by cli/main.ts (runAsync).
 *
 * Demo tokens and console users (examples/demo-city/tokens.json, users.json)
 * are for this loopback demo only.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { DEFAULT_SQLITE_PATH } from '../service/storage/location.js';

/** Options of `greenwave demo` (also listed by its --help). */
export const DEMO_OPTIONS = {
  port: { type: 'string', default: '50051' },
  'metrics-port': { type: 'string', default: '9464' },
  'modbus-port': { type: 'string', default: '1502' },
  'web-port': { type: 'string', default: '8080' },
  db: { type: 'string', default: DEFAULT_SQLITE_PATH },
  at: { type: 'string', default: '08:00' },
} as const;

export const DEMO_USAGE = `usage: greenwave demo [--port 50051] [--metrics-port 9464] [--modbus-port 1502] [--web-port 8080] [--db var/greenwave.db] [--at 08:00]
  The whole system on the demo city, on loopback (what npm start runs): virtual
  controllers on Modbus TCP, the gRPC service driving them with its state in
  SQLite and Prometheus metrics, the operator console with the demo city's
  travel-time signs, and the simulator feeding their detectors in real time.
  Prints where to look; Ctrl-C stops it. Port 0: any free port.
  --port           gRPC (plaintext, loopback; tokens in examples/demo-city/tokens.json)
  --metrics-port   Prometheus metrics at http://127.0.0.1:PORT/metrics
  --modbus-port    the virtual controllers (unit id = intersection index + 1)
  --web-port       the operator console at http://127.0.0.1:PORT/ (users in examples/demo-city/users.json)
  --db             the SQLite file the service keeps its state in
  --at             the demand interval the simulator runs and the plan starts on
`;

const HOST = '127.0.0.1';
/** Simulated seconds run before the demo starts feeding the controllers. */
const WARM_UP_S = 600;

function port(name: string, v: string): number {
  const p = Number(v);
  if (!(Number.isInteger(p) && p >= 0 && p <= 65535)) throw new GreenwaveError(ErrorCode.InvalidInput, `demo: --${name} ${v} must be an integer 0..65535\n\n${DEMO_USAGE}`);
  return p;
}

export async function cmdDemo(args: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: DEMO_OPTIONS });
  const grpcPort = port('port', values.port);
  const metricsPort = port('metrics-port', values['metrics-port']);
  const modbusPort = port('modbus-port', values['modbus-port']);
  const webPort = port('web-port', values['web-port']);
  const [{ loadCompiledNetwork }, { readText }, { demandFor, prepareCounts }, { planNetwork }, { startVirtualControllers }, { startServer, DEFAULT_NETWORK, DEFAULT_COUNTS }, { TokenStore }, { openStorage }, { Simulation }, { SimEventRecorder }, { movementFlowsFromLanes }, { EventCode }, { UserStore }] = await Promise.all([
    import('../engine/network/load.js'),
    import('../engine/files.js'),
    import('../engine/demand.js'),
    import('../engine/plan.js'),
    import('./controllers.js'),
    import('../service/server.js'),
    import('../service/auth.js'),
    import('../service/storage/open.js'),
    import('../simulator/simulation.js'),
    import('../simulator/events.js'),
    import('../simulator/demand.js'),
    import('../engine/events/codes.js'),
    import('../web/server/users.js'),
  ]);
  // Beside the demo network, wherever the package was installed or checked out.
  const tokensPath = DEFAULT_NETWORK.replace(/network\.json$/, 'tokens.json');
  const usersPath = DEFAULT_NETWORK.replace(/network\.json$/, 'users.json');
  const diversionPath = DEFAULT_NETWORK.replace(/network\.json$/, 'diversion.json');
  const c = loadCompiledNetwork(DEFAULT_NETWORK);
  const demand = demandFor(prepareCounts(c, readText(DEFAULT_COUNTS, 'counts file'), DEFAULT_COUNTS), values.at);
  const simPlan = planNetwork(c, demand.volumeVeh, demand.intervalS);

  // The field: one virtual controller per intersection, counting only what the simulator feeds them.
  const fleet = await startVirtualControllers({ count: c.intersectionCount, port: modbusPort, host: HOST, networkPath: DEFAULT_NETWORK, detectorVehPerH: 0 });
  const storage = await openStorage({ db: values.db });
  let srv: Awaited<ReturnType<typeof startServer>>;
  try {
    srv = await startServer({ insecure: true, host: HOST, port: grpcPort, tokens: TokenStore.fromFile(tokensPath), storage, at: values.at, controllerAddress: { host: HOST, port: fleet.server.port }, metricsPort, webPort, users: UserStore.fromFile(usersPath), diversion: diversionPath });
  } catch (e) {
    await fleet.stop();
    await storage.close();
    throw e;
  }

  // The road: the simulator in real time; each vehicle a loop sees is one count at its controller.
  const sim = new Simulation(c, simPlan.buffer, { movementFlowVehPerH: movementFlowsFromLanes(c, simPlan.buffer.laneFlowVehPerH) }, { seed: 1 });
  // Ten simulated minutes first, so that the road is as busy as at 08:00 when the demo starts.
  sim.runUntil(WARM_UP_S);
  const rec = new SimEventRecorder(sim);
  const byId = new Map(c.intersectionIds.map((id, i) => [id, i]));
  const t0 = Date.now();
  let fed = 0;
  const feed = setInterval(() => {
    sim.runUntil(WARM_UP_S + (Date.now() - t0) / 1000);
    const ev = rec.events;
    for (let k = 0; k < ev.length; k++) {
      if (ev.codeAt(k) !== EventCode.DetectorOn) continue;
      const i = byId.get(ev.locations[ev.locationAt(k)]!);
      const ctl = i === undefined ? undefined : fleet.controllers[i];
      const d = ev.paramAt(k) - 1;
      if (ctl && d >= 0 && d < ctl.detectorCount) {
        ctl.addDetectorCounts(d, 1);
        fed++;
      }
    }
    ev.clear();
  }, 1000);

  const metricsUrl = srv.metricsPort === undefined ? '(off)' : `http://${HOST}:${srv.metricsPort}/metrics`;
  out(
    [
      `greenwave demo — ${c.network.name}, ${c.intersectionCount} signals, demand of ${demand.forInterval}`,
      `  gRPC        ${HOST}:${srv.port} (plaintext; tokens in ${tokensPath}; reflection on: grpcurl -plaintext ${HOST}:${srv.port} list)`,
      `  plans       greenwave ops plans --server ${HOST}:${srv.port} --insecure --token demo-viewer-token (propose/approve/deploy: demo-operator-token, demo-supervisor-token)`,
      `  traffic     greenwave ops traffic --server ${HOST}:${srv.port} --insecure --token demo-viewer-token (live from the controllers' counts once they span two cycles, about 5 minutes)`,
      `  console     http://${HOST}:${srv.webPort}/ (users demo-viewer, demo-operator, demo-supervisor; password: the user name + "-pass", loopback demo only)`,
      `  metrics     ${metricsUrl}`,
      `  controllers modbus tcp ${HOST}:${fleet.server.port}, units 1–${c.intersectionCount} (mbpoll -m tcp -a 1 -t 3 -r 1 -c 8 -p ${fleet.server.port} ${HOST})`,
      `  state       ${values.db} (greenwave audit verify --db ${values.db})`,
      '  the simulator feeds the controllers\' detectors in real time; the plan table: greenwave plan --network examples/demo-city/network.json --counts examples/demo-city/counts.csv --at 08:00',
      'ready; Ctrl-C stops it',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(feed);
  await srv.close();
  await fleet.stop();
  await storage.close();
  out(`greenwave demo: stopped (${fed} vehicles fed to the controllers' detectors)\n`);
  return 0;
}
