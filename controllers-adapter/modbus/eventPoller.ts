/**
 * Central's reader of controllers' event logs over Modbus (the event block of the register
 * map, docs/modbus-register-map.md "Event log"), the way ATSPM collects from field
 * controllers: per controller it keeps the log id and the next sequence it wants, reads
 * windows from there (ControllerClient.readEventWindow) until the controller has nothing
 * more or the caller's budget of windows is spent, and says exactly what happened:
 *  - every event once: the cursor moves past what was returned, and only then;
 *  - a gap (the controller overwrote records before they were read: the poller fell
 *    behind) is returned as the sequences lost, never hidden;
 *  - a new log id, or a next sequence below the cursor, is a restart of the numbering
 *    (power-up, wrap): reading starts again at the oldest record held;
 *  - a window read at another cursor than ours (another master moved it between our write
 *    and our read) is read again, at most a few times.
 * A caller that kept a unit's log id and cursor (the service stores them with the events:
 * service/eventBatcher.ts) hands them back with `resume` after a restart, and reading goes on
 * from there as if the poller had never stopped.
 * Used by the service's EventCollector (service/eventCollector.ts) and the tests.
 */
import { OptionError } from '../../engine/errors.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import type { EventWindow, WireEvent } from '../eventWindow.js';
import { EV_WINDOW_RECORDS } from '../registerMap.js';
import type { ControllerClient } from './client.js';

/** Reads at a cursor another master moved, before giving up on this poll. */
const MAX_CURSOR_RACES = 3;

export interface EventGap {
  /** First sequence lost, and one past the last. */
  readonly fromSeq: number;
  readonly toSeq: number;
}

export interface EventPoll {
  readonly unitId: number;
  /** 0: the controller keeps no event log. */
  readonly logId: number;
  /**
   * Where this poll's reading began: the cursor it had, or on first contact and after a
   * restart the oldest record held (nothing before it was ever this poller's to read).
   */
  readonly startSeq: number;
  /** New events, in sequence order. */
  readonly events: readonly WireEvent[];
  /** Sequences overwritten on the controller before this poller read them. */
  readonly gaps: readonly EventGap[];
  /** The sum of the gaps. */
  readonly lost: number;
  /** The numbering started again (new log id or a wrap): what the controller logged between our last read and its restart is unknown. */
  readonly restarted: boolean;
  /** Events the controller holds beyond what this poll returned. */
  readonly backlog: number;
  /** Windows read. */
  readonly windows: number;
}

interface UnitCursor {
  logId: number;
  cursor: number;
}

export class EventLogPoller {
  private readonly units = new Map<number, UnitCursor>();

  constructor(private readonly client: ControllerClient) {}

  /** The next sequence this poller will ask unit `unitId` for (undefined before its first poll). */
  cursor(unitId: number): number | undefined {
    return this.units.get(unitId)?.cursor;
  }

  /** Where unit `unitId`'s reading stands (undefined before its first poll). */
  position(unitId: number): { readonly logId: number; readonly cursor: number } | undefined {
    const u = this.units.get(unitId);
    return u ? { logId: u.logId, cursor: u.cursor } : undefined;
  }

  /**
   * Goes on from a position kept elsewhere (log id 1..65535, next sequence): the next poll reads
   * from `cursor` if the controller still runs log `logId`, reports a gap if it overwrote records
   * from there meanwhile, and reads from its oldest record if it restarted (another log id).
   */
  resume(unitId: number, logId: number, cursor: number): void {
    if (!(Number.isInteger(logId) && logId >= 1 && logId <= 0xffff && Number.isInteger(cursor) && cursor >= 0)) throw new OptionError('resume', `unit ${unitId}: log id ${logId} must be 1..65535 and sequence ${cursor} a whole number ≥ 0`);
    this.units.set(unitId, { logId, cursor });
  }

  /**
   * Reads unit `unitId`'s new events: at most `maxWindows` (≥ 1) windows of up to 23
   * records. A failure before any event propagates and leaves the cursor where it was; a
   * failure after some returns those, with the cursor just past them: nothing is lost.
   */
  async poll(unitId: number, maxWindows = 16): Promise<EventPoll> {
    const known = this.units.get(unitId);
    let logId = known?.logId ?? -1;
    let cursor = known?.cursor ?? 0;
    let restarted = false;
    let races = 0;
    let windows = 0;
    let backlog = 0;
    const events: WireEvent[] = [];
    const gaps: EventGap[] = [];
    let lost = 0;
    let startSeq = -1;
    for (;;) {
      let w: EventWindow;
      try {
        w = await this.client.readEventWindow(unitId, cursor);
      } catch (e: unknown) {
        // Keep what earlier windows of this poll returned (the cursor moves past them below).
        if (events.length === 0 && !restarted) throw e;
        break;
      }
      windows++;
      if (w.logId === 0) return { unitId, logId: 0, startSeq: 0, events: [], gaps: [], lost: 0, restarted: false, backlog: 0, windows };
      if (w.cursor !== cursor) {
        if (++races > MAX_CURSOR_RACES) throw new ControllerError(ControllerErrorReason.TornRead, `unit ${unitId}: the event cursor was moved by another master ${races} times in a row`, { unitId });
        continue;
      }
      const firstContact = logId === -1;
      if (!firstContact && (w.logId !== logId || w.nextSeq < cursor)) {
        // The numbering started again: read from the oldest record of the new one.
        restarted = true;
        logId = w.logId;
        cursor = w.oldestSeq;
        continue;
      }
      logId = w.logId;
      if (startSeq < 0) startSeq = firstContact ? w.windowSeq : cursor;
      // On first contact the oldest record held is where reading starts: nothing was missed yet.
      if (w.windowSeq > cursor && !firstContact) {
        gaps.push({ fromSeq: cursor, toSeq: w.windowSeq });
        lost += w.windowSeq - cursor;
      }
      for (const e of w.events) events.push(e);
      cursor = w.windowSeq + w.events.length;
      backlog = w.nextSeq - cursor;
      if (w.events.length < EV_WINDOW_RECORDS || backlog === 0 || windows >= maxWindows) break;
    }
    this.units.set(unitId, { logId, cursor });
    return { unitId, logId, startSeq: startSeq < 0 ? cursor : startSeq, events, gaps, lost, restarted, backlog, windows };
  }
}
