/**
 * Transit signal priority in the microsimulation: the demo city at 08:00
 * demand, late buses entering Renmin Rd eastbound at I1 every `busHeadwayS`
 * and running straight through I1…I8. With TSP on, a bus checks in with the
 * engine's `TspController` once its free-flow ETA to the next stop line is at
 * most `checkInEtaS` (and sends one update closer in if the ETA moved), and
 * the signal heads follow the controller's schedule (`cycleAt`), each layout
 * checked by the safety validator and the heads' transition rules before it
 * runs. With TSP off, the same buses run on the coordinated plan. Used by
 * `transit.test.ts` and for reports.
 *
 * The route serves far-side stops (`FAR_SIDE_STOPS`) unless `dwell` is off:
 * a check-in's ETA counts the dwell still ahead of the bus before the stop
 * line, and bus delay per signal leaves the time stood at stops out (the
 * measure is signal delay; the braking and pulling away of a stop stay in it).
 */
import { readFileSync } from 'node:fs';
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { loadNetwork } from '../engine/network/validate.js';
import type { Network } from '../engine/network/schema.js';
import { compileNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { TspController, type TspRequest } from '../engine/priority/tsp.js';
import { PriorityClass, priorityConfig, type TspLimits } from '../engine/priority/policy.js';
import { DWELL, Simulation, expectedDwellS, type BusStop, type TrackedVehicle } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';
import { round1 } from '../engine/numeric.js';

/** APPROACH_IDS = NB, SB, EB, WB; movement = approach * 4 + turn. */
const EB = 2;
const THROUGH = 1;
const EBT = EB * 4 + THROUGH;
/** Saturation headway assumed for the queue ahead of a bus, s per vehicle. */
const QUEUE_HEADWAY_S = 2;
export const CORRIDOR = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'] as const;
/**
 * The route's stops: far side of I2, I4 and I6, 50 m past the junction (on the 355, 480 and
 * 545 m links to I3, I5 and I7). Far side is the usual siting with TSP: the bus crosses the
 * signal before it dwells, so no dwell sits in the ETA that signal is adjusted for (only in
 * the next one's, far enough ahead to be known), and the stop is clear of the next queue.
 */
export const FAR_SIDE_STOPS = [
  { after: 'I2', positionM: 50 },
  { after: 'I4', positionM: 50 },
  { after: 'I6', positionM: 50 },
] as const;

/** What every TSP scenario takes: the seed, TSP on or off, its buses and the run's timing. */
export interface TspRunOptions {
  readonly seed: number;
  readonly withTsp: boolean;
  /** One bus every this many seconds, s. */
  readonly busHeadwayS: number;
  /** Every bus is this late, s (the route's threshold is 60 s by default). */
  readonly latenessS: number;
  /**
   * Simulated time (default 3600 s); buses run from `warmupS` (600 s) until `durationS − drainS`.
   * The drain defaults to 900 s in the corridor scenario (a bus takes about 500–750 s from I1
   * past I8 with TSP off, dwell or not) and 600 s in the grid one.
   */
  readonly durationS?: number;
  readonly warmupS?: number;
  readonly drainS?: number;
  /** A bus checks in when its ETA to the stop line is at most this, s (default 60 s). */
  readonly checkInEtaS?: number;
  readonly limits?: Partial<TspLimits>;
}

export interface TspScenario extends TspRunOptions {
  /** ETA updates per approach, sent within 15 s of the stop line when the ETA moved by more than 3 s (default 1). */
  readonly etaUpdates?: number;
  /** ETA no sooner than the queue ahead of the bus in its lane can discharge (default true). */
  readonly queueAwareEta?: boolean;
  /** Buses dwell at `FAR_SIDE_STOPS` (default true). */
  readonly dwell?: boolean;
  /** Mean Poisson boardings per stop (default `DWELL.meanBoardings`). */
  readonly meanBoardings?: number;
}

export interface TspScenarioResult extends TspRunOutcome {
  readonly buses: number;
  /** Buses that crossed all eight signals and left. */
  readonly busesCompleted: number;
  /** Mean bus delay per signal (approach delay against free flow, dwell at stops left out), s. */
  readonly busDelayPerSignalS: number;
  /** Per corridor signal, I1…I8. */
  readonly busDelayBySignalS: readonly number[];
  /** Mean bus time from entering at I1 to leaving past I8 (dwell included), s. */
  readonly busTravelTimeS: number;
  /** Mean time a completed bus stood at its stops, s (0 with dwell off). */
  readonly busDwellS: number;
  /** Mean approach delay of general traffic at the corridor's signals (every movement), s. */
  readonly corridorGeneralDelayS: number;
}

/** What every TSP scenario reports besides its buses: general traffic, the decisions, and safety. */
export interface TspRunOutcome {
  /** Every vehicle but the buses, over completed trips: travel time minus free-flow time, s. */
  readonly generalDelayPerVehS: number;
  readonly generalVehicles: number;
  readonly requests: number;
  readonly grants: number;
  readonly grantsByStrategy: Readonly<Record<string, number>>;
  /** Adjusted cycles the TSP controller refused itself (its validator check). */
  readonly tspUnsafeRejections: number;
  /** Layouts the signal heads refused to run (validator or transition rule). */
  readonly headsRejections: number;
  readonly headsScheduleChanges: number;
  /**
   * What a conflict monitor watching the heads saw, checked every step: two
   * conflicting phases active (green, yellow or all-red) at once, or a
   * movement going from green to neither green nor yellow (no yellow shown).
   */
  readonly safetyViolations: number;
  readonly firstViolation: string;
  readonly firstRejection: string;
}

interface DemoCity {
  c: CompiledNetwork;
  plan: PlanBuffer;
  flows: Float64Array;
}
let cache: DemoCity | undefined;
const variants = new WeakMap<Network, DemoCity>();

/**
 * The demo city planned for 08:00, and its movement flows (cached). `network`: a variant of
 * the demo network with the same detectors (such as one with on-demand bus phases).
 */
export function demoCity(network?: Network): DemoCity {
  if (!network && cache) return cache;
  const known = network && variants.get(network);
  if (known) return known;
  const c = compileNetwork(network ?? loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
  const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
  const plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
  const city = { c, plan, flows: movementFlowsFromLanes(c, plan.laneFlowVehPerH) };
  if (network) variants.set(network, city);
  else cache = city;
  return city;
}

/**
 * What a conflict monitor watching the heads sees, checked after every step: two conflicting
 * phases active (green, yellow or all-red) at once, or a movement going from green to neither
 * green nor yellow.
 */
class ConflictMonitor {
  violations = 0;
  first = '';
  private readonly prevGreen: Uint16Array;

  constructor(
    private readonly c: CompiledNetwork,
    private readonly sim: Simulation,
  ) {
    this.prevGreen = new Uint16Array(c.intersectionCount);
    this.prevGreen.set(sim.signals.greenMask);
  }

  check(): void {
    const { c, sim } = this;
    const h = sim.signals;
    for (let i = 0; i < c.intersectionCount; i++) {
      const active = h.activePhases(i);
      const p0 = c.phaseStart[i]!;
      for (let p = p0; p < c.phaseStart[i + 1]!; p++) {
        const bit = 1 << (p - p0);
        if ((active & bit) !== 0 && (c.phaseConflictMask[p]! & active & ~bit) !== 0) {
          this.violations++;
          this.first ||= `${c.intersectionIds[i]} at ${sim.tS} s: phase ${c.phaseIds[p]} active with a conflicting phase (active ${active.toString(2)})`;
        }
      }
      const cut = this.prevGreen[i]! & ~h.greenMask[i]! & ~h.yellowMask[i]!;
      if (cut !== 0) {
        this.violations++;
        this.first ||= `${c.intersectionIds[i]} at ${sim.tS} s: movements ${cut.toString(2)} went from green to red without yellow`;
      }
      this.prevGreen[i] = h.greenMask[i]!;
    }
  }
}

/**
 * A bus's check-ins with the TSP controller, per signal of its route (slot k): a request once
 * its ETA is within reach, then up to `maxUpdates` updates on the approach, once it is within
 * 15 s of the stop line, if the ETA has moved by more than 3 s.
 */
class CheckIns {
  requests = 0;
  grants = 0;
  readonly byStrategy: Record<string, number> = {};
  /** [bus][slot] → arrival sent (NaN = none yet), and updates sent. */
  private readonly sent: number[][] = [];
  private readonly updates: number[][] = [];

  constructor(
    private readonly tsp: TspController,
    private readonly slots: number,
    private readonly maxUpdates: number,
  ) {}

  get buses(): number {
    return this.sent.length;
  }

  addBus(): void {
    this.sent.push(new Array<number>(this.slots).fill(Number.NaN));
    this.updates.push(new Array<number>(this.slots).fill(0));
  }

  /** Sends `req` (arrival at t + etaS) if a request or an update is due for bus `bus` at slot k. */
  consider(req: TspRequest, bus: number, k: number, etaS: number, t: number): void {
    const sent = this.sent[bus]![k]!;
    const first = Number.isNaN(sent);
    const update = !first && this.updates[bus]![k]! < this.maxUpdates && etaS <= 15 && Math.abs(req.arrivalS - sent) > 3;
    if (!first && !update) return;
    if (update) this.updates[bus]![k] = this.updates[bus]![k]! + 1;
    this.sent[bus]![k] = req.arrivalS;
    this.requests++;
    const d = this.tsp.request({ ...req, arrivalS: round1(req.arrivalS) }, t);
    if (d.granted) {
      this.grants++;
      this.byStrategy[d.strategy] = (this.byStrategy[d.strategy] ?? 0) + 1;
    }
  }
}

/**
 * A bus's ETA at the stop line of its link, as an AVL-based check-in would estimate it: at
 * free-flow speed, plus the dwell at any stop before the stop line (what is left of it while
 * dwelling, the expected dwell before); with `queueAware`, no sooner than the vehicles ahead in
 * its lane can discharge (2 s each).
 */
function busEtaS(sim: Simulation, at: BusPosition, stops: readonly BusStop[], queueAware: boolean): number {
  const top = sim.topology;
  let dwellAheadS = 0;
  for (let q = at.nextStop; q < stops.length; q++) {
    const st = stops[q]!;
    if (st.link !== at.link) continue;
    dwellAheadS += q === at.nextStop && at.dwellLeftS > 0 ? at.dwellLeftS : expectedDwellS(st);
  }
  const freeEta = (top.linkLengthM[at.link]! - at.posM) / top.linkSpeedMps[at.link]! + dwellAheadS;
  return queueAware ? Math.max(freeEta, QUEUE_HEADWAY_S * at.vehiclesAhead) : freeEta;
}

type BusPosition = NonNullable<ReturnType<Simulation['trackedPosition']>>;

/**
 * Runs `sim` to `durationS`: releases a bus every `headwayS` from `warmupS` until `lastBusS`,
 * has the monitor check the heads after every step, and, with TSP on, hands every bus in the
 * network with its position to `onBus` (where it checks in).
 */
function driveBuses(
  sim: Simulation,
  monitor: ConflictMonitor,
  run: { durationS: number; warmupS: number; lastBusS: number; headwayS: number; withTsp: boolean },
  release: () => void,
  onBus: (bus: TrackedVehicle, at: BusPosition, t: number) => void,
): void {
  let nextBusS = run.warmupS;
  while (sim.tS + 1e-9 < run.durationS) {
    if (sim.tS + 1e-9 >= nextBusS && nextBusS <= run.lastBusS) {
      release();
      nextBusS += run.headwayS;
    }
    sim.step();
    monitor.check();
    if (!run.withTsp) continue;
    for (const bus of sim.trackedVehicles()) {
      if (bus.slot < 0) continue;
      const at = sim.trackedPosition(bus.id);
      if (at) onBus(bus, at, sim.tS);
    }
  }
}

/** The outcome of a finished run; general traffic is every completed trip but the tracked vehicles'. */
function runOutcome(sim: Simulation, tsp: TspController, checkIns: CheckIns, monitor: ConflictMonitor): TspRunOutcome {
  const m = sim.metrics();
  let busTrips = 0;
  let busTripDelay = 0;
  for (const b of sim.trackedVehicles()) {
    if (Number.isNaN(b.leaveS)) continue;
    busTrips++;
    for (const a of b.approaches) busTripDelay += a.delayS;
  }
  const vehicles = m.vehiclesCompleted - busTrips;
  return {
    generalDelayPerVehS: (m.meanDelayPerVehS * m.vehiclesCompleted - busTripDelay) / Math.max(1, vehicles),
    generalVehicles: vehicles,
    requests: checkIns.requests,
    grants: checkIns.grants,
    grantsByStrategy: checkIns.byStrategy,
    tspUnsafeRejections: tsp.unsafeRejections,
    headsRejections: sim.signals.scheduleRejections,
    headsScheduleChanges: sim.signals.scheduleChanges,
    safetyViolations: monitor.violations,
    firstViolation: monitor.first,
    firstRejection: sim.signals.firstRejection,
  };
}

export function runTspScenario(s: TspScenario): TspScenarioResult {
  const { c, plan, flows } = demoCity();
  const durationS = s.durationS ?? 3600;
  const warmupS = s.warmupS ?? 600;
  const dwellOn = s.dwell ?? true;
  const drainS = s.drainS ?? 900;
  const checkInEtaS = s.checkInEtaS ?? 60;
  const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: s.seed, detectorIntervalS: 900 });
  const top = sim.topology;
  const corridor = CORRIDOR.map((id) => c.intersectionIds.indexOf(id));
  if (corridor.some((i) => i < 0)) throw new Error('demo city: Renmin Rd corridor not found');
  const corridorIndex = new Map(corridor.map((i, k) => [i, k]));
  let entry = -1;
  for (let l = 0; l < top.linkCount; l++) if (top.linkIntersection[l] === corridor[0] && top.linkApproach[l] === EB) entry = l;
  if (entry < 0) throw new Error('demo city: no eastbound approach at I1');
  const ebLinkInto = (id: string): number => {
    const i = c.intersectionIds.indexOf(id);
    for (let l = 0; l < top.linkCount; l++) if (top.linkIntersection[l] === i && top.linkApproach[l] === EB) return l;
    throw new Error(`demo city: no eastbound approach at ${id}`);
  };
  const stops: readonly BusStop[] =
    dwellOn
      ? FAR_SIDE_STOPS.map((st) => ({
          link: ebLinkInto(CORRIDOR[CORRIDOR.indexOf(st.after) + 1]!),
          positionM: st.positionM,
          doorS: DWELL.doorS,
          boardingSPerPax: DWELL.boardingSPerPax,
          meanBoardings: s.meanBoardings ?? DWELL.meanBoardings,
        }))
      : [];

  const cfg = priorityConfig({ limits: s.limits });
  const tsp = new TspController(c, plan, cfg);
  if (s.withTsp) sim.signals.setScheduleSource((i, tS) => tsp.cycleAt(i, tS));

  const checkIns = new CheckIns(tsp, corridor.length, s.etaUpdates ?? 1);
  const monitor = new ConflictMonitor(c, sim);
  driveBuses(
    sim,
    monitor,
    { durationS, warmupS, lastBusS: durationS - drainS, headwayS: s.busHeadwayS, withTsp: s.withTsp },
    () => {
      sim.addTrackedVehicle(entry, THROUGH, `bus-${checkIns.buses}`, stops);
      checkIns.addBus();
    },
    (bus, at, t) => {
      if (at.movement !== EBT) return;
      const i = top.linkIntersection[at.link]!;
      const k = corridorIndex.get(i);
      if (k === undefined) return;
      const eta = busEtaS(sim, at, stops, s.queueAwareEta ?? true);
      if (eta <= checkInEtaS) checkIns.consider({ vehicleId: bus.label, routeId: 'renmin-eb', tripId: bus.label, intersection: i, movement: EBT, arrivalS: t + eta, latenessS: s.latenessS, occupancy: 40, headwayS: s.busHeadwayS, priorityClass: PriorityClass.Bus }, bus.id, k, eta, t);
    },
  );

  // Buses.
  const buses = sim.trackedVehicles();
  const bySignal = new Float64Array(corridor.length);
  const bySignalN = new Float64Array(corridor.length);
  let busTravel = 0;
  let busDwell = 0;
  let busesCompleted = 0;
  const busDelayAt = new Float64Array(c.intersectionCount * 16);
  for (const b of buses) {
    for (const a of b.approaches) busDelayAt[a.intersection * 16 + a.movement] = busDelayAt[a.intersection * 16 + a.movement]! + a.delayS;
    if (Number.isNaN(b.leaveS)) continue;
    const onCorridor = b.approaches.filter((a) => a.movement === EBT && corridorIndex.has(a.intersection));
    if (onCorridor.length !== corridor.length) continue;
    busesCompleted++;
    busTravel += b.leaveS - b.enterS;
    busDwell += b.dwellServedS;
    for (const a of onCorridor) {
      const k = corridorIndex.get(a.intersection)!;
      bySignal[k] = bySignal[k]! + Math.max(0, a.delayS - a.dwellS);
      bySignalN[k] = bySignalN[k]! + 1;
    }
  }
  let sumBus = 0;
  let nBus = 0;
  for (let k = 0; k < corridor.length; k++) {
    sumBus += bySignal[k]!;
    nBus += bySignalN[k]!;
  }

  // General traffic: everything but the buses.
  const m = sim.metrics();
  let corrDelay = 0;
  let corrVeh = 0;
  for (const mv of m.movements) {
    const i = c.intersectionIds.indexOf(mv.intersectionId);
    if (!corridorIndex.has(i)) continue;
    corrDelay += mv.meanDelayS * mv.vehicles - busDelayAt[i * 16 + mv.movement]!;
    corrVeh += mv.vehicles;
  }
  corrVeh -= buses.reduce((x, b) => x + b.approaches.filter((a) => corridorIndex.has(a.intersection)).length, 0);

  return {
    buses: buses.length,
    busesCompleted,
    busDelayPerSignalS: nBus > 0 ? sumBus / nBus : Number.NaN,
    busDelayBySignalS: Array.from(bySignal, (x, k) => (bySignalN[k]! > 0 ? x / bySignalN[k]! : Number.NaN)),
    busTravelTimeS: busesCompleted > 0 ? busTravel / busesCompleted : Number.NaN,
    busDwellS: busesCompleted > 0 ? busDwell / busesCompleted : Number.NaN,
    corridorGeneralDelayS: corrVeh > 0 ? corrDelay / corrVeh : 0,
    ...runOutcome(sim, tsp, checkIns, monitor),
  };
}


/**
 * Late buses turning left from the eastbound approach of one signal and leaving the corridor:
 * where the signal has an on-demand bus phase for that left (a network variant with
 * `onDemand` phases), priority can insert it; otherwise only extension and early green of the
 * left's regular phase are open. Every `busHeadwayS` a bus enters the eastbound approach link
 * of the next signal of `signals` in turn and checks in for its left there.
 */
export interface LeftTurnScenario extends TspRunOptions {
  /** The demo city or a variant of it with the same detectors (default: the demo city). */
  readonly network?: Network;
  /** Signals whose eastbound left the buses take, in turn (default I1 and I3). */
  readonly signals?: readonly string[];
}

export interface LeftTurnResult extends TspRunOutcome {
  readonly buses: number;
  readonly busesCompleted: number;
  /** Mean bus delay on the approach where it turns left, over completed buses, s. */
  readonly busDelayS: number;
  /** The same per signal of `signals`. */
  readonly busDelayBySignalS: Readonly<Record<string, number>>;
}

const LEFT = 0;
const EBL = EB * 4 + LEFT;

export function runLeftTurnTspScenario(s: LeftTurnScenario): LeftTurnResult {
  const { c, plan, flows } = demoCity(s.network);
  const durationS = s.durationS ?? 3600;
  const warmupS = s.warmupS ?? 600;
  const drainS = s.drainS ?? 600;
  const checkInEtaS = s.checkInEtaS ?? 60;
  const ids = s.signals ?? ['I1', 'I3'];
  const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed: s.seed, detectorIntervalS: 900 });
  const top = sim.topology;
  const signals = ids.map((id) => {
    const i = c.intersectionIds.indexOf(id);
    let link = -1;
    for (let l = 0; l < top.linkCount; l++) if (top.linkIntersection[l] === i && top.linkApproach[l] === EB) link = l;
    if (i < 0 || link < 0) throw new Error(`left-turn scenario: no eastbound approach at ${id}`);
    return { id, i, link };
  });
  const tsp = new TspController(c, plan, priorityConfig({ limits: s.limits }));
  if (s.withTsp) sim.signals.setScheduleSource((i, tS) => tsp.cycleAt(i, tS));
  const checkIns = new CheckIns(tsp, 1, 1);
  const monitor = new ConflictMonitor(c, sim);
  const busSignal: number[] = [];
  driveBuses(
    sim,
    monitor,
    { durationS, warmupS, lastBusS: durationS - drainS, headwayS: s.busHeadwayS, withTsp: s.withTsp },
    () => {
      const k = checkIns.buses % signals.length;
      sim.addTrackedVehicle(signals[k]!.link, LEFT, `bus-${checkIns.buses}`);
      checkIns.addBus();
      busSignal.push(k);
    },
    (bus, at, t) => {
      const sig = signals[busSignal[bus.id]!]!;
      if (at.movement !== EBL || at.link !== sig.link) return;
      const eta = busEtaS(sim, at, [], true);
      if (eta <= checkInEtaS) checkIns.consider({ vehicleId: bus.label, routeId: 'left-eb', tripId: bus.label, intersection: sig.i, movement: EBL, arrivalS: t + eta, latenessS: s.latenessS, occupancy: 40, headwayS: s.busHeadwayS, priorityClass: PriorityClass.Bus }, bus.id, 0, eta, t);
    },
  );

  const buses = sim.trackedVehicles();
  const sum = new Float64Array(signals.length);
  const n = new Float64Array(signals.length);
  for (const b of buses) {
    if (Number.isNaN(b.leaveS)) continue;
    const k = busSignal[b.id]!;
    const a = b.approaches.find((x) => x.intersection === signals[k]!.i && x.movement === EBL);
    if (!a) continue;
    sum[k] = sum[k]! + a.delayS;
    n[k] = n[k]! + 1;
  }
  const completed = n.reduce((x, y) => x + y, 0);
  return {
    buses: buses.length,
    busesCompleted: completed,
    busDelayS: completed > 0 ? sum.reduce((x, y) => x + y, 0) / completed : Number.NaN,
    busDelayBySignalS: Object.fromEntries(signals.map((sig, k) => [sig.id, n[k]! > 0 ? sum[k]! / n[k]! : Number.NaN])),
    ...runOutcome(sim, tsp, checkIns, monitor),
  };
}
