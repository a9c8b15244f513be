import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GreenwaveError, ValidationError } from '../errors.js';
import { formatCountsCsv, MAX_LISTED_ISSUES, parseCountsCsv } from './csv.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/counts/${name}`, import.meta.url), 'utf8');
const NETWORK_IDS = ['NB1-S', 'NB2-S', 'NB3-S', 'NB2-A', 'SB1-S'];
const HEADER = 'interval_start,detector_id,volume_veh,occupancy_pct';

/** Parses expecting a ValidationError and returns its issues. */
function issuesOf(text: string, opts: Parameters<typeof parseCountsCsv>[1] = {}) {
  try {
    parseCountsCsv(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

describe('parseCountsCsv happy path', () => {
  it('parses shuffled columns and rows into the network detector order, keeping empty intervals as NaN', () => {
    const c = parseCountsCsv(fixture('small.csv'), { detectorIds: NETWORK_IDS });
    expect(c.detectorIds).toEqual(NETWORK_IDS);
    expect(c.intervalS).toBe(900);
    expect(Array.from(c.intervalStartMs)).toEqual([0, 15, 30, 45].map((m) => Date.UTC(2024, 2, 4, 8, m)));
    const vol = (t: number, id: string) => c.volumeVeh[t * NETWORK_IDS.length + NETWORK_IDS.indexOf(id)];
    expect(vol(0, 'NB1-S')).toBe(28);
    expect(vol(1, 'NB1-S')).toBe(30);
    expect(vol(1, 'NB2-S')).toBe(104);
    expect(vol(3, 'NB3-S')).toBe(75);
    expect(c.occupancyPct[0]).toBe(9.5);
    // 08:30 has no rows at all; NB2-A and SB1-S never report.
    for (const id of NETWORK_IDS) expect(vol(2, id)).toBeNaN();
    expect(vol(0, 'SB1-S')).toBeNaN();
    expect(c.volumeVeh.length).toBe(4 * NETWORK_IDS.length);
  });

  it('without detectorIds sorts the ids it finds; accepts CRLF, BOM, blank lines and spaces', () => {
    const text = `\uFEFF${HEADER}\r\n2024-01-01T00:05, B ,1,0\r\n\r\n2024-01-01T00:00,A,2,0.5\r\n2024-01-01T00:05,A,3,1\r\n`;
    const c = parseCountsCsv(text, {});
    expect(c.detectorIds).toEqual(['A', 'B']);
    expect(c.intervalS).toBe(300);
    expect(Array.from(c.volumeVeh)).toEqual([2, NaN, 3, 1]);
  });

  it('uses the given interval length, also for a single interval', () => {
    const c = parseCountsCsv(`${HEADER}\n2024-01-01T00:00,A,2,0.5\n`, { intervalS: 900 });
    expect(c.intervalS).toBe(900);
    expect(c.intervalStartMs.length).toBe(1);
    const c2 = parseCountsCsv(`${HEADER}\n2024-01-01T00:00,A,2,0.5\n2024-01-01T01:00,A,2,0.5\n`, { intervalS: 900 });
    expect(c2.intervalStartMs.length).toBe(5);
  });
});

describe('parseCountsCsv rejections', () => {
  const rows = (...r: string[]) => [HEADER, ...r].join('\n');

  it.each([
    ['-3', 'volume_veh', `"-3" is not a valid count: must be a non-negative number`],
    ['', 'volume_veh', `"" is not a valid count: must be a non-negative number`],
    ['NaN', 'volume_veh', `"NaN" is not a valid count: must be a non-negative number`],
    ['12a', 'volume_veh', `"12a" is not a valid count: must be a non-negative number`],
    ['Infinity', 'volume_veh', `"Infinity" is not a valid count: must be a non-negative number`],
    ['0x10', 'volume_veh', `"0x10" is not a valid count: must be a non-negative number`],
  ])('rejects volume %j with its line number', (value, column, message) => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:15,A,1,1', `2024-01-01T00:30,A,${value},1`);
    expect(issuesOf(text)).toEqual([{ path: `counts.csv:4 ${column}`, message }]);
  });

  it.each(['100.5', '-1', '', 'abc'])('rejects occupancy %j', (value) => {
    const text = rows('2024-01-01T00:00,A,1,1', `2024-01-01T00:15,A,1,${value}`);
    expect(issuesOf(text, { source: 'day.csv' })).toEqual([
      { path: 'day.csv:3 occupancy_pct', message: `"${value}" is not a valid occupancy: must be a number from 0 to 100` },
    ]);
  });

  it('accepts occupancy 0 and 100 exactly', () => {
    expect(() => parseCountsCsv(rows('2024-01-01T00:00,A,0,0', '2024-01-01T00:15,A,0,100'))).not.toThrow();
  });

  it('rejects unknown detector ids when the network ids are given', () => {
    const text = rows('2024-01-01T00:00,NB1-S,1,1', '2024-01-01T00:15,XX,1,1');
    expect(issuesOf(text, { detectorIds: NETWORK_IDS })).toEqual([
      { path: 'counts.csv:3 detector_id', message: 'unknown detector "XX": not in the network' },
    ]);
  });

  it('rejects empty detector ids', () => {
    expect(issuesOf(rows('2024-01-01T00:00,,1,1'), { intervalS: 900 })[0]).toEqual({ path: 'counts.csv:2 detector_id', message: 'detector id must not be empty' });
  });

  it('rejects duplicate (interval, detector) rows, naming the first line', () => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:15,A,1,1', '2024-01-01T00:00:00,A,5,1');
    expect(issuesOf(text)).toEqual([
      { path: 'counts.csv:4', message: 'duplicate row for detector "A" at 2024-01-01T00:00; first given on line 2' },
    ]);
  });

  it.each(['2024-13-01T00:00', '2024-02-30T08:00', '2024-01-01T24:00', '2024-01-01 08:00', '2024-01-01T08:00Z', '2024-01-01T08:60', 'yesterday'])(
    'rejects bad timestamp %j',
    (ts) => {
      const text = rows('2024-01-01T00:00,A,1,1', `${ts},A,1,1`);
      const issues = issuesOf(text, { intervalS: 900 });
      expect(issues).toHaveLength(1);
      expect(issues[0]!.path).toBe('counts.csv:3 interval_start');
      expect(issues[0]!.message).toContain(`"${ts}" is not a valid interval start`);
    },
  );

  it('rejects ragged rows', () => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:15,A,1', '2024-01-01T00:30,A,1,1,7');
    expect(issuesOf(text)).toEqual([
      { path: 'counts.csv:3', message: 'expected 4 fields, found 3' },
      { path: 'counts.csv:4', message: 'expected 4 fields, found 5' },
    ]);
  });

  it('rejects starts off the interval grid', () => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:15,A,1,1', '2024-01-01T00:20,A,1,1');
    expect(issuesOf(text, { intervalS: 900 })).toEqual([
      { path: 'counts.csv:4 interval_start', message: '2024-01-01T00:20 is not on the 900 s interval grid starting at 2024-01-01T00:00' },
    ]);
    // Inferred from the smallest gap (10 min); 00:25 is not on that grid.
    expect(issuesOf(rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:10,A,1,1', '2024-01-01T00:25,A,1,1'))).toEqual([
      { path: 'counts.csv:4 interval_start', message: '2024-01-01T00:25 is not on the 600 s interval grid starting at 2024-01-01T00:00' },
    ]);
  });

  it('rejects headers with a missing, repeated or unknown column', () => {
    expect(issuesOf('interval_start,detector_id,volume_veh\n2024-01-01T00:00,A,1')).toEqual([
      { path: 'counts.csv:1', message: 'missing column "occupancy_pct"' },
    ]);
    expect(issuesOf(`${HEADER},volume_veh\n`)[0]!.message).toBe('column "volume_veh" appears twice');
    expect(issuesOf(`${HEADER},lane\n`)[0]!.message).toContain('unknown column "lane"');
  });

  it('rejects empty files, header-only files and a single interval without intervalS', () => {
    expect(issuesOf('')[0]!.message).toContain('file is empty');
    expect(issuesOf(`${HEADER}\n\n`)[0]!.message).toBe('no data rows after the header');
    expect(issuesOf(rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:00,B,1,1'))[0]!.message).toContain('pass intervalS');
  });

  it('rejects spans too large to hold densely', () => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:01,A,1,1', '2999-01-01T00:00,A,1,1');
    expect(issuesOf(text)[0]!.message).toMatch(/counts span \d+ intervals/);
  });

  it('rejects bad options', () => {
    expect(issuesOf(rows('2024-01-01T00:00,A,1,1'), { intervalS: -5 })[0]!.path).toBe('counts.csv intervalS');
    expect(issuesOf(rows('2024-01-01T00:00,A,1,1'), { detectorIds: ['A', 'A'], intervalS: 60 })[0]!.message).toContain('listed twice');
  });

  it('collects every problem, lists at most MAX_LISTED_ISSUES and summarises the rest', () => {
    const bad = Array.from({ length: 120 }, (_, i) => `2024-01-01T00:${String(i % 60).padStart(2, '0')},A${i},-1,1`);
    const issues = issuesOf(rows(...bad));
    expect(issues).toHaveLength(MAX_LISTED_ISSUES + 1);
    expect(issues[0]!.path).toBe('counts.csv:2 volume_veh');
    expect(issues[MAX_LISTED_ISSUES - 1]!.path).toBe(`counts.csv:${MAX_LISTED_ISSUES + 1} volume_veh`);
    expect(issues[MAX_LISTED_ISSUES]!.message).toBe('and 70 more problems');
  });

  it('reports several kinds of problem in one error, in line order', () => {
    const text = rows('2024-01-01T00:00,A,1,1', '2024-01-01T00:15,A,-3,1', '2024-01-01T00:30,A,1,101');
    const e = (() => {
      try {
        parseCountsCsv(text, {});
      } catch (err) {
        return err as GreenwaveError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('INVALID_INPUT');
    expect(e?.issues.map((i) => i.path)).toEqual(['counts.csv:3 volume_veh', 'counts.csv:4 occupancy_pct']);
    expect(e?.message).toContain('counts.csv:3 volume_veh: "-3" is not a valid count');
  });
});

describe('parseCountsCsv fuzzing', () => {
  const onlyGreenwaveErrors = (text: string, opts: Parameters<typeof parseCountsCsv>[1]) => {
    try {
      const c = parseCountsCsv(text, opts);
      expect(c.volumeVeh.length).toBe(c.intervalStartMs.length * c.detectorIds.length);
    } catch (e) {
      if (!(e instanceof GreenwaveError)) throw e;
    }
  };

  it('arbitrary strings only ever raise GreenwaveError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => onlyGreenwaveErrors(s, {})), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => onlyGreenwaveErrors(`${HEADER}\n${s}`, {})), { numRuns: 500 });
  });

  const valid = fixture('small.csv');
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(',', '\n', '-', '.', 'e9', '9999', 'T', ':', '', '\r', '1e400', '00') }),
  );
  const mutate = (text: string, ms: readonly { kind: string; at: number; text?: string; len?: number }[]) =>
    ms.reduce((t, m) => {
      const at = t.length === 0 ? 0 : m.at % (t.length + 1);
      if (m.kind === 'insert') return t.slice(0, at) + (m.text ?? '') + t.slice(at);
      if (m.kind === 'delete') return t.slice(0, at) + t.slice(at + (m.len ?? 1));
      return t.slice(0, at) + (m.text ?? '') + t.slice(at + 1);
    }, text);

  it('mutated valid CSV only ever raises GreenwaveError', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.option(fc.constantFrom(60, 300, 900, 7)), (ms, withIds, intervalS) => {
        const opts = { ...(withIds ? { detectorIds: NETWORK_IDS } : {}), ...(intervalS !== null ? { intervalS } : {}) };
        onlyGreenwaveErrors(mutate(valid, ms), opts);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('formatCountsCsv', () => {
  it('writes what parseCountsCsv reads back, the same counts (missing values left out)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 20, maxLength: 20 }), (nd, ni, raw) => {
        const ids = Array.from({ length: nd }, (_, d) => `D${d + 1}`);
        const volume = Float64Array.from({ length: nd * ni }, (_, k) => (k === 1 && nd * ni > 2 ? Number.NaN : raw[k % raw.length]! / 10));
        const occupancy = Float64Array.from({ length: nd * ni }, (_, k) => (Number.isNaN(volume[k]!) ? Number.NaN : (raw[(k + 3) % raw.length]! % 1000) / 10));
        const counts = { detectorIds: ids, intervalS: 900, intervalStartMs: Float64Array.from({ length: ni }, (_, k) => Date.UTC(2026, 0, 1, 7, 0) + k * 900_000), volumeVeh: volume, occupancyPct: occupancy };
        const back = parseCountsCsv(formatCountsCsv(counts), { detectorIds: ids, intervalS: 900 });
        expect(Array.from(back.intervalStartMs)).toEqual(Array.from(counts.intervalStartMs));
        expect(Array.from(back.volumeVeh)).toEqual(Array.from(volume));
        expect(Array.from(back.occupancyPct)).toEqual(Array.from(occupancy));
      }),
      { numRuns: 100 },
    );
  });
});
