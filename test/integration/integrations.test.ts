/**
 * docs/api.md §4.1–§4.5: create, read, update, delete an integration and regenerate its secret,
 * through every prefix and both auth schemes, with every error each route can give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/model/ids.js';
import type { OutboxEvent } from '../../src/model/types.js';
import { type AuthScheme, authHeaders, call, errorOf, PREFIXES } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const CREATED_KEYS = ['id', 'brainId', 'webhookUrl', 'authType', 'signingSecret', 'createdAt'];
const VIEW_KEYS = [
  'id',
  'brainId',
  'webhookUrl',
  'authType',
  'createdAt',
  'updatedAt',
  'disabled',
  'disabledAt',
  'disabledReason',
];
const REGENERATED_KEYS = ['brainId', 'signingSecret', 'regeneratedAt'];
const ENVELOPE_KEYS = ['message', 'statusMessage', 'status', 'data'];
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Allowed by the harness (RELEVO_WEBHOOK_ALLOW=127.0.0.0/8,::1): no DNS, nothing listening. */
const HOOK = 'http://127.0.0.1:9/jelou/events';

const base = (prefix: string, projectId: string) => `${prefix}/external-support/${projectId}`;
const regenerateUrl = (prefix: string, projectId: string) => `${base(prefix, projectId)}/secret/regenerate`;

/** A project of its own for each test, so that tests never see each other's integration. */
async function project(): Promise<Seed> {
  return h.seed(`Project ${newId('prj')}`);
}

interface CreatedData {
  id: string;
  brainId: string;
  webhookUrl: string;
  authType: string;
  signingSecret: string;
  createdAt: string;
}

async function create(s: Seed, body: Record<string, unknown> = { webhookUrl: HOOK }) {
  const res = await call(h.app, { url: base('/v1', s.project.id), headers: authHeaders(s, 'apiKey'), body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as CreatedData;
}

function patch(s: Seed, body: unknown, prefix = '/v1', scheme: AuthScheme = 'apiKey') {
  return call(h.app, {
    method: 'PATCH',
    url: base(prefix, s.project.id),
    headers: authHeaders(s, scheme),
    body,
  });
}

function stored(s: Seed) {
  return h.store.queries.integrations.get(s.project.id);
}

function expectValidation(
  res: { statusCode: number; body: string },
  status: number,
  fields: Record<string, RegExp>,
): void {
  expect(res.statusCode, res.body).toBe(status);
  const e = errorOf(res);
  expect(e.status).toBe(0);
  expect(e.statusMessage).toBe('failure');
  expect(e.error.code).toBe('unprocessable_entity');
  expect(Object.keys(e.validationError).sort()).toEqual(Object.keys(fields).sort());
  for (const [path, problem] of Object.entries(fields)) {
    expect(e.validationError[path]?.join('; ')).toMatch(problem);
  }
}

describe('every route, every prefix, both auth schemes', () => {
  for (const prefix of PREFIXES) {
    for (const scheme of ['apiKey', 'basic'] as AuthScheme[]) {
      it(`creates, reads, updates, regenerates and deletes under ${prefix} with ${scheme}`, async () => {
        const s = await project();
        const headers = authHeaders(s, scheme);
        const url = base(prefix, s.project.id);

        const created = await call(h.app, { url, headers, body: { webhookUrl: HOOK } });
        expect(created.statusCode, created.body).toBe(200);
        expect(created.headers['content-type']).toMatch(/^application\/json/);
        const c = created.json();
        expect(Object.keys(c)).toEqual(ENVELOPE_KEYS);
        expect(c.message).toEqual(['Integration created successfully']);
        expect(c.statusMessage).toBe('success');
        expect(c.status).toBe(1);
        expect(Object.keys(c.data)).toEqual(CREATED_KEYS);
        expect(c.data.id).toMatch(/^int_[0-9a-z]{26}$/);
        expect(c.data.brainId).toBe(s.project.id);
        expect(c.data.webhookUrl).toBe(HOOK);
        expect(c.data.authType).toBe('no_auth');
        expect(c.data.signingSecret).toMatch(HEX64);
        expect(c.data.createdAt).toMatch(ISO_MS);
        expect((await stored(s))?.signingSecret).toBe(c.data.signingSecret);

        const got = await call(h.app, { method: 'GET', url, headers });
        expect(got.statusCode, got.body).toBe(200);
        const g = got.json();
        expect(Object.keys(g)).toEqual(ENVELOPE_KEYS);
        expect(g.message).toEqual(['Integration retrieved successfully']);
        expect(Object.keys(g.data)).toEqual(VIEW_KEYS);
        expect(g.data).toEqual({
          id: c.data.id,
          brainId: s.project.id,
          webhookUrl: HOOK,
          authType: 'no_auth',
          createdAt: c.data.createdAt,
          updatedAt: c.data.createdAt,
          disabled: false,
          disabledAt: null,
          disabledReason: null,
        });
        expect(got.body).not.toContain(c.data.signingSecret);

        const updated = await call(h.app, {
          method: 'PATCH',
          url,
          headers,
          body: { authType: 'bearer', authorization: 'tok-123' },
        });
        expect(updated.statusCode, updated.body).toBe(200);
        const u = updated.json();
        expect(Object.keys(u)).toEqual(ENVELOPE_KEYS);
        expect(u.message).toEqual(['Integration updated successfully']);
        expect(Object.keys(u.data)).toEqual(VIEW_KEYS);
        expect(u.data.authType).toBe('bearer');
        expect(u.data.updatedAt).toMatch(ISO_MS);
        expect(updated.body).not.toContain('tok-123');

        const regenerated = await call(h.app, { url: regenerateUrl(prefix, s.project.id), headers });
        expect(regenerated.statusCode, regenerated.body).toBe(200);
        const r = regenerated.json();
        expect(Object.keys(r)).toEqual(ENVELOPE_KEYS);
        expect(r.message).toEqual(['Signing secret regenerated successfully']);
        expect(Object.keys(r.data)).toEqual(REGENERATED_KEYS);
        expect(r.data.brainId).toBe(s.project.id);
        expect(r.data.signingSecret).toMatch(HEX64);
        expect(r.data.signingSecret).not.toBe(c.data.signingSecret);
        expect(r.data.regeneratedAt).toMatch(ISO_MS);

        const deleted = await call(h.app, { method: 'DELETE', url, headers });
        expect(deleted.statusCode, deleted.body).toBe(200);
        expect(deleted.json()).toEqual({
          message: ['Integration deleted successfully'],
          statusMessage: 'success',
          status: 1,
        });

        const gone = await call(h.app, { method: 'GET', url, headers });
        expect(gone.statusCode).toBe(404);
        expect(errorOf(gone).error.code).toBe('integration_not_found');
      });
    }
  }
});

describe('authentication', () => {
  const routes = [
    { method: 'POST' as const, path: '', body: { webhookUrl: HOOK } },
    { method: 'GET' as const, path: '' },
    { method: 'PATCH' as const, path: '', body: { webhookUrl: HOOK } },
    { method: 'DELETE' as const, path: '' },
    { method: 'POST' as const, path: '/secret/regenerate' },
  ];

  for (const r of routes) {
    it(`${r.method} …${r.path} refuses another project's credential, and no credential, with 401`, async () => {
      const s = await project();
      const other = await project();
      await create(s);
      for (const prefix of PREFIXES) {
        for (const headers of [authHeaders(other, 'apiKey'), authHeaders(other, 'basic'), {}]) {
          const res = await call(h.app, {
            method: r.method,
            url: `${base(prefix, s.project.id)}${r.path}`,
            headers,
            body: r.body,
          });
          expect(res.statusCode, res.body).toBe(401);
          expect(errorOf(res).error.code).toBe('unauthorized');
        }
      }
      // Nothing changed: same secret, same URL.
      const after = await stored(s);
      expect(after?.webhookUrl).toBe(HOOK);
    });
  }

  it('answers an unknown project exactly like a foreign one', async () => {
    const s = await project();
    const res = await call(h.app, {
      method: 'GET',
      url: base('/v1', 'prj_doesnotexist'),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).error.code).toBe('unauthorized');
  });
});

describe('create (§4.1)', () => {
  it('stores the auth type and authorization, and never returns the authorization', async () => {
    for (const [authType, authorization] of [
      ['bearer', 'eyJhbGciOi.token'],
      ['api_key', 'key-abc'],
      ['basic', 'panel:s3cret:with:colons'],
      ['basic', 'apikey-as-user:'],
    ] as const) {
      const s = await project();
      const data = await create(s, { webhookUrl: HOOK, authType, authorization });
      expect(data.authType).toBe(authType);
      expect(JSON.stringify(data)).not.toContain(authorization);
      const row = await stored(s);
      expect(row?.authType).toBe(authType);
      expect(row?.authorization).toBe(authorization);
      expect(row?.enabled).toBe(true);
    }
  });

  it('accepts loopback URLs the operator allowed (127.0.0.0/8 and ::1)', async () => {
    for (const webhookUrl of [
      'http://127.0.0.1:8080/',
      'https://127.9.9.9/x',
      'http://[::1]:3000/h',
      'http://0x7f.1/',
    ]) {
      const s = await project();
      const data = await create(s, { webhookUrl });
      expect(data.webhookUrl).toBe(webhookUrl);
    }
  });

  it('tolerates an empty authorization with no_auth, and stores none', async () => {
    const s = await project();
    await create(s, { webhookUrl: HOOK, authType: 'no_auth', authorization: '' });
    expect((await stored(s))?.authorization).toBeNull();
  });

  it('gives each integration its own secret', async () => {
    const a = await create(await project());
    const b = await create(await project());
    expect(a.signingSecret).not.toBe(b.signingSecret);
  });

  it('refuses a second integration with 409 integration_already_exists', async () => {
    const s = await project();
    const first = await create(s);
    const res = await call(h.app, {
      url: base('/jelouapi/v1', s.project.id),
      headers: authHeaders(s, 'basic'),
      body: { webhookUrl: 'http://127.0.0.2/other' },
    });
    expect(res.statusCode, res.body).toBe(409);
    const e = errorOf(res);
    expect(e.error.code).toBe('integration_already_exists');
    expect(e.validationError).toEqual({});
    const row = await stored(s);
    expect(row?.webhookUrl).toBe(HOOK);
    expect(row?.signingSecret).toBe(first.signingSecret);
  });

  it('lets exactly one of several concurrent creates win', async () => {
    const s = await project();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call(h.app, {
          url: base('/v1', s.project.id),
          headers: authHeaders(s, 'apiKey'),
          body: { webhookUrl: `http://127.0.0.1:${9000 + i}/` },
        }),
      ),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409]);
    const winner = results.find((r) => r.statusCode === 200)?.json();
    expect((await stored(s))?.signingSecret).toBe(winner.data.signingSecret);
  });

  it('keeps the first disabling time when a second arrives, and a regeneration does not re-enable', async () => {
    const s = await project();
    await create(s);
    const disable = (reason: string, at: number) =>
      h.store.transaction((tx) =>
        tx.integrations.update(s.project.id, { enabled: false, disabledReason: reason, updatedAt: at }),
      );
    await disable('the webhook answered 410 Gone', 1_000_000);
    // An attempt that was already in flight disables it again later: the first time stays.
    await disable('the webhook answered 410 Gone', 2_000_000);
    expect(await stored(s)).toMatchObject({ enabled: false, disabledAt: 1_000_000 });
    const regenerated = await call(h.app, {
      url: `${base('/v1', s.project.id)}/secret/regenerate`,
      headers: authHeaders(s, 'apiKey'),
      body: {},
    });
    expect(regenerated.statusCode).toBe(200);
    const shown = await call(h.app, {
      method: 'GET',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(shown.json().data).toMatchObject({
      disabled: true,
      disabledAt: new Date(1_000_000).toISOString(),
      disabledReason: 'the webhook answered 410 Gone',
    });
  });

  const invalid: Array<[string, unknown, Record<string, RegExp>]> = [
    ['a missing webhookUrl', {}, { webhookUrl: /is required/ }],
    ['an empty webhookUrl', { webhookUrl: '' }, { webhookUrl: /must not be empty/ }],
    ['a non-string webhookUrl', { webhookUrl: 42 }, { webhookUrl: /must be a string/ }],
    [
      'a too long webhookUrl',
      { webhookUrl: `http://127.0.0.1/${'a'.repeat(2048)}` },
      { webhookUrl: /at most 2048/ },
    ],
    ['an unknown field', { webhookUrl: HOOK, secret: 'x' }, { secret: /is not a known field/ }],
    [
      'an unknown authType',
      { webhookUrl: HOOK, authType: 'oauth' },
      { authType: /one of: no_auth, bearer, api_key, basic/ },
    ],
    [
      'bearer without authorization',
      { webhookUrl: HOOK, authType: 'bearer' },
      { authorization: /is required when authType is bearer/ },
    ],
    [
      'api_key with an empty authorization',
      { webhookUrl: HOOK, authType: 'api_key', authorization: '' },
      { authorization: /must not be empty/ },
    ],
    [
      'basic without a colon',
      { webhookUrl: HOOK, authType: 'basic', authorization: 'justuser' },
      { authorization: /user:password/ },
    ],
    [
      'basic without a user',
      { webhookUrl: HOOK, authType: 'basic', authorization: ':pass' },
      { authorization: /user:password/ },
    ],
    [
      'an authorization with a newline',
      { webhookUrl: HOOK, authType: 'bearer', authorization: 'a\r\nX-Evil: 1' },
      { authorization: /control characters/ },
    ],
    [
      'a non-string authorization',
      { webhookUrl: HOOK, authType: 'bearer', authorization: 7 },
      { authorization: /must be a string/ },
    ],
    [
      'an authorization with no_auth',
      { webhookUrl: HOOK, authorization: 'tok' },
      { authorization: /must not be sent when authType is no_auth/ },
    ],
    [
      'a private address',
      { webhookUrl: 'http://10.0.0.1/' },
      { webhookUrl: /^host 10\.0\.0\.1 is a private address; .*RELEVO_WEBHOOK_ALLOW/ },
    ],
    [
      'the cloud metadata address',
      { webhookUrl: 'http://169.254.169.254/latest/meta-data/' },
      { webhookUrl: /cloud metadata address/ },
    ],
    [
      'a decimal spelling of a private address',
      { webhookUrl: 'http://167772161/' },
      { webhookUrl: /host 10\.0\.0\.1 is a private address/ },
    ],
    [
      'an IPv4-mapped private address',
      { webhookUrl: 'http://[::ffff:192.168.1.1]/' },
      { webhookUrl: /IPv4-mapped private address/ },
    ],
    ['a link-local IPv6 address', { webhookUrl: 'http://[fe80::1]/' }, { webhookUrl: /link-local address/ }],
    [
      'credentials in the URL',
      { webhookUrl: 'http://user:pass@127.0.0.1/' },
      { webhookUrl: /must not contain credentials/ },
    ],
    ['an ftp URL', { webhookUrl: 'ftp://127.0.0.1/' }, { webhookUrl: /absolute http or https URL/ }],
    ['a relative URL', { webhookUrl: '/hooks' }, { webhookUrl: /absolute http or https URL/ }],
    ['not a URL', { webhookUrl: 'http://[nope/' }, { webhookUrl: /is not a valid URL/ }],
  ];
  for (const [what, body, fields] of invalid) {
    it(`refuses ${what} with 422 and stores nothing`, async () => {
      const s = await project();
      const res = await call(h.app, {
        url: base('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body,
      });
      expectValidation(res, 422, fields);
      expect(await stored(s)).toBeUndefined();
    });
  }

  it('reports every problem of a body at once', async () => {
    const s = await project();
    const res = await call(h.app, {
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: { authType: 'oauth', extra: 1 },
    });
    expectValidation(res, 422, { webhookUrl: /is required/, authType: /one of/, extra: /not a known field/ });
  });

  it('refuses malformed JSON with 422, and a non-JSON body with 415', async () => {
    const s = await project();
    const url = base('/v1', s.project.id);
    const bad = await call(h.app, { url, headers: authHeaders(s, 'apiKey'), body: '{"webhookUrl":' });
    expectValidation(bad, 422, { body: /not valid JSON/ });
    const text = await call(h.app, {
      url,
      headers: authHeaders(s, 'apiKey'),
      body: 'webhookUrl=x',
      contentType: 'text/plain',
    });
    expect(text.statusCode).toBe(415);
    expect(errorOf(text).error.code).toBe('unsupported_media_type');
  });
});

describe('get (§4.2)', () => {
  it('answers 404 integration_not_found when the project has none', async () => {
    const s = await project();
    for (const prefix of PREFIXES) {
      const res = await call(h.app, {
        method: 'GET',
        url: base(prefix, s.project.id),
        headers: authHeaders(s, 'basic'),
      });
      expect(res.statusCode).toBe(404);
      const e = errorOf(res);
      expect(e.error.code).toBe('integration_not_found');
      expect(e.message).toBe('Integration not found');
    }
  });

  it('never shows the secret nor the authorization', async () => {
    const s = await project();
    const created = await create(s, { webhookUrl: HOOK, authType: 'basic', authorization: 'panel:pa55word' });
    const res = await call(h.app, {
      method: 'GET',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(created.signingSecret);
    expect(res.body).not.toContain('pa55word');
    expect(res.body).not.toContain('signingSecret');
    expect(res.body).not.toContain('authorization');
    expect(res.json().data.authType).toBe('basic');
  });
});

describe('update (§4.3)', () => {
  it('answers 404 when the project has none', async () => {
    const s = await project();
    const res = await patch(s, { webhookUrl: HOOK });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).error.code).toBe('integration_not_found');
  });

  it('changes only the fields sent, keeps createdAt and the secret, and moves updatedAt', async () => {
    const s = await project();
    const created = await create(s, { webhookUrl: HOOK, authType: 'bearer', authorization: 'tok-1' });
    await new Promise((r) => setTimeout(r, 5));
    const res = await patch(s, { webhookUrl: 'http://[::1]:8080/new' });
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data;
    expect(data.webhookUrl).toBe('http://[::1]:8080/new');
    expect(data.authType).toBe('bearer');
    expect(data.createdAt).toBe(created.createdAt);
    expect(Date.parse(data.updatedAt)).toBeGreaterThan(Date.parse(created.createdAt));
    const row = await stored(s);
    expect(row?.authorization).toBe('tok-1');
    expect(row?.signingSecret).toBe(created.signingSecret);
  });

  it('forgets the authorization when authType becomes no_auth', async () => {
    const s = await project();
    await create(s, { webhookUrl: HOOK, authType: 'api_key', authorization: 'key-1' });
    const res = await patch(s, { authType: 'no_auth' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.authType).toBe('no_auth');
    expect((await stored(s))?.authorization).toBeNull();
  });

  it('needs an authorization for another auth type, sent now or already stored', async () => {
    const s = await project();
    await create(s);
    expectValidation(await patch(s, { authType: 'bearer' }), 400, {
      authorization: /is required when authType is bearer/,
    });
    expectValidation(await patch(s, { authorization: 'tok' }), 400, {
      authorization: /must not be sent when authType is no_auth/,
    });

    expect((await patch(s, { authType: 'bearer', authorization: 'tok-2' })).statusCode).toBe(200);
    // The stored token is reused for api_key…
    const switched = await patch(s, { authType: 'api_key' });
    expect(switched.statusCode, switched.body).toBe(200);
    expect(await stored(s)).toMatchObject({ authType: 'api_key', authorization: 'tok-2' });
    // …but cannot serve as user:password: the caller hears it is the stored value.
    expectValidation(await patch(s, { authType: 'basic' }), 400, {
      authorization: /must be user:password when authType is basic; the stored value does not fit/,
    });
    // Sending a new authorization alone keeps the type.
    expect((await patch(s, { authorization: 'key-3' })).statusCode).toBe(200);
    expect(await stored(s)).toMatchObject({ authType: 'api_key', authorization: 'key-3' });
  });

  it('re-enables an integration that a 410 disabled, and restarts its failure clock', async () => {
    const s = await project();
    await create(s);
    await h.store.transaction(async (tx) => {
      await tx.integrations.update(s.project.id, {
        enabled: false,
        disabledReason: 'gone',
        updatedAt: Date.now(),
      });
      await tx.integrations.noteFailure(s.project.id, Date.now() - 1000);
    });
    expect((await stored(s))?.enabled).toBe(false);
    const before = await call(h.app, {
      method: 'GET',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(before.json().data).toMatchObject({ disabled: true, disabledReason: 'gone' });
    expect(before.json().data.disabledAt).toBe(new Date((await stored(s))!.disabledAt!).toISOString());
    const res = await patch(s, { webhookUrl: HOOK });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ disabled: false, disabledAt: null, disabledReason: null });
    expect(await stored(s)).toMatchObject({ enabled: true, disabledReason: null });
    // A cleared clock starts again from the next failure.
    const since = await h.store.transaction((tx) => tx.integrations.noteFailure(s.project.id, 42));
    expect(since).toBe(42);
  });

  const invalid: Array<[string, unknown, Record<string, RegExp>]> = [
    ['an empty object', {}, { body: /^must contain at least one of webhookUrl, authType, authorization$/ }],
    ['an unknown field', { webhookUrl: HOOK, enabled: true }, { enabled: /is not a known field/ }],
    ['an unknown authType', { authType: 'digest' }, { authType: /must be one of/ }],
    ['an empty webhookUrl', { webhookUrl: '' }, { webhookUrl: /must not be empty/ }],
    ['a null webhookUrl', { webhookUrl: null }, { webhookUrl: /must be a string/ }],
    [
      'a private address',
      { webhookUrl: 'http://10.0.0.1/' },
      { webhookUrl: /^host 10\.0\.0\.1 is a private address/ },
    ],
    [
      'the cloud metadata address',
      { webhookUrl: 'http://169.254.169.254/' },
      { webhookUrl: /cloud metadata address/ },
    ],
    [
      'an octal spelling of a private address',
      { webhookUrl: 'http://012.0.0.1/' },
      { webhookUrl: /host 10\.0\.0\.1 is a private/ },
    ],
    [
      'credentials in the URL',
      { webhookUrl: 'http://u:p@127.0.0.1/' },
      { webhookUrl: /must not contain credentials/ },
    ],
    [
      'a basic authorization without colon',
      { authType: 'basic', authorization: 'x' },
      { authorization: /user:password/ },
    ],
    ['an array body', [HOOK], { body: /must be a JSON object/ }],
  ];
  for (const [what, body, fields] of invalid) {
    it(`refuses ${what} with 400 unprocessable_entity and changes nothing`, async () => {
      const s = await project();
      await create(s);
      const before = await stored(s);
      expectValidation(await patch(s, body, '/platform/v1', 'basic'), 400, fields);
      expect(await stored(s)).toEqual(before);
    });
  }

  it('refuses no body, and malformed JSON, with 400', async () => {
    const s = await project();
    await create(s);
    const none = await call(h.app, {
      method: 'PATCH',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expectValidation(none, 400, { body: /must contain at least one of/ });
    expectValidation(await patch(s, '{"webhookUrl"'), 400, { body: /not valid JSON/ });
  });
});

describe('delete (§4.4)', () => {
  function event(projectId: string, status: OutboxEvent['status'], roomSeq: number): OutboxEvent {
    const now = Date.now();
    return {
      id: newId('evt', now),
      projectId,
      roomId: `room_of_${projectId}`,
      roomSeq,
      conversationId: null,
      destination: 'panel',
      type: 'conversation.start',
      payload: '{}',
      createdAt: now,
      status,
      attemptCount: 0,
      nextAttemptAt: status === 'pending' ? now : null,
      deliveredAt: status === 'delivered' ? now : null,
      lastError: null,
    };
  }

  it('answers 404 when the project has none', async () => {
    const s = await project();
    const res = await call(h.app, {
      method: 'DELETE',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).error.code).toBe('integration_not_found');
  });

  it("cancels the project's undelivered events, and only those", async () => {
    const s = await project();
    const other = await project();
    await create(s);
    await create(other);
    const pending = [event(s.project.id, 'pending', 1), event(s.project.id, 'pending', 2)];
    const delivered = event(s.project.id, 'delivered', 3);
    const failed = event(s.project.id, 'failed', 4);
    const foreign = event(other.project.id, 'pending', 1);
    await h.store.transaction(async (tx) => {
      for (const e of [...pending, delivered, failed, foreign]) await tx.outbox.insert(e);
    });

    const res = await call(h.app, {
      method: 'DELETE',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'basic'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(Object.keys(res.json())).toEqual(['message', 'statusMessage', 'status']);

    for (const e of pending) {
      const after = await h.store.queries.outbox.get(e.id);
      expect(after?.status).toBe('cancelled');
      expect(after?.nextAttemptAt).toBeNull();
    }
    expect((await h.store.queries.outbox.get(delivered.id))?.status).toBe('delivered');
    expect((await h.store.queries.outbox.get(failed.id))?.status).toBe('failed');
    expect((await h.store.queries.outbox.get(foreign.id))?.status).toBe('pending');
    expect(await stored(s)).toBeUndefined();
    expect(await stored(other)).toBeDefined();
  });

  it('allows a new integration, with a new secret, afterwards', async () => {
    const s = await project();
    const first = await create(s);
    const url = base('/v1', s.project.id);
    expect((await call(h.app, { method: 'DELETE', url, headers: authHeaders(s, 'apiKey') })).statusCode).toBe(
      200,
    );
    const again = await call(h.app, { method: 'DELETE', url, headers: authHeaders(s, 'apiKey') });
    expect(again.statusCode).toBe(404);
    const second = await create(s);
    expect(second.id).not.toBe(first.id);
    expect(second.signingSecret).not.toBe(first.signingSecret);
  });
});

describe('regenerate the signing secret (§4.5)', () => {
  it('answers 404 when the project has none', async () => {
    const s = await project();
    const res = await call(h.app, {
      url: regenerateUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode, res.body).toBe(404);
    expect(errorOf(res).error.code).toBe('integration_not_found');
  });

  it('replaces the stored secret at once, and keeps everything else', async () => {
    const s = await project();
    const created = await create(s, { webhookUrl: HOOK, authType: 'bearer', authorization: 'tok' });
    const res = await call(h.app, {
      url: regenerateUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode, res.body).toBe(200);
    const secret = res.json().data.signingSecret;
    expect(secret).not.toBe(created.signingSecret);
    const row = await stored(s);
    expect(row).toMatchObject({
      signingSecret: secret,
      webhookUrl: HOOK,
      authType: 'bearer',
      authorization: 'tok',
      enabled: true,
    });
    // Never readable again afterwards.
    const got = await call(h.app, {
      method: 'GET',
      url: base('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(got.body).not.toContain(secret);
  });

  it('does not re-enable a disabled integration (that takes an update)', async () => {
    const s = await project();
    await create(s);
    await h.store.transaction((tx) =>
      tx.integrations.update(s.project.id, { enabled: false, disabledReason: 'gone', updatedAt: Date.now() }),
    );
    const res = await call(h.app, {
      url: regenerateUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode).toBe(200);
    expect(await stored(s)).toMatchObject({ enabled: false, disabledReason: 'gone' });
  });

  it('tolerates no body, an empty JSON body and {}', async () => {
    const s = await project();
    await create(s);
    const url = regenerateUrl('/v1', s.project.id);
    const headers = authHeaders(s, 'apiKey');
    const secrets = new Set<string>();
    for (const body of [undefined, '', {}]) {
      const res =
        body === ''
          ? await h.app.server.inject({
              method: 'POST',
              url,
              headers: { ...headers, 'content-type': 'application/json' },
              payload: '',
            })
          : await call(h.app, { url, headers, body });
      expect(res.statusCode, res.body).toBe(200);
      secrets.add(JSON.parse(res.body).data.signingSecret);
    }
    expect(secrets.size).toBe(3);
  });

  it('refuses fields with 422, and keeps the secret', async () => {
    const s = await project();
    const created = await create(s);
    const res = await call(h.app, {
      url: regenerateUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: { signingSecret: 'mine' },
    });
    expectValidation(res, 422, { signingSecret: /is not a known field/ });
    expect((await stored(s))?.signingSecret).toBe(created.signingSecret);
  });
});

describe('OpenAPI', () => {
  it('documents the five routes under the integrations tag', async () => {
    const res = await h.app.server.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json();
    const item = doc.paths['/jelouapi/v1/external-support/{projectId}'];
    expect(Object.keys(item).sort()).toEqual(['delete', 'get', 'patch', 'post']);
    for (const op of Object.values(item) as Array<{ tags: string[]; summary: string }>) {
      expect(op.tags).toEqual(['integrations']);
      expect(op.summary).toBeTruthy();
    }
    expect(Object.keys(item.patch.responses)).toContain('400');
    expect(Object.keys(item.post.responses)).toEqual(expect.arrayContaining(['200', '409', '422']));
    const regen = doc.paths['/jelouapi/v1/external-support/{projectId}/secret/regenerate'];
    expect(regen.post.tags).toEqual(['integrations']);
    expect(doc.paths['/v1/external-support/{projectId}']).toBeUndefined();
  });
});
