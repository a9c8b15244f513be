/**
 * Operations of the gRPC service: Prometheus metrics at /metrics on a port of
 * their own (calls by method and code, refused tokens, priority decisions) and
 * JSON log lines carrying the request id of a failed call.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { makeLogger, requestId } from './logging.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const T0 = 150 * 12_000_000;

function md(token?: string, reqId?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  if (reqId) m.set('x-request-id', reqId);
  return m;
}
function unary(client: Client, method: string, req: object, meta: grpc.Metadata): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, meta, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}

let srv: RunningServer;
let logText = '';

beforeAll(async () => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logText += d.toString()));
  srv = await startServer({ insecure: true, port: 0, metricsPort: 0, tokens: TokenStore.fromFile(TOKENS_FILE), clock: () => T0 + 90, logger: makeLogger('info', sink), shutdownGraceMs: 1000 });
});
afterAll(async () => {
  await srv?.close();
});

/** The value of one sample line of the exposition, 0 if absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !(want.length === 0 && line.startsWith(`${name} `))) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('operations: metrics and logs', () => {
  test('calls, a refused token and a priority decision show in /metrics (Prometheus text)', async () => {
    expect(srv.metricsPort).toBeGreaterThan(0);
    const addr = `127.0.0.1:${srv.port}`;
    const timing = new pkg.greenwave.v1['TimingService']!(addr, grpc.credentials.createInsecure());
    const bus = new pkg.greenwave.v1['BusPriorityService']!(addr, grpc.credentials.createInsecure());
    expect((await unary(timing, 'ListIntersections', {}, md('viewer-secret-1'))).err).toBeNull();
    expect((await unary(timing, 'ListIntersections', {}, md('viewer-secret-1'))).err).toBeNull();
    const refused = await unary(timing, 'ListIntersections', {}, md('not-a-token', 'client-req-42'));
    expect(refused.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const granted = await unary(bus, 'RequestPriority', { vehicle_id: 'm-bus-1', route_id: '7', intersection_id: 'I1', movement: 'EBT', eta_s: 10, lateness_s: 120, occupancy: 40, priority_class: 'PRIORITY_CLASS_BUS' }, md('dispatch-secret-1'));
    expect(granted.err).toBeNull();
    timing.close();
    bus.close();

    const res = await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const list = '/greenwave.v1.TimingService/ListIntersections';
    expect(sample(text, 'greenwave_grpc_server_handling_seconds_count', { method: list, code: 'OK' })).toBe(2);
    expect(sample(text, 'greenwave_grpc_server_handling_seconds_count', { method: list, code: 'UNAUTHENTICATED' })).toBe(1);
    expect(sample(text, 'greenwave_grpc_server_handling_seconds_bucket', { method: list, code: 'OK', le: '+Inf' })).toBe(2);
    expect(sample(text, 'greenwave_grpc_server_handling_seconds_count', { method: '/greenwave.v1.BusPriorityService/RequestPriority', code: 'OK' })).toBe(1);
    expect(sample(text, 'greenwave_auth_refused_total', { method: list })).toBe(1);
    expect(sample(text, 'greenwave_priority_decisions_total', { outcome: 'granted', strategy: String(granted.res['strategy']) })).toBe(1);
    // Series that exist before their first event, and the process's own metrics.
    expect(text).toMatch(/^greenwave_deployments_total\{outcome="confirmed"\} 0$/m);
    expect(text).toMatch(/^# TYPE greenwave_replan_duration_seconds histogram$/m);
    expect(text).toMatch(/^greenwave_controllers 0$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect((await fetch(`http://127.0.0.1:${srv.metricsPort}/other`)).status).toBe(404);
  });

  test('a failed call logs one JSON line at info with the client request id; a successful fast one logs nothing at info', async () => {
    const lines = logText
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.filter((l) => l['msg'] === 'gRPC call failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'info', name: 'greenwave', reqId: 'client-req-42', method: '/greenwave.v1.TimingService/ListIntersections', code: 'UNAUTHENTICATED' });
    expect(typeof failed[0]!['ms']).toBe('number');
    expect(lines.some((l) => l['msg'] === 'gRPC call')).toBe(false);
  });

  test('request ids: a sane client id is kept, anything else is replaced by a fresh one', () => {
    expect(requestId('abc-123_x.y')).toBe('abc-123_x.y');
    const made = [requestId('has space'), requestId('"quoted"'), requestId('x'.repeat(200)), requestId(undefined), requestId(Buffer.from('bin'))];
    for (const id of made) expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(new Set(made).size).toBe(made.length);
  });
});
