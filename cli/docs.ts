/**
 * Docs that cannot drift: the command outputs shown in README.md and docs/*.md
 * and the committed time-space diagram are produced by the commands they
 * document. Each generated excerpt sits between `<!-- generated: NAME -->` and
 * `<!-- /generated -->` around a fenced block; `npm run docs:generate` rewrites
 * them (and the SVG) from what the code prints, and cli/docs.test.ts fails
 * when the committed files differ from it. An error example runs on input
 * files written here from the demo city with the edit the doc describes, so
 * the message shown is the one a user gets.
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
  /** Input files written to a fresh folder, which becomes the working directory (by file name: its text). */
  readonly files?: Readonly<Record<string, () => string>>;
  /** Error examples: the exit status expected and the stream shown (standard error). */
  readonly exitCode?: number;
}

/** The demo city's network with `edit` applied, as the file a user would have written. */
function demoNetworkWith(edit: (network: DemoNetwork) => void): () => string {
  return () => {
    const network = JSON.parse(readFileSync(join(ROOT, NETWORK), 'utf8')) as DemoNetwork;
    edit(network);
    return `${JSON.stringify(network, null, 1)}\n`;
  };
}
interface DemoNetwork {
  defaults: Record<string, unknown>;
  intersections: { phasing: { stages: { protected: string[] }[] }; detectors: { lane: string }[] }[];
}

/** The README's generated excerpts, by name. */
export const EXCERPTS: Readonly<Record<string, Excerpt>> = {
  plan: { argv: ['plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00'], blocks: ['greenwave plan', 'demand:', '■ I1 ', '■ I6 ', '▶ corridor', 'detector faults'] },
  'timing-sheet': { argv: ['plan', '--network', NETWORK, '--counts', COUNTS, '--at', '08:00', '--sheet'], from: 'controller timing sheet', blocks: ['■ I1 ', '■ I6 ', 'min = '] },
  corridor: { argv: ['corridor', '--network', NETWORK, '--counts', COUNTS, '--corridor', 'renmin-rd', '--at', '10:00'], blocks: ['▶ corridor'] },
  // docs/network-format.md: a misspelt movement, two lefts that conflict, a detector on a lane that does not exist.
  'validate-errors': {
    argv: ['validate', 'my-network.json'],
    files: {
      'my-network.json': demoNetworkWith((n) => {
        const stage = n.intersections[3]!.phasing.stages[0]!;
        stage.protected[0] = 'NBL2';
        stage.protected.push('SBL');
        n.intersections[4]!.detectors[7]!.lane = 'EB-9';
      }),
    },
    exitCode: 2,
  },
  // docs/network-format.md: the safety floors no file can lower.
  'validate-floors': {
    argv: ['validate', 'short-yellow.json'],
    files: {
      'short-yellow.json': demoNetworkWith((n) => {
        n.defaults['minYellowS'] = 0.1;
        n.defaults['maxYellowS'] = 0.2;
      }),
    },
    exitCode: 2,
  },
  // docs/operations.md: a bad value and a misspelt field in serve's configuration file.
  'serve-config-errors': {
    argv: ['serve', '--config', 'greenwave.json'],
    files: { 'greenwave.json': () => `${JSON.stringify({ port: 50051, tokens: 'tokens.json', limits: { maxInFlight: 0 }, metricPort: 9464 }, null, 2)}\n` },
    exitCode: 2,
  },
};

/**
 * Runs a command and returns what it prints: standard output in the repository root, or, for
 * an excerpt with input files, in a fresh folder holding them (standard error when an exit
 * status is expected).
 */
function output(argv: readonly string[], excerpt: Pick<Excerpt, 'files' | 'exitCode'> = {}): string {
  const cwd = process.cwd();
  const dir = excerpt.files ? mkdtempSync(join(tmpdir(), 'gw-docs-')) : ROOT;
  let out = '';
  let err = '';
  try {
    for (const [name, text] of Object.entries(excerpt.files ?? {})) writeFileSync(join(dir, name), text());
    process.chdir(dir);
    const code = run([...argv], (s) => (out += s), (s) => (err += s));
    if (code !== (excerpt.exitCode ?? 0)) throw new Error(`greenwave ${argv.join(' ')} exited ${code}, not ${excerpt.exitCode ?? 0}: ${err}`);
  } finally {
    process.chdir(cwd);
    if (dir !== ROOT) rmSync(dir, { recursive: true, force: true });
  }
  return excerpt.exitCode === undefined ? out : err;
}

/** The excerpt's text: the kept blocks, "…" where blocks were left out between them. */
export function excerptText(name: string): string {
  const e = EXCERPTS[name];
  if (!e) throw new Error(`no excerpt "${name}"`);
  const all = output(e.argv, e).replace(/\n+$/, '').split(/\n\s*\n/);
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

/** The files holding generated excerpts. */
export const DOC_FILES = ['README.md', 'docs/network-format.md', 'docs/operations.md'] as const;

/**
 * A document's text with every generated excerpt rewritten from the code. `excerpt` is excerptText
 * unless a caller (the docs test) already ran the commands once and passes what they printed.
 */
export function regenerate(text: string, excerpt: (name: string) => string = excerptText): string {
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

/** `npm run docs:generate`: rewrites the documents' excerpts and the committed SVG. */
export function generateDocs(): void {
  for (const doc of DOC_FILES) {
    const file = join(ROOT, doc);
    writeFileSync(file, regenerate(readFileSync(file, 'utf8')));
  }
  writeFileSync(join(ROOT, TSD_SVG), tsdSvg());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) generateDocs();
