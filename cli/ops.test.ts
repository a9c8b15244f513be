/**
 * `greenwave ops` against a real server: startServer with a SQLite file and
 * the demo city's ten virtual controllers on Modbus TCP, sharing a hand-driven
 * clock (a deployed plan is confirmed once the test moves time past the
 * controllers' cycle zero). The CLI runs in-process through runAsync, as the
 * executable runs it: propose → review → approve → deploy --watch → rollback
 * --watch, an unsafe edit refused with its field and rule, permission errors,
 * --json parsed back, locks, the audit log, a rollout whose controllers are
 * gone (exit 1), and bad command lines (exit 2, before anything is sent).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readEventsCsv } from '../engine/events/csv.js';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../service/server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from './main.js';
import type { RunningServer } from '../service/server.js';
import type { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, T0_S as T0, TEST_TOKENS as TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import { wirePlanId } from '../service/deployer.js';

type Obj = Record<string, unknown>;
const STACK_TRACE = /\n\s+at /;

const dir = mkdtempSync(join(tmpdir(), 'gw-ops-'));
let cc: ControlCentre;
let srv: RunningServer;
let controllers: readonly VirtualController[];
const now = (): number => cc.now();
const PARKING_FILE = fileURLToPath(new URL('../examples/demo-city/parking.json', import.meta.url));

beforeAll(async () => {
  // The controllers serve their event logs, which the service collects into the storage (for ops measures).
  cc = await startControlCentre(dir, { eventLogs: true, twoPersonRule: true, review: { durationS: 180, seeds: [1] }, eventPollMs: 500, parking: PARKING_FILE });
  srv = cc.srv;
  controllers = cc.controllers;
}, 30_000);

afterAll(async () => {
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `greenwave ops <argv> --server … --insecure --token <as>`, in-process; with `tick`, the shared clock moves on meanwhile (a rollout to confirm). */
async function ops(as: keyof typeof TOKENS | null, argv: string[], tick = false): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const ticker = tick
    ? setInterval(() => cc.advance(5), 20)
    : undefined;
  try {
    const code = await runAsync(
      ['ops', ...argv, '--server', `127.0.0.1:${srv.port}`, '--insecure', ...(as ? ['--token', TOKENS[as]] : [])],
      (s) => (stdout += s),
      (s) => (stderr += s),
    );
    return { code, stdout, stderr };
  } finally {
    clearInterval(ticker);
  }
}

/** The output of a command that must succeed. */
async function ok(as: keyof typeof TOKENS, argv: string[], tick = false): Promise<string> {
  const r = await ops(as, argv, tick);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const ix = (id: string): number => demo().c.intersectionIds.indexOf(id);
const firstPhaseOf = (id: string): string => demo().c.phaseIds[demo().c.phaseStart[ix(id)]!]!;
let v1: Obj;

describe('greenwave ops on a running service', () => {
  it('propose --at (--json parsed back), review, the two-person rule, approve, deploy --watch until every controller confirms', async () => {
    const proposed = await ok('sam', ['propose', '--at', '17:30', '--reason', 'evening peak', '--json']);
    v1 = JSON.parse(proposed) as Obj;
    expect(v1).toMatchObject({ version: 1, state: 'proposed', source: 'optimizer', author: 'sam', at: '17:30', reason: 'evening peak' });
    expect(v1['plans'] as Obj[]).toHaveLength(10);
    // Timestamps come out as ISO 8601 for scripts.
    expect(v1['created_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = String(v1['plan_id']);

    const review = await ok('val', ['review', id]);
    expect(review).toMatch(new RegExp(`^review of plan ${id} against the plan in force\n`));
    expect(review).toMatch(/changes \(\d+ intersections?\):/);
    expect(review).toMatch(/green-wave bands, before → after[^\n]*\n {2}corridor +cycle s +outbound band s +inbound band s\n {2}renmin-rd +[\d.]+ → [\d.]+ +[\d.]+ → [\d.]+ +[\d.]+ → [\d.]+\n/);
    expect(review).toMatch(/mean delay s\/veh +[\d.]+ +→ +[\d.]+ +[+-]\d+\.\d %\n/);
    expect(review).toMatch(/throughput veh\/h +\d+ +→ +\d+ +[+-]\d+\.\d %\n/);

    // Not a supervisor; then the author under the two-person rule: one line each, status and details, exit 1.
    const operator = await ops('alice', ['approve', id]);
    expect(operator.code).toBe(1);
    expect(operator.stderr).toMatch(/^greenwave: error \[PERMISSION_DENIED\] from 127\.0\.0\.1:\d+: .+\n$/);
    const author = await ops('sam', ['approve', id]);
    expect(author.code).toBe(1);
    expect(author.stderr).toMatch(/^greenwave: error \[PERMISSION_DENIED\] from [^:]+:\d+: .*two-person rule.*\n$/);
    expect(author.stdout).toBe('');
    expect(await ok('sue', ['approve', id, '--comment', 'ok for the evening'])).toBe(`plan ${id} (version 1) is approved by sue: "ok for the evening"\n`);

    const deploy = await ops('sue', ['deploy', id, '--watch'], true);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const lines = deploy.stdout.split('\n');
    expect(lines[0]).toMatch(/^following rollout rollout-/);
    expect(lines.filter((l) => /^ {2}\S+ \S+ +I\d+ +confirmed/.test(l))).toHaveLength(10);
    expect(deploy.stdout).toMatch(/rollout finished: confirmed 10, failed 0\n$/);
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(Number(id))));

    const plans = await ok('val', ['plans']);
    expect(plans.split('\n')[0]).toMatch(/^version +plan id +state +source +author +when \(UTC\) +reason +deployed$/);
    expect(plans).toMatch(new RegExp(`\n +1 +${id} +approved +optimizer +sam +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +evening peak +10 confirmed\n`));
  }, 60_000);

  it("an operator's edit: checked locally with the field path (exit 2), an unsafe one refused by the server with field and rule (exit 1), a safe one reviewed as a change list", async () => {
    const before = (await ok('val', ['plans'])).split('\n').length;
    const malformed = join(dir, 'malformed.json');
    writeFileSync(malformed, JSON.stringify([{ intersectionId: 'I3', offset: 20, phases: [{ phaseId: 2, greenS: '40' }] }]));
    const local = await ops('alice', ['propose', '--edit', malformed, '--reason', 'x']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('edits[0].offset: unknown field');
    expect(local.stderr).toContain('edits[0].phases[0].phaseId: must be a non-empty string');
    expect(local.stderr).toContain('edits[0].phases[0].greenS: must be a number of seconds');
    expect(local.stderr).not.toMatch(STACK_TRACE);

    const unsafeFile = join(dir, 'unsafe.json');
    writeFileSync(unsafeFile, JSON.stringify([{ intersectionId: 'I3', phases: [{ phaseId: firstPhaseOf('I3'), greenS: 1 }] }]));
    const unsafe = await ops('alice', ['propose', '--edit', unsafeFile, '--reason', 'try']);
    expect(unsafe.code).toBe(1);
    expect(unsafe.stdout).toBe('');
    expect(unsafe.stderr).toMatch(/^greenwave: error \[FAILED_PRECONDITION\] from /);
    expect(unsafe.stderr).toMatch(/edits\[0\]\.phases\[0\]\.greenS: .*\(rule (MIN_GREEN|PED_CLEARANCE)\)/);
    expect(unsafe.stderr).not.toMatch(STACK_TRACE);
    // Nothing was stored.
    expect((await ok('val', ['plans'])).split('\n').length).toBe(before);
    expect((await ops('val', ['propose', '--edit', unsafeFile, '--reason', 'x'])).stderr).toMatch(/\[PERMISSION_DENIED\]/);

    const i3 = ix('I3');
    const offset = srv.state.plan.buffer.offsetS[i3]!;
    const newOffset = Math.round(((offset + 20) % srv.state.plan.buffer.cycleS[i3]!) * 10) / 10;
    const editFile = join(dir, 'edit.json');
    writeFileSync(editFile, JSON.stringify([{ intersectionId: 'I3', offsetS: newOffset }]));
    const proposed = await ok('alice', ['propose', '--edit', editFile, '--base', String(v1['plan_id']), '--reason', 'platoon arrives early at I3']);
    const m = /^proposed plan (\d+) \(version 2, operator \(edit of version 1\)\)/.exec(proposed);
    expect(m, proposed).not.toBeNull();
    const v2 = m![1]!;
    const review = await ok('val', ['review', v2]);
    expect(review).toContain(`changes (1 intersection):\n  intersection  field     before     after\n  I3            offset s  ${offset.toFixed(1).padStart(6)}  →  ${newOffset.toFixed(1).padStart(5)}\n`);
    expect(await ok('sue', ['reject', v2, '--comment', 'band worse'])).toBe(`plan ${v2} (version 2) is rejected by sue: "band worse"\n`);
    const show = await ok('val', ['show', v2]);
    expect(show).toMatch(new RegExp(`^plan ${v2} — version 2, rejected\n {2}source +operator \\(edit of version 1\\)\n`));
    expect(show).toMatch(/decisions:\n {2}when \(UTC\) +actor +decision +comment\n {2}\S+ \S+ +sue +reject +band worse\n/);
    expect(show).toContain('deployments: none');
    expect(show).toMatch(new RegExp(`\n {2}I3 +[\\d.]+ +${newOffset.toFixed(1)} +`));
  }, 60_000);

  it('locks: set on a corridor and an intersection, listed, released; --json parsed back', async () => {
    const cycle = await ok('alice', ['lock', '--corridor', 'renmin-rd', '--cycle', '120', '--reason', 'school run']);
    const lockId = /^lock (\d+): corridor renmin-rd kept at cycle 120\.0 s \(active; set by alice: school run\)\n$/.exec(cycle)?.[1];
    expect(lockId, cycle).toBeDefined();
    const pin = await ok('alice', ['lock', '--intersection', 'I9', '--plan', String(v1['plan_id']), '--reason', 'works as is']);
    expect(pin).toContain(`intersection I9 kept at timing of plan ${String(v1['plan_id'])}`);
    const again = await ops('alice', ['lock', '--corridor', 'renmin-rd', '--cycle', '100', '--reason', 'again']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[FAILED_PRECONDITION\]/);
    const listed = await ok('val', ['locks']);
    expect(listed).toMatch(/^lock +scope +id +keeps +author +since \(UTC\) +state +reason\n/);
    expect(listed).toMatch(new RegExp(`\n +${lockId} +corridor +renmin-rd +cycle 120\\.0 s +alice +\\S+ \\S+ +active +school run\n`));
    expect(await ok('alice', ['unlock', lockId!, '--reason', 'term ended'])).toMatch(/\(released by alice; set by alice: school run\)\n$/);
    const pinId = /^lock (\d+)/.exec(pin)![1]!;
    await ok('alice', ['unlock', pinId, '--reason', 'done']);
    expect(await ok('val', ['locks'])).toBe('no locks\n');
    const all = JSON.parse(await ok('val', ['locks', '--all', '--json'])) as { locks: Obj[] };
    expect(all.locks.map((l) => [l['scope_id'], l['released'], l['released_by']])).toEqual([
      ['renmin-rd', true, 'alice'],
      ['I9', true, 'alice'],
    ]);
  }, 30_000);

  it('rollback --watch in one step; the audit log shows who did what; reading it needs operator or supervisor', async () => {
    const rb = await ops('sue', ['rollback', '1', '--reason', 'complaints', '--watch'], true);
    expect(rb.stderr).toBe('');
    expect(rb.code).toBe(0);
    expect(rb.stdout).toMatch(/rollout finished: confirmed 10, failed 0\n$/);
    const plans = JSON.parse(await ok('val', ['plans', '--limit', '1', '--json'])) as { plans: Obj[] };
    expect(plans.plans).toHaveLength(1);
    expect(plans.plans[0]).toMatchObject({ state: 'approved', rollback_of_version: 1, reason: 'rollback to version 1: complaints' });
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(Number(plans.plans[0]!['plan_id']))));

    const audit = await ok('sam', ['audit', '--action', 'plan.', '--actor', 'sue']);
    expect(audit.split('\n')[0]).toMatch(/^seq +when \(UTC\) +actor +action +peer +detail$/);
    const actions = audit
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/ {2,}/)[3]);
    expect(actions).toEqual(['plan.approve', 'plan.reject', 'plan.save', 'plan.approve']);
    const page = await ok('sam', ['audit', '--limit', '2']);
    expect(page).toMatch(/\(more may follow: --after \d+\)\n$/);
    const viewer = await ops('val', ['audit']);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/^greenwave: error \[PERMISSION_DENIED\]/);
  }, 60_000);

  it('measures: the per-phase table from the event log the service collected from the controllers (EventService)', async () => {
    const t = (sec: number): string => new Date(sec * 1000).toISOString();
    // Ten minutes of the shared clock, a step at a time, so that the collector has read the controllers' logs.
    for (let k = 0; k < 60; k++) {
      cc.advance(10);
      await new Promise((r) => setTimeout(r, 10));
    }
    const window = ['--intersection', 'I1', '--from', t(now() - 600), '--to', t(now() + 1)];
    // The collector reads the logs on its own period: wait (a bounded while) until it has stored them all (the count stops moving).
    const stored = async (): Promise<number> => (JSON.parse(await ok('val', ['measures', ...window, '--json'])) as { events: number }).events;
    for (let k = 0, last = -1, n = await stored(); k < 40 && (n === 0 || n !== last); k++) {
      await new Promise((r) => setTimeout(r, 300));
      last = n;
      n = await stored();
    }
    // The collector may still be storing the last reads (it lags on a loaded machine): take the table, its
    // JSON and the CSV export between two exports that agree, so that all of them saw the same stored events.
    const csvFile = join(dir, 'i1-events.csv');
    let r = '';
    let json: { phases: Obj[] } = { phases: [] };
    let exported = '';
    for (let k = 0, before = ''; k < 10 && (k === 0 || exported !== before); k++) {
      before = await ok('val', ['events', ...window, '--out', csvFile]);
      r = await ok('val', ['measures', ...window]);
      json = JSON.parse(await ok('val', ['measures', ...window, '--json'])) as { phases: Obj[] };
      exported = await ok('val', ['events', ...window, '--out', csvFile]);
    }
    const head = /^I1: measures from (\d+) events\n/.exec(r);
    expect(head, r).not.toBeNull();
    expect(Number(head![1])).toBeGreaterThan(0);
    expect(r).toMatch(/\n {2}phase +cycles +arrivals +AoG % +green % +platoon +delay s\/veh +split fail % +gap\/max\/force +split p50\/p85\/p95 s\n/);
    expect(json.phases.length).toBeGreaterThan(0);
    expect(json.phases.some((p) => Number(p['cycles']) > 0)).toBe(true);
    // One table row per phase, in the server's order.
    for (const p of json.phases) expect(r).toMatch(new RegExp(`\n {2}${p['phase_id']} +${p['cycles']} +${p['arrivals']} +`));
    // The same events exported as ATSPM CSV, read back by the CSV reader greenwave measures uses.
    expect(exported).toBe(`wrote ${head![1]} events to ${csvFile}\n`);
    const back = readEventsCsv(readFileSync(csvFile, 'utf8'), csvFile);
    expect(back.length).toBe(Number(head![1]));
    expect(back.locations).toEqual(['I1']);
    expect(back.isTimeOrdered()).toBe(true);
    const codes = (await ops('val', ['events', ...window, '--codes', '1,8'])).stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes)).toEqual(new Set([1, 8]));
    const unknown = await ops('val', ['measures', '--intersection', 'I99', '--from', t(T0), '--to', t(T0 + 60)]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`greenwave: error [NOT_FOUND] from 127.0.0.1:${srv.port}: intersection_id: no intersection "I99"\n`);
  }, 30_000);

  it('bad command lines exit 2 with a located message and send nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['plans', '--token', 'x'], /ops plans: --server HOST:PORT is required/],
      [['plans', '--server', 'nowhere', '--token', 'x'], /--server "nowhere": expected HOST:PORT/],
      [['show', 'abc', '--server', 'h:1', '--token', 'x', '--insecure'], /ops show: plan id "abc": expected a whole number/],
      [['show', '--server', 'h:1', '--token', 'x', '--insecure'], /ops show: expected <planId>/],
      [['plans', '--server', 'h:1', '--insecure'], /a bearer token is required: --token T or --token-file F/],
      [['plans', '--server', 'h:1', '--token', 'x', '--token-file', 'f'], /give --token or --token-file, not both/],
      [['plans', '--server', 'h:1', '--token-file', join(dir, 'missing-token')], /cannot read token file ".*missing-token": no such file/],
      [['propose', '--at', '7:3', '--reason', 'r', '--server', 'h:1', '--token', 'x', '--insecure'], /--at "7:3": expected a time of day HH:MM/],
      [['propose', '--at', '07:30', '--edit', 'e.json', '--reason', 'r', '--server', 'h:1', '--token', 'x', '--insecure'], /give --at HH:MM .* or --edit FILE .*, one of them/],
      [['propose', '--at', '07:30', '--server', 'h:1', '--token', 'x', '--insecure'], /--reason is required/],
      [['reject', '3', '--server', 'h:1', '--token', 'x', '--insecure'], /ops reject: --comment is required/],
      [['lock', '--corridor', 'c', '--plan', '3', '--reason', 'r', '--server', 'h:1', '--token', 'x', '--insecure'], /--plan pins an intersection/],
      [['lock', '--corridor', 'c', '--cycle', 'long', '--reason', 'r', '--server', 'h:1', '--token', 'x', '--insecure'], /--cycle "long": expected a cycle in seconds/],
      [['measures', '--intersection', 'I1', '--from', 'yesterday', '--to', '2026-12-01T08:00:00Z', '--server', 'h:1', '--token', 'x', '--insecure'], /--from "yesterday": expected an ISO 8601 time/],
      [['deploy', '3', '--wach', '--server', 'h:1', '--token', 'x'], /ops deploy: Unknown option '--wach' \(did you mean --watch\?\)\n\nusage: greenwave ops deploy/],
      [['deplyo', '3'], /unknown subcommand "deplyo" \(did you mean "deploy"\?\)/],
      [[], /ops: expected a subcommand/],
    ];
    for (const [argv, message] of cases) {
      let stderr = '';
      const code = await runAsync(['ops', ...argv], () => {}, (s) => (stderr += s));
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr, argv.join(' ')).toMatch(message);
      // A file that cannot be read is IO_ERROR; both are the caller's to fix (exit 2).
      expect(stderr).toMatch(/^greenwave: error \[(INVALID_INPUT|IO_ERROR)\]: /);
      expect(stderr).not.toMatch(STACK_TRACE);
    }
    // A token from a file works as --token does.
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKENS.val}\n`);
    let out = '';
    expect(await runAsync(['ops', 'locks', '--server', `127.0.0.1:${srv.port}`, '--insecure', '--token-file', tokenFile], (s) => (out += s))).toBe(0);
    expect(out).toBe('no locks\n');
  }, 30_000);

  it('parkapi: every car park as a ParkAPI lot; a reported one open with its free spaces, the rest nodata without a count', async () => {
    // alice (an operator) reports P4 over the client stream, as a car-park system would.
    const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, (...a: unknown[]) => unknown>> } };
    const parking = new pkg.greenwave.v1['ParkingGuidanceService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const meta = new grpc.Metadata();
    meta.set('authorization', `Bearer ${TOKENS.alice}`);
    await new Promise<void>((resolve, reject) => {
      const call = (parking['ReportOccupancy'] as (m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object>)(meta, (e) => (e ? reject(e) : resolve()));
      call.write({ car_park_id: 'P4', occupied: 400 });
      call.end();
    });
    parking.close();
    const file = join(dir, 'city.json');
    expect(await ok('val', ['parkapi', '--lang', 'en', '--out', file])).toBe(`wrote 8 car parks to ${file}\n`);
    const city = JSON.parse(readFileSync(file, 'utf8')) as { lots: { id: string; name: string; state: string; free?: number; total: number }[] };
    const spec = JSON.parse(readFileSync(PARKING_FILE, 'utf8')) as { carParks: { id: string; nameEn: string; capacityByType: Record<string, number> }[] };
    expect(city.lots.map((l) => [l.id, l.name, l.total])).toEqual(spec.carParks.map((p) => [p.id, p.nameEn, Object.values(p.capacityByType).reduce((a, b) => a + b, 0)]));
    const p4 = city.lots.find((l) => l.id === 'P4')!;
    expect(p4).toMatchObject({ state: 'open', free: p4.total - 400 });
    for (const l of city.lots.filter((x) => x.id !== 'P4')) expect(l.state === 'nodata' && l.free === undefined, l.id).toBe(true);
    expect((await ops('val', ['parkapi', '--lang', 'fr'])).code).toBe(2);
  }, 30_000);

  it('traffic: the city, the corridor, every road section as the service has it, and the incidents; --class filters; --json for scripts', async () => {
    const est = srv.traffic.current();
    const L = srv.traffic.links;
    const id = srv.traffic.reportIncident('L-I2-I3', 'I3-EB-2-S', 'operator', cc.now() - 60);
    try {
      const out = await ok('val', ['traffic']);
      expect(out).toMatch(/^traffic state: (the counts file|the controllers' live loop counts), \d+ s from /);
      expect(out).toMatch(/\ncity: index \d+\.\d, (free|basically free|lightly congested|moderately congested|heavily congested) \S+\n/);
      expect(out).toMatch(/\ncorridor renmin-rd: index /);
      expect(out).toContain(`\n${L.count} road sections:\n`);
      const k = L.index.get('L-I2-I3')!;
      const row = out.split('\n').find((line) => line.trimStart().startsWith('L-I2-I3 '))!;
      expect(row).toMatch(new RegExp(`I2 → I3 +arterial +\\d+ +\\d+ +${est.travelTimeS[k]!.toFixed(0)} +${est.signalDelayS[k]!.toFixed(0)} `));
      expect(out).toMatch(new RegExp(`\n  ${id} +L-I2-I3 +I3-EB-2-S +`));
      const side = await ok('val', ['traffic', '--class', 'side']);
      const sideCount = [...L.linkClass].filter((c) => c === 2).length;
      expect(side).toContain(`\n${sideCount} road sections:\n`);
      expect(side).not.toMatch(/\n  L-I2-I3 /);
      const json = JSON.parse(await ok('val', ['traffic', '--json'])) as { states: { links: { link_id: string; travel_time_s: number }[] }; incidents: { incidents: { incident_id: string }[] } };
      expect(json.states.links.map((l) => l.link_id)).toEqual(L.ids);
      expect(json.incidents.incidents.map((x) => x.incident_id)).toContain(id);
      // An operator reports one and clears it from the command line; a viewer may not.
      const tBefore = srv.traffic.current().travelTimeS[L.index.get('L-I5-I6')!]!;
      const reported = await ok('alice', ['report-incident', '--link', 'L-I5-I6', '--lanes', '1', '--note', 'stalled bus, lane 2']);
      const rid = /^reported (INC-\d+) on L-I5-I6, 1 lane blocked at \S+ \S+ by alice: stalled bus, lane 2\n$/.exec(reported)?.[1];
      expect(srv.traffic.current().travelTimeS[L.index.get('L-I5-I6')!]).toBeGreaterThan(tBefore);
      expect((await ops('alice', ['report-incident', '--link', 'L-I5-I6', '--lanes', 'two'])).code).toBe(2);
      expect(rid, reported).toBeDefined();
      expect(await ok('val', ['traffic'])).toMatch(new RegExp(`\n  ${rid} +L-I5-I6 +— +\\S+ \\S+ +alice +1\\.00 +stalled bus, lane 2\n`));
      expect((await ops('val', ['report-incident', '--link', 'L-I5-I6'])).code).toBe(1);
      expect(await ok('alice', ['clear-incident', rid!, '--note', 'towed'])).toMatch(new RegExp(`^cleared ${rid} on L-I5-I6, 1 lane blocked at \\S+ \\S+ by alice: stalled bus, lane 2 \\| towed\n$`));
      expect(srv.traffic.current().travelTimeS[L.index.get('L-I5-I6')!]).toBe(tBefore);
      const twice = await ops('alice', ['clear-incident', rid!]);
      expect([twice.code, twice.stderr]).toEqual([1, expect.stringContaining('FAILED_PRECONDITION')]);
      const bad = await ops('val', ['traffic', '--class', 'highway']);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/^greenwave: error \[INVALID_INPUT\]: ops traffic: --class "highway": expected arterial, collector, side/)]);
    } finally {
      srv.traffic.clearIncident(id, cc.now());
    }
  }, 30_000);

  it('deploy --watch exits 1 and names each controller that failed, with its reason, when the controllers are gone', async () => {
    const editFile = join(dir, 'edit-i5.json');
    writeFileSync(editFile, JSON.stringify([{ intersectionId: 'I5', offsetS: 10 }]));
    const id = /^proposed plan (\d+)/.exec(await ok('alice', ['propose', '--edit', editFile, '--reason', 'shift I5']))![1]!;
    await ok('sue', ['approve', id]);
    await cc.field.close();
    const r = await ops('sue', ['deploy', id, '--watch'], true);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rollout finished: confirmed 0, failed 10\n( {2}I\d+: failed — .+\n){10}$/);
    // Units behind one address share a connection attempt, but each failure names its own unit.
    const ids = demo().c.intersectionIds;
    for (const line of r.stdout.split('\n').filter((l) => / {2}I\d+: failed — /.test(l))) {
      const id = /^ {2}(I\d+):/.exec(line)![1]!;
      expect(line).toContain(`unit ${ids.indexOf(id) + 1}:`);
    }
    const json = await ops('val', ['show', id, '--json']);
    expect((JSON.parse(json.stdout) as { deployments: Obj[] }).deployments.map((d) => d['state'])).toEqual(Array(10).fill('failed'));
  }, 60_000);
});
