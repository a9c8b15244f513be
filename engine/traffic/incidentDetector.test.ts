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
import { alarmLevels, calibrateThresholds, type SampleSeries } from './incidentCalibration.js';

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
    // One vehicle per green in the siblings: below minSiblingVeh over a 4-sample window, no verdict.
    const quiet = new IncidentDetector(layout);
    expect(feed(quiet, 0, 40, 1, { 'I3-EB-2-S': [0, 0] })).toEqual([]);
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

  it('rejects bad settings with the field path', () => {
    expect(() => new IncidentDetector(layout, { windowSamples: 0 })).toThrow(OptionError);
    expect(() => new IncidentDetector(layout, { flowDeficit: 1.5 })).toThrow(/params.flowDeficit/);
    expect(() => new IncidentDetector(layout, {}, new Float64Array(3))).toThrow(/thresholds/);
    expect(() => new IncidentDetector(layout).push(30, new Float64Array(2), new Float64Array(2))).toThrow(/sample/);
  });
});
