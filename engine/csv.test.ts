import { describe, expect, it } from 'vitest';
import { readCsv } from './csv.js';
import { IssueList } from './errors.js';

describe('CSV reader', () => {
  it('handles BOM, CRLF, quotes, doubled quotes, quoted line breaks and blank lines', () => {
    const issues = new IssueList();
    const t = readCsv('\uFEFFa, b ,c\r\n1,"x, y","he said ""hi"""\r\n\r\n2,"multi\r\nline",\r\n3,,last', 'f.txt', issues)!;
    expect(issues.items).toEqual([]);
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.headerLine).toBe(1);
    expect(t.records).toEqual([
      { line: 2, fields: ['1', 'x, y', 'he said "hi"'] },
      { line: 4, fields: ['2', 'multi\nline', ''] },
      { line: 6, fields: ['3', '', 'last'] },
    ]);
  });

  it('reports an unterminated quote, junk after a closing quote and a stray quote with the line, refusing the table', () => {
    const a = new IssueList();
    expect(readCsv('a,b\n1,"oops\n2,3\n', 'x.txt', a)).toBeUndefined();
    expect(a.items).toEqual([{ path: 'x.txt:2', message: 'unterminated quoted field' }]);
    const b = new IssueList();
    expect(readCsv('a,b\r\n0,"two\r\nlines"\r\n1,"q"z\r\n', 'y.txt', b)).toBeUndefined();
    expect(b.items).toEqual([{ path: 'y.txt:4', message: 'unexpected character after a closing quote' }]);
    const c = new IssueList();
    expect(readCsv('a,b\n1,ab"c\n', 'z.txt', c)).toBeUndefined();
    expect(c.items.map((i) => i.path)).toEqual(['z.txt:2']);
  });

  it('handles LF-only, CR-only, mixed line ends and a missing final newline', () => {
    const issues = new IssueList();
    expect(readCsv('a\n1\n2', 'f', issues)!.records.map((r) => r.fields[0])).toEqual(['1', '2']);
    expect(readCsv('a\r1\r2\r', 'f', issues)!.records.map((r) => [r.line, r.fields[0]])).toEqual([[2, '1'], [3, '2']]);
    expect(readCsv('a\r\n1\n2\r3', 'f', issues)!.records.map((r) => [r.line, r.fields[0]])).toEqual([[2, '1'], [3, '2'], [4, '3']]);
    expect(issues.length).toBe(0);
  });

  it('keeps lines of commas, skips empty lines, and on request whitespace-only lines too', () => {
    const issues = new IssueList();
    const t = readCsv('\n\na,b\n,\n \n', 'f', issues)!;
    expect(t.headerLine).toBe(3);
    expect(t.records).toEqual([{ line: 4, fields: ['', ''] }, { line: 5, fields: [' '] }]);
    expect(readCsv(' \na,b\n \n1,2', 'f', issues, { skipWhitespaceLines: true })!.records).toEqual([{ line: 4, fields: ['1', '2'] }]);
    expect(readCsv('', 'f', issues)).toEqual({ header: [], headerLine: 1, records: [] });
    expect(issues.length).toBe(0);
  });

  it('without quoting splits on every comma and keeps quotes as text', () => {
    const issues = new IssueList();
    expect(readCsv('a,b\n1,"x,y"\n', 'f', issues, { quoted: false })!.records).toEqual([{ line: 2, fields: ['1', '"x', 'y"'] }]);
    expect(issues.length).toBe(0);
  });
});
