/**
 * The audit log's hash chain, defined once in TypeScript so that SQLite and
 * PostgreSQL (which only store text and integers) produce the same hashes.
 * Used by the audit module (./audit.ts) when appending and verifying; spelt out
 * in docs/storage.md so that an outside tool can re-verify a chain.
 *
 *   detail  = canonicalJson(the action's detail)                 (stored as text)
 *   content = JSON.stringify([seq, atMs, actor, peer, action, detail])
 *   hash    = lowercase hex SHA-256 of the UTF-8 bytes of  prevHash + "\n" + content
 *
 * seq and atMs are integers, peer is a string or null, detail is the stored
 * text itself (a string inside the array, so it is quoted once more). The first
 * row's prevHash is 64 zeros.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted by UTF-16 code units and no whitespace, so that equal
 * values always give equal text. Numbers must be finite; undefined object members
 * are dropped (as JSON.stringify does), undefined array items are refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    // NaN and ±Infinity have no JSON form; JSON.stringify would silently write null.
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a finite number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => {
      if (v === undefined) throw new TypeError(`canonicalJson: array item ${i} is undefined`);
      return canonicalJson(v);
    }).join(',')}]`;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units: the order the docs promise.
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialise a ${typeof value}`);
}

/** The fields of an audit row the hash covers. */
export interface AuditContent {
  readonly seq: number;
  readonly atMs: number;
  readonly actor: string;
  readonly peer: string | null;
  readonly action: string;
  /** Canonical JSON text, exactly as stored. */
  readonly detail: string;
}

export function auditContent(r: AuditContent): string {
  return JSON.stringify([r.seq, r.atMs, r.actor, r.peer, r.action, r.detail]);
}

export function auditHash(prevHash: string, r: AuditContent): string {
  return createHash('sha256').update(`${prevHash}\n${auditContent(r)}`, 'utf8').digest('hex');
}

/** SHA-256 of UTF-8 text, lowercase hex: network versions and plan bodies are named by it, and the service fingerprints its input files with it. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
