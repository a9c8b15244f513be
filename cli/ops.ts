/**
 * `greenwave ops <subcommand> --server HOST:PORT (--token T | --token-file F)
 * [--insecure | --tls-ca ca.pem] [--json]`: the operator's command line for
 * the control centre, a client of a running `greenwave serve --db` over gRPC
 * (OperationsService: the plan lifecycle, locks and the audit log; EventService:
 * measures, and the stored event log as ATSPM CSV; ParkingGuidanceService: a ParkAPI
 * document; TrafficStateService: the network's traffic state). Each subcommand checks its arguments before anything is sent
 * (exit 2, located), makes its call (./opsClient.ts) and prints aligned tables
 * (./opsFormat.ts) or, with --json, the response. A refused call is one line
 * with the gRPC status name and the server's details, exit 1; `deploy --watch`
 * and `rollback --watch` exit 1 when a controller did not confirm. Run by
 * cli/main.ts (runAsync); its usage texts are listed by cli/help.ts.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventBuffer } from '../engine/events/buffer.js';
import { eventsToCsv } from '../engine/events/csv.js';
import { parkApiCity, type ParkApiLotInput } from '../engine/parking/parkapi.js';
import type { ParkingSiteStatus } from '../engine/parking/schema.js';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { connection, OpsClient, RemoteError, type Obj } from './opsClient.js';
import { readEdits } from './opsEdits.js';
import * as fmt from './opsFormat.js';
import { closest } from './help.js';

const TRAFFIC_CLASSES: readonly string[] = ['arterial', 'collector', 'side'];

/** Options every subcommand takes. */
export const OPS_COMMON_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  insecure: { type: 'boolean', default: false },
  'tls-ca': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

const COMMON_HELP = `  --server HOST:PORT  the greenwave service (greenwave serve --db …)
  --token T           bearer token (its roles decide what you may do)
  --token-file F      read the token from a file instead (keeps it out of ps and shell history)
  --insecure          plaintext, for a service started with --insecure
  --tls-ca ca.pem     trust this CA for the service's certificate (default: the system's CAs)
  --json              print the response as JSON (for scripts) instead of tables
`;

const CONNECT = '--server HOST:PORT (--token T | --token-file F) [--insecure | --tls-ca ca.pem] [--json]';

interface Sub {
  /** The synopsis after `greenwave ops`. */
  readonly synopsis: string;
  readonly about: string;
  /** Option lines of its own (the common ones follow). */
  readonly help: string;
  readonly options: Readonly<Record<string, { type: 'string' | 'boolean'; default?: boolean }>>;
  readonly positionals: readonly string[];
  run(x: Run): Promise<number>;
}

interface Run {
  readonly v: Record<string, string | boolean | undefined>;
  readonly args: readonly string[];
  readonly client: OpsClient;
  readonly out: (s: string) => void;
  readonly json: boolean;
}

class OpsUsageError extends GreenwaveError {
  constructor(sub: string | undefined, message: string) {
    super(ErrorCode.InvalidInput, `ops${sub ? ` ${sub}` : ''}: ${message}\n\n${sub && SUBS[sub] ? subUsage(sub) : OPS_USAGE}`);
  }
}

/** A positive whole number from the command line (a plan id, a version, a lock id). */
function wholeNumber(sub: string, what: string, v: string, min = 1): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new OpsUsageError(sub, `${what} "${v}": expected a whole number${min > 0 ? ' from 1' : ''}, e.g. 12`);
  return n;
}

function required(sub: string, v: Run['v'], name: string, hint = ''): string {
  const x = v[name];
  if (typeof x !== 'string' || x.trim() === '') throw new OpsUsageError(sub, `--${name} is required${hint}`);
  return x;
}

const optionalString = (v: Run['v'], name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);

function isoTimestamp(sub: string, name: string, v: string): { seconds: number; nanos: number } {
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) throw new OpsUsageError(sub, `--${name} "${v}": expected an ISO 8601 time with its zone, e.g. 2026-12-01T07:00:00Z`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

const print = (x: Run, response: unknown, text: () => string): void => x.out(x.json ? `${fmt.jsonText(response)}\n` : text());

/** Follows the rollout, printing each controller's state as it arrives, then the summary; 0 when every controller confirmed. */
async function follow(x: Run, staged: Obj): Promise<number> {
  const updates: Obj[] = [];
  if (x.json) x.out(`${fmt.jsonText({ rollout: staged }, 0)}\n`);
  else x.out(`following rollout ${String(staged['rollout_id'])}:\n`);
  await x.client.watchRollout(String(staged['rollout_id']), (u) => {
    updates.push(u);
    x.out(x.json ? `${fmt.jsonText({ update: u }, 0)}\n` : fmt.formatRolloutUpdate(u));
  });
  const summary = fmt.rolloutSummary(updates);
  x.out(x.json ? `${fmt.jsonText({ summary }, 0)}\n` : fmt.formatRolloutSummary(summary));
  return summary.failed.length === 0 ? 0 : 1;
}

const SUBS: Readonly<Record<string, Sub>> = {
  plans: {
    synopsis: 'plans [--limit N]',
    about: 'The versions of the network\'s plan, newest first: state, source, author, reason, deployments.',
    help: '  --limit N           how many versions (default 50, at most 500)\n',
    options: { limit: { type: 'string' } },
    positionals: [],
    async run(x) {
      const limit = x.v['limit'] === undefined ? 0 : wholeNumber('plans', '--limit', String(x.v['limit']));
      if (limit > 500) throw new OpsUsageError('plans', `--limit ${limit}: at most 500`);
      const r = await x.client.call('ListPlans', { limit });
      print(x, r, () => fmt.formatPlans(r));
      return 0;
    },
  },
  show: {
    synopsis: 'show <planId>',
    about: 'One version: its decisions, deployments and timing per intersection (cycle, offset, phase greens).',
    help: '',
    options: {},
    positionals: ['planId'],
    async run(x) {
      const r = await x.client.call('GetPlanVersion', { plan_id: wholeNumber('show', 'plan id', x.args[0]!) });
      print(x, r, () => fmt.formatPlanVersion(r));
      return 0;
    },
  },
  propose: {
    synopsis: 'propose (--at HH:MM | --edit edits.json [--base <planId>]) --reason "…"',
    about: `A new version from the optimizer for the counts interval HH:MM (locks respected), or an
  operator's edit of offsets and phase greens of the plan in force (or of --base). The edits
  file is checked here first; the server's safety validator refuses an unsafe edit whole,
  naming each field and rule. Edits file:
    [{ "intersectionId": "I3", "offsetS": 20, "phases": [{ "phaseId": "2", "greenS": 40 }] }]`,
    help: '  --at HH:MM          the optimizer\'s plan for this counts interval\n  --edit FILE         an operator\'s edit (JSON, above)\n  --base ID           the version edited (default: the plan the service runs now)\n  --reason TEXT       why (kept with the version and in the audit log)\n',
    options: { at: { type: 'string' }, edit: { type: 'string' }, base: { type: 'string' }, reason: { type: 'string' } },
    positionals: [],
    async run(x) {
      const at = optionalString(x.v, 'at');
      const edit = optionalString(x.v, 'edit');
      const base = optionalString(x.v, 'base');
      if ((at === undefined) === (edit === undefined)) throw new OpsUsageError('propose', 'give --at HH:MM (the optimizer) or --edit FILE (an operator\'s edit), one of them');
      if (base !== undefined && edit === undefined) throw new OpsUsageError('propose', '--base goes with --edit');
      if (at !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(at)) throw new OpsUsageError('propose', `--at "${at}": expected a time of day HH:MM, e.g. 17:30`);
      const reason = required('propose', x.v, 'reason', ': say why, it is kept with the version');
      const request =
        at !== undefined
          ? { optimizer_at: at, reason }
          : { edit: { base_plan_id: base === undefined ? 0 : wholeNumber('propose', '--base', base), edits: readEdits(edit!) }, reason };
      const r = await x.client.call('ProposePlan', request);
      print(x, r, () => fmt.formatProposed(r));
      return 0;
    },
  },
  review: {
    synopsis: 'review <planId> [--against <planId>]',
    about: 'What the version changes (intersection, field, before → after), the green-wave bands of both,\n  and both plans simulated on the same demand: delay, stops and throughput with the change in %.',
    help: '  --against ID        compare with this version (default: the plan the service runs now)\n',
    options: { against: { type: 'string' } },
    positionals: ['planId'],
    async run(x) {
      const planId = wholeNumber('review', 'plan id', x.args[0]!);
      const against = optionalString(x.v, 'against');
      const r = await x.client.call('ReviewPlan', { plan_id: planId, against_plan_id: against === undefined ? 0 : wholeNumber('review', '--against', against) });
      print(x, r, () => `review of plan ${planId} against ${against === undefined ? 'the plan in force' : `plan ${against}`}\n\n${fmt.formatReview(r)}`);
      return 0;
    },
  },
  approve: {
    synopsis: 'approve <planId> [--comment TEXT]',
    about: 'Approves a proposed version (supervisor; with the two-person rule, not its author).',
    help: '  --comment TEXT      kept with the decision\n',
    options: { comment: { type: 'string' } },
    positionals: ['planId'],
    async run(x) {
      const r = await x.client.call('DecidePlan', { plan_id: wholeNumber('approve', 'plan id', x.args[0]!), decision: 'approve', comment: optionalString(x.v, 'comment') ?? '' });
      print(x, r, () => fmt.formatDecided(r));
      return 0;
    },
  },
  reject: {
    synopsis: 'reject <planId> --comment TEXT',
    about: 'Rejects a proposed version (supervisor), saying why.',
    help: '  --comment TEXT      why (required)\n',
    options: { comment: { type: 'string' } },
    positionals: ['planId'],
    async run(x) {
      const planId = wholeNumber('reject', 'plan id', x.args[0]!);
      const comment = required('reject', x.v, 'comment', ': say why the version is rejected');
      const r = await x.client.call('DecidePlan', { plan_id: planId, decision: 'reject', comment });
      print(x, r, () => fmt.formatDecided(r));
      return 0;
    },
  },
  deploy: {
    synopsis: 'deploy <planId> [--watch]',
    about: 'Deploys an approved version to every controller (supervisor). With --watch, prints each\n  controller\'s state as it arrives and a summary; exit 0 if all confirmed, 1 if any failed.',
    help: '  --watch             follow the rollout to its end (with --json: one JSON object per line)\n',
    options: { watch: { type: 'boolean', default: false } },
    positionals: ['planId'],
    async run(x) {
      const r = await x.client.call('DeployPlan', { plan_id: wholeNumber('deploy', 'plan id', x.args[0]!) });
      if (x.v['watch']) return follow(x, r);
      print(x, r, () => `${fmt.formatRollout(r, 'deploying')}follow it with --watch, or greenwave ops show ${String(r['plan_id'])}\n`);
      return 0;
    },
  },
  rollback: {
    synopsis: 'rollback <version> --reason TEXT [--watch]',
    about: 'One step back: a new version with the timing of an earlier approved version, approved by you\n  and deployed (supervisor). Takes a version number (greenwave ops plans), not a plan id.',
    help: '  --reason TEXT       why (required)\n  --watch             follow the rollout to its end, as deploy --watch\n',
    options: { reason: { type: 'string' }, watch: { type: 'boolean', default: false } },
    positionals: ['version'],
    async run(x) {
      const version = wholeNumber('rollback', 'version', x.args[0]!);
      const reason = required('rollback', x.v, 'reason', ': say why you roll back');
      const r = await x.client.call('RollbackPlan', { version, reason });
      if (x.v['watch']) return follow(x, r);
      print(x, r, () => fmt.formatRollout(r, `restores version ${version}`));
      return 0;
    },
  },
  lock: {
    synopsis: 'lock (--corridor ID --cycle S | --intersection ID --plan <planId>) --reason TEXT',
    about: 'Keeps the optimizer off something (operator): a corridor\'s common cycle, or one\n  intersection\'s timing pinned to that of a stored version.',
    help: '  --corridor ID       lock this corridor\'s cycle …\n  --cycle S           … at S seconds\n  --intersection ID   pin this intersection\'s timing …\n  --plan ID           … to that of this version\n  --reason TEXT       why (required)\n',
    options: { corridor: { type: 'string' }, cycle: { type: 'string' }, intersection: { type: 'string' }, plan: { type: 'string' }, reason: { type: 'string' } },
    positionals: [],
    async run(x) {
      const corridor = optionalString(x.v, 'corridor');
      const intersection = optionalString(x.v, 'intersection');
      let request: Obj;
      if (corridor !== undefined && intersection === undefined) {
        if (x.v['plan'] !== undefined) throw new OpsUsageError('lock', '--plan pins an intersection: use --intersection ID --plan ID');
        const raw = required('lock', x.v, 'cycle', ' with --corridor: the cycle to keep, s');
        const cycleS = Number(raw);
        if (!(Number.isFinite(cycleS) && cycleS > 0)) throw new OpsUsageError('lock', `--cycle "${raw}": expected a cycle in seconds, e.g. 120`);
        request = { scope_kind: 'corridor', scope_id: corridor, what: 'cycle', cycle_s: cycleS };
      } else if (intersection !== undefined && corridor === undefined) {
        if (x.v['cycle'] !== undefined) throw new OpsUsageError('lock', '--cycle locks a corridor: use --corridor ID --cycle S');
        request = { scope_kind: 'intersection', scope_id: intersection, what: 'plan', plan_id: wholeNumber('lock', '--plan', required('lock', x.v, 'plan', ' with --intersection: the version whose timing is kept')) };
      } else throw new OpsUsageError('lock', 'give --corridor ID --cycle S or --intersection ID --plan ID, one of them');
      const r = await x.client.call('SetLock', { ...request, reason: required('lock', x.v, 'reason', ': say why') });
      print(x, r, () => fmt.formatLock(r));
      return 0;
    },
  },
  unlock: {
    synopsis: 'unlock <lockId> --reason TEXT',
    about: 'Releases a lock (operator).',
    help: '  --reason TEXT       why (required)\n',
    options: { reason: { type: 'string' } },
    positionals: ['lockId'],
    async run(x) {
      const lockId = wholeNumber('unlock', 'lock id', x.args[0]!);
      const r = await x.client.call('ReleaseLock', { lock_id: lockId, reason: required('unlock', x.v, 'reason', ': say why') });
      print(x, r, () => fmt.formatLock(r));
      return 0;
    },
  },
  locks: {
    synopsis: 'locks [--all]',
    about: 'The locks in force (with --all, the released ones too).',
    help: '  --all               also the released locks\n',
    options: { all: { type: 'boolean', default: false } },
    positionals: [],
    async run(x) {
      const r = await x.client.call('ListLocks', { include_released: x.v['all'] === true });
      print(x, r, () => fmt.formatLocks(r));
      return 0;
    },
  },
  audit: {
    synopsis: 'audit [--actor A] [--action PREFIX] [--after SEQ] [--limit N]',
    about: 'The audit log, oldest first (operator or supervisor); page on with --after.',
    help: '  --actor A           only this client\'s events\n  --action PREFIX     only actions starting so, e.g. plan. or auth.refused\n  --after SEQ         only events after this sequence number\n  --limit N           at most N events (default 100, at most 1000)\n',
    options: { actor: { type: 'string' }, action: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' } },
    positionals: [],
    async run(x) {
      const after = optionalString(x.v, 'after');
      const rawLimit = optionalString(x.v, 'limit');
      const limit = rawLimit === undefined ? 100 : wholeNumber('audit', '--limit', rawLimit);
      if (limit > 1000) throw new OpsUsageError('audit', `--limit ${limit}: at most 1000`);
      const r = await x.client.call('ListAuditEvents', {
        after_seq: after === undefined ? 0 : wholeNumber('audit', '--after', after, 0),
        limit,
        actor: optionalString(x.v, 'actor') ?? '',
        action_prefix: optionalString(x.v, 'action') ?? '',
      });
      print(x, r, () => fmt.formatAudit(r, limit));
      return 0;
    },
  },
  measures: {
    synopsis: 'measures --intersection ID --from ISO --to ISO',
    about: 'Signal performance measures of one intersection from the stored event log (at most 24 h):\n  per phase arrivals on green, platoon ratio, delay, split failures, terminations, split percentiles.',
    help: '  --intersection ID   the intersection\n  --from, --to ISO    the window, e.g. 2026-12-01T07:00:00Z (to exclusive)\n',
    options: { intersection: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    positionals: [],
    async run(x) {
      const intersection = required('measures', x.v, 'intersection');
      const from = isoTimestamp('measures', 'from', required('measures', x.v, 'from'));
      const to = isoTimestamp('measures', 'to', required('measures', x.v, 'to'));
      if (to.seconds * 1e9 + to.nanos <= from.seconds * 1e9 + from.nanos) throw new OpsUsageError('measures', '--to must be after --from');
      const r = await x.client.call('GetMeasures', { intersection_id: intersection, from, to }, 'events');
      print(x, r, () => fmt.formatMeasures(r));
      return 0;
    },
  },
  traffic: {
    synopsis: 'traffic [--class arterial|collector|side]',
    about: "The road network's traffic state as the signs and TrafficStateService have it: the city's and each corridor's\n  congestion index and level, every road section's flow, speed, travel time, signal delay, index, level and\n  arrivals on green, then the active incidents and whether detection runs (WatchLinkStates' first update, ListIncidents).",
    help: '  --class C           only the sections of this class: arterial, collector or side\n',
    options: { class: { type: 'string' } },
    positionals: [],
    async run(x) {
      const cls = optionalString(x.v, 'class');
      if (cls !== undefined && !TRAFFIC_CLASSES.includes(cls)) throw new OpsUsageError('traffic', `--class "${cls}": expected ${TRAFFIC_CLASSES.join(', ')}`);
      const states = await x.client.firstTraffic('WatchLinkStates', { interval_s: 1 });
      const incidents = await x.client.call('ListIncidents', {}, 'traffic');
      if (cls !== undefined) states['links'] = ((states['links'] ?? []) as Obj[]).filter((l) => l['link_class'] === `LINK_CLASS_${cls.toUpperCase()}`);
      print(x, { states, incidents }, () => fmt.formatTraffic(states, incidents));
      return 0;
    },
  },
  'report-incident': {
    synopsis: 'report-incident --link ID [--lanes N] [--note TEXT]',
    about: 'Reports an incident on a road section (a call, CCTV, a patrol): active from now, source "operator" (operator; audited).\n  With --lanes, its blocked lanes take their share of the section\'s capacity until it clears (travel times, routes, diversion signs).',
    help: '  --link ID           the road section (a link id as `ops traffic` lists them)\n  --lanes N           lanes blocked (default 0: not known)\n  --note TEXT         what and where (at most 500 characters)\n',
    options: { link: { type: 'string' }, lanes: { type: 'string' }, note: { type: 'string' } },
    positionals: [],
    async run(x) {
      const lanesArg = optionalString(x.v, 'lanes');
      const lanes = lanesArg === undefined ? 0 : wholeNumber('report-incident', '--lanes', lanesArg, 0);
      const r = await x.client.call('ReportIncident', { link_id: required('report-incident', x.v, 'link'), lanes_blocked: lanes, note: optionalString(x.v, 'note') ?? '' }, 'traffic');
      print(x, r, () => fmt.formatIncident('reported', r));
      return 0;
    },
  },
  'clear-incident': {
    synopsis: 'clear-incident <incidentId> [--note TEXT]',
    about: 'Ends an active incident, whoever raised it: cleared on the road, or a false alarm of the loop detector (operator; audited).',
    help: '  --note TEXT         e.g. cleared, or false alarm (at most 500 characters)\n',
    options: { note: { type: 'string' } },
    positionals: ['incidentId'],
    async run(x) {
      const r = await x.client.call('ClearIncident', { incident_id: x.args[0]!, note: optionalString(x.v, 'note') ?? '' }, 'traffic');
      print(x, r, () => fmt.formatIncident('cleared', r));
      return 0;
    },
  },
  parkapi: {
    synopsis: 'parkapi [--lang zh|en] [--out city.json]',
    about: 'Every car park\'s live state as a ParkAPI city document (the JSON existing parking apps read):\n  ParkingGuidanceService.ListCarParks and GetCarPark of each; a stale feed is "nodata", never 0 free.',
    help: '  --lang zh|en        the car parks\' names in Chinese (default) or English\n  --out FILE          write the document there (default: standard output)\n',
    options: { lang: { type: 'string' }, out: { type: 'string' } },
    positionals: [],
    async run(x) {
      const lang = optionalString(x.v, 'lang') ?? 'zh';
      if (lang !== 'zh' && lang !== 'en') throw new OpsUsageError('parkapi', `--lang "${lang}": expected zh or en`);
      const list = ((await x.client.call('ListCarParks', {}, 'parking'))['car_parks'] ?? []) as Obj[];
      const lots: ParkApiLotInput[] = [];
      for (const p of list) {
        const one = await x.client.call('GetCarPark', { car_park_id: p['id'] }, 'parking');
        const o = (one['occupancy'] ?? {}) as Obj;
        const pos = (p['position'] ?? {}) as Obj;
        const t = o['status_time'] as { seconds?: number; nanos?: number } | null | undefined;
        lots.push({
          id: String(p['id']),
          nameZh: String(p['name_zh']),
          nameEn: String(p['name_en']),
          kind: String(p['kind']),
          lat: Number(pos['lat']),
          lon: Number(pos['lon']),
          status: PARKING_STATUS[String(o['status'])] ?? 'unknown',
          capacity: Number(p['capacity']),
          vacant: Number(o['vacant'] ?? 0),
          statusTimeMs: t ? Number(t.seconds ?? 0) * 1000 + Math.round(Number(t.nanos ?? 0) / 1e6) : 0,
        });
      }
      const text = `${JSON.stringify(parkApiCity(lots, Date.now(), lang), null, 2)}\n`;
      const file = optionalString(x.v, 'out');
      if (file === undefined) x.out(text);
      else {
        writeFileSync(file, text);
        x.out(`wrote ${lots.length} car parks to ${file}\n`);
      }
      return 0;
    },
  },
  events: {
    synopsis: 'events [--intersection ID] --from ISO --to ISO [--codes 1,8,82] [--out events.csv]',
    about: 'The stored high-resolution event log as ATSPM-style CSV (location id, timestamp, event code, event parameter),\n  every page of EventService.ListEvents; readable by greenwave measures --events.',
    help: '  --intersection ID   one location (default: all)\n  --from, --to ISO    the window (to exclusive)\n  --codes LIST        only these event codes, e.g. 1,8,10,82\n  --out FILE          write the CSV there (default: standard output)\n',
    options: { intersection: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, codes: { type: 'string' }, out: { type: 'string' } },
    positionals: [],
    async run(x) {
      const from = isoTimestamp('events', 'from', required('events', x.v, 'from'));
      const to = isoTimestamp('events', 'to', required('events', x.v, 'to'));
      if (to.seconds * 1e9 + to.nanos <= from.seconds * 1e9 + from.nanos) throw new OpsUsageError('events', '--to must be after --from');
      const codesText = optionalString(x.v, 'codes');
      const codes = codesText === undefined ? [] : codesText.split(',').map((c) => wholeNumber('events', '--codes', c.trim(), 0));
      if (codes.some((c) => c > 255)) throw new OpsUsageError('events', '--codes: event codes are 0..255');
      const log = new EventBuffer();
      let token = '';
      do {
        const page = await x.client.call('ListEvents', { location_id: optionalString(x.v, 'intersection') ?? '', from, to, event_codes: codes, page_size: 10_000, page_token: token }, 'events');
        for (const e of (page['events'] ?? []) as Obj[]) {
          const t = e['timestamp'] as { seconds?: number; nanos?: number } | undefined;
          log.push(log.locationIndex(String(e['location_id'])), Number(t?.seconds ?? 0) * 1000 + Math.round(Number(t?.nanos ?? 0) / 1e6), Number(e['event_code']), Number(e['event_param']));
        }
        token = String(page['next_page_token'] ?? '');
      } while (token !== '');
      const text = x.json ? `${JSON.stringify(log.records())}\n` : eventsToCsv(log);
      const file = optionalString(x.v, 'out');
      if (file === undefined) x.out(text);
      else {
        writeFileSync(file, text);
        x.out(`wrote ${log.length} events to ${file}\n`);
      }
      return 0;
    },
  },
};

/** ParkingStatus enum names (proto/greenwave/v1/parking.proto) → the live state's status. */
const PARKING_STATUS: Readonly<Record<string, ParkingSiteStatus>> = { PARKING_STATUS_OPEN: 'open', PARKING_STATUS_FULL: 'full', PARKING_STATUS_CLOSED: 'closed', PARKING_STATUS_UNKNOWN: 'unknown' };

function subUsage(name: string): string {
  const s = SUBS[name]!;
  return `usage: greenwave ops ${s.synopsis}\n                     ${CONNECT}\n  ${s.about}\n${s.help}${COMMON_HELP}`;
}

export const OPS_USAGE = `usage: greenwave ops <subcommand> … ${CONNECT}
  The operator's command line for the control centre: a client of greenwave serve --db
  (gRPC OperationsService and EventService, docs/grpc.md). Roles come with the token:
  viewer reads, operator proposes and locks, supervisor approves, deploys and rolls back.
${Object.values(SUBS)
  .map((s) => `  greenwave ops ${s.synopsis}\n`)
  .join('')}  greenwave ops <subcommand> --help   that subcommand's options
${COMMON_HELP}  Exit status: 0 done; 1 the server refused (status and details printed) or a controller
  did not confirm; 2 bad command-line input.
`;

/** Per subcommand, its usage and options, for cli/help.ts (`greenwave ops <sub> --help`). */
export function opsHelp(): Record<string, { usage: string; options: Readonly<Record<string, unknown>> }> {
  const all: Record<string, { usage: string; options: Readonly<Record<string, unknown>> }> = { ops: { usage: OPS_USAGE, options: OPS_COMMON_OPTIONS } };
  for (const [name, s] of Object.entries(SUBS)) all[`ops ${name}`] = { usage: subUsage(name), options: { ...OPS_COMMON_OPTIONS, ...s.options } };
  return all;
}

export const OPS_SUBCOMMANDS = Object.keys(SUBS);

/** The server's details, split into one line per problem when it names several ("path: message; path: message"). */
function remoteLines(e: RemoteError, server: string): string {
  const parts = e.details.split(/; (?=[A-Za-z_][\w.[\]]*(?: \([^)]*\))?: )/);
  const head = `greenwave: error [${e.status}] from ${server}:`;
  return parts.length > 1 ? `${head} ${parts.length} problems\n${parts.map((p) => `  ${p}\n`).join('')}` : `${head} ${e.details}\n`;
}

export async function cmdOps(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) throw new OpsUsageError(undefined, 'expected a subcommand');
  const sub = SUBS[name];
  if (!sub) {
    const hit = closest(name, OPS_SUBCOMMANDS);
    throw new OpsUsageError(undefined, `unknown subcommand "${name}"${hit ? ` (did you mean "${hit}"?)` : ''}`);
  }
  const options = { ...OPS_COMMON_OPTIONS, ...sub.options };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof options }>>;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options });
  } catch (e: unknown) {
    if (!String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS')) throw e;
    // The subcommand's own usage and a likely option, not node's hint about positionals that start with "-".
    const message = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    const unknown = /Unknown option '--?([^']+)'/.exec(message)?.[1];
    const hit = unknown === undefined ? undefined : closest(unknown, Object.keys(options));
    throw new OpsUsageError(name, `${message}${hit ? ` (did you mean --${hit}?)` : ''}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== sub.positionals.length) {
    const want = sub.positionals.length === 0 ? 'no arguments' : sub.positionals.map((p) => `<${p}>`).join(' ');
    throw new OpsUsageError(name, positionals.length < sub.positionals.length ? `expected ${want}` : `unexpected argument "${positionals[sub.positionals.length]}" (expected ${want})`);
  }
  const conn = connection(values, (m) => new OpsUsageError(name, m));
  const client = new OpsClient(conn);
  try {
    return await sub.run({ v: values as Run['v'], args: positionals, client, out, json: values.json === true });
  } catch (e: unknown) {
    if (!(e instanceof RemoteError)) throw e;
    err(remoteLines(e, conn.server));
    return 1;
  } finally {
    client.close();
  }
}
