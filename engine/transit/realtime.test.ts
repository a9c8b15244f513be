import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { describe, expect, it } from 'vitest';
import { ErrorCode, GreenwaveError } from '../errors.js';
import { loadNetwork } from '../network/validate.js';
import { PriorityClass } from '../priority/policy.js';
import { loadGtfsDir } from './gtfs.js';
import { buildTransitIndex, decodeFeedMessage, localSecondsOfDay, priorityCandidates } from './realtime.js';

const rt = GtfsRealtimeBindings.transit_realtime;
const ROOT = join(import.meta.dirname, '../..');
const net = loadNetwork(readFileSync(join(ROOT, 'examples/demo-city/network.json'), 'utf8'));
const feed = await loadGtfsDir(join(ROOT, 'test/fixtures/gtfs/renmin'));
const index = buildTransitIndex(net, feed);

/** 2025-03-10 00:00 in Asia/Shanghai (UTC+8), Unix s. */
const DAY = Date.UTC(2025, 2, 9, 16) / 1000;
/** Between I3 (lon 120.138085) and I4 (lon 120.144541), ~290 m before I4. */
const BUS = { latitude: 30.27196, longitude: 120.1415 };
/** Schedule at BUS computed independently: S2 departs 08:02:20, S4 arrives 08:05:00, linear in distance. */
const SCHED_AT_BUS = 8 * 3600 + 140 + ((BUS.longitude - 120.135) / (120.14515 - 120.135)) * 160;

function encode(msg: GtfsRealtimeBindings.transit_realtime.IFeedMessage): Uint8Array {
  return rt.FeedMessage.encode(rt.FeedMessage.create(msg)).finish();
}

function vehicle(id: string, v: GtfsRealtimeBindings.transit_realtime.IVehiclePosition): GtfsRealtimeBindings.transit_realtime.IFeedEntity {
  return { id, vehicle: { vehicle: { id: `bus-${id}` }, ...v } };
}

/** T1 between I3 and I4, 90 s late; T2 just after its first stop, on time (08:10:10 at ~60 m east of S0). */
function twoBuses(): Uint8Array {
  const t1 = DAY + SCHED_AT_BUS + 90;
  const t2 = DAY + 8 * 3600 + 600 + 8;
  return encode({
    header: { gtfsRealtimeVersion: '2.0' },
    entity: [
      vehicle('1', { trip: { tripId: 'T1' }, position: BUS, timestamp: Math.round(t1) }),
      vehicle('2', { trip: { tripId: 'T2' }, position: { latitude: 30.27185, longitude: 120.1286 }, timestamp: t2 }),
    ],
  });
}

describe('GTFS-realtime → priority candidates', () => {
  it('a bus between I3 and I4, 90 s late, asks for I4 EBT', () => {
    const t = DAY + SCHED_AT_BUS + 90;
    const buf = encode({
      header: { gtfsRealtimeVersion: '2.0', timestamp: Math.round(t) },
      entity: [
        vehicle('1', {
          trip: { tripId: 'T1', routeId: 'R1' },
          position: { ...BUS, speed: 8 },
          timestamp: Math.round(t),
          occupancyStatus: rt.VehiclePosition.OccupancyStatus.FEW_SEATS_AVAILABLE,
        }),
      ],
    });
    const { candidates, skipped } = priorityCandidates(buf, index, { nowS: t + 2 });
    expect(skipped).toEqual([]);
    expect(candidates).toHaveLength(1);
    const c = candidates[0]!;
    expect(c).toMatchObject({ vehicleId: 'bus-1', routeId: 'R1', tripId: 'T1', intersectionId: 'I4', movementId: 'EBT', occupancy: 60, priorityClass: PriorityClass.Bus, speedSource: 'reported', served: true });
    expect(c.latenessS).toBeGreaterThan(85);
    expect(c.latenessS).toBeLessThan(95);
    // ~290 m to I4 at 8 m/s.
    expect(c.distanceM).toBeGreaterThan(270);
    expect(c.distanceM).toBeLessThan(310);
    expect(c.etaS).toBeCloseTo(c.distanceM / 8, 6);
    expect(c.arrivalS).toBeCloseTo(Math.round(t) + c.etaS, 6);
    // The schedule has the bus at I4 a bit earlier than it will arrive: it stays late.
    expect(c.arrivalS - c.scheduledArrivalS).toBeGreaterThan(60);
    expect(c.arrivalS - c.scheduledArrivalS).toBeLessThan(120);
    expect(c.headwayS).toBe(0); // the previous trip is not in the feed
  });

  it('without a speed the ETA is the scheduled running time; explicit service day; occupancy percentage wins', () => {
    const t = DAY + SCHED_AT_BUS + 90;
    const buf = encode({
      header: { gtfsRealtimeVersion: '2.0' },
      entity: [vehicle('1', { trip: { tripId: 'T1' }, position: BUS, timestamp: Math.round(t), occupancyStatus: 5, occupancyPercentage: 42 })],
    });
    const { candidates } = priorityCandidates(buf, index, { serviceDayStartS: DAY });
    const c = candidates[0]!;
    expect(c.speedSource).toBe('schedule');
    expect(c.routeId).toBe('R1');
    expect(c.occupancy).toBe(42);
    expect(c.latenessS).toBeCloseTo(90, -0.5);
    // Scheduled: 290 m of the 1014 m S2→S4 run of 160 s ≈ 46 s.
    expect(c.etaS).toBeGreaterThan(35);
    expect(c.etaS).toBeLessThan(55);
    expect(c.arrivalS - c.scheduledArrivalS).toBeCloseTo(c.latenessS, 6);
  });

  it('headway from the previous trip when both are in the feed', () => {
    const { candidates } = priorityCandidates(twoBuses(), index);
    const c2 = candidates.find((c) => c.tripId === 'T2')!;
    expect(c2.intersectionId).toBe('I1');
    expect(c2.scheduledHeadwayS).toBeCloseTo(600, 6);
    expect(Math.abs(c2.latenessS)).toBeLessThan(5);
    // T1 is 90 s late, T2 on time: the gap shrinks to ~510 s.
    expect(c2.headwayS).toBeGreaterThan(500);
    expect(c2.headwayS).toBeLessThan(520);
  });

  it('skips unusable vehicles with a reason and keeps the others', () => {
    const t = DAY + SCHED_AT_BUS;
    const buf = encode({
      header: { gtfsRealtimeVersion: '2.0', timestamp: Math.round(t) },
      entity: [
        vehicle('nt', { position: BUS }),
        vehicle('unk', { trip: { tripId: 'NOPE' }, position: BUS }),
        vehicle('np', { trip: { tripId: 'T1' } }),
        vehicle('off', { trip: { tripId: 'T1' }, position: { latitude: 30.2864, longitude: 120.1624 } }),
        vehicle('end', { trip: { tripId: 'T1' }, position: { latitude: 30.27187, longitude: 120.1637 } }),
        vehicle('old', { trip: { tripId: 'T1' }, position: BUS, timestamp: Math.round(t) - 600 }),
        vehicle('rte', { trip: { tripId: 'T1', routeId: 'R9' }, position: BUS }),
        vehicle('ok', { trip: { tripId: 'T1' }, position: BUS }),
        { id: 'tu', tripUpdate: { trip: { tripId: 'T1' } } },
      ],
    });
    const { candidates, skipped } = priorityCandidates(buf, index, { nowS: Math.round(t) });
    expect(candidates.map((c) => c.vehicleId)).toEqual(['bus-ok']);
    expect(Object.fromEntries(skipped.map((s) => [s.entityId, s.reason]))).toEqual({
      nt: 'vehicle has no trip_id',
      unk: 'unknown trip_id "NOPE"',
      np: 'vehicle has no position',
      off: expect.stringMatching(/^vehicle is \d+ m off the path of trip "T1"$/),
      old: 'position is stale (600 s old)',
      rte: 'route_id "R9" does not match trip "T1" (route "R1")',
      end: 'trip "T1" has no signal ahead',
    });
  });

  it('malformed buffers are GreenwaveErrors (INVALID_INPUT), never crashes', () => {
    const bad: unknown[] = [
      new Uint8Array(0),
      new Uint8Array([0xff, 0xff, 0xff]),
      Buffer.from('hello world, this is not protobuf'),
      encode({ header: { gtfsRealtimeVersion: '2.0' }, entity: [] }).slice(0, 3),
      rt.FeedMessage.encode({ header: { gtfsRealtimeVersion: '9.9' }, entity: [] }).finish(),
      'a string',
      null,
      { entity: [] },
    ];
    for (const b of bad) {
      let err: unknown;
      try {
        priorityCandidates(b, index);
      } catch (e) {
        err = e;
      }
      expect(err, String(b)).toBeInstanceOf(GreenwaveError);
      expect((err as GreenwaveError).code).toBe(ErrorCode.InvalidInput);
      expect((err as GreenwaveError).message).toMatch(/^GTFS-realtime: /);
    }
    expect(decodeFeedMessage(encode({ header: { gtfsRealtimeVersion: '2.0' }, entity: [] })).entity).toEqual([]);
  });

  it('random bytes never throw anything but GreenwaveError', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    const good = encode({ header: { gtfsRealtimeVersion: '2.0' }, entity: [vehicle('1', { trip: { tripId: 'T1' }, position: BUS, timestamp: DAY + 30000 })] });
    for (let k = 0; k < 500; k++) {
      const b = Uint8Array.from(good);
      for (let j = 0; j < 3; j++) b[rnd() % b.length] = rnd();
      try {
        priorityCandidates(b, index);
      } catch (e) {
        expect(e).toBeInstanceOf(GreenwaveError);
      }
    }
  });

  it('local time of day in the agency time zone', () => {
    expect(localSecondsOfDay(DAY, 'Asia/Shanghai')).toBe(0);
    expect(localSecondsOfDay(DAY + 3661, 'Asia/Shanghai')).toBe(3661);
    expect(localSecondsOfDay(DAY, 'UTC')).toBe(16 * 3600);
  });
});

describe('service days', () => {
  it('a trip that does not run that day is skipped, and is no one\'s previous trip', async () => {
    const { readdirSync } = await import('node:fs');
    const { parseGtfs } = await import('./gtfs.js');
    const dir = join(ROOT, 'test/fixtures/gtfs/renmin');
    const files: Record<string, string> = {};
    for (const f of readdirSync(dir)) files[f] = readFileSync(join(dir, f), 'utf8');
    // T1 runs at weekends only; 2025-03-10 is a Monday.
    files['trips.txt'] = files['trips.txt']!.replace('R1,WD,T1,', 'R1,WE,T1,');
    files['calendar.txt'] = 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWD,1,1,1,1,1,0,0,20250101,20251231\nWE,0,0,0,0,0,1,1,20250101,20251231\n';
    const weekIndex = buildTransitIndex(net, parseGtfs(files));
    const { candidates, skipped } = priorityCandidates(twoBuses(), weekIndex);
    expect(skipped).toEqual([{ entityId: '1', reason: 'trip "T1" does not run on 20250310 (service "WE")' }]);
    const c2 = candidates.find((c) => c.tripId === 'T2')!;
    expect(c2.scheduledHeadwayS).toBe(0);
    expect(c2.headwayS).toBe(0);
    // The feed's own start_date decides the service day when given: T1 on Saturday 2025-03-08.
    const sat = encode({ header: { gtfsRealtimeVersion: '2.0' }, entity: [vehicle('1', { trip: { tripId: 'T1', startDate: '20250308' }, position: BUS, timestamp: Math.round(DAY + SCHED_AT_BUS + 90) })] });
    expect(priorityCandidates(sat, weekIndex).skipped).toEqual([]);
  });
});
