/**
 * The verifier against the signature vectors that relevo's own signer is tested with
 * (test/vectors/signatures.json, read by test/unit/signer.test.ts too): one file, so that the
 * server and the SDK cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TIMESTAMP_TOLERANCE_SECONDS,
  verifySignature,
  verifyWebhook,
  WebhookVerificationError,
} from '../../src/webhooks.js';

interface Vector {
  name: string;
  secret: string;
  id: string;
  timestamp: number;
  body: string;
  jelou: string;
  standard: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../../test/vectors/signatures.json', import.meta.url), 'utf8'),
) as Vector[];

const standardHeaders = (v: Vector) => ({
  'webhook-id': v.id,
  'webhook-timestamp': String(v.timestamp),
  'webhook-signature': v.standard,
});
const at = (v: Vector, offsetSeconds = 0) => ({ now: (v.timestamp + offsetSeconds) * 1000 });

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('verification passed');
}

const whsec = (secret: string) => `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`;

describe('the shared vectors', () => {
  it('are there', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(12);
  });

  for (const v of vectors) {
    it(`accepts both signatures: ${v.name}`, async () => {
      await expect(verifySignature(v.body, standardHeaders(v), v.secret, at(v))).resolves.toBeUndefined();
      await expect(
        verifySignature(v.body, { 'X-Jelou-Signature': v.jelou }, v.secret, at(v)),
      ).resolves.toBeUndefined();
      // The same bytes as a Uint8Array, the headers as a Fetch Headers, the secret as whsec_.
      await expect(
        verifySignature(
          new TextEncoder().encode(v.body),
          new Headers(standardHeaders(v)),
          whsec(v.secret),
          at(v),
        ),
      ).resolves.toBeUndefined();
    });

    it(`refuses a changed body, another secret and a stale timestamp: ${v.name}`, async () => {
      const tampered = `${v.body} `;
      expect(await reasonOf(verifySignature(tampered, standardHeaders(v), v.secret, at(v)))).toBe(
        'signature_mismatch',
      );
      expect(await reasonOf(verifySignature(tampered, { 'x-jelou-signature': v.jelou }, v.secret))).toBe(
        'signature_mismatch',
      );
      expect(await reasonOf(verifySignature(v.body, standardHeaders(v), `${v.secret}x`, at(v)))).toBe(
        'signature_mismatch',
      );
      expect(await reasonOf(verifySignature(v.body, { 'x-jelou-signature': v.jelou }, `${v.secret}x`))).toBe(
        'signature_mismatch',
      );
      const late = at(v, TIMESTAMP_TOLERANCE_SECONDS + 1);
      expect(await reasonOf(verifySignature(v.body, standardHeaders(v), v.secret, late))).toBe(
        'timestamp_too_old',
      );
      const early = at(v, -(TIMESTAMP_TOLERANCE_SECONDS + 1));
      expect(await reasonOf(verifySignature(v.body, standardHeaders(v), v.secret, early))).toBe(
        'timestamp_too_new',
      );
    });
  }

  it('accepts the edges of the 5-minute tolerance', async () => {
    const v = vectors[0]!;
    await expect(verifySignature(v.body, standardHeaders(v), v.secret, at(v, 300))).resolves.toBeUndefined();
    await expect(verifySignature(v.body, standardHeaders(v), v.secret, at(v, -300))).resolves.toBeUndefined();
  });
});

describe('malformed signatures', () => {
  const v = vectors[0]!;
  it('names what is missing or malformed', async () => {
    expect(await reasonOf(verifySignature(v.body, {}, v.secret))).toBe('missing_signature');
    expect(await reasonOf(verifySignature(v.body, { 'webhook-signature': v.standard }, v.secret))).toBe(
      'missing_header',
    );
    const badTime = { ...standardHeaders(v), 'webhook-timestamp': '1.7e9' };
    expect(await reasonOf(verifySignature(v.body, badTime, v.secret))).toBe('invalid_timestamp');
    for (const header of ['sha256=', v.jelou.slice(0, -2), v.jelou.replace('sha256=', 'sha1='), '']) {
      expect(await reasonOf(verifySignature(v.body, { 'x-jelou-signature': header }, v.secret))).toBe(
        'signature_mismatch',
      );
    }
    // A header sent twice is not guessed at.
    expect(
      await reasonOf(verifySignature(v.body, { 'x-jelou-signature': [v.jelou, v.jelou] }, v.secret)),
    ).toBe('missing_signature');
  });

  it('accepts any of several webhook-signature entries, and an uppercase Jelou digest', async () => {
    const headers = { ...standardHeaders(v), 'webhook-signature': `v1,AAAA ${v.standard}` };
    await expect(verifySignature(v.body, headers, v.secret, at(v))).resolves.toBeUndefined();
    const upper = `sha256=${v.jelou.slice(7).toUpperCase()}`;
    await expect(verifySignature(v.body, { 'x-jelou-signature': upper }, v.secret)).resolves.toBeUndefined();
  });

  it('refuses a correctly signed body that is not an event', async () => {
    expect(await reasonOf(verifyWebhook(v.body, standardHeaders(v), v.secret, at(v)))).toBe(
      'invalid_payload',
    );
  });
});
