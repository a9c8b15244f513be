import { describe, expect, test } from 'vitest';
import { createPlanBuffer } from '../engine/timing/planner.js';
import { validateIntersectionPlan } from '../engine/safety/validator.js';
import { crc16ModbusBytes, crc16ModbusRegisters, decodePlanBlock, encodePlanBlock } from './codec.js';
import * as map from './registerMap.js';
import { demoNetwork, demoPlan } from '../test/fixtures/controllers/demo.js';

describe('register map', () => {
  test('every block respects the Modbus limits', () => {
    expect(map.PLAN_BLOCK_LENGTH).toBeLessThanOrEqual(map.MODBUS_MAX_WRITE_REGISTERS);
    expect(map.HOLDING_PLAN_MAP_END - map.HR_ACTIVE).toBe(map.PLAN_BLOCK_LENGTH);
    expect(map.HR_ACTIVE).toBeLessThanOrEqual(map.MODBUS_MAX_READ_REGISTERS);
    expect(map.INPUT_REGISTER_COUNT).toBeLessThanOrEqual(map.MODBUS_MAX_READ_REGISTERS);
    // The documented addresses (docs/modbus-register-map.md).
    expect([map.HR_STAGE_CRC, map.HR_COMMIT, map.HR_COMM_LOSS_TIMEOUT_S, map.HR_PENDING_PLAN_ID, map.HR_LAST_COMMIT_PLAN_ID, map.HR_ACTIVE, map.HOLDING_PLAN_MAP_END]).toEqual([69, 70, 71, 72, 73, 74, 143]);
    // Appended blocks: actuated staging + CRC, active actuated block, time-of-day table, scheduled plan id.
    expect([map.HR_ACT_STAGE, map.ACT_BLOCK_LENGTH, map.HR_ACT_STAGE_CRC, map.HR_ACT_ACTIVE, map.HR_TOD, map.TOD_BLOCK_LENGTH, map.HR_TOD_NOW_PLAN_ID, map.HR_EVENTS]).toEqual([143, 52, 195, 196, 248, 33, 281, 282]);
    // The event log block: header, 23 records of 5, one FC3 read.
    expect([map.HR_EV_CURSOR, map.HR_EVENTS + map.EV_RECORDS, map.EV_BLOCK_LENGTH, map.HOLDING_REGISTER_COUNT]).toEqual([286, 292, 125, 407]);
    expect(map.ACT_BLOCK_LENGTH + 1).toBeLessThanOrEqual(map.MODBUS_MAX_WRITE_REGISTERS);
    expect([map.IR_DET_SEQ, map.IR_DETECTORS, map.INPUT_REGISTER_COUNT]).toEqual([16, 17, 81]);
  });

  test('CRC-16/MODBUS check value and register byte order', () => {
    expect(crc16ModbusBytes([...'123456789'].map((ch) => ch.charCodeAt(0)))).toBe(0x4b37);
    // Registers go big-endian: 0x3132 0x3334 … is the byte string "1234…".
    expect(crc16ModbusRegisters([0x3132, 0x3334, 0x3536, 0x3738])).toBe(crc16ModbusBytes([...'12345678'].map((ch) => ch.charCodeAt(0))));
  });
});

describe('plan blocks', () => {
  test('every demo plan round-trips through the wire format and stays valid', () => {
    const c = demoNetwork();
    const plan = demoPlan();
    for (let i = 0; i < c.intersectionCount; i++) {
      const block = encodePlanBlock(c, i, plan, 42);
      expect(block[map.PB_PLAN_ID]).toBe(42);
      expect(block[map.PB_PLAN_ID_TAIL]).toBe(42);
      const out = createPlanBuffer(c);
      const r = decodePlanBlock(c, i, block, 0, out);
      expect(r).toEqual({ ok: true, planId: 42 });
      expect(out.cycleS[i]).toBeCloseTo(plan.cycleS[i]!, 9);
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        expect(out.phaseStartS[p]).toBeCloseTo(plan.phaseStartS[p]!, 6);
        expect(out.phaseGreenS[p]).toBeCloseTo(plan.phaseGreenS[p]!, 9);
      }
      expect(validateIntersectionPlan(c, i, out)).toBe(true);
    }
  });

  test('malformed blocks are refused with a reason', () => {
    const c = demoNetwork();
    const plan = demoPlan();
    const out = createPlanBuffer(c);
    const block = encodePlanBlock(c, 0, plan, 7);
    const torn = block.slice();
    torn[map.PB_PLAN_ID_TAIL] = 6;
    expect(decodePlanBlock(c, 0, torn, 0, out)).toMatchObject({ ok: false, message: expect.stringContaining('tail') });
    const dup = block.slice();
    dup[map.PB_PHASES + map.PH_SEQUENCE] = dup[map.PB_PHASES + map.PHASE_STRIDE + map.PH_SEQUENCE]!;
    expect(decodePlanBlock(c, 0, dup, 0, out)).toMatchObject({ ok: false, message: expect.stringContaining('sequence') });
    const count = block.slice();
    count[map.PB_PHASE_COUNT] = 9;
    expect(decodePlanBlock(c, 0, count, 0, out)).toMatchObject({ ok: false, message: expect.stringContaining('phase count') });
    expect(() => encodePlanBlock(c, 0, plan, 0)).toThrow(/plan id 0/);
  });
});
