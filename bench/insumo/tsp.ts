/**
 * bench/insumo, transit priority: buses on four arterials of the family (two
 * from each half), three seeds each, in SUMO with greenwave's gRPC service
 * deciding priority (bench/insumo/tspOne.ts: one child process per case).
 * Prints each case and the pooled change in the buses' and the other
 * vehicles' mean time loss.
 *
 *   npm run bench:insumo-tsp
 *   GREENWAVE_SCENARIOS=arterial-01 GREENWAVE_SEEDS=1 npm run bench:insumo-tsp
 *   GREENWAVE_OUT=tsp.jsonl …; node dist/bench/insumo/tsp.js --markdown tsp.jsonl
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runChildren } from '../scenarios/pool.js';
import { INSUMO_SCENARIOS } from './run.js';
import type { TspCase } from './tspOne.js';

export function formatTsp(cases: readonly TspCase[], markdown = false): string {
  const lines: string[] = [];
  if (markdown) lines.push('| scenario (half) | seed | buses | bus time loss off → on | change | others off → on | change | requests / grants | conflicts / short clearances |', '| --- | ---: | ---: | --- | ---: | --- | ---: | --- | --- |');
  let busOff = 0;
  let busOn = 0;
  let genOff = 0;
  let genOn = 0;
  let n = 0;
  let bad = 0;
  const pct = (a: number, b: number) => `${b / a - 1 >= 0 ? '+' : ''}${((b / a - 1) * 100).toFixed(1)} %`;
  for (const c of cases) {
    if (c.error) {
      lines.push(markdown ? `| ${c.id} | ${c.seed} | error: ${c.error.slice(0, 80)} |` : `${c.id} seed ${c.seed}: error ${c.error}`);
      continue;
    }
    n++;
    busOff += c.busLossS.off;
    busOn += c.busLossS.on;
    genOff += c.generalLossS.off;
    genOn += c.generalLossS.on;
    bad += c.conflicts + c.shortClearances;
    if (markdown) lines.push(`| ${c.id} (${c.half}) | ${c.seed} | ${c.buses} | ${c.busLossS.off.toFixed(1)} → ${c.busLossS.on.toFixed(1)} s | ${pct(c.busLossS.off, c.busLossS.on)} | ${c.generalLossS.off.toFixed(1)} → ${c.generalLossS.on.toFixed(1)} s | ${pct(c.generalLossS.off, c.generalLossS.on)} | ${c.requests} / ${c.granted} | ${c.conflicts} / ${c.shortClearances} |`);
    else lines.push(`${c.id} (${c.half}) seed ${c.seed}: ${c.buses} buses, time loss ${c.busLossS.off.toFixed(1)} → ${c.busLossS.on.toFixed(1)} s (${pct(c.busLossS.off, c.busLossS.on)}), others ${c.generalLossS.off.toFixed(1)} → ${c.generalLossS.on.toFixed(1)} s (${pct(c.generalLossS.off, c.generalLossS.on)}); ${c.requests} requests, ${c.updates} updates, ${c.granted} granted; conflicts ${c.conflicts}, short clearances ${c.shortClearances}${c.firstViolation ? ` (${c.firstViolation})` : ''}`);
  }
  lines.push('', `pooled over ${n} runs: buses ${pct(busOff, busOn)} time loss (target −15 % or better), others ${pct(genOff, genOn)} (target at most +5 %); lamp monitor events ${bad}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--markdown' && process.argv[3]) {
    process.stdout.write(formatTsp(readFileSync(process.argv[3], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TspCase), true));
    return;
  }
  const ids = process.env['GREENWAVE_SCENARIOS']?.split(',') ?? [...INSUMO_SCENARIOS];
  const seeds = Array.from({ length: Number(process.env['GREENWAVE_SEEDS'] ?? 3) }, (_, k) => k + 1);
  const jobs = ids.flatMap((id) => seeds.map((s) => [id, String(s)]));
  const t0 = performance.now();
  const cases = await runChildren<TspCase>(
    fileURLToPath(new URL('./tspOne.js', import.meta.url)),
    jobs,
    (k, error) => ({ id: jobs[k]![0]!, half: '', seed: Number(jobs[k]![1]), busLossS: { off: Number.NaN, on: Number.NaN }, generalLossS: { off: Number.NaN, on: Number.NaN }, buses: 0, requests: 0, updates: 0, granted: 0, refusedCalls: 0, conflicts: 0, shortClearances: 0, firstViolation: '', error }),
    Number(process.env['GREENWAVE_JOBS'] ?? availableParallelism()),
    (done, k, r) => process.stderr.write(`[${done}/${jobs.length}] ${jobs[k]!.join(' seed ')}${r.error ? ` — error: ${r.error}` : ''}\n`),
  );
  const outFile = process.env['GREENWAVE_OUT'];
  if (outFile) for (const c of cases) appendFileSync(outFile, `${JSON.stringify(c)}\n`);
  process.stdout.write(`bench/insumo tsp — ${cases.length} runs in ${((performance.now() - t0) / 60_000).toFixed(1)} min (mean time loss in SUMO, s; buses every ${180} s, 180 s late)\n\n`);
  process.stdout.write(formatTsp(cases));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
