/**
 * Coordination across region borders (engine/cluster/borders.ts) on bench/cluster's generated
 * city, in process: no NATS and no nodes, the engine's part only. It reports the border links,
 * the regions that have some, their components and the longest chain of leaders; then re-plans
 * the regions with border links in rounds as the nodes do (service/cluster/regionReplan.ts: a
 * first round of every such region, then follow-ups of only those whose neighbours' states
 * changed), each region of a round reading the states of the round before (every node at once,
 * the slowest case), until a round changes no state; and what a border re-plan costs against
 * the same region's coordinated re-plan alone. Detector counts as bench/cluster's controllers
 * publish them (round 0).
 *
 *   npm run build && node dist/bench/cluster/borders.js [--signals 20000] [--max-signals 240] [--scale 1] [--static]
 *
 * --static stops after the partition's figures (no planning: about a second); --scale
 * multiplies every count (heavier traffic: longer cycles that differ more between regions).
 */
import { parseArgs } from 'node:util';
import { loadNetwork } from '../../engine/network/validate.js';
import { compileNetwork } from '../../engine/network/compile.js';
import { partitionRegions } from '../../engine/cluster/regions.js';
import { regionNetwork } from '../../engine/cluster/regionNetwork.js';
import { borderBandS, planRegionAtBorders, regionBorders, type BorderState } from '../../engine/cluster/borders.js';
import { borderInputs } from '../../service/cluster/regionReplan.js';
import { planNetwork } from '../../engine/plan.js';
import { cityNetworkJson } from './city.js';

const { values } = parseArgs({
  options: {
    signals: { type: 'string', default: '20000' },
    'max-signals': { type: 'string', default: '240' },
    static: { type: 'boolean', default: false },
    'max-rounds': { type: 'string', default: '8' },
    scale: { type: 'string', default: '1' },
  },
});

const log = (line: string): void => console.log(line);
const t0 = performance.now();
const net = loadNetwork(JSON.stringify(cityNetworkJson(Number(values.signals))));
const part = partitionRegions(net, Number(values['max-signals']));
const borders = regionBorders(net, part);
const components = new Map<string, string[]>();
for (const b of borders.values()) components.set(b.component[0]!, [...b.component]);
// Longest chain of leaders: followers after leaders in id order, so one pass in id order.
const depth = new Map<string, number>();
for (const r of [...borders.keys()].sort()) {
  let d = 0;
  for (const e of borders.get(r)!.ends) if (!e.leads) d = Math.max(d, (depth.get(e.otherRegion) ?? 0) + 1);
  depth.set(r, d);
}
const maxDepth = Math.max(0, ...depth.values());
log(
  `city: ${net.intersections.length} signals in ${part.regions.length} regions of at most ${part.maxSignals}; ${part.splitSystems} signal systems cut; ${part.borderLinks.length} border links; ${borders.size} regions with border links in ${components.size} components (sizes ${[...components.values()].map((c) => c.length).join(', ')}); longest chain of leaders ${maxDepth}, so at most ${2 + maxDepth} rounds to settle and one more to see it (${Math.round(performance.now() - t0)} ms)`,
);
if (values.static) process.exit(0);

const ids = [...borders.keys()].sort();
const compiled = new Map(ids.map((r) => [r, compileNetwork(regionNetwork(net, part.regions.find((x) => x.id === r)!))]));
// bench/cluster/controllers.ts's counts (round 0): vehicles per 15 minutes by signal and detector, times --scale.
const volumes = new Map(
  ids.map((r) => {
    const c = compiled.get(r)!;
    const v = new Float64Array(c.detectorIds.length);
    c.network.intersections.forEach((x) => {
      (x.detectors ?? []).forEach((d, k) => {
        v[c.detectorIds.indexOf(d.id)] = (20 + ((x.id.length * 7 + k * 13) % 60)) * Number(values.scale);
      });
    });
    return [r, v];
  }),
);

// CPU time of this process, ms: on the shared machine wall time mostly measures the others' load.
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let aloneMs = 0;
let aloneCpuMs = 0;
for (const r of ids) {
  const t = performance.now();
  const cpu = cpuMs();
  planNetwork(compiled.get(r)!, volumes.get(r)!, 900);
  aloneMs += performance.now() - t;
  aloneCpuMs += cpuMs() - cpu;
}
log(`coordinated re-plan of the ${ids.length} regions with border links, each alone: ${Math.round(aloneMs)} ms wall, ${Math.round(aloneCpuMs)} ms CPU (${Math.round(aloneCpuMs / ids.length)} ms CPU per region)`);

let states = new Map<string, BorderState>();
let firstStates = states;
// What each region was last planned on (the nodes' rule: regionReplan.ts's borderInputs).
const inputs = new Map<string, string>();
let settled = false;
let totalMs = 0;
let totalCpuMs = 0;
for (let round = 1; round <= Number(values['max-rounds']) && !settled; round++) {
  const next = new Map(states);
  let planned = 0;
  let changed = 0;
  let atCommon = 0;
  let waiting = 0;
  let bandS = 0;
  let bandBeforeS = 0;
  const t = performance.now();
  const cpu = cpuMs();
  for (const r of ids) {
    const own = states.get(r)?.needCycleS;
    if (round > 1 && own !== undefined && inputs.get(r) === borderInputs(borders.get(r)!, states, own)) continue;
    const out = planRegionAtBorders(compiled.get(r)!, volumes.get(r)!, 900, borders.get(r)!, states);
    inputs.set(r, borderInputs(borders.get(r)!, states, out.state.needCycleS));
    planned++;
    if (out.report.replanned) atCommon++;
    waiting += out.report.waiting;
    bandS += out.report.bandS;
    bandBeforeS += out.report.bandBeforeS;
    if (JSON.stringify(out.state) !== JSON.stringify(states.get(r))) changed++;
    next.set(r, out.state);
  }
  const ms = performance.now() - t;
  const roundCpuMs = cpuMs() - cpu;
  totalMs += ms;
  totalCpuMs += roundCpuMs;
  states = next;
  if (round === 1) firstStates = next;
  settled = changed === 0;
  log(`round ${round}: ${planned} regions planned (${atCommon} a second time at the common cycle), ${changed} states changed, ${waiting} border links waiting for a leader, band over followed links ${bandS.toFixed(1)} s (unshifted ${bandBeforeS.toFixed(1)} s), ${Math.round(ms)} ms wall, ${Math.round(roundCpuMs)} ms CPU`);
}
// The band over every border link as the final states give it (both ends' windows), against
// the same links before any shift (round 1's states: each region planned alone).
const finalBand = (s: ReadonlyMap<string, BorderState>): { bandS: number; sameCycle: number } => {
  let bandS = 0;
  let sameCycle = 0;
  for (const l of part.borderLinks) {
    const from = s.get(l.fromRegion)?.windows.find((w) => w.linkId === l.linkId);
    const to = s.get(l.toRegion)?.windows.find((w) => w.linkId === l.linkId);
    const e = borders.get(l.toRegion)!.ends.find((x) => x.linkId === l.linkId)!;
    if (!from || !to || from.cycleS !== to.cycleS) continue;
    sameCycle++;
    bandS += borderBandS(from, to, e.travelS, from.cycleS);
  }
  return { bandS, sameCycle };
};
const end = finalBand(states);
const start = finalBand(firstStates);
log(`band over the ${part.borderLinks.length} border links: ${end.bandS.toFixed(1)} s in all (${(end.bandS / part.borderLinks.length).toFixed(1)} s per link), ${end.sameCycle} links with one cycle at both ends; each region planned alone (round 1): ${start.bandS.toFixed(1)} s over the ${start.sameCycle} links whose ends happened to run one cycle`);
const cycles = [...components.values()].map((comp) => [...new Set(comp.map((r) => states.get(r)!.cycleS))].join('/'));
log(`${settled ? 'settled' : 'NOT settled'}; border re-plans ${Math.round(totalMs)} ms wall, ${Math.round(totalCpuMs)} ms CPU in all: ${(totalCpuMs / aloneCpuMs).toFixed(2)}× the CPU of the regions' re-plans alone; common cycle per component: ${cycles.join(', ')} s`);
