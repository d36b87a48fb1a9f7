/**
 * docs/api.md §4.10's signature check does the same work whether or not the body's project exists and
 * has an integration, so that its timing does not tell. Proven structurally — the same storage
 * calls, the same decryption count, one HMAC check over the same bytes with a key of the same
 * length — never by measuring time.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as signer from '../../src/delivery/signer.js';
import { DECOY_SIGNING_SECRET } from '../../src/http/panel-signature.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { call, createIntegration, errorOf } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

// The real signer, watched: every call goes through to it.
vi.mock('../../src/delivery/signer.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/delivery/signer.js')>();
  return { ...real, verifyJelouSignature: vi.fn(real.verifyJelouSignature) };
});

const KEY = 'a'.repeat(64);
let h: Harness;
let s: Seed;
let bare: Seed;
let secret: string;

beforeAll(async () => {
  // Encrypted at rest, so that reading a secret costs a real decryption.
  h = await createHarness({ RELEVO_ENCRYPTION_KEY: KEY });
  s = await h.seed('Acme');
  bare = await h.seed('Bare');
  // Never called: no event is sent in this file.
  secret = (await createIntegration(h.app, s, 'http://127.0.0.1:9/never')).signingSecret;
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Trace {
  readonly status: number;
  readonly code: string;
  /** The storage methods called, in order. */
  readonly queries: string[];
  readonly decryptions: number;
  /** Each HMAC check: the bytes, the header, the key's length. */
  readonly checks: Array<{ raw: string; header: unknown; keyLength: number }>;
  readonly keys: string[];
}

/** Sends a body signed with a wrong key and records what the server did with it. */
async function trace(body: Record<string, unknown>): Promise<Trace> {
  const queries: string[] = [];
  // Every query method of every aggregate (store.queries.projects, .integrations, …), recorded
  // by its own name.
  for (const aggregate of Object.values(h.store.queries as unknown as Record<string, unknown>)) {
    if (typeof aggregate !== 'object' || aggregate === null) continue;
    const target = aggregate as Record<string, (...a: unknown[]) => unknown>;
    const proto = Object.getPrototypeOf(aggregate) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || typeof proto[name] !== 'function') continue;
      vi.spyOn(target, name).mockImplementation(function (this: unknown, ...args: unknown[]) {
        queries.push(name);
        return (proto[name] as (...a: unknown[]) => unknown).apply(aggregate, args);
      });
    }
  }
  const open = vi.spyOn(SecretBox.prototype, 'open');
  const verify = vi.mocked(signer.verifyJelouSignature);
  verify.mockClear();
  const raw = JSON.stringify(body);
  const header = `sha256=${createHmac('sha256', 'not the secret').update(raw).digest('hex')}`;
  const res = await call(h.app, {
    url: '/v1/external-support/webhook',
    headers: { 'x-jelou-signature': header },
    body: raw,
  });
  const checks = verify.mock.calls.map(([bytes, given, key]) => ({
    raw: Buffer.from(bytes).toString('utf8'),
    header: given,
    keyLength: key.length,
  }));
  return {
    status: res.statusCode,
    code: errorOf(res).error.code,
    queries,
    decryptions: open.mock.calls.length,
    checks: checks.map((c) => ({
      ...c,
      raw: c.raw === raw ? 'as sent' : c.raw,
      header: c.header === header,
    })),
    keys: verify.mock.calls.map(([, , key]) => key),
  };
}

const body = (projectId: unknown) => ({
  field: 'messages',
  object: 'message_event',
  event_type: 'incoming_message',
  project_id: projectId,
  room_id: 'room_00000000000000000000000000',
  bot_id: 'bot_000000000000000000000000000',
  user_id: 'usr_000000000000000000000000000',
  value: { id: 'm-1', type: 'text', content: { body: 'hello' } },
});

describe('§4.10: the same work for every project, with or without an integration', () => {
  it('runs the same storage calls, decryptions and HMAC check for each kind of project', async () => {
    const withIntegration = await trace(body(s.project.id));
    const withoutIntegration = await trace(body(bare.project.id));
    const unknown = await trace(body(`prj_${'0'.repeat(s.project.id.length - 4)}`));
    const expected = {
      status: 401,
      code: 'invalid_signature',
      queries: ['signingSecretOf'],
      decryptions: 1,
      checks: [{ raw: 'as sent', header: true, keyLength: 64 }],
    };
    for (const t of [withIntegration, withoutIntegration, unknown]) {
      const { keys: _keys, ...work } = t;
      expect(work).toEqual(expected);
    }
    // The real secret for the project that has one; the per-process decoy for the others.
    expect(withIntegration.keys).toEqual([secret]);
    expect(withoutIntegration.keys).toEqual([DECOY_SIGNING_SECRET]);
    expect(unknown.keys).toEqual([DECOY_SIGNING_SECRET]);
    expect(DECOY_SIGNING_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(DECOY_SIGNING_SECRET).not.toBe(secret);
  });

  it('does the same work for a body that names no project as a string', async () => {
    for (const projectId of [undefined, 42, '', null]) {
      const t = await trace(body(projectId));
      expect([t.status, t.code, t.queries, t.decryptions, t.checks.length, t.checks[0]?.keyLength]).toEqual([
        401,
        'invalid_signature',
        ['signingSecretOf'],
        1,
        1,
        64,
      ]);
      expect(t.keys).toEqual([DECOY_SIGNING_SECRET]);
    }
  });
});
