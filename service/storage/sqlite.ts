/**
 * SqliteStorage: the embedded default. One file (default var/greenwave.db) on
 * better-sqlite3, opened by the service (`--db PATH`) and by `greenwave audit
 * verify --db PATH`. The storage logic is SqlStorage's (./sqlStorage.ts); this
 * module is the driver and the file settings:
 *
 *  - WAL journal: readers never block the writer, and a commit is one append.
 *  - synchronous=FULL: every commit is fsynced before it returns. NORMAL would
 *    already survive kill -9 of the process (the WAL is in the OS's hands),
 *    but not a power cut or kernel panic, which can lose the last commits. A
 *    plan the centre told a controller it committed must not be forgotten by
 *    the centre, whatever stopped it, and commits here are batched (events,
 *    counts), so one fsync each is affordable.
 *  - busy_timeout: another process holding the write lock (a second `serve`,
 *    an `audit verify`) makes a writer wait, not fail at once.
 *  - cache_size 64 MB: the event log's indexes take every batch at many places.
 *
 * better-sqlite3 is synchronous while the storage's transactions are async
 * functions, so every statement goes through one queue: a transaction owns the
 * connection from BEGIN to COMMIT and nothing else interleaves with it. The
 * queue is per file, shared by every handle in the process: a second handle's
 * BEGIN IMMEDIATE would otherwise wait out the busy timeout on the one thread
 * the first handle needs to finish its transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import type { BatchColumn, Driver, Row, Tx } from './driver.js';
import { storageFailure } from './errors.js';
import { SqlStorage, type SqlStorageOptions } from './sqlStorage.js';

export { DEFAULT_SQLITE_PATH } from './location.js';
import { DEFAULT_SQLITE_PATH } from './location.js';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Page cache per connection, KiB. */
const CACHE_KIB = 65_536;
/** Rows per multi-row INSERT (4 columns × 64 = 256 parameters, far below SQLite's limit). */
const MULTI_ROW = 64;

export interface SqliteOptions extends SqlStorageOptions {
  /** The database file (created with its folder if missing, unless read-only). Default var/greenwave.db. */
  readonly path?: string;
  readonly busyTimeoutMs?: number;
}

/** `$1` placeholders (the storage's one SQL spelling) become SQLite named parameters `@p1`. */
const PLACEHOLDER = /\$(\d+)/g;
const toSqlite = (sql: string): string => sql.replace(PLACEHOLDER, '@p$1');
const bindings = (params: readonly unknown[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  params.forEach((v, i) => {
    out[`p${i + 1}`] = v === undefined ? null : v;
  });
  return out;
};

/** The tail of each file's queue, by resolved path. */
const queues = new Map<string, Promise<unknown>>();

class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** Runs `fn` when everything queued before it has finished. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = (queues.get(this.path) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    queues.set(this.path, tail);
    // Forget an idle file's queue, so opening many files does not grow the map.
    void tail.then(() => {
      if (queues.get(this.path) === tail) queues.delete(this.path);
    });
    return next;
  }

  private prepared(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(toSqlite(sql));
      this.statements.set(sql, s);
    }
    return s;
  }

  private querySync(sql: string, params: readonly unknown[]): Row[] {
    const s = this.prepared(sql);
    const b = bindings(params);
    if (s.reader) return s.all(b) as Row[];
    s.run(b);
    return [];
  }

  private runSync(sql: string, params: readonly unknown[]): number {
    const s = this.prepared(sql);
    return s.reader ? s.all(bindings(params)).length : s.run(bindings(params)).changes;
  }

  /**
   * Rows go MULTI_ROW at a time through one prepared multi-row INSERT with positional
   * parameters (the rest one by one): a statement step and a bind per 64 rows instead of per
   * row, and no parameter object per row. bench/events measured it against a plain loop.
   */
  private insertManySync(table: string, columns: readonly BatchColumn[], rows: readonly (readonly unknown[])[], suffix = ''): void {
    const head = `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) VALUES `;
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const width = columns.length;
    let k = 0;
    if (rows.length >= MULTI_ROW) {
      const many = this.preparedRaw(`${head}${new Array(MULTI_ROW).fill(tuple).join(', ')} ${suffix}`);
      const params = new Array<unknown>(MULTI_ROW * width);
      for (; k + MULTI_ROW <= rows.length; k += MULTI_ROW) {
        for (let r = 0; r < MULTI_ROW; r++) {
          const row = rows[k + r]!;
          for (let c = 0; c < width; c++) params[r * width + c] = row[c] === undefined ? null : row[c];
        }
        many.run(params);
      }
    }
    if (k < rows.length) {
      const one = this.preparedRaw(`${head}${tuple} ${suffix}`);
      for (; k < rows.length; k++) one.run(rows[k]!.map((v) => (v === undefined ? null : v)));
    }
  }

  /** A statement in SQLite's own spelling (`?` parameters), prepared once. */
  private preparedRaw(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private wrap<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storageFailure(`SQLite ${this.path}: ${what}`, e);
    }
  }

  query(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.exclusive(() => this.wrap('query', () => this.querySync(sql, params)));
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.exclusive(() => this.wrap('write', () => this.runSync(sql, params)));
  }

  insertMany(table: string, columns: readonly BatchColumn[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void> {
    return this.transaction((tx) => tx.insertMany(table, columns, rows, suffix));
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      if (this.closed) throw new GreenwaveError(ErrorCode.Storage, `SQLite ${this.path}: closed`);
      // IMMEDIATE takes the write lock now, so the audit append's read of the last row cannot go stale.
      this.wrap('begin', () => this.db.exec('BEGIN IMMEDIATE'));
      const tx: Tx = {
        dialect: 'sqlite',
        query: async (sql, params = []) => this.wrap('query', () => this.querySync(sql, params)),
        run: async (sql, params = []) => this.wrap('write', () => this.runSync(sql, params)),
        insertMany: async (table, columns, rows, suffix) => this.wrap('batch insert', () => this.insertManySync(table, columns, rows, suffix)),
        lockWrites: async () => undefined,
      };
      try {
        const result = await fn(tx);
        this.wrap('commit', () => this.db.exec('COMMIT'));
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  close(): Promise<void> {
    return this.exclusive(() => {
      if (this.closed) return;
      this.closed = true;
      this.db.close();
    });
  }
}

export class SqliteStorage extends SqlStorage {
  /** The database file, as opened. */
  readonly path: string;

  private constructor(driver: SqliteDriver, opts: SqliteOptions) {
    super(driver, opts.readOnly ?? false, opts.nowMs);
    this.path = driver.path;
  }

  /** Opens (creating if needed) and migrates the database; refuses one newer than this code (SchemaTooNewError). */
  static async open(opts: SqliteOptions = {}): Promise<SqliteStorage> {
    const path = resolve(opts.path ?? DEFAULT_SQLITE_PATH);
    let db: Database.Database;
    try {
      if (!opts.readOnly) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { readonly: opts.readOnly ?? false, fileMustExist: opts.readOnly ?? false, timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    } catch (e) {
      throw new GreenwaveError(ErrorCode.Io, `cannot open SQLite database "${path}": ${e instanceof Error ? e.message : String(e)}`, [], { cause: e });
    }
    try {
      if (!opts.readOnly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      // 64 MB of page cache instead of SQLite's 2 MB: the event log's (location, time) index takes
      // each batch's rows at thousands of places, and bench/events slowed as it outgrew 2 MB.
      db.pragma(`cache_size = -${CACHE_KIB}`);
      db.pragma('foreign_keys = ON');
    } catch (e) {
      db.close();
      throw storageFailure(`SQLite ${path}`, e);
    }
    const driver = new SqliteDriver(db, path);
    await SqlStorage.prepare(driver, opts);
    return new SqliteStorage(driver, opts);
  }
}
