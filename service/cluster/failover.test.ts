/**
 * Failover of region ownership, with real processes: a 3-server nats-server cluster
 * (test/fixtures/nats.ts), three nodes (dist/service/cluster/nodeMain.js, one process each)
 * sharing 36 regions, one node killed with SIGKILL. Checked from the lease bucket's own
 * history (a watch in this process, server timestamps) and from the nodes' write logs:
 *  - the dead node's regions are owned again within 10 s, and at the end every region by a
 *    live node;
 *  - a lease changes hands only after it was given back or the old one had expired;
 *  - every message published to a region reaches its owner, those published to the dead
 *    node's regions after the kill a survivor (the regions' durable inboxes, regionBus.ts);
 *  - a node that hangs (SIGSTOP) past its leases and resumes stops at once, without a write;
 *  - every write a node made to a region fell inside a lease of its own that no other node
 *    had replaced, so no region was ever driven by two nodes at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { assertFreshBuild } from '../../engine/pool/freshBuild.js';
import { startNats, type NatsServers } from '../../test/fixtures/nats.js';
import { openLeaseBucket, type LeaseValue } from './lease.js';
import { regionSubject } from './regionBus.js';

const MAIN_URL = new URL('../../dist/service/cluster/nodeMain.js', import.meta.url);
const MAIN = fileURLToPath(MAIN_URL);
const REGIONS = 36;
const TTL_MS = 2000;
const NODES = ['a', 'b', 'c'];

interface Event {
  readonly e: string;
  readonly n: string;
  readonly t: number;
  readonly r?: string;
  readonly why?: string;
  readonly seq?: number;
}
/** One entry of the lease bucket as the watch saw it. */
interface Entry {
  readonly key: string;
  readonly op: string;
  readonly node: string;
  readonly atMs: number;
  /** The stream sequence: a gap between two entries of one key means the watch missed one. */
  readonly revision: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
  return Date.now();
}

describe('cluster failover (3 nats-servers, 3 node processes, 36 regions)', () => {
  let nats: NatsServers;
  let nc: NatsConnection;
  const procs = new Map<string, ChildProcess>();
  const events: Event[] = [];
  const history: Entry[] = [];
  const stderr: string[] = [];

  beforeAll(async () => {
    assertFreshBuild(MAIN_URL, new URL('../../', import.meta.url));
    nats = await startNats(3);
    nc = await connect({ servers: [...nats.urls] });
    // The lease bucket first, with its replicas, then its watch: every lease write from here on
    // is seen. The membership bucket and the regions' stream the three nodes create as they start together.
    const kv = await openLeaseBucket(nc, { ttlMs: TTL_MS, replicas: 3 });
    const watch = await kv.watch({ key: '>' });
    void (async () => {
      for await (const e of watch) {
        const node = e.operation === 'PUT' ? (JSON.parse(e.string()) as LeaseValue).node : '';
        history.push({ key: e.key, op: e.operation, node, atMs: e.created.getTime(), revision: e.revision });
      }
    })();
  });
  afterAll(async () => {
    for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await nc?.close();
    await nats?.stop();
  });

  const start = (id: string): void => {
    const p = spawn(process.execPath, [MAIN, '--id', id, '--nats', nats.urls.join(','), '--regions', String(REGIONS), '--ttl-ms', String(TTL_MS), '--replicas', '3', '--write-ms', '100', '--inbox', '--ack-wait-ms', '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    p.stdout!.setEncoding('utf8');
    p.stdout!.on('data', (s: string) => {
      buf += s;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) if (line) events.push(JSON.parse(line) as Event);
    });
    p.stderr!.setEncoding('utf8');
    p.stderr!.on('data', (s: string) => stderr.push(`${id}: ${s}`));
    procs.set(id, p);
  };

  /** Who holds what now, from the acquire and lost events. */
  const owners = (): Map<string, Set<string>> => {
    const m = new Map<string, Set<string>>();
    for (const ev of events) {
      if (!ev.r || (ev.e !== 'acquire' && ev.e !== 'lost')) continue;
      const s = m.get(ev.r) ?? new Set<string>();
      if (ev.e === 'acquire') s.add(ev.n);
      else s.delete(ev.n);
      m.set(ev.r, s);
    }
    return m;
  };
  const heldBy = (id: string): string[] => [...owners()].filter(([, s]) => s.has(id)).map(([r]) => r);

  it('takes a dead node’s regions over within 10 s, never with two owners driving at once', async () => {
    for (const id of NODES) start(id);
    // Balanced: a third each, every region owned once.
    await until(
      `12 regions per node (now ${NODES.map((id) => heldBy(id).length).join('/')}; ${stderr.join('')})`,
      () => NODES.every((id) => heldBy(id).length === REGIONS / 3),
      20_000,
    );
    await sleep(400);
    const victim = 'b';
    const orphaned = heldBy(victim);
    const js = nc.jetstream();
    const published = new Map<number, string>();
    const publish = async (r: string, k: number): Promise<void> => {
      published.set((await js.publish(regionSubject(r, 'detector', `S${k}`), JSON.stringify({ k }))).seq, r);
    };
    for (let k = 0; k < REGIONS; k++) await publish(`r${String(k).padStart(4, '0')}`, k);
    const killedMs = Date.now();
    procs.get(victim)!.kill('SIGKILL');
    // Published to the dead node's regions while no one drives them.
    for (const r of orphaned) for (let k = 0; k < 3; k++) await publish(r, k);
    const survivors = NODES.filter((id) => id !== victim);
    const backMs = await until(
      'the dead node’s regions owned again',
      () => {
        const o = owners();
        return orphaned.every((r) => survivors.some((id) => o.get(r)?.has(id)));
      },
      10_000,
    );
    const failoverMs = backMs - killedMs;
    console.log(`failover: ${orphaned.length} regions of the killed node owned again in ${failoverMs} ms (lease TTL ${TTL_MS} ms)`);
    expect(failoverMs).toBeLessThan(10_000);
    // Every message reached an owner of its region, those for the dead node's regions a survivor.
    const received = (): Map<number, Event> => new Map(events.filter((ev) => ev.e === 'msg').map((ev) => [ev.seq!, ev]));
    await until('every message received', () => [...published.keys()].every((q) => received().has(q)), 10_000);
    const got = received();
    console.log(`messages: ${published.size} published, the last of the dead node's regions received ${Math.max(...[...got.values()].map((ev) => ev.t)) - killedMs} ms after the kill`);
    for (const [q, r] of published) expect(got.get(q)!.r).toBe(r);
    const afterKill = [...published].filter(([, r]) => orphaned.includes(r)).slice(-3 * orphaned.length);
    for (const [q] of afterKill) expect(survivors).toContain(got.get(q)!.n);
    await sleep(300);
    // A node that hangs (SIGSTOP) past its leases and comes back must not write on: its
    // leases were taken meanwhile, and the first thing its timers do on waking is stop.
    const paused = 'c';
    const pausedHeld = heldBy(paused);
    expect(pausedHeld.length).toBeGreaterThan(0);
    procs.get(paused)!.kill('SIGSTOP');
    await until('the paused node’s regions taken by the other', () => pausedHeld.every((r) => owners().get(r)?.has('a')), 10_000);
    const resumedMs = Date.now();
    procs.get(paused)!.kill('SIGCONT');
    await until('the paused node noticed', () => pausedHeld.every((r) => !owners().get(r)?.has(paused)), 5000);
    const woke = events.filter((ev) => ev.n === paused && ev.e === 'lost' && ev.t >= resumedMs - 50);
    expect(new Set(woke.map((ev) => ev.why))).toEqual(new Set(['expired']));
    await sleep(500);
    // Stop the survivors cleanly: they give their leases back.
    await Promise.all(
      survivors.map(
        (id) =>
          new Promise<void>((res) => {
            procs.get(id)!.once('exit', () => res());
            procs.get(id)!.kill('SIGTERM');
          }),
      ),
    );
    await sleep(200);

    // Every region was owned at the end by a survivor, and exactly one.
    const finalOwners = new Map<string, string>();
    for (const ev of events) if (ev.e === 'acquire' && ev.r) finalOwners.set(ev.r, ev.n);
    expect(finalOwners.size).toBe(REGIONS);
    for (const r of orphaned) expect(survivors).toContain(finalOwners.get(r));

    // The watch is the instrument: it must have seen every write to the bucket (no gap in the stream's sequence).
    expect(history.filter((h, k) => k > 0 && h.revision !== history[k - 1]!.revision + 1).map((h) => h.revision)).toEqual([]);
    // The lease history: a key changes hands only after a delete (given back) or a TTL's silence.
    const byKey = new Map<string, Entry[]>();
    for (const h of history) byKey.set(h.key, [...(byKey.get(h.key) ?? []), h]);
    expect(byKey.size).toBe(REGIONS);
    const handovers: string[] = [];
    for (const [key, entries] of byKey) {
      for (let k = 1; k < entries.length; k++) {
        const prev = entries[k - 1]!;
        const cur = entries[k]!;
        if (cur.op !== 'PUT' || prev.op !== 'PUT' || prev.node === cur.node) continue;
        handovers.push(key);
        const around = (ms: number): string =>
          JSON.stringify({ entries: entries.slice(Math.max(0, k - 3), k + 2), events: events.filter((ev) => ev.r === key && ev.e !== 'write' && Math.abs(ev.t - ms) < 3000) });
        expect(cur.atMs - prev.atMs, `${key}: ${prev.node} → ${cur.node} ${around(cur.atMs)}`).toBeGreaterThanOrEqual(TTL_MS);
      }
    }
    for (const r of orphaned) expect(handovers).toContain(r);

    // Every write fell in a lease of the writer's own: the last lease entry before it is the writer's PUT, not older than the TTL.
    const writes = events.filter((ev) => ev.e === 'write');
    expect(writes.length).toBeGreaterThan(REGIONS * 10);
    const bad: string[] = [];
    for (const w of writes) {
      const entries = byKey.get(w.r!) ?? [];
      let last: Entry | undefined;
      // Times are whole ms: a give-back stamped in the same ms as a write came after it (the node stops writing before it deletes).
      for (const h of entries) if (h.atMs < w.t || (h.atMs === w.t && h.op === 'PUT')) last = h;
      if (last?.op !== 'PUT' || last.node !== w.n || w.t - last.atMs >= TTL_MS) bad.push(`${w.n} wrote ${w.r} at ${w.t}, last entry ${JSON.stringify(last)}`);
    }
    expect(bad).toEqual([]);
    // The killed node wrote nothing after it was killed; the others wrote to its regions after.
    expect(writes.filter((w) => w.n === victim && w.t > killedMs + 50)).toEqual([]);
    for (const r of orphaned) expect(writes.some((w) => w.r === r && w.n !== victim && w.t > killedMs)).toBe(true);
  });
});
