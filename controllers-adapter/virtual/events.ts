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
 *    flashing) when a reset ends the flash;
 *  - pedestrian events 21 walk, 22 flashing don't walk, 23 don't walk for every phase with a
 *    crossing, parameter the phase number: walk with the green, the rest timed from it
 *    (engine/events/pedestrian.ts: pedestrian recall, the 23 no later than the 8). Pending
 *    22s and 23s are written in time order with the pending 81s;
 *  - TSP events 112 check-in, 113 early green, 114 extend green, 115 check-out, parameter
 *    the TSP request number. The controller never sees the bus: central's priority link
 *    (../priorityLink.ts) sends a grant as priority overrides, its adjusted cycle and then
 *    the compensation cycles that regain the offset. So a request here is a run of
 *    consecutive override cycles. 112 when the first override of a run is accepted (its
 *    commit, 'now' or 'next'); request numbers count 1..255 per controller and roll over (the
 *    Indiana parameter is one byte). 113 or 114 when the run's first override starts running
 *    (at its commit for 'now', at its cycle zero for 'next'), read off what it changes in the
 *    cycle it displaces (./tspAdjustment.ts); nothing when it changes neither way. The later
 *    overrides of the run are compensation or a withdrawal and log nothing (their shortened
 *    and lengthened greens are not priority). 115 at the first cycle zero that runs no
 *    override (back on the plan and its offset), or when the override is lost: fault flash,
 *    manual control, restart, re-anchoring. So 112 → 115 spans the whole disturbance of
 *    coordination, not the bus's passage, which the controller cannot see. A jump of the
 *    lamps (flash, manual control, restart) forgets the pending 22s and 23s.
 * Timestamps: epochMs + controller clock × 1000 (the clock is seconds since 1970 UTC in the
 * field, so epochMs defaults to 0), rounded to 0.1 s. Owned by ./controller.ts.
 */
import { EventBuffer } from '../../engine/events/buffer.js';
import { EventCode, FlashStatus, splitChangeCode } from '../../engine/events/codes.js';
import { eventNumbering, MAX_PHASE_NUMBER, type EventNumbering } from '../../engine/events/numbering.js';
import { emitPhaseChange } from '../../engine/events/phaseEdges.js';
import { PedestrianHeads } from '../../engine/events/pedestrian.js';
import { KIND_PASS } from '../../engine/runner/actuatedPass.js';
import { BOUNDARY_ONE_CYCLE, type CycleRunner } from '../../engine/runner/cycleRunner.js';
import { PHASE_GREEN } from '../../engine/runner/lamps.js';
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { copyLayout, overrideAdjustment, type LocalLayout } from './tspAdjustment.js';

/** TSP request numbers count 1..MAX_TSP_REQUEST and roll over (a one-byte parameter in Indiana loggers). */
export const MAX_TSP_REQUEST = 255;

export interface ControllerEventLogOptions {
  /** Timestamp of controller clock 0, ms (default 0: the clock is Unix time). */
  readonly epochMs?: number;
  /** Append to this buffer (several controllers can share one); default a new one. */
  readonly events?: EventBuffer;
}

export class ControllerEventLog {
  readonly events: EventBuffer;
  readonly numbering: EventNumbering;
  private readonly c: CompiledNetwork;
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
  private readonly ped: PedestrianHeads;
  /** The TSP request open (1..MAX_TSP_REQUEST; 0: none), the last number given, and whether its first override has been judged (113/114). */
  private tspRequest = 0;
  private lastTspRequest = 0;
  private tspJudged = false;
  /** The cycle a 'now' override displaced (copied before the commit replaces it). */
  private readonly displaced: LocalLayout;

  constructor(c: CompiledNetwork, intersection: number, runner: CycleRunner, planId: number, opts: ControllerEventLogOptions = {}) {
    this.c = c;
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
    this.ped = new PedestrianHeads(c, this.numbering, this.events, this.p0, this.p1, () => this.location);
    this.displaced = { cycleS: 0, startS: new Float64Array(this.p1 - this.p0), greenS: new Float64Array(this.p1 - this.p0) };
    this.resync(runner);
    this.notePlan(runner, planId, Number.NaN);
  }

  private ms(tS: number): number {
    return this.epochMs + tS * 1000;
  }

  /** Writes every 81, 22 and 23 due at or before tMs (in due order), so later events follow them. */
  private flushDue(tMs: number): void {
    for (;;) {
      let first = -1;
      for (let d = 0; d < this.offDueMs.length; d++) {
        const due = this.offDueMs[d]!;
        if (due <= tMs && (first < 0 || due < this.offDueMs[first]!)) first = d;
      }
      const pedMs = this.ped.nextDueMs;
      if (pedMs <= tMs && (first < 0 || pedMs < this.offDueMs[first]!)) {
        this.ped.writeNext();
        continue;
      }
      if (first < 0) return;
      this.events.push(this.location, this.offDueMs[first]!, EventCode.DetectorOff, this.numbering.detectorChannel[this.detectorStart + first]!);
      this.offDueMs[first] = Number.NaN;
    }
  }

  /**
   * Re-reads the phases' intervals without logging (the lamps jumped: no transition ran).
   * With a clock time tS (a restart, re-anchoring, the end of flash or manual control), the
   * jump also ends what was running: see `interrupt`.
   */
  resync(runner: CycleRunner, tS = Number.NaN): void {
    if (!Number.isNaN(tS)) this.interrupt(tS);
    const iv = runner.intervals(this.i);
    for (let p = this.p0; p < this.p1; p++) this.interval[p - this.p0] = iv[p]!;
  }

  /**
   * The running cycle stopped at clock tS (fault flash, manual control, restart): an open TSP
   * request checks out (115), and the pedestrian heads' pending 22s and 23s are forgotten
   * (the heads go dark or are forced; Indiana has no event for that).
   */
  interrupt(tS: number): void {
    const ms = this.ms(tS);
    this.flushDue(ms);
    this.ped.drop();
    this.checkOut(ms);
  }

  /** After the runner stepped to an edge (or to the target time) at clock tS: logs the phases that changed. */
  phaseStep(runner: CycleRunner, tS: number): void {
    const ms = this.ms(tS);
    this.flushDue(ms);
    const iv = runner.intervals(this.i);
    const pass = runner.act.kind[this.i] === KIND_PASS;
    for (let p = this.p0; p < this.p1; p++) {
      const now = iv[p]!;
      const was = this.interval[p - this.p0]!;
      if (now === was) continue;
      // The controller steps to every edge, so a green is never skipped between two steps.
      if (was === PHASE_GREEN) this.ped.endGreen(p, ms);
      emitPhaseChange(this.events, this.location, ms, this.numbering.phaseNumber[p]!, was, now, pass ? runner.act.termination[p]! : 0);
      if (now === PHASE_GREEN) this.ped.beginGreen(p, ms);
      this.interval[p - this.p0] = now;
    }
  }

  /** `vehicles` vehicles on local detector d at clock tS, each occupying it occupiedSPerVehicle. */
  detection(d: number, tS: number, vehicles: number, occupiedSPerVehicle: number): void {
    const ms = this.ms(tS);
    const ch = this.numbering.detectorChannel[this.detectorStart + d]!;
    for (let k = 0; k < vehicles; k++) {
      this.flushDue(ms);
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
    if (log) this.flushDue(ms);
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
    if (on) this.interrupt(tS);
    else this.flushDue(ms);
    this.events.push(this.location, ms, EventCode.UnitFlashStatus, on ? FlashStatus.FaultMonitor : FlashStatus.NotFlash);
  }

  /** Writes the 81s, 22s and 23s still pending up to clock tS (call before reading the log). */
  flush(tS: number): void {
    this.flushDue(this.ms(tS));
  }

  // ------------------------------------------------------------------ TSP

  /** Before a priority override is committed: remembers the running cycle it may displace. */
  beforeOverride(runner: CycleRunner): void {
    copyLayout(this.c, this.i, runner.running, this.displaced);
  }

  /**
   * A priority override was accepted at clock tS; `now`: it replaced the running cycle (the
   * one `beforeOverride` saw), else it waits for the next cycle zero.
   */
  overrideAccepted(runner: CycleRunner, now: boolean, tS: number): void {
    const ms = this.ms(tS);
    this.flushDue(ms);
    this.checkIn(ms);
    if (now) this.judge(runner, ms);
  }

  /** At a cycle zero (clock tS, the runner's boundary flags set): a one-cycle override runs on or starts, or the request checks out. */
  cycleZero(runner: CycleRunner, tS: number): void {
    const ms = this.ms(tS);
    const override = (runner.boundaryFlags[this.i]! & BOUNDARY_ONE_CYCLE) !== 0;
    if (!override && this.tspRequest === 0) return;
    this.flushDue(ms);
    if (!override) {
      this.checkOut(ms);
      return;
    }
    // An override still queued across a restart runs without a check-in of its own: it checks in now.
    this.checkIn(ms);
    if (!this.tspJudged) {
      copyLayout(this.c, this.i, runner.plan, this.displaced);
      this.judge(runner, ms);
    }
  }

  private checkIn(ms: number): void {
    if (this.tspRequest !== 0) return;
    this.lastTspRequest = (this.lastTspRequest % MAX_TSP_REQUEST) + 1;
    this.tspRequest = this.lastTspRequest;
    this.tspJudged = false;
    this.events.push(this.location, ms, EventCode.TspCheckIn, this.tspRequest);
  }

  /** The request's first override runs from ms: 113 or 114 for what it changed against `displaced`. */
  private judge(runner: CycleRunner, ms: number): void {
    if (this.tspJudged) return;
    this.tspJudged = true;
    const code = overrideAdjustment(this.c, this.i, this.displaced, runner.running);
    if (code !== 0) this.events.push(this.location, ms, code, this.tspRequest);
  }

  private checkOut(ms: number): void {
    if (this.tspRequest === 0) return;
    this.events.push(this.location, ms, EventCode.TspCheckOut, this.tspRequest);
    this.tspRequest = 0;
  }
}
