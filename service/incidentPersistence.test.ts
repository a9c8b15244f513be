/**
 * Incidents survive a restart (service/trafficState.ts restoreIncidents, the incidents table):
 * `serve` on the demo city's virtual controllers and a SQLite file (test/fixtures/controlCentre.ts);
 * an operator reports a blocked lane and clears another report over gRPC, the loops "detect" a
 * third; after a restart on the same file the report is still open and still takes its lane's
 * capacity from the link, the cleared one is still cleared, the loops' one waits for the loops to
 * confirm it and is closed when they do not, and new incidents go on numbering. Then a lane the
 * loops find blocked before a restart: the service primes its live state and detector with the
 * counts it stored, the loops confirm the same incident, and it clears when the lane counts again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startControlCentre, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import { bearer, greenwaveStubs, unaryCall, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { i3Eb2 } from '../test/fixtures/blockedLane.js';
import { CONFIRM_AFTER_RESTART_S, LOOP_SOURCE, NOT_CONFIRMED_AFTER_RESTART } from './incidentBook.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-incident-keep-'));
let cc: ControlCentre;
let client: GrpcClient;
const connect = (): GrpcClient => new (greenwaveStubs()['TrafficStateService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());

beforeAll(async () => {
  cc = await startControlCentre(dir);
  client = connect();
}, 30_000);
afterAll(async () => {
  client?.close();
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Obj = Record<string, unknown>;

test('an open report, a cleared one and a loop detection after a restart; numbering goes on', async () => {
  const op = bearer(TEST_TOKENS.sam);
  const linkK = cc.srv.traffic.links.index.get('L-I2-I3')!;
  const free = cc.srv.traffic.current().travelTimeS[linkK]!;
  const rep = await unaryCall(client, 'ReportIncident', { link_id: 'L-I2-I3', note: 'truck broken down 货车抛锚', lanes_blocked: 1 }, op, 5000);
  expect(rep.err).toBeNull();
  const blocked = cc.srv.traffic.current().travelTimeS[linkK]!;
  expect(blocked).toBeGreaterThan(free);
  const other = await unaryCall(client, 'ReportIncident', { link_id: 'L-I5-I6', note: 'debris' }, op, 5000);
  expect(other.err).toBeNull();
  const otherId = other.res['incident_id'];
  const cleared = await unaryCall(client, 'ClearIncident', { incident_id: otherId, note: 'removed' }, op, 5000);
  expect(cleared.err).toBeNull();
  cc.srv.traffic.reportIncident('L-I3-I4', 'I4-EB-2-S', LOOP_SOURCE, cc.now(), 0.8, 'upstream');
  await cc.srv.traffic.saved();
  const before = (await unaryCall(client, 'ListIncidents', { include_cleared: true }, op, 5000)).res['incidents'] as Obj[];
  expect(before.map((x) => x['incident_id'])).toEqual(['INC-1', 'INC-2', 'INC-3']);

  cc.advance(120);
  await cc.restart();
  const restartedS = cc.now();
  client.close();
  client = connect();
  const after = (await unaryCall(client, 'ListIncidents', { include_cleared: true }, op, 5000)).res['incidents'] as Obj[];
  expect(after.map((x) => x['incident_id'])).toEqual(['INC-1', 'INC-2', 'INC-3']);
  // The report: as it was, open, blocking its lane again.
  expect(after[0]).toEqual(before[0]);
  expect(cc.srv.traffic.current().travelTimeS[linkK]).toBeCloseTo(blocked, 9);
  // The cleared one: as it was.
  expect(after[1]).toEqual(before[1]);
  // The loops' one: open, waiting for the loops to confirm it.
  const loops = cc.srv.traffic.incident('INC-3');
  expect(loops.clearedS).toBeUndefined();
  const open = (await unaryCall(client, 'ListIncidents', {}, op, 5000)).res['incidents'] as Obj[];
  expect(open.map((x) => x['incident_id'])).toEqual(['INC-1', 'INC-3']);
  const metrics = await cc.srv.metrics.registry.metrics();
  expect(metrics).toMatch(/^greenwave_incidents_open\{source="operator"\} 1$/m);
  expect(metrics).toMatch(/^greenwave_incidents_open\{source="loops"\} 1$/m);
  expect(metrics).toMatch(/^greenwave_incident_calibration_hours 0$/m);
  // Numbering goes on; the operator clears the report after the restart, and that is kept too.
  const next = await unaryCall(client, 'ReportIncident', { link_id: 'L-I1-I2' }, op, 5000);
  expect(next.res['incident_id']).toBe('INC-4');
  expect((await unaryCall(client, 'ClearIncident', { incident_id: 'INC-1', note: 'towed' }, op, 5000)).err).toBeNull();
  expect(cc.srv.traffic.current().travelTimeS[linkK]).toBeCloseTo(free, 9);
  // Its loops count nothing either way here (no verdict): six minutes on, it is closed, said so.
  const restartS = restartedS;
  while (cc.now() < restartS + CONFIRM_AFTER_RESTART_S + 30) {
    cc.advance(30 - (cc.now() % 30) + 1);
    await cc.srv.counts!.tick();
  }
  expect(loops.clearedS).toBeGreaterThanOrEqual(restartS + CONFIRM_AFTER_RESTART_S);
  expect(loops.note).toBe(NOT_CONFIRMED_AFTER_RESTART);
  await cc.srv.traffic.saved();
  const kept = await cc.storage.listIncidents();
  expect(kept.map((x) => [x.incidentId, x.clearedMs !== null])).toEqual([
    ['INC-1', true],
    ['INC-2', true],
    ['INC-3', true],
    ['INC-4', false],
  ]);
  expect(kept[0]!.note).toBe('truck broken down 货车抛锚 | towed');
}, 60_000);

test('a blockage the loops detected goes on through a restart as the same incident, primed from the stored counts, and clears', async () => {
  const dir2 = mkdtempSync(join(tmpdir(), 'gw-incident-keep-live-'));
  const cc2 = await startControlCentre(dir2, { countIntervalS: 60 });
  try {
    const { minute } = i3Eb2(() => cc2);
    for (let k = 0; k < 6; k++) await minute(14);
    expect(cc2.srv.traffic.isLive).toBe(true);
    await minute(0, 16);
    await minute(0, 16);
    const open = () => cc2.srv.traffic.incidents.filter((x) => x.clearedS === undefined);
    expect(open().map((x) => [x.incidentId, x.linkId, x.source])).toEqual([['INC-1', 'L-I2-I3', LOOP_SOURCE]]);
    await cc2.srv.traffic.saved();

    // A restart a minute later: live at once from the stored counts, the same incident open.
    cc2.advance(30);
    await cc2.restart();
    expect(cc2.srv.traffic.isLive).toBe(true);
    expect(open().map((x) => x.incidentId)).toEqual(['INC-1']);
    // Still blocked: the loops confirm it (no new incident), past the time it would have been closed.
    const restartS = cc2.now();
    while (cc2.now() < restartS + CONFIRM_AFTER_RESTART_S + 60) await minute(0, 16);
    expect(cc2.srv.traffic.incidents.map((x) => [x.incidentId, x.clearedS === undefined])).toEqual([['INC-1', true]]);
    // The lane counts again: the detector clears the same incident.
    for (let k = 0; k < 6 && open().length > 0; k++) await minute(14);
    expect(cc2.srv.traffic.incidents.map((x) => [x.incidentId, x.clearedS !== undefined, x.note])).toEqual([['INC-1', true, '']]);
  } finally {
    await cc2.close();
    rmSync(dir2, { recursive: true, force: true });
  }
}, 60_000);
