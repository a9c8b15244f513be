/**
 * Phase insertion in the microsimulation (issue 6): late buses (180 s) turn left
 * from the eastbound approach of I1 and of I3 in turn, one every 120 s, in the
 * demo city at 08:00. The same seeds run on the demo network and on the demo
 * network with on-demand bus phases for those lefts (test/fixtures/busPhaseNetwork.ts:
 * stage S2B after S2 at I1; 5B in ring 2 at I3, which mirrors phase 5's lead or lag),
 * each with TSP off and on.
 *
 * Measured (seeds 1–8 pooled; the test prints every seed):
 *   TSP off, either network            bus delay 61.4 s at its left, general traffic 75.3 s/trip
 *   TSP on, demo network               42.4 s (−30.9 %), general −0.2 %  (early green, extension)
 *   TSP on, with bus phases            36.0 s (−41.3 %), general −0.4 %  (63 of 169 grants insert)
 *   per signal: I1 45–47 s → 18–21 s with bus phases (30–32 s without); I3 66–94 s → 50–67 s
 *   either way (5B inserted at the start of the cycle competes with phase 5's early green)
 * Stated bounds: the plans with skipped bus phases run exactly as the demo's (TSP off, same
 * numbers); with bus phases, bus delay falls by at least 30 % pooled and ends at least 10 %
 * below plain TSP's; general traffic rises by at most 10 % pooled and 15 % on any seed;
 * insertions are granted on every seed; zero validator rejections and conflict-monitor events.
 */
import { describe, expect, it } from 'vitest';
import { runLeftTurnTspScenario, type LeftTurnResult } from '../test/fixtures/transit.js';
import { loadNetwork } from '../engine/network/validate.js';
import { busPhaseNetworkJson } from '../test/fixtures/busPhaseNetwork.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const SCENARIO = { busHeadwayS: 120, latenessS: 180 } as const;

describe('phase insertion in the simulator: late buses turning left at I1 and I3', () => {
  it('an inserted bus phase saves more than extension and early green alone, at no cost to general traffic; no safety rule is broken', () => {
    const busPhases = loadNetwork(JSON.stringify(busPhaseNetworkJson()), 'bus-phase demo');
    const pooled = { off: 0, plain: 0, bus: 0, genOff: 0, genBus: 0 };
    for (const seed of SEEDS) {
      const off = runLeftTurnTspScenario({ seed, withTsp: false, ...SCENARIO });
      const offBus = runLeftTurnTspScenario({ seed, withTsp: false, network: busPhases, ...SCENARIO });
      const plain = runLeftTurnTspScenario({ seed, withTsp: true, ...SCENARIO });
      const bus = runLeftTurnTspScenario({ seed, withTsp: true, network: busPhases, ...SCENARIO });
      const show = (r: LeftTurnResult): string => `${r.busDelayS.toFixed(1)} s (${Object.entries(r.busDelayBySignalS).map(([id, v]) => `${id} ${v.toFixed(1)}`).join(', ')})`;
      console.log(
        `seed ${seed}: bus delay off ${show(off)}, TSP ${show(plain)}, TSP + bus phases ${show(bus)}; ` +
          `general ${off.generalDelayPerVehS.toFixed(1)} → ${plain.generalDelayPerVehS.toFixed(1)} / ${bus.generalDelayPerVehS.toFixed(1)} s; grants ${JSON.stringify(bus.grantsByStrategy)}`,
      );
      // Skipped bus phases change nothing until a bus asks for one.
      expect(offBus.busDelayS).toBe(off.busDelayS);
      expect(offBus.generalDelayPerVehS).toBe(off.generalDelayPerVehS);
      for (const r of [off, offBus, plain, bus]) {
        expect(r.busesCompleted).toBe(r.buses);
        expect(r.tspUnsafeRejections).toBe(0);
        expect(r.headsRejections, r.firstRejection).toBe(0);
        expect(r.safetyViolations, r.firstViolation).toBe(0);
      }
      expect(bus.grantsByStrategy['phaseInsertion'] ?? 0).toBeGreaterThan(0);
      expect(plain.grantsByStrategy['phaseInsertion']).toBeUndefined();
      expect(bus.generalDelayPerVehS / off.generalDelayPerVehS - 1).toBeLessThanOrEqual(0.15);
      pooled.off += off.busDelayS;
      pooled.plain += plain.busDelayS;
      pooled.bus += bus.busDelayS;
      pooled.genOff += off.generalDelayPerVehS;
      pooled.genBus += bus.generalDelayPerVehS;
    }
    const n = SEEDS.length;
    console.log(
      `pooled: bus delay off ${(pooled.off / n).toFixed(1)} s, TSP ${(pooled.plain / n).toFixed(1)} s (${(100 * (pooled.plain / pooled.off - 1)).toFixed(1)} %), ` +
        `TSP + bus phases ${(pooled.bus / n).toFixed(1)} s (${(100 * (pooled.bus / pooled.off - 1)).toFixed(1)} %); general ${(100 * (pooled.genBus / pooled.genOff - 1)).toFixed(1)} %`,
    );
    expect(pooled.bus / pooled.off).toBeLessThanOrEqual(0.7);
    expect(pooled.bus / pooled.plain).toBeLessThanOrEqual(0.9);
    expect(pooled.genBus / pooled.genOff - 1).toBeLessThanOrEqual(0.1);
  }, 180_000); // eight seeds of three hour-long runs: 40–65 s on the 2-core machine, more when it is busy
});
