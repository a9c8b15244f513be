/**
 * The absolute ceilings reach the controllers: over real sockets, a Modbus
 * commit of a 6553.5 s cycle with a 6400 s green and an SNMP set of a 255 s
 * cycle with a 195 s split are refused by the one safety validator, and the
 * old plan keeps running. (Before issue 11 both were accepted: their ring
 * timing adds up, and nothing bounded the cycle.)
 */
import { afterEach, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { ControllerServer } from './modbus/server.js';
import { ControllerClient } from './modbus/client.js';
import { VirtualController } from './virtual/controller.js';
import { NtcipAgent } from './ntcip/agent.js';
import { phaseProgram } from './ntcip/convert.js';
import { PATTERN_ENTRY, SPLIT_ENTRY, SYSTEM_PATTERN_CONTROL } from './ntcip/oids.js';
import { crc16ModbusRegisters, encodePlanBlock } from './codec.js';
import { CommitStatus, FaultFlag, HR_COMMIT, HR_STAGE, PB_CYCLE_DS, PB_PHASES, PH_GREEN_DS, PH_YELLOW_DS, PH_ALL_RED_DS, PHASE_STRIDE } from './registerMap.js';
import { SAFETY_FLOORS } from '../engine/safety/floors.js';
import { demoNetwork, demoPlan } from '../test/fixtures/controllers/demo.js';
import { requireTool } from '../test/fixtures/controllers/ptyPair.js';

const c = demoNetwork();
const plan = demoPlan();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('controllers refuse cycles and greens above the ceiling', () => {
  test('Modbus TCP: a 6553.5 s cycle with a 6400 s green is refused (status Unsafe), the old plan runs on', async () => {
    const i = 0; // three stages, one ring
    const clock = { now: 0 };
    const controller = new VirtualController(c, i, plan, { startS: 0, commLossTimeoutS: 0 });
    const server = await ControllerServer.start([{ unitId: 1, controller }], { clock: () => clock.now });
    cleanups.push(() => server.close());
    const cl = new ControllerClient(c, [{ unitId: 1, intersection: i, host: '127.0.0.1', port: server.port }], { timeoutMs: 500, connectTimeoutMs: 500 });
    cleanups.push(() => cl.close());

    // The engine's plan, stretched: its ring timing still adds up exactly, in tenths.
    const block = encodePlanBlock(c, i, plan, 42);
    const n = c.phaseStart[i + 1]! - c.phaseStart[i]!;
    const reg = (k: number, f: number) => PB_PHASES + k * PHASE_STRIDE + f;
    let otherDs = 0;
    for (let k = 0; k < n; k++) otherDs += block[reg(k, PH_YELLOW_DS)]! + block[reg(k, PH_ALL_RED_DS)]! + (k >= 2 ? block[reg(k, PH_GREEN_DS)]! : 0);
    block[PB_CYCLE_DS] = 65535;
    block[reg(0, PH_GREEN_DS)] = 64000;
    block[reg(1, PH_GREEN_DS)] = 65535 - 64000 - otherDs;
    expect(block[reg(1, PH_GREEN_DS)]!).toBeGreaterThan(Math.ceil(c.phaseMinGreenS[c.phaseStart[i]! + 1]! * 10));
    await cl.writeHolding(1, HR_STAGE, [...block, crc16ModbusRegisters(block)]);
    await cl.writeHolding(1, HR_COMMIT, [1]);
    const [status, , pending, last] = await cl.readHolding(1, HR_COMMIT, 4);
    expect({ status, pending, last }).toEqual({ status: CommitStatus.Unsafe, pending: 0, last: 42 });
    expect(controller.state().lastRejection).toMatch(/cycle 6553\.5 s is above the ceiling 225 s/);
    expect(controller.state().lastRejection).toMatch(/green 6400 s is longer than the cycle allows/);
    clock.now += 400;
    const st = await cl.readStatus(1);
    expect(st).toMatchObject({ activePlanId: 0, pendingPlanId: 0, commitStatus: CommitStatus.Unsafe });
    expect(st.faults & FaultFlag.CommitRejected).toBe(FaultFlag.CommitRejected);
    expect(controller.runningCycle().cycleS).toBe(plan.cycleS[i]);
  });

  test('SNMP: a 255 s pattern with a 195 s split is refused (badValue) and nothing changes', async () => {
    const snmpset = requireTool('snmpset', 'snmp');
    const i = c.intersectionIds.indexOf('I9'); // two stages: 195 s and the other's minimum fit in 255 s
    const clock = { now: 0 };
    const vc = new VirtualController(c, i, plan, { startS: 0, commLossTimeoutS: 0 });
    const agent = await NtcipAgent.start(vc, { clock: () => clock.now, patterns: 4 });
    cleanups.push(() => agent.close());
    const prog = phaseProgram(c, i);
    const mins = prog.map((p) => Math.ceil(p.minimumGreenS + p.walkS + p.pedestrianClearS + (p.yellowChangeDs + p.redClearDs) / 10));
    const splits = [195, ...mins.slice(1)];
    expect(splits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(255);
    expect(c.maxCycleS[i]! * SAFETY_FLOORS.transitionCycleFactor).toBeLessThan(255);
    const args = ['-m', '', '-v2c', '-c', 'private', '-t', '2', '-r', '0', `127.0.0.1:${agent.port}`];
    const set: Array<[string, number]> = [[`${PATTERN_ENTRY}.2.2`, 255], ...splits.map((s, k): [string, number] => [`${SPLIT_ENTRY}.3.2.${k + 1}`, s]), [`${SYSTEM_PATTERN_CONTROL}.0`, 2]];
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(snmpset, [...args, ...set.flatMap(([o, v]) => [o, 'i', String(v)])], { timeout: 15_000, env: { ...process.env, MIBS: '' } }, (e, _out, stderr) => resolve({ code: e ? 1 : 0, stderr: String(stderr) }));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/badValue/i);
    expect(agent.lastRefusal).toMatch(/cycle 255 s is above the ceiling 225 s/);
    expect(vc.state()).toMatchObject({ activePlanId: 0, pendingPlanId: 0 });
  });
});
