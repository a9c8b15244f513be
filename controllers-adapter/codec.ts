/**
 * Plan blocks on the wire: a PlanBuffer slice (one intersection) ⇄ the
 * PLAN_BLOCK_LENGTH registers of the register map, and the CRC-16/MODBUS that
 * guards the staging block. Used by the client (encode), the virtual
 * controller (decode) and the tests. Phase starts are not sent: each ring's
 * phases run back to back in the order of their ring sequence, so the
 * controller rebuilds the starts and the safety validator checks the result.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { ControllerError, ControllerErrorReason } from './errors.js';
import { compareRunOrder, phaseDurationS } from '../engine/timing/runOrder.js';
import { MAX_PHASES, PB_CYCLE_DS, PB_OFFSET_DS, PB_PHASE_COUNT, PB_PHASES, PB_PLAN_ID, PB_PLAN_ID_TAIL, PH_ALL_RED_DS, PH_GREEN_DS, PH_SEQUENCE, PH_YELLOW_DS, PHASE_STRIDE, PLAN_BLOCK_LENGTH } from './registerMap.js';

/**
 * CRC-16/MODBUS (poly 0x8005 reflected = 0xA001, init 0xFFFF, no final xor) over
 * registers [start, start+length) taken as big-endian byte pairs, as on the wire.
 * Check value: the bytes "123456789" give 0x4B37.
 */
export function crc16ModbusRegisters(regs: ArrayLike<number>, start = 0, length = regs.length - start): number {
  let crc = 0xffff;
  for (let k = start; k < start + length; k++) {
    const v = regs[k]! & 0xffff;
    crc = crcByte(crc, v >>> 8);
    crc = crcByte(crc, v & 0xff);
  }
  return crc;
}

/** The same CRC over raw bytes (for the documented check value). */
export function crc16ModbusBytes(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let k = 0; k < bytes.length; k++) crc = crcByte(crc, bytes[k]! & 0xff);
  return crc;
}

function crcByte(crc: number, byte: number): number {
  crc ^= byte;
  for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  return crc;
}

function toTenths(x: number, what: string): number {
  const v = Math.round(x * 10);
  if (!(Number.isFinite(v) && v >= 0 && v <= 0xffff)) throw new ControllerError(ControllerErrorReason.Limit, `${what} ${x} s does not fit a uint16 register in tenths of a second`);
  return v;
}

/** Checks that intersection i fits the register map (≤ MAX_PHASES phases). */
export function assertPhasesFit(c: CompiledNetwork, i: number): void {
  const count = c.phaseStart[i + 1]! - c.phaseStart[i]!;
  if (count > MAX_PHASES) throw new ControllerError(ControllerErrorReason.Limit, `intersection ${c.intersectionIds[i]} has ${count} phases; the register map carries at most ${MAX_PHASES}`);
}

/**
 * Encodes intersection i of `plan` as a plan block (staging layout) with `planId` at head and tail.
 * Times are rounded to 0.1 s; the caller validates the decoded block before sending it.
 */
export function encodePlanBlock(c: CompiledNetwork, i: number, plan: PlanBuffer, planId: number, out: Uint16Array = new Uint16Array(PLAN_BLOCK_LENGTH)): Uint16Array {
  assertPhasesFit(c, i);
  if (!(Number.isInteger(planId) && planId >= 1 && planId <= 0xffff)) throw new ControllerError(ControllerErrorReason.Limit, `plan id ${planId} must be an integer in [1, 65535]`);
  out.fill(0);
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  out[PB_PLAN_ID] = planId;
  out[PB_CYCLE_DS] = toTenths(plan.cycleS[i]!, 'cycle');
  out[PB_OFFSET_DS] = toTenths(plan.offsetS[i]!, 'offset');
  out[PB_PHASE_COUNT] = p1 - p0;
  for (let p = p0; p < p1; p++) {
    const at = PB_PHASES + (p - p0) * PHASE_STRIDE;
    out[at + PH_GREEN_DS] = toTenths(plan.phaseGreenS[p]!, `phase ${c.phaseIds[p]} green`);
    out[at + PH_YELLOW_DS] = toTenths(plan.phaseYellowS[p]!, `phase ${c.phaseIds[p]} yellow`);
    out[at + PH_ALL_RED_DS] = toTenths(plan.phaseAllRedS[p]!, `phase ${c.phaseIds[p]} all-red`);
    // Ring sequence: 1 + the number of phases of the same ring that run before it.
    let seq = 1;
    for (let q = p0; q < p1; q++) {
      if (q === p || c.phaseRing[q] !== c.phaseRing[p]) continue;
      if (compareRunOrder(plan.phaseStartS[q]!, phaseDurationS(plan, q), q, plan.phaseStartS[p]!, phaseDurationS(plan, p), p) < 0) seq++;
    }
    out[at + PH_SEQUENCE] = seq;
  }
  out[PB_PLAN_ID_TAIL] = planId;
  return out;
}

export type DecodeResult = { readonly ok: true; readonly planId: number } | { readonly ok: false; readonly message: string };

/**
 * Decodes a plan block (`regs[start …]`) into intersection i of `out`: times, and phase
 * starts rebuilt from each ring's sequence. Checks only the block's shape; safety is
 * the validator's job.
 */
export function decodePlanBlock(c: CompiledNetwork, i: number, regs: ArrayLike<number>, start: number, out: PlanBuffer): DecodeResult {
  const planId = regs[start + PB_PLAN_ID]!;
  const tail = regs[start + PB_PLAN_ID_TAIL]!;
  if (planId === 0) return { ok: false, message: 'plan id 0 is reserved for the local plan' };
  if (planId !== tail) return { ok: false, message: `plan id at head ${planId} differs from the tail ${tail}` };
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  const count = regs[start + PB_PHASE_COUNT]!;
  if (count !== p1 - p0) return { ok: false, message: `phase count ${count}, but intersection ${c.intersectionIds[i]} has ${p1 - p0} phases` };
  for (let k = count; k < MAX_PHASES; k++) {
    for (let f = 0; f < PHASE_STRIDE; f++) if (regs[start + PB_PHASES + k * PHASE_STRIDE + f] !== 0) return { ok: false, message: `unused phase slot ${k} is not zero` };
  }
  out.cycleS[i] = regs[start + PB_CYCLE_DS]! / 10;
  out.offsetS[i] = regs[start + PB_OFFSET_DS]! / 10;
  for (let p = p0; p < p1; p++) {
    const at = start + PB_PHASES + (p - p0) * PHASE_STRIDE;
    out.phaseGreenS[p] = regs[at + PH_GREEN_DS]! / 10;
    out.phaseYellowS[p] = regs[at + PH_YELLOW_DS]! / 10;
    out.phaseAllRedS[p] = regs[at + PH_ALL_RED_DS]! / 10;
  }
  // Each ring: sequences must be exactly 1..n; starts are the running sum in sequence order.
  const rings = c.ringCount[i]!;
  for (let r = 0; r < rings; r++) {
    let n = 0;
    for (let p = p0; p < p1; p++) if (c.phaseRing[p] === r) n++;
    let t = 0;
    for (let s = 1; s <= n; s++) {
      let found = -1;
      for (let p = p0; p < p1; p++) {
        if (c.phaseRing[p] !== r || regs[start + PB_PHASES + (p - p0) * PHASE_STRIDE + PH_SEQUENCE] !== s) continue;
        if (found >= 0) return { ok: false, message: `ring ${r + 1}: two phases have sequence ${s}` };
        found = p;
      }
      if (found < 0) return { ok: false, message: `ring ${r + 1}: no phase has sequence ${s} (sequences must be 1..${n})` };
      out.phaseStartS[found] = t;
      t += out.phaseGreenS[found]! + out.phaseYellowS[found]! + out.phaseAllRedS[found]!;
    }
  }
  // Tenths summed as floats drift (0.1 + 0.2); snap starts back to the 0.1 s grid.
  for (let p = p0; p < p1; p++) out.phaseStartS[p] = Math.round(out.phaseStartS[p]! * 10) / 10;
  return { ok: true, planId };
}

/** The engine's copy of one intersection's plan, re-exported for the adapters. */
export { copyIntersectionPlan } from '../engine/timing/planner.js';
