/**
 * The worker pool's options and results (WorkerPool in ./pool.ts takes and returns them;
 * re-exported there and from ./index.ts), and the checks that turn a caller's options into
 * filled ones or an OptionError (engine/errors.ts) that names the bad field.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GreenwaveError } from '../errors.js';
import { OptionError } from '../errors.js';

/** Options for `new WorkerPool(...)`; all but `workerUrl` optional. */
export interface WorkerPoolOptions {
  /** file: URL of the COMPILED worker module (it must call `serveJobs`). */
  workerUrl: URL;
  /** Number of worker threads. Default `os.availableParallelism()`. */
  size?: number;
  /** How many times a job whose worker crashed is run again. Default 1. Thrown errors are never retried. */
  maxRetries?: number;
  /** Cloned into every worker (SharedArrayBuffers in it are shared); passed to the handler. */
  workerData?: unknown;
}

export interface FilledWorkerPoolOptions {
  workerUrl: URL;
  size: number;
  maxRetries: number;
  workerData: unknown;
}

const kDefaultOptions: Omit<FilledWorkerPoolOptions, 'workerUrl'> = {
  size: availableParallelism(),
  maxRetries: 1,
  workerData: undefined,
};

export interface RunOptions {
  /** Aborting rejects the job with code CANCELLED; if it is running, its worker is terminated and replaced. */
  signal?: AbortSignal;
  /** Transfer the input's ArrayBuffer to the worker (default true). Ignored for SharedArrayBuffer inputs. */
  transfer?: boolean;
}

export interface BatchOptions {
  /** Aborting rejects the whole batch with code CANCELLED and cancels its unfinished jobs. */
  signal?: AbortSignal;
  /** As in RunOptions; applies to every input. When transferring, no two inputs may share an ArrayBuffer. */
  transfer?: boolean;
}

export interface BatchFailure {
  /** Index into the `inputs` array. */
  index: number;
  error: GreenwaveError;
  /** How many times the job was started (1 for a thrown error; 1 + maxRetries after repeated crashes). */
  attempts: number;
}

export interface BatchResult {
  /** `results[i]` is the output for `inputs[i]`, or undefined if that job is in `failures`. */
  results: (Float64Array | undefined)[];
  /** Sorted by index. */
  failures: BatchFailure[];
  /** Number of re-runs after crashes (successful or not). */
  retried: number;
  wallMs: number;
}

export function validateOptions(options: WorkerPoolOptions): FilledWorkerPoolOptions {
  if (options === null || typeof options !== 'object') throw new OptionError('options', 'must be an object');
  const { workerUrl } = options;
  if (!(workerUrl instanceof URL)) throw new OptionError('options.workerUrl', `must be a URL, got ${describe(workerUrl)}`);
  if (workerUrl.protocol !== 'file:') throw new OptionError('options.workerUrl', `must be a file: URL, got ${workerUrl.protocol}`);
  const path = fileURLToPath(workerUrl);
  if (!existsSync(path)) throw new OptionError('options.workerUrl', `does not exist: ${path} (worker scripts must be compiled: run \`npm run build\`)`);

  const size = options.size ?? kDefaultOptions.size;
  if (typeof size !== 'number') throw new OptionError('options.size', `must be a number, got ${describe(size)}`);
  if (!Number.isInteger(size) || size < 1) throw new OptionError('options.size', `must be an integer >= 1, got ${size}`);

  const maxRetries = options.maxRetries ?? kDefaultOptions.maxRetries;
  if (typeof maxRetries !== 'number') throw new OptionError('options.maxRetries', `must be a number, got ${describe(maxRetries)}`);
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new OptionError('options.maxRetries', `must be an integer >= 0, got ${maxRetries}`);

  return { workerUrl, size, maxRetries, workerData: options.workerData ?? kDefaultOptions.workerData };
}

export function validateRunOptions(opts: RunOptions | BatchOptions, path: string): { signal: AbortSignal | undefined; transfer: boolean } {
  if (opts === null || typeof opts !== 'object') throw new OptionError(`${path}`, 'must be an object');
  const { signal, transfer } = opts;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new OptionError(`${path}.signal`, `must be an AbortSignal, got ${describe(signal)}`);
  if (transfer !== undefined && typeof transfer !== 'boolean') throw new OptionError(`${path}.transfer`, `must be a boolean, got ${describe(transfer)}`);
  return { signal, transfer: transfer ?? true };
}

/**
 * Workers inherit the parent's execArgv, but `--input-type` (legal for `node -e`) makes a
 * worker started from a file exit at once, so it is dropped.
 */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--input-type=')) continue;
    if (arg === '--input-type') {
      i++; // and its value
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The kind of a bad option value, for the error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
