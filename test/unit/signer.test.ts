/**
 * docs/webhooks.md, "The request": both signatures over the exact bytes sent, checked against vectors
 * computed by an independent HMAC implementation, and against the reference Standard Webhooks
 * library a receiver would use. docs/api.md §4.10: verification of the inbound signature.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  jelouSignature,
  signEvent,
  standardWebhooksSecret,
  verifyJelouSignature,
} from '../../src/delivery/signer.js';

interface Vector {
  name: string;
  secret: string;
  id: string;
  timestamp: number;
  body: string;
  jelou: string;
  standard: string;
}

// The same file is the test of the SDK's verifier (packages/sdk/test/unit/webhooks.test.ts):
// what relevo signs here is what @relevo/sdk/webhooks accepts there.
const vectors = JSON.parse(
  readFileSync(new URL('../vectors/signatures.json', import.meta.url), 'utf8'),
) as Vector[];

/** True when the body is JSON that Node re-serialises to the same string (what relevo sends). */
function isCompactJson(body: string): boolean {
  try {
    return JSON.stringify(JSON.parse(body)) === body;
  } catch {
    return false;
  }
}

const HEX_SECRET = vectors.find((v) => /^[0-9a-f]{64}$/.test(v.secret))!.secret;

describe('test vectors', () => {
  it('cover the cases the contract cares about', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(12);
    expect(vectors.some((v) => v.body.includes('Olá, bom dia 😀'))).toBe(true);
    expect(vectors.some((v) => v.body === '{}')).toBe(true);
    expect(vectors.some((v) => v.body.includes('\\"') && v.body.includes('\\n'))).toBe(true);
    expect(vectors.some((v) => /^[0-9a-f]{64}$/.test(v.secret))).toBe(true);
    expect(vectors.some((v) => !isCompactJson(v.body))).toBe(true);
  });

  describe.each(vectors)('$name', (v) => {
    it('signEvent gives the expected headers', () => {
      expect(signEvent(v.body, v.secret, v.id, v.timestamp)).toEqual({
        'x-jelou-signature': v.jelou,
        'webhook-id': v.id,
        'webhook-timestamp': String(v.timestamp),
        'webhook-signature': v.standard,
      });
    });

    it('jelouSignature is the same for the string and its UTF-8 bytes', () => {
      expect(jelouSignature(v.body, v.secret)).toBe(v.jelou);
      expect(jelouSignature(Buffer.from(v.body, 'utf8'), v.secret)).toBe(v.jelou);
      expect(v.jelou).toMatch(/^sha256=[0-9a-f]{64}$/);
    });

    it('verifies over the raw body, as a string and as a Buffer', () => {
      expect(verifyJelouSignature(v.body, v.jelou, v.secret)).toBe(true);
      expect(verifyJelouSignature(Buffer.from(v.body, 'utf8'), v.jelou, v.secret)).toBe(true);
    });

    it("verifies over JSON.stringify(JSON.parse(body)) exactly when the body is compact (Jelou's sample)", () => {
      let reserialised: string;
      try {
        reserialised = JSON.stringify(JSON.parse(v.body));
      } catch {
        return; // not JSON (the empty body): only the raw form exists
      }
      expect(verifyJelouSignature(reserialised, v.jelou, v.secret)).toBe(isCompactJson(v.body));
    });

    it('rejects a tampered body, a wrong secret and the other signature form', () => {
      expect(verifyJelouSignature(`${v.body} `, v.jelou, v.secret)).toBe(false);
      expect(verifyJelouSignature(v.body, v.jelou, `${v.secret}x`)).toBe(false);
      expect(verifyJelouSignature(v.body, v.standard, v.secret)).toBe(false);
    });
  });
});

describe('signEvent', () => {
  const body = '{"event":"message","text":"Olá, bom dia 😀"}';

  it('keys with the 64-hex-char secret as a string, not hex-decoded into 32 bytes', () => {
    const asString = createHmac('sha256', HEX_SECRET).update(body).digest('hex');
    const hexDecoded = createHmac('sha256', Buffer.from(HEX_SECRET, 'hex')).update(body).digest('hex');
    const h = signEvent(body, HEX_SECRET, 'evt_1', 1_700_000_000);
    expect(h['x-jelou-signature']).toBe(`sha256=${asString}`);
    expect(h['x-jelou-signature']).not.toBe(`sha256=${hexDecoded}`);
  });

  it('signs the timestamp: a retry (same id, new timestamp) carries a new standard signature only', () => {
    const a = signEvent(body, HEX_SECRET, 'evt_1', 1_700_000_000);
    const b = signEvent(body, HEX_SECRET, 'evt_1', 1_700_000_005);
    expect(b['webhook-id']).toBe(a['webhook-id']);
    expect(b['x-jelou-signature']).toBe(a['x-jelou-signature']);
    expect(b['webhook-signature']).not.toBe(a['webhook-signature']);
  });

  it('signs the id', () => {
    const a = signEvent(body, HEX_SECRET, 'evt_1', 1_700_000_000);
    const b = signEvent(body, HEX_SECRET, 'evt_2', 1_700_000_000);
    expect(b['webhook-signature']).not.toBe(a['webhook-signature']);
  });

  it('writes the timestamp as plain decimal seconds', () => {
    expect(signEvent('{}', 's', 'evt_1', 0)['webhook-timestamp']).toBe('0');
    expect(signEvent('{}', 's', 'evt_1', 4_102_444_800)['webhook-timestamp']).toBe('4102444800');
  });

  it.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])(
    'refuses a timestamp that is not a non-negative whole number of seconds: %s',
    (ts) => {
      expect(() => signEvent('{}', 's', 'evt_1', ts)).toThrow(RangeError);
    },
  );
});

describe('standardWebhooksSecret', () => {
  it("is whsec_ + base64 of the secret's UTF-8 bytes", () => {
    expect(standardWebhooksSecret('my-signing-secret')).toBe('whsec_bXktc2lnbmluZy1zZWNyZXQ=');
    expect(standardWebhooksSecret('é')).toBe('whsec_w6k=');
    expect(standardWebhooksSecret(HEX_SECRET)).toBe(`whsec_${Buffer.from(HEX_SECRET).toString('base64')}`);
  });
});

describe('with the standardwebhooks library, as a receiver would verify', () => {
  // The library rejects timestamps more than 5 minutes from its clock, so the clock is pinned.
  const NOW_S = 1_730_116_800;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_S * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function libHeaders(h: ReturnType<typeof signEvent>) {
    return {
      'webhook-id': h['webhook-id'],
      'webhook-timestamp': h['webhook-timestamp'],
      'webhook-signature': h['webhook-signature'],
    };
  }

  it.each(vectors)("verifies relevo's headers for: $name", (v) => {
    const h = signEvent(v.body, v.secret, v.id, NOW_S);
    const secret = standardWebhooksSecret(v.secret);
    const opts = { jsonParse: false };
    expect(() => new Webhook(secret).verify(v.body, libHeaders(h), opts)).not.toThrow();
    // Without the whsec_ prefix too, and over the raw bytes.
    expect(() =>
      new Webhook(secret.slice('whsec_'.length)).verify(Buffer.from(v.body, 'utf8'), libHeaders(h), opts),
    ).not.toThrow();
  });

  it("produces the library's own signature for the same id, time and body", () => {
    for (const v of vectors) {
      const lib = new Webhook(standardWebhooksSecret(v.secret));
      expect(lib.sign(v.id, new Date(v.timestamp * 1000), v.body)).toBe(v.standard);
    }
  });

  it('returns the parsed payload of a JSON body', () => {
    const body = '{"type":"text","text":"Olá, bom dia 😀"}';
    const h = signEvent(body, HEX_SECRET, 'evt_1', NOW_S);
    expect(new Webhook(standardWebhooksSecret(HEX_SECRET)).verify(body, libHeaders(h))).toEqual({
      type: 'text',
      text: 'Olá, bom dia 😀',
    });
  });

  describe('rejects', () => {
    const body = '{"hello":"world"}';
    const h = () => libHeaders(signEvent(body, HEX_SECRET, 'evt_1', NOW_S));
    const wh = () => new Webhook(standardWebhooksSecret(HEX_SECRET));

    it('a tampered body', () => {
      expect(() => wh().verify('{"hello":"World"}', h())).toThrow(WebhookVerificationError);
    });

    it('a wrong secret', () => {
      expect(() => new Webhook(standardWebhooksSecret(`${HEX_SECRET}0`)).verify(body, h())).toThrow(
        WebhookVerificationError,
      );
    });

    it('the hex-decoded secret (the mistake the contract rules out)', () => {
      const hexKey = `whsec_${Buffer.from(HEX_SECRET, 'hex').toString('base64')}`;
      expect(() => new Webhook(hexKey).verify(body, h())).toThrow(WebhookVerificationError);
    });

    it('a tampered timestamp or id', () => {
      expect(() => wh().verify(body, { ...h(), 'webhook-timestamp': String(NOW_S + 1) })).toThrow(
        WebhookVerificationError,
      );
      expect(() => wh().verify(body, { ...h(), 'webhook-id': 'evt_2' })).toThrow(WebhookVerificationError);
    });

    it('a replay signed more than 5 minutes ago', () => {
      const old = libHeaders(signEvent(body, HEX_SECRET, 'evt_1', NOW_S - 301));
      expect(() => wh().verify(body, old)).toThrow(/too old/);
    });
  });
});

describe('verifyJelouSignature edge cases', () => {
  const secret = 'my-signing-secret';
  const body = '{"hello":"world"}';
  const good = jelouSignature(body, secret);
  const hex = good.slice('sha256='.length);

  it('accepts the exact form', () => {
    expect(verifyJelouSignature(body, good, secret)).toBe(true);
  });

  it('accepts uppercase hex (compared as bytes)', () => {
    expect(verifyJelouSignature(body, `sha256=${hex.toUpperCase()}`, secret)).toBe(true);
  });

  it.each<[string, string | string[] | undefined]>([
    ['missing', undefined],
    ['empty', ''],
    ["'sha256=' only", 'sha256='],
    ['hex without prefix', hex],
    ['uppercase prefix', `SHA256=${hex}`],
    ['other algorithm', `sha1=${hex}`],
    ['one digit short', `sha256=${hex.slice(1)}`],
    ['one digit long', `sha256=${hex}0`],
    ['twice as long', `sha256=${hex}${hex}`],
    ['non-hex digit', `sha256=${hex.slice(0, 63)}g`],
    ['base64 digest', `sha256=${Buffer.from(hex, 'hex').toString('base64')}`],
    ['leading space', ` ${good}`],
    ['trailing space', `${good} `],
    ['trailing newline', `${good}\n`],
    ['array header (sent twice)', [good, good]],
    ['array with one element', [good]],
    ['empty array', []],
  ])('rejects %s', (_name, header) => {
    expect(verifyJelouSignature(body, header, secret)).toBe(false);
  });

  it('rejects a valid signature of another body or under another secret', () => {
    expect(verifyJelouSignature('{"hello":"world"} ', good, secret)).toBe(false);
    expect(verifyJelouSignature(body, jelouSignature(body, 'other'), secret)).toBe(false);
  });

  it('rejects the right digits in the wrong place (a one-bit change)', () => {
    const last = Number.parseInt(hex.slice(-1), 16);
    const flipped = `sha256=${hex.slice(0, 63)}${(last ^ 1).toString(16)}`;
    expect(verifyJelouSignature(body, flipped, secret)).toBe(false);
  });

  it('verifies the raw bytes, not a re-encoding: Latin-1 bytes of the same text fail', () => {
    const text = '{"text":"Olá"}';
    const sig = jelouSignature(text, secret);
    expect(verifyJelouSignature(Buffer.from(text, 'utf8'), sig, secret)).toBe(true);
    expect(verifyJelouSignature(Buffer.from(text, 'latin1'), sig, secret)).toBe(false);
  });
});
