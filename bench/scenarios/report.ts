/**
 * What the scenario benchmark reports: per scenario a table of every tool's
 * mean time loss at each demand level, and per half (tuning, held out) how
 * greenwave's default `sumo plan` does against the best SUMO tool (the better
 * of SUMO's actuated control and its Webster + coordinator tools, per
 * scenario and level): share of wins, geometric-mean ratio, worst ratio.
 * Used by bench/scenarios/run.ts and the smoke test.
 */
import { HALVES, type DemandLevel } from './family.js';

export const TOOLS = [
  'SUMO static',
  'SUMO actuated',
  'SUMO delay_based',
  'SUMO Webster',
  'SUMO Webster+coord',
  'SUMO actuated (gw clearances)',
  'SUMO Webster+coord (gw clearances)',
  'greenwave',
  'greenwave (no check)',
  'greenwave actuated',
  'greenwave (SUMO check)',
  'greenwave fully actuated',
] as const;
export type Tool = (typeof TOOLS)[number];
/**
 * Tools scored only when GREENWAVE_TOOLS names them (bench/scenarios/one.ts): "greenwave fully actuated" is
 * `sumo plan --control free --check none`, the planner's best with every signal fully actuated, for comparing
 * greenwave's actuated settings with SUMO's actuated control on the same plan (docs/benchmarks.md).
 */
export const OPT_IN_TOOLS: readonly Tool[] = ['greenwave fully actuated'];

export interface PlanScore {
  readonly tool: Tool;
  /** Mean time loss per vehicle, s, per scoring seed. */
  readonly timeLossS: number[];
  readonly vehicles: number[];
}

export interface ScenarioResult {
  readonly id: string;
  readonly level: DemandLevel;
  readonly half: string;
  readonly signals: number;
  readonly scores: PlanScore[];
  readonly planSeconds: number;
  /** Where the default `sumo plan` checked its shortlist (cli/sumo.ts), and the trust rule's verdict (simulator/checkTrust.ts). */
  readonly check?: { readonly used: string; readonly shape?: string; readonly load?: number; readonly trusted?: boolean; readonly inconclusive?: boolean };
  /** The default plan's check, as `sumo plan --json` reports it: each plan tried, its simulated time loss, and the one kept. */
  readonly trials?: readonly { readonly label: string; readonly simulatedDelayS: number; readonly unfinishedShare?: number; readonly chosen: boolean }[];
  readonly error?: string;
}

/** A time loss for the tables; a tool not run (the SUMO check without GREENWAVE_SUMO_CHECK=1) shows "—". */
const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
/** A ratio for the tables; one whose tools were not run (GREENWAVE_TOOLS) shows "—". */
const fmtRatio = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function meanLoss(r: ScenarioResult, tool: Tool): number {
  const s = r.scores.find((x) => x.tool === tool);
  return s ? mean(s.timeLossS) : Number.NaN;
}

/**
 * Which SUMO tools greenwave is compared with: as SUMO runs them (3 s yellow, no all-red), or
 * the same tools with greenwave's clearances (`withClearances`), which compares timing alone.
 */
export type Baseline = 'as-run' | 'same clearances';
const BASELINE_TOOLS: Record<Baseline, readonly [Tool, Tool]> = {
  'as-run': ['SUMO actuated', 'SUMO Webster+coord'],
  'same clearances': ['SUMO actuated (gw clearances)', 'SUMO Webster+coord (gw clearances)'],
};

/** greenwave's mean time loss over the best SUMO tool's, for one scenario and level (NaN where the run lacks the baseline). */
export function ratioToBest(r: ScenarioResult, tool: Tool = 'greenwave', baseline: Baseline = 'as-run'): number {
  const [a, b] = BASELINE_TOOLS[baseline];
  return meanLoss(r, tool) / Math.min(meanLoss(r, a), meanLoss(r, b));
}

export interface HalfSummary {
  readonly half: string;
  readonly baseline: Baseline;
  readonly cases: number;
  readonly wins: number;
  readonly geoMeanRatio: number;
  readonly worstRatio: number;
  readonly worstCase: string;
  readonly over5Pct: number;
}

export function summarize(results: readonly ScenarioResult[], half: string, tool: Tool = 'greenwave', baseline: Baseline = 'as-run'): HalfSummary {
  const ok = results.filter((r) => r.half === half && !r.error && Number.isFinite(ratioToBest(r, tool, baseline)));
  const ratios = ok.map((r) => ratioToBest(r, tool, baseline));
  let worst = 0;
  ratios.forEach((x, k) => {
    if (x > ratios[worst]!) worst = k;
  });
  return {
    half,
    baseline,
    cases: ok.length,
    wins: ratios.filter((x) => x < 1).length,
    geoMeanRatio: ratios.length ? Math.exp(mean(ratios.map(Math.log))) : Number.NaN,
    worstRatio: ratios.length ? ratios[worst]! : Number.NaN,
    worstCase: ok[worst] ? `${ok[worst]!.id} ${ok[worst]!.level}` : '',
    over5Pct: ratios.filter((x) => x > 1.05).length,
  };
}

/** Every summary the reports show: each greenwave plan, half and baseline that has cases. */
function summaries(results: readonly ScenarioResult[]): (HalfSummary & { tool: Tool })[] {
  const out: (HalfSummary & { tool: Tool })[] = [];
  for (const baseline of ['as-run', 'same clearances'] as const) {
    for (const tool of TOOLS.filter((t) => t.startsWith('greenwave'))) {
      for (const half of HALVES) {
        const s = summarize(results, half, tool, baseline);
        if (s.cases > 0) out.push({ ...s, tool });
      }
    }
  }
  return out;
}

/** The per-scenario tables and the per-half summary, as plain text. */
export function formatReport(results: readonly ScenarioResult[]): string {
  const lines: string[] = [];
  const ids = [...new Set(results.map((r) => r.id))];
  const short = TOOLS.map((t) => t.replace(/^SUMO /, '').replace('greenwave', 'gw'));
  // Each column as wide as its name and two spaces, so that long names do not run together.
  const width = short.map((t) => Math.max(13, t.length) + 2);
  for (const id of ids) {
    const rows = results.filter((r) => r.id === id);
    lines.push(`${id} (${rows[0]!.half}, ${rows[0]!.signals} signals) — mean time loss s/veh over seeds`);
    lines.push(`  ${'level'.padEnd(16)}${short.map((t, k) => t.padStart(width[k]!)).join('')}   gw ÷ best`);
    for (const r of rows) {
      if (r.error) {
        lines.push(`  ${r.level.padEnd(16)}error: ${r.error}`);
        continue;
      }
      lines.push(`  ${r.level.padEnd(16)}${TOOLS.map((t, k) => fmt(meanLoss(r, t)).padStart(width[k]!)).join('')}   ${ratioToBest(r).toFixed(3)} (same clearances ${ratioToBest(r, 'greenwave', 'same clearances').toFixed(3)})`);
    }
  }
  lines.push('', 'greenwave (default sumo plan) against the best SUMO tool (actuated or Webster + coordinator), per scenario and level:');
  for (const s of summaries(results)) {
    lines.push(`  ${s.tool.padEnd(23)} ${s.half.padEnd(9)} ${s.baseline.padEnd(16)} ${s.wins}/${s.cases} wins, geometric-mean ratio ${s.geoMeanRatio.toFixed(3)}, worst ${s.worstRatio.toFixed(3)} (${s.worstCase}), ${s.over5Pct} more than 5 % worse`);
  }
  return `${lines.join('\n')}\n`;
}

/** The summary and the per-scenario table as Markdown, for docs/benchmarks.md (generated, not typed). */
export function formatMarkdown(results: readonly ScenarioResult[]): string {
  const lines: string[] = [];
  lines.push('| plan | half | SUMO tools | wins | geometric-mean ratio | worst | more than 5 % worse |', '|---|---|---|---|---|---|---|');
  for (const s of summaries(results)) {
    lines.push(`| ${s.tool} | ${s.half} | ${s.baseline} | ${s.wins} / ${s.cases} | ${s.geoMeanRatio.toFixed(2)} | ${s.worstRatio.toFixed(2)} (${s.worstCase}) | ${s.over5Pct} |`);
  }
  lines.push('', `| scenario | half | signals | level | ${TOOLS.map((t) => t.replace(/^SUMO /, '').replace('greenwave', 'gw').replace('(gw clearances)', '(gw clr)')).join(' | ')} | gw ÷ best | gw actuated ÷ best | gw ÷ best, same clearances |`);
  lines.push(`|${'---|'.repeat(TOOLS.length + 7)}`);
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.id} | ${r.half} | ${r.signals} | ${r.level} | error: ${r.error.replace(/\|/g, '/').slice(0, 80)} |`);
      continue;
    }
    lines.push(`| ${r.id} | ${r.half} | ${r.signals} | ${r.level} | ${TOOLS.map((t) => fmt(meanLoss(r, t))).join(' | ')} | ${fmtRatio(ratioToBest(r))} | ${fmtRatio(ratioToBest(r, 'greenwave actuated'))} | ${fmtRatio(ratioToBest(r, 'greenwave', 'same clearances'))} |`);
  }
  return `${lines.join('\n')}\n`;
}
