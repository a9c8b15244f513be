/**
 * The event log as ATSPM-style CSV, one record per line:
 *
 *   locationId,timestamp,eventCode,eventParam
 *   I1,2026-01-01 08:00:00.5,1,2
 *
 * - `locationId`: the signal (greenwave: the intersection id). Headers ATSPM tools write are
 *   accepted too: SignalId / LocationIdentifier, Timestamp, EventCode, EventParam (any case;
 *   columns in any order).
 * - `timestamp`: `YYYY-MM-DD HH:MM:SS.s` (a `T` for the space, more or fewer decimals and a
 *   trailing `Z` are accepted). Read as UTC wall time, as the counts reader does
 *   (engine/counts/csv.ts); rounded to the log's 0.1 s.
 * - `eventCode`: a whole number 0..255; `eventParam` a whole number 0..65535.
 * Written with csv-stringify, read with the engine's one CSV reader (engine/csv.ts, which uses
 * csv-parse). Every problem is collected and thrown once as a ValidationError whose paths
 * are `file:line column`. Records are returned in time order (stable). Called by
 * `greenwave measures` (cli/measures.ts) and the tests; the writer by anything that exports a log.
 */
import { stringify } from 'csv-stringify/sync';
import { readCsv } from '../csv.js';
import { IssueList, ValidationError } from '../errors.js';
import { MAX_EVENT_CODE, MAX_EVENT_PARAM } from './codes.js';
import { EventBuffer } from './buffer.js';

export const EVENT_CSV_COLUMNS = ['locationId', 'timestamp', 'eventCode', 'eventParam'] as const;
type Column = (typeof EVENT_CSV_COLUMNS)[number];
/** Header names accepted per column (lower case). */
const ALIASES: Record<Column, readonly string[]> = {
  locationId: ['locationid', 'signalid', 'locationidentifier', 'location_id', 'signal_id'],
  timestamp: ['timestamp'],
  eventCode: ['eventcode', 'event_code', 'eventid'],
  eventParam: ['eventparam', 'event_param', 'parameter', 'eventparameter'],
};

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `YYYY-MM-DD HH:MM:SS.s` of epoch ms read as UTC wall time. */
export function formatEventTimestamp(ms: number): string {
  const d = new Date(ms);
  const tenths = Math.floor(d.getUTCMilliseconds() / 100);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${tenths}`;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?Z?$/;

/** Epoch ms of a log timestamp (UTC wall time), or NaN when it is not one. */
export function parseEventTimestamp(text: string): number {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac] = m;
  const month = Number(mo);
  const day = Number(d);
  const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s)) + (frac ? Number(frac) * 1000 : 0);
  // Date.UTC rolls 2026-02-30 over to March: refuse instead.
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return Number.NaN;
  return ms;
}

/** The log as CSV text (header line first), in buffer order. */
export function eventsToCsv(events: EventBuffer): string {
  const rows: (string | number)[][] = new Array(events.length);
  for (let k = 0; k < events.length; k++) {
    rows[k] = [events.locations[events.locationAt(k)]!, formatEventTimestamp(events.timestampMsAt(k)), events.codeAt(k), events.paramAt(k)];
  }
  return stringify(rows, { header: true, columns: [...EVENT_CSV_COLUMNS], record_delimiter: '\n' });
}

/** Reads an event log CSV (see the header); throws ValidationError listing every bad line. */
export function readEventsCsv(text: string, file = 'events.csv'): EventBuffer {
  const what = `${file}: event log`;
  const issues = new IssueList();
  const table = readCsv(text, file, issues);
  if (!table) throw new ValidationError(what, issues.items);
  if (table.header.length === 0) throw new ValidationError(what, [{ path: `${file}:1`, message: `file is empty; expected the header ${EVENT_CSV_COLUMNS.join(',')}` }]);
  const at = new Map<Column, number>();
  table.header.forEach((name, k) => {
    const col = EVENT_CSV_COLUMNS.find((c) => ALIASES[c].includes(name.toLowerCase()));
    if (col === undefined) issues.add(`${file}:${table.headerLine}`, `unknown column "${name}"; expected ${EVENT_CSV_COLUMNS.join(', ')}`);
    else if (at.has(col)) issues.add(`${file}:${table.headerLine}`, `column ${col} appears twice`);
    else at.set(col, k);
  });
  for (const col of EVENT_CSV_COLUMNS) if (!at.has(col)) issues.add(`${file}:${table.headerLine}`, `missing column ${col}`);
  issues.throwIfAny(what);

  const out = new EventBuffer(Math.max(16, table.records.length));
  const int = (raw: string, max: number): number => (/^\s*\d+\s*$/.test(raw) && Number(raw) <= max ? Number(raw) : Number.NaN);
  for (const rec of table.records) {
    const field = (col: Column): string => rec.fields[at.get(col)!] ?? '';
    if (rec.fields.length !== table.header.length) {
      issues.add(`${file}:${rec.line}`, `expected ${table.header.length} fields, got ${rec.fields.length}`);
      continue;
    }
    const location = field('locationId').trim();
    const ms = parseEventTimestamp(field('timestamp'));
    const code = int(field('eventCode'), MAX_EVENT_CODE);
    const param = int(field('eventParam'), MAX_EVENT_PARAM);
    let ok = true;
    const bad = (col: Column, message: string): void => {
      issues.add(`${file}:${rec.line} ${col}`, message);
      ok = false;
    };
    if (location === '') bad('locationId', 'must not be empty');
    if (Number.isNaN(ms)) bad('timestamp', `"${field('timestamp')}" is not a timestamp YYYY-MM-DD HH:MM:SS.s`);
    if (Number.isNaN(code)) bad('eventCode', `"${field('eventCode')}" is not a whole number 0..${MAX_EVENT_CODE}`);
    if (Number.isNaN(param)) bad('eventParam', `"${field('eventParam')}" is not a whole number 0..${MAX_EVENT_PARAM}`);
    if (ok) out.push(out.locationIndex(location), ms, code, param);
  }
  issues.throwIfAny(what);
  out.sortByTime();
  return out;
}
