#!/usr/bin/env node
/**
 * Builds the operator console's page (web/src) into dist/web/static: one
 * minified ES module bundle (Preact, ECharts and the pages) with esbuild, the
 * stylesheet and index.html. Run by `npm run build` after tsc; nothing it
 * writes is committed. `greenwave serve --web-port` serves the result
 * (web/server/http.ts).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web/static`;
mkdirSync(out, { recursive: true });
const started = performance.now();
const result = await build({
  entryPoints: [`${root}web/src/main.tsx`],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // Source maps (3 MB, most of it ECharts) only when asked for: the package ships dist/web.
  sourcemap: process.env.GREENWAVE_WEB_SOURCEMAP === '1',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: `${out}/app.js`,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});
copyFileSync(`${root}web/src/index.html`, `${out}/index.html`);
copyFileSync(`${root}web/src/styles.css`, `${out}/app.css`);
const bytes = result.metafile.outputs['dist/web/static/app.js']?.bytes ?? Object.values(result.metafile.outputs).reduce((s, o) => Math.max(s, o.bytes), 0);
process.stdout.write(`build-web: dist/web/static/app.js ${(bytes / 1024).toFixed(0)} KiB in ${Math.round(performance.now() - started)} ms\n`);
