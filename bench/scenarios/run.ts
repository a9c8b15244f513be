/**
 * bench/scenarios: greenwave's default `sumo plan` against SUMO's own control
 * and tools on the scenario family (bench/scenarios/family.ts), every
 * scenario at three demand levels, scored in SUMO over several seeds. Prints
 * a table per scenario and a summary per half (tuning / held out).
 *
 *   npm run bench:scenarios                      # 24 scenarios × 3 levels × 3 seeds
 *   GREENWAVE_SCENARIOS=smoke npm run bench:scenarios   # 3 small scenarios, medium demand, 1 seed
 *   GREENWAVE_SCENARIOS=arterial-01,grid-02 GREENWAVE_SEEDS=1 …   # a subset
 *   GREENWAVE_HALF=held-out …                    # one half
 *   GREENWAVE_FAMILY_SIZE=48 GREENWAVE_HALF=tuning …   # more tuning cases (seeds 25, 27, …); even seeds past 24 are "held-out-2"
 *   GREENWAVE_SUMO_CHECK=1 …                     # also `sumo plan --check sumo` (the shortlist run in SUMO; slow)
 *   GREENWAVE_TOOLS="greenwave fully actuated,SUMO actuated (gw clearances)" …   # only these tools; the first is opt-in
 *   node dist/bench/scenarios/run.js --markdown results.jsonl   # Markdown tables of a run saved with GREENWAVE_OUT
 *
 * Each scenario and level runs in a child process (bench/scenarios/one.ts),
 * as many at once as the machine has cores. Results also go to
 * $GREENWAVE_OUT (JSON lines) when set. Needs Debian's sumo and sumo-tools.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEMAND_LEVELS, familySizeFromEnv, scenarioFamily, smokeFamily, type DemandLevel } from './family.js';
import { runChildren } from './pool.js';
import { formatMarkdown, formatReport, type ScenarioResult } from './report.js';

export interface BenchOptions {
  readonly smoke: boolean;
  readonly ids?: readonly string[];
  readonly half?: string;
  readonly levels?: readonly DemandLevel[];
  readonly seeds: number;
  readonly concurrency?: number;
  readonly progress?: (line: string) => void;
  /** Told of each result as its run ends (so a long run's results are kept as they come). */
  readonly onResult?: (r: ScenarioResult) => void;
}

export async function runScenarios(o: BenchOptions): Promise<ScenarioResult[]> {
  const specs = (o.smoke ? smokeFamily() : scenarioFamily(familySizeFromEnv())).filter((s) => (!o.ids || o.ids.includes(s.id)) && (!o.half || s.half === o.half));
  const levels = o.levels ?? (o.smoke ? (['medium'] as const) : DEMAND_LEVELS);
  const jobs = specs.flatMap((s) => levels.map((level) => ({ id: s.id, level })));
  // The child is compiled JS: from dist/ even when this module runs from source (tests).
  const here = fileURLToPath(import.meta.url);
  const script = here.endsWith('.ts') ? fileURLToPath(new URL('../../dist/bench/scenarios/one.js', import.meta.url)) : fileURLToPath(new URL('./one.js', import.meta.url));
  return runChildren<ScenarioResult>(
    script,
    jobs.map((job) => [job.id, job.level, String(o.seeds), ...(o.smoke ? ['smoke'] : [])]),
    (k, error) => ({ id: jobs[k]!.id, level: jobs[k]!.level, half: '', signals: 0, scores: [], planSeconds: 0, error }),
    o.concurrency ?? availableParallelism(),
    (done, k, r) => {
      o.onResult?.(r);
      o.progress?.(`[${done}/${jobs.length}] ${jobs[k]!.id} ${jobs[k]!.level}${r.error ? ` — error: ${r.error}` : ''}`);
    },
  );
}

async function main(): Promise<void> {
  // `run.js --markdown results.jsonl`: the docs/benchmarks.md tables of a finished run (GREENWAVE_OUT).
  if (process.argv[2] === '--markdown' && process.argv[3]) {
    const results = readFileSync(process.argv[3], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScenarioResult);
    process.stdout.write(formatMarkdown(results));
    return;
  }
  const which = process.env['GREENWAVE_SCENARIOS'];
  const smoke = which === 'smoke';
  const outFile = process.env['GREENWAVE_OUT'];
  const opts: BenchOptions = {
    smoke,
    seeds: Number(process.env['GREENWAVE_SEEDS'] ?? (smoke ? 1 : 3)),
    ...(which && !smoke ? { ids: which.split(',') } : {}),
    ...(process.env['GREENWAVE_HALF'] ? { half: process.env['GREENWAVE_HALF'] } : {}),
    ...(process.env['GREENWAVE_LEVELS'] ? { levels: process.env['GREENWAVE_LEVELS'].split(',') as DemandLevel[] } : {}),
    progress: (line) => process.stderr.write(`${line}\n`),
    // Each result is written as its run ends: a run stopped part-way keeps what it finished.
    ...(outFile ? { onResult: (r: ScenarioResult) => appendFileSync(outFile, `${JSON.stringify(r)}\n`) } : {}),
  };
  const t0 = performance.now();
  const results = await runScenarios(opts);
  process.stdout.write(`bench/scenarios — ${results.length} runs (${opts.seeds} scoring seed(s) each) in ${((performance.now() - t0) / 60_000).toFixed(1)} min\n\n`);
  process.stdout.write(formatReport(results));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
