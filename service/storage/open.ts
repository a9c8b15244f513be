/**
 * Opens the storage a command line asked for: `--pg URL` selects PostgreSQL,
 * otherwise SQLite at `--db PATH` (default var/greenwave.db). Called by
 * `greenwave audit verify` (cli/audit.ts) and, later, by `greenwave serve`.
 */
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { PostgresStorage } from './postgres.js';
import { DEFAULT_SQLITE_PATH, SqliteStorage } from './sqlite.js';
import type { Storage } from './storage.js';

export interface StorageLocation {
  /** SQLite file. */
  readonly db?: string | undefined;
  /** PostgreSQL connection URL. */
  readonly pg?: string | undefined;
}

export function openStorage(where: StorageLocation, opts: { readOnly?: boolean } = {}): Promise<Storage> {
  if (where.db !== undefined && where.pg !== undefined) return Promise.reject(new GreenwaveError(ErrorCode.InvalidInput, 'give --db or --pg, not both'));
  if (where.pg !== undefined) return PostgresStorage.open({ url: where.pg, ...opts });
  return SqliteStorage.open({ path: where.db ?? DEFAULT_SQLITE_PATH, ...opts });
}
