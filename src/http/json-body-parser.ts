/**
 * The JSON body parser. Standard JSON.parse, as docs/api.md §4.6 promises for `metadata` (a
 * `__proto__` key becomes an ordinary own property, never a prototype); an empty body is "no
 * body" rather than an error, so DELETE and regenerate calls from clients that always send
 * Content-Type: application/json still work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validationError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * A JSON body's bytes exactly as received: inbound signatures are checked over them. Not the
     * decoded text, whose UTF-8 encoding differs from the bytes wherever they are not valid
     * UTF-8 (each bad sequence decodes to U+FFFD), so that a signature over one byte sequence
     * would have verified another.
     */
    rawBody?: Buffer;
  }
}

/**
 * Deepest nesting accepted. Real payloads nest a few levels (metadata included); thousands of
 * levels fit in a small body and would overflow the stack of anything recursive downstream —
 * JSON.stringify of the event, validation — so they are refused up front with a 422.
 */
export const MAX_JSON_DEPTH = 64;

/** How deeply `text` nests arrays and objects, stopping as soon as it passes `limit`. */
function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

export function registerJsonParser(app: FastifyInstance): void {
  // Only JSON is accepted: any other type (text/plain included) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    req.rawBody = raw;
    const text = raw.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    // `\u0000` and unpaired `\ud800` escapes are valid JSON (RFC 8259 §7) and pass: names,
    // metadata and message content keep them (stored as JSON text); ids and URLs refuse them at
    // the storage layer (src/storage/errors.ts), the same on every database.
    if (nestingExceeds(text, MAX_JSON_DEPTH)) {
      done(
        validationError({ body: [`nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`] }),
        undefined,
      );
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

const NO_BYTES = Buffer.alloc(0);

/** Fastify gives no raw body for a request without one; that is the empty body to sign. */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return request.rawBody ?? NO_BYTES;
}
