/**
 * Exact two-way green-band optimization for one corridor (the MAXBAND model of
 * Little 1966 and Little, Kelson & Gartner 1981, with a common cycle, a
 * progression-speed range per link, queue clearance, and a choice of left-turn
 * lead/lag pattern per intersection). Called by the corridor planner and by
 * the worker that runs a city's corridors as a batch.
 *
 * Why it is exact and fast. Write x_i, y_i for where the outbound and inbound
 * bands sit inside intersection i's usable greens (x ∈ [0, gO − b],
 * y ∈ [0, gI − b̄]). Eliminating the offsets leaves one relation per
 * intersection: x_i − y_i ≡ u_i + Δ_i (mod cycle), where Δ_i is the gap
 * between the inbound and outbound green starts (set by the lead/lag pattern)
 * and u_{i+1} = u_i + e_i with e_i = t_i + t̄_i the round-trip travel time of
 * link i, free within its speed range. So u_i must lie in the union of arcs
 * [−gI − Δ, gO − b − Δ − ... ] on the cycle circle, and whether a total band
 * b + b̄ = β is possible depends on β alone (moving width from one direction
 * to the other shifts every arc equally, and u_1 is free). Feasibility of β
 * is a forward sweep of arc sets along the corridor (dilate by the link's
 * travel-time range, intersect with the next intersection's arcs); β* is
 * found by bisection to 1e-7 s; the split between directions then follows
 * the direction weights within b ≤ min gO, b̄ ≤ min gI. The MILP's integer
 * "loop" variables become the wrap-around of arcs, which the sweep handles
 * for every integer at once.
 *
 * The MILP forces a band path in both directions; a one-way wave (b = min gO,
 * nothing asked of the inbound greens) can beat it on long corridors, so the
 * solver evaluates both and keeps the better, measured on the green windows.
 */
import { ArcSet } from './arcs.js';
import { mod } from '../numeric.js';

/** Lead/lag patterns per intersection: lead-lead, lead-lag, lag-lead, lag-lag at most. */
export const MAX_PATTERNS = 4;

/** One corridor's band problem, in seconds. Intersections in outbound order; links between consecutive ones. */
export interface BandProblem {
  readonly n: number;
  readonly cycleS: number;
  readonly weightOut: number;
  readonly weightIn: number;
  /** Cycle or half cycle (double cycling) per intersection. */
  readonly periodS: Float64Array;
  /** Usable outbound / inbound through green for the band (green minus queue clearance). */
  readonly greenOutS: Float64Array;
  readonly greenInS: Float64Array;
  /** 1..MAX_PATTERNS (a Float64Array view when decoded from a worker job). */
  readonly patternCount: ArrayLike<number>;
  /** Start of the usable outbound / inbound window from the cycle start, per pattern: [i * MAX_PATTERNS + p]. */
  readonly outStartS: Float64Array;
  readonly inStartS: Float64Array;
  /** Travel time ranges per link (i → i+1 outbound, i+1 → i inbound). */
  readonly travelOutMinS: Float64Array;
  readonly travelOutMaxS: Float64Array;
  readonly travelInMinS: Float64Array;
  readonly travelInMaxS: Float64Array;
}

/**
 * The narrowest usable green of one direction over a corridor's first `n` intersections, s:
 * the widest one-way band there can be. Pass greenOutS or greenInS. The solver, the
 * corridor report's attainability and the MILP reference all need it; one copy keeps them equal.
 */
export function narrowestGreenS(greenS: Float64Array, n: number): number {
  let minS = Infinity;
  for (let i = 0; i < n; i++) minS = Math.min(minS, greenS[i]!);
  return minS;
}

export const BandMode = { TwoWay: 0, OutboundOnly: 1, InboundOnly: 2 } as const;
export type BandMode = (typeof BandMode)[keyof typeof BandMode];

export interface BandSolution {
  mode: BandMode;
  /** Bands as measured on the resulting green windows. */
  bandOutS: number;
  bandInS: number;
  /** Where each band starts: outbound when it leaves the first intersection, inbound when it reaches it (s, mod cycle). */
  bandOutStartS: number;
  bandInStartS: number;
  /** Weighted objective of the measured bands. */
  objective: number;
  /** Best total band b + b̄ of the two-way model, NaN if that model is infeasible. */
  twoWayTotalS: number;
  /** The model optimum: max(two-way MILP value, best one-way value). */
  modelObjective: number;
  readonly offsetS: Float64Array;
  readonly pattern: Uint8Array;
  readonly travelOutS: Float64Array;
  readonly travelInS: Float64Array;
}

export function allocateSolution(maxN: number): BandSolution {
  return {
    mode: BandMode.TwoWay,
    bandOutS: 0,
    bandInS: 0,
    bandOutStartS: 0,
    bandInStartS: 0,
    objective: 0,
    twoWayTotalS: Number.NaN,
    modelObjective: 0,
    offsetS: new Float64Array(maxN),
    pattern: new Uint8Array(maxN),
    travelOutS: new Float64Array(Math.max(0, maxN - 1)),
    travelInS: new Float64Array(Math.max(0, maxN - 1)),
  };
}

const BISECTION_TOLERANCE_S = 1e-7;
/** How far inside the optimum the offsets are built; far below any controller's 0.1 s resolution. */
const RECONSTRUCTION_SLACK_S = 1e-5;

/**
 * Reusable solver: arc sets for a corridor of up to `maxN` intersections are
 * allocated once, so solving a city's corridors in a worker allocates nothing per corridor.
 */
export class BandSolver {
  private readonly reach: ArcSet[];
  private readonly allowed = new ArcSet();
  private readonly tmp = new ArcSet();
  private readonly tmp2 = new ArcSet();
  private readonly u: Float64Array;
  private readonly e: Float64Array;
  private readonly one = new Float64Array(1);
  private readonly saved: BandSolution;

  constructor(readonly maxN: number) {
    this.saved = allocateSolution(maxN);
    this.reach = Array.from({ length: maxN }, () => new ArcSet());
    this.u = new Float64Array(maxN);
    this.e = new Float64Array(maxN);
  }

  /** Arcs of u_i (mod cycle) for which intersection i can carry a total band β (outbound width β, inbound 0). */
  private allowedArcs(p: BandProblem, i: number, beta: number, out: ArcSet): void {
    out.clear();
    const c = p.cycleS;
    const period = p.periodS[i]!;
    const len = p.greenOutS[i]! + p.greenInS[i]! - beta;
    if (len < 0) return;
    for (let k = 0; k < p.patternCount[i]!; k++) {
      const delta = p.inStartS[i * MAX_PATTERNS + k]! - p.outStartS[i * MAX_PATTERNS + k]!;
      const from = -p.greenInS[i]! - delta;
      if (len >= period) {
        out.setFull(c);
        return;
      }
      for (let rep = 0; rep < c / period - 1e-9; rep++) out.addArc(from + rep * period, len, c);
      if (out.full) return;
    }
    out.normalize();
  }

  /** Forward sweep: is a total two-way band β possible? Leaves the reach sets for backtracking. */
  feasible(p: BandProblem, beta: number): boolean {
    const c = p.cycleS;
    for (let i = 0; i < p.n; i++) {
      const r = this.reach[i]!;
      if (i === 0) this.allowedArcs(p, 0, beta, r);
      else {
        this.allowedArcs(p, i, beta, this.allowed);
        const lo = p.travelOutMinS[i - 1]! + p.travelInMinS[i - 1]!;
        const hi = p.travelOutMaxS[i - 1]! + p.travelInMaxS[i - 1]!;
        this.reach[i - 1]!.dilate(lo, hi, c, this.tmp);
        this.tmp.intersect(this.allowed, r);
      }
      if (r.isEmpty()) return false;
    }
    return true;
  }

  /** Largest total band of the two-way model, or NaN if no two-way band path exists at all. */
  maxTotalBand(p: BandProblem): number {
    let minOut = Infinity;
    let minIn = Infinity;
    let minSum = Infinity;
    for (let i = 0; i < p.n; i++) {
      minOut = Math.min(minOut, p.greenOutS[i]!);
      minIn = Math.min(minIn, p.greenInS[i]!);
      minSum = Math.min(minSum, p.greenOutS[i]! + p.greenInS[i]!);
    }
    let hi = Math.min(minSum, minOut + minIn);
    if (this.feasible(p, hi)) return hi;
    let lo = 0;
    if (!this.feasible(p, lo)) return Number.NaN;
    while (hi - lo > BISECTION_TOLERANCE_S) {
      const mid = 0.5 * (lo + hi);
      if (this.feasible(p, mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Solves the corridor; fills `out` (sized for at least p.n intersections). */
  solve(p: BandProblem, out: BandSolution): BandSolution {
    if (p.n > this.maxN) throw new RangeError(`corridor of ${p.n} intersections exceeds solver capacity ${this.maxN}`);
    const minOut = narrowestGreenS(p.greenOutS, p.n);
    const minIn = narrowestGreenS(p.greenInS, p.n);
    const wo = p.weightOut;
    const wi = p.weightIn;
    const total = this.maxTotalBand(p);
    out.twoWayTotalS = total;
    let twoWayValue = -Infinity;
    let b = 0;
    let bi = 0;
    if (!Number.isNaN(total)) {
      // Linear weights: the heavier direction gets all it can use, the other the rest.
      if (wo >= wi) {
        b = Math.min(minOut, total);
        bi = Math.min(minIn, total - b);
      } else {
        bi = Math.min(minIn, total);
        b = Math.min(minOut, total - bi);
      }
      twoWayValue = wo * b + wi * bi;
    }
    const oneWayValue = Math.max(wo * minOut, wi * minIn);
    out.modelObjective = Math.max(twoWayValue, oneWayValue);

    // Two-way candidate, measured.
    let bestMode: BandMode = BandMode.OutboundOnly;
    let bestObjective = -Infinity;
    if (!Number.isNaN(total)) {
      // Rebuild the reach sets a hair inside the optimum, where they have width to backtrack through.
      const rebuild = Math.max(0, total - RECONSTRUCTION_SLACK_S);
      this.feasible(p, rebuild);
      this.buildTwoWay(p, rebuild, b, bi, out);
      bestMode = BandMode.TwoWay;
      bestObjective = this.measure(p, out);
    }
    // One-way candidates, measured; kept only if strictly better than what we have.
    for (const mode of [BandMode.OutboundOnly, BandMode.InboundOnly] as const) {
      const promised = mode === BandMode.OutboundOnly ? wo * minOut : wi * minIn;
      if (promised <= bestObjective + 1e-9) continue;
      this.saveTo(p, out);
      this.buildOneWay(p, mode, out);
      const value = this.measure(p, out);
      if (value > bestObjective + 1e-9) {
        bestObjective = value;
        bestMode = mode;
      } else {
        this.restoreFrom(p, out);
      }
    }
    out.mode = bestMode;
    this.measure(p, out);
    return out;
  }

  private saveTo(p: BandProblem, s: BandSolution): void {
    this.saved.offsetS.set(s.offsetS.subarray(0, p.n));
    this.saved.pattern.set(s.pattern.subarray(0, p.n));
    this.saved.travelOutS.set(s.travelOutS.subarray(0, p.n - 1));
    this.saved.travelInS.set(s.travelInS.subarray(0, p.n - 1));
    this.saved.mode = s.mode;
  }

  private restoreFrom(p: BandProblem, s: BandSolution): void {
    s.offsetS.set(this.saved.offsetS.subarray(0, p.n));
    s.pattern.set(this.saved.pattern.subarray(0, p.n));
    s.travelOutS.set(this.saved.travelOutS.subarray(0, p.n - 1));
    s.travelInS.set(this.saved.travelInS.subarray(0, p.n - 1));
    s.mode = this.saved.mode;
  }

  /** Offsets from a feasible sweep at total band β, split into (b, b̄). */
  private buildTwoWay(p: BandProblem, beta: number, b: number, bi: number, out: BandSolution): void {
    const c = p.cycleS;
    const n = p.n;
    const u = this.u;
    const e = this.e;
    // Last intersection: the middle of the widest reachable arc, for slack on both sides.
    const lastLen = this.reach[n - 1]!.longest(c, this.one);
    u[n - 1] = this.one[0]! + 0.5 * lastLen;
    for (let i = n - 2; i >= 0; i--) {
      const lo = p.travelOutMinS[i]! + p.travelInMinS[i]!;
      const hi = p.travelOutMaxS[i]! + p.travelInMaxS[i]!;
      // u_i must be reachable and reach u_{i+1} within the link's range: u_i ∈ u_{i+1} − [lo, hi].
      this.tmp.clear();
      this.tmp.addArc(u[i + 1]! - hi, hi - lo, c);
      this.tmp.normalize();
      this.tmp.intersect(this.reach[i]!, this.tmp2);
      const target = u[i + 1]! - 0.5 * (lo + hi);
      u[i] = closestPoint(this.tmp2, target, c);
      // The gap mod C lands in [0, hi − lo]; a gap of "almost C" is float noise for 0.
      let gap = mod(u[i + 1]! - u[i]! - lo, c);
      if (gap > hi - lo && c - gap < 1e-6) gap = 0;
      e[i] = lo + Math.min(gap, hi - lo);
    }
    // Per intersection: the pattern whose arc holds u_i, and where the bands sit in the greens.
    let tOut = 0;
    for (let i = 0; i < n; i++) {
      const period = p.periodS[i]!;
      let bestP = 0;
      let bestSlack = -Infinity;
      let bestZ = 0;
      for (let k = 0; k < p.patternCount[i]!; k++) {
        const delta = p.inStartS[i * MAX_PATTERNS + k]! - p.outStartS[i * MAX_PATTERNS + k]!;
        // u + Δ must fall in the arc [−gI, gO − β] (mod period). Try the representative
        // above the arc's low end and the one a period lower (float noise at the seam).
        const lowEnd = -p.greenInS[i]!;
        const highEnd = p.greenOutS[i]! - beta;
        let z = lowEnd + mod(u[i]! + delta - lowEnd, period);
        let slack = Math.min(z - lowEnd, highEnd - z);
        const below = z - period;
        const slackBelow = Math.min(below - lowEnd, highEnd - below);
        if (slackBelow > slack) {
          z = below;
          slack = slackBelow;
        }
        if (slack > bestSlack) {
          bestSlack = slack;
          bestP = k;
          bestZ = Math.min(Math.max(z, lowEnd), highEnd);
        }
      }
      // Shift from the (β, 0) frame to the (b, b̄) split: every arc moves by b̄.
      let z = bestZ + bi;
      z = Math.min(Math.max(z, bi - p.greenInS[i]!), p.greenOutS[i]! - b);
      const x = z > 0 ? z : 0;
      out.pattern[i] = bestP;
      if (i > 0) {
        const k = i - 1;
        const lo = p.travelOutMinS[k]! + p.travelInMinS[k]!;
        const hi = p.travelOutMaxS[k]! + p.travelInMaxS[k]!;
        const f = hi > lo ? (e[k]! - lo) / (hi - lo) : 0.5;
        out.travelOutS[k] = p.travelOutMinS[k]! + f * (p.travelOutMaxS[k]! - p.travelOutMinS[k]!);
        out.travelInS[k] = e[k]! - out.travelOutS[k]!;
        tOut += out.travelOutS[k]!;
      }
      out.offsetS[i] = mod(tOut - p.outStartS[i * MAX_PATTERNS + bestP]! - x, c);
    }
  }

  /** A perfect wave in one direction at mid-range speed, pattern 0. */
  private buildOneWay(p: BandProblem, mode: BandMode, out: BandSolution): void {
    const c = p.cycleS;
    let t = 0;
    for (let i = 0; i < p.n; i++) {
      if (i > 0) {
        const k = i - 1;
        out.travelOutS[k] = 0.5 * (p.travelOutMinS[k]! + p.travelOutMaxS[k]!);
        out.travelInS[k] = 0.5 * (p.travelInMinS[k]! + p.travelInMaxS[k]!);
      }
      out.pattern[i] = 0;
    }
    if (mode === BandMode.OutboundOnly) {
      for (let i = 0; i < p.n; i++) {
        if (i > 0) t += out.travelOutS[i - 1]!;
        out.offsetS[i] = mod(t - p.outStartS[i * MAX_PATTERNS]!, c);
      }
    } else {
      // Inbound runs from the last intersection back to the first.
      for (let i = p.n - 1; i >= 0; i--) {
        if (i < p.n - 1) t += out.travelInS[i]!;
        out.offsetS[i] = mod(t - p.inStartS[i * MAX_PATTERNS]!, c);
      }
    }
    out.mode = mode;
  }

  /** Measures both bands directly on the green windows of `out` and sets the objective. */
  measure(p: BandProblem, out: BandSolution): number {
    out.bandOutS = measureBand(p, out, true, this.tmp, this.tmp2, this.allowed, this.one);
    out.bandOutStartS = this.one[0]!;
    out.bandInS = measureBand(p, out, false, this.tmp, this.tmp2, this.allowed, this.one);
    out.bandInStartS = this.one[0]!;
    out.objective = p.weightOut * out.bandOutS + p.weightIn * out.bandInS;
    return out.objective;
  }
}

/**
 * Width of the band in one direction: intersect every intersection's usable
 * window, moved back to the first intersection's clock by the travel times,
 * and take the longest common arc. Independent of how the offsets were found.
 */
export function measureBand(p: BandProblem, s: BandSolution, outbound: boolean, acc: ArcSet, win: ArcSet, spare: ArcSet, one: Float64Array): number {
  const c = p.cycleS;
  let travel = 0;
  acc.setFull(c);
  for (let i = 0; i < p.n; i++) {
    if (i > 0) travel += outbound ? s.travelOutS[i - 1]! : s.travelInS[i - 1]!;
    const k = i * MAX_PATTERNS + s.pattern[i]!;
    // Outbound reaches i `travel` after leaving intersection 0; inbound left i `travel` before reaching 0.
    const from = outbound ? s.offsetS[i]! + p.outStartS[k]! - travel : s.offsetS[i]! + p.inStartS[k]! + travel;
    const g = outbound ? p.greenOutS[i]! : p.greenInS[i]!;
    const period = p.periodS[i]!;
    win.clear();
    for (let rep = 0; rep < c / period - 1e-9; rep++) win.addArc(from + rep * period, g, c);
    win.normalize();
    acc.intersect(win, spare);
    acc.copyFrom(spare);
    if (acc.isEmpty()) return 0;
  }
  return acc.longest(c, one);
}


/** The point of an arc set nearest (on the circle) to `target`; the target itself if the set is empty. */
function closestPoint(set: ArcSet, target: number, c: number): number {
  const t = mod(target, c);
  if (set.full || set.count === 0) return t;
  let best = set.start[0]!;
  let bestDist = Infinity;
  for (let k = 0; k < set.count; k++) {
    const a = set.start[k]!;
    const b = set.end[k]!;
    const x = t < a ? a : t > b ? b : t;
    const d = Math.min(Math.abs(x - t), c - Math.abs(x - t));
    if (d < bestDist) {
      bestDist = d;
      best = x;
    }
    // The target may be nearer across the seam.
    for (const y of [a, b]) {
      const dy = Math.min(Math.abs(y - t), c - Math.abs(y - t));
      if (dy < bestDist) {
        bestDist = dy;
        best = y;
      }
    }
  }
  return best;
}
