/**
 * The append-only audit log: appending a row inside the writer's transaction,
 * and walking the chain to verify it. Called by SqlStorage (./sqlStorage.ts)
 * for every write and by `greenwave audit verify` through Storage.verifyAudit.
 * The hash itself is defined in ./auditHash.ts.
 */
import { auditHash, canonicalJson, GENESIS_HASH } from './auditHash.js';
import type { Executor, Row, Tx } from './driver.js';
import type { Actor, AuditRow, AuditVerification } from './storage.js';

/** Rows read per page while verifying: bounded memory on a long log. */
const VERIFY_PAGE_ROWS = 5000;

export function auditRow(r: Row): AuditRow {
  return {
    seq: Number(r['seq']),
    atMs: Number(r['at_ms']),
    actor: String(r['actor']),
    peer: r['peer'] === null || r['peer'] === undefined ? null : String(r['peer']),
    action: String(r['action']),
    detail: String(r['detail']),
    prevHash: String(r['prev_hash']),
    hash: String(r['hash']),
  };
}

/**
 * Appends one row after the current last one. Takes the write lock first: the new
 * row hashes the last row's hash, so no other writer may append in between.
 */
export async function appendAudit(tx: Tx, actor: Actor, action: string, detail: unknown, atMs: number = Date.now()): Promise<AuditRow> {
  await tx.lockWrites();
  const last = (await tx.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'))[0];
  const seq = last ? Number(last['seq']) + 1 : 1;
  const prevHash = last ? String(last['hash']) : GENESIS_HASH;
  const content = { seq, atMs: Math.round(atMs), actor: actor.user, peer: actor.peer ?? null, action, detail: canonicalJson(detail ?? null) };
  const hash = auditHash(prevHash, content);
  await tx.run('INSERT INTO audit_log (seq, at_ms, actor, peer, action, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    content.seq,
    content.atMs,
    content.actor,
    content.peer,
    content.action,
    content.detail,
    prevHash,
    hash,
  ]);
  return { ...content, prevHash, hash };
}

/** Walks the chain from seq 1 and stops at the first row that breaks it. */
export async function verifyAuditChain(db: Executor): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  for (;;) {
    const page = (await db.query('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2', [expectedSeq, VERIFY_PAGE_ROWS])).map(auditRow);
    for (const r of page) {
      const bad = (problem: 'hash mismatch' | 'previous hash mismatch' | 'sequence gap', message: string): AuditVerification => ({ ok: false, rowsChecked: checked, badSeq: r.seq, problem, message: `audit row ${r.seq}: ${message}` });
      // A deleted row shows as a gap; a deleted first row as a chain starting above 1.
      if (r.seq !== expectedSeq) return bad('sequence gap', `expected row ${expectedSeq} next, found ${r.seq}: rows are missing`);
      if (r.prevHash !== prevHash) return bad('previous hash mismatch', `it links to ${r.prevHash.slice(0, 12)}…, but the row before it hashes to ${prevHash.slice(0, 12)}…`);
      const recomputed = auditHash(prevHash, r);
      if (recomputed !== r.hash) return bad('hash mismatch', `its content hashes to ${recomputed.slice(0, 12)}…, not the stored ${r.hash.slice(0, 12)}…: the row was altered`);
      prevHash = r.hash;
      expectedSeq++;
      checked++;
    }
    if (page.length < VERIFY_PAGE_ROWS) return { ok: true, rowsChecked: checked, headHash: prevHash };
  }
}
