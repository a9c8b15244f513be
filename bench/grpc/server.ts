/**
 * bench/grpc server process: either greenwave's real gRPC service (`startServer`
 * with the test fixture's tokens) or a no-op grpc-js handler for the same RPC
 * (argv[2] = "greenwave" | "noop"). Each runs in a child process of its own, so
 * no load generator shares its event loop and the two servers do not share a
 * heap (greenwave's open requests would otherwise add to the no-op's GC work).
 * Forked by bench/grpc/run.ts; reports its port over IPC, answers "cpu" with its
 * CPU time so far, "calls" with how many RequestPriority calls it answered OK
 * or with an error, "gc" after a full collection, and exits when sent "stop".
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos, startServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { BenchError } from './protocol.js';
import type { ServerCalls, ServerCpu, ServerGc, ServerReady, ToServer } from './protocol.js';

// Tokens from the source tree (the JSON fixture is not copied into dist/).
const TOKENS_FILE = new URL('../../../test/fixtures/grpc/tokens.json', import.meta.url).pathname;

if (!process.send) throw new BenchError('bench/grpc/server.js must be forked by bench/grpc/run.js (it reports over IPC)');
const kind = process.argv[2];
if (kind !== 'greenwave' && kind !== 'noop') throw new BenchError(`bench/grpc/server.js: expected "greenwave" or "noop", got "${kind}"`);

type ServiceCtor = { service: grpc.ServiceDefinition };
type Unary = grpc.handleUnaryCall<Record<string, unknown>, Record<string, unknown>>;

const calls = { ok: 0, errors: {} as Record<string, number>, firstError: '', reasons: {} as Record<string, number> };

/** Counts each answer on its way to grpc-js; both servers pay the same for it. */
function counted(handler: Unary): Unary {
  return (call, cb) =>
    handler(call, (e, res, ...rest) => {
      if (e) {
        const name = grpc.status[e.code ?? grpc.status.UNKNOWN] ?? String(e.code);
        calls.errors[name] = (calls.errors[name] ?? 0) + 1;
        if (!calls.firstError) calls.firstError = `${name}: ${e.details ?? ('message' in e ? e.message : '')}`;
      } else {
        calls.ok++;
        const reason = String(res?.['reason'] ?? '?');
        calls.reasons[reason] = (calls.reasons[reason] ?? 0) + 1;
      }
      cb(e, res, ...rest);
    });
}

/**
 * greenwave's server is built inside startServer, out of our reach: its RequestPriority
 * handler is wrapped on the way into addService instead, so the real handler (auth,
 * validation, decision) runs unchanged and only its answers are counted.
 */
async function countedGreenwave(): ReturnType<typeof startServer> {
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (this: grpc.Server, service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void {
    const h = impl['RequestPriority'];
    addService.call(this, service, h ? { ...impl, RequestPriority: counted(h as Unary) } : impl);
  };
  try {
    // The load generators cycle through far more (vehicle, intersection) pairs than the default
    // open-request caps allow one client (each stays open 600 s): lifted, as before the caps, so
    // the benchmark measures the transport and the decision, not RESOURCE_EXHAUSTED answers.
    return await startServer({ insecure: true, port: 0, tokens: TokenStore.fromFile(TOKENS_FILE), maxInFlight: 4096, maxStreams: 5000, limits: { maxOpenRequestsPerClient: 10_000_000, maxOpenRequests: 10_000_000 } });
  } finally {
    grpc.Server.prototype.addService = addService;
  }
}

/** The transport baseline: answers RequestPriority with a constant, no auth, no validation. */
async function noopServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, ServiceCtor> } };
  const server = new grpc.Server();
  const reply = { granted: false, strategy: 'STRATEGY_NONE', expected_time_saved_s: 0, reason: 'REASON_CODE_UNSPECIFIED' };
  server.addService(pkg.greenwave.v1['BusPriorityService']!.service, {
    RequestPriority: counted((_call, cb) => cb(null, reply)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, close: async () => server.forceShutdown() };
}

const running = kind === 'greenwave' ? await countedGreenwave() : await noopServer();
const ready: ServerReady = { type: 'ready', port: running.port, pid: process.pid };
process.send(ready);
process.on('message', (m: ToServer) => {
  if (m.type === 'cpu') {
    const u = process.cpuUsage();
    const cpu: ServerCpu = { type: 'cpu', userUs: u.user, systemUs: u.system };
    process.send!(cpu);
    return;
  }
  if (m.type === 'gc') {
    const t0 = performance.now();
    if (typeof globalThis.gc !== 'function') throw new BenchError('bench/grpc/server.js was asked for a full GC but runs without --expose-gc');
    globalThis.gc();
    const done: ServerGc = { type: 'gc', ms: performance.now() - t0 };
    process.send!(done);
    return;
  }
  if (m.type === 'calls') {
    const c: ServerCalls = { type: 'calls', ok: calls.ok, errors: { ...calls.errors }, firstError: calls.firstError, reasons: { ...calls.reasons } };
    process.send!(c);
    return;
  }
  // An orderly exit (not a kill from the parent) so that --cpu-prof writes its profile.
  void running.close().then(() => process.exit(0));
});
