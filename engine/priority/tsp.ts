/**
 * Transit signal priority and emergency preemption on top of the coordinated
 * plan. The controller keeps, per intersection, the base cycle layout and an
 * optional run of adjusted cycles (an "override") that starts at a cycle
 * boundary and ends back on the base coordination grid. A request is decided
 * against the schedule that will actually run:
 *  - arrives on green anyway → nothing to do;
 *  - just after the green → green extension (≤ max extension); the priority
 *    phase pays the time back in the following cycles, so the non-priority
 *    phases keep their green and the offset is back within `maxRecoveryCycles`;
 *  - during the red → early green: the phases before the priority phase are
 *    truncated (never below min green, nor below walk + pedestrian clearance,
 *    nor before "now"), and get their time back over `compensationCycles`;
 *  - where an on-demand phase serves the movement (a bus phase that plans
 *    skip) → phase insertion: it runs in the cycle the bus arrives in, its
 *    time taken from the phases of its ring beside it (its barrier's ring, or
 *    the whole cycle for a single-ring signal), so the cycle and the offset
 *    do not move; the phases cut get their time back over the next cycles.
 * The candidate that saves the bus most time is chosen.
 * Conflicts: one active grant per intersection; a new request replaces it only
 * if it outranks it (class, then lateness, then arrival order); after a grant
 * the intersection is locked out for non-emergency requests for `lockoutS`.
 * Every adjusted cycle passes `validateIntersectionPlan` before it is committed;
 * if one fails, the request is denied (UNSAFE) and nothing changes.
 * Times are absolute seconds on the caller's clock (the service uses Unix time);
 * cycle k of the base plan starts at offset + k·cycle.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { createPlanBuffer } from '../timing/planner.js';
import { IssueList, formatIssues } from '../errors.js';
import { mod, round1 } from '../numeric.js';
import { cloneLayout, greenFloorS, layoutFromPlan, retile, ringOrder, sameLayout, validateLayout, type CycleLayout, type RingOrder } from './layout.js';
import { compareRequests, ineligibility, PriorityClass, type PriorityConfig } from './policy.js';

export type Strategy = 'none' | 'greenExtension' | 'earlyGreen' | 'phaseInsertion' | 'preemption';
export type Reason = 'granted' | 'alreadyGreen' | 'notEligible' | 'lockout' | 'conflict' | 'noRoom' | 'tooFar' | 'unsafe' | 'movementNotServed' | 'preempted';

export interface TspRequest {
  readonly vehicleId: string;
  readonly routeId: string;
  readonly tripId: string;
  readonly intersection: number;
  /** Movement index approach*4 + turn. */
  readonly movement: number;
  /** Expected arrival at the stop line, absolute s. */
  readonly arrivalS: number;
  readonly latenessS: number;
  readonly occupancy: number;
  readonly headwayS: number;
  readonly priorityClass: PriorityClass;
  /**
   * Who made the request (the service passes the authenticated client's name; '' = anonymous).
   * Kept with the open request so that the caller can refuse another client's update or
   * cancel, and can cap open requests per client (openCountOf).
   */
  readonly owner?: string;
}

export interface TspDecision {
  readonly granted: boolean;
  readonly strategy: Strategy;
  readonly reason: Reason;
  readonly detail: string;
  /** Global phase index serving the movement, −1 if none. */
  readonly phase: number;
  readonly adjustmentS: number;
  readonly savedS: number;
  /** When the movement is green for the vehicle, absolute s (NaN if unknown). */
  readonly greenAtS: number;
}

interface Override {
  readonly startS: number;
  readonly layouts: CycleLayout[];
}

/**
 * What is kept of an open request: only what the sweep, arbitration and lastDecision read.
 * Entries live until the vehicle calls again (often seconds), long enough to be promoted
 * to the old generation; keeping the whole request (and its strings) there, and a new
 * entry per call, made the service's major GCs several times more frequent.
 */
interface OpenRequest {
  /** The request's expected arrival, absolute s (forgotten 600 s after it). */
  arrivalS: number;
  readonly seq: number;
  decision: TspDecision;
  readonly owner: string;
}

interface ActiveGrant {
  readonly key: string;
  readonly seq: number;
  readonly priorityClass: PriorityClass;
  readonly latenessS: number;
  readonly arrivalS: number;
  readonly lockoutUntilS: number;
}

interface Slot {
  startS: number;
  layout: CycleLayout;
}

const EPS = 1e-6;
/** Tie-break between candidates that save the same time. */
const STRATEGY_RANK: Readonly<Record<Strategy, number>> = { greenExtension: 0, earlyGreen: 1, phaseInsertion: 2, preemption: 3, none: 4 };
/** A green that is running may not be cut to end sooner than this after "now", s. */
const NOW_GUARD_S = 0.5;

export class TspController {
  private base: CycleLayout[] = [];
  /** Per intersection, the base plan's ring order (every layout derived from it keeps it). */
  private rings: RingOrder[] = [];
  /**
   * The same without on-demand phases: what extension, early green, recovery and
   * compensation may lengthen or cut. Only phase insertion gives an on-demand phase
   * time, and nothing else may stretch a skipped one into a green below its minimum.
   */
  private adjustable: RingOrder[] = [];
  private offsetS = new Float64Array(0);
  /** Per global phase: base green × planned v/c ÷ maxDegreeOfSaturation (0 where no demand is known). */
  private saturationFloorS = new Float64Array(0);
  private readonly overrides: (Override | undefined)[];
  private readonly active: (ActiveGrant | undefined)[];
  private readonly open = new Map<string, OpenRequest>();
  /** Open requests per owner (kept with `open`: addOpen / dropOpen are the only writers). */
  private readonly openByOwner = new Map<string, number>();
  private readonly scratch: PlanBuffer;
  private seq = 0;
  /** Increments per intersection whenever its schedule changes. */
  readonly revision: Uint32Array;
  /** Decisions that were rejected by the safety validator (should stay 0; for tests and metrics). */
  unsafeRejections = 0;
  /** When stale open requests were last swept; the sweep walks every open request, so not on every call. */
  private lastSweepS = -Infinity;

  constructor(
    private readonly c: CompiledNetwork,
    plan: PlanBuffer,
    readonly config: PriorityConfig,
  ) {
    this.overrides = new Array(c.intersectionCount).fill(undefined);
    this.active = new Array(c.intersectionCount).fill(undefined);
    this.revision = new Uint32Array(c.intersectionCount);
    this.scratch = createPlanBuffer(c);
    this.setBasePlan(plan);
  }

  /** A new coordinated plan: drops every adjustment and open request. */
  setBasePlan(plan: PlanBuffer): void {
    const c = this.c;
    this.base = [];
    this.rings = [];
    this.adjustable = [];
    this.offsetS = new Float64Array(c.intersectionCount);
    this.saturationFloorS = new Float64Array(c.phaseIds.length);
    // The planned v/c of a phase is that of its busiest lane (plans from outside may carry none: 0).
    for (let l = 0; l < c.laneIds.length; l++) {
      const p = c.lanePhase[l]!;
      const vc = plan.laneVc[l]!;
      if (p < 0 || !(vc > 0) || !Number.isFinite(vc)) continue;
      const floor = (plan.phaseGreenS[p]! * vc) / this.config.limits.maxDegreeOfSaturation;
      if (floor > this.saturationFloorS[p]!) this.saturationFloorS[p] = floor;
    }
    for (let i = 0; i < c.intersectionCount; i++) {
      this.base.push(layoutFromPlan(c, i, plan));
      this.rings.push(ringOrder(c, i, this.base[i]!));
      this.adjustable.push(this.rings[i]!.map((barrier) => barrier.map((ring) => ring.filter((k) => c.phaseOnDemand[c.phaseStart[i]! + k] === 0))));
      this.offsetS[i] = plan.offsetS[i]!;
      this.overrides[i] = undefined;
      this.active[i] = undefined;
      this.revision[i] = this.revision[i]! + 1;
    }
    this.open.clear();
    this.openByOwner.clear();
  }

  baseLayout(i: number): CycleLayout {
    return this.base[i]!;
  }

  /** The cycle running at time t: its start and layout, and whether it is adjusted. */
  cycleAt(i: number, tS: number): { startS: number; layout: CycleLayout; adjusted: boolean } {
    const ov = this.overrides[i];
    if (ov && tS >= ov.startS) {
      let s = ov.startS;
      for (const l of ov.layouts) {
        if (tS < s + l.cycleS) return { startS: s, layout: l, adjusted: true };
        s += l.cycleS;
      }
    }
    const C = this.base[i]!.cycleS;
    return { startS: tS - mod(tS - this.offsetS[i]!, C), layout: this.base[i]!, adjusted: false };
  }

  /** `n` consecutive cycles from the one running at t, as the schedule stands (layouts are copies). */
  cyclesFrom(i: number, tS: number, n: number): Slot[] {
    return this.scheduleFrom(i, tS, n).map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
  }

  /**
   * Like cyclesFrom, but the layouts are the live ones (base or committed override),
   * not copies: for reading only. decide() reads the schedule on every request and
   * most requests are denied without editing it; copying 4 typed arrays per cycle
   * over the whole horizon was a quarter of the service's allocation (GC pauses).
   * Whatever edits a schedule (extend, earlyGreen, recover) works on copies.
   */
  private scheduleFrom(i: number, tS: number, n: number): readonly Readonly<Slot>[] {
    const first = this.cycleAt(i, tS);
    const out: Slot[] = [{ startS: first.startS, layout: first.layout }];
    let s = first.startS + first.layout.cycleS;
    while (out.length < n) {
      const next = this.cycleAt(i, s + EPS);
      out.push({ startS: s, layout: next.layout });
      s += next.layout.cycleS;
    }
    return out;
  }

  hasOpen(vehicleId: string, i: number): boolean {
    return this.open.has(key(vehicleId, i));
  }

  /** The owner of an open request, undefined when there is none. */
  ownerOf(vehicleId: string, i: number): string | undefined {
    return this.open.get(key(vehicleId, i))?.owner;
  }

  /** Open requests in all. */
  get openCount(): number {
    return this.open.size;
  }

  /** Open requests made by one owner. */
  openCountOf(owner: string): number {
    return this.openByOwner.get(owner) ?? 0;
  }

  private addOpen(k: string, o: OpenRequest): void {
    if (this.open.has(k)) return;
    this.open.set(k, o);
    this.openByOwner.set(o.owner, (this.openByOwner.get(o.owner) ?? 0) + 1);
  }

  private dropOpen(k: string): boolean {
    const o = this.open.get(k);
    if (!o) return false;
    this.open.delete(k);
    const n = (this.openByOwner.get(o.owner) ?? 1) - 1;
    if (n > 0) this.openByOwner.set(o.owner, n);
    else this.openByOwner.delete(o.owner);
    return true;
  }

  activeGrantKey(i: number): string | undefined {
    return this.active[i]?.key;
  }

  /** Check-in (a repeat for the same vehicle and intersection acts as an update). */
  request(req: TspRequest, nowS: number): TspDecision {
    const k = key(req.vehicleId, req.intersection);
    const existing = this.open.get(k);
    const seq = existing?.seq ?? ++this.seq;
    const decision = this.decide(req, seq, nowS);
    // Updated in place; set again in case decide's sweep dropped it as stale.
    const entry = existing ?? { arrivalS: req.arrivalS, seq, decision, owner: req.owner ?? '' };
    entry.arrivalS = req.arrivalS;
    entry.decision = decision;
    this.addOpen(k, entry);
    return decision;
  }

  /** New ETA for an open request; undefined when the vehicle has none open at the intersection. */
  update(req: TspRequest, nowS: number): TspDecision | undefined {
    const k = key(req.vehicleId, req.intersection);
    if (!this.open.has(k)) return undefined;
    return this.request(req, nowS);
  }

  /** Check-out. `withdrawn` when a grant still ahead was taken back. */
  cancel(vehicleId: string, i: number, nowS: number): { found: boolean; withdrawn: boolean } {
    const k = key(vehicleId, i);
    if (!this.dropOpen(k)) return { found: false, withdrawn: false };
    const a = this.active[i];
    if (!a || a.key !== k) return { found: true, withdrawn: false };
    this.active[i] = undefined;
    if (nowS >= a.arrivalS) return { found: true, withdrawn: false };
    const slots = this.revertedFuture(i, nowS);
    if (!slots || !this.commit(i, slots)) return { found: true, withdrawn: false };
    return { found: true, withdrawn: true };
  }

  /** The decision most recently made for an open request. */
  lastDecision(vehicleId: string, i: number): TspDecision | undefined {
    return this.open.get(key(vehicleId, i))?.decision;
  }

  private decide(req: TspRequest, seq: number, nowS: number): TspDecision {
    const c = this.c;
    const i = req.intersection;
    const lim = this.config.limits;
    this.housekeep(i, nowS);
    const p0 = c.phaseStart[i]!;
    const pl = this.servingPhase(i, req.movement);
    const phase = pl < 0 ? -1 : p0 + pl;
    const deny = (reason: Reason, detail: string, greenAtS = Number.NaN): TspDecision => ({ granted: false, strategy: 'none', reason, detail, phase, adjustmentS: 0, savedS: 0, greenAtS });
    if (pl < 0) return deny('movementNotServed', `no phase of ${c.intersectionIds[i]} serves movement ${req.movement}`);
    const a = Math.max(req.arrivalS, nowS);
    if (a - nowS > lim.maxEtaS) return deny('tooFar', `ETA ${round1(a - nowS)} s is beyond the ${lim.maxEtaS} s horizon`);
    const emergency = req.priorityClass === PriorityClass.Emergency;
    const k = key(req.vehicleId, i);

    const C = this.base[i]!.cycleS;
    const horizon = Math.ceil((a - nowS) / C) + 3 + lim.compensationCycles + lim.maxRecoveryCycles;
    const current = this.active[i];
    let replacing: ActiveGrant | undefined;
    if (current) {
      const inProgress = nowS < current.arrivalS + lim.passMarginS;
      if (current.key === k) replacing = current;
      else if (inProgress) {
        if (compareRequests({ priorityClass: req.priorityClass, latenessS: req.latenessS, seq }, current) < 0) replacing = current;
        else return deny('conflict', `a ${className(current.priorityClass)} request ranked higher holds ${c.intersectionIds[i]}`, this.nextGreen(i, nowS, horizon, pl, a));
      } else if (!emergency && nowS < current.lockoutUntilS) {
        return deny('lockout', `priority was granted at ${c.intersectionIds[i]} ${round1(nowS - current.arrivalS)} s ago; locked out for ${round1(current.lockoutUntilS - nowS)} s more`, this.nextGreen(i, nowS, horizon, pl, a));
      }
    }
    // Read-only until a candidate copies it; `reverted` below is a fresh copy of its own.
    let slots: readonly Readonly<Slot>[] = this.scheduleFrom(i, nowS, horizon);
    let reverted: Slot[] | undefined;
    if (replacing) {
      reverted = this.revertedFuture(i, nowS, horizon);
      if (!reverted) return deny('noRoom', 'the earlier adjustment cannot be withdrawn safely');
      slots = reverted;
    }

    const margin = emergency ? lim.passMarginS * 2 : lim.passMarginS;
    const windows = slots.map((s) => ({ gs: s.startS + s.layout.startS[pl]!, ge: s.startS + s.layout.startS[pl]! + s.layout.greenS[pl]! }));
    let prev = -1;
    let next = -1;
    for (let j = 0; j < windows.length; j++) {
      if (windows[j]!.gs <= a + EPS) prev = j;
      else if (next < 0) next = j;
    }
    if (prev >= 0 && a + margin <= windows[prev]!.ge + EPS) {
      if (replacing && reverted) this.commitOrKeep(i, reverted, replacing);
      return deny('alreadyGreen', 'arrives on green', a);
    }
    if (!emergency) {
      const why = ineligibility(this.config, req);
      if (why !== undefined) {
        if (replacing && reverted) this.commitOrKeep(i, reverted, replacing);
        return deny('notEligible', why, next >= 0 ? windows[next]!.gs : Number.NaN);
      }
    }
    if (next < 0) return deny('tooFar', 'no green of the phase within the horizon');
    const waitS = windows[next]!.gs - a;
    const maxS = emergency ? lim.maxPreemptionS : lim.maxExtensionS;
    const maxEarlyS = emergency ? lim.maxPreemptionS : lim.maxEarlyGreenS;
    const strategyName = (s: Strategy): Strategy => (emergency ? 'preemption' : s);

    // Candidate 1: green extension of the window the vehicle just misses.
    /** `phase`: the global phase that is green for the vehicle (the inserted one for insertion). */
    type Candidate = { slots: Slot[]; strategy: Strategy; adjustmentS: number; savedS: number; greenAtS: number; phase: number };
    const candidates: Candidate[] = [];
    let noRoomWhy = '';
    if (prev >= 0) {
      const need = ceil10(a + margin - windows[prev]!.ge);
      if (need > maxS + EPS) noRoomWhy = `extension of ${need} s would exceed the ${maxS} s limit`;
      else {
        const w = slots.map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
        if (this.extend(i, w, prev, pl, need, nowS) && this.recover(i, w, prev + 1, pl)) {
          candidates.push({ slots: w, strategy: strategyName('greenExtension'), adjustmentS: need, savedS: waitS, greenAtS: a, phase });
        } else noRoomWhy = 'the green cannot be extended (it has ended, or the offset cannot be recovered in time)';
      }
    }
    // Candidate 2: early green (red truncation) of the next window.
    {
      const w = slots.map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
      const got = this.earlyGreen(i, w, next, pl, Math.min(ceil10(waitS), maxEarlyS), nowS, prev);
      if (got >= 1 - EPS && this.recover(i, w, next + 1, pl)) {
        candidates.push({ slots: w, strategy: strategyName('earlyGreen'), adjustmentS: got, savedS: got, greenAtS: windows[next]!.gs - got, phase });
      } else if (!noRoomWhy) noRoomWhy = 'minimum greens and pedestrian clearances of the phases before it leave no time to truncate';
    }
    // Candidate 3: phase insertion, in the cycle the vehicle arrives in or the next one.
    const x = this.insertablePhase(i, req.movement);
    if (x >= 0) {
      let arriving = 0;
      while (arriving + 1 < slots.length && slots[arriving + 1]!.startS <= a) arriving++;
      for (const j of [arriving, arriving + 1]) {
        if (j >= slots.length) break;
        const w = slots.map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
        const greenAtS = this.insert(i, w, j, x, a, margin, nowS, maxEarlyS);
        if (!(greenAtS < windows[next]!.gs - 1 + EPS)) continue;
        candidates.push({ slots: w, strategy: strategyName('phaseInsertion'), adjustmentS: round1(w[j]!.layout.greenS[x]!), savedS: windows[next]!.gs - greenAtS, greenAtS, phase: p0 + x });
        break;
      }
      if (!noRoomWhy && candidates.length === 0) noRoomWhy = `the on-demand phase ${c.phaseIds[p0 + x]} cannot be inserted: the phases beside it are at their minimum greens`;
    }
    if (candidates.length === 0) {
      if (replacing && reverted) this.commitOrKeep(i, reverted, replacing);
      return deny('noRoom', noRoomWhy, windows[next]!.gs);
    }
    // Most time saved wins; on a tie the smaller change to the plan: extension, then early green, then insertion.
    candidates.sort((x, y) => y.savedS - x.savedS || STRATEGY_RANK[x.strategy] - STRATEGY_RANK[y.strategy]);
    const best = candidates[0]!;
    const issues = new IssueList();
    if (!this.validateSlots(i, best.slots, issues)) {
      this.unsafeRejections++;
      return deny('unsafe', `the adjusted plan failed the safety validator:\n${formatIssues(issues.items)}`, windows[next]!.gs);
    }
    this.commit(i, best.slots);
    if (replacing && replacing.key !== k) {
      const victim = this.open.get(replacing.key);
      if (victim) victim.decision = { ...victim.decision, granted: false, strategy: 'none', reason: 'preempted', detail: 'replaced by a higher ranked request', adjustmentS: 0, savedS: 0 };
    }
    this.active[i] = { key: k, seq, priorityClass: req.priorityClass, latenessS: req.latenessS, arrivalS: a, lockoutUntilS: a + lim.lockoutS };
    return { granted: true, strategy: best.strategy, reason: 'granted', detail: best.phase === phase ? `${best.strategy} of phase ${c.phaseIds[phase]} by ${best.adjustmentS} s` : `${best.strategy} of phase ${c.phaseIds[best.phase]} for ${best.adjustmentS} s of green`, phase: best.phase, adjustmentS: best.adjustmentS, savedS: round1(best.savedS), greenAtS: best.greenAtS };
  }

  /** After a withdrawn grant: keep the reverted schedule if it validates, else keep the old one. */
  private commitOrKeep(i: number, slots: Slot[], old: ActiveGrant): void {
    if (this.validateSlots(i, slots)) {
      this.commit(i, slots);
      if (this.active[i] === old) this.active[i] = undefined;
    }
  }

  private housekeep(i: number, nowS: number): void {
    const ov = this.overrides[i];
    if (ov) {
      let end = ov.startS;
      for (const l of ov.layouts) end += l.cycleS;
      if (nowS >= end) this.overrides[i] = undefined;
    }
    const a = this.active[i];
    if (a && nowS >= a.lockoutUntilS && nowS >= a.arrivalS + this.config.limits.passMarginS) this.active[i] = undefined;
    // Requests are forgotten 600 s after their arrival time; sweeping once a second is precise enough.
    if (nowS - this.lastSweepS < 1) return;
    this.lastSweepS = nowS;
    for (const [k, o] of this.open) if (nowS > o.arrivalS + 600) this.dropOpen(k);
  }

  /**
   * Local index of the phase serving a movement in every cycle: protected first, then permitted;
   * the longest green wins ties. On-demand phases do not count (see insertablePhase).
   */
  servingPhase(i: number, movement: number): number {
    const c = this.c;
    const p0 = c.phaseStart[i]!;
    const bit = 1 << movement;
    let best = -1;
    for (const mask of [c.phaseProtectedMask, c.phasePermittedMask]) {
      for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
        if ((mask[p]! & bit) !== 0 && c.phaseOnDemand[p] === 0 && (best < 0 || this.base[i]!.greenS[p - p0]! > this.base[i]!.greenS[best]!)) best = p - p0;
      }
      if (best >= 0) return best;
    }
    return -1;
  }

  /** Local index of an on-demand phase that protects the movement (else one that permits it), −1 if none. */
  insertablePhase(i: number, movement: number): number {
    const c = this.c;
    const p0 = c.phaseStart[i]!;
    const bit = 1 << movement;
    for (let p = p0; p < c.phaseStart[i + 1]!; p++) if (c.phaseOnDemand[p] === 1 && (c.phaseProtectedMask[p]! & bit) !== 0) return p - p0;
    for (let p = p0; p < c.phaseStart[i + 1]!; p++) if (c.phaseOnDemand[p] === 1 && (c.phasePermittedMask[p]! & bit) !== 0) return p - p0;
    return -1;
  }

  /**
   * When local phase pl is next green at or after a, over the n cycles scheduleFrom(i, tS, n)
   * would list (NaN if none). Walks the schedule without building it: conflict and lockout
   * denials, the commonest answers under load, need nothing else from it.
   */
  private nextGreen(i: number, tS: number, n: number, pl: number, a: number): number {
    const first = this.cycleAt(i, tS);
    let startS = first.startS;
    let layout = first.layout;
    for (let k = 0; k < n; k++) {
      if (k > 0) layout = this.cycleAt(i, startS + EPS).layout;
      const gs = startS + layout.startS[pl]!;
      if (gs + layout.greenS[pl]! > a) return Math.max(gs, a);
      startS += layout.cycleS;
    }
    return Number.NaN;
  }

  /** The running cycle as scheduled, then the base plan, with the offset recovered. Undefined if impossible. */
  private revertedFuture(i: number, nowS: number, n = 2 + this.config.limits.maxRecoveryCycles): Slot[] | undefined {
    const first = this.cycleAt(i, nowS);
    const running: Slot = { startS: first.startS, layout: cloneLayout(first.layout) };
    if (first.adjusted) {
      // Phases whose green has not ended yet go back to the base plan (not below the time they have run).
      const base = this.base[i]!;
      for (let k = 0; k < running.layout.greenS.length; k++) {
        // Going back to the base plan cuts nothing below it: only the safety floor and the time run count.
        const f = this.frozenFloor(i, running, k, nowS, greenFloorS(this.c, this.g(i, k)));
        if (!Number.isFinite(f)) continue;
        if (this.c.phaseOnDemand[this.g(i, k)] === 1 && running.startS + running.layout.startS[k]! > nowS + NOW_GUARD_S) {
          // An inserted phase that has not started is skipped again, as in the base plan.
          running.layout.greenS[k] = base.greenS[k]!;
          running.layout.yellowS[k] = base.yellowS[k]!;
          running.layout.allRedS[k] = base.allRedS[k]!;
        } else running.layout.greenS[k] = Math.max(base.greenS[k]!, ceil10(f));
      }
      if (!retile(this.c, i, running.layout, this.rings[i])) return undefined;
    }
    const out: Slot[] = [running];
    let s = running.startS + running.layout.cycleS;
    while (out.length < n) {
      out.push({ startS: s, layout: cloneLayout(this.base[i]!) });
      s += this.base[i]!.cycleS;
    }
    return this.recover(i, out, 1, -1) ? out : undefined;
  }

  /** Global phase of local index k. */
  private g(i: number, k: number): number {
    return this.c.phaseStart[i]! + k;
  }

  /**
   * The least green priority may leave local phase k: its safety floor (minimum green, walk +
   * pedestrian clearance), and the green that keeps its planned demand at or under
   * maxDegreeOfSaturation, so that priority does not tip a busy phase into a lasting queue.
   */
  private floorS(i: number, k: number): number {
    const p = this.g(i, k);
    return Math.max(greenFloorS(this.c, p), this.saturationFloorS[p]!);
  }

  /** Latest a phase's green may end in slot s without ending before now; +Infinity (untouchable) if it already ended. */
  private frozenFloor(i: number, s: Slot, k: number, nowS: number, floor = this.floorS(i, k)): number {
    const gs = s.startS + s.layout.startS[k]!;
    const ge = gs + s.layout.greenS[k]!;
    if (ge <= nowS + NOW_GUARD_S) return Number.POSITIVE_INFINITY; // ended (or about to): untouchable
    return gs < nowS ? Math.max(floor, nowS + NOW_GUARD_S - gs) : floor;
  }

  /** Green extension of local phase pl in slot j by d: the other rings of its barrier stretch their last phase. */
  private extend(i: number, w: Slot[], j: number, pl: number, d: number, nowS: number): boolean {
    const c = this.c;
    const s = w[j]!;
    const b = c.phaseBarrier[this.g(i, pl)]!;
    const r0 = c.phaseRing[this.g(i, pl)]!;
    const touched: number[] = [pl];
    for (let r = 0; r < c.ringCount[i]!; r++) {
      if (r === r0) continue;
      const ring = this.adjustable[i]![b]![r]!;
      if (ring.length > 0) touched.push(ring[ring.length - 1]!);
    }
    for (const k of touched) if (!Number.isFinite(this.frozenFloor(i, s, k, nowS))) return false;
    for (const k of touched) s.layout.greenS[k] = round1(s.layout.greenS[k]! + d);
    return this.retileFrom(i, w, j);
  }

  /**
   * Early green for local phase pl in slot j: truncates the barriers before its
   * barrier (walking back in time, never past the vehicle's previous green),
   * and gives the time to the phase (other rings: their first phase of the
   * barrier), so the barrier starts earlier and ends as planned. Then the
   * truncated phases get their time back over the following cycles. Returns
   * the seconds gained.
   */
  private earlyGreen(i: number, w: Slot[], j: number, pl: number, want: number, nowS: number, prevSlot: number): number {
    const c = this.c;
    const nb = c.barrierCount[i]!;
    const nr = c.ringCount[i]!;
    const B = c.phaseBarrier[this.g(i, pl)]!;
    const r0 = c.phaseRing[this.g(i, pl)]!;
    // The phases of p's ring in its barrier before p must not have started (no intra-barrier truncation).
    // When p is not first in its ring, the earlier phases of its ring still run first: early green moves the whole barrier.
    let remaining = want;
    const loss = new Map<number, Float64Array>(); // slot -> per local phase loss
    let sj = j;
    let sb = B - 1;
    if (sb < 0) {
      sj--;
      sb = nb - 1;
    }
    while (remaining > 0.05 && sj >= 0 && (sj > prevSlot || (sj === prevSlot && sb > B))) {
      const s = w[sj]!;
      // Barrier availability: every ring must give the same amount.
      let avail = Number.POSITIVE_INFINITY;
      const rings: (readonly number[])[] = [];
      for (let r = 0; r < nr; r++) {
        const ring = this.adjustable[i]![sb]![r]!;
        rings.push(ring);
        let ra = 0;
        let blocked = false;
        for (let q = ring.length - 1; q >= 0; q--) {
          const k = ring[q]!;
          const f = this.frozenFloor(i, s, k, nowS);
          if (!Number.isFinite(f)) {
            blocked = true;
            break;
          }
          ra += Math.max(0, s.layout.greenS[k]! - f);
        }
        void blocked;
        avail = Math.min(avail, ra);
      }
      const take = floor10(Math.min(remaining, avail));
      if (take > 0) {
        let l = loss.get(sj);
        if (!l) loss.set(sj, (l = new Float64Array(s.layout.greenS.length)));
        for (const ring of rings) {
          let left = take;
          for (let q = ring.length - 1; q >= 0 && left > 1e-9; q--) {
            const k = ring[q]!;
            const f = this.frozenFloor(i, s, k, nowS);
            if (!Number.isFinite(f)) break;
            const cut = Math.min(left, floor10(Math.max(0, s.layout.greenS[k]! - f)));
            s.layout.greenS[k] = round1(s.layout.greenS[k]! - cut);
            l[k] = l[k]! + cut;
            left = round1(left - cut);
          }
          if (left > 1e-9) return 0; // rings could not give the same amount: give up (caller discards w)
        }
        remaining = round1(remaining - take);
      }
      // A barrier that is still blocked (already running past its floors) stops the walk back;
      // one of on-demand phases only (an inserted stage) is stepped over: nothing in it may be cut.
      if (take <= 0 && avail <= 0 && rings.some((ring) => ring.length > 0)) break;
      sb--;
      if (sb < 0) {
        sj--;
        sb = nb - 1;
      }
    }
    const got = round1(want - remaining);
    if (got <= 0) return 0;
    const target = w[j]!;
    for (let r = 0; r < nr; r++) {
      const ring = this.adjustable[i]![B]![r]!;
      if (ring.length === 0) continue;
      const k = r === r0 ? pl : ring[0]!;
      target.layout.greenS[k] = round1(target.layout.greenS[k]! + got);
    }
    if (!this.retileFrom(i, w, 0)) return 0;
    // Compensation: the priority barrier pays the truncated phases back over the next cycles.
    let owed = 0;
    const owedPerPhase = new Float64Array(target.layout.greenS.length);
    for (const l of loss.values()) for (let k = 0; k < l.length; k++) owedPerPhase[k] = owedPerPhase[k]! + l[k]!;
    for (let k = 0; k < owedPerPhase.length; k++) owed += owedPerPhase[k]!;
    owed /= nr; // per ring
    for (let cj = j + 1; cj < Math.min(w.length, j + 1 + this.config.limits.compensationCycles) && owed > 0.05; cj++) {
      const s = w[cj]!;
      const give = floor10(Math.min(owed, this.barrierRoom(i, s.layout, B)));
      if (give <= 0) continue;
      this.shrinkBarrier(i, s.layout, B, give, pl);
      // Hand it back barrier by barrier, to the phases that lost time.
      let left = give;
      for (let b = 0; b < nb && left > 1e-9; b++) {
        if (b === B) continue;
        let perRing = Number.POSITIVE_INFINITY;
        for (let r = 0; r < nr; r++) {
          let lost = 0;
          for (const k of this.adjustable[i]![b]![r]!) lost += owedPerPhase[k]!;
          perRing = Math.min(perRing, lost);
        }
        const amt = Math.min(left, floor10(perRing));
        if (amt <= 0) continue;
        for (let r = 0; r < nr; r++) {
          let rest = amt;
          for (const k of this.adjustable[i]![b]![r]!) {
            const add = Math.min(rest, owedPerPhase[k]!);
            s.layout.greenS[k] = round1(s.layout.greenS[k]! + add);
            owedPerPhase[k] = owedPerPhase[k]! - add;
            rest -= add;
          }
        }
        left = round1(left - amt);
      }
      if (left > 1e-9) {
        // Could not place it all: put the rest back where it came from.
        for (let r = 0; r < nr; r++) {
          const rp = this.adjustable[i]![B]![r]!;
          const k = r === r0 ? pl : rp[0]!;
          s.layout.greenS[k] = round1(s.layout.greenS[k]! + left);
        }
      }
      owed = round1(owed - (give - left));
      retile(c, i, s.layout, this.rings[i]);
    }
    return got;
  }

  /**
   * The phases that share one cycle's time with on-demand phase x, in run order: x's ring in its
   * barrier (other rings must still meet it at the barrier), or the whole ring of a single-ring signal.
   */
  private segmentOf(i: number, x: number): readonly number[] {
    const gx = this.g(i, x);
    if (this.c.ringCount[i] === 1) return this.rings[i]!.flatMap((barrier) => barrier[0]!);
    return this.rings[i]![this.c.phaseBarrier[gx]!]![this.c.phaseRing[gx]!]!;
  }

  /**
   * Phase insertion of on-demand local phase x in slot j, for a vehicle arriving at a. x starts
   * as late as it can and still be green when the vehicle arrives: the phases before it in its
   * segment are cut (from the nearest back, to their floors, never before now, by at most
   * maxCutS in all), the phases after it make room for its green and clearances, and the
   * segment keeps its length, so the cycle and offset stand. The phases cut are paid back over the next compensationCycles by the
   * others of the segment. Returns when x is green for the vehicle (absolute s), NaN if it
   * cannot run in that cycle. Edits w; the caller discards it on NaN.
   */
  private insert(i: number, w: Slot[], j: number, x: number, a: number, margin: number, nowS: number, maxCutS: number): number {
    const c = this.c;
    const s = w[j]!;
    const l = s.layout;
    if (l.greenS[x]! > 0) return Number.NaN; // already inserted in this cycle
    const seq = this.segmentOf(i, x);
    const xi = seq.indexOf(x);
    const dur = (k: number): number => l.greenS[k]! + l.yellowS[k]! + l.allRedS[k]!;
    const regular = (k: number): boolean => c.phaseOnDemand[this.g(i, k)] === 0;
    const segStart = s.startS + l.startS[seq[0]!]!;
    let segEnd = segStart;
    for (const k of seq) segEnd += dur(k);
    // Where x stands now (the end of the phases before it) and the earliest it could start.
    let preEnd = segStart;
    let preMinEnd = segStart;
    for (let q = 0; q < xi; q++) {
      const k = seq[q]!;
      preEnd += dur(k);
      const f = regular(k) ? this.frozenFloor(i, s, k, nowS) : Number.POSITIVE_INFINITY;
      preMinEnd += Number.isFinite(f) ? Math.min(l.greenS[k]!, f) + l.yellowS[k]! + l.allRedS[k]! : dur(k);
    }
    // Cutting the phases before x is a red truncation for the vehicle: the early-green limit bounds it.
    const cut = round1(Math.min(floor10(preEnd - preMinEnd), maxCutS, Math.max(0, preEnd - a)));
    const startS = preEnd - cut;
    if (startS < nowS + NOW_GUARD_S) return Number.NaN; // its place in this cycle has passed
    const gx = this.g(i, x);
    const greenAtS = Math.max(a, startS);
    // At least minInsertedGreenS: on a lane it shares with cars, the queue ahead of the bus must clear.
    let greenS = Math.max(greenFloorS(c, gx), this.config.limits.minInsertedGreenS, ceil10(greenAtS + margin - startS));
    const clearS = c.phaseYellowS[gx]! + c.phaseAllRedS[gx]!;
    // The phases after x: none have started (x is still ahead).
    let postS = 0;
    let postMinS = 0;
    let lastPost = -1;
    for (let q = xi + 1; q < seq.length; q++) {
      const k = seq[q]!;
      postS += dur(k);
      if (!regular(k)) postMinS += dur(k);
      else {
        postMinS += this.floorS(i, k) + l.yellowS[k]! + l.allRedS[k]!;
        lastPost = k;
      }
    }
    const roomS = round1(segEnd - startS - greenS - clearS);
    if (lastPost < 0) greenS = round1(greenS + roomS - postS); // x runs on to the end of its segment
    else if (roomS < postMinS - EPS) return Number.NaN;
    if (greenS > Math.max(c.phaseMaxGreenS[gx]!, greenFloorS(c, gx)) + EPS || greenS < greenFloorS(c, gx) - EPS) return Number.NaN;

    const before = l.greenS.slice();
    let left = cut;
    for (let q = xi - 1; q >= 0 && left > 1e-9; q--) {
      const k = seq[q]!;
      if (!regular(k)) continue;
      const f = this.frozenFloor(i, s, k, nowS);
      if (!Number.isFinite(f)) break;
      const take = Math.min(left, floor10(Math.max(0, l.greenS[k]! - f)));
      l.greenS[k] = round1(l.greenS[k]! - take);
      left = round1(left - take);
    }
    if (left > 1e-9) return Number.NaN;
    if (lastPost >= 0) {
      let change = round1(roomS - postS); // > 0: the phases after x gain; < 0: they give
      if (change > 0) l.greenS[lastPost] = round1(l.greenS[lastPost]! + change);
      for (let q = seq.length - 1; q > xi && change < -1e-9; q--) {
        const k = seq[q]!;
        if (!regular(k)) continue;
        const take = Math.min(-change, floor10(Math.max(0, l.greenS[k]! - this.floorS(i, k))));
        l.greenS[k] = round1(l.greenS[k]! - take);
        change = round1(change + take);
      }
      if (change < -1e-9) return Number.NaN;
    }
    l.greenS[x] = greenS;
    l.yellowS[x] = c.phaseYellowS[gx]!;
    l.allRedS[x] = c.phaseAllRedS[gx]!;
    if (!this.retileFrom(i, w, j)) return Number.NaN;

    // Compensation: in the next cycles the phases of the segment that lost nothing give time,
    // down to their floors, to those that lost; the segment's length, so the cycle, stays.
    const owed = new Float64Array(before.length);
    for (const k of seq) if (k !== x && regular(k)) owed[k] = Math.max(0, round1(before[k]! - l.greenS[k]!));
    for (let cj = j + 1; cj < Math.min(w.length, j + 1 + this.config.limits.compensationCycles); cj++) {
      const nl = w[cj]!.layout;
      let room = 0;
      let due = 0;
      for (const k of seq) {
        if (!regular(k)) continue;
        if (owed[k]! > 0) due += owed[k]!;
        else room += Math.max(0, nl.greenS[k]! - this.floorS(i, k));
      }
      let give = floor10(Math.min(due, room));
      if (give <= 0) break;
      for (const k of seq) {
        if (!regular(k) || owed[k]! > 0 || give <= 1e-9) continue;
        const take = Math.min(give, floor10(Math.max(0, nl.greenS[k]! - this.floorS(i, k))));
        nl.greenS[k] = round1(nl.greenS[k]! - take);
        give = round1(give - take);
        let handOut = take;
        for (const o of seq) {
          if (handOut <= 1e-9) break;
          const add = Math.min(handOut, owed[o]!);
          if (add <= 0) continue;
          nl.greenS[o] = round1(nl.greenS[o]! + add);
          owed[o] = round1(owed[o]! - add);
          handOut = round1(handOut - add);
        }
        nl.greenS[k] = round1(nl.greenS[k]! + handOut); // nothing was owed any more (rounding)
      }
    }
    return this.retileFrom(i, w, j + 1) ? greenAtS : Number.NaN;
  }

  /** How much barrier b of a layout can shrink (every ring alike), s. */
  private barrierRoom(i: number, l: CycleLayout, b: number): number {
    const c = this.c;
    let room = Number.POSITIVE_INFINITY;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      let ra = 0;
      for (const k of this.adjustable[i]![b]![r]!) ra += Math.max(0, l.greenS[k]! - this.floorS(i, k));
      room = Math.min(room, ra);
    }
    return Number.isFinite(room) ? room : 0;
  }

  /** Shrinks barrier b by d in every ring (the preferred phase first, then from the ring's end). Caller checked room. */
  private shrinkBarrier(i: number, l: CycleLayout, b: number, d: number, prefer: number): void {
    const c = this.c;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      const ring = this.adjustable[i]![b]![r]!;
      const order = [...ring.filter((k) => k === prefer), ...ring.filter((k) => k !== prefer).reverse()];
      let left = d;
      for (const k of order) {
        if (left <= 1e-9) break;
        const cut = Math.min(left, floor10(Math.max(0, l.greenS[k]! - this.floorS(i, k))));
        l.greenS[k] = round1(l.greenS[k]! - cut);
        left = round1(left - cut);
      }
    }
  }

  /**
   * Brings the end of the window back onto the coordination grid by changing
   * the cycles from `fromSlot` on (each by at most maxRecoveryShare of the
   * cycle, within maxRecoveryCycles). Shrinking takes from the priority
   * phase's barrier first (it pays back its extension), then the others.
   */
  private recover(i: number, w: Slot[], fromSlot: number, pl: number): boolean {
    const c = this.c;
    const lim = this.config.limits;
    const C = this.base[i]!.cycleS;
    const O = this.offsetS[i]!;
    let end = w[0]!.startS;
    for (const s of w) end += s.layout.cycleS;
    let drift = round1(mod(end - O + C / 2, C) - C / 2);
    const pBarrier = pl >= 0 ? c.phaseBarrier[this.g(i, pl)]! : -1;
    for (let j = fromSlot; j < w.length && j < fromSlot + lim.maxRecoveryCycles && Math.abs(drift) > 0.05; j++) {
      const l = w[j]!.layout;
      const cap = floor10(lim.maxRecoveryShare * C);
      if (drift > 0) {
        let left = Math.min(drift, cap);
        const barriers = [...(pBarrier >= 0 ? [pBarrier] : []), ...Array.from({ length: c.barrierCount[i]! }, (_, b) => b).filter((b) => b !== pBarrier)];
        for (const b of barriers) {
          if (left <= 0.05) break;
          const take = floor10(Math.min(left, this.barrierRoom(i, l, b)));
          if (take <= 0) continue;
          this.shrinkBarrier(i, l, b, take, pl);
          left = round1(left - take);
          drift = round1(drift - take);
        }
      } else {
        const add = Math.min(-drift, cap);
        let b = c.barrierCount[i]! > 1 && pBarrier === 0 ? 1 : pBarrier === 0 || pBarrier < 0 ? (c.barrierCount[i]! > 1 ? 1 : 0) : 0;
        // An inserted stage's barrier has nothing to lengthen; validation leaves a barrier that does.
        if (this.adjustable[i]![b]!.some((ring) => ring.length === 0)) b = this.adjustable[i]!.findIndex((barrier) => barrier.every((ring) => ring.length > 0));
        for (let r = 0; r < c.ringCount[i]!; r++) {
          const ring = this.adjustable[i]![b]![r]!;
          const k = ring[ring.length - 1]!;
          l.greenS[k] = round1(l.greenS[k]! + add);
        }
        drift = round1(drift + add);
      }
      if (!retile(c, i, l, this.rings[i])) return false;
    }
    if (Math.abs(drift) > 0.05) return false;
    // Re-chain the slot starts.
    let s = w[0]!.startS;
    for (const slot of w) {
      slot.startS = s;
      s += slot.layout.cycleS;
    }
    return true;
  }

  private retileFrom(i: number, w: Slot[], j: number): boolean {
    for (let q = j; q < w.length; q++) if (!retile(this.c, i, w[q]!.layout, this.rings[i])) return false;
    let s = w[0]!.startS;
    for (const slot of w) {
      slot.startS = s;
      s += slot.layout.cycleS;
    }
    return true;
  }

  private validateSlots(i: number, w: Slot[], issues?: IssueList): boolean {
    for (const s of w) if (!validateLayout(this.c, i, s.layout, this.offsetS[i]!, this.scratch, issues)) return false;
    // The window must end on the coordination grid.
    const last = w[w.length - 1]!;
    const C = this.base[i]!.cycleS;
    const d = mod(last.startS + last.layout.cycleS - this.offsetS[i]!, C);
    if (d > 0.05 && C - d > 0.05) {
      issues?.add(`plan[${this.c.intersectionIds[i]}].offsetS`, `adjusted cycles end ${round1(d)} s off the coordination grid`);
      return false;
    }
    return true;
  }

  private commit(i: number, w: Slot[]): boolean {
    if (!this.validateSlots(i, w)) {
      this.unsafeRejections++;
      return false;
    }
    // Trailing cycles equal to the base plan are dropped; the rest is the override.
    let n = w.length;
    while (n > 0 && sameLayout(w[n - 1]!.layout, this.base[i]!)) n--;
    this.overrides[i] = n === 0 ? undefined : { startS: w[0]!.startS, layouts: w.slice(0, n).map((s) => s.layout) };
    this.revision[i] = this.revision[i]! + 1;
    return true;
  }
}

function key(vehicleId: string, i: number): string {
  return `${vehicleId}\u0000${i}`;
}

function className(p: PriorityClass): string {
  return p === PriorityClass.Emergency ? 'emergency' : p === PriorityClass.Bus ? 'bus' : 'other';
}

function ceil10(x: number): number {
  return Math.ceil(x * 10 - 1e-6) / 10;
}
function floor10(x: number): number {
  return Math.floor(x * 10 + 1e-6) / 10;
}
