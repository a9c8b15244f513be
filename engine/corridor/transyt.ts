/**
 * Delay-and-stops refinement of corridor offsets on cyclic flow profiles, the
 * way TRANSYT does it: platoons leave each signal's through green, disperse
 * along the link by Robertson's model, and queue at the next stop line. A
 * hill climb then nudges each offset while the performance index improves and
 * the green band stays within a set share of what the band optimizer found.
 * Called after the band solve, in the same worker; allocates only in the
 * constructor.
 *
 * Robertson (1969): the arrival flow t' = βT steps downstream of a departure
 * is q_a(k + t') = F·q_d(k) + (1 − F)·q_a(k + t' − 1), F = 1/(1 + αt'),
 * with α = 0.35 and β = 0.8 (TRANSYT defaults).
 */
import { BandSolver, MAX_PATTERNS, type BandProblem, type BandSolution } from './band.js';
import { mod } from '../numeric.js';

/** Traffic on the arterial through movements, per intersection (outbound order), per lane. */
export interface CorridorTraffic {
  readonly flowOutVehPerH: Float64Array;
  readonly flowInVehPerH: Float64Array;
  readonly satOutVehPerH: Float64Array;
  readonly satInVehPerH: Float64Array;
  readonly lanesOut: Float64Array;
  readonly lanesIn: Float64Array;
  /** Queue clearance the band problem took off the front of each green. */
  readonly queueOutS: Float64Array;
  readonly queueInS: Float64Array;
}

export const ROBERTSON_ALPHA = 0.35;
export const ROBERTSON_BETA = 0.8;
/** Performance index = delay (veh·s) + this many seconds per stop (TRANSYT-style stop penalty). */
export const STOP_WEIGHT_S = 10;
/** The refined offsets must keep at least this share of the optimized (weighted) band. */
export const BAND_KEEP_SHARE = 0.9;
const STEPS_S = [8, 4, 2, 1] as const;
const MAX_ROUNDS = 3;

export interface Performance {
  delaySPerVeh: number;
  stopsPerVeh: number;
  index: number;
}

export class OffsetRefiner {
  private readonly dep: Float64Array;
  private readonly linkDelay: Float64Array;
  private readonly linkStops: Float64Array;
  private readonly linkVeh: Float64Array;
  private readonly win = new Float64Array(6);
  /** Arrival profile per link slot (2n slots of `stride` steps) and its random (uniform) part. */
  private readonly arrStore: Float64Array;
  private readonly uniform: Float64Array;
  private readonly stride: number;
  private readonly saved = new Float64Array(12);

  constructor(readonly maxN: number, readonly maxCycleS = 400) {
    this.dep = new Float64Array(maxCycleS + 1);
    this.linkDelay = new Float64Array(2 * maxN);
    this.linkStops = new Float64Array(2 * maxN);
    this.linkVeh = new Float64Array(2 * maxN);
    this.stride = maxCycleS + 1;
    this.arrStore = new Float64Array(2 * maxN * this.stride);
    this.uniform = new Float64Array(2 * maxN);
  }

  /**
   * Arrival profile at `to` of the platoon leaving `from` (outbound if
   * from < to), stored per link slot: the upstream through green discharges its
   * red-time queue at saturation flow, then passes arrivals as they come, and
   * the platoon disperses along the link by Robertson's model.
   */
  private arrivals(p: BandProblem, t: CorridorTraffic, s: BandSolution, from: number, to: number, slot: number): void {
    const outbound = from < to;
    const steps = Math.round(p.cycleS);
    const dep = this.dep;
    const arr = this.arrStore.subarray(slot * this.stride, slot * this.stride + steps);
    const link = outbound ? from : to;
    // Traffic runs at its own speed, the middle of the link's range, not at the progression speed
    // the band happened to pick inside that range: a band that only fits the fastest drivers
    // must not look like a good one.
    const travel = outbound ? 0.5 * (p.travelOutMinS[link]! + p.travelOutMaxS[link]!) : 0.5 * (p.travelInMinS[link]! + p.travelInMaxS[link]!);
    const qUp = (outbound ? t.flowOutVehPerH[from]! : t.flowInVehPerH[from]!) / 3600;
    const qDown = (outbound ? t.flowOutVehPerH[to]! : t.flowInVehPerH[to]!) / 3600;
    const sUp = (outbound ? t.satOutVehPerH[from]! : t.satInVehPerH[from]!) / 3600;
    this.window(p, t, s, from, outbound, 0);
    const upStart = this.win[0]!;
    const upGreen = this.win[1]!;
    const upPeriod = this.win[2]!;
    const platoon = Math.min(qUp, qDown);
    const perPeriod = platoon * upPeriod;
    const queueS = Math.min(upGreen, (platoon * (upPeriod - upGreen)) / Math.max(sUp, 1e-9));
    const restRate = upGreen > queueS ? (perPeriod - sUp * queueS) / (upGreen - queueS) : 0;
    for (let k = 0; k < steps; k++) {
      const inCycle = mod(k - upStart, upPeriod);
      dep[k] = inCycle < queueS ? sUp : inCycle < upGreen ? Math.max(restRate, 0) : 0;
    }
    // The filter forgets its start at a rate F per step, so a warm-up of a few 1/F
    // steps before the counted pass reaches the cyclic steady state.
    const lag = Math.max(1, Math.round(ROBERTSON_BETA * travel));
    const f = 1 / (1 + ROBERTSON_ALPHA * lag);
    const warm = Math.min(steps, Math.ceil(8 / f));
    let prev = 0;
    for (let k = steps - warm; k < steps; k++) prev = f * dep[k]! + (1 - f) * prev;
    for (let k = 0; k < steps; k++) {
      prev = f * dep[k]! + (1 - f) * prev;
      arr[(k + lag) % steps] = prev;
    }
    // Vehicles joining from side streets and driveways arrive at random: a uniform rate.
    this.uniform[slot] = Math.max(0, qDown - platoon);
  }

  /**
   * Deterministic queue at the stop line of `to`, fed by the stored arrivals
   * moved `shiftS` later (an integer: the upstream offset nudged by the hill
   * climb), into the slot's delay, stops and vehicles per cycle.
   */
  private queueAt(p: BandProblem, t: CorridorTraffic, s: BandSolution, to: number, outbound: boolean, slot: number, shiftS: number): void {
    const steps = Math.round(p.cycleS);
    const base = slot * this.stride;
    const arr = this.arrStore;
    const sDown = (outbound ? t.satOutVehPerH[to]! : t.satInVehPerH[to]!) / 3600;
    this.window(p, t, s, to, outbound, 3);
    const downStart = this.win[3]!;
    const downGreen = this.win[4]!;
    const downPeriod = this.win[5]!;
    const uniform = this.uniform[slot]!;
    const shift = ((shiftS % steps) + steps) % steps;
    // Start where the green ends: an undersaturated queue is empty then, so one counted
    // cycle is the steady state; if a queue is left over, go round once more and count that.
    const start = Math.floor(mod(downStart + downGreen, downPeriod));
    let queue = 0;
    let delay = 0;
    let stops = 0;
    for (let pass = 0; pass < 2; pass++) {
      delay = 0;
      stops = 0;
      for (let j = 0; j < steps; j++) {
        const k = (start + j) % steps;
        const a = arr[base + ((k - shift + steps) % steps)]! + uniform;
        const green = mod(k - downStart, downPeriod) < downGreen;
        delay += queue;
        if (!green) stops += a;
        else if (queue > 0) stops += a * Math.min(1, queue / Math.max(sDown, 1e-9));
        queue += a;
        if (green) queue = queue > sDown ? queue - sDown : 0;
      }
      if (queue < 1e-9) break;
    }
    const lanes = outbound ? t.lanesOut[to]! : t.lanesIn[to]!;
    const qDown = (outbound ? t.flowOutVehPerH[to]! : t.flowInVehPerH[to]!) / 3600;
    this.linkDelay[slot] = delay * lanes;
    this.linkStops[slot] = stops * lanes;
    this.linkVeh[slot] = qDown * steps * lanes;
  }

  private evaluateLink(p: BandProblem, t: CorridorTraffic, s: BandSolution, from: number, to: number, slot: number): void {
    this.arrivals(p, t, s, from, to, slot);
    this.queueAt(p, t, s, to, from < to, slot, 0);
  }

  /** Full through green (queue clearance added back) at intersection i: start, length, period into win[at..at+2]. */
  private window(p: BandProblem, t: CorridorTraffic, s: BandSolution, i: number, outbound: boolean, at: number): void {
    const k = i * MAX_PATTERNS + s.pattern[i]!;
    const queue = outbound ? t.queueOutS[i]! : t.queueInS[i]!;
    this.win[at] = s.offsetS[i]! + (outbound ? p.outStartS[k]! : p.inStartS[k]!) - queue;
    this.win[at + 1] = (outbound ? p.greenOutS[i]! : p.greenInS[i]!) + queue;
    this.win[at + 2] = p.periodS[i]!;
  }

  private slotIndex(to: number, outbound: boolean, n: number): number {
    return outbound ? to : n + to;
  }

  /** Evaluates every link; returns the performance over the corridor. */
  evaluate(p: BandProblem, t: CorridorTraffic, s: BandSolution): Performance {
    for (let i = 1; i < p.n; i++) {
      this.evaluateLink(p, t, s, i - 1, i, this.slotIndex(i, true, p.n));
      this.evaluateLink(p, t, s, i, i - 1, this.slotIndex(i - 1, false, p.n));
    }
    return this.total(p);
  }

  private total(p: BandProblem): Performance {
    let delay = 0;
    let stops = 0;
    let veh = 0;
    for (let i = 1; i < p.n; i++) {
      const a = this.slotIndex(i, true, p.n);
      const b = this.slotIndex(i - 1, false, p.n);
      delay += this.linkDelay[a]! + this.linkDelay[b]!;
      stops += this.linkStops[a]! + this.linkStops[b]!;
      veh += this.linkVeh[a]! + this.linkVeh[b]!;
    }
    return { delaySPerVeh: veh > 0 ? delay / veh : 0, stopsPerVeh: veh > 0 ? stops / veh : 0, index: delay + STOP_WEIGHT_S * stops };
  }

  /** The index of the links touching i from the last evaluation, without recomputing. */
  private storedLocal(n: number, i: number): number {
    let sum = 0;
    if (i > 0) sum += this.slotIndexSum(n, i, i - 1);
    if (i < n - 1) sum += this.slotIndexSum(n, i + 1, i);
    return sum;
  }

  private slotIndexSum(n: number, outTo: number, inTo: number): number {
    const a = this.slotIndex(outTo, true, n);
    const b = this.slotIndex(inTo, false, n);
    return this.linkDelay[a]! + STOP_WEIGHT_S * this.linkStops[a]! + this.linkDelay[b]! + STOP_WEIGHT_S * this.linkStops[b]!;
  }

  /**
   * The index of the links touching i if i's offset moved `shiftS` later:
   * incoming platoons are unchanged (their upstream did not move), so only
   * their queues are re-run; outgoing platoons shift with i.
   */
  private trial(p: BandProblem, t: CorridorTraffic, s: BandSolution, i: number, shiftS: number): number {
    const n = p.n;
    if (i > 0) {
      this.queueAt(p, t, s, i, true, this.slotIndex(i, true, n), 0);
      this.queueAt(p, t, s, i - 1, false, this.slotIndex(i - 1, false, n), shiftS);
    }
    if (i < n - 1) {
      this.queueAt(p, t, s, i + 1, true, this.slotIndex(i + 1, true, n), shiftS);
      this.queueAt(p, t, s, i, false, this.slotIndex(i, false, n), 0);
    }
    return this.storedLocal(n, i);
  }

  private saveLocal(n: number, i: number): void {
    const slots = this.touching(n, i);
    for (let k = 0; k < 4; k++) {
      const slot = slots[k]!;
      if (slot < 0) continue;
      this.saved[3 * k] = this.linkDelay[slot]!;
      this.saved[3 * k + 1] = this.linkStops[slot]!;
      this.saved[3 * k + 2] = this.linkVeh[slot]!;
    }
  }

  private restoreLocal(n: number, i: number): void {
    const slots = this.touching(n, i);
    for (let k = 0; k < 4; k++) {
      const slot = slots[k]!;
      if (slot < 0) continue;
      this.linkDelay[slot] = this.saved[3 * k]!;
      this.linkStops[slot] = this.saved[3 * k + 1]!;
      this.linkVeh[slot] = this.saved[3 * k + 2]!;
    }
  }

  private readonly touchSlots = new Int32Array(4);
  private touching(n: number, i: number): Int32Array {
    const t = this.touchSlots;
    t[0] = i > 0 ? this.slotIndex(i, true, n) : -1;
    t[1] = i > 0 ? this.slotIndex(i - 1, false, n) : -1;
    t[2] = i < n - 1 ? this.slotIndex(i + 1, true, n) : -1;
    t[3] = i < n - 1 ? this.slotIndex(i, false, n) : -1;
    return t;
  }

  /**
   * Hill climb on offsets in whole-second steps (the first intersection is
   * the time reference). Returns the performance after; `before` receives it before.
   */
  refine(p: BandProblem, t: CorridorTraffic, s: BandSolution, bands: BandSolver, before: Performance): Performance {
    Object.assign(before, this.evaluate(p, t, s));
    const n = p.n;
    const bandFloor = BAND_KEEP_SHARE * bands.measure(p, s);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let improved = false;
      for (const step of STEPS_S) {
        for (let i = 1; i < n; i++) {
          const period = p.periodS[i]!;
          if (step >= period / 2) continue;
          const original = s.offsetS[i]!;
          const base = this.storedLocal(n, i);
          this.saveLocal(n, i);
          let best = base;
          let bestShift = 0;
          for (let dir = -1; dir <= 1; dir += 2) {
            s.offsetS[i] = mod(original + dir * step, period);
            const value = this.trial(p, t, s, i, dir * step);
            if (value < best - 1e-6 && bands.measure(p, s) >= bandFloor - 1e-9) {
              best = value;
              bestShift = dir * step;
            }
          }
          s.offsetS[i] = mod(original + bestShift, period);
          if (bestShift === 0) {
            this.restoreLocal(n, i);
            continue;
          }
          improved = true;
          // Re-derive the moved platoons' profiles at the new offset, then their queues.
          if (i > 0) this.evaluateLink(p, t, s, i, i - 1, this.slotIndex(i - 1, false, n));
          if (i < n - 1) this.evaluateLink(p, t, s, i, i + 1, this.slotIndex(i + 1, true, n));
          if (i > 0) this.queueAt(p, t, s, i, true, this.slotIndex(i, true, n), 0);
          if (i < n - 1) this.queueAt(p, t, s, i, false, this.slotIndex(i, false, n), 0);
        }
      }
      if (!improved) break;
    }
    bands.measure(p, s);
    return this.evaluate(p, t, s);
  }
}

