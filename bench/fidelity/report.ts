/**
 * Results of bench/fidelity and their tables: per case (scenario × level)
 * our simulator's mean time loss, throughput and delay per signal against
 * SUMO's on the same plans and routes, and the Spearman rank correlation of
 * the two simulators' orderings of the plan shortlist. Used by run.ts.
 */
import type { DemandLevel, ScenarioKind } from '../scenarios/family.js';

export interface PlanComparison {
  readonly plan: string;
  /** SUMO's mean time loss over the trips our simulator also runs (those that reach a signal approach). */
  readonly sumoTimeLossS: number;
  /** SUMO's mean time loss over all its finished trips. */
  readonly sumoAllTimeLossS: number;
  readonly oursTimeLossS: number;
  readonly sumoFinished: number;
  readonly oursFinished: number;
  /** Trips finished 5 minutes after demand ends. */
  readonly sumoThroughput: number;
  readonly oursThroughput: number;
  readonly sumoWallS: number;
  readonly oursWallS: number;
  /** Wall time of greenwave's `sumo plan` that made the plan, s (greenwave's plans only). */
  readonly planWallS?: number;
}

export interface FidelityCase {
  readonly id: string;
  readonly kind: ScenarioKind;
  readonly level: DemandLevel;
  readonly half: string;
  readonly signals: number;
  readonly trips: number;
  readonly simulated: number;
  readonly plans: PlanComparison[];
  /** Under the net's own program. */
  readonly signalDelay: { signal: string; sumoDelayS: number; oursDelayS: number }[];
  readonly spearman: number;
  /** The trust rule's verdict on the case (simulator/checkTrust.ts): the default `sumo plan` checks in our simulator only where trusted. */
  readonly trust?: { readonly shape: string; readonly load: number; readonly maxLoad: number; readonly trusted: boolean };
  readonly error?: string;
}

/** The bounds of the fidelity issue: time loss within ±15 %, throughput within ±5 %, ρ ≥ 0.8. */
export const BOUNDS = { timeLoss: 0.15, throughput: 0.05, spearman: 0.8 } as const;

/** Spearman's ρ with average ranks for ties; NaN for fewer than 3 pairs. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ok = a.map((x, k) => [x, b[k]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ok.length < 3) return Number.NaN;
  const ra = ranks(ok.map(([x]) => x));
  const rb = ranks(ok.map(([, y]) => y));
  const mean = (ok.length + 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let k = 0; k < ok.length; k++) {
    num += (ra[k]! - mean) * (rb[k]! - mean);
    da += (ra[k]! - mean) ** 2;
    db += (rb[k]! - mean) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : Number.NaN;
}

function ranks(x: readonly number[]): number[] {
  const order = x.map((v, k) => [v, k] as const).sort((p, q) => p[0] - q[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

const pct = (ours: number, sumo: number) => (Number.isFinite(ours) && Number.isFinite(sumo) && sumo > 0 ? ours / sumo - 1 : Number.NaN);
const fmtPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)} %` : '—');
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');

/** Per case: the worst plan's time-loss and throughput error, the signal delay spread, ρ, and whether each bound holds. */
export function caseSummary(c: FidelityCase) {
  const lossErr = c.plans.map((p) => pct(p.oursTimeLossS, p.sumoTimeLossS));
  const thrErr = c.plans.map((p) => pct(p.oursThroughput, p.sumoThroughput));
  const worst = (xs: number[]) => xs.reduce((w, x) => (Math.abs(x) > Math.abs(w) || !Number.isFinite(w) ? x : w), Number.NaN);
  const sig = c.signalDelay.map((s) => pct(s.oursDelayS, s.sumoDelayS)).filter(Number.isFinite).sort((a, b) => a - b);
  const median = sig.length > 0 ? sig[Math.floor(sig.length / 2)]! : Number.NaN;
  const lossWorst = worst(lossErr);
  const thrWorst = worst(thrErr);
  return {
    lossWorst,
    thrWorst,
    signalMedian: median,
    signalWorst: worst(sig),
    spearman: c.spearman,
    lossOk: Math.abs(lossWorst) <= BOUNDS.timeLoss,
    thrOk: Math.abs(thrWorst) <= BOUNDS.throughput,
    rhoOk: c.spearman >= BOUNDS.spearman,
  };
}

export function formatReport(cases: readonly FidelityCase[]): string {
  const lines: string[] = [];
  for (const c of cases) {
    lines.push(`${c.id} ${c.level} (${c.kind}, ${c.half}, ${c.signals} signals, ${c.simulated}/${c.trips} trips reach a signal)`);
    if (c.error) {
      lines.push(`  error: ${c.error}`, '');
      continue;
    }
    lines.push(`  ${'plan'.padEnd(22)}${'SUMO loss'.padStart(10)}${'ours'.padStart(8)}${'diff'.padStart(8)}${'SUMO thr'.padStart(10)}${'ours'.padStart(7)}${'diff'.padStart(8)}${'SUMO all'.padStart(10)}`);
    for (const p of c.plans) {
      lines.push(`  ${p.plan.padEnd(22)}${fmt(p.sumoTimeLossS).padStart(10)}${fmt(p.oursTimeLossS).padStart(8)}${fmtPct(pct(p.oursTimeLossS, p.sumoTimeLossS)).padStart(8)}${String(p.sumoThroughput).padStart(10)}${String(p.oursThroughput).padStart(7)}${fmtPct(pct(p.oursThroughput, p.sumoThroughput)).padStart(8)}${fmt(p.sumoAllTimeLossS).padStart(10)}`);
    }
    const s = caseSummary(c);
    lines.push(`  delay per signal (net program): ours/SUMO − 1 median ${fmtPct(s.signalMedian)}, worst ${fmtPct(s.signalWorst)}; Spearman ρ over ${c.plans.length} plans ${fmt(c.spearman, 2)}`, '');
  }
  lines.push(formatSummary(cases));
  return `${lines.join('\n')}\n`;
}

function formatSummary(cases: readonly FidelityCase[]): string {
  const ok = cases.filter((c) => !c.error);
  const rows = ok.map((c) => ({ c, s: caseSummary(c) }));
  const count = (f: (s: ReturnType<typeof caseSummary>) => boolean, half?: string) => rows.filter((r) => (half === undefined || r.c.half === half) && f(r.s)).length;
  // Each bound over all cases, then per half: a change may be chosen on the tuning half only, and is judged on the held-out one.
  const halves = [...new Set(ok.map((c) => c.half))].sort().reverse();
  const line = (what: string, f: (s: ReturnType<typeof caseSummary>) => boolean) => {
    const byHalf = halves.map((h) => `${h} ${count(f, h)}/${ok.filter((c) => c.half === h).length}`).join(', ');
    return `  ${what}: ${count(f)}/${ok.length}${halves.length > 1 ? ` (${byHalf})` : ''}`;
  };
  return [
    `summary over ${ok.length} cases${cases.length > ok.length ? ` (${cases.length - ok.length} failed)` : ''}:`,
    line(`time loss within ±${BOUNDS.timeLoss * 100} % on every plan`, (s) => s.lossOk),
    line(`throughput within ±${BOUNDS.throughput * 100} % on every plan`, (s) => s.thrOk),
    line(`Spearman ρ ≥ ${BOUNDS.spearman}`, (s) => s.rhoOk),
  ].join('\n');
}

/** The docs/benchmarks.md table: one row per case. */
export function formatMarkdown(cases: readonly FidelityCase[]): string {
  const lines = ['| case | kind | signals | trips at signals | worst time-loss error | worst throughput error | signal delay (median, worst) | Spearman ρ | bounds met |', '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |'];
  for (const c of cases) {
    if (c.error) {
      lines.push(`| ${c.id} ${c.level} | ${c.kind} | ${c.signals} | — | error | — | — | — | — |`);
      continue;
    }
    const s = caseSummary(c);
    const met = [s.lossOk ? 'loss' : '', s.thrOk ? 'thr' : '', s.rhoOk ? 'ρ' : ''].filter(Boolean).join(', ') || 'none';
    lines.push(`| ${c.id} ${c.level} | ${c.kind} | ${c.signals} | ${c.simulated}/${c.trips} | ${fmtPct(s.lossWorst)} | ${fmtPct(s.thrWorst)} | ${fmtPct(s.signalMedian)}, ${fmtPct(s.signalWorst)} | ${fmt(s.spearman, 2)} | ${met} |`);
  }
  return `${lines.join('\n')}\n\n${formatSummary(cases)}\n`;
}
