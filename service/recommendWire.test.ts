import { describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { mulberry32 } from '../engine/numeric.js';
import type { Recommendation, RefusalReason } from '../engine/parking/recommend.js';
import { loadProtos } from './server.js';
import { sToTimestamp } from './messages.js';
import { encodeRecommendResponse, passBuffers, type RecommendBookingWire, type RecommendNames } from './recommendWire.js';

const pkg = loadProtos();
const service = pkg['greenwave.v1.ParkingGuidanceService'] as unknown as grpc.ServiceDefinition;
const recommend = service['Recommend']!;
const fields = (type: string): string[] => ((pkg[type] as unknown as { type: { field: { name: string }[] } }).type.field.map((f) => f.name)).sort();

const names: RecommendNames = { carParkId: (k) => `CP-${k}`, entranceId: (e) => `E-${e}-入口`, currency: (k) => (k % 2 === 0 ? 'CNY' : '') };

/** The object the handler returned before (what proto-loader's serializer encodes). */
function asObject(r: Recommendation): Record<string, unknown> {
  return {
    car_park_id: names.carParkId(r.carPark),
    entrance_id: names.entranceId(r.entrance),
    drive_s: r.driveS,
    walk_m: r.walkM,
    walk_s: r.walkS,
    price: r.price,
    currency: names.currency(r.carPark),
    p_free: r.pFree,
    expected_free: r.expectedFree,
    free_p10: r.freeP10,
    free_p90: r.freeP90,
    arrival_time: sToTimestamp(r.arrivalMs / 1000),
    cost_s: r.costS,
    route_link_ids: r.route,
  };
}

function randomRecommendation(rnd: () => number): Recommendation {
  const route = Array.from({ length: Math.floor(rnd() * 40) }, (_, i) => `L${Math.floor(rnd() * 1e6)}-${i}${rnd() < 0.1 ? '-北' : ''}`);
  const pick = (): number => (rnd() < 0.15 ? 0 : rnd() < 0.1 ? -rnd() * 10 : rnd() * 5000);
  return {
    carPark: Math.floor(rnd() * 3000),
    entrance: Math.floor(rnd() * 9000),
    driveS: pick(),
    walkM: pick(),
    walkS: pick(),
    price: pick(),
    pFree: rnd(),
    expectedFree: pick(),
    freeP10: pick(),
    freeP90: pick(),
    arrivalMs: rnd() < 0.05 ? Number.NaN : Math.round(1.7e12 + rnd() * 1e11) + rnd(),
    costS: pick(),
    route,
  };
}

describe('RecommendResponse written by hand', () => {
  it('decodes to what the generic serializer of the former answer object decodes to, and knows every field of its messages', () => {
    // A field added to one of these messages must be written here too (else answers silently lose it).
    expect(fields('greenwave.v1.RecommendResponse')).toEqual(['booking', 'car_parks', 'fallback', 'refused']);
    expect(fields('greenwave.v1.Recommendation')).toEqual(['arrival_time', 'car_park_id', 'cost_s', 'currency', 'drive_s', 'entrance_id', 'expected_free', 'free_p10', 'free_p90', 'p_free', 'price', 'route_link_ids', 'walk_m', 'walk_s']);
    expect(fields('greenwave.v1.Refusals')).toEqual(['closed', 'height', 'space_type', 'too_far', 'unknown', 'unreachable']);
    expect(fields('greenwave.v1.RecommendBooking')).toEqual(['arrival_time', 'car_park_id', 'client_bookings', 'expires', 'vehicle_id']);

    const rnd = mulberry32(11);
    for (let trial = 0; trial < 300; trial++) {
      const ranked = Array.from({ length: Math.floor(rnd() * 5) }, () => randomRecommendation(rnd));
      const fallback = rnd() < 0.6 ? randomRecommendation(rnd) : undefined;
      const refused = Object.fromEntries(['closed', 'unknown', 'height', 'spaceType', 'tooFar', 'unreachable'].map((k) => [k, rnd() < 0.3 ? 0 : Math.floor(rnd() * 3000)])) as Record<RefusalReason, number>;
      const booking: RecommendBookingWire | undefined = rnd() < 0.4 ? { vehicleId: rnd() < 0.5 ? 'car 7' : '沪A·12345', carParkId: `CP-${trial}`, arrivalMs: 1.7e12 + rnd() * 1e9, expiresMs: 1.7e12 + rnd() * 1e9, clientBookings: Math.floor(rnd() * 300) } : undefined;
      const ours = encodeRecommendResponse(names, ranked, fallback, refused, booking);
      expect(ours).toBeInstanceOf(Buffer);
      const before = recommend.responseSerialize({
        car_parks: ranked.map(asObject),
        fallback: fallback ? asObject(fallback) : null,
        refused: { closed: refused.closed, unknown: refused.unknown, height: refused.height, space_type: refused.spaceType, too_far: refused.tooFar, unreachable: refused.unreachable },
        booking: booking
          ? { vehicle_id: booking.vehicleId, car_park_id: booking.carParkId, arrival_time: sToTimestamp(booking.arrivalMs / 1000), expires: sToTimestamp(booking.expiresMs / 1000), client_bookings: booking.clientBookings }
          : null,
      });
      expect(recommend.responseDeserialize(ours!)).toEqual(recommend.responseDeserialize(before));
    }
    // A time before 1970 is left to the generic serializer.
    expect(encodeRecommendResponse(names, [{ ...randomRecommendation(rnd), arrivalMs: -1 }], undefined, { closed: 0, unknown: 0, height: 0, spaceType: 0, tooFar: 0, unreachable: 0 }, undefined)).toBeUndefined();
  });

  it('passBuffers: Recommend passes bytes through and still serializes an object; other methods are untouched', () => {
    const def = passBuffers(service, ['Recommend']);
    const bytes = Buffer.from([26, 0]);
    expect(def['Recommend']!.responseSerialize(bytes)).toBe(bytes);
    expect(def['Recommend']!.responseSerialize({ refused: {} })).toEqual(recommend.responseSerialize({ refused: {} }));
    expect(def['GetCarPark']).toBe(service['GetCarPark']);
  });
});
