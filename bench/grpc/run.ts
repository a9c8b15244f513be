/**
 * bench/grpc: RequestPriority throughput and p50/p99 latency of greenwave's
 * gRPC service beside a no-op grpc-js handler for the same RPC, measured by the
 * same load generator with the same settings in the same run (the ratio is our
 * overhead over the transport); then how many WatchSignalState subscribers one
 * server holds at 1 Hz. Run: `npm run bench:grpc`.
 *
 * Processes: this orchestrator forks one server process each for greenwave and
 * the no-op baseline (server.ts) and the load generators (load.ts, grpc-js;
 * load.py, grpcio's C core, an independent client), so no generator shares an
 * event loop with a server. Closed loop: callers issue calls back to back
 * (saturation; latency is then callers ÷ throughput). Open loop: each of the 64
 * callers sends on its own Poisson schedule at a fixed total rate, as dispatch
 * traffic arrives; latency is then service time plus real queueing. The grpc-js
 * client costs two to three times the server's CPU per call, so on two cores it,
 * not the server, limits the closed loop; the grpcio client is cheap enough to
 * saturate the server, which is where the throughput ratio means something.
 * Each row also reports the server process's CPU per call (its inverse ratio is
 * the capacity ratio whatever the client) and the CPU other processes used.
 * Last, h2load (h2load.ts), a C HTTP/2 client cheaper still, runs the closed loop
 * at 64 in flight in two connection layouts, its calls checked against the
 * server's own count of OK answers (h2load cannot see grpc-status).
 *
 * Environment: GREENWAVE_BENCH_GRPC_MS (measured window per run, default 3000),
 * GREENWAVE_BENCH_GRPC_GENERATORS (grpc-js generator processes, default 1),
 * GREENWAVE_BENCH_GRPC_PYTHON=0 (skip the grpcio cross-check),
 * GREENWAVE_BENCH_GRPC_H2LOAD=0 (skip the h2load runs),
 * GREENWAVE_BENCH_GRPC_SERVER_ARGS (extra node options for greenwave's server process only,
 * e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc").
 */
import { fork, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../service/server.js';
import { PYTHON, pythonGrpcMissing, pythonStubs } from '../../test/fixtures/grpc/pythonStubs.js';
import { BenchError } from './protocol.js';
import { H2Bodies, H2LOAD, H2_LAYOUTS, h2loadAvailable, runH2load } from './h2load.js';
import type { LoadJob, LoadResult, ServerCalls, ServerCpu, ServerGc, ServerReady } from './protocol.js';

const DURATION_MS = Number(process.env['GREENWAVE_BENCH_GRPC_MS'] ?? 3000);
const WARMUP_MS = 700;
/** Longest wait for a quiet machine before each run. */
const SETTLE_MS = 2000;
/** Closed-loop traffic each server gets once, before the first measurement. */
const SERVER_WARMUP_MS = 2000;
const GENERATORS = Math.max(1, Number(process.env['GREENWAVE_BENCH_GRPC_GENERATORS'] ?? 1));
const USE_PYTHON = process.env['GREENWAVE_BENCH_GRPC_PYTHON'] !== '0';
const USE_H2LOAD = process.env['GREENWAVE_BENCH_GRPC_H2LOAD'] !== '0';
const SERVER_ARGS = (process.env['GREENWAVE_BENCH_GRPC_SERVER_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const CLOSED_LEVELS = [1, 64, 512];
/** Other processes using more than this share of a core during a run make its tail latencies suspect. */
const CONTENDED_CORES = 0.25;
const OPEN_CALLERS = 64;
const OPEN_RATES = [500, 1000, 2000];
const SUBSCRIBERS = [100, 500, 1000];

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
// load.py is not copied into dist/: it is run from the source tree.
const LOAD_PY = fileURLToPath(new URL('../../../bench/grpc/load.py', import.meta.url));

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  firstError: string;
  sendLagP99Ms: number;
  /** Generator CPU in the window, in cores (summed over generator processes). */
  generatorCores: number;
  /** Server process CPU per answered call over the whole job, µs: the transport plus, for greenwave, our handler. */
  serverUsPerCall: number;
  serverCores: number;
  /** Everything else on the machine (the other engineer's jobs, this orchestrator), cores: contention makes tails noisy. */
  otherCores: number;
  reasons: Record<string, number>;
}

/** Busy jiffies of the whole machine (all CPUs) from /proc/stat; undefined off Linux. */
function machineBusy(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!; // minus idle and iowait
  } catch {
    return undefined;
  }
}
const CLK_TCK = 100; // USER_HZ on Linux

/**
 * Waits (at most SETTLE_MS) until the rest of the machine is nearly idle, so that another
 * job's burst is less likely to land in one server's run and not the other's; runs that
 * still overlap other work are flagged "(contended)" in the output.
 */
async function settle(): Promise<void> {
  const end = performance.now() + SETTLE_MS;
  while (performance.now() < end) {
    const b0 = machineBusy();
    await new Promise((r) => setTimeout(r, 250));
    const b1 = machineBusy();
    if (b0 === undefined || b1 === undefined || (b1 - b0) / CLK_TCK / 0.25 < CONTENDED_CORES / 2) return;
  }
}

interface Probe {
  wall: number;
  cpuUs: number;
  busy: number | undefined;
}

function summarize(results: LoadResult[], before: Probe, after: Probe): Summary {
  const all = Float64Array.from(results.flatMap((r) => r.latenciesMs)).sort();
  const q = (p: number): number => (all.length === 0 ? Number.NaN : all[Math.min(all.length - 1, Math.floor(p * all.length))]!);
  const wallS = (after.wall - before.wall) / 1000;
  const serverCores = (after.cpuUs - before.cpuUs) / 1e6 / wallS;
  const generatorCores = results.reduce((s, r) => s + r.cpuShare, 0);
  const machine = before.busy !== undefined && after.busy !== undefined ? (after.busy - before.busy) / CLK_TCK / wallS : Number.NaN;
  const reasons: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  return {
    // h2load runs a request count, not a fixed window: each result says how long its window was.
    rps: all.length / Math.max(...results.map((r) => r.elapsedS)),
    p50: q(0.5),
    p99: q(0.99),
    max: all.length === 0 ? Number.NaN : all[all.length - 1]!,
    errors: results.reduce((s, r) => s + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? '',
    sendLagP99Ms: Math.max(...results.map((r) => r.sendLagP99Ms)),
    generatorCores,
    serverUsPerCall: (after.cpuUs - before.cpuUs) / Math.max(1, results.reduce((s, r) => s + r.completed, 0)),
    serverCores,
    otherCores: Math.max(0, machine - serverCores - generatorCores),
    reasons,
  };
}

/** A server child process (greenwave or the no-op baseline) and its CPU-time probe. */
interface ServerProc {
  readonly name: 'greenwave' | 'no-op';
  readonly port: number;
  cpuUs(): Promise<number>;
  /** RequestPriority answers so far, OK and errors, as the server counted them. */
  calls(): Promise<ServerCalls>;
  /** A full GC in the server process (h2load.ts says why). */
  collect(): Promise<void>;
  stop(): Promise<void>;
}

async function startServerProc(kind: 'greenwave' | 'noop'): Promise<ServerProc> {
  // Only greenwave gets them (profiling, GC tracing): the no-op is the transport alone.
  const execArgv = ['--expose-gc', ...(kind === 'greenwave' ? SERVER_ARGS : [])];
  const child = fork(here('./server.js'), [kind], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    child.once('message', (m: ServerReady) => resolve(m));
    child.once('exit', (code) => reject(new BenchError(`bench/grpc ${kind} server process exited (${code}) before it was ready`)));
  });
  /** One question over IPC; answers are matched by type, so the questions need not be serialized. */
  const ask = <T extends ServerCpu | ServerCalls | ServerGc>(type: T['type']): Promise<T> =>
    new Promise((resolve) => {
      const on = (m: { type: string }): void => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
      child.send({ type });
    });
  return {
    name: kind === 'noop' ? 'no-op' : 'greenwave',
    port: ready.port,
    cpuUs: () => ask<ServerCpu>('cpu').then((m) => m.userUs + m.systemUs),
    calls: () => ask<ServerCalls>('calls'),
    collect: () => ask<ServerGc>('gc').then(() => undefined),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

/** A pool of grpc-js generator processes, forked once and reused for every job. */
class NodeGenerators {
  private readonly children: ChildProcess[];
  constructor(n: number) {
    this.children = Array.from({ length: n }, () => fork(here('./load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }
  get size(): number {
    return this.children.length;
  }
  run(jobs: LoadJob[]): Promise<LoadResult[]> {
    return Promise.all(
      jobs.map(
        (job, k) =>
          new Promise<LoadResult>((resolve, reject) => {
            const child = this.children[k]!;
            const onExit = (code: number | null): void => reject(new BenchError(`load generator ${k} exited (${code}) during a run`));
            child.once('exit', onExit);
            child.once('message', (m: LoadResult) => {
              child.off('exit', onExit);
              resolve(m);
            });
            child.send(job);
          }),
      ),
    );
  }
  close(): void {
    for (const c of this.children) c.send({ type: 'exit' });
  }
}

/** The grpcio (C-core) generator: one python process per job. */
function runPython(stubs: string, job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [LOAD_PY, '--stubs', stubs, JSON.stringify(job)], { encoding: 'utf8', timeout: job.warmupMs + job.durationMs + 30_000, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      if (e) return reject(new BenchError(`load.py failed: ${e.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as LoadResult);
      } catch {
        reject(new BenchError(`load.py printed no result: ${stdout.slice(0, 200)}\n${stderr}`));
      }
    });
  });
}

/** Splits `callers` (and the open-loop rate) over `g` generator processes. */
function jobs(port: number, mode: 'closed' | 'open', callers: number, ratePerS: number, g: number): LoadJob[] {
  const n = Math.min(g, callers);
  return Array.from({ length: n }, (_, k) => {
    const mine = Math.floor(callers / n) + (k < callers % n ? 1 : 0);
    return { type: 'run', port, mode, callers: mine, ratePerS: (ratePerS * mine) / callers, warmupMs: WARMUP_MS, durationMs: DURATION_MS, channels: 1, generator: k };
  });
}

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—').padStart(7);
const HEAD = `${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} ${'errs'.padStart(4)} ${'µs/call'.padStart(8)}`;
const row = (s: Summary): string => `${s.rps.toFixed(0).padStart(7)} ${ms(s.p50)} ${ms(s.p99)} ${ms(s.max)} ${String(s.errors).padStart(4)} ${s.serverUsPerCall.toFixed(0).padStart(8)}`;
const cores = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '?');
const loadLine = (s: Summary): string =>
  `server ${cores(s.serverCores)}, generator ${cores(s.generatorCores)}, others ${cores(s.otherCores)}${s.otherCores > CONTENDED_CORES ? ' (contended)' : ''} cores` +
  (s.sendLagP99Ms > 0 ? `; send lag p99 ${s.sendLagP99Ms.toFixed(2)} ms` : '');
const mix = (r: Record<string, number>): string => {
  const total = Object.values(r).reduce((a, b) => a + b, 0);
  return Object.entries(r)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k.replace('REASON_', '').toLowerCase()} ${((100 * v) / total).toFixed(v / total < 0.01 ? 2 : 0)} %`)
    .join(', ');
};

async function subscribers(port: number, count: number): Promise<{ held: number; updatesPerS: number }> {
  type Ctor = new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => grpc.Client & { WatchSignalState: (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown> };
  const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: { SignalStateService: Ctor } } };
  const clients = Array.from({ length: Math.ceil(count / 100) }, () => new pkg.greenwave.v1.SignalStateService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const viewer = new grpc.Metadata();
  viewer.set('authorization', 'Bearer viewer-secret-1');
  const got = new Uint32Array(count);
  const streams: grpc.ClientReadableStream<unknown>[] = [];
  for (let k = 0; k < count; k++) {
    const s = clients[k % clients.length]!.WatchSignalState({ intersection_ids: ['I1'], interval_s: 1 }, viewer);
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

async function main(): Promise<void> {
  const started = performance.now();
  const greenwave = await startServerProc('greenwave');
  const noop = await startServerProc('noop');
  const probe = async (srv: ServerProc): Promise<Probe> => ({ cpuUs: await srv.cpuUs(), wall: performance.now(), busy: machineBusy() });
  const gens = new NodeGenerators(GENERATORS);
  let stubs: ReturnType<typeof pythonStubs> | undefined;
  if (USE_PYTHON) {
    const missing = pythonGrpcMissing();
    if (missing === undefined) stubs = pythonStubs('greenwave-bench-stubs-');
    else console.log(`(grpcio cross-check skipped: ${missing})`);
  }
  const servers = [greenwave, noop] as const;
  const mixes: Record<string, number>[] = [];
  /** Both servers under the same generator and settings; the order alternates so drift does not favour one. */
  const pair = async (k: number, run: (srv: ServerProc) => Promise<LoadResult[]>, mixInto = mixes, prepare?: (srv: ServerProc) => Promise<void>): Promise<[Summary, Summary]> => {
    const order = k % 2 === 0 ? servers : ([servers[1], servers[0]] as const);
    const out = new Map<string, Summary>();
    for (const srv of order) {
      await prepare?.(srv);
      await settle();
      const before = await probe(srv);
      const results = await run(srv);
      out.set(srv.name, summarize(results, before, await probe(srv)));
    }
    mixInto.push(out.get('greenwave')!.reasons);
    return [out.get('greenwave')!, out.get('no-op')!];
  };
  const report = (label: string, g: Summary, n: Summary): void => {
    console.log(`  ${label.padStart(11)} │${row(g)} │${row(n)} │ ${((g.rps / n.rps) * 100).toFixed(0).padStart(3)} % ${((n.serverUsPerCall / g.serverUsPerCall) * 100).toFixed(0).padStart(7)} %`);
    console.log(`  ${''.padStart(11)} │ ${loadLine(g).padEnd(HEAD.length - 1)} │ ${loadLine(n)}`);
    if (g.firstError) console.log(`      greenwave first error: ${g.firstError}`);
    if (n.firstError) console.log(`      no-op first error: ${n.firstError}`);
  };
  const table = (title: string, first: string): void => {
    console.log(`\n${title}`);
    console.log(`  ${''.padStart(11)} │${' greenwave'.padEnd(HEAD.length)} │${' no-op'.padEnd(HEAD.length)} │ greenwave / no-op`);
    console.log(`  ${first.padStart(11)} │${HEAD} │${HEAD} │ req/s  µs/call⁻¹`);
  };
  let runIndex = 0;

  console.log(`bench/grpc — RequestPriority, ${DURATION_MS / 1000} s per run after ${WARMUP_MS} ms warm-up, loopback plaintext, node ${process.version}, ${availableParallelism()} CPUs`);
  console.log(`servers: greenwave and the no-op baseline, one child process each; load: ${gens.size} grpc-js generator process${gens.size > 1 ? 'es' : ''}${stubs ? ', then one grpcio (C core) process' : ''}`);
  console.log('µs/call = server-process CPU per answered call (transport included); cores = CPU used during the run;');
  console.log('µs/call⁻¹ = no-op µs/call ÷ greenwave µs/call: the throughput ratio once the server, not the client, is the bottleneck');
  // A fresh server runs its first thousands of calls unoptimized (JIT) and with a cold heap; neither belongs in any row.
  for (const srv of servers) await gens.run(jobs(srv.port, 'closed', 64, 0, gens.size).map((j) => ({ ...j, warmupMs: 0, durationMs: SERVER_WARMUP_MS, generator: 100 + j.generator })));
  const plural = gens.size > 1 ? `${gens.size} grpc-js generator processes` : 'one grpc-js generator process';
  table(`closed loop (each caller calls again as soon as it is answered), ${plural}:`, 'callers');
  for (const c of CLOSED_LEVELS) {
    const [g, n] = await pair(runIndex++, (srv) => gens.run(jobs(srv.port, 'closed', c, 0, gens.size)));
    report(String(c), g, n);
  }
  table(`open loop, ${OPEN_CALLERS} callers each sending on its own Poisson schedule, ${plural}:`, 'offered/s');
  for (const rate of OPEN_RATES) {
    const [g, n] = await pair(runIndex++, (srv) => gens.run(jobs(srv.port, 'open', OPEN_CALLERS, rate, gens.size)));
    report(String(rate), g, n);
  }
  gens.close();

  if (stubs) {
    table('cross-check with an independent client: grpcio (C core, asyncio), one process:', 'run');
    const py = (mode: 'closed' | 'open', callers: number, rate: number) => (srv: ServerProc) => runPython(stubs!.dir, jobs(srv.port, mode, callers, rate, 1)[0]!).then((r) => [r]);
    const [g, n] = await pair(runIndex++, py('closed', 64, 0));
    report('closed 64', g, n);
    for (const rate of [500, 1000]) {
      const [go, no] = await pair(runIndex++, py('open', OPEN_CALLERS, rate));
      report(`open ${rate}`, go, no);
    }
    stubs.remove();
  }
  const h2Mixes: Record<string, number>[] = [];
  const h2Failures: string[] = [];
  if (!USE_H2LOAD) console.log('\n(h2load runs skipped: GREENWAVE_BENCH_GRPC_H2LOAD=0)');
  else if (!h2loadAvailable()) console.log(`\n(h2load runs skipped: ${H2LOAD} not found; apt-get install nghttp2-client)`);
  else {
    table('closed loop, 64 in flight, h2load (nghttp2, C); every call checked against the server\'s count of OK answers:', 'layout');
    const bodies = new H2Bodies(Math.max(...H2_LAYOUTS.map((l) => l.processes)));
    try {
      for (const layout of H2_LAYOUTS) {
        // By now each server has had some 90 s of load and its old generation has grown
        // from about 50 MB live to 150–200 MB; V8's first full collection then stops it for
        // 0.3–0.4 s (--trace-gc; later ones 30–70 ms), once per server, in whichever run it
        // falls, and that pair's ratio means nothing. So both collect before each h2load
        // run, outside the measurement; the rows above are as they were.
        const [g, n] = await pair(runIndex++, (srv) => runH2load(srv, layout, bodies, WARMUP_MS, DURATION_MS).then((r) => [r]), h2Mixes, (srv) => srv.collect());
        report(layout.label, g, n);
        console.log(`  ${''.padStart(11)} │ greenwave answers: ${mix(g.reasons)}`);
        for (const [name, s] of [['greenwave', g], ['no-op', n]] as const) if (s.errors > 0) h2Failures.push(`${layout.label}, ${name}: ${s.firstError}`);
      }
    } finally {
      bodies.close();
    }
    console.log(h2Failures.length === 0 ? '  every h2load call was answered OK by the server it was sent to (server count = h2load count, 0 errors)' : `  ✗ h2load CHECK FAILED:\n    ${h2Failures.join('\n    ')}`);
  }
  const allReasons: Record<string, number> = {};
  for (const m of mixes) for (const [k, v] of Object.entries(m)) allReasons[k] = (allReasons[k] ?? 0) + v;
  console.log(`\ngreenwave answers over all runs${h2Mixes.length > 0 ? ' but h2load\'s' : ''}: ${mix(allReasons)}`);

  console.log('\nWatchSignalState subscribers at 1 Hz (held = at least 2 updates in 3 s):');
  for (const count of SUBSCRIBERS) {
    const r = await subscribers(greenwave.port, count);
    console.log(`  ${String(count).padStart(5)} opened: ${r.held} held, ${r.updatesPerS.toFixed(0)} updates/s`);
  }
  await Promise.all([greenwave.stop(), noop.stop()]);
  console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (h2Failures.length > 0) {
    console.error('bench/grpc: h2load calls did not all succeed (see ✗ above)');
    process.exitCode = 1;
  }
}

await main();
