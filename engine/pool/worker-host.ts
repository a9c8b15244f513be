/**
 * Worker-side half of the pool: call `serveJobs(handler)` once at the top level of a
 * worker module and every job the WorkerPool posts is answered by `handler`. Used by
 * the worker scripts the corridor optimizer (and the tests' fixtures) hand to WorkerPool.
 *
 * A handler that throws fails only its own job: the error (name, message, `code` if it
 * has a string one) is sent back and the worker keeps serving. Anything that kills the
 * thread (process.exit, an uncaught exception outside the handler) is seen by the pool
 * as a crash, and the pool replaces the worker and may retry the job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ErrorMessage, PoolToWorker, ReadyMessage, ResultMessage, SerializedError } from './protocol.js';

/** Computes one job. `input` may be a view on a SharedArrayBuffer: then treat it as read-only. */
export type JobHandler = (input: Float64Array, workerData: unknown) => Float64Array;

export function serveJobs(handler: JobHandler): void {
  if (typeof handler !== 'function') throw new TypeError('handler must be a function');
  const port = parentPort;
  if (port === null) throw new Error('serveJobs must be called inside a worker thread started by WorkerPool');
  const data: unknown = workerData;

  port.on('message', (msg: PoolToWorker) => {
    if (msg === null || typeof msg !== 'object' || msg.type !== 'job') return;
    let output: Float64Array;
    try {
      output = handler(msg.input, data);
      if (!(output instanceof Float64Array)) throw new TypeError(`job handler must return a Float64Array, got ${describe(output)}`);
    } catch (e: unknown) {
      const reply: ErrorMessage = { type: 'error', id: msg.id, error: serializeError(e) };
      port.postMessage(reply);
      return;
    }
    const reply: ResultMessage = { type: 'result', id: msg.id, output };
    try {
      // Shared memory is visible to the pool already; only a private buffer is handed back.
      port.postMessage(reply, output.buffer instanceof SharedArrayBuffer ? [] : [output.buffer]);
    } catch (e: unknown) {
      // e.g. a detached or untransferable buffer: still one job's failure, not the worker's.
      const failure: ErrorMessage = { type: 'error', id: msg.id, error: serializeError(e) };
      port.postMessage(failure);
    }
  });

  const ready: ReadyMessage = { type: 'ready' };
  port.postMessage(ready);
}

function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const code: unknown = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined, stack: e.stack };
  }
  return { name: 'Error', message: `non-Error thrown: ${String(e)}`, code: undefined, stack: undefined };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
