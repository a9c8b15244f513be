import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GreenwaveError, ValidationError } from '../errors.js';
import { OccupancyTracker } from './occupancy.js';
import { compileOpeningHours, isOpenAt } from './occupancyHours.js';
import { ParkingFileSchema, type ParkingFile } from './schema.js';

/** Monday 2026-03-02 00:00 in UTC+8, in ms. */
const MON = Date.UTC(2026, 2, 1, 16, 0);
const MIN = 60_000;

function file(openingHours: unknown = '24/7', capacity = 100): ParkingFile {
  const park = (id: string, hours: unknown) => ({
    id,
    nameZh: id,
    nameEn: id,
    kind: 'garage',
    position: { lon: 120, lat: 30 },
    entrances: [{ id: `${id}-E1`, linkId: 'L1', positionM: 10 }],
    capacityByType: { general: capacity },
    fees: { firstHour: 5, perHour: 5 },
    openingHours: hours,
  });
  return ParkingFileSchema.parse({ formatVersion: 1, utcOffsetMin: 480, carParks: [park('A', openingHours), park('B', '24/7')] });
}

function tracker(now: { t: number }, hours: unknown = '24/7', capacity = 100): OccupancyTracker {
  return new OccupancyTracker(file(hours, capacity), { clock: () => now.t });
}

describe('OccupancyTracker: counts, reports and drift', () => {
  it('moves with counts from a report, and a later report wins: the drift is logged with its size and time', () => {
    const now = { t: MON + 10 * 60 * MIN };
    const tr = tracker(now);
    tr.report('A', { timeMs: now.t, occupied: 40 });
    tr.addCounts('A', { fromMs: now.t, toMs: now.t + 5 * MIN, entries: 12, exits: 2 });
    now.t += 5 * MIN;
    expect(tr.state('A').occupied).toBe(50);
    expect(tr.state('A').vacant).toBe(50);
    expect(tr.corrections()).toEqual([]);
    tr.report('A', { timeMs: now.t, vacant: 53 });
    expect(tr.state('A').occupied).toBe(47);
    const [c] = tr.corrections();
    expect(c).toMatchObject({ carParkId: 'A', kind: 'report', tMs: now.t, beforeOccupied: 50, afterOccupied: 47, deltaSpaces: -3 });
  });

  it('brings a report stamped before counts already applied up to date with the counts after its time', () => {
    const now = { t: MON + 10 * 60 * MIN };
    const tr = tracker(now);
    const t0 = now.t;
    tr.report('A', { timeMs: t0, occupied: 10 });
    now.t = t0 + 10 * MIN;
    tr.addCounts('A', { fromMs: t0, toMs: t0 + 5 * MIN, entries: 10, exits: 0 });
    tr.addCounts('A', { fromMs: t0 + 5 * MIN, toMs: t0 + 10 * MIN, entries: 6, exits: 0 });
    // The car-park system said 22 at t0 + 5 min; the 6 entries after it count on top.
    tr.report('A', { timeMs: t0 + 5 * MIN, occupied: 22 });
    expect(tr.state('A').occupied).toBe(28);
    expect(tr.corrections().at(-1)).toMatchObject({ kind: 'report', deltaSpaces: 2 });
  });

  it('does not call the change between two reports drift when no counts came in between', () => {
    const now = { t: MON + 10 * 60 * MIN };
    const tr = tracker(now);
    tr.report('A', { timeMs: now.t, occupied: 10 });
    now.t += 5 * MIN;
    tr.report('A', { timeMs: now.t, occupied: 30 });
    expect(tr.state('A').occupied).toBe(30);
    expect(tr.corrections()).toEqual([]);
  });

  it('clamps to 0…capacity and logs each clamp', () => {
    const now = { t: MON + 10 * 60 * MIN };
    const tr = tracker(now);
    tr.report('A', { timeMs: now.t, occupied: 95 });
    tr.addCounts('A', { fromMs: now.t, toMs: now.t + MIN, entries: 20, exits: 0 });
    expect(tr.state('A').occupied).toBe(100);
    expect(tr.state('A').status).toBe('full');
    tr.addCounts('A', { fromMs: now.t + MIN, toMs: now.t + 2 * MIN, entries: 0, exits: 130 });
    expect(tr.state('A').occupied).toBe(0);
    expect(tr.corrections().map((c) => [c.kind, c.deltaSpaces])).toEqual([
      ['clampHigh', -15],
      ['clampLow', 30],
    ]);
    // Within the margin above capacity a report is accepted and clamped.
    tr.report('A', { timeMs: now.t + 2 * MIN, occupied: 103 });
    expect(tr.state('A').occupied).toBe(100);
    expect(tr.corrections().at(-1)).toMatchObject({ kind: 'clampHigh', beforeOccupied: 103 });
  });

  it('keeps a bounded correction log and counts what it dropped', () => {
    const now = { t: MON };
    const tr = new OccupancyTracker(file(), { clock: () => now.t, correctionLogSize: 3 });
    tr.report('A', { timeMs: now.t, occupied: 0 });
    for (let k = 0; k < 5; k++) tr.addCounts('A', { fromMs: now.t + k * MIN, toMs: now.t + (k + 1) * MIN, entries: 0, exits: 1 });
    const log = tr.corrections();
    expect(log.map((c) => c.seq)).toEqual([3, 4, 5]);
    expect(tr.droppedCorrections).toBe(2);
    expect(tr.corrections(4).map((c) => c.seq)).toEqual([5]);
  });

  it('reports the trend from the recent slope', () => {
    const now = { t: MON + 9 * 60 * MIN };
    const tr = tracker(now);
    tr.report('A', { timeMs: now.t, occupied: 20 });
    const t0 = now.t;
    now.t += 15 * MIN;
    for (let k = 0; k < 3; k++) tr.addCounts('A', { fromMs: t0 + k * 5 * MIN, toMs: t0 + (k + 1) * 5 * MIN, entries: 6, exits: 1 });
    expect(tr.state('A').trend).toBe('increasing');
    now.t += 15 * MIN;
    for (let k = 3; k < 6; k++) tr.addCounts('A', { fromMs: t0 + k * 5 * MIN, toMs: t0 + (k + 1) * 5 * MIN, entries: 3, exits: 3 });
    expect(tr.state('A').trend).toBe('stable');
  });
});

describe('OccupancyTracker: staleness and opening hours', () => {
  it('is unknown (not full, not empty) after the stale time without input, and before any report', () => {
    const now = { t: MON + 12 * 60 * MIN };
    const tr = tracker(now);
    expect(tr.state('A').status).toBe('unknown');
    tr.addCounts('A', { fromMs: now.t - MIN, toMs: now.t, entries: 3, exits: 0 });
    expect(tr.state('A').status).toBe('unknown');
    tr.report('A', { timeMs: now.t, occupied: 100 });
    expect(tr.state('A').status).toBe('full');
    now.t += 10 * MIN;
    expect(tr.state('A').status).toBe('full');
    now.t += 1;
    const s = tr.state('A');
    expect(s.status).toBe('unknown');
    expect(Number.isNaN(s.vacant)).toBe(true);
    expect(Number.isNaN(s.occupancyPct)).toBe(true);
    expect(s.trend).toBe('unknown');
  });

  it('loses the count-based estimate when counts resume after a gap longer than the stale time', () => {
    const now = { t: MON + 12 * 60 * MIN };
    const tr = tracker(now);
    tr.report('A', { timeMs: now.t, occupied: 50 });
    now.t += 30 * MIN;
    tr.addCounts('A', { fromMs: now.t - MIN, toMs: now.t, entries: 1, exits: 0 });
    expect(tr.state('A').status).toBe('unknown');
    tr.report('A', { timeMs: now.t, occupied: 60 });
    expect(tr.state('A').occupied).toBe(60);
  });

  it('is closed outside its opening hours, in local time, whatever the feed says', () => {
    const now = { t: MON + 7 * 60 * MIN + 55 * MIN };
    const tr = tracker(now, [{ days: [1, 2, 3, 4, 5], open: '08:00', close: '20:00' }]);
    tr.report('A', { timeMs: now.t, occupied: 10 });
    tr.report('B', { timeMs: now.t, occupied: 10 });
    expect(tr.state('A').status).toBe('closed');
    expect(tr.state('A', MON + 8 * 60 * MIN).status).toBe('open');
    expect(tr.state('A', MON + 8 * 60 * MIN + 6 * MIN).status).toBe('unknown');
    expect(tr.state('B').status).toBe('open');
  });

  it('reads opening hours: past midnight, 24:00, Sunday into Monday, and the UTC offset', () => {
    const off = 480;
    const at = (day: number, hh: number, mm = 0) => MON + ((day - 1) * 24 * 60 + hh * 60 + mm) * MIN;
    const night = compileOpeningHours([{ days: [7], open: '22:00', close: '02:00' }]);
    expect(isOpenAt(night, at(7, 21, 59), off)).toBe(false);
    expect(isOpenAt(night, at(7, 23), off)).toBe(true);
    expect(isOpenAt(night, at(1, 1, 59), off)).toBe(true);
    expect(isOpenAt(night, at(1, 2), off)).toBe(false);
    const late = compileOpeningHours([{ days: [6], open: '10:00', close: '24:00' }]);
    expect(isOpenAt(late, at(6, 23, 59), off)).toBe(true);
    expect(isOpenAt(late, at(7, 0), off)).toBe(false);
    const day = compileOpeningHours([{ days: [3], open: '09:00', close: '17:00' }]);
    expect(isOpenAt(day, at(3, 9), off)).toBe(true);
    // 09:00 in UTC+8 is 01:00 UTC: read with offset 0 it is not open.
    expect(isOpenAt(day, at(3, 9), 0)).toBe(false);
    expect(isOpenAt(day, at(3, 9) + 8 * 60 * MIN, 0)).toBe(true);
  });
});

describe('OccupancyTracker: implausible input', () => {
  const cases: [string, (tr: OccupancyTracker, t: number) => void, string][] = [
    ['negative entries', (tr, t) => tr.addCounts('A', { fromMs: t, toMs: t + MIN, entries: -1, exits: 0 }), 'counts.entries'],
    ['fractional exits', (tr, t) => tr.addCounts('A', { fromMs: t, toMs: t + MIN, entries: 1, exits: 0.5 }), 'counts.exits'],
    ['an interval ending before it starts', (tr, t) => tr.addCounts('A', { fromMs: t, toMs: t - MIN, entries: 1, exits: 0 }), 'counts.toMs'],
    ['counts far in the future', (tr, t) => tr.addCounts('A', { fromMs: t, toMs: t + 60 * MIN, entries: 1, exits: 0 }), 'counts.toMs'],
    ['counts overlapping the previous interval', (tr, t) => tr.addCounts('A', { fromMs: t - 2 * MIN, toMs: t, entries: 1, exits: 0 }), 'counts.fromMs'],
    ['occupied far above capacity', (tr, t) => tr.report('A', { timeMs: t, occupied: 106 }), 'report.occupied'],
    ['negative occupied', (tr, t) => tr.report('A', { timeMs: t, occupied: -1 }), 'report.occupied'],
    ['vacant above capacity', (tr, t) => tr.report('A', { timeMs: t, vacant: 101 }), 'report.vacant'],
    ['both occupied and vacant', (tr, t) => tr.report('A', { timeMs: t, occupied: 1, vacant: 99 }), 'report'],
    ['a report far in the future', (tr, t) => tr.report('A', { timeMs: t + 60 * MIN, occupied: 1 }), 'report.timeMs'],
    ['a report going back in time', (tr, t) => tr.report('A', { timeMs: t - 2 * MIN, occupied: 1 }), 'report.timeMs'],
  ];
  for (const [what, act, path] of cases) {
    it(`refuses ${what}, naming ${path}, and changes nothing`, () => {
      const now = { t: MON + 10 * 60 * MIN };
      const tr = tracker(now);
      tr.report('A', { timeMs: now.t - MIN, occupied: 40 });
      tr.addCounts('A', { fromMs: now.t - MIN, toMs: now.t, entries: 2, exits: 0 });
      const before = tr.state('A');
      let err: unknown;
      try {
        act(tr, now.t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('INVALID_INPUT');
      expect((err as ValidationError).issues.map((i) => i.path)).toContain(path);
      expect(tr.state('A')).toEqual(before);
      // The next good input still applies from where it was.
      tr.addCounts('A', { fromMs: now.t, toMs: now.t + MIN, entries: 1, exits: 0 });
      expect(tr.state('A').occupied).toBe(43);
    });
  }

  it('answers NOT_FOUND for a car park the file does not have', () => {
    const tr = tracker({ t: MON });
    expect(() => tr.report('Z', { timeMs: MON, occupied: 1 })).toThrow(GreenwaveError);
    expect(() => tr.state('Z')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});

describe('OccupancyTracker: properties', () => {
  type Op =
    | { k: 'counts'; dtMin: number; entries: number; exits: number }
    | { k: 'report'; backMin: number; occupied: number; asVacant: boolean }
    | { k: 'jump'; min: number }
    | { k: 'bad'; entries: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('counts' as const), dtMin: fc.integer({ min: 0, max: 20 }), entries: fc.integer({ min: 0, max: 60 }), exits: fc.integer({ min: 0, max: 60 }) }),
    fc.record({ k: fc.constant('report' as const), backMin: fc.integer({ min: 0, max: 30 }), occupied: fc.integer({ min: -10, max: 70 }), asVacant: fc.boolean() }),
    fc.record({ k: fc.constant('jump' as const), min: fc.integer({ min: -120, max: 600 }) }),
    fc.record({ k: fc.constant('bad' as const), entries: fc.integer({ min: -50, max: -1 }) }),
  );

  it('never leaves 0…capacity, and a stale or closed car park never shows full or open with space', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 10_000 }), (ops, startMin) => {
        const cap = 50;
        const now = { t: MON + startMin * MIN };
        const tr = tracker(now, [{ days: [1, 2, 3, 4, 5, 6], open: '07:00', close: '01:00' }], cap);
        let countTo = now.t;
        let lastInput = Number.NEGATIVE_INFINITY;
        for (const o of ops) {
          try {
            if (o.k === 'counts') {
              const from = countTo;
              const to = Math.max(from, now.t - o.dtMin * MIN);
              tr.addCounts('A', { fromMs: from, toMs: to, entries: o.entries, exits: o.exits });
              countTo = to;
              lastInput = Math.max(lastInput, to);
            } else if (o.k === 'report') {
              const t = now.t - o.backMin * MIN;
              tr.report('A', o.asVacant ? { timeMs: t, vacant: cap - o.occupied } : { timeMs: t, occupied: o.occupied });
              lastInput = Math.max(lastInput, t);
            } else if (o.k === 'jump') now.t += o.min * MIN;
            else tr.addCounts('A', { fromMs: countTo, toMs: countTo, entries: o.entries, exits: 0 });
          } catch (e) {
            if (!(e instanceof ValidationError)) throw e;
          }
          const s = tr.state('A');
          if (!Number.isNaN(s.occupied)) {
            expect(s.occupied).toBeGreaterThanOrEqual(0);
            expect(s.occupied).toBeLessThanOrEqual(cap);
            expect(s.vacant).toBe(cap - s.occupied);
          }
          const open = isOpenAt(compileOpeningHours([{ days: [1, 2, 3, 4, 5, 6], open: '07:00', close: '01:00' }]), now.t, 480);
          if (!open) expect(s.status).toBe('closed');
          // Stale: no input for more than 10 minutes.
          if (now.t - lastInput > 10 * MIN) {
            expect(['unknown', 'closed']).toContain(s.status);
            expect(Number.isNaN(s.vacant)).toBe(true);
          }
          if (s.status === 'unknown') expect(Number.isNaN(s.vacant)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 17 },
    );
  });
});
