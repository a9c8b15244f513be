/**
 * GETNEXT / GETBULK conformance of the NTCIP agent (RFC 3416) with Net-SNMP's
 * snmpgetnext, snmpbulkget, snmpwalk and snmpbulkwalk as independent
 * managers (Debian package "snmp"; a missing tool FAILS): endOfMibView past
 * the end (noSuchName over SNMPv1), N + M × R varbinds, early stop at the end
 * of the MIB, responses cut to the message size (seen in `-d` packet dumps),
 * tooBig only when the non-repeaters alone do not fit.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { NtcipAgent, type NtcipAgentOptions } from './agent.js';
import { COORD_PATTERN_STATUS, PHASE_ENTRY, PhaseColumn, SYSTEM_PATTERN_CONTROL } from './oids.js';
import { VirtualController } from '../virtual/controller.js';
import { demoNetwork, demoPlan } from '../../test/fixtures/controllers/demo.js';
import { snmpTool } from '../../test/fixtures/controllers/snmpTool.js';

const c = demoNetwork();
const plan = demoPlan();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const tool = snmpTool;

async function agent(opts: NtcipAgentOptions = {}): Promise<NtcipAgent> {
  const vc = new VirtualController(c, 0, plan, { startS: 0, commLossTimeoutS: 0 });
  const a = await NtcipAgent.start(vc, { clock: () => 10, ...opts });
  cleanups.push(() => a.close());
  return a;
}

/** "-On" lines → [oid, value text]. */
function lines(stdout: string): Array<[string, string]> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('.'))
    .map((l) => {
      const at = l.indexOf(' = ');
      return [l.slice(1, at), l.slice(at + 3)] as [string, string];
    });
}

const END = /No more variables left in this MIB View/;

function compareOid(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k]! - y[k]!;
  return x.length - y.length;
}

describe('NTCIP agent: GETNEXT and GETBULK per RFC 3416', () => {
  test('snmpwalk and snmpbulkwalk see the same strictly increasing MIB; GETNEXT past the last object is endOfMibView (v2c), noSuchName (v1)', async () => {
    const a = await agent();
    const walk = await tool('snmpwalk', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', `127.0.0.1:${a.port}`, '1.3.6.1']);
    expect(walk.code, walk.stderr).toBe(0);
    const bulk = await tool('snmpbulkwalk', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', '-Cr1000', `127.0.0.1:${a.port}`, '1.3.6.1']);
    expect(bulk.code, bulk.stderr).toBe(0);
    // Both end with the endOfMibView varbind that stopped them (a walk of 1.3.6.1 has no subtree end).
    const all = lines(walk.stdout);
    expect(all[all.length - 1]![1]).toMatch(END);
    expect(lines(bulk.stdout)).toEqual(all);
    const w = all.slice(0, -1);
    expect(w.length).toBeGreaterThan(100);
    expect(w.some(([, v]) => END.test(v))).toBe(false);
    for (let k = 1; k < w.length; k++) expect(compareOid(w[k - 1]![0], w[k]![0]), w[k]![0]).toBeLessThan(0);
    expect(w[0]![0].startsWith(`${PHASE_ENTRY}.${PhaseColumn.Number}.`)).toBe(true);
    expect(w.some(([oid]) => oid === COORD_PATTERN_STATUS + '.0' || oid === COORD_PATTERN_STATUS)).toBe(true);

    const last = w[w.length - 1]![0];
    // From the last object, and from an OID past every object: endOfMibView, with the requested OID.
    const past = await tool('snmpgetnext', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', `127.0.0.1:${a.port}`, last, '1.3.6.1.9', `${SYSTEM_PATTERN_CONTROL}`]);
    expect(past.code, past.stderr).toBe(0);
    const p = lines(past.stdout);
    expect(p.map(([oid]) => oid)).toEqual([last, '1.3.6.1.9', w[w.findIndex(([oid]) => compareOid(oid, SYSTEM_PATTERN_CONTROL) > 0)]![0]]);
    expect(p[0]![1]).toMatch(END);
    expect(p[1]![1]).toMatch(END);
    expect(p[2]![1]).not.toMatch(/No Such|No more/);
    // A GETNEXT from before the MIB (mib-2, not served here) lands on its first object.
    const first = await tool('snmpgetnext', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', `127.0.0.1:${a.port}`, '1.3.6.1.2.1']);
    expect(lines(first.stdout)[0]![0]).toBe(w[0]![0]);
    // SNMPv1 has no endOfMibView: error noSuchName at the varbind that ran past the end.
    const v1 = await tool('snmpgetnext', ['-v1', '-c', 'public', '-t', '2', '-r', '0', '-On', `127.0.0.1:${a.port}`, w[0]![0], last]);
    expect(v1.stdout + v1.stderr).toMatch(/noSuchName/);
    expect(v1.stdout + v1.stderr).toContain(`Failed object: .${last}`);
  });

  // The whole MIB the agent serves: asc (NTCIP 1202) and global (NTCIP 1201 time base) are both under devices.
  const NTCIP_DEVICES = '1.3.6.1.4.1.1206.4.2';

  test('getbulk: N non-repeaters once, then M rounds over the R repeaters; stops once every repeater is past the end', async () => {
    const a = await agent();
    const col = (k: number): string => `${PHASE_ENTRY}.${k}`;
    const r = await tool('snmpbulkget', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', '-Cn1', '-Cr5', `127.0.0.1:${a.port}`, col(PhaseColumn.MinimumGreen), col(PhaseColumn.YellowChange), col(PhaseColumn.RedClear)]);
    expect(r.code, r.stderr).toBe(0);
    const got = lines(r.stdout).map(([oid]) => oid);
    // The expected successors, from a plain snmpwalk of the agent.
    const walk = lines((await tool('snmpwalk', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', `127.0.0.1:${a.port}`, NTCIP_DEVICES])).stdout)
      .filter(([, v]) => !END.test(v))
      .map(([oid]) => oid);
    const succ = (oid: string): string => walk.find((o) => compareOid(o, oid) > 0)!;
    const want = [succ(col(PhaseColumn.MinimumGreen))];
    let [yc, rc] = [col(PhaseColumn.YellowChange), col(PhaseColumn.RedClear)];
    for (let k = 0; k < 5; k++) {
      yc = succ(yc);
      rc = succ(rc);
      want.push(yc, rc);
    }
    expect(got).toEqual(want);
    expect(got).toHaveLength(1 + 5 * 2);
    expect(got[1]).toBe(`${col(PhaseColumn.YellowChange)}.1`);
    // Near the end: two repeaters run out; the response stops after the first round where both are at the end.
    const [x, y] = [walk[walk.length - 3]!, walk[walk.length - 2]!];
    const tail = lines((await tool('snmpbulkget', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', '-Cr50', `127.0.0.1:${a.port}`, x, y])).stdout);
    // x → …-2, …-1, end; y → …-1, end: the third round is the first with both at the end, and the last.
    expect(tail.map(([oid, v]) => (END.test(v) ? `end ${oid}` : oid))).toEqual([y, walk[walk.length - 1], walk[walk.length - 1], `end ${walk[walk.length - 1]}`, `end ${walk[walk.length - 1]}`, `end ${walk[walk.length - 1]}`]);
  });

  test('getbulk with max-repetitions 100000 is answered, cut to fit the message size; tooBig only when the non-repeaters do not fit', async () => {
    for (const maxMessageBytes of [1472, 484, 65507]) {
      const a = await agent({ maxMessageBytes });
      const r = await tool('snmpbulkget', ['-d', '-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', '-Cr100000', `127.0.0.1:${a.port}`, '1.3.6.1']);
      expect(r.code, `${maxMessageBytes}: ${r.stderr}`).toBe(0);
      const got = lines(r.stdout);
      const received = [...(r.stdout + r.stderr).matchAll(/Received (\d+) byte packet/g)].map((m) => Number(m[1]));
      expect(received, String(maxMessageBytes)).toHaveLength(1);
      expect(received[0]!).toBeLessThanOrEqual(maxMessageBytes);
      if (maxMessageBytes === 65507) {
        // Everything fits: the whole MIB, then one endOfMibView (the one repeater is at the end).
        expect(END.test(got[got.length - 1]![1])).toBe(true);
        expect(got.filter(([, v]) => END.test(v))).toHaveLength(1);
      } else {
        // Cut from the end, not emptied: the prefix of the walk, as many as fit (another varbind would not).
        expect(got.length).toBeGreaterThan(5);
        expect(received[0]! + 30).toBeGreaterThan(maxMessageBytes);
        expect(got.some(([, v]) => END.test(v))).toBe(false);
      }
    }
    // 60 non-repeaters cannot fit in 484 bytes: tooBig, not silence.
    const small = await agent({ maxMessageBytes: 484 });
    const many = Array.from({ length: 60 }, (_, k) => `${PHASE_ENTRY}.${PhaseColumn.Number}.${k}`);
    const tb = await tool('snmpbulkget', ['-v2c', '-c', 'public', '-t', '2', '-r', '0', '-On', '-Cn60', '-Cr1', `127.0.0.1:${small.port}`, ...many]);
    expect(tb.stdout + tb.stderr).toMatch(/tooBig/);
  });
});
