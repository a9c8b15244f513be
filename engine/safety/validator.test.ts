import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateNetwork, loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { clonePlanBuffer, createPlanBuffer, type PlanBuffer } from '../timing/planner.js';
import { ActuatedRule, MAX_PASSAGE_S, validateActuatedPlan, validateIntersectionPlan, ValidatorRule } from './validator.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FIXED, type ActuatedPlan } from '../timing/actuated.js';
import { planAndValidate } from '../plan.js';
import { mod } from '../numeric.js';
import { cycleCeilingS } from './floors.js';
import { IssueList } from '../errors.js';
import { arbitraryLaneFlow, arbitraryNetwork, plannedBuffer as planned } from '../../test/fixtures/arbitraryNetwork.js';
import { busPhaseDemo } from '../../test/fixtures/busPhaseNetwork.js';

function compiledOrNull(input: unknown): CompiledNetwork | null {
  const r = validateNetwork(input);
  return r.ok ? compileNetwork(r.network) : null;
}

const scenario = fc
  .tuple(arbitraryNetwork(3), fc.array(arbitraryLaneFlow, { minLength: 64, maxLength: 64 }))
  .map(([net, flows]) => ({ net, flows }));


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

/**
 * Ways to break a sound plan, each aimed at ONE rule: the corruption keeps everything else
 * sound (ring timing included), so the test shows that rule's own check fired. A shortened
 * yellow, for instance, gives its time to the green, so the ring still adds up.
 */
const KINDS = [
  ['shortGreen', ValidatorRule.MinGreen],
  ['shortPedestrian', ValidatorRule.PedClearance],
  ['shortYellow', ValidatorRule.Yellow],
  ['shortAllRed', ValidatorRule.AllRed],
  ['longCycle', ValidatorRule.MaxCycle],
  ['hugeGreen', ValidatorRule.MaxGreen],
  ['gapInRing', ValidatorRule.RingTiling],
  ['ringsMissBarrier', ValidatorRule.Barrier],
  ['cycleMismatch', ValidatorRule.CycleSum],
  ['offsetOutOfRange', ValidatorRule.Offset],
  ['nanGreen', ValidatorRule.NonFinite],
  ['overlapConflict', ValidatorRule.Conflict],
  ['concurrentConflict', ValidatorRule.Conflict],
] as const;
type Kind = (typeof KINDS)[number][0];
const corruption = fc.record({ k: fc.nat({ max: KINDS.length - 1 }), pick: fc.nat() });

const duration = (buf: PlanBuffer, p: number): number => buf.phaseGreenS[p]! + buf.phaseYellowS[p]! + buf.phaseAllRedS[p]!;

/**
 * Lengthens the barrier holding phase p by d seconds and keeps the ring timing sound: in each
 * ring the phase that ends the barrier gets d more green, every phase from the barrier's end on
 * starts d later, and the cycle grows by d. Returns the phases that were lengthened.
 */
function stretchBarrier(c: CompiledNetwork, buf: PlanBuffer, i: number, p: number, d: number): number[] {
  const p0 = c.phaseStart[i]!;
  const p1 = c.phaseStart[i + 1]!;
  const b = c.phaseBarrier[p]!;
  let end = 0;
  for (let q = p0; q < p1; q++) if (c.phaseBarrier[q] === b) end = Math.max(end, buf.phaseStartS[q]! + duration(buf, q));
  const grown: number[] = [];
  for (let r = 0; r < c.ringCount[i]!; r++) {
    for (let q = p0; q < p1; q++) {
      if (c.phaseBarrier[q] !== b || c.phaseRing[q] !== r || duration(buf, q) === 0) continue;
      if (Math.abs(buf.phaseStartS[q]! + duration(buf, q) - end) > 1e-6) continue;
      buf.phaseGreenS[q] = buf.phaseGreenS[q]! + d;
      grown.push(q);
      break;
    }
  }
  for (let q = p0; q < p1; q++) if (!grown.includes(q) && buf.phaseStartS[q]! >= end - 1e-6) buf.phaseStartS[q] = buf.phaseStartS[q]! + d;
  buf.cycleS[i] = buf.cycleS[i]! + d;
  return grown;
}

/** Applies corruption `kind` to intersection 0; returns the network to validate against (forged for conflicts), or null when it does not apply. */
function corrupt(cn: CompiledNetwork, buf: PlanBuffer, kind: Kind, pick: number): CompiledNetwork | null {
  const i = 0;
  const p0 = cn.phaseStart[0]!;
  const count = cn.phaseStart[1]! - p0;
  // A phase that runs in this plan (skipped on-demand phases take no time).
  const running = [...Array(count).keys()].map((k) => p0 + k).filter((q) => duration(buf, q) > 0);
  const p = running[pick % running.length]!;
  const ceilingS = cycleCeilingS(cn.maxCycleS[i]!);
  switch (kind) {
    case 'shortGreen': {
      // A phase without pedestrians: the lost green goes to its all-red, so the ring still adds up.
      const q = running.find((x, k) => k >= pick % running.length && cn.phasePedestrianS[x] === 0) ?? running.find((x) => cn.phasePedestrianS[x] === 0);
      if (q === undefined) return null;
      const g = cn.phaseMinGreenS[q]! - 0.5;
      buf.phaseAllRedS[q] = buf.phaseAllRedS[q]! + buf.phaseGreenS[q]! - g;
      buf.phaseGreenS[q] = g;
      return cn;
    }
    case 'shortPedestrian': {
      const q = running.find((x) => cn.phasePedestrianS[x]! > 0);
      if (q === undefined) return null;
      const g = cn.phasePedestrianS[q]! - 0.5;
      buf.phaseAllRedS[q] = buf.phaseAllRedS[q]! + buf.phaseGreenS[q]! - g;
      buf.phaseGreenS[q] = g;
      return cn;
    }
    case 'shortYellow': {
      // The lost yellow goes to the green.
      const y = cn.phaseYellowS[p]! - 0.3;
      buf.phaseGreenS[p] = buf.phaseGreenS[p]! + buf.phaseYellowS[p]! - y;
      buf.phaseYellowS[p] = y;
      return cn;
    }
    case 'shortAllRed': {
      const r = cn.phaseAllRedS[p]! - 0.1;
      buf.phaseGreenS[p] = buf.phaseGreenS[p]! + buf.phaseAllRedS[p]! - r;
      buf.phaseAllRedS[p] = r;
      return cn;
    }
    case 'longCycle':
      // One second over the ceiling; no single green gets near it.
      stretchBarrier(cn, buf, i, p, ceilingS - buf.cycleS[i]! + 1);
      return cn;
    case 'hugeGreen':
      stretchBarrier(cn, buf, i, p, ceilingS);
      return cn;
    case 'gapInRing':
      // The phase starts half a second late: a gap before it, an overlap after.
      buf.phaseStartS[p] = buf.phaseStartS[p]! + 0.5;
      return cn;
    case 'ringsMissBarrier': {
      // Ring 1 runs a second longer in the last barrier, and the cycle with it; ring 2 does not.
      if (cn.ringCount[i]! < 2) return null;
      const last = cn.barrierCount[i]! - 1;
      const cyc = buf.cycleS[i]!;
      const q = running.find((x) => cn.phaseRing[x] === 0 && cn.phaseBarrier[x] === last && Math.abs(buf.phaseStartS[x]! + duration(buf, x) - cyc) < 1e-6);
      if (q === undefined || cyc + 1 > ceilingS) return null;
      buf.phaseGreenS[q] = buf.phaseGreenS[q]! + 1;
      buf.cycleS[i] = cyc + 1;
      return cn;
    }
    case 'cycleMismatch':
      buf.cycleS[i] = buf.cycleS[i]! - 1;
      return cn;
    case 'offsetOutOfRange':
      buf.offsetS[i] = buf.cycleS[i]!;
      return cn;
    case 'nanGreen':
      buf.phaseGreenS[p] = Number.NaN;
      return cn;
    case 'overlapConflict': {
      // Start a conflicting phase one second before this phase's clearance ends.
      const mask = cn.phaseConflictMask[p]!;
      const other = running.find((q) => q !== p && ((mask >>> (q - p0)) & 1) === 1);
      if (other === undefined) return null;
      const end = buf.phaseStartS[p]! + duration(buf, p);
      buf.phaseStartS[other] = (end - 1 + buf.cycleS[i]!) % buf.cycleS[i]!;
      return cn;
    }
    case 'concurrentConflict': {
      // The plan is untouched; the conflict table says two phases it runs together conflict
      // (a plan made for other geometry). In a single ring, the phase is declared unsafe with itself.
      const masks = cn.phaseConflictMask.slice();
      const overlaps = (q: number): boolean => buf.phaseStartS[q]! < buf.phaseStartS[p]! + duration(buf, p) && buf.phaseStartS[p]! < buf.phaseStartS[q]! + duration(buf, q);
      const partner = running.find((q) => cn.phaseBarrier[q] === cn.phaseBarrier[p] && cn.phaseRing[q] !== cn.phaseRing[p] && overlaps(q));
      if (partner === undefined) masks[p] = masks[p]! | (1 << (p - p0));
      else {
        masks[p] = masks[p]! | (1 << (partner - p0));
        masks[partner] = masks[partner]! | (1 << (p - p0));
      }
      return { ...cn, phaseConflictMask: masks };
    }
  }
}

describe('the safety validator rejects broken plans', () => {
  it('catches each kind of corruption of a sound plan by the rule it targets', () => {
    const hits = new Map<Kind, number>();
    fc.assert(
      fc.property(scenario, corruption, ({ net, flows }, bad) => {
        const c = compiledOrNull(net);
        fc.pre(c !== null);
        const buf = planned(c!, flows);
        const [kind, rule] = KINDS[bad.k]!;
        const against = corrupt(c!, buf, kind, bad.pick);
        fc.pre(against !== null);
        hits.set(kind, (hits.get(kind) ?? 0) + 1);
        const issues = new IssueList();
        expect(validateIntersectionPlan(against!, 0, buf, issues)).toBe(false);
        expect(issues.items.map((x) => x.code), `${kind}: ${issues.items.map((x) => x.message).join('; ')}`).toContain(rule);
        expect(issues.items[0]!.path.startsWith(`plan[${c!.intersectionIds[0]}]`)).toBe(true);
      }),
      { numRuns: 1300, seed: 7 },
    );
    // Every class ran often enough to mean something.
    for (const [kind] of KINDS) expect(hits.get(kind) ?? 0, kind).toBeGreaterThanOrEqual(20);
  });

  it('the stretched plans are sound before they go over the ceiling (the helper keeps ring timing)', () => {
    const c = compileNetwork(loadNetwork(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')));
    const buf = planned(c, [400, 300, 200, 500]);
    for (let i = 0; i < c.intersectionCount; i++) {
      const p = c.phaseStart[i]!;
      const at = new IssueList();
      stretchBarrier(c, buf, i, p, 1);
      expect(validateIntersectionPlan(c, i, buf, at), at.items.map((x) => x.message).join('\n')).toBe(true);
    }
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

/**
 * Actuated settings (validateActuatedPlan): what engine/timing/actuated.ts emits for random
 * networks and plans always passes, in free and coordinated mode; and each corruption, aimed
 * at one rule, is caught by that rule with its field path.
 */
describe('actuated settings', () => {
  const APPROACHES = ['EB', 'WB', 'NB', 'SB'] as const;
  const copy = (a: ActuatedPlan): ActuatedPlan => ({ mode: a.mode.slice(), minGreenS: a.minGreenS.slice(), passageS: a.passageS.slice(), maxGreenS: a.maxGreenS.slice(), coordinated: a.coordinated.slice(), forceOffS: a.forceOffS.slice() });
  const codes = (c: CompiledNetwork, i: number, buf: PlanBuffer, a: ActuatedPlan): IssueList => {
    const issues = new IssueList();
    validateActuatedPlan(c, i, buf, a, issues);
    return issues;
  };
  const corruptions = [
    'passageZero',
    'passageLong',
    'minBelowFloor',
    'maxBelowMin',
    'maxAboveCeiling',
    'nanPassage',
    'forceOffIntoMin',
    'forceOffLate',
    'forceOffOutside',
    'coordinatedInFree',
    'noCoordinated',
    'badMode',
    'coordinatedSkipped',
  ] as const;

  it('passes what actuatedPlan emits and catches each corruption by its rule, on random networks', () => {
    let checked = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenario, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(), fc.nat({ max: corruptions.length - 1 }), ({ net, flows }, dirs, pick, k) => {
        const c = compiledOrNull(net);
        if (!c) return;
        const buf = planned(c, flows);
        const coordinated = c.intersectionIds.map((id) => ({ intersectionId: id, approaches: APPROACHES.filter((_, j) => dirs[j]) }));
        const a = actuatedPlan(c, buf, coordinated);
        for (let i = 0; i < c.intersectionCount; i++) {
          const issues = codes(c, i, buf, a);
          if (issues.length > 0) throw new Error(`sound settings refused:\n${issues.items.map((x) => `${x.path}: ${x.message}`).join('\n')}`);
        }
        const i = pick % c.intersectionCount;
        const p0 = c.phaseStart[i]!;
        const served: number[] = [];
        for (let p = p0; p < c.phaseStart[i + 1]!; p++) if (buf.phaseGreenS[p]! > 0) served.push(p);
        const p = served[pick % served.length]!;
        const ph = `actuated[${c.intersectionIds[i]}].phases[${c.phaseIds[p]}]`;
        const bad = copy(a);
        const coord = a.mode[i] === CONTROL_COORDINATED;
        let rule: string;
        let path: string;
        const kind = corruptions[k]!;
        switch (kind) {
          case 'passageZero':
          case 'passageLong':
            bad.passageS[p] = kind === 'passageZero' ? 0 : MAX_PASSAGE_S + 0.5;
            [rule, path] = [ActuatedRule.Passage, `${ph}.passageS`];
            break;
          case 'minBelowFloor':
            bad.minGreenS[p] = Math.max(c.phaseMinGreenS[p]!, 4, c.phasePedestrianS[p]!) - 0.5;
            [rule, path] = [ActuatedRule.MinGreen, `${ph}.minGreenS`];
            break;
          case 'maxBelowMin':
            bad.maxGreenS[p] = a.minGreenS[p]! - 0.5;
            [rule, path] = [ActuatedRule.MaxGreen, `${ph}.maxGreenS`];
            break;
          case 'maxAboveCeiling':
            bad.maxGreenS[p] = Math.max(c.phaseMaxGreenS[p]!, buf.phaseGreenS[p]!) + 1;
            [rule, path] = [ActuatedRule.MaxGreen, `${ph}.maxGreenS`];
            break;
          case 'nanPassage':
            bad.passageS[p] = Number.NaN;
            [rule, path] = [ActuatedRule.NonFinite, ph];
            break;
          case 'forceOffIntoMin':
          case 'forceOffLate':
          case 'forceOffOutside': {
            if (!coord) return;
            const cyc = buf.cycleS[i]!;
            if (kind === 'forceOffIntoMin') bad.forceOffS[p] = mod(buf.phaseStartS[p]! + a.minGreenS[p]! - 0.5, cyc);
            else if (kind === 'forceOffLate') {
              // Later than the planned green end, still inside the phase's own clearance.
              bad.forceOffS[p] = mod(buf.phaseStartS[p]! + buf.phaseGreenS[p]! + Math.min(0.5, buf.phaseYellowS[p]! / 2), cyc);
            } else bad.forceOffS[p] = cyc + 1;
            [rule, path] = [ActuatedRule.ForceOff, `${ph}.forceOffS`];
            break;
          }
          case 'coordinatedInFree':
            if (coord) return;
            bad.coordinated[p] = 1;
            [rule, path] = [ActuatedRule.Coordinated, `${ph}.coordinated`];
            break;
          case 'noCoordinated':
            if (!coord) return;
            bad.coordinated.fill(0, p0, c.phaseStart[i + 1]!);
            [rule, path] = [ActuatedRule.Coordinated, `actuated[${c.intersectionIds[i]}].coordinated`];
            break;
          case 'coordinatedSkipped': {
            // A phase the plan skips (an on-demand bus phase) marked coordinated.
            let skipped = -1;
            for (let q = p0; q < c.phaseStart[i + 1]!; q++) if (buf.phaseGreenS[q] === 0) skipped = q;
            if (skipped < 0) return;
            bad.coordinated[skipped] = 1;
            [rule, path] = [ActuatedRule.Coordinated, `actuated[${c.intersectionIds[i]}].phases[${c.phaseIds[skipped]}].coordinated`];
            break;
          }
          case 'badMode':
            bad.mode[i] = 7;
            [rule, path] = [ActuatedRule.Mode, `actuated[${c.intersectionIds[i]}].mode`];
            break;
        }
        const issues = codes(c, i, buf, bad);
        expect(validateActuatedPlan(c, i, buf, bad)).toBe(false);
        expect(issues.items.map((x) => x.code)).toEqual([rule]);
        expect(issues.items[0]!.path).toBe(path);
        seen.add(kind);
        checked++;
      }),
      { numRuns: 1500, seed: 20261205 },
    );
    expect(checked).toBeGreaterThan(700);
    expect([...seen].sort()).toEqual([...corruptions].sort());
  });

  it('refuses settings sized for another network, and phases of different rings in one barrier that conflict', () => {
    const c = compileNetwork(loadNetwork(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8')));
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([600, 500, 450, 300]);
    planAndValidate(c, buf);
    const a = actuatedPlan(c, buf, []);
    expect(codes(c, 0, buf, { ...a, passageS: new Float64Array(5) }).items).toEqual([expect.objectContaining({ code: ActuatedRule.Shape, path: 'actuated[X1]' })]);
    // Fixed mode runs no actuated setting: nothing else is checked.
    const fixed = copy(a);
    fixed.mode[0] = CONTROL_FIXED;
    fixed.passageS[0] = 0;
    expect(validateActuatedPlan(c, 0, buf, fixed)).toBe(true);
    // A dual ring from the random family; its ring-1 and ring-2 phases of barrier 0 made to conflict.
    const dual = fc
      .sample(scenario, { numRuns: 200, seed: 7 })
      .map(({ net, flows }) => ({ c: compiledOrNull(net), flows }))
      .find(({ c: x }) => x !== null && x.ringCount[0] === 2)!;
    const d = dual.c!;
    const dbuf = planned(d, dual.flows);
    const da = actuatedPlan(d, dbuf, []);
    expect(validateActuatedPlan(d, 0, dbuf, da)).toBe(true);
    const p0 = d.phaseStart[0]!;
    let p = p0;
    while (!(d.phaseBarrier[p] === 0 && d.phaseRing[p] === 0)) p++;
    let q = p0;
    while (!(d.phaseBarrier[q] === 0 && d.phaseRing[q] === 1)) q++;
    d.phaseConflictMask[p] = d.phaseConflictMask[p]! | (1 << (q - p0));
    const issues = codes(d, 0, dbuf, da);
    expect(issues.items.map((x) => x.code)).toContain(ActuatedRule.RingConflict);
    expect(issues.items.find((x) => x.code === ActuatedRule.RingConflict)!.path).toBe(`actuated[${d.intersectionIds[0]}].phases[${d.phaseIds[p]}]`);
  });
});
