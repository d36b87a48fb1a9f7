/**
 * One HTTP attempt to a webhook: POST the exact bytes, within the timeout, never following a
 * redirect, dialling only addresses the network policy allows (checked on the address actually
 * dialled, so DNS rebinding between create time and connect time does not help an attacker).
 *
 * Each integration has connection pools of its own, one per origin, with as many connections as
 * it may have attempts in flight: a healthy panel costs one TCP/TLS handshake, not one per event,
 * and an attempt never waits for a connection that another integration holds — even when both
 * post to the same origin (many projects pointing at one SaaS help desk is the normal case). A
 * shared pool per origin let one project's hanging receiver hold all 64 connections while another
 * project's attempts queued behind them with their timers running. A pool unused for a minute is
 * closed, so a deleted integration or a changed URL leaves nothing open.
 */
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Pool, request } from 'undici';
import { HostResolver } from './host-resolver.js';
import { type AllowList, checkResolvedAddress } from './network-policy.js';
import { type AttemptOutcome, parseRetryAfter } from './retry-policy.js';

/** The delivery log keeps this much of each response body (docs/webhooks.md, "What your answer means"). */
export const RESPONSE_KEEP_BYTES = 4096;
/** A response body is drained up to this size to keep the connection reusable, then cut. */
const RESPONSE_DRAIN_BYTES = 64 * 1024;
/** An idle connection is kept this long for the next event. */
const KEEP_ALIVE_MS = 10_000;
/** A pool with no attempt for this long is closed (its connections are long gone by then). */
const POOL_IDLE_MS = 60_000;
const POOL_SWEEP_MS = 30_000;

const POLICY_ERROR = 'ERR_RELEVO_NETWORK_POLICY';

export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /**
   * Whose attempt it is (the dispatcher's lane: project and destination): it uses that
   * integration's connections and DNS turns only.
   */
  readonly integration?: string | undefined;
  /** Aborts the attempt (graceful shutdown gives up on it). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Read this much of the answer into `fullBody` (a Rasa server's answer is what it says to the
   * user); at most the drain limit, 64 KiB. The log's `responseBody` keeps 4 KiB whatever this is.
   */
  readonly keepBytes?: number | undefined;
}

export interface SendResult {
  readonly outcome: AttemptOutcome | { kind: 'aborted' };
  readonly statusCode: number | null;
  readonly responseBody: string | null;
  /** The answer up to the request's `keepBytes`, when it asked for more than the log keeps. */
  readonly fullBody?: string | undefined;
  /** A one-line description of what went wrong, for the delivery log. */
  readonly error: string | null;
  readonly durationMs: number;
}

export interface WebhookSenderOptions {
  readonly allow: AllowList;
  /**
   * Most simultaneous connections of one integration to one origin: its concurrency limit, so
   * that none of its attempts waits for a connection.
   */
  readonly connectionsPerOrigin: number;
  /** Resolves host names when dialling; the system's DNS by default. */
  readonly resolver?: HostResolver;
  /** A pool unused for this long is closed (POOL_IDLE_MS; tests shorten it). */
  readonly poolIdleMs?: number;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

interface PoolEntry {
  readonly pool: Pool;
  active: number;
  lastUsed: number;
}

export class WebhookSender {
  private readonly resolver: HostResolver;
  /** By integration and origin. */
  private readonly pools = new Map<string, PoolEntry>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly poolIdleMs: number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolver = options.resolver ?? new HostResolver();
    this.poolIdleMs = options.poolIdleMs ?? POOL_IDLE_MS;
    this.sweeper = setInterval(() => this.sweep(), Math.min(POOL_SWEEP_MS, this.poolIdleMs));
    this.sweeper.unref();
  }

  /**
   * What net.connect calls for a host name (never for an IP literal, which is checked before
   * dialling): the integration's own DNS turn, then the policy on every address of the answer.
   */
  private lookupFor(integration: string) {
    const allow = this.options.allow;
    return (hostname: string, opts: { all?: boolean }, callback: LookupCallback): void => {
      void this.resolver.lookup(hostname, integration).then(
        (addresses) => {
          for (const address of addresses) {
            const why = checkResolvedAddress(hostname, address, allow);
            if (why !== undefined) {
              callback(
                Object.assign(new Error(`refused by the network policy: ${why}`), { code: POLICY_ERROR }),
                [],
              );
              return;
            }
          }
          const found = addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
          const first = found[0];
          if (opts.all) callback(null, found);
          else if (first === undefined)
            callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
          else callback(null, first.address, first.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, []),
      );
    };
  }

  private poolFor(integration: string, origin: string): PoolEntry {
    const key = `${integration} ${origin}`;
    let entry = this.pools.get(key);
    if (entry === undefined) {
      entry = {
        pool: new Pool(origin, {
          connections: this.options.connectionsPerOrigin,
          keepAliveTimeout: KEEP_ALIVE_MS,
          connect: { lookup: this.lookupFor(integration) as never },
        }),
        active: 0,
        lastUsed: Date.now(),
      };
      this.pools.set(key, entry);
    }
    return entry;
  }

  /** Closes the pools nobody used for `poolIdleMs`. */
  private sweep(): void {
    const before = Date.now() - this.poolIdleMs;
    for (const [key, entry] of this.pools) {
      if (entry.active > 0 || entry.lastUsed > before) continue;
      this.pools.delete(key);
      void entry.pool.close().catch(() => undefined);
    }
  }

  /** Pools open now (one per integration and origin in use). */
  get poolCount(): number {
    return this.pools.size;
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
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return fail(
        { kind: 'refused', reason: 'not an http or https URL' },
        'the webhook URL is not an http or https URL',
        elapsed(),
      );
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const why = checkResolvedAddress(host, host, this.options.allow);
      if (why !== undefined)
        return fail({ kind: 'refused', reason: why }, `refused by the network policy: ${why}`, elapsed());
    }

    // The timer runs from here: the dispatcher starts an attempt only once it holds one of its
    // integration's slots, and the integration's pool has a connection for each slot, so what it
    // measures is the receiver — resolving its name, connecting, TLS, and its answer — never a
    // queue behind anyone else. One controller per attempt, aborted by its timer or by the
    // caller's signal (shutdown): AbortSignal.any would cost a composite signal and weak
    // references per attempt.
    const entry = this.poolFor(req.integration ?? '', url.origin);
    entry.active += 1;
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
        dispatcher: entry.pool,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const keep = Math.min(Math.max(req.keepBytes ?? 0, RESPONSE_KEEP_BYTES), RESPONSE_DRAIN_BYTES);
      const read = await readCapped(res.body, keep);
      // The log keeps 4 KiB as before (a UTF-8 sequence cut in two decodes as U+FFFD).
      const responseBody = read.subarray(0, RESPONSE_KEEP_BYTES);
      return {
        outcome: {
          kind: 'response',
          status: res.statusCode,
          retryAfterMs: parseRetryAfter(res.headers['retry-after'], Date.now()),
        },
        statusCode: res.statusCode,
        responseBody: responseBody.toString('utf8'),
        fullBody: req.keepBytes === undefined ? undefined : read.toString('utf8'),
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
      entry.active -= 1;
      entry.lastUsed = Date.now();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((e) => e.pool.close()));
  }
}

function fail(outcome: SendResult['outcome'], error: string, durationMs: number): SendResult {
  return { outcome, statusCode: null, responseBody: null, error, durationMs };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, keep: number): Promise<Buffer> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  try {
    for await (const chunk of body) {
      seen += chunk.length;
      if (keptBytes < keep) {
        const part = chunk.subarray(0, keep - keptBytes);
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
  return Buffer.concat(kept);
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
