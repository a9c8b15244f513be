/**
 * Actuated settings on the wire: one intersection of an ActuatedPlan
 * (engine/timing/actuated.ts) ⇄ the ACT_BLOCK_LENGTH registers of the
 * register map's actuated block (control mode, coordinated phase bits, per
 * phase min green / passage / max green in tenths), and the checks a
 * controller applies before it accepts a block with a plan commit. Used by
 * the Modbus client (encode), the virtual controller (check) and the NTCIP
 * agent (which commits through the same register path).
 *
 * Why a controller checks them itself: the safety validator checks the plan
 * (its greens, clearances, conflicts); an actuated block could still ask a
 * phase to gap out below the network's minimum green. So a minimum green
 * below the phase's own is Unsafe, and a block that does not describe this
 * intersection (mode, bits or slots out of range, max < min) is Malformed.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { ActuatedPlan } from '../engine/timing/actuated.js';
import {
  AB_COORD_PHASES,
  AB_MODE,
  AB_PHASES,
  AB_PLAN_ID,
  AB_PLAN_ID_TAIL,
  ACT_BLOCK_LENGTH,
  ACT_PHASE_STRIDE,
  ActuatedMode,
  AP_MAX_GREEN_DS,
  AP_MIN_GREEN_DS,
  AP_PASSAGE_DS,
  CommitStatus,
  MAX_PHASES,
} from './registerMap.js';

/** Tenths of a second, rounded up (a minimum sent to a controller is never shortened). */
function ceilDs(s: number): number {
  return Math.ceil(s * 10 - 1e-6);
}

/**
 * Intersection i of `a` as an actuated block for plan `planId`. Minimum greens are rounded up to
 * the tenth, max green never below the minimum; a skipped phase (max = min) is carried as such.
 */
export function encodeActuatedBlock(c: CompiledNetwork, i: number, a: ActuatedPlan, planId: number, out: Uint16Array = new Uint16Array(ACT_BLOCK_LENGTH)): Uint16Array {
  const p0 = c.phaseStart[i]!;
  const n = c.phaseStart[i + 1]! - p0;
  if (n > MAX_PHASES) throw new RangeError(`intersection ${c.intersectionIds[i]} has ${n} phases; the actuated block carries ${MAX_PHASES}`);
  out.fill(0);
  out[AB_PLAN_ID] = planId;
  out[AB_PLAN_ID_TAIL] = planId;
  const mode = a.mode[i]!;
  out[AB_MODE] = mode;
  let bits = 0;
  for (let k = 0; k < n; k++) {
    const p = p0 + k;
    if (mode === ActuatedMode.Fixed) continue;
    if (mode === ActuatedMode.Coordinated && a.coordinated[p] === 1) bits |= 1 << k;
    const at = AB_PHASES + k * ACT_PHASE_STRIDE;
    const minDs = ceilDs(a.minGreenS[p]!);
    out[at + AP_MIN_GREEN_DS] = minDs;
    out[at + AP_PASSAGE_DS] = Math.round(a.passageS[p]! * 10);
    out[at + AP_MAX_GREEN_DS] = Math.max(minDs, Math.round(a.maxGreenS[p]! * 10));
  }
  out[AB_COORD_PHASES] = bits;
  return out;
}

/** A fixed-time block for plan `planId` (what a commit without actuated settings runs). */
export function fixedActuatedBlock(planId: number, out: Uint16Array = new Uint16Array(ACT_BLOCK_LENGTH)): Uint16Array {
  out.fill(0);
  out[AB_PLAN_ID] = planId;
  out[AB_PLAN_ID_TAIL] = planId;
  return out;
}

export type ActuatedCheck = { ok: true } | { ok: false; status: typeof CommitStatus.Malformed | typeof CommitStatus.Unsafe; message: string };

/** Checks an actuated block at `regs[start..]` for intersection i (see the header). */
export function checkActuatedBlock(c: CompiledNetwork, i: number, regs: ArrayLike<number>, start: number): ActuatedCheck {
  const malformed = (message: string): ActuatedCheck => ({ ok: false, status: CommitStatus.Malformed, message: `actuated block: ${message}` });
  const p0 = c.phaseStart[i]!;
  const n = c.phaseStart[i + 1]! - p0;
  const r = (o: number): number => regs[start + o]!;
  if (r(AB_PLAN_ID) !== r(AB_PLAN_ID_TAIL)) return malformed(`plan id ${r(AB_PLAN_ID)} ≠ tail ${r(AB_PLAN_ID_TAIL)} (torn block)`);
  const mode = r(AB_MODE);
  if (mode !== ActuatedMode.Fixed && mode !== ActuatedMode.Free && mode !== ActuatedMode.Coordinated) return malformed(`control mode ${mode} is not 0 (fixed), 1 (free) or 2 (coordinated)`);
  const bits = r(AB_COORD_PHASES);
  if (mode !== ActuatedMode.Coordinated && bits !== 0) return malformed(`coordinated phases 0x${bits.toString(16)} in a mode other than coordinated`);
  if (mode === ActuatedMode.Coordinated && bits === 0) return malformed('coordinated mode without a coordinated phase');
  if (bits >>> n !== 0) return malformed(`coordinated phase bits 0x${bits.toString(16)} beyond the intersection's ${n} phases`);
  for (let k = 0; k < MAX_PHASES; k++) {
    const at = AB_PHASES + k * ACT_PHASE_STRIDE;
    const minDs = r(at + AP_MIN_GREEN_DS);
    const passDs = r(at + AP_PASSAGE_DS);
    const maxDs = r(at + AP_MAX_GREEN_DS);
    if (k >= n || mode === ActuatedMode.Fixed) {
      if (minDs !== 0 || passDs !== 0 || maxDs !== 0) return malformed(k >= n ? `phase slot ${k} is unused and must be 0` : `fixed-time block: phase ${k} settings must be 0`);
      continue;
    }
    const id = c.phaseIds[p0 + k];
    if (maxDs < minDs) return malformed(`phase ${id}: max green ${maxDs / 10} s below min green ${minDs / 10} s`);
    if (passDs > maxDs) return malformed(`phase ${id}: passage ${passDs / 10} s exceeds max green ${maxDs / 10} s`);
    if (minDs < ceilDs(c.phaseMinGreenS[p0 + k]!)) return { ok: false, status: CommitStatus.Unsafe, message: `actuated block: phase ${id}: min green ${minDs / 10} s below the phase's minimum green ${c.phaseMinGreenS[p0 + k]} s` };
  }
  return { ok: true };
}
