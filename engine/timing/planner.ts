/**
 * The signal timing core: from lane flows to cycle, splits and performance for
 * every intersection of a compiled network. This is the hot path (the city is
 * re-planned every interval), so it runs on the compiled typed arrays, writes
 * into a preallocated PlanBuffer and allocates nothing per intersection.
 * Called by `engine/plan.ts`, which adds validation and reporting.
 *
 * Method (Webster 1958; HCM 2010 ch. 18 and 31):
 *  - critical flow ratio y per phase = the highest lane v/s it serves;
 *  - critical path over the ring-and-barrier structure: per barrier, the ring
 *    with the highest Σy; Y and L summed over barriers;
 *  - cycle C0 = (1.5L + 5) / (1 − Y), bounded by the min/max cycle and by the
 *    time the minimum greens, pedestrian times and clearances need; at Y ≥
 *    the oversaturation threshold the cycle goes to its maximum instead;
 *  - greens proportional to y (equal degree of saturation), water-filled
 *    against min and max greens, quantized to 0.1 s without losing a tenth;
 *  - HCM uniform + incremental delay and LOS per lane.
 */
import type { CompiledNetwork } from '../network/compile.js';

export const PlanFlag = {
  /** Σy at or above the oversaturation threshold: cycle at maximum, greens balance v/c. */
  Oversaturated: 1,
  /** Cycle held at the upper bound. */
  AtMaxCycle: 2,
  /** Cycle held at the lower bound (min cycle or minimum phase times). */
  AtMinCycle: 4,
} as const;

/** Results for every intersection, phase and lane, in the compiled network's index order. */
export interface PlanBuffer {
  readonly cycleS: Float64Array;
  readonly offsetS: Float64Array;
  readonly criticalFlowRatio: Float64Array;
  readonly lostTimeS: Float64Array;
  readonly criticalVc: Float64Array;
  readonly delaySPerVeh: Float64Array;
  readonly flags: Uint8Array;
  /** Input: a cycle imposed by corridor coordination (common or half cycle); NaN lets the intersection choose. */
  readonly forcedCycleS: Float64Array;
  /** Input: bounds on a freely chosen cycle (adaptive control limits change per re-plan); NaN = none. */
  readonly cycleLimitMinS: Float64Array;
  readonly cycleLimitMaxS: Float64Array;
  /**
   * Input: 1 for a coordinated phase (the arterial through movements a corridor
   * coordinates). At a forced cycle the other phases get the green their flow needs
   * at the target degree of saturation and the slack goes to these.
   */
  readonly phaseCoordinated: Uint8Array;
  /**
   * Input: the flow ratio a phase must serve at least, for demand the network does not model (a
   * SUMO junction's fifth approach whose links follow the phase, counted by its own loops); 0 = none.
   */
  readonly phaseMinFlowRatio: Float64Array;
  readonly phaseFlowRatio: Float64Array;
  readonly phaseStartS: Float64Array;
  readonly phaseGreenS: Float64Array;
  readonly phaseYellowS: Float64Array;
  readonly phaseAllRedS: Float64Array;
  readonly laneFlowVehPerH: Float64Array;
  readonly laneCapacityVehPerH: Float64Array;
  readonly laneVc: Float64Array;
  readonly laneDelayS: Float64Array;
  /**
   * Per lane, the share of its saturation flow left when yielding lefts share it or have it to
   * themselves (1 for a lane that never yields): set by planning from the timing (see
   * `setYieldFactors`), read by the lane's capacity.
   */
  readonly laneSatFactor: Float64Array;
}

/** A deep copy (every array copied): alternatives are finished on copies of one planned buffer. */
export function clonePlanBuffer(b: PlanBuffer): PlanBuffer {
  const out: Record<string, Float64Array | Uint8Array> = {};
  for (const [k, v] of Object.entries(b) as [string, Float64Array | Uint8Array][]) out[k] = v.slice();
  return out as unknown as PlanBuffer;
}

/** Copies intersection i's plan (cycle, offset, phase times) between buffers. */
export function copyIntersectionPlan(c: CompiledNetwork, i: number, from: PlanBuffer, to: PlanBuffer): void {
  to.cycleS[i] = from.cycleS[i]!;
  to.offsetS[i] = from.offsetS[i]!;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    to.phaseStartS[p] = from.phaseStartS[p]!;
    to.phaseGreenS[p] = from.phaseGreenS[p]!;
    to.phaseYellowS[p] = from.phaseYellowS[p]!;
    to.phaseAllRedS[p] = from.phaseAllRedS[p]!;
  }
}

export function createPlanBuffer(c: CompiledNetwork): PlanBuffer {
  const n = c.intersectionCount;
  const p = c.phaseIds.length;
  const l = c.laneIds.length;
  return {
    cycleS: new Float64Array(n),
    offsetS: new Float64Array(n),
    criticalFlowRatio: new Float64Array(n),
    lostTimeS: new Float64Array(n),
    criticalVc: new Float64Array(n),
    delaySPerVeh: new Float64Array(n),
    flags: new Uint8Array(n),
    forcedCycleS: new Float64Array(n).fill(Number.NaN),
    cycleLimitMinS: new Float64Array(n).fill(Number.NaN),
    cycleLimitMaxS: new Float64Array(n).fill(Number.NaN),
    phaseCoordinated: new Uint8Array(p),
    phaseMinFlowRatio: new Float64Array(p),
    phaseFlowRatio: new Float64Array(p),
    phaseStartS: new Float64Array(p),
    phaseGreenS: new Float64Array(p),
    phaseYellowS: new Float64Array(p),
    phaseAllRedS: new Float64Array(p),
    laneFlowVehPerH: new Float64Array(l),
    laneCapacityVehPerH: new Float64Array(l),
    laneVc: new Float64Array(l),
    laneDelayS: new Float64Array(l),
    laneSatFactor: new Float64Array(l).fill(1),
  };
}

/** Gap-acceptance parameters for permitted lefts (HCM 2010's permitted left-turn model, ch. 31): critical gap and follow-up. */
export const CRITICAL_GAP_S = 4.5;
const FOLLOW_UP_S = 2.5;
/** HCM incremental delay: analysis period 0.25 h, pretimed k = 0.5, isolated I = 1. */
const ANALYSIS_PERIOD_H = 0.25;
const INCREMENTAL_K = 0.5;
const UPSTREAM_I = 1;

/** Reusable scratch so planning allocates nothing per intersection. */
export class PlanScratch {
  /** Per local phase: the highest green the split may give it (slack to coordinated phases). */
  readonly capG = new Float64Array(64);
  readonly weight = new Float64Array(64);
  readonly lo = new Float64Array(64);
  readonly hi = new Float64Array(64);
  readonly value = new Float64Array(64);
  readonly fixed = new Uint8Array(64);
  readonly barrierLo = new Float64Array(64);
  readonly barrierHi = new Float64Array(64);
  readonly barrierY = new Float64Array(64);
  readonly barrierClear = new Float64Array(64);
  readonly barrierDs = new Int32Array(64);
  readonly greenDs = new Int32Array(64);
  /** Which barrier or phase each filled item stands for: on-demand phases are left out of the fill. */
  readonly item = new Int32Array(64);
}

/**
 * Distributes `total` over n items in proportion to their weights, each kept
 * within [lo, hi]. Only one side is fixed per pass, so each pass settles at
 * least one item for good: ≤ n passes. If Σhi < total the excess is spread by
 * weight above hi (maxima are soft; minima are safety and never broken).
 */
export function waterFill(total: number, n: number, s: PlanScratch): void {
  const { weight, lo, hi, value, fixed } = s;
  for (let k = 0; k < n; k++) fixed[k] = 0;
  for (let pass = 0; pass <= n; pass++) {
    let rem = total;
    let sumW = 0;
    for (let k = 0; k < n; k++) {
      if (fixed[k] === 1) rem -= value[k]!;
      else sumW += weight[k]!;
    }
    if (sumW <= 0) break;
    const lambda = rem / sumW;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      if (fixed[k] === 1) {
        sum += value[k]!;
        continue;
      }
      let v = lambda * weight[k]!;
      if (v < lo[k]!) v = lo[k]!;
      else if (v > hi[k]!) v = hi[k]!;
      value[k] = v;
      sum += v;
    }
    const err = sum - total;
    if (err < 1e-9 && err > -1e-9) return;
    let changed = false;
    for (let k = 0; k < n; k++) {
      if (fixed[k] === 1) continue;
      // Too much handed out: the raised minima stay raised. Too little: the capped maxima stay capped.
      if ((err > 0 && value[k] === lo[k]) || (err < 0 && value[k] === hi[k])) {
        fixed[k] = 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  // Every item pinned at a bound and still short: spread the rest by weight above the maxima.
  let sum = 0;
  let sumW = 0;
  for (let k = 0; k < n; k++) {
    sum += value[k]!;
    sumW += weight[k]!;
  }
  const rest = total - sum;
  if (rest > 1e-9) for (let k = 0; k < n; k++) value[k] = value[k]! + (rest * weight[k]!) / sumW;
}

/**
 * Planning passes after the first at an intersection with yielding lefts: each re-reads the
 * lanes' saturation from the timing the pass before chose (the opposing queue's clearance and
 * the green before the first left depend on it, and the timing on them). After two the flow
 * ratios the split used are within 5 % of the ones its own timing gives (sharedLane.test.ts).
 */
const YIELD_PASSES = 2;
/** A change in every shared lane's factor below this ends the passes early. */
const FACTOR_SETTLED = 0.005;

/** Plans one intersection from lane flows already written into `out.laneFlowVehPerH`. */
export function planIntersection(c: CompiledNetwork, i: number, out: PlanBuffer, s: PlanScratch): void {
  let change = setYieldFactors(c, i, out, false);
  planPass(c, i, out, s);
  // Only a shared lane's factor depends on the timing (change > 0 says one exists); stop once
  // the factors no longer move.
  for (let k = 0; k < YIELD_PASSES && change > 0; k++) {
    change = setYieldFactors(c, i, out, true);
    if (change < FACTOR_SETTLED) break;
    planPass(c, i, out, s);
  }
  evaluateTiming(c, i, out);
}

/** One planning pass: cycle, barrier lengths and greens from the lane flows and saturation factors as they stand. */
function planPass(c: CompiledNetwork, i: number, out: PlanBuffer, s: PlanScratch): void {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  const l0 = c.laneStart[i]!;
  const l1 = c.laneStart[i + 1]!;
  const nb = c.barrierCount[i]!;
  const nr = c.ringCount[i]!;
  const laneFlow = out.laneFlowVehPerH;
  const phaseY = out.phaseFlowRatio;
  const lanePhase = c.lanePhase;
  const yellow = c.phaseYellowS;
  const allRed = c.phaseAllRedS;
  const minG = c.phaseMinGreenS;
  const maxG = c.phaseMaxGreenS;
  const onDemand = c.phaseOnDemand;
  const lostPerPhase = c.startUpLostTimeS - c.extensionOfEffectiveGreenS;

  for (let p = p0; p < p1; p++) phaseY[p] = out.phaseMinFlowRatio[p]!;
  for (let l = l0; l < l1; l++) {
    const p = lanePhase[l]!;
    if (p < 0) continue;
    const y = laneFlow[l]! / effectiveSaturation(c, l, out);
    if (y > phaseY[p]!) phaseY[p] = y;
  }

  // Critical path per barrier: the ring with the highest Σy (ties: the longer clearances).
  const { barrierLo, barrierHi, barrierY, barrierClear } = s;
  let sumY = 0;
  let lostS = 0;
  let needS = 0;
  let roomS = 0;
  let p = p0;
  for (let b = 0; b < nb; b++) {
    let bestY = -1;
    let bestClear = 0;
    let lo = 0;
    let hi = Infinity;
    for (let r = 0; r < nr; r++) {
      let ry = 0;
      let rClear = 0;
      let rMin = 0;
      let rMax = 0;
      for (; p < p1 && c.phaseBarrier[p] === b && c.phaseRing[p] === r; p++) {
        // A skipped on-demand phase takes no time: it adds no flow, lost time or minimum.
        if (onDemand[p] === 1) continue;
        ry += phaseY[p]!;
        const clr = yellow[p]! + allRed[p]!;
        rClear += clr;
        rMin += minG[p]! + clr;
        rMax += maxG[p]! + clr;
      }
      if (ry > bestY || (ry === bestY && rClear > bestClear)) {
        bestY = ry;
        bestClear = rClear;
      }
      if (rMin > lo) lo = rMin;
      if (rMax < hi) hi = rMax;
    }
    if (hi < lo) hi = lo;
    barrierY[b] = bestY;
    barrierClear[b] = bestClear;
    barrierLo[b] = lo;
    barrierHi[b] = hi;
    sumY += bestY;
    lostS += bestClear + lostPerPhase * nPhasesOnRingZero(c, i, b);
    needS += lo;
    roomS += hi;
  }

  let flags = 0;
  const cMin = Math.max(c.minCycleS[i]!, needS);
  const cMax = Math.max(cMin, Math.min(c.maxCycleS[i]!, roomS));
  let cycle: number;
  const forced = out.forcedCycleS[i]!;
  if (forced > 0) {
    // Coordination imposes the cycle; minimum greens and clearances still win if it is too short.
    cycle = forced > cMin ? forced : cMin;
    if (sumY >= c.oversaturationY[i]!) flags |= PlanFlag.Oversaturated;
  } else if (sumY >= c.oversaturationY[i]!) {
    cycle = cMax;
    flags |= PlanFlag.Oversaturated;
  } else {
    cycle = (1.5 * lostS + 5) / (1 - sumY);
    // Webster assumes greens in proportion to y. Where minimum or pedestrian greens hold
    // phases above their share, the others are squeezed: lengthen the cycle until every
    // phase can run at or below the target degree of saturation (fixed point, monotone).
    const xt = c.targetDegreeOfSaturation[i]!;
    for (let iter = 0; iter < 16 && cycle < cMax; iter++) {
      const need = requiredCycleS(c, i, phaseY, cycle, xt);
      if (need <= cycle + 1e-6) break;
      cycle = need;
    }
  }
  if (!(forced > 0)) {
    // Adaptive limits on how far one re-plan may move the cycle; minimum times still win.
    const lo = out.cycleLimitMinS[i]!;
    const hi = out.cycleLimitMaxS[i]!;
    if (cycle < lo) cycle = lo;
    if (cycle > hi) cycle = hi;
  }
  if (cycle >= cMax && !(forced > 0)) {
    cycle = cMax;
    flags |= PlanFlag.AtMaxCycle;
  }
  if (cycle <= cMin) {
    cycle = cMin;
    flags |= PlanFlag.AtMinCycle;
  }
  // Controllers run whole-second cycles; round up so minima still fit.
  const cycleDs = Math.ceil(cycle - 1e-9) * 10;

  // Slack to the coordinated phases: at a cycle coordination imposes, a phase that is not
  // coordinated is capped at the green its flow needs at the target degree of saturation
  // (never below its minimum), so the rest goes to the arterial, as engineers time
  // coordinated signals. Without a coordinated phase greens stay proportional to y.
  const capG = s.capG;
  let slackToCoordinated = false;
  if (forced > 0) {
    for (let q = p0; q < p1; q++) if (out.phaseCoordinated[q] === 1 && onDemand[q] === 0) slackToCoordinated = true;
  }
  if (slackToCoordinated) {
    const xt = c.targetDegreeOfSaturation[i]!;
    const cyc = cycleDs / 10;
    for (let q = p0; q < p1; q++) {
      const need = (phaseY[q]! * cyc) / xt + lostPerPhase;
      capG[q - p0] = out.phaseCoordinated[q] === 1 ? maxG[q]! : Math.min(maxG[q]!, Math.max(minG[q]!, need));
    }
    p = p0;
    for (let b = 0; b < nb; b++) {
      let hi = Infinity;
      for (let r = 0; r < nr; r++) {
        let rCap = 0;
        for (; p < p1 && c.phaseBarrier[p] === b && c.phaseRing[p] === r; p++) {
          if (onDemand[p] === 1) continue;
          rCap += capG[p - p0]! + yellow[p]! + allRed[p]!;
        }
        if (rCap < hi) hi = rCap;
      }
      barrierHi[b] = Math.max(barrierLo[b]!, Math.min(barrierHi[b]!, hi));
    }
  } else {
    for (let q = p0; q < p1; q++) capG[q - p0] = maxG[q]!;
  }

  // Barrier lengths: effective green shared by critical Σy. A barrier of on-demand
  // phases only (an inserted stage) has no room (hi 0) and stays empty.
  const { weight, lo, hi, value, barrierDs, greenDs, item } = s;
  let clearTotal = 0;
  let nFill = 0;
  for (let b = 0; b < nb; b++) {
    barrierDs[b] = 0;
    if (barrierHi[b]! <= 0) continue;
    weight[nFill] = barrierY[b]! > 1e-4 ? barrierY[b]! : 1e-4;
    lo[nFill] = barrierLo[b]! - barrierClear[b]!;
    hi[nFill] = barrierHi[b]! - barrierClear[b]!;
    item[nFill++] = b;
    clearTotal += barrierClear[b]!;
  }
  waterFill(cycleDs / 10 - clearTotal, nFill, s);
  for (let k = 0; k < nFill; k++) value[k] = value[k]! + barrierClear[item[k]!]!;
  quantize(nFill, cycleDs, value, greenDs);
  for (let k = 0; k < nFill; k++) barrierDs[item[k]!] = greenDs[k]!;

  // Within each barrier, each ring splits its length by y between min and max greens.
  let startDs = 0;
  p = p0;
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < nr; r++) {
      const first = p;
      let clearDs = 0;
      let k = 0;
      for (; p < p1 && c.phaseBarrier[p] === b && c.phaseRing[p] === r; p++) {
        if (onDemand[p] === 1) continue;
        weight[k] = phaseY[p]! > 1e-4 ? phaseY[p]! : 1e-4;
        lo[k] = minG[p]!;
        hi[k] = capG[p - p0]!;
        clearDs += Math.round((yellow[p]! + allRed[p]!) * 10);
        k++;
      }
      waterFill((barrierDs[b]! - clearDs) / 10, k, s);
      quantize(k, barrierDs[b]! - clearDs, value, greenDs);
      let t = startDs;
      let q = 0;
      for (let ph = first; ph < p; ph++) {
        out.phaseStartS[ph] = t / 10;
        if (onDemand[ph] === 1) {
          // Skipped: it starts where the next phase of its ring does and takes no time.
          out.phaseGreenS[ph] = 0;
          out.phaseYellowS[ph] = 0;
          out.phaseAllRedS[ph] = 0;
          continue;
        }
        const gDs = greenDs[q++]!;
        out.phaseGreenS[ph] = gDs / 10;
        out.phaseYellowS[ph] = yellow[ph]!;
        out.phaseAllRedS[ph] = allRed[ph]!;
        t += gDs + Math.round((yellow[ph]! + allRed[ph]!) * 10);
      }
    }
    startDs += barrierDs[b]!;
  }

  const cycleS = cycleDs / 10;
  out.cycleS[i] = cycleS;
  out.offsetS[i] = 0;
  out.criticalFlowRatio[i] = sumY;
  out.lostTimeS[i] = lostS;
  out.flags[i] = flags;
}

/**
 * The performance of intersection i's timing as it stands in `out` (cycle and greens) on the
 * lane flows and flow ratios planning put there: degree of saturation X_c, and per lane
 * capacity, v/c and HCM delay, with the flow-weighted intersection delay. planIntersection
 * ends with it; the plan lifecycle calls it for a signal pinned to a stored timing, so its
 * reported delay is the pinned timing's on today's demand.
 */
export function evaluateTiming(c: CompiledNetwork, i: number, out: PlanBuffer): void {
  setYieldFactors(c, i, out, true);
  const l0 = c.laneStart[i]!;
  const l1 = c.laneStart[i + 1]!;
  const laneFlow = out.laneFlowVehPerH;
  const lanePhase = c.lanePhase;
  const cycleS = out.cycleS[i]!;
  const lostS = out.lostTimeS[i]!;
  out.criticalVc[i] = cycleS > lostS ? (out.criticalFlowRatio[i]! * cycleS) / (cycleS - lostS) : Infinity;
  // HCM delay per lane; intersection delay is flow-weighted.
  const gain = c.extensionOfEffectiveGreenS - c.startUpLostTimeS;
  let delayVeh = 0;
  let vehPerH = 0;
  for (let l = l0; l < l1; l++) {
    const ph = lanePhase[l]!;
    const v = laneFlow[l]!;
    if (ph < 0) {
      out.laneCapacityVehPerH[l] = 0;
      out.laneVc[l] = 0;
      out.laneDelayS[l] = 0;
      continue;
    }
    const g = out.phaseGreenS[ph]! + gain;
    const ratio = g > 0 ? g / cycleS : 0;
    const cap = effectiveSaturation(c, l, out) * ratio;
    const x = cap > 0 ? v / cap : v > 0 ? Infinity : 0;
    const d = laneDelay(cycleS, ratio, x, cap);
    out.laneCapacityVehPerH[l] = cap;
    out.laneVc[l] = x;
    out.laneDelayS[l] = d;
    delayVeh += d * v;
    vehPerH += v;
  }
  out.delaySPerVeh[i] = vehPerH > 0 ? delayVeh / vehPerH : 0;
}

/** Σ over barriers of the longest ring, with each phase given max(min green, y·C/x). */
function requiredCycleS(c: CompiledNetwork, i: number, phaseY: Float64Array, cycleS: number, xTarget: number): number {
  const p1 = c.phaseStart[i + 1]!;
  let total = 0;
  let p = c.phaseStart[i]!;
  for (let b = 0; b < c.barrierCount[i]!; b++) {
    let worst = 0;
    for (let r = 0; r < c.ringCount[i]!; r++) {
      let ring = 0;
      for (; p < p1 && c.phaseBarrier[p] === b && c.phaseRing[p] === r; p++) {
        if (c.phaseOnDemand[p] === 1) continue;
        const g = (phaseY[p]! * cycleS) / xTarget;
        ring += (g > c.phaseMinGreenS[p]! ? g : c.phaseMinGreenS[p]!) + c.phaseYellowS[p]! + c.phaseAllRedS[p]!;
      }
      if (ring > worst) worst = ring;
    }
    total += worst;
  }
  return total;
}

/**
 * Phases of barrier b on ring 0, the ones whose start-up lost time is counted. Not necessarily
 * the critical ring: the rings of a barrier usually have as many phases, and where they do not
 * the lost time is counted for ring 0's (issue 14 keeps the behaviour; the name said otherwise).
 */
function nPhasesOnRingZero(c: CompiledNetwork, i: number, b: number): number {
  let n = 0;
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) if (c.phaseBarrier[p] === b && c.phaseRing[p] === 0 && c.phaseOnDemand[p] === 0) n++;
  return n;
}

/** Saturation flow of a lane as the timing leaves it: reduced where lefts yield in it (`setYieldFactors`). */
function effectiveSaturation(c: CompiledNetwork, l: number, out: PlanBuffer): number {
  const s = c.laneSatFlowVehPerH[l]!;
  if (c.laneYieldShare[l]! > 0) return s * out.laneSatFactor[l]!;
  // A permitted right yields to pedestrians only: the follow-up headway caps it.
  if (c.lanePermittedOnly[l] === 1) return Math.min(s, 3600 / FOLLOW_UP_S);
  return s;
}

/**
 * The saturation factor of every lane at intersection i whose lefts (or U-turns) yield to the
 * opposing flow, written to `out.laneSatFactor` (the return value is described at the end).
 *
 * The lane's green has three parts (the structure of the HCM's permitted left-turn model for
 * shared and exclusive lanes, HCM 2000 ch. 16 appendix C): until the first yielding vehicle
 * reaches the stop line the lane discharges at its saturation flow (g_f); while the opposing
 * queue clears (g_q, the queue the opposing lane gathered over its red, discharged at its
 * saturation flow less its arrivals) a left at the front finds no gap and blocks the lane;
 * after that each left takes E_L1 = s / s_lt through cars' time, s_lt being the gap-acceptance
 * capacity against the opposing arrivals (critical gap 4.5 s, follow-up 2.5 s). Two lefts per
 * cycle clear at the end of the green whatever the gaps (sneakers). g_f is the expected
 * discharge time of the vehicles ahead of the first left among the lane's n vehicles of a cycle,
 * lefts a share p of them: h·(1−p)(1−(1−p)^n)/p.
 *
 * Without timing (`withTiming` false, the first planning pass) only the E_L1 part is charged.
 * An exclusive left lane (share 1) keeps that part alone, as before the shared-lane model: charging
 * it the opposing queue's clearance too made arterial-13 medium's 72 s plan a 150 s one on the
 * scenario bench's tuning half (SUMO lets lefts wait inside the junction and clear at the change).
 * Left out: the opposing lefts' own yield (HCM's E_L2) and platoon arrivals at the opposing
 * approach (the opposing queue is taken as random arrivals over its red).
 *
 * Returns the largest change of a shared lane's factor (0 when the intersection has none; the
 * first call, from 1, is positive wherever one exists).
 */
export function setYieldFactors(c: CompiledNetwork, i: number, out: PlanBuffer, withTiming: boolean): number {
  const flow = out.laneFlowVehPerH;
  const factor = out.laneSatFactor;
  const gain = c.extensionOfEffectiveGreenS - c.startUpLostTimeS;
  const cycleS = out.cycleS[i]!;
  let change = 0;
  for (let l = c.laneStart[i]!; l < c.laneStart[i + 1]!; l++) {
    const share = c.laneYieldShare[l]!;
    if (share === 0) {
      factor[l] = 1;
      continue;
    }
    const s = c.laneSatFlowVehPerH[l]!;
    let opposing = 0;
    let busiest = -1;
    for (let k = c.opposeStart[l]!; k < c.opposeStart[l + 1]!; k++) {
      const o = c.opposeLanes[k]!;
      opposing += flow[o]!;
      if (busiest < 0 || flow[o]! > flow[busiest]!) busiest = o;
    }
    let sLt = 3600 / FOLLOW_UP_S;
    if (opposing > 0) sLt = (opposing * Math.exp((-opposing * CRITICAL_GAP_S) / 3600)) / (1 - Math.exp((-opposing * FOLLOW_UP_S) / 3600));
    // Floor as before the shared-lane model: a lane never falls below 5 % of its saturation flow.
    const minFactor = 0.05;
    const el1 = s / Math.max(Math.min(s, sLt), minFactor * s);
    const unsaturated = 1 / (1 + share * (el1 - 1));
    const ph = c.lanePhase[l]!;
    const g = ph >= 0 ? out.phaseGreenS[ph]! + gain : 0;
    if (share >= 1) {
      factor[l] = unsaturated;
      continue;
    }
    // A shared lane: the change reported is positive even when the factor stays (MIN_VALUE).
    if (!withTiming || !(g > 0) || !(cycleS > 0)) {
      change = Math.max(change, Math.abs(factor[l]! - unsaturated), Number.MIN_VALUE);
      factor[l] = unsaturated;
      continue;
    }
    const h = 3600 / s;
    let gq = 0;
    if (busiest >= 0 && flow[busiest]! > 0) {
      const vo = flow[busiest]!;
      const so = c.laneSatFlowVehPerH[busiest]!;
      const po = c.lanePhase[busiest]!;
      const go = po >= 0 ? out.phaseGreenS[po]! + gain : g;
      gq = so > vo ? (vo * Math.max(cycleS - go, 0)) / (so - vo) : g;
      if (gq > g) gq = g;
    }
    const ahead = 1 - share;
    const nCycle = (flow[l]! * cycleS) / 3600;
    let gf = (h * ahead * (1 - ahead ** nCycle)) / share;
    if (gf > g) gf = g;
    const servedVeh = (gf + Math.max(0, g - Math.max(gf, gq)) * unsaturated) / h;
    const sneakers = 2;
    const f = (Math.max(servedVeh, Math.min(sneakers, g / h)) * h) / g;
    const next = Math.max(minFactor, Math.min(1, f));
    change = Math.max(change, Math.abs(next - factor[l]!), Number.MIN_VALUE);
    factor[l] = next;
  }
  return change;
}

/**
 * HCM 2010 ch. 18 (signalized intersections), uniform delay d1 and incremental delay d2
 * (PF = 1, no initial queue; equation numbers left out: the two places that cited them disagreed):
 * d1 = 0.5 C (1 − g/C)² / (1 − min(1, X) g/C);
 * d2 = 900 T [(X − 1) + √((X − 1)² + 8 k I X / (c T))].
 */
export function laneDelay(cycleS: number, greenRatio: number, x: number, capacityVehPerH: number): number {
  const xc = x < 1 ? x : 1;
  const d1 = (0.5 * cycleS * (1 - greenRatio) * (1 - greenRatio)) / (1 - xc * greenRatio);
  if (capacityVehPerH <= 0 || !Number.isFinite(x)) return d1 + 3600;
  const xm = x - 1;
  const d2 = 900 * ANALYSIS_PERIOD_H * (xm + Math.sqrt(xm * xm + (8 * INCREMENTAL_K * UPSTREAM_I * x) / (capacityVehPerH * ANALYSIS_PERIOD_H)));
  return d1 + d2;
}

/**
 * Rounds durations to deciseconds so that they sum exactly to `totalDs`, by
 * largest remainder. Values are floored first, so an item only ever gains
 * tenths and never drops below the bound it was filled to. Overwrites valueS.
 */
function quantize(n: number, totalDs: number, valueS: Float64Array, out: Int32Array): void {
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const ds = valueS[k]! * 10 + 1e-6;
    out[k] = Math.floor(ds);
    valueS[k] = ds - out[k]!;
    sum += out[k]!;
  }
  for (let left = totalDs - sum; left > 0; left--) {
    let best = 0;
    for (let k = 1; k < n; k++) if (valueS[k]! > valueS[best]!) best = k;
    out[best] = out[best]! + 1;
    valueS[best] = -1; // at most n tenths are left over, so each item gains at most one
  }
}

/** Fills lane flows (veh/h) from one interval of detector volumes (veh per interval). */
export function laneFlowsFromDetectors(c: CompiledNetwork, volumeVeh: Float64Array, intervalS: number, out: PlanBuffer): void {
  const scale = 3600 / intervalS;
  const laneDetector = c.laneDetector;
  const flow = out.laneFlowVehPerH;
  for (let l = 0; l < flow.length; l++) {
    const d = laneDetector[l]!;
    flow[l] = d >= 0 ? volumeVeh[d]! * scale : 0;
  }
}

/** Plans every intersection; the caller validates before anything leaves the engine. */
export function planAll(c: CompiledNetwork, out: PlanBuffer, s: PlanScratch): void {
  for (let i = 0; i < c.intersectionCount; i++) planIntersection(c, i, out, s);
}
