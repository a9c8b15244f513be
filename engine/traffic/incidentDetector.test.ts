/**
 * The incident detector's state machine on the demo city's loop layout, fed
 * hand-made 30 s samples: a lane that stops counting while its siblings go on
 * is declared after the persistence, located, and cleared when it flows
 * again; a lane merely less used, or too little traffic to judge, raises
 * nothing; calibration lifts a station's threshold above what its loop did
 * without an incident.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork } from '../network/validate.js';
import { compileNetwork, type CompiledNetwork } from '../network/compile.js';
import { OptionError } from '../errors.js';
import { incidentLayout, type IncidentLayout } from './incidentLayout.js';
import { IncidentDetector, INCIDENT_DEFAULTS, type IncidentEvent } from './incidentDetector.js';
import { alarmLevels, calibrateRunThresholds, calibrateThresholds, emptyProfile, laneRatios, runLevels, type SampleSeries } from './incidentCalibration.js';

let c: CompiledNetwork;
let layout: IncidentLayout;
const SAMPLE_S = 30;

beforeAll(() => {
  c = compileNetwork(loadNetwork(readFileSync(new URL('../../examples/demo-city/network.json', import.meta.url), 'utf8')));
  layout = incidentLayout(c);
});

const det = (id: string) => c.detectorIds.indexOf(id);

/**
 * A 30 s sample on a 90 s cycle: during the 30 s green every loop counts `perGreen` and is
 * 40 % occupied; during red, stop-line loops stand occupied (90 %), advance loops 10 %.
 * `lane` overrides some loops' count and occupancy.
 */
function sample(k: number, perGreen: number, lane: Record<string, [number, number]> = {}): [Float64Array, Float64Array] {
  const nd = c.detectorIds.length;
  const counts = new Float64Array(nd);
  const occ = new Float64Array(nd);
  const green = k % 3 === 0;
  for (let d = 0; d < nd; d++) {
    counts[d] = green ? perGreen : 0;
    occ[d] = green ? 40 : c.detectorKind[d] === 0 ? 90 : 10;
  }
  for (const [id, [q, o]] of Object.entries(lane)) {
    counts[det(id)] = green ? q : 0;
    occ[det(id)] = o;
  }
  return [counts, occ];
}

function feed(d: IncidentDetector, from: number, to: number, perGreen: number, lane: Record<string, [number, number]> = {}): IncidentEvent[] {
  const out: IncidentEvent[] = [];
  for (let k = from; k < to; k++) out.push(...d.push((k + 1) * SAMPLE_S, ...sample(k, perGreen, lane)));
  return out;
}

describe('incident layout', () => {
  it('pairs each loop with the same kind of loop in the other lanes of its approach that share a movement', () => {
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    expect(s).toBeGreaterThanOrEqual(0);
    const sibs = [...layout.siblings.subarray(layout.siblingStart[s]!, layout.siblingStart[s + 1]!)].map((e) => c.detectorIds[e]);
    expect(sibs.sort()).toEqual(['I3-EB-3-S', 'I3-EB-4-S']);
    expect(layout.linkIds[layout.stationLink[s]!]).toBe('I3-EB');
    expect(layout.networkLinkIds[layout.stationLink[s]!]).toBe('L-I2-I3');
    // A left-turn bay alone for its movement is not monitored.
    expect([...layout.stationDetector]).not.toContain(det('I3-EB-1-S'));
    expect(layout.stationSolo.every((x) => x === 0)).toBe(true);
  });

  it('asked for solo stations, monitors such a lane against the other same-kind loops of its approach', () => {
    const solo = incidentLayout(c, { solo: true });
    const s = [...solo.stationDetector].indexOf(det('I3-EB-1-S'));
    expect(s).toBeGreaterThanOrEqual(0);
    expect(solo.stationSolo[s]).toBe(1);
    const refs = [...solo.siblings.subarray(solo.siblingStart[s]!, solo.siblingStart[s + 1]!)].map((e) => c.detectorIds[e]);
    expect(refs.sort()).toEqual(['I3-EB-2-S', 'I3-EB-3-S', 'I3-EB-4-S']);
    // The stations with siblings are the same, with the same siblings.
    const kept = [...solo.stationDetector].filter((_, k) => solo.stationSolo[k] === 0);
    expect(kept).toEqual([...layout.stationDetector]);
    // Only the missed-volume run judges it: the bay empty while its references count does not
    // raise the window test or the empty-lane run, and does raise the missed-volume run.
    const quiet = new IncidentDetector(solo, { runEvidence: 0.5 });
    expect(feed(quiet, 0, 30, 6, { 'I3-EB-1-S': [0, 0] }).filter((e) => e.detectorId === 'I3-EB-1-S')).toEqual([]);
    const ratios = new Float64Array(solo.stationCount).fill(0.5);
    const missed = new IncidentDetector(solo, { runEvidence: Number.POSITIVE_INFINITY, minSiblingVeh: 1e9 }, undefined, undefined, Float64Array.from(solo.stationSolo, (x) => (x === 1 ? 8 : Number.POSITIVE_INFINITY)));
    missed.setLaneRatios(ratios);
    expect(feed(missed, 0, 12, 6, { 'I3-EB-1-S': [0, 0] }).map((e) => [e.kind, e.detectorId])).toEqual([['start', 'I3-EB-1-S']]);
    expect(() => new IncidentDetector(solo, {}, undefined, undefined, new Float64Array(2))).toThrow(/missedThresholds/);
  });
});

describe('incident detector', () => {
  it('declares a lane that stops counting after the persistence, says where, and clears it when it flows again', () => {
    const d = new IncidentDetector(layout);
    expect(feed(d, 0, 12, 6)).toEqual([]);
    // From sample 12 the lane's stop-line loop sees nothing: the obstacle is upstream of it.
    const starts = feed(d, 12, 24, 6, { 'I3-EB-2-S': [0, 0] });
    expect(starts).toHaveLength(1);
    const e = starts[0]!;
    expect(e).toMatchObject({ kind: 'start', linkId: 'I3-EB', networkLinkId: 'L-I2-I3', detectorId: 'I3-EB-2-S', where: 'upstream' });
    expect(e.confidence).toBeGreaterThan(0.5);
    expect(e.confidence).toBeLessThanOrEqual(1);
    // The window (4 samples) must first fill with the starved lane's samples, then persist 2 more judged samples.
    expect(e.tS).toBeGreaterThan(12 * SAMPLE_S);
    expect(e.tS).toBeLessThanOrEqual((12 + INCIDENT_DEFAULTS.windowSamples + INCIDENT_DEFAULTS.persistence + 1) * SAMPLE_S);
    expect(d.activeLinks().map((l) => layout.linkIds[l])).toEqual(['I3-EB']);
    const clears = feed(d, 24, 40, 6);
    expect(clears).toHaveLength(1);
    expect(clears[0]).toMatchObject({ kind: 'clear', linkId: 'I3-EB' });
    expect(d.activeLinks()).toEqual([]);
  });

  it('locates an obstacle downstream of the loop by the queue standing on it', () => {
    const d = new IncidentDetector(layout);
    feed(d, 0, 8, 6);
    const ev = feed(d, 8, 20, 6, { 'I3-EB-2-A': [0, 100] });
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ kind: 'start', detectorId: 'I3-EB-2-A', where: 'downstream' });
  });

  it('raises nothing for a lane merely less used, or with too little traffic to judge', () => {
    const d = new IncidentDetector(layout);
    // Half its siblings' flow, ordinary occupancy: neither empty nor standing.
    expect(feed(d, 0, 40, 6, { 'I3-EB-2-S': [3, 40] })).toEqual([]);
    // One vehicle per green in the siblings: below minSiblingVeh over a 4-sample window, no verdict
    // (the empty-lane run off).
    const quiet = new IncidentDetector(layout, { runEvidence: Number.POSITIVE_INFINITY });
    expect(feed(quiet, 0, 40, 1, { 'I3-EB-2-S': [0, 0] })).toEqual([]);
    // No traffic on the approach at all: the lane's empty loop is no evidence.
    const none = new IncidentDetector(layout);
    const zeros = new Float64Array(c.detectorIds.length);
    for (let k = 0; k < 60; k++) expect(none.push((k + 1) * SAMPLE_S, zeros, zeros)).toEqual([]);
    expect(Math.max(...none.runLevel)).toBe(0);
  });

  it('declares a quiet lane that stays empty while its siblings queue at every red (the empty-lane run), and clears it when it counts again', () => {
    const d = new IncidentDetector(layout);
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    // One vehicle per green in the siblings, 90 % occupied through red: each cycle of 3 samples adds
    // 0.9 + 0.9 + (0.4 + 1/3) to the run of a lane whose loop stays empty.
    const perCycle = 0.9 + 0.9 + 0.4 + 1 / 3;
    const samplesNeeded = Math.ceil((INCIDENT_DEFAULTS.runEvidence / perCycle) * 3);
    const end = samplesNeeded + 4;
    const ev = feed(d, 0, end, 1, { 'I3-EB-2-S': [0, 0] });
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ kind: 'start', detectorId: 'I3-EB-2-S', where: 'upstream' });
    expect(ev[0]!.tS).toBeGreaterThanOrEqual(samplesNeeded * SAMPLE_S);
    expect(ev[0]!.tS).toBeLessThanOrEqual((samplesNeeded + 2) * SAMPLE_S);
    expect(d.runLevel[s]).toBeGreaterThan(INCIDENT_DEFAULTS.runEvidence);
    // The lane counts in two samples in a row: cleared, though the siblings never give the window a verdict.
    const nd = c.detectorIds.length;
    const q = new Float64Array(nd).fill(1);
    const o = new Float64Array(nd).fill(20);
    expect(d.push((end + 1) * SAMPLE_S, q, o)).toEqual([]);
    expect(d.push((end + 2) * SAMPLE_S, q, o).map((e) => e.kind)).toEqual(['clear']);
  });

  it('weighs an empty spell against the lane\'s own profile when it has one', () => {
    const n = layout.stationCount;
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    // A lane empty in 1 of 2 samples while its siblings queue: each such sample adds ln 2 only.
    const atRed = new Float64Array(n).fill(0.5);
    const otherwise = new Float64Array(n).fill(0.5);
    const d = new IncidentDetector(layout, { runEvidence: 100 });
    d.setEmptyProfile({ atRed, otherwise });
    feed(d, 0, 9, 1, { 'I3-EB-2-S': [0, 0] });
    expect(d.runLevel[s]).toBeCloseTo(9 * Math.LN2, 9);
    expect(() => d.setEmptyProfile({ atRed: new Float64Array(2), otherwise })).toThrow(/profile/);
  });

  it('takes per-station thresholds from incident-free samples, above what each loop did there', () => {
    const nd = c.detectorIds.length;
    const rows = 60;
    const countVeh = new Float64Array(rows * nd);
    const occupancyPct = new Float64Array(rows * nd);
    for (let k = 0; k < rows; k++) {
      // I3-EB-2-S often runs nearly empty without an incident (a lane drivers avoid).
      const [q, o] = sample(k, 6, { 'I3-EB-2-S': [1, 5] });
      countVeh.set(q, k * nd);
      occupancyPct.set(o, k * nd);
    }
    const series: SampleSeries = { samples: rows, countVeh, occupancyPct, sampleS: SAMPLE_S };
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    const other = [...layout.stationDetector].indexOf(det('I3-EB-3-S'));
    const level = alarmLevels(layout, {}, [series]);
    expect(level[s]).toBeCloseTo(1 - 1 / 6, 6);
    const th = calibrateThresholds(layout, {}, [series], 0.05);
    expect(th[s]).toBeCloseTo(Math.min(1, 1 - 1 / 6 + 0.05), 6);
    expect(th[other]).toBe(INCIDENT_DEFAULTS.flowDeficit);
    // With it, the same pattern no longer alarms; a full stop still does.
    const d = new IncidentDetector(layout, {}, th);
    expect(feed(d, 0, 40, 6, { 'I3-EB-2-S': [1, 5] })).toEqual([]);
    expect(feed(d, 40, 60, 6, { 'I3-EB-2-S': [0, 0] }).map((e) => e.kind)).toEqual(['start']);
  });

  it('calibrates the empty-lane run and the profile on incident-free samples', () => {
    const nd = c.detectorIds.length;
    const rows = 30;
    const countVeh = new Float64Array(rows * nd);
    const occupancyPct = new Float64Array(rows * nd);
    for (let k = 0; k < rows; k++) {
      // I3-EB-2-S empty for one whole cycle in every two (samples 0–2 of each 6), used the other.
      const [q, o] = sample(k, 6, k % 6 < 3 ? { 'I3-EB-2-S': [0, 0] } : {});
      countVeh.set(q, k * nd);
      occupancyPct.set(o, k * nd);
    }
    const series: SampleSeries = { samples: rows, countVeh, occupancyPct, sampleS: SAMPLE_S };
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    const other = [...layout.stationDetector].indexOf(det('I3-EB-3-S'));
    // The longest run: a green sample (0.4 + 6/3) and two red ones (0.9 each).
    expect(runLevels(layout, {}, [series])[s]).toBeCloseTo(0.4 + 2 + 0.9 + 0.9, 9);
    const th = calibrateRunThresholds(layout, {}, [series], 1.1, 2);
    expect(th[s]).toBeCloseTo(1.1 * (0.4 + 2 + 1.8), 9);
    expect(th[other]).toBe(2);
    // Empty in 10 of the 20 red samples and 5 of the 10 green ones: add-half shares.
    const p = emptyProfile(layout, {}, [series]);
    expect(p.atRed[s]).toBeCloseTo((10 + 0.5) / (20 + 1), 9);
    expect(p.otherwise[s]).toBeCloseTo((5 + 0.5) / (10 + 1), 9);
    // I3-EB-3-S is never empty; its siblings' mean is below 50 % at the reds when EB-2 is empty (10 of 20).
    expect(p.atRed[other]).toBeCloseTo(0.5 / 11, 9);
    expect(p.otherwise[other]).toBeCloseTo(0.5 / 21, 9);
  });

  it('the missed-volume run: a stop-line loop empty while it was expected to count its share of its siblings\' vehicles', () => {
    const s = [...layout.stationDetector].indexOf(det('I3-EB-2-S'));
    const adv = [...layout.stationDetector].indexOf(det('I3-EB-2-A'));
    // The lane counts half its siblings' vehicles (3 a green against 6): the online ratio learns 0.5, shrunk by the prior.
    // The window test and the empty-lane run off (no sibling count is ever enough for a verdict).
    const off = { runEvidence: Number.POSITIVE_INFINITY, minSiblingVeh: 1e9 };
    const d = new IncidentDetector(layout, { ...off, missedVeh: 8, ratioPriorVeh: 0, ratioHorizonS: 1e9 });
    expect(feed(d, 0, 30, 6, { 'I3-EB-2-S': [3, 40] })).toEqual([]);
    expect(d.laneRatio(s)).toBeCloseTo(0.5, 9);
    // Then it stops counting: each green adds 0.5 × 6 = 3 expected vehicles (the reds add none, κ 0):
    // past 8 at the third green (samples 30, 33, 36), declared with sample 36, which ends at 37 × 30 s.
    const ev = feed(d, 30, 40, 6, { 'I3-EB-2-S': [0, 0] });
    expect(ev.map((e) => [e.kind, e.detectorId, e.where, e.tS])).toEqual([['start', 'I3-EB-2-S', 'upstream', 37 * SAMPLE_S]]);
    expect(d.missedLevel[s]).toBeCloseTo(12, 9); // the run goes on through the incident: 4 greens
    // Advance loops are left to the window test (the upstream junction's platoons fill lanes unevenly).
    expect(d.missedLevel[adv]).toBe(0);
    // The siblings' standing queue at red counts with missedOccWeight: 0.5 × (6 + 1 × 0.4) at green, 0.5 × 0.9 at red.
    const k = new IncidentDetector(layout, { ...off, missedVeh: 100, missedOccWeight: 1 });
    k.setLaneRatios(new Float64Array(layout.stationCount).fill(0.5));
    feed(k, 0, 6, 6, { 'I3-EB-2-S': [0, 0] });
    expect(k.missedLevel[s]).toBeCloseTo(2 * 0.5 * (6 + 0.4) + 4 * 0.5 * 0.9, 9);
    // A lane its drivers never use (ratio 0) raises nothing however long it stays empty.
    const never = new IncidentDetector(layout, { ...off, missedVeh: 1 });
    never.setLaneRatios(new Float64Array(layout.stationCount));
    expect(feed(never, 0, 60, 6, { 'I3-EB-2-S': [0, 0] })).toEqual([]);
    expect(() => never.setLaneRatios(new Float64Array(2))).toThrow(/ratio/);
    expect(() => new IncidentDetector(layout, { missedVeh: 0 })).toThrow(/params.missedVeh/);
  });

  it('calibrates the lane ratios on incident-free samples', () => {
    const nd = c.detectorIds.length;
    const rows = 30;
    const countVeh = new Float64Array(rows * nd);
    const occupancyPct = new Float64Array(rows * nd);
    for (let k = 0; k < rows; k++) {
      const [q, o] = sample(k, 6, { 'I3-EB-2-S': [2, 30] });
      countVeh.set(q, k * nd);
      occupancyPct.set(o, k * nd);
    }
    const r = laneRatios(layout, [{ samples: rows, countVeh, occupancyPct, sampleS: SAMPLE_S }]);
    expect(r[[...layout.stationDetector].indexOf(det('I3-EB-2-S'))]).toBeCloseTo(2 / 6, 9);
    // I3-EB-3-S against EB-2 (2) and EB-4 (6): 6 / 4.
    expect(r[[...layout.stationDetector].indexOf(det('I3-EB-3-S'))]).toBeCloseTo(6 / 4, 9);
  });

  it('rejects bad settings with the field path', () => {
    expect(() => new IncidentDetector(layout, { windowSamples: 0 })).toThrow(OptionError);
    expect(() => new IncidentDetector(layout, { flowDeficit: 1.5 })).toThrow(/params.flowDeficit/);
    expect(() => new IncidentDetector(layout, {}, new Float64Array(3))).toThrow(/thresholds/);
    expect(() => new IncidentDetector(layout, {}, undefined, new Float64Array(3))).toThrow(/runThresholds/);
    expect(() => new IncidentDetector(layout, { runEvidence: 0 })).toThrow(/params.runEvidence/);
    expect(() => new IncidentDetector(layout).push(30, new Float64Array(2), new Float64Array(2))).toThrow(/sample/);
  });
});
