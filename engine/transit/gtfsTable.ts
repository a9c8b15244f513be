/**
 * One GTFS file opened as a table of named columns. Reads the CSV with the
 * engine's one reader (engine/csv.ts), checks the header (duplicate and missing
 * required columns) and gives typed field access that reports every problem
 * at `file:line column`. Used by each per-file step of the GTFS import
 * (gtfsEntities.ts, gtfsStopTimes.ts, gtfsCalendar.ts).
 */
import { readCsv, type CsvRecord, type CsvTable } from '../csv.js';
import type { IssueList } from '../errors.js';
import { parseGtfsTime } from './gtfsValues.js';

/** File texts keyed by file name (`routes.txt`, …); undefined = the feed lacks that file. */
export type GtfsFiles = Readonly<Record<string, string | undefined>>;

/**
 * Opens `file` from the feed. Undefined when the feed lacks it or it cannot be
 * used (unreadable CSV, no header, a required column missing); those problems
 * are already in `issues`, and the steps then skip checks that need the table.
 */
export function openTable(files: GtfsFiles, file: string, required: readonly string[], issues: IssueList): GtfsTable | undefined {
  const text = files[file];
  if (text === undefined) return undefined;
  const csv = readCsv(text, file, issues);
  if (!csv) return undefined;
  if (csv.header.length === 0) {
    issues.add(`${file}:1`, 'file is empty (no header)');
    return undefined;
  }
  const t = new GtfsTable(file, csv, issues, required);
  return t.ok ? t : undefined;
}

/** Reads named columns of one table, reporting problems at `file:line column`. */
export class GtfsTable {
  private readonly index = new Map<string, number>();
  readonly ok: boolean;
  constructor(
    readonly file: string,
    readonly csv: CsvTable,
    readonly issues: IssueList,
    required: readonly string[],
  ) {
    csv.header.forEach((h, k) => {
      if (this.index.has(h)) issues.add(`${file}:1 ${h}`, 'duplicate column');
      else this.index.set(h, k);
    });
    let ok = true;
    for (const r of required) {
      if (!this.index.has(r)) {
        issues.add(`${file}:1 ${r}`, 'required column is missing');
        ok = false;
      }
    }
    this.ok = ok;
  }

  has(column: string): boolean {
    return this.index.has(column);
  }

  /** Records with the right number of fields; the others are reported and skipped. */
  *rows(): Generator<CsvRecord> {
    const width = this.csv.header.length;
    for (const r of this.csv.records) {
      if (r.fields.length !== width) {
        this.issues.add(`${this.file}:${r.line}`, `has ${r.fields.length} fields, the header has ${width}`);
        continue;
      }
      yield r;
    }
  }

  raw(r: CsvRecord, column: string): string {
    const k = this.index.get(column);
    return k === undefined ? '' : r.fields[k]!.trim();
  }

  at(r: CsvRecord, column: string): string {
    return `${this.file}:${r.line} ${column}`;
  }

  required(r: CsvRecord, column: string): string | undefined {
    const v = this.raw(r, column);
    if (v === '') {
      this.issues.add(this.at(r, column), 'is required');
      return undefined;
    }
    return v;
  }

  number(r: CsvRecord, column: string, min: number, max: number, opts: { required: boolean; integer?: boolean }): number | undefined {
    const v = this.raw(r, column);
    if (v === '') {
      if (opts.required) this.issues.add(this.at(r, column), 'is required');
      return undefined;
    }
    const x = Number(v);
    if (!Number.isFinite(x) || (opts.integer && !Number.isInteger(x))) {
      this.issues.add(this.at(r, column), `"${v}" is not ${opts.integer ? 'an integer' : 'a number'}`);
      return undefined;
    }
    if (x < min || x > max) {
      this.issues.add(this.at(r, column), `${v} is outside ${min}..${max}`);
      return undefined;
    }
    return x;
  }

  time(r: CsvRecord, column: string): number | undefined {
    const v = this.raw(r, column);
    if (v === '') return undefined;
    const t = parseGtfsTime(v);
    if (t === undefined) this.issues.add(this.at(r, column), `"${v}" is not HH:MM:SS`);
    return t;
  }
}
