/**
 * Replan off the event loop. The gRPC service's TimingService.Replan asks a
 * Replanner for the plan of a counts interval ("HH:MM"); the demand prediction
 * and the planning (≈ 0.5 s on the demo city, all of it CPU) run on a worker
 * thread of engine/pool (script: service/replanWorker.ts, compiled JS from
 * dist/), so RequestPriority keeps being answered meanwhile.
 *
 * - Coalesced: concurrent requests for the same interval share one computation.
 * - Bounded: at most `maxPending` distinct intervals computing or queued; more is
 *   refused (the caller answers RESOURCE_EXHAUSTED).
 * - The Replanner never applies anything: the caller applies the result, in one
 *   synchronous step, only if its call is still wanted (not cancelled, deadline
 *   not passed). A computation nobody waits for any more is aborted.
 *
 * The plan travels as one Float64Array (planWire.ts).
 */
import { fileURLToPath } from 'node:url';
import type { CompiledNetwork } from '../engine/network/compile.js';
import { WorkerPool } from '../engine/pool/pool.js';
import { status } from '@grpc/grpc-js';
import { StatusError } from './errors.js';
import { decodePlan, minutesOf, type ReplanResult } from './planWire.js';

export type { ReplanResult, ServicePlan } from './planWire.js';

/** The compiled worker script: workers load JS from dist/, also when this module runs from source (tests). */
function replanWorkerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? new URL('../dist/service/replanWorker.js', import.meta.url) : new URL('./replanWorker.js', import.meta.url);
}

interface Pending {
  readonly result: Promise<ReplanResult>;
  readonly abort: AbortController;
  waiters: number;
}

export class Replanner {
  private pool: WorkerPool | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Computations started (coalesced requests share one): for tests and metrics. */
  computations = 0;

  constructor(
    private readonly c: CompiledNetwork,
    private readonly source: { readonly networkPath: string; readonly networkText: string; readonly countsPath: string; readonly countsText: string },
    private readonly maxPending: number,
  ) {}

  /** Distinct intervals computing or queued now. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * The plan for interval `at`. `signal` says the caller no longer wants it (cancelled call);
   * when every caller of a shared computation has gone, it is aborted.
   */
  plan(at: string, signal: AbortSignal): Promise<ReplanResult> {
    const minutes = minutesOf(at);
    let p = this.pending.get(minutes);
    if (!p) {
      if (this.pending.size >= this.maxPending) throw new StatusError(status.RESOURCE_EXHAUSTED, `more than ${this.maxPending} distinct Replan intervals computing at once (limit maxPendingReplans)`);
      this.pool ??= new WorkerPool({ workerUrl: replanWorkerUrl(), size: 1, maxRetries: 0, workerData: this.source });
      const abort = new AbortController();
      this.computations++;
      const result = this.pool.run(Float64Array.of(minutes), { signal: abort.signal }).then((out) => decodePlan(this.c, out));
      const entry: Pending = { result, abort, waiters: 0 };
      p = entry;
      this.pending.set(minutes, entry);
      const forget = (): void => {
        if (this.pending.get(minutes) === entry) this.pending.delete(minutes);
      };
      result.then(forget, forget);
    }
    const entry = p;
    entry.waiters++;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      signal.removeEventListener('abort', leave);
      if (--entry.waiters === 0 && this.pending.get(minutes) === entry) {
        this.pending.delete(minutes);
        entry.abort.abort();
      }
    };
    signal.addEventListener('abort', leave, { once: true });
    return entry.result.finally(() => {
      left = true;
      signal.removeEventListener('abort', leave);
    });
  }

  close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    return p ? p.destroy() : Promise.resolve();
  }
}
