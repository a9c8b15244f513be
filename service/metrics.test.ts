/**
 * The operational metrics of service/metrics.ts that need the field, the
 * optimizer or the database behind a real server, scraped from /metrics over
 * HTTP: Replan runs (the worker loads dist/service/replanWorker.js), base-plan
 * pushes and re-syncs to virtual controllers over Modbus TCP, journal flushes
 * to a SQLite file (ok, then failed once the database is gone), and the
 * outcomes of a Deployer given the server's metrics (one controller
 * reachable, one not). service/operations.test.ts covers calls, refused
 * tokens and priority decisions.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './server.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { TokenStore } from './auth.js';
import { makeLogger } from './logging.js';
import { SqliteStorage } from './storage/sqlite.js';
import { Deployer, deployableBody } from './deployer.js';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demo, TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

/** A clock on a 150 s cycle boundary of I1, shared by the service and the controllers; it stands still unless a test moves it. */
const T0 = 150 * 12_000_000;
let now = T0 + 90;
const stubs = greenwaveStubs();
const md = bearer;
/** A unary call; the deadline is generous because the Replan worker runs at a lower OS priority and a busy machine starves it. */
const unary = (client: GrpcClient, method: string, req: object, meta: grpc.Metadata) => unaryCall(client, method, req, meta, 90_000);

/** The value of one sample line of the exposition, 0 if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !(want.length === 0 && line.startsWith(`${name} `))) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

const dir = mkdtempSync(join(tmpdir(), 'gw-metrics-'));
const { c, plan } = demo();
const N = c.intersectionCount;
let storage: SqliteStorage;
let storageOpen = false;
let field: ControllerServer;
let controllers: VirtualController[];
let srv: RunningServer;
let logText = '';

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Scrapes until `ok(text)` holds (the field side reports after the Modbus answer), or fails after `ms`. */
async function scrapeUntil(ok: (text: string) => boolean, ms = 10_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = await scrape();
    if (ok(text)) return text;
    if (Date.now() > end) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const PUSHES = 'greenwave_controller_plan_pushes_total';
const RESYNCS = 'greenwave_controller_resyncs_total';
const FLUSHES = 'greenwave_journal_flush_duration_seconds_count';

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  storageOpen = true;
  // Controllers powered up a few cycles ago, running the demo plan in step with the offsets.
  controllers = c.intersectionIds.map((_, i) => new VirtualController(c, i, plan.buffer, { startS: T0 - 600, commLossTimeoutS: 0 }));
  field = await ControllerServer.start(
    controllers.map((controller, i) => ({ unitId: i + 1, controller })),
    { clock: () => now },
  );
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logText += d.toString()));
  srv = await startServer({
    insecure: true,
    port: 0,
    metricsPort: 0,
    tokens: TokenStore.fromFile(TOKENS_FILE),
    clock: () => now,
    storage,
    logger: makeLogger('info', sink),
    controllers: controllers.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: field.port })),
    // Re-sync checks every 100 ms, so a restarted controller is found at once.
    controllerResyncMs: 100,
    shutdownGraceMs: 500,
  });
});
afterAll(async () => {
  await srv?.close();
  await field?.close();
  if (storageOpen) await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('metrics of the field, the optimizer and the database (/metrics over HTTP)', () => {
  test('base plan pushed to every controller at start, again after a Replan, and once more to a controller that restarted', async () => {
    let text = await scrapeUntil((t) => sample(t, PUSHES, { result: 'ok' }) >= N);
    expect(sample(text, PUSHES, { result: 'ok' })).toBe(N);
    expect(sample(text, PUSHES, { result: 'failed' })).toBe(0);
    expect(sample(text, RESYNCS)).toBe(0);
    expect(sample(text, 'greenwave_controllers')).toBe(N);
    expect(sample(text, 'greenwave_controllers_reachable')).toBe(N);
    expect(sample(text, 'greenwave_replan_runs_total', { outcome: 'ok' })).toBe(0);

    const timing = new stubs['TimingService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const replan = await unary(timing, 'Replan', { at: '17:00' }, md('operator-secret-1'));
    timing.close();
    expect(replan.err).toBeNull();
    expect(replan.res['for_interval']).toMatch(/T17:00$/);
    text = await scrapeUntil((t) => sample(t, PUSHES, { result: 'ok' }) >= 2 * N);
    expect(sample(text, 'greenwave_replan_runs_total', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'greenwave_replan_runs_total', { outcome: 'failed' })).toBe(0);
    expect(sample(text, 'greenwave_replan_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'greenwave_replan_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(text, PUSHES, { result: 'ok' })).toBe(2 * N);
    // A few re-sync rounds with every controller on the plan: nothing more is pushed.
    await new Promise((r) => setTimeout(r, 300));
    text = await scrape();
    expect(sample(text, PUSHES, { result: 'ok' })).toBe(2 * N);
    expect(sample(text, RESYNCS)).toBe(0);

    // A power cycle of I3's controller (its uptime starts again): the next check re-sends the plan.
    controllers[2]!.restart(now);
    text = await scrapeUntil((t) => sample(t, PUSHES, { result: 'ok' }) >= 2 * N + 1);
    expect(sample(text, RESYNCS)).toBe(1);
    expect(sample(text, PUSHES, { result: 'ok' })).toBe(2 * N + 1);
    expect(sample(text, PUSHES, { result: 'failed' })).toBe(0);
    expect(logText).toMatch(/controller I3 \(unit 3 [^)]*\) runs plan 0 .*restarted/);
  }, 120_000);

  test('journal flushes: a priority request is written by a flush counted ok', async () => {
    const before = await scrape();
    const ok0 = sample(before, FLUSHES, { outcome: 'ok' });
    const bus = new stubs['BusPriorityService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const r = await unary(bus, 'RequestPriority', { vehicle_id: 'metrics-bus-1', route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, md('dispatch-secret-1'));
    bus.close();
    expect(r.err).toBeNull();
    // The request reaches the database with the next flush (every 250 ms).
    const end = Date.now() + 5000;
    while ((await storage.listOpenPriorityRequests()).length === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 25));
    expect((await storage.listOpenPriorityRequests()).map((p) => p.vehicleId)).toEqual(['metrics-bus-1']);
    const after = await scrape();
    expect(sample(after, FLUSHES, { outcome: 'ok' })).toBeGreaterThan(ok0);
    expect(sample(after, FLUSHES, { outcome: 'failed' })).toBe(0);
    expect(sample(after, 'greenwave_journal_dropped_ops_total')).toBe(0);
  });

  test('deployments: a Deployer given the server metrics counts one confirmed and one failed', async () => {
    // A controller of its own (the service's re-sync would put the service's plan back on one of its
    // controllers), and a port where nothing listens.
    const own = new VirtualController(c, 0, plan.buffer, { startS: T0 - 600, commLossTimeoutS: 0 });
    const ownServer = await ControllerServer.start([{ unitId: 1, controller: own }], { clock: () => now });
    const deadPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const endpoints = [
      { unitId: 1, intersection: 0, host: '127.0.0.1', port: ownServer.port },
      { unitId: 2, intersection: 1, host: '127.0.0.1', port: deadPort },
    ];
    const client = new ControllerClient(c, endpoints, { timeoutMs: 2000, connectTimeoutMs: 2000, retries: 1 });
    const actor = { user: 'metrics-test' };
    const stored = await storage.saveTimingPlan(actor, { scope: { kind: 'network', id: 'metrics' }, body: deployableBody(c, plan.buffer, plan.corridors, '08:00'), reason: 'metrics test', source: 'optimizer' });
    const deployer = new Deployer(storage, client, c, endpoints, () => {}, srv.metrics, { pollMs: 20 });
    // The clock runs 500x fast meanwhile, so the pushed plan becomes active at the controller's next cycle zero.
    const ticking = setInterval(() => (now += 5), 10);
    try {
      const report = await deployer.rollout(actor, stored.planId, 'metrics-rollout');
      expect(report.confirmed, JSON.stringify(report.failed)).toBe(1);
      expect(report.failed.map((f) => f.controllerId)).toEqual([c.intersectionIds[1]]);
    } finally {
      clearInterval(ticking);
      await client.close();
      await ownServer.close();
    }
    const text = await scrape();
    expect(sample(text, 'greenwave_deployments_total', { outcome: 'confirmed' })).toBe(1);
    expect(sample(text, 'greenwave_deployments_total', { outcome: 'failed' })).toBe(1);
  });

  test('journal flushes: with the database gone, flushes are counted failed', async () => {
    const before = await scrape();
    expect(sample(before, FLUSHES, { outcome: 'failed' })).toBe(0);
    await storage.close();
    storageOpen = false;
    // A refused token is audited by the next flush, which now cannot write.
    const timing = new stubs['TimingService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    expect((await unary(timing, 'ListIntersections', {}, md('not-a-token'))).err?.code).toBe(grpc.status.UNAUTHENTICATED);
    timing.close();
    const text = await scrapeUntil((t) => sample(t, FLUSHES, { outcome: 'failed' }) >= 1);
    expect(sample(text, FLUSHES, { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(logText).toMatch(/"level":"warn".*could not write the priority record/);
  });
});
