/**
 * Getting an adjusted schedule back onto the coordination grid: `recover` (the strategies
 * of ./strategies.ts call it after their edit, TspController in ./tsp.ts through
 * revertedFuture) shortens or lengthens the following cycles until the window ends on the
 * base plan's offset; `revertedFuture` is the schedule with a withdrawn grant taken out.
 * barrierRoom / shrinkBarrier are how a barrier gives time back, shared with early green's
 * compensation.
 */
import { mod, round1 } from '../numeric.js';
import { cloneLayout, greenFloorS, retile, type CycleLayout } from './layout.js';
import { ceil10, floor10, NOW_GUARD_S, type PrioritySchedule, type Slot } from './schedule.js';

/**
 * Brings the end of the window back onto the coordination grid by changing
 * the cycles from `fromSlot` on (each by at most maxRecoveryShare of the
 * cycle, within maxRecoveryCycles). Shrinking takes from the priority
 * phase's barrier first (it pays back its extension), then the others.
 */
export function recover(sch: PrioritySchedule, i: number, w: Slot[], fromSlot: number, pl: number): boolean {
  const c = sch.c;
  const lim = sch.config.limits;
  const C = sch.base[i]!.cycleS;
  const O = sch.offsetS[i]!;
  let end = w[0]!.startS;
  for (const s of w) end += s.layout.cycleS;
  let drift = round1(mod(end - O + C / 2, C) - C / 2);
  const pBarrier = pl >= 0 ? c.phaseBarrier[sch.g(i, pl)]! : -1;
  for (let j = fromSlot; j < w.length && j < fromSlot + lim.maxRecoveryCycles && Math.abs(drift) > 0.05; j++) {
    const l = w[j]!.layout;
    const cap = floor10(lim.maxRecoveryShare * C);
    if (drift > 0) {
      let left = Math.min(drift, cap);
      const barriers = [...(pBarrier >= 0 ? [pBarrier] : []), ...Array.from({ length: c.barrierCount[i]! }, (_, b) => b).filter((b) => b !== pBarrier)];
      for (const b of barriers) {
        if (left <= 0.05) break;
        const take = floor10(Math.min(left, barrierRoom(sch, i, l, b)));
        if (take <= 0) continue;
        shrinkBarrier(sch, i, l, b, take, pl);
        left = round1(left - take);
        drift = round1(drift - take);
      }
    } else {
      const add = Math.min(-drift, cap);
      let b = c.barrierCount[i]! > 1 && pBarrier === 0 ? 1 : pBarrier === 0 || pBarrier < 0 ? (c.barrierCount[i]! > 1 ? 1 : 0) : 0;
      // An inserted stage's barrier has nothing to lengthen; validation leaves a barrier that does.
      if (sch.adjustable[i]![b]!.some((ring) => ring.length === 0)) b = sch.adjustable[i]!.findIndex((barrier) => barrier.every((ring) => ring.length > 0));
      for (let r = 0; r < c.ringCount[i]!; r++) {
        const ring = sch.adjustable[i]![b]![r]!;
        const k = ring[ring.length - 1]!;
        l.greenS[k] = round1(l.greenS[k]! + add);
      }
      drift = round1(drift + add);
    }
    if (!retile(c, i, l, sch.rings[i])) return false;
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

/** The running cycle as scheduled, then the base plan, with the offset recovered. Undefined if impossible. */
export function revertedFuture(sch: PrioritySchedule, i: number, nowS: number, n = 2 + sch.config.limits.maxRecoveryCycles): Slot[] | undefined {
  const first = sch.cycleAt(i, nowS);
  const running: Slot = { startS: first.startS, layout: cloneLayout(first.layout) };
  if (first.adjusted) {
    // Phases whose green has not ended yet go back to the base plan (not below the time they have run).
    const base = sch.base[i]!;
    for (let k = 0; k < running.layout.greenS.length; k++) {
      // Going back to the base plan cuts nothing below it: only the safety floor and the time run count.
      const f = sch.frozenFloor(i, running, k, nowS, greenFloorS(sch.c, sch.g(i, k)));
      if (!Number.isFinite(f)) continue;
      if (sch.c.phaseOnDemand[sch.g(i, k)] === 1 && running.startS + running.layout.startS[k]! > nowS + NOW_GUARD_S) {
        // An inserted phase that has not started is skipped again, as in the base plan.
        running.layout.greenS[k] = base.greenS[k]!;
        running.layout.yellowS[k] = base.yellowS[k]!;
        running.layout.allRedS[k] = base.allRedS[k]!;
      } else running.layout.greenS[k] = Math.max(base.greenS[k]!, ceil10(f));
    }
    if (!retile(sch.c, i, running.layout, sch.rings[i])) return undefined;
  }
  const out: Slot[] = [running];
  let s = running.startS + running.layout.cycleS;
  while (out.length < n) {
    out.push({ startS: s, layout: cloneLayout(sch.base[i]!) });
    s += sch.base[i]!.cycleS;
  }
  return recover(sch, i, out, 1, -1) ? out : undefined;
}

/** How much barrier b of a layout can shrink (every ring alike), s. */
export function barrierRoom(sch: PrioritySchedule, i: number, l: CycleLayout, b: number): number {
  const c = sch.c;
  let room = Number.POSITIVE_INFINITY;
  for (let r = 0; r < c.ringCount[i]!; r++) {
    let ra = 0;
    for (const k of sch.adjustable[i]![b]![r]!) ra += Math.max(0, l.greenS[k]! - sch.floorS(i, k));
    room = Math.min(room, ra);
  }
  return Number.isFinite(room) ? room : 0;
}

/** Shrinks barrier b by d in every ring (the preferred phase first, then from the ring's end). Caller checked room. */
export function shrinkBarrier(sch: PrioritySchedule, i: number, l: CycleLayout, b: number, d: number, prefer: number): void {
  const c = sch.c;
  for (let r = 0; r < c.ringCount[i]!; r++) {
    const ring = sch.adjustable[i]![b]![r]!;
    const order = [...ring.filter((k) => k === prefer), ...ring.filter((k) => k !== prefer).reverse()];
    let left = d;
    for (const k of order) {
      if (left <= 1e-9) break;
      const cut = Math.min(left, floor10(Math.max(0, l.greenS[k]! - sch.floorS(i, k))));
      l.greenS[k] = round1(l.greenS[k]! - cut);
      left = round1(left - cut);
    }
  }
}
