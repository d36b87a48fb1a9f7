/**
 * Signatures on every webhook attempt (docs/webhooks.md, "The request"), and verification of the
 * signature on the inbound send-message route (docs/api.md §4.10).
 *
 * Two signatures travel together, both HMAC-SHA256 keyed with the UTF-8 bytes of the
 * integration's signingSecret string exactly as stored. relevo's own secrets are 64 hex
 * characters, and they are used as 64 ASCII bytes of key, never hex-decoded into 32: that is
 * what Jelou's sample verifier does with `crypto.createHmac("sha256", signingSecret)`, so a
 * panel written against Jelou's documentation verifies relevo's events unchanged.
 *
 * - `X-Jelou-Signature: sha256=<lowercase hex>` over the body alone — Jelou's contract.
 * - Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature`) over
 *   `<id>.<timestamp>.<body>` — the extension that lets receivers reject replays, because the
 *   timestamp is signed too. A Standard Webhooks library expects its secret base64-encoded
 *   (optionally behind `whsec_`); `standardWebhooksSecret` gives the string to hand it.
 *
 * The caller must pass the exact string it sends: a signature over one serialisation and a
 * body in another is the commonest way to break every receiver at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedHeaders {
  'x-jelou-signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const JELOU_PREFIX = 'sha256=';
/** `sha256=` followed by exactly 64 hex digits (32 bytes); either case is accepted on input. */
const JELOU_HEADER = /^sha256=[0-9a-fA-F]{64}$/;

function hmac(signingSecret: string): ReturnType<typeof createHmac> {
  // Node encodes a string key as UTF-8, which is the contract; spelled out with Buffer.from
  // so that nobody "fixes" it into a hex decode later.
  return createHmac('sha256', Buffer.from(signingSecret, 'utf8'));
}

/** `sha256=<lowercase hex HMAC-SHA256(UTF-8 bytes of signingSecret, body)>`. */
export function jelouSignature(body: string | Buffer, signingSecret: string): string {
  const mac = hmac(signingSecret);
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return JELOU_PREFIX + mac.digest('hex');
}

/** `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`, per Standard Webhooks 1.0. */
function standardSignature(body: string, signingSecret: string, eventId: string, timestamp: string): string {
  const mac = hmac(signingSecret);
  mac.update(`${eventId}.${timestamp}.`, 'utf8');
  mac.update(body, 'utf8');
  return `v1,${mac.digest('base64')}`;
}

/**
 * Headers for one attempt. `eventId` is the same on every retry (receivers de-duplicate on
 * it); `timestampSeconds` is the time of this attempt, so a retry carries a fresh signature.
 */
export function signEvent(
  body: string,
  signingSecret: string,
  eventId: string,
  timestampSeconds: number,
): SignedHeaders {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    // The timestamp is signed as its decimal text: a fraction or an exponent form would be
    // signed as "1.7e9" and no receiver would ever agree with it.
    throw new RangeError(`timestampSeconds must be a non-negative integer, got ${timestampSeconds}`);
  }
  const timestamp = String(timestampSeconds);
  return {
    'x-jelou-signature': jelouSignature(body, signingSecret),
    'webhook-id': eventId,
    'webhook-timestamp': timestamp,
    'webhook-signature': standardSignature(body, signingSecret, eventId, timestamp),
  };
}

/**
 * Checks `X-Jelou-Signature` against the raw request body, in constant time. Anything other
 * than `sha256=` plus 64 hex digits is false without comparing — a missing header, an array
 * (the header sent twice), a truncated digest. Hex digits are compared as bytes after
 * decoding, so an uppercase digest from a panel's own signer is accepted too.
 */
export function verifyJelouSignature(
  rawBody: Buffer | string,
  header: string | string[] | undefined,
  signingSecret: string,
): boolean {
  if (typeof header !== 'string' || !JELOU_HEADER.test(header)) return false;
  const given = Buffer.from(header.slice(JELOU_PREFIX.length), 'hex');
  const mac = hmac(signingSecret);
  mac.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  const expected = mac.digest();
  // Both are 32 bytes here (the regex guarantees 64 hex digits), which timingSafeEqual needs;
  // the length check keeps that true even if the regex is ever loosened.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The secret a receiver gives a Standard Webhooks library to verify relevo's
 * `webhook-signature`: `whsec_` + base64 of the UTF-8 bytes of the signingSecret. Those
 * libraries base64-decode their secret into the HMAC key, so encoding the bytes relevo keys
 * with makes both sides use the same key. Without the `whsec_` prefix it works as well.
 *
 * Example for a receiver in Node:
 *   new Webhook(standardWebhooksSecret(signingSecret)).verify(rawBody, headers)
 */
export function standardWebhooksSecret(signingSecret: string): string {
  return `whsec_${Buffer.from(signingSecret, 'utf8').toString('base64')}`;
}
