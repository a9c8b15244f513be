/**
 * Region leases in a NATS JetStream key-value bucket: the key of a region (regions.ts's id)
 * holds the node that owns it. A node takes a free region with `create` (fails when the key
 * exists) confirmed by a renewal a moment later (see `confirmMs`), renews it with `update` at the revision it last wrote (compare-and-swap: fails when
 * anyone else wrote since), and the bucket's TTL (the stream's max age) removes a lease that
 * was not renewed in time, after which another node's `create` succeeds. Called by
 * ClusterNode (node.ts), which decides which regions to take.
 *
 * Safety rests on one inequality. A lease written by a request sent at local time t is stored
 * by the server no earlier than t, so it cannot expire there before t + ttl. The holder counts
 * its lease valid only until t + ttl − margin on its own monotonic clock, and at that moment
 * (a timer, and `holds` checks the time too) it calls `onLost` synchronously, before anything
 * else runs: the region's controllers stop being driven before any other node can take the
 * lease. This assumes the clocks of the node and the server run at the same rate within
 * margin / ttl (same-machine or NTP-disciplined clocks); a process paused for longer than the
 * margin between its `holds` check and its write can still write late, which only a fencing
 * token checked by the receiver would close (`token` is that number, the revision of the
 * acquiring write; Modbus controllers cannot check it).
 */
import type { KV, NatsConnection } from 'nats';
import { OptionError } from '../../engine/errors.js';

export const LEASE_BUCKET = 'greenwave-leases';

/** Why a lease ended: not renewed in time, overwritten by someone else, or given back. */
export type LeaseLoss = 'expired' | 'taken' | 'released';

/** What a lease key holds. */
export interface LeaseValue {
  readonly node: string;
  /** The holder's wall clock when it wrote, ms (for people reading the bucket; nothing depends on it). */
  readonly atMs: number;
}

export interface LeaseOptions {
  readonly nodeId: string;
  /** The bucket's TTL, ms: what `openLeaseBucket` was given. */
  readonly ttlMs: number;
  /** How long before the server could expire a lease its holder stops, ms (default ttl / 4). */
  readonly marginMs?: number;
  /** Called synchronously when a lease ends, before the call or timer that noticed returns. */
  readonly onLost: (regionId: string, why: LeaseLoss) => void;
  /**
   * How long after a successful `create` the new holder waits and then renews at its revision
   * before it counts the lease as its own, ms (default min(500, ttl / 8); 0: no wait). Why:
   * nats-server checked "expected last subject sequence" outside the raft consensus of a
   * replicated stream (nats-io/nats-server#4320, reported on 2.9.15–2.9.20 and fixed in 2023;
   * Debian ships 2.9.10), so two `create`s in flight together can both succeed; the failover
   * test caught it. The renewal a moment later is checked against both writes, and the first
   * creator's fails, unless a write stays in flight for longer than confirmMs.
   */
  readonly confirmMs?: number;
  /** Monotonic clock, ms. */
  readonly now?: () => number;
}

/**
 * The lease bucket, created if missing: one value per key (history 1), entries removed `ttlMs`
 * after they were written, `replicas` copies (1, or 3 on a 3-server cluster so that one
 * server's loss keeps the leases).
 */
export async function openLeaseBucket(nc: NatsConnection, opts: { ttlMs: number; replicas?: number; bucket?: string }): Promise<KV> {
  if (!(opts.ttlMs >= 200)) throw new OptionError('options.ttlMs', `must be at least 200, got ${opts.ttlMs}`);
  return nc.jetstream().views.kv(opts.bucket ?? LEASE_BUCKET, { ttl: opts.ttlMs, history: 1, replicas: opts.replicas ?? 1 });
}

interface Held {
  revision: number;
  readonly token: number;
  validUntilMs: number;
  timer: NodeJS.Timeout;
}

/** True when `e` is JetStream's refusal of a compare-and-swap (the key moved on, or exists). */
function isWrongSequence(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /wrong last sequence|10071/i.test(msg);
}

export class RegionLeases {
  private readonly held = new Map<string, Held>();
  private readonly marginMs: number;
  private readonly confirmMs: number;
  private readonly now: () => number;

  constructor(
    private readonly kv: KV,
    private readonly opts: LeaseOptions,
  ) {
    this.marginMs = opts.marginMs ?? opts.ttlMs / 4;
    if (!(this.marginMs > 0 && this.marginMs < opts.ttlMs)) throw new OptionError('options.marginMs', `must be in (0, ttlMs), got ${this.marginMs}`);
    this.now = opts.now ?? (() => performance.now());
    this.confirmMs = opts.confirmMs ?? Math.min(500, opts.ttlMs / 8);
    if (!(this.confirmMs >= 0 && this.confirmMs < opts.ttlMs - this.marginMs)) throw new OptionError('options.confirmMs', `must be in [0, ttlMs - marginMs), got ${this.confirmMs}`);
  }

  private value(): string {
    const v: LeaseValue = { node: this.opts.nodeId, atMs: Date.now() };
    return JSON.stringify(v);
  }

  /** Takes a free region; true when this node now holds it. Never takes a lease someone holds. */
  async acquire(regionId: string): Promise<boolean> {
    if (this.held.has(regionId)) return true;
    let sentMs = this.now();
    let token: number;
    try {
      token = await this.kv.create(regionId, this.value());
    } catch (e) {
      if (isWrongSequence(e) || /exists/i.test(String(e))) return false;
      throw e;
    }
    let revision = token;
    if (this.confirmMs > 0) {
      await new Promise((r) => setTimeout(r, this.confirmMs));
      sentMs = this.now();
      try {
        revision = await this.kv.update(regionId, this.value(), token);
      } catch (e) {
        // Another create won after all, or the server is away: not ours (ours, if it was, expires).
        if (isWrongSequence(e)) return false;
        throw e;
      }
    }
    if (this.held.has(regionId)) return true;
    const h: Held = { revision, token, validUntilMs: 0, timer: setTimeout(() => {}, 0) };
    this.held.set(regionId, h);
    this.extend(regionId, h, sentMs);
    return this.holds(regionId);
  }

  /** Renews a held lease; false (and `onLost` called) when it was lost meanwhile. */
  async renew(regionId: string): Promise<boolean> {
    const h = this.held.get(regionId);
    if (!h || !this.holds(regionId)) return false;
    const sentMs = this.now();
    try {
      const revision = await this.kv.update(regionId, this.value(), h.revision);
      if (this.held.get(regionId) !== h) return false;
      h.revision = revision;
      this.extend(regionId, h, sentMs);
      return this.holds(regionId);
    } catch (e) {
      if (this.held.get(regionId) !== h) return false;
      if (isWrongSequence(e)) {
        this.lose(regionId, 'taken');
        return false;
      }
      // Unreachable server: the lease stays valid until its own time runs out, then the timer ends it.
      return false;
    }
  }

  /** Gives a lease back: stops first (`onLost` 'released'), then deletes the key if it is still ours. */
  async release(regionId: string): Promise<void> {
    const h = this.held.get(regionId);
    if (!h) return;
    this.lose(regionId, 'released');
    try {
      await this.kv.delete(regionId, { previousSeq: h.revision });
    } catch {
      // Someone wrote since, or the server is away: the TTL removes it.
    }
  }

  /** Synchronous: may this node drive the region now? Check before every write to its controllers. */
  holds(regionId: string): boolean {
    const h = this.held.get(regionId);
    if (!h) return false;
    if (this.now() < h.validUntilMs) return true;
    this.lose(regionId, 'expired');
    return false;
  }

  /** The revision of the write that took the lease, a fencing token (grows with every new owner). */
  token(regionId: string): number | undefined {
    return this.held.get(regionId)?.token;
  }

  /** Regions held now. */
  regions(): string[] {
    return [...this.held.keys()].filter((r) => this.holds(r));
  }

  /** Stops every lease at once (`onLost` 'released' for each) without touching the bucket. */
  dropAll(): void {
    for (const r of [...this.held.keys()]) this.lose(r, 'released');
  }

  private extend(regionId: string, h: Held, sentMs: number): void {
    h.validUntilMs = sentMs + this.opts.ttlMs - this.marginMs;
    this.arm(regionId, h);
  }

  /**
   * The timer that stops the lease at its end. Node starts a timer from the event loop's cached
   * time, which on a busy loop is behind the clock `holds` reads: such a timer fires early, finds
   * the lease still valid and must look again, or `onLost` would wait for the next `holds` call.
   */
  private arm(regionId: string, h: Held): void {
    clearTimeout(h.timer);
    h.timer = setTimeout(() => {
      if (this.held.get(regionId) === h && this.holds(regionId)) this.arm(regionId, h);
    }, Math.max(0, h.validUntilMs - this.now()) + 1);
  }

  private lose(regionId: string, why: LeaseLoss): void {
    const h = this.held.get(regionId);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(regionId);
    this.opts.onLost(regionId, why);
  }
}
