/**
 * The controller event log in the storage: events, the collector's cursors (where it stands
 * in each controller's log) and what was lost, written together in one transaction so that
 * no crash can separate a batch of events from the cursor past them or from the record of a
 * loss (docs/storage.md). Validation happens before the transaction; the write itself is
 * batched (BATCH_ROWS per statement) with one audit row per kind of record. Called by
 * SqlStorage (./sqlStorage.ts: insertEvents, eventCursors, events).
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { appendAudit } from './audit.js';
import type { BatchColumn, Executor, Row, Tx } from './driver.js';
import type { Actor, ControllerEvent, EventCursor, EventGap, EventLogRestart, EventProgress, EventQuery, StoredEventCursor } from './storage.js';

/** Rows per batched statement: bounds one statement's size (and PostgreSQL's parameter arrays). */
const BATCH_ROWS = 5000;
/** Gaps, restarts or cursors listed in one audit row at most (the rest are counted in it). */
const MAX_LISTED = 100;
/** Sequences are uint32 on the wire. */
const MAX_SEQ = 2 ** 32;

const EVENT_COLUMNS: readonly BatchColumn[] = [
  { name: 'location_id', pgType: 'text' },
  { name: 'timestamp_ms', pgType: 'bigint' },
  { name: 'event_code', pgType: 'integer' },
  { name: 'event_param', pgType: 'integer' },
];

const CURSOR_COLUMNS: readonly BatchColumn[] = [
  { name: 'controller_id', pgType: 'text' },
  { name: 'log_id', pgType: 'integer' },
  { name: 'next_seq', pgType: 'bigint' },
  { name: 'updated_at_ms', pgType: 'bigint' },
];
const CURSOR_UPSERT = 'ON CONFLICT (controller_id) DO UPDATE SET log_id = excluded.log_id, next_seq = excluded.next_seq, updated_at_ms = excluded.updated_at_ms';

const invalid = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, message);
const isInt = (v: unknown, min = 0): v is number => Number.isSafeInteger(v) && (v as number) >= min;

export const cursorRow = (r: Row): StoredEventCursor => ({
  controllerId: String(r['controller_id']),
  logId: Number(r['log_id']),
  nextSeq: Number(r['next_seq']),
  updatedAtMs: Number(r['updated_at_ms']),
});

const eventRow = (r: Row): ControllerEvent => ({
  locationId: String(r['location_id']),
  timestampMs: Number(r['timestamp_ms']),
  eventCode: Number(r['event_code']),
  eventParam: Number(r['event_param']),
});

/** A validated write of events and progress. */
export interface EventWrite {
  readonly rows: readonly (readonly unknown[])[];
  readonly fromMs: number;
  readonly toMs: number;
  /** One per controller, the last one given (PostgreSQL refuses an upsert touching a row twice). */
  readonly cursors: readonly EventCursor[];
  readonly gaps: readonly EventGap[];
  readonly restarts: readonly EventLogRestart[];
}

/** Checks everything before any transaction (InvalidInput naming the first bad item); undefined when there is nothing to write. */
export function prepareEventWrite(events: readonly ControllerEvent[], progress: EventProgress): EventWrite | undefined {
  const rows: unknown[][] = [];
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const [i, e] of events.entries()) {
    if (!(typeof e.locationId === 'string' && isInt(e.timestampMs) && isInt(e.eventCode) && e.eventCode <= 255 && isInt(e.eventParam))) {
      throw invalid(`insertEvents: event ${i} is malformed (location id, whole ms timestamp, code 0..255, parameter ≥ 0)`);
    }
    rows.push([e.locationId, e.timestampMs, e.eventCode, e.eventParam]);
    fromMs = Math.min(fromMs, e.timestampMs);
    toMs = Math.max(toMs, e.timestampMs);
  }
  const cursors = new Map<string, EventCursor>();
  for (const [i, c] of (progress.cursors ?? []).entries()) {
    if (!(typeof c.controllerId === 'string' && c.controllerId !== '' && isInt(c.logId, 1) && c.logId <= 0xffff && isInt(c.nextSeq) && c.nextSeq <= MAX_SEQ)) {
      throw invalid(`insertEvents: cursor ${i} is malformed (controller id, log id 1..65535, next sequence 0..2^32)`);
    }
    cursors.set(c.controllerId, c);
  }
  const gaps: EventGap[] = [];
  for (const [i, g] of (progress.gaps ?? []).entries()) {
    if (!(typeof g.locationId === 'string' && isInt(g.fromSeq) && isInt(g.toSeq) && g.toSeq > g.fromSeq)) throw invalid(`insertEvents: gap ${i} is malformed (location id, whole sequences from < to)`);
    gaps.push(g);
  }
  const restarts: EventLogRestart[] = [];
  for (const [i, r] of (progress.restarts ?? []).entries()) {
    if (!(typeof r.controllerId === 'string' && r.controllerId !== '' && isInt(r.previousLogId) && isInt(r.previousNextSeq) && isInt(r.logId, 1) && isInt(r.oldestSeq))) throw invalid(`insertEvents: restart ${i} is malformed (controller id, whole log ids and sequences)`);
    restarts.push(r);
  }
  if (rows.length === 0 && cursors.size === 0 && gaps.length === 0 && restarts.length === 0) return undefined;
  return { rows, fromMs, toMs, cursors: [...cursors.values()], gaps, restarts };
}

/** Writes it in the caller's transaction; resolves to the events written. */
export async function writeEvents(tx: Tx, actor: Actor, w: EventWrite, nowMs: number): Promise<number> {
  const { rows, cursors, gaps, restarts } = w;
  for (let i = 0; i < rows.length; i += BATCH_ROWS) await tx.insertMany('event_log', EVENT_COLUMNS, rows.slice(i, i + BATCH_ROWS));
  const cursorRows = cursors.map((c) => [c.controllerId, c.logId, c.nextSeq, nowMs]);
  for (let i = 0; i < cursorRows.length; i += BATCH_ROWS) await tx.insertMany('event_cursors', CURSOR_COLUMNS, cursorRows.slice(i, i + BATCH_ROWS), CURSOR_UPSERT);
  // One audit row per batch: the events themselves are the record; the audit says who wrote which span.
  if (rows.length > 0) await appendAudit(tx, actor, 'events.insert', { rows: rows.length, fromMs: w.fromMs, toMs: w.toMs, ...(cursors.length > 0 ? { cursors: cursors.length } : {}) }, nowMs);
  if (gaps.length > 0) {
    const lost = gaps.reduce((n, g) => n + g.toSeq - g.fromSeq, 0);
    const listed = gaps.slice(0, MAX_LISTED).map((g) => ({ locationId: g.locationId, fromSeq: g.fromSeq, toSeq: g.toSeq }));
    await appendAudit(tx, actor, 'events.gap', { lost, gaps: listed, listed: listed.length, total: gaps.length }, nowMs);
  }
  if (restarts.length > 0) {
    const listed = restarts.slice(0, MAX_LISTED).map((r) => ({ controllerId: r.controllerId, previousLogId: r.previousLogId, previousNextSeq: r.previousNextSeq, logId: r.logId, oldestSeq: r.oldestSeq }));
    await appendAudit(tx, actor, 'events.restart', { restarts: listed, total: restarts.length }, nowMs);
  }
  if (rows.length === 0 && gaps.length === 0 && restarts.length === 0) {
    await appendAudit(tx, actor, 'events.cursor', { cursors: cursors.slice(0, MAX_LISTED).map((c) => ({ controllerId: c.controllerId, logId: c.logId, nextSeq: c.nextSeq })), total: cursors.length }, nowMs);
  }
  return rows.length;
}

/** Events in [fromMs, toMs), by time then insertion order. */
export async function queryEvents(db: Executor, q: EventQuery): Promise<ControllerEvent[]> {
  const params: unknown[] = [q.fromMs, q.toMs];
  let where = 'timestamp_ms >= $1 AND timestamp_ms < $2';
  if (q.locationId !== undefined) where += ` AND location_id = $${params.push(q.locationId)}`;
  if (q.eventCodes !== undefined) {
    if (q.eventCodes.length === 0) return [];
    where += ` AND event_code IN (${q.eventCodes.map((c) => `$${params.push(c)}`).join(', ')})`;
  }
  const limit = q.limit !== undefined ? ` LIMIT $${params.push(q.limit)}` : '';
  return (await db.query(`SELECT location_id, timestamp_ms, event_code, event_param FROM event_log WHERE ${where} ORDER BY timestamp_ms, id${limit}`, params)).map(eventRow);
}
