/**
 * tuneHeapForServer (./heapTuning.ts) in a fresh node process from dist/: with it, V8 makes no
 * pretenuring decision on an allocation pattern that gets one without it (long-lived objects
 * from one site), read from V8's own trace. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../dist/service/heapTuning.js', import.meta.url).href;
// Objects from one site that all survive their scavenges: what V8 pretenures.
const SCRIPT = `import { tuneHeapForServer } from '${MODULE}';
tuneHeapForServer();
const keep = [];
for (let r = 0; r < 20; r++) { for (let i = 0; i < 100000; i++) keep.push({ a: i, b: [i] }); if (keep.length > 1e6) keep.length = 0; }`;

function tenureDecisions(env: NodeJS.ProcessEnv): number {
  const r = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return (r.stdout.match(/=> tenure/g) ?? []).length;
}

describe('tuneHeapForServer', () => {
  it('turns allocation-site pretenuring off; GREENWAVE_V8_PRETENURING=1 keeps it', () => {
    const { GREENWAVE_V8_PRETENURING: _, ...env } = process.env;
    expect(tenureDecisions({ ...env, GREENWAVE_V8_PRETENURING: '1' })).toBeGreaterThan(0);
    expect(tenureDecisions(env)).toBe(0);
  });
});
