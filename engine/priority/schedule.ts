/**
 * The override schedule of the TSP controller (./tsp.ts owns one; the strategies in
 * ./strategies.ts and ./recovery.ts edit windows of it): per intersection, the base cycle
 * layout and an optional run of adjusted cycles (an "override") that starts at a cycle
 * boundary and ends back on the base coordination grid. It answers which cycle runs
 * when, what each phase may be cut to, and commits a window of edited cycles only if
 * every one passes the safety validator and the window ends on the grid.
 * Times are absolute seconds on the caller's clock; cycle k of the base plan starts at
 * offset + k·cycle.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { createPlanBuffer } from '../timing/planner.js';
import type { IssueList } from '../errors.js';
import { mod, round1 } from '../numeric.js';
import { cloneLayout, greenFloorS, layoutFromPlan, retile, ringOrder, sameLayout, validateLayout, type CycleLayout, type RingOrder } from './layout.js';
import type { PriorityConfig } from './policy.js';

/** One cycle of a window being decided: where it starts (absolute s) and its layout. */
export interface Slot {
  startS: number;
  layout: CycleLayout;
}

interface Override {
  readonly startS: number;
  readonly layouts: CycleLayout[];
}

/** Float slack when comparing schedule times, s. */
export const EPS = 1e-6;
/** A green that is running may not be cut to end sooner than this after "now", s. */
export const NOW_GUARD_S = 0.5;

/** x rounded up to the 0.1 s a controller times in (a hair of float noise does not round up). */
export function ceil10(x: number): number {
  return Math.ceil(x * 10 - 1e-6) / 10;
}
/** x rounded down to 0.1 s (a hair of float noise does not round down). */
export function floor10(x: number): number {
  return Math.floor(x * 10 + 1e-6) / 10;
}

export class PrioritySchedule {
  base: CycleLayout[] = [];
  /** Per intersection, the base plan's ring order (every layout derived from it keeps it). */
  rings: RingOrder[] = [];
  /**
   * The same without on-demand phases: what extension, early green, recovery and
   * compensation may lengthen or cut. Only phase insertion gives an on-demand phase
   * time, and nothing else may stretch a skipped one into a green below its minimum.
   */
  adjustable: RingOrder[] = [];
  offsetS = new Float64Array(0);
  /** Per global phase: base green × planned v/c ÷ maxDegreeOfSaturation (0 where no demand is known). */
  private saturationFloorS = new Float64Array(0);
  private readonly overrides: (Override | undefined)[];
  private readonly scratch: PlanBuffer;
  /** Increments per intersection whenever its schedule changes. */
  readonly revision: Uint32Array;

  constructor(
    readonly c: CompiledNetwork,
    readonly config: PriorityConfig,
  ) {
    this.overrides = new Array(c.intersectionCount).fill(undefined);
    this.revision = new Uint32Array(c.intersectionCount);
    this.scratch = createPlanBuffer(c);
  }

  /** A new coordinated plan: drops every adjustment. */
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
      this.revision[i] = this.revision[i]! + 1;
    }
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
  scheduleFrom(i: number, tS: number, n: number): readonly Readonly<Slot>[] {
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

  /**
   * When local phase pl is next green at or after a, over the n cycles scheduleFrom(i, tS, n)
   * would list (NaN if none). Walks the schedule without building it: conflict and lockout
   * denials, the commonest answers under load, need nothing else from it.
   */
  nextGreen(i: number, tS: number, n: number, pl: number, a: number): number {
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

  /** Global phase of local index k. */
  g(i: number, k: number): number {
    return this.c.phaseStart[i]! + k;
  }

  /**
   * The least green priority may leave local phase k: its safety floor (minimum green, walk +
   * pedestrian clearance), and the green that keeps its planned demand at or under
   * maxDegreeOfSaturation, so that priority does not tip a busy phase into a lasting queue.
   */
  floorS(i: number, k: number): number {
    const p = this.g(i, k);
    return Math.max(greenFloorS(this.c, p), this.saturationFloorS[p]!);
  }

  /**
   * The least green local phase k may be cut to in slot s, s: its floor, and once it has
   * started, no less than it has run plus NOW_GUARD_S (a cut never ends a green in the past).
   * +Infinity (untouchable) if its green has ended or is about to.
   */
  frozenFloor(i: number, s: Slot, k: number, nowS: number, floor = this.floorS(i, k)): number {
    const gs = s.startS + s.layout.startS[k]!;
    const ge = gs + s.layout.greenS[k]!;
    if (ge <= nowS + NOW_GUARD_S) return Number.POSITIVE_INFINITY; // ended (or about to): untouchable
    return gs < nowS ? Math.max(floor, nowS + NOW_GUARD_S - gs) : floor;
  }

  /** Re-lays the cycles of window w from slot j on after their greens changed, and re-chains the slot starts. */
  retileFrom(i: number, w: Slot[], j: number): boolean {
    for (let q = j; q < w.length; q++) if (!retile(this.c, i, w[q]!.layout, this.rings[i])) return false;
    let s = w[0]!.startS;
    for (const slot of w) {
      slot.startS = s;
      s += slot.layout.cycleS;
    }
    return true;
  }

  /** Every cycle of window w passes the safety validator and the window ends on the coordination grid. */
  validateSlots(i: number, w: Slot[], issues?: IssueList): boolean {
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

  /** Makes window w the schedule from its start on; false, and nothing changes, if it fails validateSlots. */
  commit(i: number, w: Slot[]): boolean {
    if (!this.validateSlots(i, w)) return false;
    // Trailing cycles equal to the base plan are dropped; the rest is the override.
    let n = w.length;
    while (n > 0 && sameLayout(w[n - 1]!.layout, this.base[i]!)) n--;
    this.overrides[i] = n === 0 ? undefined : { startS: w[0]!.startS, layouts: w.slice(0, n).map((s) => s.layout) };
    this.revision[i] = this.revision[i]! + 1;
    return true;
  }

  /** Forgets intersection i's override once it has run out at `nowS`. */
  dropExpired(i: number, nowS: number): void {
    const ov = this.overrides[i];
    if (ov) {
      let end = ov.startS;
      for (const l of ov.layouts) end += l.cycleS;
      if (nowS >= end) this.overrides[i] = undefined;
    }
  }
}
