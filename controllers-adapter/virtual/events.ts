/**
 * The virtual controller's high-resolution event log (Indiana codes, engine/events/), kept
 * only when asked for (VirtualController.recordEvents): no log, no cost. It appends
 *  - phase events from the lamps the controller drives, at every interval edge the runner
 *    steps through (exact times, not samples): 1, 8, 9 + 10, 11, and before the 8 the
 *    green's termination 4/5/6 while the controller runs an actuated pass (fixed time logs
 *    none). A jump of the lamps that is not a transition (power-up, restart, re-anchor, the
 *    end of fault flash or manual control) re-reads the phases without logging edges;
 *  - detector events from the detector inputs that carry vehicles one by one: `actuate`,
 *    `addDetectorCounts` (each vehicle an 82, its share of the occupancy time later the 81)
 *    and the deterministic rate when it feeds actuated control; the parameter is the channel
 *    (local detector index + 1: engine/events/numbering.ts). A 81 due before a later event is
 *    written first, so the log stays in time order;
 *  - coordination events when a committed plan takes over at cycle zero: 131 pattern (the
 *    plan id), 132 cycle length, 133 offset, 134–149 split of phase 1–16 (green + yellow +
 *    red clearance), each only when it changed, in whole seconds;
 *  - 173 unit flash status: 5 (fault monitor) when the conflict monitor trips, 2 (not
 *    flashing) when a reset ends the flash.
 * Timestamps: epochMs + controller clock × 1000 (the clock is seconds since 1970 UTC in the
 * field, so epochMs defaults to 0), rounded to 0.1 s. Owned by ./controller.ts.
 */
import { EventBuffer } from '../../engine/events/buffer.js';
import { EventCode, FlashStatus, splitChangeCode } from '../../engine/events/codes.js';
import { eventNumbering, MAX_PHASE_NUMBER, type EventNumbering } from '../../engine/events/numbering.js';
import { emitPhaseChange } from '../../engine/events/phaseEdges.js';
import { KIND_PASS } from '../../engine/runner/actuatedPass.js';
import type { CycleRunner } from '../../engine/runner/cycleRunner.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';

export interface ControllerEventLogOptions {
  /** Timestamp of controller clock 0, ms (default 0: the clock is Unix time). */
  readonly epochMs?: number;
  /** Append to this buffer (several controllers can share one); default a new one. */
  readonly events?: EventBuffer;
}

export class ControllerEventLog {
  readonly events: EventBuffer;
  readonly numbering: EventNumbering;
  private readonly i: number;
  private readonly p0: number;
  private readonly p1: number;
  private readonly location: number;
  private readonly epochMs: number;
  private readonly interval: Uint8Array;
  /** Per local detector: when its pending 81 is due, ms (NaN: none pending). */
  private readonly offDueMs: Float64Array;
  private readonly detectorStart: number;
  /** The plan last logged: id, cycle, offset, split per local phase (whole s). */
  private planId = -1;
  private cycleS = -1;
  private offsetS = -1;
  private readonly splitS: Int32Array;

  constructor(c: CompiledNetwork, intersection: number, runner: CycleRunner, planId: number, opts: ControllerEventLogOptions = {}) {
    this.i = intersection;
    this.p0 = c.phaseStart[intersection]!;
    this.p1 = c.phaseStart[intersection + 1]!;
    this.events = opts.events ?? new EventBuffer(1024);
    this.numbering = eventNumbering(c);
    this.location = this.events.locationIndex(c.intersectionIds[intersection]!);
    this.epochMs = opts.epochMs ?? 0;
    this.interval = new Uint8Array(this.p1 - this.p0);
    this.detectorStart = this.numbering.detectorStart[intersection]!;
    this.offDueMs = new Float64Array(this.numbering.detectorStart[intersection + 1]! - this.detectorStart).fill(Number.NaN);
    this.splitS = new Int32Array(this.p1 - this.p0).fill(-1);
    this.resync(runner);
    this.notePlan(runner, planId, Number.NaN);
  }

  private ms(tS: number): number {
    return this.epochMs + tS * 1000;
  }

  /** Writes every 81 due at or before tMs (in due order), so later events follow them. */
  private flushOffs(tMs: number): void {
    for (;;) {
      let first = -1;
      for (let d = 0; d < this.offDueMs.length; d++) {
        const due = this.offDueMs[d]!;
        if (due <= tMs && (first < 0 || due < this.offDueMs[first]!)) first = d;
      }
      if (first < 0) return;
      this.events.push(this.location, this.offDueMs[first]!, EventCode.DetectorOff, this.numbering.detectorChannel[this.detectorStart + first]!);
      this.offDueMs[first] = Number.NaN;
    }
  }

  /** Re-reads the phases' intervals without logging (the lamps jumped: no transition ran). */
  resync(runner: CycleRunner): void {
    const iv = runner.intervals(this.i);
    for (let p = this.p0; p < this.p1; p++) this.interval[p - this.p0] = iv[p]!;
  }

  /** After the runner stepped to an edge (or to the target time) at clock tS: logs the phases that changed. */
  phaseStep(runner: CycleRunner, tS: number): void {
    const ms = this.ms(tS);
    this.flushOffs(ms);
    const iv = runner.intervals(this.i);
    const pass = runner.act.kind[this.i] === KIND_PASS;
    for (let p = this.p0; p < this.p1; p++) {
      const now = iv[p]!;
      const was = this.interval[p - this.p0]!;
      if (now === was) continue;
      emitPhaseChange(this.events, this.location, ms, this.numbering.phaseNumber[p]!, was, now, pass ? runner.act.termination[p]! : 0);
      this.interval[p - this.p0] = now;
    }
  }

  /** `vehicles` vehicles on local detector d at clock tS, each occupying it occupiedSPerVehicle. */
  detection(d: number, tS: number, vehicles: number, occupiedSPerVehicle: number): void {
    const ms = this.ms(tS);
    const ch = this.numbering.detectorChannel[this.detectorStart + d]!;
    for (let k = 0; k < vehicles; k++) {
      this.flushOffs(ms);
      // A vehicle arriving while the loop is still covered: the last one's 81 comes now.
      if (!Number.isNaN(this.offDueMs[d]!)) {
        this.events.push(this.location, ms, EventCode.DetectorOff, ch);
        this.offDueMs[d] = Number.NaN;
      }
      this.events.push(this.location, ms, EventCode.DetectorOn, ch);
      this.offDueMs[d] = ms + Math.max(occupiedSPerVehicle, 0) * 1000;
    }
  }

  /**
   * A plan (id `planId`) is running from cycle zero at clock tS: logs 131/132/133/134+ for
   * what changed since the last plan logged (NaN tS: only remember it).
   */
  notePlan(runner: CycleRunner, planId: number, tS: number): void {
    const plan = runner.plan;
    const i = this.i;
    const log = !Number.isNaN(tS);
    const ms = log ? this.ms(tS) : 0;
    if (log) this.flushOffs(ms);
    const cycleS = Math.round(plan.cycleS[i]!);
    const offsetS = Math.round(plan.offsetS[i]!);
    if (log && planId !== this.planId) this.events.push(this.location, ms, EventCode.CoordPatternChange, planId);
    if (log && cycleS !== this.cycleS) this.events.push(this.location, ms, EventCode.CoordCycleLengthChange, cycleS);
    if (log && offsetS !== this.offsetS) this.events.push(this.location, ms, EventCode.CoordOffsetChange, offsetS);
    this.planId = planId;
    this.cycleS = cycleS;
    this.offsetS = offsetS;
    for (let p = this.p0; p < this.p1; p++) {
      const split = Math.round(plan.phaseGreenS[p]! + plan.phaseYellowS[p]! + plan.phaseAllRedS[p]!);
      const n = this.numbering.phaseNumber[p]!;
      if (log && split !== this.splitS[p - this.p0] && n <= MAX_PHASE_NUMBER) this.events.push(this.location, ms, splitChangeCode(n), split);
      this.splitS[p - this.p0] = split;
    }
  }

  /** The unit went into fault flash (true) or left it (false) at clock tS. */
  flash(on: boolean, tS: number): void {
    const ms = this.ms(tS);
    this.flushOffs(ms);
    this.events.push(this.location, ms, EventCode.UnitFlashStatus, on ? FlashStatus.FaultMonitor : FlashStatus.NotFlash);
  }

  /** Writes the 81s still pending up to clock tS (call before reading the log). */
  flush(tS: number): void {
    this.flushOffs(this.ms(tS));
  }
}
