/**
 * The simulator's state and the context every step function reads: what a
 * vehicle is (car and bus traits), every mutable array and counter of a run in
 * one object (`SimState`), and the fixed layout around it (`SimCore`). Built
 * by `Simulation` (simulator/simulation.ts); read and written by the step
 * modules (idm.ts, lanes.ts, laneChoice.ts, entry.ts, transfers.ts,
 * detectors.ts, buses.ts, metrics.ts).
 *
 * A fork (`Simulation.copyStateFrom`) copies `SimState` field by field with
 * `copySimState`: a field added to `createSimState` is copied without further
 * work, and the compiler rejects a field of a kind the copy does not know.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import { MOVEMENT_COUNT } from '../engine/network/geometry.js';
import { SeededRandom } from '../engine/numeric.js';
import type { SimTopology } from './topology.js';
import type { RouteChoice, SimRoutes } from './routeTable.js';
import { OptionError } from '../engine/errors.js';
import type { BusRegistry } from './buses.js';
import type { LoopLayout } from './detectors.js';
import type { EntrySources } from './entry.js';
import type { IncidentTable } from './incidents.js';
import type { LaneChangeLayout } from './laneChange.js';
import type { SimParking } from './parking.js';

/**
 * The IDM's desired time headway, s. `GREENWAVE_IDM_HEADWAY_S` (0.8–2.5) overrides it for
 * experiments only (bench/fidelity against SUMO's queue discharge, docs/benchmarks.md); every
 * figure the project reports and every test uses the default.
 */
const HEADWAY_S = ((): number => {
  const v = process.env['GREENWAVE_IDM_HEADWAY_S'];
  if (v === undefined) return 1.2;
  const x = Number(v);
  if (!(x >= 0.8 && x <= 2.5)) throw new OptionError('GREENWAVE_IDM_HEADWAY_S', `must be within [0.8, 2.5] s, got ${v}`);
  return x;
})();
/**
 * IDM parameters for a passenger car; with these a standing queue discharges at about
 * 2,000–2,150 veh/h a lane (headways of 1.7–1.8 s from the fifth vehicle on; SUMO's default
 * car: 1,827 veh/h, docs/benchmarks.md "Queue discharge").
 */
export const IDM = { accelMps2: 1.5, decelMps2: 2.0, headwayS: HEADWAY_S, minGapM: 2.0, lengthM: 5.0 } as const;

/** How a simulation's drivers drive, beyond the IDM's car: one per run (`SimOptions.driver`). */
export interface DriverModel {
  /**
   * Driver imperfection: each driver's desired speed falls below its own by a uniform draw in
   * [0, speedNoiseMps), redrawn every simulated second; 0 = drivers hold their desired speed.
   */
  readonly speedNoiseMps: number;
  /** Drivers' desired speed as a share of the speed limit: its mean and standard deviation (entry.ts draws it). */
  readonly speedFactorMean: number;
  readonly speedFactorDev: number;
}

/** greenwave's own drivers: what every figure on the project's own networks is measured with. */
export const GREENWAVE_DRIVER: DriverModel = { speedNoiseMps: 0, speedFactorMean: 1, speedFactorDev: 0.1 };

/**
 * SUMO's default car emulated, for runs on SUMO scenarios judged against SUMO (Krauss, σ 0.5,
 * acceleration 2.6 m/s², at SUMO's default 1 s step). SUMO's dawdling takes up to σ × acceleration
 * × 1 s = 1.3 m/s off a car's speed every step, 0.65 m/s on average, so a free-flowing SUMO car
 * drives about 5 % under its desired speed at 50 km/h (a lone car over 750 m: 2.8 s of time loss
 * with σ 0.5, none with σ 0), which SUMO counts as time loss. The rest is greenwave's car: on the
 * same net and program its queue already discharges as SUMO's does (one lane of a 3 × 3
 * netgenerate grid, 1,500 veh/h offered for an hour: 823 through against SUMO's 825–828; 1.45 s,
 * which an earlier comparison across different nets suggested, gives 745). SUMO's acceleration and
 * deceleration in the IDM (2.6 and 4.5 m/s², headway 1.3 s for the same discharge) put our time
 * loss 10–50 % under SUMO's on bench/fidelity's tuning half (docs/benchmarks.md), and were not
 * kept. simulator/sumo/driver.test.ts checks both figures against the real SUMO.
 */
/** SUMO's default vehicle type's Krauss σ and acceleration, m/s² (its dawdling is their product × its 1 s step). */
export const SUMO_SIGMA = 0.5;
export const SUMO_ACCEL_MPS2 = 2.6;
export const SUMO_DEFAULT_DRIVER: DriverModel = { speedNoiseMps: SUMO_SIGMA * SUMO_ACCEL_MPS2 * 1, speedFactorMean: 1, speedFactorDev: 0.1 };
/** A standard 12 m city bus: longer, and slower to pick up speed, than a car. */
export const BUS = { accelMps2: 1.0, lengthM: 12.0 } as const;
/** Below this speed a vehicle counts as stopped (and queued), m/s. */
export const STOPPED_MPS = 0.1;
/** Above this speed a stopped vehicle counts as moving again (hysteresis), m/s. */
export const MOVING_MPS = 2.0;

/** Sizes of the state's arrays. */
export interface StateDims {
  readonly vehicles: number;
  readonly lanes: number;
  /** Vehicle slots per lane ring buffer. */
  readonly laneCap: number;
  readonly links: number;
  readonly routes: number;
  readonly detectors: number;
  readonly intersections: number;
  readonly seed: number;
}

/**
 * Everything a run changes as it goes, sized once. Vehicles are structure-of-arrays by slot;
 * lanes are ring buffers of slots, front first (no overtaking within a lane).
 */
export function createSimState(d: StateDims) {
  const cap = d.vehicles;
  const freeSlots = new Int32Array(cap);
  for (let k = 0; k < cap; k++) freeSlots[k] = cap - 1 - k;
  const slots = d.intersections * MOVEMENT_COUNT;
  return {
    tS: 0,
    stepCount: 0,
    vehicleUpdates: 0,
    rng: new SeededRandom(d.seed),
    /**
     * Passenger boardings have their own stream, seeded from the same seed: giving buses stops
     * (or switching dwell off) then leaves every car's arrival, turn and speed draw as it was,
     * so a comparison with and without dwell sees the same general traffic.
     */
    dwellRng: new SeededRandom(Math.imul(d.seed ^ 0x5bd1e995, 0x27d4eb2d)),

    // Vehicles, by slot.
    vLane: new Int32Array(cap).fill(-1),
    vPos: new Float64Array(cap),
    vSpeed: new Float64Array(cap),
    vMove: new Int8Array(cap),
    vEnterS: new Float64Array(cap),
    vLinkEnterS: new Float64Array(cap),
    vFreeS: new Float64Array(cap),
    /** Desired speed as a share of the link speed: drivers differ (SUMO's default speedFactor spread). */
    vSpeedFactor: new Float64Array(cap).fill(1),
    /** How far below its desired speed the driver now wants to go, m/s (DriverModel.speedNoiseMps). */
    vSpeedNoise: new Float64Array(cap),
    /** Body length and maximum acceleration: a car's, or a bus's for tracked vehicles. */
    vLength: new Float64Array(cap).fill(IDM.lengthM),
    vAccel: new Float64Array(cap).fill(IDM.accelMps2),
    vStops: new Int32Array(cap),
    vLinkStops: new Int32Array(cap),
    vStopped: new Uint8Array(cap),
    /** The step a vehicle last moved in: one that crosses into a later lane moves once. */
    vStamp: new Int32Array(cap).fill(-1),
    /** Route of each vehicle (index into the routes), -1 for a random-turn vehicle; its current leg; where it ends on its last link (Infinity before). */
    vRoute: new Int32Array(cap).fill(-1),
    vLeg: new Int32Array(cap),
    vArriveM: new Float64Array(cap).fill(Infinity),
    /** Where the vehicle came onto its current link, m (0 but for a route starting mid-link). */
    vLinkStartM: new Float64Array(cap),
    /**
     * The lane a front vehicle will take on the next link (-1 until it is chosen, when the vehicle
     * first may go), and the turn it will make there: it follows that lane's last vehicle across
     * the stop line, so a queue discharges at car-following headways rather than waiting for room.
     */
    vNextLane: new Int32Array(cap).fill(-1),
    vNextTurn: new Int8Array(cap),
    /** When the vehicle last changed lane along a link, s (laneChange.ts: one change per step, a cooldown between discretionary ones). */
    vLaneChangeS: new Float64Array(cap).fill(-Infinity),
    /** Free vehicle slots: a stack, `freeTop` deep. */
    freeSlots,
    freeTop: cap,

    // Lanes.
    laneBuf: new Int32Array(d.lanes * d.laneCap),
    laneHead: new Int32Array(d.lanes),
    laneSize: new Int32Array(d.lanes),

    // Entry: random arrivals per link, and routed trips due but not yet in (a FIFO per entry link, linked through `pendNext`).
    nextArrivalS: new Float64Array(d.links),
    waitingToEnter: new Int32Array(d.links),
    nextRoute: 0,
    routePending: 0,
    pendNext: new Int32Array(d.routes).fill(-1),
    linkPendHead: new Int32Array(d.links).fill(-1),
    linkPendTail: new Int32Array(d.links).fill(-1),
    /** For gap acceptance: the soonest arrival at the stop line of any moving vehicle, per link, s. */
    linkMinEtaS: new Float64Array(d.links),

    // Loop detectors, and the closed intervals' rows.
    detCount: new Float64Array(d.detectors),
    detOccS: new Float64Array(d.detectors),
    detOccupied: new Uint8Array(d.detectors),
    detFault: new Uint8Array(d.detectors),
    intervalStartS: 0,
    volumeRows: [] as Float64Array[],
    occupancyRows: [] as Float64Array[],

    // Metrics.
    entered: 0,
    completed: 0,
    sumDelayS: 0,
    sumOutsideDelayS: 0,
    sumTravelS: 0,
    sumStops: 0,
    /** Lane changes along links so far (laneChange.ts). */
    laneChanges: 0,
    /** Vehicle-seconds spent waiting outside a full entry link. */
    entryWaitS: 0,
    /** Time loss of each route's trip once it has finished, s (NaN before). */
    routeLossS: new Float64Array(d.routes).fill(Number.NaN),
    mVeh: new Float64Array(slots),
    mDelay: new Float64Array(slots),
    mStops: new Float64Array(slots),
    linkMaxQueue: new Float64Array(d.links),
  };
}

export type SimState = ReturnType<typeof createSimState>;

/** The kinds of field a state may hold: each has one way to be copied. */
type StateField = number | SeededRandom | Int8Array | Uint8Array | Int32Array | Float64Array | Float64Array[];

/**
 * Makes `dst` an exact copy of `src` (same sizes). Closed detector rows are shared, not
 * cloned: a row is never written once closed.
 */
export function copySimState(dst: SimState, src: SimState): void {
  copyFields<SimState>(dst, src);
}

function copyFields<T extends { [K in keyof T]: StateField }>(dst: T, src: T): void {
  for (const key in src) {
    const from: StateField = src[key];
    const to: StateField = dst[key];
    if (typeof from === 'number') dst[key] = src[key];
    else if (from instanceof SeededRandom) (to as SeededRandom).state = from.state;
    else if (Array.isArray(from)) {
      const rows = to as Float64Array[];
      rows.length = 0;
      rows.push(...from);
    } else (to as Exclude<StateField, number | SeededRandom | Float64Array[]>).set(from);
  }
}

/**
 * What the step functions share: the network, its road graph, the state, and the fixed
 * per-run tables. One object per simulation, built once, so every function that takes it
 * sees one shape.
 */
export interface SimCore {
  readonly c: CompiledNetwork;
  readonly top: SimTopology;
  readonly stepS: number;
  /** Vehicle slots. */
  readonly cap: number;
  /** Slots per lane ring buffer. */
  readonly laneCap: number;
  readonly s: SimState;
  readonly routes: SimRoutes | undefined;
  /** Route choice at entry (routeTable.ts RouteChoice): set by `Simulation.setRouteChoice`, undefined = none. */
  routeChoice: RouteChoice | undefined;
  readonly sources: EntrySources;
  readonly loops: LoopLayout;
  /** Tracked vehicles (buses): not part of `s`, a fork sees them as ordinary traffic. */
  readonly buses: BusRegistry;
  /** Lane blockages (incidents.ts): not part of `s`, a fork does not carry them. */
  readonly incidents: IncidentTable;
  /** Lane changing along links (laneChange.ts): on or off, lane order and turn-bay starts. */
  readonly lc: LaneChangeLayout;
  /** How the drivers drive (headway, imperfection). */
  readonly driver: DriverModel;
  /** Parking search (parking.ts): set by `Simulation.setParking`, undefined = none (every hook is skipped). */
  parking: SimParking | undefined;
  /** Lamps as vehicles see them, per intersection (bit = movement). */
  readonly greenMask: Uint16Array;
  readonly yellowMask: Uint16Array;
  readonly permittedMask: Uint16Array;
}
