/**
 * Parking guidance with the field and the database, end to end: the demo
 * city's virtual controllers on Modbus, `startServer` with a parking file and
 * SQLite, a hand-driven clock. Car-park gate loops wired to a signal
 * controller's detector inputs reach the occupancy tracker through the
 * service's detector polls (a whole interval exactly; an interval in which the
 * controller restarted is not guessed at).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, type ControlCentre } from '../test/fixtures/controlCentre.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-parking-field-'));
const ENTRY = 'I1-EB-2-A';
const EXIT = 'I1-EB-3-A';
let cc: ControlCentre;

beforeAll(async () => {
  const file = JSON.parse(readFileSync(new URL('../examples/demo-city/parking.json', import.meta.url), 'utf8'));
  file.carParks[0].gates = [
    { detectorId: ENTRY, counts: 'entries' },
    { detectorId: EXIT, counts: 'exits' },
  ];
  writeFileSync(join(dir, 'parking.json'), JSON.stringify(file));
  cc = await startControlCentre(dir, { parking: join(dir, 'parking.json') });
}, 30_000);
afterAll(async () => {
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Moves the clock to the start of the next minute plus `intoS`, and waits for the collector's round. */
async function nextMinute(intoS = 1): Promise<void> {
  cc.advance(60 - (cc.now() % 60) + intoS);
  await new Promise((r) => setTimeout(r, 1200));
}

describe('parking guidance with the field', () => {
  it('gate loops polled over Modbus move the car park by entries − exits; a restarted controller\'s interval is skipped', async () => {
    const { c } = demo();
    const i1 = c.intersectionIds.indexOf('I1');
    const first = detectorRange(c, i1).start;
    const entry = c.detectorIds.indexOf(ENTRY) - first;
    const exit = c.detectorIds.indexOf(EXIT) - first;
    const feed = cc.srv.parking!.feed;
    const p1 = cc.srv.parking!.parking.carPark('P1')!;
    // The read at start is a baseline and its minute only partly counted: the first whole minute is the next.
    await nextMinute();
    const minuteMs = Math.floor(cc.now() / 60) * 60_000;
    feed.report(p1, 50, minuteMs);
    cc.controllers[i1]!.addDetectorCounts(entry, 7);
    cc.controllers[i1]!.addDetectorCounts(exit, 2);
    await nextMinute();
    expect(feed.state(p1, cc.now() * 1000)).toMatchObject({ status: 'open', occupied: 55, statusTimeMs: minuteMs + 60_000 });
    // I1 restarts during the next minute: its counts since the last read are lost, and P1 is not guessed at.
    cc.controllers[i1]!.addDetectorCounts(entry, 9);
    cc.controllers[i1]!.restart(cc.now());
    cc.controllers[i1]!.addDetectorCounts(entry, 4);
    await nextMinute();
    expect(feed.state(p1, cc.now() * 1000).occupied).toBe(55);
    // The minute after is whole again.
    cc.controllers[i1]!.addDetectorCounts(exit, 5);
    await nextMinute();
    expect(feed.state(p1, cc.now() * 1000).occupied).toBe(50);
  }, 30_000);
});
