import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { corridorWorkerUrl } from '../corridor/city.js';
import { ErrorCode } from '../errors.js';
import { assertFreshBuild, StaleBuildError, staleBuildFiles } from './freshBuild.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A repository in a temp dir: files written with the given age in seconds (bigger = older). */
function tree(files: Record<string, { text?: string; ageS: number }>): string {
  const root = mkdtempSync(join(tmpdir(), 'greenwave-fresh-'));
  roots.push(root);
  const now = Date.now() / 1000;
  for (const [path, { text = '', ageS }] of Object.entries(files)) {
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    utimesSync(p, now - ageS, now - ageS);
  }
  return root;
}

const WORKER = "import { serveJobs } from '../pool/host.js';\nexport * from './job.js';\nconst m = await import('./lazy.js');\n";

describe('stale build guard', () => {
  it('accepts a build newer than every source it was built from', () => {
    const root = tree({
      'engine/corridor/worker.ts': { ageS: 100 },
      'engine/corridor/job.ts': { ageS: 100 },
      'engine/corridor/lazy.ts': { ageS: 100 },
      'engine/pool/host.ts': { ageS: 100 },
      'dist/engine/corridor/worker.js': { text: WORKER, ageS: 10 },
      'dist/engine/corridor/job.js': { text: "import 'node:fs';\n", ageS: 10 },
      'dist/engine/corridor/lazy.js': { ageS: 10 },
      'dist/engine/pool/host.js': { ageS: 10 },
    });
    expect(staleBuildFiles(join(root, 'dist/engine/corridor/worker.js'), root)).toEqual([]);
  });

  it('names every compiled file the worker reaches that is older than its source, missing, or orphaned', () => {
    const root = tree({
      'engine/corridor/worker.ts': { ageS: 100 },
      'engine/corridor/job.ts': { ageS: 5 }, // edited after the build
      'engine/pool/host.ts': { ageS: 100 },
      'dist/engine/corridor/worker.js': { text: WORKER, ageS: 10 },
      'dist/engine/corridor/job.js': { ageS: 10 },
      'dist/engine/corridor/lazy.js': { ageS: 10 }, // its source was deleted
      // dist/engine/pool/host.js was never built
    });
    expect(staleBuildFiles(join(root, 'dist/engine/corridor/worker.js'), root)).toEqual([
      { compiled: 'dist/engine/corridor/job.js', reason: 'older than source' },
      { compiled: 'dist/engine/corridor/lazy.js', reason: 'no source' },
      { compiled: 'dist/engine/pool/host.js', reason: 'missing' },
    ]);
    const url = (p: string) => pathToFileURL(join(root, p));
    expect(() => assertFreshBuild(url('dist/engine/corridor/worker.js'), url('.'))).toThrow(StaleBuildError);
  });

  it('corridorWorkerUrl refuses a stale dist/ when running from source, with a typed error saying what to do', () => {
    const root = tree({
      'engine/corridor/city.ts': { ageS: 100 },
      'engine/corridor/worker.ts': { ageS: 5 },
      'dist/engine/corridor/worker.js': { ageS: 10 },
    });
    const fromSource = pathToFileURL(join(root, 'engine/corridor/city.ts')).href;
    let error: unknown;
    try {
      corridorWorkerUrl(fromSource);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StaleBuildError);
    expect((error as StaleBuildError).code).toBe(ErrorCode.Internal);
    expect((error as StaleBuildError).message).toContain('npm run build');
    expect((error as StaleBuildError).stale).toEqual([{ compiled: 'dist/engine/corridor/worker.js', reason: 'older than source' }]);
    // Fresh again after a rebuild; and compiled code (a .js caller) loads its sibling without the check.
    utimesSync(join(root, 'dist/engine/corridor/worker.js'), new Date(), new Date());
    expect(corridorWorkerUrl(fromSource).pathname).toMatch(/dist\/engine\/corridor\/worker\.js$/);
    expect(corridorWorkerUrl('file:///opt/greenwave/dist/engine/corridor/city.js').href).toBe('file:///opt/greenwave/dist/engine/corridor/worker.js');
  });

  it('the real build this test run uses is fresh', () => {
    expect(() => corridorWorkerUrl()).not.toThrow();
  });
});
