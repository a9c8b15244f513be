import { afterEach, describe, expect, test } from 'vitest';
import { ControllerServer } from './modbus/server.js';
import { ControllerClient } from './modbus/client.js';
import { VirtualController } from './virtual/controller.js';
import { PriorityLink } from './priorityLink.js';
import { ControllerError, ControllerErrorReason } from './errors.js';
import { CommitStatus } from './registerMap.js';
import { TspController } from '../engine/priority/tsp.js';
import { PriorityClass, priorityConfig } from '../engine/priority/policy.js';
import { createPlanBuffer } from '../engine/timing/planner.js';
import { copyIntersectionPlan } from './codec.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { busPhaseDemo } from '../test/fixtures/busPhaseNetwork.js';
import { mod } from '../engine/numeric.js';

const EBT = 2 * 4 + 1;
const EBL = 2 * 4 + 0;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** One controller for intersection 0 of the demo city behind a real Modbus TCP port, on a manual clock. */
async function rig(net = demo()) {
  const { c, plan } = net;
  const clock = { now: 0 };
  const controller = new VirtualController(c, 0, plan.buffer, { startS: 0, commLossTimeoutS: 0 });
  const server = await ControllerServer.start([{ unitId: 1, controller }], { clock: () => clock.now });
  cleanups.push(() => server.close());
  const client = new ControllerClient(c, [{ unitId: 1, intersection: 0, host: '127.0.0.1', port: server.port }], { timeoutMs: 1000, connectTimeoutMs: 1000 });
  cleanups.push(() => client.close());
  const tsp = new TspController(c, plan.buffer, priorityConfig());
  const link = new PriorityLink(c, tsp, client, (i) => (i === 0 ? 1 : undefined));
  return { c, plan, clock, controller, client, tsp, link };
}

/** Movements the schedule has green at t (bit = movement), from the TSP controller's cycle layout. */
function scheduledGreens(r: Awaited<ReturnType<typeof rig>>, t: number): number {
  const { c, tsp } = r;
  const cyc = tsp.cycleAt(0, t);
  const tau = t - cyc.startS;
  let green = 0;
  for (let k = 0; k < cyc.layout.greenS.length; k++) {
    const p = c.phaseStart[0]! + k;
    if (tau >= cyc.layout.startS[k]! && tau < cyc.layout.startS[k]! + cyc.layout.greenS[k]!) green |= c.phaseProtectedMask[p]! | c.phasePermittedMask[p]!;
  }
  return green;
}

describe('transit priority reaches the controller over Modbus', () => {
  // As in engine/priority/tsp.test.ts, one cycle later (the controller's first cycle is its
  // power-up all-red): a bus just missing the EB green gets an extension of S2, which S2 pays
  // back; a bus in the red gets an early green, and S1 gets its time back over two cycles
  // (unlike anything the controller's own offset correction would do). With the on-demand bus
  // stage S2B, a left-turning bus in the main-street stage gets S2B inserted after a shortened S2.
  test.each([
    { nowS: 240, arrivalS: 250, strategy: 'greenExtension', movement: EBT, network: demo },
    { nowS: 310, arrivalS: 320, strategy: 'earlyGreen', movement: EBT, network: demo },
    { nowS: 200, arrivalS: 220, strategy: 'phaseInsertion', movement: EBL, network: busPhaseDemo },
  ])('a granted $strategy and its compensation run on the controller, lamp for lamp, and it ends on the offset', async ({ nowS, arrivalS, strategy, movement, network }) => {
    const r = await rig(network());
    const { controller, tsp, link, clock, plan } = r;
    clock.now = nowS;
    controller.tick(nowS);
    const d = tsp.request({ vehicleId: 'bus-1', routeId: '7', tripId: 't1', intersection: 0, movement, arrivalS, latenessS: 120, occupancy: 30, headwayS: 0, priorityClass: PriorityClass.Bus }, nowS);
    expect(d).toMatchObject({ granted: true, strategy });
    const first = await link.sync(0, nowS);
    expect(link.failures).toEqual([]);
    expect(first.sent.map((s) => s.when)).toContain('now');
    expect(controller.runningCycle().cycleS).toBeCloseTo(tsp.cycleAt(0, nowS).layout.cycleS, 6);
    // Walk 5 cycles in quarter seconds (off the tenth-second boundaries); sync twice a second.
    let mismatches = 0;
    let checked = 0;
    for (let t = nowS + 0.25; t < nowS + 810; t += 0.25) {
      clock.now = t;
      controller.tick(t);
      if (Math.abs(t - Math.round(t)) < 1e-9 || Math.abs(t - Math.floor(t) - 0.5) < 1e-9) await link.sync(0, t);
      if (controller.lamps().green !== scheduledGreens(r, t)) mismatches++;
      checked++;
    }
    expect(link.failures).toEqual([]);
    expect(checked).toBeGreaterThan(3000);
    expect(controller.overridesRun).toBeGreaterThanOrEqual(2);
    expect(mismatches).toBe(0);
    const st = controller.state();
    expect(st.faults).toBe(0);
    expect(st.mode).toBe(0);
    // Back on the base plan and its offset: the running cycle starts on the offset grid.
    const run = controller.runningCycle();
    const C = plan.buffer.cycleS[0]!;
    expect(run.cycleS).toBeCloseTo(C, 6);
    const off = mod(run.startS - plan.buffer.offsetS[0]!, C);
    expect(Math.min(off, C - off)).toBeLessThan(0.05);
  });

  test('an override that disagrees with what the cycle has already timed is refused and changes nothing', async () => {
    const { c, plan, clock, controller, client } = await rig();
    clock.now = 270; // I1, second cycle (the first is the power-up all-red): S1 has ended, S2 is green
    controller.tick(270);
    const before = controller.runningCycle();
    const bad = createPlanBuffer(c);
    copyIntersectionPlan(c, 0, plan.buffer, bad);
    // Shift green from the phase that already ran to one still to come: a rewrite of the past.
    const p0 = c.phaseStart[0]!;
    bad.phaseGreenS[p0] = bad.phaseGreenS[p0]! - 2;
    bad.phaseStartS[p0 + 1] = bad.phaseStartS[p0 + 1]! - 2;
    bad.phaseGreenS[p0 + 1] = bad.phaseGreenS[p0 + 1]! + 2;
    const err = await client.pushOverride(1, bad, 'now', 0x8001).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ControllerError);
    expect((err as ControllerError).reason).toBe(ControllerErrorReason.PlanRejected);
    expect((err as ControllerError).commitStatus).toBe(CommitStatus.OverrideIncompatible);
    expect(controller.runningCycle()).toEqual(before);
    expect(controller.state().faults & 8).toBe(8);
    // The same timing for the next cycle is fine: nothing of it has run yet.
    const ok = await client.pushOverride(1, bad, 'next', 0x8002);
    expect(ok.commitStatus).toBe(CommitStatus.OverridePending);
  });

  test('fenced: while mayWrite says no (a cluster node that lost the region) nothing is written; once it says yes, the grant is sent', async () => {
    const { c, controller, client, tsp, clock } = await rig();
    let may = false;
    const link = new PriorityLink(c, tsp, client, (i) => (i === 0 ? 1 : undefined), () => may);
    clock.now = 240;
    controller.tick(240);
    expect(tsp.request({ vehicleId: 'bus-1', routeId: '7', tripId: 't1', intersection: 0, movement: EBT, arrivalS: 250, latenessS: 120, occupancy: 30, headwayS: 0, priorityClass: PriorityClass.Bus }, 240)).toMatchObject({ granted: true });
    expect((await link.sync(0, 240)).sent).toEqual([]);
    expect(controller.overrideCommits).toEqual([]);
    expect(link.failures.join('\n')).toMatch(/may no longer write/);
    may = true;
    // The schedule is unchanged since, so only the next (adjusted) cycle is due; the running one was never sent.
    const sent = await link.sync(0, 240);
    expect(sent.sent.length).toBeGreaterThan(0);
    expect(controller.overrideCommits).toEqual(sent.sent.map((x) => x.overrideId));
  });
});
