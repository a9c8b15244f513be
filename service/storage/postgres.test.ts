/**
 * The storage suite (./suite.ts) on a real PostgreSQL server from Debian's
 * `postgresql` package (test/fixtures/postgres.ts starts it), one database per
 * test, then the server is stopped and its folder removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPostgres, type PostgresServer } from '../../test/fixtures/postgres.js';
import { PostgresStorage, redactUrl } from './postgres.js';
import { storageSuite, type StorageHarness } from './suite.js';

let server: PostgresServer | undefined;
let n = 0;
const url = (db: string): string => server!.url(db);
const sql = (db: string, text: string): Promise<void> => server!.sql(db, text);

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(() => server?.stop(), 60_000);

const harness: StorageHarness = {
  dialect: 'postgres',
  dropAuditGuards: ['DROP TRIGGER audit_log_no_change ON audit_log', 'DROP TRIGGER audit_log_no_truncate ON audit_log'],
  async fresh() {
    const name = `t${++n}`;
    await sql('postgres', `CREATE DATABASE ${name}`);
    return {
      open: () => PostgresStorage.open({ url: url(name) }),
      exec: (text: string) => sql(name, text),
    };
  },
};

storageSuite('PostgreSQL', () => harness);

describe('PostgreSQL specifics', () => {
  it('a refused connection is a STORAGE_ERROR naming the server without its password', async () => {
    const dead = await freePort();
    const e = await PostgresStorage.open({ url: `postgres://u:secret@127.0.0.1:${dead}/x` }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'STORAGE_ERROR' });
    expect(String((e as Error).message)).not.toContain('secret');
    expect(redactUrl('postgres://u:secret@h/x')).toBe('postgres://u:***@h/x');
  });
});

describe('greenwave audit verify --pg', () => {
  it('checks a PostgreSQL chain, exit 0', async () => {
    const db = await harness.fresh();
    const s = await db.open();
    await s.recordAudit({ user: 'alice' }, 'test.write', {});
    await s.close();
    // The command itself (cli/audit.test.ts covers its routing through runAsync and the exit codes).
    const { cmdAudit } = await import('../../cli/audit.js');
    let out = '';
    const code = await cmdAudit(['verify', '--pg', url(`t${n}`)], (x) => (out += x));
    expect(out).toMatch(/^audit log OK: 2 rows checked/);
    expect(code).toBe(0);
  });
});
