/**
 * The gRPC client of `greenwave ops` (cli/ops.ts): connects to a running
 * `greenwave serve` (OperationsService and EventService, proto/greenwave/v1/),
 * sends the bearer token with every call, and turns a refused call into one
 * RemoteError carrying the status name and the server's details, so the
 * command prints one clear line instead of a stack trace.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { readText } from './io.js';

export type Obj = Record<string, unknown>;
type Stub = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
type StubCtor = new (addr: string, creds: grpc.ChannelCredentials) => Stub;

/** Where to reach the service and how to prove who is calling. */
export interface Connection {
  /** HOST:PORT. */
  readonly server: string;
  readonly token: string;
  readonly credentials: grpc.ChannelCredentials;
}

/** A call the service refused (or could not be reached for): the status name and its details. */
export class RemoteError extends Error {
  constructor(
    readonly status: string,
    readonly details: string,
  ) {
    super(`${status}: ${details}`);
    this.name = 'RemoteError';
  }
}

/** How long a unary call may take: ReviewPlan and an optimizer ProposePlan run for seconds on a busy server. */
const CALL_TIMEOUT_MS = 120_000;

/**
 * The proto directory, found next to the sources or the compiled files (as service/server.ts
 * finds it). Repeated here so that the CLI does not load the whole service to call it.
 */
function protoRoot(): string {
  for (const rel of ['../proto', '../../proto']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}/greenwave/v1/operations.proto`)) return dir;
  }
  throw new GreenwaveError(ErrorCode.Io, 'cannot find proto/greenwave/v1/operations.proto next to the CLI');
}

let stubs: Record<string, StubCtor> | undefined;
function stubConstructors(): Record<string, StubCtor> {
  if (!stubs) {
    // The same loader options as the server (service/server.ts): snake_case fields, 64-bit ids as numbers, oneof names.
    const def = protoLoader.loadSync(['greenwave/v1/operations.proto', 'greenwave/v1/events.proto', 'greenwave/v1/parking.proto', 'greenwave/v1/traffic.proto'], { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoRoot()] });
    stubs = (grpc.loadPackageDefinition(def) as unknown as { greenwave: { v1: Record<string, StubCtor> } }).greenwave.v1;
  }
  return stubs;
}

/**
 * The connection from the command line: `--server HOST:PORT`, `--token T` or `--token-file F`,
 * and `--insecure` (plaintext) or TLS with the system's roots or `--tls-ca ca.pem`. Throws
 * InvalidInput (exit 2) naming the option that is wrong.
 */
export function connection(o: { server?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined; insecure?: boolean | undefined; 'tls-ca'?: string | undefined }, usage: (m: string) => GreenwaveError): Connection {
  if (o.server === undefined) throw usage('--server HOST:PORT is required');
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(o.server);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw usage(`--server "${o.server}": expected HOST:PORT, e.g. 127.0.0.1:50051`);
  if (o.token !== undefined && o['token-file'] !== undefined) throw usage('give --token or --token-file, not both');
  let token: string;
  if (o.token !== undefined) token = o.token;
  else if (o['token-file'] !== undefined) token = readText(o['token-file'], 'token file').trim();
  else throw usage('a bearer token is required: --token T or --token-file F');
  if (!/^\S+$/.test(token)) throw usage(o.token !== undefined ? '--token: the token must be one word, without spaces' : `--token-file "${o['token-file']}": the file must hold one token, without spaces`);
  if (o.insecure && o['tls-ca'] !== undefined) throw usage('give --insecure or --tls-ca, not both');
  let credentials: grpc.ChannelCredentials;
  if (o.insecure) credentials = grpc.credentials.createInsecure();
  else {
    const ca = o['tls-ca'] === undefined ? null : Buffer.from(readText(o['tls-ca'], 'TLS CA certificate'));
    credentials = grpc.credentials.createSsl(ca);
  }
  return { server: o.server, token, credentials };
}

/** OperationsService, EventService, ParkingGuidanceService and TrafficStateService on one connection. */
export class OpsClient {
  private readonly ops: Stub;
  private readonly events: Stub;
  private readonly parking: Stub;
  private readonly traffic: Stub;
  private readonly meta = new grpc.Metadata();

  constructor(conn: Connection) {
    const ctors = stubConstructors();
    this.ops = new ctors['OperationsService']!(conn.server, conn.credentials);
    // The second stub shares the first one's channel.
    this.events = new ctors['EventService']!(conn.server, conn.credentials);
    this.parking = new ctors['ParkingGuidanceService']!(conn.server, conn.credentials);
    this.traffic = new ctors['TrafficStateService']!(conn.server, conn.credentials);
    this.meta.set('authorization', `Bearer ${conn.token}`);
  }

  /** One unary call of OperationsService (EventService with `service: 'events'`, ParkingGuidanceService with 'parking', TrafficStateService with 'traffic'); RemoteError when refused. */
  call(method: string, request: Obj, service: 'ops' | 'events' | 'parking' | 'traffic' = 'ops'): Promise<Obj> {
    const stub = { ops: this.ops, events: this.events, parking: this.parking, traffic: this.traffic }[service];
    const fn = stub[method] as (r: Obj, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Obj) => void) => void;
    return new Promise((resolve, reject) => fn.call(stub, request, this.meta, { deadline: Date.now() + CALL_TIMEOUT_MS }, (e, r) => (e ? reject(remoteError(e)) : resolve(r))));
  }

  /** The first update of a TrafficStateService watch (WatchLinkStates, WatchIncidents), then the stream is cancelled. */
  firstTraffic(method: string, request: Obj): Promise<Obj> {
    const stream = (this.traffic[method] as (r: Obj, m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<Obj>).call(this.traffic, request, this.meta, { deadline: Date.now() + CALL_TIMEOUT_MS });
    return new Promise((resolve, reject) => {
      stream.once('data', (u: Obj) => {
        stream.removeAllListeners('error');
        stream.on('error', () => undefined); // the cancellation's CANCELLED
        stream.cancel();
        resolve(u);
      });
      stream.on('error', (e: grpc.ServiceError) => reject(remoteError(e)));
      stream.on('end', () => reject(new RemoteError('UNKNOWN', `${method} ended without an update`)));
    });
  }

  /** Follows WatchRollout to its end (every deployment final), handing each update over as it arrives. */
  watchRollout(rolloutId: string, onUpdate: (u: Obj) => void): Promise<void> {
    const stream = (this.ops['WatchRollout'] as (r: Obj, m: grpc.Metadata) => grpc.ClientReadableStream<Obj>).call(this.ops, { rollout_id: rolloutId }, this.meta);
    return new Promise((resolve, reject) => {
      stream.on('data', (u: Obj) => {
        try {
          onUpdate(u);
        } catch (e: unknown) {
          stream.cancel();
          reject(e);
        }
      });
      stream.on('end', resolve);
      stream.on('error', (e: grpc.ServiceError) => reject(remoteError(e)));
    });
  }

  close(): void {
    this.ops.close();
    this.events.close();
    this.parking.close();
    this.traffic.close();
  }
}

function remoteError(e: grpc.ServiceError): RemoteError {
  const name = (grpc.status as unknown as Record<number, string>)[e.code] ?? `status ${e.code}`;
  // grpc-js ends a connection failure with an empty "Resolution note: "; the useful part is before it.
  const details = (e.details || e.message).replace(/\.?\s*Resolution note:\s*$/, '');
  return new RemoteError(name, e.code === grpc.status.UNAVAILABLE ? `${details} (is greenwave serve running there, and is it plaintext (--insecure) or TLS?)` : details);
}
