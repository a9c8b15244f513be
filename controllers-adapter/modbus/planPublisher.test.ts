import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import ModbusSerial from 'modbus-serial';
import { ControllerServer } from './server.js';
import { PUBLISHED_LENGTH, PublishedPlan, publishersFor } from './planPublisher.js';
import { crc16ModbusRegisters, decodePlanBlock } from '../codec.js';
import { PB_CYCLE_DS, PB_PLAN_ID, PB_PLAN_ID_TAIL, PLAN_BLOCK_LENGTH } from '../registerMap.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { validateIntersectionPlan } from '../../engine/safety/validator.js';
import { demoNetwork, demoPlan } from '../../test/fixtures/controllers/demo.js';

/** The engine serving plans to controllers that poll it: read by an independent master (mbpoll) and by modbus-serial. */
describe('plan publisher (the engine as Modbus server)', () => {
  const c = demoNetwork();
  const plan = demoPlan();
  let server: ControllerServer<PublishedPlan>;
  const units = publishersFor(c);

  beforeAll(async () => {
    for (const u of units) u.controller.publish(plan);
    server = await ControllerServer.start(units);
  });
  afterAll(async () => {
    await server?.close();
  });

  test('a controller reads one consistent plan block, checks the CRC and gets a valid plan', async () => {
    const client = new ModbusSerial.default();
    client.setTimeout(2000);
    await client.connectTCP('127.0.0.1', { port: server.port });
    try {
      const unit = 3; // intersection index 2
      client.setID(unit);
      const regs = (await client.readHoldingRegisters(0, PUBLISHED_LENGTH)).data;
      expect(regs[PB_PLAN_ID]).toBe(regs[PB_PLAN_ID_TAIL]);
      expect(regs[PLAN_BLOCK_LENGTH]).toBe(crc16ModbusRegisters(regs, 0, PLAN_BLOCK_LENGTH));
      expect(regs[PB_CYCLE_DS]).toBe(Math.round(plan.cycleS[2]! * 10));
      const decoded = createPlanBuffer(c);
      expect(decodePlanBlock(c, 2, regs, 0, decoded).ok).toBe(true);
      expect(validateIntersectionPlan(c, 2, decoded)).toBe(true);
      // Writes are refused (0x01), addresses past the block get 0x02, unknown units 0x0B.
      await expect(client.writeRegisters(0, [1])).rejects.toMatchObject({ modbusCode: 1 });
      await expect(client.readHoldingRegisters(PUBLISHED_LENGTH - 1, 2)).rejects.toMatchObject({ modbusCode: 2 });
      client.setID(200);
      await expect(client.readHoldingRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 0x0b });
    } finally {
      client.close(() => undefined);
    }
  });

  test('a new plan replaces the whole block: plan id first and last move together', () => {
    const before = units[0]!.controller.readHolding(0, PUBLISHED_LENGTH);
    const id = units[0]!.controller.publish(plan);
    const after = units[0]!.controller.readHolding(0, PUBLISHED_LENGTH);
    expect(after[PB_PLAN_ID]).toBe(id);
    expect(after[PB_PLAN_ID_TAIL]).toBe(id);
    expect(before[PB_PLAN_ID]).not.toBe(id);
  });

  test('an unsafe plan is never published', () => {
    const bad = createPlanBuffer(c);
    bad.cycleS.set(plan.cycleS);
    expect(() => units[0]!.controller.publish(bad)).toThrow(/unsafe plan/);
  });

  test('mbpoll (an independent master) reads the published plan', async () => {
    let mbpoll: string;
    try {
      mbpoll = execFileSync('sh', ['-c', 'command -v mbpoll'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error('mbpoll is not installed: install the Debian package "mbpoll" (CI installs it)');
    }
    const out = await new Promise<string>((resolve) =>
      execFile(mbpoll, ['-m', 'tcp', '-a', '1', '-0', '-r', '0', '-c', '4', '-t', '4', '-1', '-o', '2', '-p', String(server.port), '127.0.0.1'], { timeout: 20_000 }, (_e, stdout) => resolve(String(stdout))),
    );
    const values = new Map([...out.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));
    expect(values.get(PB_CYCLE_DS)).toBe(Math.round(plan.cycleS[0]! * 10));
    expect(values.get(PB_PLAN_ID)).toBeGreaterThan(0);
  });
});
