import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { parseGtfs } from './gtfs.js';
import { formatGtfsTime } from './gtfsValues.js';
import { movementOf, scheduledAt, signalsForTrips, TripPath } from './stopsNearSignals.js';

const ROOT = join(import.meta.dirname, '../..');
const DIR = join(ROOT, 'test/fixtures/gtfs/renmin');
const net = loadNetwork(readFileSync(join(ROOT, 'examples/demo-city/network.json'), 'utf8'));
const CORRIDOR = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'];

function files(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const f of readdirSync(DIR)) out[f] = readFileSync(join(DIR, f), 'utf8');
  return out;
}

describe('stops near signals', () => {
  const feed = parseGtfs(files());
  const trips = signalsForTrips(net, feed);

  it('the eastbound trip passes every corridor signal on EBT, in order, with rising scheduled times', () => {
    for (const tripId of ['T1', 'T2']) {
      const t = trips.get(tripId)!;
      expect(t.passes.map((p) => p.intersectionId)).toEqual(CORRIDOR);
      expect(t.passes.every((p) => p.movementId === 'EBT' && p.approach === 'EB' && p.turn === 'T' && p.served)).toBe(true);
      for (let k = 1; k < t.passes.length; k++) {
        expect(t.passes[k]!.alongM).toBeGreaterThan(t.passes[k - 1]!.alongM);
        expect(t.passes[k]!.scheduledS).toBeGreaterThan(t.passes[k - 1]!.scheduledS);
      }
    }
    // Far-off intersections I9 (1.6 km north) and I10 are not matched.
    expect(trips.get('T1')!.passes.some((p) => p.intersectionId === 'I9' || p.intersectionId === 'I10')).toBe(false);
  });

  it('stops before/after and the interpolated schedule', () => {
    const t = trips.get('T1')!;
    const byId = new Map(t.passes.map((p) => [p.intersectionId, p]));
    const stop = (k: number) => t.stops[k]!.stopId;
    // Stops sit ~60 m downstream of I2, I4, I6, I8.
    expect(CORRIDOR.map((id) => `${stop(byId.get(id)!.stopBefore)}-${stop(byId.get(id)!.stopAfter)}`)).toEqual([
      'S0-S2', 'S0-S2', 'S2-S4', 'S2-S4', 'S4-S6', 'S4-S6', 'S6-S8', 'S6-S8',
    ]);
    // I4: between S2 (dep 08:02:20) and S4 (arr 08:05:00), ~94 % of the way.
    const i4 = byId.get('I4')!;
    const f = (120.144541 - 120.135) / (120.14515 - 120.135);
    expect(i4.scheduledS).toBeCloseTo(8 * 3600 + 140 + f * 160, -0.5);
    expect(formatGtfsTime(byId.get('I1')!.scheduledS)).toMatch(/^08:00:3\d$/);
    // T2 runs 10 min later at every signal.
    const t2 = trips.get('T2')!;
    t2.passes.forEach((p, k) => expect(p.scheduledS - t.passes[k]!.scheduledS).toBeCloseTo(600, 6));
  });

  it('gives the same matches from stops alone (no shapes.txt)', () => {
    const f = files();
    delete f['shapes.txt'];
    f['trips.txt'] = 'route_id,service_id,trip_id,direction_id\nR1,WD,T1,0\nR1,WD,T2,0\n';
    const t = signalsForTrips(net, parseGtfs(f)).get('T1')!;
    expect(t.passes.map((p) => `${p.intersectionId}:${p.movementId}`)).toEqual(CORRIDOR.map((id) => `${id}:EBT`));
    const withShape = trips.get('T1')!;
    t.passes.forEach((p, k) => expect(Math.abs(p.scheduledS - withShape.passes[k]!.scheduledS)).toBeLessThan(3));
  });

  it('a westbound trip gets WBT in reverse order; a turning trip gets left/right turns', () => {
    const f = files();
    f['trips.txt'] = 'route_id,service_id,trip_id,shape_id\nR1,WD,W1,\nR1,WD,L1,\nR1,WD,R1,\n';
    f['stops.txt'] += [
      // ~100 m north, south and west of I4 (a stop-only path cuts the corner, so they must be close)
      'N4,north,30.27290,120.14454',
      'S4S,south,30.27100,120.14454',
      'W4,west,30.27198,120.14350',
      '',
    ].join('\r\n');
    f['stop_times.txt'] = [
      'trip_id,arrival_time,departure_time,stop_id,stop_sequence',
      'W1,09:00:00,09:00:00,S8,1',
      'W1,09:10:00,09:10:00,S0,2',
      // from the west, turning north at I4: EB left
      'L1,09:00:00,09:00:00,W4,1',
      'L1,09:02:00,09:02:00,N4,2',
      // from the west, turning south at I4: EB right
      'R1,09:00:00,09:00:00,W4,1',
      'R1,09:02:00,09:02:00,S4S,2',
      '',
    ].join('\n');
    const all = signalsForTrips(net, parseGtfs(f));
    expect(all.get('W1')!.passes.map((p) => `${p.intersectionId}:${p.movementId}`)).toEqual([...CORRIDOR].reverse().map((id) => `${id}:WBT`));
    expect(all.get('L1')!.passes.map((p) => `${p.intersectionId}:${p.movementId}`)).toEqual(['I4:EBL']);
    expect(all.get('R1')!.passes.map((p) => `${p.intersectionId}:${p.movementId}`)).toEqual(['I4:EBR']);
  });

  it('movementOf classifies by turn angle; scheduledAt interpolates between departure and arrival', () => {
    const at = { lon: 120.0, lat: 30.0 };
    expect(movementOf({ lon: 119.999, lat: 30.0 }, at, { lon: 120.001, lat: 30.0001 })).toEqual({ approach: 'EB', turn: 'T' });
    expect(movementOf({ lon: 120.0, lat: 30.001 }, at, { lon: 120.001, lat: 30.0 })).toEqual({ approach: 'SB', turn: 'L' });
    expect(movementOf({ lon: 120.0, lat: 29.999 }, at, { lon: 120.001, lat: 30.0 })).toEqual({ approach: 'NB', turn: 'R' });
    expect(movementOf({ lon: 120.001, lat: 30.0 }, at, { lon: 120.001, lat: 30.00001 })).toEqual({ approach: 'WB', turn: 'U' });
    const stops = [
      { stopId: 'a', stopSequence: 1, alongM: 0, arrivalS: 100, departureS: 120 },
      { stopId: 'b', stopSequence: 2, alongM: 100, arrivalS: 220, departureS: 240 },
    ];
    expect(scheduledAt(stops, -5)).toBe(120);
    expect(scheduledAt(stops, 50)).toBe(170);
    expect(scheduledAt(stops, 100)).toBe(240);
    expect(scheduledAt(stops, 500)).toBe(220);
  });

  it('TripPath projects and measures in metres', () => {
    const p = new TripPath([{ lon: 120.13, lat: 30.272 }, { lon: 120.14, lat: 30.272 }]);
    expect(p.lengthM).toBeCloseTo(960.3, 0);
    const q = p.project({ lon: 120.135, lat: 30.2729 });
    expect(q.alongM).toBeCloseTo(480.2, 0);
    expect(q.offsetM).toBeCloseTo(100.1, 0);
    expect(p.pointAt(480.16).lon).toBeCloseTo(120.135, 5);
  });
});
