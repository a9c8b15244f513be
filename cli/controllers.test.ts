import { afterEach, describe, expect, test } from 'vitest';
import { connect } from 'node:net';
import { run } from './main.js';
import { parseControllersArgs, startVirtualControllers, type VirtualFleet } from './controllers.js';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { DEMO_NETWORK_PATH, demoNetwork } from '../test/fixtures/controllers/demo.js';

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

  test('bad arguments exit 2 with a located message', () => {
    const errs: string[] = [];
    expect(run(['controllers'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['controllers', '--virtual', '0'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(run(['controllers', '--virtual', '2', '--port', '70000'], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('')).toMatch(/--virtual N is required[\s\S]*--virtual 0 must be[\s\S]*--port 70000/);
  });
});
