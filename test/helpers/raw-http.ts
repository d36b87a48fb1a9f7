/**
 * HTTP/1.1 over a bare TCP socket, for requests no HTTP client would send (a NUL in a header,
 * broken framing, unknown methods): the bytes go out as given, and every response the server
 * writes back is split out of what arrives until the server closes the connection.
 */
import { connect } from 'node:net';
import { expect } from 'vitest';
import { CATALOGUE, type ErrorCode } from '../../src/errors.js';

export interface RawAnswer {
  readonly statusLine: string;
  readonly status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * Writes `bytes` and resolves with all the server sent once it closes the connection (send
 * `Connection: close`, or something it refuses). The socket is not half-closed: Node aborts the
 * requests still pending when the client ends its side. A server that neither answers nor closes
 * within `timeoutMs` fails the test instead of hanging it.
 */
export function sendRaw(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received ${Buffer.concat(chunks).length} bytes`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the answer is a normal way for the server to close a refused connection.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

/** The responses in `raw`, in order (interim 1xx responses left out). Bodies are framed by Content-Length. */
export function parseAnswers(raw: Buffer): RawAnswer[] {
  const out: RawAnswer[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0)
      throw new Error(`truncated response head: ${raw.subarray(at).toString('latin1').slice(0, 200)}`);
    const [statusLine = '', ...lines] = raw.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1] ?? Number.NaN);
    const length = Number(headers['content-length'] ?? 0);
    const body = raw.subarray(end + 4, end + 4 + length);
    if (body.length !== length) throw new Error(`body shorter than its Content-Length ${length}`);
    at = end + 4 + length;
    if (status >= 100 && status < 200) continue;
    out.push({ statusLine, status, headers, body });
  }
  return out;
}

const ENVELOPE_KEYS = ['message', 'statusMessage', 'status', 'error', 'validationError'];
const ERROR_KEYS = ['code', 'key', 'description', 'developerMessages', 'clientMessages'];

/**
 * What is wrong with `a` as an error answer, or undefined when it is the documented envelope
 * with a catalogued code whose status is the one answered.
 */
export function envelopeProblem(a: RawAnswer): string | undefined {
  if (a.headers['content-type'] !== 'application/json; charset=utf-8') {
    return `content-type ${a.headers['content-type']}`;
  }
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(a.body.toString('utf8'));
  } catch {
    return 'body is not JSON';
  }
  if (JSON.stringify(Object.keys(e)) !== JSON.stringify(ENVELOPE_KEYS)) return 'envelope keys';
  const err = e.error as Record<string, unknown>;
  if (JSON.stringify(Object.keys(err ?? {})) !== JSON.stringify(ERROR_KEYS)) return 'error keys';
  const entry = CATALOGUE[err.code as ErrorCode];
  if (entry === undefined || err.key !== err.code) return `unknown code ${String(err.code)}`;
  if (e.message !== entry.message || e.statusMessage !== 'failure' || e.status !== 0) return 'envelope head';
  const statusOk = a.status === entry.status || (err.code === 'unprocessable_entity' && a.status === 400);
  if (!statusOk) return `code ${String(err.code)} with status ${a.status}`;
  if (typeof err.description !== 'string' || err.description === '') return 'description';
  return undefined;
}

/** Asserts that `raw` holds exactly one answer: `statusLine`, in the envelope, with `code`. */
export function expectRawError(raw: Buffer, statusLine: string, code: ErrorCode): RawAnswer {
  const answers = parseAnswers(raw);
  expect(answers.length, raw.toString('latin1').slice(0, 300)).toBe(1);
  const a = answers[0] as RawAnswer;
  expect(a.statusLine).toBe(statusLine);
  expect(envelopeProblem(a)).toBeUndefined();
  expect(JSON.parse(a.body.toString('utf8')).error.code).toBe(code);
  expect(Number(a.headers['content-length'])).toBe(a.body.length);
  expect(a.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  return a;
}
