/**
 * The one cycle runner under attack: 10^5 fast-check runs of random plans and
 * transitions (plan switches, offset changes, schedule overrides good and bad,
 * one-cycle overrides, random time steps), every lamp change watched by an
 * independent monitor written here from the conflict table and the network's
 * required clearances. Plus unit tests of cycle-zero switching and the
 * short-way offset correction (tenths, bounds, minimum greens).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadNetwork, validateNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { clonePlanBuffer, createPlanBuffer, type PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { greenFloorS, layoutFromPlan, retile, writeLayout } from '../priority/layout.js';
import { UnsafePlanError } from '../errors.js';
import { mod } from '../numeric.js';
import { planAndValidate } from '../plan.js';
import { arbitraryLaneFlow, arbitraryNetwork, plannedBuffer as planned } from '../../test/fixtures/arbitraryNetwork.js';
import { BOUNDARY_CORRECTED, BOUNDARY_ONE_CYCLE, BOUNDARY_PLAN_SWITCH, CycleRunner, MAX_LENGTHEN_SHARE, MAX_SHORTEN_SHARE, STEP_CYCLE_ZERO, STEP_DONE, type ScheduledCycle } from './cycleRunner.js';
import { lampsAgree, Monitor } from '../../test/fixtures/lampMonitor.js';

const EPS = 1e-6;

interface Case {
  readonly c: CompiledNetwork;
  /** Two valid plans of the same network (different demand: different cycles and splits). */
  readonly plans: readonly [PlanBuffer, PlanBuffer];
}


/**
 * A pool of random networks (test/fixtures/arbitraryNetwork.ts, up to 3 intersections each),
 * each planned for two random demands. Compiling and planning is the expensive part, so the
 * 10^5 runs draw from this pool and spend their budget on transitions instead.
 */
function pool(size: number): Case[] {
  const flows = fc.array(arbitraryLaneFlow, { minLength: 64, maxLength: 64 });
  const samples = fc.sample(fc.tuple(arbitraryNetwork(3), flows, flows), { numRuns: size, seed: 20261205 });
  const out: Case[] = [];
  for (const [net, fa, fb] of samples) {
    const r = validateNetwork(net);
    if (!r.ok) continue;
    const c = compileNetwork(r.network);
    const a = planned(c, fa);
    const b = planned(c, fb);
    let ok = true;
    for (let i = 0; i < c.intersectionCount; i++) ok &&= validateIntersectionPlan(c, i, a) && validateIntersectionPlan(c, i, b);
    if (ok) out.push({ c, plans: [a, b] });
  }
  return out;
}

type Event =
  | { kind: 'step'; dtS: number }
  | { kind: 'switch'; dtS: number }
  | { kind: 'offset'; dtS: number; share: number }
  | { kind: 'schedule'; dtS: number; phase: number; deltaDs: number; thisCycle: boolean }
  | { kind: 'badSchedule'; dtS: number; phase: number; thisCycle: boolean }
  | { kind: 'oneCycle'; dtS: number; phase: number; deltaDs: number };

const dt = fc.integer({ min: 0, max: 1500 }).map((x) => x / 1000); // in cycles, uniform (fc.double favours 0 and the bounds)
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('step' as const), dtS: dt }),
  fc.record({ kind: fc.constant('switch' as const), dtS: dt }),
  fc.record({ kind: fc.constant('offset' as const), dtS: dt, share: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
  fc.record({ kind: fc.constant('schedule' as const), dtS: dt, phase: fc.nat(31), deltaDs: fc.integer({ min: -300, max: 300 }), thisCycle: fc.boolean() }),
  fc.record({ kind: fc.constant('badSchedule' as const), dtS: dt, phase: fc.nat(31), thisCycle: fc.boolean() }),
  fc.record({ kind: fc.constant('oneCycle' as const), dtS: dt, phase: fc.nat(31), deltaDs: fc.integer({ min: -300, max: 300 }) }),
);


const tenth = (x: number): number => Math.round(x * 10) / 10;

const stats = { oneCycles: 0 };

/** One runner per intersection of the pool, reset for each run: allocating plan buffers would dominate a run. */
const runners = new Map<CompiledNetwork, CycleRunner[]>();

/** Runs one scenario; throws on any violation. Returns the number of lamp evaluations watched. */
function runScenario(cases: readonly Case[], pick: number, pickI: number, startS: number, events: readonly Event[], trace = false): number {
  const { c, plans } = cases[pick % cases.length]!;
  const i = pickI % c.intersectionCount;
  const p0 = c.phaseStart[i]!;
  const np = c.phaseStart[i + 1]! - p0;
  let which = 0;
  const key = c.phaseStart[i]!;
  let runner = runners.get(c)?.[key];
  if (!runner) {
    runner = new CycleRunner(c, plans[0], startS, i);
    (runners.get(c) ?? runners.set(c, []).get(c)!)[key] = runner;
  } else {
    runner.reset(plans[0], i, startS);
  }
  let sched: ScheduledCycle | undefined;
  runner.setScheduleSource((_, tS) => (sched && tS >= sched.startS - 1e-9 && tS < sched.startS + sched.layout.cycleS ? sched : undefined));
  runner.stepTo(i, startS); // evaluates the lamps where the runner starts
  const mon = new Monitor(c, i, runner.intervals(i));
  let now = startS;
  let watched = 0;
  let queued = false;
  const work = createPlanBuffer(c);
  for (const e of events) {
    const to = now + e.dtS * runner.plan.cycleS[i]!;
    for (;;) {
      const step = runner.stepTo(i, to);
      const t = runner.cycleStartS[i]! + runner.tauS(i);
      const intervals = runner.intervals(i);
      if (trace) console.log(step, t, Array.from(intervals.slice(p0, p0 + np)), runner.boundaryFlags[i], runner.running.cycleS[i]);
      mon.observe(intervals, t);
      lampsAgree(c, i, intervals, runner, t);
      watched++;
      if (step === STEP_CYCLE_ZERO) {
        const f = runner.boundaryFlags[i]!;
        // A queued plan is taken at the first cycle zero the schedule does not own, never before.
        if (queued && (f & BOUNDARY_PLAN_SWITCH) === 0 && f !== 8) throw new Error(`cycle zero at ${t} s without the queued plan`);
        if (f & BOUNDARY_PLAN_SWITCH) queued = false;
        if (f & BOUNDARY_ONE_CYCLE) stats.oneCycles++;
        if (f & BOUNDARY_CORRECTED) {
          const base = runner.plan.cycleS[i]!;
          const len = runner.running.cycleS[i]!;
          if (len < base * (1 - MAX_SHORTEN_SHARE) - EPS || len > base * (1 + MAX_LENGTHEN_SHARE) + EPS) throw new Error(`corrected cycle ${len} s outside the bounds of ${base} s`);
          if (Math.abs(len * 10 - Math.round(len * 10)) > 1e-6) throw new Error(`corrected cycle ${len} s is not in tenths`);
        }
      } else if (queued && !runner.isQueued(i)) {
        throw new Error(`queued plan taken at ${t} s, not at cycle zero`);
      }
      if (step === STEP_DONE) break;
    }
    now = to;
    switch (e.kind) {
      case 'step':
        break;
      case 'switch':
        which = 1 - which;
        runner.setPlan(plans[which]!, i);
        queued = true;
        break;
      case 'offset': {
        const p = clonePlanBuffer(plans[which]!);
        p.offsetS[i] = mod(tenth(e.share * p.cycleS[i]!), p.cycleS[i]!);
        runner.setPlan(p, i);
        queued = true;
        break;
      }
      case 'schedule':
      case 'badSchedule': {
        const l = layoutFromPlan(c, i, runner.plan);
        const k = e.phase % np;
        if (e.kind === 'schedule') l.greenS[k] = Math.max(0, tenth(l.greenS[k]! + e.deltaDs / 10));
        // A short yellow, retiled so only the clearance rule can catch it.
        else l.yellowS[k] = tenth(c.phaseYellowS[p0 + k]! * 0.5);
        if (!retile(c, i, l)) break;
        sched = { startS: e.thisCycle ? runner.cycleStartS[i]! : runner.nextBoundaryS(i), layout: l };
        break;
      }
      case 'oneCycle': {
        const l = layoutFromPlan(c, i, runner.plan);
        const k = e.phase % np;
        l.greenS[k] = Math.max(0, tenth(l.greenS[k]! + e.deltaDs / 10));
        if (!retile(c, i, l)) break;
        writeLayout(c, i, l, runner.plan.offsetS[i]!, work);
        if (validateIntersectionPlan(c, i, work)) runner.setOneCycle(work, i);
        else expect(() => runner.setOneCycle(work, i)).toThrow(UnsafePlanError);
        break;
      }
    }
  }
  return watched;
}

describe('CycleRunner safety property', () => {
  const cases = pool(400);

  it('takes a new plan only at cycle zero, then corrects its offset the short way in tenths, both ways', () => {
    // A case whose longest ring-1 green has room to be cut by 3 s above its floor.
    const found = cases.find(({ c, plans }) => {
      const p0 = c.phaseStart[0]!;
      let best = p0;
      for (let p = p0; p < c.phaseStart[1]!; p++) if (c.phaseRing[p] === 0 && plans[0].phaseGreenS[p]! > plans[0].phaseGreenS[best]!) best = p;
      return plans[0].phaseGreenS[best]! - greenFloorS(c, best) > 3 && plans[0].cycleS[0]! >= 40;
    })!;
    const { c, plans } = found;
    const cyc = plans[0].cycleS[0]!;
    for (const [shiftS, firstCycleS] of [
      [3.37, cyc + 3.3], // the new offset is 3.37 s later: lengthen, by whole tenths toward zero
      [-2.26, cyc - 2.2], // 2.26 s earlier: shorten
    ] as const) {
      const runner = new CycleRunner(c, plans[0], 0, 0);
      const moved = clonePlanBuffer(plans[0]);
      moved.offsetS[0] = mod(plans[0].offsetS[0]! + shiftS, cyc);
      runner.stepTo(0, 0.3 * cyc);
      runner.setPlan(moved, 0);
      const cycleZero = runner.nextBoundaryS(0);
      // Up to cycle zero the old plan runs untouched.
      while (runner.stepTo(0, cycleZero + 1) !== STEP_CYCLE_ZERO) expect(runner.isQueued(0)).toBe(true);
      expect(runner.cycleStartS[0]).toBeCloseTo(cycleZero, 9);
      expect(runner.boundaryFlags[0]).toBe(BOUNDARY_PLAN_SWITCH | BOUNDARY_CORRECTED);
      expect(runner.running.cycleS[0]).toBeCloseTo(firstCycleS, 9);
      expect(validateIntersectionPlan(c, 0, runner.running)).toBe(true);
      // The 0.07 / 0.06 s left is under a tenth: the next cycle runs as planned.
      const next = runner.nextBoundaryS(0);
      while (runner.stepTo(0, next + 1) !== STEP_CYCLE_ZERO);
      expect(runner.boundaryFlags[0]).toBe(0);
      expect(runner.running.cycleS[0]).toBe(cyc);
      expect(Math.abs(mod(runner.cycleStartS[0]! - moved.offsetS[0]!, cyc) - (shiftS > 0 ? cyc - 0.07 : 0.06))).toBeLessThan(1e-6);
    }
  });

  it('never runs a plan or override that fails the validator', () => {
    const { c, plans } = cases[0]!;
    const runner = new CycleRunner(c, plans[0], 0, 0);
    const bad = clonePlanBuffer(plans[0]);
    const p0 = c.phaseStart[0]!;
    bad.phaseYellowS[p0 + 1] = c.phaseYellowS[p0 + 1]! - 1;
    expect(() => runner.setPlan(bad, 0)).toThrow(UnsafePlanError);
    expect(() => runner.setOneCycle(bad, 0)).toThrow(UnsafePlanError);
    expect(() => runner.replaceRunning(bad, 0)).toThrow(UnsafePlanError);
    expect(() => new CycleRunner(c, bad, 0, 0)).toThrow(UnsafePlanError);
    expect(runner.isQueued(0)).toBe(false);
  });

  it('draws from a pool of varied valid networks', () => {
    expect(cases.length).toBeGreaterThan(350);
    expect(new Set(cases.map((x) => x.c.phaseIds.length)).size).toBeGreaterThan(5);
  });

  it('10^5 random plans and transitions: no conflicting phases, no short or skipped clearance, minimum greens held', () => {
    let watched = 0;
    const runs = Number(process.env.RUNNER_RUNS ?? 100_000);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.double({ min: 0, max: 1e5, noNaN: true }), fc.array(event, { minLength: 1, maxLength: 6 }), (pick, pickI, startS, events) => {
        watched += runScenario(cases, pick, pickI, startS, events);
      }),
      { numRuns: runs, seed: 20261205 },
    );
    // Not vacuous: many lamp changes watched, and every kind of transition happened.
    expect(watched).toBeGreaterThan(20 * runs);
    let switches = 0;
    let corrections = 0;
    let changes = 0;
    let rejections = 0;
    for (const list of runners.values()) {
      for (const r of list) {
        if (!r) continue;
        switches += r.planSwitches;
        corrections += r.corrections;
        changes += r.scheduleChanges;
        rejections += r.scheduleRejections;
      }
    }
    console.log(`${runs} runs: ${watched} lamp evaluations, ${switches} plan switches, ${corrections} offset corrections, ${changes} schedule changes taken, ${rejections} refused, ${stats.oneCycles} one-cycle overrides run`);
    expect(switches).toBeGreaterThan(runs / 10);
    expect(corrections).toBeGreaterThan(runs / 10);
    expect(changes).toBeGreaterThan(runs / 100);
    expect(rejections).toBeGreaterThan(runs / 100);
    expect(stats.oneCycles).toBeGreaterThan(runs / 100);
  }, 120_000);
});

describe('update samples held for a step', () => {
  it('shows a 4 s yellow for 4 s when float rounding puts its green end a hair after a sample and its yellow end on one', () => {
    // The two-stage example timed on a 1 s grid; stage 1's green ends 1 ulp after 30.5 s, and
    // 30.500000000000004 + 4 rounds to 34.5 (the ulp doubles at 32 s): the yellow is a hair short
    // of 4 s as float arithmetic has it. Sampled every 0.5 s without a lead, 30.5 showed green and
    // 34.5 red: 3.5 s of yellow for a sampler holding each sample for its step.
    const net = JSON.parse(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8'));
    net.defaults = { ...(net.defaults ?? {}), timingStepS: 1 };
    const c = compileNetwork(loadNetwork(JSON.stringify(net)));
    const plan = createPlanBuffer(c);
    plan.laneFlowVehPerH.set([600, 500, 450, 300]);
    planAndValidate(c, plan);
    const [y0, ar0] = [plan.phaseYellowS[0]!, plan.phaseAllRedS[0]!];
    expect([y0, ar0]).toEqual([4, 2]);
    plan.phaseGreenS[0] = 30.5 + 4e-15;
    expect(plan.phaseGreenS[0] + y0).toBe(34.5);
    // Stage 2 follows at once and the cycle stays 56 s (the validator wants the phases contiguous).
    plan.phaseStartS[1] = plan.phaseGreenS[0] + y0 + ar0;
    plan.phaseGreenS[1] = plan.cycleS[0]! - plan.phaseStartS[1] - plan.phaseYellowS[1]! - plan.phaseAllRedS[1]!;
    plan.offsetS[0] = 0;
    expect(validateIntersectionPlan(c, 0, plan)).toBe(true);
    const runner = new CycleRunner(c, plan, 0);
    const ew = c.phaseProtectedMask[0]! | c.phasePermittedMask[0]!;
    let yellowSamples = 0;
    for (let k = 0; k * 0.5 < plan.cycleS[0]!; k++) {
      runner.update(k * 0.5);
      if ((runner.yellowMask[0]! & ew) === ew) yellowSamples++;
    }
    expect(yellowSamples * 0.5).toBe(4);
  });
});
