/**
 * PlanResync over real Modbus TCP sockets (in-process servers, a manual clock):
 * a controller on the expected plan (active or pending) is left alone; one that
 * restarted (fresh controller on the same port, plan 0) gets the plan again with
 * a log line naming it, the id found and the id expected; an unreachable one is
 * logged once, and again once when it answers; one running other timing under the
 * expected id is found by reading its active plan back. The end-to-end kill -9 test with
 * real processes is cli/resync.test.ts.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ControllerServer } from './modbus/server.js';
import { ControllerClient } from './modbus/client.js';
import { VirtualController } from './virtual/controller.js';
import { PlanResync } from './resync.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../test/fixtures/controllers/demo.js';

const c = demoNetwork();
const local = planFromVolumes(new Float64Array(c.detectorIds.length).fill(60));
const current = demoPlan();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function fleet(clock: { now: number }, port = 0) {
  const controllers = [0, 1].map((i) => new VirtualController(c, i, local, { startS: clock.now, commLossTimeoutS: 0 }));
  const server = await ControllerServer.start(
    controllers.map((v, i) => ({ unitId: i + 1, controller: v })),
    { port, clock: () => clock.now },
  );
  cleanups.push(() => server.close());
  return { server, controllers };
}

describe('PlanResync', () => {
  test('leaves controllers on the plan alone, re-pushes to a restarted one and logs it; unreachable logged once', async () => {
    const clock = { now: 1000 };
    let { server } = await fleet(clock);
    const port = server.port;
    const client = new ControllerClient(c, [1, 2].map((u) => ({ unitId: u, intersection: u - 1, host: '127.0.0.1', port })), { timeoutMs: 300, connectTimeoutMs: 300, retries: 0, breakerCooldownMs: 0 });
    cleanups.push(() => client.close());
    const lines: string[] = [];
    const resync = new PlanResync(c, client, [1, 2].map((u) => ({ unitId: u, intersection: u - 1, host: '127.0.0.1', port })), () => current, { periodMs: 0, log: (l) => lines.push(l) });

    await resync.pushAll();
    expect([...resync.expected().values()]).toEqual([1, 1]);
    // Pending (not yet at cycle zero) is on plan: no push.
    lines.length = 0;
    await resync.checkAll();
    expect(lines).toEqual([]);
    clock.now += 400; // past cycle zero: active
    await resync.checkAll();
    expect(lines).toEqual([]);

    // Power loss: the port goes dead, then a fresh controller (plan 0, uptime 0) comes back on it.
    await server.close();
    await resync.checkAll();
    await resync.checkAll();
    expect(lines.filter((l) => /unreachable/.test(l))).toHaveLength(2); // once per controller, not once per check
    ({ server } = await fleet(clock, port));
    await resync.checkAll();
    expect(lines.some((l) => /controller I1 \(unit 1 at 127\.0\.0\.1:\d+\) answers again/.test(l))).toBe(true);
    expect(lines).toContain(`greenwave: controller I1 (unit 1 at 127.0.0.1:${port}) runs plan 0 (its local plan), expected plan 1, restarted (uptime 0 s): pushing the current plan again`);
    expect(lines).toContain(`greenwave: controller I2 (unit 2 at 127.0.0.1:${port}) accepted plan 1 (from its next cycle zero)`);
    expect(server.controller(1)!.state().pendingPlanId).toBe(1);
    clock.now += 400;
    server.tick(clock.now);
    expect(server.controller(2)!.readInput(0, 1)[0]).toBe(1); // active plan id

    // Another master commits its own plan: found and corrected the same way.
    lines.length = 0;
    const other = new ControllerClient(c, [{ unitId: 2, intersection: 1, host: '127.0.0.1', port }], { timeoutMs: 300 });
    cleanups.push(() => other.close());
    await other.pushPlan(2, local, { planId: 77 });
    clock.now += 400;
    await resync.checkAll();
    expect(lines[0]).toBe(`greenwave: controller I2 (unit 2 at 127.0.0.1:${port}) runs plan 77, expected plan 1: pushing the current plan again`);
    expect(resync.expected().get(2)).toBe(78);
    expect(resync.events.filter((e) => e.kind === 'mismatch').map((e) => [e.unitId, e.foundPlanId, e.expectedPlanId])).toEqual([
      [1, 0, 1],
      [2, 0, 1],
      [2, 77, 1],
    ]);
  });

  test('a controller on the expected id but with other timing under it is found by the timing read-back and corrected', async () => {
    const clock = { now: 1000 };
    const { server } = await fleet(clock);
    const port = server.port;
    const endpoints = [1, 2].map((u) => ({ unitId: u, intersection: u - 1, host: '127.0.0.1', port }));
    const client = new ControllerClient(c, endpoints, { timeoutMs: 300, connectTimeoutMs: 300, retries: 0, breakerCooldownMs: 0 });
    cleanups.push(() => client.close());
    const lines: string[] = [];
    const resync = new PlanResync(c, client, endpoints, () => current, { periodMs: 0, timingCheckEvery: 1, log: (l) => lines.push(l) });
    await resync.pushAll();
    clock.now += 400;
    lines.length = 0;
    await resync.checkAll();
    expect(lines).toEqual([]); // ids and timing agree
    // Another master (or a technician) commits other timing under our id 1.
    const other = new ControllerClient(c, [{ unitId: 2, intersection: 1, host: '127.0.0.1', port }], { timeoutMs: 300 });
    cleanups.push(() => other.close());
    // Its own read-back sees our timing still active under the same id until cycle zero.
    await expect(other.pushPlan(2, local, { planId: 1 })).rejects.toThrow(/READBACK_MISMATCH/);
    clock.now += 400;
    server.tick(clock.now);
    await resync.checkAll();
    expect(lines[0]).toMatch(new RegExp(`^greenwave: controller I2 \\(unit 2 at 127\\.0\\.0\\.1:${port}\\) runs plan 1 with other timing \\(register \\d+ reads \\d+, \\d+ expected\\): pushing the current plan again$`));
    expect(lines).toHaveLength(2); // the mismatch and the push; unit 1 is left alone
    expect(resync.expected().get(2)).toBe(2);
    clock.now += 400;
    server.tick(clock.now);
    lines.length = 0;
    await resync.checkAll();
    expect(lines).toEqual([]);
    expect(() => new PlanResync(c, client, endpoints, () => current, { timingCheckEvery: 0.5 })).toThrow(/timingCheckEvery/);
  });
});
