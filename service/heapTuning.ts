/**
 * The one V8 setting a gRPC server process runs under, applied once per process by
 * startServer (./server.ts) and the cluster's gRPC front (./cluster/front.ts).
 *
 * Allocation-site pretenuring off. V8 watches where objects are allocated and, when
 * nearly all objects from one site survive their first scavenge, allocates that site's
 * later objects straight in the old generation; an object allocated old keeps every young
 * object it points to alive through scavenges (the old-to-new remembered set) until a
 * mark-compact. On the Recommend benchmark (docs/benchmarks.md, "A load generator without a
 * collector, and pretenuring off") 7 of 20 server processes came up in a state where every
 * call's grpc-js and HTTP/2 objects (about 5 KB a call) were kept so and promoted: 2.3-2.6 MB
 * surviving each scavenge instead of 40-70 KB, mark-compacts of 50-190 ms, p99 at 500 req/s
 * 6-103 ms instead of 3-6 ms. Nothing live held them (a heap snapshot in the state), the state
 * came back after a full collection, and with pretenuring off none of 13 processes came up in
 * it, with the same CPU a call; which allocation site V8 had pretenured was not identified.
 * The service allocates its long-lived state once at start, where pretenuring would have
 * saved some copying.
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
