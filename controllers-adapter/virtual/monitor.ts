/**
 * The virtual controller's conflict monitor (a field controller's MMU): the
 * "program card" derived from the compiled network (which movements may show
 * together, each movement's minimum green, yellow and all-red) and the check
 * of every lamp change against it. VirtualController (./controller.ts) runs
 * every lamp output through `check` and goes to latched flash on a fault; the
 * monitor only reports, so the controller decides what a fault does.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { MOVEMENT_COUNT } from '../../engine/network/geometry.js';
import { round3 } from '../../engine/numeric.js';
import { FaultFlag } from '../registerMap.js';

/** Tolerance on interval lengths, s: the runner's times are sums of tenths in floating point. */
const EPS = 1e-6;
const LAMP_RED = 0;
const LAMP_GREEN = 1;
const LAMP_YELLOW = 2;

export class ConflictMonitor {
  /** Movements the intersection has (bit per movement). */
  readonly present: number;
  /** Why the last failed check failed (the first fault found). */
  message = '';
  private readonly compatible = new Uint16Array(MOVEMENT_COUNT);
  private readonly minGreenS = new Float64Array(MOVEMENT_COUNT).fill(Infinity);
  private readonly minYellowS = new Float64Array(MOVEMENT_COUNT).fill(Infinity);
  private readonly minAllRedS = new Float64Array(MOVEMENT_COUNT).fill(Infinity);
  private readonly lampState = new Uint8Array(MOVEMENT_COUNT);
  private readonly lampSinceS = new Float64Array(MOVEMENT_COUNT);
  private readonly redSinceS = new Float64Array(MOVEMENT_COUNT);

  /** The program card of phases [p0, p1) of `c`. */
  constructor(c: CompiledNetwork, p0: number, p1: number) {
    // Two movements may show together iff some pair of non-conflicting phases
    // (or one phase that does not conflict with itself) serves them.
    let present = 0;
    for (let a = p0; a < p1; a++) {
      const served = c.phaseProtectedMask[a]! | c.phasePermittedMask[a]!;
      present |= served;
      for (let b = p0; b < p1; b++) {
        if ((c.phaseConflictMask[a]! >>> (b - p0)) & 1) continue;
        const other = c.phaseProtectedMask[b]! | c.phasePermittedMask[b]!;
        for (let m = 0; m < MOVEMENT_COUNT; m++) if (served & (1 << m)) this.compatible[m] = this.compatible[m]! | other;
      }
      for (let m = 0; m < MOVEMENT_COUNT; m++) {
        if (!(served & (1 << m))) continue;
        this.minGreenS[m] = Math.min(this.minGreenS[m]!, c.phaseMinGreenS[a]!);
        this.minYellowS[m] = Math.min(this.minYellowS[m]!, c.phaseYellowS[a]!);
        this.minAllRedS[m] = Math.min(this.minAllRedS[m]!, c.phaseAllRedS[a]!);
      }
    }
    this.present = present;
  }

  /** Movements that may never show together with movement m. */
  conflictsOf(m: number): number {
    return this.present & ~this.compatible[m]!;
  }

  /** Power-up at t: every lamp red, and red for ever (no clearance owed to anything). */
  reset(t: number): void {
    this.lampState.fill(LAMP_RED);
    this.lampSinceS.fill(t);
    this.redSinceS.fill(-Infinity);
  }

  /** After a fault at t: every lamp counts as red from t (the flash). */
  trip(t: number): void {
    this.lampState.fill(LAMP_RED);
    this.lampSinceS.fill(t);
    this.redSinceS.fill(t);
  }

  /**
   * The lamps change to `green` / `yellow` (movement masks) at t: returns the fault flags
   * (0 = none; `message` says why otherwise) and records the change.
   */
  check(green: number, yellow: number, t: number): number {
    const lit = green | yellow;
    let fault = 0;
    let message = '';
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      if (!(lit & (1 << m))) continue;
      const bad = lit & this.present & ~this.compatible[m]!;
      if (bad !== 0) {
        fault |= FaultFlag.Conflict;
        message ||= `conflicting indications: movement ${m} with mask 0x${bad.toString(16)}`;
      }
    }
    // Pass 1: movements leaving green or yellow (clearance checks), so pass 2 sees fresh red times.
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      if (!(this.present & (1 << m))) continue;
      const next = green & (1 << m) ? LAMP_GREEN : yellow & (1 << m) ? LAMP_YELLOW : LAMP_RED;
      const prev = this.lampState[m]!;
      if (next === prev || next === LAMP_GREEN) continue;
      const held = t - this.lampSinceS[m]!;
      if (prev === LAMP_GREEN && next === LAMP_RED) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: green to red without yellow`;
      } else if (prev === LAMP_GREEN && held + EPS < this.minGreenS[m]!) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: green ${round3(held)} s is below the minimum ${this.minGreenS[m]} s`;
      } else if (prev === LAMP_YELLOW && next === LAMP_RED && held + EPS < this.minYellowS[m]!) {
        fault |= FaultFlag.Clearance;
        message ||= `movement ${m}: yellow ${round3(held)} s is below ${this.minYellowS[m]} s`;
      }
      this.lampState[m] = next;
      this.lampSinceS[m] = t;
      if (next === LAMP_RED) this.redSinceS[m] = t;
    }
    // Pass 2: movements turning green need every conflicting movement red for its all-red clearance.
    for (let m = 0; m < MOVEMENT_COUNT; m++) {
      if (!(green & (1 << m)) || this.lampState[m] === LAMP_GREEN) continue;
      const conflicting = this.present & ~this.compatible[m]!;
      for (let o = 0; o < MOVEMENT_COUNT; o++) {
        if (!(conflicting & (1 << o)) || this.lampState[o] !== LAMP_RED) continue;
        const red = t - this.redSinceS[o]!;
        if (red + EPS < this.minAllRedS[o]!) {
          fault |= FaultFlag.Clearance;
          message ||= `movement ${m} turned green ${round3(red)} s after conflicting movement ${o} turned red (all-red ${this.minAllRedS[o]} s)`;
        }
      }
      this.lampState[m] = LAMP_GREEN;
      this.lampSinceS[m] = t;
    }
    if (fault !== 0) this.message = message;
    return fault;
  }
}
