/**
 * `greenwave audit verify`, in-process through runAsync: an intact chain exits
 * 0 with the rows checked, a tampered one exits 1 naming the first bad row,
 * usage errors and a missing database exit 2. (The --pg form runs in
 * service/storage/postgres.test.ts, which has a server.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../service/storage/sqlite.js';
import { runAsync } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-audit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAsync(argv, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('greenwave audit verify', () => {
  it('exits 0 on an intact chain and 1 at the first tampered row', async () => {
    const path = join(dir, 'g.db');
    const s = await SqliteStorage.open({ path });
    for (let k = 0; k < 4; k++) await s.recordAudit({ user: 'alice', peer: 'ipv4:127.0.0.1:1' }, 'test.write', { k });
    await s.close();
    const ok = await cli('audit', 'verify', '--db', path);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^audit log OK: 5 rows checked, head hash [0-9a-f]{64}\n$/);

    const db = new Database(path);
    db.exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'eve' WHERE seq = 3`);
    db.close();
    const bad = await cli('audit', 'verify', '--db', path);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/BROKEN at row 3 \(hash mismatch\)/);
    expect(bad.out).toMatch(/2 rows before it check out/);
  });

  it('exits 2 on usage errors and on a missing database, which it does not create', async () => {
    for (const argv of [['audit'], ['audit', 'check'], ['audit', 'verify', '--db', 'a', '--pg', 'postgres://x/y'], ['audit', 'verify', '--bd', 'x'], ['audit', 'verify', 'extra']]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/^greenwave: error \[INVALID_INPUT\]/);
    }
    expect((await cli('audit', 'verify', '--bd', 'x')).err).toMatch(/did you mean --db\?/);
    const missing = await cli('audit', 'verify', '--db', join(dir, 'nope', 'g.db'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/IO_ERROR.*cannot open SQLite database/);
    expect((await cli('audit', '--help')).out).toMatch(/--db PATH/);
  });
});
