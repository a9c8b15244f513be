/**
 * Guards against running a stale build. Worker threads can only load compiled
 * JavaScript, so code running from TypeScript source (the tests, under vitest)
 * starts its workers from dist/. If dist/ is older than the source, the workers
 * would silently run yesterday's code while the main thread runs today's.
 * `assertFreshBuild` walks the compiled worker's relative imports and refuses
 * (StaleBuildError) when any compiled file is missing, has no source any more,
 * or is older than its .ts source. Called by corridorWorkerUrl (corridor/city.ts),
 * the service's replan worker and the pool tests, only when they run from source.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, GreenwaveError } from '../errors.js';

/** A compiled file that does not match the source tree, and why. */
export interface StaleFile {
  /** Path of the compiled file, relative to the repository root. */
  readonly compiled: string;
  readonly reason: 'missing' | 'no source' | 'older than source';
}

/** dist/ is missing or older than the TypeScript it was built from: run `npm run build`. */
export class StaleBuildError extends GreenwaveError {
  readonly stale: readonly StaleFile[];
  constructor(stale: readonly StaleFile[]) {
    const list = stale.map((s) => `  ${s.compiled}: ${s.reason}`).join('\n');
    super(ErrorCode.Internal, `the compiled worker code in dist/ does not match the source; run \`npm run build\`\n${list}`);
    this.name = 'StaleBuildError';
    this.stale = stale;
  }
}

// Relative specifiers of static imports/exports, side-effect imports and dynamic imports in compiled JS.
const IMPORT_RE = /\b(?:import|export)\b[^'"();]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/**
 * Every compiled file reachable from `entryJs` by relative imports that is
 * missing, lacks its source `<rootDir>/<path>.ts`, or is older than it.
 * `entryJs` must lie under `<rootDir>/dist/`. Empty when the build is fresh.
 */
export function staleBuildFiles(entryJs: string, rootDir: string): StaleFile[] {
  const distDir = resolve(rootDir, 'dist');
  const stale: StaleFile[] = [];
  const seen = new Set<string>();
  const queue = [resolve(entryJs)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const compiled = relative(rootDir, file);
    if (!existsSync(file)) {
      stale.push({ compiled, reason: 'missing' });
      continue;
    }
    const source = resolve(rootDir, relative(distDir, file)).replace(/\.js$/, '.ts');
    if (!existsSync(source)) stale.push({ compiled, reason: 'no source' });
    else if (statSync(source).mtimeMs > statSync(file).mtimeMs) stale.push({ compiled, reason: 'older than source' });
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) queue.push(resolve(dirname(file), (m[1] ?? m[2] ?? m[3])!));
  }
  return stale.sort((a, b) => a.compiled.localeCompare(b.compiled));
}

/** Throws StaleBuildError unless the compiled `entry` (under `root`/dist/) and all it imports are up to date. */
export function assertFreshBuild(entry: URL, root: URL): void {
  const stale = staleBuildFiles(fileURLToPath(entry), fileURLToPath(root));
  if (stale.length > 0) throw new StaleBuildError(stale);
}
