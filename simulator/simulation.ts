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
 * This module is the public face (`Simulation`, its options and reports) and
 * the step's order; the parts live beside it: the state (vehicles.ts), lanes
 * (lanes.ts), entry (entry.ts), lane choice (laneChoice.ts), car following
 * (idm.ts), link transfers (transfers.ts), loops (detectors.ts), buses
 * (buses.ts), parking search (parking.ts) and metrics (metrics.ts). The state is structure-of-arrays in
 * typed arrays sized once; no object is allocated per vehicle or per step.
 * Used by the closed loop, plan ranking, the SUMO scenarios, the benchmarks
 * and the tests.
 */
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import type { DetectorCounts } from '../engine/counts/csv.js';
import type { ActuatedPlan } from '../engine/timing/actuated.js';
import { GreenwaveError, ErrorCode, OptionError } from '../engine/errors.js';
import { buildTopology, type SimTopology } from './topology.js';
import { SignalHeads, type LampSource } from './signals.js';
import type { RouteChoice, SimRoutes } from './routeTable.js';
import { createSimState, copySimState, GREENWAVE_DRIVER, IDM, type DriverModel, type SimCore, type SimState } from './vehicles.js';
import { buildSources, spawn, spawnRoutes } from './entry.js';
import { computeOpposingEtas, moveLane } from './idm.js';
import { accumulateOccupancy, closeInterval, detectorCounts, feedHeads, FAULT, loopLayout, type DetectorFault } from './detectors.js';
import { addTracked, createBusRegistry, spawnTracked, trackedPosition, type BusStop, type TrackedVehicle } from './buses.js';
import { accumulatedDelayS, metricsOf, type SimMetrics } from './metrics.js';
import type { SimStepObserver } from './events.js';
import { addIncident, createIncidentTable, stepIncidents, type LaneIncident } from './incidents.js';
import { changeLanes, createLaneChangeLayout } from './laneChange.js';
import { SimParking, type ParkingChooser, type SimParkingOptions } from './parking.js';
import { buildParkingRoutes } from './parkingRoutes.js';
import type { ParkingSearchScenario } from './parkingSearch.js';

export { IDM, BUS } from './vehicles.js';
export { DWELL, expectedDwellS, type BusStop, type ServedStop, type TrackedApproach, type TrackedVehicle } from './buses.js';
export type { DetectorFault } from './detectors.js';
export type { LaneIncident } from './incidents.js';
export type { MovementMetrics, SimMetrics } from './metrics.js';

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
  /**
   * Lane changing along links (laneChange.ts): strategic, into a lane serving the vehicle's
   * movement, and discretionary for speed gain (MOBIL), both with safe gaps. Default off.
   */
  readonly laneChange?: boolean;
  /**
   * How the drivers drive (vehicles.ts DriverModel): greenwave's own (GREENWAVE_DRIVER) by
   * default; SUMO_DEFAULT_DRIVER to emulate SUMO's default car on a SUMO scenario.
   */
  readonly driver?: DriverModel;
  /**
   * Turn bays: lanes (by compiled lane id) that exist only on the last metres of their link;
   * vehicles for them come onto the link in a neighbouring lane and change in (a full bay
   * spills into that lane). Needs `laneChange`.
   */
  readonly bayLengthM?: ReadonlyMap<string, number>;
  /**
   * Approach lengths, m, keyed `${intersectionId}:${approachId}`, where the caller knows them
   * better than the network's links do (topology.ts `buildTopology`): a SUMO net's own ways.
   */
  readonly approachLengthM?: ReadonlyMap<string, number>;
}

export interface Demand {
  /** Mean demand per movement, veh/h: [movementSlot(intersection, movement)]. */
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

export class Simulation {
  readonly topology: SimTopology;
  readonly signals: SignalHeads;
  /** What vehicles obey: `signals`, or the replayed program given in the options. */
  private readonly lamps: LampSource;
  readonly stepS: number;
  /** The heads run actuated: loops feed them every step. */
  private readonly actuatedHeads: boolean;
  private readonly intervalS: number;
  private readonly core: SimCore;
  /** `core.s`: everything a fork copies. */
  private readonly s: SimState;
  /** The seed the run was built with (parking.ts draws its drivers' speeds from a stream of its own seeded with it). */
  private readonly seed: number;
  /** An event recorder (events.ts), told after each step's moves; undefined = not recording. */
  private observer: SimStepObserver | undefined = undefined;

  constructor(
    private readonly c: CompiledNetwork,
    plan: PlanBuffer,
    demand: Demand,
    opts: SimOptions,
  ) {
    this.topology = buildTopology(c, opts.approachLengthM);
    const top = this.topology;
    this.seed = opts.seed;
    this.stepS = opts.stepS ?? 0.5;
    if (!(this.stepS > 0 && this.stepS <= 1)) throw new OptionError('options.stepS', `must be in (0, 1], got ${this.stepS}`);
    this.intervalS = opts.detectorIntervalS ?? 900;
    this.signals = new SignalHeads(c, plan, 0, -1, opts.actuated);
    this.actuatedHeads = opts.actuated !== undefined;
    if (opts.lamps !== undefined && opts.actuated !== undefined) throw new OptionError('options.lamps', 'and options.actuated exclude each other');
    if (opts.bayLengthM !== undefined && opts.bayLengthM.size > 0 && opts.laneChange !== true) throw new OptionError('options.bayLengthM', 'turn bays need options.laneChange (vehicles change into a bay along the link)');
    this.lamps = opts.lamps ?? this.signals;

    const lanes = c.laneIds.length;
    let longest = 0;
    for (let l = 0; l < top.linkCount; l++) longest = Math.max(longest, top.linkLengthM[l]!);
    const laneCap = Math.ceil(longest / (IDM.lengthM + IDM.minGapM * 0.5)) + 4;
    const cap = opts.maxVehicles ?? Math.max(1000, lanes * laneCap);
    const s = createSimState({
      vehicles: cap,
      lanes,
      laneCap,
      links: top.linkCount,
      routes: demand.routes?.count ?? 0,
      detectors: c.detectorIds.length,
      intersections: c.intersectionCount,
      seed: opts.seed,
    });
    this.s = s;
    this.core = {
      c,
      top,
      stepS: this.stepS,
      cap,
      laneCap,
      s,
      routes: demand.routes,
      sources: buildSources(c, top, demand.movementFlowVehPerH, demand.scale ?? (() => 1), s),
      loops: loopLayout(c, top),
      buses: createBusRegistry(cap),
      incidents: createIncidentTable(lanes),
      routeChoice: undefined,
      parking: undefined,
      lc: createLaneChangeLayout({ top, c }, opts.laneChange === true, opts.bayLengthM),
      driver: checkDriver(opts.driver ?? GREENWAVE_DRIVER),
      greenMask: this.lamps.greenMask,
      yellowMask: this.lamps.yellowMask,
      permittedMask: this.lamps.permittedMask,
    };
    this.lamps.update(0);
  }

  /** The compiled network simulated. */
  get network(): CompiledNetwork {
    return this.c;
  }

  /** True when the signal heads (the cycle runner) drive the lamps, false for a replayed program. */
  get headsDriveLamps(): boolean {
    return this.lamps === this.signals;
  }

  /**
   * Attaches an observer told after every step's moves (an event recorder: events.ts
   * SimEventRecorder attaches itself); undefined detaches. One at a time.
   */
  attachObserver(observer: SimStepObserver | undefined): void {
    this.observer = observer;
  }

  /** The simulation clock, s. */
  get tS(): number {
    return this.s.tS;
  }

  /** Lane changes along links so far (option `laneChange`). */
  get laneChanges(): number {
    return this.s.laneChanges;
  }

  /** Vehicle moves so far: the work a speed figure divides by. */
  get vehicleUpdates(): number {
    return this.s.vehicleUpdates;
  }

  /** Marks a detector faulty from now on: what it reports, not what traffic does. */
  injectFault(detector: number, fault: DetectorFault): void {
    this.s.detFault[detector] = FAULT[fault];
  }

  /**
   * Schedules a lane blockage (incidents.ts): a standing obstacle in `lane` at `positionM` from the
   * link's start, from `startS` for `durationS`; vehicles close behind it merge into a
   * neighbouring lane where a gap allows. Throws OptionError (field path `incident.*`) for a lane
   * not simulated, a position outside the link, or a bad time. Not carried by `copyStateFrom`.
   */
  addIncident(incident: LaneIncident): void {
    addIncident(this.core, incident);
  }

  /**
   * Lets trips switch to an alternative route as they enter (routeTable.ts RouteChoice: a
   * guidance sign on the entry link); undefined = every trip drives its own route. Each
   * alternative must be a route of the demand with the trip's entry link and position and an
   * entry time of Infinity. Not carried by `copyStateFrom`.
   */
  setRouteChoice(choice: RouteChoice | undefined): void {
    const r = this.core.routes;
    if (choice !== undefined) {
      if (r === undefined || choice.alternative.length !== r.count) throw new OptionError('routeChoice.alternative', `must have one entry per route (${r?.count ?? 0})`);
      for (let k = 0; k < r.count; k++) {
        const a = choice.alternative[k]!;
        if (a < 0) continue;
        if (a >= r.count || r.entryLink[a] !== r.entryLink[k] || r.entryPosM[a] !== r.entryPosM[k] || r.entryS[a] !== Infinity) {
          throw new OptionError(`routeChoice.alternative[${k}]`, `must be a route with trip ${k}'s entry link and position and an entry time of Infinity, got ${a}`);
        }
      }
    }
    this.core.routeChoice = choice;
  }

  /**
   * Drivers looking for a space (parking.ts): they enter at their departures, drive to car parks
   * (`chooser` names each next entrance), park or cruise on, and the car parks fill and empty.
   * `scenario` is the mesoscopic model's (parkingSearch.ts), on this simulation's network;
   * `roads` there must be the network's RoadGraph with the plan's delays set (the routes' costs).
   * Set before the first step; returns the live parking state (its `result` gives the measures).
   * Not carried by `copyStateFrom`.
   */
  setParking(scenario: ParkingSearchScenario, chooser: ParkingChooser, opts: SimParkingOptions = {}): SimParking {
    if (this.s.stepCount > 0) throw new OptionError('parking', 'must be set before the first step');
    if (scenario.roads.linkCount !== this.c.network.links.length) throw new OptionError('parking.roads', `must be this network's road graph (${this.c.network.links.length} links), got ${scenario.roads.linkCount} links`);
    const p = scenario.parking;
    const targets: number[] = [];
    for (let e = 0; e < p.entranceIds.length; e++) targets.push(p.entranceLink[e]!);
    const routes = buildParkingRoutes(this.c, this.topology, scenario.roads, targets);
    const parking = new SimParking(this.core, scenario, routes, chooser, this.seed, opts);
    this.core.parking = parking;
    return parking;
  }

  /** Runs until the clock reaches `untilS`. */
  runUntil(untilS: number): void {
    while (this.s.tS + 1e-9 < untilS) this.step();
  }

  step(): void {
    const core = this.core;
    const s = this.s;
    const dt = this.stepS;
    s.tS += dt;
    s.stepCount++;
    const t = s.tS;
    this.lamps.update(t);
    computeOpposingEtas(core);
    spawn(core, t);
    if (core.routes !== undefined) spawnRoutes(core, t);
    if (core.buses.trackedQueue.length > 0) spawnTracked(core, t);
    if (core.parking !== undefined) core.parking.step(t);
    if (core.incidents.list.length > 0) stepIncidents(core, t);
    for (let l = 0; l < s.waitingToEnter.length; l++) s.entryWaitS += s.waitingToEnter[l]! * dt;
    s.entryWaitS += s.routePending * dt;
    if (core.lc.enabled) changeLanes(core, t);
    const lanes = this.c.laneIds.length;
    for (let lane = 0; lane < lanes; lane++) moveLane(core, lane, t, dt);
    if (this.actuatedHeads) feedHeads(this.c, this.topology, s, this.signals, t);
    // Before the occupancy pass clears the loops' per-step state, which the recorder reads.
    if (this.observer !== undefined) this.observer.observe(t, s);
    accumulateOccupancy(s, dt);
    if (t - s.intervalStartS >= this.intervalS - 1e-9) closeInterval(s);
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
    return addTracked(this.core, link, turn, label, stops);
  }

  /** Every tracked vehicle so far (live objects; do not modify). */
  trackedVehicles(): readonly TrackedVehicle[] {
    return this.core.buses.tracked;
  }

  /**
   * Where a tracked vehicle is now: link, metres from the link start, speed, movement, vehicles
   * ahead of it in its lane, the index of its next stop (the one it stands at while dwelling) and
   * the dwell left there (0 when not dwelling); undefined when not in the network.
   */
  trackedPosition(id: number): { link: number; posM: number; speedMps: number; movement: number; vehiclesAhead: number; nextStop: number; dwellLeftS: number } | undefined {
    return trackedPosition(this.core, id);
  }

  /** Detector counts of every closed interval, in the shape the engine's counts pipeline uses. */
  detectorCounts(fromInterval = 0): DetectorCounts {
    return detectorCounts(this.c, this.s, this.intervalS, fromInterval);
  }

  get closedIntervals(): number {
    return this.s.volumeRows.length;
  }

  /**
   * Makes this simulation an exact copy of `other` (same network, same demand):
   * vehicles, queues, signal heads, detectors, metrics and the random state.
   * Used to look ahead: fork, try a plan, compare, throw the fork away.
   */
  copyStateFrom(other: Simulation): void {
    if (other.c !== this.c || other.core.cap !== this.core.cap) throw new GreenwaveError(ErrorCode.Internal, 'copyStateFrom: simulations of different networks');
    copySimState(this.s, other.s);
    this.signals.copyStateFrom(other.signals);
  }

  /** Per route (trip) of the demand: its time loss once finished, s; NaN while it has not. */
  tripTimeLossS(): Float64Array {
    return this.s.routeLossS.slice();
  }

  /** The random generator's state, and a way to set it: look-ahead replications use other futures. */
  randomState(): number {
    return this.s.rng.state;
  }
  reseed(state: number): void {
    this.s.rng.state = state >>> 0;
  }

  /**
   * Delay so far, completed approaches plus what vehicles now in the network
   * have already lost on their current approach: the objective a look-ahead compares.
   */
  accumulatedDelayS(): number {
    return accumulatedDelayS(this.core);
  }

  metrics(): SimMetrics {
    return metricsOf(this.core);
  }
}

/** A run's driver model, checked once so that the step loop need not. */
function checkDriver(d: DriverModel): DriverModel {
  if (!(d.speedNoiseMps >= 0 && d.speedNoiseMps <= 5)) throw new OptionError('options.driver.speedNoiseMps', `must be within [0, 5] m/s, got ${d.speedNoiseMps}`);
  if (!(d.speedFactorMean >= 0.2 && d.speedFactorMean <= 2)) throw new OptionError('options.driver.speedFactorMean', `must be within [0.2, 2], got ${d.speedFactorMean}`);
  if (!(d.speedFactorDev >= 0 && d.speedFactorDev <= 1)) throw new OptionError('options.driver.speedFactorDev', `must be within [0, 1], got ${d.speedFactorDev}`);
  return d;
}
