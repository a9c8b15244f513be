/**
 * Issue 15's crash test: a deployment to 50 virtual controllers (a real
 * `greenwave controllers` process on Modbus TCP) is killed with SIGKILL at a
 * random moment, 20 times; after each kill the next process recovers first. Then no
 * deployment is left in flight, every controller runs the plan of its latest
 * confirmed deployment (or that deployment failed with a reason), no plan a
 * controller accepted is lost, and the audit chain verifies.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileNetwork } from '../engine/network/compile.js';
import { loadNetwork } from '../engine/network/validate.js';
import { mulberry32 } from '../engine/numeric.js';
import { planNetwork } from '../engine/plan.js';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { gridNetworkJson, gridVolumes } from '../test/fixtures/gridNetwork.js';
import { deployableBody } from './deployer.js';
import { SqliteStorage } from './storage/sqlite.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const ROUNDS = 20;
const CONTROLLERS = 50;

function waitFor(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

describe('deployment crash test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-crash-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const ch of children) ch.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(`kill -9 during a deployment to ${CONTROLLERS} controllers, ${ROUNDS} times: recovered, nothing committed lost, audit intact`, async () => {
    const json = gridNetworkJson({ rows: 5, cols: 10, colSpacingM: 300, rowSpacingM: 250, minCycleS: 40 });
    const networkPath = join(dir, 'grid.json');
    writeFileSync(networkPath, JSON.stringify(json));
    const c = compileNetwork(loadNetwork(JSON.stringify(json)));
    expect(c.intersectionCount).toBe(CONTROLLERS);
    // Each round's plan differs from the one before it: DEMANDS plans for different demands, taken
    // in turn. Planned here once, warm, rather than cold in each round's process; and not one per
    // round, because planning this grid takes about 1 s of CPU, which was two thirds of the test.
    // Every round stores its own plan version (its own wire plan id) whichever timing it carries.
    const DEMANDS = 3;
    const bodies: string[] = [];
    for (let k = 1; k <= DEMANDS; k++) {
      const plan = planNetwork(c, gridVolumes(c, 500 + 160 * k, 300 + 100 * (k % 4)), 900);
      bodies.push(JSON.stringify(deployableBody(c, plan.buffer, plan.corridors, 'crash test')));
    }
    expect(new Set(bodies).size).toBe(DEMANDS); // the timings differ, not only a label
    for (let round = 1; round <= ROUNDS; round++) writeFileSync(join(dir, `round-${round}.json`), bodies[(round - 1) % DEMANDS]!);
    // Controllers 1000x faster than real time: a 40–60 s cycle takes 40–60 ms.
    const ctl = spawn(process.execPath, [join(DIST, 'cli/main.js'), 'controllers', '--virtual', String(CONTROLLERS), '--network', networkPath, '--port', '0', '--time-scale', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(ctl);
    const port = Number((await waitFor(ctl, /modbus tcp [\d.]+:(\d+)/))[1]);
    const db = join(dir, 'gw.db');
    const child = (round: number, mode: 'deploy' | 'recover') => spawn(process.execPath, [join(DIST, 'test/fixtures/deployChild.js'), db, networkPath, String(port), String(round), mode, join(dir, `round-${round}.json`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const rand = mulberry32(15);
    let killedMidRollout = 0;
    // Each round's process first recovers what the previous round's kill left in flight (as any
    // restart does), then stages and rolls out its own plan, and is killed somewhere in that.
    for (let round = 1; round <= ROUNDS; round++) {
      const d = child(round, 'deploy');
      children.push(d);
      await waitFor(d, /STORED \d+/);
      await new Promise((r) => setTimeout(r, rand() * 250));
      if (d.exitCode === null) killedMidRollout++;
      d.kill('SIGKILL');
      await new Promise((r) => (d.exitCode !== null || d.signalCode !== null ? r(undefined) : d.once('exit', r)));
    }
    const rec = child(ROUNDS + 1, 'recover');
    children.push(rec);
    await waitFor(rec, /RECOVERED/);
    await new Promise((r) => (rec.exitCode !== null ? r(undefined) : rec.once('exit', r)));
    // The kills must land in the rollouts, not after them, for the test to mean anything.
    expect(killedMidRollout).toBeGreaterThan(ROUNDS / 2);

    const s = await SqliteStorage.open({ path: db, readOnly: true });
    const reader = new ControllerClient(c, c.intersectionIds.map((_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port })), { timeoutMs: 1000, retries: 1 });
    try {
      expect(await s.listUnfinishedDeployments()).toEqual([]);
      const all = await s.listDeployments();
      expect(all.length).toBeGreaterThan(0);
      for (const dep of all) {
        expect(['confirmed', 'failed', 'rolled_back']).toContain(dep.state);
        if (dep.state === 'failed') expect(dep.reason).toBeTruthy();
        if (dep.state === 'confirmed') expect(dep.readBackPlanId).toBe(dep.wirePlanId);
      }
      // Each controller runs the plan of its latest confirmed deployment: nothing it accepted was lost.
      let confirmedLatest = 0;
      for (let i = 0; i < CONTROLLERS; i++) {
        const mine = all.filter((x) => x.controllerId === c.intersectionIds[i]).sort((a, b) => a.id - b.id);
        const latest = mine[mine.length - 1]!;
        const st = await reader.readStatus(i + 1);
        if (latest.state === 'confirmed') {
          confirmedLatest++;
          expect(st.activePlanId).toBe(latest.wirePlanId);
        }
      }
      expect(confirmedLatest).toBe(CONTROLLERS);
      expect((await s.verifyAudit()).ok).toBe(true);
    } finally {
      await reader.close();
      await s.close();
    }
    const verify = spawnSync(process.execPath, [join(DIST, 'cli/main.js'), 'audit', 'verify', '--db', db], { encoding: 'utf8' });
    expect(verify.status).toBe(0);
  }, 300_000);
});
