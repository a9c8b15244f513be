/**
 * Runs our simulator on a SUMO scenario as SUMO would run it: the net's
 * signals (its own programs, or the programs of a plan file, replayed
 * letter for letter), the routes file's trips, and SUMO's measure of delay
 * (time loss against driving at each driver's desired speed). Called by
 * `greenwave sim` and bench/fidelity.
 */
import type { CompiledNetwork } from '../../engine/network/compile.js';
import { createPlanBuffer, planAll, PlanScratch } from '../../engine/timing/planner.js';
import { Simulation, type SimMetrics } from '../simulation.js';
import type { DriverModel } from '../vehicles.js';
import { buildTopology } from '../topology.js';
import { compileImport, importSumoNet, type SumoMapping } from './importNet.js';
import { readSumoGraph, readSumoRoutes } from './routes.js';
import { mapTrips } from './routeMap.js';
import { readSumoPrograms, SumoProgramLamps } from './programLamps.js';
import { readSumoNet } from './netXml.js';
import { sumoTurnBays } from './turnBays.js';
import { approachWayLengths } from './netLinks.js';

export interface SumoScenarioOptions {
  readonly seed?: number;
  /** Simulated time to stop at, s; default: until the last trip is due plus an hour, or earlier when everyone has arrived. */
  readonly endS?: number;
  readonly stepS?: number;
  /** SUMO programs to run (additional files' texts, loaded in order as `sumo -a a,b` does); default the net's own. */
  readonly planXml?: string | readonly string[];
  /** Also count the trips finished by this time, s (throughput). */
  readonly snapshotS?: number;
  /** Lane changing along links (simulation.ts option `laneChange`), as SUMO's cars change lanes. Default on. */
  readonly laneChange?: boolean;
  /** With lane changing, begin turn bays where SUMO does (turnBays.ts). Default: with `laneChange`. */
  readonly turnBays?: boolean;
  /**
   * How the drivers drive (simulation.ts option `driver`). Default SUMO's car emulated
   * (vehicles.ts SUMO_DEFAULT_DRIVER) with the routes file's dawdling (its vehicle types' σ ×
   * accel; SUMO's default type's unless the file redefines it): these runs are compared with SUMO's.
   */
  readonly driver?: DriverModel;
}

export interface SumoScenarioResult {
  readonly metrics: SimMetrics;
  /** Mean time loss per finished trip, s: SUMO's `timeLoss` (departure delay not included). */
  readonly meanTimeLossS: number;
  /** Trips finished by `snapshotS` (NaN without it). */
  readonly finishedBySnapshot: number;
  readonly tripsInFile: number;
  readonly tripsSimulated: number;
  /** Trips that drive on no signal approach: not simulated (free flow in our model). */
  readonly tripsUnmodelled: number;
  readonly tripsUnservedTurn: number;
  readonly skipped: ReadonlyMap<string, number>;
  readonly vehicleUpdatesPerS: number;
  readonly wallS: number;
  /** Lane changes along links (option `laneChange`; 0 without). */
  readonly laneChanges: number;
  /** Ids of the simulated trips: the set to compare with SUMO's tripinfo. */
  readonly tripIds: readonly string[];
  /** Each simulated trip's time loss, s (NaN when unfinished), in `tripIds` order. */
  readonly tripTimeLossS: Float64Array;
  readonly notes: readonly string[];
  readonly mapping: SumoMapping;
  readonly compiled: CompiledNetwork;
}

export function runSumoScenario(netXml: string, routesXml: string, opts: SumoScenarioOptions = {}): SumoScenarioResult {
  const imported = importSumoNet(netXml);
  const c = compileImport(imported);
  const graph = readSumoGraph(netXml);
  const demand = readSumoRoutes(routesXml, graph, { seed: opts.seed ?? 1 });
  let programs = readSumoPrograms(netXml, 'SUMO network');
  const planFiles = opts.planXml === undefined ? [] : typeof opts.planXml === 'string' ? [opts.planXml] : opts.planXml;
  planFiles.forEach((xml, k) => (programs = readSumoPrograms(xml, planFiles.length > 1 ? `plan file ${k + 1}` : 'plan file', programs)));
  // The cycle runner needs a plan even when the replayed programs drive the lamps; it is not run.
  const plan = createPlanBuffer(c);
  planAll(c, plan, new PlanScratch());
  const lamps = new SumoProgramLamps(c, imported.mapping, programs);
  // Approach lengths from the net's own edges: the importer's links name only the two signals.
  const sumoNet = readSumoNet(netXml);
  const wayM = approachWayLengths(sumoNet.edges, new Set(imported.mapping.intersections.map((m) => m.junctionId)));
  const approachLengthM = new Map<string, number>();
  for (const m of imported.mapping.intersections) {
    for (const ap of m.approaches) {
      const lengthM = wayM.get(ap.edgeId);
      if (lengthM !== undefined) approachLengthM.set(`${m.intersectionId}:${ap.approach}`, lengthM);
    }
  }
  const mapped = mapTrips(demand.trips, graph, c, buildTopology(c, approachLengthM), imported.mapping);
  const lastDue = mapped.routes.count > 0 ? mapped.routes.entryS[mapped.routes.count - 1]! : 0;
  const endS = opts.endS ?? lastDue + 3600;
  const laneChange = opts.laneChange ?? true;
  const bays = laneChange && (opts.turnBays ?? true) ? sumoTurnBays(sumoNet) : undefined;
  const sim = new Simulation(
    c,
    plan,
    { movementFlowVehPerH: new Float64Array(c.intersectionCount * 16), routes: mapped.routes },
    { seed: opts.seed ?? 1, stepS: opts.stepS ?? 0.5, lamps, maxVehicles: Math.max(1000, mapped.routes.count), laneChange, approachLengthM, driver: opts.driver ?? { speedNoiseMps: demand.dawdleMps.mean, speedFactorMean: demand.speedFactor.mean, speedFactorDev: demand.speedFactor.dev }, ...(bays !== undefined ? { bayLengthM: bays } : {}) },
  );
  const t0 = performance.now();
  // Run to the end, or stop once every trip is in and out.
  const chunkS = 60;
  let finishedBySnapshot = Number.NaN;
  while (sim.tS + 1e-9 < endS) {
    const until = Math.min(endS, sim.tS + chunkS);
    if (opts.snapshotS !== undefined && sim.tS < opts.snapshotS && until >= opts.snapshotS) {
      sim.runUntil(opts.snapshotS);
      finishedBySnapshot = sim.metrics().vehiclesCompleted;
    }
    sim.runUntil(until);
    if (opts.endS === undefined && sim.tS >= lastDue) {
      const m = sim.metrics();
      if (m.vehiclesInNetwork === 0 && m.vehiclesWaitingToEnter === 0) break;
    }
  }
  const wallS = (performance.now() - t0) / 1000;
  const metrics = sim.metrics();
  if (opts.snapshotS !== undefined && Number.isNaN(finishedBySnapshot)) finishedBySnapshot = metrics.vehiclesCompleted;
  // The importer's notes on junctions it left out matter here (their traffic is not simulated); its planning notes do not.
  const notes = imported.mapping.notes.filter((n) => n.startsWith('junction '));
  const dawdle = demand.dawdleMps;
  if (opts.driver === undefined && demand.vehicleTypes > 1) notes.push(`the trips use ${demand.vehicleTypes} vehicle types (dawdling ${dawdle.min.toFixed(2)}–${dawdle.max.toFixed(2)} m/s, σ × accel); every driver here dawdles their mean, ${dawdle.mean.toFixed(2)} m/s, and draws its speed factor from their mean, ${demand.speedFactor.mean.toFixed(2)} ± ${demand.speedFactor.dev.toFixed(2)}`);
  if (lamps.notStatic.length > 0) notes.push(`played at their phase durations (SUMO would run them adaptively): ${lamps.notStatic.join(', ')}`);
  return {
    metrics,
    meanTimeLossS: metrics.meanDelayPerVehS,
    finishedBySnapshot,
    tripsInFile: demand.trips.length,
    tripsSimulated: mapped.routes.count,
    tripsUnmodelled: mapped.unmodelled,
    tripsUnservedTurn: mapped.unservedTurn,
    skipped: demand.skipped,
    vehicleUpdatesPerS: wallS > 0 ? metrics.vehicleUpdates / wallS : 0,
    wallS,
    laneChanges: sim.laneChanges,
    tripIds: mapped.routes.ids,
    tripTimeLossS: sim.tripTimeLossS(),
    notes,
    mapping: imported.mapping,
    compiled: c,
  };
}
