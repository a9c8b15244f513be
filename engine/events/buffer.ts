/**
 * The event log in memory: one record is (location, timestamp ms, event code, event
 * parameter), stored column by column in typed arrays that double when full, so an
 * emitter's append costs four stores and allocates nothing between growths. Locations
 * are interned strings (an intersection id), stored per record as a 16-bit index.
 * Timestamps are rounded to 0.1 s, the resolution of the Indiana logs. Written by the
 * emitters (simulator/events.ts, controllers-adapter/virtual/events.ts) and the CSV
 * reader (./csv.ts); read by the CSV writer and engine/measures/.
 */
import { OptionError } from '../errors.js';
import { MAX_EVENT_CODE, MAX_EVENT_PARAM } from './codes.js';

/** Timestamps are whole tenths of a second, in ms. */
export const TIMESTAMP_RESOLUTION_MS = 100;

/** A timestamp rounded to the log's 0.1 s resolution. */
export function roundTimestampMs(ms: number): number {
  return Math.round(ms / TIMESTAMP_RESOLUTION_MS) * TIMESTAMP_RESOLUTION_MS;
}

/** One record, for callers that want objects (tests, small logs); the buffer itself keeps none. */
export interface EventRecord {
  readonly locationId: string;
  readonly timestampMs: number;
  readonly eventCode: number;
  readonly eventParam: number;
}

export class EventBuffer {
  /** Location ids, by the index records store. */
  readonly locations: string[] = [];
  private readonly locationByName = new Map<string, number>();
  private loc: Uint16Array;
  private ts: Float64Array;
  private code: Uint8Array;
  private param: Uint16Array;
  private n = 0;

  constructor(initialCapacity = 1024) {
    if (!(Number.isInteger(initialCapacity) && initialCapacity >= 1)) throw new OptionError('initialCapacity', `must be an integer >= 1, got ${initialCapacity}`);
    this.loc = new Uint16Array(initialCapacity);
    this.ts = new Float64Array(initialCapacity);
    this.code = new Uint8Array(initialCapacity);
    this.param = new Uint16Array(initialCapacity);
  }

  get length(): number {
    return this.n;
  }

  /** The index of location `id`, added on first use (at most 65,536 locations). */
  locationIndex(id: string): number {
    const known = this.locationByName.get(id);
    if (known !== undefined) return known;
    if (this.locations.length > 0xffff) throw new OptionError('location', `at most 65536 locations per buffer; ${id} is one more`);
    const k = this.locations.length;
    this.locations.push(id);
    this.locationByName.set(id, k);
    return k;
  }

  /** The index of location `id`, or -1 when no record names it. */
  findLocation(id: string): number {
    return this.locationByName.get(id) ?? -1;
  }

  /**
   * Appends one record. `location` is an index from locationIndex; the code and the
   * parameter are truncated to their fields (callers pass enumeration values).
   */
  push(location: number, timestampMs: number, code: number, param: number): void {
    if (this.n === this.ts.length) this.grow();
    const k = this.n++;
    this.loc[k] = location;
    this.ts[k] = roundTimestampMs(timestampMs);
    this.code[k] = code & MAX_EVENT_CODE;
    this.param[k] = param & MAX_EVENT_PARAM;
  }

  locationAt(k: number): number {
    return this.loc[k]!;
  }
  timestampMsAt(k: number): number {
    return this.ts[k]!;
  }
  codeAt(k: number): number {
    return this.code[k]!;
  }
  paramAt(k: number): number {
    return this.param[k]!;
  }

  record(k: number): EventRecord {
    return { locationId: this.locations[this.loc[k]!]!, timestampMs: this.ts[k]!, eventCode: this.code[k]!, eventParam: this.param[k]! };
  }

  /** Every record as an object, in buffer order. */
  records(): EventRecord[] {
    const out: EventRecord[] = new Array(this.n);
    for (let k = 0; k < this.n; k++) out[k] = this.record(k);
    return out;
  }

  /** True when timestamps never decrease (what the measures need; see sortByTime). */
  isTimeOrdered(): boolean {
    for (let k = 1; k < this.n; k++) if (this.ts[k]! < this.ts[k - 1]!) return false;
    return true;
  }

  /**
   * Orders records by timestamp, keeping the order of records with equal timestamps
   * (emitters write a phase's termination before its yellow at the same instant).
   */
  sortByTime(): void {
    if (this.isTimeOrdered()) return;
    const idx = Array.from({ length: this.n }, (_, k) => k);
    idx.sort((a, b) => this.ts[a]! - this.ts[b]! || a - b);
    const loc = this.loc.slice(0, this.n);
    const ts = this.ts.slice(0, this.n);
    const code = this.code.slice(0, this.n);
    const param = this.param.slice(0, this.n);
    idx.forEach((from, to) => {
      this.loc[to] = loc[from]!;
      this.ts[to] = ts[from]!;
      this.code[to] = code[from]!;
      this.param[to] = param[from]!;
    });
  }

  /** Drops every record (locations are kept). */
  clear(): void {
    this.n = 0;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const loc = new Uint16Array(cap);
    loc.set(this.loc);
    this.loc = loc;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    this.ts = ts;
    const code = new Uint8Array(cap);
    code.set(this.code);
    this.code = code;
    const param = new Uint16Array(cap);
    param.set(this.param);
    this.param = param;
  }
}
