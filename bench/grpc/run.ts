/**
 * bench/grpc: RequestPriority throughput and p50/p99 latency at concurrency 1,
 * 64 and 512 against greenwave's service, beside a no-op grpc-js handler for
 * the same RPC on the same machine in the same run (the ratio is our overhead
 * over the transport); then how many WatchSignalState subscribers one server
 * holds at 1 Hz. Run: `npm run bench:grpc`.
 */
import * as grpc from '@grpc/grpc-js';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { loadProtos, startServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
// Tokens from the source tree (the JSON fixture is not copied into dist/).
const TOKENS_FILE = new URL('../../../test/fixtures/grpc/tokens.json', import.meta.url).pathname;

const DURATION_MS = Number(process.env.GREENWAVE_BENCH_GRPC_MS ?? 3000);
const LEVELS = [1, 64, 512];
const SUBSCRIBERS = [100, 500, 1000];

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as {
  greenwave: { v1: Record<string, (new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => Client) & { service: grpc.ServiceDefinition }> };
};
const meta = new grpc.Metadata();
meta.set('authorization', 'Bearer dispatch-secret-1');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function noopServer(): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  const reply = { granted: false, strategy: 'STRATEGY_NONE', expected_time_saved_s: 0, reason: 'REASON_CODE_UNSPECIFIED' };
  server.addService(pkg.greenwave.v1.BusPriorityService!.service, {
    RequestPriority: (_call: unknown, cb: (e: null, r: object) => void) => cb(null, reply),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, server };
}

/** `concurrency` callers, each issuing calls back to back for the duration. */
async function load(port: number, concurrency: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const client = new pkg.greenwave.v1.BusPriorityService!(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const ids = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'];
  const deadline = Date.now() + DURATION_MS;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const n = seq++;
      const req = { vehicle_id: `bus-${n % 997}`, route_id: '7', intersection_id: ids[n % 8], movement: 'EBT', eta_s: 5 + (n % 40), lateness_s: 30 + (n % 200), occupancy: 30, priority_class: 'PRIORITY_CLASS_BUS' };
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        (client.RequestPriority as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (e) => {
          if (e) errors++;
          else latencies.push(performance.now() - t0);
          resolve();
        });
      });
    }
  };
  // Warm-up, then the measured window.
  await Promise.all(Array.from({ length: Math.min(concurrency, 8) }, () => new Promise<void>((r) => (client.RequestPriority as (a: object, m: grpc.Metadata, cb: () => void) => void)({ vehicle_id: 'warm', intersection_id: 'I1', movement: 'EBT', eta_s: 5, priority_class: 'PRIORITY_CLASS_BUS' }, meta, () => r()))));
  latencies.length = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - start) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / secs, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

/**
 * Open-loop load: `clients` callers together offering `ratePerS` calls per second
 * (each caller sends on its own schedule, not waiting for the previous answer),
 * which is how dispatch traffic arrives; latency is then the service time, not a queue we built.
 */
async function openLoop(port: number, clients: number, ratePerS: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const channels = Array.from({ length: 4 }, () => new pkg.greenwave.v1.BusPriorityService!(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const ids = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'];
  const periodMs = (1000 * clients) / ratePerS;
  const end = performance.now() + DURATION_MS;
  const pending: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      await new Promise((r) => setTimeout(r, (periodMs * k) / clients));
      for (let next = performance.now(); next < end; next += periodMs) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const i = n++;
        const req = { vehicle_id: `bus-${i % 997}`, route_id: '7', intersection_id: ids[i % 8], movement: 'EBT', eta_s: 5 + (i % 40), lateness_s: 30 + (i % 200), occupancy: 30, priority_class: 'PRIORITY_CLASS_BUS' };
        const t0 = performance.now();
        const ch = channels[k % channels.length]!;
        pending.push(
          new Promise<void>((resolve) =>
            (ch.RequestPriority as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (e) => {
              if (e) errors++;
              else latencies.push(performance.now() - t0);
              resolve();
            }),
          ),
        );
      }
    }),
  );
  await Promise.all(pending);
  for (const ch of channels) ch.close();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / (DURATION_MS / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

async function subscribers(port: number, count: number): Promise<{ held: number; updatesPerS: number }> {
  const clients = Array.from({ length: Math.ceil(count / 100) }, () => new pkg.greenwave.v1.SignalStateService!(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
  const viewer = new grpc.Metadata();
  viewer.set('authorization', 'Bearer viewer-secret-1');
  const got = new Uint32Array(count);
  const streams: grpc.ClientReadableStream<unknown>[] = [];
  for (let k = 0; k < count; k++) {
    const s = (clients[k % clients.length]!.WatchSignalState as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ intersection_ids: ['I1'], interval_s: 1 }, viewer);
    s.on('data', () => got[k]!++);
    s.on('error', () => undefined);
    streams.push(s);
  }
  await new Promise((r) => setTimeout(r, 1500));
  const before = Uint32Array.from(got);
  await new Promise((r) => setTimeout(r, 3000));
  let held = 0;
  let updates = 0;
  for (let k = 0; k < count; k++) {
    const d = got[k]! - before[k]!;
    updates += d;
    if (d >= 2) held++; // at 1 Hz a live subscriber sees 3 updates in 3 s; 2 allows for phase
  }
  for (const s of streams) s.cancel();
  for (const c of clients) c.close();
  return { held, updatesPerS: updates / 3 };
}

// The servers run in a worker thread and the load in the main thread, so the load generator
// does not steal the servers' event loop (2 cores: one each).
if (!isMainThread) {
  const ours = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), maxInFlight: 4096, maxStreams: 5000 });
  const noop = await noopServer();
  parentPort!.postMessage({ ours: ours.port, noop: noop.port });
  parentPort!.on('message', () => {
    void ours.close().then(() => {
      noop.server.forceShutdown();
      process.exit(0);
    });
  });
} else {
  await main();
}

async function main(): Promise<void> {
const worker = new Worker(new URL(import.meta.url));
const ports = await new Promise<{ ours: number; noop: number }>((resolve) => worker.once('message', resolve));
const ours = { port: ports.ours };
const noop = { port: ports.noop };
console.log(`bench/grpc — RequestPriority, ${DURATION_MS / 1000} s per level, loopback, node ${process.version}`);
console.log('  concurrency   greenwave req/s   p50 ms   p99 ms  errors │  no-op req/s   p50 ms   p99 ms │ throughput ratio');
for (const k of LEVELS) {
  const g = await load(ours.port, k);
  const n = await load(noop.port, k);
  console.log(`  ${String(k).padStart(11)}   ${g.rps.toFixed(0).padStart(15)}   ${g.p50.toFixed(2).padStart(6)}   ${g.p99.toFixed(2).padStart(6)}  ${String(g.errors).padStart(6)} │  ${n.rps.toFixed(0).padStart(11)}   ${n.p50.toFixed(2).padStart(6)}   ${n.p99.toFixed(2).padStart(6)} │ ${((g.rps / n.rps) * 100).toFixed(0).padStart(5)} %`);
}
console.log('\nopen loop, 64 concurrent callers at a fixed offered rate (latency = service time):');
console.log('  offered req/s   greenwave p50   p99   errors │  no-op p50   p99');
for (const rate of [500, 1000, 2000]) {
  const g = await openLoop(ours.port, 64, rate);
  const n = await openLoop(noop.port, 64, rate);
  console.log(`  ${String(rate).padStart(13)}   ${g.p50.toFixed(2).padStart(10)} ms ${g.p99.toFixed(2).padStart(5)} ms ${String(g.errors).padStart(6)} │ ${n.p50.toFixed(2).padStart(7)} ms ${n.p99.toFixed(2).padStart(5)} ms`);
}
console.log('\nWatchSignalState subscribers at 1 Hz (held = at least 2 updates in 3 s):');
for (const count of SUBSCRIBERS) {
  const r = await subscribers(ours.port, count);
  console.log(`  ${String(count).padStart(5)} opened: ${r.held} held, ${r.updatesPerS.toFixed(0)} updates/s`);
}
worker.postMessage('stop');
await new Promise((r) => worker.once('exit', r));
}
