/**
 * Controller re-sync, end to end with real processes and real sockets (needs
 * the compiled dist: `npx tsc -p tsconfig.json`):
 *   `greenwave controllers --virtual 10 --time-scale 25` (a child process) and
 *   `greenwave serve --controllers 127.0.0.1:P --resync-s 0.5` (another one),
 * each the CLI command's own module from dist run in its own node process.
 * The controllers run greenwave's plan; the controller process is killed with
 * SIGKILL and started again on the same port (back on its local plan, id 0);
 * within two of its cycles it runs greenwave's current plan again, checked by
 * reading its active plan block over Modbus from this test, and serve's log
 * names the controller, the plan id found and the plan id expected.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControllerClient } from '../controllers-adapter/modbus/client.js';
import { encodePlanBlock } from '../controllers-adapter/codec.js';
import { demoNetwork, demoPlan } from '../test/fixtures/controllers/demo.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCALE = 25;
const N = 10;

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  for (const ch of children.splice(0)) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `greenwave <command> args` as a child process: the command's module from dist, run by
 * its cmd function exactly as dist/cli/main.js would (importing only that module: loading the
 * whole CLI costs seconds per process on a busy machine). Resolves once `ready` appears on
 * stdout/stderr; output accumulates in `log`.
 */
function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; log: () => string }> {
  const [command, ...rest] = args;
  const entry = command === 'serve' ? { file: 'serve.js', fn: 'cmdServe' } : { file: 'controllers.js', fn: 'cmdControllers' };
  const script = `import(${JSON.stringify(join(ROOT, 'dist/cli', entry.file))}).then((m) => m.${entry.fn}(JSON.parse(process.argv[1]), (s) => process.stdout.write(s)))`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(rest)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const log = (): string => out;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start in 20 s:\n${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, log });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${code ?? sig}) before it was ready:\n${out}`));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('controller re-sync after kill -9 (real processes)', () => {
  test('a controller killed with SIGKILL and restarted runs the current plan again within two cycles, and serve logs it', async () => {
    const c = demoNetwork();
    const plan = demoPlan(); // what `serve` plans by default (demo city, 08:00 counts)
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gw-resync-'));
    // Removed when the test ends (serve may still hold its database open: Linux lets the folder go).
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify({ tokens: [{ token: 'op-secret', client: 'op', roles: ['operator', 'viewer'] }] }));
    const controllersArgs = ['controllers', '--virtual', String(N), '--port', String(port), '--time-scale', String(SCALE)];
    let ctl = await start(controllersArgs, /Ctrl-C to stop/);
    const serve = await start(['serve', '--insecure', '--port', '0', '--tokens', tokens, '--db', join(dir, 'gw.db'), '--controllers', `127.0.0.1:${port}`, '--resync-s', '0.5'], /listening on/);

    // An independent reader (this test) of the controllers' registers.
    const reader = new ControllerClient(c, Array.from({ length: N }, (_, i) => ({ unitId: i + 1, intersection: i, host: '127.0.0.1', port })), { timeoutMs: 500, connectTimeoutMs: 500, retries: 0, breakerFailures: 1_000_000 });
    cleanups.push(() => reader.close());
    /** Units running greenwave's current plan: active id ≠ 0 and the active block is exactly the plan's block. */
    const onPlan = async (): Promise<Map<number, number>> => {
      const running = new Map<number, number>();
      for (let u = 1; u <= N; u++) {
        try {
          const active = await reader.readActivePlan(u);
          const id = active[0]!;
          if (id !== 0 && [...active].join() === [...encodePlanBlock(c, u - 1, plan, id)].join()) running.set(u, id);
        } catch {
          // not up yet
        }
      }
      return running;
    };
    const waitAllOnPlan = async (limitMs: number): Promise<{ ms: number; ids: Map<number, number> }> => {
      const t0 = Date.now();
      for (;;) {
        const ids = await onPlan();
        if (ids.size === N) return { ms: Date.now() - t0, ids };
        if (Date.now() - t0 > limitMs) throw new Error(`after ${Date.now() - t0} ms only units ${[...ids.keys()].join(', ')} run the plan\nserve log:\n${serve.log()}`);
        await sleep(100);
      }
    };
    const cycleMs = (Math.max(...Array.from({ length: N }, (_, i) => plan.cycleS[i]!)) / SCALE) * 1000;

    // Before: serve pushed the plan at start; it runs from each controller's next cycle zero.
    const before = await waitAllOnPlan(2 * cycleMs + 5000);

    // kill -9, and the controllers come back on the same port, on their local plan.
    ctl.child.kill('SIGKILL');
    await new Promise((r) => ctl.child.once('exit', r));
    const logBefore = serve.log().length;
    ctl = await start(controllersArgs, /Ctrl-C to stop/);
    const after = await waitAllOnPlan(2 * cycleMs);
    expect(after.ms).toBeLessThanOrEqual(2 * cycleMs);

    // serve's log names each controller, the plan id it found (0, the local plan) and the one expected.
    const log = serve.log().slice(logBefore);
    for (let u = 1; u <= N; u++) {
      const id = c.intersectionIds[u - 1]!;
      expect(log).toMatch(new RegExp(`controller ${id} \\(unit ${u} at 127\\.0\\.0\\.1:${port}\\) runs plan 0 \\(its local plan\\), expected plan ${before.ids.get(u)}`));
      expect(log).toMatch(new RegExp(`controller ${id} \\(unit ${u} at 127\\.0\\.0\\.1:${port}\\) accepted plan ${after.ids.get(u)} `));
    }
    serve.child.kill('SIGTERM');
  }, 60_000);
});
