/**
 * One logical call: the request, its retries, the envelope's `data` or a RelevoApiError.
 *
 * Retried: a network error, 429 and 503 (the server did not do the work; `Retry-After` says
 * when to come back), and 409 `request_in_progress` (a retry overtook the first attempt, which
 * is still running: docs/api.md §5.1). Every POST carries one `Idempotency-Key` for all its
 * attempts, so a start whose answer was lost is answered, not started again. A DELETE is not
 * retried after a network error: the first attempt may have deleted, and its retry would answer
 * 404 for a call that succeeded.
 */
import { type ErrorBody, RelevoApiError, RelevoConnectionError, RelevoTimeoutError } from './errors.js';

export interface CallOptions {
  /** Aborts the call, its retries and their waits. */
  readonly signal?: AbortSignal;
  /** Per attempt, in milliseconds (default: the client's, 30 000). */
  readonly timeoutMs?: number;
  /** Your own key for a POST, instead of a generated one (1 to 255 printable ASCII characters). */
  readonly idempotencyKey?: string;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly headers: () => Record<string, string>;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly fetch: typeof fetch;
}

export interface Request {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: object | undefined;
  /** A JSON value, or the exact text to send (a signed body). */
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly credentials?: boolean;
}

/** Backoff before retry n (1-based): 0.5 s doubling, capped at 8 s, with full jitter. */
export function backoffMs(retry: number): number {
  const ceiling = Math.min(8_000, 500 * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** `Retry-After` in seconds or as an HTTP date; waits longer than a minute are capped at one. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) && header.trim() !== '' ? seconds * 1_000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(60_000, Math.max(0, ms));
}

export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = c.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function buildUrl(baseUrl: string, path: string, query?: object): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The caller's signal and a per-attempt timeout in one; `timedOut` tells which fired. */
export function attemptSignal(
  signal: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; timedOut: () => boolean; clearTimer: () => void; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new RelevoTimeoutError(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clearTimer: () => clearTimeout(timer),
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export function isErrorEnvelope(value: unknown): value is {
  error: ErrorBody;
  validationError?: Record<string, string[]>;
} {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as ErrorBody).code === 'string';
}

/** An answer that is not 2xx, as a RelevoApiError (or a connection error when it is not relevo's). */
export async function apiError(answer: Response): Promise<RelevoApiError | RelevoConnectionError> {
  const text = await answer.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new RelevoConnectionError(`HTTP ${answer.status} with a body that is not relevo's JSON`);
  }
  if (!isErrorEnvelope(parsed)) {
    return new RelevoConnectionError(`HTTP ${answer.status} without relevo's error envelope`);
  }
  return new RelevoApiError(
    answer.status,
    parsed.error,
    parsed.validationError ?? {},
    answer.headers.get('x-request-id'),
  );
}

function retryable(status: number, code: string | undefined): boolean {
  return status === 429 || status === 503 || (status === 409 && code === 'request_in_progress');
}

export class Transport {
  constructor(readonly options: TransportOptions) {}

  /** Sends the request with its retries and returns the envelope's `data`. */
  async call<T>(request: Request, call: CallOptions = {}): Promise<T> {
    // The body is read under the attempt's timeout and signal: a server that sends its head and
    // then stalls mid-body fails like one that never answers, instead of hanging the caller.
    const text = await this.exchange(request, call, (answer) => answer.text(), false);
    if (text === '') return undefined as T;
    let parsed: { data?: T };
    try {
      parsed = JSON.parse(text) as { data?: T };
    } catch (cause) {
      throw new RelevoConnectionError('the answer is not JSON', { cause });
    }
    return parsed.data as T;
  }

  /**
   * Sends the request with its retries and returns the successful Response, body unread. With
   * `streaming`, the caller's signal still reaches the body but the timeout (which is for the
   * answer's head) does not; without it, read the body before the next tick or use `call`.
   */
  async send(request: Request, call: CallOptions = {}, streaming = false): Promise<Response> {
    return this.exchange(request, call, async (answer) => answer, streaming);
  }

  /** One request with its retries; `read` takes the successful answer, under the attempt's guard. */
  private async exchange<R>(
    request: Request,
    call: CallOptions,
    read: (answer: Response) => Promise<R>,
    streaming: boolean,
  ): Promise<R> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(request.credentials === false ? {} : this.options.headers()),
      ...request.headers,
    };
    let body: string | undefined;
    if (request.rawBody !== undefined) body = request.rawBody;
    else if (request.body !== undefined) body = JSON.stringify(request.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (request.method === 'POST') headers['idempotency-key'] = call.idempotencyKey ?? newIdempotencyKey();
    const url = buildUrl(this.options.baseUrl, request.path, request.query);
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs;

    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < this.options.maxRetries;
      const guard = attemptSignal(call.signal, timeoutMs);
      // No answer, or one cut or stalled mid-body: thrown, or slept on before the next attempt
      // (a POST keeps its Idempotency-Key, so a retry never does the work twice; a DELETE is not
      // retried, its second try would answer 404).
      const lost = async (cause: unknown): Promise<void> => {
        guard.done();
        if (call.signal?.aborted) throw call.signal.reason;
        const error = guard.timedOut()
          ? new RelevoTimeoutError(`${request.method} ${request.path}: no answer within ${timeoutMs} ms`, {
              cause,
            })
          : new RelevoConnectionError(`${request.method} ${request.path}: ${String(cause)}`, { cause });
        if (!canRetry || request.method === 'DELETE') throw error;
        await sleep(backoffMs(attempt + 1), call.signal);
      };
      let answer: Response;
      try {
        answer = await this.options.fetch(url, {
          method: request.method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: guard.signal,
        });
      } catch (cause) {
        await lost(cause);
        continue;
      }
      if (answer.ok) {
        // A stream's body is read long after this: the caller's signal must still reach it,
        // and the timeout (which is for the answer's head) must not.
        if (streaming) {
          guard.clearTimer();
          return read(answer);
        }
        let result: R;
        try {
          result = await read(answer);
        } catch (cause) {
          await lost(cause);
          continue;
        }
        guard.done();
        return result;
      }
      let error: RelevoApiError | RelevoConnectionError;
      try {
        error = await apiError(answer);
      } catch (cause) {
        await lost(cause);
        continue;
      }
      guard.done();
      const code = error instanceof RelevoApiError ? error.code : undefined;
      if (!canRetry || !retryable(answer.status, code)) throw error;
      const wait = retryAfterMs(answer.headers.get('retry-after')) ?? backoffMs(attempt + 1);
      await sleep(wait, call.signal);
    }
  }
}
