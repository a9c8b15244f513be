/**
 * The service's incidents: what the loop detector opened and operators
 * reported, with their clearing, numbered INC-1, INC-2, … With a storage every
 * change is saved (table incidents, ./storage/incidentLog.ts) and the book is
 * read back when the service starts again: an operator's open report stays
 * open; a loop incident still open waits for the loops to confirm it
 * (`adopt`) or is closed (`expire`). Owned by TrafficState (./trafficState.ts),
 * which feeds it the detector's events and turns the open reports' blocked
 * lanes into link capacity (`onBlockagesChanged`).
 */
import type { Storage } from './storage/storage.js';
import { notFound } from './errors.js';

/** `IncidentRecord.source` of the loop detector's incidents. */
export const LOOP_SOURCE = 'loops';
/** The note an open loop incident gets when the service starts again without live detection. */
export const CLOSED_AT_RESTART = 'closed when the service restarted (no live loop detection)';
/** The note an open loop incident gets when the loops do not confirm it within CONFIRM_AFTER_RESTART_S of a restart. */
export const NOT_CONFIRMED_AFTER_RESTART = 'closed: the loops did not confirm it after the service restarted';
/**
 * After a restart, an open loop incident stays open this long for the loops to confirm it, s: three
 * of the detector's 2-minute windows (its samples are read back from the stored counts first).
 */
export const CONFIRM_AFTER_RESTART_S = 360;

export interface IncidentRecord {
  readonly incidentId: string;
  readonly linkId: string;
  readonly detectorId: string;
  readonly source: string;
  readonly detectedS: number;
  clearedS: number | undefined;
  /** 0..1, the detector's (1 for an incident reported from elsewhere). */
  readonly confidence: number;
  /** 'upstream' | 'downstream' of the detector, or ''. */
  readonly location: string;
  /** The client that reported it, and the one that cleared it by hand ('' where the detector did). */
  readonly reportedBy: string;
  clearedBy: string;
  /** The operator's notes (reporting and clearing, joined). */
  note: string;
  /** Lanes of the link the incident blocks, as reported (0: not known; the loop detector's). */
  readonly lanesBlocked: number;
}

export class IncidentBook {
  /** Every incident so far (restored ones first), oldest first. */
  readonly list: IncidentRecord[] = [];
  /** Where incidents are kept across restarts (`restore` sets it); undefined: memory only. */
  private store: Storage | undefined;
  /** The saves, one after another (`saved` waits for them). */
  private saving: Promise<void> = Promise.resolve();
  private next = 1;
  /** Loop incidents open at a restart, by link id: open until the loops confirm them or `untilS` (service clock) passes. */
  private readonly unconfirmed = new Map<string, { incidentId: string; untilS: number }>();
  /** Where a failed save is reported (startServer's log). */
  log: (line: string) => void = () => undefined;

  /** `onBlockagesChanged`: an open incident with blocked lanes came or went. */
  constructor(private readonly onBlockagesChanged: () => void) {}

  /** Adds an active incident on `linkId` (checked by the caller); returns its id. */
  report(linkId: string, detectorId: string, source: string, detectedS: number, confidence = 1, location = '', by = '', note = '', lanesBlocked = 0): string {
    const incidentId = `INC-${this.next++}`;
    const rec: IncidentRecord = { incidentId, linkId, detectorId, source, detectedS, clearedS: undefined, confidence, location, reportedBy: by, clearedBy: '', note, lanesBlocked };
    this.list.push(rec);
    this.persist(rec);
    if (lanesBlocked > 0) this.onBlockagesChanged();
    return incidentId;
  }

  /** Ends an incident (a later clear of one already cleared changes nothing). `by` and `note`: an operator's clearing. */
  clear(incidentId: string, clearedS: number, by = '', note = ''): IncidentRecord {
    const rec = this.get(incidentId);
    if (rec.clearedS !== undefined) return rec;
    rec.clearedS = clearedS;
    rec.clearedBy = by;
    if (note !== '') rec.note = rec.note === '' ? note : `${rec.note} | ${note}`;
    if (rec.lanesBlocked > 0) this.onBlockagesChanged();
    this.persist(rec);
    return rec;
  }

  get(incidentId: string, path = 'incident_id'): IncidentRecord {
    const rec = this.list.find((x) => x.incidentId === incidentId);
    if (!rec) throw notFound(`${path}: no incident "${incidentId}"`);
    return rec;
  }

  /**
   * Loads the incidents kept in `storage` (a start after a restart) and keeps every later change
   * there; incidents on links `known` does not accept are left in storage. An operator's report
   * still open stays open. An incident the loops detected that was still open stays open for
   * `confirmWithinS` (`adopt` gives it to the detector when the loops confirm it; `expire` closes
   * it after); with `confirmWithinS` 0 (no live detection) it is closed at `nowS`. Call once,
   * before serving. Resolves to what it loaded.
   */
  async restore(storage: Storage, nowS: number, known: (linkId: string) => boolean, opts: { confirmWithinS?: number } = {}): Promise<{ restored: number; closed: number; unconfirmed: number }> {
    for (const x of await storage.listIncidents()) {
      if (!known(x.linkId)) continue;
      this.list.push({ incidentId: x.incidentId, linkId: x.linkId, detectorId: x.detectorId, source: x.source, detectedS: x.detectedMs / 1000, clearedS: x.clearedMs === null ? undefined : x.clearedMs / 1000, confidence: x.confidence, location: x.location, reportedBy: x.reportedBy, clearedBy: x.clearedBy, note: x.note, lanesBlocked: x.lanesBlocked });
      const m = /^INC-(\d+)$/.exec(x.incidentId);
      if (m) this.next = Math.max(this.next, Number(m[1]) + 1);
    }
    this.store = storage;
    const within = opts.confirmWithinS ?? 0;
    let closed = 0;
    for (const rec of this.list) {
      if (rec.clearedS !== undefined || rec.source !== LOOP_SOURCE) continue;
      if (within > 0 && !this.unconfirmed.has(rec.linkId)) {
        this.unconfirmed.set(rec.linkId, { incidentId: rec.incidentId, untilS: nowS + within });
        continue;
      }
      rec.clearedS = nowS;
      rec.note = rec.note === '' ? CLOSED_AT_RESTART : `${rec.note} | ${CLOSED_AT_RESTART}`;
      this.persist(rec);
      closed++;
    }
    this.onBlockagesChanged();
    await this.saved();
    return { restored: this.list.length, closed, unconfirmed: this.unconfirmed.size };
  }

  /** The loop incident kept open through a restart on `linkId`, which the loops now confirm (it goes on); undefined if none. */
  adopt(linkId: string): string | undefined {
    const kept = this.unconfirmed.get(linkId);
    if (kept === undefined) return undefined;
    this.unconfirmed.delete(linkId);
    return kept.incidentId;
  }

  /** Closes the loop incidents kept through a restart that the loops did not confirm by `nowS`. */
  expire(nowS: number): void {
    for (const [linkId, kept] of this.unconfirmed) {
      if (nowS < kept.untilS) continue;
      this.unconfirmed.delete(linkId);
      this.clear(kept.incidentId, nowS, '', NOT_CONFIRMED_AFTER_RESTART);
    }
  }

  /** Resolves once every change so far has been saved (or failed, which is logged). */
  saved(): Promise<void> {
    return this.saving;
  }

  private persist(rec: IncidentRecord): void {
    const store = this.store;
    if (store === undefined) return;
    const x = { incidentId: rec.incidentId, linkId: rec.linkId, detectorId: rec.detectorId, source: rec.source, detectedMs: Math.round(rec.detectedS * 1000), clearedMs: rec.clearedS === undefined ? null : Math.round(rec.clearedS * 1000), confidence: rec.confidence, location: rec.location, reportedBy: rec.reportedBy, clearedBy: rec.clearedBy, note: rec.note, lanesBlocked: rec.lanesBlocked };
    this.saving = this.saving
      .then(() => store.saveIncident({ user: rec.clearedBy || rec.reportedBy || 'greenwave' }, x))
      .catch((e: unknown) => this.log(`greenwave serve: incident ${rec.incidentId} not saved: ${e instanceof Error ? e.message : String(e)}`));
  }
}
