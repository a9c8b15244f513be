/**
 * Messages between the WorkerPool (main thread) and a worker running `serveJobs`.
 * Types only: both sides import this file with `import type`, so it emits no code.
 *
 * main → worker: JobMessage.
 * worker → main: ReadyMessage once `serveJobs` is wired, then one ResultMessage or
 * ErrorMessage per job, in the order the jobs arrived (a worker runs one job at a time).
 */

/** A job for the worker. `input` arrives either transferred, cloned or as a view on shared memory. */
export interface JobMessage {
  readonly type: 'job';
  /** Pool-wide job id; the answer echoes it so stale answers can be recognised. */
  readonly id: number;
  readonly input: Float64Array;
}

/**
 * Sent once when `serveJobs` has attached its listener. A worker that exits before
 * sending it failed to start (bad script, import error), which the pool treats
 * differently from a crash mid-job so a broken script cannot respawn forever.
 */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** The handler's output. Its buffer is transferred unless it is a SharedArrayBuffer. */
export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  readonly output: Float64Array;
}

/** What survives of an error thrown by the handler: plain data, safe to clone. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /** The thrown error's `code` property when it was a string (e.g. an ErrorCode). */
  readonly code: string | undefined;
  readonly stack: string | undefined;
}

/** The handler threw; the worker is still healthy and ready for the next job. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly id: number;
  readonly error: SerializedError;
}

export type WorkerToPool = ReadyMessage | ResultMessage | ErrorMessage;
export type PoolToWorker = JobMessage;
