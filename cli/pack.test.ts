/**
 * `npx greenwave` from the packed tarball, as a user who installs the package
 * gets it: npm pack, npm install of the tarball into an empty project
 * (--prefer-offline: npm's cache, filled by `npm ci`, serves what it can; the
 * registry answers version lookups), then the installed binary prints its
 * version and plans the demo city shipped in the package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function npm(args: string[], cwd: string) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('the packed package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs from its tarball and runs with npx', () => {
    // dist/ is fresh: npm test builds before it runs (pretest), so the prepack build is skipped here.
    npm(['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const listing = spawnSync('tar', ['-tzf', join(dir, tarball!)], { encoding: 'utf8' }).stdout.split('\n');
    // Shipped: the compiled code, protos, demo and docs; not the tests, benchmarks or sources.
    expect(listing).toContain('package/dist/cli/main.js');
    expect(listing.some((f) => f.endsWith('.test.js'))).toBe(false);
    expect(listing.some((f) => f.startsWith('package/dist/bench/') || f.startsWith('package/dist/test/'))).toBe(false);
    expect(listing.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);

    const project = join(dir, 'user');
    spawnSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), '{"name":"user","version":"1.0.0","private":true}\n');
    npm(['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', join(dir, tarball!)], project);

    const version = spawnSync('npx', ['--no-install', 'greenwave', '--version'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^greenwave \d+\.\d+\.\d+$/);
    const demo = join(project, 'node_modules/greenwave/examples/demo-city');
    const plan = spawnSync('npx', ['--no-install', 'greenwave', 'plan', '--network', join(demo, 'network.json'), '--counts', join(demo, 'counts.csv'), '--at', '08:00'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(plan.stderr).toBe('');
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain('■ I1 ');
  }, 240_000);
});
