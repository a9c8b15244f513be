/**
 * grpc.health.v1.Health on a real server: Check answers SERVING for the server as a whole and
 * for every greenwave.v1 service in the protos the server loads (so a service added later
 * without a health entry fails here), Watch says the same, and an unknown name is NOT_FOUND.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, unknown> }; grpc: { health: { v1: { Health: new (addr: string, creds: grpc.ChannelCredentials) => Client } } } };
const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/events/${name}`, import.meta.url));

let srv: RunningServer;
let client: Client;
beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), networkPath: fixture('network.json'), countsPath: fixture('counts.csv'), at: '08:00', shutdownGraceMs: 1000 });
  client = new pkg.grpc.health.v1.Health(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
}, 30_000);
afterAll(async () => {
  client?.close();
  await srv?.close();
});

function check(service: string): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client['Check'] as (r: object, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)({ service }, { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, res })));
}

describe('health', () => {
  test('every greenwave.v1 service and the server as a whole are SERVING; unknown names are NOT_FOUND', async () => {
    const services = Object.entries(pkg.greenwave.v1)
      .filter(([, v]) => typeof v === 'function' && 'service' in (v as object))
      .map(([k]) => `greenwave.v1.${k}`);
    expect(services).toEqual(expect.arrayContaining(['greenwave.v1.EventService', 'greenwave.v1.OperationsService']));
    for (const service of ['', ...services]) {
      const { err, res } = await check(service);
      expect(err, service).toBeNull();
      expect(res['status'], service).toBe('SERVING');
    }
    const watch = (client['Watch'] as (r: object) => grpc.ClientReadableStream<Record<string, unknown>>)({ service: 'greenwave.v1.EventService' });
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      watch.once('data', resolve);
      watch.once('error', reject);
    });
    watch.cancel();
    expect(first['status']).toBe('SERVING');
    const unknown = await check('greenwave.v1.NoSuchService');
    expect(unknown.err?.code).toBe(grpc.status.NOT_FOUND);
  });
});
