/**
 * Recommend's bookings over a real gRPC server (grpc-js client): a Recommend with a
 * vehicle_id books its first-ranked car park (service/parkingState.ts over
 * engine/parking/guidedArrivals.ts), the booked car is counted against that car park's
 * free spaces in later answers, asking again replaces the vehicle's booking (and its own
 * car does not count against it), a client holds at most maxBookingsPerClient live
 * bookings, and a booking ends when its car park reports after the arrival or 10 minutes
 * past it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer } from './server.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { TokenStore } from './auth.js';

const TOKENS = new TokenStore([
  { token: 'nav-app-secret-1', client: 'nav-app', roles: ['viewer'] },
  { token: 'fleet-secret-1', client: 'fleet', roles: ['viewer'] },
]);
const PARKING_FILE = new URL('../examples/demo-city/parking.json', import.meta.url).pathname;
// Monday 2026-03-02 10:00 in Hangzhou, in seconds.
const T0 = Date.parse('2026-03-02T10:00:00+08:00') / 1000;
const CAP = 5;
// Next to P3 (36 spaces), which is given one free space. A failed search costs 20 min here (the
// default 10 min is less than P4's longer walk and dearer fee: P3 would stay first at any chance).
const REQ = { destination: { lon: 120.1352, lat: 30.2713 }, origin_link: { link_id: 'L-I1-I2', position_m: 10 }, top_n: 8, max_walk_m: 2000, weights: { fail_s: 1200 } };

type Rec = { car_park_id: string; expected_free: number; p_free: number; arrival_time: { seconds: string | number } };
type Booking = { vehicle_id: string; car_park_id: string; arrival_time: { seconds: string | number }; expires: { seconds: string | number }; client_bookings: number };
type Answer = { err: grpc.ServiceError | null; ranked: Rec[]; booking: Booking | null };

let now = T0;
let srv: RunningServer;
let client: GrpcClient;
const ask = async (vehicleId: string, token = 'nav-app-secret-1'): Promise<Answer> => {
  const r = await unaryCall(client, 'Recommend', { ...REQ, vehicle_id: vehicleId }, bearer(token), 5000);
  return { err: r.err, ranked: (r.res?.['car_parks'] ?? []) as Rec[], booking: (r.res?.['booking'] ?? null) as Booking | null };
};
const freeAt = (a: Answer, id: string): number => a.ranked.find((x) => x.car_park_id === id)!.expected_free;
/** Every car park reported at `atS`: P3 with one free space, the others half full. */
const reportAll = (atS: number): void => {
  const g = srv.parking!;
  for (let k = 0; k < g.parking.carParkCount; k++) {
    const cap = g.parking.capacity[k]!;
    g.feed.report(k, g.parking.carParkIds[k] === 'P3' ? cap - 1 : Math.floor(cap / 2), Math.round(atS * 1000));
  }
};

beforeAll(async () => {
  srv = await startServer({ insecure: true, port: 0, tokens: TOKENS, clock: () => now, parking: PARKING_FILE, shutdownGraceMs: 500, limits: { maxBookingsPerClient: CAP } });
  client = new (greenwaveStubs()['ParkingGuidanceService']!)(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await srv?.close();
});
beforeEach(() => {
  // Each test on a fresh hour, so reports move forward in time and old bookings are long gone.
  now += 3600;
  reportAll(now);
});

describe('Recommend bookings', () => {
  test('a booked car counts against the next answer; without a vehicle_id nothing is booked', async () => {
    const browse = await unaryCall(client, 'Recommend', REQ, bearer('nav-app-secret-1'), 5000);
    expect(browse.res['booking']).toBeNull();
    const a = await ask('car-a');
    expect(a.err).toBeNull();
    expect(a.ranked[0]!.car_park_id).toBe('P3');
    expect(freeAt(a, 'P3')).toBeCloseTo(1, 6);
    expect(a.booking).toMatchObject({ vehicle_id: 'car-a', car_park_id: 'P3', client_bookings: 1 });
    expect(Number(a.booking!.arrival_time.seconds)).toBe(Number(a.ranked[0]!.arrival_time.seconds));
    expect(Number(a.booking!.expires.seconds) - Number(a.booking!.arrival_time.seconds)).toBe(600);
    // The next vehicle sees P3's last space taken (the browse took nothing): fewer expected, a lower chance, a higher cost,
    // and is sent to P4 instead.
    const b = await ask('car-b');
    const p3 = (x: Answer): Rec & { cost_s: number } => x.ranked.find((y) => y.car_park_id === 'P3') as Rec & { cost_s: number };
    expect(freeAt(b, 'P3')).toBeCloseTo(0, 6);
    expect(p3(b).p_free).toBeLessThan(p3(a).p_free - 0.2);
    expect(p3(b).cost_s).toBeGreaterThan(p3(a).cost_s + 100);
    expect(b.ranked[0]!.car_park_id).toBe('P4');
    expect(b.booking).toMatchObject({ car_park_id: 'P4', client_bookings: 2 });
  });

  test('idempotent: the same vehicle asking again holds one booking, and its own car does not count against it', async () => {
    const first = await ask('car-a');
    expect(first.booking!.car_park_id).toBe('P3');
    for (let i = 0; i < 3; i++) {
      const again = await ask('car-a');
      expect(again.ranked[0]!.car_park_id).toBe('P3');
      expect(freeAt(again, 'P3')).toBeCloseTo(1, 6);
      expect(again.booking).toMatchObject({ car_park_id: 'P3', client_bookings: 1 });
    }
    // Another client's vehicle of the same name is another vehicle: it sees car-a's booking.
    const other = await ask('car-a', 'fleet-secret-1');
    expect(freeAt(other, 'P3')).toBeCloseTo(0, 6);
    expect(other.booking).toMatchObject({ client_bookings: 1 });
    expect(srv.parking!.arrivals.liveOf('nav-app', now * 1000)).toBe(1);
  });

  test('a client holds at most maxBookingsPerClient live bookings; re-asks and other clients still pass', async () => {
    for (let i = 0; i < CAP; i++) expect((await ask(`cap-${i}`)).err).toBeNull();
    const over = await ask('cap-extra');
    expect([over.err?.code, over.err?.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, `client "nav-app" has ${CAP} live parking bookings (limit maxBookingsPerClient ${CAP}); each ends when its car park reports after the arrival, or 10 minutes past it`]);
    // The refused request booked nothing; a vehicle already booked may ask again; another client is not held up.
    expect(srv.parking!.arrivals.get('nav-app\u0000cap-extra')).toBeUndefined();
    expect((await ask('cap-0')).booking).toMatchObject({ client_bookings: CAP });
    expect((await ask('cap-extra', 'fleet-secret-1')).err).toBeNull();
  });

  test('bookings end when the car park reports after the arrival, or 10 minutes past it', async () => {
    const a = await ask('car-a');
    expect(a.booking!.car_park_id).toBe('P3');
    const arrivalS = Number(a.booking!.arrival_time.seconds);
    // P3 reports one second after the arrival (the car is in that count): the booking is released.
    now = arrivalS + 1;
    const p3 = srv.parking!.parking.carPark('P3')!;
    srv.parking!.feed.report(p3, srv.parking!.parking.capacity[p3]! - 1, now * 1000);
    const b = await ask('car-b');
    expect(freeAt(b, 'P3')).toBeCloseTo(1, 6);
    expect(b.booking).toMatchObject({ car_park_id: 'P3', client_bookings: 1 });
    // Fill the cap; no report comes after these arrivals; 10 minutes past the last arrival they are all forgotten.
    const expiresS = [Number(b.booking!.expires.seconds)];
    for (let i = 0; i < CAP - 1; i++) expiresS.push(Number((await ask(`exp-${i}`)).booking!.expires.seconds));
    expect((await ask('exp-over')).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    now = Math.min(...expiresS) - 1;
    expect((await ask('exp-over')).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    now = Math.max(...expiresS) + 1;
    // Admitted now; every feed is stale by then too (no report for over 10 minutes), so nothing is ranked or booked.
    const after = await ask('exp-over');
    expect(after.err).toBeNull();
    expect([after.ranked, after.booking]).toEqual([[], null]);
    expect(srv.parking!.arrivals.liveOf('nav-app', now * 1000)).toBe(0);
  });
});
