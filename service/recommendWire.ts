/**
 * RecommendResponse (proto/greenwave/v1/parking.proto) written straight to
 * protobuf bytes, for the Recommend handler (./parkingService.ts). The
 * generic path (proto-loader's serializer: the answer copied into protobufjs
 * messages, then an object per field written) made about 22 KiB of garbage a
 * call and a sixth of the server's busy time under load (docs/benchmarks.md,
 * bench/parking: Recommend); here the size is worked out first and the bytes
 * written into one buffer of that size. ./server.ts registers
 * ParkingGuidanceService with a Recommend serializer that passes a Buffer
 * through (`passBuffers`).
 *
 * Same wire meaning as protobufjs's encoding of the object the handler used
 * to return: ./recommendWire.test.ts decodes both with the service's own
 * protos and compares, and fails when one of these messages gains a field
 * this file does not write. Every field is written, zeros and empty strings
 * included (as protobufjs does for a field the object has).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Recommendation, RefusalReason } from '../engine/parking/recommend.js';

/** What a RecommendResponse carries besides the answers (names as in the proto). */
export interface RecommendBookingWire {
  readonly vehicleId: string;
  readonly carParkId: string;
  readonly arrivalMs: number;
  readonly expiresMs: number;
  readonly clientBookings: number;
}

/** The strings an answer needs that the engine's Recommendation holds as indices. */
export interface RecommendNames {
  carParkId(carPark: number): string;
  entranceId(entrance: number): string;
  currency(carPark: number): string;
}

const LEN = 2;
const I64 = 1;
const VARINT = 0;
const tag = (field: number, wire: number): number => (field << 3) | wire;

/** The encoded RecommendResponse, or undefined when a value is outside what this writer handles (a time before 1970): then the caller returns the object. */
export function encodeRecommendResponse(names: RecommendNames, ranked: readonly Recommendation[], fallback: Recommendation | undefined, refused: Readonly<Record<RefusalReason, number>>, booking: RecommendBookingWire | undefined): Buffer | undefined {
  if (!timesFit(ranked, fallback, booking)) return undefined;
  let size = 0;
  for (const r of ranked) size += 1 + lenSize(recommendationSize(names, r));
  if (fallback) size += 1 + lenSize(recommendationSize(names, fallback));
  size += 1 + lenSize(refusalsSize(refused));
  if (booking) size += 1 + lenSize(bookingSize(booking));
  const w = new Writer(size);
  for (const r of ranked) {
    w.tag(1, LEN);
    w.varint(recommendationSize(names, r));
    writeRecommendation(w, names, r);
  }
  if (fallback) {
    w.tag(2, LEN);
    w.varint(recommendationSize(names, fallback));
    writeRecommendation(w, names, fallback);
  }
  w.tag(3, LEN);
  w.varint(refusalsSize(refused));
  writeRefusals(w, refused);
  if (booking) {
    w.tag(4, LEN);
    w.varint(bookingSize(booking));
    writeBooking(w, booking);
  }
  if (w.pos !== size) throw new Error(`RecommendResponse: wrote ${w.pos} bytes, sized ${size}`);
  return w.buf;
}

/** A service definition whose `methods` serialize a Buffer as it is (already encoded) and anything else as before. */
export function passBuffers(def: grpc.ServiceDefinition, methods: readonly string[]): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...def };
  for (const m of methods) {
    const d = def[m];
    if (!d) throw new Error(`no method ${m} in the service`);
    out[m] = { ...d, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : d.responseSerialize(v)) };
  }
  return out as grpc.ServiceDefinition;
}

function timesFit(ranked: readonly Recommendation[], fallback: Recommendation | undefined, booking: RecommendBookingWire | undefined): boolean {
  const ok = (ms: number): boolean => !Number.isFinite(ms) || (ms >= 0 && ms < 2 ** 52);
  for (const r of ranked) if (!ok(r.arrivalMs)) return false;
  if (fallback && !ok(fallback.arrivalMs)) return false;
  return !booking || (ok(booking.arrivalMs) && ok(booking.expiresMs));
}

function recommendationSize(names: RecommendNames, r: Recommendation): number {
  let n = strSize(names.carParkId(r.carPark)) + strSize(names.entranceId(r.entrance)) + strSize(names.currency(r.carPark));
  n += 9 * 9; // drive_s, walk_m, walk_s, price, p_free, expected_free, free_p10, free_p90, cost_s
  n += 1 + lenSize(timestampSize(r.arrivalMs));
  for (let i = 0; i < r.route.length; i++) n += strSize(r.route[i]!);
  return n;
}

function writeRecommendation(w: Writer, names: RecommendNames, r: Recommendation): void {
  w.str(1, names.carParkId(r.carPark));
  w.str(2, names.entranceId(r.entrance));
  w.double(3, r.driveS);
  w.double(4, r.walkM);
  w.double(5, r.walkS);
  w.double(6, r.price);
  w.str(7, names.currency(r.carPark));
  w.double(8, r.pFree);
  w.double(9, r.expectedFree);
  w.double(10, r.freeP10);
  w.double(11, r.freeP90);
  w.timestamp(12, r.arrivalMs);
  w.double(13, r.costS);
  for (let i = 0; i < r.route.length; i++) w.str(14, r.route[i]!);
}

const REFUSAL_FIELDS: readonly RefusalReason[] = ['closed', 'unknown', 'height', 'spaceType', 'tooFar', 'unreachable'];

function refusalsSize(refused: Readonly<Record<RefusalReason, number>>): number {
  let n = 0;
  for (const r of REFUSAL_FIELDS) n += 1 + varintSize(refused[r]);
  return n;
}

function writeRefusals(w: Writer, refused: Readonly<Record<RefusalReason, number>>): void {
  for (let i = 0; i < REFUSAL_FIELDS.length; i++) {
    w.tag(i + 1, VARINT);
    w.varint(refused[REFUSAL_FIELDS[i]!]);
  }
}

function bookingSize(b: RecommendBookingWire): number {
  return strSize(b.vehicleId) + strSize(b.carParkId) + 2 + lenSize(timestampSize(b.arrivalMs)) + lenSize(timestampSize(b.expiresMs)) + 1 + varintSize(b.clientBookings);
}

function writeBooking(w: Writer, b: RecommendBookingWire): void {
  w.str(1, b.vehicleId);
  w.str(2, b.carParkId);
  w.timestamp(3, b.arrivalMs);
  w.timestamp(4, b.expiresMs);
  w.tag(5, VARINT);
  w.varint(b.clientBookings);
}

/** Seconds and nanos of a time in ms, as service/messages.ts sToTimestamp makes them (a time that is not finite: 0, 0). */
function secondsOf(ms: number): number {
  return Number.isFinite(ms / 1000) ? Math.floor(ms / 1000) : 0;
}
function nanosOf(ms: number): number {
  const s = ms / 1000;
  if (!Number.isFinite(s)) return 0;
  return Math.round((s - Math.floor(s)) * 1e9) % 1_000_000_000;
}

function timestampSize(ms: number): number {
  return 2 + varintSize(secondsOf(ms)) + varintSize(nanosOf(ms));
}

function strSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  return 1 + varintSize(n) + n;
}

/** A length prefix and what it prefixes. */
function lenSize(n: number): number {
  return varintSize(n) + n;
}

/** Bytes of a varint of a whole number in 0 … 2^53. */
function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  tag(field: number, wire: number): void {
    this.buf[this.pos++] = tag(field, wire);
  }

  varint(v: number): void {
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  double(field: number, v: number): void {
    this.tag(field, I64);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(field: number, s: string): void {
    this.tag(field, LEN);
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  timestamp(field: number, ms: number): void {
    const sec = secondsOf(ms);
    const nanos = nanosOf(ms);
    this.tag(field, LEN);
    this.varint(2 + varintSize(sec) + varintSize(nanos));
    this.tag(1, VARINT);
    this.varint(sec);
    this.tag(2, VARINT);
    this.varint(nanos);
  }
}
