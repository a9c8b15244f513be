import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { NetworkSchema, type NetworkInput } from '../network/schema.js';
import { COUNTS_TEST_NETWORK } from '../../test/fixtures/counts/network.js';
import type { DetectorCounts } from './csv.js';
import { cleanCounts, detectorTopology, type Substitution } from './faults.js';

const topology = detectorTopology(NetworkSchema.parse(COUNTS_TEST_NETWORK));
const IDS = topology.detectorIds; // NB1-S, NB2-S, NB3-S, NB2-A, SB1-S
const T0 = Date.UTC(2024, 2, 4, 6, 0);
const MIN15 = 900_000;

/** Dense counts from per-interval rows of [volume per detector]; occupancy defaults to 10 %. */
function makeCounts(volumes: number[][], occupancy?: number[][], startMs = T0, ids: readonly string[] = IDS): DetectorCounts {
  return {
    detectorIds: ids,
    intervalS: 900,
    intervalStartMs: Float64Array.from(volumes, (_, t) => startMs + t * MIN15),
    volumeVeh: Float64Array.from(volumes.flat()),
    occupancyPct: Float64Array.from(occupancy ? occupancy.flat() : volumes.flat().map((v) => (Number.isNaN(v) ? NaN : 10))),
  };
}

/** A healthy day: NB2-S is exactly 1.25 x NB3-S so neighbour estimates are checkable. */
function healthyDay(n: number): number[][] {
  return Array.from({ length: n }, (_, t) => {
    const nb3 = 80 + 4 * t;
    return [40 + t, 1.25 * nb3, nb3, 110 + 2 * t, 60 + 3 * t];
  });
}

const col = (id: string) => IDS.indexOf(id);
const subsOf = (subs: Substitution[], id: string) => subs.filter((s) => s.detectorId === id);

describe('detectorTopology', () => {
  it('describes each detector and orders neighbours with movement-sharing lanes first', () => {
    expect(IDS).toEqual(['NB1-S', 'NB2-S', 'NB3-S', 'NB2-A', 'SB1-S']);
    const nb2 = topology.detectors[col('NB2-S')]!;
    expect(nb2).toMatchObject({ intersectionIndex: 0, approachId: 'NB', laneId: 'NB2', movements: ['T'], widthM: 3.5, kind: 'stopLine', sharingNeighbours: 1 });
    expect(nb2.neighbours).toEqual([col('NB3-S'), col('NB1-S')]);
    expect(topology.detectors[col('NB3-S')]!.widthM).toBe(3.2);
    expect(topology.detectors[col('NB1-S')]!.neighbours).toEqual([col('NB2-S'), col('NB3-S')]);
    expect(topology.detectors[col('NB1-S')]!.sharingNeighbours).toBe(0);
    expect(topology.detectors[col('NB2-A')]!.neighbours).toEqual([]); // the only advance loop
    expect(topology.detectors[col('SB1-S')]!.neighbours).toEqual([]);
  });

  it('rejects detectors on unknown lanes and ids used twice', () => {
    const bad: NetworkInput = structuredClone(COUNTS_TEST_NETWORK);
    const ix = bad.intersections[0]!;
    ix.detectors = [...(ix.detectors ?? []), { id: 'X', lane: 'NOPE', kind: 'stopLine', distanceM: 1 }, { id: 'NB1-S', lane: 'NB1', kind: 'advance', distanceM: 50 }];
    try {
      detectorTopology(NetworkSchema.parse(bad));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual(['intersections[0].detectors[5].lane', 'intersections[0].detectors[6].id']);
    }
  });
});

describe('cleanCounts', () => {
  it('leaves healthy counts untouched', () => {
    const counts = makeCounts(healthyDay(12));
    const r = cleanCounts(counts, topology);
    expect(r.substitutions).toEqual([]);
    expect(r.faultyDetectors).toEqual([]);
    expect(Array.from(r.cleaned.volumeVeh)).toEqual(Array.from(counts.volumeVeh));
  });

  it('flags a zero run while neighbours flow and substitutes ratio-scaled neighbours', () => {
    const v = healthyDay(12);
    v[5]![col('NB2-S')] = 0;
    v[6]![col('NB2-S')] = 0;
    v[3]![col('NB1-S')] = 0; // a single zero is plausible
    for (const t of [7, 8, 9]) v[t]![col('SB1-S')] = 0; // no neighbours: cannot tell
    const r = cleanCounts(makeCounts(v), topology);
    expect(r.substitutions).toEqual(
      [5, 6].map((t) => ({
        detectorId: 'NB2-S',
        intervalStartMs: T0 + t * MIN15,
        fault: 'zero',
        observed: 0,
        substituted: expect.closeTo(1.25 * v[t]![col('NB3-S')]!, 9),
        method: 'neighbours',
      })),
    );
    expect(r.faultyDetectors).toEqual([{ detectorId: 'NB2-S', faults: { zero: 2, stuckOn: 0, chatter: 0, missing: 0 } }]);
  });

  it('does not flag zeros when the neighbours are quiet too', () => {
    const v = healthyDay(6).map((row) => row.map(() => 3));
    v[2]![col('NB2-S')] = 0;
    v[3]![col('NB2-S')] = 0;
    expect(cleanCounts(makeCounts(v), topology).substitutions).toEqual([]);
  });

  it('flags stuck-on occupancy runs of 3+ and interpolates volume and occupancy', () => {
    const v = healthyDay(12);
    const occ = v.map((row) => row.map(() => 12));
    for (const t of [2, 3, 4]) occ[t]![col('NB2-A')] = 98;
    for (const t of [8, 9]) occ[t]![col('NB1-S')] = 99; // only two: not flagged
    occ[1]![col('NB2-A')] = 10;
    occ[5]![col('NB2-A')] = 14;
    const r = cleanCounts(makeCounts(v, occ), topology);
    const subs = r.substitutions;
    expect(subs.map((s) => [s.detectorId, s.fault, s.method])).toEqual([2, 3, 4].map(() => ['NB2-A', 'stuckOn', 'interpolation']));
    // NB2-A is 110 + 2t; linear interpolation between t=1 and t=5 recovers it.
    expect(subs.map((s) => s.substituted)).toEqual([114, 116, 118]);
    const occAt = (t: number) => r.cleaned.occupancyPct[t * IDS.length + col('NB2-A')];
    expect([occAt(2), occAt(3), occAt(4)]).toEqual([11, 12, 13]);
  });

  it('flags chatter above 2400 veh/h/lane and estimates from non-sharing neighbours', () => {
    const v = healthyDay(12);
    v[9]![col('NB1-S')] = 601; // 600 per 15 min is the cap
    const r = cleanCounts(makeCounts(v), topology);
    expect(r.substitutions).toHaveLength(1);
    const s = r.substitutions[0]!;
    expect(s).toMatchObject({ detectorId: 'NB1-S', fault: 'chatter', observed: 601, method: 'neighbours' });
    // Ratios to NB2-S and NB3-S come from the day's healthy intervals (all but 9).
    const healthy = [...Array(12).keys()].filter((t) => t !== 9);
    const sum = (id: string) => healthy.reduce((a, t) => a + v[t]![col(id)]!, 0);
    const expected = ((sum('NB1-S') / sum('NB2-S')) * v[9]![col('NB2-S')]! + (sum('NB1-S') / sum('NB3-S')) * v[9]![col('NB3-S')]!) / 2;
    expect(s.substituted).toBeCloseTo(expected, 9);
    expect(s.substituted).toBeGreaterThan(40);
    expect(s.substituted).toBeLessThan(60);
    v[9]![col('NB1-S')] = 600;
    expect(cleanCounts(makeCounts(v), topology).substitutions).toEqual([]);
  });

  it('fills missing rows and wholly missing intervals, never leaving NaN', () => {
    const v = healthyDay(12);
    v[4]![col('SB1-S')] = NaN; // no neighbours: interpolation
    v[11] = v[11]!.map(() => NaN); // last interval missing for all: one-sided interpolation
    v[6]![col('NB3-S')] = NaN; // neighbours NB2-S (sharing) available
    const r = cleanCounts(makeCounts(v), topology);
    const by = (id: string, t: number) => r.substitutions.find((s) => s.detectorId === id && s.intervalStartMs === T0 + t * MIN15);
    expect(by('SB1-S', 4)).toMatchObject({ fault: 'missing', method: 'interpolation', substituted: 72 });
    expect(by('SB1-S', 4)!.observed).toBeNaN();
    expect(by('NB3-S', 6)).toMatchObject({ fault: 'missing', method: 'neighbours', substituted: expect.closeTo(v[6]![col('NB2-S')]! / 1.25, 9) });
    expect(by('NB2-A', 11)).toMatchObject({ method: 'interpolation', substituted: v[10]![col('NB2-A')] });
    expect(r.substitutions.filter((s) => s.intervalStartMs === T0 + 11 * MIN15)).toHaveLength(IDS.length);
    expect(r.cleaned.volumeVeh.some(Number.isNaN)).toBe(false);
    expect(r.cleaned.occupancyPct.some(Number.isNaN)).toBe(false);
  });

  it('uses the same time of day on other days when there are several days', () => {
    const day = healthyDay(96).map((row) => row.map((x) => x / 2)); // a whole day of 15-minute intervals
    const days = [day, day.map((row) => row.map((x) => x * 1.1)), day.map((row) => row.map((x) => x * 0.9))];
    const v = days.flat();
    const t = 96 + 40; // day 2, 16:00
    v[t]![col('SB1-S')] = NaN;
    const r = cleanCounts(makeCounts(v, undefined, Date.UTC(2024, 2, 4)), topology);
    expect(r.substitutions).toHaveLength(1);
    expect(r.substitutions[0]).toMatchObject({ detectorId: 'SB1-S', method: 'profile', substituted: expect.closeTo((day[40]![col('SB1-S')]! * (1 + 0.9)) / 2, 9) });
  });

  it('falls back to 0 with a note when nothing is known about a detector', () => {
    const v = healthyDay(4);
    for (const row of v) row[col('SB1-S')] = NaN;
    const r = cleanCounts(makeCounts(v), topology);
    const subs = subsOf(r.substitutions, 'SB1-S');
    expect(subs).toHaveLength(4);
    for (const s of subs) {
      expect(s).toMatchObject({ fault: 'missing', method: 'none', substituted: 0 });
      expect(s.note).toMatch(/assumed 0/);
    }
    expect(r.faultyDetectors).toEqual([{ detectorId: 'SB1-S', faults: { zero: 0, stuckOn: 0, chatter: 0, missing: 4 } }]);
  });

  it('never leaves NaN, and changes only the cells it reports, for arbitrary counts', () => {
    const cell = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }) },
      { weight: 2, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constant(NaN) },
      { weight: 1, arbitrary: fc.integer({ min: 601, max: 5000 }) },
    );
    const occCell = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(97), fc.constant(NaN));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { minLength: n, maxLength: n }), fc.array(fc.array(occCell, { minLength: 5, maxLength: 5 }), { minLength: n, maxLength: n }))), ([vol, occ]) => {
        const counts = makeCounts(vol, occ);
        const r = cleanCounts(counts, topology);
        expect(r.cleaned.volumeVeh.some(Number.isNaN)).toBe(false);
        expect(r.cleaned.occupancyPct.some(Number.isNaN)).toBe(false);
        expect(r.cleaned.volumeVeh.every((x) => x >= 0)).toBe(true);
        const reported = new Set(r.substitutions.map((s) => `${s.intervalStartMs}|${s.detectorId}`));
        counts.volumeVeh.forEach((x, c) => {
          const t = Math.floor(c / IDS.length);
          const key = `${counts.intervalStartMs[t]}|${IDS[c % IDS.length]}`;
          if (Number.isNaN(x) || x > 600) expect(reported.has(key)).toBe(true);
          if (!reported.has(key)) expect(r.cleaned.volumeVeh[c]).toBe(x);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('ignores counts detectors the topology does not know, estimating them from their own history', () => {
    const counts = makeCounts([[5], [NaN], [9]], undefined, T0, ['OTHER']);
    const r = cleanCounts(counts, topology);
    expect(r.substitutions).toMatchObject([{ detectorId: 'OTHER', method: 'interpolation', substituted: 7 }]);
  });
});
