/**
 * PostgresStorage: the storage on a PostgreSQL server, for a centre that runs
 * one (several greenwave processes, replication, its own backups). A `pg` Pool
 * from a connection URL; the storage logic is SqlStorage's (./sqlStorage.ts).
 * Opened by the service (`--pg URL`) and `greenwave audit verify --pg URL`.
 *
 * Writers serialise on one transaction-scoped advisory lock (Tx.lockWrites),
 * taken by every audit append: the hash chain needs each row to see the last
 * committed one. Readers never take it. BIGINT and NUMERIC come back as
 * JavaScript numbers (times in ms and counts stay far below 2^53), through
 * this pool's own type parsers, not pg's global ones.
 */
import pg from 'pg';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { PG_WRITE_LOCK_KEY, type BatchColumn, type Driver, type Executor, type Row, type Tx } from './driver.js';
import { storageFailure } from './errors.js';
import { SqlStorage, type SqlStorageOptions } from './sqlStorage.js';

export interface PostgresOptions extends SqlStorageOptions {
  /** e.g. postgres://greenwave@127.0.0.1:5432/greenwave or postgresql:///greenwave?host=/run/postgresql */
  readonly url: string;
  /** Pool size (default 4). */
  readonly maxConnections?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const toNumber = (v: string): number => Number(v);
/** This pool's type parsers: BIGINT and NUMERIC as numbers, the rest as pg's defaults. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function executor(client: pg.Pool | pg.PoolClient, where: string): Executor {
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw storageFailure(`PostgreSQL ${where}: ${what}`, e);
    }
  };
  return {
    dialect: 'postgres',
    query: (sql, params = []) => wrap('query', async () => (await client.query(sql, params as unknown[])).rows as Row[]),
    run: (sql, params = []) => wrap('write', async () => (await client.query(sql, params as unknown[])).rowCount ?? 0),
    insertMany: (table, columns: readonly BatchColumn[], rows, suffix = '') =>
      wrap('batch insert', async () => {
        // One statement per batch: each column travels as one array parameter and unnest turns them back into rows.
        const arrays = columns.map((_, j) => rows.map((r) => r[j] ?? null));
        const sql = `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')})
                       SELECT * FROM unnest(${columns.map((c, j) => `$${j + 1}::${c.pgType}[]`).join(', ')}) ${suffix}`;
        await client.query(sql, arrays);
      }),
  };
}

class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  private readonly direct: Executor;

  constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
  ) {
    this.direct = executor(pool, where);
  }

  query(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.direct.query(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  insertMany(table: string, columns: readonly BatchColumn[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void> {
    return this.direct.insertMany(table, columns, rows, suffix);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw storageFailure(`PostgreSQL ${this.where}: connect`, e);
    }
    const ex = executor(client, this.where);
    const tx: Tx = { ...ex, lockWrites: async () => void (await ex.query(`SELECT pg_advisory_xact_lock(${PG_WRITE_LOCK_KEY})`)) };
    let broken = false;
    try {
      await ex.run('BEGIN');
      const result = await fn(tx);
      await ex.run('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection itself failed: do not hand it back to the pool.
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

export class PostgresStorage extends SqlStorage {
  private constructor(driver: PostgresDriver, opts: PostgresOptions) {
    super(driver, opts.readOnly ?? false, opts.nowMs);
  }

  /** Connects, then migrates the schema (or, read-only, checks it); refuses a database newer than this code. */
  static async open(opts: PostgresOptions): Promise<PostgresStorage> {
    const where = redactUrl(opts.url);
    let pool: pg.Pool;
    try {
      pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 4, types: TYPES });
    } catch (e) {
      throw new GreenwaveError(ErrorCode.InvalidInput, `--pg ${where}: ${e instanceof Error ? e.message : String(e)}`, [], { cause: e });
    }
    // An idle client that loses its server emits 'error' on the pool; without a listener that would crash the process.
    pool.on('error', () => undefined);
    const driver = new PostgresDriver(pool, where);
    await PostgresStorage.prepare(driver, opts);
    return new PostgresStorage(driver, opts);
  }
}
