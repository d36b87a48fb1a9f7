/**
 * Hostile requests over a real port, as bytes no HTTP client would send: random and broken
 * methods, paths (bad percent-encoding, raw bytes, NUL, 17 KiB), header names and values (NUL,
 * control bytes, oversized, thousands of them), and framing (bad Content-Length, both
 * Content-Length and Transfer-Encoding, broken chunks). Every answer must be a documented
 * non-5xx status, and every error the exact envelope with a catalogued code — what Node's
 * parser and Fastify's router refuse included (src/http/pre-routing.ts). fast-check stops the
 * run by itself after 400 requests or 8 s, whichever comes first.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { envelopeProblem, parseAnswers, sendRaw } from '../helpers/raw-http.js';

let h: Harness;
let port: number;

beforeAll(async () => {
  // Short timeouts: a request left incomplete by its broken framing gets its 408 quickly.
  h = await createHarness({ RELEVO_HEADERS_TIMEOUT_MS: '500', RELEVO_REQUEST_TIMEOUT_MS: '500' });
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a port');
  port = address.port;
});
afterAll(async () => h?.close());

/** Bytes as a latin1 string, so that each code unit goes out as one byte. */
const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

// HEAD is left out: its answers carry a Content-Length but no body, which the parser here
// cannot frame.
const method = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'CONNECT', 'FOO'),
  fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~-]{1,12}$/),
  bytes(1, 8),
);

const PATHS = [
  '/healthz',
  '/openapi.json',
  '/v1/external-support/prj_x',
  '/jelouapi/v1/external-support/prj_x/conversations/start',
  '/platform/v1/external-support/prj_x/conversations/cnv_x/messages',
  '/v1/external-support/webhook',
  '/v1/custom-channel/bot_x',
  '/admin/v1/projects',
  '/webchat/bot_x/sessions',
];
const path = fc.oneof(
  fc.constantFrom(...PATHS),
  fc
    .constantFrom(...PATHS)
    .chain((p) =>
      fc.constantFrom(`${p}%`, `${p}/%zz`, `${p}%E0%A4`, `${p}/%00`, `${p}?q=%ff`, `${p}/${'x'.repeat(120)}`),
    ),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `/${utf8(s)}`),
  bytes(0, 30).map((s) => `/${s}`),
  fc.constant(`/${'a'.repeat(17_000)}`),
  fc.constantFrom('*', 'healthz', 'http://relevo.test/healthz', '//healthz', '/./../healthz'),
);

const headerName = fc.oneof(
  fc.constantFrom('X-A', 'Accept', 'Content-Type', 'Authorization', 'x-api-key', 'Expect', 'Upgrade'),
  fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
  bytes(1, 10).filter((s) => !s.includes('\r') && !s.includes('\n')),
);
const headerValue = fc.oneof(
  fc.constantFrom('application/json', 'text/plain', 'Bearer x', '100-continue', 'websocket', ''),
  bytes(0, 30).filter((s) => !s.includes('\r') && !s.includes('\n')),
  fc.constant('a'.repeat(17_000)),
);
const headers = fc.oneof(
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }).map((l) => l.map(([n, v]) => `${n}: ${v}`)),
  fc.constant(Array.from({ length: 2_000 }, (_, i) => `X-H${i}: 1234567`)),
);

/** A body and the framing headers that announce it, right or wrong. */
const framing = fc.oneof(
  fc.constant({ headers: [] as string[], body: '' }),
  bytes(0, 40).map((b) => ({ headers: [`Content-Length: ${b.length}`], body: b })),
  fc
    .tuple(bytes(0, 40), fc.constantFrom('abc', '-1', '1e3', ' 5', '0x10', '99999999999999999999'))
    .map(([b, cl]) => ({ headers: [`Content-Length: ${cl}`], body: b })),
  bytes(0, 20).map((b) => ({ headers: ['Content-Length: 2', 'Content-Length: 3'], body: b })),
  bytes(0, 20).map((b) => ({
    headers: ['Content-Length: 5', 'Transfer-Encoding: chunked'],
    body: `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
  })),
  bytes(0, 20).map((b) => ({
    headers: ['Transfer-Encoding: chunked'],
    body: `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
  })),
  fc.constantFrom('zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}XX0\r\n\r\n', '-1\r\n\r\n').map((body) => ({
    headers: ['Transfer-Encoding: chunked'],
    body,
  })),
  fc.constantFrom('gzip', 'chunked, gzip', 'identity', 'chunked;x=1').map((te) => ({
    headers: [`Transfer-Encoding: ${te}`],
    body: '0\r\n\r\n',
  })),
);

const hostile = fc.record({
  method,
  path,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.x'),
  host: fc.boolean(),
  headers,
  framing,
  json: fc.boolean(),
});

/** Statuses relevo documents; no 5xx among them. */
const DOCUMENTED = new Set([200, 201, 202, 400, 401, 404, 405, 408, 409, 413, 414, 415, 422, 429, 431]);

describe('hostile requests over a real socket', () => {
  it('get only documented statuses, errors always in the envelope, never a 5xx', async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(hostile, async (r) => {
        const lines = [
          `${r.method} ${r.path} ${r.version}`,
          ...(r.host ? ['Host: relevo.test'] : []),
          ...(r.json ? ['Content-Type: application/json'] : []),
          ...r.headers,
          ...r.framing.headers,
          'Connection: close',
        ];
        const request = `${lines.join('\r\n')}\r\n\r\n${r.framing.body}`;
        const shown = JSON.stringify(request.length > 300 ? `${request.slice(0, 300)}…` : request);
        let answers: ReturnType<typeof parseAnswers>;
        try {
          answers = parseAnswers(await sendRaw(port, request, 5_000));
        } catch (e) {
          failures.push(`${(e as Error).message}: ${shown}`);
          return;
        }
        if (answers.length === 0) failures.push(`no answer: ${shown}`);
        for (const a of answers) {
          if (!DOCUMENTED.has(a.status)) failures.push(`status ${a.status}: ${shown}`);
          else if (a.status >= 400) {
            const problem = envelopeProblem(a);
            if (problem !== undefined) failures.push(`${problem} (${a.statusLine}): ${shown}`);
          }
        }
      }),
      { numRuns: 400, interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false },
    );
    expect(failures.slice(0, 10)).toEqual([]);
    // And the server still answers normally.
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  }, 30_000);
});
