/**
 * The plain-text output of `greenwave ops` (cli/ops.ts): aligned tables of
 * plan versions, one version's decisions, deployments and timing, a review's
 * change list, bands and simulated before → after, a rollout as it moves,
 * locks, audit events and measures. The input is the response as the gRPC
 * client decodes it (snake_case fields, proto-loader defaults); `jsonText`
 * gives the same response to scripts with timestamps as ISO 8601. Kept apart
 * from the calls so that the layout can be read and tested on its own.
 */
import type { Obj } from './opsClient.js';

const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const num = (o: Obj, k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : Number(o[k] ?? Number.NaN));
const list = (o: Obj, k: string): Obj[] => (Array.isArray(o[k]) ? (o[k] as Obj[]) : []);
const obj = (o: Obj, k: string): Obj => (typeof o[k] === 'object' && o[k] !== null ? (o[k] as Obj) : {});

/** A number with `digits` decimals; "—" for what the server had nothing to measure (NaN). */
export function fixed(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

const isTimestamp = (v: unknown): v is { seconds: number; nanos: number } => typeof v === 'object' && v !== null && Object.keys(v).length === 2 && 'seconds' in v && 'nanos' in v;

/** A google.protobuf.Timestamp as "2026-12-01 17:30:05Z" (UTC); "—" when unset. */
export function when(t: unknown): string {
  if (!isTimestamp(t) || (Number(t.seconds) === 0 && Number(t.nanos) === 0)) return '—';
  return new Date(Number(t.seconds) * 1000 + Math.floor(Number(t.nanos) / 1e6)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The response as JSON for scripts: the proto's field names, timestamps as ISO 8601 strings, NaN as null. */
export function jsonText(v: unknown, indent = 2): string {
  return JSON.stringify(v, (_k, x: unknown) => (isTimestamp(x) ? (Number(x.seconds) === 0 && Number(x.nanos) === 0 ? null : new Date(Number(x.seconds) * 1000 + Math.floor(Number(x.nanos) / 1e6)).toISOString()) : x), indent);
}

/**
 * Rows under a header, each column as wide as its widest cell, two spaces between; the columns
 * named in `right` are right-aligned (numbers). Every line starts with `indent`.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = [], indent = '  '): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `${indent}${cells
      .map((cell, c) => (right.includes(c) ? cell.padStart(widths[c]!) : c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

function clip(s: string, width: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= width ? one : `${one.slice(0, width - 1)}…`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "10 confirmed", "8 confirmed, 2 failed", "3 in flight", "—". */
function deployedSummary(deployments: readonly Obj[]): string {
  if (deployments.length === 0) return '—';
  const count = new Map<string, number>();
  for (const d of deployments) {
    const s = str(d, 'state');
    const k = s === 'staged' || s === 'committed' ? 'in flight' : s;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const order = ['confirmed', 'failed', 'in flight', ...[...count.keys()].filter((k) => !['confirmed', 'failed', 'in flight'].includes(k))];
  return order
    .filter((k) => count.has(k))
    .map((k) => `${count.get(k)} ${k}`)
    .join(', ');
}

/** ListPlans: one row per version, newest first. */
export function formatPlans(r: Obj): string {
  const plans = list(r, 'plans');
  if (plans.length === 0) return 'no plan versions stored yet\n';
  const rows = plans.map((p) => [String(num(p, 'version')), String(num(p, 'plan_id')), str(p, 'state'), str(p, 'source'), str(p, 'author'), when(p['created_at']), clip(str(p, 'reason'), 48), deployedSummary(list(p, 'deployments'))]);
  return table(['version', 'plan id', 'state', 'source', 'author', 'when (UTC)', 'reason', 'deployed'], rows, [0, 1], '');
}

function origin(p: Obj): string {
  const parts = [str(p, 'source') || '—'];
  if (num(p, 'rollback_of_version') > 0) parts.push(`rollback to version ${num(p, 'rollback_of_version')}`);
  else if (num(p, 'parent_version') > 0) parts.push(`edit of version ${num(p, 'parent_version')}`);
  if (str(p, 'at') !== '') parts.push(`optimizer at ${str(p, 'at')}`);
  return parts.length === 1 ? parts[0]! : `${parts[0]} (${parts.slice(1).join(', ')})`;
}

function formatDecisions(p: Obj): string {
  const ds = list(p, 'decisions');
  if (ds.length === 0) return 'decisions: none yet\n';
  return `decisions:\n${table(['when (UTC)', 'actor', 'decision', 'comment'], ds.map((d) => [when(d['at']), str(d, 'actor'), str(d, 'decision'), str(d, 'comment') || '—']))}`;
}

/** Deployments as a table: controller, state, plan ids on the wire, reason. */
export function formatDeployments(ds: readonly Obj[]): string {
  return table(
    ['controller', 'state', 'wire plan', 'read back', 'updated (UTC)', 'reason'],
    ds.map((d) => [str(d, 'controller_id'), str(d, 'state'), String(num(d, 'wire_plan_id')), num(d, 'read_back_plan_id') > 0 ? String(num(d, 'read_back_plan_id')) : '—', when(d['updated_at']), str(d, 'reason') || '—']),
    [2, 3],
  );
}

/** GetPlanVersion: the version, its decisions and deployments, and the timing per intersection. */
export function formatPlanVersion(p: Obj): string {
  const head = [
    `plan ${num(p, 'plan_id')} — version ${num(p, 'version')}, ${str(p, 'state')}\n`,
    `  source    ${origin(p)}\n`,
    `  author    ${str(p, 'author')}, ${when(p['created_at'])}\n`,
    `  reason    ${str(p, 'reason') || '—'}\n`,
    ...(str(p, 'for_interval') !== '' ? [`  demand    ${str(p, 'for_interval')}\n`] : []),
  ].join('');
  const deps = list(p, 'deployments');
  const deployments = deps.length === 0 ? 'deployments: none\n' : `deployments (${deployedSummary(deps)}):\n${formatDeployments(deps)}`;
  const plans = list(p, 'plans');
  const timing =
    plans.length === 0
      ? ''
      : `\ntiming (phases: id=green s; on-demand bus phases marked "bus"):\n${table(
          ['intersection', 'cycle s', 'offset s', 'delay s/veh', 'LOS', 'phases'],
          plans.map((x) => [str(x, 'intersection_id'), fixed(num(x, 'cycle_s')), fixed(num(x, 'offset_s')), fixed(num(x, 'delay_s_per_veh')), str(x, 'los') || '—', list(x, 'phases').map((ph) => `${str(ph, 'id')}=${ph['on_demand'] ? 'bus' : fixed(num(ph, 'green_s'))}`).join(' ')]),
          [1, 2, 3],
        )}`;
  return `${head}\n${formatDecisions(p)}\n${deployments}${timing}`;
}

/** ProposePlan: the new version in one line, then its timing. */
export function formatProposed(p: Obj): string {
  return `proposed plan ${num(p, 'plan_id')} (version ${num(p, 'version')}, ${origin(p)}): review it with greenwave ops review ${num(p, 'plan_id')}\n\n${formatPlanVersion(p)}`;
}

/** DecidePlan: what the version is now and the decision just made. */
export function formatDecided(p: Obj): string {
  const last = list(p, 'decisions').at(-1);
  const by = last ? ` by ${str(last, 'actor')}${str(last, 'comment') ? `: "${str(last, 'comment')}"` : ''}` : '';
  return `plan ${num(p, 'plan_id')} (version ${num(p, 'version')}) is ${str(p, 'state')}${by}\n`;
}

/** "offsetS" → "offset s": the diff's field names as the table shows them. */
function fieldLabel(f: string): string {
  const m = /^(.*)S$/.exec(f);
  return m ? `${m[1]!.replace(/([A-Z])/g, ' $1').toLowerCase()} s` : f;
}

function change(before: number, after: number): string {
  if (!Number.isFinite(before) || !Number.isFinite(after)) return '—';
  if (before === 0) return after === 0 ? '0.0 %' : '—';
  const pct = ((after - before) / Math.abs(before)) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
}

/** ReviewPlan: the change list, the bands of both plans per corridor, and the simulated before → after. */
export function formatReview(r: Obj): string {
  const diff = list(r, 'diff');
  const rows: string[][] = [];
  for (const ix of diff) {
    const id = str(ix, 'intersection_id');
    for (const c of list(ix, 'changes')) rows.push([id, fieldLabel(str(c, 'field')), fixed(num(c, 'before')), '→', fixed(num(c, 'after'))]);
    for (const ph of list(ix, 'phases')) for (const c of list(ph, 'changes')) rows.push([id, `phase ${str(ph, 'phase_id')} ${fieldLabel(str(c, 'field'))}`, fixed(num(c, 'before')), '→', fixed(num(c, 'after'))]);
  }
  const out: string[] = [];
  out.push(diff.length === 0 ? 'changes: none (the timing is the same)\n' : `changes (${plural(diff.length, 'intersection')}):\n${table(['intersection', 'field', 'before', '', 'after'], rows, [2, 4])}`);

  const after = new Map(list(r, 'bands_after').map((b) => [str(b, 'corridor_id'), b]));
  const cyc = (x: Obj): string => (num(x, 'cycle_s') > 0 ? fixed(num(x, 'cycle_s')) : 'none');
  const bandRows = list(r, 'bands_before').map((b) => {
    const a = after.get(str(b, 'corridor_id')) ?? {};
    return [str(b, 'corridor_id'), `${cyc(b)} → ${cyc(a)}`, `${fixed(num(b, 'band_out_s'))} → ${fixed(num(a, 'band_out_s'))}`, `${fixed(num(b, 'band_in_s'))} → ${fixed(num(a, 'band_in_s'))}`];
  });
  if (bandRows.length > 0) out.push(`\ngreen-wave bands, before → after (s, at the links' design speeds; cycle "none": the signals share no cycle):\n${table(['corridor', 'cycle s', 'outbound band s', 'inbound band s'], bandRows, [1, 2, 3])}`);

  const sb = obj(r, 'simulated_before');
  const sa = obj(r, 'simulated_after');
  const seeds = (Array.isArray(r['seeds']) ? (r['seeds'] as number[]) : []).join(', ');
  const sim = (label: string, k: string, digits: number): string[] => [label, fixed(num(sb, k), digits), '→', fixed(num(sa, k), digits), change(num(sb, k), num(sa, k))];
  out.push(`\nsimulated (${fixed(num(r, 'simulated_s'), 0)} s of traffic, seeds ${seeds || '—'}, the same demand for both):\n${table(['measure', 'before', '', 'after', 'change'], [sim('mean delay s/veh', 'mean_delay_s', 1), sim('stops per vehicle', 'stops_per_veh', 2), sim('throughput veh/h', 'throughput_veh_per_h', 0)], [1, 3, 4])}`);
  const db = obj(sb, 'intersection_delay_s');
  const da = obj(sa, 'intersection_delay_s');
  const ids = [...new Set([...Object.keys(db), ...Object.keys(da)])];
  if (ids.length > 0) out.push(`\nsimulated delay by intersection, s/veh:\n${table(['intersection', 'before', '', 'after', 'change'], ids.map((id) => [id, fixed(num(db, id)), '→', fixed(num(da, id)), change(num(db, id), num(da, id))]), [1, 3, 4])}`);
  return out.join('');
}

/** DeployPlan / RollbackPlan: the rollout staged. */
export function formatRollout(r: Obj, verb: string): string {
  const n = list(r, 'deployments').length;
  return `plan ${num(r, 'plan_id')} (version ${num(r, 'version')}) ${verb}: rollout ${str(r, 'rollout_id')}, ${plural(n, 'controller')} staged\n`;
}

/** One RolloutUpdate as it arrives. */
export function formatRolloutUpdate(u: Obj): string {
  const d = obj(u, 'deployment');
  const reason = str(d, 'reason');
  return `  ${when(d['updated_at'])}  ${str(d, 'controller_id').padEnd(10)} ${str(d, 'state').padEnd(10)}${reason ? ` ${reason}` : ''}  (${num(u, 'in_flight')} in flight)\n`;
}

/** The end of a watched rollout: each controller's final state, counted; the failed ones with their reasons. */
export interface RolloutSummary {
  readonly confirmed: number;
  readonly failed: readonly { readonly controller_id: string; readonly state: string; readonly reason: string }[];
}

export function rolloutSummary(updates: readonly Obj[]): RolloutSummary {
  const last = new Map<string, Obj>();
  for (const u of updates) {
    const d = obj(u, 'deployment');
    last.set(str(d, 'controller_id'), d);
  }
  const finals = [...last.values()];
  return {
    confirmed: finals.filter((d) => str(d, 'state') === 'confirmed').length,
    failed: finals.filter((d) => str(d, 'state') !== 'confirmed').map((d) => ({ controller_id: str(d, 'controller_id'), state: str(d, 'state'), reason: str(d, 'reason') })),
  };
}

export function formatRolloutSummary(s: RolloutSummary): string {
  const head = `rollout finished: confirmed ${s.confirmed}, failed ${s.failed.length}\n`;
  return head + s.failed.map((f) => `  ${f.controller_id}: ${f.state}${f.reason ? ` — ${f.reason}` : ''}\n`).join('');
}

/** SetLock / ReleaseLock: the lock in one line. */
export function formatLock(l: Obj): string {
  const what = str(l, 'what') === 'cycle' ? `cycle ${fixed(num(l, 'cycle_s'))} s` : `timing of plan ${num(l, 'plan_id')}`;
  const state = l['released'] ? `released by ${str(l, 'released_by')}` : 'active';
  return `lock ${num(l, 'lock_id')}: ${str(l, 'scope_kind')} ${str(l, 'scope_id')} kept at ${what} (${state}; set by ${str(l, 'author')}: ${str(l, 'reason')})\n`;
}

/** ListLocks. */
export function formatLocks(r: Obj): string {
  const locks = list(r, 'locks');
  if (locks.length === 0) return 'no locks\n';
  return table(
    ['lock', 'scope', 'id', 'keeps', 'author', 'since (UTC)', 'state', 'reason'],
    locks.map((l) => [String(num(l, 'lock_id')), str(l, 'scope_kind'), str(l, 'scope_id'), str(l, 'what') === 'cycle' ? `cycle ${fixed(num(l, 'cycle_s'))} s` : `plan ${num(l, 'plan_id')}`, str(l, 'author'), when(l['created_at']), l['released'] ? `released by ${str(l, 'released_by')}` : 'active', clip(str(l, 'reason'), 48)]),
    [0],
    '',
  );
}

/** ListAuditEvents, oldest first; the next page starts after the last seq shown. */
export function formatAudit(r: Obj, limit: number): string {
  const events = list(r, 'events');
  if (events.length === 0) return 'no audit events match\n';
  const body = table(
    ['seq', 'when (UTC)', 'actor', 'action', 'peer', 'detail'],
    events.map((a) => [String(num(a, 'seq')), when(a['at']), str(a, 'actor'), str(a, 'action'), str(a, 'peer') || '—', clip(str(a, 'detail'), 80)]),
    [0],
    '',
  );
  const lastSeq = num(events.at(-1)!, 'seq');
  return events.length >= limit ? `${body}(more may follow: --after ${lastSeq})\n` : body;
}

/** GetMeasures: one row per phase. */
export function formatMeasures(r: Obj): string {
  const phases = list(r, 'phases');
  const head = `${str(r, 'intersection_id')}: measures from ${plural(num(r, 'events'), 'event')}\n`;
  if (phases.length === 0) return `${head}no phase events in the window\n`;
  return (
    head +
    table(
      ['phase', 'cycles', 'arrivals', 'AoG %', 'green %', 'platoon', 'delay s/veh', 'split fail %', 'gap/max/force', 'split p50/p85/p95 s'],
      phases.map((p) => {
        const t = obj(p, 'terminations');
        const s = obj(p, 'split');
        return [
          str(p, 'phase_id'),
          String(num(p, 'cycles')),
          String(num(p, 'arrivals')),
          fixed(num(p, 'percent_arrivals_on_green')),
          fixed(num(p, 'percent_green')),
          fixed(num(p, 'platoon_ratio'), 2),
          fixed(num(p, 'approach_delay_s_per_veh')),
          fixed(num(p, 'percent_split_failures')),
          `${num(t, 'gap_out')}/${num(t, 'max_out')}/${num(t, 'force_off')}`,
          `${fixed(num(s, 'p50_s'))}/${fixed(num(s, 'p85_s'))}/${fixed(num(s, 'p95_s'))}`,
        ];
      }),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    )
  );
}

const LEVEL_WORDS: Readonly<Record<string, string>> = {
  CONGESTION_LEVEL_FREE: 'free 畅通',
  CONGESTION_LEVEL_BASICALLY_FREE: 'basically free 基本畅通',
  CONGESTION_LEVEL_LIGHTLY_CONGESTED: 'lightly congested 轻度拥堵',
  CONGESTION_LEVEL_MODERATELY_CONGESTED: 'moderately congested 中度拥堵',
  CONGESTION_LEVEL_HEAVILY_CONGESTED: 'heavily congested 严重拥堵',
};
const levelWords = (v: unknown): string => LEVEL_WORDS[String(v)] ?? 'no traffic';
const classWord = (v: unknown): string => String(v).replace(/^LINK_CLASS_/, '').toLowerCase();

/**
 * `ops traffic`: where the state comes from, the city's and the corridors' index, a table of the
 * road sections (TrafficStateService's LinkStatesUpdate) and the incidents (ListIncidentsResponse).
 */
export function formatTraffic(states: Obj, incidents: Obj): string {
  const live = str(states, 'source') === 'TRAFFIC_DATA_SOURCE_LIVE';
  let out = `traffic state: ${live ? "the controllers' live loop counts" : 'the counts file'}, ${fixed(num(states, 'interval_s'), 0)} s from ${when(states['interval_start'])}\n`;
  out += `signal delays: ${str(states, 'progression')}\n`;
  out += `city: ${'city_tpi' in states && states['city_tpi'] !== undefined ? `index ${fixed(num(states, 'city_tpi'))}, ` : ''}${levelWords(states['city_level'])}\n`;
  for (const c of list(states, 'corridors')) out += `corridor ${str(c, 'corridor_id')}: ${'tpi' in c && c['tpi'] !== undefined ? `index ${fixed(num(c, 'tpi'))}, ` : ''}${levelWords(c['level'])}\n`;
  const links = list(states, 'links');
  out += `\n${plural(links.length, 'road section')}:\n`;
  out += table(
    ['section', 'from → to', 'class', 'veh/h', 'km/h', 'travel s', 'delay s', 'index', 'level', 'on green'],
    links.map((l) => [
      str(l, 'link_id'),
      `${str(l, 'from_intersection_id') || 'outside'} → ${str(l, 'to_intersection_id')}`,
      classWord(l['link_class']),
      fixed(num(l, 'flow_veh_per_h'), 0),
      fixed(num(l, 'travel_speed_kph'), 0),
      fixed(num(l, 'travel_time_s'), 0),
      fixed(num(l, 'signal_delay_s'), 0),
      fixed(num(l, 'tpi')),
      levelWords(l['level']),
      l['arrival_on_green_share'] === undefined ? '—' : `${Math.round(100 * num(l, 'arrival_on_green_share'))} %`,
    ]),
    [3, 4, 5, 6, 7],
  );
  const detection = obj(incidents, 'detection');
  out += `\nincident detection: ${str(detection, 'status')}\n`;
  const active = list(incidents, 'incidents');
  if (active.length === 0) out += 'no active incident\n';
  else
    out += table(
      ['incident', 'section', 'loop', 'since', 'source', 'confidence', 'note'],
      active.map((x) => [str(x, 'incident_id'), str(x, 'link_id'), str(x, 'detector_id') || '—', when(x['detected']), str(x, 'reported_by') || str(x, 'source'), fixed(num(x, 'confidence'), 2), clip(str(x, 'note'), 60)]),
      [5],
    );
  return out;
}

/** `ops report-incident` / `clear-incident`: the incident as the service now has it. */
export function formatIncident(what: 'reported' | 'cleared', x: Obj): string {
  const by = what === 'reported' ? str(x, 'reported_by') : str(x, 'cleared_by');
  const at = what === 'reported' ? when(x['detected']) : when(x['cleared']);
  const lanes = num(x, 'lanes_blocked') > 0 ? `, ${plural(num(x, 'lanes_blocked'), 'lane')} blocked` : '';
  return `${what} ${str(x, 'incident_id')} on ${str(x, 'link_id')}${lanes} at ${at} by ${by}${str(x, 'note') ? `: ${str(x, 'note')}` : ''}\n`;
}
