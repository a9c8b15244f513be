/**
 * Traffic incidents in the storage (table incidents, migration 6): the traffic
 * state's incidents, detected by the loops or reported by operators, saved
 * whole at every change (an upsert by id) and read back
 * whole when the service starts. Validation happens before the transaction.
 * Called by SqlStorage (./sqlStorage.ts); written and read by
 * service/trafficState.ts.
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import type { Executor, Row, Tx } from './driver.js';
import type { StoredIncident } from './storage.js';

const invalid = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, message);
const isText = (x: unknown): x is string => typeof x === 'string';
const isMs = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** The row's values in column order, checked (INVALID_INPUT naming what is wrong). */
export function prepareIncident(x: StoredIncident): unknown[] {
  const ok =
    isText(x.incidentId) &&
    x.incidentId !== '' &&
    isText(x.linkId) &&
    x.linkId !== '' &&
    isText(x.detectorId) &&
    isText(x.source) &&
    isMs(x.detectedMs) &&
    (x.clearedMs === null || isMs(x.clearedMs)) &&
    Number.isFinite(x.confidence) &&
    isText(x.location) &&
    isText(x.reportedBy) &&
    isText(x.clearedBy) &&
    isText(x.note) &&
    Number.isSafeInteger(x.lanesBlocked) &&
    x.lanesBlocked >= 0;
  if (!ok) throw invalid(`saveIncident: incident ${String(x.incidentId)} is malformed (ids and texts, whole ms times, cleared null or a time, finite confidence, lanes blocked ≥ 0)`);
  return [x.incidentId, x.linkId, x.detectorId, x.source, x.detectedMs, x.clearedMs, x.confidence, x.location, x.reportedBy, x.clearedBy, x.note, x.lanesBlocked];
}

const UPSERT = `INSERT INTO incidents (incident_id, link_id, detector_id, source, detected_ms, cleared_ms, confidence, location, reported_by, cleared_by, note, lanes_blocked)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (incident_id) DO UPDATE SET cleared_ms = excluded.cleared_ms, cleared_by = excluded.cleared_by, note = excluded.note, lanes_blocked = excluded.lanes_blocked, confidence = excluded.confidence`;

/** No audit row: an operator's report and clearing are audited where they are made (service/incidentActions.ts), the loops' detections are the detector's. */
export async function writeIncident(tx: Tx, row: readonly unknown[]): Promise<void> {
  await tx.run(UPSERT, [...row]);
}

const incidentRow = (r: Row): StoredIncident => ({
  incidentId: String(r['incident_id']),
  linkId: String(r['link_id']),
  detectorId: String(r['detector_id']),
  source: String(r['source']),
  detectedMs: Number(r['detected_ms']),
  clearedMs: r['cleared_ms'] === null || r['cleared_ms'] === undefined ? null : Number(r['cleared_ms']),
  confidence: Number(r['confidence']),
  location: String(r['location']),
  reportedBy: String(r['reported_by']),
  clearedBy: String(r['cleared_by']),
  note: String(r['note']),
  lanesBlocked: Number(r['lanes_blocked']),
});

/** The number in an id `INC-<n>` (ids of another form sort last). */
const idNumber = (id: string): number => {
  const m = /^INC-(\d+)$/.exec(id);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
};

export async function queryIncidents(db: Executor): Promise<StoredIncident[]> {
  const rows = (await db.query('SELECT * FROM incidents')).map(incidentRow);
  return rows.sort((a, b) => idNumber(a.incidentId) - idNumber(b.incidentId) || (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0));
}
