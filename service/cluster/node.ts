/**
 * One greenwave node of a cluster: connects to NATS, announces itself in a membership bucket,
 * and holds leases (lease.ts) on a fair share of the city's regions, ceil(regions / live
 * nodes), renewing them on every tick. Which regions a node prefers is rendezvous hashing of
 * (node, region), so that the regions of a node that dies spread over the others and a node
 * that comes back prefers the same ones again. A node holding more than its share (others
 * joined) gives the least preferred back; one holding fewer takes free ones (a dead node's
 * leases are free once the bucket's TTL removed them). Called by nodeMain.ts (one node per
 * process) and by the cluster tests.
 *
 * The node does not drive controllers itself: `onAcquire` starts a region's driving and
 * `onLost` stops it, synchronously, and `holds` is the check to make before every write.
 * With `onMessage` it also reads each held region's durable inbox (regionBus.ts).
 */
import { connect, type JsMsg, type KV, type NatsConnection } from 'nats';
import { OptionError } from '../../engine/errors.js';
import { openLeaseBucket, RegionLeases, type LeaseLoss } from './lease.js';
import { ensureRegionInbox, ensureRegionStream, RegionInbox } from './regionBus.js';

export const NODE_BUCKET = 'greenwave-nodes';

export interface ClusterNodeOptions {
  readonly nodeId: string;
  /** NATS server URLs (all of a cluster's, so that the client fails over). */
  readonly servers: readonly string[];
  /** The city's region ids (regions.ts), the same list on every node. */
  readonly regionIds: readonly string[];
  /** Lease and membership TTL, ms (default 3000). */
  readonly ttlMs?: number;
  /** Renewal and rebalancing period, ms (default ttl / 6). */
  readonly tickMs?: number;
  /** Bucket replicas: 3 on a 3-server cluster (default 1). */
  readonly replicas?: number;
  readonly onAcquire?: (regionId: string, token: number) => void;
  readonly onLost?: (regionId: string, why: LeaseLoss) => void;
  /**
   * Each message of a held region's inbox (regionBus.ts), only while the region is held; ack
   * it once handled. Given, the node reads a region's inbox from its lease's start and stops
   * reading at its end, so that the next owner gets what this one did not acknowledge.
   */
  readonly onMessage?: (regionId: string, msg: JsMsg) => void;
  /**
   * How long an inbox message delivered but not acknowledged waits before it is delivered
   * again, ms (default 5000): also how late a region's new owner gets the messages the server
   * had already pushed to a dead owner. Set when the inbox is created.
   */
  readonly inboxAckWaitMs?: number;
  /** How long `start` keeps trying while JetStream is not ready, ms (default 30,000). */
  readonly startTimeoutMs?: number;
}

/** FNV-1a, 32 bits: the rendezvous weight of a (node, region) pair. */
function weight(nodeId: string, regionId: string): number {
  let h = 0x811c9dc5;
  const s = `${nodeId}\u0000${regionId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // One more mix so that ids differing in their last character spread.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

export class ClusterNode {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  /** This node's regions, most preferred first. */
  private readonly preference: readonly string[];
  private readonly inboxes = new Map<string, Promise<RegionInbox | undefined>>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly members: KV,
    private readonly leaseKv: KV,
    readonly leases: RegionLeases,
    private readonly opts: ClusterNodeOptions,
  ) {
    this.preference = [...opts.regionIds].sort((a, b) => weight(opts.nodeId, b) - weight(opts.nodeId, a) || (a < b ? -1 : 1));
  }

  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const ttlMs = opts.ttlMs ?? 3000;
    const tickMs = opts.tickMs ?? ttlMs / 6;
    if (!(tickMs > 0 && tickMs < ttlMs / 2)) throw new OptionError('options.tickMs', `must be in (0, ttlMs / 2), got ${tickMs}`);
    if (!/^[-\w]+$/.test(opts.nodeId)) throw new OptionError('options.nodeId', `must be letters, digits, - or _, got ${JSON.stringify(opts.nodeId)}`);
    const nc = await connect({ servers: [...opts.servers], name: `greenwave-${opts.nodeId}`, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    const replicas = opts.replicas ?? 1;
    // Nodes starting together race to create the buckets, and a cluster just started answers
    // 503 until JetStream has its leaders: try again until `startTimeoutMs`.
    const { members, leaseKv } = await retrying(opts.startTimeoutMs ?? 30_000, async () => {
      const members = await nc.jetstream().views.kv(NODE_BUCKET, { ttl: ttlMs, history: 1, replicas });
      const leaseKv = await openLeaseBucket(nc, { ttlMs, replicas });
      if (opts.onMessage) await ensureRegionStream(await nc.jetstreamManager(), { replicas });
      return { members, leaseKv };
    }).catch(async (e: unknown) => {
      await nc.close();
      throw e;
    });
    const lost: { node?: ClusterNode } = {};
    const leases = new RegionLeases(leaseKv, {
      nodeId: opts.nodeId,
      ttlMs,
      onLost: (r, why) => {
        opts.onLost?.(r, why);
        lost.node?.closeInbox(r);
      },
    });
    const node = new ClusterNode(nc, members, leaseKv, leases, opts);
    lost.node = node;
    await node.tick();
    node.timer = setInterval(() => {
      node.ticking = node.ticking.then(() => node.tick()).catch(() => {});
    }, tickMs);
    return node;
  }

  /** Synchronous: may this node drive the region now? */
  holds(regionId: string): boolean {
    return this.leases.holds(regionId);
  }

  regions(): string[] {
    return this.leases.regions();
  }

  /** One round: announce, renew, then give back or take regions towards the fair share. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.members.put(this.opts.nodeId, JSON.stringify({ atMs: Date.now() })).catch(() => {});
    const held = this.leases.regions();
    await Promise.all(held.map((r) => this.leases.renew(r)));
    if (this.stopped) return;
    for (const r of this.leases.regions()) this.openInbox(r);
    let live: number;
    let taken: Set<string>;
    try {
      live = new Set(await collect(await this.members.keys())).size;
      taken = new Set(await collect(await this.leaseKv.keys()));
    } catch {
      return; // NATS away: renewals will tell.
    }
    const share = Math.ceil(this.opts.regionIds.length / Math.max(1, live));
    const mine = this.leases.regions();
    if (mine.length > share) {
      const giveBack = [...mine].sort((a, b) => this.preference.indexOf(b) - this.preference.indexOf(a)).slice(0, mine.length - share);
      for (const r of giveBack) await this.leases.release(r);
      return;
    }
    // The free regions it prefers, as many as it lacks, all at once: an acquisition waits for
    // its confirmation (lease.ts), and one after another they would hold up the renewals.
    const wanted = this.preference.filter((r) => !taken.has(r) && !this.leases.holds(r)).slice(0, Math.max(0, share - mine.length));
    await Promise.all(
      wanted.map(async (r) => {
        // A refusal other than "taken" (JetStream busy or away): try again next tick.
        const got = await this.leases.acquire(r).catch(() => false);
        if (got) {
          this.opts.onAcquire?.(r, this.leases.token(r)!);
          this.openInbox(r);
        }
      }),
    );
  }

  private openInbox(regionId: string): void {
    const handle = this.opts.onMessage;
    if (!handle || this.inboxes.has(regionId)) return;
    const opening = (async () => {
      await ensureRegionInbox(await this.nc.jetstreamManager(), regionId, this.opts.inboxAckWaitMs === undefined ? {} : { ackWaitMs: this.opts.inboxAckWaitMs });
      // A message that arrives after the lease ended is left unacknowledged: it goes to the next owner.
      return RegionInbox.open(this.nc, regionId, (m) => {
        if (this.leases.holds(regionId)) handle(regionId, m);
      });
    })().catch(() => {
      // Not open (JetStream busy): the next tick tries again while the region is held.
      if (this.inboxes.get(regionId) === opening) this.inboxes.delete(regionId);
      return undefined;
    });
    this.inboxes.set(regionId, opening);
  }

  private closeInbox(regionId: string): void {
    const opening = this.inboxes.get(regionId);
    if (!opening) return;
    this.inboxes.delete(regionId);
    void opening.then((inbox) => inbox?.stop());
  }

  /** Stops ticking, gives every lease back (stopping each region first) and leaves. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all(this.leases.regions().map((r) => this.leases.release(r)));
    await Promise.all([...this.inboxes.values()].map((o) => o.then((inbox) => inbox?.stop())));
    await this.members.delete(this.opts.nodeId).catch(() => {});
    await this.nc.drain().catch(() => {});
  }
}

/** `attempt` again with growing waits (0.1 s to 2 s) until it succeeds or `timeoutMs` passed. */
export async function retrying<T>(timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  for (let waitMs = 100; ; waitMs = Math.min(2000, waitMs * 2)) {
    try {
      return await attempt();
    } catch (e) {
      if (performance.now() - t0 + waitMs > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}
