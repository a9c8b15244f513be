/**
 * The TSP strategies: green extension, early green (red truncation) and phase insertion,
 * each an edit of a window of cycles copied from the override schedule (./schedule.ts).
 * TspController.decide (./tsp.ts) tries every one that applies on its own copy and keeps
 * the one that saves the vehicle most time. Each keeps min greens, walk + pedestrian
 * clearance and the saturation floor (PrioritySchedule.floorS), never cuts a green to end
 * before "now", and pays the phases it cut back over `compensationCycles`; getting back
 * to the offset is ./recovery.ts. They edit the window in place; on failure the caller
 * discards it.
 */
import { round1 } from '../numeric.js';
import { greenFloorS, retile } from './layout.js';
import { barrierRoom, shrinkBarrier } from './recovery.js';
import { ceil10, EPS, floor10, NOW_GUARD_S, type PrioritySchedule, type Slot } from './schedule.js';

/** Green extension of local phase pl in slot j by d: the other rings of its barrier stretch their last phase. */
export function extend(sch: PrioritySchedule, i: number, w: Slot[], j: number, pl: number, d: number, nowS: number): boolean {
  const c = sch.c;
  const s = w[j]!;
  const b = c.phaseBarrier[sch.g(i, pl)]!;
  const r0 = c.phaseRing[sch.g(i, pl)]!;
  const touched: number[] = [pl];
  for (let r = 0; r < c.ringCount[i]!; r++) {
    if (r === r0) continue;
    const ring = sch.adjustable[i]![b]![r]!;
    if (ring.length > 0) touched.push(ring[ring.length - 1]!);
  }
  for (const k of touched) if (!Number.isFinite(sch.frozenFloor(i, s, k, nowS))) return false;
  for (const k of touched) s.layout.greenS[k] = round1(s.layout.greenS[k]! + d);
  return sch.retileFrom(i, w, j);
}

/**
 * Early green for local phase pl in slot j: truncates the barriers before its
 * barrier (walking back in time, never past the vehicle's previous green),
 * and gives the time to the phase (other rings: their first phase of the
 * barrier), so the barrier starts earlier and ends as planned. Then the
 * truncated phases get their time back over the following cycles. Returns
 * the seconds gained.
 */
export function earlyGreen(sch: PrioritySchedule, i: number, w: Slot[], j: number, pl: number, want: number, nowS: number, prevSlot: number): number {
  const c = sch.c;
  const nb = c.barrierCount[i]!;
  const nr = c.ringCount[i]!;
  const B = c.phaseBarrier[sch.g(i, pl)]!;
  const r0 = c.phaseRing[sch.g(i, pl)]!;
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
      const ring = sch.adjustable[i]![sb]![r]!;
      rings.push(ring);
      let ra = 0;
      let blocked = false;
      for (let q = ring.length - 1; q >= 0; q--) {
        const k = ring[q]!;
        const f = sch.frozenFloor(i, s, k, nowS);
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
          const f = sch.frozenFloor(i, s, k, nowS);
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
    const ring = sch.adjustable[i]![B]![r]!;
    if (ring.length === 0) continue;
    const k = r === r0 ? pl : ring[0]!;
    target.layout.greenS[k] = round1(target.layout.greenS[k]! + got);
  }
  if (!sch.retileFrom(i, w, 0)) return 0;
  // Compensation: the priority barrier pays the truncated phases back over the next cycles.
  let owed = 0;
  const owedPerPhase = new Float64Array(target.layout.greenS.length);
  for (const l of loss.values()) for (let k = 0; k < l.length; k++) owedPerPhase[k] = owedPerPhase[k]! + l[k]!;
  for (let k = 0; k < owedPerPhase.length; k++) owed += owedPerPhase[k]!;
  owed /= nr; // per ring
  for (let cj = j + 1; cj < Math.min(w.length, j + 1 + sch.config.limits.compensationCycles) && owed > 0.05; cj++) {
    const s = w[cj]!;
    const give = floor10(Math.min(owed, barrierRoom(sch, i, s.layout, B)));
    if (give <= 0) continue;
    shrinkBarrier(sch, i, s.layout, B, give, pl);
    // Hand it back barrier by barrier, to the phases that lost time.
    let left = give;
    for (let b = 0; b < nb && left > 1e-9; b++) {
      if (b === B) continue;
      let perRing = Number.POSITIVE_INFINITY;
      for (let r = 0; r < nr; r++) {
        let lost = 0;
        for (const k of sch.adjustable[i]![b]![r]!) lost += owedPerPhase[k]!;
        perRing = Math.min(perRing, lost);
      }
      const amt = Math.min(left, floor10(perRing));
      if (amt <= 0) continue;
      for (let r = 0; r < nr; r++) {
        let rest = amt;
        for (const k of sch.adjustable[i]![b]![r]!) {
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
        const rp = sch.adjustable[i]![B]![r]!;
        const k = r === r0 ? pl : rp[0]!;
        s.layout.greenS[k] = round1(s.layout.greenS[k]! + left);
      }
    }
    owed = round1(owed - (give - left));
    retile(c, i, s.layout, sch.rings[i]);
  }
  return got;
}

/**
 * The phases that share one cycle's time with on-demand phase x, in run order: x's ring in its
 * barrier (other rings must still meet it at the barrier), or the whole ring of a single-ring signal.
 */
export function segmentOf(sch: PrioritySchedule, i: number, x: number): readonly number[] {
  const gx = sch.g(i, x);
  if (sch.c.ringCount[i] === 1) return sch.rings[i]!.flatMap((barrier) => barrier[0]!);
  return sch.rings[i]![sch.c.phaseBarrier[gx]!]![sch.c.phaseRing[gx]!]!;
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
export function insert(sch: PrioritySchedule, i: number, w: Slot[], j: number, x: number, a: number, margin: number, nowS: number, maxCutS: number): number {
  const c = sch.c;
  const s = w[j]!;
  const l = s.layout;
  if (l.greenS[x]! > 0) return Number.NaN; // already inserted in this cycle
  const seq = segmentOf(sch, i, x);
  const xi = seq.indexOf(x);
  const dur = (k: number): number => l.greenS[k]! + l.yellowS[k]! + l.allRedS[k]!;
  const regular = (k: number): boolean => c.phaseOnDemand[sch.g(i, k)] === 0;
  const segStart = s.startS + l.startS[seq[0]!]!;
  let segEnd = segStart;
  for (const k of seq) segEnd += dur(k);
  // Where x stands now (the end of the phases before it) and the earliest it could start.
  let preEnd = segStart;
  let preMinEnd = segStart;
  for (let q = 0; q < xi; q++) {
    const k = seq[q]!;
    preEnd += dur(k);
    const f = regular(k) ? sch.frozenFloor(i, s, k, nowS) : Number.POSITIVE_INFINITY;
    preMinEnd += Number.isFinite(f) ? Math.min(l.greenS[k]!, f) + l.yellowS[k]! + l.allRedS[k]! : dur(k);
  }
  // Cutting the phases before x is a red truncation for the vehicle: the early-green limit bounds it.
  const cut = round1(Math.min(floor10(preEnd - preMinEnd), maxCutS, Math.max(0, preEnd - a)));
  const startS = preEnd - cut;
  if (startS < nowS + NOW_GUARD_S) return Number.NaN; // its place in this cycle has passed
  const gx = sch.g(i, x);
  const greenAtS = Math.max(a, startS);
  // At least minInsertedGreenS: on a lane it shares with cars, the queue ahead of the bus must clear.
  let greenS = Math.max(greenFloorS(c, gx), sch.config.limits.minInsertedGreenS, ceil10(greenAtS + margin - startS));
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
      postMinS += sch.floorS(i, k) + l.yellowS[k]! + l.allRedS[k]!;
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
    const f = sch.frozenFloor(i, s, k, nowS);
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
      const take = Math.min(-change, floor10(Math.max(0, l.greenS[k]! - sch.floorS(i, k))));
      l.greenS[k] = round1(l.greenS[k]! - take);
      change = round1(change + take);
    }
    if (change < -1e-9) return Number.NaN;
  }
  l.greenS[x] = greenS;
  l.yellowS[x] = c.phaseYellowS[gx]!;
  l.allRedS[x] = c.phaseAllRedS[gx]!;
  if (!sch.retileFrom(i, w, j)) return Number.NaN;

  // Compensation: in the next cycles the phases of the segment that lost nothing give time,
  // down to their floors, to those that lost; the segment's length, so the cycle, stays.
  const owed = new Float64Array(before.length);
  for (const k of seq) if (k !== x && regular(k)) owed[k] = Math.max(0, round1(before[k]! - l.greenS[k]!));
  for (let cj = j + 1; cj < Math.min(w.length, j + 1 + sch.config.limits.compensationCycles); cj++) {
    const nl = w[cj]!.layout;
    let room = 0;
    let due = 0;
    for (const k of seq) {
      if (!regular(k)) continue;
      if (owed[k]! > 0) due += owed[k]!;
      else room += Math.max(0, nl.greenS[k]! - sch.floorS(i, k));
    }
    let give = floor10(Math.min(due, room));
    if (give <= 0) break;
    for (const k of seq) {
      if (!regular(k) || owed[k]! > 0 || give <= 1e-9) continue;
      const take = Math.min(give, floor10(Math.max(0, nl.greenS[k]! - sch.floorS(i, k))));
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
  return sch.retileFrom(i, w, j + 1) ? greenAtS : Number.NaN;
}
