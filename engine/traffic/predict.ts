/**
 * Link travel-time prediction 15, 30 and 60 minutes ahead, and its two
 * baselines: the historical time-of-day average (same slot, same day type,
 * previous four weeks) and persistence (the latest value). The method keeps
 * the historical profile and forecasts how much of today's departure from it
 * lasts: r = ln(travel time / profile), smoothed by an exponential average
 * (weight `alpha` on the newest slot), is carried `h` ahead scaled by φ_h,
 * and the forecast is profile(t + h) · exp(φ_h · r̄(t)). The ratio-to-
 * profile form is the classic one for link times (e.g. the "deviation from
 * historical" predictors compared by Smith, Williams & Oswald 2002, Transp.
 * Res. C 10; and Rice & van Zwet 2004's time-varying coefficient on the
 * ratio); φ_h and alpha are fitted per link class and horizon on tuning seeds
 * only (`fitPredictor`), and scored on held-out seeds by the benchmark
 * (bench/traffic/predict.ts) and the test. Works on 5-minute series of one
 * link (generate.ts shapes); allocation per call, not per slot.
 */
import { isWeekend, SLOTS_PER_DAY } from './generate.js';

/** Horizons in 5-minute slots: 15, 30, 60 min. */
export const HORIZON_SLOTS = [3, 6, 12] as const;
export const HISTORY_DAYS = 28;
/** Smoothing weights tried when fitting. */
export const ALPHAS = [0.2, 0.35, 0.5, 0.7, 1] as const;

export interface PredictorParams {
  readonly alpha: number;
  /** Per horizon (HORIZON_SLOTS order). */
  readonly phi: readonly number[];
}

/** Historical mean per (day, slot): same slot over the previous HISTORY_DAYS days of the same day type; NaN with none. */
export function historicalProfile(y: Float64Array): Float64Array {
  const days = y.length / SLOTS_PER_DAY;
  const out = new Float64Array(y.length).fill(Number.NaN);
  for (let d = 0; d < days; d++) {
    const we = isWeekend(d);
    for (let s = 0; s < SLOTS_PER_DAY; s++) {
      let sum = 0;
      let n = 0;
      for (let p = Math.max(0, d - HISTORY_DAYS); p < d; p++) {
        if (isWeekend(p) !== we) continue;
        sum += y[p * SLOTS_PER_DAY + s]!;
        n++;
      }
      if (n > 0) out[d * SLOTS_PER_DAY + s] = sum / n;
    }
  }
  return out;
}

/** The smoothed log ratio to the profile at every slot (0 where the profile is unknown). */
export function smoothedRatio(y: Float64Array, hist: Float64Array, alpha: number): Float64Array {
  const e = new Float64Array(y.length);
  let prev = 0;
  for (let t = 0; t < y.length; t++) {
    const h = hist[t]!;
    const r = h > 0 && y[t]! > 0 ? Math.log(y[t]! / h) : 0;
    prev = alpha * r + (1 - alpha) * prev;
    e[t] = prev;
  }
  return e;
}

/** The method's forecast for slot t + h made at slot t. */
export function forecast(hist: Float64Array, e: Float64Array, t: number, h: number, phi: number): number {
  return hist[t + h]! * Math.exp(phi * e[t]!);
}

/** First slot scored: once the baseline has its four weeks. */
export const FIRST_SCORED_SLOT = HISTORY_DAYS * SLOTS_PER_DAY;

/** Least-squares φ for horizon h over series: Σ e_t r_{t+h} / Σ e_t². */
function fitPhi(series: readonly { y: Float64Array; hist: Float64Array; e: Float64Array }[], h: number): number {
  let num = 0;
  let den = 0;
  for (const { y, hist, e } of series) {
    for (let t = FIRST_SCORED_SLOT; t + h < y.length; t++) {
      const target = Math.log(y[t + h]! / hist[t + h]!);
      num += e[t]! * target;
      den += e[t]! * e[t]!;
    }
  }
  return den > 0 ? num / den : 0;
}

/** Mean absolute error of the method with φ at a horizon of h slots, s. */
function maeOf(series: readonly { y: Float64Array; hist: Float64Array; e: Float64Array }[], h: number, phi: number): number {
  let sum = 0;
  let n = 0;
  for (const { y, hist, e } of series) {
    for (let t = FIRST_SCORED_SLOT; t + h < y.length; t++) {
      sum += Math.abs(forecast(hist, e, t, h, phi) - y[t + h]!);
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

/** Fits alpha (from ALPHAS, by the mean MAE over the horizons) and φ per horizon on the given series (one class). */
export function fitPredictor(ys: readonly Float64Array[]): PredictorParams {
  const hists = ys.map((y) => historicalProfile(y));
  let best: PredictorParams | undefined;
  let bestMae = Infinity;
  for (const alpha of ALPHAS) {
    const series = ys.map((y, k) => ({ y, hist: hists[k]!, e: smoothedRatio(y, hists[k]!, alpha) }));
    const phi = HORIZON_SLOTS.map((h) => fitPhi(series, h));
    const mae = HORIZON_SLOTS.reduce((a, h, k) => a + maeOf(series, h, phi[k]!), 0);
    if (mae < bestMae) {
      bestMae = mae;
      best = { alpha, phi };
    }
  }
  return best!;
}

export interface HorizonScore {
  readonly horizonMin: number;
  readonly n: number;
  /** Mean absolute errors, s. */
  readonly maeMethod: number;
  readonly maeHistorical: number;
  readonly maePersistence: number;
  /** Mean absolute percentage errors, %. */
  readonly mapeMethod: number;
  readonly mapeHistorical: number;
  readonly mapePersistence: number;
}

/** Scores the method and both baselines on series of one class, from FIRST_SCORED_SLOT on. */
export function scoreSeries(ys: readonly Float64Array[], params: PredictorParams): HorizonScore[] {
  return HORIZON_SLOTS.map((h, k) => {
    let n = 0;
    const abs = [0, 0, 0];
    const pct = [0, 0, 0];
    for (const y of ys) {
      const hist = historicalProfile(y);
      const e = smoothedRatio(y, hist, params.alpha);
      for (let t = FIRST_SCORED_SLOT; t + h < y.length; t++) {
        const truth = y[t + h]!;
        const preds = [forecast(hist, e, t, h, params.phi[k]!), hist[t + h]!, y[t]!];
        for (let m = 0; m < 3; m++) {
          const err = Math.abs(preds[m]! - truth);
          abs[m] = abs[m]! + err;
          pct[m] = pct[m]! + err / truth;
        }
        n++;
      }
    }
    return {
      horizonMin: h * 5,
      n,
      maeMethod: abs[0]! / n,
      maeHistorical: abs[1]! / n,
      maePersistence: abs[2]! / n,
      mapeMethod: (100 * pct[0]!) / n,
      mapeHistorical: (100 * pct[1]!) / n,
      mapePersistence: (100 * pct[2]!) / n,
    };
  });
}
