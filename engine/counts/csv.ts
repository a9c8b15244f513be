/**
 * Parses loop-detector interval counts from CSV into a dense, interval-major
 * array. Called by the CLI/loader before fault cleaning (`faults.ts`) and flow
 * prediction (`predict.ts`).
 *
 * File format (UTF-8, optional BOM, LF or CRLF line ends, blank lines ignored):
 *
 *   interval_start,detector_id,volume_veh,occupancy_pct
 *   2024-03-04T08:00,D1,112,14.5
 *   2024-03-04T08:15,D1,131,17
 *
 * - The first non-blank line is the header. It must name exactly these four
 *   columns, in any order; a missing, repeated or unknown column is an error.
 * - `interval_start`: start of the counting interval, local wall time,
 *   `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, no zone. It is stored as the
 *   epoch-ms of that wall time read as UTC, so daylight-saving changes are not
 *   interpreted (a repeated hour shows up as a duplicate row).
 * - `detector_id`: a detector id from the network file.
 * - `volume_veh`: vehicles counted during the interval, a non-negative number.
 * - `occupancy_pct`: share of the interval the loop was occupied, 0..100.
 * - Fields are plain text split on commas; quoting is not supported (a quote
 *   is an ordinary character). The text is read by engine/csv.ts.
 * - Rows may come in any order. The interval length is the option `intervalS`
 *   or, if absent, the smallest gap between distinct start times; every start
 *   must lie on that grid. Grid intervals with no rows are kept as missing (NaN).
 *
 * All problems are collected and thrown once as a ValidationError whose issue
 * paths are `<source>:<line> <column>` with 1-based line numbers.
 */
import { readCsv, type CsvRecord } from '../csv.js';
import { IssueList, ValidationError, type Issue } from '../errors.js';
import { roundTo } from '../numeric.js';

export interface DetectorCounts {
  /** Index -> detector id (the network's detector order when one was given). */
  readonly detectorIds: readonly string[];
  readonly intervalS: number;
  /** Per interval: epoch-ms of the local wall time read as UTC. */
  readonly intervalStartMs: Float64Array;
  /** `[interval * nDetectors + detector]`, NaN = missing. */
  readonly volumeVeh: Float64Array;
  /** Same layout as `volumeVeh`, NaN = missing. */
  readonly occupancyPct: Float64Array;
}

export interface ParseCountsOptions {
  /** Known detector ids, in output order; rows naming other ids are rejected. */
  readonly detectorIds?: readonly string[];
  /** Interval length; inferred from the start times when absent. */
  readonly intervalS?: number;
  /** Name used in issue paths, e.g. the file name. Default `counts.csv`. */
  readonly source?: string;
}

export const COUNTS_COLUMNS = ['interval_start', 'detector_id', 'volume_veh', 'occupancy_pct'] as const;
type Column = (typeof COUNTS_COLUMNS)[number];

/** Issues listed in full before the rest are summarised, so a bad file gives a readable error. */
export const MAX_LISTED_ISSUES = 50;
/** Bounds the dense arrays: a stray far-away timestamp must not allocate gigabytes. */
export const MAX_INTERVALS = 400_000;
export const MAX_CELLS = 20_000_000;

const MS_PER_S = 1000;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

interface Row {
  readonly line: number;
  readonly startMs: number;
  readonly detectorId: string;
  readonly volumeVeh: number;
  readonly occupancyPct: number;
}

/** Collects issues but keeps only the first MAX_LISTED_ISSUES, counting the rest. */
class CappedIssues {
  private readonly list = new IssueList();
  private dropped = 0;
  add(path: string, message: string): void {
    if (this.list.length < MAX_LISTED_ISSUES) this.list.add(path, message);
    else this.dropped++;
  }
  get length(): number {
    return this.list.length + this.dropped;
  }
  throwIfAny(what: string, source: string): void {
    if (this.length === 0) return;
    const issues: Issue[] = [...this.list.items];
    if (this.dropped > 0) issues.push({ path: source, message: `and ${this.dropped} more problem${this.dropped === 1 ? '' : 's'}` });
    throw new ValidationError(what, issues);
  }
}

export function parseCountsCsv(text: string, opts: ParseCountsOptions = {}): DetectorCounts {
  const source = opts.source ?? 'counts.csv';
  const what = `invalid counts CSV ${source}`;
  if (typeof text !== 'string') throw new ValidationError(what, [{ path: source, message: 'expected CSV text' }]);
  const issues = new CappedIssues();
  checkOptions(opts, source, issues);
  issues.throwIfAny(what, source);

  // Whitespace-only lines count as blank, as they always have in this format.
  const csv = readCsv(text, source, issues, { quoted: false, skipWhitespaceLines: true });
  issues.throwIfAny(what, source);
  if (!csv || csv.header.length === 0) throw new ValidationError(what, [{ path: source, message: 'file is empty; expected a header line' }]);
  const columns = parseHeader(csv.header, `${source}:${csv.headerLine}`, issues);
  issues.throwIfAny(what, source);

  const known = opts.detectorIds ? new Set(opts.detectorIds) : undefined;
  const rows: Row[] = [];
  for (const record of csv.records) {
    const row = parseRow(record, columns!, source, known, issues);
    if (row) rows.push(row);
  }
  if (rows.length === 0 && issues.length === 0) issues.add(source, 'no data rows after the header');
  issues.throwIfAny(what, source);

  const intervalS = opts.intervalS ?? inferIntervalS(rows, source, issues);
  issues.throwIfAny(what, source);
  const detectorIds = opts.detectorIds ? [...opts.detectorIds] : [...new Set(rows.map((r) => r.detectorId))].sort();
  const counts = buildDense(rows, detectorIds, intervalS, source, issues);
  issues.throwIfAny(what, source);
  return counts!;
}

function checkOptions(opts: ParseCountsOptions, source: string, issues: CappedIssues): void {
  if (opts.intervalS !== undefined && !(Number.isInteger(opts.intervalS) && opts.intervalS > 0 && opts.intervalS <= 86_400)) {
    issues.add(`${source} intervalS`, `${String(opts.intervalS)} is not a valid interval length: must be a whole number of seconds, 1..86400`);
  }
  if (opts.detectorIds) {
    const seen = new Set<string>();
    for (const id of opts.detectorIds) {
      if (seen.has(id)) issues.add(`${source} detectorIds`, `detector id "${id}" is listed twice`);
      seen.add(id);
    }
  }
}

/** Returns column name -> field index, or undefined after adding issues. */
function parseHeader(names: readonly string[], path: string, issues: CappedIssues): Map<Column, number> | undefined {
  const index = new Map<Column, number>();
  names.forEach((name, i) => {
    if (!(COUNTS_COLUMNS as readonly string[]).includes(name)) issues.add(path, `unknown column "${name}"; expected ${COUNTS_COLUMNS.join(',')}`);
    else if (index.has(name as Column)) issues.add(path, `column "${name}" appears twice`);
    else index.set(name as Column, i);
  });
  for (const c of COUNTS_COLUMNS) if (!index.has(c)) issues.add(path, `missing column "${c}"`);
  return issues.length === 0 ? index : undefined;
}

function parseRow(
  record: CsvRecord,
  columns: Map<Column, number>,
  source: string,
  known: ReadonlySet<string> | undefined,
  issues: CappedIssues,
): Row | undefined {
  const fields = record.fields.map((f) => f.trim());
  const lineNo = record.line;
  const at = `${source}:${lineNo}`;
  if (fields.length !== columns.size) {
    issues.add(at, `expected ${columns.size} fields, found ${fields.length}`);
    return undefined;
  }
  const field = (c: Column): string => fields[columns.get(c)!] ?? '';
  const before = issues.length;
  const startMs = parseTimestamp(field('interval_start'));
  if (startMs === undefined) {
    issues.add(`${at} interval_start`, `"${field('interval_start')}" is not a valid interval start: expected local time YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS`);
  }
  const detectorId = field('detector_id');
  if (detectorId === '') issues.add(`${at} detector_id`, 'detector id must not be empty');
  else if (known && !known.has(detectorId)) issues.add(`${at} detector_id`, `unknown detector "${detectorId}": not in the network`);
  const volumeVeh = parseNumber(field('volume_veh'));
  if (volumeVeh === undefined || volumeVeh < 0) {
    issues.add(`${at} volume_veh`, `"${field('volume_veh')}" is not a valid count: must be a non-negative number`);
  }
  const occupancyPct = parseNumber(field('occupancy_pct'));
  if (occupancyPct === undefined || occupancyPct < 0 || occupancyPct > 100) {
    issues.add(`${at} occupancy_pct`, `"${field('occupancy_pct')}" is not a valid occupancy: must be a number from 0 to 100`);
  }
  if (issues.length !== before) return undefined;
  return { line: lineNo, startMs: startMs!, detectorId, volumeVeh: volumeVeh!, occupancyPct: occupancyPct! };
}

/** Strict decimal syntax: `Number()` alone would accept "", "0x1f", "Infinity". */
function parseNumber(s: string): number | undefined {
  if (!NUMBER_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Local wall time -> epoch-ms as if UTC; rejects impossible dates such as 02-30. */
export function parseTimestamp(s: string): number | undefined {
  const m = TIMESTAMP_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms;
}

/** Formats epoch-ms back to the file's wall-time syntax for messages. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/:00$/, '');
}

/** Writes counts in the file format this module reads (missing values are left out). */
export function formatCountsCsv(counts: DetectorCounts): string {
  const lines = ['interval_start,detector_id,volume_veh,occupancy_pct'];
  const nd = counts.detectorIds.length;
  counts.intervalStartMs.forEach((startMs, k) => {
    for (let d = 0; d < nd; d++) {
      const v = counts.volumeVeh[k * nd + d]!;
      const o = counts.occupancyPct[k * nd + d]!;
      if (Number.isNaN(v) || Number.isNaN(o)) continue;
      lines.push(`${formatTimestamp(startMs)},${counts.detectorIds[d]},${roundTo(v, 2)},${roundTo(o, 2)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** The smallest gap between distinct starts; the grid check happens in buildDense. */
function inferIntervalS(rows: readonly Row[], source: string, issues: CappedIssues): number {
  const starts = [...new Set(rows.map((r) => r.startMs))].sort((a, b) => a - b);
  if (starts.length < 2) {
    issues.add(source, 'cannot infer the interval length from a single interval start; pass intervalS');
    return 0;
  }
  let minGapMs = Infinity;
  for (let i = 1; i < starts.length; i++) minGapMs = Math.min(minGapMs, starts[i]! - starts[i - 1]!);
  return minGapMs / MS_PER_S;
}

function buildDense(
  rows: readonly Row[],
  detectorIds: readonly string[],
  intervalS: number,
  source: string,
  issues: CappedIssues,
): DetectorCounts | undefined {
  const intervalMs = intervalS * MS_PER_S;
  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const r of rows) {
    firstMs = Math.min(firstMs, r.startMs);
    lastMs = Math.max(lastMs, r.startMs);
  }
  const nIntervals = Math.floor((lastMs - firstMs) / intervalMs) + 1;
  const nDet = detectorIds.length;
  if (nIntervals > MAX_INTERVALS || nIntervals * nDet > MAX_CELLS) {
    issues.add(source, `counts span ${nIntervals} intervals of ${intervalS} s from ${formatTimestamp(firstMs)} to ${formatTimestamp(lastMs)}; at most ${MAX_INTERVALS} intervals and ${MAX_CELLS} detector-intervals are supported`);
    return undefined;
  }
  const detIndex = new Map(detectorIds.map((id, i) => [id, i]));
  const volumeVeh = new Float64Array(nIntervals * nDet).fill(NaN);
  const occupancyPct = new Float64Array(nIntervals * nDet).fill(NaN);
  const firstLineOfCell = new Map<number, number>();
  for (const r of rows) {
    const offsetMs = r.startMs - firstMs;
    if (offsetMs % intervalMs !== 0) {
      issues.add(`${source}:${r.line} interval_start`, `${formatTimestamp(r.startMs)} is not on the ${intervalS} s interval grid starting at ${formatTimestamp(firstMs)}`);
      continue;
    }
    const cell = (offsetMs / intervalMs) * nDet + detIndex.get(r.detectorId)!;
    const dupOf = firstLineOfCell.get(cell);
    if (dupOf !== undefined) {
      issues.add(`${source}:${r.line}`, `duplicate row for detector "${r.detectorId}" at ${formatTimestamp(r.startMs)}; first given on line ${dupOf}`);
      continue;
    }
    firstLineOfCell.set(cell, r.line);
    volumeVeh[cell] = r.volumeVeh;
    occupancyPct[cell] = r.occupancyPct;
  }
  const intervalStartMs = new Float64Array(nIntervals);
  for (let i = 0; i < nIntervals; i++) intervalStartMs[i] = firstMs + i * intervalMs;
  return { detectorIds, intervalS, intervalStartMs, volumeVeh, occupancyPct };
}

