/**
 * A microscopic traffic simulator over greenwave's own network model, used to
 * prove that a plan is better and to close the loop (detectors → engine →
 * timing → detectors). Vehicles follow the Intelligent Driver Model (Treiber,
 * Hennecke & Helbing 2000) in their lane, choose a lane for their turn, obey
 * the signal heads (yellow: stop if they can), yield on permitted lefts by gap
 * acceptance, and move on to the next signal's approach or leave. Loop
 * detectors count front passages and measure occupancy. Arrivals are Poisson
 * from a seeded PRNG, so a seed fixes the run bit for bit.
 *
 * The state is structure-of-arrays in typed arrays sized once; lanes are ring
 * buffers of vehicle slots (no overtaking within a lane). No object is
 * allocated per vehicle or per step.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import type { DetectorCounts } from '../engine/counts/csv.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { buildTopology, type SimTopology } from './topology.js';
import { SignalHeads, type LampSource } from './signals.js';
import type { ActuatedPlan } from '../engine/timing/actuated.js';
import { SeededRandom } from '../engine/numeric.js';
// Permitted lefts go when the nearest opposing vehicle is at least the planner's critical gap away in time.
import { CRITICAL_GAP_S } from '../engine/timing/planner.js';
import type { SimRoutes } from './routeTable.js';

/** IDM parameters for a passenger car; with these the queue discharges at about 2 s per vehicle. */
export const IDM = { accelMps2: 1.5, decelMps2: 2.0, headwayS: 1.2, minGapM: 2.0, lengthM: 5.0 } as const;
/** A standard 12 m city bus: longer, and slower to pick up speed, than a car. */
export const BUS = { accelMps2: 1.0, lengthM: 12.0 } as const;
/**
 * Dwell at a stop in TCQSM's (3rd ed., ch. 6) form: door opening and closing time (it cites
 * 2–5 s; the upper end here) plus passenger service time at the busier door, boardings
 * through one door at about 2.5 s each. Boardings are Poisson (passengers arriving at random
 * between buses of one route). That gives a dwell coefficient of variation of about 0.3 at
 * 5 boardings, less spread than the ≈ 0.6 TCQSM reports from the field: the model
 * understates how irregular buses get.
 */
export const DWELL = { doorS: 5.0, boardingSPerPax: 2.5, meanBoardings: 5 } as const;
/** A bus standing this close behind its stop mark, at rest, is at the stop (its doors open). */
const AT_STOP_M = 1.0;
/** A vehicle on yellow stops if it can at this deceleration; otherwise it clears. */
const YELLOW_STOP_DECEL_MPS2 = 3.0;
const LOOP_LENGTH_M = 2.0;
/**
 * A left turner at the head of its lane this close to the line when its green ends is waiting
 * in the box and clears. The IDM front vehicle stands its minimum gap (plus half a metre)
 * short of the line, so the zone must reach past that standstill position.
 */
const SNEAKER_ZONE_M = IDM.minGapM + 1.5;
const STOPPED_MPS = 0.1;
/** Vehicles a lane must be emptier by, per lane of offset, before a vehicle crossing a junction leaves its own lane's continuation for it. */
const LANE_KEEP_WEIGHT = 1000;
/** A lane without room at its entry is taken only when no lane has room. */
const NO_ROOM_COST = 1e6;
/** Vehicles of queue a driver accepts to be in a lane that leads on into a lane for its turn after next. */
const LOOKAHEAD_COST = 6;
const SPEED_DEV = 0.1;
const MOVING_MPS = 2.0;
/** Simulation clock zero, for the counts' timestamps. */
const EPOCH_MS = Date.UTC(2026, 0, 1);

export type DetectorFault = 'dead' | 'stuckOn' | 'chatter';
/** A loop's fault as the step loop stores it (a typed array of these; 0 = healthy). */
const FAULT = { none: 0, dead: 1, stuckOn: 2, chatter: 3 } as const satisfies Record<DetectorFault | 'none', number>;

/**
 * A curbside stop where a tracked vehicle (a bus) halts and serves passengers.
 * Its front stops at `positionM`; it stands there for door time + boarding time
 * per passenger × a Poisson number of boardings, drawn when it arrives.
 */
export interface BusStop {
  /** Approach link the stop is on (a far-side stop sits on the link past the signal). */
  readonly link: number;
  /** Stop mark from the link start, m. */
  readonly positionM: number;
  /** Doors opening and closing, s. */
  readonly doorS: number;
  readonly boardingSPerPax: number;
  /** Mean of the Poisson boardings; 0 for a fixed dwell of `doorS`. */
  readonly meanBoardings: number;
}

/** Expected dwell at a stop, s: what a check-in counts for a stop not reached yet. */
export function expectedDwellS(stop: BusStop): number {
  return stop.doorS + stop.boardingSPerPax * stop.meanBoardings;
}

export interface SimOptions {
  readonly seed: number;
  readonly stepS?: number;
  readonly detectorIntervalS?: number;
  readonly maxVehicles?: number;
  /**
   * Run the plan actuated with these settings (engine/timing/actuated.ts): the signal heads
   * (the engine's cycle runner) gap out, max out, force off and skip on what the loops see.
   * Every step, each loop a vehicle covers extends or calls the phase serving its lane
   * (presence detection); a dead loop never does, a stuck-on one always does.
   */
  readonly actuated?: ActuatedPlan;
  /**
   * Lamps to drive by instead of the plan's cycle runner: a SUMO program replayed for a
   * like-for-like comparison with SUMO (sumo/programLamps.ts). The plan is then not run.
   */
  readonly lamps?: LampSource;
}

export interface Demand {
  /** Mean demand per movement, veh/h: [intersection * 16 + movement]. */
  readonly movementFlowVehPerH: Float64Array;
  /** Demand multiplier over time (e.g. a peak that rises and falls); 1 if absent. */
  readonly scale?: (tS: number) => number;
  /**
   * Trips with routes (simulator/routeTable.ts): each enters where and when its route
   * reaches the modelled links and makes its route's movement at every signal. Given with
   * zero movement flows, they are the whole demand; movement flows add random-turn traffic.
   */
  readonly routes?: SimRoutes;
}

export interface MovementMetrics {
  readonly intersectionId: string;
  readonly movement: number;
  readonly vehicles: number;
  readonly meanDelayS: number;
  readonly stopsPerVeh: number;
}

export interface SimMetrics {
  readonly simulatedS: number;
  readonly vehiclesEntered: number;
  readonly vehiclesCompleted: number;
  readonly vehiclesInNetwork: number;
  /** Over completed trips: travel time minus free-flow time at each approach's speed. */
  readonly meanDelayPerVehS: number;
  readonly meanTravelTimeS: number;
  readonly stopsPerVeh: number;
  /** Per intersection: approach delay and stops of vehicles that crossed it, and the longest queue. */
  readonly intersections: readonly { id: string; vehicles: number; meanDelayS: number; stopsPerVeh: number; maxQueueVeh: number }[];
  readonly movements: readonly MovementMetrics[];
  readonly vehicleUpdates: number;
  /** Vehicles that are due but have not found room to enter yet. */
  readonly vehiclesWaitingToEnter: number;
}


/** One approach a tracked vehicle crossed: entered the link, crossed the stop line, delay against free flow. */
export interface TrackedApproach {
  readonly intersection: number;
  readonly link: number;
  readonly movement: number;
  readonly enterS: number;
  readonly leaveS: number;
  readonly delayS: number;
  readonly stops: number;
  /** Time spent standing at bus stops on this link, s (included in `delayS`, subtract it for signal delay). */
  readonly dwellS: number;
}

/** One stop a tracked vehicle served. */
export interface ServedStop {
  readonly stop: number;
  readonly arriveS: number;
  readonly departS: number;
  readonly boardings: number;
}

export interface TrackedVehicle {
  readonly id: number;
  readonly label: string;
  readonly entryLink: number;
  readonly turn: number;
  readonly requestedS: number;
  /** Entered the network (NaN while waiting outside). */
  enterS: number;
  /** Left the network (NaN while in it). */
  leaveS: number;
  /** Vehicle slot while in the network, else −1. */
  slot: number;
  readonly approaches: TrackedApproach[];
  /** Stops to serve, in route order. */
  readonly stops: readonly BusStop[];
  /** Index into `stops` of the next stop (the one it is at while dwelling); `stops.length` once all are served. */
  nextStop: number;
  /** When the current dwell began and ends (NaN when not dwelling), and its boardings. */
  dwellStartS: number;
  dwellEndS: number;
  dwellBoardings: number;
  /** Total time stood at stops so far, s. */
  dwellServedS: number;
  /** Dwell on the current link so far, s (goes to the approach's `dwellS`). */
  linkDwellS: number;
  readonly served: ServedStop[];
}

export class Simulation {
  readonly topology: SimTopology;
  readonly signals: SignalHeads;
  /** What vehicles obey: `signals`, or the replayed program given in the options. */
  private readonly lamps: LampSource;
  private readonly greenMask: Uint16Array;
  private readonly yellowMask: Uint16Array;
  private readonly permittedMask: Uint16Array;
  readonly stepS: number;
  tS = 0;
  vehicleUpdates = 0;

  private readonly rng: SeededRandom;
  /**
   * Passenger boardings have their own stream, seeded from the same seed: giving buses stops
   * (or switching dwell off) then leaves every car's arrival, turn and speed draw as it was,
   * so a comparison with and without dwell sees the same general traffic.
   */
  private readonly dwellRng: SeededRandom;
  private readonly cap: number;
  // Vehicles (structure of arrays).
  private readonly vLane: Int32Array;
  private readonly vPos: Float64Array;
  private readonly vSpeed: Float64Array;
  private readonly vMove: Int8Array;
  private readonly vEnterS: Float64Array;
  private readonly vLinkEnterS: Float64Array;
  private readonly vFreeS: Float64Array;
  /** Desired speed as a share of the link speed: drivers differ (SUMO's default speedFactor spread). */
  private readonly vSpeedFactor: Float64Array;
  /** Body length and maximum acceleration: a car's, or a bus's for tracked vehicles. */
  private readonly vLength: Float64Array;
  private readonly vAccel: Float64Array;
  private readonly vStops: Int32Array;
  private readonly vLinkStops: Int32Array;
  private readonly vStopped: Uint8Array;
  private readonly vStamp: Int32Array;
  /** 1 for a tracked vehicle (e.g. a bus): keeps going straight and has its approaches logged. */
  /** Route of each vehicle (index into `routes`), -1 for a random-turn vehicle; its current leg; where it ends on its last link (Infinity before). */
  private readonly vRoute: Int32Array;
  private readonly vLeg: Int32Array;
  private readonly vArriveM: Float64Array;
  /** Where the vehicle came onto its current link, m (0 but for a route starting mid-link). */
  private readonly vLinkStartM: Float64Array;
  /**
   * The lane a front vehicle will take on the next link (-1 until it is chosen, when the vehicle
   * first may go), and the turn it will make there: it follows that lane's last vehicle across
   * the stop line, so a queue discharges at car-following headways rather than waiting for room.
   */
  private readonly vNextLane: Int32Array;
  private readonly vNextTurn: Int8Array;
  private readonly routes: SimRoutes | undefined;
  /** Trips due but not yet in: a FIFO per entry link, linked through `pendNext`. */
  private readonly pendNext: Int32Array;
  private readonly linkPendHead: Int32Array;
  private readonly linkPendTail: Int32Array;
  /** Time loss of each route's trip once it has finished, s (NaN before). */
  private readonly routeLossS: Float64Array;
  private nextRoute = 0;
  private routePending = 0;
  private readonly vTracked: Uint8Array;
  private readonly vTrackId: Int32Array;
  private readonly tracked: TrackedVehicle[] = [];
  private readonly trackedQueue: number[] = [];
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  private stepCount = 0;
  // Lanes: ring buffers of vehicle slots, front first.
  private readonly laneCap: number;
  private readonly laneBuf: Int32Array;
  private readonly laneHead: Int32Array;
  private readonly laneSize: Int32Array;
  private readonly laneDetStart: Int32Array;
  private readonly laneDets: Int32Array;
  // Sources and turning.
  private readonly sourceRate: Float64Array;
  private readonly nextArrivalS: Float64Array;
  private readonly waitingToEnter: Int32Array;
  private readonly turnCdf: Float64Array;
  private readonly scale: (tS: number) => number;
  private readonly linkMinEtaS: Float64Array;
  // Detectors.
  private readonly detCount: Float64Array;
  private readonly detOccS: Float64Array;
  private readonly detOccupied: Uint8Array;
  /** The heads run actuated: loops feed them every step. */
  private readonly actuatedHeads: boolean;
  private readonly detFault: Uint8Array;
  private readonly intervalS: number;
  private intervalStartS = 0;
  private readonly volumeRows: Float64Array[] = [];
  private readonly occupancyRows: Float64Array[] = [];
  // Metrics.
  private entered = 0;
  private completed = 0;
  private sumDelayS = 0;
  private sumTravelS = 0;
  private sumStops = 0;
  /** Vehicle-seconds spent waiting outside a full entry link. */
  private entryWaitS = 0;
  private readonly mVeh: Float64Array;
  private readonly mDelay: Float64Array;
  private readonly mStops: Float64Array;
  private readonly linkMaxQueue: Float64Array;

  constructor(
    private readonly c: CompiledNetwork,
    plan: PlanBuffer,
    demand: Demand,
    opts: SimOptions,
  ) {
    this.topology = buildTopology(c);
    const top = this.topology;
    this.stepS = opts.stepS ?? 0.5;
    if (!(this.stepS > 0 && this.stepS <= 1)) throw new GreenwaveError(ErrorCode.InvalidInput, `options.stepS must be in (0, 1], got ${this.stepS}`);
    this.intervalS = opts.detectorIntervalS ?? 900;
    this.rng = new SeededRandom(opts.seed);
    this.dwellRng = new SeededRandom(Math.imul(opts.seed ^ 0x5bd1e995, 0x27d4eb2d));
    this.signals = new SignalHeads(c, plan, 0, -1, opts.actuated);
    this.actuatedHeads = opts.actuated !== undefined;
    if (opts.lamps !== undefined && opts.actuated !== undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'options.lamps and options.actuated exclude each other');
    this.lamps = opts.lamps ?? this.signals;
    this.greenMask = this.lamps.greenMask;
    this.yellowMask = this.lamps.yellowMask;
    this.permittedMask = this.lamps.permittedMask;
    this.scale = demand.scale ?? (() => 1);

    const lanes = c.laneIds.length;
    let longest = 0;
    for (let l = 0; l < top.linkCount; l++) longest = Math.max(longest, top.linkLengthM[l]!);
    this.laneCap = Math.ceil(longest / (IDM.lengthM + IDM.minGapM * 0.5)) + 4;
    this.cap = opts.maxVehicles ?? Math.max(1000, lanes * this.laneCap);
    const cap = this.cap;
    this.vLane = new Int32Array(cap).fill(-1);
    this.vPos = new Float64Array(cap);
    this.vSpeed = new Float64Array(cap);
    this.vMove = new Int8Array(cap);
    this.vEnterS = new Float64Array(cap);
    this.vLinkEnterS = new Float64Array(cap);
    this.vFreeS = new Float64Array(cap);
    this.vSpeedFactor = new Float64Array(cap).fill(1);
    this.vLength = new Float64Array(cap).fill(IDM.lengthM);
    this.vAccel = new Float64Array(cap).fill(IDM.accelMps2);
    this.vStops = new Int32Array(cap);
    this.vLinkStops = new Int32Array(cap);
    this.vStopped = new Uint8Array(cap);
    this.vStamp = new Int32Array(cap).fill(-1);
    this.vTracked = new Uint8Array(cap);
    this.vRoute = new Int32Array(cap).fill(-1);
    this.vLeg = new Int32Array(cap);
    this.vArriveM = new Float64Array(cap).fill(Infinity);
    this.vLinkStartM = new Float64Array(cap);
    this.vNextLane = new Int32Array(cap).fill(-1);
    this.vNextTurn = new Int8Array(cap);
    this.routes = demand.routes;
    this.pendNext = new Int32Array(demand.routes?.count ?? 0).fill(-1);
    this.routeLossS = new Float64Array(demand.routes?.count ?? 0).fill(Number.NaN);
    this.linkPendHead = new Int32Array(top.linkCount).fill(-1);
    this.linkPendTail = new Int32Array(top.linkCount).fill(-1);
    this.vTrackId = new Int32Array(cap).fill(-1);
    this.freeSlots = new Int32Array(cap);
    for (let k = 0; k < cap; k++) this.freeSlots[k] = cap - 1 - k;
    this.freeTop = cap;
    this.laneBuf = new Int32Array(lanes * this.laneCap);
    this.laneHead = new Int32Array(lanes);
    this.laneSize = new Int32Array(lanes);

    // Detectors per lane.
    const perLane: number[][] = Array.from({ length: lanes }, () => []);
    for (let d = 0; d < c.detectorIds.length; d++) perLane[top.detectorLane[d]!]!.push(d);
    this.laneDetStart = new Int32Array(lanes + 1);
    const flat: number[] = [];
    perLane.forEach((ds, l) => {
      this.laneDetStart[l] = flat.length;
      flat.push(...ds);
    });
    this.laneDetStart[lanes] = flat.length;
    this.laneDets = Int32Array.from(flat);
    const nd = c.detectorIds.length;
    this.detCount = new Float64Array(nd);
    this.detOccS = new Float64Array(nd);
    this.detOccupied = new Uint8Array(nd);
    this.detFault = new Uint8Array(nd);

    // Turning probabilities per link, and entry rates: boundary links carry their whole
    // demand; inner links get a mid-block source for what their upstream does not deliver.
    const flows = demand.movementFlowVehPerH;
    this.turnCdf = new Float64Array(top.linkCount * 4);
    const linkDemand = new Float64Array(top.linkCount);
    for (let l = 0; l < top.linkCount; l++) {
      const i = top.linkIntersection[l]!;
      const a = top.linkApproach[l]!;
      let servedMask = 0;
      for (let k = top.linkLaneStart[l]!; k < top.linkLaneStart[l]! + top.linkLaneCount[l]!; k++) servedMask |= c.laneMovementMask[top.linkLanes[k]!]!;
      let total = 0;
      for (let turn = 0; turn < 4; turn++) {
        const m = a * 4 + turn;
        const f = (servedMask >> m) & 1 ? Math.max(0, flows[i * 16 + m]!) : 0;
        total += f;
        this.turnCdf[l * 4 + turn] = total;
      }
      if (total <= 0) {
        // No measured demand: send the odd vehicle straight on if it can, else anywhere served.
        let fallback = -1;
        for (let turn = 0; turn < 4; turn++) if ((servedMask >> (a * 4 + turn)) & 1 && (fallback < 0 || turn === 1)) fallback = turn;
        for (let turn = 0; turn < 4; turn++) this.turnCdf[l * 4 + turn] = turn >= fallback && fallback >= 0 ? 1 : 0;
        total = 1;
      } else for (let turn = 0; turn < 4; turn++) this.turnCdf[l * 4 + turn] = this.turnCdf[l * 4 + turn]! / total;
      linkDemand[l] = totalOf(flows, i, a, servedMask);
    }
    const inflow = new Float64Array(top.linkCount);
    for (let l = 0; l < top.linkCount; l++) {
      const i = top.linkIntersection[l]!;
      for (let m = 0; m < 16; m++) {
        const next = top.linkNext[l * 16 + m]!;
        if (next >= 0) inflow[next] = inflow[next]! + Math.max(0, flows[i * 16 + m]!);
      }
    }
    this.sourceRate = new Float64Array(top.linkCount);
    this.nextArrivalS = new Float64Array(top.linkCount);
    this.waitingToEnter = new Int32Array(top.linkCount);
    for (let l = 0; l < top.linkCount; l++) {
      const rate = top.linkBoundary[l] === 1 ? linkDemand[l]! : Math.max(0, linkDemand[l]! - inflow[l]!);
      this.sourceRate[l] = rate / 3600;
      this.nextArrivalS[l] = rate > 0 ? this.exponential(this.sourceRate[l]!) : Infinity;
    }
    this.linkMinEtaS = new Float64Array(top.linkCount);
    this.mVeh = new Float64Array(c.intersectionCount * 16);
    this.mDelay = new Float64Array(c.intersectionCount * 16);
    this.mStops = new Float64Array(c.intersectionCount * 16);
    this.linkMaxQueue = new Float64Array(top.linkCount);
    this.lamps.update(0);
  }

  private exponential(ratePerS: number): number {
    return -Math.log(1 - this.rng.next()) / ratePerS;
  }

  /** Marks a detector faulty from now on: what it reports, not what traffic does. */
  injectFault(detector: number, fault: DetectorFault): void {
    this.detFault[detector] = FAULT[fault];
  }

  /** Runs until the clock reaches `untilS`. */
  runUntil(untilS: number): void {
    while (this.tS + 1e-9 < untilS) this.step();
  }

  step(): void {
    const dt = this.stepS;
    this.tS += dt;
    this.stepCount++;
    const t = this.tS;
    this.lamps.update(t);
    this.computeOpposingEtas();
    this.spawn(t);
    if (this.routes !== undefined) this.spawnRoutes(t);
    if (this.trackedQueue.length > 0) this.spawnTracked(t);
    for (let l = 0; l < this.waitingToEnter.length; l++) this.entryWaitS += this.waitingToEnter[l]! * dt;
    this.entryWaitS += this.routePending * dt;
    const lanes = this.c.laneIds.length;
    for (let lane = 0; lane < lanes; lane++) this.moveLane(lane, t, dt);
    if (this.actuatedHeads) this.feedHeads(t);
    const nd = this.detOccupied.length;
    for (let d = 0; d < nd; d++) {
      if (this.detOccupied[d] === 1) this.detOccS[d] = this.detOccS[d]! + dt;
      this.detOccupied[d] = 0;
    }
    if (t - this.intervalStartS >= this.intervalS - 1e-9) this.closeInterval();
  }

  /** Actuated heads: every loop covered this step (as its fault makes it report) actuates its lane's phase. */
  private feedHeads(t: number): void {
    const c = this.c;
    const lanes = this.topology.detectorLane;
    for (let d = 0; d < this.detOccupied.length; d++) {
      const fault = this.detFault[d]!;
      if (fault === FAULT.dead || (fault !== FAULT.stuckOn && this.detOccupied[d] === 0)) continue;
      const p = c.lanePhase[lanes[d]!]!;
      if (p >= 0) this.signals.actuate(p, t);
    }
  }

  /** For gap acceptance: the soonest arrival at the stop line of any moving vehicle, per link. */
  private computeOpposingEtas(): void {
    const top = this.topology;
    for (let l = 0; l < top.linkCount; l++) {
      let eta = Infinity;
      const len = top.linkLengthM[l]!;
      for (let k = top.linkLaneStart[l]!; k < top.linkLaneStart[l]! + top.linkLaneCount[l]!; k++) {
        const lane = top.linkLanes[k]!;
        if (this.laneSize[lane] === 0) continue;
        const v = this.laneBuf[lane * this.laneCap + this.laneHead[lane]!]!;
        const e = (len - this.vPos[v]!) / Math.max(this.vSpeed[v]!, 0.5);
        if (this.vSpeed[v]! > STOPPED_MPS && e < eta) eta = e;
      }
      this.linkMinEtaS[l] = eta;
    }
  }

  private spawn(t: number): void {
    const top = this.topology;
    const s = this.scale(t);
    for (let l = 0; l < top.linkCount; l++) {
      const rate = this.sourceRate[l]! * s;
      while (this.nextArrivalS[l]! <= t) {
        this.waitingToEnter[l] = this.waitingToEnter[l]! + 1;
        this.nextArrivalS[l] = rate > 0 ? this.nextArrivalS[l]! + this.exponential(rate) : Infinity;
      }
      if (rate > 0 && !Number.isFinite(this.nextArrivalS[l]!)) this.nextArrivalS[l] = t + this.exponential(rate);
      // Vehicles that could not enter yet (the entry is full) wait outside and count their delay.
      while (this.waitingToEnter[l]! > 0) {
        const turn = this.chooseTurn(l);
        const lane = this.chooseLane(l, turn);
        if (lane < 0 || !this.hasEntrySpace(lane)) break;
        const v = this.newVehicle(t, this.speedFactor(), IDM.lengthM, IDM.accelMps2);
        this.placeOnLane(v, lane, l, turn, top.linkSpeedMps[l]! * 0.8, t);
        this.waitingToEnter[l] = this.waitingToEnter[l]! - 1;
        this.entered++;
      }
    }
  }

  /**
   * A driver's desired speed factor: normal, mean 1, deviation 0.1, cut at ±2 deviations,
   * as SUMO's default vehicle type draws it. Without the spread every car would ride a
   * green wave exactly at the design speed, and narrow bands would look better than they are.
   */
  private speedFactor(): number {
    const u = 1 - this.rng.next();
    const w = this.rng.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
    return 1 + SPEED_DEV * Math.max(-2, Math.min(2, z));
  }

  /** A free vehicle slot, entering the network at t as a driver with these traits. */
  private newVehicle(t: number, speedFactor: number, lengthM: number, accelMps2: number): number {
    if (this.freeTop === 0) throw new GreenwaveError(ErrorCode.Internal, `simulation vehicle capacity ${this.cap} exhausted`);
    const v = this.freeSlots[--this.freeTop]!;
    this.vEnterS[v] = t;
    this.vFreeS[v] = 0;
    this.vStops[v] = 0;
    this.vSpeedFactor[v] = speedFactor;
    this.vLength[v] = lengthM;
    this.vAccel[v] = accelMps2;
    this.vRoute[v] = -1;
    this.vLeg[v] = 0;
    this.vArriveM[v] = Infinity;
    this.vLinkStartM[v] = 0;
    return v;
  }

  /**
   * Trips whose time has come queue at their entry link, in order; each link lets its first
   * in as soon as a lane for its first movement has room at its entry position (SUMO's
   * insertion queue per edge does the same). Waiting counts as entry delay, not as delay.
   */
  private spawnRoutes(t: number): void {
    const r = this.routes!;
    while (this.nextRoute < r.count && r.entryS[this.nextRoute]! <= t) {
      const k = this.nextRoute++;
      const l = r.entryLink[k]!;
      if (this.linkPendTail[l]! < 0) this.linkPendHead[l] = k;
      else this.pendNext[this.linkPendTail[l]!] = k;
      this.linkPendTail[l] = k;
      this.routePending++;
    }
    if (this.routePending === 0) return;
    for (let l = 0; l < this.linkPendHead.length; l++) {
      let k = this.linkPendHead[l]!;
      while (k >= 0 && this.enterRoute(k, t)) {
        const after = this.pendNext[k]!;
        this.linkPendHead[l] = after;
        if (after < 0) this.linkPendTail[l] = -1;
        this.routePending--;
        this.entered++;
        k = after;
      }
    }
  }

  /** Puts trip k on its entry link if a lane for its first movement has room there. */
  private enterRoute(k: number, t: number): boolean {
    const r = this.routes!;
    const link = r.entryLink[k]!;
    const first = r.legStart[k]!;
    const hasLeg = first < r.legStart[k + 1]!;
    const move = hasLeg ? r.legMove[first]! : -1;
    const pos = r.entryPosM[k]!;
    const lane = this.routeLane(link, move, pos, -1, false, hasLeg && first + 1 < r.legStart[k + 1]! ? r.legMove[first + 1]! : -1);
    if (lane < 0) return false;
    const sf = this.speedFactor();
    const v = this.newVehicle(t, sf, IDM.lengthM, IDM.accelMps2);
    const desired = this.topology.linkSpeedMps[link]! * sf;
    const speed = Number.isNaN(r.entrySpeedMps[k]!) ? desired : Math.min(desired, r.entrySpeedMps[k]!);
    this.placeOnLane(v, lane, link, hasLeg ? move & 3 : this.firstTurn(lane, link), speed, t, pos);
    this.vRoute[v] = k;
    this.vLeg[v] = first;
    if (!hasLeg) this.vArriveM[v] = r.arrivePosM[k]!;
    return true;
  }

  /**
   * A lane of the link that serves `move` (any lane when -1) with room at `posM`; -1 if none.
   * Coming from a lane (`fromLane` ≥ 0), the one at the same relative place across the road
   * unless another is emptier by more than LANE_KEEP_WEIGHT vehicles per lane of offset: lanes run on across a
   * junction as SUMO's lane-to-lane connections do, so parallel queues discharge side by side
   * instead of crowding one entry. Entering from outside, the emptiest.
   */
  private routeLane(link: number, move: number, posM: number, fromLane = -1, soft = false, nextMove = -1): number {
    const top = this.topology;
    const n = top.linkLaneCount[link]!;
    const after = nextMove >= 0 && move >= 0 ? top.linkNext[link * 16 + move]! : -1;
    let target = -1;
    if (fromLane >= 0) {
      const from = top.laneLink[fromLane]!;
      const nFrom = top.linkLaneCount[from]!;
      let idx = 0;
      while (top.linkLanes[top.linkLaneStart[from]! + idx] !== fromLane) idx++;
      target = nFrom > 1 ? (idx / (nFrom - 1)) * (n - 1) : (n - 1) / 2;
    }
    let best = -1;
    let bestCost = Infinity;
    for (let q = 0; q < n; q++) {
      const lane = top.linkLanes[top.linkLaneStart[link]! + q]!;
      if (move >= 0 && !((this.c.laneMovementMask[lane]! >> move) & 1)) continue;
      // Soft (crossing a junction, chosen before the vehicle reaches the line, `posM` its front's
      // place relative to the lane's start, ≤ 0): a lane whose queue has not backed up to its
      // entry and whose last vehicle is at least the minimum gap ahead; else any with a free slot.
      const room = soft ? !this.entryBlocked(lane) && this.tailRearM(lane) - posM >= IDM.minGapM : this.insertIndex(lane, posM, IDM.lengthM) >= 0;
      if (!room && (!soft || this.laneSize[lane]! >= this.laneCap - 1)) continue;
      let cost = this.laneSize[lane]! + (target >= 0 ? LANE_KEEP_WEIGHT * Math.abs(q - target) : 0) + (room ? 0 : NO_ROOM_COST);
      // Strategic: a lane whose continuation past the junction serves the leg after this one saves a merge there.
      if (after >= 0 && !this.continuationServes(q, n, after, nextMove)) cost += LOOKAHEAD_COST;
      if (cost < bestCost) {
        bestCost = cost;
        best = lane;
      }
    }
    return best;
  }

  /** Whether lane q of n continues, across the junction, into a lane of link `after` that serves `move`. */
  private continuationServes(q: number, n: number, after: number, move: number): boolean {
    const top = this.topology;
    const m = top.linkLaneCount[after]!;
    const idx = Math.round(n > 1 ? (q / (n - 1)) * (m - 1) : (m - 1) / 2);
    return ((this.c.laneMovementMask[top.linkLanes[top.linkLaneStart[after]! + idx]!]! >> move) & 1) === 1;
  }

  /** The turn a lane serves that a vehicle ending on this link is labelled with: straight on if it can. */
  private firstTurn(lane: number, link: number): number {
    const a = this.topology.linkApproach[link]! * 4;
    const mask = this.c.laneMovementMask[lane]!;
    if ((mask >> (a + 1)) & 1) return 1;
    for (let turn = 0; turn < 4; turn++) if ((mask >> (a + turn)) & 1) return turn;
    return 1;
  }

  /**
   * Where in the lane's order (0 = front) a vehicle of `lengthM` fits with its front at `posM`,
   * keeping the minimum gap to the vehicles ahead and behind; -1 if it does not fit.
   */
  private insertIndex(lane: number, posM: number, lengthM: number): number {
    const size = this.laneSize[lane]!;
    if (size >= this.laneCap - 1) return -1;
    const base = lane * this.laneCap;
    const head = this.laneHead[lane]!;
    let k = 0;
    while (k < size && this.vPos[this.laneBuf[base + ((head + k) % this.laneCap)]!]! >= posM) k++;
    if (k > 0) {
      const ahead = this.laneBuf[base + ((head + k - 1) % this.laneCap)]!;
      if (this.vPos[ahead]! - this.vLength[ahead]! - IDM.minGapM < posM) return -1;
    }
    if (k < size) {
      const behind = this.laneBuf[base + ((head + k) % this.laneCap)]!;
      if (posM - lengthM - IDM.minGapM < this.vPos[behind]!) return -1;
    }
    return k;
  }

  private chooseTurn(link: number): number {
    const u = this.rng.next();
    for (let turn = 0; turn < 4; turn++) if (u < this.turnCdf[link * 4 + turn]!) return turn;
    for (let turn = 3; turn >= 0; turn--) if (this.turnCdf[link * 4 + turn]! > 0) return turn;
    return 1;
  }

  /** The lane of the link that carries the turn with the fewest vehicles, -1 if none. */
  private chooseLane(link: number, turn: number): number {
    const top = this.topology;
    const m = top.linkApproach[link]! * 4 + turn;
    let best = -1;
    for (let k = top.linkLaneStart[link]!; k < top.linkLaneStart[link]! + top.linkLaneCount[link]!; k++) {
      const lane = top.linkLanes[k]!;
      if (!((this.c.laneMovementMask[lane]! >> m) & 1)) continue;
      if (best < 0 || this.laneSize[lane]! < this.laneSize[best]!) best = lane;
    }
    return best;
  }

  /** Where the rear of a lane's last vehicle is, m from the lane's start; Infinity for an empty lane. */
  private tailRearM(lane: number): number {
    const size = this.laneSize[lane]!;
    if (size === 0) return Infinity;
    const tail = this.laneBuf[lane * this.laneCap + ((this.laneHead[lane]! + size - 1) % this.laneCap)]!;
    return this.vPos[tail]! - this.vLength[tail]!;
  }

  /** A lane whose queue has backed up to its entry (its last vehicle stands within the minimum gap of it), or whose slots are full. */
  private entryBlocked(lane: number): boolean {
    const size = this.laneSize[lane]!;
    if (size === 0) return false;
    if (size >= this.laneCap - 1) return true;
    const tail = this.laneBuf[lane * this.laneCap + ((this.laneHead[lane]! + size - 1) % this.laneCap)]!;
    return this.vPos[tail]! - this.vLength[tail]! < IDM.minGapM && this.vSpeed[tail]! < MOVING_MPS;
  }

  private hasEntrySpace(lane: number): boolean {
    const size = this.laneSize[lane]!;
    if (size === 0) return true;
    if (size >= this.laneCap - 1) return false;
    const tail = this.laneBuf[lane * this.laneCap + ((this.laneHead[lane]! + size - 1) % this.laneCap)]!;
    return this.vPos[tail]! - this.vLength[tail]! > IDM.minGapM;
  }

  /** Puts a vehicle on a lane at `posM` (the link start unless a route begins mid-link), behind whoever is ahead of that point. */
  private placeOnLane(v: number, lane: number, link: number, turn: number, speed: number, t: number, posM = 0, mid = posM > 0): void {
    const size = this.laneSize[lane]!;
    const base = lane * this.laneCap;
    const head = this.laneHead[lane]!;
    // Mid-link (a route starting there): where it fits, which the caller has checked; else at the tail.
    const at = mid ? Math.max(0, this.insertIndex(lane, posM, this.vLength[v]!)) : size;
    for (let q = size; q > at; q--) this.laneBuf[base + ((head + q) % this.laneCap)] = this.laneBuf[base + ((head + q - 1) % this.laneCap)]!;
    this.laneBuf[base + ((head + at) % this.laneCap)] = v;
    this.laneSize[lane] = size + 1;
    this.vLane[v] = lane;
    this.vPos[v] = posM;
    this.vLinkStartM[v] = posM;
    this.vNextLane[v] = -1;
    // Enter no faster than the gap to the vehicle ahead allows.
    let sp = speed;
    if (at > 0) {
      const ahead = this.laneBuf[base + ((head + at - 1) % this.laneCap)]!;
      sp = Math.min(sp, this.vSpeed[ahead]!);
    }
    this.vSpeed[v] = sp;
    this.vMove[v] = this.topology.linkApproach[link]! * 4 + turn;
    this.vLinkEnterS[v] = t;
    this.vLinkStops[v] = 0;
    this.vStopped[v] = 0;
    this.vStamp[v] = this.stepCount;
  }

  private moveLane(lane: number, t: number, dt: number): void {
    const top = this.topology;
    const link = top.laneLink[lane]!;
    if (link < 0) return;
    const len = top.linkLengthM[link]!;
    const linkV0 = top.linkSpeedMps[link]!;
    const i = top.linkIntersection[link]!;
    const base = lane * this.laneCap;
    let queued = 0;
    let leaderPos = Infinity;
    let leaderSpeed = 0;
    let k = 0;
    while (k < this.laneSize[lane]!) {
      const v = this.laneBuf[base + ((this.laneHead[lane]! + k) % this.laneCap)]!;
      if (this.vStamp[v] === this.stepCount) {
        // Entered this lane during this step: already moved once.
        leaderPos = this.vPos[v]! - this.vLength[v]!;
        leaderSpeed = this.vSpeed[v]!;
        k++;
        continue;
      }
      this.vStamp[v] = this.stepCount;
      this.vehicleUpdates++;
      const pos = this.vPos[v]!;
      const speed = this.vSpeed[v]!;
      let obstacle = leaderPos;
      let obstacleSpeed = leaderSpeed;
      let crossing = false;
      // The front vehicle heeds the signal, unless its trip ends before the stop line.
      if (k === 0 && this.vArriveM[v]! > len) {
        const m = this.vMove[v]!;
        const bit = 1 << m;
        const green = (this.greenMask[i]! & bit) !== 0;
        const yellow = (this.yellowMask[i]! & bit) !== 0;
        const toLine = len - pos;
        let go = green;
        if (green && (this.permittedMask[i]! & bit) !== 0 && (m & 3) === 0) {
          const opp = top.linkOpposing[link]!;
          go = opp < 0 || this.linkMinEtaS[opp]! > CRITICAL_GAP_S;
        }
        if (!green && yellow) {
          // Stop if it can; a permitted left already waiting at the line (in the box, in reality)
          // clears on the yellow: the "sneaker" of HCM's permitted-left model.
          go = toLine < (speed * speed) / (2 * YELLOW_STOP_DECEL_MPS2) || ((m & 3) === 0 && toLine < SNEAKER_ZONE_M);
        }
        obstacle = len;
        obstacleSpeed = 0;
        if (go) {
          const next = top.linkNext[link * 16 + m]!;
          if (next < 0) obstacle = Infinity;
          else {
            // Across the line it follows the last vehicle of the lane it will take (a tracked
            // vehicle, a bus, waits for room in a lane that keeps it on its route).
            const target = this.crossingLane(v, next);
            if (target >= 0) {
              const size = this.laneSize[target]!;
              if (size === 0) obstacle = Infinity;
              else {
                const tail = this.laneBuf[target * this.laneCap + ((this.laneHead[target]! + size - 1) % this.laneCap)]!;
                obstacle = len + this.vPos[tail]! - this.vLength[tail]!;
                obstacleSpeed = this.vSpeed[tail]!;
              }
              crossing = true;
            }
          }
        }
      }
      // IDM acceleration towards the leader (or the stop line, a standing obstacle).
      // The front vehicle stops half a metre short of the line; followers keep their gap to the rear ahead.
      let gap = obstacle - pos - (k === 0 && !crossing ? 0.5 : 0);
      let dv = speed - obstacleSpeed;
      // A bus's next stop is one more standstill obstacle, placed the minimum gap past the stop
      // mark so that IDM brings its front to rest on the mark. Only tracked vehicles look.
      let stopMarkM = Infinity;
      if (this.vTracked[v] === 1) {
        stopMarkM = this.stopMarkAhead(v, link, t);
        if (stopMarkM + IDM.minGapM - pos < gap) {
          obstacle = stopMarkM + IDM.minGapM;
          gap = obstacle - pos;
          dv = speed;
        }
      }
      const accel = this.vAccel[v]!;
      const sStar = IDM.minGapM + Math.max(0, speed * IDM.headwayS + (speed * dv) / (2 * Math.sqrt(accel * IDM.decelMps2)));
      const v0 = linkV0 * this.vSpeedFactor[v]!;
      const free = 1 - Math.pow(speed / v0, 4);
      const interaction = Number.isFinite(gap) ? (sStar / Math.max(gap, 0.1)) ** 2 : 0;
      let acc = accel * (free - interaction);
      if (acc < -9) acc = -9;
      let nv = speed + acc * dt;
      if (nv < 0) nv = 0;
      let npos = pos + nv * dt;
      if (Number.isFinite(obstacle) && npos > obstacle - 0.5) {
        npos = Math.max(pos, obstacle - 0.5);
        nv = 0;
      }
      // Stops, with hysteresis so a creeping queue counts once.
      if (nv < STOPPED_MPS && this.vStopped[v] === 0) {
        this.vStopped[v] = 1;
        this.vStops[v] = this.vStops[v]! + 1;
        this.vLinkStops[v] = this.vLinkStops[v]! + 1;
      } else if (nv > MOVING_MPS) this.vStopped[v] = 0;
      if (nv < STOPPED_MPS) queued++;
      if (nv < STOPPED_MPS && npos >= stopMarkM - AT_STOP_M && npos < len) this.arriveAtStop(v, t);
      // Loops: a count when the front passes, occupancy while the body covers the loop.
      for (let q = this.laneDetStart[lane]!; q < this.laneDetStart[lane + 1]!; q++) {
        const d = this.laneDets[q]!;
        const dp = this.topology.detectorPosM[d]!;
        if (pos < dp && npos >= dp) this.detCount[d] = this.detCount[d]! + 1;
        if (npos >= dp && npos - this.vLength[v]! <= dp + LOOP_LENGTH_M) this.detOccupied[d] = 1;
      }
      this.vPos[v] = npos;
      this.vSpeed[v] = nv;
      if (npos >= this.vArriveM[v]!) {
        // Its trip ends here: out of the lane; the one behind now follows the same leader.
        this.arrive(v, lane, k, link, t);
        continue;
      }
      if (k === 0 && npos >= len) {
        this.leaveLane(v, lane, link, i, t);
        // The next vehicle is now the front; do not advance k.
        leaderPos = Infinity;
        leaderSpeed = 0;
        continue;
      }
      leaderPos = npos - this.vLength[v]!;
      leaderSpeed = nv;
      k++;
    }
    if (queued > this.linkMaxQueue[link]!) this.linkMaxQueue[link] = queued;
  }

  private leaveLane(v: number, lane: number, link: number, i: number, t: number): void {
    const top = this.topology;
    this.laneHead[lane] = (this.laneHead[lane]! + 1) % this.laneCap;
    this.laneSize[lane] = this.laneSize[lane]! - 1;
    const m = this.vMove[v]!;
    const freeS = (top.linkLengthM[link]! - this.vLinkStartM[v]!) / (top.linkSpeedMps[link]! * this.vSpeedFactor[v]!);
    const slot = i * 16 + m;
    this.mVeh[slot] = this.mVeh[slot]! + 1;
    this.mDelay[slot] = this.mDelay[slot]! + Math.max(0, t - this.vLinkEnterS[v]! - freeS);
    this.mStops[slot] = this.mStops[slot]! + this.vLinkStops[v]!;
    this.vFreeS[v] = this.vFreeS[v]! + freeS;
    if (this.vTracked[v] === 1) this.logTracked(v, link, i, m, t, freeS);
    const next = top.linkNext[link * 16 + m]!;
    const target = next >= 0 ? this.vNextLane[v]! : -1;
    if (target >= 0 && top.laneLink[target] === next && this.laneSize[target]! < this.laneCap - 1) {
      // On the next link where its front got to, behind that lane's last vehicle.
      let posM = this.vPos[v]! - top.linkLengthM[link]!;
      const size = this.laneSize[target]!;
      if (size > 0) {
        const tail = this.laneBuf[target * this.laneCap + ((this.laneHead[target]! + size - 1) % this.laneCap)]!;
        posM = Math.min(posM, this.vPos[tail]! - this.vLength[tail]! - 0.1);
      }
      posM = Math.max(0, posM);
      if (this.vRoute[v]! >= 0) this.enterNextOnRoute(v, next, target, posM, t);
      else {
        const turn = this.vTracked[v] === 1 ? this.tracked[this.vTrackId[v]!]!.turn : this.vNextTurn[v]!;
        let turnFor = turn;
        if (!((this.c.laneMovementMask[target]! >> (top.linkApproach[next]! * 4 + turn)) & 1)) {
          for (let q = 0; q < 4; q++) if ((this.c.laneMovementMask[target]! >> (top.linkApproach[next]! * 4 + q)) & 1) turnFor = q;
        }
        this.placeOnLane(v, target, next, turnFor, this.vSpeed[v]!, t, posM, false);
      }
      return;
    }
    this.finishTrip(v, t);
  }

  /**
   * The lane a front vehicle that may go will take on the next link, chosen once and kept
   * while it stays usable: a bus's lane for its route; a route vehicle's lane for its next
   * leg; for the others, the turn is drawn now and a lane serving it taken (`routeLane`: its
   * own lane's continuation unless another is much emptier), or, when that lane's queue has
   * backed up to its entry, any lane whose has not (the driver changes its mind on the turn).
   * -1 when none will do (the vehicle waits at the line).
   */
  private crossingLane(v: number, next: number): number {
    const top = this.topology;
    const chosen = this.vNextLane[v]!;
    // Its front relative to the next link's start (≤ 0). The choice stands while the lane has room
    // ahead of it: another vehicle merging in from a neighbouring lane makes it choose again.
    const relM = this.vPos[v]! - top.linkLengthM[this.topology.laneLink[this.vLane[v]!]!]!;
    if (chosen >= 0 && top.laneLink[chosen] === next && !this.entryBlocked(chosen) && this.tailRearM(chosen) - relM >= IDM.minGapM) return chosen;
    let lane: number;
    if (this.vTracked[v] === 1) lane = this.trackedLane(v, next, relM);
    else if (this.vRoute[v]! >= 0) lane = this.routeNextLane(v, next, relM);
    else {
      if (chosen < 0) this.vNextTurn[v] = this.chooseTurn(next);
      lane = this.routeLane(next, top.linkApproach[next]! * 4 + this.vNextTurn[v]!, relM, this.vLane[v]!, true);
      if (lane < 0 || this.entryBlocked(lane)) {
        const any = this.routeLane(next, -1, relM, this.vLane[v]!, true);
        if (any >= 0 && (lane < 0 || !this.entryBlocked(any))) lane = any;
      }
    }
    this.vNextLane[v] = lane;
    return lane;
  }

  /** The lane a route vehicle would take on the next link (for its next leg, or any when it ends there) with room at the entry; -1 if none. */
  private routeNextLane(v: number, next: number, relM: number): number {
    const r = this.routes!;
    const k = this.vRoute[v]!;
    const leg = this.vLeg[v]! + 1;
    const end = r.legStart[k + 1]!;
    return this.routeLane(next, leg < end ? r.legMove[leg]! : -1, relM, this.vLane[v]!, true, leg + 1 < end ? r.legMove[leg + 1]! : -1);
  }

  /** Moves a route vehicle across the stop line onto its next link, in the lane chosen for its next leg. */
  private enterNextOnRoute(v: number, next: number, lane: number, posM: number, t: number): void {
    const r = this.routes!;
    const k = this.vRoute[v]!;
    const leg = this.vLeg[v]! + 1;
    this.vLeg[v] = leg;
    const hasLeg = leg < r.legStart[k + 1]!;
    this.placeOnLane(v, lane, next, hasLeg ? r.legMove[leg]! & 3 : this.firstTurn(lane, next), this.vSpeed[v]!, t, posM, false);
    if (!hasLeg) this.vArriveM[v] = r.arrivePosM[k]!;
  }

  /** A route vehicle reaches the end of its trip at index k of its lane (not at a stop line). */
  private arrive(v: number, lane: number, k: number, link: number, t: number): void {
    const base = lane * this.laneCap;
    const head = this.laneHead[lane]!;
    const size = this.laneSize[lane]!;
    if (k === 0) this.laneHead[lane] = (head + 1) % this.laneCap;
    else for (let q = k; q < size - 1; q++) this.laneBuf[base + ((head + q) % this.laneCap)] = this.laneBuf[base + ((head + q + 1) % this.laneCap)]!;
    this.laneSize[lane] = size - 1;
    const top = this.topology;
    this.vFreeS[v] = this.vFreeS[v]! + (Math.min(this.vArriveM[v]!, top.linkLengthM[link]!) - this.vLinkStartM[v]!) / (top.linkSpeedMps[link]! * this.vSpeedFactor[v]!);
    this.finishTrip(v, t);
  }

  /** The trip is complete: its travel, delay and stops go into the network totals. */
  private finishTrip(v: number, t: number): void {
    const travel = t - this.vEnterS[v]!;
    this.completed++;
    this.sumTravelS += travel;
    const lossS = Math.max(0, travel - this.vFreeS[v]!);
    this.sumDelayS += lossS;
    if (this.vRoute[v]! >= 0) this.routeLossS[this.vRoute[v]!] = lossS;
    this.sumStops += this.vStops[v]!;
    if (this.vTracked[v] === 1) this.finishTracked(v, t);
    this.vLane[v] = -1;
    this.freeSlots[this.freeTop++] = v;
  }

  /**
   * Queues a tracked vehicle (a bus) to enter `link` at its next step, for
   * `turn` (0 L, 1 T, 2 R, 3 U), the same IDM car as the rest of the traffic.
   * It then keeps its turn on every following link (straight on along a
   * corridor) where a lane allows it, and logs each approach it crosses. It
   * waits outside the link, ahead of the Poisson arrivals, while the entry
   * is full. Returns its id. Not carried over by `copyStateFrom` (a fork
   * sees a tracked vehicle as ordinary traffic).
   *
   * `stops`, in route order, are curbside stops in its lane: it brakes for
   * each as for a standing obstacle (seeing one on the next link from the
   * stop line on), stands with its front within a metre of the mark for its
   * dwell, and goes on; traffic behind it in the lane queues (lane changes
   * are not modelled). On a link with a stop it enters the curb lane (the last
   * lane serving its turn) when that lane has room. A dwell counts as a stop.
   */
  addTrackedVehicle(link: number, turn: number, label = '', stops: readonly BusStop[] = []): number {
    this.checkStops(link, turn, stops);
    const id = this.tracked.length;
    this.tracked.push({
      id,
      label,
      entryLink: link,
      turn,
      requestedS: this.tS,
      enterS: Number.NaN,
      leaveS: Number.NaN,
      slot: -1,
      approaches: [],
      stops,
      nextStop: 0,
      dwellStartS: Number.NaN,
      dwellEndS: Number.NaN,
      dwellBoardings: 0,
      dwellServedS: 0,
      linkDwellS: 0,
      served: [],
    });
    this.trackedQueue.push(id);
    return id;
  }

  /** Stops must lie on the vehicle's route (straight on with its turn), in order, inside their links. */
  private checkStops(entryLink: number, turn: number, stops: readonly BusStop[]): void {
    const top = this.topology;
    let link = entryLink;
    let prevM = -Infinity;
    for (let k = 0; k < stops.length; k++) {
      const st = stops[k]!;
      while (link >= 0 && link !== st.link) {
        link = top.linkNext[link * 16 + top.linkApproach[link]! * 4 + turn]!;
        prevM = -Infinity;
      }
      if (link < 0) throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].link ${st.link} is not on the vehicle's route after the previous stop`);
      const lenM = top.linkLengthM[link]!;
      if (!(st.positionM >= BUS.lengthM && st.positionM <= lenM - IDM.minGapM - 1)) {
        throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].positionM ${st.positionM} must be within [${BUS.lengthM}, ${lenM - IDM.minGapM - 1}] on a ${lenM} m link`);
      }
      if (st.positionM <= prevM) throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}].positionM ${st.positionM} must be past the previous stop on the link (${prevM})`);
      if (!(st.doorS >= 0 && st.boardingSPerPax >= 0 && st.meanBoardings >= 0)) {
        throw new GreenwaveError(ErrorCode.InvalidInput, `stops[${k}]: doorS, boardingSPerPax and meanBoardings must be ≥ 0`);
      }
      prevM = st.positionM;
    }
  }

  /**
   * Where the tracked vehicle in slot v must stop next, in the coordinates of its current
   * link (past its length when the stop is on the next link), Infinity if nowhere close.
   * Ends a dwell that is over: the vehicle moves in the step that starts at the dwell's end.
   */
  private stopMarkAhead(v: number, link: number, t: number): number {
    const tv = this.tracked[this.vTrackId[v]!]!;
    if (!Number.isNaN(tv.dwellEndS)) {
      const stepStartS = t - this.stepS;
      if (stepStartS + 1e-9 < tv.dwellEndS) return tv.stops[tv.nextStop]!.positionM;
      const stoodS = stepStartS - tv.dwellStartS;
      tv.served.push({ stop: tv.nextStop, arriveS: tv.dwellStartS, departS: stepStartS, boardings: tv.dwellBoardings });
      tv.dwellServedS += stoodS;
      tv.linkDwellS += stoodS;
      tv.nextStop++;
      tv.dwellStartS = Number.NaN;
      tv.dwellEndS = Number.NaN;
      tv.dwellBoardings = 0;
    }
    const stop = tv.stops[tv.nextStop];
    if (stop === undefined) return Infinity;
    if (stop.link === link) return stop.positionM;
    if (stop.link === this.topology.linkNext[link * 16 + this.vMove[v]!]) return this.topology.linkLengthM[link]! + stop.positionM;
    return Infinity;
  }

  /** The tracked vehicle in slot v has come to rest at its next stop at time t: doors open. */
  private arriveAtStop(v: number, t: number): void {
    const tv = this.tracked[this.vTrackId[v]!]!;
    if (!Number.isNaN(tv.dwellEndS)) return;
    const stop = tv.stops[tv.nextStop]!;
    const boardings = stop.meanBoardings > 0 ? this.poissonBoardings(stop.meanBoardings) : 0;
    tv.dwellStartS = t;
    tv.dwellBoardings = boardings;
    tv.dwellEndS = t + stop.doorS + stop.boardingSPerPax * boardings;
  }

  /** Poisson draw by Knuth's product of uniforms: exact, and cheap at the few boardings of one stop. */
  private poissonBoardings(mean: number): number {
    const limit = Math.exp(-mean);
    let n = 0;
    let p = this.dwellRng.next();
    while (p > limit) {
      n++;
      p *= this.dwellRng.next();
    }
    return n;
  }

  /** Every tracked vehicle so far (live objects; do not modify). */
  trackedVehicles(): readonly TrackedVehicle[] {
    return this.tracked;
  }

  /**
   * Where a tracked vehicle is now: link, metres from the link start, speed, movement, vehicles
   * ahead of it in its lane, the index of its next stop (the one it stands at while dwelling) and
   * the dwell left there (0 when not dwelling); undefined when not in the network.
   */
  trackedPosition(id: number): { link: number; posM: number; speedMps: number; movement: number; vehiclesAhead: number; nextStop: number; dwellLeftS: number } | undefined {
    const tv = this.tracked[id];
    if (!tv || tv.slot < 0) return undefined;
    const v = tv.slot;
    const lane = this.vLane[v]!;
    if (lane < 0) return undefined;
    let ahead = 0;
    for (let k = 0; k < this.laneSize[lane]!; k++) {
      if (this.laneBuf[lane * this.laneCap + ((this.laneHead[lane]! + k) % this.laneCap)] === v) break;
      ahead++;
    }
    const dwellLeftS = !Number.isNaN(tv.dwellEndS) ? Math.max(0, tv.dwellEndS - this.tS) : 0;
    return { link: this.topology.laneLink[lane]!, posM: this.vPos[v]!, speedMps: this.vSpeed[v]!, movement: this.vMove[v]!, vehiclesAhead: ahead, nextStop: tv.nextStop, dwellLeftS };
  }

  private spawnTracked(t: number): void {
    while (this.trackedQueue.length > 0) {
      const tv = this.tracked[this.trackedQueue[0]!]!;
      const curb = tv.stops[tv.nextStop]?.link === tv.entryLink ? this.curbLane(tv.entryLink, tv.turn) : -1;
      const lane = curb >= 0 && this.hasEntrySpace(curb) ? curb : this.chooseLane(tv.entryLink, tv.turn);
      if (lane < 0 || !this.hasEntrySpace(lane)) return;
      // A bus keeps to the speed limit (speed factor 1).
      const v = this.newVehicle(t, 1, BUS.lengthM, BUS.accelMps2);
      this.vTracked[v] = 1;
      this.vTrackId[v] = tv.id;
      this.placeOnLane(v, lane, tv.entryLink, tv.turn, this.topology.linkSpeedMps[tv.entryLink]! * 0.8, t);
      this.entered++;
      tv.enterS = t;
      tv.slot = v;
      this.trackedQueue.shift();
    }
  }

  /**
   * For a tracked vehicle: the lane of `next` with room that serves its turn, −1 if none. The
   * curb lane if its next stop is on `next`, else (or if the curb lane is full) the one with the
   * fewest vehicles.
   */
  /** A bus's lane on the next link: the curb lane before its stop, else the emptiest lane for its turn, with room ahead of its front (`relM`, ≤ 0, from the link's start); -1 if none. */
  private trackedLane(v: number, next: number, relM: number): number {
    const top = this.topology;
    const tv = this.tracked[this.vTrackId[v]!]!;
    const m = top.linkApproach[next]! * 4 + tv.turn;
    const room = (lane: number) => !this.entryBlocked(lane) && this.tailRearM(lane) - relM >= IDM.minGapM;
    if (tv.nextStop < tv.stops.length && tv.stops[tv.nextStop]!.link === next) {
      const curb = this.curbLane(next, tv.turn);
      if (curb >= 0 && room(curb)) return curb;
    }
    let best = -1;
    for (let k = top.linkLaneStart[next]!; k < top.linkLaneStart[next]! + top.linkLaneCount[next]!; k++) {
      const lane = top.linkLanes[k]!;
      if (!((this.c.laneMovementMask[lane]! >> m) & 1) || !room(lane)) continue;
      if (best < 0 || this.laneSize[lane]! < this.laneSize[best]!) best = lane;
    }
    return best;
  }

  /** The link's last lane serving the turn: lanes are listed from the median out, so that is the curb lane. −1 if none. */
  private curbLane(link: number, turn: number): number {
    const top = this.topology;
    const m = top.linkApproach[link]! * 4 + turn;
    let curb = -1;
    for (let k = top.linkLaneStart[link]!; k < top.linkLaneStart[link]! + top.linkLaneCount[link]!; k++) {
      if ((this.c.laneMovementMask[top.linkLanes[k]!]! >> m) & 1) curb = top.linkLanes[k]!;
    }
    return curb;
  }

  private logTracked(v: number, link: number, i: number, m: number, t: number, freeS: number): void {
    const tv = this.tracked[this.vTrackId[v]!]!;
    tv.approaches.push({
      intersection: i,
      link,
      movement: m,
      enterS: this.vLinkEnterS[v]!,
      leaveS: t,
      delayS: Math.max(0, t - this.vLinkEnterS[v]! - freeS),
      stops: this.vLinkStops[v]!,
      dwellS: tv.linkDwellS,
    });
    tv.linkDwellS = 0;
  }

  private finishTracked(v: number, t: number): void {
    const tv = this.tracked[this.vTrackId[v]!]!;
    tv.leaveS = t;
    tv.slot = -1;
    this.vTracked[v] = 0;
    this.vTrackId[v] = -1;
  }

  private closeInterval(): void {
    const nd = this.detCount.length;
    const volume = new Float64Array(nd);
    const occupancy = new Float64Array(nd);
    const span = this.tS - this.intervalStartS;
    for (let d = 0; d < nd; d++) {
      let vol = this.detCount[d]!;
      let occ = (100 * this.detOccS[d]!) / span;
      switch (this.detFault[d]) {
        case FAULT.dead:
          vol = 0;
          occ = 0;
          break;
        case FAULT.stuckOn:
          vol = 0;
          occ = 100;
          break;
        case FAULT.chatter:
          vol = vol * 3 + (2400 * span) / 3600;
          break;
      }
      volume[d] = vol;
      occupancy[d] = Math.min(100, occ);
      this.detCount[d] = 0;
      this.detOccS[d] = 0;
    }
    this.volumeRows.push(volume);
    this.occupancyRows.push(occupancy);
    this.intervalStartS = this.tS;
  }

  /** Detector counts of every closed interval, in the shape the engine's counts pipeline uses. */
  detectorCounts(fromInterval = 0): DetectorCounts {
    const nd = this.detCount.length;
    const rows = this.volumeRows.length - fromInterval;
    const volumeVeh = new Float64Array(rows * nd);
    const occupancyPct = new Float64Array(rows * nd);
    const intervalStartMs = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      volumeVeh.set(this.volumeRows[fromInterval + r]!, r * nd);
      occupancyPct.set(this.occupancyRows[fromInterval + r]!, r * nd);
      intervalStartMs[r] = EPOCH_MS + (fromInterval + r) * this.intervalS * 1000;
    }
    return { detectorIds: this.c.detectorIds, intervalS: this.intervalS, intervalStartMs, volumeVeh, occupancyPct };
  }

  get closedIntervals(): number {
    return this.volumeRows.length;
  }

  /**
   * Makes this simulation an exact copy of `other` (same network, same demand):
   * vehicles, queues, signal heads, detectors, metrics and the random state.
   * Used to look ahead: fork, try a plan, compare, throw the fork away.
   */
  copyStateFrom(other: Simulation): void {
    if (other.c !== this.c || other.cap !== this.cap) throw new GreenwaveError(ErrorCode.Internal, 'copyStateFrom: simulations of different networks');
    this.tS = other.tS;
    this.vehicleUpdates = other.vehicleUpdates;
    this.stepCount = other.stepCount;
    this.freeTop = other.freeTop;
    this.rng.state = other.rng.state;
    this.dwellRng.state = other.dwellRng.state;
    this.intervalStartS = other.intervalStartS;
    this.entered = other.entered;
    this.completed = other.completed;
    this.sumDelayS = other.sumDelayS;
    this.sumTravelS = other.sumTravelS;
    this.sumStops = other.sumStops;
    this.entryWaitS = other.entryWaitS;
    this.nextRoute = other.nextRoute;
    this.routePending = other.routePending;
    const arrays = ['vLane', 'vPos', 'vSpeed', 'vMove', 'vEnterS', 'vLinkEnterS', 'vFreeS', 'vSpeedFactor', 'vLength', 'vAccel', 'vStops', 'vLinkStops', 'vRoute', 'vLeg', 'vArriveM', 'vLinkStartM', 'vNextLane', 'vNextTurn', 'routeLossS', 'pendNext', 'linkPendHead', 'linkPendTail', 'vStopped', 'vStamp', 'freeSlots', 'laneBuf', 'laneHead', 'laneSize', 'nextArrivalS', 'waitingToEnter', 'linkMinEtaS', 'detCount', 'detOccS', 'detOccupied', 'detFault', 'mVeh', 'mDelay', 'mStops', 'linkMaxQueue'] as const;
    for (const name of arrays) (this[name] as { set(a: ArrayLike<number>): void }).set(other[name]);
    this.volumeRows.length = 0;
    this.volumeRows.push(...other.volumeRows);
    this.occupancyRows.length = 0;
    this.occupancyRows.push(...other.occupancyRows);
    this.signals.copyStateFrom(other.signals);
  }

  /** Per route (trip) of the demand: its time loss once finished, s; NaN while it has not. */
  tripTimeLossS(): Float64Array {
    return this.routeLossS.slice();
  }

  /** The random generator's state, and a way to set it: look-ahead replications use other futures. */
  randomState(): number {
    return this.rng.state;
  }
  reseed(state: number): void {
    this.rng.state = state >>> 0;
  }

  /**
   * Delay so far, completed approaches plus what vehicles now in the network
   * have already lost on their current approach: the objective a look-ahead compares.
   */
  accumulatedDelayS(): number {
    let total = 0;
    for (let k = 0; k < this.mDelay.length; k++) total += this.mDelay[k]!;
    const top = this.topology;
    for (let lane = 0; lane < this.laneSize.length; lane++) {
      const link = top.laneLink[lane]!;
      if (link < 0) continue;
      for (let k = 0; k < this.laneSize[lane]!; k++) {
        const v = this.laneBuf[lane * this.laneCap + ((this.laneHead[lane]! + k) % this.laneCap)]!;
        const freeS = top.linkLengthM[link]! / (top.linkSpeedMps[link]! * this.vSpeedFactor[v]!);
        const spent = this.tS - this.vLinkEnterS[v]!;
        // Only what is already lost: the part of the free-flow time still ahead is not delay yet.
        const fractionDone = Math.min(1, this.vPos[v]! / top.linkLengthM[link]!);
        total += Math.max(0, spent - fractionDone * freeS);
      }
    }
    return total + this.entryWaitS;
  }

  metrics(): SimMetrics {
    const c = this.c;
    const movements: MovementMetrics[] = [];
    const intersections: SimMetrics['intersections'][number][] = [];
    for (let i = 0; i < c.intersectionCount; i++) {
      let veh = 0;
      let delay = 0;
      let stops = 0;
      for (let m = 0; m < 16; m++) {
        const slot = i * 16 + m;
        const n = this.mVeh[slot]!;
        if (n === 0) continue;
        movements.push({ intersectionId: c.intersectionIds[i]!, movement: m, vehicles: n, meanDelayS: this.mDelay[slot]! / n, stopsPerVeh: this.mStops[slot]! / n });
        veh += n;
        delay += this.mDelay[slot]!;
        stops += this.mStops[slot]!;
      }
      let maxQueue = 0;
      for (let l = 0; l < this.topology.linkCount; l++) if (this.topology.linkIntersection[l] === i) maxQueue = Math.max(maxQueue, this.linkMaxQueue[l]!);
      intersections.push({ id: c.intersectionIds[i]!, vehicles: veh, meanDelayS: veh > 0 ? delay / veh : 0, stopsPerVeh: veh > 0 ? stops / veh : 0, maxQueueVeh: maxQueue });
    }
    let inNetwork = 0;
    for (let l = 0; l < this.laneSize.length; l++) inNetwork += this.laneSize[l]!;
    return {
      simulatedS: this.tS,
      vehiclesEntered: this.entered,
      vehiclesCompleted: this.completed,
      vehiclesInNetwork: inNetwork,
      meanDelayPerVehS: this.completed > 0 ? this.sumDelayS / this.completed : 0,
      meanTravelTimeS: this.completed > 0 ? this.sumTravelS / this.completed : 0,
      stopsPerVeh: this.completed > 0 ? this.sumStops / this.completed : 0,
      intersections,
      movements,
      vehicleUpdates: this.vehicleUpdates,
      vehiclesWaitingToEnter: this.waitingToEnter.reduce((a, b) => a + b, 0) + this.routePending,
    };
  }
}

function totalOf(flows: Float64Array, i: number, a: number, servedMask: number): number {
  let total = 0;
  for (let turn = 0; turn < 4; turn++) {
    const m = a * 4 + turn;
    if ((servedMask >> m) & 1) total += Math.max(0, flows[i * 16 + m]!);
  }
  return total;
}
