/**
 * Answers given before any route runs — Node's HTTP parser, Fastify's router, the server itself —
 * are in the error envelope with a catalogued code, like every other answer (docs/api.md §3). Each
 * case goes over a bare TCP socket to a listening server, since no HTTP client sends such bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { expectRawError, parseAnswers, sendRaw } from '../helpers/raw-http.js';

async function listening(env: NodeJS.ProcessEnv = {}): Promise<{ h: Harness; port: number }> {
  const h = await createHarness(env);
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a port');
  return { h, port: address.port };
}

/** A request; `Connection: close` is added so that the server closes once it has answered. */
const request = (line: string, headers: string[] = ['Host: relevo.test'], body = '') =>
  `${line}\r\n${[...headers, 'Connection: close'].map((x) => `${x}\r\n`).join('')}\r\n${body}`;

describe('answers before routing', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    ({ h, port } = await listening());
  });
  afterAll(async () => h?.close());

  describe("Node's HTTP parser (clientError): 400 bad_request, connection closed", () => {
    it.each([
      ['a NUL byte in a header value', request('GET /healthz HTTP/1.1', ['Host: x', 'X-A: a\u0000b'])],
      [
        'a control character in a header value',
        request('GET /healthz HTTP/1.1', ['Host: x', 'X-A: a\u0001b']),
      ],
      ['a space inside a header name', request('GET /healthz HTTP/1.1', ['Host: x', 'X A: b'])],
      ['a NUL byte in the path', request('GET /heal\u0000thz HTTP/1.1')],
      ['a space in the path', request('GET /a b HTTP/1.1')],
      ['a path without a leading slash', request('GET healthz HTTP/1.1')],
      ['an unknown HTTP version', request('GET /healthz HTTP/3.0')],
      ['the HTTP/2 preface on an HTTP/1.1 port', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      [
        'a Content-Length that is not a number',
        request('POST /v1/external-support/webhook HTTP/1.1', ['Host: x', 'Content-Length: abc']),
      ],
      [
        'two different Content-Lengths',
        request('POST /v1/external-support/webhook HTTP/1.1', [
          'Host: x',
          'Content-Length: 2',
          'Content-Length: 3',
        ]),
      ],
      [
        'Content-Length and Transfer-Encoding together',
        request(
          'POST /v1/external-support/webhook HTTP/1.1',
          ['Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked'],
          '0\r\n\r\n',
        ),
      ],
      [
        'a Transfer-Encoding other than chunked last',
        request('POST /v1/external-support/webhook HTTP/1.1', [
          'Host: x',
          'Content-Type: application/json',
          'Transfer-Encoding: gzip',
        ]),
      ],
      [
        'a chunk size that is not hexadecimal',
        request(
          'POST /v1/external-support/webhook HTTP/1.1',
          ['Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'],
          'zz\r\n{}\r\n0\r\n\r\n',
        ),
      ],
      [
        'a chunk without its CRLF',
        request(
          'POST /v1/external-support/webhook HTTP/1.1',
          ['Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'],
          '2\r\n{}XX0\r\n\r\n',
        ),
      ],
    ])('%s', async (_, bytes) => {
      const a = expectRawError(await sendRaw(port, bytes), 'HTTP/1.1 400 Bad Request', 'bad_request');
      expect(a.headers.connection).toBe('close');
      expect(JSON.parse(a.body.toString()).error.description).toMatch(
        /^The HTTP request is malformed: .+ \(HPE_/,
      );
    });

    it('headers over 16 KiB: 431 headers_too_large', async () => {
      const one = request('GET /healthz HTTP/1.1', ['Host: x', `X-Big: ${'a'.repeat(17_000)}`]);
      const a = expectRawError(
        await sendRaw(port, one),
        'HTTP/1.1 431 Request Header Fields Too Large',
        'headers_too_large',
      );
      expect(a.headers.connection).toBe('close');
      const many = Array.from({ length: 2_000 }, (_, i) => `X-H${i}: 1234567`);
      expectRawError(
        await sendRaw(port, request('GET /healthz HTTP/1.1', ['Host: x', ...many])),
        'HTTP/1.1 431 Request Header Fields Too Large',
        'headers_too_large',
      );
      // A request line over the limit counts too.
      expectRawError(
        await sendRaw(port, request(`GET /healthz?q=${'a'.repeat(17_000)} HTTP/1.1`)),
        'HTTP/1.1 431 Request Header Fields Too Large',
        'headers_too_large',
      );
    });

    it('a bad request after a good one on the same connection: both answered, the second in the envelope', async () => {
      const raw = await sendRaw(
        port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${request('GET /healthz HTTP/1.1', ['Host: x', 'X-A: \u0000'])}`,
      );
      const [first, second, ...rest] = parseAnswers(raw);
      expect(rest).toEqual([]);
      expect(first?.status).toBe(200);
      expect(second?.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(JSON.parse(second?.body.toString() ?? '').error.code).toBe('bad_request');
    });
  });

  describe('the request the parser failed in, behind others on the connection', () => {
    it('an unknown method after a good request is judged on its own line: 405 with its Allow', async () => {
      const raw = await sendRaw(
        port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${request('FOO /v1/custom-channel/bot_x HTTP/1.1')}`,
      );
      const [first, second, ...rest] = parseAnswers(raw);
      expect(rest).toEqual([]);
      expect(first?.status).toBe(200);
      expect(second?.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
      expect(second?.headers.allow).toBe('POST');
      expect(JSON.parse(second?.body.toString() ?? '').error).toMatchObject({
        code: 'method_not_allowed',
        description: 'FOO is not allowed on /v1/custom-channel/bot_x; it takes POST.',
      });
    });

    it('a HEAD refused by the parser gets the head of the answer and no content (RFC 9110 §9.3.2)', async () => {
      const bad = request('HEAD /healthz HTTP/1.1', ['Host: x', 'X-A: a\u0000b']);
      for (const bytes of [bad, `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${bad}`]) {
        const text = (await sendRaw(port, bytes)).toString('latin1');
        const at = text.indexOf('HTTP/1.1 400 Bad Request\r\n');
        expect(at, text.slice(0, 300)).toBeGreaterThanOrEqual(0);
        const refusal = text.slice(at);
        const headEnd = refusal.indexOf('\r\n\r\n');
        // The head says how long the envelope would be; nothing follows it.
        expect(refusal.slice(headEnd)).toBe('\r\n\r\n');
        expect(Number(/content-length: (\d+)/.exec(refusal)?.[1])).toBeGreaterThan(0);
        expect(refusal).toContain('connection: close');
      }
    });
  });

  describe("the router's refusals (frameworkErrors)", () => {
    it.each([
      '/v1/external-support/%zz',
      '/v1/external-support/%E0%A4%A',
      '/v1/external-support/%C3%28/conversations',
      '/healthz%',
      '/%ED%A0%80',
    ])('percent-encoding that is not UTF-8 (%s): 400 bad_request', async (path) => {
      const a = expectRawError(
        await sendRaw(port, request(`GET ${path} HTTP/1.1`)),
        'HTTP/1.1 400 Bad Request',
        'bad_request',
      );
      expect(JSON.parse(a.body.toString()).error.description).toContain(JSON.stringify(path));
    });

    it('a path segment over 100 characters: 414 uri_too_long', async () => {
      expectRawError(
        await sendRaw(port, request(`GET /v1/external-support/${'p'.repeat(101)} HTTP/1.1`)),
        'HTTP/1.1 414 URI Too Long',
        'uri_too_long',
      );
    });
  });

  describe('methods', () => {
    it.each([
      ['PUT', '/healthz', 'GET, HEAD'],
      ['OPTIONS', '/healthz', 'GET, HEAD'],
      ['TRACE', '/healthz', 'GET, HEAD'],
      ['PROPFIND', '/v1/external-support/prj_x', 'DELETE, GET, HEAD, PATCH, POST'],
      ['FOO', '/healthz', 'GET, HEAD'],
      ['GET', '/v1/custom-channel/bot_x', 'POST'],
      // The get-conversation route takes `start` as a conversation id.
      ['DELETE', '/v1/external-support/prj_x/conversations/start?x=1', 'GET, HEAD, POST'],
    ])('%s %s: 405 method_not_allowed, Allow: %s', async (method, path, allow) => {
      const a = expectRawError(
        await sendRaw(port, request(`${method} ${path} HTTP/1.1`)),
        'HTTP/1.1 405 Method Not Allowed',
        'method_not_allowed',
      );
      expect(a.headers.allow).toBe(allow);
    });

    it.each([
      ['PROPFIND', '/nowhere'],
      ['FOO', '/nowhere'],
      ['GET', '/nowhere'],
      ['CONNECT', 'relevo.test:443'],
      ['OPTIONS', '*'],
    ])('%s %s, a path no route serves: 404 route_not_found', async (method, target) => {
      const a = expectRawError(
        await sendRaw(port, request(`${method} ${target} HTTP/1.1`, ['Host: relevo.test:443'])),
        'HTTP/1.1 404 Not Found',
        'route_not_found',
      );
      expect(a.headers.allow).toBeUndefined();
    });
  });

  describe('Host and Expect', () => {
    it('HTTP/1.1 without Host: 400 bad_request; HTTP/1.0 may leave it out', async () => {
      const a = expectRawError(
        await sendRaw(port, request('GET /healthz HTTP/1.1', [])),
        'HTTP/1.1 400 Bad Request',
        'bad_request',
      );
      expect(JSON.parse(a.body.toString()).error.description).toContain('Host');
      const [old] = parseAnswers(await sendRaw(port, request('GET /healthz HTTP/1.0', [])));
      expect(old?.status).toBe(200);
    });

    it('an Expect other than 100-continue is ignored and the request served', async () => {
      const [a] = parseAnswers(
        await sendRaw(port, request('GET /healthz HTTP/1.1', ['Host: x', 'Expect: teapot'])),
      );
      expect(a?.status).toBe(200);
      expect(JSON.parse(a?.body.toString() ?? '').status).toBe('ok');
    });
  });

  it('the server still answers normally afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('a request that arrives too slowly', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    ({ h, port } = await listening({ RELEVO_HEADERS_TIMEOUT_MS: '300', RELEVO_REQUEST_TIMEOUT_MS: '300' }));
  });
  afterAll(async () => h?.close());

  it('408 request_timeout in the envelope, connection closed', async () => {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      import('node:net').then(({ connect }) => {
        const s = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('error', () => {});
        s.on('close', () => resolve(Buffer.concat(chunks)));
        // The request line and half a header, then nothing.
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a');
        setTimeout(() => {
          s.destroy();
          reject(new Error('not closed within 10 s'));
        }, 10_000).unref();
      }, reject);
    });
    const a = expectRawError(raw, 'HTTP/1.1 408 Request Timeout', 'request_timeout');
    expect(a.headers.connection).toBe('close');
  });
});
