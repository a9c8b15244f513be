/**
 * bench/insumo: adaptive control judged in SUMO. Four arterials of the
 * scenario family (two from each half) on a time-varying day, three seeds
 * each; greenwave adaptive runs with SUMO in the loop (TraCI) against SUMO's
 * actuated control and the best fixed plan (SUMO's Webster + coordinator,
 * greenwave's fixed plan, greenwave's time-of-day plan). Prints a table per
 * scenario and the summary.
 *
 *   npm run bench:insumo
 *   GREENWAVE_SCENARIOS=arterial-04 GREENWAVE_SEEDS=1 npm run bench:insumo
 *   GREENWAVE_OUT=insumo.jsonl …; node dist/bench/insumo/run.js --markdown insumo.jsonl
 *
 * Needs Debian's sumo and sumo-tools.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runChildren } from '../scenarios/pool.js';
import type { InSumoCase } from './one.js';

export const INSUMO_SCENARIOS = ['arterial-01', 'arterial-07', 'arterial-04', 'arterial-10'] as const;
const FIXED = ['SUMO Webster+coord', 'greenwave fixed', 'greenwave time-of-day'] as const;
const ADAPTIVE = 'greenwave adaptive (in SUMO)';
const ACTUATED = 'SUMO actuated';
/** SUMO's actuated control with greenwave's clearances: compares control alone, not clearance lengths. */
const ACTUATED_GWC = 'SUMO actuated (gw clearances)';
/** With GREENWAVE_INSUMO_ACTUATED=1 (one.ts): the planner's plan run actuated by the bridge, its frame fixed and adaptive. */
const GW_ACTUATED = 'greenwave actuated (in SUMO)';
const ADAPTIVE_ACTUATED = 'greenwave adaptive actuated (in SUMO)';

export function formatInSumo(cases: readonly InSumoCase[], markdown = false): string {
  const lines: string[] = [];
  const withActuated = cases.some((c) => c.timeLossS[ADAPTIVE_ACTUATED] !== undefined);
  const names = [ACTUATED, ACTUATED_GWC, ...FIXED, ADAPTIVE, ...(withActuated ? [GW_ACTUATED, ADAPTIVE_ACTUATED] : [])];
  const ids = [...new Set(cases.map((c) => c.id))];
  // Adaptive actuated against SUMO actuated (as built, with greenwave's clearances), the best fixed-time plan, and the same plan actuated in a fixed frame.
  const aa = { n: 0, act: 0, actGwc: 0, fixed: 0, frame: 0 };
  if (markdown) lines.push(`| scenario (half) | seed | ${names.join(' | ')} | adaptive vs actuated | vs best fixed | replans | conflicts / short clearances |`, `| --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: | ---: | --- |`);
  let winsAct = 0;
  let winsActGwc = 0;
  let nGwc = 0;
  let winsFixed = 0;
  let n = 0;
  let conflicts = 0;
  let shorts = 0;
  for (const id of ids) {
    for (const c of cases.filter((x) => x.id === id)) {
      if (c.error) {
        lines.push(markdown ? `| ${c.id} (${c.half}) | ${c.seed} | error: ${c.error.slice(0, 80)} |` : `${c.id} seed ${c.seed}: error ${c.error}`);
        continue;
      }
      const ad = c.timeLossS[ADAPTIVE]!;
      const act = c.timeLossS[ACTUATED]!;
      const bestFixed = Math.min(...FIXED.map((f) => c.timeLossS[f] ?? Infinity));
      n++;
      if (ad < act) winsAct++;
      const actGwc = c.timeLossS[ACTUATED_GWC];
      if (actGwc !== undefined) {
        nGwc++;
        if (ad < actGwc) winsActGwc++;
      }
      if (ad < bestFixed) winsFixed++;
      const adAct = c.timeLossS[ADAPTIVE_ACTUATED];
      if (adAct !== undefined) {
        aa.n++;
        if (adAct < act) aa.act++;
        if (actGwc !== undefined && adAct < actGwc) aa.actGwc++;
        if (adAct < bestFixed) aa.fixed++;
        if (adAct < (c.timeLossS[GW_ACTUATED] ?? Infinity)) aa.frame++;
      }
      conflicts += c.conflicts;
      shorts += c.shortClearances;
      const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
      const row = names.map((k) => (c.timeLossS[k] ?? Number.NaN).toFixed(1));
      if (markdown) lines.push(`| ${c.id} (${c.half}) | ${c.seed} | ${row.join(' | ')} | ${pct(ad / act - 1)} | ${pct(ad / bestFixed - 1)} | ${c.replans} | ${c.conflicts} / ${c.shortClearances} |`);
      else lines.push(`${c.id} (${c.half}) seed ${c.seed}: ${names.map((k, q) => `${k} ${row[q]}`).join(', ')} s; adaptive vs actuated ${pct(ad / act - 1)}, vs best fixed ${pct(ad / bestFixed - 1)}; ${c.replans} re-plans, ${c.planSwitches} plan switches; conflicts ${c.conflicts}, short clearances ${c.shortClearances}; bridge ${c.bridgeWallS.toFixed(0)} s`);
    }
  }
  lines.push('', `adaptive (in SUMO) loses less time than SUMO actuated in ${winsAct} of ${n} runs${nGwc > 0 ? ` (than SUMO actuated with greenwave's clearances in ${winsActGwc} of ${nGwc})` : ''}, than the best fixed plan in ${winsFixed} of ${n}; lamp monitor: ${conflicts} conflicts, ${shorts} short clearances`);
  if (aa.n > 0) lines.push(`adaptive actuated (in SUMO) loses less time than SUMO actuated in ${aa.act} of ${aa.n} runs (with greenwave's clearances in ${aa.actGwc}), than the best fixed-time plan in ${aa.fixed}, than the same plan actuated in a fixed frame in ${aa.frame}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--markdown' && process.argv[3]) {
    process.stdout.write(formatInSumo(readFileSync(process.argv[3], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as InSumoCase), true));
    return;
  }
  const ids = process.env['GREENWAVE_SCENARIOS']?.split(',') ?? [...INSUMO_SCENARIOS];
  const seeds = Array.from({ length: Number(process.env['GREENWAVE_SEEDS'] ?? 3) }, (_, k) => k + 1);
  const jobs = ids.flatMap((id) => seeds.map((s) => [id, String(s)]));
  const t0 = performance.now();
  const cases = await runChildren<InSumoCase>(
    fileURLToPath(new URL('./one.js', import.meta.url)),
    jobs,
    (k, error) => ({ id: jobs[k]![0]!, half: '', seed: Number(jobs[k]![1]), timeLossS: {}, vehicles: {}, replans: 0, planSwitches: 0, conflicts: 0, shortClearances: 0, firstViolation: '', bridgeWallS: 0, error }),
    Number(process.env['GREENWAVE_JOBS'] ?? availableParallelism()),
    (done, k, r) => process.stderr.write(`[${done}/${jobs.length}] ${jobs[k]!.join(' seed ')}${r.error ? ` — error: ${r.error}` : ''}\n`),
  );
  const outFile = process.env['GREENWAVE_OUT'];
  if (outFile) for (const c of cases) appendFileSync(outFile, `${JSON.stringify(c)}\n`);
  process.stdout.write(`bench/insumo — ${cases.length} runs in ${((performance.now() - t0) / 60_000).toFixed(1)} min (mean time loss per vehicle in SUMO, s; unfinished trips included)\n\n`);
  process.stdout.write(formatInSumo(cases));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
