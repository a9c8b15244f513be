/**
 * WorkerPool: a fixed-size pool of worker_threads that run numeric jobs
 * (Float64Array in, Float64Array out). The corridor optimizer calls it to run a
 * city's corridors as one batch (`runBatch`), one job per corridor; single jobs go
 * through `run`. The worker script calls `serveJobs` from `./worker-host.js`.
 *
 * Design, in short:
 * - Scheduling: one FIFO queue; each worker runs one job at a time and the next job
 *   is dispatched when a worker answers. Jobs being retried go to a second queue
 *   that is served first, so a retry never waits behind a long batch.
 * - Data movement: a job's input ArrayBuffer is TRANSFERRED to the worker (zero-copy;
 *   the caller's array is detached, `byteLength === 0`) unless `transfer: false`, in
 *   which case it is structured-clone-copied and the caller keeps it. An input backed
 *   by a SharedArrayBuffer is neither: the worker gets a view on the same memory and
 *   reads it in place (it must treat it as read-only, since a retry re-reads it).
 *   The output's buffer is transferred back (or shared, if the handler returns a view
 *   on shared memory).
 * - Job errors vs crashes: a handler that throws fails only its job (never retried:
 *   the same input would throw again). A worker that exits while running a job
 *   (process.exit, uncaught exception, terminate() from outside) is a crash: the pool
 *   replaces the worker and re-queues the job until it has run `1 + maxRetries` times.
 *   To retry a transferred input the pool keeps a private copy (one memcpy) while
 *   retries remain; set `maxRetries: 0` for strictly zero-copy transfers.
 * - A worker that exits before it has sent its `ready` message failed to start; after
 *   3 such failures in a row the pool gives up (rejects everything) instead of
 *   respawning a broken script forever.
 * - Liveness: idle workers are `unref()`ed and busy ones `ref()`ed, so pending jobs
 *   keep the process alive but an idle pool never does, even if `destroy()` is never
 *   called. `destroy()` terminates every worker and waits for them to exit.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { GreenwaveError, ErrorCode } from '../errors.js';
import type { JobMessage, WorkerToPool } from './protocol.js';
import { cancelledError, remoteError } from './jobErrors.js';
import { describe, validateOptions, validateRunOptions, workerExecArgv, type BatchFailure, type BatchOptions, type BatchResult, type RunOptions, type WorkerPoolOptions } from './options.js';

export type { BatchFailure, BatchOptions, BatchResult, RunOptions, WorkerPoolOptions } from './options.js';

/** Consecutive workers that die before `ready` after which the pool stops respawning. */
const kMaxStartupFailures = 3;

/** One job's life in the pool. Fields are all set at creation (fixed shape). */
interface Job {
  readonly id: number;
  /** The caller's array (transferred on the first attempt, then unusable) or the shared view. */
  readonly input: Float64Array;
  readonly shared: boolean;
  readonly transfer: boolean;
  /** Private copy of a transferred input, kept while crash retries remain. */
  backup: Float64Array | undefined;
  attempts: number;
  settled: boolean;
  /** Jobs cancelled together (one `run` call or one `runBatch` call). */
  readonly group: object;
  readonly onDone: (output: Float64Array) => void;
  readonly onFail: (error: GreenwaveError, attempts: number) => void;
  readonly onRetry: () => void;
}

/** One worker thread. A replacement gets a new Handle in the same slot index. */
interface Handle {
  readonly index: number;
  readonly worker: Worker;
  readonly threadId: number;
  job: Job | undefined;
  /** Set when the pool itself terminates the worker: its exit is not a crash. */
  retiring: boolean;
  ready: boolean;
  lastError: Error | undefined;
}

function noop(): void {}

export class WorkerPool {
  /** Number of worker threads (constant for the pool's life). */
  readonly size: number;
  readonly maxRetries: number;
  /** Workers that exited without the pool asking them to (crash, exit, external terminate). */
  crashes = 0;
  /** Workers started to replace one that crashed or was terminated to cancel its job. */
  replacements = 0;

  private readonly workerUrl: URL;
  private readonly workerData: unknown;
  private readonly slots: Handle[] = [];
  private queue: Job[] = [];
  private retryQueue: Job[] = [];
  private readonly dying = new Set<Promise<number>>();
  private nextJobId = 1;
  private startupFailures = 0;
  private broken: GreenwaveError | undefined = undefined;
  private destroyed = false;
  private destroying: Promise<void> | undefined = undefined;
  private pumpScheduled = false;

  constructor(options: WorkerPoolOptions) {
    const filled = validateOptions(options);
    this.size = filled.size;
    this.maxRetries = filled.maxRetries;
    this.workerUrl = filled.workerUrl;
    this.workerData = filled.workerData;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(i));
  }

  /**
   * Runs one job. Resolves with the worker's output; rejects with a GreenwaveError
   * (the handler's error, a crash after retries, CANCELLED on abort or destroy).
   */
  run(input: Float64Array, opts: RunOptions = {}): Promise<Float64Array> {
    return new Promise<Float64Array>((resolve, reject) => {
      const { signal, transfer } = validateRunOptions(opts, 'opts');
      if (!(input instanceof Float64Array)) throw new TypeError(`input must be a Float64Array, got ${describe(input)}`);
      const refused = this.refusal();
      if (refused) throw refused;
      if (signal?.aborted) throw cancelledError(signal);

      const group = {};
      let onAbort = noop;
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      const job = this.createJob(
        input,
        transfer,
        group,
        (out) => {
          cleanup();
          resolve(out);
        },
        (err) => {
          cleanup();
          reject(err);
        },
        noop,
      );
      if (signal) {
        onAbort = () => this.cancelGroup(group, cancelledError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.enqueue(job);
    });
  }

  /**
   * Runs many jobs; resolves when all have finished. A job that throws or crashes
   * past its retries is reported in `failures`, and the rest of the batch completes.
   * Rejects only on abort (code CANCELLED), destroy, or bad arguments.
   */
  runBatch(inputs: Float64Array[], opts: BatchOptions = {}): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      const { signal, transfer } = validateRunOptions(opts, 'opts');
      if (!Array.isArray(inputs)) throw new TypeError(`inputs must be an array, got ${describe(inputs)}`);
      // Check every input before sending any, so a bad batch transfers nothing.
      const owners = new Map<ArrayBufferLike, number>();
      inputs.forEach((input, i) => {
        if (!(input instanceof Float64Array)) throw new TypeError(`inputs[${i}] must be a Float64Array, got ${describe(input)}`);
        if (!transfer || input.buffer instanceof SharedArrayBuffer) return;
        const first = owners.get(input.buffer);
        // Transferring the first would detach the second before it is sent.
        if (first !== undefined) throw new RangeError(`inputs[${i}] shares its ArrayBuffer with inputs[${first}]; use separate buffers, a SharedArrayBuffer or transfer: false`);
        owners.set(input.buffer, i);
      });
      const refused = this.refusal();
      if (refused) throw refused;
      if (signal?.aborted) throw cancelledError(signal);

      const start = performance.now();
      const results: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(inputs.length).fill(undefined);
      const failures: BatchFailure[] = [];
      let retried = 0;
      let remaining = inputs.length;
      let done = false;
      let onAbort = noop;
      const finish = (): void => {
        done = true;
        signal?.removeEventListener('abort', onAbort);
        failures.sort((a, b) => a.index - b.index);
        resolve({ results, failures, retried, wallMs: performance.now() - start });
      };
      if (remaining === 0) {
        finish();
        return;
      }

      const group = {};
      const jobs = inputs.map((input, index) =>
        this.createJob(
          input,
          transfer,
          group,
          (out) => {
            if (done) return;
            results[index] = out;
            if (--remaining === 0) finish();
          },
          (error, attempts) => {
            if (done) return;
            // Destroy mid-batch or a broken pool: the batch as a whole cannot finish.
            if (this.destroyed || this.broken) {
              done = true;
              signal?.removeEventListener('abort', onAbort);
              this.cancelGroup(group, error);
              reject(error);
              return;
            }
            failures.push({ index, error, attempts });
            if (--remaining === 0) finish();
          },
          () => {
            retried++;
          },
        ),
      );
      if (signal) {
        // One listener per batch, not per job (avoids MaxListenersExceededWarning on big batches).
        onAbort = () => {
          if (done) return;
          const error = cancelledError(signal);
          done = true;
          this.cancelGroup(group, error);
          reject(error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      for (const job of jobs) this.enqueue(job);
    });
  }

  /** Terminates every worker and rejects unfinished jobs with CANCELLED ("pool destroyed"). Idempotent. */
  destroy(): Promise<void> {
    if (this.destroying) return this.destroying;
    this.destroyed = true;
    const error = new GreenwaveError(ErrorCode.Cancelled, 'pool destroyed');
    const queued = [...this.retryQueue, ...this.queue];
    this.retryQueue = [];
    this.queue = [];
    for (const job of queued) this.settleFail(job, error);
    for (const handle of this.slots) {
      const job = handle.job;
      handle.job = undefined;
      this.retire(handle);
      if (job) this.settleFail(job, error);
    }
    this.slots.length = 0;
    this.destroying = Promise.all([...this.dying]).then(noop);
    return this.destroying;
  }

  /** Thread ids of the current workers, by slot (empty after destroy). Test and diagnostics hook. */
  workerThreadIds(): number[] {
    return this.slots.map((h) => h.threadId);
  }

  /**
   * Test hook: terminates the worker in slot `index` from outside, exactly as an
   * unexpected death would look to the pool (it is counted as a crash and replaced).
   */
  killWorkerForTest(index: number): Promise<number> {
    const handle = this.slots[index];
    if (handle === undefined) throw new RangeError(`index must be an integer in [0, ${this.slots.length - 1}], got ${index}`);
    return handle.worker.terminate();
  }

  // ---- internals -------------------------------------------------------------

  private refusal(): GreenwaveError | undefined {
    if (this.destroyed) return new GreenwaveError(ErrorCode.Cancelled, 'pool destroyed');
    return this.broken;
  }

  private createJob(
    input: Float64Array,
    transfer: boolean,
    group: object,
    onDone: (output: Float64Array) => void,
    onFail: (error: GreenwaveError, attempts: number) => void,
    onRetry: () => void,
  ): Job {
    return {
      id: this.nextJobId++,
      input,
      shared: input.buffer instanceof SharedArrayBuffer,
      transfer,
      backup: undefined,
      attempts: 0,
      settled: false,
      group,
      onDone,
      onFail,
      onRetry,
    };
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  private spawn(index: number): Handle {
    const worker = new Worker(this.workerUrl, { workerData: this.workerData, execArgv: workerExecArgv() });
    const handle: Handle = { index, worker, threadId: worker.threadId, job: undefined, retiring: false, ready: false, lastError: undefined };
    worker.on('message', (msg: WorkerToPool) => this.onMessage(handle, msg));
    worker.on('error', (err: Error) => {
      handle.lastError = err;
    });
    worker.on('messageerror', (err: Error) => this.onMessageError(handle, err));
    worker.on('exit', (code: number) => this.onExit(handle, code));
    // Idle workers must not keep the process alive; dispatch() refs a worker while it is busy.
    // Only after the listeners: adding a 'message' listener re-refs the worker's port.
    worker.unref();
    return handle;
  }

  /** Terminates a worker the pool no longer wants; its exit will not count as a crash. */
  private retire(handle: Handle): void {
    if (handle.retiring) return;
    handle.retiring = true;
    handle.worker.unref();
    const p = handle.worker.terminate();
    this.dying.add(p);
    void p.finally(() => this.dying.delete(p));
  }

  private isCurrent(handle: Handle): boolean {
    return !handle.retiring && this.slots[handle.index] === handle;
  }

  private pump(): void {
    while (!this.destroyed && this.broken === undefined) {
      const handle = this.slots.find((h) => h.job === undefined);
      if (handle === undefined) return;
      const job = this.retryQueue.shift() ?? this.queue.shift();
      if (job === undefined) return;
      this.dispatch(handle, job);
    }
  }

  private dispatch(handle: Handle, job: Job): void {
    job.attempts++;
    let msg: JobMessage;
    let transferList: ArrayBuffer[];
    try {
      [msg, transferList] = this.payload(job);
      handle.job = job;
      handle.worker.ref();
      handle.worker.postMessage(msg, transferList);
    } catch (e: unknown) {
      // Typically DataCloneError: the input's buffer was already detached (e.g. passed twice).
      handle.job = undefined;
      handle.worker.unref();
      const why = e instanceof Error ? e.message : String(e);
      this.settleFail(job, new GreenwaveError(ErrorCode.InvalidInput, `job input could not be sent to the worker (was its ArrayBuffer already transferred?): ${why}`, [], { cause: e }));
    }
  }

  /** Builds the message for the job's next attempt and the buffers to transfer with it. */
  private payload(job: Job): [JobMessage, ArrayBuffer[]] {
    if (job.shared || !job.transfer) return [{ type: 'job', id: job.id, input: job.input }, []];
    const retriesRemain = job.attempts <= this.maxRetries;
    if (job.attempts === 1) {
      // The caller's buffer goes to the worker; keep a copy only if a crash could need it.
      job.backup = retriesRemain ? job.input.slice() : undefined;
      return [{ type: 'job', id: job.id, input: job.input }, [job.input.buffer as ArrayBuffer]];
    }
    const backup = job.backup;
    if (backup === undefined) throw new GreenwaveError(ErrorCode.Internal, `job ${job.id}: no copy of the input left to retry with`);
    const send = retriesRemain ? backup.slice() : backup;
    if (!retriesRemain) job.backup = undefined;
    return [{ type: 'job', id: job.id, input: send }, [send.buffer as ArrayBuffer]];
  }

  private onMessage(handle: Handle, msg: WorkerToPool): void {
    if (!this.isCurrent(handle)) return;
    if (msg.type === 'ready') {
      handle.ready = true;
      this.startupFailures = 0;
      return;
    }
    const job = handle.job;
    if (job === undefined || job.id !== msg.id) return; // stale answer; cannot happen with one job per worker
    handle.job = undefined;
    handle.worker.unref();
    if (msg.type === 'result') this.settleDone(job, msg.output);
    else this.settleFail(job, remoteError(msg.error));
    this.pump();
  }

  private onMessageError(handle: Handle, err: Error): void {
    if (!this.isCurrent(handle)) return;
    const job = handle.job;
    if (job === undefined) return;
    handle.job = undefined;
    handle.worker.unref();
    this.settleFail(job, new GreenwaveError(ErrorCode.Internal, `worker answer could not be deserialized: ${err.message}`, [], { cause: err }));
    this.pump();
  }

  private onExit(handle: Handle, code: number): void {
    if (!this.isCurrent(handle)) return;
    this.crashes++;
    const job = handle.job;
    handle.job = undefined;
    const why = `worker thread ${handle.threadId} exited unexpectedly with code ${code}${handle.lastError ? `: ${handle.lastError.message}` : ''}`;

    if (this.broken) {
      if (job) this.settleFail(job, this.broken);
      return;
    }
    if (!handle.ready && ++this.startupFailures >= kMaxStartupFailures) {
      const error = this.breakPool(new GreenwaveError(ErrorCode.Internal, `worker script ${this.workerUrl.href} failed to start ${this.startupFailures} times in a row; last: ${why}`, [], { cause: handle.lastError }));
      if (job) this.settleFail(job, error);
      return;
    }

    this.slots[handle.index] = this.spawn(handle.index);
    this.replacements++;
    if (job) {
      if (job.attempts <= this.maxRetries) {
        job.onRetry();
        this.retryQueue.push(job);
      } else {
        this.settleFail(
          job,
          new GreenwaveError(ErrorCode.Internal, `${why} (job gave up after ${job.attempts} attempt${job.attempts === 1 ? '' : 's'})`, [], { cause: handle.lastError }),
        );
      }
    }
    this.pump();
  }

  /** The worker script cannot start: reject everything now and refuse new work. */
  private breakPool(error: GreenwaveError): GreenwaveError {
    this.broken = error;
    const pending = [...this.retryQueue, ...this.queue];
    this.retryQueue = [];
    this.queue = [];
    for (const job of pending) this.settleFail(job, error);
    return error;
  }

  /** Rejects every unfinished job of `group`; workers running one are terminated and replaced. */
  private cancelGroup(group: object, error: GreenwaveError): void {
    const keep = (j: Job): boolean => {
      if (j.group !== group) return true;
      this.settleFail(j, error);
      return false;
    };
    this.queue = this.queue.filter(keep);
    this.retryQueue = this.retryQueue.filter(keep);
    for (const handle of [...this.slots]) {
      const job = handle.job;
      if (job === undefined || job.group !== group) continue;
      handle.job = undefined;
      this.retire(handle);
      this.settleFail(job, error);
      if (!this.destroyed && this.broken === undefined) {
        this.slots[handle.index] = this.spawn(handle.index);
        this.replacements++;
      }
    }
    // Deferred: one abort() fires the listeners of many run() calls back to back; pumping
    // now would hand the fresh worker a job that the very next listener cancels again.
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private settleDone(job: Job, output: Float64Array): void {
    if (job.settled) return;
    job.settled = true;
    job.backup = undefined;
    job.onDone(output);
  }

  private settleFail(job: Job, error: GreenwaveError): void {
    if (job.settled) return;
    job.settled = true;
    job.backup = undefined;
    job.onFail(error, job.attempts);
  }
}
