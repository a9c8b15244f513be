import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { corridorWorkerUrl, createCorridorPool, optimizeCorridorBatch } from './city.js';
import { CorridorJobRunner, encodeJob } from './job.js';
import type { WorkerPool } from '../pool/pool.js';
import { randomCorridor, randomTraffic } from '../../test/fixtures/randomCorridor.js';

function jobs(count: number, n: number): Float64Array[] {
  return Array.from({ length: count }, (_, k) => {
    const p = randomCorridor(n, 700 + k);
    return encodeJob(p, randomTraffic(p, k));
  });
}

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.destroy();
  pool = undefined;
});

describe('city batch on the worker pool', () => {
  it('needs the compiled worker (run `npm run build` first)', () => {
    expect(existsSync(fileURLToPath(corridorWorkerUrl())), fileURLToPath(corridorWorkerUrl())).toBe(true);
  });

  it('gives the same answers as solving in-process', async () => {
    pool = createCorridorPool(2);
    const batch = jobs(40, 12);
    const expected = batch.map((j) => new CorridorJobRunner().run(j.slice()));
    const res = await optimizeCorridorBatch(pool, batch);
    expect(res.failures).toEqual([]);
    res.results.forEach((r, k) => {
      expect(r!.bandOutS).toBeCloseTo(expected[k]![3]!, 9);
      expect(r!.after.delaySPerVeh).toBeCloseTo(expected[k]![12]!, 9);
    });
    // Jobs are transferred, not copied: the caller's buffers are detached.
    expect(batch[0]!.byteLength).toBe(0);
  });

  it('completes the batch and reports it when a worker is killed mid-batch', async () => {
    pool = createCorridorPool(2);
    const running = optimizeCorridorBatch(pool, jobs(300, 20));
    await new Promise((r) => setTimeout(r, 150));
    await pool.killWorkerForTest(0);
    const res = await running;
    expect(res.results.filter(Boolean).length + res.failures.length).toBe(300);
    // The killed worker's job was retried (and normally succeeded), and the crash was counted.
    expect(res.retried + res.failures.length).toBeGreaterThan(0);
    expect(pool.crashes).toBeGreaterThan(0);
    expect(res.results.filter(Boolean).length).toBeGreaterThanOrEqual(299);
  });

  it('reports a malformed corridor job without failing the others', async () => {
    pool = createCorridorPool(2);
    const batch = jobs(10, 6);
    batch[3] = new Float64Array([1, 2, 3]);
    const res = await optimizeCorridorBatch(pool, batch);
    expect(res.failures.map((f) => f.index)).toEqual([3]);
    expect(res.failures[0]!.error.message).toMatch(/not a greenwave corridor job/);
    expect(res.results.filter(Boolean).length).toBe(9);
  });
});
