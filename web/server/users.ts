/**
 * The console's users: a JSON file of names, scrypt password hashes and roles
 *   { "users": [ { "user": "li", "passwordScrypt": "<salt hex>:<hash hex>", "roles": ["operator", "viewer"] } ] }
 * (roles as the gRPC tokens' in service/auth.ts), password checks in constant
 * time, and the lockout: 5 failed logins in a row for one user name lock it for
 * 5 minutes. Loaded by `greenwave serve --users` (cli/serve.ts) and used by the
 * console's login (./api.ts). `scripts/hash-password.mjs` writes the hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ErrorCode, GreenwaveError, type Issue } from '../../engine/errors.js';
import { ROLES, type Role } from '../../service/auth.js';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/** Node's scrypt defaults (N = 16384, r = 8, p = 1); the derived key is this long, bytes. Same in scripts/hash-password.mjs. */
export const SCRYPT_KEY_BYTES = 64;
const SALT_BYTES = 16;
/** Failed logins in a row that lock a user name, and for how long, ms. */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_MS = 5 * 60_000;
/** User names whose failures are remembered before the unlocked ones are forgotten (someone trying many names). */
const MAX_TRACKED_NAMES = 10_000;

export interface ConsoleUser {
  readonly user: string;
  readonly passwordScrypt: string;
  readonly roles: readonly Role[];
}

export type LoginOutcome = { readonly ok: true; readonly user: ConsoleUser } | { readonly ok: false; readonly reason: 'bad-credentials' | 'locked'; readonly lockedUntilMs?: number };

/** "<salt hex>:<hash hex>" for `password`, with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return `${salt.toString('hex')}:${(await scrypt(password, salt, SCRYPT_KEY_BYTES)).toString('hex')}`;
}

/** A hash that matches no password, checked for unknown names so that they take as long as known ones. */
const DUMMY = `${'00'.repeat(SALT_BYTES)}:${'00'.repeat(SCRYPT_KEY_BYTES)}`;

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [saltHex, hashHex] = stored.split(':') as [string, string];
  const want = Buffer.from(hashHex, 'hex');
  const got = await scrypt(password, Buffer.from(saltHex, 'hex'), want.length);
  return timingSafeEqual(want, got);
}

export function parseUsers(raw: unknown, source: string): ConsoleUser[] {
  const list = (raw as { users?: unknown } | null)?.users;
  const bad = (path: string, message: string): GreenwaveError => new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${path}: ${message}`, [{ path, message } satisfies Issue]);
  if (!Array.isArray(list) || list.length === 0) throw bad('users', 'expected { "users": [ { "user", "passwordScrypt", "roles" } ] }');
  const seen = new Set<string>();
  return list.map((u: unknown, k) => {
    const e = u as { user?: unknown; passwordScrypt?: unknown; roles?: unknown };
    if (typeof e.user !== 'string' || !/^[\w.@-]{1,64}$/.test(e.user)) throw bad(`users[${k}].user`, 'must be 1 to 64 letters, digits or . _ @ -');
    if (seen.has(e.user)) throw bad(`users[${k}].user`, `"${e.user}" is listed twice`);
    seen.add(e.user);
    if (typeof e.passwordScrypt !== 'string' || !/^[0-9a-f]{16,}:[0-9a-f]{32,}$/i.test(e.passwordScrypt)) throw bad(`users[${k}].passwordScrypt`, 'must be "<salt hex>:<hash hex>" (node scripts/hash-password.mjs writes one)');
    if (!Array.isArray(e.roles) || e.roles.length === 0 || !e.roles.every((r) => (ROLES as readonly string[]).includes(r as string))) throw bad(`users[${k}].roles`, `must list roles among ${ROLES.join(', ')}`);
    return { user: e.user, passwordScrypt: e.passwordScrypt, roles: e.roles as Role[] };
  });
}

export class UserStore {
  private readonly byName: Map<string, ConsoleUser>;
  /** Per user name (known or not, so that probing names reveals nothing): failures in a row and the lock's end. */
  private readonly failures = new Map<string, { count: number; lockedUntilMs: number }>();

  constructor(
    users: readonly ConsoleUser[],
    private readonly nowMs: () => number = Date.now,
  ) {
    this.byName = new Map(users.map((u) => [u.user, u]));
  }

  static fromFile(path: string): UserStore {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e: unknown) {
      throw new GreenwaveError(ErrorCode.Io, `cannot read users file "${path}": ${e instanceof Error ? e.message : String(e)}`);
    }
    return new UserStore(parseUsers(raw, path));
  }

  /** Checks a login; a locked name is refused without looking at the password. */
  async login(name: string, password: string): Promise<LoginOutcome> {
    const key = name.slice(0, 64);
    const f = this.failures.get(key);
    const now = this.nowMs();
    if (f && f.lockedUntilMs > now) return { ok: false, reason: 'locked', lockedUntilMs: f.lockedUntilMs };
    const user = this.byName.get(key);
    const ok = await verifyPassword(password, user?.passwordScrypt ?? DUMMY);
    if (ok && user) {
      this.failures.delete(key);
      return { ok: true, user };
    }
    // The map holds at most one entry per name tried; a lock that ran out starts a fresh count.
    const count = (f && f.lockedUntilMs === 0 ? f.count : 0) + 1;
    const lockedUntilMs = count >= LOCKOUT_FAILURES ? now + LOCKOUT_MS : 0;
    if (this.failures.size >= MAX_TRACKED_NAMES) for (const [k, v] of this.failures) if (v.lockedUntilMs <= now) this.failures.delete(k);
    this.failures.set(key, { count: lockedUntilMs > 0 ? 0 : count, lockedUntilMs });
    return lockedUntilMs > 0 ? { ok: false, reason: 'locked', lockedUntilMs } : { ok: false, reason: 'bad-credentials' };
  }
}
