/**
 * bench/grpc: the messages between the orchestrator (run.ts), the server
 * process (server.ts) and the load-generator processes (load.ts, load.py), and
 * the RequestPriority traffic every generator sends, so that greenwave and the
 * no-op baseline see exactly the same requests.
 */

/** A benchmark harness failure (a child died, reported garbage, or missed its deadline). */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

export interface ServerReady {
  readonly type: 'ready';
  readonly port: number;
  readonly pid: number;
}
export type ToServer = { readonly type: 'stop' } | { readonly type: 'cpu' } | { readonly type: 'calls' } | { readonly type: 'gc' };
/** Answer to "gc": a full collection ran (the server process runs with --expose-gc). */
export interface ServerGc {
  readonly type: 'gc';
  readonly ms: number;
}
/** The server process's CPU time so far (process.cpuUsage), µs. */
export interface ServerCpu {
  readonly type: 'cpu';
  readonly userUs: number;
  readonly systemUs: number;
}

/**
 * RequestPriority calls the server process has answered so far, counted where the
 * handler hands its answer to grpc-js. h2load sees only the HTTP status (always 200
 * for gRPC), not the grpc-status in the trailers, so its runs are checked against these.
 */
export interface ServerCalls {
  readonly type: 'calls';
  readonly ok: number;
  /** Non-OK answers by grpc status name. */
  readonly errors: Record<string, number>;
  readonly firstError: string;
  /** OK answers by PriorityResponse.reason. */
  readonly reasons: Record<string, number>;
}

/**
 * One measurement for one generator process. closed: each caller issues its next
 * call as soon as the previous one answers. open: each caller sends on its own
 * Poisson schedule (exponential gaps, mean callers / ratePerS), whether or not
 * earlier calls have answered.
 */
export interface LoadJob {
  readonly type: 'run';
  readonly port: number;
  readonly mode: 'closed' | 'open';
  readonly callers: number;
  /** Offered calls per second of this process (open loop only). */
  readonly ratePerS: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** HTTP/2 connections the callers are spread over. */
  readonly channels: number;
  /** Distinguishes this process's vehicles from the other generators' (and seeds its schedule). */
  readonly generator: number;
}

export interface LoadResult {
  readonly type: 'result';
  /** Per answered call in the measured window, ms, unsorted. */
  readonly latenciesMs: number[];
  readonly errors: number;
  /** Calls answered in the whole job, warm-up included (the server's CPU time is divided by it). */
  readonly completed: number;
  /** Answers in the measured window by PriorityResponse.reason (shows which TSP paths the traffic took). */
  readonly reasons: Record<string, number>;
  /** The first error's status and details, to tell a harness fault from a server one. */
  readonly firstError: string;
  readonly elapsedS: number;
  /** Open loop: how late sends left against their schedule, p99, ms (a generator that cannot keep up shows here). */
  readonly sendLagP99Ms: number;
  /** CPU the generator used in the window as a share of one core (near 1 = the generator is the bottleneck). */
  readonly cpuShare: number;
}

export const TOKEN = 'dispatch-secret-1';
const IDS = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'];

/**
 * The n-th request of generator g, as proto-loader field names: buses on eight
 * intersections, ETAs 5–44 s, lateness 30–229 s, so the mix covers grants, early
 * greens and extensions, lockouts, conflicts and lateness denials.
 */
export function priorityRequest(g: number, n: number): Record<string, unknown> {
  return {
    vehicle_id: `bus-${g}-${n % 997}`,
    route_id: '7',
    intersection_id: IDS[n % 8],
    movement: 'EBT',
    eta_s: 5 + (n % 40),
    lateness_s: 30 + (n % 200),
    occupancy: 30,
    priority_class: 'PRIORITY_CLASS_BUS',
  };
}
