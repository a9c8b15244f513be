/**
 * A city's corridors as one batch across the worker pool: every corridor is
 * an encoded Float64Array job (transferred, never cloned as objects), solved
 * by `worker.ts` (band + delay refinement). One corridor failing, or a worker
 * dying, does not stop the batch: the pool retries once and the failure is
 * reported. Called by the planning service and bench/greenwave.
 */
import { assertFreshBuild } from '../pool/freshBuild.js';
import { WorkerPool } from '../pool/pool.js';
import type { BatchResult } from '../pool/pool.js';
import { decodeResult, type DecodedResult } from './job.js';

/**
 * The compiled worker script: workers always load JS from dist/, also when this
 * module runs from source (`here` ends in .ts, as under vitest). Then dist/ must
 * match the source, or the workers would run stale code: StaleBuildError otherwise.
 * `here` is this module's URL; tests pass another to check the guard.
 */
export function corridorWorkerUrl(here: string = import.meta.url): URL {
  if (!here.endsWith('.ts')) return new URL('./worker.js', here);
  const url = new URL('../../dist/engine/corridor/worker.js', here);
  assertFreshBuild(url, new URL('../../', here));
  return url;
}

export function createCorridorPool(size?: number): WorkerPool {
  return new WorkerPool({ workerUrl: corridorWorkerUrl(), ...(size === undefined ? {} : { size }) });
}

export interface CityBatchResult {
  readonly results: (DecodedResult | undefined)[];
  readonly failures: BatchResult['failures'];
  readonly retried: number;
  readonly wallMs: number;
}

export async function optimizeCorridorBatch(pool: WorkerPool, jobs: Float64Array[], signal?: AbortSignal): Promise<CityBatchResult> {
  const batch = await pool.runBatch(jobs, signal ? { signal } : {});
  return {
    results: batch.results.map((r) => (r ? decodeResult(r) : undefined)),
    failures: batch.failures,
    retried: batch.retried,
    wallMs: batch.wallMs,
  };
}
