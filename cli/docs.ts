/**
 * Docs that cannot drift: the README's command outputs and the committed
 * time-space diagram are produced by the commands they document. Each
 * generated excerpt in README.md sits between `<!-- generated: NAME -->` and
 * `<!-- /generated -->` around a fenced block; `npm run docs:generate` rewrites
 * them (and the SVG) from what the code prints, and cli/docs.test.ts fails
 * when the committed files differ from it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './main.js';

/** The repository root, from the sources (cli/) or the compiled files (dist/cli/). */
const ROOT = ['../', '../../'].map((r) => fileURLToPath(new URL(r, import.meta.url))).find((d) => existsSync(join(d, 'examples/demo-city/network.json'))) ?? process.cwd();
const NETWORK = 'examples/demo-city/network.json';
const COUNTS = 'examples/demo-city/counts.csv';
export const TSD_SVG = 'docs/time-space-renmin-rd.svg';

interface Excerpt {
  /** The command, as the README shows it (relative to the repository root). */
  readonly argv: readonly string[];
  /** Blocks of the output (separated by blank lines) kept, by how their first line starts; every block when absent. Skipped runs become "…". */
  readonly blocks?: readonly string[];
  /** Only blocks from the one starting with this on (for a section printed after others). */
  readonly from?: string;
}

/** The README's generated excerpts, by name. */
export const EXCERPTS: Readonly<Record<string, Excerpt>> = {
  plan: { argv: ['plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00'], blocks: ['greenwave plan', 'demand:', '■ I1 ', '■ I6 ', '▶ corridor', 'detector faults'] },
  'timing-sheet': { argv: ['plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--sheet'], from: 'controller timing sheet', blocks: ['■ I1 ', '■ I6 ', 'min = '] },
  corridor: { argv: ['corridor', '--network', NETWORK, '--counts', COUNTS, '--corridor', 'renmin-rd', '--at', '10:00'], blocks: ['▶ corridor'] },
};

/** Runs a command in the repository root and returns what it prints. */
function output(argv: readonly string[]): string {
  const cwd = process.cwd();
  let out = '';
  let err = '';
  process.chdir(ROOT);
  try {
    const code = run([...argv], (s) => (out += s), (s) => (err += s));
    if (code !== 0) throw new Error(`greenwave ${argv.join(' ')} exited ${code}: ${err}`);
  } finally {
    process.chdir(cwd);
  }
  return out;
}

/** The excerpt's text: the kept blocks, "…" where blocks were left out between them. */
export function excerptText(name: string): string {
  const e = EXCERPTS[name];
  if (!e) throw new Error(`no excerpt "${name}"`);
  const all = output(e.argv).replace(/\n+$/, '').split(/\n\s*\n/);
  const start = e.from === undefined ? 0 : all.findIndex((b) => b.startsWith(e.from!));
  if (start < 0) throw new Error(`excerpt "${name}": no block starts with "${e.from}"`);
  const blocks = all.slice(start);
  if (!e.blocks) return `${blocks.join('\n\n')}\n`;
  const kept: string[] = [];
  let skipped = false;
  for (const b of blocks) {
    if (e.blocks.some((p) => b.startsWith(p))) {
      if (skipped && kept.length > 0) kept.push('…');
      kept.push(b);
      skipped = false;
    } else skipped = true;
  }
  return `${kept.join('\n\n')}\n`;
}

const MARKED = /(<!-- generated: ([\w-]+) -->\n```\n)([\s\S]*?)(```\n<!-- \/generated -->)/g;

/**
 * README text with every generated excerpt rewritten from the code. `excerpt` is excerptText
 * unless a caller (the docs test) already ran the commands once and passes what they printed.
 */
export function regenerateReadme(text: string, excerpt: (name: string) => string = excerptText): string {
  return text.replace(MARKED, (_all, open: string, name: string, _body: string, close: string) => `${open}${excerpt(name)}${close}`);
}

/** The time-space diagram the README's corridor command draws. */
export function tsdSvg(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-docs-'));
  try {
    output([...EXCERPTS['corridor']!.argv, '--svg', join(dir, 'tsd.svg')]);
    return readFileSync(join(dir, 'tsd.svg'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run docs:generate`: rewrites README.md's excerpts and the committed SVG. */
export function generateDocs(): void {
  const readme = join(ROOT, 'README.md');
  writeFileSync(readme, regenerateReadme(readFileSync(readme, 'utf8')));
  writeFileSync(join(ROOT, TSD_SVG), tsdSvg());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) generateDocs();
