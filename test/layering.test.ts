/**
 * The dependency rule: engine/ imports nothing above it. Every relative import
 * in engine/ (tests included) must resolve inside engine/, or to a shared test
 * fixture that itself, transitively, imports only engine/ and fixtures.
 * Packages and Node built-ins are allowed. It fails with the offending lines.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): { spec: string; target: string }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; target: string }[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = (m[1] ?? m[2])!;
    out.push({ spec, target: resolve(dirname(file), spec.replace(/\.js$/, '.ts')) });
  }
  return out;
}

const allowed = (target: string): boolean => {
  const rel = relative(ROOT, target);
  return rel.startsWith('engine/') || rel.startsWith('test/fixtures/');
};

describe('layering', () => {
  it('engine/ imports nothing above it, tests and the fixtures they use included', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    const queue = tsFiles(join(ROOT, 'engine'));
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const { spec, target } of importsOf(file)) {
        if (!allowed(target)) problems.push(`${relative(ROOT, file)} imports ${spec}`);
        else if (relative(ROOT, target).startsWith('test/fixtures/')) queue.push(target);
      }
    }
    expect(problems).toEqual([]);
    expect(seen.size).toBeGreaterThan(50);
  });

  it('would catch an import from above (the check looks where it should)', () => {
    const sample = join(ROOT, 'engine', 'x.ts');
    expect(allowed(resolve(dirname(sample), '../simulator/simulation.ts'))).toBe(false);
    expect(allowed(resolve(dirname(sample), '../service/spat.ts'))).toBe(false);
    expect(allowed(resolve(dirname(sample), './plan.ts'))).toBe(true);
    expect(allowed(resolve(dirname(sample), '../test/fixtures/gridNetwork.ts'))).toBe(true);
  });
});
