/**
 * Where the embedded database lives by default. A module of its own, with no
 * imports, so that the commands (cli/serve.ts, deploy.ts, demo.ts, audit.ts)
 * can name the default without loading a database driver before they need one.
 */

/** The SQLite file every command uses unless given --db or --pg. */
export const DEFAULT_SQLITE_PATH = 'var/greenwave.db';
