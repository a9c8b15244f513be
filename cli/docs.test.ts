/**
 * The README's command outputs and the committed time-space diagram are what
 * the code prints now (`npm run docs:generate` rewrites them), and a hand
 * edit to an excerpt is caught.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXCERPTS, excerptText, regenerateReadme, TSD_SVG, tsdSvg } from './docs.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** Each excerpt's command runs once in this file (three plans of the demo city); the hand-edit test reuses what it printed. */
const printed = new Map<string, string>();
const excerpt = (name: string): string => printed.get(name) ?? printed.set(name, excerptText(name)).get(name)!;

describe('docs generated from the code', () => {
  it('every excerpt named in the code is marked in README.md', () => {
    for (const name of Object.keys(EXCERPTS)) expect(readme).toContain(`<!-- generated: ${name} -->`);
  });

  it('README.md’s excerpts are what the commands print (run npm run docs:generate after changing the output)', () => {
    expect(regenerateReadme(readme, excerpt)).toBe(readme);
  });

  it('the committed time-space diagram is what the README’s corridor command draws', () => {
    expect(tsdSvg()).toBe(readFileSync(new URL(`../${TSD_SVG}`, import.meta.url), 'utf8'));
  });

  it('a hand edit to an excerpt is caught', () => {
    const edited = readme.replace('common cycle 112 s', 'common cycle 109 s');
    expect(edited).not.toBe(readme);
    // Regenerated once (it runs every excerpt's command, seconds of CPU), checked twice.
    const regenerated = regenerateReadme(edited, excerpt);
    expect(regenerated).not.toBe(edited);
    expect(regenerated).toBe(readme);
  });
});
