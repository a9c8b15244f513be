import { afterEach, describe, expect, test } from 'vitest';
import { createServer, type Server } from 'node:net';
import { ControllerServer, type UnitBinding } from './server.js';
import { ControllerClient, type ControllerEndpoint } from './client.js';
import { VirtualController } from '../virtual/controller.js';
import { ControllerErrorReason } from '../errors.js';
import { crc16ModbusRegisters, encodePlanBlock } from '../codec.js';
import { CommitStatus, HOLDING_REGISTER_COUNT, HR_ACTIVE, HR_COMMIT, HR_STAGE, PB_PHASES, PH_YELLOW_DS, ModbusExceptionCode } from '../registerMap.js';
import { UnsafePlanError } from '../../engine/errors.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { copyIntersectionPlan } from '../codec.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';
import { reason } from '../../test/fixtures/controllers/rejection.js';

const c = demoNetwork();
const plan = demoPlan();
const other = planFromVolumes(new Float64Array(c.detectorIds.length).fill(60));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A manual clock shared by the server and the test. */
function manualClock(startS = 0) {
  const clock = { now: startS, fn: () => clock.now };
  return clock;
}

async function fleet(n: number, clock: { fn: () => number; now: number }, extra: Partial<Parameters<typeof ControllerServer.start>[1]> = {}) {
  const bindings: UnitBinding[] = [];
  for (let i = 0; i < n; i++) bindings.push({ unitId: i + 1, controller: new VirtualController(c, i, plan, { startS: clock.now, commLossTimeoutS: 0 }) });
  const server = await ControllerServer.start(bindings, { clock: clock.fn, ...extra });
  cleanups.push(() => server.close());
  const endpoints: ControllerEndpoint[] = bindings.map((b, i) => ({ unitId: b.unitId, intersection: i, host: '127.0.0.1', port: server.port }));
  return { server, bindings, endpoints };
}

function client(endpoints: ControllerEndpoint[], opts: ConstructorParameters<typeof ControllerClient>[2] = {}): ControllerClient {
  const cl = new ControllerClient(c, endpoints, { timeoutMs: 500, connectTimeoutMs: 500, ...opts });
  cleanups.push(() => cl.close());
  return cl;
}

describe('Modbus TCP: virtual controllers behind one port', () => {
  test('push → commit → read back, then active at the next cycle zero', async () => {
    const clock = manualClock(100);
    const { server, endpoints } = await fleet(4, clock);
    expect(server.port).toBeGreaterThan(0);
    const cl = client(endpoints);
    const pushed = await Promise.all(endpoints.map((e) => cl.pushPlan(e.unitId, other)));
    for (const r of pushed) expect(r).toMatchObject({ planId: 1, state: 'pending', attempts: 1 });
    clock.now += 200; // past every cycle boundary (cycles ≤ 150 s)
    for (const e of endpoints) {
      const st = await cl.readStatus(e.unitId);
      expect(st).toMatchObject({ activePlanId: 1, pendingPlanId: 0, commitStatus: CommitStatus.Active, mode: 0, faults: 0 });
      const active = await cl.readActivePlan(e.unitId);
      expect([...active]).toEqual([...encodePlanBlock(c, e.intersection, other, 1)]);
    }
    // A second push to an active controller picks the next id and confirms it.
    const again = await cl.pushPlan(1, plan);
    expect(again.planId).toBe(2);
  });

  test('waitActive confirms the plan runs (accelerated clock) and reads the active block back', async () => {
    const t0 = Date.now();
    const clock = { now: 0, fn: () => ((Date.now() - t0) / 1000) * 200 };
    const { endpoints } = await fleet(2, clock);
    const cl = client(endpoints);
    const r = await cl.pushPlan(2, other, { waitActive: true, pollMs: 50, activeTimeoutMs: 5000 });
    expect(r).toMatchObject({ unitId: 2, planId: 1, state: 'active' });
  });

  test('fencing: a push stops at the first write its mayWrite refuses, and the controller sees no commit', async () => {
    const clock = manualClock(100);
    const { endpoints, bindings } = await fleet(2, clock);
    const cl = client(endpoints);
    // Allowed for the staging block only: the CRC and the commit are not written.
    let allowed = 1;
    const asked: number[] = [];
    const mayWrite = (): boolean => {
      asked.push(allowed);
      return allowed-- > 0;
    };
    await expect(cl.pushPlan(1, other, { planId: 7, mayWrite })).rejects.toMatchObject({ reason: ControllerErrorReason.Fenced });
    expect(asked).toEqual([1, 0]);
    expect(bindings[0]!.controller.planCommits).toEqual([]);
    expect(bindings[0]!.controller.state()).toMatchObject({ activePlanId: 0, pendingPlanId: 0 });
    // Refused from the start: nothing written at all, and no retry of a fenced push.
    await expect(cl.pushPlan(2, other, { planId: 7, mayWrite: () => false })).rejects.toMatchObject({ reason: ControllerErrorReason.Fenced });
    // Allowed throughout: one commit of plan 7.
    await cl.pushPlan(2, other, { planId: 7, mayWrite: () => true });
    expect(bindings[1]!.controller.planCommits).toEqual([7]);
  });

  test('a CRC mismatch is refused and the old plan keeps running', async () => {
    const clock = manualClock(0);
    const { endpoints, bindings } = await fleet(1, clock);
    const cl = client(endpoints);
    const block = encodePlanBlock(c, 0, other, 77);
    await cl.writeHolding(1, HR_STAGE, [...block]);
    await cl.writeHolding(1, HR_STAGE + block.length, [(crc16ModbusRegisters(block) ^ 0x0100) & 0xffff]);
    await cl.writeHolding(1, HR_COMMIT, [1]);
    expect((await cl.readHolding(1, HR_COMMIT, 1))[0]).toBe(CommitStatus.CrcMismatch);
    clock.now += 400;
    const st = await cl.readStatus(1);
    expect(st).toMatchObject({ activePlanId: 0, pendingPlanId: 0, commitStatus: CommitStatus.CrcMismatch });
    expect(bindings[0]!.controller.state().mode).toBe(0);
  });

  test('unsafe plans: refused locally by pushPlan, and by the controller when sent raw', async () => {
    const clock = manualClock(0);
    const { endpoints } = await fleet(3, clock);
    const cl = client(endpoints);
    const bad = createPlanBuffer(c);
    copyIntersectionPlan(c, 2, plan, bad);
    bad.phaseYellowS[c.phaseStart[2]!] = 2;
    await expect(cl.pushPlan(3, bad)).rejects.toBeInstanceOf(UnsafePlanError);
    // Raw: shortened yellow with a correct CRC.
    const block = encodePlanBlock(c, 2, plan, 11);
    block[PB_PHASES + PH_YELLOW_DS] = 20;
    await cl.writeHolding(3, HR_STAGE, [...block, crc16ModbusRegisters(block)]);
    await cl.writeHolding(3, HR_COMMIT, [1]);
    const [status, , pending, last] = await cl.readHolding(3, HR_COMMIT, 4);
    expect({ status, pending, last }).toEqual({ status: CommitStatus.Unsafe, pending: 0, last: 11 });
    expect((await cl.readStatus(3)).activePlanId).toBe(0);
  });

  test('unknown unit id → exception 0x0B; out-of-range address → 0x02; bad value → 0x03', async () => {
    const clock = manualClock(0);
    const { server, endpoints } = await fleet(2, clock);
    const cl = client([...endpoints, { unitId: 99, intersection: 0, host: '127.0.0.1', port: server.port }], { retries: 0 });
    const unknown = await reason(cl.readStatus(99));
    expect(unknown).toMatchObject({ reason: ControllerErrorReason.Exception, exceptionCode: ModbusExceptionCode.GatewayTargetFailed, unitId: 99 });
    expect((await reason(cl.readHolding(1, HOLDING_REGISTER_COUNT - 2, 10))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect((await reason(cl.readInput(1, 80, 2))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect((await reason(cl.writeHolding(1, HR_ACTIVE, [1, 2]))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataAddress);
    expect((await reason(cl.writeHolding(1, HR_COMMIT, [7]))).exceptionCode).toBe(ModbusExceptionCode.IllegalDataValue);
    // Limits are checked before anything is sent.
    expect((await reason(cl.readHolding(1, 0, 126))).reason).toBe(ControllerErrorReason.Limit);
    // The connection survives exceptions.
    expect((await cl.readStatus(2)).detectorCount).toBeGreaterThan(0);
  });

  test('a silent peer times out (bounded retries, no hang) and opens the breaker', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()); }));
    const port = (silent.address() as { port: number }).port;
    const cl = client([{ unitId: 1, intersection: 0, host: '127.0.0.1', port }], { timeoutMs: 150, retries: 1, backoffMs: 10, breakerFailures: 2, breakerCooldownMs: 60_000 });
    const started = Date.now();
    const e = await reason(cl.readStatus(1));
    expect(e.reason).toBe(ControllerErrorReason.Timeout);
    expect(Date.now() - started).toBeLessThan(2000);
    const fast = Date.now();
    expect((await reason(cl.readStatus(1))).reason).toBe(ControllerErrorReason.CircuitOpen);
    expect(Date.now() - fast).toBeLessThan(50);
    expect(cl.breaker(1).open).toBe(true);
  });

  test('nobody listening → connect failure after bounded retries', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const cl = client([{ unitId: 1, intersection: 0, host: '127.0.0.1', port }], { retries: 2, backoffMs: 5 });
    expect((await reason(cl.readStatus(1))).reason).toBe(ControllerErrorReason.ConnectFailed);
  });

  test('units behind one dead address share the connection attempt, and each failure names its own unit', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const cl = client([1, 2, 3].map((unitId, i) => ({ unitId, intersection: i, host: '127.0.0.1', port })), { retries: 0 });
    const errors = await Promise.all([1, 2, 3].map((u) => reason(cl.readStatus(u))));
    expect(errors.map((e) => [e.reason, e.unitId])).toEqual([1, 2, 3].map((u) => [ControllerErrorReason.ConnectFailed, u]));
    errors.forEach((e, k) => expect(e.message).toContain(`unit ${k + 1}: cannot connect to 127.0.0.1:${port}`));
  });

  test('a commit whose reply was lost is not written again: the retry reads the controller first', async () => {
    const clock = manualClock(50);
    const controller = new VirtualController(c, 0, plan, { startS: 50, commLossTimeoutS: 0 });
    let dropped = 0;
    // The commit is applied and its reply never sent, once.
    const beforeWrite = (req: { address: number }): 'applyThenDrop' | undefined => {
      if (req.address !== HR_COMMIT || dropped > 0) return undefined;
      dropped++;
      return 'applyThenDrop';
    };
    const server = await ControllerServer.start([{ unitId: 1, controller }], { clock: clock.fn, beforeWrite });
    cleanups.push(() => server.close());
    const cl = client([{ unitId: 1, intersection: 0, host: '127.0.0.1', port: server.port }], { timeoutMs: 300, retries: 3, backoffMs: 20 });
    const r = await cl.pushPlan(1, other, { planId: 2 });
    expect(dropped).toBe(1);
    expect(r).toMatchObject({ planId: 2, state: 'pending', attempts: 2 });
    expect(controller.planCommits).toEqual([2]);
  });

  for (const killAt of ['staging', 'crc', 'commit', 'commit-applied'] as const) {
    test(`controller killed at the ${killAt} write, restarted: the client reconnects and the controller runs the old plan or the new one, never a mix`, async () => {
      const clock = manualClock(50);
      const controller = new VirtualController(c, 0, plan, { startS: 50, commLossTimeoutS: 0 });
      const bindings: UnitBinding[] = [{ unitId: 1, controller }];
      const blockA = encodePlanBlock(c, 0, plan, 1);
      const blockB = encodePlanBlock(c, 0, other, 2);
      const address = { staging: HR_STAGE, crc: HR_STAGE + blockA.length, commit: HR_COMMIT, 'commit-applied': HR_COMMIT }[killAt];
      let armed = false;
      let killed = false;
      let restarted: Promise<void> | undefined;
      const beforeWrite = (req: { address: number }): 'drop' | 'applyThenDrop' | void => {
        if (!armed || killed || req.address !== address) return;
        killed = true;
        // The controller dies with the request unanswered, and is back 300 ms later.
        restarted = (async () => {
          await new Promise((r) => setImmediate(r));
          // Never a mix, even while it is down: the old plan, complete.
          expect([...controller.activePlanBlock()]).toEqual([...blockA]);
          await server.close();
          await new Promise((r) => setTimeout(r, 300));
          controller.restart(clock.now);
          server = await ControllerServer.start(bindings, { clock: clock.fn, port, beforeWrite });
        })();
        return killAt === 'commit-applied' ? 'applyThenDrop' : 'drop';
      };
      let server = await ControllerServer.start(bindings, { clock: clock.fn, beforeWrite });
      const port = server.port;
      cleanups.push(() => server.close());
      const cl = client([{ unitId: 1, intersection: 0, host: '127.0.0.1', port }], { timeoutMs: 300, retries: 8, backoffMs: 40, backoffMaxMs: 200, breakerFailures: 50 });
      await cl.pushPlan(1, plan, { planId: 1 });
      clock.now += 200;
      expect((await cl.readStatus(1)).activePlanId).toBe(1);
      armed = true;
      const result = await cl.pushPlan(1, other, { planId: 2 });
      await restarted;
      expect(killed).toBe(true);
      expect(result.attempts).toBeGreaterThan(1);
      const active = [...controller.activePlanBlock()];
      expect([[...blockA], [...blockB]]).toContainEqual(active);
      clock.now += 400;
      const st = await cl.readStatus(1);
      expect(st).toMatchObject({ activePlanId: 2, mode: 0 });
      expect([...(await cl.readActivePlan(1))]).toEqual([...blockB]);
    });
  }

  test('detector polls: counts since the last poll, sequence gaps reported', async () => {
    const clock = manualClock(0);
    const { endpoints, bindings } = await fleet(1, clock);
    const cl = client(endpoints);
    const v = bindings[0]!.controller;
    const first = await cl.pollDetectors(1);
    expect(first).toMatchObject({ first: true, missedPolls: 0, restarted: false });
    expect(first.detectorIds.length).toBe(v.detectorCount);
    clock.now = 60;
    v.addDetectorCounts(0, 12, 6);
    const second = await cl.pollDetectors(1);
    expect(second).toMatchObject({ first: false, missedPolls: 0, seq: first.seq + 1 });
    expect(second.volumes[0]).toBe(12);
    expect(second.occupancyPct[0]).toBeCloseTo(10, 5);
    // Another master latched twice in between: two polls lost to us.
    v.readInput(16, 1);
    v.readInput(16, 1);
    const third = await cl.pollDetectors(1);
    expect(third.missedPolls).toBe(2);
    v.restart((clock.now += 5));
    const fourth = await cl.pollDetectors(1);
    expect(fourth.restarted).toBe(true);
  });
});
