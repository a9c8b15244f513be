/**
 * `greenwave <command> --help` and `greenwave --version`: each command's usage
 * text with every option it takes (cli/help.test.ts checks that against the
 * options the command parses). Called by cli/main.ts before a command runs.
 */
import { readFileSync } from 'node:fs';
import { CORRIDOR_OPTIONS, PLAN_OPTIONS } from './main.js';
import { SUMO_IMPORT_OPTIONS, SUMO_LOOPS_OPTIONS, SUMO_PLAN_OPTIONS, SUMO_USAGE } from './sumo.js';
import { SUMO_COMPARE_OPTIONS, SUMO_COMPARE_USAGE } from './sumoCompare.js';
import { SIM_OPTIONS, SIM_USAGE } from './sim.js';
import { CONTROLLERS_OPTIONS } from './controllers.js';
import { SERVE_OPTIONS } from './serve.js';
import { AUDIT_OPTIONS, AUDIT_USAGE } from './audit.js';
import { DEPLOY_OPTIONS, DEPLOY_USAGE } from './deploy.js';
import { DEMO_OPTIONS, DEMO_USAGE } from './demo.js';
import { MEASURES_OPTIONS, MEASURES_USAGE } from './measures.js';
import { opsHelp } from './ops.js';

const PLAN_USAGE = `usage: greenwave plan --network <net.json> --counts <counts.csv> [--at HH:MM] [--check N] [--sheet] [--csv sheet.csv] [--utdf timing.csv] [--out plan.json] [--json]
  Times every signal for the interval starting at HH:MM (predicted from the
  counts before it), or for the interval after the last one in the file.
  --network   the network file (docs/network-format.md)
  --counts    loop counts, CSV: interval_start,detector_id,volume_veh,occupancy_pct
  --at HH:MM  the interval to plan for
  --check N   also run the planner's N runners-up in the microsimulator on the
              counted demand and keep the plan with the least delay (default 0);
              where bench/fidelity did not measure the microsimulator within
              its bounds against SUMO (simulator/checkTrust.ts) it warns, shows
              the shortlist's delays and keeps the planner's best
  --sheet     also print the controller timing sheet: min green, passage, max
              green, yellow, red clearance, walk, flashing don't-walk, force-off
  --csv       write the timing sheet as CSV, one row per phase
  --utdf      write the timings as Synchro UTDF ([Timeplans] and [Phases])
  --out       write the plans as JSON
  --json      print JSON instead of the table
`;

const CORRIDOR_USAGE = `usage: greenwave corridor --network <net.json> --counts <counts.csv> [--corridor ID] [--at HH:MM] [--svg tsd.svg] [--out corridor.json]
  Coordinates a corridor (common cycle, two-way green band, offsets) and
  reports bands, attainability, delay and stops.
  --network, --counts, --at   as for greenwave plan
  --corridor ID   one corridor of the network (default: every corridor)
  --svg           write the time-space diagram
  --out           write the result as JSON
`;

const VALIDATE_USAGE = `usage: greenwave validate <net.json>
  Checks a network file and lists every problem with its path.
`;

const SCHEMA_USAGE = `usage: greenwave schema
  Prints the network file format as JSON Schema.
`;

const CONTROLLERS_USAGE = `usage: greenwave controllers --virtual N [--port 1502] [--host 127.0.0.1] [--network net.json]
                             [--snmp-port P] [--time-scale 1] [--idle-timeout-s S]
                             [--counts counts.csv --time-of-day] [--parking parking.json]
  Runs N virtual signal controllers (the network's first N intersections) on
  one Modbus TCP port, unit ids 1..N (docs/modbus-register-map.md).
  --virtual N        how many controllers
  --port, --host     Modbus TCP address (port 0: any free port)
  --network          the network they run (default examples/demo-city/network.json)
  --snmp-port P      also an NTCIP 1202 agent per controller on UDP P, P+1, … (0: any)
  --time-scale K     run the controllers' clocks K times faster than real time
  --idle-timeout-s S close a Modbus connection that sends no request for S s
  --counts, --time-of-day  a day plan from a day of counts in every controller
                     (Modbus time-of-day table, NTCIP time base)
  --parking F        also a virtual guidance sign for each of the file's signs
                     with a unitId, on the same port (docs/parking.md)
`;

const SERVE_USAGE = `usage: greenwave serve --tokens <tokens.json> (--insecure | --tls-cert <cert> --tls-key <key> [--tls-ca <ca>])
                       [--port 50051] [--host 127.0.0.1] [--network net.json --counts counts.csv --at 08:00]
                       [--gtfs <dir>] [--parking <parking.json>] [--diversion <diversion.json>] [--controllers HOST:PORT [--resync-s 5] [--event-poll-s 1] [--count-interval-s 30] [--incident-calibration-days 3]] [--limit NAME=VALUE]…
                       [--db var/greenwave.db | --pg postgres://…] [--two-person-rule] [--metrics-port P]
                       [--log-level info] [--config greenwave.json] [--web-port P --users users.json]
  gRPC bus priority, SPaT and timing service (docs/grpc.md).
  --tokens           the bearer tokens and their roles (required)
  --insecure         serve plaintext (must be asked for); otherwise --tls-cert and --tls-key
  --tls-ca           require client certificates signed by this CA
  --port, --host     where to listen (port 0: any free port)
  --network, --counts, --at   what to plan (default the demo city at 08:00)
  --gtfs <dir>       a static GTFS feed: enables SubmitVehiclePositions
  --parking <file>   car parks and guidance signs (docs/parking.md): enables ParkingGuidanceService
  --diversion <file> decision points whose signs show route travel times or 前方拥堵 请绕行
                     (docs/traffic.md "Diversion guidance in serve")
  --controllers H:P  field controllers over Modbus TCP (unit id = intersection index + 1)
  --resync-s S       how often each controller's plan is checked and re-sent
  --event-poll-s S   how often each controller's event log is read (with a storage; default 1)
  --count-interval-s S  the loop count interval read from the controllers (with a storage; default 30,
                     the incident detector's tuning; 10..900 dividing 900): the stored counts, the
                     live traffic state's and the incident detector's samples
  --incident-calibration-days N  days of stored counts each loop's incident thresholds are
                     calibrated on, at start and daily (with a storage; default 3, 0 = one threshold
                     for every loop; needs 24 complete hours; docs/traffic.md)
  --limit NAME=VALUE governance limits (service/governance.ts), repeatable
  --db PATH          SQLite file keeping the last Replan (restored at start in place
                     of --at), priority requests and the audit log (default var/greenwave.db)
  --pg URL           keep them in PostgreSQL instead (docs/storage.md); the database also holds the
                     plan lifecycle (OperationsService: propose, review, approve, deploy, roll back)
  --two-person-rule  a plan's author cannot approve it (a second supervisor must)
  --metrics-port P   Prometheus metrics at http://HOST:P/metrics (0: any free port; default: not served)
  --web-port P       the operator console at http(s)://HOST:P/ (0: any free port; default: not served;
                     docs/console.md); over TLS with --tls-cert and --tls-key
  --users FILE       the console's users: scrypt password hashes and roles (needed by --web-port)
  --log-level L      JSON log on standard error: fatal, error, warn, info (default), debug, trace, silent
  --config FILE      the same settings from a JSON file; GREENWAVE_<FIELD> variables override it and
                     options override both (docs/operations.md)
`;

/**
 * Per command (and `sumo` subcommand): its usage text and the options it parses. A function,
 * not a constant: cli/main.ts imports this module and this module reads main's option tables,
 * which exist only once main has finished loading.
 */
export function commandHelp(): Readonly<Record<string, { readonly usage: string; readonly options: Readonly<Record<string, unknown>> }>> {
  return {
  plan: { usage: PLAN_USAGE, options: PLAN_OPTIONS },
  corridor: { usage: CORRIDOR_USAGE, options: CORRIDOR_OPTIONS },
  validate: { usage: VALIDATE_USAGE, options: {} },
  schema: { usage: SCHEMA_USAGE, options: {} },
  'sumo loops': { usage: SUMO_USAGE, options: SUMO_LOOPS_OPTIONS },
  'sumo import': { usage: SUMO_USAGE, options: SUMO_IMPORT_OPTIONS },
  'sumo plan': { usage: SUMO_USAGE, options: SUMO_PLAN_OPTIONS },
  'sumo compare': { usage: SUMO_COMPARE_USAGE, options: SUMO_COMPARE_OPTIONS },
  sumo: { usage: SUMO_USAGE, options: {} },
  sim: { usage: SIM_USAGE, options: SIM_OPTIONS },
  controllers: { usage: CONTROLLERS_USAGE, options: CONTROLLERS_OPTIONS },
  serve: { usage: SERVE_USAGE, options: SERVE_OPTIONS },
  audit: { usage: AUDIT_USAGE, options: AUDIT_OPTIONS },
  deploy: { usage: DEPLOY_USAGE, options: DEPLOY_OPTIONS },
  demo: { usage: DEMO_USAGE, options: DEMO_OPTIONS },
  measures: { usage: MEASURES_USAGE, options: MEASURES_OPTIONS },
  ...opsHelp(),
  };
}

/** Commands whose help is per subcommand (`greenwave sumo plan --help`, `greenwave ops deploy --help`). */
const WITH_SUBCOMMANDS = ['sumo', 'ops'];

/** The help entry of the command (and subcommand) `argv` runs. */
function entryFor(argv: readonly string[]): { readonly usage: string; readonly options: Readonly<Record<string, unknown>> } | undefined {
  const [command, sub] = argv;
  const all = commandHelp();
  return (command !== undefined && WITH_SUBCOMMANDS.includes(command) && sub !== undefined ? all[`${command} ${sub}`] : undefined) ?? all[command ?? ''];
}

/** The help for `argv` when it asks for help (`--help` or `-h` anywhere after the command), else undefined. */
export function helpFor(argv: readonly string[]): string | undefined {
  if (!argv.slice(1).some((a) => a === '--help' || a === '-h')) return undefined;
  return entryFor(argv)?.usage;
}

/** The package's version, from package.json next to the sources or the compiled files. */
export function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'greenwave' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

/** The closest of `choices` to `word` by edit distance, if it is close enough to be a likely typo. */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** " (did you mean --x?)" for an unknown option of the command `argv` runs, else "". */
export function suggestOption(argv: readonly string[], message: string): string {
  const m = /Unknown option '--?([^']+)'/.exec(message);
  if (!m) return '';
  const entry = entryFor(argv);
  const hit = entry ? closest(m[1]!, Object.keys(entry.options)) : undefined;
  return hit ? ` (did you mean --${hit}?)` : '';
}

/** The commands, for "did you mean" on an unknown one. */
export const COMMANDS = ['plan', 'corridor', 'validate', 'schema', 'sumo', 'sim', 'controllers', 'serve', 'audit', 'deploy', 'demo', 'measures', 'ops', 'help', 'version'] as const;
