/**
 * `greenwave audit verify [--db PATH | --pg URL]`: walks the audit log's hash
 * chain (service/storage/audit.ts, docs/storage.md) and prints how many rows
 * check out, or the first row that does not. Exit 0 when the chain is intact,
 * 1 when it is broken (or the database fails), 2 for usage errors and a
 * missing database file. It opens the database read-only and never migrates
 * it: verifying must not change the evidence. Run by cli/main.ts (runAsync).
 */
import { parseArgs } from 'node:util';
import { ErrorCode, GreenwaveError } from '../engine/errors.js';
import { DEFAULT_SQLITE_PATH } from '../service/storage/location.js';


/** Options of `greenwave audit verify` (also listed by its --help). */
export const AUDIT_OPTIONS = {
  db: { type: 'string' },
  pg: { type: 'string' },
} as const;

export const AUDIT_USAGE = `usage: greenwave audit verify [--db var/greenwave.db | --pg postgres://user@host:5432/db]
  Checks the audit log's hash chain from its first row (docs/storage.md).
  Prints the rows checked and the head hash (exit 0), or the first row that
  breaks the chain and why (exit 1). Opens the database read-only.
  --db PATH   the SQLite database (default ${DEFAULT_SQLITE_PATH})
  --pg URL    a PostgreSQL database instead
`;

const usage = (message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, `${message}\n\n${AUDIT_USAGE}`);

export async function cmdAudit(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: AUDIT_OPTIONS });
  const [sub, ...extra] = positionals;
  if (sub !== 'verify') throw usage(sub === undefined ? 'audit: expected a subcommand: verify' : `audit: unknown subcommand "${sub}"`);
  if (extra.length > 0) throw usage(`audit verify: unexpected argument "${extra[0]}"`);
  if (values.db !== undefined && values.pg !== undefined) throw usage('audit verify: give --db or --pg, not both');
  const { openStorage } = await import('../service/storage/open.js');
  const storage = await openStorage({ db: values.pg === undefined ? (values.db ?? DEFAULT_SQLITE_PATH) : undefined, pg: values.pg }, { readOnly: true });
  try {
    const v = await storage.verifyAudit();
    if (v.ok) {
      out(`audit log OK: ${v.rowsChecked} row${v.rowsChecked === 1 ? '' : 's'} checked, head hash ${v.headHash}\n`);
      return 0;
    }
    out(`audit log BROKEN at row ${v.badSeq} (${v.problem}): ${v.message}\n${v.rowsChecked} row${v.rowsChecked === 1 ? '' : 's'} before it check out\n`);
    return 1;
  } finally {
    await storage.close();
  }
}
