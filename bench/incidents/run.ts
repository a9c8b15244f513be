/**
 * bench/incidents: lane-blocking incidents injected in the simulator (demo
 * city, seeded lane, position, start, duration and demand level) and the
 * incident detector (engine/traffic/incidentDetector.ts) tuned on one fixed
 * seed set and scored on a held-out one: detection rate within 3 minutes,
 * mean time to detect, false alarms per detector-day (incident-free runs),
 * time to clear. Run: `npm run bench:incidents` (about 5 minutes on one core).
 *
 * Two stages, both on the tuning half only: the window test's grid (the empty-lane run off),
 * then, with its setting, the empty-lane run's (profile-free with three vehicle weights, or
 * against the lanes' own empty-loop profile per demand level, taken from the tuning half's
 * incident-free runs; emptiness level, threshold margin and floor), the run off among them.
 */
import { alarmLevels, calibrateThresholds, emptyProfile, laneRatios, runLevels } from '../../engine/traffic/incidentCalibration.js';
import type { EmptyProfile, IncidentParams } from '../../engine/traffic/incidentDetector.js';
import { calibrateStations, calibratedIncidentParams, uncalibratedIncidentParams } from '../../service/incidentCalibration.js';
import { CALIBRATION_FREE_SEEDS, coarser, FREE_SEEDS_PER_HALF, HELDOUT_SEEDS, LEVELS, loadCity, record, SAMPLE_S, scenarioOf, score, TUNING_SEEDS, type Recorded, type RunSetting, type Score } from './scenarios.js';

const t0 = performance.now();
const city = loadCity();
const rec = (seeds: readonly number[], incident: boolean): Recorded[] =>
  seeds.map((seed) => {
    const scenario = scenarioOf(city, seed, incident);
    return { scenario, series: record(city, scenario) };
  });
const tuneInc = rec(TUNING_SEEDS, true);
const tuneFree = rec(TUNING_SEEDS.slice(0, FREE_SEEDS_PER_HALF), false);
// The tuning half's incident-free hours for calibration and the later stages' false alarms: the
// 24 above and 48 more (the thresholds sit just above the longest incident-free runs, and a
// longest run in 24 hours is a thin sample of it; in a city, three days of loop data).
const tuneCal = [...tuneFree, ...rec(CALIBRATION_FREE_SEEDS.slice(FREE_SEEDS_PER_HALF), false)];
// INCIDENTS_TUNING_ONLY=1: the tuning stages only, the held-out half neither simulated nor scored.
const tuningOnly = process.env['INCIDENTS_TUNING_ONLY'] === '1';
const heldInc = tuningOnly ? [] : rec(HELDOUT_SEEDS, true);
const heldFree = tuningOnly ? [] : rec(HELDOUT_SEEDS.slice(0, FREE_SEEDS_PER_HALF), false);
const simS = (performance.now() - t0) / 1000;
console.log(`stations ${city.layout.stationCount} on ${city.layout.linkIds.length} links; simulated in ${simS.toFixed(0)} s`);

// Grid search on the tuning half: the most detections within 3 minutes with at most 0.5 false
// alarms per detector-day (half the acceptance's limit, for the held-out half's sake).
let best: { params: Partial<IncidentParams>; margin: number; s: Score } | undefined;
const FA_LIMIT = 0.5;
for (const windowSamples of [3, 4, 5])
  for (const persistence of [1, 2, 3])
    for (const minSiblingVeh of [2, 3, 4, 6])
      for (const emptyOccRatio of [0.2, 0.35])
        for (const standingOccPct of [50, 70])
          for (const flowDeficit of [0.7, 0.85]) {
            const params = { windowSamples, persistence, minSiblingVeh, emptyOccRatio, standingOccPct, flowDeficit, runEvidence: Number.POSITIVE_INFINITY };
            const level = alarmLevels(city.layout, params, tuneFree.map((r) => r.series));
            for (const margin of [0, 0.05, 0.1]) {
              // As calibrateThresholds does, from the levels computed once for the three margins.
              const th = Float64Array.from(level, (x) => Math.min(1, Math.max(flowDeficit, x + margin)));
              const s = score(city.layout, params, th, tuneInc, tuneFree);
              if (s.falseAlarmsPerDetectorDay > FA_LIMIT) continue;
              // Most detections; on a tie fewer false alarms, then sooner.
              const better =
                best === undefined ||
                s.detected > best.s.detected ||
                (s.detected === best.s.detected && (s.falseAlarms < best.s.falseAlarms || (s.falseAlarms === best.s.falseAlarms && s.meanDetectS < best.s.meanDetectS)));
              if (better) best = { params, margin, s };
            }
          }
if (best === undefined) throw new Error('no setting meets the false alarm limit on the tuning seeds');
const th = calibrateThresholds(city.layout, best.params, tuneCal.map((r) => r.series), best.margin);
console.log(`window test chosen: ${JSON.stringify(best.params)}, margin ${best.margin}; tuning ${best.s.detected}/${best.s.incidents} within 3 min at ${best.s.falseAlarmsPerDetectorDay.toFixed(2)} false alarms per detector-day`);

// Stage 2: the empty-lane run, with the window test as chosen. Its thresholds sit just above the
// longest run each loop made without an incident, which 24 hours barely sample: calibrated on all
// the tuning half's incident-free runs they raise no false alarm there by construction. So its false
// alarms are counted by 2-fold cross-validation within the tuning half (calibrated, the FDF
// thresholds and the profiles too, on half the incident-free runs, two of each demand level,
// counted on the other half, and the other way round); its detections with the thresholds of all.
interface RunChoice {
  readonly params: Partial<IncidentParams>;
  readonly run: RunSetting | undefined;
  readonly name: string;
  readonly s: Score;
  /** Cross-validated false alarms per detector-day. */
  readonly cvFa: number;
}
const folds = [0, 1].map((f) => tuneCal.filter((_, k) => Math.floor(k / LEVELS.length) % 2 === f));
const foldTh = folds.map((fold) => calibrateThresholds(city.layout, best.params, fold.map((r) => r.series), best.margin));
const profilesOf = (params: Partial<IncidentParams>, runs: readonly Recorded[]) => {
  const m = new Map<string, EmptyProfile>(LEVELS.map((l) => [l, emptyProfile(city.layout, params, runs.filter((r) => r.scenario.level === l).map((r) => r.series))]));
  return (l: string) => m.get(l)!;
};
/**
 * Calibrates on `cal` and scores incident runs `inc` and incident-free runs `free` with a run
 * setting (undefined: off). With a finite `missedVeh` in `params`, the missed-volume run's lane
 * ratios are calibrated on `cal` too.
 */
const withRun = (params: Partial<IncidentParams>, mode: 'off' | 'siblings' | 'profile', margin: number, floor: number, fdfTh: Float64Array, cal: readonly Recorded[], inc: readonly Recorded[], free: readonly Recorded[]): { s: Score; run: RunSetting | undefined } => {
  const ratios = Number.isFinite(params.missedVeh ?? Number.POSITIVE_INFINITY) ? { laneRatios: laneRatios(city.layout, cal.map((r) => r.series)) } : {};
  if (mode === 'off') {
    const run: RunSetting | undefined = ratios.laneRatios ? { thresholds: new Float64Array(city.layout.stationCount).fill(Number.POSITIVE_INFINITY), ...ratios } : undefined;
    return { s: score(city.layout, params, fdfTh, inc, free, run), run };
  }
  const profileOf = mode === 'profile' ? profilesOf(params, cal) : undefined;
  const levels = runLevels(city.layout, params, cal.map((r) => r.series), profileOf ? cal.map((r) => profileOf(r.scenario.level)) : undefined);
  const run: RunSetting = { thresholds: Float64Array.from(levels, (x) => Math.max(floor, x * margin)), ...(profileOf ? { profileOf } : {}), ...ratios };
  return { s: score(city.layout, params, fdfTh, inc, free, run), run };
};
const cvFaOf = (params: Partial<IncidentParams>, mode: 'off' | 'siblings' | 'profile', margin: number, floor: number): number => {
  let fa = 0;
  let days = 0;
  for (const f of [0, 1]) {
    const { s } = withRun(params, mode, margin, floor, foldTh[f]!, folds[f]!, [], folds[1 - f]!);
    fa += s.falseAlarms;
    days += s.detectorDays;
  }
  return fa / days;
};
let chosen: RunChoice = { params: best.params, run: undefined, name: 'off', s: best.s, cvFa: cvFaOf(best.params, 'off', 0, 0) };
console.log(`window test alone: cross-validated false alarms ${chosen.cvFa.toFixed(2)} per detector-day`);
let stage2Setting: [number, number] = [0, 0];
// Most detections within 3 minutes; on a tie sooner (a margin below the 3 minutes, which a
// count of 36 does not show), then fewer cross-validated false alarms (all are under FA_LIMIT).
const better = (s: Score, cvFa: number, than: RunChoice) => s.detected > than.s.detected || (s.detected === than.s.detected && (s.meanDetectS < than.s.meanDetectS || (s.meanDetectS === than.s.meanDetectS && cvFa < than.cvFa)));
for (const mode of ['siblings 0', 'siblings 1/3', 'siblings 1', 'profile'] as const)
  for (const emptyOccPct of [1, 5]) {
    const runVehWeight = mode === 'siblings 0' ? 0 : mode === 'siblings 1' ? 1 : 1 / 3;
    for (const margin of [1.05, 1.2, 1.5, 2])
      for (const floor of [2, 4]) {
        const params: Partial<IncidentParams> = { ...best.params, emptyOccPct, runVehWeight, runEvidence: floor };
        const kind = mode === 'profile' ? 'profile' : 'siblings';
        const cvFa = cvFaOf(params, kind, margin, floor);
        if (cvFa > FA_LIMIT) continue;
        const { s, run } = withRun(params, kind, margin, floor, th, tuneCal, tuneInc, tuneCal);
        if (better(s, cvFa, chosen)) {
          chosen = { params, run, name: `${mode}, empty ≤ ${emptyOccPct} %, margin ×${margin}, floor ${floor}`, s, cvFa };
          stage2Setting = [margin, floor];
        }
      }
  }
// Stage 3: the missed-volume run (stop-line loops; one threshold in expected vehicles for every
// loop, the lane ratios calibrated on the incident-free runs), with the empty-lane run as chosen
// and instead of it. Chosen over stage 2's setting only if strictly better by the same rule.
const stage2 = chosen;
let missedAlone: RunChoice | undefined;
for (const withOld of [true, false])
  for (const missedOccWeight of [0, 1, 3])
    for (const missedVeh of [6, 8, 10, 12]) {
      const params: Partial<IncidentParams> = { ...(withOld ? stage2.params : best.params), missedVeh, missedOccWeight, ...(withOld ? {} : { runEvidence: Number.POSITIVE_INFINITY }) };
      const kind = withOld && stage2.run !== undefined ? (stage2.run.profileOf ? 'profile' : 'siblings') : 'off';
      const [margin, floor] = withOld ? stage2Setting : [0, 0];
      const cvFa = cvFaOf(params, kind, margin, floor);
      const { s, run } = withRun(params, kind, margin, floor, th, tuneCal, tuneInc, tuneCal);
      const name = `missed-volume run κ ${missedOccWeight}, ${missedVeh} veh, ${withOld ? 'with' : 'without'} the empty-lane run`;
      console.log(`  ${name}: tuning ${s.detected}/${s.incidents}, mean ${s.meanDetectS.toFixed(0)} s, cross-validated false alarms ${cvFa.toFixed(2)}`);
      if (cvFa > FA_LIMIT) continue;
      if (!withOld && (missedAlone === undefined || better(s, cvFa, missedAlone))) missedAlone = { params, run, name, s, cvFa };
      if (better(s, cvFa, chosen)) chosen = { params, run, name: `${stage2.name}; ${name}`, s, cvFa };
    }
console.log(`chosen: ${chosen.name}; tuning cross-validated false alarms ${chosen.cvFa.toFixed(2)} per detector-day`);
if (tuningOnly) {
  console.log(`tuning ${chosen.s.detected}/${chosen.s.incidents}, mean ${chosen.s.meanDetectS.toFixed(0)} s; total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  process.exit(0);
}
console.log(`window test alone, held out: ${(() => { const h = score(city.layout, best.params, th, heldInc, heldFree); return `${h.detected}/${h.incidents} within 3 min, ${h.falseAlarmsPerDetectorDay.toFixed(2)} false alarms per detector-day`; })()}`);
const held = score(city.layout, chosen.params, th, heldInc, heldFree, chosen.run);
// Declared before the held-out half was scored: the missed-volume run alone (one threshold for
// every loop instead of the empty-lane run's per-loop ones), the best such setting on the tuning half.
if (missedAlone !== undefined) {
  const h = score(city.layout, missedAlone.params, th, heldInc, heldFree, missedAlone.run);
  console.log(`${missedAlone.name}: tuning ${missedAlone.s.detected}/${missedAlone.s.incidents} (cross-validated false alarms ${missedAlone.cvFa.toFixed(2)}), held out ${h.detected}/${h.incidents} within 3 min, mean ${h.meanDetectS.toFixed(0)} s, ${h.falseAlarmsPerDetectorDay.toFixed(2)} false alarms per detector-day`);
}
const tuned = chosen.s;
const row = (name: string, s: Score) =>
  `| ${name} | ${s.incidents} | ${s.detected} | ${(100 * s.detectionRate).toFixed(1)} % | ${s.meanDetectS.toFixed(0)} s | ${s.detectedEver} | ${s.falseAlarms} / ${s.detectorDays.toFixed(1)} | ${s.falseAlarmsPerDetectorDay.toFixed(2)} | ${s.alarmsElsewhere} | ${s.cleared} | ${s.meanClearS.toFixed(0)} s |`;
console.log('| seeds | incidents | detected ≤ 3 min | rate | mean time to detect | detected at all | false alarms / detector-days | per detector-day | alarms on other links | cleared | mean time to clear |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(row('tuning', tuned));
console.log(row('held out', held));
// By road: Renmin Rd's lanes (the arterial, I1–I8 eastbound and westbound) and the side streets.
const arterial = (r: Recorded) => /^I[1-8]-(EB|WB)$/.test(r.scenario.incident!.linkId);
for (const [name, inc] of [['tuning', tuneInc], ['held out', heldInc]] as const) {
  for (const [road, pick] of [['Renmin Rd', arterial], ['side streets', (r: Recorded) => !arterial(r)]] as const) {
    const sub = score(city.layout, chosen.params, th, inc.filter(pick), [], chosen.run);
    console.log(`${name}, ${road}: ${sub.detected} of ${sub.incidents} within 3 min, mean ${sub.meanDetectS.toFixed(0)} s; ${sub.detectedEver} detected at all`);
  }
}
const levels = new Map<string, [number, number]>();
for (const r of heldInc) {
  const sub = score(city.layout, chosen.params, th, [r], [], chosen.run);
  const [d, n] = levels.get(r.scenario.level) ?? [0, 0];
  levels.set(r.scenario.level, [d + sub.detected, n + 1]);
}
console.log(`held out by demand level (time of day of the counts): ${[...levels].map(([l, [d, n]]) => `${l} ${d}/${n}`).join(', ')}`);
// The service's detector while nothing is calibrated (service/trafficState.ts): one threshold for
// every loop, on 30 s samples and on the 60 s of serve's default count interval.
for (const k of [1, 2]) {
  const p = uncalibratedIncidentParams(SAMPLE_S * k);
  for (const [name, inc, free] of [['tuning', tuneInc, tuneFree], ['held out', heldInc, heldFree]] as const) {
    const u = score(city.layout, p, undefined, inc.map((r) => coarser(r, k)), free.map((r) => coarser(r, k)));
    console.log(`service, uncalibrated ${JSON.stringify(p)}, ${SAMPLE_S * k} s samples, ${name}: ${u.detected}/${u.incidents} within 3 min (${(100 * u.detectionRate).toFixed(1)} %), mean ${u.meanDetectS.toFixed(0)} s, ${u.detectedEver} at all; ${u.falseAlarmsPerDetectorDay.toFixed(2)} false alarms per detector-day`);
  }
}
// The service's detector calibrated on the city's own incident-free counts (service/incidentCalibration.ts,
// as `serve` does on its stored counts): here on the tuning half's 72 incident-free hours.
for (const k of [1, 2]) {
  const { thresholds, runThresholds } = calibrateStations(city.layout, SAMPLE_S * k, tuneCal.map((r) => coarser(r, k).series));
  const p = calibratedIncidentParams(SAMPLE_S * k);
  for (const [name, inc, free] of [['tuning', tuneInc, tuneFree], ['held out', heldInc, heldFree]] as const) {
    const u = score(city.layout, p, thresholds, inc.map((r) => coarser(r, k)), free.map((r) => coarser(r, k)), { thresholds: runThresholds });
    console.log(`service, calibrated on the tuning half's 72 h, ${SAMPLE_S * k} s samples, ${name}: ${u.detected}/${u.incidents} within 3 min (${(100 * u.detectionRate).toFixed(1)} %), mean ${u.meanDetectS.toFixed(0)} s, ${u.detectedEver} at all; ${u.falseAlarmsPerDetectorDay.toFixed(2)} false alarms per detector-day${name === 'tuning' ? ' (in-sample)' : ''}`);
  }
}
console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
