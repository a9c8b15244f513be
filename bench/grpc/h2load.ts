/**
 * bench/grpc h2load client: nghttp2's h2load (C, `apt-get install nghttp2-client`)
 * as a third, independent closed-loop client beside grpc-js (load.ts) and grpcio
 * (load.py). It costs far less CPU per call than either, so on two cores more of
 * the machine is left to the server, and it keeps its streams in flight on its own
 * connections: 64 connections × 1 stream (64 independent callers) or a few
 * connections × 16 streams.
 *
 * h2load speaks plain HTTP/2: it POSTs a fixed, pre-framed gRPC body and checks only
 * the HTTP status, which gRPC sets to 200 even for a failed call. So each run sends a
 * fixed number of requests (-n) and the server process is asked over IPC how many
 * RequestPriority calls it answered OK and with an error in that span: the two
 * counts must agree exactly and the errors must be zero.
 *
 * One h2load process sends one body, so requests vary only across processes: each
 * process sends one vehicle at one intersection (protocol.ts priorityRequest), and
 * the same vehicle checking in again is an update of its open request. The answer
 * mix therefore differs from the other generators' and is reported with each run.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../service/server.js';
import { BenchError, TOKEN, priorityRequest } from './protocol.js';
import type { LoadResult, ServerCalls } from './protocol.js';

export const H2LOAD = '/usr/bin/h2load';
const PATH = '/greenwave.v1.BusPriorityService/RequestPriority';
/** priorityRequest's generator number for h2load's vehicles (grpc-js uses 0…, its warm-up 100…). */
const GENERATOR = 200;
/** Keeps a run within reason when the calibration lands in a burst of other work. */
const MIN_REQUESTS = 2_000;
const MAX_REQUESTS = 300_000;

/** How h2load holds its 64 calls in flight: `processes` × `connections` × `streams`. */
export interface H2Layout {
  readonly label: string;
  /** h2load processes, one request body each. */
  readonly processes: number;
  /** HTTP/2 connections per process. */
  readonly connections: number;
  /** Concurrent streams per connection (h2load -m). */
  readonly streams: number;
}

export const H2_LAYOUTS: readonly H2Layout[] = [
  // Eight processes so that the eight bodies cover the eight intersections.
  { label: '64 conn × 1', processes: 8, connections: 8, streams: 1 },
  { label: '4 conn × 16', processes: 4, connections: 1, streams: 16 },
];

/** Whether h2load is installed; the bench skips these runs otherwise. */
export function h2loadAvailable(): boolean {
  return existsSync(H2LOAD);
}

/** The server process under load, as far as an h2load run needs it. */
export interface H2Target {
  readonly port: number;
  calls(): Promise<ServerCalls>;
}

/** Request bodies on disk (h2load -d reads a file): gRPC length-prefixed PriorityRequests. */
export class H2Bodies {
  private readonly dir = mkdtempSync(join(tmpdir(), 'greenwave-bench-h2load-'));
  readonly files: string[];

  constructor(count: number) {
    const svc = loadProtos()['greenwave.v1.BusPriorityService'] as unknown as grpc.ServiceDefinition;
    const serialize = svc['RequestPriority']!.requestSerialize;
    this.files = Array.from({ length: count }, (_, k) => {
      // n in steps of 25 (≡ 1 mod 8): each body another intersection, lateness spread over
      // priorityRequest's 30–229 s like the other generators' (one body in eight below the
      // 60 s eligibility threshold), ETAs over its 5–44 s.
      const msg = serialize(priorityRequest(GENERATOR, Math.floor((k * 8) / count) * 25));
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1); // byte 0 = 0: not compressed
      msg.copy(frame, 5);
      const file = join(this.dir, `body${k}.bin`);
      writeFileSync(file, frame);
      return file;
    });
  }

  log(k: number): string {
    return join(this.dir, `log${k}.tsv`);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface H2Out {
  /** Requests per second h2load reports for its run. */
  rps: number;
  requests: { total: number; done: number; succeeded: number; failed: number; errored: number; timeout: number };
  status2xx: number;
  /** h2load's own CPU time (user + system), s. */
  cpuS: number;
}

/** Runs one h2load under bash so that bash's `times` reports its CPU time. */
function h2load(args: string[], port: number, timeoutMs: number): Promise<H2Out> {
  const all = [...args, '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', `authorization: Bearer ${TOKEN}`, `http://127.0.0.1:${port}${PATH}`];
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', `"${H2LOAD}" "$@"; rc=$?; times; exit $rc`, 'bash', ...all], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      if (e) return reject(new BenchError(`h2load failed: ${e.message}\n${stdout.slice(-500)}\n${stderr}`));
      const fin = /finished in [^,]+, ([\d.]+) req\/s/.exec(stdout);
      const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
      const st = /status codes: (\d+) 2xx/.exec(stdout);
      // `times`: the shell's own line, then its children's: "0m1.234s 0m0.567s".
      const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stdout);
      if (!fin || !req || !st || !t) return reject(new BenchError(`h2load printed no summary:\n${stdout.slice(-800)}\n${stderr}`));
      const n = req.slice(1).map(Number);
      resolve({
        rps: Number(fin[1]),
        requests: { total: n[0]!, done: n[1]!, succeeded: n[2]!, failed: n[3]!, errored: n[4]!, timeout: n[5]! },
        status2xx: Number(st[1]),
        cpuS: Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]),
      });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const total = (c: ServerCalls): number => c.ok + Object.values(c.errors).reduce((a, b) => a + b, 0);
const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => (v as number) > 0));

/**
 * One closed-loop measurement of one server: a `warmupMs` h2load run (the rate
 * that sizes the measured run to about `durationMs`), then the measured run of a
 * fixed request count, every one of them checked against the server's own count of
 * answers; latencies and throughput are of its steady part. Check failures come
 * back as `errors` and `firstError`.
 */
export async function runH2load(target: H2Target, layout: H2Layout, bodies: H2Bodies, warmupMs: number, durationMs: number): Promise<LoadResult> {
  const { processes, connections, streams } = layout;
  const shape = ['-c', String(connections), '-m', String(streams)];
  const wall0 = performance.now();
  const c0 = await target.calls();
  // The rate is taken after h2load's own warm-up of the same length: a server answers 64
  // fresh connections at half its rate or less for their first half second or so.
  const warm = await Promise.all(
    Array.from({ length: processes }, (_, k) => h2load([...shape, '--warm-up-time', `${warmupMs}ms`, '-D', `${warmupMs}ms`, '-d', bodies.files[k]!], target.port, 2 * warmupMs + 30_000)),
  );
  // Calls still in the server's socket buffers when h2load hung up are answered now, before the count.
  await sleep(150);
  const c1 = await target.calls();
  const rate = warm.reduce((s, w) => s + w.rps, 0);
  const perProcess = Math.ceil(Math.min(MAX_REQUESTS, Math.max(MIN_REQUESTS, (rate * (durationMs + warmupMs)) / 1000)) / processes);
  const timeoutMs = 10 * durationMs + 30_000;
  const runs = await Promise.all(
    Array.from({ length: processes }, (_, k) => {
      rmSync(bodies.log(k), { force: true });
      return h2load([...shape, '-n', String(perProcess), '-d', bodies.files[k]!, '--log-file', bodies.log(k)], target.port, timeoutMs);
    }),
  );
  const c2 = await target.calls();
  const wallS = (performance.now() - wall0) / 1000;

  // Per request: start time (µs since the epoch, one clock for all processes), HTTP status, µs to the end of the response.
  const logs = Array.from({ length: processes }, (_, k) =>
    readFileSync(bodies.log(k), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').map(Number) as [number, number, number]),
  );
  const all = logs.flat();
  const non200 = all.filter((r) => r[1] !== 200).length;
  // The measured window, like the other generators' after their warm-up on the same
  // connections: from `warmupMs` after the first request (new connections are slow at
  // first, see above) to when the first process sends its last request (after that
  // fewer calls are in flight).
  // Reduced, not spread: a run holds up to MAX_REQUESTS entries.
  const first = all.reduce((m, r) => Math.min(m, r[0]), Infinity);
  const lastSend = logs.reduce((m, l) => Math.min(m, l.reduce((x, r) => Math.max(x, r[0]), -Infinity)), Infinity);
  const from = first + Math.min(warmupMs * 1000, (lastSend - first) / 4);
  const window = all.filter((r) => r[0] >= from && r[0] < lastSend);
  const latenciesMs = window.map((r) => r[2] / 1000);

  const sent = perProcess * processes;
  const ok = c2.ok - c1.ok;
  const serverErrors = total(c2) - total(c1) - ok;
  const problems: string[] = [];
  const succeeded = runs.reduce((s, r) => s + r.requests.succeeded, 0);
  const h2Failed = runs.reduce((s, r) => s + r.requests.failed + r.requests.errored + r.requests.timeout, 0);
  if (succeeded !== sent || h2Failed > 0) problems.push(`h2load: ${succeeded} of ${sent} requests succeeded, ${h2Failed} failed/errored/timed out`);
  const got2xx = runs.reduce((s, r) => s + r.status2xx, 0);
  if (got2xx !== sent || non200 > 0 || all.length !== sent) problems.push(`h2load: ${got2xx} HTTP 2xx, ${all.length} logged, ${non200} logged non-200, of ${sent}`);
  if (serverErrors > 0) problems.push(`server answered ${serverErrors} with an error status (first: ${c2.firstError || c1.firstError})`);
  if (ok !== sent) problems.push(`server answered ${ok} OK, h2load sent ${sent}`);

  const spanS = (lastSend - from) / 1e6;
  return {
    type: 'result',
    latenciesMs,
    errors: problems.length === 0 ? 0 : Math.max(1, serverErrors + h2Failed + Math.abs(ok - sent)),
    completed: total(c2) - total(c0),
    reasons: diff(c2.reasons, c1.reasons),
    firstError: problems.join('; '),
    elapsedS: spanS > 0 ? spanS : Number.NaN,
    sendLagP99Ms: 0,
    cpuShare: (warm.reduce((s, w) => s + w.cpuS, 0) + runs.reduce((s, r) => s + r.cpuS, 0)) / wallS,
  };
}
