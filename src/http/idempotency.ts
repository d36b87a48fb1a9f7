/**
 * `Idempotency-Key` on every POST of the management and admin APIs (docs/api.md §5.1), with the
 * semantics of the IETF httpapi idempotency-key draft and Stripe's 24 h retention:
 *
 *   - no header: the route runs as if this module did not exist (one header lookup);
 *   - first request with a key: the key is claimed, the route runs, and its answer (status,
 *     content-type, body) is stored before it is sent — unless it is a 5xx (or a 401/429, which
 *     say nothing about the operation): then the claim is released, so the client can retry;
 *   - the same key again with the same request: the stored answer, byte for byte, with
 *     `Idempotent-Replay: true`, and the route does not run;
 *   - the same key with another request: 422 `idempotency_key_reused`;
 *   - the same key while the first request still runs: 409 `request_in_progress`, `Retry-After: 1`;
 *   - a secret is shown once: an answer that hands one out (an API key, a client secret, a
 *     signing secret or key) is stored with each such field set to null, and its replay names
 *     them in `Idempotent-Replay-Redacted` (see redactSecrets). The client's own data echoed
 *     back (metadata, an event's payload) is replayed exactly, whatever its field names.
 *
 * A key is scoped to (project, route pattern): the same key on another route or in another
 * project is another key, while the three prefixes of a route are one route. The project comes
 * from the path; for the send-message route from the body's `project_id` once its signature is
 * verified (an unverifiable request is left to the route, which answers 401 and stores nothing);
 * admin routes share the scope `admin`.
 *
 * The claim is taken in `preValidation`: after authentication (onRequest), so a 401 is never
 * stored, and after the body is parsed, but before schema validation, so that a 422 for an
 * invalid body is stored and replayed like any other answer (as Stripe does). Failures of the
 * transport itself (malformed JSON, 413, 415) come earlier and are never stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  onSendAsyncHookHandler,
  preValidationAsyncHookHandler,
  RouteOptions,
} from 'fastify';
import { ApiError, validationError } from '../errors.js';
import type { IdempotencyHold, Queries } from '../storage/store.js';
import { documentInOpenApi, IDEMPOTENCY_KEY_MAX } from './idempotency-openapi.js';
import { redactSecrets } from './idempotency-redaction.js';
import { panelSignature } from './panel-signature.js';
import type { RouteDeps } from './routes/route-deps.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAY_HEADER = 'idempotent-replay';
/** On a replay whose stored answer had secrets: the JSON paths set to null, comma-separated. */
export const REDACTED_HEADER = 'idempotent-replay-redacted';
/** The scope of every admin route: the admin API belongs to no project. */
export const ADMIN_SCOPE = 'admin';

/** Stripe's retention: long enough to cover any client's retry schedule, short enough to purge. */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * How long a claim belongs to the request holding it. Far above any route's run time; past it,
 * a claim whose process died is taken over instead of blocking the key until it expires.
 */
export const LOCK_MS = 60 * 1000;
const PURGE_EVERY_MS = 10 * 60 * 1000;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
/** Headers replayed with the body; the rest (request id, date, length) belong to each answer. */
const STORED_HEADERS = ['content-type', 'location'] as const;
/** The send-message route, whose project is named by its signed body, not by its path. */
const SIGNED_BODY_ROUTE = '/external-support/webhook';

export interface IdempotencyOptions {
  /** Prefixes serving the same management routes: a key used under one is used under all. */
  readonly managementPrefixes: readonly string[];
  readonly adminPrefix: string;
}

type ScopeOf = (request: FastifyRequest) => string | undefined | Promise<string | undefined>;

/**
 * Adds the idempotency hooks to every qualifying POST route registered after this call, and
 * starts the purge of expired keys (stopped when the server closes).
 */
export function registerIdempotency(
  app: FastifyInstance,
  deps: RouteDeps,
  options: IdempotencyOptions,
): void {
  const queries = deps.store.queries;
  // The claim a request holds, from preValidation to onSend; never set when no key was sent.
  const held = new WeakMap<FastifyRequest, IdempotencyHold>();

  const claim = (route: string, scopeOf: ScopeOf): preValidationAsyncHookHandler =>
    async function claimIdempotencyKey(request, reply) {
      const raw = request.headers[IDEMPOTENCY_HEADER];
      if (raw === undefined) return;
      const key = checkedKey(raw, request);
      const projectId = await scopeOf(request);
      if (projectId === undefined) return;
      const id: IdempotencyHold = { projectId, route, key, holder: randomUUID() };
      const requestHash = fingerprint(request);
      const now = deps.clock();
      const result = await queries.idempotency.claim({
        ...id,
        requestHash,
        now,
        lockedUntil: now + LOCK_MS,
        expiresAt: now + RETENTION_MS,
      });
      if (result.claimed) {
        held.set(request, id);
        return;
      }
      const { record } = result;
      // A different request under a used key is a client bug whatever the first one's state.
      if (record.requestHash !== requestHash) {
        throw new ApiError(
          'idempotency_key_reused',
          `Idempotency-Key ${JSON.stringify(key)} was already used on this route with a different request; use a new key for a new request.`,
        );
      }
      if (record.state !== 'done' || record.response === null) {
        throw new ApiError(
          'request_in_progress',
          `A request with Idempotency-Key ${JSON.stringify(key)} is still being processed; retry after it completes.`,
          {},
          { headers: { 'retry-after': '1' } },
        );
      }
      const stored = record.response;
      reply.code(stored.status);
      for (const [name, value] of Object.entries(stored.headers)) reply.header(name, value);
      reply.header(REPLAY_HEADER, 'true');
      // A string with its content-type already set is sent as is: the stored bytes, unchanged.
      reply.send(stored.body);
      return reply;
    };

  const store = (answers: AnswerSchemas): onSendAsyncHookHandler<unknown> =>
    async function storeIdempotentResponse(request, reply, payload) {
      const id = held.get(request);
      if (id === undefined) return payload;
      held.delete(request);
      // Awaited here, before the answer leaves: a retry sent right after it is already a replay.
      try {
        const status = reply.statusCode;
        if (isRetryable(status) || (payload != null && typeof payload !== 'string')) {
          await queries.idempotency.release(id);
        } else {
          const { body, redacted } = redactSecrets(payload ?? '', answers(status));
          const headers = storedHeaders(reply);
          await queries.idempotency.complete(id, {
            status,
            headers: redacted.length === 0 ? headers : { ...headers, [REDACTED_HEADER]: redacted.join(', ') },
            body,
          });
        }
      } catch (err) {
        // The operation is done; its answer goes out anyway. The claim lapses after LOCK_MS.
        request.log.error({ err, idempotencyKey: id.key }, 'could not settle the idempotency key');
      }
      return payload;
    };

  app.addHook('onRoute', (route) => {
    if (route.method !== 'POST') return;
    const target = classify(route, options, queries);
    if (target === undefined) return;
    route.preValidation = [...asList(route.preValidation), claim(target.route, target.scopeOf)];
    route.onSend = [...asList(route.onSend), store(answerSchemas(route.schema))];
    documentInOpenApi(route);
  });

  let purging = false;
  const purge = setInterval(() => {
    // One purge at a time: a slow database must not pile them up.
    if (purging) return;
    purging = true;
    queries.idempotency
      .purge(deps.clock())
      .then(
        (n) => {
          if (n > 0) deps.log.debug({ purged: n }, 'expired idempotency keys purged');
        },
        (err: unknown) => deps.log.warn({ err }, 'could not purge expired idempotency keys'),
      )
      .finally(() => {
        purging = false;
      });
  }, PURGE_EVERY_MS);
  // The purge never keeps a process alive on its own.
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
}

/** Which routes take a key, under which route name, and how each finds its project. */
function classify(
  route: RouteOptions & { routePath: string; prefix: string },
  options: IdempotencyOptions,
  queries: Queries,
): { route: string; scopeOf: ScopeOf } | undefined {
  if (route.prefix === options.adminPrefix) {
    return { route: `POST ${route.url}`, scopeOf: () => ADMIN_SCOPE };
  }
  if (!options.managementPrefixes.includes(route.prefix)) return undefined;
  // Named without its prefix, so all three prefixes share one key space.
  const name = `POST ${route.routePath}`;
  if (route.routePath === SIGNED_BODY_ROUTE) {
    return { route: name, scopeOf: (request) => signedProject(request, queries) };
  }
  if (!route.routePath.includes(':projectId')) return undefined;
  return { route: name, scopeOf: (request) => (request.params as { projectId?: string }).projectId };
}

/**
 * The project of the send-message route, once the body's signature checks out (the route reads
 * the same verdict), so that an unsigned caller cannot claim or read keys in another project's
 * scope.
 */
async function signedProject(request: FastifyRequest, queries: Queries): Promise<string | undefined> {
  return (await panelSignature(request, queries)).projectId;
}

/** The header's value, or a 422 naming it. */
function checkedKey(raw: string | string[], request: FastifyRequest): string {
  const problems: string[] = [];
  if (Array.isArray(raw)) problems.push('must be sent once');
  else if (raw.length === 0) problems.push('must not be empty');
  else {
    if (raw.length > IDEMPOTENCY_KEY_MAX) problems.push(`must be at most ${IDEMPOTENCY_KEY_MAX} characters`);
    if (!PRINTABLE_ASCII.test(raw)) problems.push('must contain only printable ASCII characters');
  }
  if (problems.length === 0) return raw as string;
  throw validationError({ 'Idempotency-Key': problems }, request.routeOptions.config?.validationStatus);
}

/**
 * What makes two requests under one key "the same": the path parameters (one route pattern
 * covers every delivery id, every admin project…), the query string and the body exactly as
 * received. Raw bytes rather than the parsed body: a client retrying sends the same bytes, and
 * hashing them needs no canonical form of JSON (key order, number spelling) to agree on.
 */
function fingerprint(request: FastifyRequest): string {
  const url = request.url;
  const q = url.indexOf('?');
  return createHash('sha256')
    .update(JSON.stringify(request.params ?? {}))
    .update('\n')
    .update(q < 0 ? '' : url.slice(q + 1))
    .update('\n')
    .update(request.rawBody ?? '')
    .digest('hex');
}

/**
 * 5xx: the client should retry, and must be able to with the same key. 401 and 429 say that
 * the request was not let through (a secret regenerated meanwhile, a rate limit), not what the
 * operation did, so they are not kept for 24 h either.
 */
function isRetryable(status: number): boolean {
  return status >= 500 || status === 401 || status === 429;
}

/**
 * Per status, the schema of a route's answer, to tell relevo's own fields from the client's data
 * echoed back inside it; undefined when the route declares none for the status.
 */
type AnswerSchemas = (status: number) => unknown;

function answerSchemas(schema: FastifySchema | undefined): AnswerSchemas {
  const responses = (schema?.response ?? {}) as Record<string, unknown>;
  return (status) => responses[status] ?? responses[`${Math.floor(status / 100)}xx`] ?? responses.default;
}

function storedHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function asList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}
