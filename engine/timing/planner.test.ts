import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork } from '../network/compile.js';
import { createPlanBuffer, laneDelay, PlanScratch, planIntersection, waterFill } from './planner.js';
import { planAndValidate, planNetwork, toTimingPlan } from '../plan.js';
import { demandFor, prepareCounts } from '../demand.js';

const fixture = () => readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8');
const twoStage = () => compileNetwork(loadNetwork(fixture()));

describe('Webster cycle', () => {
  // Webster (1958), Road Research Technical Paper 39: C0 = (1.5 L + 5) / (1 − Y).
  // Worked by hand for the two-stage fixture: s = 1800 veh/h (3.6 m lanes, level, through only);
  // EW critical 600 veh/h → y = 0.3333, NS critical 450 veh/h → y = 0.25, Y = 0.5833.
  // Yellow 1 + 13.889/6.1 = 3.28 → 3.3 s; all-red (17.5 + 6.1)/13.889 = 1.70 s; l1 = e so L = 2 × 5.0 = 10 s.
  // C0 = (15 + 5)/(1 − 0.5833) = 48.0 s. Greens (48 − 10) split 0.3333 : 0.25 → 21.7 s and 16.3 s.
  it('reproduces the hand-computed cycle and splits', () => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([600, 500, 450, 300]);
    planAndValidate(c, buf);
    const plan = toTimingPlan(c, buf, 0);
    expect(plan.criticalFlowRatio).toBeCloseTo(0.5833, 3);
    expect(plan.lostTimeS).toBeCloseTo(10, 6);
    expect(plan.cycleS).toBe(48);
    expect(plan.phases.map((p) => p.yellowS)).toEqual([3.3, 3.3]);
    expect(plan.phases.map((p) => p.allRedS)).toEqual([1.7, 1.7]);
    expect(plan.phases.map((p) => p.greenS)).toEqual([21.7, 16.3]);
    expect(plan.phases[1]!.startS).toBe(26.7);
  });

  // Both stages cap at maxGreenS 60, so the longest cycle they can fill is 2 × (60 + 5.0) = 130 s (< maxCycleS 150).
  it('bounds the cycle by what the max greens can fill', () => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([1000, 900, 800, 700]);
    planAndValidate(c, buf);
    expect(buf.cycleS[0]).toBe(130);
  });

  it('holds the cycle at its maximum and balances v/c when oversaturated', () => {
    const net = JSON.parse(fixture());
    for (const st of net.intersections[0].phasing.stages) st.maxGreenS = 100;
    const c = compileNetwork(loadNetwork(JSON.stringify(net)));
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([1000, 900, 800, 700]);
    planAndValidate(c, buf);
    const plan = toTimingPlan(c, buf, 0);
    expect(plan.oversaturated).toBe(true);
    expect(plan.cycleS).toBe(150);
    const ew = plan.movements.find((m) => m.id === 'EBT')!;
    const ns = plan.movements.find((m) => m.id === 'NBT')!;
    expect(Math.abs(ew.vc - ns.vc)).toBeLessThan(0.01);
    expect(Number.isFinite(plan.delaySPerVeh)).toBe(true);
  });

  it('falls back to the minimum cycle with no traffic', () => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    planAndValidate(c, buf);
    expect(buf.cycleS[0]).toBe(40);
  });
});

describe('HCM delay', () => {
  // HCM 2010 ch. 18 uniform delay: d1 = 0.5 C (1 − g/C)² / (1 − min(1, X) g/C).
  // C = 90 s, g/C = 0.5, X = 0.8: 0.5·90·0.25 / (1 − 0.4) = 18.75 s (hand-computed).
  // Its incremental delay d2 with c = 900 veh/h, T = 0.25 h, k = 0.5, I = 1:
  // 225 [−0.2 + √(0.04 + 3.2/225)] = 225 (−0.2 + 0.232857) = 7.393 s.
  it('uniform plus incremental delay for a known case', () => {
    expect(laneDelay(90, 0.5, 0.8, 900)).toBeCloseTo(18.75 + 7.393, 2);
  });
  it('stays finite when demand exceeds capacity', () => {
    const d = laneDelay(120, 0.4, 1.3, 700);
    expect(Number.isFinite(d)).toBe(true);
    expect(d).toBeGreaterThan(100);
  });
});

describe('waterFill', () => {
  it('shares in proportion to weight within bounds and sums exactly', () => {
    const s = new PlanScratch();
    s.weight.set([1, 1, 8]);
    s.lo.set([10, 5, 5]);
    s.hi.set([100, 100, 30]);
    waterFill(60, 3, s);
    const v = Array.from(s.value.subarray(0, 3));
    expect(v[0]! + v[1]! + v[2]!).toBeCloseTo(60, 9);
    expect(v[2]).toBe(30);
    expect(v[0]).toBeGreaterThanOrEqual(10);
    expect(v[0]).toBeCloseTo(v[1]!, 9);
  });
});

it('planIntersection creates no typed array per call (buffer and scratch reused), and repeats itself', () => {
  const c = twoStage();
  const buf = createPlanBuffer(c);
  const s = new PlanScratch();
  buf.laneFlowVehPerH.set([600, 500, 450, 300]);
  planIntersection(c, 0, buf, s);
  const first = Array.from(buf.phaseGreenS);
  // Count every typed array constructed while it plans: the hot path must allocate none.
  const kinds = ['Float64Array', 'Float32Array', 'Int32Array', 'Uint32Array', 'Int16Array', 'Uint16Array', 'Int8Array', 'Uint8Array'] as const;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = kinds.map((k) => g[k]);
  let created = 0;
  kinds.forEach((k, n) => {
    g[k] = new Proxy(saved[n] as object, {
      construct(target, args, newTarget) {
        created++;
        return Reflect.construct(target as new (...a: unknown[]) => object, args, newTarget);
      },
    });
  });
  try {
    for (let k = 0; k < 10; k++) planIntersection(c, 0, buf, s);
  } finally {
    kinds.forEach((k, n) => (g[k] = saved[n]));
  }
  expect(created).toBe(0);
  expect(Array.from(buf.phaseGreenS)).toEqual(first);
  // The counter counts: a typed array made under the proxy is seen.
  g['Float64Array'] = new Proxy(saved[0] as object, { construct: (t, a, n) => (created++, Reflect.construct(t as new (...x: unknown[]) => object, a, n)) });
  try {
    new Float64Array(1);
  } finally {
    g['Float64Array'] = saved[0];
  }
  expect(created).toBe(1);
});

describe('slack to the coordinated phases at a forced cycle', () => {
  // Two-stage fixture at a corridor's 90 s cycle (its own Webster cycle is 48 s). Proportional
  // splits would give NS 0.25 / 0.5833 of the 80 s of green; with EW coordinated, NS gets what its
  // flow needs at the target degree of saturation and EW the rest.
  const planAt = (coordinated: boolean) => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([600, 500, 450, 300]);
    buf.forcedCycleS[0] = 90;
    if (coordinated) buf.phaseCoordinated[0] = 1;
    planAndValidate(c, buf);
    return { c, buf };
  };

  it('caps the side street at its need (y × C / x_target + lost time) and gives EW the slack', () => {
    const { c, buf } = planAt(true);
    const need = (0.25 * 90) / c.targetDegreeOfSaturation[0]! + (c.startUpLostTimeS - c.extensionOfEffectiveGreenS);
    expect(buf.cycleS[0]).toBe(90);
    expect(buf.phaseGreenS[1]).toBeCloseTo(Math.round(need * 10) / 10, 1);
    expect(buf.phaseGreenS[0]! + buf.phaseGreenS[1]!).toBeCloseTo(80, 6);
    const proportional = planAt(false).buf;
    expect(proportional.phaseGreenS[1]).toBeCloseTo((80 * 0.25) / (0.25 + 1 / 3), 0);
    expect(buf.phaseGreenS[0]).toBeGreaterThan(proportional.phaseGreenS[0]! + 5);
  });

  it('never cuts a side street below its minimum green', () => {
    const c = twoStage();
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set([600, 500, 20, 10]);
    buf.forcedCycleS[0] = 70; // EW can take the rest, 52 s, within its 60 s maximum
    buf.phaseCoordinated[0] = 1;
    planAndValidate(c, buf);
    expect(buf.phaseGreenS[1]).toBe(8);
    expect(buf.phaseGreenS[0]).toBeCloseTo(52, 6);
  });
});

describe('defaults.slackToCoordinatedPhases on the demo corridor at 08:00', () => {
  const planDemo = (slack: boolean) => {
    const raw = JSON.parse(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')) as { defaults?: Record<string, unknown> };
    raw.defaults = { ...(raw.defaults ?? {}), slackToCoordinatedPhases: slack };
    const c = compileNetwork(loadNetwork(JSON.stringify(raw)));
    const demand = demandFor(prepareCounts(c, readFileSync(new URL('../../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
    return { c, buf: planNetwork(c, demand.volumeVeh, demand.intervalS).buffer };
  };

  it('off (the default): I1 splits in proportion to y; on: EB/WB through (S2) gets the slack, the side street its need', () => {
    const off = planDemo(false);
    const on = planDemo(true);
    const s2 = off.c.phaseStart[0]! + 1;
    expect(off.buf.cycleS[0]).toBe(150);
    expect(on.buf.cycleS[0]).toBe(150);
    expect(on.buf.phaseGreenS[s2]! - off.buf.phaseGreenS[s2]!).toBeGreaterThan(10);
    // Every plan still passes the one validator (planNetwork throws otherwise), minimum greens included.
    for (let p = on.c.phaseStart[0]!; p < on.c.phaseStart[1]!; p++) expect(on.buf.phaseGreenS[p]!).toBeGreaterThanOrEqual(on.c.phaseMinGreenS[p]! - 1e-9);
  });
});
