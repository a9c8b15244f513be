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
 *   not passed). The worker thread runs at a lower OS priority (Linux).
 *
 * The plan travels as one Float64Array (planWire.ts).
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { serviceWorkerUrl } from './workerUrl.js';
import { WorkerPool } from '../engine/pool/pool.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { status } from '@grpc/grpc-js';
import { StatusError } from './errors.js';
import { decodePlan, minutesOf, type ReplanResult } from './planWire.js';
import type { ReplanMetrics } from './metrics.js';

export type { ReplanResult, ServicePlan } from './planWire.js';

/** Per-intersection cycle bounds the plan must keep (dense index order; NaN = no bound): the lifecycle's cycle locks. */
export interface CycleLimits {
  readonly minS: Float64Array;
  readonly maxS: Float64Array;
}

export class Replanner {
  private pool: WorkerPool | undefined;
  /** Per minute of the day (and cycle limits, if any): the computation running or queued for it. */
  private readonly pending = new Map<string, Promise<ReplanResult>>();
  /** Computations started (coalesced requests share one): for tests and metrics. */
  computations = 0;

  constructor(
    private readonly c: CompiledNetwork,
    private readonly source: { readonly networkPath: string; readonly networkText: string; readonly countsPath: string; readonly countsText: string },
    private readonly maxPending: number,
    /** Told of every computation's time and outcome (the service's metrics). */
    private readonly metrics?: ReplanMetrics,
  ) {}

  /** Distinct intervals computing or queued now. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * The plan for interval `at`; rejects with code CANCELLED as soon as `signal` aborts (the
   * call was cancelled or its deadline passed). The computation itself runs on: others may
   * be waiting for it, a retry of the same interval joins it, and it counts against
   * maxPendingReplans until it ends (killing the worker and starting a new one would cost
   * more CPU than letting it finish).
   */
  plan(at: string, signal: AbortSignal, limits?: CycleLimits): Promise<ReplanResult> {
    const minutes = minutesOf(at);
    const input = limits ? Float64Array.of(minutes, ...limits.minS, ...limits.maxS) : Float64Array.of(minutes);
    // Requests with the same interval and the same limits share one computation.
    const key = input.join(',');
    let result = this.pending.get(key);
    if (!result) {
      if (this.pending.size >= this.maxPending) throw new StatusError(status.RESOURCE_EXHAUSTED, `more than ${this.maxPending} distinct Replan intervals computing at once (limit maxPendingReplans)`);
      this.pool ??= new WorkerPool({ workerUrl: serviceWorkerUrl('replanWorker'), size: 1, maxRetries: 0, workerData: this.source });
      this.computations++;
      const t0 = performance.now();
      const started = this.pool.run(input).then((out) => decodePlan(this.c, out));
      const m = this.metrics;
      if (m) started.then(() => m.replanComputed((performance.now() - t0) / 1000, true), () => m.replanComputed((performance.now() - t0) / 1000, false));
      result = started;
      this.pending.set(key, started);
      const forget = (): void => {
        if (this.pending.get(key) === started) this.pending.delete(key);
      };
      started.then(forget, forget);
    }
    const shared = result;
    return new Promise<ReplanResult>((resolve, reject) => {
      const onAbort = (): void => reject(new GreenwaveError(ErrorCode.Cancelled, 'Replan no longer wanted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      shared.then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    return p ? p.destroy() : Promise.resolve();
  }
}
