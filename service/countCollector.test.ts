/**
 * Detector counts from the field into the storage (countCollector.ts), end to end: the demo
 * city's virtual controllers on Modbus with a hand-driven clock, `startServer` on SQLite.
 * Vehicles added to a controller's loops in one minute are stored as that minute's count of
 * that detector, exactly; the first read (a baseline) and a restarted controller's read are
 * not stored as counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, type ControlCentre } from '../test/fixtures/controlCentre.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-counts-'));
let cc: ControlCentre;

beforeAll(async () => {
  cc = await startControlCentre(dir, { countIntervalS: 60 });
}, 30_000);
afterAll(async () => {
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Moves the clock to the start of the next minute plus `intoS`, and waits for the collector's round to be stored. */
async function nextMinute(intoS = 1): Promise<void> {
  cc.advance(60 - (cc.now() % 60) + intoS);
  await new Promise((r) => setTimeout(r, 1500));
}

describe('detector counts into the storage', () => {
  it('a minute of vehicles on one loop is stored as that minute of that detector; nothing for the baseline read', async () => {
    const { c } = demo();
    const i3 = c.intersectionIds.indexOf('I3');
    const r = detectorRange(c, i3);
    // The read at start is a baseline, and the minute it fell in is only partly counted: neither is stored.
    await nextMinute();
    expect(await cc.storage.detectorCounts({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).toEqual([]);
    const minuteStartMs = Math.floor(cc.now() / 60) * 60_000;
    cc.controllers[i3]!.addDetectorCounts(1, 7, 3.5);
    cc.controllers[i3]!.addDetectorCounts(2, 4);
    await nextMinute();
    const rows = await cc.storage.detectorCounts({ fromMs: minuteStartMs, toMs: minuteStartMs + 1 });
    const byId = new Map(rows.map((x) => [x.detectorId, x]));
    // Every detector of every controller has its row for the minute; I3's two fed loops have the vehicles.
    expect(rows.length).toBe(c.detectorIds.length);
    expect(byId.get(c.detectorIds[r.start + 1]!)).toMatchObject({ intervalS: 60, volumeVeh: 7 });
    expect(byId.get(c.detectorIds[r.start + 1]!)!.occupancyPct).toBeCloseTo((3.5 / 60) * 100, 0);
    expect(byId.get(c.detectorIds[r.start + 2]!)).toMatchObject({ volumeVeh: 4 });
    expect(rows.filter((x) => x.volumeVeh > 0).map((x) => x.detectorId).sort()).toEqual([c.detectorIds[r.start + 1]!, c.detectorIds[r.start + 2]!].sort());
  }, 30_000);
});
