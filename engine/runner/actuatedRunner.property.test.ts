/**
 * Actuated control in the one cycle runner under attack: fast-check drives random detector
 * actuations and calls over many cycles, and now and then switches actuated control off and
 * on or queues another plan, on random networks (test/fixtures/arbitraryNetwork.ts: stage
 * lists and NEMA dual rings, pedestrians, on-demand bus phases), a street grid and the
 * two-stage worked example, each intersection free or coordinated at random. The
 * independent lamp monitor (test/fixtures/lampMonitor.ts) watches every change:
 *  - no two conflicting phases out of red; lamp masks agree with the phase intervals;
 *  - no green shorter than its minimum green (a phase not served shows no green at all);
 *  - no yellow or all-red shorter than planned;
 * and this file checks the actuated rules themselves:
 *  - free: no green longer than its maximum green, unless no other phase called since then
 *    (it rests in green; a call then ends it at once);
 *  - coordinated: every pass lasts the plan's cycle and starts in step with its offset; a
 *    side phase is never green past its force-off; a coordinated phase never yields before
 *    its yield point.
 * A second property runs a sampler's `update` (the simulator's, SUMO in the loop's) on networks
 * timed on a 1 s grid, detections fed between samples, and watches what it shows as held until
 * the next sample: no interval short, no conflict. (A detection's decision is taken at the next
 * sample, not at the one already shown, which would show its clearance a sample short.)
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork, validateNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import type { PlanBuffer } from '../timing/planner.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FREE, type ActuatedPlan, type CoordinatedApproaches } from '../timing/actuated.js';
import { validateActuatedPlan, validateIntersectionPlan } from '../safety/validator.js';
import { mod } from '../numeric.js';
import { arbitraryLaneFlow, arbitraryNetwork, plannedBuffer as planned } from '../../test/fixtures/arbitraryNetwork.js';
import { gridNetworkJson } from '../../test/fixtures/gridNetwork.js';
import { lampsAgree, Monitor } from '../../test/fixtures/lampMonitor.js';
import { CycleRunner, STEP_CYCLE_ZERO, STEP_DONE } from './cycleRunner.js';
import { KIND_PASS } from './actuatedPass.js';
import { PHASE_GREEN, PHASE_YELLOW } from './lamps.js';

const EPS = 1e-6;
const APPROACHES = ['EB', 'WB', 'NB', 'SB'] as const;

interface Case {
  readonly c: CompiledNetwork;
  readonly plans: readonly [PlanBuffer, PlanBuffer];
  /** Settings for each plan (same coordination choice). */
  readonly acts: readonly [ActuatedPlan, ActuatedPlan];
}

function caseFor(c: CompiledNetwork, fa: readonly number[], fb: readonly number[], coordinatedDirs: readonly boolean[][]): Case | undefined {
  const a = planned(c, fa);
  const b = planned(c, fb);
  const coord: CoordinatedApproaches[] = c.intersectionIds.map((id, i) => ({ intersectionId: id, approaches: APPROACHES.filter((_, j) => coordinatedDirs[i % coordinatedDirs.length]![j]) }));
  const acts = [actuatedPlan(c, a, coord), actuatedPlan(c, b, coord)] as const;
  for (let i = 0; i < c.intersectionCount; i++) {
    if (!validateIntersectionPlan(c, i, a) || !validateIntersectionPlan(c, i, b)) return undefined;
    if (!validateActuatedPlan(c, i, a, acts[0]) || !validateActuatedPlan(c, i, b, acts[1])) throw new Error('actuatedPlan emitted settings the validator refuses');
  }
  return { c, plans: [a, b], acts };
}

/** Random networks (up to 3 intersections), a 2×3 grid and the worked example, each planned for two demands. */
function pool(size: number, timingStepS?: number): Case[] {
  const timed = (net: unknown): unknown => (timingStepS === undefined || typeof net !== 'object' || net === null ? net : { ...net, defaults: { ...((net as { defaults?: object }).defaults ?? {}), timingStepS } });
  const flows = fc.array(arbitraryLaneFlow, { minLength: 64, maxLength: 64 });
  // Half the intersections run free, half coordinate some approaches.
  const dirs = fc.array(fc.oneof(fc.constant([false, false, false, false]), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), { minLength: 3, maxLength: 3 });
  const out: Case[] = [];
  for (const [net, fa, fb, d] of fc.sample(fc.tuple(arbitraryNetwork(3), flows, flows, dirs), { numRuns: size, seed: 20261206 })) {
    const r = validateNetwork(timed(net));
    if (!r.ok) continue;
    const x = caseFor(compileNetwork(r.network), fa, fb, d.map((y) => [...y]));
    if (x) out.push(x);
  }
  const grid = compileNetwork(loadNetwork(JSON.stringify(timed(gridNetworkJson({ rows: 2, cols: 3, colSpacingM: 300, rowSpacingM: 250 })))));
  const twoStage = compileNetwork(loadNetwork(JSON.stringify(timed(JSON.parse(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8'))))));
  for (const [c, d] of [
    [grid, [[true, true, false, false], [false, false, false, false], [true, true, false, false]]],
    [twoStage, [[true, true, false, false]]],
    [twoStage, [[false, false, false, false]]],
  ] as const) {
    const x = caseFor(c, [900, 300, 600, 200], [200, 800, 400, 700], d.map((x) => [...x]));
    if (x) out.push(x);
  }
  return out;
}

type Event =
  | { kind: 'actuate'; dtDs: number; phase: number; repeat: number }
  | { kind: 'call'; dtDs: number; phase: number }
  | { kind: 'idle'; dtDs: number }
  | { kind: 'toggle'; dtDs: number }
  | { kind: 'switch'; dtDs: number };

const dtDs = fc.integer({ min: 1, max: 120 }); // tenths of a second
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 36, arbitrary: fc.record({ kind: fc.constant('actuate' as const), dtDs, phase: fc.nat(31), repeat: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('call' as const), dtDs, phase: fc.nat(31) }) },
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('idle' as const), dtDs: fc.integer({ min: 50, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('toggle' as const), dtDs }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('switch' as const), dtDs }) },
);

const stats = { runs: 0, passes: 0, gapOuts: 0, maxOuts: 0, forceOffs: 0, skips: 0, rests: 0, coordinatedPasses: 0, freeGreensChecked: 0, sideChecked: 0, yieldChecked: 0, leaves: 0, simulatedS: 0 };

/** What the harness knows about a green it saw start. */
interface GreenInfo {
  startS: number;
  inPass: boolean;
  mode: number;
  coordinated: number;
  maxGreenS: number;
  /** Coordinated pass: absolute force-off / yield point of the pass the green started in. */
  forceOffAtS: number;
  /**
   * Free mode: the first time after its maximum green ran out that another phase called (or
   * the runner was told to leave) while this green showed; whether one did at the last look.
   */
  otherCallS: number;
  otherNow: boolean;
  otherSinceS: number;
}

function runScenario(cases: readonly Case[], pick: number, pickI: number, startS: number, events: readonly Event[]): void {
  const { c, plans, acts } = cases[pick % cases.length]!;
  const i = pickI % c.intersectionCount;
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  const np = p1 - p0;
  const runner = new CycleRunner(c, plans[0], startS, i, acts[0]);
  let which = 0;
  let actuatedOn = true;
  runner.stepTo(i, startS);
  const mon = new Monitor(c, i, runner.intervals(i), { minGreenS: acts[0].minGreenS, yellowS: plans[0].phaseYellowS, allRedS: plans[0].phaseAllRedS });
  const prev = runner.intervals(i).slice();
  const info: GreenInfo[] = Array.from({ length: np }, () => ({ startS: Number.NaN, inPass: false, mode: 0, coordinated: 0, maxGreenS: 0, forceOffAtS: 0, otherCallS: Number.POSITIVE_INFINITY, otherNow: false, otherSinceS: 0 }));
  let lastPassStartS = Number.NaN;
  let now = startS;

  // Calls change only at events and at phase starts (served), both seen here: between two looks
  // the answer holds, so the first moment after max green with another call is exact.
  const closeInterval = (g: GreenInfo, tS: number): void => {
    if (!g.otherNow) return;
    const from = Math.max(g.otherSinceS, g.startS + g.maxGreenS);
    if (from < tS && from < g.otherCallS) g.otherCallS = from;
  };
  const noteCalls = (tS: number): void => {
    for (let p = p0; p < p1; p++) {
      if (prev[p] !== PHASE_GREEN) continue;
      const g = info[p - p0]!;
      closeInterval(g, tS);
      // A plan switch, override or new settings waiting ends every rest, as a call does.
      let other = runner.act.leavePending[i] === 1;
      for (let q = p0; q < p1 && !other; q++) other = q !== p && runner.phaseCall[q] === 1 && runner.plan.phaseGreenS[q]! > 0;
      if (other && tS >= g.startS + g.maxGreenS - EPS && tS < g.otherCallS) g.otherCallS = tS;
      g.otherNow = other;
      g.otherSinceS = tS;
    }
  };

  const observe = (step: number): void => {
    const t = runner.cycleStartS[i]! + runner.tauS(i);
    const iv = runner.intervals(i);
    mon.observe(iv, t);
    lampsAgree(c, i, iv, runner, t);
    const act = runner.act;
    if (step === STEP_CYCLE_ZERO && act.kind[i] === KIND_PASS) {
      stats.passes++;
      if (act.mode[i] === CONTROL_COORDINATED) {
        stats.coordinatedPasses++;
        const cyc = runner.plan.cycleS[i]!;
        if (!Number.isNaN(lastPassStartS) && Math.abs(t - lastPassStartS - cyc) > EPS) throw new Error(`coordinated pass of ${t - lastPassStartS} s, cycle ${cyc} s`);
        const off = mod(t - runner.plan.offsetS[i]! - act.rotationS[i]!, cyc);
        if (off > EPS && cyc - off > EPS) throw new Error(`coordinated pass at ${t} s is ${off} s out of step`);
        lastPassStartS = t;
      } else lastPassStartS = Number.NaN;
    } else if (step === STEP_CYCLE_ZERO) lastPassStartS = Number.NaN;
    for (let p = p0; p < p1; p++) {
      const from = prev[p]!;
      const to = iv[p]!;
      if (from === to) continue;
      const g = info[p - p0]!;
      if (to === PHASE_GREEN) {
        const inPass = act.kind[i] === KIND_PASS;
        g.startS = t;
        g.inPass = inPass;
        g.mode = act.mode[i]!;
        g.coordinated = act.coordinated[p]!;
        g.maxGreenS = act.maxGreenS[p]!;
        g.forceOffAtS = runner.cycleStartS[i]! + act.forceOffPassS[p]!;
        g.otherCallS = Number.POSITIVE_INFINITY;
        g.otherNow = false;
        g.otherSinceS = t;
      } else if (from === PHASE_GREEN && to === PHASE_YELLOW && g.inPass) {
        if (g.mode === CONTROL_FREE) {
          stats.freeGreensChecked++;
          closeInterval(g, t);
          if (t > Math.max(g.startS + g.maxGreenS, g.otherCallS) + EPS) throw new Error(`phase ${c.phaseIds[p]} green ${g.startS}–${t} s: past its max green ${g.maxGreenS} s with another call since ${g.otherCallS} s`);
          if (t > g.startS + g.maxGreenS + EPS) stats.rests++;
        } else if (g.mode === CONTROL_COORDINATED && g.coordinated === 0) {
          stats.sideChecked++;
          if (t > g.forceOffAtS + EPS) throw new Error(`side phase ${c.phaseIds[p]} green to ${t} s, past its force-off at ${g.forceOffAtS} s`);
        } else if (g.mode === CONTROL_COORDINATED) {
          stats.yieldChecked++;
          if (t < g.forceOffAtS - EPS) throw new Error(`coordinated phase ${c.phaseIds[p]} yielded at ${t} s, before its yield point ${g.forceOffAtS} s`);
          if (t > g.forceOffAtS + EPS) stats.rests++;
        }
      }
      prev[p] = to;
    }
    noteCalls(t);
  };

  const advanceTo = (tS: number): void => {
    for (;;) {
      const step = runner.stepTo(i, tS);
      observe(step);
      if (step === STEP_DONE) return;
    }
  };

  for (const e of events) {
    now += e.dtDs / 10;
    advanceTo(now);
    switch (e.kind) {
      case 'actuate': {
        const p = p0 + (e.phase % np);
        // A platoon: detections 1 s apart, each one fed when the runner has reached it.
        for (let k = 0; k < e.repeat; k++) {
          if (k > 0) {
            now += 1;
            advanceTo(now);
          }
          runner.actuate(p, now);
          noteCalls(now);
        }
        break;
      }
      case 'call':
        runner.placeCall(p0 + (e.phase % np));
        break;
      case 'idle':
        break;
      case 'toggle':
        actuatedOn = !actuatedOn;
        runner.setActuated(actuatedOn ? acts[which] : undefined, i);
        break;
      case 'switch':
        if (actuatedOn) runner.setActuated(undefined, i);
        which = 1 - which;
        runner.setPlan(plans[which]!, i);
        if (actuatedOn) runner.setActuated(acts[which], i);
        stats.leaves++;
        break;
    }
    noteCalls(now);
  }
  // Let the last events play out for a few cycles.
  advanceTo(now + 3 * Math.max(plans[0].cycleS[i]!, plans[1].cycleS[i]!));
  stats.runs++;
  stats.simulatedS += now - startS;
  stats.gapOuts += runner.act.gapOuts;
  stats.maxOuts += runner.act.maxOuts;
  stats.forceOffs += runner.act.forceOffs;
  stats.skips += runner.act.skips;
}

describe('actuated CycleRunner safety property', () => {
  const cases = pool(300);

  it('draws from a pool with free and coordinated intersections, stage lists and dual rings', () => {
    expect(cases.length).toBeGreaterThan(250);
    let free = 0;
    let coordinated = 0;
    let dual = 0;
    for (const { c, acts } of cases) {
      for (let i = 0; i < c.intersectionCount; i++) {
        if (acts[0].mode[i] === CONTROL_FREE) free++;
        if (acts[0].mode[i] === CONTROL_COORDINATED) coordinated++;
        if (c.ringCount[i] === 2) dual++;
      }
    }
    expect(Math.min(free, coordinated, dual)).toBeGreaterThan(50);
  });

  it('random actuations over many cycles: safe lamps, minimum greens, planned clearances, max greens, force-offs, yield points and cycles kept', () => {
    const runs = Number(process.env.ACTUATED_RUNS ?? 3000);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.double({ min: 0, max: 1e5, noNaN: true }), fc.array(event, { minLength: 20, maxLength: 120 }), (pick, pickI, startS, events) => {
        runScenario(cases, pick, pickI, startS, events);
      }),
      { numRuns: runs, seed: 20261206 },
    );
    console.log(`${runs} runs: ${JSON.stringify(stats)}`);
    // Not vacuous: every actuated decision happened many times, and every check ran.
    expect(stats.passes).toBeGreaterThan(4 * runs);
    expect(stats.coordinatedPasses).toBeGreaterThan(runs);
    for (const k of ['gapOuts', 'maxOuts', 'forceOffs', 'skips', 'rests', 'freeGreensChecked', 'sideChecked', 'yieldChecked', 'leaves'] as const) expect(stats[k], k).toBeGreaterThan(runs / 10);
  }, 120_000);
});

describe("actuated control through a sampler's update (the simulator, SUMO in the loop)", () => {
  // Networks timed on a 1 s grid (clearances and minimum greens whole seconds), as `greenwave sumo`
  // imports them: a sampler that holds each sample for 0.5 or 1 s can then show every interval whole.
  const cases = pool(120, 1);

  it('update(t) once per step, detections between steps: held samples never show a yellow, all-red or minimum green short, nor conflicting phases', () => {
    let samples = 0;
    let actuatedSamples = 0;
    let stepsLate = 0;
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.constantFrom(0.5, 1),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.nat(31), fc.boolean(), fc.integer({ min: 0, max: 9 })), { minLength: 10, maxLength: 80 }),
        (pick, pickI, dtS, events) => {
          const { c, plans, acts } = cases[pick % cases.length]!;
          let which = 0;
          const i = pickI % c.intersectionCount;
          const p0 = c.phaseStart[i]!;
          const np = c.phaseStart[i + 1]! - p0;
          // The simulator's runner runs every intersection; the reference steps intersection i alone, every edge.
          const sampled = new CycleRunner(c, plans[0], 0, -1, acts[0]);
          const stepped = new CycleRunner(c, plans[0], 0, i, acts[0]);
          sampled.update(0);
          // What a sampler shows is held until the next sample: the monitor sees the changes at the samples.
          const mon = new Monitor(c, i, sampled.intervals(i), { minGreenS: acts[0].minGreenS, yellowS: plans[0].phaseYellowS, allRedS: plans[0].phaseAllRedS });
          let t = 0;
          for (const [steps, phase, detect, other] of events) {
            for (let k = 0; k < steps; k++) {
              t += dtS;
              sampled.update(t);
              while (stepped.stepTo(i, t) !== STEP_DONE);
              mon.observe(sampled.intervals(i), t);
              lampsAgree(c, i, sampled.intervals(i), sampled, t);
              samples++;
              if (sampled.isActuated(i)) actuatedSamples++;
              if (sampled.greenMask[i] !== stepped.greenMask[i] || sampled.yellowMask[i] !== stepped.yellowMask[i]) stepsLate++;
            }
            // A detection now, after the sample (the simulator feeds them between steps).
            const p = p0 + (phase % np);
            if (detect) {
              sampled.actuate(p, t);
              stepped.actuate(p, t);
            }
            // Now and then the other plan with its settings, as a re-plan does: the runner leaves the
            // pass and corrects its offset over the next cycles, whose edges are sums and differences
            // of plan times (float noise a hair either side of a sample).
            if (other === 0) {
              which = 1 - which;
              sampled.setPlanWithSettings(plans[which]!, i, acts[which]);
              stepped.setPlanWithSettings(plans[which]!, i, acts[which]);
            }
          }
        },
      ),
      { numRuns: 400, seed: 20261207 },
    );
    expect(actuatedSamples).toBeGreaterThan(samples / 2);
    // Not vacuous: stepping every edge takes a detection's decision at once, where the sampler had
    // already shown the lamps; the sampler takes it at the next sample, so the two part.
    expect(stepsLate).toBeGreaterThan(samples / 500);
  }, 60_000);
});
