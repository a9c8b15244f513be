/**
 * Diversion guidance on live loop counts, end to end: the demo city's ten virtual controllers
 * on Modbus TCP and `startServer` on a SQLite file (test/fixtures/controlCentre.ts, a
 * hand-driven clock) with `--diversion`, and a virtual sign behind its own Modbus TCP server.
 * The link state the guide reads comes from the counts collected from the controllers
 * (./countCollector.ts → ./trafficState.ts `applyLive`), not from the counts file: the service
 * starts on the file and the sign shows both routes' minutes; the same light counts put on
 * every loop of both routes through the controllers keep it so; then the main route's loops
 * (I2 and I3 eastbound) count far past their capacity, through the controllers only, and the
 * sign switches to 前方拥堵 / 请绕行. The counts file never changes, so only the live counts
 * can move the sign. The decision point has a plan, so the switch also proposes it for review
 * (stored, not approved, not deployed), once per diversion; when the main route is light again
 * the diversion ends and the service withdraws the plan nobody approved. As in ./diversionServe.test.ts the "alternative" is another stretch of
 * Renmin Rd standing in for a parallel road (the demo city has none).
 *
 * On the same control centre (one start for both tests), the diversion plan
 * (engine/traffic/diversionPlan.ts) through the plan lifecycle over gRPC: an operator proposes
 * it (`ProposePlan` with `diversion`: Renmin Rd's eastbound through flow at I3 moved onto I3's
 * eastbound left turn), the one validator checks it whole before it is stored, the left turn's
 * phases get a larger share of the cycle than in the plan for the same interval without the
 * diversion, a request naming a movement no lane serves is refused with its field path and
 * nothing is stored, a supervisor approves and deploys it, and every controller confirms it.
 * No worker is started (the plan is made in-process), so it needs no build.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ControllerServer } from '../controllers-adapter/modbus/server.js';
import { detectorRange } from '../controllers-adapter/virtual/detectors.js';
import { VirtualSign } from '../controllers-adapter/virtual/sign.js';
import { SIGN_LINE_KIND } from '../controllers-adapter/signBlock.js';
import { demo } from '../test/fixtures/grpc/demo.js';
import { makeLogger } from './logging.js';
import * as grpc from '@grpc/grpc-js';
import { demandFor } from '../engine/demand.js';
import { planNetwork } from '../engine/plan.js';
import { movementIndex } from '../engine/network/geometry.js';
import { APPROACH_IDS } from '../engine/network/schema.js';
import { greenwaveStubs, type GrpcClient } from '../test/fixtures/grpc/client.js';
import { storedPlanBuffer, wirePlanId } from './deployer.js';
import { DIVERSION_AUTHOR } from './diversionSigns.js';
import { startControlCentre, T0_S, TEST_TOKENS, type ControlCentre } from '../test/fixtures/controlCentre.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-diversion-live-'));
/** The main route: Renmin Rd eastbound into I2, then into I3; the alternative: eastbound into I6, then I7. */
const MAIN = ['L-I1-I2', 'L-I2-I3'];
const ALT = ['L-I5-I6', 'L-I6-I7'];
type Obj = Record<string, unknown>;
let cc: ControlCentre;
let ops: GrpcClient;
let signServer: ControllerServer<VirtualSign>;
const sign = new VirtualSign(T0_S);

beforeAll(async () => {
  signServer = await ControllerServer.start([{ unitId: 1, controller: sign }]);
  const file = join(dir, 'diversion.json');
  writeFileSync(
    file,
    JSON.stringify({
      options: { onMarginS: 60, offMarginS: 20, minHoldS: 0 },
      decisionPoints: [
        {
          id: 'DP1',
          signId: 'D1',
          unitId: 1,
          endpoint: { host: '127.0.0.1', port: signServer.port },
          // Proposed for review when DP1 starts diverting: I3's eastbound through flow onto its eastbound left turn.
          plan: { vehPerH: 300, from: [{ intersection: 'I3', movement: 'EBT' }], to: [{ intersection: 'I3', movement: 'EBL' }] },
          routes: [
            { id: 'main', nameZh: '人民路', nameEn: 'Renmin Rd', direction: 'ahead', links: MAIN },
            { id: 'alt', nameZh: '人民路东段', nameEn: 'Renmin Rd east', direction: 'left', links: ALT },
          ],
        },
      ],
    }),
  );
  // Errors only: the controllers keep no event log here, and the event collector says so for each.
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  cc = await startControlCentre(dir, { countIntervalS: 60, diversion: file, logger: makeLogger('error', quiet), signOptions: { periodMs: 3_600_000, client: { timeoutMs: 1000, retries: 1, backoffMs: 10 } } });
  ops = new (greenwaveStubs()['OperationsService']!)(`127.0.0.1:${cc.srv.port}`, grpc.credentials.createInsecure());
}, 30_000);
afterAll(async () => {
  ops?.close();
  await cc?.close();
  await signServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the controllers’ live counts drive the diversion sign: light counts keep the travel times, the main route overloaded through the controllers switches it to 请绕行', async () => {
  const { c } = demo();
  const srv = cc.srv;
  const linkIndex = (id: string) => srv.traffic.links.index.get(id)!;
  const time = (ids: readonly string[]) => ids.reduce((t, id) => t + srv.traffic.current().travelTimeS[linkIndex(id)]!, 0);
  // The loops (global detector index → controller and its local index) of the approaches feeding each route's links.
  const loopsOf = (approaches: readonly string[]) =>
    c.detectorIds.flatMap((id, d) => {
      if (!approaches.some((a) => id.startsWith(`${a}-`))) return [];
      const i = c.intersectionIds.indexOf(id.slice(0, id.indexOf('-')));
      return [{ i, local: d - detectorRange(c, i).start }];
    });
  const mainLoops = loopsOf(['I2-EB', 'I3-EB']);
  const altLoops = loopsOf(['I6-EB', 'I7-EB']);
  expect(mainLoops.length).toBeGreaterThanOrEqual(8);
  expect(altLoops.length).toBeGreaterThanOrEqual(4);
  /** One minute of counts on the controllers (veh per loop, and the occupancy that goes with it), collected at once. */
  const minute = async (mainVeh: number, altVeh: number) => {
    for (const { i, local } of mainLoops) cc.controllers[i]!.addDetectorCounts(local, mainVeh, mainVeh * 2);
    for (const { i, local } of altLoops) cc.controllers[i]!.addDetectorCounts(local, altVeh, altVeh * 2);
    cc.advance(60 - (cc.now() % 60) + 1);
    await srv.counts!.tick();
  };
  /** One sign round, then what the sign shows. */
  const shown = async () => {
    const before = sign.commits;
    await srv.diversion!.tick();
    for (let k = 0; k < 100 && sign.commits === before && srv.diversion!.pusher!.states()[0]!.pushes === 0; k++) await new Promise((r) => setTimeout(r, 20));
    return sign.shown()?.lines.map((l) => l.kind);
  };

  // On the counts file: no diversion.
  expect(srv.traffic.isLive).toBe(false);
  expect(await shown()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  const fileMain = time(MAIN);

  // Light live counts on both routes (6 veh a minute a loop): live once they span two of the
  // plan's longest cycles (the first minute is a partial one), and still no diversion.
  for (let k = 0; k < 6; k++) await minute(6, 6);
  expect(srv.traffic.isLive).toBe(true);
  expect(await shown()).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  const lightMain = time(MAIN);
  expect(Math.abs(time(MAIN) - time(ALT))).toBeLessThan(60);

  // The main route's loops count 40 veh a minute each (2,400 veh/h a lane, past any green's
  // capacity), the alternative's stay light: the live link state makes the main route slow and the sign says divert.
  for (let k = 0; k < 5; k++) await minute(40, 6);
  const main = time(MAIN);
  const alt = time(ALT);
  expect(main - alt).toBeGreaterThan(60);
  expect(main).toBeGreaterThan(lightMain + 60);
  expect(main).not.toBeCloseTo(fileMain, 0); // not the counts file's state
  expect(await shown()).toEqual([SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]);
  expect(sign.shown()!.lines.map((l) => l.freeSpaces)).toEqual([Math.max(1, Math.round(main / 60)), Math.max(1, Math.round(alt / 60))]);
  expect(srv.diversion!.messages()[0]).toMatchObject({ decisionPointId: 'DP1', divertTo: 1, textZh: '前方拥堵 请绕行人民路东段' });
  expect(srv.diversion!.pusher!.states()[0]!.failures).toBe(0);

  // DP1 has a plan: starting to divert proposed it for review, by the service, checked whole by
  // the one validator and stored as a proposal; nothing was approved or deployed by itself.
  let plans: Obj[] = [];
  for (let k = 0; k < 200 && plans.length === 0; k++) {
    plans = ((await call('ListPlans', {}, TEST_TOKENS.val))['plans'] as Obj[] | undefined) ?? [];
    if (plans.length === 0) await new Promise((r) => setTimeout(r, 25));
  }
  expect(plans).toHaveLength(1);
  expect(plans[0]).toMatchObject({ version: 1, state: 'proposed', source: 'optimizer', author: DIVERSION_AUTHOR, kind: 'plan' });
  expect(String(plans[0]!['reason'])).toMatch(/^diversion DP1 to alt started: main \d+ s, alt \d+ s$/);
  const auto = (await cc.storage.getTimingPlan(Number(plans[0]!['plan_id'])))!;
  expect((auto.body as { diversion?: unknown }).diversion).toEqual({ decisionPointId: 'DP1', from: [{ intersection: 'I3', movement: movementIndex(APPROACH_IDS.indexOf('EB'), 1) }], to: [{ intersection: 'I3', movement: movementIndex(APPROACH_IDS.indexOf('EB'), 0) }], vehPerH: 300 });
  expect(await cc.storage.listDeployments({ planId: Number(plans[0]!['plan_id']) })).toEqual([]);
  // Diverting on: no second proposal.
  await minute(40, 6);
  expect(await shown()).toEqual([SIGN_LINE_KIND.congested, SIGN_LINE_KIND.divert]);
  await new Promise((r) => setTimeout(r, 100));
  expect(((await call('ListPlans', {}, TEST_TOKENS.val))['plans'] as Obj[]).length).toBe(1);

  // The main route light again: the diversion ends before anyone approved its plan, and the
  // service withdraws it (its author's rejection), so that it cannot be approved and deployed
  // when nothing diverts.
  let showing: number[] | undefined;
  for (let k = 0; k < 8 && showing?.[0] !== SIGN_LINE_KIND.travelTime; k++) {
    await minute(6, 6);
    showing = await shown();
  }
  expect(showing).toEqual([SIGN_LINE_KIND.travelTime, SIGN_LINE_KIND.travelTime]);
  let st: Obj = {};
  for (let k = 0; k < 200 && st['state'] !== 'rejected'; k++) {
    st = ((await call('ListPlans', {}, TEST_TOKENS.val))['plans'] as Obj[])[0]!;
    if (st['state'] !== 'rejected') await new Promise((r) => setTimeout(r, 25));
  }
  expect(st).toMatchObject({ version: 1, state: 'rejected' });
  const decisions = await cc.storage.planDecisions(Number(plans[0]!['plan_id']));
  expect(decisions.map((d) => [d.actor, d.decision, d.comment])).toEqual([[DIVERSION_AUTHOR, 'reject', 'diversion DP1 ended before this plan was approved']]);
}, 30_000);

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
  // Only the plan the first test's diversion proposed.
  expect(((await call('ListPlans', {}, TEST_TOKENS.val))['plans'] as Obj[]).length).toBe(1);

  const v = await call('ProposePlan', { diversion, reason: 'incident on Renmin Rd east of I3' }, TEST_TOKENS.alice);
  expect(v).toMatchObject({ version: 2, state: 'proposed', source: 'optimizer', author: 'alice', at, kind: 'plan' });
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
