/**
 * `npm start` (`greenwave demo`) on a fresh build, as a user runs it: the
 * whole system comes up in under 30 s; the service answers gRPC with the demo
 * tokens and serves metrics, the console lets a demo user in; every virtual controller runs the service's
 * plan; the simulator's vehicles reach the controllers' detector counts; and
 * Ctrl-C (SIGTERM here) stops it all with exit 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCompiledNetwork } from '../engine/network/load.js';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { DEFAULT_NETWORK, loadProtos } from '../service/server.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

describe('greenwave demo (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brings the system up in under 30 s, feeds the controllers from the simulator, and stops cleanly', async () => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [MAIN, 'demo', '--port', '0', '--metrics-port', '0', '--modbus-port', '0', '--web-port', '0', '--db', join(dir, 'demo.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`demo not ready in 30 s: ${out}${err}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready;')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`demo exited ${code}: ${err}`)));
      });
      expect(Date.now() - t0).toBeLessThan(30_000);
      const grpcPort = Number(/gRPC +127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const metricsUrl = /metrics +(http:\S+)/.exec(out)![1]!;
      const modbusPort = Number(/modbus tcp 127\.0\.0\.1:(\d+)/.exec(out)![1]);

      const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
      const timing = new pkg.greenwave.v1['TimingService']!(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer demo-viewer-token');
      const plan = await new Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }>((resolve) =>
        (timing['GetPlan'] as (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)({ intersection_id: 'I1' }, md, (e, r) => resolve({ err: e, res: r })),
      );
      timing.close();
      expect(plan.err).toBeNull();
      expect(String(plan.res['for_interval'])).toContain('T08:00');
      const metrics = await fetch(metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('greenwave_');
      // The console, with the demo users it prints (examples/demo-city/users.json).
      const consoleUrl = /console +(http:\S+)/.exec(out)![1]!;
      expect((await fetch(consoleUrl)).status).toBe(200);
      const login = await fetch(`${consoleUrl}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'demo-operator', password: 'demo-operator-pass' }) });
      expect(login.status).toBe(200);
      expect(await login.json()).toMatchObject({ user: 'demo-operator', roles: ['operator', 'viewer'] });

      // Every controller runs a plan the service pushed; the simulator's vehicles reach their loops.
      const c = loadCompiledNetwork(DEFAULT_NETWORK);
      const reader = new ControllerClient(c, c.intersectionIds.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: modbusPort })), { timeoutMs: 1000, retries: 1 });
      try {
        for (let i = 0; i < c.intersectionCount; i++) expect((await reader.readStatus(i + 1)).pendingPlanId + (await reader.readStatus(i + 1)).activePlanId).toBeGreaterThan(0);
        await reader.pollDetectors(1);
        await new Promise((r) => setTimeout(r, 4000));
        let counted = 0;
        for (let i = 0; i < c.intersectionCount; i++) counted += (await reader.pollDetectors(i + 1)).volumes.reduce((a, b) => a + b, 0);
        expect(counted).toBeGreaterThan(0);
      } finally {
        await reader.close();
      }
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
      expect(code).toBe(0);
    }
    expect(out).toMatch(/stopped \(\d+ vehicles fed/);
    expect(Number(/stopped \((\d+) vehicles/.exec(out)![1])).toBeGreaterThan(0);
  }, 90_000);
});
