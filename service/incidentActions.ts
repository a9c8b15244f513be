/**
 * An operator's incident actions, one implementation for every door they come
 * through: TrafficStateService's ReportIncident and ClearIncident
 * (./trafficService.ts) and the console's traffic page (web/server/trafficApi.ts).
 * Each checks its request (every problem at once, with the field path the
 * caller names), changes the traffic state's incident list (./trafficState.ts)
 * and records the action in the audit log when there is one.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, GreenwaveError, IssueList } from '../engine/errors.js';
import { StatusError } from './errors.js';
import type { Actor, Storage } from './storage/storage.js';
import type { TrafficState } from './trafficState.js';
import type { IncidentRecord } from './incidentBook.js';

/** `IncidentRecord.source` of an incident an operator reported. */
export const OPERATOR_SOURCE = 'operator';
/** Longest note on a reported or cleared incident, characters. */
export const MAX_NOTE_CHARS = 500;

/** Records an action in the audit log (the service's database); absent without one. */
export type IncidentAudit = (actor: Actor, action: string, detail: Record<string, unknown>) => Promise<void>;

/** The audit of incident actions into `storage`'s log; undefined without a database. */
export function storageAudit(storage: Storage | undefined): IncidentAudit | undefined {
  return storage ? (actor, action, detail) => storage.recordAudit(actor, action, detail).then(() => undefined) : undefined;
}

/** The request's id (required, named `field`) and note (at most MAX_NOTE_CHARS), every problem at once. */
function parseRequest(id: unknown, note: unknown, field: string, what: string): { id: string; note: string } {
  const issues = new IssueList();
  const value = typeof id === 'string' ? id : '';
  if (value === '') issues.add(field, 'is required');
  const n = typeof note === 'string' ? note : '';
  if (n.length > MAX_NOTE_CHARS) issues.add('note', `at most ${MAX_NOTE_CHARS} characters, got ${n.length}`);
  issues.throwIfAny(what);
  return { id: value, note: n.trim() };
}

/**
 * Reports an incident on `link` (named `linkField` in errors), active from `nowS`, blocking
 * `lanes` of its lanes (named `lanesField`; absent or 0: not known).
 */
export async function reportIncident(traffic: TrafficState, link: unknown, note: unknown, lanes: unknown, fields: { readonly link: string; readonly lanes: string }, actor: Actor, nowS: number, audit: IncidentAudit | undefined): Promise<IncidentRecord> {
  const { id: linkId, note: text } = parseRequest(link, note, fields.link, 'ReportIncident');
  const n = traffic.laneCount(linkId, fields.link);
  const blocked = lanes === undefined || lanes === null ? 0 : Number(lanes);
  if (!(Number.isInteger(blocked) && blocked >= 0 && blocked <= n)) {
    const message = `must be a whole number from 0 to the link's ${n} lanes, got ${String(lanes)}`;
    throw new GreenwaveError(ErrorCode.InvalidInput, `${fields.lanes}: ${message}`, [{ path: fields.lanes, message }]);
  }
  const id = traffic.reportIncident(linkId, '', OPERATOR_SOURCE, nowS, 1, '', actor.user, text, blocked);
  // Answered once the report is kept (with a database), so that a restart right after keeps it.
  await traffic.saved();
  await audit?.(actor, 'incident.report', { incidentId: id, linkId, lanesBlocked: blocked, note: text });
  return traffic.incident(id);
}

/** Ends the active incident `incident` (named `idField` in errors), whoever raised it. */
export async function clearIncident(traffic: TrafficState, incident: unknown, note: unknown, idField: string, actor: Actor, nowS: number, audit: IncidentAudit | undefined): Promise<IncidentRecord> {
  const { id, note: text } = parseRequest(incident, note, idField, 'ClearIncident');
  const rec = traffic.incident(id, idField);
  if (rec.clearedS !== undefined) throw new StatusError(grpc.status.FAILED_PRECONDITION, `${idField}: ${id} was cleared already`);
  traffic.clearIncident(id, nowS, actor.user, text);
  await traffic.saved();
  await audit?.(actor, 'incident.clear', { incidentId: id, linkId: rec.linkId, source: rec.source, note: text });
  return rec;
}
