/**
 * A worker process of the cluster benchmark (bench/cluster/run.ts, which forks it with IPC):
 * the virtual controllers of a share of the city's regions, on real Modbus TCP sockets, and the
 * publisher of their detector counts on the regions' subjects.
 *
 * Simplified, on purpose (docs/benchmarks.md says so): one Modbus TCP port per region, its
 * controllers told apart by unit id (1..n, n ≤ 247), as in service/cluster/drive.test.ts, not
 * one listening socket per controller; the controllers run on a clock `timeScale` times real
 * time (so that a new plan starts within about a second, not half a cycle of real time), and
 * run up to the clock only when asked (a Modbus request, a status question), not on a ticker;
 * each is built on a network of its own intersection alone (memory: see below).
 *
 * Messages from the parent: {cmd: 'status', wire: {region: wire plan id}} → how many
 * controllers run (and have pending) their region's plan; {cmd: 'publish', rounds, servers} →
 * each controller's detector counts published `rounds` times on
 * `gw.region.<region>.detector.<signal>` (JetStream, acknowledged), answered with the time it
 * took; {cmd: 'exit'}.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'nats';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import { planNetwork } from '../../engine/plan.js';
import { VirtualController } from '../../controllers-adapter/virtual/controller.js';
import { ControllerMode } from '../../controllers-adapter/registerMap.js';
import { ControllerServer } from '../../controllers-adapter/modbus/server.js';
import { regionSubject } from '../../service/cluster/regionBus.js';

interface Start {
  readonly network: string;
  readonly maxSignals: number;
  /** This worker's regions: those whose index k has k % of === share. */
  readonly share: number;
  readonly of: number;
  readonly timeScale: number;
  readonly t0S: number;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

const start = JSON.parse(process.argv[2]!) as Start;
const clock = (): number => start.t0S + (Date.now() / 1000 - start.t0S) * start.timeScale;
const net = loadNetwork(readFileSync(start.network, 'utf8'), start.network);
const regions = partitionRegions(net, start.maxSignals).regions.filter((_, k) => k % start.of === start.share);
const servers: ControllerServer[] = [];
/** Per region: its controllers and, per controller, its signal id and detector ids. */
const mine: { region: string; ctls: { signal: string; detectors: string[]; ctl: VirtualController }[] }[] = [];
const byId = new Map(net.intersections.map((x) => [x.id, x]));
for (const r of regions) {
  // Each controller on a network of its own intersection alone: a virtual controller keeps
  // buffers sized by its network (a region's would be ~100 KB per controller, 2 GB for 20,000);
  // the plan block a node sends for an intersection is the same whatever network it was planned in.
  const ctls = r.signalIds.map((id) => {
    const x = byId.get(id)!;
    const one = compileNetwork({ ...net, intersections: [x], links: [], corridors: [] });
    const local = planNetwork(one, new Float64Array(one.detectorIds.length).fill(30), 900, { coordinate: false }).buffer;
    return { signal: id, detectors: x.detectors.map((d) => d.id), ctl: new VirtualController(one, 0, local, { startS: clock(), commLossTimeoutS: 0 }) };
  });
  const srv = await ControllerServer.start(
    ctls.map((x, k) => ({ unitId: k + 1, controller: x.ctl })),
    { clock },
  );
  servers.push(srv);
  mine.push({ region: r.id, ctls });
  send({ kind: 'listed', controllers: ctls.map((x, k) => ({ intersection: x.signal, host: '127.0.0.1', port: srv.port, unitId: k + 1 })) });
}
send({ kind: 'ready', regions: mine.length, controllers: mine.reduce((a, m) => a + m.ctls.length, 0) });

let nc: Awaited<ReturnType<typeof connect>> | undefined;

process.on('message', (m: { cmd: string; wire?: Record<string, number>; rounds?: number; servers?: string[]; window?: number }) => {
  void (async () => {
    if (m.cmd === 'status') {
      let on = 0;
      let pending = 0;
      let flash = 0;
      /** Why the first few controllers in fault flash flashed (their monitors' messages). */
      const why = new Set<string>();
      const now = clock();
      for (const { region, ctls } of mine) {
        const w = m.wire?.[region];
        for (const { ctl } of ctls) {
          ctl.tick(now);
          const s = ctl.state();
          if (s.activePlanId === w) on++;
          else if (s.pendingPlanId === w) pending++;
          else if (s.mode === ControllerMode.Flash) {
            flash++;
            if (why.size < 3) why.add(`${ctl.c.intersectionIds[ctl.intersection]}: ${ctl.faultMessage}`);
          }
        }
      }
      send({ kind: 'status', on, pending, flash, why: [...why] });
    } else if (m.cmd === 'publish') {
      nc ??= await connect({ servers: m.servers ?? [], name: `bench-controllers-${start.share}` });
      const js = nc.jetstream();
      const window = m.window ?? 512;
      const t0 = Date.now();
      let msgs = 0;
      let counts = 0;
      const inFlight = new Set<Promise<unknown>>();
      for (let round = 0; round < (m.rounds ?? 1); round++) {
        for (const { region, ctls } of mine) {
          for (const { signal, detectors } of ctls) {
            const v: Record<string, number> = {};
            // Vehicles per 15 minutes, varied by signal and round.
            detectors.forEach((d, k) => {
              v[d] = 20 + ((signal.length * 7 + k * 13 + round * 29) % 60);
            });
            const p = js.publish(regionSubject(region, 'detector', signal), JSON.stringify({ v }));
            inFlight.add(p);
            void p.finally(() => inFlight.delete(p));
            msgs++;
            counts += detectors.length;
            if (inFlight.size >= window) await Promise.race(inFlight);
          }
        }
      }
      await Promise.all(inFlight);
      send({ kind: 'published', msgs, counts, ms: Date.now() - t0 });
    } else if (m.cmd === 'exit') {
      await nc?.close().catch(() => {});
      await Promise.all(servers.map((s) => s.close()));
      process.exit(0);
    }
  })().catch((e: unknown) => {
    send({ kind: 'error', message: e instanceof Error ? e.stack : String(e) });
  });
});
