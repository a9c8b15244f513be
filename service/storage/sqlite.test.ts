/**
 * The storage suite (./suite.ts) on SQLite, each test on its own temporary
 * file, plus SQLite's durability test: a child process commits a plan and a
 * deployment, says so, and is killed with SIGKILL while it keeps writing; the
 * reopened file has the plan and the deployment and its audit chain verifies.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { assertFreshBuild } from '../../engine/pool/freshBuild.js';
import { SqliteStorage } from './sqlite.js';
import { storageSuite, type StorageHarness } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const harness: StorageHarness = {
  dialect: 'sqlite',
  dropAuditGuards: ['DROP TRIGGER audit_log_no_update', 'DROP TRIGGER audit_log_no_delete'],
  async fresh() {
    const path = join(dir, `t${++n}`, 'greenwave.db');
    return {
      open: () => SqliteStorage.open({ path }),
      async exec(sql: string) {
        const db = new Database(path, { timeout: 5000 });
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
    };
  },
};

storageSuite('SQLite', () => harness);

describe('SQLite specifics', () => {
  it('creates the folder, uses WAL with synchronous=FULL, and refuses a read-only open of a missing file', async () => {
    const path = join(dir, 'nested', 'deeper', 'g.db');
    const s = await SqliteStorage.open({ path });
    await s.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await expect(SqliteStorage.open({ path: join(dir, 'missing.db'), readOnly: true })).rejects.toMatchObject({ code: 'IO_ERROR' });
    const ro = await SqliteStorage.open({ path, readOnly: true });
    expect((await ro.verifyAudit()).ok).toBe(true);
    await expect(ro.recordAudit({ user: 'x' }, 'a', {})).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await ro.close();
  });

  it('a plan committed just before kill -9 survives, and the audit chain verifies', async () => {
    const compiled = new URL('../../dist/service/storage/sqlite.js', import.meta.url);
    assertFreshBuild(compiled, new URL('../../', import.meta.url));
    for (let round = 0; round < 3; round++) {
      const path = join(dir, `crash${round}`, 'greenwave.db');
      const script = join(dir, `crash${round}.mjs`);
      writeFileSync(
        script,
        `import { SqliteStorage } from ${JSON.stringify(fileURLToPath(compiled))};
const s = await SqliteStorage.open({ path: ${JSON.stringify(path)} });
const actor = { user: 'crash-test', peer: 'local' };
const plan = await s.saveTimingPlan(actor, { scope: { kind: 'intersection', id: 'I1' }, body: { cycleS: 96 }, reason: 'before the crash', source: 'operator' });
const d = await s.stageDeployment(actor, { controllerId: 'C1', planId: plan.planId, wirePlanId: 5 });
await s.transitionDeployment(actor, d.id, { from: 'staged', to: 'committed' });
process.stdout.write('committed ' + plan.planId + ' ' + d.id + '\\n');
// Keep writing, so the kill lands in the middle of transactions.
for (let k = 0; ; k++) await s.insertEvents(actor, Array.from({ length: 200 }, (_, j) => ({ locationId: 'L1', timestampMs: k * 1000 + j, eventCode: 82, eventParam: 1 })));
`,
      );
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const line = await new Promise<string>((res, rej) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const nl = out.indexOf('\n');
          if (nl >= 0) {
            // Killed a few ms after the commit returned, mid event batch.
            setTimeout(() => child.kill('SIGKILL'), 5 + round * 10);
            res(out.slice(0, nl));
          }
        });
        child.on('exit', (code) => rej(new Error(`child exited (${code}) before committing: ${stderr}`)));
      });
      const signal = await new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
      expect(signal).toBe('SIGKILL');
      const [, planId, depId] = line.split(' ').map(Number);
      const s = await SqliteStorage.open({ path });
      try {
        expect(await s.getTimingPlan(planId!)).toMatchObject({ reason: 'before the crash', body: { cycleS: 96 } });
        expect(await s.getDeployment(depId!)).toMatchObject({ state: 'committed', controllerId: 'C1' });
        expect((await s.listUnfinishedDeployments()).map((d) => d.id)).toEqual([depId]);
        const v = await s.verifyAudit();
        expect(v.ok, JSON.stringify(v)).toBe(true);
        // Every event batch that committed is whole: 200 events per audit row.
        const batches = (await s.listAudit({ limit: 1_000_000 })).filter((r) => r.action === 'events.insert').length;
        expect(await s.events({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).toHaveLength(batches * 200);
      } finally {
        await s.close();
      }
    }
  });
});
