/**
 * The one CSV reader of the engine, a thin layer over the maintained `csv-parse`
 * library. Called by the GTFS import (transit/gtfsTable.ts) and the loop-count
 * reader (counts/csv.ts). It adds what both need on top of the library: a
 * header split off the data, the physical line each record starts on (header =
 * line 1), blank lines skipped, and syntax problems reported as `file:line`
 * issues instead of thrown library errors.
 *
 * Accepted: UTF-8 BOM, CRLF/LF/CR line ends (also mixed), RFC 4180 quoted fields
 * with commas, doubled quotes and line breaks (a quoted line break reads as
 * "\n"), header names trimmed. A line with nothing on it is skipped; a line of
 * only commas is a record of empty fields.
 */
import { CsvError, parse } from 'csv-parse/sync';

export interface CsvRecord {
  /** Physical line the record starts on (header = 1). */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvTable {
  /** Header names, trimmed; empty when the text has no non-blank line. */
  readonly header: readonly string[];
  /** Line of the header (1 unless blank lines come first). */
  readonly headerLine: number;
  readonly records: readonly CsvRecord[];
}

/** Where problems go: an IssueList or anything with the same `add`. */
export interface IssueSink {
  add(path: string, message: string): void;
}

export interface ReadCsvOptions {
  /**
   * False: quotes are ordinary characters and fields are split on every comma
   * (the counts format, which never quotes). Default true (RFC 4180 quoting).
   */
  readonly quoted?: boolean;
  /** Also skip lines holding only whitespace (the counts format). Default false: only empty lines. */
  readonly skipWhitespaceLines?: boolean;
}

/**
 * Reads `text` as CSV. A syntax error (unterminated quote, text after a closing
 * quote, a quote inside an unquoted field) is added to `issues` as `file:line`
 * and the whole table is refused (undefined): the rows after a broken quote
 * cannot be trusted, and half a table would only add misleading follow-on issues.
 */
export function readCsv(text: string, file: string, issues: IssueSink, options: ReadCsvOptions = {}): CsvTable | undefined {
  // One line-end convention first: csv-parse counts a CRLF inside a quoted field
  // as two lines, and the old readers turned quoted line breaks into "\n".
  const normalized = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  const raw: string[][] = [];
  try {
    parse(normalized, {
      bom: true,
      delimiter: ',',
      record_delimiter: '\n',
      quote: options.quoted === false ? false : '"',
      relax_column_count: true,
      // Blank lines are kept here so that every line is accounted for in the line numbers below.
      skip_empty_lines: false,
      on_record: (record: string[]) => {
        raw.push(record);
        return null;
      },
    });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    issues.add(`${file}:${syntaxErrorLine(e, raw)}`, syntaxMessage(e));
    return undefined;
  }

  const blank = (fields: readonly string[]): boolean =>
    fields.length === 1 && (options.skipWhitespaceLines ? fields[0]!.trim() === '' : fields[0] === '');
  const records: CsvRecord[] = [];
  let line = 1;
  for (const fields of raw) {
    if (!blank(fields)) records.push({ line, fields });
    line += 1 + newlinesIn(fields);
  }
  const [head, ...rest] = records;
  if (!head) return { header: [], headerLine: 1, records: [] };
  return { header: head.fields.map((h) => h.trim()), headerLine: head.line, records: rest };
}

/** Line breaks inside quoted fields: a record spans 1 + this many lines. */
function newlinesIn(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The line to blame. An unterminated quote runs to the end of the text, so it is
 * reported where its record starts (after the records read so far); the others
 * where the library stopped.
 */
function syntaxErrorLine(e: CsvError, done: readonly string[][]): number {
  if (e.code !== 'CSV_QUOTE_NOT_CLOSED') return typeof e.lines === 'number' ? e.lines : 1;
  let line = 1;
  for (const fields of done) line += 1 + newlinesIn(fields);
  return line;
}

function syntaxMessage(e: CsvError): string {
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'unterminated quoted field';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'unexpected character after a closing quote';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field: quote the whole field and double the inner quotes';
    default:
      return `unreadable CSV: ${e.message}`;
  }
}
