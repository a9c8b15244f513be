/**
 * The service's live link state with the controllers' events (./trafficState.ts
 * `loadProgression`): the demo city runs in the microsimulator under the service's plan, its
 * high-resolution events go into a real SQLite store as the event collector stores them, and
 * its loop counts are fed minute by minute as the count collector feeds them. The arrivals on
 * green read back from the store are the ones the validated path (engine/traffic/progression.ts)
 * computes from the recorder's own buffer up to the window's end, and with them the arterial links' travel times are nearer the simulator's own
 * trajectories than with random arrivals (the service's state before this).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ServiceState } from './state.js';
import { PROGRESSION_MARGIN_MS, TrafficState } from './trafficState.js';
import { SqliteStorage } from './storage/sqlite.js';
import type { DetectorCount } from './storage/storage.js';
import { priorityConfig } from '../engine/priority/policy.js';
import { LinkClass } from '../engine/traffic/links.js';
import { arrivalOnGreenShares } from '../engine/traffic/progression.js';
import { measureContext } from '../engine/measures/context.js';
import { EventBuffer } from '../engine/events/buffer.js';
import { Simulation } from '../simulator/simulation.js';
import { movementFlowsFromLanes } from '../simulator/demand.js';
import { SimEventRecorder, SIM_EPOCH_MS } from '../simulator/events.js';
import { LinkTruth } from '../simulator/linkTruth.js';
import { DEMO_COUNTS, DEMO_NETWORK } from '../test/fixtures/grpc/demo.js';

const MINUTE_S = 60;
const WINDOW_S = 300;
const dir = mkdtempSync(join(tmpdir(), 'gw-traffic-events-'));
let storage: SqliteStorage;
beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
});
afterAll(async () => {
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('arrivals on green from stored events: the validated path, and travel times nearer the trajectories than random arrivals', async () => {
  const state = ServiceState.load(DEMO_NETWORK, DEMO_COUNTS, '08:00', priorityConfig());
  const c = state.c;
  const flows = movementFlowsFromLanes(c, state.plan.buffer.laneFlowVehPerH).map((x) => x * 0.75);
  const sim = new Simulation(c, state.plan.buffer, { movementFlowVehPerH: flows }, { seed: 5, detectorIntervalS: MINUTE_S });
  const recorder = new SimEventRecorder(sim);
  const truth = new LinkTruth(sim, WINDOW_S, recorder);
  const minutes = 25;
  sim.runUntil(minutes * MINUTE_S);
  // Into the store as the collector puts them: intersection ids as locations, in time order.
  const log = recorder.events;
  const records = Array.from({ length: log.length }, (_, k) => log.record(k));
  for (let k = 0; k < records.length; k += 5000) await storage.insertEvents({ user: 'collector' }, records.slice(k, k + 5000));

  const withEvents = new TrafficState(state, storage);
  const without = new TrafficState(state);
  withEvents.startLive(MINUTE_S);
  without.startLive(MINUTE_S);
  // Until the live window spans two of the plan's longest cycles, both are the counts file's state.
  expect(withEvents.progression()).toMatch(/the state is from the counts file/);
  expect(without.progression()).toMatch(/the state is from the counts file/);
  const L = withEvents.links;
  const err = { events: [] as number[], random: [] as number[] };
  // Side streets (stop-line loops only): the HCM delay, with the saturation flows measured from the events or the network's.
  const side = { events: [] as number[], random: [] as number[] };
  let compared = 0;
  for (let r = 0; r < minutes; r++) {
    const counts = sim.detectorCounts(r);
    const rows: DetectorCount[] = c.detectorIds.map((detectorId, d) => ({ detectorId, intervalStartMs: SIM_EPOCH_MS + r * MINUTE_S * 1000, intervalS: MINUTE_S, volumeVeh: counts.volumeVeh[d]!, occupancyPct: counts.occupancyPct[d]! }));
    const iv = { startMs: SIM_EPOCH_MS + r * MINUTE_S * 1000, intervalS: MINUTE_S };
    withEvents.applyLive(rows, iv);
    without.applyLive(rows, iv);
    // Whole 5-minute windows after the first (the network filling): compared with the truth binned alike.
    const endS = (r + 1) * MINUTE_S;
    if (endS % WINDOW_S !== 0 || endS === WINDOW_S) continue;
    expect(await withEvents.loadProgression()).toMatch(/^arrivals on green and input-output delay on \d+ of \d+ links, saturation flows measured on \d+ lanes, from \d+ events/);
    const fromMs = SIM_EPOCH_MS + (endS - WINDOW_S) * 1000;
    const toMs = SIM_EPOCH_MS + endS * 1000;
    // What the recorder logged up to the window's end (and PROGRESSION_MARGIN_MS before it), straight from memory.
    const upTo = new EventBuffer(1024);
    for (const e of records) if (e.timestampMs >= fromMs - PROGRESSION_MARGIN_MS && e.timestampMs < toMs) upTo.push(upTo.locationIndex(e.locationId), e.timestampMs, e.eventCode, e.eventParam);
    const direct = arrivalOnGreenShares(measureContext(c, upTo), L, fromMs, toMs);
    const a = withEvents.current();
    const b = without.current();
    const bin = endS / WINDOW_S - 1;
    for (let k = 0; k < L.count; k++) {
      if (Number.isNaN(direct[k]!)) expect(a.arrivalOnGreenShare[k]).toBeNaN();
      else expect(a.arrivalOnGreenShare[k]).toBeCloseTo(direct[k]!, 12);
      expect(b.arrivalOnGreenShare[k]).toBeNaN();
      const n = truth.travelN[bin]![k]!;
      if (n < 20) continue;
      const tt = truth.travelSumS[bin]![k]! / n;
      if (L.linkClass[k] === LinkClass.Side) {
        side.events.push(a.travelTimeS[k]! / tt - 1);
        side.random.push(b.travelTimeS[k]! / tt - 1);
      }
      if (L.linkClass[k] !== LinkClass.Arterial || !(a.arrivalOnGreenShare[k]! >= 0)) continue;
      err.events.push(a.travelTimeS[k]! / tt - 1);
      err.random.push(b.travelTimeS[k]! / tt - 1);
      compared++;
    }
  }
  expect(without.progression()).toMatch(/no event log is collected/);
  const meanAbs = (xs: number[]): number => xs.reduce((s, x) => s + Math.abs(x), 0) / xs.length;
  const within = (xs: number[]): number => xs.filter((x) => Math.abs(x) <= 0.15).length / xs.length;
  console.log(`arterial link-windows compared: ${compared}; mean |error| with events ${(100 * meanAbs(err.events)).toFixed(1)} % (within 15 %: ${(100 * within(err.events)).toFixed(0)} %), random arrivals ${(100 * meanAbs(err.random)).toFixed(1)} % (${(100 * within(err.random)).toFixed(0)} %)`);
  console.log(`side-street link-windows: ${side.events.length}; mean |error| with measured saturation flows ${(100 * meanAbs(side.events)).toFixed(1)} % (within 15 %: ${(100 * within(side.events)).toFixed(0)} %), the network's ${(100 * meanAbs(side.random)).toFixed(1)} % (${(100 * within(side.random)).toFixed(0)} %)`);
  expect(compared).toBeGreaterThan(30);
  expect(meanAbs(err.events)).toBeLessThan(meanAbs(err.random));
  expect(within(err.events)).toBeGreaterThanOrEqual(within(err.random));
});
