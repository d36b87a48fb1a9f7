/**
 * /favicon.ico and /favicon.svg: browsers ask for /favicon.ico on their own, and log a 404 when
 * it is missing. Fixed bytes: cached for a day and revalidated by ETag.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { drawFaviconIco, FAVICON_SVG } from '../favicon.js';

/** A day: the icon changes with releases at most, and the ETag makes a revalidation cheap. */
const CACHE_CONTROL = 'public, max-age=86400';

interface Asset {
  readonly bytes: Buffer;
  readonly type: string;
  readonly etag: string;
}

function asset(bytes: Buffer, type: string): Asset {
  return { bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` };
}

function serve(item: Asset) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply
      .header('cache-control', CACHE_CONTROL)
      .header('etag', item.etag)
      .header('x-content-type-options', 'nosniff');
    const cached = request.headers['if-none-match'] ?? '';
    if (cached.split(',').some((tag) => tag.trim().replace(/^W\//, '') === item.etag)) {
      return reply.code(304).send();
    }
    return reply.type(item.type).send(item.bytes);
  };
}

export function faviconRoutes(app: FastifyInstance): void {
  const ico = asset(drawFaviconIco(), 'image/x-icon');
  const svg = asset(Buffer.from(FAVICON_SVG), 'image/svg+xml');
  app.get('/favicon.ico', { schema: { hide: true } }, serve(ico));
  app.get('/favicon.svg', { schema: { hide: true } }, serve(svg));
}
