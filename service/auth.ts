/**
 * Bearer-token authentication with roles. Tokens come from a JSON file:
 *   { "tokens": [ { "token": "…", "client": "bus-dispatch", "roles": ["dispatch", "viewer"] } ] }
 * Roles: `dispatch` may request priority (and update or cancel its own
 * requests), `emergency` may in addition ask for PRIORITY_CLASS_EMERGENCY
 * (preemption), `operator` may change plans (Replan; propose lifecycle plans, set locks) and
 * update or cancel any client's request, `supervisor` approves, rejects, deploys and rolls back
 * lifecycle plans (service/lifecycle/), `viewer` may read plans, signal state and car parks and ask for
 * parking recommendations, `parking` (a car-park system) may report its car parks' occupancy
 * (service/parkingService.ts). A client is named by its
 * `client` field: requests belong to it, and per-client limits count by it.
 * Tokens are compared as SHA-256 digests in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { status, type Metadata } from '@grpc/grpc-js';
import { StatusError } from './errors.js';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';

export const ROLES = ['dispatch', 'emergency', 'operator', 'supervisor', 'viewer', 'parking'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  readonly token: string;
  readonly client: string;
  readonly roles: readonly Role[];
}

export interface Principal {
  readonly client: string;
  readonly roles: readonly Role[];
}

/** Distinct verified authorization headers remembered; past this the memory starts over. */
const VERIFIED_CACHE_MAX = 4096;

export class TokenStore {
  private readonly entries: { digest: Buffer; principal: Principal }[];
  /**
   * Authorization headers already verified, to their principal. Hashing the token took as
   * much server time per call as the priority decision itself (measured under bench/grpc),
   * and a dispatch client sends the same header on every call. The token set is fixed for
   * the store's life, and only headers that carried a valid token are remembered, so an
   * unknown token always goes through the full constant-time digest comparison.
   */
  private readonly verified = new Map<string, Principal>();

  constructor(tokens: readonly TokenEntry[]) {
    this.entries = tokens.map((t) => ({ digest: digest(t.token), principal: { client: t.client, roles: t.roles } }));
  }

  static fromFile(path: string): TokenStore {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e: unknown) {
      throw new GreenwaveError(ErrorCode.Io, `cannot read tokens file "${path}": ${e instanceof Error ? e.message : String(e)}`);
    }
    return new TokenStore(parseTokens(raw, path));
  }

  /**
   * The caller, from `authorization: Bearer <token>`; UNAUTHENTICATED / PERMISSION_DENIED otherwise.
   * With a list of roles, any one of them will do.
   */
  authenticate(md: Metadata, role: Role | readonly Role[]): Principal {
    const header = md.get('authorization')[0];
    let found = typeof header === 'string' ? this.verified.get(header) : undefined;
    if (!found) {
      const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!m) throw new StatusError(status.UNAUTHENTICATED, 'missing bearer token: send metadata "authorization: Bearer <token>"');
      const d = digest(m[1]!);
      for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.principal;
      if (!found) throw new StatusError(status.UNAUTHENTICATED, 'unknown bearer token');
      if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
      this.verified.set(header as string, found);
    }
    requireRole(found, role);
    return found;
  }
}

/** PERMISSION_DENIED unless the principal has the role (one of the roles); `why` says what needed it. */
export function requireRole(p: Principal, role: Role | readonly Role[], why = ''): void {
  if (typeof role === 'string') {
    if (!p.roles.includes(role)) throw new StatusError(status.PERMISSION_DENIED, `client "${p.client}" lacks the "${role}" role${why ? `: ${why}` : ''}`);
  } else if (!role.some((r) => p.roles.includes(r))) throw new StatusError(status.PERMISSION_DENIED, `client "${p.client}" has none of the roles ${role.map((r) => `"${r}"`).join(', ')}${why ? `: ${why}` : ''}`);
}

export function parseTokens(raw: unknown, source: string): TokenEntry[] {
  const list = (raw as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list) || list.length === 0) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: expected { "tokens": [ { "token", "client", "roles" } ] }`);
  return list.map((t: unknown, k) => {
    const e = t as { token?: unknown; client?: unknown; roles?: unknown };
    if (typeof e.token !== 'string' || e.token.length < 8) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: tokens[${k}].token must be a string of at least 8 characters`);
    if (typeof e.client !== 'string' || !e.client) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: tokens[${k}].client must be a non-empty string`);
    if (!Array.isArray(e.roles) || !e.roles.every((r) => (ROLES as readonly string[]).includes(r as string))) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: tokens[${k}].roles must list roles among ${ROLES.join(', ')}`);
    return { token: e.token, client: e.client, roles: e.roles as Role[] };
  });
}

function digest(token: string): Buffer {
  // One-shot hash: runs on every call, and skips creating a Hash object (engines: node >= 20.19 has it).
  return hash('sha256', token, 'buffer');
}
