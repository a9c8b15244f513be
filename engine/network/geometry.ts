/**
 * Movement naming and the conflict table derived from intersection geometry.
 * Used by network validation (to reject phases that green conflicting
 * movements) and by compilation (to build the phase conflict masks that the
 * safety validator checks every plan against).
 *
 * Geometry model: a four-leg intersection with right-hand traffic. Walking
 * clockwise round the box from the north, each leg has an entry point then an
 * exit point (N-in, N-out, E-in, E-out, …). A movement is a chord from its
 * entry point to its exit point. Two movements from different approaches
 * conflict when their chords cross (interleave) or merge (share the exit point).
 */
import { APPROACH_IDS, LEGS, TURNS, type ApproachId, type Leg, type Turn } from './schema.js';

/** Turns per approach (L, T, R, U): the stride of a dense movement index. */
export const TURN_COUNT = TURNS.length;
/** Dense movement index: approachIndex * TURN_COUNT + turnIndex, 0..15. */
export const MOVEMENT_COUNT = APPROACH_IDS.length * TURN_COUNT;

/** Index of the through movement in TURNS: coordinated phases and bands follow it. */
export const THROUGH_TURN = 1;

/** Dense movement index of an approach (index into APPROACH_IDS) and a turn (index into TURNS). */
export function movementIndex(approach: number, turn: number): number {
  return approach * TURN_COUNT + turn;
}

/**
 * Slot of a movement in a network-wide per-movement array (flows, demand,
 * queues): intersection * MOVEMENT_COUNT + movement. Small enough for V8 to
 * inline in hot loops.
 */
export function movementSlot(intersection: number, movement: number): number {
  return intersection * MOVEMENT_COUNT + movement;
}

/** The leg each approach's traffic enters from: northbound traffic arrives on the south leg. */
const ENTRY_LEG: Record<ApproachId, number> = { NB: 2, SB: 0, EB: 3, WB: 1 };
/** Exit leg relative to the entry leg, per turn (legs numbered clockwise N=0,E=1,S=2,W=3). */
const EXIT_OFFSET: Record<Turn, number> = { L: 1, T: 2, R: 3, U: 0 };

export interface MovementRef {
  readonly approach: ApproachId;
  readonly turn: Turn;
  readonly index: number;
}

const MOVEMENT_RE = /^(NB|SB|EB|WB)(L|T|R|U)$/;

/** Parses "NBL" into its approach and turn, or returns undefined for an unknown name. */
export function parseMovementId(id: string): MovementRef | undefined {
  const m = MOVEMENT_RE.exec(id);
  if (!m) return undefined;
  const approach = m[1] as ApproachId;
  const turn = m[2] as Turn;
  return { approach, turn, index: movementIndex(APPROACH_IDS.indexOf(approach), TURNS.indexOf(turn)) };
}

export function movementId(index: number): string {
  return `${APPROACH_IDS[index >> 2]}${TURNS[index & 3]}`;
}

export function entryLeg(movement: number): number {
  return ENTRY_LEG[APPROACH_IDS[movement >> 2] as ApproachId];
}

export function exitLeg(movement: number): number {
  return (entryLeg(movement) + EXIT_OFFSET[TURNS[movement & 3] as Turn]) & 3;
}

export function legIndex(leg: Leg): number {
  return LEGS.indexOf(leg);
}

/** Strict interleaving of two chords on the circle of 8 entry/exit points. */
function chordsCross(a1: number, a2: number, b1: number, b2: number): boolean {
  const lo = Math.min(a1, a2);
  const hi = Math.max(a1, a2);
  const bIn = b1 > lo && b1 < hi;
  const b2In = b2 > lo && b2 < hi;
  const bOn = b1 === lo || b1 === hi || b2 === lo || b2 === hi;
  return !bOn && bIn !== b2In;
}

export const ConflictKind = { None: 0, Crossing: 1, Merging: 2 } as const;
export type ConflictKind = (typeof ConflictKind)[keyof typeof ConflictKind];

/** Geometric conflict between two movements (before any file overrides). */
export function geometricConflict(m1: number, m2: number): ConflictKind {
  const e1 = entryLeg(m1);
  const e2 = entryLeg(m2);
  if (e1 === e2) return ConflictKind.None; // same approach: they diverge, never meet
  const p1 = 2 * e1;
  const q1 = 2 * exitLeg(m1) + 1;
  const p2 = 2 * e2;
  const q2 = 2 * exitLeg(m2) + 1;
  if (q1 === q2) return ConflictKind.Merging;
  return chordsCross(p1, q1, p2, q2) ? ConflictKind.Crossing : ConflictKind.None;
}

/**
 * Whether a *permitted* movement may be green together with a conflicting one
 * because it yields: a permitted left yields to the opposing approach; a
 * permitted right or U-turn yields to the stream it merges into. Crossing a
 * perpendicular stream is never acceptable, permitted or not.
 */
export function yieldResolves(permitted: number, other: number, kind: ConflictKind): boolean {
  const turn = permitted & 3; // L=0 T=1 R=2 U=3
  if (turn === 1) return false;
  if (turn === 0) return entryLeg(other) === ((entryLeg(permitted) + 2) & 3);
  return kind === ConflictKind.Merging;
}

/** Movements whose path uses the given leg (entering or leaving), which a crosswalk on that leg conflicts with. */
export function movementUsesLeg(movement: number, leg: number): boolean {
  return entryLeg(movement) === leg || exitLeg(movement) === leg;
}

/** The 16×16 conflict table for one intersection, with the file's add/remove overrides applied. */
export function buildConflictTable(
  overrides: { add: readonly (readonly [string, string])[]; remove: readonly (readonly [string, string])[] },
): Uint8Array {
  const table = new Uint8Array(MOVEMENT_COUNT * MOVEMENT_COUNT);
  for (let a = 0; a < MOVEMENT_COUNT; a++) {
    for (let b = 0; b < MOVEMENT_COUNT; b++) table[a * MOVEMENT_COUNT + b] = geometricConflict(a, b);
  }
  // Overrides are validated (known ids) before this is called; unknown pairs are skipped.
  for (const [x, y] of overrides.remove) setPair(table, x, y, ConflictKind.None);
  // An added conflict is a hard one: 3 marks "no yielding can resolve it".
  for (const [x, y] of overrides.add) setPair(table, x, y, 3);
  return table;
}

function setPair(table: Uint8Array, x: string, y: string, value: number): void {
  const a = parseMovementId(x);
  const b = parseMovementId(y);
  if (!a || !b) return;
  table[a.index * MOVEMENT_COUNT + b.index] = value;
  table[b.index * MOVEMENT_COUNT + a.index] = value;
}

/**
 * Whether two green movements are compatible, given the table and how each is
 * given right of way (`permittedA`/`permittedB`).
 */
export function compatible(table: Uint8Array, a: number, permittedA: boolean, b: number, permittedB: boolean): boolean {
  if (a === b) return true;
  const kind = table[a * MOVEMENT_COUNT + b] as number;
  if (kind === ConflictKind.None) return true;
  if (kind === 3) return false;
  const k = kind as ConflictKind;
  return (permittedA && yieldResolves(a, b, k)) || (permittedB && yieldResolves(b, a, k));
}

/** Direction of travel from one intersection to the next, from their positions. */
export function travelDirection(from: { lon: number; lat: number }, to: { lon: number; lat: number }): ApproachId {
  const dx = (to.lon - from.lon) * Math.cos((((from.lat + to.lat) / 2) * Math.PI) / 180);
  const dy = to.lat - from.lat;
  if (Math.abs(dx) >= Math.abs(dy)) return dx >= 0 ? 'EB' : 'WB';
  return dy >= 0 ? 'NB' : 'SB';
}
