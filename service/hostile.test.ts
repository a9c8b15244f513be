/**
 * Slow viewers against `greenwave serve` in a child process (so its RSS and its exit on
 * SIGTERM are measurable): the 20,000-id WatchSignalState is refused, and hundreds of
 * viewers at 0.1 s that never read leave the server's memory bounded, RequestPriority
 * fast, and SIGTERM prompt. Needs the compiled dist/ (cli/main.js).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { availableParallelism, loadavg } from 'node:os';
import { loadProtos } from './server.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { rawCall, rawSession } from '../test/fixtures/grpc/rawGrpc.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const WATCH = 'greenwave.v1.SignalStateService/WatchSignalState';

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** CPU time of a process (utime + stime), ms; Linux. */
const cpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

let child: ChildProcess;
let port = 0;
beforeAll(async () => {
  child = spawn(process.execPath, [CLI, 'serve', '--insecure', '--port', '0', '--tokens', TOKENS_FILE], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}, 20_000);
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

describe('slow viewers against greenwave serve (child process)', () => {
  test('20,000-id viewer refused; 400 viewers at 0.1 s that never read: RSS +<200 MB, no server CPU, RequestPriority p99 <50 ms, SIGTERM prompt', async () => {
    const bus = new pkg.greenwave.v1['BusPriorityService']!(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const meta = new grpc.Metadata();
    meta.set('authorization', 'Bearer dispatch-secret-1');
    const probe = async (ms: number): Promise<number[]> => {
      const lat: number[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < ms) {
        const t = performance.now();
        const err = await new Promise<grpc.ServiceError | null>((resolve) =>
          (bus['RequestPriority'] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null) => void) => void)(
            { vehicle_id: `p-${lat.length % 50}`, route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' },
            meta,
            { deadline: Date.now() + 5000 },
            (e) => resolve(e),
          ),
        );
        lat.push(performance.now() - t);
        expect(err).toBeNull();
        await new Promise((r) => setTimeout(r, 10));
      }
      return lat;
    };
    const base = await probe(1000);
    const rss0 = rssMb(child.pid!);

    const sessions = Array.from({ length: 4 }, () => rawSession(port, 65_535));
    // The hostile request of issue 11: refused before anything is computed.
    const huge = rawCall(sessions[0]!, WATCH, { intersection_ids: Array.from({ length: 20_000 }, () => 'I1'), interval_s: 0.1 }, 'viewer-secret-1');
    expect(await huge.status).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: "intersection_ids: 20000 ids given; at most 10 (the network's size)" });
    // The most a viewer may ask for (every intersection at the shortest interval), 400 times, never read.
    const slow = Array.from({ length: 400 }, (_, k) => rawCall(sessions[k % 4]!, WATCH, { interval_s: 0.1 }, 'viewer-secret-1'));
    // Their HTTP/2 windows fill first (a second or more on a busy machine); after that they must cost
    // the server next to nothing: wait (at most 12 s) for a quiet half second, which never comes
    // if the server keeps writing 40,000 messages a second.
    let quiet = false;
    for (let k = 0; k < 24 && !quiet; k++) {
      const c = cpuMs(child.pid!);
      await new Promise((r) => setTimeout(r, 500));
      quiet = cpuMs(child.pid!) - c < 60;
    }
    expect(quiet).toBe(true);
    const cpu0 = cpuMs(child.pid!);
    const lat = await probe(2000);
    const busyMs = cpuMs(child.pid!) - cpu0;
    const rss1 = rssMb(child.pid!);
    console.log(`serve RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MB with 400 slow viewers; RequestPriority p99 ${p99(base).toFixed(1)} ms before, ${p99(lat).toFixed(1)} ms with them (${lat.length} calls); server CPU ${busyMs} ms in those 2 s`);
    expect(rss1 - rss0).toBeLessThan(200);
    // 400 streams × 10 intersections × 10 Hz written would be 40,000 messages a second; held back, the
    // server spends its time on the probe's calls (≈ 1-2 ms each).
    expect(busyMs).toBeLessThan(300 + 3 * lat.length);
    // As in governance.test.ts: latency is asserted only when the machine is not oversubscribed.
    if (loadavg()[0]! / availableParallelism() < 2) expect(p99(lat)).toBeLessThan(50 + Math.max(0, p99(base) - 10));
    expect(slow.length).toBe(400);

    const t = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const exitMs = Date.now() - t;
    console.log(`serve exited ${exitMs} ms after SIGTERM`);
    expect(exitMs).toBeLessThan(5000); // 2 s drain grace, then forced
    bus.close();
    for (const s of sessions) s.destroy();
  }, 30_000);
});
