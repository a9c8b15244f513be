/**
 * bench/fidelity: does our simulator agree with SUMO? Twelve scenarios of
 * the plan-quality family (four of each kind, both halves) at three demand
 * levels; in each, a shortlist of nine plans runs in SUMO and in our
 * simulator on the same routes (bench/fidelity/one.ts, one child process
 * per case, one per core). Prints a table per case and the bounds met.
 *
 *   npm run bench:fidelity
 *   GREENWAVE_SCENARIOS=smoke npm run bench:fidelity          # the three smoke scenarios, medium demand
 *   GREENWAVE_SCENARIOS=arterial-01,grid-02 GREENWAVE_LEVELS=light …
 *   GREENWAVE_OUT=fid.jsonl …; node dist/bench/fidelity/run.js --markdown fid.jsonl
 *   GREENWAVE_SUMO_CHECK=1 …                                  # also `sumo plan --check sumo`, scored in SUMO only (slow); =untrusted: only where the trust rule does not trust our simulator
 *   GREENWAVE_CASES=arterial-04:medium,grid-08:light …        # just these cases
 *   GREENWAVE_LEAN=1 …                                        # greenwave's plans only, scored in SUMO only (comparing checks, not fidelity)
 *   GREENWAVE_LANE_CHANGE=1 …                                 # ours with lane changing and SUMO's turn bays (GREENWAVE_TURN_BAYS=0: bays as long as the link)
 *
 * Needs Debian's sumo and sumo-tools.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEMAND_LEVELS, scenarioFamily, smokeFamily, type DemandLevel } from '../scenarios/family.js';
import { runChildren } from '../scenarios/pool.js';
import { formatMarkdown, formatReport, type FidelityCase } from './report.js';

/** The 12-scenario subset: the first twelve of the family, four arterials, four grids, four random networks, both halves. */
export const FIDELITY_SCENARIOS = scenarioFamily().slice(0, 12).map((s) => s.id);

async function main(): Promise<void> {
  if (process.argv[2] === '--markdown' && process.argv[3]) {
    process.stdout.write(formatMarkdown(readFileSync(process.argv[3], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FidelityCase)));
    return;
  }
  const which = process.env['GREENWAVE_SCENARIOS'];
  const smoke = which === 'smoke';
  const ids = smoke ? smokeFamily().map((s) => s.id) : which ? which.split(',') : FIDELITY_SCENARIOS;
  const levels = (process.env['GREENWAVE_LEVELS']?.split(',') as DemandLevel[] | undefined) ?? (smoke ? ['medium'] : DEMAND_LEVELS);
  // GREENWAVE_CASES=arterial-04:medium,grid-08:light… runs just those cases, in that order.
  const listed = process.env['GREENWAVE_CASES']?.split(',').map((x) => x.split(':'));
  const jobs = listed ?? ids.flatMap((id) => levels.map((level) => [id, level, ...(smoke ? ['smoke'] : [])]));
  const script = fileURLToPath(new URL('./one.js', import.meta.url));
  const outFile = process.env['GREENWAVE_OUT'];
  const t0 = performance.now();
  const cases = await runChildren<FidelityCase>(
    script,
    jobs,
    (k, error) => ({ id: jobs[k]![0]!, kind: 'arterial', level: jobs[k]![1] as DemandLevel, half: '', signals: 0, trips: 0, simulated: 0, plans: [], signalDelay: [], spearman: Number.NaN, error }),
    Number(process.env['GREENWAVE_JOBS'] ?? availableParallelism()),
    (done, k, r) => {
      // Each case as it finishes, so a run cut short keeps what it has.
      if (outFile) appendFileSync(outFile, `${JSON.stringify(r)}\n`);
      process.stderr.write(`[${done}/${jobs.length}] ${jobs[k]!.join(' ')}${r.error ? ` — error: ${r.error}` : ''}\n`);
    },
  );
  process.stdout.write(`bench/fidelity — ${cases.length} cases in ${((performance.now() - t0) / 60_000).toFixed(1)} min\n\n`);
  process.stdout.write(formatReport(cases));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
