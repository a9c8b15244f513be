#!/usr/bin/env node
/**
 * Mutation check for the safety validator (issue 11): shows that every rule
 * is needed by the tests, i.e. that deleting any one rule makes a test fail.
 *
 * Each rule's reporting lines in engine/safety/validator.ts end with a marker
 * `// rule:CODE`. For each code in turn this script rewrites the file in place
 * without that rule's lines, runs the validator tests, and restores the file
 * (finally, and on Ctrl-C). A mutant whose tests still pass "survived": the
 * script then exits 1. Run with `npm run test:mutation`; not part of `npm test`
 * (about 10 s per rule on 2 cores). No knob is left in the production code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGET = join(ROOT, 'engine/safety/validator.ts');
const TESTS = ['engine/safety/validator.test.ts', 'engine/safety/floors.test.ts'];
const MARKER = /\/\/ rule:([A-Z_]+)\s*$/;

const original = readFileSync(TARGET, 'utf8');
const restore = () => writeFileSync(TARGET, original);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    restore();
    process.exit(130);
  });
}

const lines = original.split('\n');
const rules = [...new Set(lines.map((l) => MARKER.exec(l)?.[1]).filter(Boolean))];
if (rules.length === 0) {
  console.error(`no "// rule:CODE" markers in ${TARGET}`);
  process.exit(2);
}

function runTests() {
  const t0 = Date.now();
  const r = spawnSync('npx', ['vitest', 'run', ...TESTS], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  // eslint-disable-next-line no-control-regex
  const out = `${r.stdout}\n${r.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
  const summary = /^\s*Tests\s+(.*)$/m.exec(out)?.[1] ?? '';
  const failed = Number(/(\d+) failed/.exec(summary)?.[1] ?? 0);
  const passed = Number(/(\d+) passed/.exec(summary)?.[1] ?? 0);
  // The names of the failing tests, from vitest's "FAIL file > describe > test" lines.
  const names = [...out.matchAll(/FAIL\s+\S+\s+>\s+(.+)$/gm)].map((m) => m[1].split(' > ').pop().trim());
  return { ok: r.status === 0, failed, passed, names: [...new Set(names)], seconds: (Date.now() - t0) / 1000, out };
}

const rows = [];
let survived = 0;
try {
  const base = runTests();
  if (!base.ok) {
    console.error('the validator tests fail before any mutation; fix them first:\n' + base.out.slice(-4000));
    process.exit(2);
  }
  console.log(`baseline: ${base.passed} tests pass (${base.seconds.toFixed(1)} s)\n`);
  for (const rule of rules) {
    const kept = lines.filter((l) => MARKER.exec(l)?.[1] !== rule);
    writeFileSync(TARGET, kept.join('\n'));
    const r = runTests();
    restore();
    const killed = !r.ok && r.failed > 0;
    if (!killed) survived++;
    // Whether the per-rule corruption property alone catches the mutant (it should, for every rule).
    const property = r.names.some((n) => n.includes('by the rule it targets'));
    rows.push({ rule, removed: lines.length - kept.length, killed, failed: r.failed, property, example: r.names[0] ?? (r.ok ? '' : 'test run failed to start') });
  }
} finally {
  restore();
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('rule', 14)}${pad('lines', 7)}${pad('result', 10)}${pad('failing', 9)}${pad('property', 10)}first failing test`);
for (const r of rows) console.log(`${pad(r.rule, 14)}${pad(r.removed, 7)}${pad(r.killed ? 'killed' : 'SURVIVED', 10)}${pad(r.failed, 9)}${pad(r.property ? 'yes' : 'no', 10)}${r.example}`);
console.log(`\n${rows.length - survived}/${rows.length} mutants killed`);
process.exit(survived === 0 ? 0 : 1);
