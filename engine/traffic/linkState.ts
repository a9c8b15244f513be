/**
 * The traffic state of every link (links.ts) per detector interval, from the
 * loops and the signal plan in force: flow, occupancy, spot speed, signal
 * delay, travel time and travel speed, and the congestion index and level
 * (congestion.ts). Route travel times are sums along the path. Called by the
 * TrafficStateService (service/trafficState.ts), the validation against the
 * simulator (simulator/trafficState.test.ts) and the prediction benchmark.
 *
 * Speed from single loops (Athol 1965, "Interdependence of certain operational
 * characteristics within a moving traffic stream", HRR 72): a vehicle covers
 * the loop for L_eff / v seconds, with L_eff its effective length (vehicle plus
 * loop), so over an interval the harmonic-mean speed is n · L_eff / (occupied
 * time). L_eff (the "g-factor") is not known per site; it is estimated from
 * free-flow intervals, where the speed is taken to be the link's free-flow
 * speed: L_eff = v_ff · Σ occupied time / Σ vehicles over intervals with low
 * occupancy. This is the approach of Jia, Chen, Coifman & Varaiya (2001), "The
 * PeMS algorithms for accurate, real-time estimates of g-factors and speeds
 * from single-loop detectors" (IEEE ITSC), in its simplest ratio-of-sums form;
 * Hall & Persaud (1989, TRR 1232) showed why a fixed g-factor fails, and
 * Coifman (2001, Transp. Res. A 35) refines it per vehicle. Where a loop
 * reports measured speed (paired loops, speed traps), that speed is used.
 *
 * Travel time = running time + signal delay. Running time is the link length
 * at the free-flow speed; signal delay is the HCM 2010 uniform + incremental
 * control delay of the link's lanes (engine/timing/planner.ts laneDelay) under
 * the current plan's cycle and greens and the measured lane flows, weighted by
 * flow, with the HCM progression factor on the uniform delay of the through
 * lanes where the share of arrivals on green is known (progression.ts, from
 * the controllers' high-resolution events); otherwise arrivals are random
 * (PF = 1), which overstates the delay of a well-coordinated link. Where the
 * events give the through traffic's input-output delay (progression.ts), that
 * delay is used on the through phase's lanes instead: it sees where in the red
 * a platoon arrives, which the share on green does not.
 * Everything per interval runs on typed arrays sized once.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { createPlanBuffer, evaluateTiming, laneDelay, type PlanBuffer } from '../timing/planner.js';
import { movementIndex, THROUGH_TURN } from '../network/geometry.js';
import { OptionError } from '../errors.js';
import { levelOf, linkTpi, thresholdsOf } from './congestion.js';
import type { TrafficLinks } from './links.js';

export interface LinkStateOptions {
  /** An interval whose loop occupancy is at most this counts as free flow for the g-factor, % (default 8). */
  readonly freeFlowOccupancyPct?: number;
  /** Effective length used until a loop has seen `minCalibrationVeh` free-flow vehicles, m (default 7). */
  readonly defaultEffectiveLengthM?: number;
  readonly minCalibrationVeh?: number;
}

/** One interval of loop data, per compiled detector. */
export interface LoopInterval {
  readonly intervalS: number;
  /** Vehicles counted, NaN = missing. */
  readonly volumeVeh: Float64Array;
  /** Occupancy, %, NaN = missing. */
  readonly occupancyPct: Float64Array;
  /** Measured (paired-loop) harmonic-mean speed, km/h; NaN where the loop has none. */
  readonly measuredSpeedKph?: Float64Array;
  /**
   * Per link: the share of its through traffic arriving on green (0–1), from high-resolution
   * events (engine/traffic/progression.ts); NaN or absent = unknown, arrivals taken as random.
   */
  readonly arrivalOnGreenShare?: Float64Array;
  /**
   * Per link: the mean delay of its through traffic by input-output analysis of the same
   * arrivals (progression.ts), s; NaN or absent = unknown. Where known it replaces the HCM
   * delay (and the progression factor) on the lanes of the link's through phase.
   */
  readonly throughDelayS?: Float64Array;
  /**
   * Per compiled lane: its saturation flow measured from the events (./saturation.ts), veh/h;
   * NaN or absent = the network's (the planner's design value). Used for the capacity, and so
   * the v/c and the delay, of lanes that do not move only permitted.
   */
  readonly saturationFlowVehPerH?: Float64Array;
  /**
   * Per link: the share of its capacity left (1 or absent: all of it), e.g. by an incident that
   * blocks some of its lanes (service/trafficState.ts: lanes open ÷ lanes). Applied to every lane
   * of the link; 0 closes it (the HCM delay's one-hour penalty for no capacity).
   */
  readonly linkCapacityFactor?: Float64Array;
}

/** Cap on the HCM progression factor (HCM 2010 exhibit 18-20 stays below about 1.2 for f_PA = 1 too). */
export const MAX_PROGRESSION_FACTOR = 1.5;

/**
 * Per-loop effective length from free-flow intervals (ratio of sums). Reads one interval at a
 * time; `effectiveLengthM` is the default until enough free-flow vehicles were seen.
 */
export class GFactorEstimator {
  private readonly occS: Float64Array;
  private readonly veh: Float64Array;
  readonly freeFlowOccupancyPct: number;
  readonly defaultLengthM: number;
  readonly minVeh: number;

  constructor(detectors: number, opts: LinkStateOptions = {}) {
    this.occS = new Float64Array(detectors);
    this.veh = new Float64Array(detectors);
    this.freeFlowOccupancyPct = opts.freeFlowOccupancyPct ?? 8;
    this.defaultLengthM = opts.defaultEffectiveLengthM ?? 7;
    this.minVeh = opts.minCalibrationVeh ?? 30;
    if (!(this.freeFlowOccupancyPct > 0 && this.freeFlowOccupancyPct <= 30)) throw new OptionError('options.freeFlowOccupancyPct', `must be in (0, 30], got ${this.freeFlowOccupancyPct}`);
    if (!(this.defaultLengthM >= 2 && this.defaultLengthM <= 30)) throw new OptionError('options.defaultEffectiveLengthM', `must be in [2, 30] m, got ${this.defaultLengthM}`);
  }

  /** Adds the free-flow intervals of loop d: `refSpeedMps` is the speed assumed there. */
  observe(d: number, volumeVeh: number, occupancyPct: number, intervalS: number, refSpeedMps: number): void {
    if (!(volumeVeh > 0) || !(occupancyPct >= 0) || occupancyPct > this.freeFlowOccupancyPct) return;
    // Σ L/v_i = occupied time; at a common v_ff, L = v_ff · occupied time / n.
    this.occS[d] = this.occS[d]! + (occupancyPct / 100) * intervalS * refSpeedMps;
    this.veh[d] = this.veh[d]! + volumeVeh;
  }

  effectiveLengthM(d: number): number {
    return this.veh[d]! >= this.minVeh ? this.occS[d]! / this.veh[d]! : this.defaultLengthM;
  }

  calibrationVeh(d: number): number {
    return this.veh[d]!;
  }
}

export class LinkStateEstimator {
  readonly links: TrafficLinks;
  readonly g: GFactorEstimator;
  /** Per link, the last interval's state. */
  readonly flowVehPerH: Float64Array;
  readonly occupancyPct: Float64Array;
  /** Harmonic-mean speed at the advance loops, km/h; NaN without advance loops. */
  readonly spotSpeedKph: Float64Array;
  readonly runningTimeS: Float64Array;
  readonly signalDelayS: Float64Array;
  readonly travelTimeS: Float64Array;
  readonly travelSpeedKph: Float64Array;
  readonly tpi: Float64Array;
  readonly level: Uint8Array;
  /** Vehicle-kilometres in the interval (the weight of the corridor and city indices). */
  readonly vehKm: Float64Array;
  /**
   * Per compiled lane, the signal delay the link's travel time was made of (the HCM delay with
   * the progression factor, or the input-output delay on the through phase), s; 0 on a lane no
   * phase serves. With `laneFlowVehPerH` (the measured flows) it gives per-movement delays to
   * the parking recommender's road graph (engine/parking/roads.ts `setLaneDelays`).
   */
  readonly laneDelayS: Float64Array;
  /** Per link, the share of through arrivals on green the last update was given (NaN: unknown, random arrivals taken). */
  readonly arrivalOnGreenShare: Float64Array;
  /** Counts `update` calls: a reader that copied the delays re-reads them when it changed. */
  revision = 0;
  /** Start of the interval last computed, s (caller's clock); NaN before the first. */
  intervalStartS = Number.NaN;
  private readonly scratch: PlanBuffer;
  private readonly thresholds: (readonly number[])[];
  /** Per link: the global phase serving its through movement, -1 if none. */
  private readonly throughPhase: Int32Array;

  constructor(
    private readonly c: CompiledNetwork,
    links: TrafficLinks,
    opts: LinkStateOptions = {},
  ) {
    this.links = links;
    this.g = new GFactorEstimator(c.detectorIds.length, opts);
    const n = links.count;
    this.flowVehPerH = new Float64Array(n);
    this.occupancyPct = new Float64Array(n);
    this.spotSpeedKph = new Float64Array(n);
    this.runningTimeS = new Float64Array(n);
    this.signalDelayS = new Float64Array(n);
    this.travelTimeS = new Float64Array(n);
    this.travelSpeedKph = new Float64Array(n);
    this.tpi = new Float64Array(n);
    this.level = new Uint8Array(n);
    this.vehKm = new Float64Array(n);
    this.laneDelayS = new Float64Array(c.laneIds.length);
    this.arrivalOnGreenShare = new Float64Array(n).fill(Number.NaN);
    this.scratch = createPlanBuffer(c);
    this.thresholds = Array.from(links.linkClass, (k) => thresholdsOf(k));
    this.throughPhase = new Int32Array(n).fill(-1);
    for (let k = 0; k < n; k++) {
      const bit = 1 << movementIndex(links.approach[k]!, THROUGH_TURN);
      for (let q = links.laneStart[k]!; q < links.laneStart[k + 1]!; q++) {
        const l = links.lanes[q]!;
        if ((c.laneMovementMask[l]! & bit) !== 0 && c.lanePhase[l]! >= 0) {
          this.throughPhase[k] = c.lanePhase[l]!;
          break;
        }
      }
    }
  }

  /** Feeds the free-flow intervals of one interval to the g-factor estimator (before `update`, or on history). */
  calibrate(x: LoopInterval): void {
    const L = this.links;
    for (let k = 0; k < L.count; k++) {
      const vff = L.freeFlowKph[k]! / 3.6;
      for (let q = L.advStart[k]!; q < L.advStart[k + 1]!; q++) {
        const d = L.adv[q]!;
        this.g.observe(d, x.volumeVeh[d]!, x.occupancyPct[d]!, x.intervalS, vff);
      }
    }
  }

  /** Computes every link's state for one interval under `plan` (the plan in force then). */
  update(x: LoopInterval, plan: PlanBuffer, intervalStartS = Number.NaN): void {
    const c = this.c;
    const L = this.links;
    const sc = this.scratch;
    this.intervalStartS = intervalStartS;
    this.revision++;
    this.laneDelayS.fill(0);
    sc.cycleS.set(plan.cycleS);
    sc.lostTimeS.set(plan.lostTimeS);
    sc.criticalFlowRatio.set(plan.criticalFlowRatio);
    sc.phaseGreenS.set(plan.phaseGreenS);
    const scale = 3600 / x.intervalS;
    const laneFlow = sc.laneFlowVehPerH;
    for (let l = 0; l < laneFlow.length; l++) {
      const d = c.laneDetector[l]!;
      const v = d >= 0 ? x.volumeVeh[d]! : Number.NaN;
      laneFlow[l] = v >= 0 ? v * scale : 0;
    }
    for (let i = 0; i < c.intersectionCount; i++) if (sc.cycleS[i]! > 0) evaluateTiming(c, i, sc);
    // Measured saturation flows: the same green share, the lane's own discharge rate.
    const satMeasured = x.saturationFlowVehPerH;
    if (satMeasured) {
      for (let l = 0; l < laneFlow.length; l++) {
        const s = satMeasured[l]!;
        if (!(s > 0) || c.lanePermittedOnly[l] === 1 || c.lanePhase[l]! < 0) continue;
        this.scaleCapacity(l, s / c.laneSatFlowVehPerH[l]!);
      }
    }
    // What incidents leave of a link's capacity, spread over its lanes.
    const left = x.linkCapacityFactor;
    if (left) {
      for (let k = 0; k < L.count; k++) {
        const f = left[k]!;
        if (!(f >= 0 && f < 1)) continue;
        for (let q = L.laneStart[k]!; q < L.laneStart[k + 1]!; q++) this.scaleCapacity(L.lanes[q]!, f);
      }
    }
    const measured = x.measuredSpeedKph;
    const aog = x.arrivalOnGreenShare;
    const gain = c.extensionOfEffectiveGreenS - c.startUpLostTimeS;
    for (let k = 0; k < L.count; k++) {
      const i = L.toIntersection[k]!;
      const cycleS = sc.cycleS[i]!;
      // Progression (HCM 2010 ch. 18: PF = (1 − P) f_PA / (1 − g/C), f_PA = 1) on the lanes of
      // the link's through phase, when the share arriving on green is known; random arrivals else.
      const p = aog ? aog[k]! : Number.NaN;
      this.arrivalOnGreenShare[k] = p >= 0 ? p : Number.NaN;
      const io = x.throughDelayS ? x.throughDelayS[k]! : Number.NaN;
      const through = this.throughPhase[k]!;
      // Flow and delay over the link's lanes.
      let flow = 0;
      let delayVeh = 0;
      let delaySum = 0;
      let served = 0;
      for (let q = L.laneStart[k]!; q < L.laneStart[k + 1]!; q++) {
        const l = L.lanes[q]!;
        const ph = c.lanePhase[l]!;
        if (ph < 0 || !(cycleS > 0)) continue;
        const v = laneFlow[l]!;
        const ratio = Math.max(0, (sc.phaseGreenS[ph]! + gain) / cycleS);
        const xl = sc.laneVc[l]!;
        const total = laneDelay(cycleS, ratio, xl, sc.laneCapacityVehPerH[l]!);
        const d1 = (0.5 * cycleS * (1 - ratio) * (1 - ratio)) / (1 - Math.min(1, xl) * ratio);
        const pf = ph === through && p >= 0 && ratio < 1 ? Math.min(MAX_PROGRESSION_FACTOR, (1 - p) / (1 - ratio)) : 1;
        const dl = ph === through && io >= 0 ? io : d1 * pf + (total - d1);
        this.laneDelayS[l] = dl;
        flow += v;
        delayVeh += dl * v;
        delaySum += dl;
        served++;
      }
      const delayS = flow > 0 ? delayVeh / flow : served > 0 ? delaySum / served : 0;
      // Spot speed at the advance loops: n / Σ(1/v_i), each loop's Σ(1/v_i) = occupied time / L_eff.
      let n = 0;
      let invSum = 0;
      let occ = 0;
      let loops = 0;
      for (let q = L.advStart[k]!; q < L.advStart[k + 1]!; q++) {
        const d = L.adv[q]!;
        const vol = x.volumeVeh[d]!;
        const o = x.occupancyPct[d]!;
        if (!(vol >= 0) || !(o >= 0)) continue;
        occ += o;
        loops++;
        const ms = measured ? measured[d]! : Number.NaN;
        if (ms > 0) invSum += (vol * 3.6) / ms;
        else invSum += ((o / 100) * x.intervalS) / this.g.effectiveLengthM(d);
        n += vol;
      }
      const ffMps = L.freeFlowKph[k]! / 3.6;
      let spot = Number.NaN;
      if (loops > 0) spot = n > 0 && invSum > 0 ? (3.6 * n) / invSum : occ / loops >= 50 ? 0 : L.freeFlowKph[k]!;
      const runS = L.lengthM[k]! / ffMps;
      const tt = runS + delayS;
      this.flowVehPerH[k] = flow;
      this.occupancyPct[k] = loops > 0 ? occ / loops : Number.NaN;
      this.spotSpeedKph[k] = spot;
      this.runningTimeS[k] = runS;
      this.signalDelayS[k] = delayS;
      this.travelTimeS[k] = tt;
      const speed = (3.6 * L.lengthM[k]!) / tt;
      this.travelSpeedKph[k] = speed;
      this.tpi[k] = linkTpi(speed, L.freeFlowKph[k]!, this.thresholds[k]!);
      this.level[k] = levelOf(this.tpi[k]!);
      this.vehKm[k] = (flow * x.intervalS * L.lengthM[k]!) / 3600 / 1000;
    }
  }

  /** Lane l's capacity in this update times `factor`, and its v/c with it (no capacity: v/c 0 without flow, else infinite). */
  private scaleCapacity(l: number, factor: number): void {
    const sc = this.scratch;
    const cap = sc.laneCapacityVehPerH[l]! * factor;
    const v = sc.laneFlowVehPerH[l]!;
    sc.laneCapacityVehPerH[l] = cap;
    sc.laneVc[l] = cap > 0 ? v / cap : v > 0 ? Number.POSITIVE_INFINITY : 0;
  }

  /** The lane flows of the last interval, veh/h (measured; 0 where a lane's loop was missing). */
  get laneFlowVehPerH(): Float64Array {
    return this.scratch.laneFlowVehPerH;
  }

  /** The highest v/c of link k's lanes in the last interval (measured flows, the plan's greens). */
  laneVcMax(k: number): number {
    let x = 0;
    for (let q = this.links.laneStart[k]!; q < this.links.laneStart[k + 1]!; q++) x = Math.max(x, this.scratch.laneVc[this.links.lanes[q]!]!);
    return x;
  }

  /** Sum of the links' travel times, s. */
  routeTravelTimeS(path: ArrayLike<number>): number {
    let t = 0;
    for (let q = 0; q < path.length; q++) t += this.travelTimeS[path[q]!]!;
    return t;
  }
}
