/**
 * Request and response examples for every operation of the OpenAPI document, attached to the
 * generated document (not to the route files). Request bodies are written here by hand, so that
 * "try it" starts from a realistic request; an operation missing from REQUEST_BODIES gets one
 * generated from its schema. Responses are generated from their schemas (with a few values laid
 * over them where the schema alone would contradict itself); error responses are
 * real envelopes written by the same function the error handler uses, one example per error
 * code the status can carry. A test validates every example with the app's own validator.
 */
import { DEFAULT_RULES } from '../../bots/rules/rule-bot.js';
import { ApiError, CATALOGUE, type ErrorCode, validationError } from '../../errors.js';
import { errorBody } from '../envelope.js';
import { SAMPLE_TIME, sampleId, sampleOf } from './sample.js';
import { WEBHOOK_EXAMPLES } from './webhooks.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is built and read loosely.
type Json = any;

const M = '/jelouapi/v1/external-support/{projectId}';
const A = '/admin/v1/projects';

const RULES = {
  greeting: 'Hi! I am the Acme assistant. Type "human" at any time to talk to a person.',
  answers: [{ keywords: ['hours', 'open'], reply: 'We are open Monday to Friday, 9:00 to 18:00.' }],
  handoff: {
    keywords: ['human', 'agent'],
    reply: 'Connecting you with a person…',
    assignment: { type: 'queue', target: 'SUPPORT' },
  },
  fallback: 'Sorry, I did not get that. Type "human" to talk to a person.',
};

/** Request bodies by `METHOD path` as the document lists them. */
export const REQUEST_BODIES: Readonly<Record<string, unknown>> = {
  [`POST ${M}`]: {
    webhookUrl: 'https://panel.example.com/jelou/events',
    authType: 'bearer',
    authorization: 'panel-token-4f9c2a7e',
  },
  [`PATCH ${M}`]: { webhookUrl: 'https://panel.example.com/jelou/events-v2' },
  [`POST ${M}/secret/regenerate`]: {},
  [`POST ${M}/conversations/start`]: {
    botId: sampleId('bot'),
    userId: sampleId('usr'),
    initialMessage: 'Good morning, my order has not arrived',
    metadata: { ticketId: 'T-12345' },
    assignment: { type: 'queue', target: 'SUPPORT' },
  },
  [`POST ${M}/conversations/close`]: {
    botId: sampleId('bot'),
    userId: sampleId('usr'),
    redirectPayload: { type: 'text', text: 'Thanks for contacting us!' },
  },
  [`POST ${M}/conversations/{conversationId}/messages`]: {
    id: 'console-msg-77',
    type: 'text',
    content: { body: 'Hi Maria, your order ships today.' },
  },
  [`POST ${M}/deliveries/{deliveryId}/retry`]: {},
  [`POST ${M}/deliveries/replay`]: { since: SAMPLE_TIME, conversationId: sampleId('conv') },
  'POST /jelouapi/v1/external-support/webhook': {
    field: 'messages',
    object: 'message_event',
    event_type: 'incoming_message',
    project_id: sampleId('prj'),
    room_id: sampleId('room'),
    bot_id: sampleId('bot'),
    user_id: sampleId('usr'),
    value: { id: 'panel-msg-1001', type: 'text', content: { body: 'Hi Maria, this is Ana from support.' } },
  },
  [`POST ${M}/bots/{botId}/messages`]: {
    userId: sampleId('usr'),
    message: { type: 'text', content: { body: 'Your order shipped today; it arrives on Friday.' } },
    id: 'bot-msg-2001',
  },
  [`POST ${A}`]: { name: 'Acme' },
  [`POST ${A}/{projectId}/credentials`]: {},
  [`POST ${A}/{projectId}/bots`]: { name: 'Helper Bot', channel: 'webchat' },
  [`POST ${A}/{projectId}/users`]: { names: 'Maria Silva', referenceId: 'customer-8812' },
  [`PUT ${A}/{projectId}/bots/{botId}/rules`]: RULES,
  [`PUT ${A}/{projectId}/bots/{botId}/channel`]: { webhookUrl: 'https://app.example.com/relevo/messages' },
  [`POST ${A}/{projectId}/bots/{botId}/channel/signing-key/regenerate`]: {},
  'POST /v1/custom-channel/{botId}': {
    referenceId: 'customer-8812',
    name: 'Ana Lima',
    message: { type: 'text', content: { body: 'Hi, where is my order?' } },
  },
};

const DELIVERY = {
  eventType: 'conversation.start',
  status: 'pending',
  attemptCount: 2,
  nextAttemptAt: '2026-01-15T10:35:02.117Z',
  deliveredAt: null,
  createdAt: SAMPLE_TIME,
  lastError: 'HTTP 503',
};

const ATTEMPT = {
  durationMs: 12,
  url: 'https://panel.example.com/jelou/events',
  statusCode: 503,
  outcome: 'failed',
};

/**
 * Where a success generated from its schema would contradict itself (a closed conversation with
 * status `active`, a pending delivery with a delivery time), these values are laid over it:
 * objects key by key, arrays item by item. A `Whole` replaces it.
 */
class Whole {
  constructor(readonly value: unknown) {}
}

const SUCCESS_OVERRIDES: Readonly<Record<string, unknown>> = {
  [`POST ${M}/conversations/close`]: { data: { status: 'closed' } },
  [`GET ${M}/conversations`]: { data: { items: [{ state: 'closed' }] } },
  [`GET ${M}/conversations/{conversationId}`]: { data: { state: 'closed' } },
  [`GET ${M}/conversations/{conversationId}/messages`]: {
    data: { items: [{ content: { body: 'Hello, is anyone there?' } }] },
  },
  // While the panel owns the room, conversationId names the conversation.
  [`GET ${M}/bots/{botId}/rooms/{userId}`]: { data: { owner: 'panel' } },
  [`GET ${M}/deliveries`]: { data: { items: [DELIVERY] } },
  [`GET ${M}/deliveries/{deliveryId}`]: {
    data: { ...DELIVERY, payload: new Whole(WEBHOOK_EXAMPLES['conversation.start']), attempts: [ATTEMPT] },
  },
  [`POST ${M}/deliveries/{deliveryId}/retry`]: {
    data: { ...DELIVERY, payload: new Whole(WEBHOOK_EXAMPLES['conversation.start']), attempts: [ATTEMPT] },
  },
  [`GET ${A}/{projectId}`]: { credentials: [{ revokedAt: null }] },
  [`GET ${A}/{projectId}/bots/{botId}/rules`]: new Whole({ rules: DEFAULT_RULES, isDefault: true }),
  [`PUT ${A}/{projectId}/bots/{botId}/rules`]: new Whole(RULES),
  [`DELETE ${A}/{projectId}/bots/{botId}/rules`]: new Whole({ rules: DEFAULT_RULES, isDefault: true }),
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` laid over `base`: objects key by key, arrays item by item, anything else replaced. */
function overlay(base: unknown, over: unknown): unknown {
  if (over instanceof Whole) return over.value;
  if (Array.isArray(base) && Array.isArray(over)) return over.map((o, i) => overlay(base[i], o));
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = overlay(base[k], v);
    return out;
  }
  return over;
}

/** Error codes by `METHOD path` and status, where the path alone does not tell them. */
const ERROR_CODES: Readonly<Record<string, Partial<Record<number, readonly ErrorCode[]>>>> = {
  [`POST ${M}`]: { 409: ['integration_already_exists', 'request_in_progress'] },
  // docs/api.md §4.3: an invalid update is a 400 with the 422's envelope.
  [`PATCH ${M}`]: { 400: ['unprocessable_entity'] },
  [`POST ${M}/conversations/start`]: {
    404: ['bot_not_found', 'user_not_found'],
    409: ['conversation_already_active', 'request_in_progress'],
  },
  [`POST ${M}/conversations/close`]: { 404: ['conversation_not_found'] },
  [`POST ${M}/deliveries/replay`]: { 404: ['integration_not_found', 'conversation_not_found'] },
  [`POST ${M}/deliveries/{deliveryId}/retry`]: { 404: ['delivery_not_found', 'integration_not_found'] },
  [`POST ${M}/bots/{botId}/messages`]: {
    404: ['bot_not_found', 'user_not_found'],
    409: ['room_owned_by_panel', 'request_in_progress'],
  },
  [`GET ${M}/bots/{botId}/rooms/{userId}`]: { 404: ['bot_not_found', 'user_not_found'] },
  'POST /jelouapi/v1/external-support/webhook': {
    401: ['invalid_signature'],
    404: ['conversation_not_found'],
  },
  'POST /v1/custom-channel/{botId}': { 401: ['invalid_signature'], 404: ['bot_not_found'] },
  'GET /v1/channels/whatsapp/{botId}': { 403: ['verify_token_mismatch'], 404: ['bot_not_found'] },
  'POST /v1/channels/whatsapp/{botId}': { 401: ['invalid_signature'], 404: ['bot_not_found'] },
  'GET /v1/channels/whatsapp/media/{mediaKey}': { 404: ['media_not_found'], 502: ['media_unavailable'] },
  [`POST ${A}/{projectId}/users`]: { 409: ['reference_id_taken', 'request_in_progress'] },
  [`PATCH ${A}/{projectId}/users/{userId}`]: { 409: ['reference_id_taken'] },
};

/** The code of a 404 by the last path parameter: what the caller named and was not found. */
const NOT_FOUND_BY_PARAMETER: Readonly<Record<string, ErrorCode>> = {
  deliveryId: 'delivery_not_found',
  conversationId: 'conversation_not_found',
  botId: 'bot_not_found',
  credentialId: 'credential_not_found',
  userId: 'user_not_found',
};

const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  409: 'request_in_progress',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
  500: 'internal_server_error',
  503: 'service_unavailable',
};

function errorCodes(key: string, path: string, status: number): readonly ErrorCode[] {
  const own = ERROR_CODES[key]?.[status];
  if (own !== undefined) return own;
  const admin = path.startsWith('/admin/');
  if (status === 401 && admin) return ['admin_unauthorized'];
  // A DELETE takes no Idempotency-Key: its 409 is the refusal to delete what is in use.
  if (status === 409 && key.startsWith('DELETE ')) return ['active_conversations'];
  if (status === 404) {
    const last = [...path.matchAll(/\{(\w+)\}/g)].at(-1)?.[1];
    const byParameter = last === undefined ? undefined : NOT_FOUND_BY_PARAMETER[last];
    if (byParameter !== undefined) return [byParameter];
    return [admin ? 'project_not_found' : 'integration_not_found'];
  }
  const code = BY_STATUS[status];
  return code === undefined ? [] : [code];
}

/** A 422 names a field: the body's first required one, else an unknown one. */
function invalidRequest(status: number, bodySchema: Json): ApiError {
  const field = bodySchema?.required?.[0];
  return validationError(
    field === undefined ? { unknownField: ['is not a known field'] } : { [field]: ['is required'] },
    status,
  );
}

function errorExample(code: ErrorCode, status: number, bodySchema: Json): unknown {
  const error =
    code === 'unprocessable_entity'
      ? invalidRequest(status, bodySchema)
      : new ApiError(code, CATALOGUE[code].developer.en, {}, { status });
  return JSON.parse(errorBody(error));
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** What @fastify/swagger writes for a response schema without a description. */
const DEFAULT_DESCRIPTION = 'Default Response';
const SUCCESS: Readonly<Record<number, string>> = { 200: 'Success', 201: 'Created', 202: 'Accepted' };
/** The start of ErrorEnvelope's own description (../schemas.ts). */
const ENVELOPE_DESCRIPTION = 'The error envelope';

/** Adds `example` / `examples` to every request body and response of `doc`, in place. */
export function attachExamples(doc: Json): void {
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const body = op.requestBody?.content?.['application/json'];
      if (body !== undefined) {
        body.example = Object.hasOwn(REQUEST_BODIES, key)
          ? REQUEST_BODIES[key]
          : sampleOf(body.schema, { keys: [], operationPath: path });
      }
      for (const [status, response] of Object.entries<Json>(op.responses ?? {})) {
        const media = response.content?.['application/json'];
        if (media === undefined) continue;
        const code = Number(status);
        if (code < 400) {
          if (response.description === DEFAULT_DESCRIPTION) response.description = SUCCESS[code] ?? 'Success';
          const generated = sampleOf(media.schema, { keys: [], operationPath: path });
          media.example = Object.hasOwn(SUCCESS_OVERRIDES, key)
            ? overlay(generated, SUCCESS_OVERRIDES[key])
            : generated;
          continue;
        }
        const codes = errorCodes(key, path, code);
        // The envelope's generic description says less than the codes this status carries.
        if (codes.length > 0 && String(response.description).startsWith(ENVELOPE_DESCRIPTION)) {
          response.description = `Error envelope: ${codes.map((c) => `\`${c}\``).join(' or ')} (docs/errors.md)`;
        }
        if (codes.length === 0) {
          media.example = sampleOf(media.schema, { keys: [], operationPath: path });
        } else if (codes.length === 1) {
          media.example = errorExample(codes[0] as ErrorCode, code, body?.schema);
        } else {
          media.examples = Object.fromEntries(
            codes.map((c) => [c, { summary: c, value: errorExample(c, code, body?.schema) }]),
          );
        }
      }
    }
  }
}
