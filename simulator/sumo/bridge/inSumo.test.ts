/**
 * SUMO in the loop, end to end: SUMO (Debian's, started for real with a
 * TraCI port) runs the two-signal fixture while greenwave's cycle runner
 * drives both lights through our TraCI client and re-plans from SUMO's
 * loops, fixed time and actuated on SUMO's loops. And the lamp monitor, fed
 * bad letters on purpose, flags them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileImport, importSumoNet } from '../importNet.js';
import { createPlanBuffer, planAll, PlanScratch } from '../../../engine/timing/planner.js';
import { CycleRunner } from '../../../engine/runner/cycleRunner.js';
import type { PlanBuffer } from '../../../engine/timing/planner.js';
import { actuatedPlan, CONTROL_COORDINATED, CONTROL_FREE } from '../../../engine/timing/actuated.js';
import { readTripinfo } from '../tripinfo.js';
import { LampMonitor, runInSumo } from './inSumo.js';
import { BusDispatch } from './busDispatch.js';
import { e1Additional, readE1Output } from '../e1.js';
import { readSumoGraph } from '../routes.js';
import { formatCountsCsv } from '../../../engine/counts/csv.js';
import { startServer } from '../../../service/server.js';
import { TokenStore } from '../../../service/auth.js';

const NET = fileURLToPath(new URL('../../../test/fixtures/sumo/two-signals.net.xml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gw-insumo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROUTES = readFileSync(new URL('../../../test/fixtures/sumo/two-signals.rou.xml', import.meta.url), 'utf8');

function setup() {
  const imported = importSumoNet(readFileSync(NET, 'utf8'), { timingStepS: 1 });
  const c = compileImport(imported);
  const plan = createPlanBuffer(c);
  planAll(c, plan, new PlanScratch());
  return { c, plan, mapping: imported.mapping };
}

describe('SUMO in the loop (TraCI)', () => {
  it('drives both signals of the fixture from greenwave, re-plans from SUMO’s loops, and sends SUMO no unsafe lamp', async () => {
    const routes = join(dir, 'routes.rou.xml');
    writeFileSync(routes, ROUTES);
    const { c, plan, mapping } = setup();
    const r = await runInSumo(c, mapping, plan, { netPath: NET, routesPath: routes, dir, seed: 1, endS: 1200, replanEveryS: 300 });
    expect(r.trips.vehicles).toBe(249);
    expect(r.replans).toBeGreaterThanOrEqual(2);
    expect(r.planSwitches).toBeGreaterThan(0);
    expect(r.conflicts, r.firstViolation).toBe(0);
    expect(r.shortClearances, r.firstViolation).toBe(0);
    // The same routes under the net's own programs, in SUMO alone: greenwave's loop loses less time.
    const own = spawnSync('sumo', ['-n', NET, '-r', routes, '--seed', '1', '--no-step-log', '--tripinfo-output', join(dir, 'own.xml')], { encoding: 'utf8' });
    expect(own.status, own.stderr).toBe(0);
    const base = readTripinfo(readFileSync(join(dir, 'own.xml'), 'utf8'));
    expect(base.vehicles).toBe(249);
    expect(r.trips.meanTimeLossS).toBeLessThan(base.meanTimeLossS);
  }, 60_000);

  it('runs both signals actuated on SUMO’s loops (one coordinated, one free), re-plans, and sends SUMO no unsafe lamp', async () => {
    const routes = join(dir, 'routes.rou.xml');
    writeFileSync(routes, ROUTES);
    const { c, plan, mapping } = setup();
    // The first signal coordinates its east–west through phases, the second runs fully actuated.
    const actuated = (b: PlanBuffer) => actuatedPlan(c, b, [{ intersectionId: c.intersectionIds[0]!, approaches: ['EB', 'WB'] }]);
    expect([...actuated(plan).mode]).toEqual([CONTROL_COORDINATED, CONTROL_FREE]);
    // Re-plans judged in greenwave's simulator, run actuated as they would be in SUMO.
    const r = await runInSumo(c, mapping, plan, { netPath: NET, routesPath: routes, dir, seed: 1, endS: 1200, replanEveryS: 300, actuated, check: { alternatives: 3, horizonS: 300, switchMargin: 0.05 } });
    expect(r.trips.vehicles).toBe(249);
    expect(r.replans).toBeGreaterThanOrEqual(2);
    // SUMO's loops drove the decisions: greens ended on a gap and at force-offs, and phases were skipped or called.
    expect(r.actuation!.gapOuts).toBeGreaterThan(10);
    expect(r.actuation!.forceOffs + r.actuation!.maxOuts).toBeGreaterThan(0);
    expect(r.conflicts, r.firstViolation).toBe(0);
    expect(r.shortClearances, r.firstViolation).toBe(0);
  }, 60_000);

  it('buses in SUMO ask greenwave’s gRPC service for priority, the lights follow its decisions, and nothing unsafe reaches SUMO', async () => {
    const routes = join(dir, 'bus.rou.xml');
    writeFileSync(
      routes,
      ROUTES.replace(
        '</routes>',
        `  <vType id="bus" vClass="bus" length="12" accel="1.0" maxSpeed="16"/>\n  <flow id="bus" type="bus" begin="30" end="570" period="90" from="WC1" to="C2E" departSpeed="max"/>\n</routes>`,
      ),
    );
    const netXml = readFileSync(NET, 'utf8');
    const imported = importSumoNet(netXml, { timingStepS: 1 });
    writeFileSync(join(dir, 'e1.add.xml'), e1Additional(imported.mapping, { periodS: 300, file: 'e1.xml' }));
    const rec = spawnSync('sumo', ['-n', NET, '-r', routes, '-a', join(dir, 'e1.add.xml'), '--end', '600', '--no-step-log'], { cwd: dir, encoding: 'utf8' });
    expect(rec.status, rec.stderr).toBe(0);
    writeFileSync(join(dir, 'network.json'), JSON.stringify(imported.network));
    const ids = imported.network.intersections.flatMap((ix) => ix.detectors.map((d) => d.id));
    writeFileSync(join(dir, 'counts.csv'), formatCountsCsv(readE1Output(readFileSync(join(dir, 'e1.xml'), 'utf8'), ids)));
    let simS = 0;
    const srv = await startServer({ networkPath: join(dir, 'network.json'), countsPath: join(dir, 'counts.csv'), at: '00:05', insecure: true, port: 0, host: '127.0.0.1', tokens: new TokenStore([{ token: 't', client: 'dispatch', roles: ['dispatch'] }]), clock: () => simS });
    try {
      const dispatch = new BusDispatch(imported.mapping, readSumoGraph(netXml), { address: `127.0.0.1:${srv.port}`, token: 't', latenessS: 180 });
      const r = await runInSumo(srv.state.c, imported.mapping, srv.state.plan.buffer, {
        netPath: NET,
        routesPath: routes,
        dir,
        seed: 1,
        endS: 1200,
        priority: { schedule: (i, tS) => srv.state.tsp.cycleAt(i, tS), dispatch, busPrefix: 'bus.', clock: (tS) => (simS = tS) },
      });
      dispatch.close();
      // Six buses, each asking at both signals once, and cancelling once across.
      expect(r.trips.vehicles).toBe(255);
      expect(dispatch.requests).toBe(12);
      expect(dispatch.cancels).toBe(12);
      expect(dispatch.granted).toBeGreaterThan(0);
      expect(dispatch.errors, dispatch.firstError).toBe(0);
      expect(r.conflicts, r.firstViolation).toBe(0);
      expect(r.shortClearances, r.firstViolation).toBe(0);
    } finally {
      srv.server.forceShutdown();
    }
  }, 60_000);

  it('the lamp monitor flags green straight to red and a yellow shorter than the intersection’s', () => {
    const { c, plan, mapping } = setup();
    const heads = new CycleRunner(c, plan, 0);
    heads.update(0);
    const m = new LampMonitor(c, mapping);
    const tls = mapping.intersections[0]!.tlsId;
    const n = mapping.intersections[0]!.linkCount;
    m.observe(0, new Map([[tls, 'G'.repeat(n)]]), heads);
    m.observe(10, new Map([[tls, 'r'.repeat(n)]]), heads);
    expect(m.shortClearances).toBe(n);
    m.observe(20, new Map([[tls, 'G'.repeat(n)]]), heads);
    m.observe(30, new Map([[tls, 'y'.repeat(n)]]), heads);
    m.observe(31, new Map([[tls, 'r'.repeat(n)]]), heads);
    expect(m.shortClearances).toBe(2 * n);
    expect(m.conflicts).toBe(0);
    expect(m.first).toMatch(/green to red without yellow/);
  });
});
