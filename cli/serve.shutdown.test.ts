/**
 * `greenwave serve`'s shutdown (docs/operations.md, Shutdown), run as an operator
 * meets it: the built CLI in a child process. A viewer that never reads its
 * WatchSignalState stream keeps the drain waiting (its stream cannot flush, so
 * the drain lasts until `forceShutdown` after the 2 s grace). One SIGTERM: the
 * service drains and exits 0. A second SIGTERM during that drain: it exits at
 * once with status 1, after a `warn` line, without waiting for the grace.
 */
import type { ChildProcess } from 'node:child_process';
import type { ClientHttp2Session } from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';
import { rawCall, rawSession } from '../test/fixtures/grpc/rawGrpc.js';
import { startServeProcess, type ServeProcess } from '../test/fixtures/serveProcess.js';

/** server.ts's default `shutdownGraceMs`, which `serve` does not change. */
const GRACE_MS = 2000;

const dir = mkdtempSync(join(tmpdir(), 'gw-serve-stop-'));
const children: ChildProcess[] = [];
const sessions: ClientHttp2Session[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `greenwave serve` on a fresh database and resolves once it listens. */
function serve(name: string): Promise<ServeProcess> {
  return startServeProcess(['--insecure', '--port', '0', '--tokens', TOKENS_FILE, '--db', join(dir, `${name}.db`)], (child) => children.push(child));
}

/**
 * Opens a WatchSignalState stream that is never read, on a 1 KiB window, and resolves once
 * the server has had time to fill that window: from then on the stream cannot end cleanly.
 */
async function stuckViewer(port: number): Promise<void> {
  const session = rawSession(port, 1024);
  sessions.push(session);
  const call = rawCall(session, 'greenwave.v1.SignalStateService/WatchSignalState', { intersection_ids: ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'], interval_s: 0.1 }, 'viewer-secret-1');
  // Headers arrive with the first message; a few ticks more than fill 1 KiB.
  await new Promise<void>((resolve) => call.stream.once('response', () => resolve()));
  await new Promise((r) => setTimeout(r, 500));
}

/** Resolves once `text()` matches `re` (polling stderr), or rejects after `ms`. */
async function until(text: () => string, re: RegExp, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(text())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}: ${text()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('greenwave serve: SIGTERM drains, a second SIGTERM exits at once', () => {
  it('one SIGTERM with a viewer that never reads: drains until the grace forces the stream closed, then exits 0', async () => {
    const s = await serve('one');
    await stuckViewer(s.port);
    const t0 = performance.now();
    s.child.kill('SIGTERM');
    const { code, signal, atMs } = await s.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(s.stderr()).toMatch(/"level":"info".*SIGTERM: draining calls/);
    expect(s.stderr()).not.toMatch(/during shutdown: exiting now/);
    // The drain waited for the stuck stream: this is what the second signal cuts short.
    expect(atMs - t0).toBeGreaterThanOrEqual(GRACE_MS - 100);
  }, 30_000);

  it('a second SIGTERM during that drain exits with status 1 at once, after a warn line', async () => {
    const s = await serve('two');
    await stuckViewer(s.port);
    s.child.kill('SIGTERM');
    await until(s.stderr, /SIGTERM: draining calls/);
    const t1 = performance.now();
    s.child.kill('SIGTERM');
    const { code, signal, atMs } = await s.exit;
    expect({ code, signal }).toEqual({ code: 1, signal: null });
    expect(s.stderr()).toMatch(/"level":"warn".*SIGTERM during shutdown: exiting now/);
    // Well before the grace the drain would have waited (the first test shows it does wait).
    expect(atMs - t1).toBeLessThan(GRACE_MS / 2);
  }, 30_000);
});
