/**
 * `greenwave serve --config greenwave.json` and the `GREENWAVE_<FIELD>`
 * environment variables: the same settings as serve's options, validated at
 * start with the path of every bad field. parseServeArgs (cli/serve.ts)
 * layers them: command-line options over the environment over the file over
 * the defaults, and the merged values go through its own checks.
 *
 * Paths in the file (tokens, network, counts, gtfs, parking, diversion, db, users, TLS files) are taken
 * relative to the file's folder, so a config file and what it names can be
 * moved together; paths from the environment are relative to the working
 * directory, as on the command line. Unknown fields are errors: a misspelt
 * `metricPort` silently ignored is worse than a refusal to start.
 * docs/operations.md lists the fields and the variables.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { GreenwaveError, ErrorCode, type Issue } from '../engine/errors.js';
import { DEFAULT_GOVERNANCE } from '../service/governance.js';
import { LOG_LEVELS } from '../service/logging.js';

const portNumber = z.number({ error: 'must be an integer 0..65535' }).int({ error: 'must be an integer 0..65535' }).min(0, { error: 'must be an integer 0..65535' }).max(65535, { error: 'must be an integer 0..65535' });
const path = z.string({ error: 'must be a file path (a string)' }).min(1, { error: 'must not be empty' });
const positive = z.number({ error: 'must be a positive number' }).positive({ error: 'must be a positive number' }).finite({ error: 'must be a positive number' });
const limitNames = Object.keys(DEFAULT_GOVERNANCE);

/** The config file's fields; each mirrors a `serve` option (docs/operations.md). */
/** A count interval the collector can store and roll up into 15-minute counts (service/countCollector.ts): whole seconds, 10..900, dividing 900. */
export function countIntervalOk(s: number): boolean {
  return Number.isInteger(s) && s >= 10 && s <= 900 && 900 % s === 0;
}

export const ServeConfigSchema = z
  .strictObject({
    port: portNumber,
    host: z.string({ error: 'must be a host name or address' }).min(1, { error: 'must not be empty' }),
    insecure: z.boolean({ error: 'must be true or false' }),
    tlsCert: path,
    tlsKey: path,
    tlsCa: path,
    tokens: path,
    network: path,
    counts: path,
    at: z.string({ error: 'must be a time of day "HH:MM"' }).regex(/^\d{1,2}:\d{2}$/, { error: 'must be a time of day "HH:MM"' }),
    gtfs: path,
    parking: path,
    diversion: path,
    controllers: z.string({ error: 'must be HOST:PORT (a Modbus TCP address)' }).regex(/^.+:\d{1,5}$/, { error: 'must be HOST:PORT (a Modbus TCP address)' }),
    resyncS: z.number({ error: 'must be a number of seconds within [0.1, 3600]' }).min(0.1, { error: 'must be a number of seconds within [0.1, 3600]' }).max(3600, { error: 'must be a number of seconds within [0.1, 3600]' }),
    eventPollS: z.number({ error: 'must be a number of seconds within [0.1, 3600]' }).min(0.1, { error: 'must be a number of seconds within [0.1, 3600]' }).max(3600, { error: 'must be a number of seconds within [0.1, 3600]' }),
    countIntervalS: z.number({ error: 'must be a whole number of seconds within [10, 900] that divides 900' }).refine(countIntervalOk, { error: 'must be a whole number of seconds within [10, 900] that divides 900' }),
    incidentCalibrationDays: z.number({ error: 'must be a whole number of days within [0, 60]' }).int({ error: 'must be a whole number of days within [0, 60]' }).min(0, { error: 'must be a whole number of days within [0, 60]' }).max(60, { error: 'must be a whole number of days within [0, 60]' }),
    limits: z.strictObject(Object.fromEntries(limitNames.map((k) => [k, positive.optional()])) as Record<string, z.ZodOptional<typeof positive>>),
    db: path,
    pg: z.string({ error: 'must be a PostgreSQL URL' }).min(1, { error: 'must not be empty' }),
    metricsPort: portNumber,
    logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    twoPersonRule: z.boolean({ error: 'must be true or false' }),
    webPort: portNumber,
    users: path,
  })
  .partial();
export type ServeConfig = z.infer<typeof ServeConfigSchema>;

type Field = keyof ServeConfig;
/** Fields that name files (resolved against the config file's folder). */
const PATH_FIELDS: readonly Field[] = ['tlsCert', 'tlsKey', 'tlsCa', 'tokens', 'network', 'counts', 'gtfs', 'parking', 'diversion', 'db', 'users'];
const NUMBER_FIELDS: readonly Field[] = ['port', 'resyncS', 'eventPollS', 'countIntervalS', 'incidentCalibrationDays', 'metricsPort', 'webPort'];

/** `tlsCert` → `GREENWAVE_TLS_CERT`. */
export function envName(field: string): string {
  return `GREENWAVE_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
/** Every variable read, by field (GREENWAVE_LIMITS holds NAME=VALUE pairs separated by commas). */
export const ENV_NAMES: Readonly<Record<Field, string>> = Object.fromEntries(Object.keys(ServeConfigSchema.shape).map((f) => [f, envName(f)])) as Record<Field, string>;
/** Where the config file may be named instead of --config. */
export const CONFIG_ENV = 'GREENWAVE_CONFIG';

/** Zod issues as located lines: "where: a.b: message" (unknown fields one line each). */
function toIssues(where: string, error: z.ZodError, pathPrefix = ''): Issue[] {
  const out: Issue[] = [];
  for (const iss of error.issues) {
    const base = [pathPrefix, ...iss.path.map(String)].filter((s) => s !== '').join('.');
    if (iss.code === 'unrecognized_keys') {
      const known = base === 'limits' || base.endsWith('limits') ? limitNames : Object.keys(ServeConfigSchema.shape);
      for (const k of iss.keys) out.push({ path: base ? `${base}.${k}` : k, message: `unknown field (known: ${known.join(', ')})` });
    } else out.push({ path: base, message: iss.message });
  }
  return out.map((i) => ({ path: `${where}: ${i.path}`, message: i.message }));
}

function fail(issues: readonly Issue[]): never {
  throw new GreenwaveError(ErrorCode.InvalidInput, issues.map((i) => `${i.path}: ${i.message}`).join('\n'), issues);
}

/** Reads and validates a config file; paths in it come back absolute. */
export function readServeConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.Io, `${file}: cannot read the config file: ${e instanceof Error ? e.message : String(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `${file}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = ServeConfigSchema.safeParse(json);
  if (!r.success) fail(toIssues(file, r.error));
  const cfg: Record<string, unknown> = { ...r.data };
  const dir = dirname(resolve(file));
  for (const f of PATH_FIELDS) if (typeof cfg[f] === 'string') cfg[f] = resolve(dir, cfg[f]);
  return cfg as ServeConfig;
}

/** The GREENWAVE_* variables set in `env`, validated. */
export function envServeConfig(env: NodeJS.ProcessEnv): ServeConfig {
  const raw: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const [field, name] of Object.entries(ENV_NAMES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    names[field] = name;
    if (NUMBER_FIELDS.includes(field as Field)) raw[field] = v.trim() === '' ? Number.NaN : Number(v);
    else if (field === 'insecure' || field === 'twoPersonRule') raw[field] = /^(true|1|yes)$/i.test(v) ? true : /^(false|0|no)$/i.test(v) ? false : v;
    else if (field === 'limits') {
      const limits: Record<string, unknown> = {};
      for (const kv of v.split(',')) {
        const m = /^\s*(\w+)\s*=\s*(\S*)\s*$/.exec(kv);
        if (!m) fail([{ path: name, message: `"${kv}" must be NAME=VALUE, pairs separated by commas` }]);
        limits[m[1]!] = Number(m[2]);
      }
      raw[field] = limits;
    } else raw[field] = v;
  }
  const r = ServeConfigSchema.safeParse(raw);
  if (!r.success) {
    // Located by the variable's name (and the limit's, for GREENWAVE_LIMITS).
    fail(
      r.error.issues.flatMap((iss) => {
        const field = String(iss.path[0] ?? '');
        const where = names[field] ?? field;
        return toIssues(where, new z.ZodError([{ ...iss, path: iss.path.slice(1) }])).map((i) => ({ path: i.path.replace(/: $/, ''), message: i.message }));
      }),
    );
  }
  return r.data;
}
