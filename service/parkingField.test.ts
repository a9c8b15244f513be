/**
 * Parking guidance with the field and the database, end to end: the demo
 * city's virtual controllers on Modbus, `startServer` with a parking file and
 * SQLite, a hand-driven clock. Car-park gate loops wired to a signal
 * controller's detector inputs reach the occupancy tracker through the
 * service's detector polls (a whole interval exactly; an interval in which the
 * controller restarted is not guessed at); reports sent over gRPC and the
 * tracker's drift corrections are stored and read back with
 * GetOccupancyHistory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import * as grpc from '@grpc/grpc-js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-parking-field-'));
const ENTRY = 'I1-EB-2-A';
const EXIT = 'I1-EB-3-A';
let cc: ControlCentre;
let client: GrpcClient;
/** ReportOccupancy as the operator alice: resolves to the call's error (null) and accepted count. */
const report = (msgs: object[]): Promise<{ err: grpc.ServiceError | null; accepted: unknown }> =>
  new Promise((resolve) => {
    const call = (client['ReportOccupancy'] as (m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => grpc.ClientWritableStream<object>)(bearer(TEST_TOKENS.alice), (err, res) => resolve({ err, accepted: res?.['accepted'] }));
    for (const m of msgs) call.write(m);
    call.end();
  });

beforeAll(async () => {
  const file = JSON.parse(readFileSync(new URL('../examples/demo-city/parking.json', import.meta.url), 'utf8'));
  file.carParks[0].gates = [
    { detectorId: ENTRY, counts: 'entries' },
    { detectorId: EXIT, counts: 'exits' },
  ];
  writeFileSync(join(dir, 'parking.json'), JSON.stringify(file));
  cc = await startControlCentre(dir, { countIntervalS: 60, parking: join(dir, 'parking.json') });
  client = new (greenwaveStubs()['ParkingGuidanceService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
}, 30_000);
afterAll(async () => {
  client?.close();
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
    expect(await report([{ car_park_id: 'P1', occupied: 50, time: { seconds: minuteMs / 1000 } }])).toEqual({ err: null, accepted: 1 });
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

    // A report of 58 after the counts carried it to 50: 8 spaces of drift, corrected and logged.
    const reportS = cc.now();
    expect((await report([{ car_park_id: 'P1', occupied: 58 }])).err).toBeNull();
    const history = await unaryCall(client, 'GetOccupancyHistory', { car_park_id: 'P1', from: { seconds: minuteMs / 1000 - 60 }, to: { seconds: cc.now() + 1 } }, bearer(TEST_TOKENS.val), 5000);
    expect(history.err).toBeNull();
    const records = (history.res['records'] as Record<string, unknown>[]).map((x) => ({ t: Number((x['time'] as { seconds: number }).seconds), occupied: x['occupied'], kind: x['kind'], detail: x[x['kind'] as string] }));
    expect(records).toEqual([
      { t: minuteMs / 1000, occupied: 50, kind: 'report', detail: { source: 'alice' } },
      { t: reportS, occupied: 58, kind: 'report', detail: { source: 'alice' } },
      { t: reportS, occupied: 58, kind: 'correction', detail: { cause: 'CORRECTION_CAUSE_DRIFT', before_occupied: 50, delta_spaces: 8 } },
    ]);
    expect(history.res['truncated']).toBe(false);
    const one = await unaryCall(client, 'GetOccupancyHistory', { car_park_id: 'P1', from: { seconds: minuteMs / 1000 - 60 }, to: { seconds: cc.now() + 1 }, limit: 1 }, bearer(TEST_TOKENS.val), 5000);
    expect([(one.res['records'] as unknown[]).length, one.res['truncated']]).toEqual([1, true]);
    expect((await cc.storage.listAudit({ actionPrefix: 'occupancy.insert' })).length).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
