import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../numeric.js';
import { ParkingFileSchema, capacityOf, type OccupancyState, type ParkingSiteStatus } from './schema.js';
import { SignMessenger } from './signs.js';

const demo = ParkingFileSchema.parse(JSON.parse(readFileSync(new URL('../../examples/demo-city/parking.json', import.meta.url), 'utf8')));

function st(id: string, capacity: number, vacant: number, status: ParkingSiteStatus = vacant <= 0 ? 'full' : 'open'): OccupancyState {
  const known = status === 'open' || status === 'full';
  return {
    carParkId: id,
    capacity,
    occupied: known ? capacity - vacant : Number.NaN,
    vacant: known ? vacant : Number.NaN,
    occupancyPct: known ? (100 * (capacity - vacant)) / capacity : Number.NaN,
    trend: 'stable',
    status,
    statusTimeMs: 0,
  };
}

/** The demo's car parks, all open with `vacant` free unless overridden. */
function states(vacant: number, over: Record<string, [number, ParkingSiteStatus]> = {}): OccupancyState[] {
  return demo.carParks.map((p) => {
    const o = over[p.id];
    return o ? st(p.id, capacityOf(p), o[0], o[1]) : st(p.id, capacityOf(p), vacant);
  });
}

/** A two-line sign over three car parks: line 1 sums A and B. */
const twoLines = ParkingFileSchema.parse({
  ...demo,
  signs: [
    { id: 'S', linkId: 'L-I1-I2', positionM: 10, lines: [
      { carParkIds: ['P1', 'P2'], direction: 'left', labelZh: 'a', labelEn: 'a' },
      { carParkIds: ['P3'], direction: 'right', labelZh: 'b', labelEn: 'b' },
    ] },
  ],
});

describe('sign messages', () => {
  it('sums the free spaces of a line over its car parks, and leaves unknown and closed ones out', () => {
    const m = new SignMessenger(twoLines);
    let [s] = m.update(states(20));
    expect(s!.lines.map((l) => l.textEn)).toEqual(['40', '20']);
    expect(s!.state).toBe('normal');
    [s] = m.update(states(20, { P1: [NaN, 'unknown'] }));
    expect(s!.lines[0]).toMatchObject({ kind: 'spaces', textEn: '20', partial: true });
    expect(s!.state).toBe('degraded');
    [s] = m.update(states(20, { P1: [NaN, 'unknown'], P2: [55, 'closed'] }));
    expect(s!.lines[0]).toMatchObject({ kind: 'unknown', textZh: '—' });
    [s] = m.update(states(20, { P1: [30, 'closed'], P2: [55, 'closed'], P3: [NaN, 'unknown'] }));
    expect(s!.lines.map((l) => l.kind)).toEqual(['closed', 'unknown']);
    expect(s!.lines[0]!.textEn).toBe('CLOSED');
    [s] = m.update(states(20, { P1: [NaN, 'unknown'], P2: [NaN, 'unknown'], P3: [NaN, 'unknown'] }));
    expect(s!.state).toBe('dark');
  });

  it('shows FULL at fullAtFree or fewer, and a number again only from fullAtFree + hysteresis', () => {
    const m = new SignMessenger(demo, { fullAtFree: 2, hysteresisSpaces: 5 });
    const seq = [10, 3, 2, 3, 6, 7, 2, 0, 8];
    const shown = seq.map((v) => m.update(states(v))[0]!.lines[0]!.textEn);
    expect(shown).toEqual(['10', '3', 'FULL', 'FULL', 'FULL', '7', 'FULL', 'FULL', '8']);
    expect(m.update(states(8))[0]!.changed).toBe(false);
    expect(m.update(states(9))[0]!.changed).toBe(true);
  });

  it('changes far less often around full with hysteresis than without', () => {
    const run = (hysteresisSpaces: number): { changes: number; switches: number } => {
      const rand = mulberry32(42);
      const m = new SignMessenger(demo, { fullAtFree: 2, hysteresisSpaces });
      let noise = 0;
      let changes = 0;
      let switches = 0;
      let last = '';
      for (let k = 0; k < 2000; k++) {
        // A car park hovering around full: free spaces wander around the threshold.
        noise = 0.8 * noise + 1.5 * (rand() - 0.5) * 2;
        const free = Math.max(0, Math.round(2 + noise));
        const [s] = m.update(states(free));
        if (s!.changed) changes++;
        const kind = s!.lines[0]!.kind;
        if (last !== '' && kind !== last) switches++;
        last = kind;
      }
      return { changes, switches };
    };
    const without = run(0);
    const withH = run(5);
    expect(without.switches).toBeGreaterThan(200);
    expect(withH.changes).toBeLessThan(without.changes / 3);
    expect(withH.switches).toBeLessThan(without.switches / 10);
  });

  it('never shows a number of spaces for a line whose car parks are all closed or unknown', () => {
    const statusArb = fc.constantFrom<ParkingSiteStatus>('open', 'full', 'closed', 'unknown');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(statusArb, { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 3, maxLength: 3 })), { minLength: 1, maxLength: 30 }), (steps) => {
        const m = new SignMessenger(twoLines, { fullAtFree: 2, hysteresisSpaces: 4 });
        for (const [status, vacant] of steps) {
          const over: Record<string, [number, ParkingSiteStatus]> = {};
          ['P1', 'P2', 'P3'].forEach((id, k) => {
            over[id] = [status[k] === 'full' ? 0 : vacant[k]!, status[k]!];
          });
          const [s] = m.update(states(20, over));
          const lineOf = [[0, 1], [2]];
          s!.lines.forEach((l, li) => {
            const counted = lineOf[li]!.filter((k) => status[k] === 'open' || status[k] === 'full');
            if (counted.length === 0) expect(['unknown', 'closed']).toContain(l.kind);
            if (l.kind === 'spaces') expect(l.freeSpaces).toBe(counted.reduce((a, k) => a + (status[k] === 'full' ? 0 : vacant[k]!), 0));
          });
        }
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});
