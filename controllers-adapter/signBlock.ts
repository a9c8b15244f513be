/**
 * The Modbus register block of a parking guidance sign (停车诱导屏): one unit
 * id per sign controller, holding registers only. The single source of truth
 * for its addresses (docs/modbus-register-map.md, "Parking guidance signs",
 * describes the same table for people); the virtual sign
 * (./virtual/sign.ts) serves it and the sign client (./modbus/signClient.ts)
 * writes it. Built like the plan block: a message id at the head and the tail
 * (a torn block is refused), CRC-16/MODBUS over the block, a commit register
 * that checks before anything is shown, and a read-only copy of what is shown
 * for the read-back.
 *
 * No text travels: a line carries a kind code (engine/parking/signs.ts
 * LINE_MESSAGE_CODE: 0 a number, 1 满/FULL, 2 "—", 3 关闭/CLOSED; for a
 * diversion sign, engine/traffic/diversion.ts DIVERSION_LINE_CODE: 4 a travel
 * time in minutes, 5 前方拥堵/congestion ahead, 6 请绕行/use this route) and a
 * number (free spaces, or minutes); the sign renders the glyphs, its labels
 * (car parks, route names) and arrows are its own panels (the direction is
 * sent so that a reader can check the wiring).
 *
 * Holding registers:
 *   [0, 36)  message block, written with its CRC and the commit in ONE FC16 (0..37):
 *              0 message id (1..65535), 1 sign state (0 normal, 1 degraded, 2 dark),
 *              2 line count n (1..8),
 *              3 + 4l .. line l: kind, number: free spaces or minutes (65535 = none), direction (0 left, 1 ahead, 2 right), flags (bit 0 partial),
 *              35 message id again (tail)
 *   36       CRC-16/MODBUS of 0..35
 *   37       commit: write 1 → check and show now; read → status (SignStatus)
 *   38       communication-loss timeout, s (0 = never, ≤ 3600): no request for that long → every line "—"
 *   39       message id of the last commit attempt (read-only)
 *   [40, 76) the message shown, same layout (read-only); 76 its CRC
 */
import { crc16ModbusRegisters } from './codec.js';
import { MAX_COMM_LOSS_TIMEOUT_S, MODBUS_MAX_READ_REGISTERS, MODBUS_MAX_WRITE_REGISTERS } from './registerMap.js';

export const SIGN_MAX_LINES = 8;
/** Offsets inside a message block (staged or shown). */
export const SB_MESSAGE_ID = 0;
export const SB_STATE = 1;
export const SB_LINE_COUNT = 2;
export const SB_LINES = 3;
export const SIGN_LINE_STRIDE = 4;
export const SL_KIND = 0;
export const SL_FREE = 1;
export const SL_DIRECTION = 2;
export const SL_FLAGS = 3;
export const SB_MESSAGE_ID_TAIL = SB_LINES + SIGN_MAX_LINES * SIGN_LINE_STRIDE;
export const SIGN_BLOCK_LENGTH = SB_MESSAGE_ID_TAIL + 1;

export const HR_SIGN_STAGE = 0;
export const HR_SIGN_CRC = HR_SIGN_STAGE + SIGN_BLOCK_LENGTH;
export const HR_SIGN_COMMIT = HR_SIGN_CRC + 1;
export const HR_SIGN_TIMEOUT_S = HR_SIGN_COMMIT + 1;
export const HR_SIGN_LAST_COMMIT = HR_SIGN_TIMEOUT_S + 1;
export const HR_SIGN_SHOWN = HR_SIGN_LAST_COMMIT + 1;
export const HR_SIGN_SHOWN_CRC = HR_SIGN_SHOWN + SIGN_BLOCK_LENGTH;
export const SIGN_REGISTER_COUNT = HR_SIGN_SHOWN_CRC + 1;
/** Writable: the block, its CRC, the commit and the timeout. */
export const SIGN_WRITABLE_END = HR_SIGN_TIMEOUT_S + 1;
/** What the read-back reads in one FC3: status, timeout, last commit id, the shown block and its CRC. */
export const SIGN_READBACK_LENGTH = SIGN_REGISTER_COUNT - HR_SIGN_COMMIT;
export const SIGN_COMMIT_COMMAND = 1;

/** Free spaces register of a line with no number (unknown, closed). */
export const SIGN_NO_NUMBER = 0xffff;
export const SIGN_MAX_NUMBER = 0xfffe;
export const SIGN_FLAG_PARTIAL = 1;
export const SIGN_DIRECTION_CODE = { left: 0, ahead: 1, right: 2 } as const;
export const SIGN_STATE_CODE = { normal: 0, degraded: 1, dark: 2 } as const;
/**
 * Line kinds: 0–3 the numbers of engine/parking/signs.ts LINE_MESSAGE_CODE, 4–6 those of
 * engine/traffic/diversion.ts DIVERSION_LINE_CODE (repeated here: the adapter does not import
 * the engine's sign logic). Kinds 4–6 carry the route's travel time in whole minutes.
 */
export const SIGN_LINE_KIND = { spaces: 0, full: 1, unknown: 2, closed: 3, travelTime: 4, congested: 5, divert: 6 } as const;
/** The kinds that carry a number (free spaces or minutes); the others carry 65535. */
export function signKindHasNumber(kind: number): boolean {
  return kind === SIGN_LINE_KIND.spaces || kind === SIGN_LINE_KIND.full || kind >= SIGN_LINE_KIND.travelTime;
}

/** Commit status (HR_SIGN_COMMIT read), numbered as the controller's CommitStatus where they mean the same. */
export const SignStatus = {
  Idle: 0,
  /** The last committed message is shown. */
  Shown: 2,
  /** The communication-loss timeout ran out: every line shows "—" until the next commit. */
  Blanked: 5,
  CrcMismatch: 16,
  /** Message id 0, head ≠ tail, line count not 1..8, a code out of range, an unused line not 0, a number where the kind has none. */
  Malformed: 17,
} as const;
export type SignStatus = (typeof SignStatus)[keyof typeof SignStatus];

export function signStatusName(status: number): string {
  for (const [name, value] of Object.entries(SignStatus)) if (value === status) return name;
  return `unknown(${status})`;
}

export { MAX_COMM_LOSS_TIMEOUT_S };

export interface SignLineRegisters {
  /** SIGN_LINE_KIND. */
  readonly kind: number;
  /** Free spaces (kinds 0, 1) or minutes (kinds 4–6), or NaN for none (kinds 2, 3). */
  readonly freeSpaces: number;
  /** SIGN_DIRECTION_CODE. */
  readonly direction: number;
  readonly partial: boolean;
}

export interface SignMessageRegisters {
  readonly messageId: number;
  /** SIGN_STATE_CODE. */
  readonly state: number;
  readonly lines: readonly SignLineRegisters[];
}

/** The message block (SIGN_BLOCK_LENGTH registers) for a message; numbers above 65534 are sent as 65534. */
export function encodeSignBlock(m: SignMessageRegisters): Uint16Array {
  const b = new Uint16Array(SIGN_BLOCK_LENGTH);
  b[SB_MESSAGE_ID] = m.messageId;
  b[SB_STATE] = m.state;
  b[SB_LINE_COUNT] = m.lines.length;
  m.lines.forEach((l, k) => {
    const at = SB_LINES + k * SIGN_LINE_STRIDE;
    b[at + SL_KIND] = l.kind;
    b[at + SL_FREE] = Number.isFinite(l.freeSpaces) ? Math.min(SIGN_MAX_NUMBER, Math.max(0, Math.round(l.freeSpaces))) : SIGN_NO_NUMBER;
    b[at + SL_DIRECTION] = l.direction;
    b[at + SL_FLAGS] = l.partial ? SIGN_FLAG_PARTIAL : 0;
  });
  b[SB_MESSAGE_ID_TAIL] = m.messageId;
  return b;
}

/** The block, its CRC and the commit command: the one FC16 a push writes from register 0. */
export function signCommitWrite(block: Uint16Array): number[] {
  return [...block, crc16ModbusRegisters(block), SIGN_COMMIT_COMMAND];
}

/** Why a block cannot be shown (Malformed), or undefined when it can. */
export function checkSignBlock(b: ArrayLike<number>, at = 0): string | undefined {
  const id = b[at + SB_MESSAGE_ID]!;
  if (id === 0) return 'message id 0';
  if (b[at + SB_MESSAGE_ID_TAIL] !== id) return `torn block: message id ${id} at the head, ${b[at + SB_MESSAGE_ID_TAIL]} at the tail`;
  if (b[at + SB_STATE]! > SIGN_STATE_CODE.dark) return `sign state ${b[at + SB_STATE]}`;
  const n = b[at + SB_LINE_COUNT]!;
  if (n < 1 || n > SIGN_MAX_LINES) return `line count ${n} is not 1..${SIGN_MAX_LINES}`;
  for (let k = 0; k < SIGN_MAX_LINES; k++) {
    const o = at + SB_LINES + k * SIGN_LINE_STRIDE;
    if (k >= n) {
      for (let f = 0; f < SIGN_LINE_STRIDE; f++) if (b[o + f] !== 0) return `unused line ${k} is not 0`;
      continue;
    }
    const kind = b[o + SL_KIND]!;
    if (kind > SIGN_LINE_KIND.divert) return `line ${k}: kind ${kind}`;
    const numbered = signKindHasNumber(kind);
    if (numbered !== (b[o + SL_FREE] !== SIGN_NO_NUMBER)) return `line ${k}: free spaces ${b[o + SL_FREE]} with kind ${kind}`;
    if (b[o + SL_DIRECTION]! > SIGN_DIRECTION_CODE.right) return `line ${k}: direction ${b[o + SL_DIRECTION]}`;
    if ((b[o + SL_FLAGS]! & ~SIGN_FLAG_PARTIAL) !== 0) return `line ${k}: flags ${b[o + SL_FLAGS]}`;
  }
  return undefined;
}

/** Decodes a message block (checked first: undefined when malformed). */
export function decodeSignBlock(b: ArrayLike<number>, at = 0): SignMessageRegisters | undefined {
  if (checkSignBlock(b, at) !== undefined) return undefined;
  const lines: SignLineRegisters[] = [];
  for (let k = 0; k < b[at + SB_LINE_COUNT]!; k++) {
    const o = at + SB_LINES + k * SIGN_LINE_STRIDE;
    const free = b[o + SL_FREE]!;
    lines.push({ kind: b[o + SL_KIND]!, freeSpaces: free === SIGN_NO_NUMBER ? Number.NaN : free, direction: b[o + SL_DIRECTION]!, partial: (b[o + SL_FLAGS]! & SIGN_FLAG_PARTIAL) !== 0 });
  }
  return { messageId: b[at + SB_MESSAGE_ID]!, state: b[at + SB_STATE]!, lines };
}

// One FC16 carries the block, its CRC and the commit; one FC3 the whole read-back.
if (SIGN_WRITABLE_END - 1 > MODBUS_MAX_WRITE_REGISTERS) throw new Error('sign register block: block + CRC + commit exceed one FC16 write');
if (SIGN_READBACK_LENGTH > MODBUS_MAX_READ_REGISTERS) throw new Error('sign register block: the read-back exceeds one FC3 read');
