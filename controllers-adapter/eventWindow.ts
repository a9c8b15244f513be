/**
 * The event-log block of the register map (holding HR_EVENTS.., registerMap.ts) as values:
 * the word layouts both sides share (uint32 sequence numbers, 48-bit timestamps in 0.1 s) and
 * the decoder of one block read. The virtual controller's FIFO (./virtual/eventFifo.ts)
 * encodes the block; the client (./modbus/client.ts readEventWindow) and the poller
 * (./modbus/eventPoller.ts) decode it. docs/modbus-register-map.md, "Event log".
 */
import { ControllerError, ControllerErrorReason } from './errors.js';
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
} from './registerMap.js';

/** Sequence numbers are uint32 on the wire. */
export const SEQ_MODULUS = 0x1_0000_0000;
/** Timestamps are 48-bit counts of 0.1 s. */
const TIME_MODULUS = 2 ** 48;

/** Writes uint32 `v` at out[at], out[at + 1], high word first. */
export function putUint32(out: Uint16Array, at: number, v: number): void {
  out[at] = Math.floor(v / 0x10000) & 0xffff;
  out[at + 1] = v & 0xffff;
}

export function getUint32(r: ArrayLike<number>, at: number): number {
  return r[at]! * 0x10000 + r[at + 1]!;
}

/** Writes epoch ms as 0.1 s counts in three words, high first (clamped to the 48-bit range). */
export function putTimeDs(out: Uint16Array, at: number, ms: number): void {
  const ds = Math.min(TIME_MODULUS - 1, Math.max(0, Math.round(ms / 100)));
  out[at] = Math.floor(ds / 0x1_0000_0000) & 0xffff;
  out[at + 1] = Math.floor(ds / 0x10000) & 0xffff;
  out[at + 2] = ds & 0xffff;
}

export function getTimeMs(r: ArrayLike<number>, at: number): number {
  return (r[at]! * 0x1_0000_0000 + r[at + 1]! * 0x10000 + r[at + 2]!) * 100;
}

/** One event read from a controller. */
export interface WireEvent {
  readonly seq: number;
  readonly timestampMs: number;
  readonly eventCode: number;
  readonly eventParam: number;
}

/** One read of the event block, decoded. */
export interface EventWindow {
  /** 0: the controller keeps no event log. */
  readonly logId: number;
  readonly oldestSeq: number;
  readonly nextSeq: number;
  /** The cursor the block was read at (another master may have moved it after our write). */
  readonly cursor: number;
  /** Sequence of the first record: above the cursor when events before it were overwritten. */
  readonly windowSeq: number;
  readonly events: readonly WireEvent[];
}

/** Decodes one read of the whole block; a count beyond the window is a corrupt read. */
export function decodeEventBlock(r: ArrayLike<number>, unitId: number): EventWindow {
  if (r.length !== EV_BLOCK_LENGTH) throw new ControllerError(ControllerErrorReason.ConnectionLost, `unit ${unitId}: event block of ${r.length} registers, expected ${EV_BLOCK_LENGTH}`, { unitId });
  const count = r[EV_WINDOW_COUNT]!;
  if (count > EV_WINDOW_RECORDS) throw new ControllerError(ControllerErrorReason.TornRead, `unit ${unitId}: event window claims ${count} records, at most ${EV_WINDOW_RECORDS} fit`, { unitId });
  const windowSeq = getUint32(r, EV_WINDOW_SEQ);
  const events: WireEvent[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const at = EV_RECORDS + k * EV_RECORD_STRIDE;
    events[k] = { seq: (windowSeq + k) % SEQ_MODULUS, timestampMs: getTimeMs(r, at + ER_TIME_DS), eventCode: r[at + ER_CODE]!, eventParam: r[at + ER_PARAM]! };
  }
  return { logId: r[EV_LOG_ID]!, oldestSeq: getUint32(r, EV_OLDEST_SEQ), nextSeq: getUint32(r, EV_NEXT_SEQ), cursor: getUint32(r, EV_CURSOR), windowSeq, events };
}
