/**
 * One HTTP attempt to a webhook: POST the exact bytes, within the timeout, never following a
 * redirect, dialling only addresses the network policy allows (checked on the address actually
 * dialled, so DNS rebinding between create time and connect time does not help an attacker).
 * Connections are kept alive per origin: a healthy panel costs one TCP/TLS handshake, not one per
 * event.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { type AllowList, checkResolvedAddress } from './network-policy.js';
import { type AttemptOutcome, parseRetryAfter } from './retry-policy.js';

/** The delivery log keeps this much of each response body (webhooks.md: "the first 4 KiB"). */
export const RESPONSE_KEEP_BYTES = 4096;
/** A response body is drained up to this size to keep the connection reusable, then cut. */
const RESPONSE_DRAIN_BYTES = 64 * 1024;

const POLICY_ERROR = 'ERR_RELEVO_NETWORK_POLICY';

export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /** Aborts the attempt (graceful shutdown gives up on it). */
  readonly signal?: AbortSignal | undefined;
}

export interface SendResult {
  readonly outcome: AttemptOutcome | { kind: 'aborted' };
  readonly statusCode: number | null;
  readonly responseBody: string | null;
  /** A one-line description of what went wrong, for the delivery log. */
  readonly error: string | null;
  readonly durationMs: number;
}

export interface WebhookSenderOptions {
  readonly allow: AllowList;
  /** Most simultaneous connections to one origin (the per-integration concurrency limit). */
  readonly connectionsPerOrigin: number;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly options: WebhookSenderOptions) {
    const allow = options.allow;
    // net.connect calls this for host names (never for IP literals, checked before dialling).
    const guardedLookup = (hostname: string, opts: { all?: boolean }, callback: LookupCallback): void => {
      dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
        if (err) {
          callback(err, []);
          return;
        }
        for (const a of addresses) {
          const why = checkResolvedAddress(hostname, a.address, allow);
          if (why !== undefined) {
            callback(
              Object.assign(new Error(`refused by the network policy: ${why}`), { code: POLICY_ERROR }),
              [],
            );
            return;
          }
        }
        const first = addresses[0];
        if (opts.all) callback(null, addresses);
        else if (first === undefined)
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        else callback(null, first.address, first.family);
      });
    };
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 10_000,
      connect: { lookup: guardedLookup as never },
    });
  }

  async send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return fail(
        { kind: 'refused', reason: 'invalid URL' },
        'the webhook URL is not a valid URL',
        elapsed(),
      );
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const why = checkResolvedAddress(host, host, this.options.allow);
      if (why !== undefined)
        return fail({ kind: 'refused', reason: why }, `refused by the network policy: ${why}`, elapsed());
    }

    // One controller per attempt, aborted by its timer or by the caller's signal (shutdown):
    // AbortSignal.any would cost a composite signal and weak references per attempt.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), req.timeoutMs);
    const onAbandon = () => abort.abort();
    if (req.signal?.aborted) abort.abort();
    else req.signal?.addEventListener('abort', onAbandon, { once: true });
    const signal = abort.signal;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal,
        dispatcher: this.agent,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const responseBody = await readCapped(res.body);
      return {
        outcome: {
          kind: 'response',
          status: res.statusCode,
          retryAfterMs: parseRetryAfter(res.headers['retry-after'], Date.now()),
        },
        statusCode: res.statusCode,
        responseBody,
        error: res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`,
        durationMs: elapsed(),
      };
    } catch (e) {
      if (req.signal?.aborted) return fail({ kind: 'aborted' }, 'abandoned at shutdown', elapsed());
      if (abort.signal.aborted) {
        return fail({ kind: 'timeout' }, `no response within ${req.timeoutMs} ms`, elapsed());
      }
      const code = errorCode(e);
      if (code === POLICY_ERROR) {
        const message = causeMessage(e);
        return fail({ kind: 'refused', reason: message }, message, elapsed());
      }
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        return fail({ kind: 'timeout' }, `no response within ${req.timeoutMs} ms`, elapsed());
      }
      return fail(
        { kind: 'network', code: code ?? 'ERROR' },
        `${code ?? 'network error'}: ${causeMessage(e)}`,
        elapsed(),
      );
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbandon);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function fail(outcome: SendResult['outcome'], error: string, durationMs: number): SendResult {
  return { outcome, statusCode: null, responseBody: null, error, durationMs };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  try {
    for await (const chunk of body) {
      seen += chunk.length;
      if (keptBytes < RESPONSE_KEEP_BYTES) {
        const part = chunk.subarray(0, RESPONSE_KEEP_BYTES - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (seen >= RESPONSE_DRAIN_BYTES) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A body cut short still leaves its status; what was read is kept.
  }
  return Buffer.concat(kept).toString('utf8');
}

/** The first error code along the cause chain (undici wraps socket errors). */
function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur !== undefined && cur !== null; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_CONNECT') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  const top = (e as { code?: unknown })?.code;
  return typeof top === 'string' ? top : undefined;
}

function causeMessage(e: unknown): string {
  let cur: unknown = e;
  let message = e instanceof Error ? e.message : String(e);
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    message = cur.message;
    cur = cur.cause;
  }
  return message;
}
