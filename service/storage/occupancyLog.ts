/**
 * Car parks' occupancy history in the storage (table occupancy_history,
 * migration 4): absolute reports as the service applied them and the
 * occupancy tracker's corrections, appended in batches with one audit row per
 * batch, read per car park and time range, deleted by age with the detector
 * counts' retention. Validation happens before the transaction. Called by
 * SqlStorage (./sqlStorage.ts); written by service/occupancyHistory.ts.
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { appendAudit } from './audit.js';
import type { BatchColumn, Executor, Row, Tx } from './driver.js';
import type { Actor, OccupancyQuery, OccupancyRecord } from './storage.js';

const BATCH_ROWS = 5000;
const DAY_MS = 86_400_000;
/** Rows one query returns at most. */
export const MAX_OCCUPANCY_ROWS = 10_000;

const COLUMNS: readonly BatchColumn[] = [
  { name: 'car_park_id', pgType: 'text' },
  { name: 'at_ms', pgType: 'bigint' },
  { name: 'kind', pgType: 'text' },
  { name: 'occupied', pgType: 'double precision' },
  { name: 'before_occupied', pgType: 'double precision' },
  { name: 'source', pgType: 'text' },
];

const invalid = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, message);

export const occupancyRow = (r: Row): OccupancyRecord => ({
  carParkId: String(r['car_park_id']),
  atMs: Number(r['at_ms']),
  kind: String(r['kind']) as OccupancyRecord['kind'],
  occupied: Number(r['occupied']),
  beforeOccupied: r['before_occupied'] === null || r['before_occupied'] === undefined ? null : Number(r['before_occupied']),
  source: String(r['source']),
});

/** The rows to insert, checked (INVALID_INPUT naming the first bad record). */
export function prepareOccupancyRows(records: readonly OccupancyRecord[]): unknown[][] {
  return records.map((r, i) => {
    const ok =
      typeof r.carParkId === 'string' &&
      r.carParkId !== '' &&
      Number.isSafeInteger(r.atMs) &&
      r.atMs >= 0 &&
      (r.kind === 'report' || r.kind === 'correction') &&
      Number.isFinite(r.occupied) &&
      (r.kind === 'report' ? r.beforeOccupied === null : Number.isFinite(r.beforeOccupied)) &&
      typeof r.source === 'string';
    if (!ok) throw invalid(`insertOccupancyRecords: record ${i} is malformed (car park id, whole ms time, kind report|correction, finite occupied, beforeOccupied for corrections only, source)`);
    return [r.carParkId, r.atMs, r.kind, r.occupied, r.beforeOccupied, r.source];
  });
}

export async function writeOccupancy(tx: Tx, actor: Actor, rows: readonly unknown[][], nowMs: number): Promise<number> {
  for (let i = 0; i < rows.length; i += BATCH_ROWS) await tx.insertMany('occupancy_history', COLUMNS, rows.slice(i, i + BATCH_ROWS));
  const times = rows.map((r) => r[1] as number);
  const reports = rows.filter((r) => r[2] === 'report').length;
  await appendAudit(tx, actor, 'occupancy.insert', { reports, corrections: rows.length - reports, fromMs: Math.min(...times), toMs: Math.max(...times) }, nowMs);
  return rows.length;
}

export async function queryOccupancy(db: Executor, q: OccupancyQuery): Promise<OccupancyRecord[]> {
  const limit = q.limit ?? 1000;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_OCCUPANCY_ROWS)) throw invalid(`occupancyHistory: limit ${limit} must be within [1, ${MAX_OCCUPANCY_ROWS}]`);
  const rows = await db.query(`SELECT * FROM occupancy_history WHERE car_park_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, id LIMIT ${limit}`, [q.carParkId, q.fromMs, q.toMs]);
  return rows.map(occupancyRow);
}

export async function deleteOccupancyBefore(tx: Tx, actor: Actor, days: number, nowMs: number, atMs: number): Promise<number> {
  if (!(Number.isFinite(days) && days >= 0)) throw invalid(`deleteOccupancyHistoryOlderThan: ${days} days must be ≥ 0`);
  const beforeMs = Math.floor(nowMs - days * DAY_MS);
  const deleted = await tx.run('DELETE FROM occupancy_history WHERE at_ms < $1', [beforeMs]);
  await appendAudit(tx, actor, 'occupancy.retention', { days, beforeMs, deleted }, atMs);
  return deleted;
}
