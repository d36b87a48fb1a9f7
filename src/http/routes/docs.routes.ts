/**
 * GET /docs: the human-readable API reference (see docs-page.ts). Like /openapi.json, it is not
 * an API operation and stays out of the OpenAPI document.
 */
import type { FastifyInstance } from 'fastify';
import { DOCS_CSP, DOCS_HTML } from '../docs-page.js';

export function docsRoutes(app: FastifyInstance): void {
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCS_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(DOCS_HTML),
  );
}
