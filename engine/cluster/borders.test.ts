import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { validateIntersectionPlan } from '../safety/validator.js';
import { mod } from '../numeric.js';
import { planNetwork, type NetworkPlan } from '../plan.js';
import { gridVolumes, splitArterialJson } from '../../test/fixtures/gridNetwork.js';
import { partitionRegions } from './regions.js';
import { regionNetwork } from './regionNetwork.js';
import { borderBandS, periodicOverlapS, planRegionAtBorders, regionBorders, type BorderState, type RegionBorders } from './borders.js';

interface Case {
  readonly regions: { id: string; c: CompiledNetwork; v: Float64Array }[];
  readonly borders: Map<string, RegionBorders>;
}

/** An arterial cut into `pieces` regions; piece p carries its own load, so that their cycles differ. */
function arterial(pieces: number, loads: readonly [number, number][], oneWayBorders = false): Case {
  const net = loadNetwork(JSON.stringify(splitArterialJson({ pieces, perPiece: 4, oneWayBorders })));
  const part = partitionRegions(net, 4);
  const regions = part.regions.map((r) => {
    const c = compileNetwork(regionNetwork(net, r));
    const piece = Math.floor(Number(r.signalIds[0]!.slice(3)) / 4);
    return { id: r.id, c, v: gridVolumes(c, ...loads[piece]!) };
  });
  return { regions, borders: regionBorders(net, part) };
}

/**
 * Re-plans every region per round, each reading the states the others published in the
 * round before (the worst case: all nodes at once). Returns the round whose states equalled
 * the round before's, and the final plans.
 */
function rounds(k: Case, maxRounds = 10): { settledAfter: number; plans: Map<string, NetworkPlan>; states: Map<string, BorderState> } {
  let states = new Map<string, BorderState>();
  for (let round = 1; round <= maxRounds; round++) {
    const next = new Map<string, BorderState>();
    const plans = new Map<string, NetworkPlan>();
    for (const r of k.regions) {
      const out = planRegionAtBorders(r.c, r.v, 900, k.borders.get(r.id)!, states);
      next.set(r.id, out.state);
      plans.set(r.id, out.plan);
    }
    if (JSON.stringify([...next]) === JSON.stringify([...states])) return { settledAfter: round - 1, plans, states: next };
    states = next;
  }
  throw new Error(`not settled within ${maxRounds} rounds`);
}

/** The EW stage's green of a signal, offset applied, from the plan's reporting objects (not the module's windows). */
function ewGreen(plans: Map<string, NetworkPlan>, signalId: string): { startS: number; greenS: number; cycleS: number } {
  for (const p of plans.values()) {
    const t = p.plans.find((x) => x.intersectionId === signalId);
    if (!t) continue;
    const ew = t.phases.find((ph) => ph.id === 'EW')!;
    return { startS: mod(t.offsetS + ew.startS, t.cycleS), greenS: ew.greenS, cycleS: t.cycleS };
  }
  throw new Error(`no plan for ${signalId}`);
}

function everyPlanValid(k: Case, plans: Map<string, NetworkPlan>): boolean {
  return k.regions.every((r) => Array.from({ length: r.c.intersectionCount }, (_, i) => validateIntersectionPlan(r.c, i, plans.get(r.id)!.buffer)).every(Boolean));
}

describe('coordination across region borders', () => {
  it('overlaps periodic windows', () => {
    expect(periodicOverlapS(10, 20, 15, 30, 90)).toBe(15);
    expect(periodicOverlapS(80, 20, 5, 10, 90)).toBe(5);
    expect(periodicOverlapS(0, 30, 40, 20, 90)).toBe(0);
    expect(borderBandS({ startS: 70, greenS: 30 }, { startS: 0, greenS: 30 }, 20, 90)).toBe(30);
  });

  it('two regions: one common cycle, the larger need, and the widest band over the border links; every plan valid', () => {
    const k = arterial(2, [
      [1500, 950],
      [1100, 700],
    ]);
    const { settledAfter, plans, states } = rounds(k);
    const [a, b] = k.regions.map((r) => states.get(r.id)!);
    // The two regions need different cycles alone; both run the larger.
    expect(a!.needCycleS).not.toBe(b!.needCycleS);
    expect(a!.cycleS).toBe(Math.max(a!.needCycleS, b!.needCycleS));
    expect(b!.cycleS).toBe(a!.cycleS);
    const cycleS = a!.cycleS;
    for (const p of plans.values()) for (const t of p.plans) expect(t.cycleS).toBe(cycleS);
    // Rounds: needs in round 1, the common cycle in round 2, the follower's shift on it by round 3.
    expect(settledAfter).toBeLessThanOrEqual(3);
    expect(everyPlanValid(k, plans)).toBe(true);

    // The band over both border links (eastbound and westbound), measured on the plans' EW
    // stage greens, against every shift of the follower's side: the chosen one is the widest.
    const links = k.borders.get(k.regions[0]!.id)!.ends;
    expect(links.length).toBe(2);
    const follower = k.regions.find((r) => !k.borders.get(r.id)!.ends[0]!.leads)!;
    const band = (shiftS: number) =>
      links.reduce((s, e) => {
        const from = e.role === 'from' ? e.signalId : e.otherSignalId;
        const to = e.role === 'from' ? e.otherSignalId : e.signalId;
        const shift = (id: string) => (follower.c.intersectionIds.includes(id) ? shiftS : 0);
        const f = ewGreen(plans, from);
        const g = ewGreen(plans, to);
        return s + borderBandS({ startS: f.startS + shift(from), greenS: f.greenS }, { startS: g.startS + shift(to), greenS: g.greenS }, e.travelS, cycleS);
      }, 0);
    let widest = 0;
    for (let t = 0; t < cycleS * 10; t++) widest = Math.max(widest, band(t / 10));
    expect(band(0)).toBeCloseTo(widest, 6);

  });

  it('a one-way border: the downstream green starts a travel time after the upstream one', () => {
    const k = arterial(
      2,
      [
        [1400, 900],
        [1400, 900],
      ],
      true,
    );
    const { plans, states } = rounds(k);
    const e = k.borders.get(k.regions[0]!.id)!.ends[0]!;
    expect(k.borders.get(k.regions[0]!.id)!.ends.length).toBe(1);
    const from = ewGreen(plans, e.role === 'from' ? e.signalId : e.otherSignalId);
    const to = ewGreen(plans, e.role === 'from' ? e.otherSignalId : e.signalId);
    // Same load both sides: equal greens, so the widest band is the whole green, reached only
    // when the offset difference at the border equals the travel time (300 m at 50 km/h ≈ 21.6 s).
    expect(to.greenS).toBeCloseTo(from.greenS, 6);
    expect(e.travelS).toBeCloseTo(21.6, 6);
    const lagS = mod(to.startS - from.startS - e.travelS, from.cycleS);
    expect(Math.min(lagS, from.cycleS - lagS)).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(borderBandS(from, to, e.travelS, from.cycleS)).toBeCloseTo(from.greenS, 6);

    // The follower planned blind to the leader's windows (same cycle, no shift): a narrower band.
    const follower = k.regions.find((r) => !k.borders.get(r.id)!.ends[0]!.leads)!;
    const leaderId = k.regions.find((r) => r !== follower)!.id;
    const hidden = new Map(states);
    hidden.set(leaderId, { ...hidden.get(leaderId)!, windows: [] });
    const blind = planRegionAtBorders(follower.c, follower.v, 900, k.borders.get(follower.id)!, hidden);
    expect(blind.report.waiting).toBe(1);
    expect(blind.state.cycleS).toBe(from.cycleS);
    const blindPlans = new Map(plans);
    blindPlans.set(follower.id, blind.plan);
    const blindFrom = ewGreen(blindPlans, e.role === 'from' ? e.signalId : e.otherSignalId);
    const blindTo = ewGreen(blindPlans, e.role === 'from' ? e.otherSignalId : e.signalId);
    expect(borderBandS(blindFrom, blindTo, e.travelS, from.cycleS)).toBeLessThan(from.greenS - 5);
  });

  it('a chain of three regions settles within 2 + its depth rounds, the same whatever order the regions are planned in', () => {
    const k = arterial(3, [
      [1100, 700],
      [1400, 900],
      [1250, 800],
    ]);
    const par = rounds(k);
    expect(par.settledAfter).toBeLessThanOrEqual(2 + 2);
    const cycles = new Set([...par.states.values()].map((s) => s.cycleS));
    expect(cycles.size).toBe(1);
    expect([...cycles][0]).toBe(Math.max(...[...par.states.values()].map((s) => s.needCycleS)));
    expect(everyPlanValid(k, par.plans)).toBe(true);
    // One region after another (as one node holding them all, in reverse id order, reading the latest): the same fixed point.
    const states = new Map<string, BorderState>();
    let before = '';
    for (let round = 0; round < 6 && before !== JSON.stringify([...states]); round++) {
      before = JSON.stringify([...states]);
      for (const r of [...k.regions].reverse()) states.set(r.id, planRegionAtBorders(r.c, r.v, 900, k.borders.get(r.id)!, states).state);
    }
    expect(JSON.stringify([...states].sort())).toBe(JSON.stringify([...par.states].sort()));
    // Alone, each region plans its own cycle: coordination changed something.
    const alone = k.regions.map((r) => planNetwork(r.c, r.v, 900).plans[0]!.cycleS);
    expect(new Set(alone).size).toBeGreaterThan(1);
  });
});
