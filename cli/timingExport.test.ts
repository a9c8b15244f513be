/**
 * Timing exports of the demo city's 08:00 plan: the CSV read back with
 * csv-parse equals the sheets; the UTDF sections carry each signal's cycle,
 * offset and phases under controller phase numbers, with barrier, ring and
 * run position in BRP; and `greenwave plan --sheet --csv --utdf` writes them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { actuatedPlan, corridorApproaches } from '../engine/timing/actuated.js';
import { timingSheets } from '../engine/timing/sheet.js';
import { SHEET_CSV_COLUMNS, formatTimingSheets, timingSheetsCsv, timingSheetsUtdf } from './timingExport.js';
import { run } from './main.js';

const ROOT = new URL('../examples/demo-city/', import.meta.url);

function demoSheets() {
  const c = compileNetwork(loadNetwork(readFileSync(new URL('network.json', ROOT), 'utf8')));
  const demand = demandFor(prepareCounts(c, readFileSync(new URL('counts.csv', ROOT), 'utf8'), 'counts.csv'), '08:00');
  const plan = planNetwork(c, demand.volumeVeh, demand.intervalS);
  return timingSheets(c, plan.buffer, actuatedPlan(c, plan.buffer, corridorApproaches(plan.corridors)));
}

/** UTDF section → rows keyed "RECORDNAME|INTID" → cells after INTID. */
function utdfSection(text: string, name: string): Map<string, string[]> {
  const start = text.indexOf(`[${name}]`);
  const rest = text.slice(start).split('\n').slice(2);
  const end = rest.findIndex((l, k) => k > 0 && l.startsWith('['));
  const rows = parse(rest.slice(0, end < 0 ? undefined : end).join('\n'), { relax_column_count: true, skip_empty_lines: true }) as string[][];
  const out = new Map<string, string[]>();
  for (const r of rows.slice(1)) out.set(`${r[0]}|${r[1]}`, r.slice(2));
  return out;
}

describe('timing exports', () => {
  const sheets = demoSheets();

  it('writes a CSV that reads back as the sheets, one row per phase', () => {
    const rows = parse(timingSheetsCsv(sheets), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...SHEET_CSV_COLUMNS]);
    const phases = sheets.flatMap((sh) => sh.phases.map((p) => ({ sh, p })));
    expect(rows).toHaveLength(phases.length);
    rows.forEach((r, k) => {
      const { sh, p } = phases[k]!;
      expect(r.intersection_id).toBe(sh.intersectionId);
      expect(r.phase_id).toBe(p.id);
      expect(Number(r.cycle_s)).toBe(sh.cycleS);
      expect(Number(r.green_s)).toBe(p.greenS);
      expect(Number(r.max_green_s)).toBe(p.maxGreenS);
      expect(Number(r.flashing_dont_walk_s)).toBe(p.flashingDontWalkS);
      expect(r.force_off_s === '' ? null : Number(r.force_off_s)).toBe(p.forceOffS);
    });
  });

  it('writes UTDF timeplans and phases under controller phase numbers', () => {
    const text = timingSheetsUtdf(sheets);
    const plans = utdfSection(text, 'Timeplans');
    const phases = utdfSection(text, 'Phases');
    for (const sh of sheets) {
      expect(Number(plans.get(`Cycle Length|${sh.intersectionId}`)![0])).toBe(sh.cycleS);
      expect(Number(plans.get(`Offset|${sh.intersectionId}`)![0])).toBe(sh.offsetS);
      expect(plans.get(`Control Type|${sh.intersectionId}`)![0]).toBe(sh.control === 'actuated-coordinated' ? '3' : sh.control === 'fixed' ? '0' : '2');
    }
    // I6 numbers its phases NEMA-style and runs phase 1 after phase 2 (lag): BRP 112 and 111.
    const i6 = sheets.find((s) => s.intersectionId === 'I6')!;
    const brp = phases.get('BRP|I6')!;
    const lead = i6.phases.find((p) => p.id === '1')!;
    const through = i6.phases.find((p) => p.id === '2')!;
    expect(through.startS).toBeLessThan(lead.startS);
    expect(brp[0]).toBe('112');
    expect(brp[1]).toBe('111');
    expect(Number(phases.get('MaxGreen|I6')![7])).toBe(i6.phases.find((p) => p.id === '8')!.maxGreenS);
    expect(plans.get('Reference Phase|I6')![0]).toBe(i6.offsetReferencePhase);
    // A stage-based signal: one ring, a barrier per stage, numbered in run order.
    expect(phases.get('BRP|I1')!.slice(0, 3)).toEqual(['111', '211', '311']);
    // Local start and yield restate the sheet; the global start adds the offset.
    const i2 = sheets.find((s) => s.intersectionId === 'I2')!;
    i2.phases.forEach((p, k) => {
      expect(Number(phases.get('LocalStart|I2')![k])).toBe(p.startS);
      expect(Number(phases.get('Start|I2')![k])).toBeCloseTo((p.startS + i2.offsetS) % i2.cycleS, 1);
      expect(Number(phases.get('Yellow|I2')![k])).toBe(p.yellowS);
    });
  });

  it('prints units on every column', () => {
    const text = formatTimingSheets(sheets);
    const header = text.split('\n').find((l) => l.includes('phase') && l.includes('ring'))!;
    for (const col of ['start s', 'split s', 'green s', 'min s', 'pass s', 'max s', 'yel s', 'red s', 'walk s', 'FDW s', 'force-off s']) expect(header).toContain(col);
  });
});

describe('greenwave plan --sheet --csv --utdf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-sheet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the sheet and writes both files', () => {
    let stdout = '';
    const csv = join(dir, 'sheet.csv');
    const utdf = join(dir, 'timing.csv');
    const net = new URL('network.json', ROOT).pathname;
    const counts = new URL('counts.csv', ROOT).pathname;
    const code = run(['plan', '--network', net, '--counts', counts, '--at', '08:00', '--sheet', '--csv', csv, '--utdf', utdf], (s) => {
      stdout += s;
    }, () => {});
    expect(code).toBe(0);
    expect(stdout).toContain('controller timing sheet');
    expect(stdout).toContain(`timing sheet written to ${csv}`);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toBe(SHEET_CSV_COLUMNS.join(','));
    expect(readFileSync(utdf, 'utf8')).toMatch(/^\[Timeplans\]\nTiming Plan Settings\nRECORDNAME,INTID,DATA\n/);
  });
});
