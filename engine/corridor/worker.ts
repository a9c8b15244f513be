/**
 * Worker thread entry for corridor optimization: each job is one encoded
 * corridor (see job.ts); the answer is its encoded result. Started by the
 * WorkerPool that `optimizeCorridors` creates; loads compiled JS from dist/.
 */
import { serveJobs } from '../pool/worker-host.js';
import { CorridorJobRunner } from './job.js';

const runner = new CorridorJobRunner();
serveJobs((input) => runner.run(input));
