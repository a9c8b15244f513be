/**
 * `greenwave sim`: our microsimulator on any SUMO scenario, reported the way
 * SUMO reports it, so the two can be put side by side.
 *   greenwave sim --net X.net.xml --routes Y.rou.xml [--plan plan.add.xml] [--seed N] [--end S] [--step 0.5] [--no-lane-change] [--driver sumo|greenwave] [--json]
 * Called by cli/main.ts.
 */
import { parseArgs } from 'node:util';
import { readText } from './io.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';
import { runSumoScenario } from '../simulator/sumo/scenario.js';
import { roundTo } from '../engine/numeric.js';
import { GREENWAVE_DRIVER } from '../simulator/vehicles.js';

export const SIM_USAGE = `usage:
  greenwave sim --net <x.net.xml> --routes <y.rou.xml> [--plan <plan.add.xml>[,more.add.xml]] [--seed N] [--end S] [--step 0.5] [--no-lane-change] [--driver sumo|greenwave] [--json]
      Runs greenwave's microsimulator on a SUMO scenario: the routes file's
      vehicles, trips (routed on the fastest path) and flows, on the net's own
      signal programs or, with --plan, the programs of an additional file (as
      \`greenwave sumo plan\` writes them; several comma-separated, in order, as
      sumo -a takes them), replayed phase by phase. Prints the
      mean time loss per finished trip as SUMO defines it (time lost against
      each driver's desired speed; waiting to enter not included), the trips
      inserted and finished, and the vehicle updates per second.
      Only signal approaches are modelled: trips that drive on none are not
      simulated, and time lost away from signals (unsignalised junctions) is
      not counted but for what its drivers lose there at free flow. --end:
      simulated time to stop at, s (default: when every trip is done, at most
      an hour after the last departure). Vehicles change lanes along links
      (strategic and for speed gain, as SUMO's do) and turn bays begin where
      SUMO's do; --no-lane-change keeps every vehicle in its lane
      (--lane-change, the default, is still accepted).
      --driver: sumo (default) emulates SUMO's car, whose dawdling below its
      desired speed SUMO counts as time loss (as much as the routes file's
      vehicle types' sigma × accel say, and at their speedFactor and
      speedDev; SUMO's default type's unless redefined); greenwave: the
      project's own drivers, who hold their desired speed.
`;

function usage(message: string): GreenwaveError {
  return new GreenwaveError(ErrorCode.InvalidInput, `${message}\n\n${SIM_USAGE}`);
}

function numberFlag(value: string | undefined, flag: string, ok: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && ok(n))) throw usage(`${flag} "${value}": expected ${what}`);
  return n;
}

/** Options of `greenwave sim`. */
export const SIM_OPTIONS = { net: { type: 'string' }, routes: { type: 'string' }, plan: { type: 'string' }, seed: { type: 'string' }, end: { type: 'string' }, step: { type: 'string' }, 'lane-change': { type: 'boolean' }, 'no-lane-change': { type: 'boolean' }, driver: { type: 'string' }, json: { type: 'boolean' } } as const;

export function cmdSim(args: string[], out: (s: string) => void): number {
  const { values } = parseArgs({
    args,
    options: SIM_OPTIONS,
  });
  if (!values.net) throw usage('sim: --net is required');
  if (!values.routes) throw usage('sim: --routes is required');
  const seed = numberFlag(values.seed, '--seed', (n) => Number.isInteger(n) && n >= 0, 'a whole number ≥ 0');
  const endS = numberFlag(values.end, '--end', (n) => n > 0, 'a positive number of seconds');
  const stepS = numberFlag(values.step, '--step', (n) => n > 0 && n <= 1, 'a step in (0, 1] s');
  if (values.driver !== undefined && values.driver !== 'sumo' && values.driver !== 'greenwave') throw usage(`--driver "${values.driver}": expected sumo or greenwave`);
  // sumo: the scenario's default (SUMO's car with the routes file's dawdling).
  const driver = values.driver === 'greenwave' ? { driver: GREENWAVE_DRIVER } : {};
  if (values['lane-change'] && values['no-lane-change']) throw usage('sim: --lane-change and --no-lane-change exclude each other');
  const netXml = readText(values.net, 'SUMO network');
  const routesXml = readText(values.routes, 'SUMO routes');
  // Like sumo -a: several additional files, comma-separated, loaded in order (tlsCoordinator's offsets after the programs).
  const planXml = values.plan !== undefined ? values.plan.split(',').map((p) => readText(p, 'plan file')) : undefined;
  let r: ReturnType<typeof runSumoScenario>;
  try {
    r = runSumoScenario(netXml, routesXml, { ...(seed !== undefined ? { seed } : {}), ...(endS !== undefined ? { endS } : {}), ...(stepS !== undefined ? { stepS } : {}), ...(planXml !== undefined ? { planXml } : {}), laneChange: values['no-lane-change'] !== true, ...driver });
  } catch (e: unknown) {
    if (e instanceof GreenwaveError && e.code === ErrorCode.InvalidInput) throw new GreenwaveError(e.code, `${values.net} / ${values.routes}${values.plan ? ` / ${values.plan}` : ''}: ${e.message}`, e.issues, { cause: e });
    throw e;
  }
  const m = r.metrics;
  const report = {
    meanTimeLossS: roundTo(r.meanTimeLossS, 2),
    meanTimeLossOffNetworkS: roundTo(m.meanOutsideDelayPerVehS, 2),
    tripsInFile: r.tripsInFile,
    tripsSimulated: r.tripsSimulated,
    tripsInserted: m.vehiclesEntered,
    tripsFinished: m.vehiclesCompleted,
    tripsRunning: m.vehiclesInNetwork,
    tripsWaitingToEnter: m.vehiclesWaitingToEnter,
    tripsUnmodelled: r.tripsUnmodelled,
    tripsUnservedTurn: r.tripsUnservedTurn,
    skipped: Object.fromEntries(r.skipped),
    meanTravelTimeS: roundTo(m.meanTravelTimeS, 2),
    stopsPerVeh: roundTo(m.stopsPerVeh, 3),
    laneChanges: r.laneChanges,
    drivers: values.driver === 'greenwave' ? 'greenwave' : 'sumo',
    simulatedS: m.simulatedS,
    vehicleUpdates: m.vehicleUpdates,
    vehicleUpdatesPerS: Math.round(r.vehicleUpdatesPerS),
    wallS: roundTo(r.wallS, 3),
    signals: m.intersections.map((x) => ({ id: x.id, vehicles: x.vehicles, meanDelayS: roundTo(x.meanDelayS, 2), stopsPerVeh: roundTo(x.stopsPerVeh, 3) })),
    notes: r.notes,
  };
  if (values.json) {
    out(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  out(`mean time loss      ${report.meanTimeLossS.toFixed(2)} s/veh (SUMO's timeLoss, over ${report.tripsFinished} finished trips; ${report.meanTimeLossOffNetworkS.toFixed(2)} s of it charged for route parts not simulated)\n`);
  out(`trips               ${report.tripsInFile} in file, ${report.tripsSimulated} simulated, ${report.tripsInserted} inserted, ${report.tripsFinished} finished, ${report.tripsRunning} still running, ${report.tripsWaitingToEnter} waiting to enter\n`);
  if (report.tripsUnmodelled > 0) out(`                    ${report.tripsUnmodelled} drive on no signal approach (not simulated)\n`);
  if (report.tripsUnservedTurn > 0) out(`                    ${report.tripsUnservedTurn} make a turn no modelled lane serves (not simulated)\n`);
  for (const [why, n] of r.skipped) out(`                    ${n} skipped: ${why}\n`);
  out(`drivers             ${values.driver === 'greenwave' ? "greenwave's own" : "SUMO's default car emulated"}, ${values['no-lane-change'] ? 'no lane changes' : `${report.laneChanges} lane changes along links`}\n`);
  out(`simulated           ${report.simulatedS} s in ${report.wallS} s: ${report.vehicleUpdates} vehicle updates, ${(report.vehicleUpdatesPerS / 1e6).toFixed(2)} M/s\n`);
  out(`per signal          approach delay s/veh (vehicles)\n`);
  for (const s of report.signals) out(`  ${s.id.padEnd(18)}${s.meanDelayS.toFixed(1).padStart(8)} (${s.vehicles})\n`);
  for (const note of r.notes) out(`note: ${note}\n`);
  return 0;
}

