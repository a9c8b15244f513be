import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateNetwork, loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { clonePlanBuffer, createPlanBuffer, PlanScratch, planIntersection, type PlanBuffer } from '../timing/planner.js';
import { validateIntersectionPlan } from './validator.js';
import { IssueList } from '../errors.js';
import { arbitraryLaneFlow, arbitraryNetwork } from '../../test/fixtures/arbitraryNetwork.js';
import { busPhaseDemo } from '../../test/fixtures/busPhaseNetwork.js';

function compiledOrNull(input: unknown): CompiledNetwork | null {
  const r = validateNetwork(input);
  return r.ok ? compileNetwork(r.network) : null;
}

const scenario = fc
  .tuple(arbitraryNetwork(3), fc.array(arbitraryLaneFlow, { minLength: 64, maxLength: 64 }))
  .map(([net, flows]) => ({ net, flows }));

function planned(c: CompiledNetwork, flows: readonly number[]): PlanBuffer {
  const buf = createPlanBuffer(c);
  for (let l = 0; l < buf.laneFlowVehPerH.length; l++) buf.laneFlowVehPerH[l] = flows[l % flows.length]!;
  const s = new PlanScratch();
  for (let i = 0; i < c.intersectionCount; i++) planIntersection(c, i, buf, s);
  return buf;
}

describe('timing core never emits a plan the safety validator rejects', () => {
  it('holds for thousands of random intersections and demands', () => {
    let valid = 0;
    let runs = 0;
    fc.assert(
      fc.property(scenario, ({ net, flows }) => {
        runs++;
        const c = compiledOrNull(net);
        if (!c) return; // counted below: the generator must produce valid networks almost always
        valid++;
        const buf = planned(c, flows);
        for (let i = 0; i < c.intersectionCount; i++) {
          const issues = new IssueList();
          const ok = validateIntersectionPlan(c, i, buf, issues);
          if (!ok) throw new Error(`unsafe plan:\n${issues.items.map((x) => `${x.path}: ${x.message}`).join('\n')}`);
          expect(buf.cycleS[i]).toBeGreaterThanOrEqual(c.minCycleS[i]!);
          expect(Number.isFinite(buf.delaySPerVeh[i])).toBe(true);
        }
      }),
      { numRuns: 2500, seed: 20261125 },
    );
    expect(valid / runs).toBeGreaterThan(0.95);
  });
});

/** Ways to break a sound plan; each must be caught. */
const corruption = fc.oneof(
  fc.record({ kind: fc.constant('shortGreen' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('shortYellow' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('shortAllRed' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('overlapConflict' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('cycleMismatch' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('offsetOutOfRange' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('nanGreen' as const), pick: fc.nat() }),
);

describe('the safety validator rejects broken plans', () => {
  it('catches every kind of corruption of a sound plan', () => {
    fc.assert(
      fc.property(scenario, corruption, ({ net, flows }, bad) => {
        const c = compiledOrNull(net);
        fc.pre(c !== null);
        const cn = c!;
        const buf = planned(cn, flows);
        const i = 0;
        const p0 = cn.phaseStart[0]!;
        const count = cn.phaseStart[1]! - p0;
        const p = p0 + (bad.pick % count);
        switch (bad.kind) {
          case 'shortGreen':
            buf.phaseGreenS[p] = cn.phaseMinGreenS[p]! - 0.5;
            break;
          case 'shortYellow':
            buf.phaseYellowS[p] = cn.phaseYellowS[p]! - 0.3;
            break;
          case 'shortAllRed':
            buf.phaseAllRedS[p] = cn.phaseAllRedS[p]! - 0.3;
            break;
          case 'overlapConflict': {
            // Start a conflicting phase one second before this phase's clearance ends.
            const mask = cn.phaseConflictMask[p]!;
            const other = [...Array(count).keys()].find((j) => p0 + j !== p && ((mask >>> j) & 1) === 1);
            fc.pre(other !== undefined);
            const end = buf.phaseStartS[p]! + buf.phaseGreenS[p]! + buf.phaseYellowS[p]! + buf.phaseAllRedS[p]!;
            buf.phaseStartS[p0 + other!] = (end - 1 + buf.cycleS[i]!) % buf.cycleS[i]!;
            break;
          }
          case 'cycleMismatch':
            buf.cycleS[i] = buf.cycleS[i]! + 1;
            break;
          case 'offsetOutOfRange':
            buf.offsetS[i] = buf.cycleS[i]!;
            break;
          case 'nanGreen':
            buf.phaseGreenS[p] = Number.NaN;
            break;
        }
        const issues = new IssueList();
        expect(validateIntersectionPlan(cn, i, buf, issues)).toBe(false);
        expect(issues.length).toBeGreaterThan(0);
        expect(issues.items[0]!.path.startsWith(`plan[${cn.intersectionIds[0]}]`)).toBe(true);
      }),
      { numRuns: 1000, seed: 7 },
    );
  });

  it('names the phase and rule for a conflicting overlap', () => {
    const c = compileNetwork(loadNetwork(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8')));
    const buf = planned(c, [600, 500, 450, 300]);
    buf.phaseStartS[1] = buf.phaseStartS[1]! - 2; // NS starts during EW's clearance
    buf.phaseGreenS[1] = buf.phaseGreenS[1]! + 2;
    const issues = new IssueList();
    expect(validateIntersectionPlan(c, 0, buf, issues)).toBe(false);
    expect(issues.items.map((x) => x.message).join('\n')).toMatch(/conflicts with phase NS/);
  });
});

describe('on-demand (bus) phases', () => {
  // I1 of the bus-phase demo: stages S1, S2, S2B (on demand, skipped), S3.
  const { c, plan } = busPhaseDemo();
  const at = (id: string): number => c.phaseIds.indexOf(id, c.phaseStart[0]);
  const fresh = (): PlanBuffer => clonePlanBuffer(plan.buffer);
  const check = (buf: PlanBuffer): string[] => {
    const issues = new IssueList();
    validateIntersectionPlan(c, 0, buf, issues);
    return issues.items.map((x) => `${x.path}: ${x.message}`);
  };

  it('a skipped on-demand phase (no green, yellow or all-red) is sound', () => {
    expect(check(fresh())).toEqual([]);
  });

  it('a phase that always runs may not be skipped the same way', () => {
    const buf = fresh();
    const s3 = at('S3');
    const s3Length = buf.phaseGreenS[s3]! + buf.phaseYellowS[s3]! + buf.phaseAllRedS[s3]!;
    buf.phaseGreenS[s3] = 0;
    buf.phaseYellowS[s3] = 0;
    buf.phaseAllRedS[s3] = 0;
    buf.phaseGreenS[at('S2')] = buf.phaseGreenS[at('S2')]! + s3Length; // the cycle still adds up
    const found = check(buf).join('\n');
    expect(found).toMatch(/phases\[S3\]\.greenS: green 0 s is shorter than pedestrian walk \+ clearance/);
    expect(found).toMatch(/phases\[S3\]\.yellowS: yellow 0 s is below the required change interval 3 s/);
  });

  it('an inserted on-demand phase needs its minimum green and full clearances', () => {
    const buf = fresh();
    const x = at('S2B');
    const s2 = at('S2');
    // Insert S2B for 6 s of green taken from S2, without its yellow and all-red.
    buf.phaseGreenS[s2] = buf.phaseGreenS[s2]! - 6;
    buf.phaseGreenS[x] = 6;
    buf.phaseStartS[x] = buf.phaseStartS[x]! - 6;
    expect(check(buf).join('\n')).toMatch(/phases\[S2B\]\.yellowS: yellow 0 s is below the required change interval/);
    // With them (taken from S2 too) it is sound; with 4 s of green it is below the minimum.
    const clear = c.phaseYellowS[x]! + c.phaseAllRedS[x]!;
    buf.phaseYellowS[x] = c.phaseYellowS[x]!;
    buf.phaseAllRedS[x] = c.phaseAllRedS[x]!;
    buf.phaseGreenS[s2] = buf.phaseGreenS[s2]! - clear;
    buf.phaseStartS[x] = buf.phaseStartS[x]! - clear;
    expect(check(buf)).toEqual([]);
    buf.phaseGreenS[x] = 4;
    buf.phaseGreenS[s2] = buf.phaseGreenS[s2]! + 2;
    buf.phaseStartS[x] = buf.phaseStartS[x]! + 2;
    expect(check(buf).join('\n')).toMatch(/phases\[S2B\]\.greenS: green 4 s is below the minimum green 5 s/);
  });

  it('an inserted phase that overlaps a conflicting one is caught', () => {
    const buf = fresh();
    const x = at('S2B');
    // S2B (EBL) green over the end of S2 (WBT green): opposing left and through together.
    buf.phaseGreenS[x] = 6;
    buf.phaseYellowS[x] = c.phaseYellowS[x]!;
    buf.phaseAllRedS[x] = c.phaseAllRedS[x]!;
    buf.phaseStartS[x] = buf.phaseStartS[x]! - 12;
    buf.phaseStartS[at('S3')] = buf.phaseStartS[at('S3')]! - 12 + 6 + c.phaseYellowS[x]! + c.phaseAllRedS[x]!;
    expect(check(buf).join('\n')).toMatch(/gap or overlap|conflicts with phase/);
  });
});
