/**
 * What each guidance sign shows: per line, the free spaces summed over the
 * line's car parks, or 满/FULL, or "—" when no car park on it has a fresh
 * feed, or 关闭/CLOSED when all of them are closed; and the sign's overall
 * state. Called each time the occupancy states are refreshed (from
 * ./occupancy.ts `states()`); the service pushes the result to the sign
 * controllers (the register block is the service's, docs/modbus-register-map.md).
 *
 * Rules (docs/parking.md, "Sign messages"): only car parks whose status is
 * `open` or `full` count: an `unknown` feed or a `closed` car park never adds
 * spaces to a line. FULL has hysteresis per line, so a car park hovering
 * around full does not flicker between FULL and a small number: FULL is shown
 * from `fullAtFree` free spaces or fewer, and a number again only from
 * `fullAtFree + hysteresisSpaces`.
 */
import { OptionError } from '../errors.js';
import type { OccupancyState, ParkingFile } from './schema.js';

export type LineMessageKind = 'spaces' | 'full' | 'unknown' | 'closed';
/** Stable numeric codes of the kinds, for register maps and logs. Never renumber. */
export const LINE_MESSAGE_CODE: Readonly<Record<LineMessageKind, number>> = { spaces: 0, full: 1, unknown: 2, closed: 3 };

export interface LineMessage {
  readonly kind: LineMessageKind;
  /** Free spaces summed over the line's counted car parks (shown only when kind is 'spaces'); NaN when none counted. */
  readonly freeSpaces: number;
  readonly textZh: string;
  readonly textEn: string;
  /** Some of the line's car parks were left out for an unknown feed: the number may understate. */
  readonly partial: boolean;
}

/** 'dark': every line unknown; 'degraded': some line unknown or partial; 'normal' otherwise. */
export type SignState = 'normal' | 'degraded' | 'dark';

export interface SignMessage {
  readonly signId: string;
  readonly lines: readonly LineMessage[];
  readonly state: SignState;
  /** Some line's text differs from the previous update (a push is due). */
  readonly changed: boolean;
}

export interface SignMessageOptions {
  /** FULL at this many free spaces or fewer. Default 2: a driver reaching the last two would likely find them taken. */
  readonly fullAtFree?: number;
  /** Free spaces above `fullAtFree` needed to leave FULL. Default 5. */
  readonly hysteresisSpaces?: number;
}

export class SignMessenger {
  private readonly signIds: readonly string[];
  /** Per line (all signs' lines in order), the car parks' dense indices. */
  private readonly lineParks: readonly Int32Array[];
  private readonly lineStart: Int32Array;
  private readonly fullAt: number;
  private readonly leaveAt: number;
  /** Per line: 1 while FULL is shown (the hysteresis state). */
  private readonly showingFull: Uint8Array;
  private readonly lastText: string[];

  constructor(file: ParkingFile, options: SignMessageOptions = {}) {
    const fullAt = options.fullAtFree ?? 2;
    const h = options.hysteresisSpaces ?? 5;
    if (!(fullAt >= 0)) throw new OptionError('options.fullAtFree', `must be >= 0, got ${fullAt}`);
    if (!(h >= 0)) throw new OptionError('options.hysteresisSpaces', `must be >= 0, got ${h}`);
    this.fullAt = fullAt;
    this.leaveAt = fullAt + Math.max(h, 1);
    const index = new Map(file.carParks.map((p, i) => [p.id, i]));
    const lines: Int32Array[] = [];
    const starts: number[] = [];
    file.signs.forEach((s, si) => {
      starts.push(lines.length);
      s.lines.forEach((l, li) =>
        lines.push(
          Int32Array.from(l.carParkIds, (id, k) => {
            const i = index.get(id);
            if (i === undefined) throw new OptionError(`signs[${si}].lines[${li}].carParkIds[${k}]`, `names no car park in the file: "${id}"`);
            return i;
          }),
        ),
      );
    });
    starts.push(lines.length);
    this.signIds = file.signs.map((s) => s.id);
    this.lineParks = lines;
    this.lineStart = Int32Array.from(starts);
    this.showingFull = new Uint8Array(lines.length);
    this.lastText = lines.map(() => '');
  }

  /** Every sign's message from the car parks' states (in file order, as OccupancyTracker.states gives them). */
  update(states: readonly OccupancyState[]): SignMessage[] {
    const out: SignMessage[] = [];
    for (let s = 0; s < this.signIds.length; s++) {
      const lines: LineMessage[] = [];
      let changed = false;
      let unknown = 0;
      let partial = false;
      for (let l = this.lineStart[s]!; l < this.lineStart[s + 1]!; l++) {
        const m = this.lineMessage(l, states);
        const text = `${m.textZh}|${m.textEn}`;
        if (text !== this.lastText[l]) changed = true;
        this.lastText[l] = text;
        if (m.kind === 'unknown') unknown++;
        if (m.partial) partial = true;
        lines.push(m);
      }
      const state: SignState = unknown === lines.length ? 'dark' : unknown > 0 || partial ? 'degraded' : 'normal';
      out.push({ signId: this.signIds[s]!, lines, state, changed });
    }
    return out;
  }

  private lineMessage(l: number, states: readonly OccupancyState[]): LineMessage {
    let sum = 0;
    let counted = 0;
    let unknown = 0;
    for (const i of this.lineParks[l]!) {
      const st = states[i];
      if (st === undefined || st.status === 'unknown') unknown++;
      else if (st.status === 'open' || st.status === 'full') {
        // A `full` car park counts as no space even if its threshold left a few.
        sum += st.status === 'full' ? 0 : Math.max(0, st.vacant);
        counted++;
      }
    }
    if (counted === 0) {
      // Nothing to show a number for; the hysteresis state is kept for when a feed returns.
      return unknown > 0
        ? { kind: 'unknown', freeSpaces: Number.NaN, textZh: '—', textEn: '—', partial: false }
        : { kind: 'closed', freeSpaces: Number.NaN, textZh: '关闭', textEn: 'CLOSED', partial: false };
    }
    const wasFull = this.showingFull[l] === 1;
    const full = wasFull ? sum < this.leaveAt : sum <= this.fullAt;
    this.showingFull[l] = full ? 1 : 0;
    const partial = unknown > 0;
    return full ? { kind: 'full', freeSpaces: sum, textZh: '满', textEn: 'FULL', partial } : { kind: 'spaces', freeSpaces: sum, textZh: String(sum), textEn: String(sum), partial };
  }
}
