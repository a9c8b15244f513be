/**
 * greenwave's clearances given to SUMO's own programs: the fair baseline for timing. SUMO's tools
 * run a 3 s yellow and no all-red, which a plan that must meet the ITE clearances (and the safety
 * floors) cannot; these give SUMO's control the yellow and all-red greenwave's plan would use at
 * each signal, so a comparison is of control, not of clearance lengths. Called by bench/scenarios,
 * bench/insumo and `greenwave sumo compare`.
 */
import { compileImport, importSumoNet } from './importNet.js';

/** The change interval greenwave times at one signal: its longest yellow and all-red, s. */
export interface Clearance {
  readonly yellowS: number;
  readonly allRedS: number;
}

/**
 * Per SUMO traffic light, the clearances greenwave's plan uses there (ITE yellow and red
 * clearance, whole seconds as SUMO runs them), read from the same import `sumo plan` does.
 * Signals greenwave leaves to SUMO are not listed.
 */
export function greenwaveClearances(netXml: string): Map<string, Clearance> {
  const imported = importSumoNet(netXml);
  const { mapping } = imported;
  const c = compileImport(imported);
  const out = new Map<string, Clearance>();
  for (const m of mapping.intersections) {
    const i = c.intersectionIds.indexOf(m.intersectionId);
    let yellowS = 0;
    let allRedS = 0;
    for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
      yellowS = Math.max(yellowS, c.phaseYellowS[p]!);
      allRedS = Math.max(allRedS, c.phaseAllRedS[p]!);
    }
    out.set(m.tlsId, { yellowS, allRedS });
  }
  return out;
}

/**
 * SUMO's own programs with greenwave's clearances: each yellow phase lasts greenwave's yellow
 * and is followed by greenwave's all-red, in which the links still green (continuing movements)
 * stay green. Control logic, greens and detectors are SUMO's. This is the fair baseline for
 * timing: SUMO's tools run 3 s yellow and no all-red, which a plan that must meet the ITE
 * clearances cannot do (docs/benchmarks.md).
 */
export function withClearances(netXml: string, clearances: ReadonlyMap<string, Clearance>): string {
  return netXml.replace(/<tlLogic id="([^"]+)"[\s\S]*?<\/tlLogic>/g, (block, id: string) => {
    const cl = clearances.get(id);
    if (!cl) return block;
    return block.replace(/<phase [^>]*\/>/g, (phase) => {
      const state = /state="([^"]+)"/.exec(phase)?.[1] ?? '';
      if (!state.includes('y')) return phase;
      const yellow = phase.replace(/duration="[^"]*"/, `duration="${cl.yellowS}"`).replace(/ (minDur|maxDur|earliestEnd|latestEnd)="[^"]*"/g, '');
      return cl.allRedS > 0 ? `${yellow}\n        <phase duration="${cl.allRedS}" state="${state.replace(/y/g, 'r')}"/>` : yellow;
    });
  });
}
