/**
 * The JSON body parser. Standard JSON.parse, as api.md §4.6 promises for `metadata` (a
 * `__proto__` key becomes an ordinary own property, never a prototype); an empty body is "no
 * body" rather than an error, so DELETE and regenerate calls from clients that always send
 * Content-Type: application/json still work.
 */
import type { FastifyInstance } from 'fastify';
import { validationError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body's text as received, before parsing: inbound signatures are checked over it. */
    rawBody?: string;
  }
}

export function registerJsonParser(app: FastifyInstance): void {
  // Only JSON is accepted: any other type (text/plain included) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    req.rawBody = text;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const reason = e instanceof Error ? e.message : 'invalid JSON';
      done(validationError({ body: [`is not valid JSON: ${reason}`] }), undefined);
    }
  });
}
