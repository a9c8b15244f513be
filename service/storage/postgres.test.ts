/**
 * The storage suite (./suite.ts) on a real PostgreSQL server from Debian's
 * `postgresql` package, which this file starts: initdb in a temporary folder,
 * postgres on a free loopback port with its unix socket in that folder, one
 * database per test, then the server is stopped and the folder removed. As root
 * (initdb refuses root) the server runs as the `postgres` system user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStorage, redactUrl } from './postgres.js';
import { storageSuite, type StorageHarness } from './suite.js';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin folder, or a failure that says what to install. */
function pgBin(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`PostgreSQL's server binaries are missing (no ${PG_ROOT}/<version>/bin/initdb): install the Debian package "postgresql" (apt-get install postgresql); .ci/run does`);
  return join(PG_ROOT, versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary, as the postgres user when we are root; throws with its output on failure. */
function pgRun(bin: string, tool: string, args: string[]): void {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`);
}

let dir = '';
let bin = '';
let port = 0;
let started = false;
let n = 0;
const url = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;

async function sql(db: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url(db) });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  bin = pgBin();
  dir = mkdtempSync(join(tmpdir(), 'gw-pg-'));
  if (asRoot) {
    const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  port = await freePort();
  pgRun(bin, 'initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
  // fsync off: this tests the storage's behaviour, not the server's durability, and stays fast on a shared machine.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  pgRun(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  started = true;
}, 120_000);

afterAll(() => {
  try {
    if (started) pgRun(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

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
