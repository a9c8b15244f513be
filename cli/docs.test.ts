/**
 * The command outputs shown in README.md and docs/*.md, and the committed
 * time-space diagram, are what the code prints now (`npm run docs:generate`
 * rewrites them), and a hand edit to an excerpt is caught.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_FILES, EXCERPTS, excerptText, regenerate, TSD_SVG, tsdSvg } from './docs.js';

const docs = new Map(DOC_FILES.map((f) => [f, readFileSync(new URL(`../${f}`, import.meta.url), 'utf8')]));
const readme = docs.get('README.md')!;
/** Each excerpt's command runs once in this file (three plans of the demo city); the hand-edit test reuses what it printed. */
const printed = new Map<string, string>();
const excerpt = (name: string): string => printed.get(name) ?? printed.set(name, excerptText(name)).get(name)!;

describe('docs generated from the code', () => {
  it('every excerpt named in the code is marked in exactly one document', () => {
    for (const name of Object.keys(EXCERPTS)) {
      const holders = [...docs].filter(([, text]) => text.includes(`<!-- generated: ${name} -->`)).map(([f]) => f);
      expect(holders, name).toHaveLength(1);
    }
  });

  it.each([...DOC_FILES])('%s: its excerpts are what the commands print (run npm run docs:generate after changing the output)', (file) => {
    const text = docs.get(file)!;
    expect(regenerate(text, excerpt)).toBe(text);
  });

  it('the committed time-space diagram is what the README’s corridor command draws', () => {
    expect(tsdSvg()).toBe(readFileSync(new URL(`../${TSD_SVG}`, import.meta.url), 'utf8'));
  });

  it('a hand edit to an excerpt is caught, in the README and in a docs page', () => {
    const edited = readme.replace('common cycle 112 s', 'common cycle 109 s');
    expect(edited).not.toBe(readme);
    // Regenerated once (it runs every excerpt's command, seconds of CPU), checked twice.
    const regenerated = regenerate(edited, excerpt);
    expect(regenerated).not.toBe(edited);
    expect(regenerated).toBe(readme);
    const page = docs.get('docs/network-format.md')!;
    const editedPage = page.replace('is below the absolute floor 3 s', 'is below the absolute floor 2 s');
    expect(editedPage).not.toBe(page);
    expect(regenerate(editedPage, excerpt)).toBe(page);
  });
});
