/**
 * The console's intersection routes (registered by ./api.ts): one signal's
 * phases and timing in the plan the service runs (ring, barrier, start, green,
 * yellow, all-red, the movements each phase serves), its detectors' health
 * (from the counts collected lately, else the planner's view with what it
 * substituted: ./liveDetectorHealth.ts); and its signal
 * performance measures over a time range, from the controller events the
 * service stored (service/eventService.ts loadLog, the engine's ATSPM measures
 * in engine/measures/: Purdue coordination diagram, arrivals on green, split
 * monitor, split failures), with every cycle's points for the page's charts.
 * Without a storage, or with no events in the range, the answer says so
 * (`available: false` and why) instead of empty series. Viewers may read both.
 */
import { timingPlans } from '../../engine/plan.js';
import { measureContext } from '../../engine/measures/context.js';
import { arrivalsOnGreen, approachDelay, purdueCoordinationDiagram } from '../../engine/measures/pcd.js';
import { SPLIT_FAILURE_THRESHOLD_PCT, splitFailures } from '../../engine/measures/splitFailure.js';
import { splitMonitor, terminationTypes } from '../../engine/measures/splitMonitor.js';
import { loadLog, MAX_MEASURE_RANGE_S } from '../../service/eventService.js';
import { type ConsoleDeps, HttpError, type Route } from './api.js';
import { intersectionHealth, type LiveDetectorHealth } from './liveDetectorHealth.js';

const READERS = ['viewer', 'operator', 'supervisor'] as const;
/** The measures' range when the page names none: the hour before the service's clock. */
export const DEFAULT_MEASURE_WINDOW_S = 3600;
/** At most this many PCD arrivals per phase are sent (the newest); the counts cover them all. */
export const MAX_PCD_POINTS = 20_000;

const r1 = (x: number): number => Math.round(x * 10) / 10;
/** NaN (no cycle to judge) travels as null in JSON. */
const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

export function intersectionRoutes(deps: ConsoleDeps, liveHealth: LiveDetectorHealth): Route[] {
  const { state } = deps;
  const indexOf = (id: string): number => {
    const i = state.c.intersectionIds.indexOf(id);
    if (i < 0) throw new HttpError(404, 'NOT_FOUND', `no intersection "${id}"`);
    return i;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/api\/intersections\/([\w.-]+)$/,
      roles: READERS,
      handle: async ({ params }) => {
        const c = state.c;
        const i = indexOf(params[0]!);
        const ix = c.network.intersections[i]!;
        const tp = timingPlans(c, state.plan.buffer)[i]!;
        const specs = ix.phasing.type === 'stages' ? ix.phasing.stages : ix.phasing.phases;
        const health = intersectionHealth(await liveHealth.current(), ix.id);
        return {
          id: ix.id,
          name: ix.name,
          planId: deps.lifecycle?.inForce ?? null,
          forInterval: state.forInterval,
          phasing: ix.phasing.type,
          cycleS: tp.cycleS,
          offsetS: tp.offsetS,
          rings: c.ringCount[i],
          barriers: c.barrierCount[i],
          phases: tp.phases.map((p) => {
            const spec = specs.find((s) => s.id === p.id);
            return {
              phaseId: p.id,
              ring: p.ring,
              barrier: p.barrier,
              startS: r1(p.startS),
              greenS: r1(p.greenS),
              yellowS: r1(p.yellowS),
              allRedS: r1(p.allRedS),
              minGreenS: p.minGreenS,
              maxGreenS: spec?.maxGreenS ?? null,
              onDemand: p.onDemand,
              protected: spec?.protected ?? [],
              permitted: spec?.permitted ?? [],
            };
          }),
          corridors: c.network.corridors.filter((k) => k.intersections.includes(ix.id)).map((k) => k.id),
          health,
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/intersections\/([\w.-]+)\/measures$/,
      roles: READERS,
      handle: async ({ params, url }) => {
        const c = state.c;
        const i = indexOf(params[0]!);
        const { fromMs, toMs } = measureRange(url, deps.clock());
        if (!deps.storage) return { available: false, reason: 'NO_STORAGE', fromMs, toMs };
        const log = await loadLog(deps.storage, [c.intersectionIds[i]!], fromMs, toMs);
        if (log.length === 0) return { available: false, reason: 'NO_EVENTS', fromMs, toMs };
        const m = measureContext(c, log);
        const phases = [];
        const buf = state.plan.buffer;
        for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
          const pcd = purdueCoordinationDiagram(m, p);
          const sm = splitMonitor(m, p);
          if (pcd.cycles.length === 0 && sm.cycles.length === 0) continue; // a phase the log never ran
          const aog = arrivalsOnGreen(pcd);
          const delay = approachDelay(pcd);
          const sf = splitFailures(m, p);
          const t = terminationTypes(m, p);
          const points: [number, number, 0 | 1 | 2][] = [];
          for (const cy of pcd.cycles) for (const a of cy.arrivals) points.push([cy.startMs, r1(a.inCycleS), a.on === 'green' ? 1 : a.on === 'yellow' ? 2 : 0]);
          phases.push({
            phaseId: c.phaseIds[p],
            phaseNumber: m.numbering.phaseNumber[p],
            plannedSplitS: r1(buf.phaseGreenS[p]! + buf.phaseYellowS[p]! + buf.phaseAllRedS[p]!),
            cycles: pcd.cycles.length,
            arrivals: aog.volume,
            percentArrivalsOnGreen: num(aog.percentArrivalsOnGreen),
            platoonRatio: num(aog.platoonRatio),
            delaySPerVeh: num(delay.averageDelayS),
            splitFailures: sf.failures,
            splitFailureCycles: sf.cycles.length,
            percentSplitFailures: num(sf.percentFailures),
            terminations: { gapOut: t.gapOut, maxOut: t.maxOut, forceOff: t.forceOff, unreported: t.unreported },
            meanSplitS: num(sm.meanSplitS),
            // Per cycle: red start, and green and yellow start after it, s.
            pcdCycles: pcd.cycles.map((cy) => [cy.startMs, r1((cy.greenStartMs - cy.startMs) / 1000), r1((cy.yellowStartMs - cy.startMs) / 1000), r1((cy.endMs - cy.startMs) / 1000)]),
            pcdPoints: points.slice(-MAX_PCD_POINTS),
            splits: sm.cycles.map((cy) => [cy.greenStartMs, r1(cy.splitS), cy.termination]),
            occupancy: sf.cycles.map((cy) => [cy.greenStartMs, r1(cy.greenOccupancyPct), r1(cy.redOccupancyPct), cy.failure ? 1 : 0]),
          });
        }
        return { available: true, fromMs, toMs, events: log.length, thresholdPct: SPLIT_FAILURE_THRESHOLD_PCT, phases };
      },
    },
  ];
}

/** [from, to) in ms from `from`/`to` (epoch ms), else the `windowS` (default an hour) before `nowS`; bounded like GetMeasures. */
function measureRange(url: URL, nowS: number): { fromMs: number; toMs: number } {
  const q = (name: string): number | undefined => {
    const v = url.searchParams.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new HttpError(400, 'INVALID_INPUT', `${name} must be a time in ms since 1970`, [{ path: name, message: 'must be a time in ms since 1970' }]);
    return n;
  };
  const toMs = q('to') ?? Math.round(nowS * 1000);
  const fromMs = q('from') ?? toMs - (q('windowS') ?? DEFAULT_MEASURE_WINDOW_S) * 1000;
  if (!(toMs > fromMs)) throw new HttpError(400, 'INVALID_INPUT', 'to must be after from', [{ path: 'to', message: 'must be after from' }]);
  if (toMs - fromMs > MAX_MEASURE_RANGE_S * 1000) throw new HttpError(400, 'INVALID_INPUT', `the range may span at most ${MAX_MEASURE_RANGE_S} s`, [{ path: 'to', message: `at most ${MAX_MEASURE_RANGE_S} s after from` }]);
  return { fromMs, toMs };
}
