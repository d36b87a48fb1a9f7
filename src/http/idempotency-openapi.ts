/** How the Idempotency-Key header and its replay headers appear in the OpenAPI document. */
import type { FastifySchema, RouteOptions } from 'fastify';
import { hasSecretField } from './idempotency-redaction.js';
import { ErrorEnvelope } from './schemas.js';

/** The longest key accepted (the IETF draft sets none; Stripe's limit is 255). */
export const IDEMPOTENCY_KEY_MAX = 255;

const KEY_PARAMETER = {
  type: 'string',
  minLength: 1,
  maxLength: IDEMPOTENCY_KEY_MAX,
  pattern: '^[\\x20-\\x7E]+$',
  description:
    'Optional. A unique key per operation (e.g. a UUID): a retry with the same key and request gets the first answer again, without running the operation twice. Kept 24 h, per project and route. Another request under a used key → 422 idempotency_key_reused; while the first still runs → 409 request_in_progress.',
};

const REPLAY_RESPONSE_HEADER = {
  type: 'string',
  enum: ['true'],
  description: 'Present when this is the stored answer to an earlier request with the same Idempotency-Key.',
};

const REDACTED_RESPONSE_HEADER = {
  type: 'string',
  description:
    'On a replay only: the JSON paths of the secrets the first answer showed, which the replay gives as null (a secret is shown once). Regenerate the secret, or mint another credential, if the first answer was lost.',
  example: 'data.signingSecret',
};

/**
 * Documents the header on the route through a per-route transform of the OpenAPI generator:
 * adding it to the route's real header schema would validate every request's headers for a
 * header that is usually absent.
 */
export function documentInOpenApi(route: RouteOptions): void {
  const previous = route.config?.swaggerTransform;
  if (previous === false) return;
  route.config = {
    ...route.config,
    swaggerTransform: (input) => {
      const out = previous === undefined ? { schema: input.schema, url: input.url } : previous(input);
      return { schema: withIdempotency(out.schema), url: out.url };
    },
  };
}

function withIdempotency(schema: FastifySchema | undefined): FastifySchema {
  const s: FastifySchema = schema ?? {};
  const headers = (s.headers ?? {}) as { properties?: Record<string, unknown> };
  const documented: FastifySchema = {
    ...s,
    headers: {
      ...headers,
      type: 'object',
      properties: { ...(headers.properties ?? {}), 'Idempotency-Key': KEY_PARAMETER },
    },
  };
  // Without response schemas the generator writes its default answer; leave that alone.
  if (s.response === undefined) return documented;
  const responses = { ...(s.response as Record<string, unknown>) };
  // Answers that can be stored say when they are a replay; every key can meet the two refusals.
  for (const [status, response] of Object.entries(responses)) {
    if (Number(status) < 500 && status !== '401' && typeof response === 'object' && response !== null) {
      const own = (response as { headers?: Record<string, unknown> }).headers ?? {};
      const replay = hasSecretField(response)
        ? {
            'Idempotent-Replay': REPLAY_RESPONSE_HEADER,
            'Idempotent-Replay-Redacted': REDACTED_RESPONSE_HEADER,
          }
        : { 'Idempotent-Replay': REPLAY_RESPONSE_HEADER };
      responses[status] = { ...response, headers: { ...own, ...replay } };
    }
  }
  responses['409'] ??= { ...ErrorEnvelope, description: 'request_in_progress (Idempotency-Key)' };
  responses['422'] ??= { ...ErrorEnvelope, description: 'idempotency_key_reused (Idempotency-Key)' };
  return { ...documented, response: responses };
}
