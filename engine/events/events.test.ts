/**
 * The event buffer and the ATSPM-style CSV: a round trip keeps every record, the writer's
 * format is the documented one, and malformed lines are reported at file:line.
 */
import { describe, expect, it } from 'vitest';
import { EventBuffer } from './buffer.js';
import { EventCode, splitChangeCode } from './codes.js';
import { eventsToCsv, formatEventTimestamp, parseEventTimestamp, readEventsCsv } from './csv.js';
import { ValidationError } from '../errors.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);

describe('event buffer', () => {
  it('grows past its capacity, rounds to 0.1 s and sorts stably by time', () => {
    const b = new EventBuffer(2);
    const x = b.locationIndex('I1');
    const y = b.locationIndex('I2');
    expect(b.locationIndex('I1')).toBe(x);
    b.push(x, T0 + 1049, EventCode.PhaseBeginGreen, 2);
    b.push(y, T0 + 500, EventCode.DetectorOn, 3);
    b.push(x, T0 + 500, EventCode.PhaseGapOut, 2);
    b.push(x, T0 + 500, EventCode.PhaseBeginYellow, 2);
    expect(b.length).toBe(4);
    expect(b.timestampMsAt(0)).toBe(T0 + 1000);
    expect(b.isTimeOrdered()).toBe(false);
    b.sortByTime();
    expect(b.records().map((r) => [r.locationId, r.timestampMs - T0, r.eventCode])).toEqual([
      ['I2', 500, 82],
      ['I1', 500, 4],
      ['I1', 500, 8],
      ['I1', 1000, 1],
    ]);
    expect(splitChangeCode(1)).toBe(134);
    expect(splitChangeCode(16)).toBe(EventCode.CoordSplit16Change);
  });
});

describe('event CSV', () => {
  it('round trip: every record comes back the same', () => {
    const b = new EventBuffer(4);
    const codes = [1, 4, 5, 6, 8, 9, 10, 11, 21, 22, 23, 81, 82, 112, 113, 114, 115, 131, 132, 133, 134, 149, 173];
    codes.forEach((code, k) => b.push(b.locationIndex(k % 3 === 0 ? 'I1' : 'Renmin, "east"'), T0 + k * 100 + (k % 2) * 86_400_000, code, k * 997));
    b.sortByTime();
    const text = eventsToCsv(b);
    expect(text.split('\n')[0]).toBe('locationId,timestamp,eventCode,eventParam');
    expect(text.split('\n')[1]).toBe('I1,2026-01-01 08:00:00.0,1,0');
    const back = readEventsCsv(text, 'rt.csv');
    expect(back.records()).toEqual(b.records());
  });

  it('timestamps: the written form, ISO variants, rounding to 0.1 s, impossible dates refused', () => {
    expect(formatEventTimestamp(T0 + 3_723_400)).toBe('2026-01-01 09:02:03.4');
    expect(parseEventTimestamp('2026-01-01 09:02:03.4')).toBe(T0 + 3_723_400);
    expect(parseEventTimestamp('2026-01-01T09:02:03Z')).toBe(T0 + 3_723_000);
    expect(parseEventTimestamp('2026-02-30 00:00:00')).toBeNaN();
    const b = readEventsCsv('SignalId,Timestamp,EventCode,EventParam\n7115,2026-01-01 08:00:00.449,82,5\n', 'atspm.csv');
    expect(b.records()).toEqual([{ locationId: '7115', timestampMs: T0 + 400, eventCode: 82, eventParam: 5 }]);
  });

  it('malformed lines: every problem located at file:line and column', () => {
    const text = [
      'locationId,timestamp,eventCode,eventParam',
      'I1,2026-01-01 08:00:00.0,1,2',
      'I1,yesterday,1,2',
      '',
      'I1,2026-01-01 08:00:01.0,300,2',
      ',2026-01-01 08:00:01.0,8,-1',
      'I1,2026-01-01 08:00:01.0,8',
      'I1,2026-01-01 08:00:01.0,8,70000',
    ].join('\n');
    let err: unknown;
    try {
      readEventsCsv(text, 'bad.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['bad.csv:3 timestamp', 'bad.csv:5 eventCode', 'bad.csv:6 locationId', 'bad.csv:6 eventParam', 'bad.csv:7', 'bad.csv:8 eventParam']);
  });

  it('a bad header and a broken quote are refused with their line', () => {
    expect(() => readEventsCsv('locationId,time,eventCode,eventParam\n', 'h.csv')).toThrow(/h\.csv:1: unknown column "time"[\s\S]*missing column timestamp/);
    expect(() => readEventsCsv('', 'e.csv')).toThrow(/e\.csv:1: file is empty/);
    expect(() => readEventsCsv('locationId,timestamp,eventCode,eventParam\n"I1,2026-01-01 08:00:00.0,1,2\n', 'q.csv')).toThrow(/q\.csv:2: unterminated quoted field/);
  });
});
