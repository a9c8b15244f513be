/**
 * The live incident detector calibrated on the city's own stored counts (./incidentCalibration.ts):
 * incident-free hours of the demo city from the microsimulator, stored as the count collector
 * stores them (30 s rows in a real SQLite file), read back as complete stretches (gaps, missing
 * loops and known incidents cut them), and then, end to end, `serve` on the demo city's virtual
 * controllers calibrating its detector from that file at start (test/fixtures/controlCentre.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { incidentLayout, type IncidentLayout } from '../engine/traffic/incidentLayout.js';
import { calibrateRunThresholds, calibrateThresholds, type SampleSeries } from '../engine/traffic/incidentCalibration.js';
import type { CompiledNetwork } from '../engine/network/compile.js';
import type { NetworkPlan } from '../engine/plan.js';
import { Simulation } from '../simulator/simulation.js';
import { movementFlowsFromLanes } from '../simulator/demand.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { SqliteStorage } from './storage/sqlite.js';
import type { DetectorCount, Storage } from './storage/storage.js';
import { calibratedIncidentParams, calibrateStations, FDF_MARGIN, readCalibrationSeries, RUN_FLOOR, RUN_MARGIN, uncalibratedIncidentParams } from './incidentCalibration.js';

const SAMPLE_S = 30;
const dir = mkdtempSync(join(tmpdir(), 'gw-incident-cal-'));
let c: CompiledNetwork;
let plan: NetworkPlan;
let layout: IncidentLayout;
/** Three incident-free runs of the demo city at 40, 60 and 90 % of its 08:00 demand, 70 minutes each. */
let runs: SampleSeries[];

/** One incident-free run's loop samples, after 10 minutes of the network filling. */
function simulate(seed: number, scale: number, minutes: number): SampleSeries {
  const flows = movementFlowsFromLanes(c, plan.buffer.laneFlowVehPerH).map((x) => x * scale);
  const sim = new Simulation(c, plan.buffer, { movementFlowVehPerH: flows }, { seed, detectorIntervalS: SAMPLE_S });
  const warm = 600 / SAMPLE_S;
  sim.runUntil(600 + minutes * 60);
  const nd = c.detectorIds.length;
  const samples = sim.closedIntervals - warm;
  const countVeh = new Float64Array(samples * nd);
  const occupancyPct = new Float64Array(samples * nd);
  for (let r = 0; r < samples; r++) {
    const x = sim.detectorCounts(r + warm);
    countVeh.set(x.volumeVeh.subarray(0, nd), r * nd);
    occupancyPct.set(x.occupancyPct.subarray(0, nd), r * nd);
  }
  return { samples, countVeh, occupancyPct, sampleS: SAMPLE_S };
}

/** A series as the count collector stores it: one row per detector per interval from `startMs`, minus `skip` (detector, sample). */
function rowsOf(s: SampleSeries, startMs: number, skip: (d: number, r: number) => boolean = () => false): DetectorCount[] {
  const nd = c.detectorIds.length;
  const rows: DetectorCount[] = [];
  for (let r = 0; r < s.samples; r++)
    for (let d = 0; d < nd; d++) {
      if (skip(d, r)) continue;
      rows.push({ detectorId: c.detectorIds[d]!, intervalStartMs: startMs + r * SAMPLE_S * 1000, intervalS: SAMPLE_S, volumeVeh: s.countVeh[r * nd + d]!, occupancyPct: s.occupancyPct[r * nd + d]! });
    }
  return rows;
}

async function store(storage: Storage, rows: DetectorCount[]): Promise<void> {
  for (let k = 0; k < rows.length; k += 20_000) await storage.insertDetectorCounts({ user: 'greenwave' }, rows.slice(k, k + 20_000));
}

/** Samples [from, to) of a series. */
function slice(s: SampleSeries, from: number, to: number): SampleSeries {
  const nd = c.detectorIds.length;
  return { samples: to - from, countVeh: s.countVeh.slice(from * nd, to * nd), occupancyPct: s.occupancyPct.slice(from * nd, to * nd), sampleS: s.sampleS };
}

beforeAll(() => {
  ({ c, plan } = demo());
  layout = incidentLayout(c);
  runs = [simulate(21, 0.4, 70), simulate(22, 0.6, 70), simulate(23, 0.9, 70)];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR_MS = 3_600_000;
const DAY0_MS = Date.UTC(2026, 11, 1);

describe('reading the stored counts', () => {
  let storage: SqliteStorage;
  beforeAll(async () => {
    storage = await SqliteStorage.open({ path: join(dir, 'read.db') });
  });
  afterAll(async () => storage?.close());

  test('complete stretches read back as stored; a gap, a missing monitored loop and a known incident cut them; an unmonitored loop does not', async () => {
    const nd = c.detectorIds.length;
    const monitored = new Set<number>([...layout.stationDetector, ...layout.siblings]);
    const unmonitored = c.detectorIds.findIndex((_, d) => !monitored.has(d));
    expect(unmonitored).toBeGreaterThanOrEqual(0); // a lane without a sibling (a left-turn bay)
    const station = layout.stationDetector[0]!;
    const [a, b, d3] = runs as [SampleSeries, SampleSeries, SampleSeries];
    // Run a at 01:00, one monitored loop missing at its sample 50 and an unmonitored one at sample 80;
    // run b at 03:00 (a gap after a); run c at 05:00 with an incident known from sample 60 to 70.
    await store(storage, rowsOf(a, DAY0_MS + HOUR_MS, (d, r) => (d === station && r === 50) || (d === unmonitored && r === 80)));
    await store(storage, rowsOf(b, DAY0_MS + 3 * HOUR_MS));
    await store(storage, rowsOf(d3, DAY0_MS + 5 * HOUR_MS));
    // Five samples at midnight: a stretch too short for the detector's window, dropped (and not in the range read).
    await store(storage, rowsOf(slice(b, 0, 5), DAY0_MS));
    // Counts of another interval length (rolled up) are not read.
    await store(storage, [{ detectorId: c.detectorIds[0]!, intervalStartMs: DAY0_MS + 2 * HOUR_MS, intervalS: 900, volumeVeh: 10, occupancyPct: 5 }]);
    const incidentMs = DAY0_MS + 5 * HOUR_MS + 60 * SAMPLE_S * 1000;
    const read = await readCalibrationSeries(storage, layout, { fromMs: DAY0_MS, toMs: DAY0_MS + 86_400_000, sampleS: SAMPLE_S, excluded: [{ fromMs: incidentMs, toMs: incidentMs + 10 * SAMPLE_S * 1000 }] });
    expect(read.incomplete).toBe(1);
    expect(read.nearIncident).toBe(10);
    const expected = [slice(a, 0, 50), slice(a, 51, a.samples), b, slice(d3, 0, 60), slice(d3, 70, d3.samples)];
    expect(read.series.map((s) => s.samples)).toEqual(expected.map((s) => s.samples));
    read.series.forEach((s, k) => {
      const e = expected[k]!;
      // The unmonitored loop's missing row reads as 0 (it is never judged).
      const want = Float64Array.from(e.countVeh, (x, i) => (k === 1 && i === (80 - 51) * nd + unmonitored ? 0 : x));
      expect(s.countVeh).toEqual(want);
      expect(s.occupancyPct.length).toBe(e.occupancyPct.length);
    });
    expect(read.samples).toBe(a.samples - 1 + b.samples + d3.samples - 10);
    expect(read.fromMs).toBe(DAY0_MS + HOUR_MS);
    expect(read.toMs).toBe(DAY0_MS + 5 * HOUR_MS + (d3.samples - 1) * SAMPLE_S * 1000);
  });

  test('the stations calibrated as the incident benchmark calibrates them, and not all at the one threshold', () => {
    const { thresholds, runThresholds } = calibrateStations(layout, SAMPLE_S, runs);
    const params = calibratedIncidentParams(SAMPLE_S);
    expect(thresholds).toEqual(calibrateThresholds(layout, params, runs, FDF_MARGIN));
    expect(runThresholds).toEqual(calibrateRunThresholds(layout, params, runs, RUN_MARGIN, RUN_FLOOR));
    // Calibrated, most quiet loops sit at the floor below the one threshold (0.9 at 30 s), a few above it.
    const one = uncalibratedIncidentParams(SAMPLE_S).flowDeficit!;
    const below = [...thresholds].filter((x) => x < one).length;
    expect(below).toBeGreaterThan(layout.stationCount / 2);
    expect(Math.max(...thresholds)).toBeGreaterThan(0.7);
    expect(Math.min(...runThresholds)).toBeGreaterThanOrEqual(RUN_FLOOR);
  });
});

describe('serve calibrates its live detector on the counts it stored', () => {
  let cc: ControlCentre;
  let client: GrpcClient;
  beforeAll(async () => {
    cc = await startControlCentre(join(dir, 'serve'), { countIntervalS: SAMPLE_S, incidentCalibrationMinHours: 3 });
    client = new (greenwaveStubs()['TrafficStateService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await cc?.close();
  });

  test('too few hours: one threshold for every loop, said so; after a restart on 3.5 stored hours, each loop calibrated on them', async () => {
    const meta = bearer(TEST_TOKENS.val);
    await cc.srv.incidentCalibrator!.run();
    const before = await unaryCall(client, 'ListIncidents', {}, meta, 5000);
    expect(before.err).toBeNull();
    const d0 = before.res['detection'] as Record<string, unknown>;
    expect(d0['calibration_hours']).toBe(0);
    expect(d0['status']).toMatch(/one threshold for every loop \(0\.0 h of complete counts stored in the last 3 days, 3 h needed to calibrate each loop\)/);
    const one = uncalibratedIncidentParams(SAMPLE_S).flowDeficit!;
    expect([...cc.srv.traffic.incidentDetector!.threshold].every((x) => x === one)).toBe(true);

    // The three runs stored back to back the evening before (as the collector would have), then a restart.
    const nowMs = cc.now() * 1000;
    let at = Math.floor((nowMs - 5 * HOUR_MS) / (SAMPLE_S * 1000)) * SAMPLE_S * 1000;
    for (const s of runs) {
      await store(cc.storage, rowsOf(s, at));
      at += s.samples * SAMPLE_S * 1000;
    }
    await cc.restart();
    client.close();
    client = new (greenwaveStubs()['TrafficStateService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
    await cc.srv.incidentCalibrator!.run();
    const after = await unaryCall(client, 'ListIncidents', {}, meta, 5000);
    expect(after.err).toBeNull();
    const d1 = after.res['detection'] as Record<string, unknown>;
    const hours = (runs.reduce((n, s) => n + s.samples, 0) * SAMPLE_S) / 3600;
    expect(d1['calibration_hours']).toBeCloseTo(hours, 6);
    expect(d1['status']).toMatch(/each loop's thresholds calibrated on 3\.5 h of the city's counts/);
    expect(await cc.srv.metrics.registry.metrics()).toMatch(/^greenwave_incident_calibration_hours 3\.5$/m);
    // Stored back to back, the three runs are one stretch: the thresholds are those of that stretch.
    const nd = c.detectorIds.length;
    const joined: SampleSeries = {
      samples: runs.reduce((n, s) => n + s.samples, 0),
      countVeh: Float64Array.from(runs.flatMap((s) => [...s.countVeh])),
      occupancyPct: Float64Array.from(runs.flatMap((s) => [...s.occupancyPct])),
      sampleS: SAMPLE_S,
    };
    expect(joined.countVeh.length).toBe(joined.samples * nd);
    const want = calibrateStations(layout, SAMPLE_S, [joined]);
    const detector = cc.srv.traffic.incidentDetector!;
    expect(detector.threshold).toEqual(want.thresholds);
    expect(detector.runThreshold).toEqual(want.runThresholds);
    expect([...detector.threshold].some((x) => x !== one)).toBe(true);

    // A later calibration that finds too little (a higher minimum here) keeps the thresholds it had.
    const again = await cc.srv.traffic.calibrateIncidents(cc.storage, nowMs, { minHours: 100 });
    expect(again.kind).toBe('too-little');
    expect(cc.srv.traffic.detection().calibration.kind).toBe('calibrated');
    expect(detector.threshold).toEqual(want.thresholds);
  }, 60_000);
});
