/**
 * The admin API (docs/admin.md) through the real app: token check, every route, the
 * shapes of their answers, pagination, and that a revoked credential stops working at once on
 * the management routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_AUTH as AUTH, adminCall as call, expectAdminError as expectError } from '../helpers/api.js';
import { ADMIN_TOKEN, basic, createHarness, type Harness } from '../helpers/harness.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Created {
  id: string;
  name: string;
  apiKey: string;
  clientId: string;
  clientSecret: string;
  credentialId: string;
}

type Json = Record<string, unknown>;

async function createProject(h: Harness, name = 'Acme'): Promise<Created> {
  const res = await call(h, 'POST', '/admin/v1/projects', { name });
  expect(res.status).toBe(201);
  return res.body as unknown as Created;
}

async function createBot(h: Harness, projectId: string, name = 'Helper'): Promise<string> {
  const res = await call(h, 'POST', `/admin/v1/projects/${projectId}/bots`, { name });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function createUser(h: Harness, projectId: string, names = 'Maria'): Promise<string> {
  const res = await call(h, 'POST', `/admin/v1/projects/${projectId}/users`, { names });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** The real management route start-conversation, with the given credential headers. */
async function startConversation(
  h: Harness,
  projectId: string,
  botId: string,
  userId: string,
  headers: Record<string, string>,
) {
  return call(h, 'POST', `/v1/external-support/${projectId}/conversations/start`, { botId, userId }, headers);
}

describe('admin API: authentication', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  const routes: Array<['GET' | 'POST' | 'DELETE', string, unknown]> = [
    ['POST', '/admin/v1/projects', { name: 'x' }],
    ['GET', '/admin/v1/projects', undefined],
    ['GET', '/admin/v1/projects/prj_x', undefined],
    ['POST', '/admin/v1/projects/prj_x/credentials', {}],
    ['DELETE', '/admin/v1/projects/prj_x/credentials/cred_x', undefined],
    ['POST', '/admin/v1/projects/prj_x/bots', { name: 'b' }],
    ['GET', '/admin/v1/projects/prj_x/bots', undefined],
    ['POST', '/admin/v1/projects/prj_x/users', { names: 'u' }],
    ['GET', '/admin/v1/projects/prj_x/users', undefined],
  ];

  it.each(routes)('%s %s without a token → 401', async (method, url, payload) => {
    expectError(await call(h, method, url, payload, {}), 401, 'admin_unauthorized');
  });

  it.each([
    ['a wrong token', `Bearer ${ADMIN_TOKEN}x`],
    ['a prefix of the token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('%s → 401', async (_what, authorization) => {
    expectError(
      await call(h, 'GET', '/admin/v1/projects', undefined, { authorization }),
      401,
      'admin_unauthorized',
    );
  });

  it('a project credential is not an admin credential', async () => {
    const p = await createProject(h);
    expectError(
      await call(h, 'GET', '/admin/v1/projects', undefined, { 'x-api-key': p.apiKey }),
      401,
      'admin_unauthorized',
    );
  });

  it('tells a caller with a wrong token to send the bearer token, not project credentials', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { 'x-api-key': 'k' },
    ];
    for (const headers of attempts) {
      const res = await call(h, 'GET', '/admin/v1/projects', undefined, headers);
      expectError(res, 401, 'admin_unauthorized');
      const error = res.body.error as { developerMessages: Record<string, string> };
      for (const lang of ['en', 'es', 'pt']) {
        expect(error.developerMessages[lang]).toContain('Authorization: Bearer <RELEVO_ADMIN_TOKEN>');
        expect(error.developerMessages[lang]).not.toContain('x-api-key: <apiKey>');
      }
    }
  });

  it('authenticates before validating: a bad body without a token is 401, not 422', async () => {
    expectError(await call(h, 'POST', '/admin/v1/projects', { nope: 1 }, {}), 401, 'admin_unauthorized');
  });
});

describe('admin API switched off (RELEVO_ADMIN_TOKEN=off)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ RELEVO_ADMIN_TOKEN: 'off' });
  });
  afterAll(async () => h.close());

  it.each([
    ['GET', '/admin/v1/projects'],
    ['POST', '/admin/v1/projects'],
    ['DELETE', '/admin/v1/projects/prj_x/credentials/cred_x'],
    ['GET', '/admin/anything'],
    ['GET', '/admin'],
  ] as const)('%s %s → 404 admin_api_disabled, whatever the token', async (method, url) => {
    const payload = method === 'POST' ? { name: 'x' } : undefined;
    for (const headers of [AUTH, {}]) {
      const res = await call(h, method, url, payload, headers);
      expectError(res, 404, 'admin_api_disabled');
      const error = res.body.error as { description: string; developerMessages: { en: string } };
      expect(error.description).toBe('The admin API is off on this server (RELEVO_ADMIN_TOKEN=off).');
      expect(error.developerMessages.en).toContain('RELEVO_ADMIN_TOKEN');
    }
  });

  it('says so before reading the body: a body that is not JSON gets the same answer', async () => {
    const res = await h.app.server.inject({
      method: 'POST',
      url: '/admin/v1/projects',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('admin_api_disabled');
  });

  it('leaves other unknown paths to route_not_found', async () => {
    expectError(await call(h, 'GET', '/administrator', undefined, {}), 404, 'route_not_found');
  });

  it('leaves the admin routes out of the OpenAPI document', async () => {
    const doc = (await call(h, 'GET', '/openapi.json', undefined, {})).body as { paths: Json };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });
});

describe('admin API: projects and credentials', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it('creates a project whose credential works on the management API at once', async () => {
    const res = await call(h, 'POST', '/admin/v1/projects', { name: 'Acme Support' });
    expect(res.status).toBe(201);
    expect(res.text.startsWith('{"id":')).toBe(true);
    expect(Object.keys(res.body)).toEqual([
      'id',
      'name',
      'apiKey',
      'clientId',
      'clientSecret',
      'credentialId',
    ]);
    const p = res.body as unknown as Created;
    expect(p.name).toBe('Acme Support');
    expect(p.id).toMatch(/^prj_/);
    expect(p.credentialId).toMatch(/^cred_/);

    const bot = await createBot(h, p.id);
    const user = await createUser(h, p.id);
    const started = await startConversation(h, p.id, bot, user, { 'x-api-key': p.apiKey });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: 1, data: { botId: bot, userId: user, status: 'active' } });

    // The Basic pair of the same credential authenticates too.
    const user2 = await createUser(h, p.id, 'João');
    const viaBasic = await startConversation(h, p.id, bot, user2, { authorization: basic(p) });
    expect(viaBasic.status).toBe(200);
  });

  it.each([
    ['missing name', {}, 'name'],
    ['empty name', { name: '' }, 'name'],
    ['name too long', { name: 'x'.repeat(201) }, 'name'],
    ['name not a string', { name: 42 }, 'name'],
    ['unknown field', { name: 'ok', plan: 'gold' }, 'plan'],
  ])('POST /projects with %s → 422 naming %s', async (_what, body, field) => {
    const res = await call(h, 'POST', '/admin/v1/projects', body);
    expectError(res, 422, 'unprocessable_entity');
    expect(Object.keys(res.body.validationError as Json)).toContain(field);
  });

  it('accepts a 200-character name and answers 415 for a body that is not JSON', async () => {
    expect((await call(h, 'POST', '/admin/v1/projects', { name: 'x'.repeat(200) })).status).toBe(201);
    const res = await h.app.server.inject({
      method: 'POST',
      url: '/admin/v1/projects',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(res.statusCode).toBe(415);
  });

  it('shows a project with its credentials and never a secret', async () => {
    const p = await createProject(h, 'Shown');
    const extra = await call(h, 'POST', `/admin/v1/projects/${p.id}/credentials`, {});
    const res = await call(h, 'GET', `/admin/v1/projects/${p.id}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['id', 'name', 'createdAt', 'credentials']);
    expect(res.body).toMatchObject({ id: p.id, name: 'Shown' });
    expect(res.body.createdAt).toMatch(ISO_MS);
    const creds = res.body.credentials as Json[];
    expect(creds.map((c) => c.id)).toEqual([p.credentialId, extra.body.id]);
    for (const c of creds) {
      expect(Object.keys(c)).toEqual(['id', 'clientId', 'createdAt', 'revokedAt']);
      expect(c.createdAt).toMatch(ISO_MS);
      expect(c.revokedAt).toBeNull();
    }
    expect(creds[0]?.clientId).toBe(p.clientId);
    for (const secret of [p.apiKey, p.clientSecret, extra.body.apiKey, extra.body.clientSecret]) {
      expect(res.text).not.toContain(String(secret));
    }
    expect(res.text).not.toMatch(/hash|secret|apiKey|s256\$/i);
  });

  it('answers 404 project_not_found for an unknown project on every project route', async () => {
    const id = 'prj_doesnotexist';
    expectError(await call(h, 'GET', `/admin/v1/projects/${id}`), 404, 'project_not_found');
    expectError(await call(h, 'POST', `/admin/v1/projects/${id}/credentials`, {}), 404, 'project_not_found');
    expectError(
      await call(h, 'DELETE', `/admin/v1/projects/${id}/credentials/cred_x`),
      404,
      'project_not_found',
    );
    expectError(
      await call(h, 'POST', `/admin/v1/projects/${id}/bots`, { name: 'b' }),
      404,
      'project_not_found',
    );
    expectError(await call(h, 'GET', `/admin/v1/projects/${id}/bots`), 404, 'project_not_found');
    expectError(
      await call(h, 'POST', `/admin/v1/projects/${id}/users`, { names: 'u' }),
      404,
      'project_not_found',
    );
    expectError(await call(h, 'GET', `/admin/v1/projects/${id}/users`), 404, 'project_not_found');
  });

  it('adds a further credential, with or without a {} body; unknown fields are refused', async () => {
    const p = await createProject(h);
    const res = await call(h, 'POST', `/admin/v1/projects/${p.id}/credentials`, {});
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(['id', 'apiKey', 'clientId', 'clientSecret']);
    expect(res.body.id).not.toBe(p.credentialId);

    const noBody = await call(h, 'POST', `/admin/v1/projects/${p.id}/credentials`);
    expect(noBody.status).toBe(201);

    const bad = await call(h, 'POST', `/admin/v1/projects/${p.id}/credentials`, { label: 'ci' });
    expectError(bad, 422, 'unprocessable_entity');
    expect(bad.body.validationError).toHaveProperty('label');

    const bot = await createBot(h, p.id);
    const user = await createUser(h, p.id);
    const started = await startConversation(h, p.id, bot, user, { 'x-api-key': String(res.body.apiKey) });
    expect(started.status).toBe(200);
  });

  it('revokes a credential at once: the next management call with it is 401, the others still work', async () => {
    const p = await createProject(h);
    const second = (await call(h, 'POST', `/admin/v1/projects/${p.id}/credentials`, {})).body;
    const bot = await createBot(h, p.id);
    const u1 = await createUser(h, p.id, 'One');
    const u2 = await createUser(h, p.id, 'Two');
    const u3 = await createUser(h, p.id, 'Three');
    expect((await startConversation(h, p.id, bot, u1, { 'x-api-key': p.apiKey })).status).toBe(200);

    const res = await call(h, 'DELETE', `/admin/v1/projects/${p.id}/credentials/${p.credentialId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: p.credentialId, clientId: p.clientId });
    expect(res.body.revokedAt).toMatch(ISO_MS);

    expectError(await startConversation(h, p.id, bot, u2, { 'x-api-key': p.apiKey }), 401, 'unauthorized');
    expectError(await startConversation(h, p.id, bot, u2, { authorization: basic(p) }), 401, 'unauthorized');
    expect((await startConversation(h, p.id, bot, u3, { 'x-api-key': String(second.apiKey) })).status).toBe(
      200,
    );

    const shown = await call(h, 'GET', `/admin/v1/projects/${p.id}`);
    const creds = shown.body.credentials as Json[];
    expect(creds.find((c) => c.id === p.credentialId)?.revokedAt).toBe(res.body.revokedAt);
    expect(creds.find((c) => c.id === second.id)?.revokedAt).toBeNull();
  });

  it('answers 404 credential_not_found for an unknown, already revoked or foreign credential', async () => {
    const p = await createProject(h);
    const other = await createProject(h, 'Other');
    const url = (projectId: string, credentialId: string) =>
      `/admin/v1/projects/${projectId}/credentials/${credentialId}`;
    expectError(await call(h, 'DELETE', url(p.id, 'cred_nope')), 404, 'credential_not_found');
    expectError(await call(h, 'DELETE', url(p.id, other.credentialId)), 404, 'credential_not_found');
    expect((await call(h, 'DELETE', url(p.id, p.credentialId))).status).toBe(200);
    expectError(await call(h, 'DELETE', url(p.id, p.credentialId)), 404, 'credential_not_found');
    // The foreign project's credential was not touched.
    const shown = await call(h, 'GET', `/admin/v1/projects/${other.id}`);
    expect((shown.body.credentials as Json[])[0]?.revokedAt).toBeNull();
  });
});

describe('admin API: pagination', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  async function walk(url: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let pages = 0;
    let after: string | null = null;
    do {
      const q: string = `?limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
      const res = await call(h, 'GET', `${url}${q}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['items', 'nextCursor']);
      const items = res.body.items as Json[];
      expect(items.length).toBeLessThanOrEqual(limit);
      ids.push(...items.map((i) => String(i.id)));
      after = res.body.nextCursor as string | null;
      pages++;
      expect(pages).toBeLessThan(20);
    } while (after !== null);
    return { ids, pages };
  }

  it('pages through projects in creation order, with the default page size when limit is absent', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createProject(h, `P${i}`)).id);
    const { ids, pages } = await walk('/admin/v1/projects', 2);
    expect(ids).toEqual(created);
    expect(pages).toBe(3);

    const all = await call(h, 'GET', '/admin/v1/projects');
    expect(all.body.nextCursor).toBeNull();
    const items = all.body.items as Json[];
    expect(items.map((i) => i.id)).toEqual(created);
    expect(Object.keys(items[0] ?? {})).toEqual(['id', 'name', 'createdAt']);
    expect(all.text).not.toMatch(/apiKey|secret/i);
  });

  it('creates and pages bots; channel defaults to webchat', async () => {
    const p = await createProject(h);
    const first = await call(h, 'POST', `/admin/v1/projects/${p.id}/bots`, { name: 'Web' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'Web', channel: 'webchat' });
    expect(Object.keys(first.body)).toEqual(['id', 'name', 'channel', 'createdAt']);
    const second = await call(h, 'POST', `/admin/v1/projects/${p.id}/bots`, {
      name: 'App',
      channel: 'http',
    });
    expect(second.body).toMatchObject({ name: 'App', channel: 'http' });
    const third = await createBot(h, p.id, 'Third');

    const { ids, pages } = await walk(`/admin/v1/projects/${p.id}/bots`, 2);
    expect(ids).toEqual([first.body.id, second.body.id, third]);
    expect(pages).toBe(2);

    // Another project's list is its own.
    const other = await createProject(h);
    expect((await call(h, 'GET', `/admin/v1/projects/${other.id}/bots`)).body).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it.each([
    ['missing name', {}, 'name'],
    ['empty name', { name: '' }, 'name'],
    ['unknown channel', { name: 'b', channel: 'sms' }, 'channel'],
    ['unknown field', { name: 'b', webhookUrl: 'http://x' }, 'webhookUrl'],
  ])('POST /bots with %s → 422 naming %s', async (_what, body, field) => {
    const p = await createProject(h);
    const res = await call(h, 'POST', `/admin/v1/projects/${p.id}/bots`, body);
    expectError(res, 422, 'unprocessable_entity');
    expect(Object.keys(res.body.validationError as Json)).toEqual([field]);
  });

  it('creates and pages end users; referenceId is null when absent and unique per project', async () => {
    const p = await createProject(h);
    const plain = await call(h, 'POST', `/admin/v1/projects/${p.id}/users`, { names: 'Maria Silva' });
    expect(plain.status).toBe(201);
    expect(Object.keys(plain.body)).toEqual(['id', 'names', 'referenceId', 'createdAt']);
    expect(plain.body).toMatchObject({ names: 'Maria Silva', referenceId: null });

    const ref = await call(h, 'POST', `/admin/v1/projects/${p.id}/users`, {
      names: 'Ana',
      referenceId: 'crm-1',
    });
    expect(ref.body).toMatchObject({ names: 'Ana', referenceId: 'crm-1' });

    const dup = await call(h, 'POST', `/admin/v1/projects/${p.id}/users`, {
      names: 'Ana 2',
      referenceId: 'crm-1',
    });
    expectError(dup, 409, 'reference_id_taken');

    // Two users without a referenceId never collide, and another project may reuse the id.
    expect((await call(h, 'POST', `/admin/v1/projects/${p.id}/users`, { names: 'No ref' })).status).toBe(201);
    const other = await createProject(h);
    const reuse = await call(h, 'POST', `/admin/v1/projects/${other.id}/users`, {
      names: 'Ana',
      referenceId: 'crm-1',
    });
    expect(reuse.status).toBe(201);

    const { ids, pages } = await walk(`/admin/v1/projects/${p.id}/users`, 1);
    expect(ids).toHaveLength(3);
    expect(ids.slice(0, 2)).toEqual([plain.body.id, ref.body.id]);
    expect(pages).toBe(3);
  });

  it.each([
    ['missing names', {}, 'names'],
    ['names too long', { names: 'n'.repeat(201) }, 'names'],
    ['empty referenceId', { names: 'n', referenceId: '' }, 'referenceId'],
    ['null referenceId', { names: 'n', referenceId: null }, 'referenceId'],
    ['unknown field', { names: 'n', email: 'a@b.c' }, 'email'],
  ])('POST /users with %s → 422 naming %s', async (_what, body, field) => {
    const p = await createProject(h);
    const res = await call(h, 'POST', `/admin/v1/projects/${p.id}/users`, body);
    expectError(res, 422, 'unprocessable_entity');
    expect(Object.keys(res.body.validationError as Json)).toEqual([field]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=201', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['after=', 'after'],
  ])('?%s → 422 naming %s on every list', async (query, param) => {
    const p = await createProject(h);
    for (const url of [
      '/admin/v1/projects',
      `/admin/v1/projects/${p.id}/bots`,
      `/admin/v1/projects/${p.id}/users`,
    ]) {
      const res = await call(h, 'GET', `${url}?${query}`);
      expectError(res, 422, 'unprocessable_entity');
      expect(Object.keys(res.body.validationError as Json)).toEqual([param]);
    }
  });

  it('accepts limit=1 and limit=200', async () => {
    expect((await call(h, 'GET', '/admin/v1/projects?limit=1')).status).toBe(200);
    expect((await call(h, 'GET', '/admin/v1/projects?limit=200')).status).toBe(200);
  });
});

describe('admin API in the OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it('lists every admin route under the admin tag with the bearer scheme', async () => {
    const doc = (await call(h, 'GET', '/openapi.json', undefined, {})).body as {
      paths: Record<string, Record<string, { tags?: string[]; security?: unknown }>>;
      components: { securitySchemes: Json };
    };
    const expected: Array<[string, string]> = [
      ['/admin/v1/projects', 'post'],
      ['/admin/v1/projects', 'get'],
      ['/admin/v1/projects/{projectId}', 'get'],
      ['/admin/v1/projects/{projectId}/credentials', 'post'],
      ['/admin/v1/projects/{projectId}/credentials/{credentialId}', 'delete'],
      ['/admin/v1/projects/{projectId}/bots', 'post'],
      ['/admin/v1/projects/{projectId}/bots', 'get'],
      ['/admin/v1/projects/{projectId}/users', 'post'],
      ['/admin/v1/projects/{projectId}/users', 'get'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/rules', 'get'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/rules', 'put'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/rules', 'delete'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/channel', 'get'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/channel', 'put'],
      ['/admin/v1/projects/{projectId}/bots/{botId}/channel/signing-key/regenerate', 'post'],
    ];
    for (const [path, method] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op?.tags).toEqual(['admin']);
      expect(op?.security).toEqual([{ adminToken: [] }]);
    }
    expect(doc.components.securitySchemes).toHaveProperty('adminToken');
  });
});

describe('admin API during shutdown', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it('refuses new admin calls with 503 once shutdown has begun', async () => {
    h.app.beginShutdown();
    expectError(await call(h, 'GET', '/admin/v1/projects'), 503, 'service_unavailable');
  });
});
