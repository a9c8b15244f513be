/**
 * One cycle of one intersection's timing, in local phase order, as the TSP
 * controller edits it: greens change, then `retile` lays the phases back to
 * back ring by ring and barrier by barrier (rings meeting at each barrier), and
 * `validateLayout` runs the engine's one safety validator on the result.
 */
import type { CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import type { IssueList } from '../errors.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { mod } from '../numeric.js';
import { compareRunOrder } from '../timing/runOrder.js';

export interface CycleLayout {
  cycleS: number;
  /** Per local phase (global index − phaseStart[i]). */
  readonly startS: Float64Array;
  readonly greenS: Float64Array;
  readonly yellowS: Float64Array;
  readonly allRedS: Float64Array;
}

export function layoutFromPlan(c: CompiledNetwork, i: number, plan: PlanBuffer): CycleLayout {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  return {
    cycleS: plan.cycleS[i]!,
    startS: plan.phaseStartS.slice(p0, p1),
    greenS: plan.phaseGreenS.slice(p0, p1),
    yellowS: plan.phaseYellowS.slice(p0, p1),
    allRedS: plan.phaseAllRedS.slice(p0, p1),
  };
}

export function cloneLayout(l: CycleLayout): CycleLayout {
  return { cycleS: l.cycleS, startS: l.startS.slice(), greenS: l.greenS.slice(), yellowS: l.yellowS.slice(), allRedS: l.allRedS.slice() };
}

export function sameLayout(a: CycleLayout, b: CycleLayout): boolean {
  if (Math.abs(a.cycleS - b.cycleS) > 1e-9) return false;
  for (let k = 0; k < a.greenS.length; k++) {
    if (Math.abs(a.greenS[k]! - b.greenS[k]!) > 1e-9 || Math.abs(a.startS[k]! - b.startS[k]!) > 1e-9) return false;
  }
  return true;
}

/** Local phases of barrier b, ring r, in run order (compareRunOrder over `order`; a lagging left runs after its through). */
export function ringPhases(c: CompiledNetwork, i: number, b: number, r: number, order: CycleLayout): number[] {
  const p0 = c.phaseStart[i]!;
  const out: number[] = [];
  for (let p = p0; p < c.phaseStart[i + 1]!; p++) if (c.phaseBarrier[p] === b && c.phaseRing[p] === r) out.push(p - p0);
  const duration = (k: number): number => order.greenS[k]! + order.yellowS[k]! + order.allRedS[k]!;
  return out.sort((x, y) => compareRunOrder(order.startS[x]!, duration(x), x, order.startS[y]!, duration(y), y));
}

/**
 * Local phases per barrier and ring in run order ([barrier][ring]), as ringPhases gives
 * them for `order`. retile keeps each ring's run order, so every layout the TSP
 * controller derives from a base plan shares the base plan's order: it computes this
 * once per plan instead of allocating and sorting on every retile (the request path).
 */
export type RingOrder = readonly (readonly (readonly number[])[])[];

export function ringOrder(c: CompiledNetwork, i: number, order: CycleLayout): RingOrder {
  return Array.from({ length: c.barrierCount[i]! }, (_, b) => Array.from({ length: c.ringCount[i]! }, (_, r) => ringPhases(c, i, b, r, order)));
}

/** Lowest green a phase may run: minimum green, and walk + pedestrian clearance when it has a crosswalk. */
export function greenFloorS(c: CompiledNetwork, globalPhase: number): number {
  return Math.max(c.phaseMinGreenS[globalPhase]!, c.phasePedestrianS[globalPhase]!);
}

/**
 * Recomputes phase starts (keeping each ring's run order) and the cycle from the greens.
 * False if the rings do not meet. `order`: the ring order of `l` when the caller knows it
 * (ringOrder of the layout it was derived from); otherwise it is read from `l`'s starts.
 */
export function retile(c: CompiledNetwork, i: number, l: CycleLayout, order?: RingOrder): boolean {
  let t = 0;
  let ok = true;
  for (let b = 0; b < c.barrierCount[i]!; b++) {
    let end = -1;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      let s = t;
      for (const k of order ? order[b]![r]! : ringPhases(c, i, b, r, l)) {
        l.startS[k] = round6(s);
        s += l.greenS[k]! + l.yellowS[k]! + l.allRedS[k]!;
      }
      if (end < 0) end = s;
      else if (Math.abs(end - s) > 1e-6) ok = false;
    }
    t = end < 0 ? t : end;
  }
  l.cycleS = round6(t);
  return ok;
}

/** Writes a layout (local phase order) into intersection i of a plan buffer, at `offsetS`. */
export function writeLayout(c: CompiledNetwork, i: number, l: CycleLayout, offsetS: number, into: PlanBuffer): void {
  const p0 = c.phaseStart[i]!;
  into.cycleS[i] = l.cycleS;
  into.offsetS[i] = mod(offsetS, l.cycleS);
  for (let k = 0; k < l.greenS.length; k++) {
    into.phaseStartS[p0 + k] = l.startS[k]!;
    into.phaseGreenS[p0 + k] = l.greenS[k]!;
    into.phaseYellowS[p0 + k] = l.yellowS[k]!;
    into.phaseAllRedS[p0 + k] = l.allRedS[k]!;
  }
}

/** Runs the safety validator on a layout (written into `scratch` for intersection i). */
export function validateLayout(c: CompiledNetwork, i: number, l: CycleLayout, offsetS: number, scratch: PlanBuffer, issues?: IssueList): boolean {
  writeLayout(c, i, l, offsetS, scratch);
  return validateIntersectionPlan(c, i, scratch, issues);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
