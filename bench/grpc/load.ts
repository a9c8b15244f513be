/**
 * bench/grpc load generator (grpc-js client), one child process per generator so
 * that it never shares an event loop with the server or with another generator.
 * Forked by bench/grpc/run.ts: receives LoadJob messages over IPC, runs each
 * (closed loop or open-loop Poisson arrivals) and answers with a LoadResult.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../service/server.js';
import { BenchError, TOKEN, priorityRequest } from './protocol.js';
import { mulberry32 as rng } from '../../engine/numeric.js';
import type { LoadJob, LoadResult } from './protocol.js';

if (!process.send) throw new BenchError('bench/grpc/load.js must be forked by bench/grpc/run.js (it reports over IPC)');
const send = process.send.bind(process);

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { reason?: string }) => void) => void;
type Stub = grpc.Client & { RequestPriority: Unary };
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: { BusPriorityService: new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => Stub } } };

const meta = new grpc.Metadata();
meta.set('authorization', `Bearer ${TOKEN}`);

function p99(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))]!;
}

async function run(job: LoadJob): Promise<LoadResult> {
  // A local subchannel pool per stub: otherwise grpc-js shares one connection among all stubs for the same target.
  const stubs = Array.from({ length: job.channels }, () => new pkg.greenwave.v1.BusPriorityService(`127.0.0.1:${job.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  await Promise.all(stubs.map((s) => new Promise<void>((resolve, reject) => s.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())))));
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  let completed = 0;
  const reasons: Record<string, number> = {};
  let firstError = '';
  let n = 0;
  const t0 = performance.now();
  const windowStart = t0 + job.warmupMs;
  const windowEnd = windowStart + job.durationMs;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(() => (cpuAtStart = process.cpuUsage()), job.warmupMs);

  /** One call; resolves when it answers. Only calls sent inside the window are recorded. */
  const call = (stub: Stub): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = priorityRequest(job.generator, n++);
      const sent = performance.now();
      stub.RequestPriority(req, meta, { deadline: Date.now() + 5000 }, (e, res) => {
        const done = performance.now();
        completed++;
        if (sent >= windowStart && sent < windowEnd) {
          if (e) {
            errors++;
            if (!firstError) firstError = `${grpc.status[e.code]}: ${e.details}`;
          } else {
            latencies.push(done - sent);
            const reason = res?.reason ?? '?';
            reasons[reason] = (reasons[reason] ?? 0) + 1;
          }
        }
        resolve();
      });
    });

  if (job.mode === 'closed') {
    await Promise.all(
      Array.from({ length: job.callers }, async (_, k) => {
        const stub = stubs[k % stubs.length]!;
        while (performance.now() < windowEnd) await call(stub);
      }),
    );
  } else {
    // Each caller is its own Poisson process: exponential gaps with mean callers / rate.
    const meanGapMs = (1000 * job.callers) / job.ratePerS;
    const pending: Promise<void>[] = [];
    await Promise.all(
      Array.from({ length: job.callers }, async (_, k) => {
        const rand = rng(job.generator * 7919 + k + 1);
        const stub = stubs[k % stubs.length]!;
        let due = t0 - meanGapMs * Math.log(1 - rand());
        while (due < windowEnd) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (due >= windowStart) lags.push(performance.now() - due);
          pending.push(call(stub));
          due -= meanGapMs * Math.log(1 - rand());
        }
      }),
    );
    await Promise.all(pending);
  }
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsedS = (Math.max(performance.now(), windowEnd) - windowStart) / 1000;
  for (const s of stubs) s.close();
  return { type: 'result', latenciesMs: latencies, errors, completed, reasons, firstError, elapsedS: job.durationMs / 1000, sendLagP99Ms: p99(lags), cpuShare: (cpu.user + cpu.system) / 1e3 / (elapsedS * 1000) };
}

process.on('message', (m: LoadJob | { type: 'exit' }) => {
  if (m.type === 'exit') process.exit(0);
  run(m).then(send, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
});
