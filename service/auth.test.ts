import { describe, expect, it } from 'vitest';
import { Metadata, status } from '@grpc/grpc-js';
import { TokenStore } from './auth.js';
import { StatusError } from './errors.js';

const md = (header?: string): Metadata => {
  const m = new Metadata();
  if (header !== undefined) m.set('authorization', header);
  return m;
};
const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e: unknown) {
    return e instanceof StatusError ? e.grpcCode : -1;
  }
  return undefined;
};

describe('bearer tokens', () => {
  const store = new TokenStore([
    { token: 'dispatch-secret', client: 'dispatch', roles: ['dispatch', 'viewer'] },
    { token: 'ops-secret', client: 'ops', roles: ['operator'] },
  ]);

  it('authenticates by token and checks the role on every call, remembered header or not', () => {
    for (let k = 0; k < 3; k++) {
      expect(store.authenticate(md('Bearer dispatch-secret'), 'dispatch').client).toBe('dispatch');
      expect(codeOf(() => store.authenticate(md('Bearer dispatch-secret'), 'operator'))).toBe(status.PERMISSION_DENIED);
      expect(store.authenticate(md('bearer   ops-secret '), 'operator').client).toBe('ops');
    }
  });

  it('rejects a missing, malformed or unknown token every time (only valid headers are remembered)', () => {
    for (let k = 0; k < 3; k++) {
      expect(codeOf(() => store.authenticate(md(), 'viewer'))).toBe(status.UNAUTHENTICATED);
      expect(codeOf(() => store.authenticate(md('Basic abc'), 'viewer'))).toBe(status.UNAUTHENTICATED);
      expect(codeOf(() => store.authenticate(md('Bearer dispatch-secreT'), 'viewer'))).toBe(status.UNAUTHENTICATED);
    }
  });

  it('keeps working past the memory bound', () => {
    // 5000 distinct valid headers (100 tokens, trailing spaces vary), more than the store remembers.
    const many = new TokenStore(Array.from({ length: 100 }, (_, k) => ({ token: `t${k}`, client: `c${k}`, roles: ['viewer'] as const })));
    for (let k = 0; k < 5000; k++) expect(many.authenticate(md(`Bearer t${k % 100}${' '.repeat(Math.floor(k / 100))}`), 'viewer').client).toBe(`c${k % 100}`);
    expect(many.authenticate(md('Bearer t7'), 'viewer').client).toBe('c7');
    expect(codeOf(() => many.authenticate(md('Bearer t100'), 'viewer'))).toBe(status.UNAUTHENTICATED);
    // The remembered headers stay within the bound (4096) although 5000 distinct ones were seen.
    expect((many as unknown as { verified: Map<string, unknown> }).verified.size).toBeLessThanOrEqual(4096);
  });
});
