/**
 * The pedestrian heads of the phases that serve a crosswalk, as the event log records them:
 * 21 begin walk, 22 begin pedestrian clearance (flashing don't walk), 23 begin solid don't
 * walk, the parameter the phase number (./numbering.ts). Shared by the emitters
 * (controllers-adapter/virtual/events.ts, simulator/events.ts), which report each phase's
 * green start and end; this module times the rest.
 *
 * greenwave has no pedestrian push buttons: a phase with a crossing serves its walk every
 * time it turns green (pedestrian recall), as the planner and the validator assume when they
 * keep its green at least walk + clearance. So:
 *  - 21 with the 1 (begin green), after it at the same instant;
 *  - 22 the phase's walk time later (the network's walkS, at least the 4 s floor);
 *  - 23 at walk + pedestrian clearance rounded up to the timing step (pedestrianTimeS of
 *    engine/network/phaseTiming.ts), which is the pedestrian time the safety validator keeps
 *    within the green (rule PED_CLEARANCE, and the minimum green counts it). So the 23 comes
 *    no later than the phase's 8. A green ended sooner all the same (a validated plan never
 *    does) writes what is still due at its end of green, before the 8.
 * Pending 22s and 23s are kept per phase in typed arrays and written in time order once the
 * emitter's clock passes them (`writeDue` / `writeNext`), so the log stays in time order;
 * nothing allocates after construction.
 */
import { pedestrianIntervalsS, pedestrianTimeS, allPhases } from '../network/phaseTiming.js';
import type { CompiledNetwork } from '../network/compile.js';
import { EventCode } from './codes.js';
import type { EventBuffer } from './buffer.js';
import type { EventNumbering } from './numbering.js';

/** Per global phase: walk and walk + clearance, s (both 0 for a phase without a crossing). */
export interface PedestrianTiming {
  readonly walkS: Float64Array;
  readonly walkAndClearanceS: Float64Array;
}

export function pedestrianTiming(c: CompiledNetwork): PedestrianTiming {
  const n = c.phaseIds.length;
  const walkS = new Float64Array(n);
  const walkAndClearanceS = new Float64Array(n);
  const d = c.network.defaults;
  for (let i = 0; i < c.intersectionCount; i++) {
    const ix = c.network.intersections[i]!;
    const defs = allPhases(ix);
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      const def = defs[c.phaseFileIndex[p]!]!;
      const total = pedestrianTimeS(def, ix, d);
      if (total <= 0) continue;
      walkS[p] = pedestrianIntervalsS(def, ix, d).walkS;
      walkAndClearanceS[p] = total;
    }
  }
  return { walkS, walkAndClearanceS };
}

export class PedestrianHeads {
  private readonly p0: number;
  private readonly events: EventBuffer;
  /** Per phase of [p0, p1), by p − p0. */
  private readonly walkMs: Float64Array;
  private readonly dontWalkMs: Float64Array;
  private readonly phaseNumber: Uint8Array;
  private readonly location: Uint16Array;
  /** When the pending 22 / 23 is due, ms (NaN: none pending). */
  private readonly clearanceDueMs: Float64Array;
  private readonly dontWalkDueMs: Float64Array;
  /** The earliest pending 22 or 23, ms (Infinity: none). */
  nextDueMs = Number.POSITIVE_INFINITY;
  /** Phases of [p0, p1) with a crossing (0: the emitter may skip this module). */
  readonly crossings: number;

  /** The phases [p0, p1) of `c`; `locationOf(p)` is the buffer location of global phase p. */
  constructor(c: CompiledNetwork, numbering: EventNumbering, events: EventBuffer, p0: number, p1: number, locationOf: (p: number) => number) {
    this.p0 = p0;
    this.events = events;
    const n = p1 - p0;
    const timing = pedestrianTiming(c);
    this.walkMs = new Float64Array(n);
    this.dontWalkMs = new Float64Array(n);
    this.phaseNumber = new Uint8Array(n);
    this.location = new Uint16Array(n);
    let crossings = 0;
    for (let p = p0; p < p1; p++) {
      const k = p - p0;
      this.walkMs[k] = timing.walkS[p]! * 1000;
      this.dontWalkMs[k] = timing.walkAndClearanceS[p]! * 1000;
      this.phaseNumber[k] = numbering.phaseNumber[p]!;
      this.location[k] = locationOf(p);
      if (timing.walkAndClearanceS[p]! > 0) crossings++;
    }
    this.crossings = crossings;
    this.clearanceDueMs = new Float64Array(n).fill(Number.NaN);
    this.dontWalkDueMs = new Float64Array(n).fill(Number.NaN);
  }

  /** Global phase p turned green at tMs (its 1 is written): begin walk, and time the rest. */
  beginGreen(p: number, tMs: number): void {
    const k = p - this.p0;
    if (this.dontWalkMs[k] === 0) return;
    this.endGreen(p, tMs);
    this.events.push(this.location[k]!, tMs, EventCode.PedBeginWalk, this.phaseNumber[k]!);
    this.clearanceDueMs[k] = tMs + this.walkMs[k]!;
    this.dontWalkDueMs[k] = tMs + this.dontWalkMs[k]!;
    if (this.clearanceDueMs[k]! < this.nextDueMs) this.nextDueMs = this.clearanceDueMs[k]!;
  }

  /**
   * Global phase p's green ended at tMs (call before writing its 8): what is due up to then
   * is written at its time, what is still pending for p at tMs.
   */
  endGreen(p: number, tMs: number): void {
    this.writeDue(tMs);
    const k = p - this.p0;
    if (this.dontWalkMs[k] === 0) return;
    let cut = false;
    if (!Number.isNaN(this.clearanceDueMs[k]!)) {
      this.events.push(this.location[k]!, tMs, EventCode.PedBeginClearance, this.phaseNumber[k]!);
      this.clearanceDueMs[k] = Number.NaN;
      cut = true;
    }
    if (!Number.isNaN(this.dontWalkDueMs[k]!)) {
      this.events.push(this.location[k]!, tMs, EventCode.PedBeginDontWalk, this.phaseNumber[k]!);
      this.dontWalkDueMs[k] = Number.NaN;
      cut = true;
    }
    if (cut) this.findNext();
  }

  /** Writes every pending 22 and 23 due at or before tMs, in time order. */
  writeDue(tMs: number): void {
    while (this.nextDueMs <= tMs) this.writeNext();
  }

  /** Writes the earliest pending 22 or 23 (at nextDueMs); nothing when none is pending. */
  writeNext(): void {
    const due = this.nextDueMs;
    if (due === Number.POSITIVE_INFINITY) return;
    // A phase's 22 comes before its 23; between phases, the lower index first on a tie.
    for (let k = 0; k < this.clearanceDueMs.length; k++) {
      if (this.clearanceDueMs[k] === due) {
        this.events.push(this.location[k]!, due, EventCode.PedBeginClearance, this.phaseNumber[k]!);
        this.clearanceDueMs[k] = Number.NaN;
        break;
      }
      if (this.dontWalkDueMs[k] === due && Number.isNaN(this.clearanceDueMs[k]!)) {
        this.events.push(this.location[k]!, due, EventCode.PedBeginDontWalk, this.phaseNumber[k]!);
        this.dontWalkDueMs[k] = Number.NaN;
        break;
      }
    }
    this.findNext();
  }

  /** Forgets every pending 22 and 23 (the heads went dark or jumped: flash, manual control, restart). */
  drop(): void {
    this.clearanceDueMs.fill(Number.NaN);
    this.dontWalkDueMs.fill(Number.NaN);
    this.nextDueMs = Number.POSITIVE_INFINITY;
  }

  private findNext(): void {
    let next = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.clearanceDueMs.length; k++) {
      // NaN compares false: phases with nothing pending never win.
      const c = this.clearanceDueMs[k]!;
      const d = this.dontWalkDueMs[k]!;
      if (c < next) next = c;
      else if (Number.isNaN(c) && d < next) next = d;
    }
    this.nextDueMs = next;
  }
}
