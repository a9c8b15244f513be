/**
 * Congestion levels as Chinese cities report them: the traffic performance
 * index (TPI, 交通运行指数, 0–10) and its five levels 畅通 / 基本畅通 /
 * 轻度拥堵 / 中度拥堵 / 严重拥堵, per link from its travel speed and road class,
 * and per corridor and for the city as the VKT-weighted mean of the links'.
 * Called by linkState.ts every interval and by the TrafficStateService.
 *
 * Sources, and what could not be checked (docs/traffic.md says the same):
 *  - The five levels in bands of two index points, [0,2) 畅通, [2,4) 基本畅通, [4,6) 轻度拥堵,
 *    [6,8) 中度拥堵, [8,10] 严重拥堵, are the scale cities publish (Shanghai and Ningbo press
 *    releases; the 交通指数 entry of newton.com.tw). That GB/T 33171-2016 fixes these bands is
 *    what those sources say; the standard's text itself was not available here.
 *  - Link levels by average travel speed and road class (km/h; expressway / arterial /
 *    collector and local): 畅通 above 65 / 40 / 35, 基本畅通 above 50 / 30 / 25, 轻度拥堵 above
 *    35 / 20 / 15, 中度拥堵 above 20 / 15 / 10, 严重拥堵 at or below 20 / 15 / 10. This is the
 *    table a paper on hanspub.org reproduces (html.hanspub.org/file/_6-1700079_1_hanspub.htm)
 *    as the standard's; not verified against GB/T 33171's text.
 *  - How a link's speed becomes an index value between the thresholds is NOT from the
 *    standard (which, as far as could be checked, grades links and derives the network index
 *    from them): here the index runs linearly from 0 at the free-flow speed through 2, 4, 6, 8
 *    at the four thresholds to 10 at standstill, so a link's level is exactly the table's.
 *  - Corridor and city index: the VKT-weighted mean of the links' indices. Beijing's DB11/T
 *    785 instead maps the share of congested VKT to the index; which of the two GB/T 33171
 *    prescribes was not verified.
 */
import { LinkClass } from './links.js';

export const LEVEL_NAMES_ZH = ['畅通', '基本畅通', '轻度拥堵', '中度拥堵', '严重拥堵'] as const;
export const LEVEL_NAMES = ['free', 'basically free', 'lightly congested', 'moderately congested', 'heavily congested'] as const;
export type CongestionLevel = 0 | 1 | 2 | 3 | 4;

/** Speed thresholds between the five levels, km/h, highest first, per GB/T road class (see the header). */
export const SPEED_THRESHOLDS_KPH = {
  expressway: [65, 50, 35, 20],
  arterial: [40, 30, 20, 15],
  collector: [35, 25, 15, 10],
} as const;

/** The thresholds a link class is graded by: arterials as 主干路, the rest as 次干路、支路. */
export function thresholdsOf(cls: number): readonly number[] {
  return cls === LinkClass.Arterial ? SPEED_THRESHOLDS_KPH.arterial : SPEED_THRESHOLDS_KPH.collector;
}

/**
 * The index of a link travelling at `speedKph`: 0 at or above the free-flow speed (at least 5 km/h
 * above the class's first threshold), 2/4/6/8 at the thresholds, 10 at standstill, linear between.
 * NaN speed (unknown) gives NaN.
 */
export function linkTpi(speedKph: number, freeFlowKph: number, thresholds: readonly number[]): number {
  if (!(speedKph >= 0)) return Number.NaN;
  const top = Math.max(freeFlowKph, thresholds[0]! + 5);
  if (speedKph >= top) return 0;
  let hi = top;
  for (let k = 0; k < thresholds.length; k++) {
    const lo = thresholds[k]!;
    // Within (lo, hi]: index 2k at hi rising to 2k + 2 at lo.
    if (speedKph > lo) return 2 * k + (2 * (hi - speedKph)) / (hi - lo);
    hi = lo;
  }
  return 8 + (2 * (hi - speedKph)) / hi;
}

/** The level of an index value: its band of two points (10 is 严重拥堵 too). */
export function levelOf(tpi: number): CongestionLevel {
  if (!(tpi >= 0)) return 0;
  return Math.min(4, Math.floor(tpi / 2)) as CongestionLevel;
}

/**
 * The VKT-weighted mean index of `links` (all when undefined); links with an unknown index or no
 * traffic are left out. NaN when no link has both.
 */
export function weightedTpi(tpi: Float64Array, vehKm: Float64Array, links?: Int32Array): number {
  let sum = 0;
  let w = 0;
  const n = links ? links.length : tpi.length;
  for (let q = 0; q < n; q++) {
    const k = links ? links[q]! : q;
    const x = tpi[k]!;
    const v = vehKm[k]!;
    if (!(x >= 0) || !(v > 0)) continue;
    sum += x * v;
    w += v;
  }
  return w > 0 ? sum / w : Number.NaN;
}
