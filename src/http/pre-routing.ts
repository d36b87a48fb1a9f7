/**
 * Answers given before any route runs — by Node's HTTP parser, by Fastify's router, by the
 * server itself — in the same error envelope as every other answer (docs/api.md §3):
 *
 *   - the parser's client errors (a NUL or other forbidden byte in a header, an invalid
 *     Content-Length or Transfer-Encoding, a broken chunk, an unknown method, headers over
 *     16 KiB, a request that arrives too slowly) are written straight onto the socket, since no
 *     request object exists yet, and the connection is closed;
 *   - the router's refusals (a path with broken percent-encoding, a parameter over 100
 *     characters) go through Fastify's `frameworkErrors`;
 *   - a path some route serves with another method is a 405 with `Allow`; a path no route
 *     serves is a 404, whatever the method;
 *   - CONNECT, which Node hands to a `connect` listener or drops without a word, gets the same
 *     405 or 404 as any other method.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionError, FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { errorBody } from './envelope.js';
import { sendError, toApiError } from './error-handler.js';
import { type RouteMethods, routeMiss } from './route-methods.js';

/** Fastify's default, stated here because the 414 message names it. */
export const MAX_PARAM_LENGTH = 100;

/**
 * A complete HTTP/1.1 response carrying `e` in the envelope, for a socket with no request. The
 * answer to a HEAD has the same head and no content (RFC 9110 §9.3.2).
 */
export function rawErrorResponse(e: ApiError, requestId: string, head = false): string {
  const body = errorBody(e);
  const lines = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    `x-request-id: ${requestId}`,
    ...Object.entries(e.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${head ? '' : body}`;
}

/** How long a peer that never reads its answer may keep the socket open after it is written. */
const LINGER_MS = 2_000;

type ServerSocket = Duplex & { _httpMessage?: ServerResponse | null };

/**
 * Runs `then` once no response is being written on the connection: a bad request pipelined
 * behind a good one is answered after the good one's answer, not in the middle of it.
 */
function whenIdle(socket: ServerSocket, then: () => void): void {
  const current = socket._httpMessage;
  // The answer under way is for an earlier, complete request: it goes first. When the broken
  // request is the one being answered (its body was malformed) and nothing was written yet, the
  // refusal replaces that answer.
  const earlier = current?.req.complete === true || current?.headersSent === true;
  if (current == null || !earlier || current.writableFinished || socket.destroyed) {
    then();
    return;
  }
  let done = false;
  const next = () => {
    if (done) return;
    done = true;
    // Node hands the socket to the next queued response on finish; look again after it did.
    setImmediate(() => whenIdle(socket, then));
  };
  current.once('finish', next);
  current.once('close', next);
}

/** Writes the answer (when the socket still can take one), then closes the connection. */
function answerOnSocket(socket: ServerSocket, e: ApiError, head = false): void {
  whenIdle(socket, () => {
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(e, randomUUID(), head));
    // end() closes our side once the bytes are flushed; a peer that never closes its own is cut.
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
}

interface ParserError extends Error {
  code?: string;
  reason?: string;
  /** The whole chunk being parsed: requests pipelined before the broken one come first. */
  rawPacket?: Buffer;
  /** Where in `rawPacket` the parser stopped. */
  bytesParsed?: number;
}

interface RequestLine {
  readonly method: string;
  readonly target: string;
}

/**
 * The method and target of the request the parser failed in, when its request line is in the
 * chunk. A bad method stops the parser on the request line itself, so that line is the one it
 * stopped in; any other error stops it later, and the request began after the last blank line
 * before that point (the end of the request before it in a pipeline) or at the chunk's start.
 */
export function failedRequestLine(err: ParserError): RequestLine | undefined {
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw)) return undefined;
  const at = Math.min(err.bytesParsed ?? 0, raw.length);
  let start = 0;
  // (A negative offset would make lastIndexOf count from the end.)
  if (at > 0 && err.code === 'HPE_INVALID_METHOD') start = raw.lastIndexOf(0x0a, at - 1) + 1;
  else if (at > 0) {
    const blank = raw.lastIndexOf('\r\n\r\n', at - 1, 'latin1');
    start = blank < 0 ? 0 : blank + 4;
  }
  // RFC 9112 §2.2: empty lines before a request line are ignored.
  const text = raw
    .subarray(start, start + 8192)
    .toString('latin1')
    .replace(/^(?:\r?\n)+/, '');
  const line = text.split('\r\n', 1)[0] ?? '';
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+)/.exec(line);
  return m?.[1] !== undefined && m[2] !== undefined ? { method: m[1], target: m[2] } : undefined;
}

/** The error Node's parser (or its timeouts) reported, as the envelope's code. */
export function clientErrorToApiError(
  err: ParserError,
  methods: RouteMethods,
  line: RequestLine | undefined = failedRequestLine(err),
): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('headers_too_large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('request_timeout');
    case 'HPE_INVALID_METHOD':
      // A method the parser does not know (FOO): answered as any method no route takes.
      if (line !== undefined) return routeMiss(methods, line.method, line.target);
      break;
  }
  const what = err.reason ?? err.message;
  return new ApiError(
    'bad_request',
    `The HTTP request is malformed: ${what}${err.code === undefined ? '' : ` (${err.code})`}.`,
  );
}

/** Fastify's `clientErrorHandler`: Node's `clientError` event of the HTTP server. */
export function clientErrorHandler(
  methods: RouteMethods,
  log: FastifyBaseLogger,
): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    // Node's parser errors carry the bytes read as a Buffer (Fastify's type says otherwise).
    const err = error as unknown as ParserError;
    // A reset connection has nobody to answer.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const line = failedRequestLine(err);
    const e = clientErrorToApiError(err, methods, line);
    log.debug({ code: e.code, status: e.status, parser: err.code }, 'client error before routing');
    answerOnSocket(socket, e, line?.method === 'HEAD');
  };
}

/** Fastify's `frameworkErrors`: the router refused the URL before any route or hook ran. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  const path = (request.raw.url ?? '').split('?')[0] ?? '';
  let e: ApiError;
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      e = new ApiError(
        'bad_request',
        `The path ${JSON.stringify(path)} is not valid: its percent-encoding (%XX) does not decode to UTF-8.`,
      );
      break;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      e = new ApiError(
        'uri_too_long',
        `A segment of the path is longer than ${MAX_PARAM_LENGTH} characters.`,
      );
      break;
    default:
      e = toApiError(error, request);
  }
  request.log.info({ code: e.code, status: e.status }, 'request refused before routing');
  sendError(reply, e);
}

/**
 * What Node would answer itself, outside the envelope: CONNECT (dropped without a word when no
 * `connect` listener exists) and an `Expect` other than 100-continue (a bare 417). An unknown
 * expectation is ignored and the request served, as RFC 9110 §10.1.1 allows.
 */
export function registerServerAnswers(server: Server, methods: RouteMethods): void {
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    answerOnSocket(socket, routeMiss(methods, 'CONNECT', req.url ?? ''));
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    server.emit('request', req, res);
  });
}
