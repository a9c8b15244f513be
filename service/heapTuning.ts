/**
 * The one V8 setting a gRPC server process runs under, applied once per process by
 * startServer (./server.ts) and the cluster's gRPC front (./cluster/front.ts).
 *
 * Allocation-site pretenuring off. V8 watches where objects are allocated and, when
 * nearly all objects from one site survive their first scavenge, allocates that site's
 * later objects straight in the old generation. In a gRPC server that decision can land on
 * a per-call object (it depends on when the first scavenges happen during the first
 * burst of calls, so it differs from process to process): every later call's object is
 * then old from birth, and everything it points to (the call's stream, metadata, request,
 * answer: about 5 KB a call) survives the scavenges through the old-to-new remembered set
 * until a mark-compact, so it is copied and promoted. Measured on the Recommend benchmark
 * (docs/benchmarks.md, "Pretenuring"): 7 of 20 server processes came up in that state
 * (2.3-2.6 MB surviving each scavenge instead of 40-70 KB, mark-compacts of 50-190 ms,
 * p99 at 500 req/s 6-103 ms instead of 3-6 ms); with pretenuring off, 0 of 7, with the same
 * CPU a call. The service allocates its long-lived state once at start, where pretenuring
 * would have helped, so the cost is a little copying then.
 *
 * GREENWAVE_V8_PRETENURING=1 keeps V8's default (for comparison).
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Turns V8's allocation-site pretenuring off for this process (once; later calls do nothing). */
export function tuneHeapForServer(): void {
  if (applied || process.env['GREENWAVE_V8_PRETENURING'] === '1') return;
  applied = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
