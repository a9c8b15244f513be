/**
 * The console's users: hashes written by scripts/hash-password.mjs (run as a child process)
 * are accepted by the login, a wrong password and an unknown name are refused alike, and the
 * fifth failure in a row locks the name for five minutes, even for the right password.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hashPassword, LOCKOUT_MS, parseUsers, UserStore } from './users.js';

const hashOf = (password: string): string => execFileSync(process.execPath, ['scripts/hash-password.mjs'], { input: password, encoding: 'utf8' }).trim();

describe('console users', () => {
  it('accepts the hash the script writes, refuses a wrong password and an unknown user the same way', async () => {
    const store = new UserStore(parseUsers({ users: [{ user: 'li', passwordScrypt: hashOf('green-wave-1'), roles: ['operator', 'viewer'] }] }, 'users.json'));
    const ok = await store.login('li', 'green-wave-1');
    expect(ok.ok && ok.user.roles).toEqual(['operator', 'viewer']);
    expect(await store.login('li', 'green-wave-2')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await store.login('wang', 'green-wave-1')).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('locks a user for five minutes after five failures in a row', async () => {
    let now = 1_000_000;
    const store = new UserStore([{ user: 'li', passwordScrypt: await hashPassword('green-wave-1'), roles: ['viewer'] }], () => now);
    for (let k = 1; k <= 4; k++) expect((await store.login('li', 'nope')).ok).toBe(false);
    expect(await store.login('li', 'nope')).toMatchObject({ ok: false, reason: 'locked', lockedUntilMs: now + LOCKOUT_MS });
    expect(await store.login('li', 'green-wave-1')).toMatchObject({ ok: false, reason: 'locked' });
    now += LOCKOUT_MS - 1;
    expect(await store.login('li', 'green-wave-1')).toMatchObject({ ok: false, reason: 'locked' });
    now += 1;
    expect((await store.login('li', 'green-wave-1')).ok).toBe(true);
    // A success clears the count: four more failures do not lock.
    for (let k = 1; k <= 4; k++) await store.login('li', 'nope');
    expect((await store.login('li', 'green-wave-1')).ok).toBe(true);
  });

  it('names the field of a bad users file', () => {
    expect(() => parseUsers({ users: [{ user: 'li', passwordScrypt: 'plain', roles: ['viewer'] }] }, 'u.json')).toThrow(/users\[0\]\.passwordScrypt/);
    expect(() => parseUsers({ users: [{ user: 'li', passwordScrypt: `${'a'.repeat(32)}:${'b'.repeat(128)}`, roles: ['admin'] }] }, 'u.json')).toThrow(/users\[0\]\.roles/);
  });
});
