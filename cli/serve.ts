/**
 * `greenwave serve [--port P] [--host H] [--insecure] [--tls-cert F --tls-key F [--tls-ca F]]
 *   --tokens tokens.json [--network net.json] [--counts counts.csv] [--at HH:MM] [--gtfs dir]`
 * `--limit NAME=VALUE` (repeatable) sets a resource limit (service/governance.ts, docs/grpc.md).
 * `--gtfs` loads a static GTFS feed at start and enables SubmitVehiclePositions (GTFS-realtime).
 * `--parking FILE` loads a parking file (docs/parking.md), checked against the network (exit 2
 * with every located problem), and enables ParkingGuidanceService.
 * `--diversion FILE` loads decision points (docs/traffic.md "Diversion guidance in serve"),
 * checked against the network's links (exit 2 with every located problem): their signs show the
 * routes' travel times or 前方拥堵 请绕行, pushed over Modbus (service/diversionSigns.ts).
 * `--controllers HOST:PORT` connects the field: every intersection's controller at that Modbus
 * TCP address (unit id = intersection index + 1); the base plan is pushed at start and bus
 * priority decisions follow as priority overrides. Every `--resync-s` seconds (default 5) each
 * controller's active plan id is read; one that restarted or runs another plan gets the current
 * plan again, with a log line on standard error (controllers-adapter/resync.ts). With a storage,
 * every controller's event log is collected every `--event-poll-s` seconds (default 1;
 * service/eventCollector.ts), and its loop counts every `--count-interval-s` seconds (default
 * 30; service/countCollector.ts), which also feed the live traffic state and incident detection.
 * `--db PATH` (default var/greenwave.db) or `--pg URL` is where the service keeps what must
 * survive a restart: the last Replan (restored at start in place of --at), priority requests
 * and decisions, and the audit log (service/journal.ts, docs/storage.md).
 * `--metrics-port P` serves Prometheus metrics at http://HOST:P/metrics; `--log-level` sets the
 * JSON log's level (standard error); `--config greenwave.json` and GREENWAVE_* variables give
 * the same settings (cli/serveConfig.ts; command line over environment over file;
 * docs/operations.md).
 * Runs the gRPC service (docs/grpc.md) until SIGINT/SIGTERM, then drains, writes what is
 * queued, closes the metrics port and the database, flushes the log and stops; a second
 * signal during that exits at once.
 */
import { parseArgs } from 'node:util';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { TokenStore } from '../service/auth.js';
import { startServer, type ServeOptions } from '../service/server.js';
import { DEFAULT_GOVERNANCE } from '../service/governance.js';
import type { StorageLocation } from '../service/storage/open.js';
import type { Storage } from '../service/storage/storage.js';
import { flushLogger, LOG_LEVELS, makeLogger, type LogLevel } from '../service/logging.js';
import { CONFIG_ENV, countIntervalOk, envServeConfig, readServeConfig, type ServeConfig } from './serveConfig.js';
import { DEFAULT_SQLITE_PATH } from '../service/storage/location.js';
import { DEFAULT_EVENT_POLL_MS } from '../service/eventCollector.js';
import { DEFAULT_COUNT_INTERVAL_S } from '../service/countCollector.js';
import { DEFAULT_CALIBRATION_DAYS } from '../service/incidentCalibration.js';
import { UserStore } from '../web/server/users.js';


/** Options of `greenwave serve`. Defaults are applied after the config file and the environment (parseServeArgs), so none here. */
export const SERVE_OPTIONS = {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      insecure: { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      tokens: { type: 'string' },
      network: { type: 'string' },
      counts: { type: 'string' },
      at: { type: 'string' },
      gtfs: { type: 'string' },
      parking: { type: 'string' },
      diversion: { type: 'string' },
      controllers: { type: 'string' },
      limit: { type: 'string', multiple: true },
      'resync-s': { type: 'string' },
      'event-poll-s': { type: 'string' },
      'count-interval-s': { type: 'string' },
      'incident-calibration-days': { type: 'string' },
      db: { type: 'string' },
      pg: { type: 'string' },
      'metrics-port': { type: 'string' },
      'log-level': { type: 'string' },
      'two-person-rule': { type: 'boolean' },
      'web-port': { type: 'string' },
      users: { type: 'string' },
    } as const;

/** `greenwave serve`'s options, and where its storage is. */
export interface ServeArgs extends ServeOptions {
  readonly storageAt: StorageLocation;
  readonly logLevel: LogLevel;
}

const str = (v: number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/**
 * The command line over the environment (`env`, GREENWAVE_*) over the config file (--config or
 * GREENWAVE_CONFIG) over the defaults; then the same checks whichever layer a value came from.
 */
export function parseServeArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs {
  const { values: cli } = parseArgs({
    args,
    options: SERVE_OPTIONS,
  });
  const configPath = cli.config ?? (env[CONFIG_ENV] || undefined);
  const file: ServeConfig = configPath !== undefined ? readServeConfig(configPath) : {};
  const fromEnv = envServeConfig(env);
  // A layer that names a storage replaces the storage of the layers below (one storage only).
  const { db: fileDb, pg: filePg, ...fileRest } = file;
  const cfg: ServeConfig = { ...fileRest, ...(fromEnv.db === undefined && fromEnv.pg === undefined ? { db: fileDb, pg: filePg } : {}), ...fromEnv };
  const values = {
    port: cli.port ?? str(cfg.port) ?? '50051',
    host: cli.host ?? cfg.host ?? '127.0.0.1',
    insecure: cli.insecure ?? cfg.insecure ?? false,
    'tls-cert': cli['tls-cert'] ?? cfg.tlsCert,
    'tls-key': cli['tls-key'] ?? cfg.tlsKey,
    'tls-ca': cli['tls-ca'] ?? cfg.tlsCa,
    tokens: cli.tokens ?? cfg.tokens,
    network: cli.network ?? cfg.network,
    counts: cli.counts ?? cfg.counts,
    at: cli.at ?? cfg.at ?? '08:00',
    gtfs: cli.gtfs ?? cfg.gtfs,
    parking: cli.parking ?? cfg.parking,
    diversion: cli.diversion ?? cfg.diversion,
    controllers: cli.controllers ?? cfg.controllers,
    'resync-s': cli['resync-s'] ?? str(cfg.resyncS) ?? '5',
    'event-poll-s': cli['event-poll-s'] ?? str(cfg.eventPollS) ?? String(DEFAULT_EVENT_POLL_MS / 1000),
    'count-interval-s': cli['count-interval-s'] ?? str(cfg.countIntervalS) ?? String(DEFAULT_COUNT_INTERVAL_S),
    'incident-calibration-days': cli['incident-calibration-days'] ?? str(cfg.incidentCalibrationDays) ?? String(DEFAULT_CALIBRATION_DAYS),
    db: cli.db ?? (cli.pg === undefined ? cfg.db : undefined),
    pg: cli.pg ?? (cli.db === undefined ? cfg.pg : undefined),
    'metrics-port': cli['metrics-port'] ?? str(cfg.metricsPort),
    'log-level': cli['log-level'] ?? cfg.logLevel ?? 'info',
    'two-person-rule': cli['two-person-rule'] ?? cfg.twoPersonRule ?? false,
    'web-port': cli['web-port'] ?? str(cfg.webPort),
    users: cli.users ?? cfg.users,
  };
  // Limits merge per name: a file's maxStreams stays when the command line sets only maxInFlight.
  const limits: Record<string, number> = { ...(file.limits as Record<string, number> | undefined), ...(fromEnv.limits as Record<string, number> | undefined) };
  for (const kv of cli.limit ?? []) {
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
  const eventPollS = Number(values['event-poll-s']);
  if (!(Number.isFinite(eventPollS) && eventPollS >= 0.1 && eventPollS <= 3600)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --event-poll-s ${values['event-poll-s']} must be a number of seconds within [0.1, 3600]`);
  const countIntervalS = Number(values['count-interval-s']);
  if (!countIntervalOk(countIntervalS)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --count-interval-s ${values['count-interval-s']} must be a whole number of seconds within [10, 900] that divides 900`);
  const incidentCalibrationDays = Number(values['incident-calibration-days']);
  if (!(Number.isInteger(incidentCalibrationDays) && incidentCalibrationDays >= 0 && incidentCalibrationDays <= 60)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --incident-calibration-days ${values['incident-calibration-days']} must be a whole number of days within [0, 60]`);
  if (values.db !== undefined && values.pg !== undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: give --db or --pg, not both');
  let metricsPort: number | undefined;
  if (values['metrics-port'] !== undefined) {
    metricsPort = Number(values['metrics-port']);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --metrics-port ${values['metrics-port']} must be an integer 0..65535`);
  }
  let webPort: number | undefined;
  if (values['web-port'] !== undefined) {
    webPort = Number(values['web-port']);
    if (!Number.isInteger(webPort) || webPort < 0 || webPort > 65535) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --web-port ${values['web-port']} must be an integer 0..65535`);
    if (values.users === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'serve: --web-port needs --users <users.json> (or `users` in the config file, GREENWAVE_USERS; docs/console.md)');
  }
  const logLevel = values['log-level'];
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new GreenwaveError(ErrorCode.InvalidInput, `serve: --log-level ${logLevel} must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    logLevel: logLevel as LogLevel,
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...(webPort !== undefined ? { webPort, users: UserStore.fromFile(values.users!) } : {}),
    storageAt: values.pg !== undefined ? { pg: values.pg } : { db: values.db ?? DEFAULT_SQLITE_PATH },
    port,
    host: values.host,
    twoPersonRule: values['two-person-rule'],
    ...(controllerAddress ? { controllerAddress, controllerResyncMs: Math.round(resyncS * 1000), eventPollMs: Math.round(eventPollS * 1000), countIntervalS, incidentCalibrationDays } : {}),
    insecure: values.insecure,
    ...(cert !== undefined && key !== undefined ? { tls: { certPath: cert, keyPath: key, ...(values['tls-ca'] ? { caPath: values['tls-ca'] } : {}) } } : {}),
    tokens: TokenStore.fromFile(values.tokens),
    limits,
    ...(values.network ? { networkPath: values.network } : {}),
    ...(values.counts ? { countsPath: values.counts } : {}),
    at: values.at,
    ...(values.gtfs !== undefined ? { gtfsDir: values.gtfs } : {}),
    ...(values.parking !== undefined ? { parking: values.parking } : {}),
    ...(values.diversion !== undefined ? { diversion: values.diversion } : {}),
  };
}

/** Starts serving; resolves once listening. Exit on SIGINT/SIGTERM after draining; a second signal exits at once. */
export function cmdServe(args: string[], out: (s: string) => void): number {
  const opts = parseServeArgs(args);
  const logger = makeLogger(opts.logLevel);
  let storage: Storage | undefined;
  const started = import('../service/storage/open.js').then(({ openStorage }) => openStorage(opts.storageAt)).then((s) => {
    storage = s;
    return startServer({ ...opts, storage: s, logger });
  });
  started.then(
    (srv) => {
      const where = opts.storageAt.pg !== undefined ? 'PostgreSQL' : opts.storageAt.db;
      const metricsAt = srv.metricsPort !== undefined ? `; metrics at http://${opts.metricsHost ?? opts.host}:${srv.metricsPort}/metrics` : '';
      const consoleAt = srv.webPort !== undefined ? `; console at ${opts.tls ? 'https' : 'http'}://${opts.host}:${srv.webPort}/` : '';
      out(`greenwave serve: listening on ${opts.host}:${srv.port} (${opts.insecure ? 'plaintext' : 'TLS'}); state kept in ${where}${metricsAt}${consoleAt}\n`);
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          // An operator who signals again does not want to wait for the drain (a stuck client, a slow database).
          logger.warn(`greenwave serve: ${signal} during shutdown: exiting now`);
          flushLogger(logger);
          process.exit(1);
        }
        stopping = true;
        logger.info(`greenwave serve: ${signal}: draining calls, writing what is queued, closing the database`);
        void srv
          .close()
          .then(() => storage?.close())
          .then(
            () => {
              flushLogger(logger);
              process.exit(0);
            },
            (e: unknown) => {
              logger.error(`greenwave serve: shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
              flushLogger(logger);
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (e: unknown) => {
      void storage?.close().catch(() => undefined);
      const ge = GreenwaveError.from(e);
      flushLogger(logger);
      process.stderr.write(`greenwave: error [${ge.code}]: ${ge.message}\n`);
      process.exit(ge.code === ErrorCode.InvalidInput || ge.code === ErrorCode.Io ? 2 : 1);
    },
  );
  return 0;
}
