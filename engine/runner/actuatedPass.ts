/**
 * Actuated control inside the one cycle runner (./cycleRunner.ts and its ./actuatedEntry.ts
 * call it; nothing else does): the state a NEMA / NTCIP 1202 controller keeps to run a plan
 * actuated, and the decisions it takes. The runner owns the clock and the lamps; this module writes, as
 * decisions are taken, the layout of the cycle being run (`running` of the runner: phase
 * starts, greens, clearances), so the lamps come from lamps.ts exactly as for fixed time.
 *
 * One actuated cycle is a "pass" over the barriers. In each barrier every ring serves its
 * phases in the plan's run order:
 *  - a phase with no call when its turn comes is skipped (takes no time); coordinated
 *    phases (coordinated mode) are never skipped;
 *  - a served phase is green at least its minimum green; after that it gaps out when no
 *    actuation came within the passage time, and maxes out at its maximum green, timed
 *    from the start of its green (not from a conflicting call: simpler to verify, and the
 *    plan's max greens are set for it); in coordinated mode it is also forced off at its
 *    force-off, and a coordinated phase neither gaps out nor maxes out: it ends at its
 *    force-off (the yield point). The minimum green always wins;
 *  - free mode: a phase that could end but has no other call to go to rests in green (a
 *    controller does not cycle an empty intersection); so a green is longer than its maximum
 *    only while no other phase calls. Coordinated mode: the coordinated phases of the last
 *    barrier of the pass rest in green past their yield point while no side phase calls
 *    (into the next pass if need be: "carried"); called later, they end so that their
 *    clearance ends at the pass end, or at once when carried. A side phase is served only
 *    if its minimum green fits before its force-off (its permissive period); otherwise its
 *    call waits for the next pass. So the yield points and the cycle never move;
 *  - a plan switch, one-cycle override or new settings waiting (`leavePending`) end every
 *    rest, so the pass ends and the runner can leave;
 *  - yellow and all-red always run their planned lengths;
 *  - a ring that is through its phases of a barrier rests in red until every ring is: the
 *    rings cross each barrier together, so only phases of one barrier, in different rings,
 *    ever overlap (validateActuatedPlan refuses such phases that conflict).
 * Free mode: a pass ends when the last barrier is crossed; the cycle floats. Coordinated
 * mode: every pass lasts the plan's cycle and starts at the end of the last barrier that
 * holds a coordinated phase (the "rotation"), so the coordinated phases end each pass at
 * their yield points, and the slack of side phases that gap out or are skipped moves the
 * later phases earlier: early return to the coordinated phases. The fixed-time plan runs the
 * barriers up to the rotation ("lead-in", from a plan cycle zero) before the first pass and
 * those after it ("lead-out", back to a plan cycle zero) after the last one, so entering and
 * leaving actuated control shows exactly the lamps of the plan.
 *
 * Detector input (per global phase): `call` (1 = a vehicle waits; locking memory, cleared
 * when the phase turns green) and `lastActuationS` (clock time of the last detection, for
 * the passage timer). Decisions use them as they stand when the runner steps past the
 * decision's time: callers feed detections before stepping to a later time.
 *
 * Hot-loop shape: typed arrays by intersection, ring slot or global phase; nothing allocated
 * per step. Times in the layout are local (from the pass start); undecided values are
 * +Infinity (a green not yet ended, a phase not yet started, a free pass not yet ended).
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { CONTROL_COORDINATED } from '../timing/actuated.js';
import { mod } from '../numeric.js';
import { barrierEndS, sortRunOrder, writePlanPart } from './passGeometry.js';
import { ActuatedSettings } from './actuatedSettings.js';

export { isActuatedMode } from './passGeometry.js';

/** What an intersection is running (kind). */
export const KIND_FIXED = 0;
export const KIND_LEAD_IN = 1;
export const KIND_PASS = 2;
export const KIND_LEAD_OUT = 3;

const RING_READY = 0;
const RING_GREEN = 1;
const RING_DONE = 2;

/** A free pass in which no phase could be served rests 1 s in red before the next (only if no call at all exists: not in normal running). */
export const EMPTY_PASS_REST_S = 1;

const EPS = 1e-9;
/** termination values: the Indiana event codes of a green's end (engine/events/codes.ts). */
export const TERMINATION_GAP_OUT = 4;
export const TERMINATION_MAX_OUT = 5;
export const TERMINATION_FORCE_OFF = 6;

export class ActuatedPass {
  readonly c: CompiledNetwork;
  readonly maxRings: number;
  /** Settings in force and queued for the next plan cycle zero (./actuatedSettings.ts). */
  readonly settings: ActuatedSettings;
  /**
   * The settings in force (CONTROL_* per intersection, then per global phase) and the queued
   * flags: the settings' own arrays, also held here because the decisions read them per step.
   */
  readonly mode: Uint8Array;
  readonly minGreenS: Float64Array;
  readonly passageS: Float64Array;
  readonly maxGreenS: Float64Array;
  readonly coordinated: Uint8Array;
  readonly forceOffS: Float64Array;
  readonly hasQueued: Uint8Array;
  /** Detector state per global phase (see the header). */
  readonly call: Uint8Array;
  readonly lastActuationS: Float64Array;
  /** 1 while the phase is green in a pass (detections then extend, they do not call). */
  readonly greenNow: Uint8Array;
  /** KIND_* per intersection. */
  readonly kind: Uint8Array;
  /** Coordinated mode: where the pass starts in plan cycle time; its first barrier. */
  readonly rotationS: Float64Array;
  readonly firstBarrier: Uint8Array;
  /** Barriers crossed in this pass. */
  readonly passBarrier: Uint8Array;
  /** Coordinated mode: the pass length (the plan's cycle). */
  readonly passCycleS: Float64Array;
  /** 1 once a phase was served this pass. */
  readonly served: Uint8Array;
  /** Per global phase, for this pass: force-off in pass time; 1 if the plan gives it green. */
  readonly forceOffPassS: Float64Array;
  readonly servable: Uint8Array;
  /** Run order: the intersection's global phases sorted by (barrier, ring, plan start). */
  readonly seq: Int32Array;
  /** Per ring slot (i * maxRings + r): index into seq of the ring's next phase; group end; phase; state; ready time. */
  readonly ringPos: Int32Array;
  readonly ringEnd: Int32Array;
  readonly ringPhase: Int32Array;
  readonly ringState: Uint8Array;
  readonly ringReadyS: Float64Array;
  /** 1: a plan switch, override or new settings wait for the pass to end (the runner sets it): no phase rests. */
  readonly leavePending: Uint8Array;
  /** Per global phase: a coordinated phase resting past its yield point in this pass. */
  readonly resting: Uint8Array;
  /** 1: this pass starts with phases carried over from the last one (green or clearance), before its first barrier. */
  readonly carry: Uint8Array;
  /** 1: the pass just ended carries phases into the next. */
  readonly pendingCarry: Uint8Array;
  /** Per ring slot: the phase carried (−1 none), its start and green in the next pass's time, and when its clearance ends. */
  /** Results of the last scanRings (see there). */
  private scanEarliestS = 0;
  private scanCrossingS = 0;
  private readonly carryPhase: Int32Array;
  private readonly carryStartS: Float64Array;
  private readonly carryGreenS: Float64Array;
  private readonly carryReadyS: Float64Array;
  /** Passes run, and phases skipped, gapped out, maxed out, forced off (all intersections). */
  passes = 0;
  skips = 0;
  gapOuts = 0;
  maxOuts = 0;
  forceOffs = 0;
  /**
   * Per global phase: how its last green in a pass ended, as the Indiana event code (4 gap-out,
   * 5 max-out, 6 force-off), 0 while it is green or was never ended by a decision. The event
   * recorders (simulator/events.ts) log it; nothing here reads it.
   */
  readonly termination: Uint8Array;

  constructor(c: CompiledNetwork) {
    this.c = c;
    const n = c.intersectionCount;
    const nP = c.phaseIds.length;
    let maxRings = 1;
    for (let i = 0; i < n; i++) maxRings = Math.max(maxRings, c.ringCount[i]!);
    this.maxRings = maxRings;
    const settings = new ActuatedSettings(c);
    this.settings = settings;
    this.mode = settings.mode;
    this.minGreenS = settings.minGreenS;
    this.passageS = settings.passageS;
    this.maxGreenS = settings.maxGreenS;
    this.coordinated = settings.coordinated;
    this.forceOffS = settings.forceOffS;
    this.hasQueued = settings.hasQueued;
    this.call = new Uint8Array(nP);
    this.lastActuationS = new Float64Array(nP).fill(Number.NEGATIVE_INFINITY);
    this.greenNow = new Uint8Array(nP);
    this.kind = new Uint8Array(n);
    this.rotationS = new Float64Array(n);
    this.firstBarrier = new Uint8Array(n);
    this.passBarrier = new Uint8Array(n);
    this.served = new Uint8Array(n);
    this.passCycleS = new Float64Array(n);
    this.forceOffPassS = new Float64Array(nP);
    this.servable = new Uint8Array(nP);
    this.seq = new Int32Array(nP);
    this.ringPos = new Int32Array(n * maxRings);
    this.ringEnd = new Int32Array(n * maxRings);
    this.ringPhase = new Int32Array(n * maxRings).fill(-1);
    this.ringState = new Uint8Array(n * maxRings);
    this.ringReadyS = new Float64Array(n * maxRings);
    this.leavePending = new Uint8Array(n);
    this.resting = new Uint8Array(nP);
    this.carry = new Uint8Array(n);
    this.termination = new Uint8Array(nP);
    this.pendingCarry = new Uint8Array(n);
    this.carryPhase = new Int32Array(n * maxRings).fill(-1);
    this.carryStartS = new Float64Array(n * maxRings);
    this.carryGreenS = new Float64Array(n * maxRings);
    this.carryReadyS = new Float64Array(n * maxRings);
  }

  // ------------------------------------------------------------ detectors

  /** A detection on phase p at clock time t: extends a green, calls a phase that is not green. */
  actuate(p: number, tS: number): void {
    if (tS > this.lastActuationS[p]!) this.lastActuationS[p] = tS;
    if (this.greenNow[p] === 0) this.call[p] = 1;
  }

  /** Places a call on every phase of i (start-up, as controllers do: every movement is served once). */
  callAll(i: number): void {
    this.call.fill(1, this.c.phaseStart[i]!, this.c.phaseStart[i + 1]!);
  }

  // ------------------------------------------------------------ geometry

  /**
   * Coordinated mode: the pass starts at the end of the last barrier holding a coordinated
   * phase (plan cycle time, 0 if that barrier ends the cycle). Free mode: 0.
   */
  computeRotation(i: number, plan: PlanBuffer): void {
    const c = this.c;
    const nb = c.barrierCount[i]!;
    let last = -1;
    if (this.mode[i] === CONTROL_COORDINATED) {
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (this.coordinated[p] === 1 && plan.phaseGreenS[p]! > 0 && c.phaseBarrier[p]! > last) last = c.phaseBarrier[p]!;
    }
    if (last < 0 || last === nb - 1) {
      this.rotationS[i] = 0;
      this.firstBarrier[i] = 0;
      return;
    }
    this.rotationS[i] = barrierEndS(c, i, plan, last);
    this.firstBarrier[i] = last + 1;
  }

  /**
   * Writes into `run` the plan's barriers before the rotation (lead-in: from a plan cycle
   * zero up to the rotation) or from it on (lead-out: from the rotation to the plan's cycle
   * end, times shifted to start at 0). Phases not in that part never show.
   */
  writePart(i: number, plan: PlanBuffer, run: PlanBuffer, leadIn: boolean): void {
    writePlanPart(this.c, i, plan, run, this.rotationS[i]!, this.firstBarrier[i]!, leadIn);
  }

  // ------------------------------------------------------------ pass

  /** Starts a pass of intersection i on `plan` at local time 0: nothing decided yet. */
  startPass(i: number, plan: PlanBuffer, run: PlanBuffer): void {
    const c = this.c;
    const p0 = c.phaseStart[i]!;
    const p1 = c.phaseStart[i + 1]!;
    const coordinatedMode = this.mode[i] === CONTROL_COORDINATED;
    const cyc = plan.cycleS[i]!;
    const rot = this.rotationS[i]!;
    for (let p = p0; p < p1; p++) {
      run.phaseStartS[p] = Number.POSITIVE_INFINITY;
      run.phaseGreenS[p] = 0;
      run.phaseYellowS[p] = plan.phaseYellowS[p]!;
      run.phaseAllRedS[p] = plan.phaseAllRedS[p]!;
      this.servable[p] = plan.phaseGreenS[p]! > 0 ? 1 : 0;
      this.forceOffPassS[p] = coordinatedMode && this.servable[p] === 1 ? mod(this.forceOffS[p]! - rot, cyc) : Number.POSITIVE_INFINITY;
      this.greenNow[p] = 0;
      this.resting[p] = 0;
    }
    run.cycleS[i] = coordinatedMode ? cyc : Number.POSITIVE_INFINITY;
    this.passCycleS[i] = cyc;
    run.offsetS[i] = coordinatedMode ? mod(plan.offsetS[i]! + rot, cyc) : 0;
    sortRunOrder(c, i, plan, this.seq);
    this.passBarrier[i] = 0;
    this.served[i] = 0;
    this.enterBarrier(i, this.firstBarrier[i]!, 0);
    this.carry[i] = this.pendingCarry[i]!;
    this.pendingCarry[i] = 0;
    if (this.carry[i] === 1) {
      // Phases carried over hold their rings until they clear; then the first barrier starts.
      const nr = c.ringCount[i]!;
      for (let r = 0; r < nr; r++) {
        const slot = i * this.maxRings + r;
        const p = this.carryPhase[slot]!;
        this.ringPos[slot] = this.ringEnd[slot]!;
        this.ringPhase[slot] = p;
        if (p < 0) {
          this.ringState[slot] = RING_DONE;
          this.ringReadyS[slot] = 0;
          continue;
        }
        run.phaseStartS[p] = this.carryStartS[slot]!;
        run.phaseGreenS[p] = this.carryGreenS[slot]!;
        if (this.carryGreenS[slot] === Number.POSITIVE_INFINITY) {
          this.ringState[slot] = RING_GREEN;
          this.greenNow[p] = 1;
          this.resting[p] = 1;
        } else {
          this.ringState[slot] = RING_READY;
          this.ringReadyS[slot] = this.carryReadyS[slot]!;
        }
      }
    }
    this.passes++;
  }

  private enterBarrier(i: number, b: number, tS: number): void {
    const c = this.c;
    const p0 = c.phaseStart[i]!;
    const p1 = c.phaseStart[i + 1]!;
    const nr = c.ringCount[i]!;
    for (let r = 0; r < nr; r++) {
      const slot = i * this.maxRings + r;
      let pos = p0;
      while (pos < p1 && !(c.phaseBarrier[this.seq[pos]!] === b && c.phaseRing[this.seq[pos]!] === r)) pos++;
      let end = pos;
      while (end < p1 && c.phaseBarrier[this.seq[end]!] === b && c.phaseRing[this.seq[end]!] === r) end++;
      this.ringPos[slot] = pos;
      this.ringEnd[slot] = end;
      this.ringPhase[slot] = -1;
      this.ringState[slot] = RING_READY;
      this.ringReadyS[slot] = tS;
    }
  }

  /** True while the pass is in its last barrier (not in a carried start). */
  private inLastBarrier(i: number): boolean {
    return this.carry[i] === 0 && this.passBarrier[i]! + 1 >= this.c.barrierCount[i]!;
  }

  /** True once every barrier of the pass is crossed (the runner's cycle is then decided). */
  passComplete(i: number): boolean {
    return this.passBarrier[i]! >= this.c.barrierCount[i]!;
  }

  /**
   * When green phase p (started at s) ends or, for a coordinated phase, reaches its yield
   * point, given the detector state now (local time; +Infinity: rests until a call).
   */
  private endOfGreenS(i: number, p: number, s: number, cycleStartS: number, run: PlanBuffer, nowS: number): number {
    const minEnd = s + this.minGreenS[p]!;
    if (this.mode[i] === CONTROL_COORDINATED) {
      if (this.coordinated[p] === 0) return Math.max(minEnd, Math.min(s + this.maxGreenS[p]!, this.forceOffPassS[p]!, this.lastActuationS[p]! - cycleStartS + this.passageS[p]!));
      if (this.resting[p] === 0) return Math.max(minEnd, this.forceOffPassS[p]!);
      const clearS = run.phaseYellowS[p]! + run.phaseAllRedS[p]!;
      // Resting: end so that the clearance ends at the pass end (side phases then start in their
      // windows), or, carried into this pass, at once if a called side phase still fits its
      // minimum green before its force-off after the clearance.
      const byPassEnd = Math.max(minEnd, this.passCycleS[i]! - clearS);
      if (this.leavePending[i] === 1) return s < 0 ? minEnd : byPassEnd;
      if (!this.sideCall(i)) return Number.POSITIVE_INFINITY;
      if (s < 0 && this.sideFits(i, nowS + clearS)) return Math.max(minEnd, nowS);
      return byPassEnd;
    }
    if (this.leavePending[i] === 0 && !this.otherCall(i, p)) return Number.POSITIVE_INFINITY;
    return Math.max(minEnd, Math.min(s + this.maxGreenS[p]!, this.lastActuationS[p]! - cycleStartS + this.passageS[p]!));
  }

  private otherCall(i: number, p: number): boolean {
    const c = this.c;
    for (let q = c.phaseStart[i]!; q < c.phaseStart[i + 1]!; q++) if (q !== p && this.call[q] === 1 && this.servable[q] === 1) return true;
    return false;
  }

  /** A called side phase whose minimum green fits before its force-off if it starts at `startS`. */
  private sideFits(i: number, startS: number): boolean {
    const c = this.c;
    for (let q = c.phaseStart[i]!; q < c.phaseStart[i + 1]!; q++) {
      if (this.call[q] === 1 && this.servable[q] === 1 && this.coordinated[q] === 0 && startS + this.minGreenS[q]! <= this.forceOffPassS[q]! + 1e-9) return true;
    }
    return false;
  }

  /** A call on a side (non-coordinated) phase the plan serves. */
  private sideCall(i: number): boolean {
    const c = this.c;
    for (let q = c.phaseStart[i]!; q < c.phaseStart[i + 1]!; q++) if (this.call[q] === 1 && this.servable[q] === 1 && this.coordinated[q] === 0) return true;
    return false;
  }

  /** The earliest pending decision of i's pass (local time; may be at or before `afterS` if due). */
  nextDecisionS(i: number, run: PlanBuffer, cycleStartS: number, nowS: number): number {
    if (this.passComplete(i)) return Number.POSITIVE_INFINITY;
    let best = this.scanRings(i, run, cycleStartS, nowS) < 0 ? this.crossingS(i, this.scanCrossingS) : this.scanEarliestS;
    // Coordinated: the pass ends at the cycle, whatever is still green or clearing (carried over).
    if (this.mode[i] === CONTROL_COORDINATED) best = Math.min(best, this.passCycleS[i]!);
    return best;
  }

  /**
   * One scan of i's rings for nextDecisionS and decide: returns the ring slot whose decision
   * comes first (a green's end or a ring ready at its barrier; the first ring wins a tie), or -1
   * when every ring is through its barrier. Leaves that time in scanEarliestS and the latest
   * barrier-ready time of the finished rings in scanCrossingS (fields: nothing is allocated).
   */
  private scanRings(i: number, run: PlanBuffer, cycleStartS: number, nowS: number): number {
    const nr = this.c.ringCount[i]!;
    let pick = -1;
    let earliest = Number.POSITIVE_INFINITY;
    let crossing = 0;
    for (let r = 0; r < nr; r++) {
      const slot = i * this.maxRings + r;
      const st = this.ringState[slot]!;
      if (st === RING_DONE) {
        crossing = Math.max(crossing, this.ringReadyS[slot]!);
        continue;
      }
      const t = st === RING_READY ? this.ringReadyS[slot]! : this.endOfGreenS(i, this.ringPhase[slot]!, run.phaseStartS[this.ringPhase[slot]!]!, cycleStartS, run, nowS);
      if (pick < 0 || t < earliest) {
        earliest = t;
        pick = slot;
      }
    }
    this.scanEarliestS = earliest;
    this.scanCrossingS = crossing;
    return pick;
  }

  private crossingS(i: number, ringsDoneS: number): number {
    if (this.carry[i] === 1 || !this.inLastBarrier(i)) return ringsDoneS;
    // The pass ends: coordinated, at the cycle (the rotation of the next pass); free, when the rings are done.
    if (this.mode[i] === CONTROL_COORDINATED) return Math.max(ringsDoneS, this.passCycleS[i]!);
    return this.served[i] === 1 ? ringsDoneS : Math.max(ringsDoneS, EMPTY_PASS_REST_S);
  }

  /**
   * Takes every decision of i's pass due by local time `toS`, in time order, none before
   * `floorS` (lamps up to there have been shown). A decision due at or before `floorS` (a
   * detection or a plan change since asked for it) is taken at `heldS`, and none after it
   * earlier: a caller that samples the lamps and holds each sample until the next passes the
   * next sample's time, since an interval begun at the last sample, which showed the lamps
   * before the decision, would be shown a sample short (a 4 s yellow as 3 s). Returns the
   * number of decisions taken.
   */
  advance(i: number, run: PlanBuffer, cycleStartS: number, floorS: number, toS: number, heldS = floorS): number {
    let taken = 0;
    let atS = floorS;
    // Each decision ends a green, starts or skips a phase, or crosses a barrier: bounded by the phases.
    for (let guard = 0; guard < 4 * (this.c.phaseStart[i + 1]! - this.c.phaseStart[i]!) + 4 * this.c.barrierCount[i]! + 8; guard++) {
      if (this.passComplete(i)) return taken;
      const d0 = this.nextDecisionS(i, run, cycleStartS, atS);
      if (d0 > toS + EPS) return taken;
      if (d0 <= floorS + EPS && heldS > atS) atS = heldS;
      atS = Math.max(d0, atS);
      this.decide(i, run, cycleStartS, atS);
      taken++;
    }
    throw new Error(`actuated pass of ${this.c.intersectionIds[i]} is not advancing`);
  }

  /** Takes the earliest decision of i's pass at local time d. */
  private decide(i: number, run: PlanBuffer, cycleStartS: number, d: number): void {
    const nowS = d;
    const c = this.c;
    if (this.mode[i] === CONTROL_COORDINATED && d >= this.passCycleS[i]! - EPS) {
      this.endCoordinatedPass(i, run);
      return;
    }
    const pick = this.scanRings(i, run, cycleStartS, nowS);
    if (pick < 0) {
      if (this.carry[i] === 1) {
        this.carry[i] = 0;
        this.enterBarrier(i, this.firstBarrier[i]!, d);
        return;
      }
      const b = this.passBarrier[i]! + 1;
      this.passBarrier[i] = b;
      if (b >= c.barrierCount[i]!) run.cycleS[i] = d;
      else this.enterBarrier(i, (this.firstBarrier[i]! + b) % c.barrierCount[i]!, d);
      return;
    }
    if (this.ringState[pick] === RING_GREEN) {
      const p = this.ringPhase[pick]!;
      const s = run.phaseStartS[p]!;
      if (this.mode[i] === CONTROL_COORDINATED && this.coordinated[p] === 1 && this.resting[p] === 0) {
        // At the yield point: yield if a side phase calls (or the runner waits to leave), else rest in the last barrier.
        if (this.inLastBarrier(i) && this.leavePending[i] === 0 && !this.sideCall(i)) {
          this.resting[p] = 1;
          return;
        }
      }
      const g = d - s;
      run.phaseGreenS[p] = g;
      this.greenNow[p] = 0;
      this.ringState[pick] = RING_READY;
      this.ringReadyS[pick] = d + run.phaseYellowS[p]! + run.phaseAllRedS[p]!;
      if (this.mode[i] === CONTROL_COORDINATED && d >= this.forceOffPassS[p]! - 1e-9) {
        this.forceOffs++;
        this.termination[p] = TERMINATION_FORCE_OFF;
      } else if (d >= s + this.maxGreenS[p]! - 1e-9) {
        this.maxOuts++;
        this.termination[p] = TERMINATION_MAX_OUT;
      } else {
        this.gapOuts++;
        this.termination[p] = TERMINATION_GAP_OUT;
      }
      return;
    }
    // Ready: serve the ring's next phase that is called (skipping the others), or finish the barrier.
    const coordinatedMode = this.mode[i] === CONTROL_COORDINATED;
    let pos = this.ringPos[pick]!;
    const end = this.ringEnd[pick]!;
    while (pos < end) {
      const p = this.seq[pos]!;
      pos++;
      run.phaseStartS[p] = d;
      // Coordinated: a phase is served only if its minimum green fits before its force-off (a
      // coordinated phase always fits, unless a phase carried over from the last pass delayed it).
      const serve = coordinatedMode ? (this.coordinated[p] === 1 || this.call[p] === 1) && d + this.minGreenS[p]! <= this.forceOffPassS[p]! + 1e-9 : this.call[p] === 1;
      if (this.servable[p] === 1 && serve) {
        run.phaseGreenS[p] = Number.POSITIVE_INFINITY;
        this.resting[p] = 0;
        this.call[p] = 0;
        this.greenNow[p] = 1;
        this.termination[p] = 0;
        this.served[i] = 1;
        this.ringPos[pick] = pos;
        this.ringPhase[pick] = p;
        this.ringState[pick] = RING_GREEN;
        return;
      }
      run.phaseGreenS[p] = 0;
      run.phaseYellowS[p] = 0;
      run.phaseAllRedS[p] = 0;
      if (this.servable[p] === 1) this.skips++;
    }
    this.ringPos[pick] = pos;
    this.ringPhase[pick] = -1;
    this.ringState[pick] = RING_DONE;
    this.ringReadyS[pick] = d;
  }

  /**
   * Coordinated: ends the pass at its cycle. A green still on (a coordinated phase resting past
   * its yield point) or a clearance still running is carried into the next pass; any phase
   * left unserved waits for the next pass. (Served phases end by their force-offs, which leave
   * their clearances inside the cycle, so only a resting coordinated phase or its clearance is
   * ever carried; the rule holds whatever is running, so the pass can never overrun.)
   */
  private endCoordinatedPass(i: number, run: PlanBuffer): void {
    const cyc = this.passCycleS[i]!;
    const nr = this.c.ringCount[i]!;
    let carried = 0;
    for (let r = 0; r < nr; r++) {
      const slot = i * this.maxRings + r;
      const p = this.ringPhase[slot]!;
      const st = this.ringState[slot]!;
      this.carryPhase[slot] = -1;
      if (p < 0 || st === RING_DONE) continue;
      if (st === RING_GREEN) {
        this.carryGreenS[slot] = Number.POSITIVE_INFINITY;
      } else {
        if (this.ringReadyS[slot]! <= cyc + EPS) continue;
        this.carryGreenS[slot] = run.phaseGreenS[p]!;
        this.carryReadyS[slot] = this.ringReadyS[slot]! - cyc;
      }
      this.carryPhase[slot] = p;
      this.carryStartS[slot] = run.phaseStartS[p]! - cyc;
      carried = 1;
    }
    this.pendingCarry[i] = carried;
    this.passBarrier[i] = this.c.barrierCount[i]!;
    this.carry[i] = 0;
    run.cycleS[i] = cyc;
  }

  /** Leaves any pass state of i (the runner re-anchors it on fixed time). */
  clear(i: number): void {
    const c = this.c;
    this.kind[i] = KIND_FIXED;
    this.carry[i] = 0;
    this.pendingCarry[i] = 0;
    this.leavePending[i] = 0;
    this.greenNow.fill(0, c.phaseStart[i]!, c.phaseStart[i + 1]!);
  }

  /** Makes this an exact copy of `o` (same network). */
  copyFrom(o: ActuatedPass): void {
    this.settings.copyFrom(o.settings);
    for (const k of ['call', 'lastActuationS', 'greenNow', 'kind', 'rotationS', 'firstBarrier', 'passBarrier', 'served', 'forceOffPassS', 'servable', 'seq', 'ringPos', 'ringEnd', 'ringPhase', 'ringState', 'ringReadyS', 'passCycleS', 'leavePending', 'resting', 'carry', 'pendingCarry', 'carryPhase', 'carryStartS', 'carryGreenS', 'carryReadyS', 'termination'] as const) {
      (this[k] as Float64Array).set(o[k] as Float64Array);
    }
    this.passes = o.passes;
    this.skips = o.skips;
    this.gapOuts = o.gapOuts;
    this.maxOuts = o.maxOuts;
    this.forceOffs = o.forceOffs;
  }
}
