import { afterEach, describe, expect, test } from 'vitest';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './main.js';
import { parseControllersArgs, startVirtualControllers, type VirtualFleet } from './controllers.js';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { DEMO_NETWORK_PATH, demoNetwork } from '../test/fixtures/controllers/demo.js';
import { snmpwalk } from '../test/fixtures/controllers/snmpTool.js';
import { DAY_PLAN_ENTRY, DayPlanColumn } from '../controllers-adapter/ntcip/oids.js';
import { HR_TOD, TOD_ENTRIES, TOD_STRIDE } from '../controllers-adapter/registerMap.js';
import { SignClient } from '../controllers-adapter/modbus/signClient.js';
import { SIGN_LINE_KIND } from '../controllers-adapter/signBlock.js';

const DEMO_PARKING = new URL('../examples/demo-city/parking.json', import.meta.url).pathname;

let fleet: VirtualFleet | undefined;
let client: ControllerClient | undefined;
afterEach(async () => {
  await client?.close();
  await fleet?.stop();
  client = undefined;
  fleet = undefined;
});

describe('greenwave controllers', () => {
  test('--virtual 3 --port 0 serves units 1..3 on the real clock', async () => {
    fleet = await startVirtualControllers(parseControllersArgs(['--virtual', '3', '--port', '0', '--network', DEMO_NETWORK_PATH]));
    expect(fleet.units).toEqual([
      { unitId: 1, intersectionId: 'I1' },
      { unitId: 2, intersectionId: 'I2' },
      { unitId: 3, intersectionId: 'I3' },
    ]);
    const port = fleet.server.port;
    client = new ControllerClient(demoNetwork(), fleet.units.map((u, i) => ({ unitId: u.unitId, intersection: i, host: '127.0.0.1', port })), { timeoutMs: 1000 });
    const statuses = await Promise.all([1, 2, 3].map((u) => client!.readStatus(u)));
    for (const st of statuses) expect(st).toMatchObject({ activePlanId: 0, mode: 0, faults: 0 });
    expect(statuses[2]!.detectorCount).toBe(20);
  });

  test('--parking serves the parking file\'s signs on the controllers\' port; a sign on a controller\'s unit id is refused', async () => {
    fleet = await startVirtualControllers(parseControllersArgs(['--virtual', '3', '--port', '0', '--network', DEMO_NETWORK_PATH, '--parking', DEMO_PARKING]));
    expect(fleet.signs.map((s) => [s.unitId, s.signId])).toEqual([
      [100, 'S1'],
      [101, 'S2'],
      [102, 'S3'],
    ]);
    const signs = new SignClient([{ signId: 'S2', unitId: 101, host: '127.0.0.1', port: fleet.server.port }], { timeoutMs: 1000 });
    try {
      await signs.push('S2', { state: 0, lines: [{ kind: SIGN_LINE_KIND.spaces, freeSpaces: 42, direction: 1, partial: false }] });
    } finally {
      await signs.close();
    }
    expect(fleet.signs[1]!.sign.shown()?.lines[0]?.freeSpaces).toBe(42);
    const dir = mkdtempSync(join(tmpdir(), 'gw-ctl-signs-'));
    try {
      const file = JSON.parse(readFileSync(DEMO_PARKING, 'utf8'));
      file.signs[0].unitId = 2;
      writeFileSync(join(dir, 'parking.json'), JSON.stringify(file));
      await expect(startVirtualControllers(parseControllersArgs(['--virtual', '3', '--port', '0', '--network', DEMO_NETWORK_PATH, '--parking', join(dir, 'parking.json')]))).rejects.toThrow(/signs\[0\]\.unitId: unit 2 is controller I2's on this port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--idle-timeout-s closes a connection that sends no request; --time-scale and the timeout are checked', async () => {
    expect(parseControllersArgs(['--virtual', '1', '--idle-timeout-s', '0.3', '--time-scale', '20'])).toMatchObject({ idleTimeoutMs: 300, timeScale: 20 });
    expect(() => parseControllersArgs(['--virtual', '1', '--idle-timeout-s=-1'])).toThrow(/--idle-timeout-s -1 must be/);
    expect(() => parseControllersArgs(['--virtual', '1', '--time-scale', '0'])).toThrow(/--time-scale 0 must be/);
    fleet = await startVirtualControllers(parseControllersArgs(['--virtual', '1', '--port', '0', '--network', DEMO_NETWORK_PATH, '--idle-timeout-s', '0.3']));
    const sock = connect({ host: '127.0.0.1', port: fleet.server.port });
    sock.on('error', () => {});
    const t0 = Date.now();
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(fleet.server.stats.idleClosed).toBe(1);
  });

  test('--counts --time-of-day: the day plan from the demo day is in every controller (Modbus table) and its NTCIP time base (snmpwalk)', async () => {
    fleet = await startVirtualControllers(parseControllersArgs(['--virtual', '2', '--port', '0', '--snmp-port', '0', '--network', DEMO_NETWORK_PATH, '--counts', 'examples/demo-city/counts.csv', '--time-of-day']));
    const periods = fleet.periods!;
    expect(periods.map((p) => p.period.id)).toEqual(expect.arrayContaining(['am-peak', 'pm-peak']));
    const starts = periods.map((p) => p.period.startMin).sort((a, b) => a - b);
    // Modbus: the time-of-day table read back over TCP, one entry per period start (plus 00:00 if none starts there).
    client = new ControllerClient(demoNetwork(), fleet.units.map((u, i) => ({ unitId: u.unitId, intersection: i, host: '127.0.0.1', port: fleet!.server.port })), { timeoutMs: 1000 });
    const regs = await client.readHolding(2, HR_TOD, TOD_ENTRIES + 16 * TOD_STRIDE);
    const n = regs[0]!;
    const tableStarts = Array.from({ length: n }, (_, k) => regs[TOD_ENTRIES + k * TOD_STRIDE]!);
    expect(tableStarts.filter((m) => m !== 0 || starts.includes(0))).toEqual(starts);
    // NTCIP: the day plan's events (hour, minute) as snmpwalk reads them from unit 1's agent.
    const hours = [...(await snmpwalk(fleet.units[0]!.snmpPort!, `${DAY_PLAN_ENTRY}.${DayPlanColumn.Hour}`)).values()].map(Number);
    expect(hours.length).toBe(n);
    expect(hours).toEqual(tableStarts.map((m) => Math.floor(m / 60)));
  });

  test('bad arguments exit 2 with a located message', () => {
    const errs: string[] = [];
    expect(run(['controllers'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['controllers', '--virtual', '0'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['controllers', '--virtual', '2', '--port', '70000'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['controllers', '--virtual', '2', '--time-of-day'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('')).toMatch(/--virtual N is required[\s\S]*--virtual 0 must be[\s\S]*--port 70000[\s\S]*--counts and --time-of-day go together/);
  });
});
