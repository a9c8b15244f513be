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
 *
 * This module is the arbitration: open requests, grants, lockout, and the choice among
 * candidates. The schedule it edits is ./schedule.ts, the strategies ./strategies.ts,
 * getting back to the offset ./recovery.ts. Callers: the service (service/server.ts),
 * the simulator's transit (simulator/transit.ts), the controllers' priority link.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { IssueList, formatIssues } from '../errors.js';
import { round1 } from '../numeric.js';
import { cloneLayout, type CycleLayout } from './layout.js';
import { compareRequests, ineligibility, PriorityClass, type PriorityConfig } from './policy.js';
import { recover, revertedFuture } from './recovery.js';
import { ceil10, EPS, PrioritySchedule, type Slot } from './schedule.js';
import { earlyGreen, extend, insert } from './strategies.js';

export type Strategy = 'none' | 'greenExtension' | 'earlyGreen' | 'phaseInsertion' | 'preemption';
export type Reason = 'granted' | 'alreadyGreen' | 'notEligible' | 'lockout' | 'conflict' | 'noRoom' | 'tooFar' | 'unsafe' | 'movementNotServed' | 'preempted';

export interface TspRequest {
  readonly vehicleId: string;
  readonly routeId: string;
  readonly tripId: string;
  readonly intersection: number;
  /** Movement index: movementIndex(approach, turn) of engine/network/geometry.ts. */
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
  /** The strategy last reported to the event sink ('none' before any grant). */
  logged: Strategy;
}

/**
 * Told of each request's life in the Indiana high-resolution codes (engine/events/codes.ts):
 * 112 check-in (a new request), 113 early green (a grant by early green or phase insertion:
 * the bus's green comes sooner), 114 extend green (a grant by green extension), 115 check-out
 * (cancelled, or forgotten 600 s after its arrival time). 113/114 are reported when the
 * adjustment is committed to the schedule (the decision), and again only if a later update
 * changes the strategy; a preemption is not TSP and reports no 113/114. `requestNumber` is
 * 1..255 (the Indiana parameter is one byte), rolling over. A new base plan drops open requests
 * without a 115 (there is no time to give it).
 */
export type TspEventSink = (intersection: number, code: number, requestNumber: number, tS: number) => void;

const TSP_CHECK_IN = 112;
const TSP_EARLY_GREEN = 113;
const TSP_EXTEND_GREEN = 114;
const TSP_CHECK_OUT = 115;
const requestNumber = (seq: number): number => ((seq - 1) % 255) + 1;

interface ActiveGrant {
  readonly key: string;
  readonly seq: number;
  readonly priorityClass: PriorityClass;
  readonly latenessS: number;
  readonly arrivalS: number;
  readonly lockoutUntilS: number;
}

/** Tie-break between candidates that save the same time. */
const STRATEGY_RANK: Readonly<Record<Strategy, number>> = { greenExtension: 0, earlyGreen: 1, phaseInsertion: 2, preemption: 3, none: 4 };

export class TspController {
  /** The base plan and the committed adjustments, per intersection. */
  private readonly schedule: PrioritySchedule;
  private readonly active: (ActiveGrant | undefined)[];
  private readonly open = new Map<string, OpenRequest>();
  /** Open requests per owner (kept with `open`: addOpen / dropOpen are the only writers). */
  private readonly openByOwner = new Map<string, number>();
  private seq = 0;
  /** Increments per intersection whenever its schedule changes (the schedule's own counter). */
  readonly revision: Uint32Array;
  /** Decisions that were rejected by the safety validator (should stay 0; for tests and metrics). */
  unsafeRejections = 0;
  /** When stale open requests were last swept; the sweep walks every open request, so not on every call. */
  private lastSweepS = -Infinity;
  /** Where TSP events go (the simulator's event log: simulator/events.ts); undefined = none. */
  events: TspEventSink | undefined = undefined;

  constructor(
    private readonly c: CompiledNetwork,
    plan: PlanBuffer,
    readonly config: PriorityConfig,
  ) {
    this.schedule = new PrioritySchedule(c, config);
    this.active = new Array(c.intersectionCount).fill(undefined);
    this.revision = this.schedule.revision;
    this.setBasePlan(plan);
  }

  /** A new coordinated plan: drops every adjustment and open request. */
  setBasePlan(plan: PlanBuffer): void {
    this.schedule.setBasePlan(plan);
    this.active.fill(undefined);
    this.open.clear();
    this.openByOwner.clear();
  }

  baseLayout(i: number): CycleLayout {
    return this.schedule.baseLayout(i);
  }

  /** The cycle running at time t: its start and layout, and whether it is adjusted. */
  cycleAt(i: number, tS: number): { startS: number; layout: CycleLayout; adjusted: boolean } {
    return this.schedule.cycleAt(i, tS);
  }

  /** `n` consecutive cycles from the one running at t, as the schedule stands (layouts are copies). */
  cyclesFrom(i: number, tS: number, n: number): Slot[] {
    return this.schedule.cyclesFrom(i, tS, n);
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

  /** Every open request (vehicle, intersection, owner, expected arrival, latest decision), in no set order; for watchers, not the call path. */
  *openRequests(): Generator<{ readonly vehicleId: string; readonly intersection: number; readonly owner: string; readonly arrivalS: number; readonly decision: TspDecision }> {
    for (const [k, o] of this.open) yield { vehicleId: k.slice(0, k.lastIndexOf('\u0000')), intersection: intersectionOfKey(k), owner: o.owner, arrivalS: o.arrivalS, decision: o.decision };
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
    const entry = existing ?? { arrivalS: req.arrivalS, seq, decision, owner: req.owner ?? '', logged: 'none' as Strategy };
    entry.arrivalS = req.arrivalS;
    entry.decision = decision;
    this.addOpen(k, entry);
    const sink = this.events;
    if (sink) {
      if (!existing) sink(req.intersection, TSP_CHECK_IN, requestNumber(seq), nowS);
      const st = decision.granted ? decision.strategy : 'none';
      if (st !== entry.logged && (st === 'greenExtension' || st === 'earlyGreen' || st === 'phaseInsertion')) {
        sink(req.intersection, st === 'greenExtension' ? TSP_EXTEND_GREEN : TSP_EARLY_GREEN, requestNumber(seq), nowS);
        entry.logged = st;
      }
    }
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
    const seq = this.open.get(k)?.seq;
    if (!this.dropOpen(k)) return { found: false, withdrawn: false };
    if (this.events && seq !== undefined) this.events(i, TSP_CHECK_OUT, requestNumber(seq), nowS);
    const a = this.active[i];
    if (!a || a.key !== k) return { found: true, withdrawn: false };
    this.active[i] = undefined;
    if (nowS >= a.arrivalS) return { found: true, withdrawn: false };
    const slots = revertedFuture(this.schedule, i, nowS);
    if (!slots || !this.commit(i, slots)) return { found: true, withdrawn: false };
    return { found: true, withdrawn: true };
  }

  /** The decision most recently made for an open request. */
  lastDecision(vehicleId: string, i: number): TspDecision | undefined {
    return this.open.get(key(vehicleId, i))?.decision;
  }

  private decide(req: TspRequest, seq: number, nowS: number): TspDecision {
    const c = this.c;
    const sch = this.schedule;
    const i = req.intersection;
    const lim = this.config.limits;
    this.housekeep(i, nowS);
    const p0 = c.phaseStart[i]!;
    const pl = sch.servingPhase(i, req.movement);
    const phase = pl < 0 ? -1 : p0 + pl;
    const deny = (reason: Reason, detail: string, greenAtS = Number.NaN): TspDecision => ({ granted: false, strategy: 'none', reason, detail, phase, adjustmentS: 0, savedS: 0, greenAtS });
    if (pl < 0) return deny('movementNotServed', `no phase of ${c.intersectionIds[i]} serves movement ${req.movement}`);
    const a = Math.max(req.arrivalS, nowS);
    if (a - nowS > lim.maxEtaS) return deny('tooFar', `ETA ${round1(a - nowS)} s is beyond the ${lim.maxEtaS} s horizon`);
    const emergency = req.priorityClass === PriorityClass.Emergency;
    const k = key(req.vehicleId, i);

    const C = sch.base[i]!.cycleS;
    const horizon = Math.ceil((a - nowS) / C) + 3 + lim.compensationCycles + lim.maxRecoveryCycles;
    const current = this.active[i];
    let replacing: ActiveGrant | undefined;
    if (current) {
      const inProgress = nowS < current.arrivalS + lim.passMarginS;
      if (current.key === k) replacing = current;
      else if (inProgress) {
        if (compareRequests({ priorityClass: req.priorityClass, latenessS: req.latenessS, seq }, current) < 0) replacing = current;
        else return deny('conflict', `a ${className(current.priorityClass)} request ranked higher holds ${c.intersectionIds[i]}`, sch.nextGreen(i, nowS, horizon, pl, a));
      } else if (!emergency && nowS < current.lockoutUntilS) {
        return deny('lockout', `priority was granted at ${c.intersectionIds[i]} ${round1(nowS - current.arrivalS)} s ago; locked out for ${round1(current.lockoutUntilS - nowS)} s more`, sch.nextGreen(i, nowS, horizon, pl, a));
      }
    }
    // Read-only until a candidate copies it; `reverted` below is a fresh copy of its own.
    let slots: readonly Readonly<Slot>[] = sch.scheduleFrom(i, nowS, horizon);
    let reverted: Slot[] | undefined;
    if (replacing) {
      reverted = revertedFuture(sch, i, nowS, horizon);
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
        if (extend(sch, i, w, prev, pl, need, nowS) && recover(sch, i, w, prev + 1, pl)) {
          candidates.push({ slots: w, strategy: strategyName('greenExtension'), adjustmentS: need, savedS: waitS, greenAtS: a, phase });
        } else noRoomWhy = 'the green cannot be extended (it has ended, or the offset cannot be recovered in time)';
      }
    }
    // Candidate 2: early green (red truncation) of the next window.
    {
      const w = slots.map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
      const got = earlyGreen(sch, i, w, next, pl, Math.min(ceil10(waitS), maxEarlyS), nowS, prev);
      if (got >= 1 - EPS && recover(sch, i, w, next + 1, pl)) {
        candidates.push({ slots: w, strategy: strategyName('earlyGreen'), adjustmentS: got, savedS: got, greenAtS: windows[next]!.gs - got, phase });
      } else if (!noRoomWhy) noRoomWhy = 'minimum greens and pedestrian clearances of the phases before it leave no time to truncate';
    }
    // Candidate 3: phase insertion, in the cycle the vehicle arrives in or the next one.
    const x = sch.insertablePhase(i, req.movement);
    if (x >= 0) {
      let arriving = 0;
      while (arriving + 1 < slots.length && slots[arriving + 1]!.startS <= a) arriving++;
      for (const j of [arriving, arriving + 1]) {
        if (j >= slots.length) break;
        const w = slots.map((s) => ({ startS: s.startS, layout: cloneLayout(s.layout) }));
        const greenAtS = insert(sch, i, w, j, x, a, margin, nowS, maxEarlyS);
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
    if (!sch.validateSlots(i, best.slots, issues)) {
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
    if (this.schedule.validateSlots(i, slots)) {
      this.commit(i, slots);
      if (this.active[i] === old) this.active[i] = undefined;
    }
  }

  private housekeep(i: number, nowS: number): void {
    this.schedule.dropExpired(i, nowS);
    const a = this.active[i];
    if (a && nowS >= a.lockoutUntilS && nowS >= a.arrivalS + this.config.limits.passMarginS) this.active[i] = undefined;
    // Requests are forgotten 600 s after their arrival time; sweeping once a second is precise enough.
    if (nowS - this.lastSweepS < 1) return;
    this.lastSweepS = nowS;
    for (const [k, o] of this.open) {
      if (nowS > o.arrivalS + 600 && this.dropOpen(k) && this.events) this.events(intersectionOfKey(k), TSP_CHECK_OUT, requestNumber(o.seq), nowS);
    }
  }

  /**
   * Local index of the phase serving a movement in every cycle: protected first, then permitted;
   * the longest green wins ties. On-demand phases do not count (see insertablePhase).
   */
  servingPhase(i: number, movement: number): number {
    return this.schedule.servingPhase(i, movement);
  }

  /** Local index of an on-demand phase that protects the movement (else one that permits it), −1 if none. */
  insertablePhase(i: number, movement: number): number {
    return this.schedule.insertablePhase(i, movement);
  }

  /** Commits window w as i's schedule; a window the validator refuses is counted and nothing changes. */
  private commit(i: number, w: Slot[]): boolean {
    if (this.schedule.commit(i, w)) return true;
    this.unsafeRejections++;
    return false;
  }
}

function key(vehicleId: string, i: number): string {
  return `${vehicleId}\u0000${i}`;
}

/** The intersection of an open-request key (the number after the last NUL). */
function intersectionOfKey(k: string): number {
  return Number(k.slice(k.lastIndexOf('\u0000') + 1));
}

function className(p: PriorityClass): string {
  return p === PriorityClass.Emergency ? 'emergency' : p === PriorityClass.Bus ? 'bus' : 'other';
}
