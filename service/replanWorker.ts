/**
 * Worker thread entry for Replan (service/replan.ts starts it through engine/pool):
 * parses the network and counts text the service loaded (workerData) once, then each job is
 * the minute of the day to plan for, optionally followed by per-intersection cycle limits
 * (minimum then maximum, NaN = none: the plan lifecycle's cycle locks); the answer is the
 * encoded plan (encodePlan). Runs the demand prediction and planning, the CPU-heavy part of
 * a Replan, away from the gRPC event loop. Loaded as compiled JS from dist/.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { serveJobs } from '../engine/pool/worker-host.js';
import { compileNetworkText } from '../engine/network/load.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { encodePlan } from './planWire.js';

const setup = (data: unknown) => {
  const { networkPath, networkText, countsPath, countsText } = data as { networkPath: string; networkText: string; countsPath: string; countsText: string };
  const c = compileNetworkText(networkText, networkPath);
  return { c, prepared: prepareCounts(c, countsText, countsPath) };
};

let loaded: ReturnType<typeof setup> | undefined;

// Background work: on Linux, lower this thread's scheduling priority (setpriority on its thread id),
// so that on a busy machine the gRPC event loop, not the Replan, gets the CPU first.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // Not Linux, or not permitted: the Replan still runs off the event loop.
}

serveJobs((input, data) => {
  loaded ??= setup(data);
  const minutes = input[0]!;
  const at = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  const demand = demandFor(loaded.prepared, at);
  const n = loaded.c.intersectionCount;
  const limits = input.length === 1 + 2 * n ? { cycleLimitMinS: input.slice(1, 1 + n), cycleLimitMaxS: input.slice(1 + n, 1 + 2 * n) } : {};
  const plan = planNetwork(loaded.c, demand.volumeVeh, demand.intervalS, limits);
  return encodePlan(loaded.c, plan.buffer, plan.corridors, demand.forInterval);
});
