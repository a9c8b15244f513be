/**
 * `greenwave measures` on the hand-made event log (test/fixtures/events/): the table and the
 * JSON carry the measures engine/measures/measures.test.ts checks by hand, --svg writes the
 * chosen phase's Purdue coordination diagram, and usage errors and bad logs exit 2 with
 * located messages.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './main.js';

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/events/${name}`, import.meta.url));
const EVENTS = fixture('handmade.csv');
const NETWORK = fixture('network.json');

// One scratch folder for the files the tests write, removed afterwards.
const DIR = mkdtempSync(join(tmpdir(), 'gw-measures-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

function cli(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('greenwave measures', () => {
  it('prints the measures per phase', () => {
    const r = cli('measures', '--events', EVENTS, '--network', NETWORK);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const row = r.out.split('\n').find((l) => l.startsWith('X1') && /\s2\s/.test(l))!;
    expect(row.split(/\s+/)).toEqual(['X1', '2', '2', '3', '10', '50.0', '1.21', '6.2', '2/3', '1/1/1', '30.0']);
  });

  it('adds the pedestrian and TSP tables when the log has their events, and nothing when it has none', () => {
    expect(cli('measures', '--events', EVENTS, '--network', NETWORK).out).not.toMatch(/pedestrians|transit signal priority/);
    const events = join(DIR, 'more.csv');
    // A call at 20 s, the walk with phase 2's green at 31 s (walk 7 s, clearance 12 s); request 3 early green, 40 s.
    const more = [[31, 21, 2], [38, 22, 2], [50, 23, 2], [20, 45, 2], [40, 112, 3], [41, 113, 3], [80, 115, 3]].map(([s, code, param]) => `X1,2026-01-01 08:${String(Math.floor(s! / 60)).padStart(2, '0')}:${String(s! % 60).padStart(2, '0')}.0,${code},${param}`);
    writeFileSync(events, `${readFileSync(EVENTS, 'utf8').trimEnd()}\n${more.join('\n')}\n`);
    const r = cli('measures', '--events', events, '--network', NETWORK);
    expect(r.code, r.err).toBe(0);
    const rowAfter = (title: string) => r.out.split('\n')[r.out.split('\n').findIndex((l) => l.startsWith(title)) + 2]!.split(/\s+/);
    expect(rowAfter('pedestrians')).toEqual(['X1', '2', '1', '0', '7.0', '12.0/12.0', '1', '11.0/11.0']);
    expect(rowAfter('transit signal priority')).toEqual(['X1', '1', '1', '0', '0', '0', '40.0/40.0']);
  });

  it('--json and --svg (default phase: the one with the most arrivals; or by id or number)', () => {
    const svg = join(DIR, 'pcd.svg');
    const r = cli('measures', '--events', EVENTS, '--network', NETWORK, '--svg', svg, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { phases: { phaseNumber: number; approachDelay: { averageDelayS: number } }[] };
    expect(report.phases.find((p) => p.phaseNumber === 2)!.approachDelay.averageDelayS).toBe(6.2);
    expect(readFileSync(svg, 'utf8')).toContain('X1 phase 2 (2)');
    expect(cli('measures', '--events', EVENTS, '--network', NETWORK, '--svg', svg, '--intersection', 'X1', '--phase', '4').code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toContain('X1 phase 4 (4)');
  });

  it('usage errors and bad logs exit 2 with located problems', () => {
    expect(cli('measures', '--network', NETWORK)).toMatchObject({ code: 2, err: expect.stringMatching(/--events is required[\s\S]*usage: greenwave measures/) });
    expect(cli('measures', '--events', EVENTS, '--network', NETWORK, '--phase', '2').err).toMatch(/give --svg too/);
    expect(cli('measures', '--events', EVENTS, '--network', NETWORK, '--svg', '/tmp/x.svg', '--phase', '9').err).toMatch(/--phase "9" is neither/);
    expect(cli('measures', '--events', EVENTS, '--network', NETWORK, '--evnts', 'x').err).toMatch(/did you mean --events\?/);
    const bad = join(DIR, 'bad.csv');
    writeFileSync(bad, 'locationId,timestamp,eventCode,eventParam\nX1,2026-01-01 08:00:00.0,1,2\nX1,2026-01-01 08:00:01.0,one,2\n');
    const r = cli('measures', '--events', bad, '--network', NETWORK);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:3 eventCode: "one" is not a whole number`);
    writeFileSync(bad, 'locationId,timestamp,eventCode,eventParam\nZ9,2026-01-01 08:00:00.0,1,2\n');
    expect(cli('measures', '--events', bad, '--network', NETWORK)).toMatchObject({ code: 2, err: expect.stringMatching(/no location in the log is an intersection/) });
  });
});
