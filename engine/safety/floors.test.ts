/**
 * The absolute floors: a network file cannot loosen them (validation names
 * the field and the floor), a network compiled without validation is clamped
 * to them, and the validator holds every plan to them even when the compiled
 * network it is given says less.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateNetwork, loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { NetworkSchema, type Network } from '../network/schema.js';
import { createPlanBuffer, PlanScratch, planIntersection } from '../timing/planner.js';
import { IssueList } from '../errors.js';
import { SAFETY_FLOORS, cycleCeilingS } from './floors.js';
import { validateIntersectionPlan, ValidatorRule } from './validator.js';

const TWO_STAGE = readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8');
const DEMO = readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8');
// Deliberately loose JSON: the tests write values the types forbid.
type Json = any;
const twoStage = (): Json => JSON.parse(TWO_STAGE);

function issuesOf(net: Json): Map<string, string> {
  const r = validateNetwork(net);
  expect(r.ok).toBe(false);
  return new Map(r.ok ? [] : r.issues.map((i) => [i.path, i.message]));
}

describe('a network file may tighten the floors but never loosen them', () => {
  it('refuses 0.1 s / 0.2 s yellows, naming the field, the floor and its source', () => {
    const net = twoStage();
    net.defaults = { minYellowS: 0.1, maxYellowS: 0.2 };
    const found = issuesOf(net);
    expect(found.get('defaults.minYellowS')).toBe('0.1 s is below the absolute floor 3 s (MUTCD 4D.26, GB 14886)');
    expect(found.get('defaults.maxYellowS')).toBe('0.2 s is below the absolute floor 3 s (MUTCD 4D.26, GB 14886)');
  });

  it('refuses every looser setting, each at its own path', () => {
    const net = twoStage();
    net.defaults = { pedestrianSpeedMps: 1.5, perceptionReactionS: 0.5, decelerationMps2: 5, vehicleLengthM: 3, maxCycleS: 400 };
    const x1 = net.intersections[0];
    x1.maxCycleS = 301;
    x1.crosswalks = [{ leg: 'N', lengthM: 20 }];
    x1.phasing.stages[0].minGreenS = 2;
    x1.phasing.stages[1].pedestrian = { crosswalks: ['N'], walkS: 1 };
    const found = issuesOf(net);
    expect(found.get('defaults.pedestrianSpeedMps')).toMatch(/^1\.5 m\/s is above the absolute ceiling 1\.2 m\/s \(MUTCD 4E\.06\)/);
    expect(found.get('defaults.perceptionReactionS')).toMatch(/^0\.5 s is below the absolute floor 1 s \(ITE/);
    expect(found.get('defaults.decelerationMps2')).toMatch(/^5 m\/s² is above the absolute ceiling 3\.05 m\/s²/);
    expect(found.get('defaults.vehicleLengthM')).toMatch(/^3 m is below the absolute floor 6\.1 m/);
    expect(found.get('defaults.maxCycleS')).toMatch(/^400 s is above the absolute ceiling 300 s/);
    expect(found.get('intersections[0].maxCycleS')).toMatch(/^301 s is above the absolute ceiling 300 s/);
    expect(found.get('intersections[0].phasing.stages[0].minGreenS')).toMatch(/^2 s is below the absolute floor 4 s/);
    expect(found.get('intersections[0].phasing.stages[1].pedestrian.walkS')).toMatch(/^1 s is below the absolute floor 4 s \(MUTCD 4E\.06\)/);
  });

  it('accepts values at the floors and tighter ones', () => {
    const net = twoStage();
    net.defaults = { minYellowS: 3, maxYellowS: 3, pedestrianSpeedMps: 1.0, maxCycleS: 300, perceptionReactionS: 1.5 };
    net.intersections[0].phasing.stages[0].minGreenS = 4;
    const r = validateNetwork(net);
    expect(r.ok, r.ok ? '' : JSON.stringify(r.issues)).toBe(true);
  });
});

/** A Network object that skipped validation, with every timing default at its loosest. */
function looseNetwork(): Network {
  const net = NetworkSchema.parse(JSON.parse(DEMO)) as Json;
  Object.assign(net.defaults, { minYellowS: 0.1, maxYellowS: 0.2, pedestrianSpeedMps: 3, perceptionReactionS: 0.1, decelerationMps2: 6, vehicleLengthM: 1, maxCycleS: 6553.5 });
  for (const ix of net.intersections) {
    ix.maxCycleS = undefined;
    for (const ph of ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases) {
      ph.minGreenS = 1;
      ph.maxGreenS = 6400;
      if (ph.pedestrian) ph.pedestrian.walkS = 0;
    }
  }
  return net;
}

describe('compilation clamps to the floors, whatever the network object says', () => {
  it('no looser number reaches the compiled arrays', () => {
    const loose = compileNetwork(looseNetwork());
    // The same city at the floors: maxYellowS 0.2 is clamped to 3 s, so compare with a file that asks for 3 s.
    const atFloors = JSON.parse(DEMO);
    atFloors.defaults.maxYellowS = SAFETY_FLOORS.minYellowS;
    const strict = compileNetwork(loadNetwork(JSON.stringify(atFloors)));
    for (let p = 0; p < loose.phaseIds.length; p++) {
      expect(loose.phaseYellowS[p]).toBeGreaterThanOrEqual(SAFETY_FLOORS.minYellowS);
      expect(loose.phaseMinGreenS[p]).toBeGreaterThanOrEqual(SAFETY_FLOORS.minVehicleGreenS);
      // ITE clearances from t = 1 s, a = 3.05 m/s², L = 6.1 m at the least: as long as the demo's own.
      expect(loose.phaseAllRedS[p]! + loose.phaseYellowS[p]!).toBeGreaterThanOrEqual(strict.phaseAllRedS[p]! + strict.phaseYellowS[p]! - 1e-9);
      // Walk 4 s + crossing at 1.2 m/s at the least.
      if (strict.phasePedestrianS[p]! > 0) expect(loose.phaseMinGreenS[p]).toBeGreaterThanOrEqual(strict.phasePedestrianS[p]! - 3 - 1e-9);
    }
    for (let i = 0; i < loose.intersectionCount; i++) {
      expect(loose.maxCycleS[i]).toBe(SAFETY_FLOORS.maxCycleS);
      for (let p = loose.phaseStart[i]!; p < loose.phaseStart[i + 1]!; p++) {
        expect(loose.phaseMaxGreenS[p]! + loose.phaseYellowS[p]! + loose.phaseAllRedS[p]!).toBeLessThanOrEqual(SAFETY_FLOORS.maxCycleS + 1e-9);
      }
    }
  });
});

/** A compiled network whose arrays were forged below the floors (built some other way than compileNetwork). */
function forged(c: CompiledNetwork): CompiledNetwork {
  return {
    ...c,
    phaseYellowS: c.phaseYellowS.map(() => 0.2),
    phaseMinGreenS: c.phaseMinGreenS.map(() => 1),
    phasePedestrianS: c.phasePedestrianS.map((x) => (x > 0 ? 1 : 0)),
    maxCycleS: c.maxCycleS.map(() => 6553.5),
  };
}

describe('the validator holds every plan to the floors, even against a forged compiled network', () => {
  const c = compileNetwork(loadNetwork(TWO_STAGE));
  const f = forged(c);
  /** A plan of two stages with the given green and yellow, all-red 2 s each. */
  const plan = (greenS: number, yellowS: number) => {
    const buf = createPlanBuffer(c);
    const dur = greenS + yellowS + 2;
    for (let p = 0; p < 2; p++) {
      buf.phaseStartS[p] = p * dur;
      buf.phaseGreenS[p] = greenS;
      buf.phaseYellowS[p] = yellowS;
      buf.phaseAllRedS[p] = 2;
    }
    buf.cycleS[0] = 2 * dur;
    buf.offsetS[0] = 0;
    return buf;
  };
  const codes = (cn: CompiledNetwork, buf: ReturnType<typeof plan>): string[] => {
    const issues = new IssueList();
    validateIntersectionPlan(cn, 0, buf, issues);
    return [...new Set(issues.items.map((x) => x.code!))].sort();
  };

  it('0.2 s yellows and 1 s greens fail against the forged network too', () => {
    expect(codes(f, plan(1, 0.2))).toEqual([ValidatorRule.MinGreen, ValidatorRule.Yellow].sort());
    // At the floors they pass the forged network; the real one still wants its own 8 s green and ITE yellow (3.3 s at 50 km/h).
    expect(codes(f, plan(SAFETY_FLOORS.minVehicleGreenS, SAFETY_FLOORS.minYellowS))).toEqual([]);
    expect(codes(c, plan(SAFETY_FLOORS.minVehicleGreenS, SAFETY_FLOORS.minYellowS))).toEqual([ValidatorRule.MinGreen, ValidatorRule.Yellow].sort());
  });

  it('a 6553.5 s cycle with a 6400 s green fails: the forged 6553.5 s max cycle is capped at 300 s', () => {
    const buf = plan(6400, 3.5);
    buf.phaseGreenS[1] = 6553.5 - 6400 - 2 * 5.5;
    buf.phaseStartS[1] = 6400 + 5.5;
    buf.cycleS[0] = 6553.5;
    expect(codes(f, buf)).toEqual([ValidatorRule.MaxCycle, ValidatorRule.MaxGreen].sort());
    expect(cycleCeilingS(f.maxCycleS[0]!)).toBe(SAFETY_FLOORS.maxCycleS);
  });

  it('the real planner never needs more than the floors allow', () => {
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.fill(2000);
    planIntersection(c, 0, buf, new PlanScratch());
    expect(codes(c, buf)).toEqual([]);
    expect(codes(f, buf)).toEqual([]);
    expect(buf.cycleS[0]).toBeLessThanOrEqual(c.maxCycleS[0]!);
  });
});
