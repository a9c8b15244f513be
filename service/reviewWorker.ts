/**
 * Worker thread entry for the plan review's simulation (service/lifecycle/review.ts
 * starts it through engine/pool): compiles the service's network text once
 * (workerData), then each job is two encoded plans (planWire.ts) and the run
 * settings, and the answer is each plan's simulated performance on the second
 * plan's demand (simulator/beforeAfter.ts). Minutes of CPU on a big network,
 * so it stays off the gRPC event loop. Loaded as compiled JS from dist/.
 *
 * Job: [durationS, seedCount, ...seeds, lengthA, ...planA, lengthB, ...planB].
 * Answer, per plan: [meanDelayS, stopsPerVeh, throughputVehPerH, ...delay per intersection].
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { serveJobs } from '../engine/pool/worker-host.js';
import { compileNetworkText } from '../engine/network/load.js';
import { simulatePlan } from '../simulator/beforeAfter.js';
import { decodePlan } from './planWire.js';

let compiled: ReturnType<typeof compileNetworkText> | undefined;

try {
  // Background work: the gRPC event loop gets the CPU first (as the Replan worker does).
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // Not Linux, or not permitted.
}

serveJobs((input, data) => {
  const { networkPath, networkText } = data as { networkPath: string; networkText: string };
  compiled ??= compileNetworkText(networkText, networkPath);
  const c = compiled;
  let at = 0;
  const durationS = input[at++]!;
  const seedCount = input[at++]!;
  const seeds = Array.from(input.subarray(at, at + seedCount));
  at += seedCount;
  const lenA = input[at++]!;
  const a = decodePlan(c, input.slice(at, at + lenA)).plan.buffer;
  at += lenA;
  const lenB = input[at++]!;
  const b = decodePlan(c, input.slice(at, at + lenB)).plan.buffer;
  const out = new Float64Array(2 * (3 + c.intersectionCount));
  let k = 0;
  for (const plan of [a, b]) {
    const p = simulatePlan(c, plan, b, { durationS, seeds });
    out[k++] = p.meanDelayS;
    out[k++] = p.stopsPerVeh;
    out[k++] = p.throughputVehPerH;
    out.set(p.intersectionDelayS, k);
    k += c.intersectionCount;
  }
  return out;
});
