/**
 * `@relevo/sdk/webhooks`: checks that a request to your webhook comes from relevo, and returns
 * its event, typed.
 *
 * relevo signs every attempt twice (docs/webhooks.md), both with HMAC-SHA256 keyed by the UTF-8
 * bytes of the integration's signing secret:
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
 *   `<id>.<timestamp>.<body>`. The timestamp is signed, so a replay older than 5 minutes is refused.
 * - `X-Jelou-Signature: sha256=<hex>` over the body alone, Jelou's own scheme.
 * When the Standard Webhooks headers are present they decide, because only they protect against
 * replays; a request with only `X-Jelou-Signature` (Jelou's hosted API, an older relay) is
 * checked against that.
 */
import type { WebhookEvent } from './generated/events.js';
import { concat, constantTimeEqual, fromBase64, fromHex, hmacSha256, secretBytes, utf8 } from './hmac.js';

export type {
  ConversationCloseEvent,
  ConversationStartEvent,
  EventsByType,
  EventType,
  UserMessageEvent,
  WebhookEvent,
} from './generated/events.js';

/** Standard Webhooks' recommended tolerance, both ways: 5 minutes. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export type WebhookVerificationReason =
  /** Neither `webhook-signature` nor `X-Jelou-Signature` was sent. */
  | 'missing_signature'
  /** `webhook-id` or `webhook-timestamp` is missing next to `webhook-signature`. */
  | 'missing_header'
  /** `webhook-timestamp` is not a whole number of seconds. */
  | 'invalid_timestamp'
  /** The timestamp is more than 5 minutes in the past. */
  | 'timestamp_too_old'
  /** The timestamp is more than 5 minutes in the future. */
  | 'timestamp_too_new'
  /** No signature matches: another secret, or a body changed on the way. */
  | 'signature_mismatch'
  /** The signature is right but the body is not an event of relevo. */
  | 'invalid_payload';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
  }
}

/** Request headers as Fetch (`Headers`), Node (`IncomingHttpHeaders`) or a plain object give them. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  /** The current time in milliseconds, for tests; `Date.now()` unless set. */
  readonly now?: number;
  /** Seconds of clock difference accepted either way; 300 unless set. */
  readonly toleranceSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== name) continue;
    // A header sent twice is ambiguous: take neither rather than guess.
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function bodyBytes(rawBody: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof rawBody === 'string') return utf8(rawBody);
  return rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody);
}

async function verifyStandard(
  body: Uint8Array,
  headers: WebhookHeaders,
  key: Uint8Array,
  signature: string,
  options: VerifyOptions,
): Promise<void> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  if (!id || !timestamp) {
    throw new WebhookVerificationError('missing_header', 'webhook-id and webhook-timestamp are required');
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not a number of seconds');
  }
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? TIMESTAMP_TOLERANCE_SECONDS;
  const sent = Number(timestamp);
  if (sent < now - tolerance)
    throw new WebhookVerificationError('timestamp_too_old', 'the timestamp is too old');
  if (sent > now + tolerance) {
    throw new WebhookVerificationError('timestamp_too_new', 'the timestamp is in the future');
  }
  const expected = await hmacSha256(key, concat(utf8(`${id}.${timestamp}.`), body));
  // The header may list several signatures (a key rotation): one match is enough.
  const matches = signature
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => constantTimeEqual(fromBase64(part.slice(3)), expected));
  if (!matches.includes(true)) {
    throw new WebhookVerificationError('signature_mismatch', 'no webhook-signature matches the body');
  }
}

async function verifyJelou(body: Uint8Array, key: Uint8Array, signature: string): Promise<void> {
  const given = /^sha256=[0-9a-fA-F]{64}$/.test(signature) ? fromHex(signature.slice(7)) : undefined;
  const expected = await hmacSha256(key, body);
  if (!given || !constantTimeEqual(given, expected)) {
    throw new WebhookVerificationError('signature_mismatch', 'X-Jelou-Signature does not match the body');
  }
}

/**
 * Checks the signature alone, whatever the body holds (as the shared test vectors do); most code
 * wants verifyWebhook. Throws WebhookVerificationError.
 */
export async function verifySignature(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  signingSecret: string,
  options: VerifyOptions = {},
): Promise<void> {
  const body = bodyBytes(rawBody);
  const key = secretBytes(signingSecret);
  const standard = header(headers, 'webhook-signature');
  const jelou = header(headers, 'x-jelou-signature');
  if (standard !== undefined) await verifyStandard(body, headers, key, standard, options);
  else if (jelou !== undefined) await verifyJelou(body, key, jelou);
  else throw new WebhookVerificationError('missing_signature', 'the request carries no signature');
}

/**
 * Verifies a webhook request and returns its event. Pass the body exactly as received (the raw
 * bytes or their text, before any JSON parsing), the request's headers, and the integration's
 * signing secret (as relevo showed it, or as `whsec_…`). Throws WebhookVerificationError.
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  signingSecret: string,
  options: VerifyOptions = {},
): Promise<WebhookEvent> {
  const body = bodyBytes(rawBody);
  await verifySignature(body, headers, signingSecret, options);
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'the body is not JSON');
  }
  const type = (event as { event_type?: unknown } | null)?.event_type;
  if (type !== 'start' && type !== 'message' && type !== 'close') {
    throw new WebhookVerificationError('invalid_payload', 'the body is not an event of relevo');
  }
  return event as WebhookEvent;
}
