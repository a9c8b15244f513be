/**
 * WorkerPool tests. Workers load the COMPILED fixture, so run `npm run build` first
 * (`npm test` does it via `pretest`); a missing build fails loudly, never skips.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertFreshBuild } from './freshBuild.js';
import { WorkerPool } from './pool.js';
import { ErrorCode, GreenwaveError, OptionError } from '../errors.js';

const workerUrl = new URL('../../dist/test/fixtures/pool/square-worker.js', import.meta.url);
const compiledPoolUrl = new URL('../../dist/engine/pool/pool.js', import.meta.url);

const SLOW_MS = 200; // the fixture's busy-wait for -3

beforeAll(() => {
  // Missing or stale compiled files fail loudly (StaleBuildError says to run `npm run build`).
  for (const url of [workerUrl, compiledPoolUrl]) assertFreshBuild(url, new URL('../../', import.meta.url));
});

const pools: WorkerPool[] = [];
function makePool(opts: { size?: number; maxRetries?: number; workerData?: unknown } = {}): WorkerPool {
  const pool = new WorkerPool({ workerUrl, ...opts });
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

function squared(input: ArrayLike<number>): number[] {
  return Array.from(input, (x) => x * x);
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('WorkerPool options', () => {
  it.each([
    [{ workerUrl: 'x' }, OptionError, 'options.workerUrl must be a URL, got string'],
    [{ workerUrl: new URL('https://example.com/w.js') }, OptionError, 'options.workerUrl must be a file: URL, got https:'],
    [{ workerUrl: new URL('file:///nonexistent/w.js') }, OptionError, 'options.workerUrl does not exist'],
    [{ workerUrl, size: 0 }, OptionError, 'options.size must be an integer >= 1, got 0'],
    [{ workerUrl, size: 1.5 }, OptionError, 'options.size must be an integer >= 1, got 1.5'],
    [{ workerUrl, size: '2' }, OptionError, 'options.size must be a number, got string'],
    [{ workerUrl, maxRetries: -1 }, OptionError, 'options.maxRetries must be an integer >= 0, got -1'],
    [{ workerUrl, maxRetries: '1' }, OptionError, 'options.maxRetries must be a number, got string'],
  ])('rejects %o', (options, errorClass, message) => {
    expect(() => new WorkerPool(options as never)).toThrow(errorClass);
    expect(() => new WorkerPool(options as never)).toThrow(message);
  });

  it('rejects a non-object options argument', () => {
    expect(() => new WorkerPool(undefined as never)).toThrow(new OptionError('options', 'must be an object'));
  });

  it('defaults size to os.availableParallelism() and rejects bad run/batch arguments', async () => {
    const { availableParallelism } = await import('node:os');
    const pool = makePool();
    expect(pool.size).toBe(availableParallelism());
    expect(pool.maxRetries).toBe(1);
    expect(pool.workerThreadIds()).toHaveLength(pool.size);
    await expect(pool.run([1, 2] as never)).rejects.toThrow('input must be a Float64Array, got Array');
    await expect(pool.run(new Float64Array(1), { transfer: 'yes' } as never)).rejects.toThrow('opts.transfer must be a boolean');
    await expect(pool.runBatch([new Float64Array(1), new Float32Array(1)] as never)).rejects.toThrow('inputs[1] must be a Float64Array, got Float32Array');
  });
});

describe('WorkerPool jobs', () => {
  it('runs a batch of 200 jobs with correct results in input order', async () => {
    const pool = makePool({ size: 2 });
    const expected: number[][] = [];
    const inputs = Array.from({ length: 200 }, (_, i) => {
      const input = Float64Array.from({ length: 1 + (i % 7) }, (_, k) => i + k / 2);
      expected.push(squared(input));
      return input;
    });
    const batch = await pool.runBatch(inputs);
    expect(batch.failures).toEqual([]);
    expect(batch.retried).toBe(0);
    expect(batch.results).toHaveLength(200);
    batch.results.forEach((r, i) => {
      expect(r).toBeInstanceOf(Float64Array);
      expect(Array.from(r!)).toEqual(expected[i]);
    });
    expect(batch.wallMs).toBeGreaterThan(0);
    expect(pool.crashes).toBe(0);
  });

  it('resolves an empty batch at once', async () => {
    const batch = await makePool({ size: 1 }).runBatch([]);
    expect(batch).toMatchObject({ results: [], failures: [], retried: 0 });
  });

  it('transfers the input buffer by default, and copies it with transfer: false', async () => {
    const pool = makePool({ size: 1 });
    const input = new Float64Array([1, 2, 3]);
    const out = await pool.run(input);
    expect(Array.from(out)).toEqual([1, 4, 9]);
    expect(input.byteLength).toBe(0); // detached: the worker owns it now
    expect(input.buffer.byteLength).toBe(0);

    const kept = new Float64Array([4, 5]);
    expect(Array.from(await pool.run(kept, { transfer: false }))).toEqual([16, 25]);
    expect(Array.from(kept)).toEqual([4, 5]);

    const batchInputs = [new Float64Array([2]), new Float64Array([3])];
    await pool.runBatch(batchInputs);
    expect(batchInputs.map((a) => a.byteLength)).toEqual([0, 0]);
  });

  it('fails a job whose input buffer was already transferred, without hurting the pool', async () => {
    const pool = makePool({ size: 1 });
    const input = new Float64Array([2]);
    await pool.run(input);
    await expect(pool.run(input)).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(/already transferred/) });
    expect(Array.from(await pool.run(new Float64Array([3])))).toEqual([9]);
    expect(pool.crashes).toBe(0);
  });

  it('refuses a transferring batch whose inputs share an ArrayBuffer, before sending any', async () => {
    const pool = makePool({ size: 1 });
    const buf = new ArrayBuffer(32);
    const inputs = [new Float64Array(buf, 0, 2), new Float64Array(buf, 16, 2)];
    await expect(pool.runBatch(inputs)).rejects.toThrow(new RangeError('inputs[1] shares its ArrayBuffer with inputs[0]; use separate buffers, a SharedArrayBuffer or transfer: false'));
    expect(buf.byteLength).toBe(32);
    const batch = await pool.runBatch(inputs, { transfer: false });
    expect(batch.results.map((r) => Array.from(r!))).toEqual([[0, 0], [0, 0]]);
  });

  it('reads SharedArrayBuffer inputs in place, without detaching them', async () => {
    const pool = makePool({ size: 2 });
    const sab = new SharedArrayBuffer(8 * 8);
    const whole = new Float64Array(sab);
    whole.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const views = [new Float64Array(sab, 0, 4), new Float64Array(sab, 32, 4)];
    const batch = await pool.runBatch(views);
    expect(batch.failures).toEqual([]);
    expect(batch.results.map((r) => Array.from(r!))).toEqual([squared([1, 2, 3, 4]), squared([5, 6, 7, 8])]);
    expect(sab.byteLength).toBe(64);
    expect(views.map((v) => v.length)).toEqual([4, 4]);
    expect(Array.from(await pool.run(whole))).toEqual(squared([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Array.from(whole)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reports a throwing job in failures; the worker and the other jobs are fine', async () => {
    const pool = makePool({ size: 2 });
    const ids = pool.workerThreadIds();
    const inputs = Array.from({ length: 20 }, (_, i) => new Float64Array(i === 7 ? [-1, 3] : [i, 1]));
    const batch = await pool.runBatch(inputs);
    expect(batch.failures).toHaveLength(1);
    const [failure] = batch.failures;
    expect(failure).toMatchObject({ index: 7, attempts: 1 });
    expect(failure!.error).toBeInstanceOf(GreenwaveError);
    expect(failure!.error.code).toBe(ErrorCode.InvalidInput); // the handler's code survives
    expect(failure!.error.message).toBe('fixture: -1 is not allowed');
    expect(batch.retried).toBe(0);
    batch.results.forEach((r, i) => {
      if (i === 7) expect(r).toBeUndefined();
      else expect(Array.from(r!)).toEqual([i * i, 1]);
    });
    expect(pool.crashes).toBe(0);
    expect(pool.workerThreadIds()).toEqual(ids);
    await expect(pool.run(new Float64Array([-1]))).rejects.toMatchObject({ code: ErrorCode.InvalidInput });
  });

  it('retries a job whose worker exits once, reports it with attempts 2, and keeps working', async () => {
    const pool = makePool({ size: 2 });
    const inputs = Array.from({ length: 10 }, (_, i) => new Float64Array(i === 3 ? [-2] : [i]));
    const batch = await pool.runBatch(inputs);
    expect(batch.failures).toHaveLength(1);
    expect(batch.failures[0]).toMatchObject({ index: 3, attempts: 2 });
    expect(batch.failures[0]!.error.code).toBe(ErrorCode.Internal);
    expect(batch.failures[0]!.error.message).toMatch(/exited unexpectedly with code 1 \(job gave up after 2 attempts\)/);
    expect(batch.retried).toBe(1);
    batch.results.forEach((r, i) => {
      if (i === 3) expect(r).toBeUndefined();
      else expect(Array.from(r!)).toEqual([i * i]);
    });
    expect(pool.crashes).toBe(2);
    expect(pool.replacements).toBe(2);
    expect(pool.workerThreadIds()).toHaveLength(2);
    expect(Array.from(await pool.run(new Float64Array([6])))).toEqual([36]);
    await expect(pool.run(new Float64Array([-2]))).rejects.toThrow(/gave up after 2 attempts/);
  });

  it('does not retry when maxRetries is 0', async () => {
    const pool = makePool({ size: 1, maxRetries: 0 });
    const batch = await pool.runBatch([new Float64Array([-2]), new Float64Array([2])]);
    expect(batch.failures).toMatchObject([{ index: 0, attempts: 1 }]);
    expect(batch.retried).toBe(0);
    expect(Array.from(batch.results[1]!)).toEqual([4]);
  });

  it('a job that crashes only on its first attempt succeeds on the retry (transferred input kept for it)', async () => {
    const crashOnce = new SharedArrayBuffer(4);
    const pool = makePool({ size: 2, workerData: { crashOnce } });
    const inputs = [new Float64Array([1]), new Float64Array([-4, 3, 0.5]), new Float64Array([2])];
    const batch = await pool.runBatch(inputs);
    expect(batch.failures).toEqual([]);
    expect(batch.retried).toBe(1);
    expect(batch.results.map((r) => Array.from(r!))).toEqual([[1], [16, 9, 0.25], [4]]);
    expect(Atomics.load(new Int32Array(crashOnce), 0)).toBe(2);
    expect(inputs[1]!.byteLength).toBe(0);
    expect(pool.crashes).toBe(1);
    expect(pool.replacements).toBe(1);
  });

  it('an uncaught exception kills the worker; the pool replaces it and keeps working', async () => {
    const pool = makePool({ size: 1 });
    const before = pool.workerThreadIds();
    expect(Array.from(await pool.run(new Float64Array([-5])))).toEqual([25]);
    await waitFor(() => pool.crashes === 1);
    expect(pool.replacements).toBe(1);
    expect(pool.workerThreadIds()).not.toEqual(before);
    const batch = await pool.runBatch([new Float64Array([2]), new Float64Array([3])]);
    expect(batch.results.map((r) => Array.from(r!))).toEqual([[4], [9]]);
  });

  it('survives a worker being terminated from outside mid-batch', async () => {
    const pool = makePool({ size: 2 });
    const inputs = Array.from({ length: 6 }, (_, i) => new Float64Array([-3, i]));
    const pending = pool.runBatch(inputs);
    await sleep(SLOW_MS / 2);
    const killed = pool.workerThreadIds()[0];
    await pool.killWorkerForTest(0);
    const batch = await pending;
    expect(pool.crashes).toBe(1);
    expect(pool.replacements).toBe(1);
    expect(pool.workerThreadIds()[0]).not.toBe(killed);
    expect(batch.retried + batch.failures.length).toBeGreaterThanOrEqual(1);
    // With maxRetries 1 the interrupted job is re-run, so everything completes.
    expect(batch.failures).toEqual([]);
    batch.results.forEach((r, i) => expect(Array.from(r!)).toEqual([9, i * i]));
  });
});

describe('WorkerPool with a worker script that cannot start', () => {
  it('gives up after repeated startup failures instead of respawning forever', async () => {
    const brokenUrl = new URL('../../dist/test/fixtures/pool/broken-worker.js', import.meta.url);
    const pool = new WorkerPool({ workerUrl: brokenUrl, size: 2 });
    pools.push(pool);
    const batch = pool.runBatch([new Float64Array([1]), new Float64Array([2]), new Float64Array([3])]);
    await expect(batch).rejects.toMatchObject({ code: ErrorCode.Internal, message: expect.stringMatching(/failed to start 3 times in a row.*fixture: broken at import/) });
    await expect(pool.run(new Float64Array([1]))).rejects.toThrow(/failed to start/);
    expect(pool.replacements).toBeLessThanOrEqual(2);
  });
});

describe('WorkerPool cancellation', () => {
  it('rejects queued jobs fast with CANCELLED and replaces the worker running a cancelled job', async () => {
    const pool = makePool({ size: 1 });
    await pool.run(new Float64Array([0])); // worker warm, so the first job is really running
    const ac = new AbortController();
    const started = performance.now();
    const jobs = Array.from({ length: 20 }, (_, i) => pool.run(new Float64Array([-3, i]), { signal: ac.signal }));
    const other = pool.run(new Float64Array([7])); // no signal: must survive the abort
    const settled = Promise.allSettled(jobs);
    await sleep(20);
    ac.abort();
    const outcomes = await settled;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(SLOW_MS * 2); // 20 slow jobs would take 4 s
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      const reason = (o as PromiseRejectedResult).reason as GreenwaveError;
      expect(reason).toBeInstanceOf(GreenwaveError);
      expect(reason.code).toBe(ErrorCode.Cancelled);
      expect(reason.message).toBe('job cancelled');
    }
    expect(Array.from(await other)).toEqual([49]);
    expect(pool.replacements).toBe(1); // the worker busy with job 0 was terminated and replaced
    expect(pool.crashes).toBe(0);
    expect(Array.from(await pool.run(new Float64Array([3])))).toEqual([9]);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const pool = makePool({ size: 1 });
    const ac = new AbortController();
    ac.abort();
    await expect(pool.run(new Float64Array([1]), { signal: ac.signal })).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await expect(pool.runBatch([new Float64Array([1])], { signal: ac.signal })).rejects.toMatchObject({ code: ErrorCode.Cancelled });
  });

  it('aborting a batch rejects it with CANCELLED; the pool runs the next batch', async () => {
    const pool = makePool({ size: 2 });
    const ac = new AbortController();
    const inputs = Array.from({ length: 30 }, (_, i) => new Float64Array([-3, i]));
    const started = performance.now();
    const pending = pool.runBatch(inputs, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.Cancelled, message: 'job cancelled' });
    expect(performance.now() - started).toBeLessThan(SLOW_MS * 2);
    expect(pool.replacements).toBe(2);
    const batch = await pool.runBatch([new Float64Array([5]), new Float64Array([6])]);
    expect(batch.results.map((r) => Array.from(r!))).toEqual([[25], [36]]);
  });
});

describe('WorkerPool destroy', () => {
  it('terminates every worker, rejects unfinished jobs and refuses new ones', async () => {
    const pool = new WorkerPool({ workerUrl, size: 2 });
    const running = pool.runBatch(Array.from({ length: 4 }, () => new Float64Array([-3]))).catch((e: unknown) => e);
    const single = pool.run(new Float64Array([-3])).catch((e: unknown) => e);
    await sleep(10);
    await pool.destroy();
    expect(await running).toMatchObject({ code: ErrorCode.Cancelled, message: 'pool destroyed' });
    expect(await single).toMatchObject({ code: ErrorCode.Cancelled, message: 'pool destroyed' });
    expect(pool.workerThreadIds()).toEqual([]);
    expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
    await expect(pool.run(new Float64Array([1]))).rejects.toThrow('pool destroyed');
    await pool.destroy(); // idempotent
  });

  // The process-exit guarantees need a process of their own: vitest's would hide a leak.
  it.each([
    ['after destroy()', 'await pool.destroy();'],
    ['with an idle pool never destroyed (idle workers are unref()ed)', ''],
  ])('lets a process exit %s', (_label, ending) => {
    const script = `
      import { WorkerPool } from ${JSON.stringify(compiledPoolUrl.href)};
      const pool = new WorkerPool({ workerUrl: new URL(${JSON.stringify(workerUrl.href)}), size: 2 });
      const batch = await pool.runBatch([new Float64Array([2]), new Float64Array([-2]), new Float64Array([3])]);
      console.log(JSON.stringify(batch.results.map((r) => r && Array.from(r))));
      ${ending}
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(child.error).toBeUndefined(); // a timeout here means the pool kept the process alive
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('[[4],null,[9]]');
  });
});
