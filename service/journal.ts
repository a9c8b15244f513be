/**
 * What `greenwave serve` keeps across restarts, on the storage (./storage/):
 * the plan in force (each Replan, written before it is applied), the priority
 * requests and decisions, and refused authentications in the audit log.
 * Built by startServer (./server.ts) when the service is given a storage; the
 * handlers (./timingService.ts, ./priorityService.ts) and the call gate
 * (./calls.ts) report to it.
 *
 * Plans are written synchronously with the Replan that makes them: the RPC
 * answers only once the plan is durable, and a plan that cannot be stored is
 * not applied. Priority requests arrive at dispatch rates, so they are
 * written behind, in one transaction every FLUSH_MS (a kill -9 loses at most
 * that window of the record, never a plan); the queue is bounded, and what
 * overflows is counted in the next audit row rather than held in memory.
 * Refused authentications are counted per peer, method and reason and
 * written once per flush, so a client hammering bad tokens costs one row per
 * flush, not one disk write per attempt.
 *
 * On start, requests still open from the previous run are closed as expired:
 * the TSP controller's schedule did not survive, so they cannot be honoured
 * (their vehicles ask again, as dispatch systems do after a timeout).
 */
import type { Actor, PriorityOp, Storage, TimingPlan } from './storage/storage.js';
import type { JournalMetrics } from './metrics.js';

/** How often queued priority ops and refused-auth counts are written, ms. */
export const FLUSH_MS = 250;
/** Queued priority ops beyond this are dropped and counted (the record says how many). */
export const MAX_QUEUED_OPS = 50_000;

const SYSTEM: Actor = { user: 'greenwave' };

/**
 * What the service restores from the plan record at start: a Replan (re-planned for its
 * interval: `at`), or a lifecycle plan that was deployed (`exact`: the stored plan itself).
 */
export interface RestoredPlan {
  /** The "HH:MM" interval the last stored plan was made for (a deployed lifecycle plan: the interval to load the counts at, if it has one). */
  readonly at: string | undefined;
  readonly forInterval: string;
  readonly planId: number;
  readonly version: number;
  /** The stored plan was made from the same network and counts as the service now has. */
  readonly sameInputs: boolean;
  /** A deployed lifecycle plan: restored exactly as stored (service/lifecycle/). */
  readonly exact?: TimingPlan;
}

export interface PlanRecord {
  readonly at: string;
  readonly forInterval: string;
  readonly networkSha256: string;
  readonly countsSha256: string;
  /** The timing plans as the TimingService reports them. */
  readonly plans: unknown;
}

export { sha256 } from './storage/auditHash.js';

export class ServiceJournal {
  private queue: PriorityOp[] = [];
  private dropped = 0;
  private readonly refused = new Map<string, { peer: string; method: string; reason: string; count: number }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Open request id per "vehicle@intersection", to close it when the TSP controller drops it. */
  private readonly open = new Map<string, string>();
  private seq = 0;

  constructor(
    readonly storage: Storage,
    /** The scope plans are stored under: the network's name (or file). */
    private readonly networkScope: string,
    private readonly log: (line: string) => void,
    /** Is the request for this vehicle at this intersection still open in the TSP controller? */
    private readonly stillOpen: (vehicleId: string, intersectionId: string) => boolean,
    /** Told of each flush's time and of dropped ops (the service's metrics). */
    private readonly metrics?: JournalMetrics,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /**
   * The plan in force when the service stopped, if any (for the service to start on it instead
   * of --at): the newest Replan record or deployed lifecycle plan. A lifecycle plan that was only
   * proposed (never staged to a controller) was not in force and is passed over.
   */
  async lastPlan(networkSha256: string, countsSha256: string): Promise<RestoredPlan | undefined> {
    const plans = await this.storage.listTimingPlans({ kind: 'network', id: this.networkScope });
    for (let k = plans.length - 1; k >= 0; k--) {
      const p = plans[k]!;
      const body = p.body as Partial<PlanRecord> & { kind?: unknown; wire?: unknown; at?: unknown };
      if (body.kind === 'proposal') {
        const deps = await this.storage.listDeployments({ planId: p.planId });
        if (!deps.some((d) => d.state === 'staged' || d.state === 'committed' || d.state === 'confirmed')) continue;
        return { at: typeof body.at === 'string' ? body.at : undefined, forInterval: String(body.forInterval), planId: p.planId, version: p.version, sameInputs: body.networkSha256 === networkSha256, exact: p };
      }
      if (typeof body.at !== 'string' || typeof body.forInterval !== 'string') continue;
      return { at: body.at, forInterval: body.forInterval, planId: p.planId, version: p.version, sameInputs: body.networkSha256 === networkSha256 && body.countsSha256 === countsSha256 };
    }
    return undefined;
  }

  /** Stores a plan before it is applied; resolves once it is durable. */
  async savePlan(actor: Actor, record: PlanRecord, reason: string): Promise<TimingPlan> {
    return this.storage.saveTimingPlan(actor, { scope: { kind: 'network', id: this.networkScope }, body: record, reason, source: 'optimizer' });
  }

  /** Closes, as expired, the requests a previous run left open; resolves to how many. */
  async expireLeftOpen(nowMs: number): Promise<number> {
    const left = await this.storage.listOpenPriorityRequests();
    if (left.length === 0) return 0;
    await this.storage.journalPriority(
      SYSTEM,
      left.map((r) => ({ kind: 'close', requestId: r.requestId, reason: 'expired: the service restarted and its priority schedule was lost', closedAtMs: nowMs })),
    );
    return left.length;
  }

  /** A request granted or denied by the TSP controller (opened on first sight, then updated). */
  priority(client: string, vehicleId: string, intersectionId: string, priorityClass: string, etaMs: number, nowMs: number, decision: string, reason: string): void {
    const key = `${vehicleId}@${intersectionId}`;
    let requestId = this.open.get(key);
    if (requestId === undefined) {
      requestId = `${key}#${nowMs}-${++this.seq}`;
      this.open.set(key, requestId);
    }
    this.push({ kind: 'open', request: { requestId, vehicleId, intersectionId, priorityClass, client, requestedAtMs: nowMs, etaMs } });
    this.push({ kind: 'decide', requestId, decision, reason, decidedAtMs: nowMs });
  }

  /** A request cancelled by its client or an operator. */
  cancelled(vehicleId: string, intersectionId: string, nowMs: number, by: string): void {
    const key = `${vehicleId}@${intersectionId}`;
    const requestId = this.open.get(key);
    if (requestId === undefined) return;
    this.open.delete(key);
    this.push({ kind: 'close', requestId, reason: `cancelled by ${by}`, closedAtMs: nowMs });
  }

  /** A refused authentication (counted; written with the next flush). */
  authRefused(peer: string, method: string, reason: string): void {
    const key = `${peer}\u0000${method}\u0000${reason}`;
    const e = this.refused.get(key);
    if (e) e.count++;
    else if (this.refused.size < 10_000) this.refused.set(key, { peer, method, reason, count: 1 });
    else this.dropped++;
  }

  private push(op: PriorityOp): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED_OPS) {
      this.dropped++;
      this.metrics?.journalDropped(1);
      return;
    }
    this.queue.push(op);
  }

  /** Writes what is queued (one transaction for the priority ops, one audit row per refused-auth group). */
  flush(): Promise<void> {
    this.flushing = this.flushing
      .then(async () => {
        const t0 = performance.now();
        try {
          await this.flushNow();
          this.metrics?.journalFlushed((performance.now() - t0) / 1000, true);
        } catch (e: unknown) {
          this.metrics?.journalFlushed((performance.now() - t0) / 1000, false);
          throw e;
        }
      })
      .catch((e: unknown) => this.log(`greenwave serve: could not write the priority record: ${e instanceof Error ? e.message : String(e)}`));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    // Requests the TSP controller no longer holds ended (served, expired or checked out).
    const nowMs = Date.now();
    for (const [key, requestId] of this.open) {
      const at = key.lastIndexOf('@');
      if (!this.stillOpen(key.slice(0, at), key.slice(at + 1))) {
        this.open.delete(key);
        this.queue.push({ kind: 'close', requestId, reason: 'ended (served, expired or checked out)', closedAtMs: nowMs });
      }
    }
    const ops = this.queue;
    this.queue = [];
    const dropped = this.dropped;
    this.dropped = 0;
    const refused = [...this.refused.values()];
    this.refused.clear();
    if (ops.length > 0) await this.storage.journalPriority(SYSTEM, ops);
    for (const r of refused) await this.storage.recordAudit({ user: 'unauthenticated', peer: r.peer }, 'auth.refused', { method: r.method, reason: r.reason, count: r.count });
    if (dropped > 0) await this.storage.recordAudit(SYSTEM, 'journal.overflow', { droppedOps: dropped });
  }

  /** Writes what is left and stops; the storage stays open (its owner closes it). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }
}
