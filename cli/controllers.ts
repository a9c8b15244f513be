/**
 * `greenwave controllers --virtual N [--port P] [--host H] [--network net.json] [--snmp-port S] [--time-scale K] [--idle-timeout-s T] [--parking F]`:
 * starts N virtual signal controllers (the first N intersections of the
 * network, demo city by default) behind one Modbus TCP port, unit id =
 * intersection index + 1, on the real clock. Prints the port and unit ids;
 * Ctrl-C (SIGINT) or SIGTERM stops them cleanly. See docs/modbus-register-map.md.
 * With --snmp-port S each controller also gets an NTCIP 1202 SNMP agent
 * (docs/ntcip.md) on UDP port S + unit − 1 (S = 0: an ephemeral port each).
 * --time-scale K runs the controllers' clock K times faster than real time
 * (default 1): for demonstrations and tests that must see several cycles.
 * --idle-timeout-s T closes a Modbus TCP connection with no request for T s
 * (default 60; 0 = never; docs/modbus-register-map.md, "Modbus TCP transport").
 * --counts F --time-of-day: a day plan from a day of counts (engine/dayPlan.ts):
 * each controller starts on the period in effect now and holds the day's
 * time-of-day table (Modbus holding 248..280); with --snmp-port its agent
 * serves the day plan as an NTCIP time base (patterns, actions, day plan).
 * Every controller records its high-resolution event log and serves it as the register
 * map's event FIFO (holding 282..406), which `greenwave serve --controllers` collects.
 * --parking F: a virtual guidance sign (controllers-adapter/virtual/sign.ts) for every sign
 * of the parking file with a `unitId`, on the same port (unit ids must not be the
 * controllers'); point the signs' `endpoint` at this port for `serve --parking F` to push them.
 */
import { parseArgs } from 'node:util';
import { readText } from './io.js';
import { GreenwaveError, ErrorCode, formatIssues } from '../engine/errors.js';
import { loadCompiledNetwork } from '../engine/network/load.js';
import { planNetwork } from '../engine/plan.js';
import type { PlanBuffer } from '../engine/timing/planner.js';
import { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { MAX_UNIT_ID } from '../controllers-adapter/registerMap.js';
import { NtcipAgent } from '../controllers-adapter/ntcip/agent.js';
import { prepareCounts } from '../engine/demand.js';
import { planDay, type TimeOfDayPlan } from '../engine/dayPlan.js';
import { IssueList } from '../engine/errors.js';
import { dayPlanEvents, encodeTimeOfDayTable, type DayPlanPeriod } from '../controllers-adapter/dayPlan.js';
import { timeBaseTables } from '../controllers-adapter/ntcip/timeBase.js';
import { ntcipMinimumCycleS } from '../controllers-adapter/ntcip/convert.js';
import { HR_TOD } from '../controllers-adapter/registerMap.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { loadCompiledParking } from '../engine/parking/load.js';

export const DEFAULT_CONTROLLERS_NETWORK = 'examples/demo-city/network.json';
/** Local plan demand when no counts are given: veh per 15 min per detector, and the simulated detector rate. */
const LOCAL_PLAN_VOLUME_VEH = 60;
const DETECTOR_VEH_PER_H = 240;

export interface VirtualFleetOptions {
  readonly count: number;
  readonly port: number;
  readonly host: string;
  readonly networkPath: string;
  /** First SNMP (NTCIP) agent port; undefined = no SNMP. */
  readonly snmpPort?: number;
  /** Controller seconds per real second (default 1). */
  readonly timeScale?: number;
  /** Modbus TCP idle timeout, ms (default: the server's, 60 s; 0 = never). */
  readonly idleTimeoutMs?: number;
  /** A day of counts to build a time-of-day plan from (with timeOfDay). */
  readonly countsPath?: string;
  readonly timeOfDay?: boolean;
  /** Vehicles per hour each detector counts by itself (default 240); 0 when something else feeds the detectors (greenwave demo's simulator). */
  readonly detectorVehPerH?: number;
  /** A parking file: its signs with a unit id are served as virtual signs on the same port. */
  readonly parkingPath?: string;
}

export interface VirtualFleet {
  readonly server: ControllerServer<VirtualController | VirtualSign>;
  /** The virtual guidance signs (with --parking), by sign id. */
  readonly signs: ReadonlyArray<{ unitId: number; signId: string; sign: VirtualSign }>;
  readonly units: ReadonlyArray<{ unitId: number; intersectionId: string; snmpPort?: number }>;
  /** The day plan's periods (with --counts --time-of-day). */
  readonly periods?: readonly TimeOfDayPlan[];
  /** The controllers, by unit id − 1 (intersection index): to feed their detectors. */
  readonly controllers: readonly VirtualController[];
  stop(): Promise<void>;
}

/** Options of `greenwave controllers`. */
export const CONTROLLERS_OPTIONS = {
      virtual: { type: 'string' },
      port: { type: 'string', default: '1502' },
      host: { type: 'string', default: '127.0.0.1' },
      network: { type: 'string', default: DEFAULT_CONTROLLERS_NETWORK },
      'snmp-port': { type: 'string' },
      'time-scale': { type: 'string', default: '1' },
      'idle-timeout-s': { type: 'string' },
      counts: { type: 'string' },
      'time-of-day': { type: 'boolean', default: false },
      parking: { type: 'string' },
    } as const;

export function parseControllersArgs(args: string[]): VirtualFleetOptions {
  const { values } = parseArgs({
    args,
    options: CONTROLLERS_OPTIONS,
  });
  if (values['time-of-day'] !== (values.counts !== undefined)) throw new GreenwaveError(ErrorCode.InvalidInput, 'controllers: --counts and --time-of-day go together (a day plan from a day of counts)');
  if (values.virtual === undefined) throw new GreenwaveError(ErrorCode.InvalidInput, 'controllers: --virtual N is required (only virtual controllers are supported)');
  const count = Number(values.virtual);
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_UNIT_ID)) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --virtual ${values.virtual} must be an integer within [1, ${MAX_UNIT_ID}]`);
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --port ${values.port} must be an integer within [0, 65535] (0 = any free port)`);
  let snmpPort: number | undefined;
  if (values['snmp-port'] !== undefined) {
    snmpPort = Number(values['snmp-port']);
    if (!(Number.isInteger(snmpPort) && snmpPort >= 0 && (snmpPort === 0 || snmpPort + count - 1 <= 65535))) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --snmp-port ${values['snmp-port']} must be 0 (any free ports) or a port such that ports ${values['snmp-port']}..+${count - 1} fit within 65535`);
  }
  const timeScale = Number(values['time-scale']);
  if (!(Number.isFinite(timeScale) && timeScale >= 0.01 && timeScale <= 1000)) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --time-scale ${values['time-scale']} must be a number within [0.01, 1000]`);
  let idleTimeoutMs: number | undefined;
  if (values['idle-timeout-s'] !== undefined) {
    const t = Number(values['idle-timeout-s']);
    if (!(Number.isFinite(t) && t >= 0 && t <= 86_400)) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --idle-timeout-s ${values['idle-timeout-s']} must be a number of seconds within [0, 86400] (0 = never)`);
    idleTimeoutMs = Math.round(t * 1000);
  }
  return { count, port, host: values.host, networkPath: values.network, ...(snmpPort === undefined ? {} : { snmpPort }), ...(timeScale === 1 ? {} : { timeScale }), ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }), ...(values.counts === undefined ? {} : { countsPath: values.counts, timeOfDay: true }), ...(values.parking === undefined ? {} : { parkingPath: values.parking }) };
}

/** Starts the fleet on the real clock (10 Hz ticks). */
export async function startVirtualControllers(o: VirtualFleetOptions): Promise<VirtualFleet> {
  const c = loadCompiledNetwork(o.networkPath);
  if (o.count > c.intersectionCount) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: --virtual ${o.count}, but ${o.networkPath} has ${c.intersectionCount} intersections`);
  const scale = o.timeScale ?? 1;
  const t0S = Date.now() / 1000;
  const clock = (): number => t0S + (Date.now() / 1000 - t0S) * scale;
  const now = clock();
  // Local plan: the day plan's period in effect now (clock in UTC minutes of the day), or a fixed demand.
  let periods: TimeOfDayPlan[] | undefined;
  let dayPeriods: DayPlanPeriod[] = [];
  let buffer: PlanBuffer;
  if (o.countsPath && o.timeOfDay) {
    // No cycle shorter than an NTCIP controller accepts (its phase minimums count walk and pedestrian clearance on top of min green).
    const cycleLimitMinS = Float64Array.from(c.intersectionIds, (_, i) => (i < o.count ? ntcipMinimumCycleS(c, i) : Number.NaN));
    periods = planDay(c, prepareCounts(c, readText(o.countsPath, 'counts'), o.countsPath).faults, { cycleLimitMinS });
    dayPeriods = periods.map((p) => ({ startMin: p.period.startMin, plan: p.plan.buffer, id: p.period.id }));
    const minute = Math.floor(now / 60) % 1440;
    const current = [...dayPeriods].sort((a, b) => a.startMin - b.startMin).reduce((cur, p) => (p.startMin <= minute ? p : cur), dayPeriods.reduce((a, b) => (b.startMin > a.startMin ? b : a)));
    buffer = current.plan;
  } else buffer = planNetwork(c, new Float64Array(c.detectorIds.length).fill(LOCAL_PLAN_VOLUME_VEH), 900).buffer;
  const bindings = [];
  for (let i = 0; i < o.count; i++) bindings.push({ unitId: i + 1, controller: new VirtualController(c, i, buffer, { startS: now, detectorVehPerH: o.detectorVehPerH ?? DETECTOR_VEH_PER_H }) });
  // Each controller logs its events and serves them on Modbus (holding 282..406), for central to collect.
  for (const b of bindings) b.controller.serveEventLog();
  if (periods) {
    const table = encodeTimeOfDayTable(dayPlanEvents(dayPeriods));
    for (const b of bindings) b.controller.writeHolding(HR_TOD, table);
  }
  // The parking file's signs, each on its unit id: never one of the controllers'.
  const signs: { unitId: number; signId: string; sign: VirtualSign }[] = [];
  if (o.parkingPath !== undefined) {
    const parking = loadCompiledParking(o.parkingPath, c);
    parking.file.signs.forEach((s, k) => {
      if (s.unitId === undefined) return;
      if (s.unitId <= o.count) throw new GreenwaveError(ErrorCode.InvalidInput, `${o.parkingPath}: signs[${k}].unitId: unit ${s.unitId} is controller ${c.intersectionIds[s.unitId - 1]}'s on this port (--virtual ${o.count}): give the sign a unit id above ${o.count}`, [{ path: `signs[${k}].unitId`, message: `unit ${s.unitId} is a controller's` }]);
      signs.push({ unitId: s.unitId, signId: s.id, sign: new VirtualSign(now) });
    });
  }
  const server = await ControllerServer.start<VirtualController | VirtualSign>([...bindings, ...signs.map((s) => ({ unitId: s.unitId, controller: s.sign }))], { host: o.host, port: o.port, clock, ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }) });
  // One NTCIP agent per controller on consecutive UDP ports (each agent is one controller, as in the field).
  const agents: NtcipAgent[] = [];
  if (o.snmpPort !== undefined) {
    try {
      for (const b of bindings) {
        let dayPlan: ReturnType<typeof timeBaseTables>;
        if (periods) {
          const issues = new IssueList();
          dayPlan = timeBaseTables(c, b.controller.intersection, dayPeriods, issues);
          if (!dayPlan) throw new GreenwaveError(ErrorCode.InvalidInput, `controllers: the day plan of ${c.intersectionIds[b.controller.intersection]} cannot be served as an NTCIP time base\n${formatIssues(issues.items)}`, issues.items);
        }
        agents.push(await NtcipAgent.start(b.controller, { host: o.host, port: o.snmpPort === 0 ? 0 : o.snmpPort + b.unitId - 1, clock, ...(dayPlan ? { dayPlan } : {}) }));
      }
    } catch (e: unknown) {
      await Promise.all(agents.map((a) => a.close()));
      await server.close();
      throw e;
    }
  }
  const ticker = setInterval(() => server.tick(clock()), 100);
  let stopped: Promise<void> | undefined;
  return {
    server,
    signs,
    units: bindings.map((b, i) => ({ unitId: b.unitId, intersectionId: c.intersectionIds[i]!, ...(agents[i] ? { snmpPort: agents[i].port } : {}) })),
    ...(periods ? { periods } : {}),
    controllers: bindings.map((b) => b.controller),
    stop: () => {
      stopped ??= (async () => {
        clearInterval(ticker);
        await Promise.all(agents.map((a) => a.close()));
        await server.close();
      })();
      return stopped;
    },
  };
}

/** CLI entry: starts the fleet, prints where it listens, stops on SIGINT/SIGTERM. Returns at once; the port keeps the process alive. */
export function cmdControllers(args: string[], out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const opts = parseControllersArgs(args);
  startVirtualControllers(opts).then(
    (fleet) => {
      out(`greenwave controllers: ${fleet.units.length} virtual controllers on modbus tcp ${fleet.server.host}:${fleet.server.port}\n`);
      if (fleet.periods) out(`day plan: ${fleet.periods.map((p) => `${p.period.label} from ${String(Math.floor(p.period.startMin / 60)).padStart(2, '0')}:${String(p.period.startMin % 60).padStart(2, '0')}`).join(', ')} (Modbus holding ${HR_TOD}.., NTCIP time base)\n`);
      for (const u of fleet.units) out(`  unit ${u.unitId}  intersection ${u.intersectionId}${u.snmpPort !== undefined ? `  ntcip snmp udp ${fleet.server.host}:${u.snmpPort} (public / private)` : ''}\n`);
      for (const s of fleet.signs) out(`  unit ${s.unitId}  guidance sign ${s.signId}\n`);
      out('Ctrl-C to stop\n');
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void fleet.stop().then(() => out('greenwave controllers: stopped\n'));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (e: unknown) => {
      const ge = GreenwaveError.from(e);
      err(`greenwave: error [${ge.code}]: ${ge.message}\n`);
      // Bad input (a missing or invalid file) exits 2, as every other command does.
      process.exitCode = ge.code === ErrorCode.InvalidInput || ge.code === ErrorCode.Io ? 2 : 1;
    },
  );
  return 0;
}
