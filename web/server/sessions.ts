/**
 * The console's login sessions: a random id in an HttpOnly, SameSite=Strict
 * cookie (Secure over TLS), a per-session CSRF token the page sends back in
 * the `x-csrf-token` header on every state-changing request, and an idle
 * expiry. Kept in memory: a restart of `greenwave serve` logs everyone out,
 * which is what an operator would expect of a restarted control centre.
 * Used by the console's HTTP API (./api.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Role } from '../../service/auth.js';

export const SESSION_COOKIE = 'gw_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A session unused for this long ends, ms. */
export const SESSION_IDLE_MS = 8 * 3600_000;
/** Sessions kept at most; past this the least recently used go first. */
const MAX_SESSIONS = 10_000;

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly roles: readonly Role[];
  readonly csrfToken: string;
  lastUsedMs: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly secureCookies: boolean,
    private readonly nowMs: () => number = Date.now,
  ) {}

  create(user: string, roles: readonly Role[]): Session {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const s: Session = { id: randomBytes(32).toString('base64url'), user, roles, csrfToken: randomBytes(32).toString('base64url'), lastUsedMs: this.nowMs() };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The request's session, if its cookie names a live one (which counts as a use). */
  fromRequest(req: IncomingMessage): Session | undefined {
    const id = cookie(req, SESSION_COOKIE);
    const s = id === undefined ? undefined : this.sessions.get(id);
    if (!s) return undefined;
    const now = this.nowMs();
    if (now - s.lastUsedMs > SESSION_IDLE_MS) {
      this.sessions.delete(s.id);
      return undefined;
    }
    s.lastUsedMs = now;
    // Re-inserted: Map order is then least recently used first.
    this.sessions.delete(s.id);
    this.sessions.set(s.id, s);
    return s;
  }

  end(s: Session): void {
    this.sessions.delete(s.id);
  }

  /** Whether the request carries the session's CSRF token (constant-time comparison). */
  csrfOk(req: IncomingMessage, s: Session): boolean {
    const got = req.headers[CSRF_HEADER];
    if (typeof got !== 'string') return false;
    const a = Buffer.from(got);
    const b = Buffer.from(s.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  setCookie(s: Session): string {
    return `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_IDLE_MS / 1000}${this.secureCookies ? '; Secure' : ''}`;
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.secureCookies ? '; Secure' : ''}`;
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
