/**
 * The parking file format (停车诱导): car parks and on-street zones, their
 * entrances on the network's links, capacity by space type, fees, opening
 * hours and height limits, and the guidance signs placed on the network with
 * the car parks each points to. The single source of truth for what a
 * parking JSON may contain (as engine/network/schema.ts is for networks):
 * the loader (./load.ts) parses with it and checks references against a
 * compiled network; docs/parking.md describes it. Live occupancy is not in
 * the file: it follows DATEX II's parking publications (./occupancy.ts).
 */
import { z } from 'zod';

const id = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: 'must be a time of day "HH:MM" (24:00 allowed as a closing time)' });

/** Space types a capacity is given for (DATEX II parkingSpaceBasicDesignation, simplified). */
export const SPACE_TYPES = ['general', 'accessible', 'ev', 'family', 'motorcycle'] as const;
export type SpaceType = (typeof SPACE_TYPES)[number];

export const PositionSchema = z.object({ lon: z.number().min(-180).max(180), lat: z.number().min(-90).max(90) }).strict();

export const EntranceSchema = z
  .object({
    id,
    /** The network link the entrance is on (engine/network/schema.ts links[].id); drivers reach it by that link's downstream end. */
    linkId: id,
    /** Distance from the link's start, m. */
    positionM: z.number().min(0).max(20_000),
    /** Also an exit (most are); exits-only are not listed. */
    exit: z.boolean().default(true),
  })
  .strict();

export const OpeningHoursSchema = z.union([
  z.literal('24/7'),
  z
    .array(
      z
        .object({
          /** Days of the week it applies to, 1 = Monday … 7 = Sunday (ISO 8601). */
          days: z.array(z.number().int().min(1).max(7)).min(1),
          open: hhmm,
          close: hhmm,
        })
        .strict(),
    )
    .min(1),
]);

export const FeesSchema = z
  .object({
    currency: z.string().length(3).default('CNY'),
    /** The first hour (or part of it). */
    firstHour: z.number().min(0).max(10_000),
    /** Each further hour (or part). */
    perHour: z.number().min(0).max(10_000),
    /** Cap per calendar day, if any. */
    dailyMax: z.number().min(0).max(100_000).optional(),
  })
  .strict();

/**
 * A loop at a car-park gate that counts entries or exits, wired to a detector input of a
 * signal controller and declared in the network file as that intersection's detector
 * (engine/network/schema.ts detectors[].id): the service's detector polls read it with the
 * junction's loops and hand its counts to the occupancy tracker (docs/parking.md, "Gate counts").
 */
export const GateLoopSchema = z
  .object({
    detectorId: id,
    /** What a vehicle over the loop means for the car park. */
    counts: z.enum(['entries', 'exits']),
  })
  .strict();

/** Where a sign controller listens (Modbus TCP); its unit id is the sign's `unitId`. */
export const SignEndpointSchema = z
  .object({
    host: z.string().min(1, 'must not be empty').max(253),
    port: z.number().int().min(1).max(65535),
  })
  .strict();

export const CarParkSchema = z
  .object({
    id,
    nameZh: z.string().min(1),
    nameEn: z.string().min(1),
    kind: z.enum(['garage', 'surface', 'onStreet']),
    position: PositionSchema,
    entrances: z.array(EntranceSchema).min(1),
    /** Spaces per type; the total capacity is their sum. */
    capacityByType: z.partialRecord(z.enum(SPACE_TYPES), z.number().int().min(0).max(100_000)),
    fees: FeesSchema,
    openingHours: OpeningHoursSchema.default('24/7'),
    /** Height limit at the entrance, m (absent: none). */
    heightLimitM: z.number().positive().max(10).optional(),
    /** The car-park system reporting for it (GA/T 1302's lower tier), for the record. */
    operator: z.string().optional(),
    /** Loops at its gates read through the signal controllers' detector polls (absent: reports only). */
    gates: z.array(GateLoopSchema).max(32).default([]),
  })
  .strict();

export const GuidanceSignSchema = z
  .object({
    id,
    /** The link the sign stands on, before the junction it guides at. */
    linkId: id,
    positionM: z.number().min(0).max(20_000),
    /** What it shows: per line, a car park (or several summed) and the arrow. */
    lines: z
      .array(
        z
          .object({
            carParkIds: z.array(id).min(1),
            direction: z.enum(['left', 'ahead', 'right']),
            labelZh: z.string().min(1),
            labelEn: z.string().min(1),
          })
          .strict(),
      )
      .min(1)
      .max(8),
    /** Modbus unit id of the sign controller (its register block: docs/modbus-register-map.md). */
    unitId: z.number().int().min(1).max(247).optional(),
    /** Where the sign controller listens: with it (and `unitId`) the service pushes the sign's message. */
    endpoint: SignEndpointSchema.optional(),
  })
  .strict();

export const ParkingFileSchema = z
  .object({
    formatVersion: z.literal(1),
    /** The network file the links refer to (its `name`), for a clear error when paired with another. */
    network: z.string().default(''),
    /** Local time zone of the opening hours, as an offset from UTC in minutes (China: 480). */
    utcOffsetMin: z.number().int().min(-720).max(840).default(480),
    carParks: z.array(CarParkSchema).min(1),
    signs: z.array(GuidanceSignSchema).default([]),
  })
  .strict();

export type Position = z.output<typeof PositionSchema>;
export type Entrance = z.output<typeof EntranceSchema>;
export type OpeningHours = z.output<typeof OpeningHoursSchema>;
export type Fees = z.output<typeof FeesSchema>;
export type CarPark = z.output<typeof CarParkSchema>;
export type GuidanceSign = z.output<typeof GuidanceSignSchema>;
export type GateLoop = z.output<typeof GateLoopSchema>;
export type ParkingFile = z.output<typeof ParkingFileSchema>;

/** Total spaces of a car park (the sum over its types). */
export function capacityOf(p: CarPark): number {
  let n = 0;
  for (const t of SPACE_TYPES) n += p.capacityByType[t] ?? 0;
  return n;
}

/**
 * The live state of one car park, as DATEX II's ParkingStatusPublication carries it
 * (parkingSiteStatus, occupancy, vacant spaces, trend, the time of the status).
 * `unknown` when the feed is stale: never shown as full or empty then.
 */
export type ParkingSiteStatus = 'open' | 'full' | 'closed' | 'unknown';
export type OccupancyTrend = 'increasing' | 'decreasing' | 'stable' | 'unknown';

export interface OccupancyState {
  readonly carParkId: string;
  readonly capacity: number;
  /** Occupied spaces, 0..capacity (NaN while unknown). */
  readonly occupied: number;
  readonly vacant: number;
  /** 0..100 (NaN while unknown). */
  readonly occupancyPct: number;
  readonly trend: OccupancyTrend;
  readonly status: ParkingSiteStatus;
  /** When the occupancy was last established by a report or count, ms since 1970. */
  readonly statusTimeMs: number;
}
