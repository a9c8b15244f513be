/**
 * TSP events in the virtual controller's log (./events.ts). A grant of the engine's TSP
 * controller reaches the controller through the priority link over Modbus, as in
 * ../priorityLink.test.ts; the log shows 112 when its first override is accepted, 114 for
 * an extension or 113 for an early green or an inserted bus phase when the adjusted cycle
 * starts, and 115 at the first cycle zero the schedule no longer adjusts, all under request
 * number 1. The expected times come from the TSP controller's schedule, not from the log. An
 * override the controller refuses logs nothing; manual control checks an open request out.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ControllerServer } from '../modbus/server.js';
import { ControllerClient } from '../modbus/client.js';
import { VirtualController } from './controller.js';
import { PriorityLink } from '../priorityLink.js';
import { TspController } from '../../engine/priority/tsp.js';
import { PriorityClass, priorityConfig } from '../../engine/priority/policy.js';
import { EventCode } from '../../engine/events/codes.js';
import { eventsToCsv, readEventsCsv } from '../../engine/events/csv.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { copyIntersectionPlan } from '../codec.js';
import { ControllerMode } from '../registerMap.js';
import { demo } from '../../test/fixtures/grpc/demo.js';
import { busPhaseDemo } from '../../test/fixtures/busPhaseNetwork.js';
import { checkEventSequences } from '../../test/fixtures/eventSequences.js';
import { measuresReport } from '../../engine/measures/report.js';
import { pedestrianTiming } from '../../engine/events/pedestrian.js';

const EBT = 2 * 4 + 1;
const EBL = 2 * 4 + 0;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** Intersection 0's controller behind a real Modbus TCP port on a manual clock, logging events, with a TSP controller and its link. */
async function rig(net = demo()) {
  const { c, plan } = net;
  const clock = { now: 0 };
  const controller = new VirtualController(c, 0, plan.buffer, { startS: 0, commLossTimeoutS: 0 });
  const log = controller.recordEvents();
  const server = await ControllerServer.start([{ unitId: 1, controller }], { clock: () => clock.now });
  cleanups.push(() => server.close());
  const client = new ControllerClient(c, [{ unitId: 1, intersection: 0, host: '127.0.0.1', port: server.port }], { timeoutMs: 1000, connectTimeoutMs: 1000 });
  cleanups.push(() => client.close());
  const tsp = new TspController(c, plan.buffer, priorityConfig());
  const link = new PriorityLink(c, tsp, client, (i) => (i === 0 ? 1 : undefined));
  return { c, plan, clock, controller, log, client, tsp, link };
}

const tsp = (log: { events: { records(): { eventCode: number; timestampMs: number; eventParam: number }[] } }) =>
  log.events
    .records()
    .filter((r) => r.eventCode >= 112 && r.eventCode <= 115)
    .map((r) => [r.eventCode, r.timestampMs, r.eventParam]);
const ms = (s: number) => Math.round(s * 10) * 100;

describe('virtual controller TSP events', () => {
  test.each([
    { nowS: 240, arrivalS: 250, strategy: 'greenExtension', code: EventCode.TspExtendGreen, movement: EBT, network: demo },
    { nowS: 310, arrivalS: 320, strategy: 'earlyGreen', code: EventCode.TspEarlyGreen, movement: EBT, network: demo },
    { nowS: 200, arrivalS: 220, strategy: 'phaseInsertion', code: EventCode.TspEarlyGreen, movement: EBL, network: busPhaseDemo },
  ])('a granted $strategy: 112 at its first override, $code when the adjusted cycle starts, 115 back on the plan', async ({ nowS, arrivalS, strategy, code, movement, network }) => {
    const r = await rig(network());
    const { controller, log, tsp: engine, link, clock } = r;
    clock.now = nowS;
    controller.tick(nowS);
    const d = engine.request({ vehicleId: 'bus-1', routeId: '7', tripId: 't1', intersection: 0, movement, arrivalS, latenessS: 120, occupancy: 30, headwayS: 0, priorityClass: PriorityClass.Bus }, nowS);
    expect(d).toMatchObject({ granted: true, strategy });
    const first = await link.sync(0, nowS);
    expect(first.sent.length).toBeGreaterThan(0);
    // From the schedule: the first adjusted cycle (the running one, else the next), and the
    // first cycle after it that the schedule runs as planned.
    const cur = engine.cycleAt(0, nowS);
    const adjustedFromS = cur.adjusted ? nowS : cur.startS + cur.layout.cycleS;
    let s = cur.startS + cur.layout.cycleS;
    while (engine.cycleAt(0, s + 1e-6).adjusted) s += engine.cycleAt(0, s + 1e-6).layout.cycleS;
    const endS = s + 1;
    for (let t = nowS + 0.25; t < endS; t += 0.25) {
      clock.now = t;
      controller.tick(t);
      if (Math.abs(t - Math.round(t)) < 1e-9) await link.sync(0, t);
    }
    log.flush(endS);
    expect(link.failures).toEqual([]);
    expect(tsp(log)).toEqual([
      [EventCode.TspCheckIn, ms(nowS), 1],
      [code, ms(adjustedFromS), 1],
      [EventCode.TspCheckOut, ms(s), 1],
    ]);
    const report = checkEventSequences(log.events);
    expect(report.problems).toEqual([]);
    expect(report.tspCheckIns).toBe(1);
    // The ATSPM CSV carries them unchanged.
    expect(readEventsCsv(eventsToCsv(log.events)).records()).toEqual(log.events.records());
    // The measures read the request back: one, adjusted as granted, served from check-in to check-out.
    const measures = measuresReport(r.c, log.events);
    expect(measures.tsp).toHaveLength(1);
    expect(measures.tsp[0]).toMatchObject({ requests: 1, checkedOut: 1, open: 0, earlyGreens: code === EventCode.TspEarlyGreen ? 1 : 0, extendGreens: code === EventCode.TspExtendGreen ? 1 : 0 });
    expect(measures.tsp[0]!.meanServiceS).toBeCloseTo((ms(s) - ms(nowS)) / 1000, 6);
    // Walks run on recall (no push buttons), each as long as the network's walk and clearance.
    const timing = pedestrianTiming(r.c);
    const peds = measures.phases.filter((p) => p.pedestrian !== undefined);
    expect(peds.length).toBeGreaterThan(0);
    for (const p of peds) {
      const g = r.c.phaseIds.indexOf(p.phaseId, r.c.phaseStart[0]!);
      const d = p.pedestrian!;
      expect(d.walks).toBeGreaterThan(0);
      expect(d).toMatchObject({ walksOnRecall: d.walks, calls: 0, servedCalls: 0 });
      expect(d.meanWalkS).toBeCloseTo(timing.walkS[g]!, 6);
      expect(d.minClearanceS).toBeCloseTo(timing.walkAndClearanceS[g]! - timing.walkS[g]!, 6);
    }
  });

  test('a refused override logs nothing; manual control checks an open request out; the next request is number 2', async () => {
    const { c, plan, clock, controller, log, client } = await rig();
    clock.now = 270; // second cycle (the first is the power-up all-red): S1 has ended, S2 is green
    controller.tick(270);
    const bad = createPlanBuffer(c);
    copyIntersectionPlan(c, 0, plan.buffer, bad);
    const p0 = c.phaseStart[0]!;
    // A rewrite of the past (the ended S1 shortened): refused, no request.
    bad.phaseGreenS[p0] = bad.phaseGreenS[p0]! - 2;
    bad.phaseStartS[p0 + 1] = bad.phaseStartS[p0 + 1]! - 2;
    bad.phaseGreenS[p0 + 1] = bad.phaseGreenS[p0 + 1]! + 2;
    await expect(client.pushOverride(1, bad, 'now', 0x8001)).rejects.toThrow();
    expect(tsp(log)).toEqual([]);
    // The same cycle for next time is accepted: a check-in now; manual control at 280 s drops it.
    await client.pushOverride(1, bad, 'next', 0x8002);
    clock.now = 280;
    controller.tick(280);
    const lamps = controller.lamps();
    controller.forceOutputs(lamps.green, lamps.yellow);
    expect(controller.state().mode).toBe(ControllerMode.Manual);
    // Released mid-green straight to all red: the monitor flashes (no yellow); a reset clears it.
    controller.releaseManual();
    expect(controller.state().mode).toBe(ControllerMode.Flash);
    controller.resetFault();
    await client.pushOverride(1, bad, 'next', 0x8003);
    expect(tsp(log)).toEqual([
      [EventCode.TspCheckIn, ms(270), 1],
      [EventCode.TspCheckOut, ms(280), 1],
      [EventCode.TspCheckIn, ms(280), 2],
    ]);
  });
});
