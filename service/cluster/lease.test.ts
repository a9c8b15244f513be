/**
 * Region leases on real nats-server JetStream (test/fixtures/nats.ts): one server for the
 * lease rules, three clustered servers with a replicated bucket for the loss of a server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KV, type NatsConnection } from 'nats';
import { startNats, type NatsServers } from '../../test/fixtures/nats.js';
import { openLeaseBucket, RegionLeases, type LeaseLoss } from './lease.js';

const TTL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node's leases with its loss log (region, why, monotonic ms). */
function leases(kv: KV, nodeId: string): { l: RegionLeases; lost: { region: string; why: LeaseLoss; atMs: number }[] } {
  const lost: { region: string; why: LeaseLoss; atMs: number }[] = [];
  const l = new RegionLeases(kv, { nodeId, ttlMs: TTL_MS, onLost: (region, why) => lost.push({ region, why, atMs: performance.now() }) });
  return { l, lost };
}

describe('region leases on one nats-server', () => {
  let nats: NatsServers;
  const conns: NatsConnection[] = [];
  let bucket = 0;
  const open = async (): Promise<{ a: KV; b: KV }> => {
    const name = `leases-${bucket++}`;
    const [ca, cb] = await Promise.all([connect({ servers: [...nats.urls] }), connect({ servers: [...nats.urls] })]);
    conns.push(ca, cb);
    return { a: await openLeaseBucket(ca, { ttlMs: TTL_MS, bucket: name }), b: await openLeaseBucket(cb, { ttlMs: TTL_MS, bucket: name }) };
  };
  beforeAll(async () => {
    nats = await startNats(1);
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await nats?.stop();
  });

  it('one holder at a time: a lease renewed stays, one left alone ends at its holder before another can take it', async () => {
    const { a: kvA, b: kvB } = await open();
    const A = leases(kvA, 'A');
    const B = leases(kvB, 'B');
    expect(await A.l.acquire('r0000')).toBe(true);
    expect(await B.l.acquire('r0000')).toBe(false);
    const token = A.l.token('r0000')!;
    // Renewed for one and a half TTLs: still A's, B still refused.
    for (let k = 0; k < 6; k++) {
      await sleep(TTL_MS / 4);
      expect(await A.l.renew('r0000')).toBe(true);
    }
    expect(await B.l.acquire('r0000')).toBe(false);
    expect(A.lost).toEqual([]);
    // A stops renewing (as a hung node would): B tries every 50 ms and wins only after A stopped.
    const t0 = performance.now();
    let bMs = 0;
    while (!(await B.l.acquire('r0000'))) {
      expect(performance.now() - t0).toBeLessThan(3 * TTL_MS);
      await sleep(50);
    }
    bMs = performance.now();
    expect(A.lost.map((x) => [x.region, x.why])).toEqual([['r0000', 'expired']]);
    expect(A.lost[0]!.atMs).toBeLessThan(bMs);
    expect(A.l.holds('r0000')).toBe(false);
    expect(await A.l.renew('r0000')).toBe(false);
    expect(B.l.token('r0000')).toBeGreaterThan(token);
    B.l.dropAll();
  });

  it('a lease overwritten behind its holder is lost at the next renewal, at once', async () => {
    const { a: kvA, b: kvB } = await open();
    const A = leases(kvA, 'A');
    expect(await A.l.acquire('r0001')).toBe(true);
    await kvB.put('r0001', JSON.stringify({ node: 'operator', atMs: Date.now() }));
    expect(await A.l.renew('r0001')).toBe(false);
    expect(A.lost.map((x) => x.why)).toEqual(['taken']);
    expect(A.l.holds('r0001')).toBe(false);
  });

  it('a released lease is free at once, and the holder stopped before it was given back', async () => {
    const { a: kvA, b: kvB } = await open();
    const A = leases(kvA, 'A');
    const B = leases(kvB, 'B');
    expect(await A.l.acquire('r0002')).toBe(true);
    await A.l.release('r0002');
    expect(A.lost.map((x) => x.why)).toEqual(['released']);
    expect(await B.l.acquire('r0002')).toBe(true);
    B.l.dropAll();
  });
});

describe('region leases on a 3-server cluster', () => {
  let nats: NatsServers;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    nats = await startNats(3);
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
    await nats?.stop();
  });

  it('killing the server that leads the lease stream: leases lapse safely while JetStream elects a new leader, then work again', async () => {
    // nats-server 2.9's raft waits 4–9 s (random) before electing a new leader, and the lease
    // stream takes no write meanwhile: a holder that cannot renew must stop at its own time,
    // and take its regions again once writes work.
    const ttlMs = 3000;
    const ca = await connect({ servers: [...nats.urls], reconnectTimeWait: 100 });
    const cb = await connect({ servers: [...nats.urls].reverse(), reconnectTimeWait: 100 });
    conns.push(ca, cb);
    const kvA = await openLeaseBucket(ca, { ttlMs, replicas: 3 });
    const kvB = await openLeaseBucket(cb, { ttlMs, replicas: 3 });
    const lostA: { r: string; why: string; atMs: number }[] = [];
    const A = new RegionLeases(kvA, { nodeId: 'A', ttlMs, onLost: (r, why) => lostA.push({ r, why, atMs: performance.now() }) });
    const B = new RegionLeases(kvB, { nodeId: 'B', ttlMs, onLost: () => {} });
    const mine = ['r0', 'r1', 'r2', 'r3', 'r4'];
    for (const r of mine) expect(await A.acquire(r)).toBe(true);
    const info = await (await ca.jetstreamManager()).streams.info('KV_greenwave-leases');
    const victim = Number(info.cluster!.leader!.slice(1));
    const killedMs = performance.now();
    await nats.kill(victim);
    // A keeps renewing what it holds and taking back what lapsed, every 250 ms.
    let lastRenewMs = killedMs;
    let backMs = 0;
    while (performance.now() - killedMs < 15_000) {
      const ok = await Promise.all(mine.map((r) => (A.holds(r) ? A.renew(r) : A.acquire(r).catch(() => false))));
      if (ok.every(Boolean)) {
        if (lostA.length === 0) lastRenewMs = performance.now();
        if (lostA.length > 0 || performance.now() - killedMs > 2 * ttlMs) {
          backMs = performance.now();
          break;
        }
      }
      await sleep(250);
    }
    console.log(
      `stream leader s${victim} killed: ${lostA.length} leases lapsed (${[...new Set(lostA.map((l) => l.why))].join(', ') || 'none'}), all held again ${(backMs - killedMs).toFixed(0)} ms after the kill`,
    );
    expect(backMs).toBeGreaterThan(0);
    // Every lapse came from the holder's own clock, no later than its TTL minus the margin after the last renewal that worked.
    for (const l of lostA) {
      expect(l.why).toBe('expired');
      expect(l.atMs - lastRenewMs).toBeLessThan(ttlMs);
    }
    expect(A.regions()).toEqual(mine);
    expect(await B.acquire('r3')).toBe(false);
    expect(await B.acquire('r9')).toBe(true);
    A.dropAll();
    B.dropAll();
  });
});
