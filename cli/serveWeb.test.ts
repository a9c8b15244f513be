/**
 * `greenwave serve --web-port P --users FILE`: the console's options are checked
 * at start like the others (exit 2 with the option named) and reach startServer;
 * `webPort` and `users` in the config file and GREENWAVE_WEB_PORT / GREENWAVE_USERS
 * too, each refused with its file or variable and field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from './serve.js';
import { TOKENS_FILE } from '../test/fixtures/grpc/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-serve-web-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const users = join(dir, 'users.json');
writeFileSync(users, JSON.stringify({ users: [{ user: 'li', passwordScrypt: `${'ab'.repeat(16)}:${'cd'.repeat(64)}`, roles: ['operator'] }] }));
const args = (...more: string[]) => ['--insecure', '--tokens', TOKENS_FILE, ...more];

describe('serve --web-port', () => {
  it('is off unless given; with a users file it reaches startServer', () => {
    expect(parseServeArgs(args(), {}).webPort).toBeUndefined();
    const a = parseServeArgs(args('--web-port', '0', '--users', users), {});
    expect(a.webPort).toBe(0);
    expect(a.users).toBeDefined();
  });

  it('refuses a bad port, a missing users file option, and a bad users file, naming what is wrong', () => {
    expect(() => parseServeArgs(args('--web-port', '70000', '--users', users), {})).toThrow(/--web-port 70000 must be an integer 0\.\.65535/);
    expect(() => parseServeArgs(args('--web-port', '8080'), {})).toThrow(/--web-port needs --users/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ users: [{ user: 'li', passwordScrypt: 'hunter2', roles: ['operator'] }] }));
    expect(() => parseServeArgs(args('--web-port', '8080', '--users', bad), {})).toThrow(/users\[0\]\.passwordScrypt/);
  });
});

describe('the console in the config file and the environment', () => {
  it('webPort and users from the file (users relative to it) or GREENWAVE_WEB_PORT / GREENWAVE_USERS; the command line wins', () => {
    const f = join(dir, 'greenwave.json');
    writeFileSync(f, JSON.stringify({ insecure: true, tokens: TOKENS_FILE, webPort: 8080, users: 'users.json' }));
    expect(parseServeArgs(['--config', f], {})).toMatchObject({ webPort: 8080 });
    expect(parseServeArgs(['--config', f], { GREENWAVE_WEB_PORT: '8181' }).webPort).toBe(8181);
    expect(parseServeArgs(['--config', f, '--web-port', '0'], { GREENWAVE_WEB_PORT: '8181' }).webPort).toBe(0);
    expect(parseServeArgs(args(), { GREENWAVE_WEB_PORT: '0', GREENWAVE_USERS: users }).users).toBeDefined();
  });

  it('a bad webPort or users is refused with the file or variable and the field', () => {
    const f = join(dir, 'bad-web.json');
    writeFileSync(f, JSON.stringify({ insecure: true, tokens: TOKENS_FILE, webPort: 'eighty', users: '' }));
    expect(() => parseServeArgs(['--config', f], {})).toThrow(/bad-web\.json: webPort: must be an integer 0\.\.65535[\s\S]*bad-web\.json: users: must not be empty/);
    expect(() => parseServeArgs(args(), { GREENWAVE_WEB_PORT: '99999', GREENWAVE_USERS: users })).toThrow(/GREENWAVE_WEB_PORT: must be an integer 0\.\.65535/);
    expect(() => parseServeArgs(args(), { GREENWAVE_WEB_PORT: '8080' })).toThrow(/--web-port needs --users .*GREENWAVE_USERS/);
  });
});
