/**
 * Small numeric helpers shared by the engine, the simulator and the tests:
 * a modulo that is never negative (cycle arithmetic), a median, rounding for
 * reports, and the seeded PRNG every reproducible run uses. No dependencies.
 */

/** x rounded to `digits` decimals, for reports and JSON (not for the hot loop: it is a division). */
export function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** x to 0.1: seconds and delays in reports. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** x to 0.001: ratios and stops per vehicle in reports. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** x limited to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** x mod m in [0, m), also for negative x: positions on a signal cycle. */
export function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Median of the values (NaN when there are none); the input is not reordered. */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mulberry32 with its state exposed, for simulations that must fork and replay the same future. */
export class SeededRandom {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
