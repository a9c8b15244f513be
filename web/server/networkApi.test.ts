/**
 * The network and intersection pages' API (./networkApi.ts, ./intersectionApi.ts)
 * on a real `startServer` (demo city, SQLite file holding ten simulated minutes
 * of controller events from the simulator's event recorder, a fixed service
 * clock just after them) over plain fetch: the schematic's intersections and
 * links are the network file's, with the detector faults the planner flagged;
 * the live state of every signal has green exactly the phases the plan has
 * green at that time in cycle; the intersection's timing is the plan's; its
 * measures come from the stored events (a fixed-time plan's measured splits
 * are its planned splits, each PCD arrival is coloured by where it falls in its
 * cycle), and a range without events, or a service without storage, says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../service/server.js';
import { TokenStore } from '../../service/auth.js';
import { SqliteStorage } from '../../service/storage/sqlite.js';
import { mod } from '../../engine/numeric.js';
import { Simulation } from '../../simulator/simulation.js';
import { movementFlowsFromLanes } from '../../simulator/demand.js';
import { SimEventRecorder } from '../../simulator/events.js';
import { hashPassword, UserStore } from './users.js';
import { intersectionRoutes } from './intersectionApi.js';
import { LiveDetectorHealth } from './liveDetectorHealth.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-console-net-'));
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const RUN_S = 600;
let storage: SqliteStorage;
let srv: RunningServer;
let base: string;
let cookie: string;
type Json = Record<string, unknown>;

beforeAll(async () => {
  storage = await SqliteStorage.open({ path: join(dir, 'gw.db') });
  const users = new UserStore([{ user: 'val', passwordScrypt: await hashPassword('val-password'), roles: ['viewer'] }]);
  srv = await startServer({ insecure: true, port: 0, tokens: new TokenStore([{ token: 'unused-token', client: 'nobody', roles: ['viewer'] }]), storage, webPort: 0, users, clock: () => T0 / 1000 + RUN_S + 30 });
  // The events a fixed-time run of the service's own plan logs, stored as the collector would.
  const { c, plan } = srv.state;
  const sim = new Simulation(c, plan.buffer, { movementFlowVehPerH: movementFlowsFromLanes(c, plan.buffer.laneFlowVehPerH) }, { seed: 3 });
  const rec = new SimEventRecorder(sim, { epochMs: T0 });
  sim.runUntil(RUN_S);
  const records = rec.events.records();
  for (let k = 0; k < records.length; k += 5000) await storage.insertEvents({ user: 'test' }, records.slice(k, k + 5000));
  base = `http://127.0.0.1:${srv.webPort}/`;
  const res = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'val', password: 'val-password' }) });
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}, 60_000);

afterAll(async () => {
  await srv?.close();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string, withCookie = true): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, { headers: withCookie ? { cookie } : {} });
  return { status: res.status, json: (await res.json()) as Json };
};

describe('network and intersection API', () => {
  it("draws the network file's intersections and links, with the detectors the planner flagged", async () => {
    const { status, json } = await get('api/network/map');
    expect(status).toBe(200);
    // No counts collected in this storage: the planner's view of the counts file, and the page is told why.
    expect(json['health']).toMatchObject({ source: 'startup', fallbackReason: 'NO_COUNTS' });
    const net = srv.state.c.network;
    const ixs = json['intersections'] as { id: string; lon: number; lat: number; detectors: number; unhealthyDetectors: number; substitutedDetectors: number; approaches: string[] }[];
    expect(ixs.map((x) => [x.id, x.lon, x.lat])).toEqual(net.intersections.map((x) => [x.id, x.position.lon, x.position.lat]));
    expect(ixs.map((x) => x.detectors)).toEqual(net.intersections.map((x) => x.detectors.length));
    expect((json['links'] as { from: string; to: string }[]).map((l) => `${l.from}>${l.to}`)).toEqual(net.links.map((l) => `${l.from}>${l.to}`));
    // Substituted cells in the health window are the planner's substitutions there, detector by detector.
    const one = (await get('api/intersections/I4')).json['health'] as { windowFrom: string; windowTo: string; detectors: { id: string; substituted: { intervalStart: string; method: string }[]; faultsInFile: Record<string, number> }[] };
    const from = Date.parse(`${one.windowFrom}Z`);
    const to = Date.parse(`${one.windowTo}Z`);
    for (const d of one.detectors) {
      const want = srv.state.prepared.faults.substitutions.filter((s) => s.detectorId === d.id && s.intervalStartMs >= from && s.intervalStartMs <= to);
      expect(d.substituted.map((s) => [Date.parse(`${s.intervalStart}Z`), s.method]), d.id).toEqual(want.map((s) => [s.intervalStartMs, s.method]));
      const inFile = srv.state.prepared.faults.faultyDetectors.find((f) => f.detectorId === d.id)?.faults;
      expect(Object.values(d.faultsInFile).reduce((a, b) => a + b, 0)).toBe(inFile ? Object.values(inFile).reduce((a, b) => a + b, 0) : 0);
    }
    expect(ixs.find((x) => x.id === 'I4')!.substitutedDetectors).toBe(one.detectors.filter((d) => d.substituted.length > 0).length);
    expect((await get('api/network/map', false)).status).toBe(401);
  });

  it('streams every signal with green exactly the phases the plan has green at its time in cycle', async () => {
    const res = await fetch(`${base}api/network/signals`, { headers: { cookie } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const live = JSON.parse(/^event: signals\ndata: (.*)$/m.exec(text)![1]!) as { tS: number; signals: { id: string; cycleS: number; cycleTimeS: number; greenPhaseIds: string[]; movements: Record<string, string> }[] };
    const { c, plan } = srv.state;
    expect(live.signals.map((s) => s.id)).toEqual(c.intersectionIds);
    let judged = 0;
    for (const s of live.signals) {
      const i = c.intersectionIds.indexOf(s.id);
      expect(s.cycleS).toBeCloseTo(plan.buffer.cycleS[i]!, 6);
      expect(s.cycleTimeS).toBeCloseTo(mod(live.tS - plan.buffer.offsetS[i]!, plan.buffer.cycleS[i]!), 2);
      for (let p = c.phaseStart[i]!; p < c.phaseStart[i + 1]!; p++) {
        const into = s.cycleTimeS - plan.buffer.phaseStartS[p]!;
        if (Math.abs(into) < 0.1 || Math.abs(into - plan.buffer.phaseGreenS[p]!) < 0.1) continue;
        expect(s.greenPhaseIds.includes(c.phaseIds[p]!), `${s.id} ${c.phaseIds[p]} at ${s.cycleTimeS}`).toBe(into > 0 && into < plan.buffer.phaseGreenS[p]!);
        judged++;
      }
      expect(Object.values(s.movements).every((m) => ['protected', 'permitted', 'clearance', 'stop'].includes(m))).toBe(true);
    }
    expect(judged).toBeGreaterThan(30);
    expect((await get('api/network/signals?id=I99')).status).toBe(404);
  });

  it("gives the intersection's phases in the plan's timing, ring by ring", async () => {
    const { json } = await get('api/intersections/I3');
    const { c, plan } = srv.state;
    const i = c.intersectionIds.indexOf('I3');
    expect(json).toMatchObject({ id: 'I3', phasing: 'ringBarrier', rings: 2, cycleS: plan.buffer.cycleS[i] });
    const phases = json['phases'] as { phaseId: string; ring: number; startS: number; greenS: number }[];
    expect(phases.map((p) => p.phaseId)).toEqual(c.phaseIds.slice(c.phaseStart[i], c.phaseStart[i + 1]));
    phases.forEach((p, k) => {
      const g = c.phaseStart[i]! + k;
      expect(p.ring).toBe(c.phaseRing[g]! + 1);
      expect(p.startS).toBeCloseTo(plan.buffer.phaseStartS[g]!, 1);
      expect(p.greenS).toBeCloseTo(plan.buffer.phaseGreenS[g]!, 1);
    });
    expect((await get('api/intersections/I99')).status).toBe(404);
  });

  it('measures from the stored events: splits as planned, PCD arrivals coloured by their place in the cycle; no events or no storage said so', async () => {
    const { json } = await get('api/intersections/I3/measures');
    expect(json).toMatchObject({ available: true, fromMs: T0 + (RUN_S + 30) * 1000 - 3_600_000, toMs: T0 + (RUN_S + 30) * 1000 });
    expect(json['events']).toBeGreaterThan(1000);
    type Phase = { phaseId: string; plannedSplitS: number; cycles: number; arrivals: number; splits: [number, number, number][]; pcdCycles: [number, number, number, number][]; pcdPoints: [number, number, number][] };
    const phases = json['phases'] as Phase[];
    expect(phases.length).toBeGreaterThan(2);
    let arrivals = 0;
    for (const p of phases) {
      expect(p.cycles, p.phaseId).toBeGreaterThanOrEqual(2);
      for (const [, splitS] of p.splits) expect(splitS, p.phaseId).toBeCloseTo(p.plannedSplitS, 0);
      const cycleAt = new Map(p.pcdCycles.map((cy) => [cy[0], cy]));
      for (const [start, inCycleS, on] of p.pcdPoints) {
        const [, g, y] = cycleAt.get(start)!;
        expect(on).toBe(inCycleS < g ? 0 : inCycleS < y ? 1 : 2);
      }
      expect(p.pcdPoints.length).toBe(p.arrivals);
      arrivals += p.arrivals;
    }
    expect(arrivals).toBeGreaterThan(50);
    expect((await get(`api/intersections/I3/measures?from=${T0 - 7_200_000}&to=${T0 - 3_600_000}`)).json).toMatchObject({ available: false, reason: 'NO_EVENTS' });
    expect((await get(`api/intersections/I3/measures?from=${T0}&to=${T0 - 1}`)).status).toBe(400);
    // The page's ranges count back from the service's clock: the last 10 minutes hold fewer events than the hour.
    const recent = (await get('api/intersections/I3/measures?windowS=600')).json;
    expect(recent).toMatchObject({ available: true, fromMs: T0 + (RUN_S + 30) * 1000 - 600_000 });
    expect(recent['events']).toBeLessThan(json['events'] as number);
    // A service without storage: the same route answers why there is nothing to show.
    const clock = () => T0 / 1000 + RUN_S;
    const routes = intersectionRoutes({ state: srv.state, users: new UserStore([]), lifecycle: undefined, storage: undefined, log: () => undefined, clock }, new LiveDetectorHealth(srv.state, undefined, clock, 60));
    const route = routes.find((r) => r.pattern.test('/api/intersections/I3/measures'))!;
    const url = new URL('http://x/api/intersections/I3/measures');
    expect(await route.handle({ params: ['I3'], url } as never)).toMatchObject({ available: false, reason: 'NO_STORAGE' });
    // …and its detector health is the planner's, saying there is no storage to read collected counts from.
    const info = routes.find((r) => r.pattern.test('/api/intersections/I3'))!;
    expect(((await info.handle({ params: ['I3'], url: new URL('http://x/api/intersections/I3') } as never)) as Json)['health']).toMatchObject({ source: 'startup', fallbackReason: 'NO_STORAGE' });
  });
});
