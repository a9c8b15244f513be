/** engine/timing/leftTurnMode.ts on networks imported from SUMO (the bench's smoke arterial, the two-signal fixture). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileNetwork, intersectionOfPhase, type CompiledNetwork } from '../../engine/network/compile.js';
import { validateNetwork } from '../../engine/network/validate.js';
import { importSumoNet } from './importNet.js';
import { buildNetwork } from '../../bench/scenarios/build.js';
import { smokeFamily } from '../../bench/scenarios/family.js';
import { leftTurnMode } from '../../engine/timing/leftTurnMode.js';
import { planNetwork } from '../../engine/plan.js';

const compiled = (netXml: string): CompiledNetwork => {
  const r = validateNetwork(importSumoNet(netXml).network);
  if (!r.ok) throw new Error('fixture does not validate');
  return compileNetwork(r.network);
};

/** Detector volumes per 15 min: `left` on lanes that carry only lefts, `other` elsewhere. */
function volumes(c: CompiledNetwork, left: number, other: number): Float64Array {
  return Float64Array.from(c.detectorIds, (_, d) => {
    const mask = c.laneMovementMask[c.detectorLane[d]!]!;
    return (mask & 0b1110_1110_1110_1110) === 0 ? left : other;
  });
}

describe('left-turn mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-ltm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Four signals, two through lanes each way and a left-turn bay; SUMO's program has a protected-left stage at each.
  buildNetwork(smokeFamily().find((s) => s.id === 'smoke-arterial')!, dir);
  const arterial = compiled(readFileSync(join(dir, 'net.net.xml'), 'utf8'));

  it('omits protected-left stages the counts do not warrant; the lefts go permitted and the plan gives the stage no time', () => {
    const v = volumes(arterial, 8, 90); // 32 lefts/h against ~360 veh/h per opposing lane
    const m = leftTurnMode(arterial, v, 900);
    const omitted = m.decisions.filter((d) => d.omitted);
    expect(m.decisions.length).toBe(4);
    expect(omitted.length).toBe(4);
    expect(omitted[0]!.reason).toMatch(/below the cross-product thresholds/);
    const plan = planNetwork(m.compiled, v, 900);
    for (const d of omitted) {
      const p = m.compiled.phaseIds.findIndex((id, g) => id === d.phaseId && m.compiled.intersectionIds[intersectionOfPhase(m.compiled, g)] === d.intersectionId);
      expect(plan.buffer.phaseGreenS[p]).toBe(0);
      expect(plan.buffer.phaseYellowS[p]).toBe(0);
    }
    // The original compiled network is untouched.
    expect(Array.from(arterial.phaseOnDemand).every((x) => x === 0)).toBe(true);
  });

  it('keeps them when left × opposing volume reaches the threshold for two opposing lanes', () => {
    const m = leftTurnMode(arterial, volumes(arterial, 60, 110), 900); // 240 lefts/h × 880 opposing
    expect(m.decisions.every((d) => !d.omitted)).toBe(true);
    expect(m.decisions[0]!.reason).toMatch(/≥ 90000/);
    expect(m.compiled).toBe(arterial);
  });

  it('keeps a left that crosses three opposing through lanes, however light', () => {
    const two = compiled(readFileSync(new URL('../../test/fixtures/sumo/two-signals.net.xml', import.meta.url), 'utf8'));
    const m = leftTurnMode(two, volumes(two, 2, 20), 900);
    expect(m.decisions.length).toBeGreaterThan(0);
    for (const d of m.decisions) {
      expect(d.omitted).toBe(false);
      expect(d.reason).toMatch(/crosses 3 opposing lanes/);
    }
  });
});

