/**
 * Actuated settings on the wire: one intersection of an ActuatedPlan
 * (engine/timing/actuated.ts) ⇄ the ACT_BLOCK_LENGTH registers of the
 * register map's actuated block (control mode, coordinated phase bits, per
 * phase min green / passage / max green in tenths), and the checks a
 * controller applies before it accepts a block with a plan commit. Used by
 * the Modbus client (encode), the virtual controller (check) and the NTCIP
 * agent (which commits through the same register path).
 *
 * A controller runs what it accepted: `decodeActuatedBlock` turns a checked block back into
 * settings for the cycle runner, with the force-offs taken from the committed plan.
 *
 * Why a controller checks them itself: the safety validator checks the plan
 * (its greens, clearances, conflicts); an actuated block could still ask a
 * phase to gap out below the network's minimum green. So a minimum green
 * below the phase's own is Unsafe, and a block that does not describe this
 * intersection (mode, bits or slots out of range, max < min) is Malformed.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { plannedForceOffS, type ActuatedPlan } from '../engine/timing/actuated.js';
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

/**
 * Settings of a network-sized shape, one per compiled network, that decodeActuatedBlock
 * fills for one intersection at a time. The runner copies what it queues (its
 * ActuatedSettings), so one buffer serves every controller of the network, however many: a
 * buffer per controller would cost a whole network's phases for each of them.
 */
const decodeScratch = new WeakMap<CompiledNetwork, ActuatedPlan>();

function scratchFor(c: CompiledNetwork): ActuatedPlan {
  let a = decodeScratch.get(c);
  if (a === undefined) {
    const nP = c.phaseIds.length;
    a = { mode: new Uint8Array(c.intersectionCount), minGreenS: new Float64Array(nP), passageS: new Float64Array(nP), maxGreenS: new Float64Array(nP), coordinated: new Uint8Array(nP), forceOffS: new Float64Array(nP).fill(Number.NaN) };
    decodeScratch.set(c, a);
  }
  return a;
}

/**
 * The settings a checked block (checkActuatedBlock) at `regs[start..]` asks intersection i to
 * run `plan` with, or undefined for a fixed-time block. In coordinated mode every phase the
 * plan serves is forced off at its planned green end in `plan` (force-offs are not sent; the
 * same rule as actuatedPlan's). Only intersection i of the result is meaningful, and only until
 * the next call for the same network: hand it to the runner (which copies it) at once.
 */
export function decodeActuatedBlock(c: CompiledNetwork, i: number, regs: ArrayLike<number>, start: number, plan: PlanBuffer): ActuatedPlan | undefined {
  const mode = regs[start + AB_MODE]!;
  if (mode === ActuatedMode.Fixed) return undefined;
  const a = scratchFor(c);
  const out = a as { -readonly [K in keyof ActuatedPlan]: ActuatedPlan[K] };
  // The wire's modes are the engine's CONTROL_* values (registerMap.ts ActuatedMode).
  out.mode[i] = mode;
  const bits = regs[start + AB_COORD_PHASES]!;
  const p0 = c.phaseStart[i]!;
  for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
    const at = start + AB_PHASES + (p - p0) * ACT_PHASE_STRIDE;
    out.minGreenS[p] = regs[at + AP_MIN_GREEN_DS]! / 10;
    out.passageS[p] = regs[at + AP_PASSAGE_DS]! / 10;
    out.maxGreenS[p] = regs[at + AP_MAX_GREEN_DS]! / 10;
    out.coordinated[p] = (bits >>> (p - p0)) & 1;
    out.forceOffS[p] = mode === ActuatedMode.Coordinated && plan.phaseGreenS[p]! > 0 ? plannedForceOffS(plan, i, p) : Number.NaN;
  }
  return a;
}
