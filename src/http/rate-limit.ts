/**
 * Abuse limits (docs/api.md §5.2): what one caller may cost the server.
 *
 *   - Per-credential rate limit on the management routes: a token bucket per credential id,
 *     `RELEVO_RATE_LIMIT` (e.g. `100/s`), off by default. Over it → 429 `rate_limited` with
 *     `Retry-After`. Checked in preParsing, that is after the credential is known (the onRequest
 *     hook of each prefix authenticates) and before the body is read or an Idempotency-Key is
 *     claimed, so a refused request costs neither.
 *   - Throttling of authentication failures per client address: every 401 (management routes,
 *     admin API, signed inbound routes, web chat sessions) counts; the `RELEVO_AUTH_FAILURE_LIMIT`th
 *     failure (20 by default) within a minute of the first makes every request from that address
 *     a 429 for the next minute. Generous on purpose: a client with a mistyped key fails a few
 *     times, not twenty, and a guesser gets 20 tries a minute instead of thousands a second.
 *     Each attempt is counted as it is admitted, before its lookup, so that a parallel flood
 *     meets the same limit (FailureThrottle); `authenticated` gives a place back early.
 *   - Server timeouts and a connection cap against slow clients (slowloris): `serverOptions` and
 *     `registerAbuseLimits` configure Node's HTTP server.
 *
 * All state is in memory, per process: N API nodes behind a balancer allow N times the rate.
 * That is the usual trade-off (no database round trip per request); the numbers are a ceiling on
 * abuse, not a billing meter.
 */
import type { ServerOptions } from 'node:http';
import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config, RateLimit } from '../config.js';
import { ApiError } from '../errors.js';
import { AUTH_FAILURE_BLOCK_MS, AUTH_FAILURE_WINDOW_MS, FailureThrottle } from './failure-throttle.js';
import { type Clock, monotonic, TokenBuckets } from './token-buckets.js';

/** How often idle entries (full buckets, expired windows) are dropped. */
const SWEEP_EVERY_MS = 60_000;

/** Routes never refused for an address's failures: a load balancer's health check must pass. */
const NEVER_THROTTLED = new Set(['/healthz']);

/** Whole seconds for Retry-After, never 0: "retry now" would invite a tight loop. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The unit a failure counts against: an IPv4 address (an IPv4-mapped IPv6 address is its IPv4
 * address), or an IPv6 /64, since one end site usually holds a whole /64 and could otherwise
 * rotate through 2^64 addresses.
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(ip) || ip.includes('.')) return ip;
  const address = ip.split('%')[0] ?? ip;
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  const groups = tail === undefined ? left : [...left, ...zeros, ...right];
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}

function describeRate(limit: RateLimit): string {
  const unit = limit.periodMs === 1000 ? 'second' : limit.periodMs === 60_000 ? 'minute' : 'hour';
  return `${limit.requests} requests per ${unit}`;
}

/**
 * How often Node looks for requests past their headers or request timeout. Its default, 30 s,
 * would let a slowloris connection live up to 30 s past a 10 s limit; a tenth of the shorter
 * timeout (1 s by default) keeps the overshoot small, and one pass over even 10 000 connections
 * every second is negligible.
 */
function checkingIntervalMs(config: Config): number {
  const shortest = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  return Math.min(1000, Math.max(10, Math.floor(shortest / 10)));
}

/**
 * Fastify options against slow clients; see docs/security.md for the numbers. Fastify applies
 * `requestTimeout` and `keepAliveTimeout` itself; the headers timeout and the checking interval
 * go to Node's http.createServer.
 */
export function serverOptions(config: Config): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(config),
    },
  };
}

/** How a request that holds a place in the failure throttle gives it back as a success. */
const succeeded = new WeakMap<FastifyRequest, () => void>();

/**
 * Tells the failure throttle that this request presented valid credentials (or a valid
 * signature or session), so that its place goes to the next attempt from its address now rather
 * than when its answer is sent: a long-running request, such as a web chat stream, must not hold
 * it. Idempotent; nothing happens when the throttle is off.
 */
export function authenticated(request: FastifyRequest): void {
  const give = succeeded.get(request);
  if (give === undefined) return;
  succeeded.delete(request);
  give();
}

export interface AbuseLimitOptions {
  /** A monotonic clock, for tests; performance.now by default. */
  readonly now?: Clock;
}

/**
 * Registers the rate limit, the authentication-failure throttle and the connection cap. Call it
 * in buildApp before any route, after the hook that sets the request id (so a 429 carries it).
 */
export function registerAbuseLimits(
  app: FastifyInstance,
  config: Config,
  options: AbuseLimitOptions = {},
): void {
  const now = options.now ?? monotonic;
  app.server.maxConnections = config.maxConnections;
  let dropped = 0;
  let lastDropWarning = Number.NEGATIVE_INFINITY;
  app.server.on('drop', () => {
    dropped += 1;
    // One line a minute at most: a flood must not become a flood of log lines.
    if (now() - lastDropWarning < 60_000) return;
    lastDropWarning = now();
    app.log.warn(
      { maxConnections: config.maxConnections, dropped },
      'connection limit reached; new connections are being closed (RELEVO_MAX_CONNECTIONS)',
    );
  });

  const limit = config.rateLimit;
  const buckets = limit === undefined ? undefined : new TokenBuckets(limit.requests, limit.periodMs, now);
  const throttle =
    config.authFailureLimit > 0
      ? new FailureThrottle(config.authFailureLimit, AUTH_FAILURE_WINDOW_MS, AUTH_FAILURE_BLOCK_MS, now)
      : undefined;
  if (buckets === undefined && throttle === undefined) return;

  // The client key of each request holding a place in the throttle, until it is decided.
  const attempts = new WeakMap<FastifyRequest, string>();
  const sweep = setInterval(() => {
    buckets?.sweep();
    throttle?.sweep();
  }, SWEEP_EVERY_MS);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  if (throttle !== undefined) {
    const keyOf = (request: FastifyRequest) => clientKey(request.ip);
    const settle = (request: FastifyRequest, failed: boolean) => {
      const key = attempts.get(request);
      if (key === undefined) return;
      attempts.delete(request);
      if (throttle.settle(key, failed)) {
        request.log.warn(
          { client: key, failures: config.authFailureLimit, blockSeconds: AUTH_FAILURE_BLOCK_MS / 1000 },
          'too many authentication failures; refusing this client for a while',
        );
      }
    };
    app.addHook('onRequest', async (request, reply) => {
      if (NEVER_THROTTLED.has(request.routeOptions.url ?? '')) return;
      const key = keyOf(request);
      const waitMs = await throttle.admit(key);
      if (waitMs === 0) {
        attempts.set(request, key);
        succeeded.set(request, () => settle(request, false));
        // The client may have left while this attempt waited for a place: its 'close' is past,
        // and a body that will never arrive leaves the request stuck before onSend. Its place
        // goes back now; kept, two such POSTs behind a limit of 2 made every later request from
        // the address wait forever.
        if (reply.raw.destroyed) {
          settle(request, false);
          return;
        }
        // Whatever happens next (a hijacked stream, a dropped connection), the place is given
        // back when the response ends.
        reply.raw.once('close', () => settle(request, false));
        return;
      }
      const seconds = retryAfterSeconds(waitMs);
      throw new ApiError(
        'rate_limited',
        `Too many failed authentication attempts from this address; retry in ${seconds} seconds with valid credentials.`,
        {},
        { headers: { 'retry-after': String(seconds) } },
      );
    });
    // onSend runs before the answer leaves, so the next request already sees this failure.
    app.addHook('onSend', async (request, reply, payload) => {
      settle(request, reply.statusCode === 401);
      return payload;
    });
  }

  if (buckets !== undefined && limit !== undefined) {
    const rate = describeRate(limit);
    app.addHook('preParsing', async (request, _reply, payload) => {
      const credential = request.credential;
      if (credential === undefined) return payload;
      const waitMs = buckets.take(credential.id);
      if (waitMs === 0) return payload;
      const seconds = retryAfterSeconds(waitMs);
      throw new ApiError(
        'rate_limited',
        `This credential is over its limit of ${rate}; retry in ${seconds} seconds.`,
        {},
        { headers: { 'retry-after': String(seconds) } },
      );
    });
  }
}
