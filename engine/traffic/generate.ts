/**
 * Synthetic multi-week link travel times for the prediction benchmark
 * (bench/traffic/predict.ts) and its test: the simulator is too slow for
 * weeks of a city, so this draws what drives a signalised link's travel time
 * and turns it into travel time with the engine's own delay model.
 *
 * Per link, every 5 minutes: demand = the day type's time-of-day profile
 * (weekday AM and PM peaks, a flatter weekend) × the link's peak size × a
 * day factor (lognormal, σ 0.06) × a slow within-day deviation (AR(1) in
 * the log, about an hour's memory: weather, events upstream) × short-term
 * noise; a few incidents a month cut the capacity by a third for 20–90
 * minutes. Travel time = free-flow time + HCM uniform + incremental delay
 * (engine/timing/planner.ts laneDelay) at the class's cycle and green ratio,
 * plus measurement noise (5 %, as a loop-based estimate would carry). What
 * the generator leaves out: holidays, seasonal drift, spillback between
 * links, plan changes. Deterministic by seed.
 */
import { SeededRandom } from '../numeric.js';
import { laneDelay } from '../timing/planner.js';
import { LinkClass } from './links.js';

export const SLOT_S = 300;
export const SLOTS_PER_DAY = 86_400 / SLOT_S;

export interface SyntheticLink {
  readonly cls: LinkClass;
  readonly freeFlowS: number;
  /** Travel time, s, [day * SLOTS_PER_DAY + slot]. */
  readonly travelTimeS: Float64Array;
}

/** Weekday (Monday = day 0) or weekend. */
export const isWeekend = (day: number): boolean => day % 7 >= 5;

function gauss(rng: SeededRandom): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Demand as a share of capacity at time of day h (hours), before the link's own scaling. */
function profile(h: number, weekend: boolean): number {
  const bump = (c: number, w: number): number => Math.exp(-0.5 * ((h - c) / w) ** 2);
  if (weekend) return 0.12 + 0.55 * bump(14, 3.5);
  return 0.1 + 0.75 * bump(8, 1.1) + 0.45 * bump(12.5, 2.5) + 0.85 * bump(18, 1.3);
}

export function generateLinks(seed: number, days: number, arterials: number, sides: number): SyntheticLink[] {
  const rng = new SeededRandom(seed);
  const out: SyntheticLink[] = [];
  for (let k = 0; k < arterials + sides; k++) {
    const cls = k < arterials ? LinkClass.Arterial : LinkClass.Side;
    const lengthM = cls === LinkClass.Arterial ? 300 + 400 * rng.next() : 150 + 150 * rng.next();
    const freeFlowS = lengthM / ((cls === LinkClass.Arterial ? 50 : 40) / 3.6);
    const cycleS = 90 + 40 * rng.next();
    const greenRatio = cls === LinkClass.Arterial ? 0.45 + 0.1 * rng.next() : 0.25 + 0.1 * rng.next();
    const capacity = 1800 * greenRatio;
    // Peak v/c between 0.75 and 1.0: some links are saturated at the peak, most are not.
    const peak = 0.75 + 0.25 * rng.next();
    const y = new Float64Array(days * SLOTS_PER_DAY);
    let slow = 0;
    let incidentLeft = 0;
    for (let d = 0; d < days; d++) {
      const dayFactor = Math.exp(0.06 * gauss(rng));
      for (let s = 0; s < SLOTS_PER_DAY; s++) {
        // About an hour of memory at 5-minute steps.
        slow = 0.92 * slow + 0.04 * gauss(rng);
        if (incidentLeft > 0) incidentLeft--;
        else if (rng.next() < 3 / (30 * SLOTS_PER_DAY)) incidentLeft = 4 + Math.floor(14 * rng.next());
        const h = (s + 0.5) / 12;
        const vc = peak * profile(h, isWeekend(d)) * dayFactor * Math.exp(slow + 0.05 * gauss(rng));
        const cap = incidentLeft > 0 ? capacity * 0.67 : capacity;
        const x = Math.min((vc * capacity) / cap, 1.3);
        const delayS = Math.min(laneDelay(cycleS, greenRatio, x, cap), 600);
        y[d * SLOTS_PER_DAY + s] = (freeFlowS + delayS) * Math.exp(0.05 * gauss(rng));
      }
    }
    out.push({ cls, freeFlowS, travelTimeS: y });
  }
  return out;
}
