/**
 * bench/parking/recommend: Recommend over gRPC on a generated city of 2,000
 * car parks and 500 guidance signs (a 25 × 25 street grid, 625 signals, 2,400
 * links; test/fixtures/parkingCity.ts), with 64 concurrent callers, beside a
 * no-op grpc-js handler of the same RPC measured in the same run with the
 * same requests. Run: `npm run bench:parking-recommend`.
 *
 * Processes: this orchestrator writes the city to a temporary folder and forks
 * itself as the server (argv[2] = "greenwave": startServer with --parking and
 * every car park reported; "noop": Recommend answers an empty response), one
 * at a time, and drives it from here with grpc-js. Two loads per server:
 * closed loop (64 calls always in flight: saturation, latency = 64 ÷
 * throughput) and open loop (64 callers, each on its own Poisson schedule, at
 * a fixed total rate: service time plus real queueing). First, the engine's
 * Recommend alone in this process (no gRPC), for what the handler itself costs.
 *
 * Per run it also prints the server's CPU per call (the child's process.cpuUsage over the
 * run ÷ every call it answered, warm-up included: load-independent where latency is not), the
 * load generator's, and the machine's 1-minute load average at the end of the run (the
 * machine is shared; the two cores also carry the load generator).
 *
 * Before the load, the greenwave server times its own Recommend path in its process (no gRPC),
 * then again after a plan change as Replan makes it (every kept road tree dropped, rebuilt by
 * the calls that follow).
 *
 * Per run it also prints both processes' garbage collection (./gcWindow.ts): bytes allocated
 * a call, collections and pause time per 10,000 calls, the longest pause, the live heap.
 *
 * Two load generators drive each server in turn with the same requests: grpc-js in this process,
 * and grpcio's C core in a Python process (./load.py: pre-encoded requests, answers kept as bytes,
 * Python's cyclic collector off while it measures), because the grpc-js generator's own collections
 * (pauses of 8-21 ms) set the tail it measured at 500 req/s whichever server it drove.
 *
 * Environment: GREENWAVE_BENCH_PARKING_MS (measured window per run, default 4000);
 * GREENWAVE_BENCH_PARKING_GENERATORS (which generators, comma separated; default `grpc-js,grpcio`;
 * grpcio is skipped with a note when /usr/bin/python3 cannot import grpc and grpc_tools);
 * GREENWAVE_BENCH_PARKING_SERVER_ARGS (extra node options for the server children only, space
 * separated, e.g. `--trace-gc-nvp`); GREENWAVE_BENCH_PARKING_HEAP_PROFILE=1 (the server child's
 * allocation sites of what outlived the young generation, printed when it stops);
 * GREENWAVE_BENCH_PARKING_SERVERS (which servers, in order,
 * comma separated; default `greenwave,noop`).
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadProtos, startServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { parkingCityJson } from '../../test/fixtures/parkingCity.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileParking } from '../../engine/parking/load.js';
import { RoadGraph } from '../../engine/parking/roads.js';
import { Recommender, type RecommendQuery } from '../../engine/parking/recommend.js';
import { TableOccupancySource } from '../../engine/parking/standIn.js';
import { mulberry32 } from '../../engine/numeric.js';
import { GcWindow, gcCells, perCalls, type GcFigures } from './gcWindow.js';
import { PYTHON, pythonGrpcMissing } from '../../test/fixtures/grpc/pythonStubs.js';
import { tuneHeapForServer } from '../../service/heapTuning.js';

const CITY = { grid: { rows: 25, cols: 25, colSpacingM: 250, rowSpacingM: 200 }, carParks: 2000, signs: 500, seed: 17 };
const CALLERS = 64;
const DURATION_MS = Number(process.env['GREENWAVE_BENCH_PARKING_MS'] ?? 4000);
const WARMUP_MS = 1000;
const OPEN_RATES = [500, 1000];
const TOKEN = 'bench-viewer-token';
const SERVER_ARGS = (process.env['GREENWAVE_BENCH_PARKING_SERVER_ARGS'] ?? '').split(' ').filter((a) => a !== '');
const SERVERS = (process.env['GREENWAVE_BENCH_PARKING_SERVERS'] ?? 'greenwave,noop').split(',');
const HEAP_PROFILE = process.env['GREENWAVE_BENCH_PARKING_HEAP_PROFILE'] === '1';
const GENERATORS = (process.env['GREENWAVE_BENCH_PARKING_GENERATORS'] ?? 'grpc-js,grpcio').split(',');
// load.py is not copied into dist/: it is run from the source tree.
const LOAD_PY = fileURLToPath(new URL('../../../bench/parking/load.py', import.meta.url));
type Obj = Record<string, unknown>;

function countsCsv(detectorIds: readonly string[]): string {
  const lines = ['interval_start,detector_id,volume_veh,occupancy_pct'];
  for (const t of ['07:30', '07:45', '08:00', '08:15']) for (const d of detectorIds) lines.push(`2026-03-02T${t},${d},${/-(EB|WB)-\d$/.test(d) ? 90 : 60},10`);
  return `${lines.join('\n')}\n`;
}

/** The requests every run sends, in order (seeded): destinations near car parks, origins on random links. */
function requests(city: ReturnType<typeof parkingCityJson>, n: number): Obj[] {
  const rnd = mulberry32(5);
  const parks = (city.parking as { carParks: { position: { lon: number; lat: number } }[] }).carParks;
  const links = city.network.links;
  const out: Obj[] = [];
  for (let i = 0; i < n; i++) {
    const p = parks[Math.floor(rnd() * parks.length)]!.position;
    const link = links[Math.floor(rnd() * links.length)]!;
    out.push({
      destination: { lon: p.lon + (rnd() - 0.5) * 0.004, lat: p.lat + (rnd() - 0.5) * 0.004 },
      origin_link: { link_id: link.id, position_m: rnd() * link.lengthM },
      top_n: 3,
      max_walk_m: 800,
      ...(rnd() < 0.1 ? { needs: ['SPACE_TYPE_EV'] } : {}),
      ...(rnd() < 0.2 ? { vehicle_height_m: 2.2 } : {}),
    });
  }
  return out;
}

// ---- server process ----
/** Road trees the greenwave server has computed so far (0 for the no-op). */
let treesBuilt = (): number => 0;
/** The server child's collections since the orchestrator last asked. */
let serverGc: GcWindow | undefined;

/** The server's Recommend path in its process, 5,000 timed calls after `warmup` untimed ones: latency, CPU and collections a call. */
function inServer(g: NonNullable<Awaited<ReturnType<typeof startServer>>['parking']>, reqs: Obj[], warmup: number): InServer {
  const lat = new Float64Array(5000);
  let cpu = process.cpuUsage();
  let gc = new GcWindow();
  for (let i = 0; i < warmup + lat.length; i++) {
    if (i === warmup) {
      cpu = process.cpuUsage();
      gc.take();
      gc = new GcWindow();
    }
    const q = engineQuery(reqs[i % reqs.length]!, (id) => g.roads.link(id)!, Date.now());
    const t = performance.now();
    g.recommend(q);
    if (i >= warmup) lat[i - warmup] = (performance.now() - t) * 1000;
  }
  const used = process.cpuUsage(cpu);
  const figures = gc.take();
  const latUs = [...lat];
  return { p50Us: pct(latUs, 0.5), p99Us: pct(latUs, 0.99), maxUs: Math.max(...latUs), cpuUs: (used.user + used.system) / latUs.length, trees: g.roads.treeBuilds, gc: figures, calls: latUs.length };
}

interface InServer {
  p50Us: number;
  p99Us: number;
  maxUs: number;
  cpuUs: number;
  /** Road trees computed so far (after a plan change: since it). */
  trees: number;
  gc: GcFigures;
  calls: number;
}

async function serve(kind: string, dir: string): Promise<void> {
  const tokens = new TokenStore([{ token: TOKEN, client: 'bench', roles: ['viewer', 'parking'] }]);
  if (kind === 'greenwave') {
    const srv = await startServer({ insecure: true, port: 0, tokens, networkPath: join(dir, 'network.json'), countsPath: join(dir, 'counts.csv'), at: '08:00', parking: join(dir, 'parking.json') });
    const g = srv.parking!;
    treesBuilt = () => g.roads.treeBuilds;
    const rnd = mulberry32(7);
    const fill = (): void => {
      for (let k = 0; k < g.parking.carParkCount; k++) g.feed.report(k, Math.floor(g.parking.capacity[k]! * (0.5 + 0.5 * rnd())), Date.now());
    };
    fill();
    setInterval(fill, 60_000).unref();
    // The server's own Recommend path, in this process before the load: the traffic state's delays on the
    // roads, the tracked feed behind the bookings ledger (what a gRPC call runs, minus gRPC).
    const city = parkingCityJson(CITY);
    const reqs = requests(city, 5000);
    const engine = inServer(g, reqs, 1000);
    // Then a plan change as Replan makes it (every kept tree dropped), and the calls that follow rebuild them.
    g.roads.delaysChanged();
    const builtBefore = g.roads.treeBuilds;
    const replanned = inServer(g, reqs, 0);
    process.send!({ port: srv.port, engine, replanned: { ...replanned, trees: g.roads.treeBuilds - builtBefore } });
  } else {
    // The same V8 setting as greenwave's server (startServer applies it), so the two differ only in the handler.
    tuneHeapForServer();
    const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, { service: grpc.ServiceDefinition }> } };
    const server = new grpc.Server();
    server.addService(pkg.greenwave.v1['ParkingGuidanceService']!.service, { Recommend: (_call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => cb(null, {}) });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.send!({ port });
  }
  serverGc = new GcWindow();
  const profile = HEAP_PROFILE ? await startHeapSampling() : undefined;
  process.on('message', async (m) => {
    if (m === 'stop') {
      if (profile) await profile();
      process.exit(0);
    }
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system, trees: treesBuilt(), gc: serverGc!.take() });
    }
  });
}

/**
 * GREENWAVE_BENCH_PARKING_HEAP_PROFILE=1: V8's sampling heap profiler in the server child over its
 * load runs, keeping objects that a scavenge frees out (only what lived to the old generation, or is
 * live, is sampled): printed at the end as the allocation sites of those bytes, to find what is
 * promoted per call.
 */
async function startHeapSampling(): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<Obj> => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r as Obj))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
  return async () => {
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
    const bySite = new Map<string, number>();
    const walk = (n: HeapNode, stack: string[]): void => {
      const f = n.callFrame;
      const here = [`${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`, ...stack].slice(0, 4);
      if (n.selfSize > 0) bySite.set(here.join(' < '), (bySite.get(here.join(' < ')) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c, here);
    };
    walk(profile.head, []);
    const total = [...bySite.values()].reduce((a, b) => a + b, 0);
    console.log(`server heap samples that outlived the young generation: ${(total / 2 ** 20).toFixed(1)} MiB; top sites:`);
    for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(bytes / 2 ** 20).toFixed(2).padStart(7)} MiB  ${site}`);
  };
}
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

// ---- load generator ----
interface Run {
  /** Calls answered in the whole run (warm-up included), for CPU per call. */
  total: number;
  calls: number;
  errors: number;
  firstError: string;
  latMs: number[];
  seconds: number;
  /** grpcio only: the generator's CPU a call (µs) and how late its sends were against their schedule (p99, ms). */
  ownCpuUs?: number;
  sendLagP99Ms?: number;
}

const pct = (xs: number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
};

function client(port: number): grpc.Client & Obj {
  const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (a: string, c: grpc.ChannelCredentials) => grpc.Client & Obj> } };
  return new pkg.greenwave.v1['ParkingGuidanceService']!(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function call(c: grpc.Client & Obj, req: Obj, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => (c['Recommend'] as (r: Obj, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(req, md, (e) => resolve(e)));
}

/** Closed loop (rate undefined: each caller calls back to back) or open loop (each caller Poisson at rate/CALLERS). */
async function load(port: number, reqs: Obj[], rate: number | undefined): Promise<Run> {
  const c = client(port);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  const run: Run = { total: 0, calls: 0, errors: 0, firstError: '', latMs: [], seconds: DURATION_MS / 1000 };
  const t0 = performance.now();
  const measureFrom = t0 + WARMUP_MS;
  const end = measureFrom + DURATION_MS;
  let next = 0;
  const rnd = mulberry32(11);
  const caller = async (): Promise<void> => {
    let due = performance.now();
    while (performance.now() < end) {
      if (rate !== undefined) {
        due += (-Math.log(1 - rnd()) * 1000 * CALLERS) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const req = reqs[next++ % reqs.length]!;
      // Open loop: latency counts from when the call was due (queueing in this client included).
      const start = rate !== undefined ? Math.min(due, performance.now()) : performance.now();
      const e = await call(c, req, md);
      const done = performance.now();
      run.total++;
      if (start >= measureFrom && done <= end) {
        run.calls++;
        run.latMs.push(done - start);
        if (e) {
          run.errors++;
          run.firstError ||= `${grpc.status[e.code]}: ${e.details}`;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  c.close();
  return run;
}

/** The requests as protobuf bytes for load.py, each behind a 4-byte big-endian length (the server's own request serializer). */
function writeBodies(path: string, reqs: Obj[]): void {
  const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, { service: grpc.ServiceDefinition }> } };
  const serialize = pkg.greenwave.v1['ParkingGuidanceService']!.service['Recommend']!.requestSerialize;
  const parts: Buffer[] = [];
  for (const r of reqs) {
    const body = serialize(r);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    parts.push(len, body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** One run of the grpcio generator (./load.py) in its own process; the same windows and callers as `load`. */
function loadPy(port: number, bodiesPath: string, rate: number | undefined): Promise<Run> {
  const job = { port, token: TOKEN, callers: CALLERS, ratePerS: rate ?? 0, warmupMs: WARMUP_MS, durationMs: DURATION_MS };
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [LOAD_PY, bodiesPath, JSON.stringify(job)], { encoding: 'utf8', timeout: WARMUP_MS + DURATION_MS + 60_000, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      if (e) return reject(new Error(`load.py failed: ${e.message}\n${stderr}`));
      let r: { latMs: number[]; errors: number; total: number; firstError: string; sendLagP99Ms: number; cpuUsPerCall: number };
      try {
        r = JSON.parse(stdout) as typeof r;
      } catch {
        return reject(new Error(`load.py printed no result: ${stdout.slice(0, 200)}\n${stderr}`));
      }
      resolve({ total: r.total, calls: r.latMs.length, errors: r.errors, firstError: r.firstError, latMs: r.latMs, seconds: DURATION_MS / 1000, ownCpuUs: r.cpuUsPerCall, sendLagP99Ms: r.sendLagP99Ms });
    });
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  engine?: InServer;
  replanned?: InServer;
}

/** The server child's CPU used so far (user + system), µs, the road trees it has computed, and its collections since the last ask. */
function childCpuUs(child: ChildProcess): Promise<{ cpuUs: number; trees: number; gc: GcFigures }> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'cpuUs' in m) {
        child.off('message', on);
        resolve(m as { cpuUs: number; trees: number; gc: GcFigures });
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

function startChild(kind: string, dir: string): Promise<Started> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, dir], { stdio: 'inherit', execArgv: [...process.execArgv, ...SERVER_ARGS] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...(m as Omit<Started, 'child'>) }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

/** A bench request as the engine's query (what parseRecommend makes of it). */
function engineQuery(r: Obj, link: (id: string) => number, nowMs: number): RecommendQuery {
  const o = r['origin_link'] as { link_id: string; position_m: number };
  const needs = (r['needs'] as string[] | undefined)?.includes('SPACE_TYPE_EV') ? (['ev'] as const) : [];
  return { destination: r['destination'] as { lon: number; lat: number }, origin: { link: link(o.link_id), positionM: o.position_m }, nowMs, vehicle: { heightM: r['vehicle_height_m'] as number | undefined, needs: [...needs] }, preferences: { topN: 3, maxWalkM: 800 } };
}

function inProcess(city: ReturnType<typeof parkingCityJson>, reqs: Obj[]): { p50Us: number; p99Us: number } {
  const c = compileNetwork(loadNetwork(JSON.stringify(city.network)));
  const p = compileParking(city.parking, c);
  const roads = new RoadGraph(c);
  const src = new TableOccupancySource(p);
  const rnd = mulberry32(7);
  const now = Date.now();
  for (let k = 0; k < p.carParkCount; k++) src.report(k, Math.floor(p.capacity[k]! * (0.5 + 0.5 * rnd())), now);
  const rec = new Recommender(p, roads, src);
  const lat: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const r = reqs[i % reqs.length]!;
    const o = r['origin_link'] as { link_id: string; position_m: number };
    const t = performance.now();
    rec.recommend({ destination: r['destination'] as { lon: number; lat: number }, origin: { link: roads.link(o.link_id)!, positionM: o.position_m }, nowMs: now, preferences: { topN: 3, maxWalkM: 800 } });
    if (i >= 1000) lat.push((performance.now() - t) * 1000);
  }
  return { p50Us: pct(lat, 0.5), p99Us: pct(lat, 0.99) };
}

async function main(): Promise<void> {
  const city = parkingCityJson(CITY);
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-parking-'));
  try {
    writeFileSync(join(dir, 'network.json'), JSON.stringify(city.network));
    writeFileSync(join(dir, 'parking.json'), JSON.stringify(city.parking));
    const c = compileNetwork(loadNetwork(JSON.stringify(city.network)));
    writeFileSync(join(dir, 'counts.csv'), countsCsv(c.detectorIds));
    const reqs = requests(city, 5000);
    console.log(`city: ${c.intersectionCount} signals, ${c.network.links.length} links, ${CITY.carParks} car parks, ${CITY.signs} signs; ${CALLERS} callers; ${DURATION_MS} ms measured per run after ${WARMUP_MS} ms warm-up`);
    const ip = inProcess(city, reqs);
    console.log(`engine Recommend in process (no gRPC; free-flow roads, stand-in feed): p50 ${ip.p50Us.toFixed(0)} µs, p99 ${ip.p99Us.toFixed(0)} µs`);
    const bodiesPath = join(dir, 'bodies.bin');
    writeBodies(bodiesPath, reqs);
    const missing = GENERATORS.includes('grpcio') ? pythonGrpcMissing() : undefined;
    if (missing !== undefined) console.log(`grpcio generator skipped: ${missing}`);
    const generators = GENERATORS.filter((g) => g !== 'grpcio' || missing === undefined);
    const rows = ['| server | generator | load | calls/s | p50 ms | p99 ms | server CPU µs/call | client CPU µs/call | send lag p99 ms | load avg | errors |', '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
    const gcRows = [
      '| server | load | server: KiB/call allocated, KiB surviving a scavenge, B/call promoted; per 10k calls scavenges, mark-compacts, pause ms; max pause ms (mark-compact); live MB | grpc-js load generator: the same |',
      '|---|---|---|---|',
    ];
    const byLoad = new Map<string, { p99: number; cpu: number }[]>();
    for (const kind of SERVERS) {
      const { child, port, engine, replanned } = await startChild(kind, dir);
      if (engine) console.log(`the server's Recommend in its process before the load (no gRPC; the traffic state's delays, the tracked feed): p50 ${engine.p50Us.toFixed(0)} µs, p99 ${engine.p99Us.toFixed(0)} µs, CPU ${engine.cpuUs.toFixed(0)} µs a call; ${engine.trees} road trees computed; ${perCalls(engine.gc, engine.calls)}`);
      if (replanned) console.log(`… then after a plan change (every kept tree dropped; ${replanned.trees} rebuilt by these calls): p50 ${replanned.p50Us.toFixed(0)} µs, p99 ${replanned.p99Us.toFixed(0)} µs, max ${(replanned.maxUs / 1000).toFixed(1)} ms, CPU ${replanned.cpuUs.toFixed(0)} µs a call; ${perCalls(replanned.gc, replanned.calls)}`);
      try {
        await load(port, reqs, undefined); // warm the server (JIT, caches) once
        for (const gen of generators) {
          for (const rate of [undefined, ...OPEN_RATES]) {
            const cpu0 = await childCpuUs(child);
            const own0 = process.cpuUsage();
            const ownGc = new GcWindow();
            const r = gen === 'grpcio' ? await loadPy(port, bodiesPath, rate) : await load(port, reqs, rate);
            const own = process.cpuUsage(own0);
            const clientGc = ownGc.take();
            const cpu1 = await childCpuUs(child);
            const serverCpu = (cpu1.cpuUs - cpu0.cpuUs) / r.total;
            if (cpu1.trees > cpu0.trees) console.log(`(${kind}, ${gen}, ${rate ?? 'closed'}: ${cpu1.trees - cpu0.trees} road trees computed during the run)`);
            const clientCpu = r.ownCpuUs ?? (own.user + own.system) / r.total;
            const label = rate === undefined ? `closed loop, ${CALLERS} in flight` : `open loop, ${rate} req/s`;
            const p99 = pct(r.latMs, 0.99);
            byLoad.set(`${gen}: ${label}`, [...(byLoad.get(`${gen}: ${label}`) ?? []), { p99, cpu: serverCpu }]);
            rows.push(`| ${kind} | ${gen} | ${label} | ${(r.calls / r.seconds).toFixed(0)} | ${pct(r.latMs, 0.5).toFixed(2)} | ${p99.toFixed(2)} | ${serverCpu.toFixed(0)} | ${clientCpu.toFixed(0)} | ${r.sendLagP99Ms?.toFixed(2) ?? '—'} | ${loadavg()[0]!.toFixed(1)} | ${r.errors}${r.firstError ? ` (${r.firstError})` : ''} |`);
            gcRows.push(`| ${kind} | ${gen}, ${label} | ${gcCells(cpu1.gc, r.total)} | ${gen === 'grpcio' ? 'Python, collector off' : gcCells(clientGc, r.total)} |`);
          }
        }
      } finally {
        child.send('stop');
        await new Promise((r) => child.once('exit', r));
      }
    }
    console.log(rows.join('\n'));
    console.log(gcRows.join('\n'));
    for (const [label, [gw, noop]] of byLoad) {
      if (gw && noop) console.log(`${label}: greenwave ÷ no-op: p99 ${(gw.p99 / noop.p99).toFixed(2)}×, server CPU a call ${(gw.cpu / noop.cpu).toFixed(2)}× (${(gw.cpu - noop.cpu).toFixed(0)} µs more)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'server') void serve(process.argv[3]!, process.argv[4]!);
else await main();
