/**
 * The operator console's HTTP(S) server, started by startServer
 * (service/server.ts) in the `greenwave serve` process on a port of its own
 * (`--web-port`): the JSON API and its event streams under /api/ (./api.ts)
 * and the page bundle esbuild wrote to dist/web/static (scripts/build-web.mjs),
 * with headers that keep the page to its own origin (CSP, no framing, no
 * sniffing). Over TLS when the service has a certificate; then session cookies
 * are Secure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, GreenwaveError } from '../../engine/errors.js';
import { consoleApi, sendJson, type ConsoleDeps } from './api.js';
import { SessionStore } from './sessions.js';

export interface ConsoleOptions extends ConsoleDeps {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly tls?: { readonly certPath: string; readonly keyPath: string } | undefined;
  /** Where the built pages are (default: dist/web/static, found from this module). */
  readonly staticDir?: string;
}

export interface RunningConsole {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** ECharts sets inline styles on the elements it makes; scripts come only from this origin. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** dist/web/static next to the compiled server (dist/web/server), or under the repository when run from source. */
function defaultStaticDir(): string {
  for (const rel of ['../static', '../../dist/web/static']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return fileURLToPath(new URL('../static', import.meta.url));
}

export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const staticDir = opts.staticDir ?? defaultStaticDir();
  const sessions = new SessionStore(opts.tls !== undefined);
  const streams = new Set<ServerResponse>();
  const api = consoleApi(opts, sessions, streams);
  const files = new Map<string, Buffer>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    if (url.pathname.startsWith('/api/')) {
      void api(req, res, url);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'pages are read with GET' } });
      return;
    }
    // The pages route by the URL's hash, so every other path is a file of the bundle or the page itself.
    const rel = normalize(url.pathname === '/' ? '/index.html' : url.pathname);
    const type = TYPES[extname(rel)];
    if (rel.includes('..') || type === undefined) {
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no page at ${url.pathname}` } });
      return;
    }
    let body = files.get(rel);
    if (!body) {
      const path = join(staticDir, rel);
      if (!existsSync(path)) {
        const hint = rel === '/index.html' ? ': the console is not built (npm run build)' : '';
        sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no page at ${url.pathname}${hint}` } });
        return;
      }
      body = readFileSync(path);
      files.set(rel, body);
    }
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': rel === '/index.html' ? 'no-cache' : 'public, max-age=300' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: readFileSync(opts.tls.certPath), key: readFileSync(opts.tls.keyPath) }, handle) : createHttpServer(handle);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (e) => reject(new GreenwaveError(ErrorCode.Io, `console: cannot listen on ${opts.host}:${opts.port}: ${e.message}`)));
    server.listen(opts.port, opts.host, () => resolve((server.address() as AddressInfo).port));
  });
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}/`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        streams.clear();
        server.close(() => resolve());
        server.closeIdleConnections();
        // A request still running (a slow review) gets a moment, not a veto over shutdown.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}
