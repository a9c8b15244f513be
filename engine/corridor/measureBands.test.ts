import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileNetworkText } from '../network/load.js';
import { demandFor, prepareCounts } from '../demand.js';
import { planNetwork } from '../plan.js';
import { clonePlanBuffer, type PlanBuffer } from '../timing/planner.js';
import type { CompiledNetwork } from '../network/compile.js';
import { mod } from '../numeric.js';
import { measureCorridorBand, measurePlanBands } from './measureBands.js';
import { linkBetween, throughIndex, travelApproaches } from './subsystems.js';

const net = compileNetworkText(readFileSync('examples/demo-city/network.json', 'utf8'), 'network.json');
const counts = prepareCounts(net, readFileSync('examples/demo-city/counts.csv', 'utf8'));

/** Is `movement` green at local time tS at intersection i (any protected, regular phase)? Read straight off the phases. */
function greenAt(c: CompiledNetwork, buf: PlanBuffer, i: number, movement: number, tS: number): boolean {
  const local = mod(tS - buf.offsetS[i]!, buf.cycleS[i]!);
  for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
    if (!((c.phaseProtectedMask[p]! >> movement) & 1) || c.phaseOnDemand[p] === 1) continue;
    const into = mod(local - buf.phaseStartS[p]!, buf.cycleS[i]!);
    if (into < buf.phaseGreenS[p]! - 1e-9) return true;
  }
  return false;
}

/** The band by brute force: departures from the first signal every 0.05 s, the longest run that meets green everywhere. */
function bruteBand(c: CompiledNetwork, buf: PlanBuffer, ids: readonly string[], outbound: boolean): number {
  const idx = ids.map((id) => c.intersectionIds.indexOf(id));
  const { outApproach, inApproach } = travelApproaches(c, idx);
  const moves = (outbound ? outApproach : inApproach).map(throughIndex);
  const travel = [0];
  for (let k = 1; k < idx.length; k++) {
    const link = outbound ? linkBetween(c.network, ids[k - 1]!, ids[k]!)! : linkBetween(c.network, ids[k]!, ids[k - 1]!)!;
    travel.push(travel[k - 1]! + link.lengthM / (link.designSpeedKph / 3.6));
  }
  const cycle = buf.cycleS[idx[0]!]!;
  const step = 0.05;
  const n = Math.round(cycle / step);
  const ok: boolean[] = [];
  for (let s = 0; s < n; s++) {
    const t0 = s * step;
    ok.push(idx.every((i, k) => greenAt(c, buf, i, moves[k]!, outbound ? t0 + travel[k]! : t0 - travel[k]!)));
  }
  if (ok.every(Boolean)) return cycle;
  let best = 0;
  let run = 0;
  for (let s = 0; s < 2 * n; s++) {
    run = ok[s % n] ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best * step;
}

describe('measurePlanBands', () => {
  const d = demandFor(counts, '08:00');
  const plan = planNetwork(net, d.volumeVeh, d.intervalS);

  it('agrees with a brute-force sweep of departures on the planned demo corridor, and after offsets are moved', () => {
    const cor = net.network.corridors[0]!;
    const check = (buf: PlanBuffer) => {
      const m = measurePlanBands(net, buf).find((b) => b.corridorId === cor.id)!;
      expect(m.cycleS).toBe(buf.cycleS[net.intersectionIds.indexOf(cor.intersections[0]!)]);
      expect(Math.abs(m.bandOutS - bruteBand(net, buf, cor.intersections, true))).toBeLessThan(0.11);
      expect(Math.abs(m.bandInS - bruteBand(net, buf, cor.intersections, false))).toBeLessThan(0.11);
      return m;
    };
    const planned = check(plan.buffer);
    expect(planned.bandOutS + planned.bandInS).toBeGreaterThan(0);
    // Offsets moved by arbitrary amounts: the measure follows the plan, not the optimizer's record.
    const moved = clonePlanBuffer(plan.buffer);
    cor.intersections.forEach((id, k) => {
      const i = net.intersectionIds.indexOf(id);
      moved.offsetS[i] = mod(moved.offsetS[i]! + 17 * k, moved.cycleS[i]!);
    });
    const after = check(moved);
    expect(after.bandOutS).not.toBe(planned.bandOutS);
  });

  it('reports no band where the signals do not share a cycle', () => {
    const cor = net.network.corridors[0]!;
    const odd = clonePlanBuffer(plan.buffer);
    const i = net.intersectionIds.indexOf(cor.intersections[1]!);
    odd.cycleS[i] = odd.cycleS[i]! - 7;
    expect(measurePlanBands(net, odd).find((b) => b.corridorId === cor.id)).toEqual({ corridorId: cor.id, cycleS: null, bandOutS: 0, bandInS: 0 });
  });

  it('places each band where it is: every departure inside it meets green at every signal, the moments just outside do not', () => {
    const cor = net.network.corridors[0]!;
    const idx = cor.intersections.map((id) => net.intersectionIds.indexOf(id));
    const { outApproach, inApproach } = travelApproaches(net, idx);
    const d = measureCorridorBand(net, plan.buffer, cor.id)!;
    for (const [side, moves, sign] of [
      [d.out, outApproach.map(throughIndex), 1],
      [d.in, inApproach.map(throughIndex), -1],
    ] as const) {
      if (side.widthS < 1) continue;
      const through = (t0: number) => idx.every((i, k) => greenAt(net, plan.buffer, i, moves[k]!, t0 + sign * side.travelS[k]!));
      for (let f = 0.02; f < 1; f += 0.08) expect(through(side.startS + f * side.widthS)).toBe(true);
      if (side.widthS < d.cycleS! - 1) expect([through(side.startS - 0.3), through(side.startS + side.widthS + 0.3)]).toEqual([false, false]);
    }
    expect(d.out.widthS).toBeCloseTo(measurePlanBands(net, plan.buffer).find((b) => b.corridorId === cor.id)!.bandOutS, 9);
  });
});
