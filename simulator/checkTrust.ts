/**
 * Where greenwave's microsimulator has earned the trust to choose among plans
 * (issue 13: "where a bound is not met … no command uses our simulator to
 * choose plans there"; issue 12 item 7). A rule of a few thresholds, computed
 * at plan time from what the planner knows: the shape the signals form and
 * the load it planned for; and what `sumo plan` does with the verdict
 * (`decideCheck`). Called by `greenwave sumo plan` (cli/sumo.ts), which checks
 * its shortlist in our simulator only where this trusts it (elsewhere in SUMO
 * when it can run, else not at all), and by `greenwave plan --check N`
 * (cli/main.ts), which warns where it does not.
 *
 * Where the numbers come from: bench/fidelity (docs/benchmarks.md, "bench/fidelity";
 * lane changing off, the default), the TUNING half only — arterial-01, rand-03,
 * grid-05, arterial-07, rand-09, grid-11 (odd seeds, bench/scenarios/family.ts) —
 * each at light, medium and near-saturation demand. Trusted means all three of issue
 * 13's bounds were met there: our time loss within ±15 % of SUMO's on every one of
 * nine plans, throughput within ±5 %, Spearman ρ ≥ 0.8 between the two orderings.
 * Bounds met on the tuning half (L loss, T throughput, ρ):
 *
 *   shape      light              medium            near saturation
 *   arterial   L T ρ,  L T ρ      –,  T             ρ,  –             → trusted at light demand only
 *   grid       L T ρ,  L T ρ      L T ρ,  T ρ       T ρ,  –           → trusted at light, and medium on grid-05
 *   irregular  T ρ,  T ρ          T ρ,  ρ           ρ,  T ρ           → never (time loss 19–43 % under SUMO's)
 *
 * A first version trusted where ρ alone held (irregular networks at every level, grids up
 * to Y 0.44, arterials at light). On the tuning cases its plans lost 3.5 % more time in
 * SUMO than checking in our simulator everywhere, this one's 0.3 % less: on irregular
 * networks, which only ρ trusted, the check in SUMO kept better plans than ours in 5 of
 * 6 tuning cases. Why a good ρ over nine very different plans did not carry over to
 * greenwave's own shortlist there is not established. (The first version's held-out
 * figures had been seen when this one was chosen; the choice rests on the tuning half.
 * docs/benchmarks.md, "the simulation check where it has earned trust".)
 *
 * The load is the planned critical flow ratio Y (sum over the critical phases of
 * flow / saturation flow, from the planned demand) of the signal at the 90th
 * percentile of the network's signals: near the most loaded one without resting on
 * a single signal of a grid. Each limit lies between the highest tuning load where
 * every bound held and the lowest where one failed (TRUST_MAX_LOAD's comment has the
 * loads); the held-out half was not used to set them.
 *
 * Shapes, from the network file alone: "arterial" when no signal has more than two
 * signalised neighbours and the links between signals close no loop (one or several
 * chains; a lone signal too); "grid" when, turned so that the links between signals
 * run along the axes, the signals sit on a rectangular lattice of at least 2 × 2
 * points, at least half of its points holding a signal (a grid whose corners have
 * no signals is still a grid; scattered signals fill a tiny share); otherwise
 * "irregular".
 */
/** What the rule needs of a network file: where the signals are and which links join them. */
export interface ShapeInput {
  readonly intersections: readonly { readonly id: string; readonly position: { readonly lon: number; readonly lat: number } }[];
  readonly links: readonly { readonly from: string; readonly to: string }[];
}

export type NetworkShape = 'arterial' | 'grid' | 'irregular';

/**
 * Highest planned load (Y at the 90th-percentile signal) at which our simulator is trusted
 * to choose plans, per shape; null: never. The tuning cases' loads at light / medium / near
 * saturation (✓ every bound met, ✗ not; loops recorded as bench/fidelity records them):
 *   arterial-01 0.227 ✓ / 0.388 ✗ / 0.537 ✗        arterial-07 0.247 ✓ / 0.429 ✗ / 0.608 ✗
 *   grid-05     0.158 ✓ / 0.278 ✓ / 0.358 ✗        grid-11     0.218 ✓ / 0.428 ✗ / 0.448 ✗
 *     → 0.30 for both: above every pass (0.278 the highest), below every failure (0.358 the lowest)
 *   rand-03, rand-09: no case meets the time-loss bound (worst plan −19 % to −43 %) → never
 */
export const TRUST_MAX_LOAD: Readonly<Record<NetworkShape, number | null>> = { arterial: 0.3, grid: 0.3, irregular: null };

/** What the rule needs of a plan: each signal's planned critical flow ratio. */
export interface PlannedSignal {
  readonly criticalFlowRatio: number;
}

export interface CheckTrust {
  readonly trusted: boolean;
  readonly shape: NetworkShape;
  /** Planned critical flow ratio Y at the 90th-percentile signal. */
  readonly load: number;
  /** The shape's limit on `load` (TRUST_MAX_LOAD); null where our simulator is never trusted. */
  readonly maxLoad: number | null;
  /** One sentence: why trusted or not. */
  readonly reason: string;
}

/** Metres east and north of the first signal (equirectangular; fine over a city). */
function localXY(n: ShapeInput): { x: Float64Array; y: Float64Array } {
  const k = n.intersections.length;
  const x = new Float64Array(k);
  const y = new Float64Array(k);
  const lat0 = n.intersections[0]!.position.lat;
  const lon0 = n.intersections[0]!.position.lon;
  const mPerLon = 111_320 * Math.cos((lat0 * Math.PI) / 180);
  n.intersections.forEach((ix, i) => {
    x[i] = (ix.position.lon - lon0) * mPerLon;
    y[i] = (ix.position.lat - lat0) * 110_540;
  });
  return { x, y };
}

/** Undirected pairs of signals joined by a link, as index pairs. */
function signalPairs(n: ShapeInput): [number, number][] {
  const index = new Map(n.intersections.map((ix, i) => [ix.id, i]));
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (const l of n.links) {
    const a = index.get(l.from);
    const b = index.get(l.to);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([a, b]);
  }
  return out;
}

/** Number of groups of sorted values, a new group where the gap exceeds `tolM`. */
function clusters(values: Float64Array, tolM: number): number {
  const s = Float64Array.from(values).sort();
  let groups = s.length > 0 ? 1 : 0;
  for (let i = 1; i < s.length; i++) if (s[i]! - s[i - 1]! > tolM) groups++;
  return groups;
}

export function networkShape(n: ShapeInput): NetworkShape {
  const k = n.intersections.length;
  const pairs = signalPairs(n);
  // Chains: every signal with at most two signalised neighbours, and no loop (union-find).
  const degree = new Int32Array(k);
  const parent = Int32Array.from({ length: k }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  let loop = false;
  for (const [a, b] of pairs) {
    degree[a]!++;
    degree[b]!++;
    const ra = root(a);
    const rb = root(b);
    if (ra === rb) loop = true;
    else parent[ra] = rb;
  }
  if (!loop && degree.every((d) => d <= 2)) return 'arterial';
  if (k < 4 || pairs.length === 0) return 'irregular';
  // Grid: turn the plane so the links run along the axes (mean of 4θ), then count lattice lines.
  const { x, y } = localXY(n);
  let c4 = 0;
  let s4 = 0;
  const lengths: number[] = [];
  for (const [a, b] of pairs) {
    const dx = x[b]! - x[a]!;
    const dy = y[b]! - y[a]!;
    const th = Math.atan2(dy, dx);
    c4 += Math.cos(4 * th);
    s4 += Math.sin(4 * th);
    lengths.push(Math.hypot(dx, dy));
  }
  const phi = Math.atan2(s4, c4) / 4;
  const cos = Math.cos(-phi);
  const sin = Math.sin(-phi);
  const u = new Float64Array(k);
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    u[i] = x[i]! * cos - y[i]! * sin;
    v[i] = x[i]! * sin + y[i]! * cos;
  }
  lengths.sort((p, q) => p - q);
  const tolM = Math.min(20, 0.25 * lengths[Math.floor(lengths.length / 2)]!);
  const cols = clusters(u, tolM);
  const rows = clusters(v, tolM);
  return cols >= 2 && rows >= 2 && k >= 0.5 * cols * rows ? 'grid' : 'irregular';
}

/** The planned critical flow ratio Y of the signal at the 90th percentile (nearest rank). */
export function plannedLoad(signals: readonly PlannedSignal[]): number {
  const ys = signals.map((s) => s.criticalFlowRatio).filter(Number.isFinite).sort((a, b) => a - b);
  if (ys.length === 0) return 0;
  return ys[Math.max(0, Math.ceil(0.9 * ys.length) - 1)]!;
}

const SHAPE_WORDS: Record<NetworkShape, string> = { arterial: 'an arterial', grid: 'a grid', irregular: 'an irregular network' };

/** The rule: is our simulator's ranking of plans trusted on this network at this planned demand? */
export function simulatorTrust(n: ShapeInput, signals: readonly PlannedSignal[]): CheckTrust {
  const shape = networkShape(n);
  const load = plannedLoad(signals);
  const maxLoad = TRUST_MAX_LOAD[shape];
  const trusted = maxLoad !== null && load <= maxLoad;
  const measured = `planned load Y ${load.toFixed(2)} (90th-percentile signal) on ${SHAPE_WORDS[shape]}`;
  const BOUNDS = 'time loss within ±15 % of SUMO\'s, throughput within ±5 %, Spearman ρ ≥ 0.8';
  const reason =
    maxLoad === null
      ? `${measured}: on irregular networks bench/fidelity never measured our simulator within its bounds (${BOUNDS}; our time loss was 19–43 % under SUMO's)`
      : trusted
        ? `${measured} is within ${maxLoad.toFixed(2)}, where bench/fidelity measured our simulator within its bounds (${BOUNDS})`
        : `${measured} is above ${maxLoad.toFixed(2)}: beyond it bench/fidelity measured our simulator outside its bounds (${BOUNDS})`;
  return { trusted, shape, load, maxLoad, reason };
}

/** Where `sumo plan` checked its shortlist, and why; also in its JSON output as `check`. */
export interface CheckDecision {
  /** --check as given (auto by default). */
  readonly asked: string;
  /** greenwave: our microsimulator; sumo: SUMO itself; none: the planner's own best. */
  readonly used: 'greenwave' | 'sumo' | 'none';
  readonly reason: string;
  /** The trust rule's verdict (simulator/checkTrust.ts), when there was a shortlist to check. */
  readonly trust?: CheckTrust;
  /** Set when the check ran but could not tell the plans apart, so the planner's best was kept: why (simulator/sumo/sumoCheck.ts `chooseTrial`). */
  readonly inconclusive?: string;
}

export const CHECK_WORDS: Record<CheckDecision['used'], string> = { greenwave: "greenwave's microsimulator", sumo: 'SUMO', none: "none (the planner's own best)" };

/** The check `--check` asks for, given the trust rule's verdict and whether SUMO can be run (asked only for auto where untrusted). */
export function decideCheck(asked: string, trust: CheckTrust, sumoInstalled: boolean): CheckDecision {
  const base = { asked, trust };
  if (asked === 'greenwave') return { ...base, used: 'greenwave', reason: trust.trusted ? `asked for; trusted here: ${trust.reason}` : `asked for, though not trusted here: ${trust.reason}` };
  if (asked === 'sumo') return { ...base, used: 'sumo', reason: 'asked for (--check sumo)' };
  if (asked === 'none') return { ...base, used: 'none', reason: 'asked for (--check none)' };
  if (trust.trusted) return { ...base, used: 'greenwave', reason: trust.reason };
  if (sumoInstalled) return { ...base, used: 'sumo', reason: `our simulator is not trusted here (${trust.reason}); sumo is installed, so the shortlist runs in SUMO` };
  return { ...base, used: 'none', reason: `our simulator is not trusted here (${trust.reason}) and sumo cannot be run (install sumo and sumo-tools, set SUMO_HOME, for a check in SUMO)` };
}
