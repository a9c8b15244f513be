/**
 * Every command's --help exits 0 and names every option the command parses;
 * --version prints the package's version.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from './main.js';
import { commandHelp } from './help.js';

function cli(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('greenwave <command> --help', () => {
  for (const [command, { options }] of Object.entries(commandHelp())) {
    it(`${command} --help exits 0 and lists ${Object.keys(options).length} options`, () => {
      for (const flag of ['--help', '-h']) {
        const r = cli(...command.split(' '), flag);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toBe('');
        for (const name of Object.keys(options)) expect(r.out, `--${name} missing from ${command}'s help`).toContain(`--${name}`);
      }
    });
  }

  it('--version prints the version of package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(cli('--version')).toEqual({ code: 0, out: `greenwave ${pkg.version}\n`, err: '' });
    expect(cli('-V').out).toBe(`greenwave ${pkg.version}\n`);
  });

  it('an unknown option still exits 2 with the usage', () => {
    const r = cli('plan', '--nope');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--nope'/);
    expect(r.err).not.toMatch(/did you mean/);
  });

  it('suggests what was probably meant: a command, a sumo subcommand, an option', () => {
    expect(cli('plna').err).toMatch(/unknown command "plna" \(did you mean "plan"\?\)/);
    expect(cli('sumo', 'plna').err).toMatch(/unknown subcommand "plna" \(did you mean "plan"\?\)/);
    expect(cli('plan', '--netwrk', 'x').err).toMatch(/Unknown option '--netwrk' \(did you mean --network\?\)/);
    expect(cli('sumo', 'plan', '--detector', 'x').err).toMatch(/did you mean --detectors\?/);
    expect(cli('sim', '--rotes', 'x').err).toMatch(/did you mean --routes\?/);
    expect(cli('zzzzzz').err).not.toMatch(/did you mean/);
  });
});
