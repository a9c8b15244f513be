/**
 * The cluster's shared record on a real PostgreSQL server and one real nats-server, in this
 * process (docs/cluster.md, "The shared record"):
 *  - fencing: a holder whose lease was taken over writes late with its old lease token (the
 *    real lease bucket's revisions); every such write is refused with FENCED and nothing of it
 *    is in the database, while the new holder's writes land;
 *  - a node's priority decisions reach the region's controller as overrides over Modbus and
 *    are journaled in the record (front.ts with `field` and `journalFor`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { regionNetwork } from '../../engine/cluster/regionNetwork.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import { planNetwork } from '../../engine/plan.js';
import { VirtualController } from '../../controllers-adapter/virtual/controller.js';
import { ControllerServer } from '../../controllers-adapter/modbus/server.js';
import { ControllerClient } from '../../controllers-adapter/modbus/client.js';
import { gridNetworkJson } from '../../test/fixtures/gridNetwork.js';
import { startNats, type NatsServers } from '../../test/fixtures/nats.js';
import { startPostgres, type PostgresServer } from '../../test/fixtures/postgres.js';
import { PROTO_DIR, TOKENS_FILE } from '../../test/fixtures/grpc/demo.js';
import { TokenStore } from '../auth.js';
import { deployableBody } from '../deployer.js';
import { PostgresStorage } from '../storage/postgres.js';
import { NodeFront } from './front.js';
import { openLeaseBucket, RegionLeases } from './lease.js';
import { commitRegionPlan, openPlanBucket } from './regionPlans.js';

const TTL_MS = 400;

describe('the cluster’s record in PostgreSQL (1 nats-server, 1 PostgreSQL)', () => {
  let nats: NatsServers;
  let pgs: PostgresServer;
  let nc: NatsConnection;
  /** One database for both tests (each writes its own regions): a migration costs about half a second here. */
  let url: string;
  let storage: PostgresStorage;
  const closers: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    [nats, pgs] = await Promise.all([startNats(1), startPostgres()]);
    nc = await connect({ servers: [...nats.urls] });
    // The server's own fresh database: CREATE DATABASE would cost another few hundred ms.
    url = pgs.url('postgres');
    storage = await PostgresStorage.open({ url });
  }, 60_000);
  afterAll(async () => {
    for (const f of closers.reverse()) await f();
    await storage?.close();
    await nc?.close();
    await nats?.stop();
    pgs?.stop();
  });

  /** Row counts of the tables a region's holder writes. */
  const counts = async (url: string): Promise<Record<string, number>> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const out: Record<string, number> = {};
      for (const t of ['audit_log', 'deployments', 'timing_plans', 'region_plans', 'priority_requests']) out[t] = Number((await c.query(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0].n);
      out['confirmed'] = Number((await c.query(`SELECT COUNT(*) AS n FROM deployments WHERE state = 'confirmed'`)).rows[0].n);
      return out;
    } finally {
      await c.end();
    }
  };

  it('a holder whose region was taken over writes late: every write is refused (FENCED) and nothing of it is stored', async () => {
    const leaseKv = await openLeaseBucket(nc, { ttlMs: TTL_MS, bucket: 'rec-leases' });
    const lost: string[] = [];
    const a = new RegionLeases(leaseKv, { nodeId: 'a', ttlMs: TTL_MS, onLost: (r, why) => lost.push(`a:${r}:${why}`) });
    const b = new RegionLeases(leaseKv, { nodeId: 'b', ttlMs: TTL_MS, onLost: () => {} });
    const r = 'r0000';
    expect(await a.acquire(r)).toBe(true);
    const tokenA = a.token(r)!;
    const viewA = storage.fenced({ regionId: r, token: tokenA, nodeId: 'a' });
    const actorA = { user: 'node:a' };
    // A, holding the region: the committed plan and a rollout to two controllers, one sent.
    const planA = await viewA.recordRegionPlan(actorA, { regionId: r, revision: 7, body: { wire: 'AAAA', forInterval: '08:00' }, reason: 'revision 7' });
    const [d1, d2] = await viewA.stageDeployments(actorA, ['i1', 'i2'].map((controllerId) => ({ controllerId, planId: planA.planId, wirePlanId: 7, rolloutId: 'a-7' })));
    await viewA.transitionDeployment(actorA, d1!.id, { from: 'staged', to: 'committed' });

    // A stops renewing (paused); its lease lapses and B takes the region under a larger token.
    const t0 = Date.now();
    while (!(await b.acquire(r).catch(() => false))) {
      expect(Date.now() - t0).toBeLessThan(5000);
      await new Promise((res) => setTimeout(res, 100));
    }
    const tokenB = b.token(r)!;
    expect(tokenB).toBeGreaterThan(tokenA);
    expect(lost).toEqual([`a:${r}:expired`]);
    const viewB = storage.fenced({ regionId: r, token: tokenB, nodeId: 'b' });
    const actorB = { user: 'node:b' };
    // B's first write raises the fence and ends what A left in flight; the same revision is the same stored plan.
    expect(await viewB.supersedeDeployments(actorB, ['i1', 'i2'], 'superseded: taken over by b')).toBe(2);
    expect((await viewB.recordRegionPlan(actorB, { regionId: r, revision: 7, body: { wire: 'AAAA', forInterval: '08:00' }, reason: 'revision 7' })).planId).toBe(planA.planId);
    const [e1] = await viewB.stageDeployments(actorB, [{ controllerId: 'i1', planId: planA.planId, wirePlanId: 7, rolloutId: 'b-7' }]);
    expect(await storage.regionFence(r)).toMatchObject({ token: tokenB, nodeId: 'b' });

    // A wakes up and writes on, as if its writes had been in flight all along: each one refused.
    const before = await counts(url);
    const late = await Promise.allSettled([
      viewA.transitionDeployment(actorA, d1!.id, { from: 'committed', to: 'confirmed', readBackPlanId: 7 }),
      viewA.transitionDeployment(actorA, d2!.id, { from: 'staged', to: 'failed', reason: 'late' }),
      viewA.stageDeployments(actorA, [{ controllerId: 'i3', planId: planA.planId, wirePlanId: 7, rolloutId: 'a-7b' }]),
      viewA.recordRegionPlan(actorA, { regionId: r, revision: 9, body: { wire: 'BBBB', forInterval: '09:00' }, reason: 'revision 9' }),
      viewA.recordAudit(actorA, 'region.note', { late: true }),
      viewA.journalPriority(actorA, [{ kind: 'open', request: { requestId: 'q1', vehicleId: 'bus-1', intersectionId: 'i1', priorityClass: 'bus', client: 'x', requestedAtMs: 1, etaMs: 2 } }]),
    ]);
    for (const p of late) expect(p.status === 'rejected' ? p.reason : p.value).toMatchObject({ code: 'FENCED', regionId: r, token: tokenA, recordedToken: tokenB, recordedNode: 'b' });
    expect(await counts(url)).toEqual(before);
    expect(before['confirmed']).toBe(0);
    expect((await storage.getDeployment(d1!.id))!.reason).toBe('superseded: taken over by b');
    expect((await storage.listRegionPlans(r)).map((p) => [p.revision, p.nodeId, p.token])).toEqual([[7, 'a', tokenA]]);
    expect(await storage.regionFence(r)).toMatchObject({ token: tokenB, nodeId: 'b' });
    // The new holder writes on.
    await viewB.transitionDeployment(actorB, e1!.id, { from: 'staged', to: 'committed' });
    expect((await storage.listAudit({ actor: 'node:a' })).map((x) => x.action)).not.toContain('region.note');
    expect((await storage.listAudit({ actionPrefix: 'region.fence' })).map((x) => JSON.parse(x.detail) as unknown)).toEqual([
      { regionId: r, token: tokenA, previousToken: null, previousNode: null },
      { regionId: r, token: tokenB, previousToken: tokenA, previousNode: 'a' },
    ]);
    expect(await storage.verifyAudit()).toMatchObject({ ok: true });
    a.dropAll();
    await b.release(r);
  }, 15_000);

  it('a held region’s priority decisions reach its controller as overrides, and are journaled in the record', async () => {
    const net = loadNetwork(JSON.stringify(gridNetworkJson({ rows: 1, cols: 2, colSpacingM: 250, rowSpacingM: 250 })));
    const region = partitionRegions(net, 4).regions[0]!;
    // The region's own network, as a node works on it (engine/cluster/regionNetwork.ts).
    const c = compileNetwork(regionNetwork(net, region));
    const regionOf = new Map(region.signalIds.map((id) => [id, region.id] as const));
    const plan = planNetwork(c, new Float64Array(c.detectorIds.length).fill(60), 900).buffer;
    const plans = await openPlanBucket(nc, { bucket: 'rec-plans' });
    await commitRegionPlan(plans, region.id, deployableBody(c, plan, [], '08:00'));
    // The controllers run the committed plan on the real clock, as after a rollout.
    const clock = (): number => Date.now() / 1000;
    const controllers = c.intersectionIds.map((_, i) => new VirtualController(c, i, plan, { startS: clock() - 300, commLossTimeoutS: 0 }));
    const srv = await ControllerServer.start(controllers.map((controller, k) => ({ unitId: k + 1, controller })), { clock });
    closers.push(() => srv.close());
    const endpoints = controllers.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port: srv.port }));
    const client = new ControllerClient(c, endpoints, { timeoutMs: 1000, connectTimeoutMs: 1000 });
    closers.push(() => client.close());
    let held = true;
    let token = 5;
    const front = await NodeFront.start({
      nodeId: 'a',
      nc,
      networkOf: () => c,
      regionOf,
      plans,
      holds: () => held,
      tokens: TokenStore.fromFile(TOKENS_FILE),
      field: () => ({ client, endpoints }),
      journalFor: (r) => storage.fenced({ regionId: r, token, nodeId: 'a' }),
      syncMs: 200,
    });
    closers.push(() => front.close());
    front.acquired(region.id);
    const def = protoLoader.loadSync(['greenwave/v1/priority.proto'], { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
    type Unary = (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => unknown;
    const Stub = (grpc.loadPackageDefinition(def) as unknown as { greenwave: { v1: { BusPriorityService: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { RequestPriority: Unary } } } }).greenwave.v1.BusPriorityService;
    const stub = new Stub(`127.0.0.1:${front.port}`, grpc.credentials.createInsecure());
    closers.push(() => stub.close());
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer dispatch-secret-1');
    const request = (vehicleId: string, intersectionId: string, etaS: number): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) =>
        stub.RequestPriority({ vehicle_id: vehicleId, route_id: '7', intersection_id: intersectionId, movement: 'EBT', eta_s: etaS, lateness_s: 120, occupancy: 30, priority_class: 'PRIORITY_CLASS_BUS' }, md, { deadline: Date.now() + 3000 }, (e, res) => (e ? reject(e) : resolve(res))),
      );
    // Buses at different distances until one is granted (which depends on where in its cycle the intersection is).
    let granted: { vehicle: string; i: number } | undefined;
    for (let k = 0; k < 40 && !granted; k++) {
      const i = k % c.intersectionCount;
      const res = await request(`bus-${k}`, c.intersectionIds[i]!, 4 + (k >> 1) * 3);
      if (res['granted'] === true) granted = { vehicle: `bus-${k}`, i };
    }
    expect(granted).toBeDefined();
    const ctl = controllers[granted!.i]!;
    const t0 = Date.now();
    while (ctl.overrideCommits.length === 0 && Date.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 20));
    expect(ctl.overrideCommits.length).toBeGreaterThan(0);
    expect(ctl.overrideCommits.every((id) => id >= 0x8000)).toBe(true);
    // Journaled through the holding's fenced view.
    await front.flushJournal(region.id);
    const rec = (await storage.listOpenPriorityRequests()).find((q) => q.vehicleId === granted!.vehicle);
    expect(rec).toMatchObject({ intersectionId: c.intersectionIds[granted!.i], decision: 'granted' });
    expect(await storage.regionFence(region.id)).toMatchObject({ token: 5, nodeId: 'a' });
    // Once the lease check says no, the periodic sync sends nothing more to the region's controllers.
    held = false;
    const sent = controllers.map((x) => x.overrideCommits.length);
    await new Promise((res) => setTimeout(res, 500));
    expect(controllers.map((x) => x.overrideCommits.length)).toEqual(sent);
    // Lost, then held again under a newer lease: the open request of the old holding is closed as expired.
    front.lost(region.id);
    held = true;
    token = 8;
    front.acquired(region.id);
    const t1 = Date.now();
    while ((await storage.getPriorityRequest(rec!.requestId))?.state === 'open' && Date.now() - t1 < 2000) await new Promise((res) => setTimeout(res, 20));
    expect(await storage.getPriorityRequest(rec!.requestId)).toMatchObject({ state: 'closed', closeReason: expect.stringMatching(/^expired: region r0000 taken over/) });
    expect(await storage.regionFence(region.id)).toMatchObject({ token: 8 });
  }, 15_000);
});
