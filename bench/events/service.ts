/**
 * End-to-end event lag in the running service: from an event's timestamp on a field
 * controller to the commit of its row, through everything `greenwave serve --controllers
 * --db` does (startServer: plan push, re-sync, the EventCollector polling every controller's
 * event FIFO over Modbus TCP, EventBatcher, SQLite with WAL and synchronous=FULL).
 *
 * The controllers run in a child process of their own, as the field would: BENCH_CONTROLLERS
 * (default 200) virtual controllers on a generated grid (test/fixtures/gridNetwork.ts, 10
 * columns), on the real clock (10 Hz ticks), each serving its event log on one Modbus TCP
 * port, with vehicles fed to their detectors (BENCH_VEH_PER_S per controller, default 4: one
 * 82 and one 81 each, beside the phase events). The service runs in this process for
 * BENCH_SECONDS (default 60) with the poll period BENCH_EVENT_POLL_S (default the service's,
 * 1 s); the first 10 s (plan push, first polls) are not counted. The storage is wrapped so
 * that every committed batch is timed as it resolves: lag = that time − event timestamp
 * (timestamps are 0.1 s, rounded to the nearest).
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/events/service.js
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { planNetwork } from '../../engine/plan.js';
import { ControllerServer } from '../../controllers-adapter/modbus/server.js';
import { VirtualController } from '../../controllers-adapter/virtual/controller.js';
import { gridNetworkJson, gridVolumes } from '../../test/fixtures/gridNetwork.js';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import type { ControllerEvent, Storage } from '../../service/storage/storage.js';
import { startServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { DEFAULT_EVENT_POLL_MS } from '../../service/eventCollector.js';

const CONTROLLERS = Number(process.env.BENCH_CONTROLLERS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const VEH_PER_S = Number(process.env.BENCH_VEH_PER_S ?? 4);
const POLL_MS = Math.round(Number(process.env.BENCH_EVENT_POLL_S ?? DEFAULT_EVENT_POLL_MS / 1000) * 1000);
const WARMUP_S = 10;
const COLS = 10;

/** The grid for `n` controllers (n a multiple of 10). */
function gridJson(n: number): object {
  return gridNetworkJson({ rows: Math.ceil(n / COLS), cols: COLS, colSpacingM: 300, rowSpacingM: 250, minCycleS: 60 });
}

/** Child: the field. Prints "PORT <p>", runs until killed. */
async function fleet(networkPath: string, n: number): Promise<void> {
  const c = compileNetwork(loadNetwork(readFileSync(networkPath, 'utf8')));
  const plan = planNetwork(c, gridVolumes(c, 600, 400), 900).buffer;
  const now = () => Date.now() / 1000;
  const start = now();
  const vcs = Array.from({ length: n }, (_, i) => new VirtualController(c, i, plan, { startS: start, commLossTimeoutS: 0 }));
  for (const v of vcs) v.serveEventLog();
  const server = await ControllerServer.start(
    vcs.map((v, i) => ({ unitId: i + 1, controller: v })),
    { clock: now },
  );
  process.stdout.write(`PORT ${server.port}\n`);
  // Vehicles arrive at random detectors at VEH_PER_S per controller (whole vehicles, carried over between ticks).
  const owed = new Float64Array(n);
  let last = now();
  setInterval(() => {
    const t = now();
    vcs.forEach((v, i) => {
      v.tick(t);
      owed[i] = owed[i]! + VEH_PER_S * (t - last);
      for (; owed[i]! >= 1; owed[i] = owed[i]! - 1) v.addDetectorCounts(Math.floor(Math.random() * v.detectorCount), 1);
    });
    last = t;
  }, 100);
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  if (!(Number.isInteger(CONTROLLERS) && CONTROLLERS >= COLS && CONTROLLERS % COLS === 0 && CONTROLLERS <= 247)) throw new Error(`BENCH_CONTROLLERS ${CONTROLLERS} must be a multiple of ${COLS} within [10, 247] (one Modbus port, unit ids 1..247)`);
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-events-service-'));
  const networkPath = join(dir, 'grid.json');
  writeFileSync(networkPath, JSON.stringify(gridJson(CONTROLLERS)));
  const c = compileNetwork(loadNetwork(readFileSync(networkPath, 'utf8')));
  // Counts for the service's plan at 08:00: the same volumes the fleet's plan came from.
  const volumes = gridVolumes(c, 600, 400);
  const countsPath = join(dir, 'counts.csv');
  writeFileSync(countsPath, `interval_start,detector_id,volume_veh,occupancy_pct\n${['08:00', '08:15'].flatMap((hm) => c.detectorIds.map((d, k) => `2026-03-02T${hm},${d},${volumes[k]!.toFixed(1)},10`)).join('\n')}\n`);
  const tokensPath = join(dir, 'tokens.json');
  writeFileSync(tokensPath, JSON.stringify({ tokens: [{ token: 'bench-operator-token-1', client: 'bench', roles: ['operator'] }] }));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fleet', networkPath, String(CONTROLLERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the controller fleet exited (${code})`)));
  });

  const base = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const t0 = Date.now();
  const countFromMs = t0 + WARMUP_S * 1000;
  const lags: number[] = [];
  let stored = 0;
  let busyMs = 0;
  const storage = new Proxy(base, {
    get(target, prop) {
      if (prop === 'insertEvents') {
        return async (...a: Parameters<Storage['insertEvents']>) => {
          const w0 = performance.now();
          const n = await target.insertEvents(...a);
          const at = Date.now();
          busyMs += performance.now() - w0;
          stored += n;
          for (const e of a[1] as readonly ControllerEvent[]) if (e.timestampMs >= countFromMs) lags.push(at - e.timestampMs);
          return n;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  }) as Storage;
  const srv = await startServer({
    insecure: true,
    port: 0,
    tokens: TokenStore.fromFile(tokensPath),
    networkPath,
    countsPath,
    at: '08:00',
    storage,
    controllers: Array.from({ length: CONTROLLERS }, (_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port })),
    eventPollMs: POLL_MS,
    shutdownGraceMs: 1000,
  });
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await srv.close();
  child.kill('SIGTERM');
  const wallS = (Date.now() - t0) / 1000;
  const sorted = Float64Array.from(lags).sort();
  const gaps = (await base.listAudit({ actionPrefix: 'events.gap', limit: 100_000 })).length;
  await base.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`service: ${CONTROLLERS} virtual controllers (child process, Modbus TCP, real clock, ${VEH_PER_S} veh/s each), poll period ${POLL_MS / 1000} s, ${SECONDS} s (first ${WARMUP_S} s not counted), SQLite`);
  console.log(`  stored ${stored} events (${Math.round(stored / wallS)}/s), counted ${sorted.length}; events.gap rows ${gaps}; storage busy ${(busyMs / 1000).toFixed(1)} s of ${wallS.toFixed(1)} s`);
  console.log(`  lag event timestamp → commit: p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p90 ${quantile(sorted, 0.9).toFixed(0)} ms, p99 ${quantile(sorted, 0.99).toFixed(0)} ms, max ${sorted.length > 0 ? sorted[sorted.length - 1]!.toFixed(0) : 'NaN'} ms`);
}

if (process.argv[2] === '--fleet') {
  fleet(process.argv[3]!, Number(process.argv[4])).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
