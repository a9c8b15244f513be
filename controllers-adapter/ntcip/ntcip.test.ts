/**
 * NTCIP 1202 over SNMP with real peers: the agent on 127.0.0.1 at an
 * ephemeral UDP port, Net-SNMP's snmpget/snmpwalk/snmpset (Debian package
 * "snmp"; a missing tool FAILS with an install hint) and the engine's
 * NtcipManager (net-snmp sessions).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import { NtcipAgent } from './agent.js';
import { NtcipManager } from './manager.js';
import { phaseProgram, patternToPlan, planToPattern } from './convert.js';
import { COORD_PATTERN_STATUS, PATTERN_ENTRY, PHASE_ENTRY, PHASE_STATUS_GROUP_ENTRY, SPLIT_ENTRY, SYSTEM_PATTERN_CONTROL, UNIT_BACKUP_TIME } from './oids.js';
import { VirtualController } from '../virtual/controller.js';
import { encodePlanBlock } from '../codec.js';
import { ControllerMode, FaultFlag } from '../registerMap.js';
import { ControllerError, ControllerErrorReason } from '../errors.js';
import { IssueList, UnsafePlanError } from '../../engine/errors.js';
import { createPlanBuffer } from '../../engine/timing/planner.js';
import { copyIntersectionPlan } from '../codec.js';
import { demoNetwork, demoPlan, dualRingIntersection } from '../../test/fixtures/controllers/demo.js';
import { snmpTool, snmpwalk, type ToolRun } from '../../test/fixtures/controllers/snmpTool.js';
import { busPhaseDemo } from '../../test/fixtures/busPhaseNetwork.js';

const c = demoNetwork();
const plan = demoPlan();
const NEMA = dualRingIntersection(c);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const tool = snmpTool;

async function snmpget(port: number, oids: string[], community = 'public'): Promise<number[]> {
  const r = await tool('snmpget', ['-v2c', '-c', community, '-t', '2', '-r', '1', '-On', '-Oqv', `127.0.0.1:${port}`, ...oids]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => Number(l.trim()));
}

function snmpset(port: number, community: string, assignments: Array<[string, number]>): Promise<ToolRun> {
  return tool('snmpset', ['-v2c', '-c', community, '-t', '2', '-r', '0', '-On', `127.0.0.1:${port}`, ...assignments.flatMap(([o, v]) => [o, 'i', String(v)])]);
}

async function agentFor(i: number, clock: { now: number } | (() => number), commLossTimeoutS = 0) {
  const fn = typeof clock === 'function' ? clock : () => clock.now;
  const vc = new VirtualController(c, i, plan, { startS: fn(), commLossTimeoutS });
  const agent = await NtcipAgent.start(vc, { clock: fn, patterns: 4 });
  cleanups.push(() => agent.close());
  return { vc, agent };
}

function manager(i: number, port: number, extra: ConstructorParameters<typeof NtcipManager>[2] = {}): NtcipManager {
  const m = new NtcipManager(c, i, { port, timeoutMs: 500, retries: 1, ...extra });
  cleanups.push(() => m.stop());
  return m;
}

/** Expected status-group bitmaps of intersection i's plan at cycle position tau. */
function expectedGroups(p: ReturnType<typeof createPlanBuffer>, i: number, tau: number) {
  let greens = 0;
  let yellows = 0;
  for (let q = c.phaseStart[i]!; q < c.phaseStart[i + 1]!; q++) {
    const k = q - c.phaseStart[i]!;
    const s = p.phaseStartS[q]!;
    const ge = s + p.phaseGreenS[q]!;
    if (tau >= s && tau < ge) greens |= 1 << k;
    else if (tau >= ge && tau < ge + p.phaseYellowS[q]!) yellows |= 1 << k;
  }
  const all = (1 << (c.phaseStart[i + 1]! - c.phaseStart[i]!)) - 1;
  return { greens, yellows, reds: all & ~(greens | yellows) };
}

describe('NTCIP 1202 agent and manager over SNMP', () => {
  test('snmpget and snmpwalk read the phase table in NTCIP units', async () => {
    const clock = { now: 0 };
    const { agent } = await agentFor(NEMA, clock);
    const prog = phaseProgram(c, NEMA);
    const p0 = c.phaseStart[NEMA]!;
    const walk = await snmpwalk(agent.port, PHASE_ENTRY);
    for (let k = 0; k < prog.length; k++) {
      const ph = `${k + 1}`;
      // Yellow and red clearance in tenths of a second, min green / max in seconds.
      expect(Number(walk.get(`${PHASE_ENTRY}.8.${ph}`))).toBe(Math.round(c.phaseYellowS[p0 + k]! * 10));
      expect(Number(walk.get(`${PHASE_ENTRY}.9.${ph}`))).toBe(Math.round(c.phaseAllRedS[p0 + k]! * 10));
      expect(Number(walk.get(`${PHASE_ENTRY}.6.${ph}`))).toBe(Math.round(c.phaseMaxGreenS[p0 + k]!));
      expect(Number(walk.get(`${PHASE_ENTRY}.4.${ph}`))).toBe(prog[k]!.minimumGreenS);
      expect(Number(walk.get(`${PHASE_ENTRY}.22.${ph}`))).toBe(c.phaseRing[p0 + k]! + 1);
    }
    // A pedestrian phase: walk and pedestrian clearance in seconds, from the network.
    const k = prog.findIndex((p) => p.walkS > 0);
    expect(k).toBeGreaterThanOrEqual(0);
    const [walkS, pedClearS, minGreenS, yellowDs] = await snmpget(agent.port, [`${PHASE_ENTRY}.2.${k + 1}`, `${PHASE_ENTRY}.3.${k + 1}`, `${PHASE_ENTRY}.4.${k + 1}`, `${PHASE_ENTRY}.8.${k + 1}`]);
    expect(walkS).toBe(7);
    expect(walkS! + pedClearS!).toBeGreaterThanOrEqual(c.phasePedestrianS[p0 + k]!);
    expect(walkS! + pedClearS!).toBeLessThan(c.phasePedestrianS[p0 + k]! + 2);
    const raw = c.network.intersections[NEMA]!;
    const rawPhase = (raw.phasing.type === 'stages' ? raw.phasing.stages : raw.phasing.phases)[c.phaseFileIndex[p0 + k]!]!;
    expect(minGreenS).toBe(Math.ceil(rawPhase.minGreenS));
    expect(yellowDs).toBe(Math.round(c.phaseYellowS[p0 + k]! * 10));
    // Status groups: one group (≤ 8 phases), red everywhere at power-up (all red until cycle zero).
    const groups = await snmpwalk(agent.port, PHASE_STATUS_GROUP_ENTRY);
    expect(groups.get(`${PHASE_STATUS_GROUP_ENTRY}.2.1`)).toBe(String((1 << prog.length) - 1));
    expect(groups.get(`${PHASE_STATUS_GROUP_ENTRY}.4.1`)).toBe('0');
    // Writes need the private community; the phase table is the controller's program (read-only).
    const denied = await snmpset(agent.port, 'public', [[`${UNIT_BACKUP_TIME}.0`, 5]]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/noAccess/i);
    const ro = await snmpset(agent.port, 'private', [[`${PHASE_ENTRY}.8.1`, 30]]);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/notWritable/i);
    // Min green, passage and maximum 1 are writable (actuated operation), never below the network's minimum green.
    const low = await snmpset(agent.port, 'private', [[`${PHASE_ENTRY}.4.1`, prog[0]!.minimumGreenS - 1]]);
    expect(low.stderr).toMatch(/badValue/i);
    expect(agent.lastRefusal).toMatch(/below the phase's minimum green/);
  });

  test('snmpset: a pattern whose cycle is too short is refused (badValue); a valid one is selected and runs', async () => {
    const clock = { now: 0 };
    const i = 0; // three stages, one ring
    const { vc, agent } = await agentFor(i, clock);
    const prog = phaseProgram(c, i);
    const mins = prog.map((p) => Math.ceil(p.minimumGreenS + p.walkS + p.pedestrianClearS + (p.yellowChangeDs + p.redClearDs) / 10));
    const sumMin = mins.reduce((a, b) => a + b, 0);
    // Splits at the minimums but a cycle 10 s shorter than their sum.
    const tooShort: Array<[string, number]> = [[`${PATTERN_ENTRY}.2.2`, sumMin - 10], ...mins.map((m, k): [string, number] => [`${SPLIT_ENTRY}.3.2.${k + 1}`, m])];
    const r = await snmpset(agent.port, 'private', tooShort);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/badValue/i);
    expect(agent.lastRefusal).toMatch(/below the sum of the phase minimums/);
    // Nothing changed: the PDU is all or nothing.
    expect(await snmpget(agent.port, [`${PATTERN_ENTRY}.2.2`, `${SPLIT_ENTRY}.3.2.1`])).toEqual([0, 0]);
    // Offset of a whole cycle: refused too.
    const offset = await snmpset(agent.port, 'private', [[`${PATTERN_ENTRY}.2.2`, sumMin + 20], [`${PATTERN_ENTRY}.3.2`, sumMin + 20], ...mins.map((m, k): [string, number] => [`${SPLIT_ENTRY}.3.2.${k + 1}`, m])]);
    expect(offset.stderr).toMatch(/badValue/i);
    expect(agent.lastRefusal).toMatch(/offset/);
    // Valid: cycle = minimums + 20 s spare (to the coordinated phase 2), offset 5, selected at once.
    const cycle = sumMin + 20;
    const ok = await snmpset(agent.port, 'private', [[`${PATTERN_ENTRY}.2.2`, cycle], [`${PATTERN_ENTRY}.3.2`, 5], ...mins.map((m, k): [string, number] => [`${SPLIT_ENTRY}.3.2.${k + 1}`, m]), [`${SPLIT_ENTRY}.5.2.2`, 1], [`${SYSTEM_PATTERN_CONTROL}.0`, 2]]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(vc.state().pendingPlanId).toBe(2);
    clock.now += 400;
    expect(await snmpget(agent.port, [`${COORD_PATTERN_STATUS}.0`, `${PATTERN_ENTRY}.2.2`, `${SYSTEM_PATTERN_CONTROL}.0`])).toEqual([2, cycle, 2]);
    const expanded = createPlanBuffer(c);
    copyIntersectionPlan(c, i, plan, expanded);
    expect(patternToPlan(c, i, { cycleS: cycle, offsetS: 5, sequence: 1, splitS: mins, coord: mins.map((_, k) => k === 1) }, expanded, new IssueList())).toBe(true);
    expect(expanded.phaseGreenS[c.phaseStart[i]! + 1]! + expanded.phaseYellowS[c.phaseStart[i]! + 1]! + expanded.phaseAllRedS[c.phaseStart[i]! + 1]!).toBeCloseTo(mins[1]! + 20, 6);
    expect([...vc.activePlanBlock()]).toEqual([...encodePlanBlock(c, i, expanded, 2)]);
  });

  test('the manager pushes an engine plan (lead/lag NEMA), the controller runs it: pattern and phase status groups via snmpget', async () => {
    const clock = { now: 1000 };
    const i = NEMA;
    const { vc, agent } = await agentFor(i, clock);
    const m = manager(i, agent.port);
    const pushed = await m.pushPattern(plan);
    expect(pushed.pattern.cycleS).toBe(Math.round(plan.cycleS[i]!));
    expect(pushed.pattern.splitS.every((s) => Number.isInteger(s))).toBe(true);
    // Splits include the clearances: green + yellow + red of the expanded plan.
    const p0 = c.phaseStart[i]!;
    pushed.pattern.splitS.forEach((s, k) => expect(pushed.plan.phaseGreenS[p0 + k]! + pushed.plan.phaseYellowS[p0 + k]! + pushed.plan.phaseAllRedS[p0 + k]!).toBeCloseTo(s, 6));
    // Quantization moves no phase boundary by more than half a second, or one second where a phase
    // planned at a fractional minimum (I3's pedestrian phase, 30.4 s) takes a whole second from its ring;
    // no split falls below its phase's minimum.
    for (let k = 0; k < pushed.pattern.splitS.length; k++) {
      expect(Math.abs(pushed.plan.phaseStartS[p0 + k]! - plan.phaseStartS[p0 + k]!)).toBeLessThanOrEqual(1 + 1e-6);
      expect(pushed.plan.phaseGreenS[p0 + k]!).toBeGreaterThanOrEqual(c.phaseMinGreenS[p0 + k]! - 1e-9);
    }
    expect(vc.state().pendingPlanId).toBe(1);
    clock.now += 2 * plan.cycleS[i]!;
    const [cycle, offset, status] = await snmpget(agent.port, [`${PATTERN_ENTRY}.2.1`, `${PATTERN_ENTRY}.3.1`, `${COORD_PATTERN_STATUS}.0`]);
    expect(cycle).toBe(pushed.pattern.cycleS);
    expect(offset).toBe(pushed.pattern.offsetS);
    expect(status).toBe(1);
    expect([...vc.activePlanBlock()]).toEqual([...encodePlanBlock(c, i, pushed.plan, 1)]);
    // Walk the cycle: the status groups follow the plan the manager computed.
    const { startS, cycleS } = vc.runningCycle();
    for (const tau of [1, 10.5, 30, 55, 80.2, 100, 120, 140]) {
      if (tau >= cycleS) continue;
      clock.now = startS + cycleS * 2 + tau;
      const [reds, yellows, greens] = await snmpget(agent.port, [`${PHASE_STATUS_GROUP_ENTRY}.2.1`, `${PHASE_STATUS_GROUP_ENTRY}.3.1`, `${PHASE_STATUS_GROUP_ENTRY}.4.1`]);
      const want = expectedGroups(pushed.plan, i, (clock.now - vc.runningCycle().startS) % cycleS);
      expect({ reds, yellows, greens }, `tau ${tau}`).toEqual(want);
      expect(greens).not.toBe(0);
    }
  });

  test('an on-demand bus phase the plan skips goes out omitted (splitMode 7, split 0) and never shows green; omitting a phase that always runs is refused', async () => {
    const bus = busPhaseDemo();
    const i = 2; // I3: dual ring, bus left 5B lagging in ring 2 of the first barrier
    const x = bus.c.phaseIds.indexOf('5B', bus.c.phaseStart[i]) - bus.c.phaseStart[i]!;
    const clock = { now: 1000 };
    const vc = new VirtualController(bus.c, i, bus.plan.buffer, { startS: clock.now, commLossTimeoutS: 0 });
    const agent = await NtcipAgent.start(vc, { clock: () => clock.now, patterns: 4 });
    cleanups.push(() => agent.close());
    const m = new NtcipManager(bus.c, i, { port: agent.port, timeoutMs: 500, retries: 1 });
    cleanups.push(() => m.stop());
    const pushed = await m.pushPattern(bus.plan.buffer);
    expect(pushed.pattern.omitted?.[x]).toBe(true);
    expect(pushed.pattern.omitted?.filter(Boolean)).toHaveLength(1);
    // Read by an independent SNMP client: split 0 and mode omitted for 5B, max recall for the others.
    const [splitTime, splitMode, otherMode] = await snmpget(agent.port, [`${SPLIT_ENTRY}.3.1.${x + 1}`, `${SPLIT_ENTRY}.4.1.${x + 1}`, `${SPLIT_ENTRY}.4.1.1`]);
    expect([splitTime, splitMode, otherMode]).toEqual([0, 7, 4]);
    clock.now += 2 * bus.plan.buffer.cycleS[i]!;
    expect(await snmpget(agent.port, [`${COORD_PATTERN_STATUS}.0`])).toEqual([1]);
    const { startS, cycleS } = vc.runningCycle();
    for (let tau = 0.5; tau < cycleS; tau += 7) {
      clock.now = startS + 2 * cycleS + tau;
      const greens = (await snmpget(agent.port, [`${PHASE_STATUS_GROUP_ENTRY}.4.1`]))[0]!;
      let want = 0;
      const at = (clock.now - vc.runningCycle().startS) % cycleS;
      for (let k = 0; k < bus.c.phaseStart[i + 1]! - bus.c.phaseStart[i]!; k++) {
        const q = bus.c.phaseStart[i]! + k;
        if (at >= pushed.plan.phaseStartS[q]! && at < pushed.plan.phaseStartS[q]! + pushed.plan.phaseGreenS[q]!) want |= 1 << k;
      }
      expect(greens, `tau ${tau}`).toBe(want & 0xff); // status group 1 holds phases 1–8
      expect(greens & (1 << x), `tau ${tau}`).toBe(0);
    }
    // Omitting phase 6 (it always runs) is refused as a whole, and nothing changes.
    const r = await snmpset(agent.port, 'private', [[`${SPLIT_ENTRY}.4.1.${x}`, 7]]);
    expect(r.stderr).toMatch(/badValue/i);
    expect(agent.lastRefusal).toMatch(/always runs: a fixed-time controller cannot omit it/);
    expect(await snmpget(agent.port, [`${SPLIT_ENTRY}.4.1.${x}`])).toEqual([4]);
  });

  test('the manager refuses, before sending, what NTCIP controllers reject', async () => {
    const clock = { now: 0 };
    const { agent } = await agentFor(0, clock);
    const m = manager(0, agent.port);
    const bad = createPlanBuffer(c);
    copyIntersectionPlan(c, 0, plan, bad);
    bad.offsetS[0] = bad.cycleS[0]!; // an offset of one whole cycle
    await expect(m.pushPattern(bad)).rejects.toBeInstanceOf(UnsafePlanError);
    // A short cycle with pedestrian phases: the engine's validator accepts it, but the NTCIP sum of
    // minimums (min green + walk + ped clearance + yellow + red) does not.
    const short = c.intersectionIds.findIndex((_, k) => planToPattern(c, k, plan, new IssueList()) !== undefined && !patternToPlan(c, k, planToPattern(c, k, plan, new IssueList())!, createPlanBuffer(c), new IssueList()));
    expect(short).toBeGreaterThanOrEqual(0);
    const err = await manager(short, agent.port).pushPattern(plan).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsafePlanError);
    expect(String((err as Error).message) + JSON.stringify((err as UnsafePlanError).issues)).toMatch(/sum of the phase minimums/);
    expect(agent.stats.sets).toBe(0);
    expect(agent.stats.refused).toBe(0); // nothing reached the agent
  });

  test('keep-alive: while systemPatternControl is refreshed the pattern runs; when it stops, the controller falls back', async () => {
    // Controller time runs 60× real time: unitBackupTime 180 s = 3 s real, a 150 s cycle = 2.5 s real.
    const t0 = Date.now();
    const clock = () => 1000 + ((Date.now() - t0) / 1000) * 60;
    const i = 0;
    const { vc, agent } = await agentFor(i, clock, 180);
    const m = manager(i, agent.port, { keepAliveMs: 150 });
    await m.pushPattern(plan);
    m.startKeepAlive();
    // Refreshed for longer than the backup time: pattern 1 becomes active and stays coordinated.
    await new Promise((r) => setTimeout(r, 4000));
    vc.tick(clock());
    expect(vc.state().mode).toBe(ControllerMode.Coordinated);
    expect(m.keepAlive.sent).toBeGreaterThanOrEqual(10);
    expect(m.keepAlive.failed).toBe(0);
    expect(await snmpget(agent.port, [`${COORD_PATTERN_STATUS}.0`, `${SYSTEM_PATTERN_CONTROL}.0`])).toEqual([1, 1]);
    m.stopKeepAlive();
    // GETs do not count as central control: the watchdog runs out.
    const deadline = Date.now() + 10_000;
    let status = [0, 0];
    while (Date.now() < deadline) {
      status = await snmpget(agent.port, [`${COORD_PATTERN_STATUS}.0`, `${SYSTEM_PATTERN_CONTROL}.0`]);
      if (status[0] === 254) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toEqual([254, 0]);
    expect(vc.state().faults & FaultFlag.CommLoss).toBe(FaultFlag.CommLoss);
    expect(vc.state().mode).toBe(ControllerMode.Free);
    // Central comes back: the next refresh restores coordination on the same pattern, without a re-commit.
    const commits = agent.stats.commits;
    m.startKeepAlive();
    const back = Date.now() + 5000;
    while (Date.now() < back && vc.state().mode !== ControllerMode.Coordinated) await new Promise((r) => setTimeout(r, 50));
    expect(vc.state().mode).toBe(ControllerMode.Coordinated);
    expect(await snmpget(agent.port, [`${COORD_PATTERN_STATUS}.0`, `${SYSTEM_PATTERN_CONTROL}.0`])).toEqual([1, 1]);
    expect(agent.stats.commits).toBe(commits);
  }, 30_000);

  test('requests time out instead of hanging when nothing answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => silent.close(() => r())));
    const m = manager(0, silent.address().port, { timeoutMs: 200, retries: 1 });
    const t0 = Date.now();
    const err = await m.get([`${COORD_PATTERN_STATUS}.0`]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ControllerError);
    expect((err as ControllerError).reason).toBe(ControllerErrorReason.SnmpTimeout);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
