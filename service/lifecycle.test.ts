/**
 * The plan lifecycle end to end, over gRPC on a real server with a SQLite file and
 * the demo city's ten virtual controllers on Modbus TCP: propose (optimizer and an
 * operator's edit, an unsafe edit refused with the rule named), review, approve
 * under the two-person rule, deploy with each controller's confirmation watched,
 * roll back in one step, locks the optimizer respects, the audit log, and a
 * restart that comes back on the deployed plan. The controllers and the service
 * share a hand-driven clock, so a plan becomes active when the test moves time
 * past the controllers' cycle zero.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadProtos, type RunningServer } from './server.js';
import type { VirtualController } from '../controllers-adapter/virtual/controller.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { startControlCentre, type ControlCentre } from '../test/fixtures/controlCentre.js';
import type { SqliteStorage } from './storage/sqlite.js';
import { wirePlanId } from './deployer.js';

type Obj = Record<string, unknown>;
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
const pkg = grpc.loadPackageDefinition(loadProtos()) as unknown as { greenwave: { v1: Record<string, new (addr: string, creds: grpc.ChannelCredentials) => Client> } };

const dir = mkdtempSync(join(tmpdir(), 'gw-lifecycle-'));
let cc: ControlCentre;
let srv: RunningServer;
let storage: SqliteStorage;
let controllers: readonly VirtualController[];
let ops: Client;
const now = (): number => cc.now();

/** Connects the client to the service as it runs now (again after a restart). */
function connect(): void {
  ops?.close();
  srv = cc.srv;
  storage = cc.storage;
  ops = new pkg.greenwave.v1['OperationsService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
}

async function restart(): Promise<void> {
  ops.close();
  await cc.restart();
  connect();
}

beforeAll(async () => {
  cc = await startControlCentre(dir, { twoPersonRule: true, review: { durationS: 300, seeds: [1] } });
  controllers = cc.controllers;
  connect();
}, 30_000);
afterAll(async () => {
  ops?.close();
  await cc?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(method: string, req: Obj, token: string): Promise<Obj> {
  const meta = new grpc.Metadata();
  meta.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    (ops[method] as (r: Obj, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Obj) => void) => void)(req, meta, { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

async function refused(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Watches a rollout to its end while moving the shared clock on (plans start at each controller's next cycle zero). */
async function watch(rolloutId: string): Promise<Obj[]> {
  const meta = new grpc.Metadata();
  meta.set('authorization', 'Bearer val-viewer-1');
  const stream = (ops['WatchRollout'] as (r: Obj, m: grpc.Metadata) => grpc.ClientReadableStream<Obj>)({ rollout_id: rolloutId }, meta);
  const updates: Obj[] = [];
  const ticker = setInterval(() => cc.advance(5), 20);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (u: Obj) => updates.push(u));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
  } finally {
    clearInterval(ticker);
  }
  return updates;
}

const ix = (id: string) => demo().c.intersectionIds.indexOf(id);
let v1: Obj;
let v1Rollout: string;

describe('plan lifecycle over gRPC', () => {
  it('propose from the optimizer; approval needs a supervisor who is not the author; deploy; each controller confirms', async () => {
    v1 = await call('ProposePlan', { optimizer_at: '17:30', reason: 'evening peak' }, 'sam-supervisor');
    expect(v1).toMatchObject({ version: 1, state: 'proposed', source: 'optimizer', author: 'sam', at: '17:30' });
    expect((v1['plans'] as Obj[]).length).toBe(10);
    // Not approved yet: no deployment.
    expect((await refused(call('DeployPlan', { plan_id: v1['plan_id'] }, 'sue-supervisor'))).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await refused(call('DecidePlan', { plan_id: v1['plan_id'], decision: 'approve' }, 'alice-operator'))).code).toBe(grpc.status.PERMISSION_DENIED);
    const own = await refused(call('DecidePlan', { plan_id: v1['plan_id'], decision: 'approve' }, 'sam-supervisor'));
    expect(own.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(own.details).toMatch(/two-person rule/);
    const approved = await call('DecidePlan', { plan_id: v1['plan_id'], decision: 'approve', comment: 'ok for the evening' }, 'sue-supervisor');
    expect(approved).toMatchObject({ state: 'approved', decisions: [{ actor: 'sue', decision: 'approve' }] });

    const d = await call('DeployPlan', { plan_id: v1['plan_id'] }, 'sue-supervisor');
    v1Rollout = String(d['rollout_id']);
    expect((d['deployments'] as Obj[]).map((x) => x['state'])).toEqual(Array(10).fill('staged'));
    // The service runs the deployed plan at once (SPaT, bus priority).
    const planned = (v1['plans'] as Obj[])[ix('I3')]!;
    expect(srv.state.plan.buffer.offsetS[ix('I3')]).toBeCloseTo(Number(planned['offset_s']), 6);
    const updates = await watch(v1Rollout);
    const last = new Map(updates.map((u) => [(u['deployment'] as Obj)['controller_id'], (u['deployment'] as Obj)['state']]));
    expect([...last.values()]).toEqual(Array(10).fill('confirmed'));
    expect(updates[updates.length - 1]!['in_flight']).toBe(0);
    const wire = wirePlanId(Number(v1['plan_id']));
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wire));
  }, 60_000);

  it("an operator's unsafe edit is refused whole, naming the field and the rule; a safe one is reviewed against the plan in force", async () => {
    const before = ((await call('ListPlans', {}, 'val-viewer-1'))['plans'] as Obj[]).length;
    const unsafe = await refused(call('ProposePlan', { edit: { edits: [{ intersection_id: 'I3', phases: [{ phase_id: demo().c.phaseIds[demo().c.phaseStart[ix('I3')]!]!, green_s: 1 }] }] }, reason: 'try' }, 'alice-operator'));
    expect(unsafe.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(unsafe.details).toMatch(/edits\[0\]\.phases\[0\]\.greenS: .*\(rule (MIN_GREEN|PED_CLEARANCE)\)/);
    expect(((await call('ListPlans', {}, 'val-viewer-1'))['plans'] as Obj[]).length).toBe(before);
    expect((await refused(call('ProposePlan', { edit: { edits: [{ intersection_id: 'I3', offset_s: 10 }] }, reason: 'x' }, 'val-viewer-1'))).code).toBe(grpc.status.PERMISSION_DENIED);

    const i3 = ix('I3');
    const newOffset = (srv.state.plan.buffer.offsetS[i3]! + 20) % srv.state.plan.buffer.cycleS[i3]!;
    const v2 = await call('ProposePlan', { edit: { base_plan_id: v1['plan_id'], edits: [{ intersection_id: 'I3', offset_s: newOffset }] }, reason: 'platoon arrives early at I3' }, 'alice-operator');
    expect(v2).toMatchObject({ version: 2, state: 'proposed', source: 'operator', parent_version: 1 });
    const review = await call('ReviewPlan', { plan_id: v2['plan_id'] }, 'val-viewer-1');
    expect(review['diff']).toEqual([{ intersection_id: 'I3', changes: [{ field: 'offsetS', before: expect.closeTo(srv.state.plan.buffer.offsetS[i3]!, 6), after: expect.closeTo(newOffset, 6) }], phases: [] }]);
    const sb = review['simulated_before'] as Obj;
    const sa = review['simulated_after'] as Obj;
    expect(Number(sb['mean_delay_s'])).toBeGreaterThan(0);
    expect(Number(sa['throughput_veh_per_h'])).toBeGreaterThan(0);
    // Only I3 moved: elsewhere the same seeds give the same traffic until I3's platoons reach it, so the sides differ only a little.
    expect(Object.keys(sa['intersection_delay_s'] as Obj)).toHaveLength(10);
    expect((review['bands_before'] as Obj[])[0]).toMatchObject({ corridor_id: 'renmin-rd' });
    expect(review['seeds']).toEqual([1]);
    await call('DecidePlan', { plan_id: v2['plan_id'], decision: 'reject', comment: 'band worse' }, 'sue-supervisor');
    const rejected = await refused(call('DecidePlan', { plan_id: v2['plan_id'], decision: 'approve' }, 'sam-supervisor'));
    expect(rejected.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(rejected.details).toMatch(/rejected by sue/);
  }, 60_000);

  it('locks: a corridor cycle lock and an intersection pin are kept by the optimizer; one lock per scope', async () => {
    const cycleLock = await call('SetLock', { scope_kind: 'corridor', scope_id: 'renmin-rd', what: 'cycle', cycle_s: 120, reason: 'school run' }, 'alice-operator');
    expect(cycleLock).toMatchObject({ scope_kind: 'corridor', what: 'cycle', cycle_s: 120, author: 'alice', released: false });
    expect((await refused(call('SetLock', { scope_kind: 'corridor', scope_id: 'renmin-rd', what: 'cycle', cycle_s: 100, reason: 'again' }, 'alice-operator'))).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await refused(call('SetLock', { scope_kind: 'corridor', scope_id: 'nowhere', what: 'cycle', cycle_s: 100, reason: 'x' }, 'alice-operator'))).code).toBe(grpc.status.NOT_FOUND);
    const pin = await call('SetLock', { scope_kind: 'intersection', scope_id: 'I9', what: 'plan', plan_id: v1['plan_id'], reason: 'works as is' }, 'alice-operator');
    const p = await call('ProposePlan', { optimizer_at: '08:00', reason: 'morning with locks' }, 'alice-operator');
    const plans = p['plans'] as Obj[];
    for (const id of demo().c.network.corridors[0]!.intersections) expect(plans[ix(id)]!['cycle_s']).toBe(120);
    // The pinned signal keeps v1's timing exactly; its delay is that timing's on this morning's demand.
    const timing = (x: Obj) => ({ cycle: x['cycle_s'], offset: x['offset_s'], phases: x['phases'] });
    const v1I9 = (v1['plans'] as Obj[])[ix('I9')]!;
    expect(timing(plans[ix('I9')]!)).toEqual(timing(v1I9));
    expect(plans[ix('I9')]!['delay_s_per_veh']).not.toBe(v1I9['delay_s_per_veh']);
    await call('ReleaseLock', { lock_id: cycleLock['lock_id'], reason: 'term ended' }, 'alice-operator');
    await call('ReleaseLock', { lock_id: pin['lock_id'], reason: 'done' }, 'alice-operator');
    expect((await call('ListLocks', {}, 'val-viewer-1'))['locks']).toEqual([]);
    expect(((await call('ListLocks', { include_released: true }, 'val-viewer-1'))['locks'] as Obj[]).length).toBe(2);
  }, 60_000);

  it('roll back to an earlier version in one step; the audit log shows who did what; a restart comes back on the deployed plan', async () => {
    // Deploy an approved edit (v4), then roll back to v1.
    const i5 = ix('I5');
    const edit = await call('ProposePlan', { edit: { edits: [{ intersection_id: 'I5', offset_s: (srv.state.plan.buffer.offsetS[i5]! + 30) % srv.state.plan.buffer.cycleS[i5]! }] }, reason: 'shift I5' }, 'alice-operator');
    await call('DecidePlan', { plan_id: edit['plan_id'], decision: 'approve' }, 'sam-supervisor');
    await watch(String((await call('DeployPlan', { plan_id: edit['plan_id'] }, 'sam-supervisor'))['rollout_id']));
    expect(controllers[i5]!.state().activePlanId).toBe(wirePlanId(Number(edit['plan_id'])));

    expect((await refused(call('RollbackPlan', { version: 1, reason: 'x' }, 'alice-operator'))).code).toBe(grpc.status.PERMISSION_DENIED);
    // A version that was never approved is not a rollback target.
    expect((await refused(call('RollbackPlan', { version: 2, reason: 'x' }, 'sue-supervisor'))).code).toBe(grpc.status.FAILED_PRECONDITION);
    const rb = await call('RollbackPlan', { version: 1, reason: 'complaints from I5' }, 'sue-supervisor');
    const rbPlan = await call('GetPlanVersion', { plan_id: rb['plan_id'] }, 'val-viewer-1');
    expect(rbPlan).toMatchObject({ state: 'approved', rollback_of_version: 1, parent_version: 1, source: 'operator' });
    expect(rbPlan['plans']).toEqual(v1['plans']);
    const updates = await watch(String(rb['rollout_id']));
    expect(updates.filter((u) => (u['deployment'] as Obj)['state'] === 'confirmed')).toHaveLength(10);
    expect(controllers.map((k) => k.state().activePlanId)).toEqual(Array(10).fill(wirePlanId(Number(rb['plan_id']))));

    expect((await refused(call('ListAuditEvents', {}, 'val-viewer-1'))).code).toBe(grpc.status.PERMISSION_DENIED);
    const audit = (await call('ListAuditEvents', { action_prefix: 'plan.', actor: 'sue' }, 'sam-supervisor'))['events'] as Obj[];
    expect(audit.map((a) => a['action'])).toEqual(['plan.approve', 'plan.reject', 'plan.save', 'plan.approve']);
    expect(audit.every((a) => String(a['peer']).includes('127.0.0.1'))).toBe(true);

    // Restart on the same database: the service runs the rolled-back plan, not a re-computation for --at.
    await restart();
    expect(srv.state.plan.buffer.offsetS[i5]).toBeCloseTo(Number(((v1['plans'] as Obj[])[i5]!)['offset_s']), 6);
    expect((await storage.verifyAudit()).ok).toBe(true);
    shiftedI5 = Number(edit['plan_id']);
  }, 90_000);

  it('a time-of-day schedule is deployed as one: tables in every controller, each period committed at its switch, manual changes refused until it is stopped', async () => {
    const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const minute = Math.floor(now() / 60) % 1440;
    // v1 from a minute ago, the I5 shift from ten minutes on (v1's first cycle zero comes well before).
    const entries = [
      { start: hhmm((minute + 1439) % 1440), plan_id: v1['plan_id'] },
      { start: hhmm((minute + 10) % 1440), plan_id: shiftedI5 },
    ];
    const bad = await refused(call('ProposeSchedule', { entries: [...entries, { start: hhmm((minute + 20) % 1440), plan_id: 2 }], reason: 'day' }, 'alice-operator'));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/entries\[2\]\.plan_id: plan 2 is rejected/);
    const sched = await call('ProposeSchedule', { entries, reason: 'weekday' }, 'alice-operator');
    expect(sched).toMatchObject({ kind: 'schedule', state: 'proposed' });
    expect((await refused(call('DeploySchedule', { plan_id: sched['plan_id'] }, 'sue-supervisor'))).code).toBe(grpc.status.FAILED_PRECONDITION);
    await call('DecidePlan', { plan_id: sched['plan_id'], decision: 'approve' }, 'sue-supervisor');
    const deployed = await call('DeploySchedule', { plan_id: sched['plan_id'] }, 'sue-supervisor');
    expect(deployed).toMatchObject({ confirmed: 10, failed: [] });

    // The controllers' own register 281 (what their table says is due) is what they end up running.
    const w1 = wirePlanId(Number(v1['plan_id']));
    const w5 = wirePlanId(shiftedI5);
    expect(controllers.map((k) => k.scheduledPlanId(now()))).toEqual(Array(10).fill(w1));
    await advanceUntil(() => controllers.every((k) => k.state().activePlanId === w1), 1);
    expect((await call('GetSchedule', {}, 'val-viewer-1'))).toMatchObject({ running: true, plan_id: sched['plan_id'], due: { plan_id: v1['plan_id'] }, in_force_plan_id: v1['plan_id'] });
    // Manual changes would be undone at the next switch: refused while the schedule runs.
    expect((await refused(call('DeployPlan', { plan_id: shiftedI5 }, 'sue-supervisor'))).details).toMatch(/schedule .* is running/);
    const timing = new pkg.greenwave.v1['TimingService']!(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    const meta = new grpc.Metadata();
    meta.set('authorization', 'Bearer alice-operator');
    const replan = await new Promise<grpc.ServiceError | null>((resolve) => (timing['Replan'] as (r: Obj, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)({ at: '12:00' }, meta, (e) => resolve(e)));
    timing.close();
    expect(replan?.code).toBe(grpc.status.FAILED_PRECONDITION);

    // A restart resumes the schedule in force (from the deployment record), in the background.
    await restart();
    for (let k = 0; !(await call('GetSchedule', {}, 'val-viewer-1'))['running']; k++) {
      if (k > 100) throw new Error('the schedule did not resume');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await refused(call('DeployPlan', { plan_id: shiftedI5 }, 'sue-supervisor'))).code).toBe(grpc.status.FAILED_PRECONDITION);

    // Past the second switch: the next period's plan is committed everywhere.
    await advanceUntil(() => controllers.every((k) => k.state().activePlanId === w5 && k.scheduledPlanId(now()) === w5), 60);
    expect(srv.state.plan.buffer.offsetS[ix('I5')]).not.toBeCloseTo(Number(((v1['plans'] as Obj[])[ix('I5')]!)['offset_s']), 3);

    expect((await refused(call('StopSchedule', { reason: 'x' }, 'alice-operator'))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await call('StopSchedule', { reason: 'holiday' }, 'sue-supervisor')).toMatchObject({ confirmed: 10 });
    expect(await call('GetSchedule', {}, 'val-viewer-1')).toMatchObject({ running: false, entries: [] });
    expect(controllers.map((k) => k.scheduledPlanId(now()))).toEqual(Array(10).fill(0));
    expect((await storage.verifyAudit()).ok).toBe(true);
  }, 90_000);
});

let shiftedI5 = 0;

/** Moves the shared clock on by `stepS` every 20 ms until `ok` (a schedule's switch, a plan's cycle zero). */
async function advanceUntil(ok: () => boolean, stepS: number, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    cc.advance(stepS);
    await new Promise((r) => setTimeout(r, 20));
  }
}
