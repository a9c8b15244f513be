/**
 * `greenwave serve [--port P] [--host H] [--insecure] [--tls-cert F --tls-key F [--tls-ca F]]
 *   --tokens tokens.json [--network net.json] [--counts counts.csv] [--at HH:MM] [--gtfs dir]`
 * `--limit NAME=VALUE` (repeatable) sets a resource limit (service/governance.ts, docs/grpc.md).
 * `--gtfs` loads a static GTFS feed at start and enables SubmitVehiclePositions (GTFS-realtime).
 * `--controllers HOST:PORT` connects the field: every intersection's controller at that Modbus
 * TCP address (unit id = intersection index + 1); the base plan is pushed at start and bus
 * priority decisions follow as priority overrides. Every `--resync-s` seconds (default 5) each
 * controller's active plan id is read; one that restarted or runs another plan gets the current
 * plan again, with a log line on standard error (controllers-adapter/resync.ts).
 * `--db PATH` (default var/greenwave.db) or `--pg URL` is where the service keeps what must
 * survive a restart: the last Replan (restored at start in place of --at), priority requests
 * and decisions, and the audit log (service/journal.ts, docs/storage.md).
 * Runs the gRPC service (docs/grpc.md) until SIGINT/SIGTERM, then drains, writes what is
 * queued, closes the database and stops.
 */
import { parseArgs } from 'node:util';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { TokenStore } from '../service/auth.js';
import { startServer, type ServeOptions } from '../service/server.js';
import { DEFAULT_GOVERNANCE } from '../service/governance.js';
import type { StorageLocation } from '../service/storage/open.js';
import type { Storage } from '../service/storage/storage.js';

/** As service/storage/sqlite.ts DEFAULT_SQLITE_PATH; not imported, so that the CLI loads no database driver until serve starts. */
const DEFAULT_DB = 'var/greenwave.db';

/** Options of `greenwave serve`. */
export const SERVE_OPTIONS = {
      port: { type: 'string', default: '50051' },
      host: { type: 'string', default: '127.0.0.1' },
      insecure: { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      tokens: { type: 'string' },
      network: { type: 'string' },
      counts: { type: 'string' },
      at: { type: 'string', default: '08:00' },
      gtfs: { type: 'string' },
      controllers: { type: 'string' },
      limit: { type: 'string', multiple: true },
      'resync-s': { type: 'string', default: '5' },
      db: { type: 'string' },
      pg: { type: 'string' },
    } as const;

/** `greenwave serve`'s options, and where its storage is. */
export interface ServeArgs extends ServeOptions {
  readonly storageAt: StorageLocation;
}

export function parseServeArgs(args: string[]): ServeArgs {
  const { values } = parseArgs({
    args,
    options: SERVE_OPTIONS,
  });
  const limits: Record<string, number> = {};
  for (const kv of values.limit ?? []) {
    const m = /^(\w+)=(\S+)$/.exec(kv);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !(m[1]! in DEFAULT_GOVERNANCE)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --limit "${kv}" must be NAME=VALUE with NAME one of ${Object.keys(DEFAULT_GOVERNANCE).join(', ')}`);
    if (!(v > 0 && Number.isFinite(v))) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --limit ${m[1]}: "${m[2]}" must be a positive number`);
    limits[m[1]!] = v;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --port ${values.port} must be an integer 0..65535`);
  if (!values.tokens) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: --tokens <file.json> is required (see docs/grpc.md)');
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: --tls-cert and --tls-key go together');
  if (!values.insecure && cert === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: give --tls-cert and --tls-key, or --insecure to serve plaintext');
  let controllerAddress: { host: string; port: number } | undefined;
  if (values.controllers !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(values.controllers);
    const cport = m ? Number(m[2]) : NaN;
    if (!m || !(cport >= 1 && cport <= 65535)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --controllers "${values.controllers}" must be HOST:PORT (a Modbus TCP address)`);
    controllerAddress = { host: m[1]!, port: cport };
  }
  const resyncS = Number(values['resync-s']);
  if (!(Number.isFinite(resyncS) && resyncS >= 0.1 && resyncS <= 3600)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --resync-s ${values['resync-s']} must be a number of seconds within [0.1, 3600]`);
  if (values.db !== undefined && values.pg !== undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: give --db or --pg, not both');
  return {
    storageAt: values.pg !== undefined ? { pg: values.pg } : { db: values.db ?? DEFAULT_DB },
    port,
    host: values.host,
    ...(controllerAddress ? { controllerAddress, controllerResyncMs: Math.round(resyncS * 1000) } : {}),
    insecure: values.insecure,
    ...(cert !== undefined && key !== undefined ? { tls: { certPath: cert, keyPath: key, ...(values['tls-ca'] ? { caPath: values['tls-ca'] } : {}) } } : {}),
    tokens: TokenStore.fromFile(values.tokens),
    limits,
    ...(values.network ? { networkPath: values.network } : {}),
    ...(values.counts ? { countsPath: values.counts } : {}),
    at: values.at,
    ...(values.gtfs !== undefined ? { gtfsDir: values.gtfs } : {}),
  };
}

/** Starts serving; resolves once listening. Exit on SIGINT/SIGTERM after draining. */
export function cmdServe(args: string[], out: (s: string) => void): number {
  const opts = parseServeArgs(args);
  let storage: Storage | undefined;
  const started = import('../service/storage/open.js').then(({ openStorage }) => openStorage(opts.storageAt)).then((s) => {
    storage = s;
    return startServer({ ...opts, storage: s });
  });
  started.then(
    (srv) => {
      const where = opts.storageAt.pg !== undefined ? 'PostgreSQL' : opts.storageAt.db;
      out(`greenwave serve: listening on ${opts.host}:${srv.port} (${opts.insecure ? 'plaintext' : 'TLS'}); state kept in ${where}\n`);
      const stop = (): void => {
        void srv
          .close()
          .then(() => storage?.close())
          .then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (e: unknown) => {
      void storage?.close().catch(() => undefined);
      const ge = GreenwaveError.from(e);
      process.stderr.write(`greenwave: error [${ge.code}]: ${ge.message}\n`);
      process.exit(ge.code === ErrorCode.InvalidInput || ge.code === ErrorCode.Io ? 2 : 1);
    },
  );
  return 0;
}
