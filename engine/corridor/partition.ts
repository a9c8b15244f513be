/**
 * Splits a corridor into subsystems where coordinating across a link does not pay, the way
 * engineers group signals before timing them. Called by planCorridors (corridorPlan.ts) before
 * the common cycles are searched; the pieces are then coordinated as corridors of their own and
 * a piece of one signal runs its isolated plan.
 *
 * Rules (FHWA "Signal Timing on a Shoestring", FHWA-HOP-07-006, after Hook and Albers, with the
 * coupling index CI = V / D², V the two-way link volume in 1000 veh/h and D the spacing in miles):
 *  - a link of 5,000 ft (1,524 m) or more is a system boundary;
 *  - a link of 2,500–5,000 ft is a boundary when CI < 1, and a candidate when CI ≤ 50;
 *  - neighbours whose own (isolated) cycles differ by a factor of 1.5 or more are a candidate:
 *    one would pull the other to its cycle, or leave it to double cycling that may not fit.
 * A candidate link is cut only where the planner's own score (delay and stops per hour, the
 * score the common-cycle search minimises, with the traffic entering each piece at random)
 * says the pieces do better than the whole, by at least MIN_GAIN.
 */

/** One link of a corridor, between its members k and k + 1. */
export interface CorridorLinkFacts {
  readonly lengthM: number;
  /** Both directions' traffic on the link, veh/h. */
  readonly twoWayVehPerH: number;
}

export interface PartitionInput {
  /** Member ids in corridor order (for the reasons). */
  readonly ids: readonly string[];
  /** Each member's own cycle, s (its isolated plan). */
  readonly ownCycleS: readonly number[];
  /** Links between consecutive members (length n − 1). */
  readonly links: readonly CorridorLinkFacts[];
  /**
   * The planner's score of members [from, to] (inclusive) run as one subsystem at its best
   * common cycle, or isolated when from = to; lower is better. Called only for candidate pieces.
   */
  readonly score: (from: number, to: number) => number;
}

export interface Partition {
  /** [from, to] member ranges (inclusive), in order. */
  readonly pieces: readonly (readonly [number, number])[];
  /** Why each cut was made, one line per cut, in order. */
  readonly reasons: readonly string[];
}

const FT_PER_M = 1 / 0.3048;
/** Hook and Albers: links this long (ft) are boundaries; shorter than NEAR_FT are always linked by distance. */
export const BOUNDARY_FT = 5000;
export const NEAR_FT = 2500;
/** Coupling index bounds: below LOW a mid-length link is a boundary, up to HIGH a candidate. */
export const COUPLING_LOW = 1;
export const COUPLING_HIGH = 50;
/** Own cycles this far apart make the link a candidate. */
export const CYCLE_RATIO = 1.5;
/** A candidate is cut only when the pieces' score is this much lower than the whole's. */
export const MIN_GAIN = 0.05;
/** At most this many candidate cuts are weighed in one piece (each pair of them is a cycle search). */
const MAX_CANDIDATES = 6;

/** Coupling index of a link: V / D², V in 1000 veh/h (both directions), D in miles. */
export function couplingIndex(link: CorridorLinkFacts): number {
  const miles = (link.lengthM * FT_PER_M) / 5280;
  return link.twoWayVehPerH / 1000 / (miles * miles);
}

type Verdict = { readonly kind: 'keep' } | { readonly kind: 'cut' | 'candidate'; readonly why: string };

function linkVerdict(p: PartitionInput, k: number): Verdict {
  const link = p.links[k]!;
  const ft = link.lengthM * FT_PER_M;
  const where = `${p.ids[k]}–${p.ids[k + 1]}`;
  const ci = couplingIndex(link);
  if (ft >= BOUNDARY_FT) return { kind: 'cut', why: `${where}: link ${Math.round(link.lengthM)} m (5,000 ft or more: platoons disperse)` };
  if (ft >= NEAR_FT && ci < COUPLING_LOW) return { kind: 'cut', why: `${where}: link ${Math.round(link.lengthM)} m carrying ${Math.round(link.twoWayVehPerH)} veh/h, coupling index ${ci.toFixed(2)} < ${COUPLING_LOW}` };
  const a = p.ownCycleS[k]!;
  const b = p.ownCycleS[k + 1]!;
  const ratio = Math.max(a, b) / Math.max(1e-9, Math.min(a, b));
  if (ratio >= CYCLE_RATIO) return { kind: 'candidate', why: `${where}: own cycles ${Math.round(a)} s and ${Math.round(b)} s (${ratio.toFixed(1)}×)` };
  if (ft >= NEAR_FT && ci <= COUPLING_HIGH) return { kind: 'candidate', why: `${where}: link ${Math.round(link.lengthM)} m, coupling index ${ci.toFixed(1)} (weak)` };
  return { kind: 'keep' };
}

/** The corridor's subsystems: boundaries cut, candidates cut where the score says so. */
export function partitionCorridor(p: PartitionInput): Partition {
  const n = p.ids.length;
  const verdicts = Array.from({ length: n - 1 }, (_, k) => linkVerdict(p, k));
  const pieces: [number, number][] = [];
  const reasons: string[] = [];
  let from = 0;
  for (let k = 0; k <= n - 1; k++) {
    const v = verdicts[k];
    if (k < n - 1 && v?.kind !== 'cut') continue;
    // Members from..k form a piece between boundaries; weigh its candidates.
    const within = piecesByScore(p, from, k, verdicts);
    pieces.push(...within.pieces);
    reasons.push(...within.reasons);
    if (v?.kind === 'cut') reasons.push(`cut ${v.why}`);
    from = k + 1;
  }
  // Reasons in corridor order.
  reasons.sort((x, y) => order(p, x) - order(p, y));
  return { pieces, reasons };
}

function order(p: PartitionInput, reason: string): number {
  const k = p.ids.findIndex((id, j) => j < p.ids.length - 1 && reason.includes(` ${id}–${p.ids[j + 1]}:`));
  return k < 0 ? Number.MAX_SAFE_INTEGER : k;
}

/** Best split of members [lo, hi] at its candidate links (dynamic programming over pieces). */
function piecesByScore(p: PartitionInput, lo: number, hi: number, verdicts: readonly Verdict[]): { pieces: [number, number][]; reasons: string[] } {
  const candidates: number[] = [];
  for (let k = lo; k < hi; k++) if (verdicts[k]!.kind === 'candidate') candidates.push(k);
  if (candidates.length === 0) return { pieces: [[lo, hi]], reasons: [] };
  // Too many to weigh: keep the ones with the widest cycle gap.
  if (candidates.length > MAX_CANDIDATES) {
    const gap = (k: number) => Math.max(p.ownCycleS[k]!, p.ownCycleS[k + 1]!) / Math.min(p.ownCycleS[k]!, p.ownCycleS[k + 1]!);
    candidates.sort((a, b) => gap(b) - gap(a)).splice(MAX_CANDIDATES);
    candidates.sort((a, b) => a - b);
  }
  // Piece boundaries: starts at lo and after each candidate; ends at each candidate and hi.
  const starts = [lo, ...candidates.map((k) => k + 1)];
  const ends = [...candidates, hi];
  const memo = new Map<string, number>();
  const score = (a: number, b: number): number => {
    const key = `${a}:${b}`;
    let s = memo.get(key);
    if (s === undefined) memo.set(key, (s = p.score(a, b)));
    return s;
  };
  // best[j]: least score of members lo..ends[j] split at candidates; prev[j]: where its last piece starts.
  const m = ends.length;
  const best = new Float64Array(m).fill(Infinity);
  const prev = new Int32Array(m).fill(-1);
  for (let j = 0; j < m; j++) {
    for (let s = 0; s <= j; s++) {
      const before = s === 0 ? 0 : best[s - 1]!;
      const total = before + score(starts[s]!, ends[j]!);
      if (total < best[j]!) {
        best[j] = total;
        prev[j] = s;
      }
    }
  }
  const whole = score(lo, hi);
  if (!(best[m - 1]! < whole * (1 - MIN_GAIN))) return { pieces: [[lo, hi]], reasons: [] };
  const pieces: [number, number][] = [];
  for (let j = m - 1; j >= 0; ) {
    const s = prev[j]!;
    pieces.unshift([starts[s]!, ends[j]!]);
    j = s - 1;
  }
  const gain = Math.round((1 - best[m - 1]! / whole) * 100);
  const reasons = pieces.slice(0, -1).map(([, end]) => `cut ${(verdicts[end] as { why: string }).why}; the pieces score ${gain} % below the whole`);
  return { pieces, reasons };
}
