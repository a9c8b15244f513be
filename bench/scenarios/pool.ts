/**
 * Runs jobs as child processes of a compiled bench script, as many at once
 * as asked (default: the machine's cores), each printing one JSON line as
 * its result (`runChildren`), and the frame each child runs in (`childRun`).
 * Used by bench/scenarios, bench/fidelity and bench/insumo.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';

export async function runChildren<R>(script: string, jobs: readonly (readonly string[])[], onError: (k: number, message: string) => R, concurrency = availableParallelism(), progress?: (done: number, k: number, result: R) => void): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      results[k] = await new Promise<R>((resolve) => {
        const child = spawn(process.execPath, [script, ...jobs[k]!], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => {
          try {
            resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as R);
          } catch {
            resolve(onError(k, `child exited ${code}: ${err.slice(0, 500)}`));
          }
        });
      });
      done++;
      progress?.(done, k, results[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
  return results;
}

/**
 * A bench child's frame: runs `work`, records a failure on the result as `error` (its first
 * lines), removes the work folder unless GREENWAVE_KEEP is set, and prints the result as the
 * one JSON line the parent reads.
 */
export async function childRun<R extends object>(dir: string, result: R, work: () => void | Promise<void>): Promise<void> {
  try {
    await work();
  } catch (e: unknown) {
    Object.assign(result, { error: e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e) });
  } finally {
    if (!process.env['GREENWAVE_KEEP']) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
