import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { createPlanBuffer, PlanScratch, planIntersection } from './planner.js';

// The planner's model of lefts that yield in a lane they share (planner.ts setYieldFactors):
// the two-stage fixture with its north and south approaches turned into one lane for left,
// through and right, the lefts permitted against the opposing through.
type Lanes = { id: string; movements: string[] }[];
function crossing(nbLanes: Lanes, sbLanes: Lanes): CompiledNetwork {
  const net = JSON.parse(readFileSync(new URL('../../test/fixtures/networks/two-stage.json', import.meta.url), 'utf8'));
  const ix = net.intersections[0];
  const lanes = (list: Lanes) => list.map((l) => ({ ...l, widthM: 3.6 }));
  ix.approaches[2].lanes = lanes(nbLanes);
  ix.approaches[3].lanes = lanes(sbLanes);
  ix.detectors = [...ix.detectors.slice(0, 2), ...[...nbLanes, ...sbLanes].map((l) => ({ id: `D-${l.id}`, lane: l.id, kind: 'stopLine', distanceM: 3 }))];
  const turns = (ap: string, list: Lanes) => [...new Set(list.flatMap((l) => l.movements))].map((t) => `${ap}${t}`);
  const ns = [...turns('NB', nbLanes), ...turns('SB', sbLanes)];
  ix.phasing.stages[1] = { id: 'NS', protected: ns.filter((m) => !m.endsWith('L')), permitted: ns.filter((m) => m.endsWith('L')), minGreenS: 8, maxGreenS: 60 };
  return compileNetwork(loadNetwork(JSON.stringify(net)));
}
const oneLane = (ap: string): Lanes => [{ id: `${ap}-1`, movements: ['L', 'T', 'R'] }];
const throughOnly = (ap: string): Lanes => [{ id: `${ap}-1`, movements: ['T'] }];

function plan(c: CompiledNetwork, flows: number[]) {
  const buf = createPlanBuffer(c);
  buf.laneFlowVehPerH.set(flows);
  planIntersection(c, 0, buf, new PlanScratch());
  return buf;
}

describe('lefts yielding in a shared lane', () => {
  it('compiles the share of yielding movements: a one-lane approach 1/3, an exclusive permitted left 1, a shared lane with lanes beside it 0', () => {
    expect(Array.from(crossing(oneLane('NB'), oneLane('SB')).laneYieldShare)).toEqual([0, 0, 1 / 3, 1 / 3]);
    const bay = crossing(
      [
        { id: 'NB-L', movements: ['L'] },
        { id: 'NB-T', movements: ['T', 'R'] },
      ],
      [
        { id: 'SB-1', movements: ['L', 'T'] },
        { id: 'SB-2', movements: ['T', 'R'] },
      ],
    );
    expect(Array.from(bay.laneYieldShare)).toEqual([0, 0, 1, 0, 0, 0]);
  });

  it('gives the stage more green than the same flows going straight, and reports the lane capacity the timing leaves it', () => {
    const flows = [600, 500, 300, 400];
    const shared = plan(crossing(oneLane('NB'), oneLane('SB')), flows);
    const straight = plan(crossing(throughOnly('NB'), throughOnly('SB')), flows);
    expect(shared.laneSatFactor[2]).toBeLessThan(0.9);
    expect(shared.laneSatFactor[2]).toBeGreaterThanOrEqual(0.05);
    expect(Array.from(straight.laneSatFactor)).toEqual([1, 1, 1, 1]);
    const nsShare = (b: typeof shared) => b.phaseGreenS[1]! / (b.phaseGreenS[0]! + b.phaseGreenS[1]!);
    expect(nsShare(shared)).toBeGreaterThan(nsShare(straight) + 0.05);
    // Capacity = saturation × factor × effective green / cycle, the same factor the split used.
    const c = crossing(oneLane('NB'), oneLane('SB'));
    const gain = c.extensionOfEffectiveGreenS - c.startUpLostTimeS;
    const expected = (c.laneSatFlowVehPerH[2]! * shared.laneSatFactor[2]! * (shared.phaseGreenS[1]! + gain)) / shared.cycleS[0]!;
    expect(shared.laneCapacityVehPerH[2]).toBeCloseTo(expected, 6);
  });

  it('charges more as the opposing flow grows (its queue and its gaps), and little when nothing opposes', () => {
    const c = crossing(oneLane('NB'), oneLane('SB'));
    const factors = [0, 150, 300, 500].map((sb) => plan(c, [400, 400, 300, sb]).laneSatFactor[2]!);
    for (let k = 1; k < factors.length; k++) expect(factors[k]).toBeLessThan(factors[k - 1]!);
    expect(factors[0]).toBeGreaterThan(0.9);
  });

  it('leaves a lane whose lefts are protected alone', () => {
    const net = crossing(oneLane('NB'), oneLane('SB'));
    const json = JSON.parse(JSON.stringify(net.network));
    const ns = json.intersections[0].phasing.stages[1];
    json.intersections[0].phasing.stages[1] = { ...ns, protected: ['NBL', 'NBT', 'NBR'], permitted: [] };
    json.intersections[0].phasing.stages.push({ id: 'S', protected: ['SBL', 'SBT', 'SBR'], minGreenS: 8, maxGreenS: 60 });
    const split = compileNetwork(loadNetwork(JSON.stringify(json)));
    expect(Array.from(split.laneYieldShare)).toEqual([0, 0, 0, 0]);
  });
});

describe('the planning passes', () => {
  it('end near a fixed point: the flow ratio the split used is within 5 % of the one its own timing gives', () => {
    const c = crossing(oneLane('NB'), oneLane('SB'));
    let worst = 0;
    for (const ew of [200, 500, 800]) {
      for (const nb of [100, 250, 400]) {
        for (const sb of [50, 200, 350, 500]) {
          const buf = plan(c, [ew, ew * 0.8, nb, sb]);
          // phaseFlowRatio is what the last pass split by; laneSatFactor is from the final timing.
          let yFinal = 0;
          for (let l = 0; l < 4; l++) if (c.lanePhase[l] === 1) yFinal = Math.max(yFinal, buf.laneFlowVehPerH[l]! / (c.laneSatFlowVehPerH[l]! * buf.laneSatFactor[l]!));
          worst = Math.max(worst, Math.abs(buf.phaseFlowRatio[1]! - yFinal) / yFinal);
        }
      }
    }
    expect(worst).toBeLessThan(0.05);
  });
});

describe('a phase\'s minimum flow ratio (demand the network does not model)', () => {
  it('plans the phase for the larger of its lanes\' flow ratio and the floor', () => {
    const c = crossing(throughOnly('NB'), throughOnly('SB'));
    const flows = [600, 500, 150, 150];
    const plain = plan(c, flows);
    const buf = createPlanBuffer(c);
    buf.laneFlowVehPerH.set(flows);
    buf.phaseMinFlowRatio[1] = 0.3;
    planIntersection(c, 0, buf, new PlanScratch());
    expect(buf.phaseFlowRatio[1]).toBeCloseTo(0.3, 9);
    expect(buf.phaseGreenS[1]! / buf.cycleS[0]!).toBeGreaterThan(plain.phaseGreenS[1]! / plain.cycleS[0]! + 0.05);
    // Below the lanes' own ratio it changes nothing.
    const low = createPlanBuffer(c);
    low.laneFlowVehPerH.set(flows);
    low.phaseMinFlowRatio[1] = 0.01;
    planIntersection(c, 0, low, new PlanScratch());
    expect(Array.from(low.phaseGreenS)).toEqual(Array.from(plain.phaseGreenS));
  });
});
