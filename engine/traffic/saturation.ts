/**
 * Saturation flow per lane measured from the controllers' high-resolution
 * events, the way HCM's field method measures it (HCM 2010 ch. 31, "Field
 * measurement of saturation flow rate": the stop-line crossings of a queue
 * discharging in green, the headways from the fourth vehicle on, until the
 * queue has gone). Here a lane's stop-line loop gives the crossings (its
 * detector-on events, 82) in each green of the lane's phase (green start to
 * yellow end, engine/measures/cycles.ts); from the fifth crossing on, each
 * headway counts while it is at most MAX_QUEUE_HEADWAY_S (a longer one means
 * the queue had cleared: later vehicles arrive at random), and a green with
 * fewer than five crossings had no queue to measure. A lane's saturation flow
 * is 3600 / the mean headway once MIN_HEADWAYS were seen; the sums accumulate
 * over every call (a lane's saturation flow changes with its geometry and
 * traffic mix, not by the minute).
 *
 * Why: the planner's saturation flows are the HCM base (1,800 veh/h/lane in
 * the demo city) times its adjustment factors, a design value; where the
 * traffic discharges faster or slower (the microsimulator's IDM drivers run at
 * about 2,000 veh/h, a shared lane behind permitted lefts slower), the link
 * state's v/c, and with it the HCM delay near capacity, is off by as much.
 * Read by linkState.ts (LoopInterval.saturationFlowVehPerH) for the HCM delay;
 * the input-output delay (progression.ts) keeps the network's saturation flow,
 * which agreed better with the simulator's trajectories on the validation's
 * arterials (docs/traffic.md). Fed by the service's traffic state
 * (service/trafficState.ts) and the validation against the simulator.
 */
import type { CompiledNetwork } from '../network/compile.js';
import { DetectorKind } from '../network/compile.js';
import type { MeasureContext } from '../measures/context.js';
import { intersectionOfPhaseIndex } from '../measures/context.js';
import { phaseCycles } from '../measures/cycles.js';

/** A headway longer than this ends a green's queue discharge, s (HCM's saturation headways are about 1.5–2.5 s). */
export const MAX_QUEUE_HEADWAY_S = 3;
/** Headways a lane needs before its measured saturation flow is used. */
export const MIN_HEADWAYS = 30;
/** Crossings before the first counted headway: HCM counts from the fourth vehicle's (start-up lost time before). */
const FIRST_COUNTED = 4;
/** Yellow after which crossings no longer count, ms past the yellow's start: the yellow's own discharge (4 s covers an ITE yellow). */
const YELLOW_TAIL_MS = 4000;

export class SaturationFlowEstimator {
  /** Per compiled lane: Σ counted headways, s, and how many. */
  readonly sumHeadwayS: Float64Array;
  readonly headways: Float64Array;
  /** Stop-line loop per lane (-1 none). */
  private readonly laneLoop: Int32Array;

  constructor(private readonly c: CompiledNetwork) {
    const nl = c.laneIds.length;
    this.sumHeadwayS = new Float64Array(nl);
    this.headways = new Float64Array(nl);
    this.laneLoop = new Int32Array(nl).fill(-1);
    for (let d = 0; d < c.detectorIds.length; d++) if (c.detectorKind[d] === DetectorKind.StopLine && this.laneLoop[c.detectorLane[d]!] === -1) this.laneLoop[c.detectorLane[d]!] = d;
  }

  /**
   * Adds the queue discharges of the greens that start in [fromMs, toMs) of `ctx`'s log; with
   * `intersection` ≥ 0, of that intersection's lanes only (a log of one intersection at a time).
   */
  observe(ctx: MeasureContext, fromMs: number, toMs: number, intersection = -1): void {
    const c = this.c;
    const l0 = intersection >= 0 ? c.laneStart[intersection]! : 0;
    const l1 = intersection >= 0 ? c.laneStart[intersection + 1]! : this.laneLoop.length;
    const ev = ctx.events;
    // Crossings per (location, channel) in time order, gathered once for the window (plus the greens' tails).
    const crossings = new Map<number, number[]>();
    for (let k = 0; k < ev.length; k++) {
      if (ev.codeAt(k) !== 82) continue;
      const t = ev.timestampMsAt(k);
      if (t < fromMs || t >= toMs + 300_000) continue;
      const key = ev.locationAt(k) * 65_536 + ev.paramAt(k);
      const list = crossings.get(key);
      if (list) list.push(t);
      else crossings.set(key, [t]);
    }
    const cyclesOf = new Map<number, ReturnType<typeof phaseCycles>>();
    for (let l = l0; l < l1; l++) {
      const d = this.laneLoop[l]!;
      const p = c.lanePhase[l]!;
      if (d < 0 || p < 0 || c.lanePermittedOnly[l] === 1) continue;
      const i = intersectionOfPhaseIndex(c, p);
      const loc = ctx.location[i]!;
      if (loc < 0) continue;
      const list = crossings.get(loc * 65_536 + ctx.numbering.detectorChannel[d]!);
      if (!list) continue;
      let cycles = cyclesOf.get(p);
      if (!cycles) {
        cycles = phaseCycles(ev, loc, ctx.numbering.phaseNumber[p]!);
        cyclesOf.set(p, cycles);
      }
      let q = 0;
      for (const cy of cycles) {
        if (cy.greenStartMs < fromMs || cy.greenStartMs >= toMs) continue;
        const end = cy.yellowStartMs + YELLOW_TAIL_MS;
        while (q < list.length && list[q]! < cy.greenStartMs) q++;
        let n = 0;
        let prev = Number.NaN;
        for (let j = q; j < list.length && list[j]! < end; j++) {
          n++;
          const h = (list[j]! - prev) / 1000;
          prev = list[j]!;
          if (n <= FIRST_COUNTED) continue;
          if (h > MAX_QUEUE_HEADWAY_S) break;
          this.sumHeadwayS[l] = this.sumHeadwayS[l]! + h;
          this.headways[l] = this.headways[l]! + 1;
        }
      }
    }
  }

  /** Measured saturation flow of lane l, veh/h; NaN until MIN_HEADWAYS were seen. */
  satFlowVehPerH(l: number): number {
    return this.headways[l]! >= MIN_HEADWAYS ? (3600 * this.headways[l]!) / this.sumHeadwayS[l]! : Number.NaN;
  }

  /** Every lane's measured saturation flow (NaN where not yet known), into `out`. */
  fill(out: Float64Array): Float64Array {
    for (let l = 0; l < out.length; l++) out[l] = this.satFlowVehPerH(l);
    return out;
  }
}
