/**
 * Independent Modbus masters against the virtual controllers: mbpoll (C,
 * libmodbus) and pymodbus 3.0 (Python). CI installs both (Debian packages
 * mbpoll and python3-pymodbus); a missing tool FAILS these tests on purpose.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { pymodbusPython, runTool as run } from '../../test/fixtures/controllers/peerTools.js';
import { requireTool } from '../../test/fixtures/controllers/ptyPair.js';
import { ControllerServer } from './server.js';
import { VirtualController } from '../virtual/controller.js';
import { encodePlanBlock } from '../codec.js';
import { CommitStatus, HR_COMM_LOSS_TIMEOUT_S, IR_DETECTOR_COUNT } from '../registerMap.js';
import { demoNetwork, demoPlan, planFromVolumes } from '../../test/fixtures/controllers/demo.js';

const PEER_SCRIPT = fileURLToPath(new URL('../../test/fixtures/controllers/pymodbus_peer.py', import.meta.url));

/** mbpoll prints one "[ref]: \tvalue" line per register. */
function parseMbpoll(stdout: string): Map<number, number> {
  const values = new Map<number, number>();
  for (const m of stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) values.set(Number(m[1]), Number(m[2]));
  return values;
}

describe('interoperability with independent Modbus masters', () => {
  const c = demoNetwork();
  const plan = demoPlan();
  let server: ControllerServer;
  const controllers: VirtualController[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) controllers.push(new VirtualController(c, i, plan, { commLossTimeoutS: 0 }));
    server = await ControllerServer.start(controllers.map((v, i) => ({ unitId: i + 1, controller: v })), { clock: () => 10 });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('mbpoll reads input registers (1-based references: ref r = address r-1)', async () => {
    const mbpoll = requireTool('mbpoll');
    const r = await run(mbpoll, ['-m', 'tcp', '-a', '2', '-r', '1', '-c', '16', '-t', '3', '-1', '-o', '2', '-p', String(server.port), '127.0.0.1']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const values = parseMbpoll(r.stdout);
    expect(values.size).toBe(16);
    // Address IR_DETECTOR_COUNT (10) is reference 11.
    expect(values.get(IR_DETECTOR_COUNT + 1)).toBe(controllers[1]!.detectorCount);
    expect(values.get(1)).toBe(0); // active plan id: the local plan
    // -0 switches mbpoll to 0-based PDU addresses: the same register.
    const zero = await run(mbpoll, ['-m', 'tcp', '-a', '2', '-0', '-r', String(IR_DETECTOR_COUNT), '-c', '1', '-t', '3', '-1', '-o', '2', '-p', String(server.port), '127.0.0.1']);
    expect(parseMbpoll(zero.stdout).get(IR_DETECTOR_COUNT)).toBe(controllers[1]!.detectorCount);
  });

  test('mbpoll writes a holding register, and gets an exception for an unknown unit', async () => {
    const mbpoll = requireTool('mbpoll');
    const w = await run(mbpoll, ['-m', 'tcp', '-a', '1', '-r', String(HR_COMM_LOSS_TIMEOUT_S + 1), '-t', '4', '-1', '-o', '2', '-p', String(server.port), '127.0.0.1', '120']);
    expect(w.code, w.stderr + w.stdout).toBe(0);
    expect(controllers[0]!.readHolding(HR_COMM_LOSS_TIMEOUT_S, 1)).toEqual([120]);
    const unknown = await run(mbpoll, ['-m', 'tcp', '-a', '200', '-r', '1', '-c', '1', '-t', '3', '-1', '-o', '1', '-p', String(server.port), '127.0.0.1']);
    expect(unknown.stdout + unknown.stderr).toMatch(/Gateway target device failed to respond|exception|failed/i);
    expect(parseMbpoll(unknown.stdout).size).toBe(0);
  });

  test('pymodbus stages, checksums and commits a plan; exceptions 0x0B and 0x02', async () => {
    const py = pymodbusPython();
    const next = planFromVolumes(new Float64Array(c.detectorIds.length).fill(30));
    const block = encodePlanBlock(c, 2, next, 321);
    const r = await run(py, [PEER_SCRIPT, String(server.port), '3', JSON.stringify([...block])]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toMatchObject({ stagingWriteError: false, crcWriteError: false, commitWriteError: false, unknownUnitException: 0x0b, badAddressException: 0x02 });
    const [status, , pending, last] = out.commit as number[];
    expect({ status, pending, last }).toEqual({ status: CommitStatus.Pending, pending: 321, last: 321 });
    expect((out.status as number[])[7]).toBe(321);
    expect(controllers[2]!.state().pendingPlanId).toBe(321);
  });
});
