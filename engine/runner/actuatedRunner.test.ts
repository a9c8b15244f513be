/**
 * Actuated control in the one cycle runner: unit tests of gap-out, max-out, rest in green,
 * skips, force-offs, early return, rest past the yield point and leaving for a new plan, on
 * the two-stage worked example and a four-stage variant; the runner refusing settings the
 * validator refuses. Every run is watched by the independent lamp monitor
 * (test/fixtures/lampMonitor.ts). The property tests are in actuatedRunner.property.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { clonePlanBuffer, createPlanBuffer, type PlanBuffer } from '../timing/planner.js';
import { planAndValidate } from '../plan.js';
import { actuatedPlan, CONTROL_FIXED, type ActuatedPlan } from '../timing/actuated.js';
import { UnsafePlanError } from '../errors.js';
import { lampsAgree, Monitor } from '../../test/fixtures/lampMonitor.js';
import { BOUNDARY_ACTUATED, BOUNDARY_PLAN_SWITCH, CycleRunner, STEP_CYCLE_ZERO, STEP_DONE } from './cycleRunner.js';

const twoStageJson = () => JSON.parse(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8'));

/** The worked example: C 48 s, EW green 21.7 s from 0, NS 16.3 s from 26.7 s; yellow 3.3 s, all-red 1.7 s. */
function twoStage(): { c: CompiledNetwork; plan: PlanBuffer } {
  const c = compileNetwork(loadNetwork(JSON.stringify(twoStageJson())));
  const plan = createPlanBuffer(c);
  plan.laneFlowVehPerH.set([600, 500, 450, 300]);
  planAndValidate(c, plan);
  return { c, plan };
}

/** The same crossing with four stages (E, W, N, S), each one through movement. */
function fourStage(): { c: CompiledNetwork; plan: PlanBuffer } {
  const net = twoStageJson();
  net.intersections[0].phasing.stages = ['EB', 'WB', 'NB', 'SB'].map((a) => ({ id: a[0], protected: [`${a}T`], minGreenS: 6, maxGreenS: 40 }));
  const c = compileNetwork(loadNetwork(JSON.stringify(net)));
  const plan = createPlanBuffer(c);
  plan.laneFlowVehPerH.set([500, 500, 300, 300]);
  planAndValidate(c, plan);
  return { c, plan };
}

/** A NEMA dual ring (1 2 | 5 6 ‖ 3 4 | 7 8), a left-turn lane and a through-right lane per approach. */
function dualRing(): { c: CompiledNetwork; plan: PlanBuffer } {
  const net = twoStageJson();
  const ix = net.intersections[0];
  ix.approaches = ['EB', 'WB', 'NB', 'SB'].map((a) => ({ id: a, speedKph: 50, lanes: [{ id: `${a}-L`, movements: ['L'], widthM: 3.3 }, { id: `${a}-T`, movements: ['T', 'R'], widthM: 3.6 }] }));
  ix.detectors = ['EB', 'WB', 'NB', 'SB'].flatMap((a) => ['L', 'T'].map((k) => ({ id: `D-${a}-${k}`, lane: `${a}-${k}`, kind: 'stopLine', distanceM: 3 })));
  const ph = (id: string, prot: string[], perm: string[] = []) => ({ id, protected: prot, permitted: perm, minGreenS: 5, maxGreenS: 40 });
  ix.phasing = {
    type: 'ringBarrier',
    phases: [ph('1', ['WBL']), ph('2', ['EBT'], ['EBR']), ph('5', ['EBL']), ph('6', ['WBT'], ['WBR']), ph('3', ['SBL']), ph('4', ['NBT'], ['NBR']), ph('7', ['NBL']), ph('8', ['SBT'], ['SBR'])],
    barriers: [{ rings: [['1', '2'], ['5', '6']] }, { rings: [['3', '4'], ['7', '8']] }],
  };
  const c = compileNetwork(loadNetwork(JSON.stringify(net)));
  const plan = createPlanBuffer(c);
  plan.laneFlowVehPerH.fill(200);
  planAndValidate(c, plan);
  return { c, plan };
}

interface Green {
  readonly p: number;
  readonly startS: number;
  readonly endS: number;
}

/**
 * Runs intersection 0 from its position to `untilS`, taking every edge (stepTo), with
 * `events` (clock time, action) applied in time order; the monitor watches every change.
 * Returns the greens that ended, and the cycle zeros with their flags.
 */
function drive(runner: CycleRunner, untilS: number, events: ReadonlyArray<readonly [number, (r: CycleRunner) => void]>, req?: ActuatedPlan): { greens: Green[]; zeros: Array<[number, number]>; mon: Monitor } {
  const c = runner.c;
  const greens: Green[] = [];
  const zeros: Array<[number, number]> = [];
  runner.stepTo(0, runner.cycleStartS[0]! + runner.tauS(0));
  const mon = new Monitor(c, 0, runner.intervals(0), { minGreenS: req?.minGreenS, yellowS: runner.plan.phaseYellowS, allRedS: runner.plan.phaseAllRedS });
  // A green shown when watching starts counts from there (the runners here start at a green's start).
  const t0 = runner.cycleStartS[0]! + runner.tauS(0);
  mon.onGreenEnd = (p, startS, endS) => greens.push({ p, startS: Number.isNaN(startS) ? t0 : startS, endS });
  const sorted = [...events, [untilS, () => {}] as const].sort((a, b) => a[0] - b[0]);
  for (const [t, action] of sorted) {
    for (;;) {
      const step = runner.stepTo(0, t);
      const now = runner.cycleStartS[0]! + runner.tauS(0);
      const iv = runner.intervals(0);
      mon.observe(iv, now);
      lampsAgree(c, 0, iv, runner, now);
      if (step === STEP_CYCLE_ZERO) zeros.push([now, runner.boundaryFlags[0]!]);
      if (step === STEP_DONE) break;
    }
    action(runner);
  }
  return { greens, zeros, mon };
}

const every = (fromS: number, toS: number, stepS: number, f: (r: CycleRunner, t: number) => void): Array<readonly [number, (r: CycleRunner) => void]> => {
  const out: Array<readonly [number, (r: CycleRunner) => void]> = [];
  for (let t = fromS; t <= toS + 1e-9; t += stepS) {
    const at = Math.round(t * 1000) / 1000;
    out.push([at, (r) => f(r, at)]);
  }
  return out;
};

const greensOf = (greens: readonly Green[], p: number) => greens.filter((g) => g.p === p);

describe('fully actuated (free) operation', () => {
  it('gaps out when no vehicle comes within the passage time after the minimum green, then rests in green with no call elsewhere', () => {
    const { c, plan } = twoStage();
    const a = actuatedPlan(c, plan, []);
    const r = new CycleRunner(c, plan, 0, -1, a);
    // Start-up calls every phase. EW vehicles every 2 s until 14 s: gap at 14 + 3 = 17 s.
    const { greens } = drive(r, 300, every(0, 14, 2, (x, t) => x.actuate(0, t)), a);
    expect(greensOf(greens, 0)[0]).toEqual({ p: 0, startS: 0, endS: expect.closeTo(17, 9) });
    expect(r.act.gapOuts).toBeGreaterThanOrEqual(1);
    // NS took over after EW's 3.3 s yellow and 1.7 s all-red and, with no call on EW, is still green.
    expect(greensOf(greens, 1)).toEqual([]);
    expect(r.intervals(0)[1]).toBe(1);
    expect(r.act.greenNow[1]).toBe(1);
    expect(r.running.phaseStartS[1]! + r.cycleStartS[0]!).toBeCloseTo(22, 9);
  });

  it('maxes out at the maximum green, timed from the start of green, under continuous demand', () => {
    const { c, plan } = twoStage();
    const a = actuatedPlan(c, plan, []);
    const r = new CycleRunner(c, plan, 0, -1, a);
    const { greens } = drive(r, 120, every(0, 120, 1, (x, t) => x.actuate(0, t)), a);
    const ew = greensOf(greens, 0);
    expect(ew[0]!.endS - ew[0]!.startS).toBeCloseTo(a.maxGreenS[0]!, 9);
    expect(a.maxGreenS[0]).toBe(60); // the fixture's phase maximum (fully actuated)
    expect(r.act.maxOuts).toBeGreaterThanOrEqual(1);
    // NS (start-up call, no vehicles) gets its minimum green, then EW returns (its vehicles called it).
    expect(greensOf(greens, 1)[0]!.endS - greensOf(greens, 1)[0]!.startS).toBeCloseTo(a.minGreenS[1]!, 9);
  });

  it('a call on a resting signal ends the rest at once (the maximum green has long run out)', () => {
    const { c, plan } = twoStage();
    const a = actuatedPlan(c, plan, []);
    const r = new CycleRunner(c, plan, 0, -1, a);
    const { greens } = drive(r, 130, [[100, (x) => x.actuate(0, 100)]], a);
    // EW min green 8 s (NS called at start-up), NS from 13 s rests until the EW call at 100 s.
    expect(greensOf(greens, 0)[0]).toMatchObject({ startS: 0, endS: expect.closeTo(8, 9) });
    expect(greensOf(greens, 1)[0]).toMatchObject({ startS: expect.closeTo(13, 9), endS: expect.closeTo(100, 9) });
    expect(r.act.greenNow[0]).toBe(1);
  });

  it('skips a phase with no call: it takes no time and its ring moves on', () => {
    const { c, plan } = fourStage();
    const a = actuatedPlan(c, plan, []);
    const r = new CycleRunner(c, plan, 0, -1, a);
    r.phaseCall.fill(0); // no start-up calls: E (served at 0) rests
    const { greens } = drive(r, 100, [[20, (x) => x.actuate(3, 20)], [60, (x) => x.actuate(1, 60)]], a);
    const clearE = plan.phaseYellowS[0]! + plan.phaseAllRedS[0]!;
    const clearS = plan.phaseYellowS[3]! + plan.phaseAllRedS[3]!;
    expect(greens.map((g) => g.p)).toEqual([0, 3]);
    expect(greens[0]).toMatchObject({ startS: 0, endS: expect.closeTo(20, 9) });
    // W and N skipped: S starts right after E's clearance; then the next pass skips E and serves W.
    expect(greens[1]).toMatchObject({ startS: expect.closeTo(20 + clearE, 9), endS: expect.closeTo(60, 9) });
    expect(r.act.greenNow[1]).toBe(1);
    expect(r.running.phaseStartS[1]! + r.cycleStartS[0]!).toBeCloseTo(60 + clearS, 9);
    expect(r.act.skips).toBe(3);
  });
});

describe('dual ring, fully actuated', () => {
  it('a ring through its phases rests in red until the other ring reaches the barrier; the rings cross it together', () => {
    const { c, plan } = dualRing();
    const id = (x: string) => c.phaseIds.indexOf(x);
    const a = actuatedPlan(c, plan, []);
    const r = new CycleRunner(c, plan, 0, -1, a);
    // Phases 1 and 5 (first of each ring) were served at power-up; no other call until 1 s.
    r.phaseCall.fill(0);
    const events = [[1, (x: CycleRunner) => x.actuate(id('4'), 1)] as const, ...every(1, 16, 1.5, (x, t) => x.actuate(id('2'), t))];
    const { greens } = drive(r, 120, events, a);
    const clear = (p: number) => plan.phaseYellowS[p]! + plan.phaseAllRedS[p]!;
    const g = (x: string) => greensOf(greens, id(x));
    // 1 and 5 end at their minimum green (a call waits); ring 2 has nothing else called (6 is skipped).
    expect(g('1')[0]!.endS).toBeCloseTo(5, 9);
    expect(g('5')[0]!.endS).toBeCloseTo(5, 9);
    expect(g('6')).toEqual([]);
    // 2 runs on its vehicles (the last at 16 s: gap-out at 19 s, before its max green) while ring 2 rests in red.
    expect(g('2')[0]).toMatchObject({ startS: expect.closeTo(5 + clear(id('1')), 9), endS: expect.closeTo(19, 9) });
    expect(19 - g('2')[0]!.startS).toBeLessThan(a.maxGreenS[id('2')]!);
    // Barrier: 4 starts when ring 1 is through 2's clearance, not when ring 2 was ready (long before).
    expect(r.act.greenNow[id('4')]).toBe(1);
    expect(r.running.phaseStartS[id('4')]! + r.cycleStartS[0]!).toBeCloseTo(19 + clear(id('2')), 9);
    expect(19 + clear(id('2'))).toBeGreaterThan(5 + clear(id('5')) + 5);
    for (const x of ['3', '7', '8']) expect(g(x)).toEqual([]);
  });
});

describe('actuated-coordinated operation', () => {
  // Coordinated EW: force-offs EW 21.7 s, NS 43 s (plan time). The pass starts at the end of
  // the EW barrier (26.7 s): NS, then EW to its yield point at pass time 43 s; passes of 48 s.
  const setup = () => {
    const { c, plan } = twoStage();
    const a = actuatedPlan(c, plan, [{ intersectionId: 'X1', approaches: ['EB', 'WB'] }]);
    return { c, plan, a, r: new CycleRunner(c, plan, 0, -1, a) };
  };
  const PASS0 = 26.7;

  it('forces a side phase off at its force-off under continuous demand; the coordinated phase ends at its yield point; cycles stay 48 s', () => {
    const { a, r } = setup();
    const { greens, zeros } = drive(r, PASS0 + 5 * 48, every(0, 400, 1, (x, t) => x.actuate(1, t)), a);
    for (let k = 1; k < 5; k++) {
      const pass = PASS0 + 48 * k;
      const ns = greensOf(greens, 1).find((g) => Math.abs(g.startS - pass) < 1e-6)!;
      expect(ns.endS).toBeCloseTo(pass + 16.3, 9);
      const ew = greensOf(greens, 0).find((g) => Math.abs(g.startS - (pass + 21.3)) < 1e-6)!;
      expect(ew.endS).toBeCloseTo(pass + 43, 9);
    }
    expect(zeros.filter(([, f]) => f & BOUNDARY_ACTUATED).map(([t]) => t).slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5].map((k) => expect.closeTo(PASS0 + 48 * k, 9)));
    expect(r.act.forceOffs).toBeGreaterThanOrEqual(4);
  });

  it('returns early: a side phase that gaps out hands its time to the coordinated phase, whose yield point stays', () => {
    const { a, r } = setup();
    // One NS vehicle per cycle, during EW green: NS gaps out at its minimum green (8 s).
    const { greens } = drive(r, PASS0 + 4 * 48, every(PASS0 + 30, 400, 48, (x, t) => x.actuate(1, t)), a);
    for (let k = 1; k < 4; k++) {
      const pass = PASS0 + 48 * k;
      expect(greensOf(greens, 1).find((g) => Math.abs(g.startS - pass) < 1e-6)!.endS).toBeCloseTo(pass + 8, 9);
      const ew = greensOf(greens, 0).find((g) => Math.abs(g.endS - (pass + 43)) < 1e-6)!;
      expect(ew.startS).toBeCloseTo(pass + 13, 9);
      expect(ew.endS - ew.startS).toBeCloseTo(30, 9); // planned 21.7 s
    }
  });

  it('rests the coordinated phase past its yield point while no side phase calls, and yields so the side phase starts at the pass start', () => {
    const { a, r } = setup();
    // No NS call: NS is skipped and EW stays green across passes (carried over) until a call at 170 s.
    // No NS call: NS is skipped and EW stays green across passes (carried over) until a call at 150 s.
    const { greens, zeros } = drive(r, 300, [[150, (x) => x.actuate(1, 150)]], a);
    const ew = greensOf(greens, 0);
    // Lead-in EW (the fixed plan) to 21.7 s; the first pass skips NS and serves EW from 26.7 s.
    expect(ew[0]).toMatchObject({ startS: 0, endS: expect.closeTo(21.7, 9) });
    expect(ew[1]!.startS).toBeCloseTo(PASS0, 9);
    // The call comes 27.3 s into the pass that began at 122.7 s: NS would not fit its 8 s before its
    // force-off (16.3 s into a pass), so EW yields 5 s before the pass ends and NS starts with the next.
    expect(ew[1]!.endS).toBeCloseTo(PASS0 + 3 * 48 - 5, 9);
    expect(greensOf(greens, 1)[0]).toMatchObject({ startS: expect.closeTo(PASS0 + 3 * 48, 9), endS: expect.closeTo(PASS0 + 3 * 48 + 8, 9) });
    // Every pass lasted 48 s.
    const passStarts = zeros.filter(([, f]) => f & BOUNDARY_ACTUATED).map(([t]) => t);
    for (let k = 1; k < passStarts.length; k++) expect(passStarts[k]! - passStarts[k - 1]!).toBeCloseTo(48, 9);
  });

  it('a call early in a pass with the coordinated phase carried over ends it at once if the side phase fits', () => {
    const { a, r } = setup();
    // EW carried into the pass starting at 74.7 s; NS called at 75 s: EW yellow at 75 s, NS at 80 s
    // (5.3 s into the pass, 8 s minimum green before its force-off at 16.3 s).
    const { greens } = drive(r, 150, [[75, (x) => x.actuate(1, 75)]], a);
    expect(greensOf(greens, 0)[1]).toMatchObject({ startS: expect.closeTo(PASS0, 9), endS: expect.closeTo(75, 9) });
    expect(greensOf(greens, 1)[0]).toMatchObject({ startS: expect.closeTo(80, 9), endS: expect.closeTo(88, 9) });
  });

  it('a call just before the pass ends yields at once: the clearance runs into the next pass, the side phase still fits', () => {
    const { a, r } = setup();
    // 0.7 s before the pass of 122.7 s ends, EW carried: EW yellow at 170 s, NS at 175 s (4.3 s in).
    const { greens } = drive(r, 250, [[170, (x) => x.actuate(1, 170)]], a);
    expect(greensOf(greens, 0)[1]).toMatchObject({ startS: expect.closeTo(PASS0, 9), endS: expect.closeTo(170, 9) });
    expect(greensOf(greens, 1)[0]).toMatchObject({ startS: expect.closeTo(175, 9), endS: expect.closeTo(183, 9) });
  });

  it('leaves for a new plan through the rest of the old one and takes it at a plan cycle zero', () => {
    const { c, plan, a, r } = setup();
    const next = clonePlanBuffer(plan);
    const { zeros } = drive(r, 400, [[100, (x) => x.setPlan(next, 0)], ...every(0, 400, 3, (x, t) => x.actuate(1, t))], a);
    const sw = zeros.find(([, f]) => f & BOUNDARY_PLAN_SWITCH)!;
    // The pass running at 100 s ends at 122.7 s; the plan's remaining barrier runs to 144 s (3 × 48).
    expect(sw[0]).toBeCloseTo(144, 9);
    // Back in step at once: the settings stay, so the next pass starts after a new lead-in.
    expect(zeros.some(([t, f]) => f & BOUNDARY_ACTUATED && Math.abs(t - (144 + PASS0)) < 1e-6)).toBe(true);
    expect(c.intersectionCount).toBe(1);
  });
});

describe('the runner refuses actuated settings the validator refuses', () => {
  it('throws UnsafePlanError for a passage of 0, a minimum green under the phase minimum, a force-off into the minimum green', () => {
    const { c, plan } = twoStage();
    const good = actuatedPlan(c, plan, [{ intersectionId: 'X1', approaches: ['EB', 'WB'] }]);
    const bad = (edit: (a: ActuatedPlan) => void): ActuatedPlan => {
      const a: ActuatedPlan = { mode: good.mode.slice(), minGreenS: good.minGreenS.slice(), passageS: good.passageS.slice(), maxGreenS: good.maxGreenS.slice(), coordinated: good.coordinated.slice(), forceOffS: good.forceOffS.slice() };
      edit(a);
      return a;
    };
    for (const a of [bad((x) => (x.passageS[1] = 0)), bad((x) => (x.minGreenS[0] = 5)), bad((x) => (x.forceOffS[1] = 26.7 + 5))]) {
      expect(() => new CycleRunner(c, plan, 0, -1, a)).toThrow(UnsafePlanError);
      const r = new CycleRunner(c, plan, 0);
      expect(() => r.setActuated(a)).toThrow(UnsafePlanError);
      expect(r.act.hasQueued[0]).toBe(0);
    }
    // Fixed mode needs nothing else: the runner stays on fixed time.
    const fixed = bad((x) => {
      x.mode[0] = CONTROL_FIXED;
      x.passageS[1] = 0;
    });
    const r = new CycleRunner(c, plan, 0, -1, fixed);
    expect(r.isActuated(0)).toBe(false);
  });

  it('a plan queued while actuated must fit the settings', () => {
    const { c, plan } = twoStage();
    const a = actuatedPlan(c, plan, [{ intersectionId: 'X1', approaches: ['EB', 'WB'] }]);
    const r = new CycleRunner(c, plan, 0, -1, a);
    const other = createPlanBuffer(c);
    other.laneFlowVehPerH.set([100, 100, 900, 900]);
    planAndValidate(c, other);
    expect(() => r.setPlan(other, 0)).toThrow(UnsafePlanError);
    r.setActuated(undefined, 0);
    expect(() => r.setPlan(other, 0)).not.toThrow();
  });
});
