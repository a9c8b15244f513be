/**
 * What `greenwave serve --db` keeps across a kill -9, run as a user would: the
 * built CLI in a child process, a gRPC client, SIGKILL, a restart on the same
 * SQLite file. The Replan made before the kill is the plan after it (not
 * --at); a priority request left open is closed as expired; a refused token
 * is in the audit log; and `greenwave audit verify` passes on the file.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { startServeProcess, type ServeProcess } from '../test/fixtures/serveProcess.js';
import { SqliteStorage } from './storage/sqlite.js';
import { FLUSH_MS } from './journal.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const stubs = greenwaveStubs();
const md = bearer;
const unary = (client: GrpcClient, method: string, req: object, meta: grpc.Metadata) => unaryCall(client, method, req, meta, 20_000);
const serve = (args: string[]): Promise<ServeProcess> => startServeProcess(args);

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('serve --db across kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-persist-'));
  const db = join(dir, 'gw.db');
  const tokens = join(dir, 'tokens.json');
  writeFileSync(
    tokens,
    JSON.stringify({
      tokens: [
        { token: 'op-secret', client: 'tmc-operator', roles: ['operator', 'viewer'] },
        { token: 'bus-secret', client: 'bus-dispatch', roles: ['dispatch', 'viewer'] },
      ],
    }),
  );
  const args = ['--insecure', '--port', '0', '--tokens', tokens, '--db', db, '--at', '08:00'];
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('comes back on the last Replan, expires the open request, and keeps a verifiable audit log', async () => {
    const first = await serve(args);
    children.push(first.child);
    const addr = `127.0.0.1:${first.port}`;
    const timing = new stubs['TimingService']!(addr, grpc.credentials.createInsecure());
    const bus = new stubs['BusPriorityService']!(addr, grpc.credentials.createInsecure());
    const before = await unary(timing, 'GetPlan', { intersection_id: 'I1' }, md('op-secret'));
    expect(before.err).toBeNull();
    expect(String(before.res['for_interval'])).toContain('T08:00');
    const replanned = await unary(timing, 'Replan', { at: '17:30' }, md('op-secret'));
    expect(replanned.err).toBeNull();
    const req = await unary(bus, 'RequestPriority', { vehicle_id: 'bus-77', route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 600, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, md('bus-secret'));
    expect(req.err).toBeNull();
    const refused = await unary(timing, 'GetPlan', { intersection_id: 'I1' }, md('stolen-token'));
    expect(refused.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    // The priority record and refused tokens are written behind, every FLUSH_MS.
    await new Promise((r) => setTimeout(r, FLUSH_MS * 4));
    timing.close();
    bus.close();
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await serve(args);
    children.push(second.child);
    const timing2 = new stubs['TimingService']!(`127.0.0.1:${second.port}`, grpc.credentials.createInsecure());
    const after = await unary(timing2, 'GetPlan', { intersection_id: 'I1' }, md('op-secret'));
    timing2.close();
    expect(after.err).toBeNull();
    expect(String(after.res['for_interval'])).toContain('T17:30');
    // The same plan a fresh service makes for 17:30.
    expect(after.res['plans']).toEqual((await planAt('17:30'))['plans']);
    expect(second.stderr()).toMatch(/restored the plan for 17:30 .* in place of --at 08:00/);
    expect(second.stderr()).toMatch(/1 priority request left open by the previous run closed as expired/);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);

    const s = await SqliteStorage.open({ path: db, readOnly: true });
    try {
      const audit = await s.listAudit({ limit: 10_000 });
      const actions = audit.map((r) => r.action);
      expect(actions).toContain('plan.save');
      expect(actions).toContain('priority.batch');
      const auth = audit.find((r) => r.action === 'auth.refused');
      expect(auth?.actor).toBe('unauthenticated');
      expect(JSON.parse(auth!.detail)).toMatchObject({ method: '/greenwave.v1.TimingService/GetPlan', count: 1 });
      const planRow = audit.find((r) => r.action === 'plan.save')!;
      expect(planRow.actor).toBe('tmc-operator');
      expect(await s.listOpenPriorityRequests()).toEqual([]);
    } finally {
      await s.close();
    }
    const verify = spawnSync(process.execPath, [MAIN, 'audit', 'verify', '--db', db], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  }, 120_000);
});

/** The plan a fresh service on another database computes for `at` (to compare the restored one with). */
async function planAt(at: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-persist-ref-'));
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [{ token: 'viewer-secret', client: 'v', roles: ['viewer'] }] }));
  const ref = await serve(['--insecure', '--port', '0', '--tokens', tokens, '--db', join(dir, 'ref.db'), '--at', at]);
  try {
    const t = new stubs['TimingService']!(`127.0.0.1:${ref.port}`, grpc.credentials.createInsecure());
    const r = await unary(t, 'GetPlan', { intersection_id: 'I1' }, md('viewer-secret'));
    t.close();
    return r.res;
  } finally {
    ref.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
