/**
 * Timing sheets out of greenwave, for the people and tools that program
 * controllers: a printed sheet with units on every column, a CSV with one row
 * per phase, and Synchro's UTDF (Universal Traffic Data Format) timing
 * sections. Called by `greenwave plan --sheet / --csv / --utdf` (cli/main.ts);
 * the numbers come from engine/timing/sheet.ts.
 *
 * UTDF: the [Timeplans] and [Phases] sections of the combined comma-separated
 * file, with the record names Synchro reads (docs/timing-export.md). Phase
 * numbers are the network's own when its phase ids are NEMA numbers (1–16);
 * otherwise phases are numbered in run order. A stage-based signal is written
 * as one ring with each stage in its own barrier.
 */
import { stringify } from 'csv-stringify/sync';
import type { TimingSheet } from '../engine/timing/sheet.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { round1 } from '../engine/numeric.js';

function cell(x: number | null, digits = 1): string {
  return x === null ? '—' : x.toFixed(digits);
}

/** The printed sheet: a block per intersection. */
export function formatTimingSheets(sheets: readonly TimingSheet[]): string {
  const cols: [string, number][] = [
    ['phase', 8], ['ring', 5], ['barrier', 8], ['start s', 9], ['split s', 9], ['green s', 9], ['min s', 7], ['pass s', 8], ['max s', 7],
    ['yel s', 7], ['red s', 7], ['walk s', 8], ['FDW s', 7], ['force-off s', 13],
  ];
  const lines: string[] = [];
  for (const sh of sheets) {
    lines.push(`■ ${sh.intersectionId}${sh.name ? `  ${sh.name}` : ''}`);
    lines.push(`  control ${sh.control}   cycle ${sh.cycleS} s   offset ${cell(sh.offsetS)} s to the start of green of phase ${sh.offsetReferencePhase}`);
    lines.push(`  ${cols.map(([h, w], k) => (k === 0 ? h.padEnd(w) : h.padStart(w))).join('')}`);
    for (const p of sh.phases) {
      const values = [p.id, String(p.ring), String(p.barrier), cell(p.startS), cell(p.splitS), cell(p.greenS), cell(p.minGreenS), cell(p.passageS), cell(p.maxGreenS), cell(p.yellowS), cell(p.redClearanceS), cell(p.walkS), cell(p.flashingDontWalkS), cell(p.forceOffS)];
      const tags = `${p.coordinated ? '  coordinated' : ''}${p.onDemand ? '  on demand (bus priority only)' : ''}`;
      lines.push(`  ${values.map((v, k) => (k === 0 ? v.padEnd(cols[k]![1]) : v.padStart(cols[k]![1]))).join('')}${tags}`);
    }
    lines.push('');
  }
  lines.push('min = minimum green, pass = passage (vehicle extension), max = maximum green, yel = yellow, red = red clearance (all-red), FDW = flashing don\'t-walk; times in s from the local cycle zero.');
  return `${lines.join('\n')}\n\n`;
}

/** Column names of the CSV, with units; one row per phase. */
export const SHEET_CSV_COLUMNS = [
  'intersection_id', 'control', 'cycle_s', 'offset_s', 'offset_reference_phase', 'phase_id', 'ring', 'barrier', 'start_s', 'split_s', 'green_s',
  'min_green_s', 'passage_s', 'max_green_s', 'yellow_s', 'red_clearance_s', 'walk_s', 'flashing_dont_walk_s', 'force_off_s', 'coordinated', 'on_demand',
] as const;

export function timingSheetsCsv(sheets: readonly TimingSheet[]): string {
  const rows: (string | number)[][] = [];
  for (const sh of sheets) {
    for (const p of sh.phases) {
      rows.push([
        sh.intersectionId, sh.control, sh.cycleS, sh.offsetS, sh.offsetReferencePhase, p.id, p.ring, p.barrier, p.startS, p.splitS, p.greenS,
        p.minGreenS, p.passageS, p.maxGreenS, p.yellowS, p.redClearanceS, p.walkS, p.flashingDontWalkS, p.forceOffS ?? '', p.coordinated ? 1 : 0, p.onDemand ? 1 : 0,
      ]);
    }
  }
  return stringify(rows, { header: true, columns: [...SHEET_CSV_COLUMNS] });
}

/** UTDF control type: 0 pretimed, 2 actuated-uncoordinated, 3 actuated-coordinated. */
const UTDF_CONTROL: Record<TimingSheet['control'], number> = { fixed: 0, actuated: 2, 'actuated-coordinated': 3 };
/** UTDF "Referenced To" 3: the offset is referenced to the beginning of the reference phase's green (TS2 first green). */
const UTDF_REFERENCED_TO_BEGIN_OF_GREEN = 3;
const MAX_UTDF_PHASES = 16;

/** Controller phase number of each phase, and its BRP code (barrier, ring, position). */
function utdfNumbers(sh: TimingSheet): { number: number[]; brp: string[] } {
  const nema = sh.phases.every((p) => /^(?:[1-9]|1[0-6])$/.test(p.id)) && new Set(sh.phases.map((p) => p.id)).size === sh.phases.length;
  if (!nema && sh.phases.length > MAX_UTDF_PHASES) {
    throw new GreenwaveError(ErrorCode.InvalidInput, `${sh.intersectionId}: ${sh.phases.length} phases; UTDF holds at most ${MAX_UTDF_PHASES}`);
  }
  const stages = sh.phases.every((p) => p.ring === 1) && new Set(sh.phases.map((p) => p.barrier)).size < sh.phases.length;
  const number = sh.phases.map((p, k) => (nema ? Number(p.id) : k + 1));
  // A stage plan runs its stages one after another: one ring, a barrier per stage.
  const barrierOf = (k: number) => (stages ? k + 1 : sh.phases[k]!.barrier);
  // Position in the ring follows the run order, which lead-lag may take out of the file's order.
  const brp = sh.phases.map((p, k) => {
    const before = sh.phases.filter((q, j) => barrierOf(j) === barrierOf(k) && q.ring === p.ring && (q.startS < p.startS || (q.startS === p.startS && j < k))).length;
    return `${barrierOf(k)}${p.ring}${before + 1}`;
  });
  return { number, brp };
}

/** The [Timeplans] and [Phases] sections of a UTDF combined file, node ids = intersection ids. */
export function timingSheetsUtdf(sheets: readonly TimingSheet[]): string {
  const plans: (string | number)[][] = [];
  const phaseRows: (string | number)[][] = [];
  const width = Math.max(8, ...sheets.map((sh) => Math.max(...utdfNumbers(sh).number)));
  for (const sh of sheets) {
    const { number, brp } = utdfNumbers(sh);
    const refIndex = Math.max(0, sh.phases.findIndex((p) => p.id === sh.offsetReferencePhase));
    const id = sh.intersectionId;
    plans.push(['Control Type', id, UTDF_CONTROL[sh.control]], ['Cycle Length', id, sh.cycleS], ['Lock Timings', id, 0], ['Referenced To', id, UTDF_REFERENCED_TO_BEGIN_OF_GREEN],
      ['Reference Phase', id, number[refIndex]!], ['Offset', id, sh.offsetS], ['Master', id, 0], ['Yield', id, 0], ['Node 0', id, id], ['Node 1', id, 0]);
    const row = (name: string, value: (k: number) => string | number): (string | number)[] => {
      const cells: (string | number)[] = new Array<string | number>(width).fill('');
      sh.phases.forEach((_, k) => {
        cells[number[k]! - 1] = value(k);
      });
      return [name, id, ...cells];
    };
    const ph = sh.phases;
    const cycle = sh.cycleS;
    const global = (localS: number) => round1((localS + sh.offsetS) % cycle);
    phaseRows.push(
      row('BRP', (k) => brp[k]!),
      row('MinGreen', (k) => ph[k]!.minGreenS),
      row('MaxGreen', (k) => ph[k]!.maxGreenS),
      row('VehExt', (k) => ph[k]!.passageS),
      row('MinGap', (k) => ph[k]!.passageS),
      row('Yellow', (k) => ph[k]!.yellowS),
      row('AllRed', (k) => ph[k]!.redClearanceS),
      row('Walk', (k) => ph[k]!.walkS),
      row('DontWalk', (k) => ph[k]!.flashingDontWalkS),
      row('MinSplit', (k) => round1(Math.max(ph[k]!.minGreenS, ph[k]!.walkS + ph[k]!.flashingDontWalkS) + ph[k]!.yellowS + ph[k]!.redClearanceS)),
      row('Start', (k) => global(ph[k]!.startS)),
      row('End', (k) => global(ph[k]!.startS + ph[k]!.splitS)),
      row('Yield', (k) => global(ph[k]!.startS + ph[k]!.greenS)),
      row('LocalStart', (k) => ph[k]!.startS),
      row('LocalYield', (k) => round1(ph[k]!.startS + ph[k]!.greenS)),
      row('ActGreen', (k) => ph[k]!.greenS),
    );
  }
  const dHeader = Array.from({ length: width }, (_, k) => `D${k + 1}`);
  return [
    '[Timeplans]\nTiming Plan Settings\n',
    stringify([['RECORDNAME', 'INTID', 'DATA'], ...plans]),
    '\n[Phases]\nPhasing Data\n',
    stringify([['RECORDNAME', 'INTID', ...dHeader], ...phaseRows]),
  ].join('');
}
