/**
 * `greenwave controllers --virtual N --snmp-port P`: one NTCIP agent per
 * virtual controller, read with Net-SNMP's snmpget (Debian package "snmp";
 * missing → FAIL with an install hint).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { parseControllersArgs, startVirtualControllers, cmdControllers, type VirtualFleet } from '../../cli/controllers.js';
import { DEMO_NETWORK_PATH, demoNetwork } from '../../test/fixtures/controllers/demo.js';
import { requireTool } from '../../test/fixtures/controllers/ptyPair.js';
import { PHASE_ENTRY } from './oids.js';

let fleet: VirtualFleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
});

function snmpget(port: number, oid: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireTool('snmpget', 'snmp');
  return new Promise((resolve) => {
    execFile(bin, ['-m', '', '-v2c', '-c', 'public', '-t', '2', '-r', '1', '-On', '-Oqv', `127.0.0.1:${port}`, oid], { timeout: 15_000, env: { ...process.env, MIBS: '' } }, (e, stdout, stderr) =>
      resolve({ code: e ? -1 : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe('greenwave controllers --snmp-port', () => {
  test('--virtual 2 --snmp-port 0: an NTCIP agent per controller, ports reported', async () => {
    fleet = await startVirtualControllers(parseControllersArgs(['--virtual', '2', '--port', '0', '--snmp-port', '0', '--network', DEMO_NETWORK_PATH]));
    expect(fleet.units.map((u) => u.unitId)).toEqual([1, 2]);
    const c = demoNetwork();
    for (const [k, u] of fleet.units.entries()) {
      expect(u.snmpPort).toBeGreaterThan(0);
      const r = await snmpget(u.snmpPort!, `${PHASE_ENTRY}.8.1`);
      expect(r.code, r.stderr).toBe(0);
      expect(Number(r.stdout.trim())).toBe(Math.round(c.phaseYellowS[c.phaseStart[k]!]! * 10));
    }
    expect(new Set(fleet.units.map((u) => u.snmpPort)).size).toBe(2);
  });

  test('bad --snmp-port is refused with a located message', () => {
    expect(() => parseControllersArgs(['--virtual', '3', '--snmp-port', '65534'])).toThrow(/--snmp-port 65534/);
    expect(() => parseControllersArgs(['--virtual', '1', '--snmp-port', 'x'])).toThrow(/--snmp-port x/);
    expect(parseControllersArgs(['--virtual', '3', '--snmp-port', '16100']).snmpPort).toBe(16100);
    expect(typeof cmdControllers).toBe('function');
  });
});
