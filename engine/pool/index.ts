/** Public surface of engine/pool: the main-thread pool and the worker-side `serveJobs`. */
export { WorkerPool } from './pool.js';
export type { WorkerPoolOptions, RunOptions, BatchOptions, BatchResult, BatchFailure } from './pool.js';
export { serveJobs } from './worker-host.js';
export type { JobHandler } from './worker-host.js';
