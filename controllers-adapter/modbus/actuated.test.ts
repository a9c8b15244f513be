/**
 * The actuated block and the time-of-day table of the register map, over a
 * real Modbus TCP socket with independent masters: pymodbus 3.0 writes (its
 * own CRC-16/MODBUS), mbpoll reads (Debian packages python3-pymodbus and
 * mbpoll; a missing tool FAILS these tests on purpose), and greenwave's
 * ControllerClient pushes a plan with its actuated settings.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { pymodbusPython, runTool as run } from '../../test/fixtures/controllers/peerTools.js';
import { requireTool } from '../../test/fixtures/controllers/ptyPair.js';
import { ControllerServer } from './server.js';
import { ControllerClient } from './client.js';
import { VirtualController } from '../virtual/controller.js';
import { encodePlanBlock } from '../codec.js';
import { encodeActuatedBlock } from '../actuatedBlock.js';
import { dayPlanEvents, decodeTimeOfDayTable, encodeTimeOfDayTable } from '../dayPlan.js';
import { AB_MODE, AB_PHASES, ACT_BLOCK_LENGTH, ActuatedMode, AP_MAX_GREEN_DS, AP_MIN_GREEN_DS, AP_PASSAGE_DS, CommitStatus, HR_ACT_ACTIVE, HR_ACT_STAGE, HR_COMMIT, HR_STAGE, HR_TOD, HR_TOD_NOW_PLAN_ID, ModbusExceptionCode, TOD_BLOCK_LENGTH } from '../registerMap.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FREE } from '../../engine/timing/actuated.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';

const OPS_SCRIPT = fileURLToPath(new URL('../../test/fixtures/controllers/pymodbus_ops.py', import.meta.url));

type Op = { write: number; values: number[]; crc?: boolean } | { read: number; count: number };
type OpResult = { exception: number | null; registers: number[] };

describe('actuated block and time-of-day table over Modbus TCP', () => {
  const c = demoNetwork();
  const plan = demoPlan();
  const clock = { now: 1000 };
  const controllers: VirtualController[] = [];
  let server: ControllerServer;
  let py: string;

  beforeAll(async () => {
    py = pymodbusPython();
    for (let i = 0; i < 3; i++) controllers.push(new VirtualController(c, i, plan, { startS: clock.now, commLossTimeoutS: 0 }));
    server = await ControllerServer.start(controllers.map((v, i) => ({ unitId: i + 1, controller: v })), { clock: () => clock.now });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function pymodbus(unit: number, ops: Op[]): Promise<OpResult[]> {
    const r = await run(py, [OPS_SCRIPT, String(server.port), String(unit), JSON.stringify(ops)]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as OpResult[];
  }

  /** mbpoll FC3 read of `count` holding registers from 0-based `address`. */
  async function mbpoll(unit: number, address: number, count: number): Promise<number[]> {
    const r = await run(requireTool('mbpoll'), ['-m', 'tcp', '-a', String(unit), '-0', '-r', String(address), '-c', String(count), '-t', '4', '-1', '-o', '2', '-p', String(server.port), '127.0.0.1']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const values = new Map<number, number>();
    for (const m of r.stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) values.set(Number(m[1]), Number(m[2]));
    return Array.from({ length: count }, (_, k) => values.get(address + k)!);
  }

  function runToNextCycle(vc: VirtualController): void {
    clock.now += vc.runningCycle().cycleS + 1;
    vc.tick(clock.now);
    clock.now += vc.runningCycle().cycleS + 1;
  }

  test('pymodbus commits a plan with its actuated block (own CRC); mbpoll reads the active actuated block back', async () => {
    const i = 0;
    const vc = controllers[i]!;
    const a = actuatedPlan(c, plan, [{ intersectionId: c.intersectionIds[i]!, approaches: ['EB', 'WB'] }]);
    expect(a.mode[i]).toBe(CONTROL_COORDINATED);
    const act = [...encodeActuatedBlock(c, i, a, 77)];
    const block = [...encodePlanBlock(c, i, plan, 77)];
    const [w1, w2, w3, st] = await pymodbus(i + 1, [{ write: HR_ACT_STAGE, values: act, crc: true }, { write: HR_STAGE, values: block, crc: true }, { write: HR_COMMIT, values: [1] }, { read: HR_COMMIT, count: 4 }]);
    expect([w1!.exception, w2!.exception, w3!.exception]).toEqual([null, null, null]);
    expect(st!.registers[0]).toBe(CommitStatus.Pending);
    // The accepted commit consumed the staging block (head and tail read 0).
    const stage = await mbpoll(i + 1, HR_ACT_STAGE, ACT_BLOCK_LENGTH);
    expect([stage[0], stage[ACT_BLOCK_LENGTH - 1], stage[AB_MODE]]).toEqual([0, 0, ActuatedMode.Coordinated]);
    runToNextCycle(vc);
    const active = await mbpoll(i + 1, HR_ACT_ACTIVE, ACT_BLOCK_LENGTH);
    expect(active).toEqual(act);
    // The block carries the engine's numbers in tenths: min green, passage, max green (coordinated: 1.5 × planned green).
    const p0 = c.phaseStart[i]!;
    expect(active[AB_MODE]).toBe(ActuatedMode.Coordinated);
    for (let k = 0; k < c.phaseStart[i + 1]! - p0; k++) {
      const at = AB_PHASES + 3 * k;
      expect(active[at + AP_MIN_GREEN_DS]! / 10).toBeGreaterThanOrEqual(c.phaseMinGreenS[p0 + k]!);
      expect(active[at + AP_PASSAGE_DS]).toBe(Math.round(c.phasePassageS[p0 + k]! * 10));
      expect(Math.abs(active[at + AP_MAX_GREEN_DS]! / 10 - a.maxGreenS[p0 + k]!)).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    // The next plan committed without actuated settings runs fixed-time.
    const next = planFromVolumes(new Float64Array(c.detectorIds.length).fill(40));
    const [, st2] = await pymodbus(i + 1, [{ write: HR_STAGE, values: [...encodePlanBlock(c, i, next, 78)], crc: true }, { read: HR_COMMIT, count: 1 }]);
    expect(st2!.exception).toBeNull();
    await pymodbus(i + 1, [{ write: HR_COMMIT, values: [1] }]);
    runToNextCycle(vc);
    const fixed = await mbpoll(i + 1, HR_ACT_ACTIVE, 3);
    expect(fixed).toEqual([78, ActuatedMode.Fixed, 0]);
  });

  test('the controller refuses an actuated block with a bad CRC, one below the minimum green (Unsafe), a torn one (Malformed); the plan is not taken', async () => {
    const i = 1;
    const a = actuatedPlan(c, plan, []);
    expect(a.mode[i]).toBe(CONTROL_FREE);
    const block = [...encodePlanBlock(c, i, plan, 90)];
    const act = [...encodeActuatedBlock(c, i, a, 90)];
    const commit = async (actValues: number[], crc: boolean): Promise<number> => {
      const res = await pymodbus(i + 1, [crc ? { write: HR_ACT_STAGE, values: actValues, crc: true } : { write: HR_ACT_STAGE, values: [...actValues, 0x1234] }, { write: HR_STAGE, values: block, crc: true }, { write: HR_COMMIT, values: [1] }, { read: HR_COMMIT, count: 4 }]);
      return res[3]!.registers[0]!;
    };
    expect(await commit(act, false)).toBe(CommitStatus.CrcMismatch);
    const short = [...act];
    short[AB_PHASES + AP_MIN_GREEN_DS] = Math.ceil(c.phaseMinGreenS[c.phaseStart[i]!]! * 10) - 1;
    expect(await commit(short, true)).toBe(CommitStatus.Unsafe);
    expect(controllers[i]!.state().lastRejection).toMatch(/below the phase's minimum green/);
    const torn = [...act];
    torn[ACT_BLOCK_LENGTH - 1] = 91;
    // Head 90 = the staged plan id, tail 91: the block is taken as the plan's and refused as torn.
    expect(await commit(torn, true)).toBe(CommitStatus.Malformed);
    expect(controllers[i]!.state().pendingPlanId).toBe(0);
    expect(await commit(act, true)).toBe(CommitStatus.Pending);
  });

  test('ControllerClient.pushPlan with actuated settings: committed, active, read back', async () => {
    const i = 2;
    const vc = controllers[i]!;
    const a = actuatedPlan(c, plan, []);
    const cl = new ControllerClient(c, [{ unitId: 3, intersection: i, host: '127.0.0.1', port: server.port }], { retries: 0 });
    try {
      const pushed = await cl.pushPlan(3, plan, { planId: 5, actuated: a });
      expect(pushed.state).toBe('pending');
      runToNextCycle(vc);
      expect([...vc.activeActuatedBlock()]).toEqual([...encodeActuatedBlock(c, i, a, 5)]);
      const again = await cl.pushPlan(3, plan, { planId: 6, actuated: a, waitActive: true, activeTimeoutMs: 100, pollMs: 10 }).catch((e: unknown) => e);
      // Not active within 100 ms of wall time (the test clock does not move): the client says so, it does not pretend.
      expect(String(again)).toMatch(/did not become active/);
    } finally {
      await cl.close();
    }
  });

  test('time-of-day table: pymodbus writes it whole, mbpoll reads it and the plan id scheduled now; malformed tables are refused (0x03)', async () => {
    const events = dayPlanEvents([{ startMin: 420 }, { startMin: 600 }, { startMin: 960 }, { startMin: 1140 }]);
    // 07:00 AM peak, 10:00 off-peak, 16:00 PM peak, 19:00 night (across midnight: the 00:00 event runs it too).
    expect(events).toEqual([
      { startMin: 0, planId: 4 },
      { startMin: 420, planId: 1 },
      { startMin: 600, planId: 2 },
      { startMin: 960, planId: 3 },
      { startMin: 1140, planId: 4 },
    ]);
    const regs = encodeTimeOfDayTable(events);
    const [w] = await pymodbus(1, [{ write: HR_TOD, values: regs }]);
    expect(w!.exception).toBeNull();
    const back = await mbpoll(1, HR_TOD, TOD_BLOCK_LENGTH + 1);
    expect(decodeTimeOfDayTable(back)).toEqual(events);
    // The controller's clock is seconds since 1970 UTC: 08:30 is in the AM peak (plan 1), 23:00 at night (plan 4).
    const day = 86_400 * 20_000;
    clock.now = day + 8.5 * 3600;
    expect((await mbpoll(1, HR_TOD_NOW_PLAN_ID, 1))[0]).toBe(1);
    clock.now = day + 16 * 3600;
    expect((await mbpoll(1, HR_TOD_NOW_PLAN_ID, 1))[0]).toBe(3);
    clock.now = day + 23 * 3600;
    expect((await mbpoll(1, HR_TOD_NOW_PLAN_ID, 1))[0]).toBe(4);
    clock.now = day + 86_400 + 3 * 3600; // 03:00 the next day: still the night plan
    expect((await mbpoll(1, HR_TOD_NOW_PLAN_ID, 1))[0]).toBe(4);
    // Refused whole: a first entry after 00:00, starts not increasing, a partial write; nothing changes.
    const late = encodeTimeOfDayTable([{ startMin: 60, planId: 1 }]);
    const unordered = encodeTimeOfDayTable([{ startMin: 0, planId: 1 }, { startMin: 600, planId: 2 }, { startMin: 500, planId: 3 }]);
    const res = await pymodbus(1, [{ write: HR_TOD, values: late }, { write: HR_TOD, values: unordered }, { write: HR_TOD + 3, values: [5, 5] }, { write: HR_TOD, values: [2, 0, 1] }]);
    expect(res.map((r) => r.exception)).toEqual([ModbusExceptionCode.IllegalDataValue, ModbusExceptionCode.IllegalDataValue, ModbusExceptionCode.IllegalDataValue, ModbusExceptionCode.IllegalDataValue]);
    expect(decodeTimeOfDayTable(await mbpoll(1, HR_TOD, TOD_BLOCK_LENGTH))).toEqual(events);
  });
});
