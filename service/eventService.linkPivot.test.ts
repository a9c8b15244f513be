/**
 * EventService.LinkPivot over a real gRPC server and a real SQLite store, on the demo city's
 * corridor (renmin-rd, I1…I8): the simulator records the event log of 15 minutes under the
 * city's 08:00 plan (simulator/events.ts SimEventRecorder), the log is stored as the
 * collector would store it (several insertEvents batches), and the suggested offsets the
 * service returns must be those engine/measures/linkPivot.ts computes on the recorded buffer
 * itself (not read back from the database), for the logged cycle, a given cycle, and a
 * sub-range of the log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, loadProtos, type RunningServer } from './server.js';
import { TokenStore } from './auth.js';
import { SqliteStorage } from './storage/sqlite.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { EventBuffer } from '../engine/events/buffer.js';
import { measureContext } from '../engine/measures/context.js';
import { linkPivot, type LinkPivotResult } from '../engine/measures/linkPivot.js';
import { Simulation } from '../simulator/simulation.js';
import { movementFlowsFromLanes } from '../simulator/demand.js';
import { SimEventRecorder } from '../simulator/events.js';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };
const NETWORK = fileURLToPath(new URL('../examples/demo-city/network.json', import.meta.url));
const COUNTS = fileURLToPath(new URL('../examples/demo-city/counts.csv', import.meta.url));
const RUN_S = 900;
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const dir = mkdtempSync(join(tmpdir(), 'gw-linkpivot-'));

function md(token = 'viewer-secret-1'): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}
function unary(client: Client, method: string, req: object): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }> {
  return new Promise((resolve) => (client[method] as (r: object, m: grpc.Metadata, o: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void)(req, md(), { deadline: Date.now() + 20_000 }, (err, res) => resolve({ err, res })));
}

let c: CompiledNetwork;
let log: EventBuffer;
let srv: RunningServer;
let storage: SqliteStorage;
let client: Client;

beforeAll(async () => {
  c = compileNetwork(loadNetwork(readFileSync(NETWORK, 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(COUNTS, 'utf8')), '08:00');
  const plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  const sim = new Simulation(c, plan, { movementFlowVehPerH: movementFlowsFromLanes(c, plan.laneFlowVehPerH) }, { seed: 7 });
  log = new SimEventRecorder(sim, { epochMs: T0 }).events;
  sim.runUntil(RUN_S);
  storage = await SqliteStorage.open({ path: join(dir, 'events.db') });
  // Stored as the collector stores: batches of a few thousand, all locations mixed.
  const records = log.records();
  for (let k = 0; k < records.length; k += 5000) await storage.insertEvents({ user: 'test' }, records.slice(k, k + 5000));
  srv = await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), networkPath: NETWORK, countsPath: COUNTS, at: '08:00', storage, shutdownGraceMs: 1000 });
  client = new pkg.greenwave.v1['EventService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
  // Planning and 15 simulated minutes take about 2 s alone, several times that on a busy machine.
}, 60_000);
afterAll(async () => {
  client?.close();
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The recorded events of these locations with timestamps in [fromMs, toMs), as a buffer of their own. */
function slice(locationIds: readonly string[], fromMs: number, toMs: number): EventBuffer {
  const out = new EventBuffer(log.length);
  for (let k = 0; k < log.length; k++) {
    const t = log.timestampMsAt(k);
    if (t >= fromMs && t < toMs && locationIds.includes(log.locations[log.locationAt(k)]!)) out.push(out.locationIndex(log.locations[log.locationAt(k)]!), t, log.codeAt(k), log.paramAt(k));
  }
  out.sortByTime();
  return out;
}

/** The engine's result in the response's shape. */
function wire(lp: LinkPivotResult, events: number): Record<string, unknown> {
  return {
    corridor_id: lp.corridorId,
    cycle_s: lp.cycleS,
    links: lp.links.map((l) => ({ upstream_id: l.upstreamId, downstream_id: l.downstreamId, adjustment_s: l.adjustmentS, arrivals: l.arrivals, arrivals_on_green_before: l.arrivalsOnGreenBefore, arrivals_on_green_after: l.arrivalsOnGreenAfter })),
    offsets: lp.offsetAdjustmentS.map((o) => ({ intersection_id: o.intersectionId, adjustment_s: o.adjustmentS })),
    percent_arrivals_on_green_before: lp.percentArrivalsOnGreenBefore,
    percent_arrivals_on_green_after: lp.percentArrivalsOnGreenAfter,
    events,
  };
}

describe('EventService.LinkPivot', () => {
  test('suggests the offsets the engine computes on the same events: logged cycle, a given cycle, a sub-range', async () => {
    const corridor = c.network.corridors[0]!;
    const endMs = T0 + RUN_S * 1000 + 1;
    const cases = [
      { fromMs: T0, toMs: endMs, cycleS: 0 },
      { fromMs: T0, toMs: endMs, cycleS: 120 },
      { fromMs: T0 + 300_000, toMs: endMs, cycleS: 0 },
    ];
    for (const { fromMs, toMs, cycleS } of cases) {
      const { err, res } = await unary(client, 'LinkPivot', { corridor_id: corridor.id, from: ts(fromMs), to: ts(toMs), cycle_s: cycleS });
      expect(err).toBeNull();
      const events = slice(corridor.intersections, fromMs, toMs);
      const want = linkPivot(measureContext(c, events), corridor, cycleS > 0 ? { cycleS } : {});
      expect(res).toEqual(wire(want, events.length));
      // Not a vacuous comparison: every link judged on real arrivals.
      expect(want.links).toHaveLength(corridor.intersections.length - 1);
      for (const l of want.links) expect(l.arrivals).toBeGreaterThan(20);
      expect(want.offsetAdjustmentS.some((o) => o.adjustmentS !== 0)).toBe(true);
    }
    const unknown = await unary(client, 'LinkPivot', { corridor_id: 'nope', from: ts(T0), to: ts(endMs) });
    expect(unknown.err?.code).toBe(grpc.status.NOT_FOUND);
    const badCycle = await unary(client, 'LinkPivot', { corridor_id: corridor.id, from: ts(T0), to: ts(endMs), cycle_s: 400 });
    expect(badCycle.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badCycle.err?.details).toContain('cycle_s');
  });
});
