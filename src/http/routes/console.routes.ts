/**
 * The console (web/console/, built by `npm run build` into dist/console/): index.html at
 * /console, /console/ and every client-side route under it; the bundle's hashed files under
 * /console/assets/. The files are read into memory once, on the first console request, so
 * serving them never touches the disk again and costs the API routes nothing.
 *
 * Every answer here carries the console's Content-Security-Policy: only relevo's own scripts,
 * styles, images and API; no inline code, no eval, no frames. A missing build is a 503
 * `console_not_built` (an HTML page for a browser), checked again on the next request, so
 * building while the server runs is enough.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import { sendError } from '../error-handler.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The bundle's file names carry a hash of their content: they never change, so a year. */
const ASSET_CACHE = 'public, max-age=31536000, immutable';
/** index.html names the current bundle: always revalidated (cheaply, by its ETag). */
const PAGE_CACHE = 'no-cache';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface ConsoleFile {
  readonly bytes: Buffer;
  readonly type: string;
  readonly etag: string;
}

interface ConsoleFiles {
  readonly index: ConsoleFile;
  /** By path below /console/, e.g. 'assets/index-3f9a.js'. */
  readonly files: ReadonlyMap<string, ConsoleFile>;
}

/**
 * Where the build is, relative to this module: the compiled server runs from dist/http/routes/,
 * next to dist/console/; the TypeScript sources (as the test runner loads them) sit in
 * src/http/routes/ and use the repository's dist/console/.
 */
const CANDIDATES = ['../../console/', '../../../dist/console/'].map((rel) =>
  fileURLToPath(new URL(rel, import.meta.url)),
);

function fileOf(path: string): ConsoleFile {
  const bytes = readFileSync(path);
  return {
    bytes,
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`,
  };
}

function readTree(root: string, dir: string, into: Map<string, ConsoleFile>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) readTree(root, path, into);
    else if (entry.isFile()) into.set(relative(root, path).split(sep).join('/'), fileOf(path));
  }
}

/** Reads the build, or undefined when there is none (yet). */
export function loadConsoleFiles(candidates: readonly string[] = CANDIDATES): ConsoleFiles | undefined {
  const dir = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (dir === undefined) return undefined;
  const files = new Map<string, ConsoleFile>();
  readTree(dir, dir, files);
  const index = files.get('index.html');
  return index === undefined ? undefined : { index, files };
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>relevo console: not built</title></head>
<body><h1>The console is not built</h1>
<p>This relevo server runs from a checkout whose console was never built. Run <code>npm run build</code> (or start it with <code>npm start</code>, which builds what is missing), then reload this page.</p>
</body></html>
`;

/** Whether an Accept header asks for a page rather than data (a browser's navigation does). */
function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile, cache: string) {
  reply.header('cache-control', cache).header('etag', file.etag);
  const cached = request.headers['if-none-match'] ?? '';
  if (cached.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) {
    return reply.code(304).send();
  }
  return reply.type(file.type).send(file.bytes);
}

export interface ConsoleRouteOptions {
  /** Where to look for the build (tests); by default next to the compiled server. */
  readonly dirs?: readonly string[];
}

export function consoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions = {}): void {
  let built: ConsoleFiles | undefined;
  const files = (): ConsoleFiles | undefined => {
    built ??= loadConsoleFiles(options.dirs);
    return built;
  };

  const handler = async (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
    secure(reply);
    const loaded = files();
    if (loaded === undefined) {
      const e = new ApiError(
        'console_not_built',
        'The console is not built: run `npm run build`, then reload.',
      );
      if (wantsHtml(request)) {
        return reply
          .code(e.status)
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(NOT_BUILT_PAGE);
      }
      return sendError(reply.header('cache-control', 'no-store'), e);
    }
    const path = request.params['*'] ?? '';
    const file = loaded.files.get(path);
    if (file !== undefined && path !== 'index.html') return send(request, reply, file, ASSET_CACHE);
    // A file that is not there (an old bundle's hash, a typo) is a 404, never the page: a script
    // tag given HTML would fail in a confusing way. Any other path is a screen of the console.
    if (path.startsWith('assets/') || /\.[A-Za-z0-9]+$/.test(path)) {
      return sendError(
        reply.header('cache-control', 'no-store'),
        new ApiError('route_not_found', `The console has no file ${JSON.stringify(`/console/${path}`)}.`),
      );
    }
    return send(request, reply, loaded.index, PAGE_CACHE);
  };

  app.get('/console', { schema: { hide: true } }, handler);
  app.get('/console/*', { schema: { hide: true } }, handler);
}
