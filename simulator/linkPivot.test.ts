/**
 * Issue 15's acceptance item for Link Pivot, in the simulator: on the demo city's corridor
 * (renmin-rd, I1…I8), record the event log of an hour under the current plan, take Link
 * Pivot's suggested offsets (engine/measures/linkPivot.ts), apply them, re-simulate with
 * the same seed, and arrivals on green on the corridor's through movements (EB and WB
 * through phases, advance detectors) rise. Arrivals are judged in one window, inside complete
 * cycles in both runs. Measured (docs/measures.md): seed 21 53.47 % → 53.88 %, seeds 22 and
 * 23 52.73 → 53.17 % and 52.38 → 54.54 %; Link Pivot itself predicted about +2 points.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNetwork } from '../engine/network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../engine/network/compile.js';
import { demandFor, prepareCounts } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { createPlanBuffer, type PlanBuffer } from '../engine/timing/planner.js';
import { mod } from '../engine/numeric.js';
import { measureContext } from '../engine/measures/context.js';
import { linkPivot, throughPhase } from '../engine/measures/linkPivot.js';
import { purdueCoordinationDiagram } from '../engine/measures/pcd.js';
import { EventBuffer } from '../engine/events/buffer.js';
import { Simulation } from './simulation.js';
import { movementFlowsFromLanes } from './demand.js';
import { SimEventRecorder } from './events.js';

const RUN_S = 3600;
const SEED = Number(process.env.GREENWAVE_LINK_PIVOT_SEED ?? 21);
/** Hours measured for Link Pivot (seeds SEED…), one day apart in one log. */
const MEASURE_SEEDS = 5;
const DAY_MS = 86_400_000;
/** Arrivals judged: those at the stop line in this window, inside complete cycles in both runs (the 150 s cycle's first and last cycles are partial). */
const WINDOW_S = [300, 3300] as const;
const EPOCH_MS = Date.UTC(2026, 0, 1);

function record(c: CompiledNetwork, plan: PlanBuffer, flows: Float64Array, seed = SEED, into?: { events: EventBuffer; epochMs: number }): EventBuffer {
  const sim = new Simulation(c, plan, { movementFlowVehPerH: flows }, { seed });
  const rec = new SimEventRecorder(sim, into ?? {});
  sim.runUntil(RUN_S);
  return rec.events;
}

/** Arrivals on green and volume over the corridor's EB and WB through phases (their own approaches), arrivals in WINDOW_S. */
function corridorAog(c: CompiledNetwork, events: EventBuffer, members: readonly string[]): { green: number; volume: number; pct: number } {
  const ctx = measureContext(c, events);
  let green = 0;
  let volume = 0;
  for (const id of members) {
    const i = c.intersectionIds.indexOf(id);
    for (const approach of ['EB', 'WB'] as const) {
      const p = throughPhase(ctx, i, approach);
      if (p < 0) continue;
      for (const cy of purdueCoordinationDiagram(ctx, p, approach).cycles) {
        for (const a of cy.arrivals) {
          const tS = (a.timestampMs - EPOCH_MS) / 1000;
          if (tS < WINDOW_S[0] || tS >= WINDOW_S[1]) continue;
          volume++;
          if (a.on === 'green') green++;
        }
      }
    }
  }
  return { green, volume, pct: (100 * green) / volume };
}

describe('Link Pivot on the demo corridor', () => {
  it('its suggested offsets raise arrivals on green on the through movements', () => {
    const c = compileNetwork(loadNetwork(readFileSync(new URL('../examples/demo-city/network.json', import.meta.url), 'utf8')));
    const d = demandFor(prepareCounts(c, readFileSync(new URL('../examples/demo-city/counts.csv', import.meta.url), 'utf8')), '08:00');
    const plan = planNetwork(c, d.volumeVeh, d.intervalS).buffer;
    const flows = movementFlowsFromLanes(c, plan.laneFlowVehPerH);
    const corridor = c.network.corridors[0]!;
    // Measured as ATSPM's Link Pivot is used, over several days of the controllers' logs: five
    // simulated peak hours (seeds 21–25) one day apart in one event log. One hour is too noisy: its
    // suggestion moved arrivals on green by −0.7 to +2.4 points depending on the seed's sampling.
    const measured = new EventBuffer();
    for (let k = 0; k < MEASURE_SEEDS; k++) record(c, plan, flows, SEED + k, { events: measured, epochMs: EPOCH_MS + k * DAY_MS });
    const pivot = linkPivot(measureContext(c, measured), corridor);
    const adjusted = createPlanBuffer(c);
    for (const k of Object.keys(adjusted) as (keyof PlanBuffer)[]) (adjusted[k] as Float64Array).set(plan[k] as Float64Array);
    for (const { intersectionId, adjustmentS } of pivot.offsetAdjustmentS) {
      const i = c.intersectionIds.indexOf(intersectionId);
      adjusted.offsetS[i] = mod(plan.offsetS[i]! + adjustmentS, plan.cycleS[i]!);
    }
    expect(pivot.links.length).toBe(corridor.intersections.length - 1);
    // Judged on five other seeds (26–30), pooled: the offsets must raise arrivals on green there.
    const judged = (p: PlanBuffer) => {
      let green = 0;
      let volume = 0;
      for (let k = 0; k < 5; k++) {
        const a = corridorAog(c, record(c, p, flows, SEED + MEASURE_SEEDS + k), corridor.intersections);
        green += a.green;
        volume += a.volume;
      }
      return green / volume;
    };
    const aogBefore = judged(plan);
    const aogAfter = judged(adjusted);
    console.log(`Link Pivot on Renmin Rd: arrivals on green ${(100 * aogBefore).toFixed(1)} % → ${(100 * aogAfter).toFixed(1)} % over seeds 26–30`);
    expect(aogAfter).toBeGreaterThan(aogBefore);
  });
});
