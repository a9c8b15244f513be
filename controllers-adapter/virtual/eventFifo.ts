/**
 * The virtual controller's event log as central reads it over Modbus: a ring of the last
 * `capacity` records (timestamp, code, parameter), each numbered by a sequence that only
 * grows (uint32 on the wire), behind the event block of the register map (holding
 * HR_EVENTS.., docs/modbus-register-map.md "Event log"). A poller writes the sequence it
 * wants next (the cursor) and reads the block: the oldest sequence still held, the next one
 * to be written, and a window of up to 23 records from max(cursor, oldest). A record is
 * never shown under two sequence numbers and never skipped silently: when the ring
 * overwrote what the cursor asked for, the window starts above the cursor and the poller
 * sees the gap.
 *
 * The records come from the controller's ControllerEventLog (./events.ts), whose buffer the
 * FIFO drains (and clears) on every tick and before every read, so memory stays bounded by
 * the capacity however long nobody reads. The log id (1..65535, new for every FIFO, i.e. at
 * power-up) tells a poller that the numbering started again. Owned by ./controller.ts
 * (VirtualController.serveEventLog); typed arrays, no allocation per record.
 */
import { randomInt } from 'node:crypto';
import type { EventBuffer } from '../../engine/events/buffer.js';
import { OptionError } from '../../engine/errors.js';
import { ModbusException } from '../errors.js';
import { putTimeDs, putUint32, SEQ_MODULUS } from '../eventWindow.js';
import {
  EV_BLOCK_LENGTH,
  EV_CURSOR,
  EV_LOG_ID,
  EV_NEXT_SEQ,
  EV_OLDEST_SEQ,
  EV_RECORD_STRIDE,
  EV_RECORDS,
  EV_WINDOW_COUNT,
  EV_WINDOW_RECORDS,
  EV_WINDOW_SEQ,
  ER_CODE,
  ER_PARAM,
  ER_TIME_DS,
  ModbusExceptionCode,
} from '../registerMap.js';

/** Records held by default: about 7 minutes at 20 events per second. */
export const DEFAULT_EVENT_FIFO_RECORDS = 8192;
export const MAX_EVENT_FIFO_RECORDS = 1 << 20;

export class EventFifo {
  readonly capacity: number;
  readonly logId: number;
  private readonly ts: Float64Array;
  private readonly code: Uint8Array;
  private readonly param: Uint16Array;
  /** Sequences as plain numbers: [oldest, next) is held. */
  private oldest = 0;
  private next = 0;
  private cursor = 0;
  /** Records pushed out of the ring by newer ones (read or not), for status. */
  overwritten = 0;
  private readonly block = new Uint16Array(EV_BLOCK_LENGTH);

  constructor(capacity = DEFAULT_EVENT_FIFO_RECORDS, logId = randomInt(1, 0x10000)) {
    if (!(Number.isInteger(capacity) && capacity >= EV_WINDOW_RECORDS && capacity <= MAX_EVENT_FIFO_RECORDS)) throw new OptionError('capacity', `must be an integer within [${EV_WINDOW_RECORDS}, ${MAX_EVENT_FIFO_RECORDS}], got ${capacity}`);
    if (!(Number.isInteger(logId) && logId >= 1 && logId <= 0xffff)) throw new OptionError('logId', `must be an integer within [1, 65535], got ${logId}`);
    this.capacity = capacity;
    this.logId = logId;
    this.ts = new Float64Array(capacity);
    this.code = new Uint8Array(capacity);
    this.param = new Uint16Array(capacity);
  }

  get oldestSeq(): number {
    return this.oldest;
  }
  get nextSeq(): number {
    return this.next;
  }

  /** The record of sequence `seq` while it is held (status, tests), else undefined. */
  recordAt(seq: number): { readonly timestampMs: number; readonly eventCode: number; readonly eventParam: number } | undefined {
    if (!(seq >= this.oldest && seq < this.next)) return undefined;
    const k = seq % this.capacity;
    return { timestampMs: this.ts[k]!, eventCode: this.code[k]!, eventParam: this.param[k]! };
  }

  append(timestampMs: number, code: number, param: number): void {
    if (this.next === SEQ_MODULUS) {
      // 2^32 records (years at field rates): the wire numbering cannot go on. Start again empty;
      // a poller sees the next sequence fall below its cursor and reads from the oldest again.
      this.overwritten += this.next - this.oldest;
      this.oldest = 0;
      this.next = 0;
      this.cursor = 0;
    }
    const k = this.next % this.capacity;
    this.ts[k] = timestampMs;
    this.code[k] = code;
    this.param[k] = param;
    this.next++;
    if (this.next - this.oldest > this.capacity) {
      this.oldest++;
      this.overwritten++;
    }
  }

  /** Moves every record of `buffer` (one controller's own log) into the ring and empties it. */
  drain(buffer: EventBuffer): void {
    const n = buffer.length;
    for (let k = 0; k < n; k++) this.append(buffer.timestampMsAt(k), buffer.codeAt(k), buffer.paramAt(k));
    buffer.clear();
  }

  /** FC6/FC16 inside the block: only the cursor, both words in one request. */
  write(offset: number, values: readonly number[]): void {
    if (offset !== EV_CURSOR || values.length !== 2) throw new ModbusException(ModbusExceptionCode.IllegalDataValue, 'the event cursor is written as both its registers in one FC16');
    this.cursor = values[0]! * 0x10000 + values[1]!;
  }

  /** Registers [offset, offset + count) of the block, as one snapshot. */
  read(offset: number, count: number): number[] {
    const b = this.block;
    b.fill(0);
    putUint32(b, EV_OLDEST_SEQ, this.oldest);
    putUint32(b, EV_NEXT_SEQ, this.next);
    putUint32(b, EV_CURSOR, this.cursor);
    b[EV_LOG_ID] = this.logId;
    // A cursor past the end (the poller knew a numbering before a restart or a wrap): empty window at next.
    const first = this.cursor > this.next ? this.next : Math.max(this.cursor, this.oldest);
    const n = Math.min(EV_WINDOW_RECORDS, this.next - first);
    putUint32(b, EV_WINDOW_SEQ, first);
    b[EV_WINDOW_COUNT] = n;
    for (let r = 0; r < n; r++) {
      const k = (first + r) % this.capacity;
      const at = EV_RECORDS + r * EV_RECORD_STRIDE;
      putTimeDs(b, at + ER_TIME_DS, this.ts[k]!);
      b[at + ER_CODE] = this.code[k]!;
      b[at + ER_PARAM] = this.param[k]!;
    }
    return Array.from(b.subarray(offset, offset + count));
  }
}

/** The block of a controller that keeps no log: all zero (log id 0); the cursor is refused. */
export function noEventLogBlock(offset: number, count: number): number[] {
  return new Array<number>(Math.max(0, Math.min(count, EV_BLOCK_LENGTH - offset))).fill(0);
}
