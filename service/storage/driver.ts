/**
 * The small SQL surface both databases offer to the storage: parameterised
 * queries, batched inserts and transactions. SqlStorage (./sqlStorage.ts)
 * holds all the storage logic and talks only to this; ./sqlite.ts and
 * ./postgres.ts implement it. Keeping the logic in one place is what makes the
 * two databases behave the same (one test suite, ./suite.ts, checks both).
 *
 * SQL is written once with PostgreSQL's `$1, $2 …` placeholders; the SQLite
 * driver rewrites them to named parameters. Statements must not contain a `$`
 * followed by a digit anywhere else (no literals like '$5').
 */

export type Dialect = 'sqlite' | 'postgres';

/** One row as the database returns it. BIGINT columns arrive as numbers in both drivers. */
export type Row = Record<string, unknown>;

/** A column of a batched insert, with the PostgreSQL array type used to send it (`text`, `bigint`, `integer`, `double precision`). */
export interface BatchColumn {
  readonly name: string;
  readonly pgType: 'text' | 'bigint' | 'integer' | 'double precision';
}

/** What a statement runs in: a transaction, or (for reads) the database itself. */
export interface Executor {
  readonly dialect: Dialect;
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Inserts `rows` (each in `columns` order) into `table` in as few round trips as
   * the database allows. `suffix` follows the VALUES (e.g. an ON CONFLICT clause).
   */
  insertMany(table: string, columns: readonly BatchColumn[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void>;
}

export interface Tx extends Executor {
  /**
   * Serialises this transaction against every other writer until it ends. The audit
   * chain needs it: each row hashes the one before, so two writers must not both
   * read the same last row. SQLite's BEGIN IMMEDIATE already holds the write lock;
   * PostgreSQL takes a transaction-scoped advisory lock.
   */
  lockWrites(): Promise<void>;
}

export interface Driver extends Executor {
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The advisory lock key PostgreSQL writers share (arbitrary, fixed: "greenwave" in ASCII, truncated to 63 bits). */
export const PG_WRITE_LOCK_KEY = '7453110393524854113';
