/**
 * The diversion plan (engine/traffic/diversionPlan.ts) through the plan lifecycle, over gRPC on
 * a real server with a SQLite file and the demo city's ten virtual controllers on Modbus TCP
 * (test/fixtures/controlCentre.ts): an operator proposes it (`ProposePlan` with `diversion`:
 * Renmin Rd's eastbound through flow at I3 moved onto I3's eastbound left turn), the one
 * validator checks it whole before it is stored, the left turn's phases get a larger share of
 * the cycle than in the plan for the same interval without the diversion, a request naming a
 * movement no lane serves is refused with its field path and nothing is stored, a supervisor
 * approves it and deploys it, and every controller confirms it. No worker is started (the plan
 * is made in-process), so it needs no build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demandFor } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { movementIndex } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { startControlCentre, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';
import { greenwaveStubs, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { storedPlanBuffer, wirePlanId } from './deployer.js';

type Obj = Record<string, unknown>;
const dir = mkdtempSync(join(tmpdir(), 'gw-diversion-plan-'));
let cc: ControlCentre;
let ops: GrpcClient;

beforeAll(async () => {
  cc = await startControlCentre(dir, {});
  ops = new (greenwaveStubs()['OperationsService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
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

test('a diversion plan is proposed, validated, approved and deployed like any plan; its alternative turn gets more of the cycle', async () => {
  const c = cc.srv.state.c;
  const i3 = c.intersectionIds.indexOf('I3');
  const EB = APPROACH_IDS.indexOf('EB');
  const SB = APPROACH_IDS.indexOf('SB');
  const through = movementIndex(EB, 1);
  const left = movementIndex(EB, 0);
  const at = '08:00';
  const diversion = { at, decision_point_id: 'DP1', main_movements: [{ intersection_id: 'I3', movement: through }], alternative_movements: [{ intersection_id: 'I3', movement: left }], veh_per_h: 300 };

  // A movement no lane serves: refused with the field path, nothing stored.
  const bad = await call('ProposePlan', { diversion: { ...diversion, alternative_movements: [{ intersection_id: 'I3', movement: movementIndex(SB, 3) }] }, reason: 'x' }, TEST_TOKENS.alice).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  expect(bad?.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(bad?.details).toMatch(/to\[0\]\.movement/);
  expect((await call('ListPlans', {}, TEST_TOKENS.val))['plans'] ?? []).toEqual([]);

  const v = await call('ProposePlan', { diversion, reason: 'incident on Renmin Rd east of I3' }, TEST_TOKENS.alice);
  expect(v).toMatchObject({ version: 1, state: 'proposed', source: 'optimizer', author: 'alice', at, kind: 'plan' });
  const stored = (await cc.storage.getTimingPlan(Number(v['plan_id'])))!;
  expect((stored.body as { diversion?: unknown }).diversion).toEqual({ decisionPointId: 'DP1', from: [{ intersection: 'I3', movement: through }], to: [{ intersection: 'I3', movement: left }], vehPerH: 300 });
  // Against the plan for the same interval without the diversion: I3's phases protecting the
  // eastbound left turn get a larger share of the cycle.
  const p = storedPlanBuffer(c, stored);
  const demand = demandFor(cc.srv.state.prepared, at);
  const base = planNetwork(c, demand.volumeVeh, demand.intervalS).buffer;
  const leftShare = (b: typeof p) => {
    let g = 0;
    for (let ph = c.phaseStart[i3]!; ph < c.phaseStart[i3 + 1]!; ph++) if ((c.phaseProtectedMask[ph]! >> left) & 1) g += b.phaseGreenS[ph]!;
    return g / b.cycleS[i3]!;
  };
  expect(leftShare(base)).toBeGreaterThan(0);
  expect(leftShare(p)).toBeGreaterThan(leftShare(base) + 0.05); // 12.5 % → 26.7 % of the cycle

  // Approve (a supervisor) and deploy: every controller confirms the diversion plan.
  expect(await call('DecidePlan', { plan_id: v['plan_id'], decision: 'approve', comment: 'while DP1 diverts' }, TEST_TOKENS.sue)).toMatchObject({ state: 'approved' });
  const d = await call('DeployPlan', { plan_id: v['plan_id'] }, TEST_TOKENS.sue);
  expect((d['deployments'] as Obj[]).map((x) => x['state'])).toEqual(Array(10).fill('staged'));
  const wire = wirePlanId(Number(v['plan_id']));
  for (let k = 0; k < 400 && !cc.controllers.every((x) => x.state().activePlanId === wire); k++) {
    cc.advance(5);
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(cc.controllers.map((x) => x.state().activePlanId)).toEqual(Array(10).fill(wire));
  expect(cc.srv.state.plan.buffer.phaseGreenS[c.phaseStart[i3]!]).toBeCloseTo(p.phaseGreenS[c.phaseStart[i3]!]!, 6);
}, 30_000);
