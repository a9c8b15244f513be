/**
 * The network file format: the single source of truth for what a greenwave
 * network JSON may contain. The loader parses with it, `docs/network-format.md`
 * describes it, and `greenwave schema` prints it as JSON Schema.
 * Semantic rules that span fields (references, conflicts, timing feasibility)
 * live in `validate.ts`; this file only states shapes, units and defaults.
 */
import { z } from 'zod';
import { SAFETY_FLOORS as F, floorMessage, type FloorName } from '../safety/floors.js';

/** Approach ids name the direction of travel of the traffic arriving on it. */
export const APPROACH_IDS = ['NB', 'SB', 'EB', 'WB'] as const;
export type ApproachId = (typeof APPROACH_IDS)[number];
/** Turns, in the order used for dense movement indices: left, through, right, U-turn. */
export const TURNS = ['L', 'T', 'R', 'U'] as const;
export type Turn = (typeof TURNS)[number];
/** Crosswalks are named by the leg of the intersection they cross. */
export const LEGS = ['N', 'E', 'S', 'W'] as const;
export type Leg = (typeof LEGS)[number];

const id = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters');
const positive = (max: number) => z.number().positive().max(max);
/** A number no smaller than the absolute floor `name` (engine/safety/floors.ts); the message names floor and source. */
const atLeast = (name: FloorName, max: number) => z.number().min(F[name], { error: (iss) => floorMessage(name, iss.input) }).max(max);
/** A positive number no larger than the absolute ceiling `name`. */
const atMost = (name: FloorName) => z.number().positive().max(F[name], { error: (iss) => floorMessage(name, iss.input) });

export const DefaultsSchema = z
  .object({
    /** Base saturation flow per lane, before lane width, grade and turn adjustments. */
    saturationFlowVehPerHPerLane: positive(2400).default(1800),
    /** Walking speed for pedestrian clearance; 1.2 m/s (4 ft/s) classic, 1.0–1.1 for elderly areas. */
    pedestrianSpeedMps: atMost('maxPedestrianSpeedMps').default(1.2),
    /** Driver perception-reaction time used by the ITE yellow formula. */
    perceptionReactionS: atLeast('minPerceptionReactionS', 3).default(1.0),
    /** Comfortable deceleration used by the ITE yellow formula (10 ft/s²). */
    decelerationMps2: atMost('maxDecelerationMps2').default(3.05),
    /** Design vehicle length used by the all-red formula (20 ft). */
    vehicleLengthM: atLeast('minVehicleLengthM', 25).default(6.1),
    /** Policy bounds on yellow; both at least the absolute 3 s (what the formula asks beyond the maximum goes to all-red). */
    minYellowS: atLeast('minYellowS', 10).default(3),
    maxYellowS: atLeast('minYellowS', 10).default(6),
    minAllRedS: z.number().min(0).max(10).default(1),
    minCycleS: atMost('maxCycleS').default(40),
    maxCycleS: atMost('maxCycleS').default(150),
    /** HCM start-up lost time l1 and extension of effective green e. */
    startUpLostTimeS: z.number().min(0).max(10).default(2),
    extensionOfEffectiveGreenS: z.number().min(0).max(10).default(2),
    /** Critical flow ratio sum at or above which the intersection is treated as oversaturated. */
    oversaturationY: z.number().min(0.5).max(0.99).default(0.9),
    /** Highest degree of saturation a phase should run at when minimum greens squeeze it; lengthens the cycle. */
    targetDegreeOfSaturation: z.number().min(0.5).max(1).default(0.85),
    /**
     * At a cycle corridor coordination imposes, give the side phases only the green their flow
     * needs at targetDegreeOfSaturation and the rest to the coordinated (arterial through)
     * phases. Off by default: on the scenario family it made SUMO's time loss worse
     * (docs/benchmarks.md).
     */
    slackToCoordinatedPhases: z.boolean().default(false),
    /**
     * The time step the plans will run on, s: 0.1 for controllers (NTCIP times in deciseconds), 1
     * for SUMO at its default step length (`greenwave sumo` sets it). Clearances and minimum
     * greens are rounded up to a whole number of steps, so a plan written on that grid never
     * shows a yellow, all-red or minimum green shorter than the formula asks.
     */
    timingStepS: z
      .number()
      .min(0.1)
      .max(1)
      .refine((x) => Math.abs(x * 10 - Math.round(x * 10)) < 1e-9, { error: 'must be a multiple of 0.1 s' })
      .default(0.1),
  })
  .strict();

export const LaneSchema = z
  .object({
    id,
    /** Turns this lane serves, e.g. ["L"] or ["T","R"]. */
    movements: z.array(z.enum(TURNS)).min(1, 'a lane must serve at least one movement'),
    widthM: z.number().min(2.4).max(5.5).default(3.5),
    /** Overrides the computed saturation flow (veh/h) for this lane. */
    saturationFlowVehPerH: positive(2400).optional(),
  })
  .strict();

export const ApproachSchema = z
  .object({
    id: z.enum(APPROACH_IDS),
    /** Approach (85th percentile or posted) speed; drives the yellow and all-red times. */
    speedKph: z.number().min(10).max(120),
    /** Grade in percent, positive uphill. */
    gradePercent: z.number().min(-12).max(12).default(0),
    lanes: z.array(LaneSchema).min(1, 'an approach needs at least one lane'),
  })
  .strict();

export const DetectorSchema = z
  .object({
    id,
    lane: id,
    kind: z.enum(['stopLine', 'advance']),
    /** Distance upstream of the stop line, m. Stop-line loops are 0–10 m. */
    distanceM: z.number().min(0).max(500),
  })
  .strict();

export const PedestrianSchema = z
  .object({
    /** Legs whose crosswalks walk during this phase. */
    crosswalks: z.array(z.enum(LEGS)).min(1),
    walkS: atLeast('minWalkS', 60).default(7),
  })
  .strict();

export const PhaseSchema = z
  .object({
    id,
    /** Movement ids such as "NBT" that have right of way in this phase. */
    protected: z.array(z.string()).default([]),
    /** Movement ids that may go after yielding (permitted left, right turns). */
    permitted: z.array(z.string()).default([]),
    minGreenS: atLeast('minVehicleGreenS', 120),
    maxGreenS: atLeast('minVehicleGreenS', 300),
    /**
     * Passage (gap, vehicle extension) time for actuated operation, s: the green is
     * extended while vehicles cross the loops less than this apart (NTCIP 1202 phasePassage).
     */
    passageS: z.number().min(0.5).max(10).default(3),
    pedestrian: PedestrianSchema.optional(),
    /**
     * A phase that runs only when called, such as a bus queue-jump or bus-only left: it is
     * skipped (takes no time) in every plan, and bus priority inserts it for a bus that
     * needs it. Its movements must also be served by a phase that always runs.
     */
    onDemand: z.boolean().default(false),
  })
  .strict();

export const StagePhasingSchema = z
  .object({
    type: z.literal('stages'),
    /** Stages run one after another, in this order. */
    stages: z.array(PhaseSchema).min(2, 'a signal needs at least two stages'),
  })
  .strict();

export const RingBarrierPhasingSchema = z
  .object({
    type: z.literal('ringBarrier'),
    phases: z.array(PhaseSchema).min(2),
    /** Barrier groups in order; in each, one ordered list of phase ids per ring. */
    barriers: z
      .array(z.object({ rings: z.array(z.array(id).min(1)).min(1).max(4) }).strict())
      .min(1),
  })
  .strict();

export const CrosswalkSchema = z.object({ leg: z.enum(LEGS), lengthM: z.number().min(3).max(80) }).strict();

export const IntersectionSchema = z
  .object({
    id,
    name: z.string().default(''),
    position: z.object({ lon: z.number().min(-180).max(180), lat: z.number().min(-90).max(90) }).strict(),
    /** Distance a vehicle travels to clear the conflict area, m (curb to far conflict point). */
    widthM: z.number().min(5).max(120),
    minCycleS: atMost('maxCycleS').optional(),
    maxCycleS: atMost('maxCycleS').optional(),
    approaches: z.array(ApproachSchema).min(2, 'a signalised intersection needs at least two approaches'),
    crosswalks: z.array(CrosswalkSchema).default([]),
    detectors: z.array(DetectorSchema).default([]),
    phasing: z.discriminatedUnion('type', [StagePhasingSchema, RingBarrierPhasingSchema]),
    /** Overrides of the geometric conflict table, as pairs of movement ids. */
    conflicts: z
      .object({
        add: z.array(z.tuple([z.string(), z.string()])).default([]),
        remove: z.array(z.tuple([z.string(), z.string()])).default([]),
      })
      .strict()
      .default({ add: [], remove: [] }),
  })
  .strict();

export const LinkSchema = z
  .object({
    id,
    from: id,
    to: id,
    lengthM: z.number().positive().max(20_000),
    designSpeedKph: z.number().min(10).max(120),
    /** Progression speed range for green waves; defaults to 90–110 % of the design speed. */
    minSpeedKph: z.number().min(5).max(120).optional(),
    maxSpeedKph: z.number().min(5).max(130).optional(),
  })
  .strict();

export const CorridorSchema = z
  .object({
    id,
    name: z.string().default(''),
    /** Intersection ids in outbound order. */
    intersections: z.array(id).min(2),
    /** Share of the band objective given to the outbound direction, 0..1. */
    outboundWeight: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const NetworkSchema = z
  .object({
    formatVersion: z.literal(1),
    name: z.string().default(''),
    defaults: DefaultsSchema.default(() => DefaultsSchema.parse({})),
    intersections: z.array(IntersectionSchema).min(1),
    links: z.array(LinkSchema).default([]),
    corridors: z.array(CorridorSchema).default([]),
  })
  .strict();

export type Network = z.output<typeof NetworkSchema>;
export type NetworkInput = z.input<typeof NetworkSchema>;
export type Intersection = z.output<typeof IntersectionSchema>;
export type Approach = z.output<typeof ApproachSchema>;
export type Lane = z.output<typeof LaneSchema>;
export type Detector = z.output<typeof DetectorSchema>;
export type Phase = z.output<typeof PhaseSchema>;
export type Defaults = z.output<typeof DefaultsSchema>;
export type Link = z.output<typeof LinkSchema>;
export type Corridor = z.output<typeof CorridorSchema>;

/** The file format as JSON Schema, for editors and other languages. */
export function networkJsonSchema(): unknown {
  return z.toJSONSchema(NetworkSchema, { io: 'input' });
}
