/**
 * Renaming and deleting projects, bots and end users through the admin API: the answers, what a
 * deletion does to active conversations and to queued events, and that the deleted thing is
 * gone for every live use (404, 401) while its history still reads with its names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEvent } from '../../src/model/types.js';
import {
  adminCall,
  authHeaders,
  call as callApi,
  createIntegration,
  expectAdminError as expectError,
} from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
// biome-ignore lint/suspicious/noExplicitAny: tests read response JSON loosely and assert on it.
type Json = any;

/** An admin request to `/admin/v1` + `url`. */
const admin = (
  h: Harness,
  method: Method,
  url: string,
  payload?: unknown,
  headers?: Record<string, string>,
) => adminCall(h, method, `/admin/v1${url}`, payload, headers);

/** Starts a conversation through the management API; returns its id. */
async function start(h: Harness, s: Seed, botId = s.bot.id, userId = s.user.id): Promise<string> {
  const res = await callApi(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/start`,
    headers: authHeaders(s, 'apiKey'),
    body: { botId, userId },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data.conversationId as string;
}

async function startStatus(h: Harness, s: Seed, botId: string, userId: string) {
  return callApi(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/start`,
    headers: authHeaders(s, 'apiKey'),
    body: { botId, userId },
  });
}

async function conversation(h: Harness, s: Seed, id: string): Promise<Json> {
  const res = await callApi(h.app, {
    method: 'GET',
    url: `/v1/external-support/${s.project.id}/conversations/${id}`,
    headers: authHeaders(s, 'apiKey'),
  });
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

// No worker runs in these tests: events stay queued (pending) until something settles them.
const withIntegration = (h: Harness, s: Seed) => createIntegration(h.app, s, 'http://127.0.0.1:9/hooks');

async function events(h: Harness, projectId: string): Promise<OutboxEvent[]> {
  return (await h.store.queries.outbox.list(projectId, {}, { limit: 200 })).items.reverse();
}

describe('admin API: rename and delete need the admin token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it.each<[Method, string, unknown]>([
    ['PATCH', '/projects/prj_x', { name: 'x' }],
    ['DELETE', '/projects/prj_x', undefined],
    ['PATCH', '/projects/prj_x/bots/bot_x', { name: 'x' }],
    ['DELETE', '/projects/prj_x/bots/bot_x', undefined],
    ['PATCH', '/projects/prj_x/users/usr_x', { names: 'x' }],
    ['DELETE', '/projects/prj_x/users/usr_x', undefined],
  ])('%s %s → 401 admin_unauthorized, before any validation', async (method, url, payload) => {
    expectError(await admin(h, method, url, payload, {}), 401, 'admin_unauthorized');
    expectError(
      await admin(h, method, url, { nonsense: true }, { authorization: 'Bearer wrong' }),
      401,
      'admin_unauthorized',
    );
  });

  it('the new operations are in the OpenAPI document', async () => {
    const doc = (await h.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/admin/v1/projects/{projectId}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'patch', 'delete']),
    );
    expect(Object.keys(paths['/admin/v1/projects/{projectId}/bots/{botId}'] ?? {}).sort()).toEqual([
      'delete',
      'patch',
    ]);
    expect(Object.keys(paths['/admin/v1/projects/{projectId}/users/{userId}'] ?? {}).sort()).toEqual([
      'delete',
      'patch',
    ]);
  });
});

describe('admin API: rename', () => {
  let h: Harness;
  let s: Seed;
  beforeAll(async () => {
    h = await createHarness();
    s = await h.seed('Acme');
  });
  afterAll(async () => h.close());

  it('renames a project', async () => {
    const res = await admin(h, 'PATCH', `/projects/${s.project.id}`, { name: 'Acme Support' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: s.project.id,
      name: 'Acme Support',
      createdAt: expect.stringMatching(ISO_MS),
    });
    expect((await admin(h, 'GET', `/projects/${s.project.id}`)).body.name).toBe('Acme Support');
  });

  it('refuses a bad project rename: 422 with the field, 404 for an unknown project', async () => {
    const empty = await admin(h, 'PATCH', `/projects/${s.project.id}`);
    expectError(empty, 422, 'unprocessable_entity');
    expect(empty.body.validationError).toHaveProperty('name');
    const extra = await admin(h, 'PATCH', `/projects/${s.project.id}`, { name: 'x', plan: 'gold' });
    expectError(extra, 422, 'unprocessable_entity');
    expect(extra.body.validationError).toHaveProperty('plan');
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}`, { name: '' }),
      422,
      'unprocessable_entity',
    );
    expectError(await admin(h, 'PATCH', '/projects/prj_nope', { name: 'x' }), 404, 'project_not_found');
    expect((await admin(h, 'GET', `/projects/${s.project.id}`)).body.name).toBe('Acme Support');
  });

  it('renames a project to a name holding U+0000 and an unpaired surrogate: stored as JSON text, it comes back exactly', async () => {
    const id = (await admin(h, 'POST', '/projects', { name: 'Plain' })).body.id as string;
    const name = 'a\u0000b\ud800c';
    const res = await admin(h, 'PATCH', `/projects/${id}`, { name });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(name);
    expect((await admin(h, 'GET', `/projects/${id}`)).body.name).toBe(name);
  });

  it('renames a bot: later events carry the new name, events already written keep the old one', async () => {
    const bot = await admin(h, 'POST', `/projects/${s.project.id}/bots`, { name: 'Old Bot' });
    await withIntegration(h, s);
    const first = await start(h, s, bot.body.id);
    const res = await admin(h, 'PATCH', `/projects/${s.project.id}/bots/${bot.body.id}`, { name: 'New Bot' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: bot.body.id,
      name: 'New Bot',
      channel: 'webchat',
      createdAt: bot.body.createdAt,
    });
    expect((await conversation(h, s, first)).Bot).toEqual({ id: bot.body.id, name: 'New Bot' });
    await callApi(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/close`,
      headers: authHeaders(s, 'apiKey'),
      body: { botId: bot.body.id, userId: s.user.id },
    });
    const mine = (await events(h, s.project.id)).filter((e) => e.conversationId === first);
    expect(mine.map((e) => [e.type, JSON.parse(e.payload).bot.name])).toEqual([
      ['conversation.start', 'Old Bot'],
      ['conversation.close', 'New Bot'],
    ]);
  });

  it('refuses a bot rename that changes the channel, and unknown bots', async () => {
    const res = await admin(h, 'PATCH', `/projects/${s.project.id}/bots/${s.bot.id}`, {
      name: 'x',
      channel: 'http',
    });
    expectError(res, 422, 'unprocessable_entity');
    expect(res.body.validationError).toHaveProperty('channel');
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}/bots/bot_nope`, { name: 'x' }),
      404,
      'bot_not_found',
    );
    expectError(
      await admin(h, 'PATCH', `/projects/prj_nope/bots/${s.bot.id}`, { name: 'x' }),
      404,
      'project_not_found',
    );
  });

  it("updates an end user's names and referenceId; null clears the referenceId", async () => {
    const url = `/projects/${s.project.id}/users/${s.user.id}`;
    const named = await admin(h, 'PATCH', url, { names: 'Maria S.' });
    expect(named.status).toBe(200);
    expect(named.body).toEqual({
      id: s.user.id,
      names: 'Maria S.',
      referenceId: null,
      createdAt: expect.stringMatching(ISO_MS),
    });
    expect((await admin(h, 'PATCH', url, { referenceId: 'crm-1' })).body.referenceId).toBe('crm-1');
    expect((await admin(h, 'PATCH', url, { referenceId: null })).body).toMatchObject({
      names: 'Maria S.',
      referenceId: null,
    });
  });

  it('refuses an end user update: no field, a referenceId taken, an unknown user', async () => {
    const url = `/projects/${s.project.id}/users/${s.user.id}`;
    const empty = await admin(h, 'PATCH', url, {});
    expectError(empty, 422, 'unprocessable_entity');
    expect(empty.body.validationError).toEqual({ body: ['must contain at least one of names, referenceId'] });
    await admin(h, 'POST', `/projects/${s.project.id}/users`, { names: 'Other', referenceId: 'taken' });
    expectError(await admin(h, 'PATCH', url, { referenceId: 'taken' }), 409, 'reference_id_taken');
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}/users/usr_nope`, { names: 'x' }),
      404,
      'user_not_found',
    );
  });
});

describe('admin API: deleting a bot', () => {
  let h: Harness;
  let s: Seed;
  beforeAll(async () => {
    h = await createHarness();
    s = await h.seed('Acme');
    await withIntegration(h, s);
  });
  afterAll(async () => h.close());

  it('with an active conversation: 409 active_conversations naming it, and nothing changes', async () => {
    const bot = (await admin(h, 'POST', `/projects/${s.project.id}/bots`, { name: 'Busy Bot' })).body.id;
    const conversationId = await start(h, s, bot);
    for (const query of ['', '?force=false']) {
      const res = await admin(h, 'DELETE', `/projects/${s.project.id}/bots/${bot}${query}`);
      expectError(res, 409, 'active_conversations');
      expect(res.body.error.developerMessages.en).toContain(conversationId);
    }
    expect((await conversation(h, s, conversationId)).state).toBe('active');
    const listed = (await admin(h, 'GET', `/projects/${s.project.id}/bots`)).body.items;
    expect(listed.map((b: Json) => b.id)).toContain(bot);
  });

  it('with ?force=true: closes it with a close event, keeps queued events pending, and the bot is gone', async () => {
    const bot = (await admin(h, 'POST', `/projects/${s.project.id}/bots`, { name: 'Doomed Bot' })).body.id;
    const conversationId = await start(h, s, bot);
    const res = await admin(h, 'DELETE', `/projects/${s.project.id}/bots/${bot}?force=true`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: bot,
      deleted: true,
      deletedAt: expect.stringMatching(ISO_MS),
      closedConversations: 1,
    });

    // The history still reads, with the bot's name.
    const view = await conversation(h, s, conversationId);
    expect(view).toMatchObject({
      state: 'closed',
      endedReason: 'closed_by_operator',
      Bot: { id: bot, name: 'Doomed Bot' },
    });
    const mine = (await events(h, s.project.id)).filter((e) => e.conversationId === conversationId);
    expect(mine.map((e) => [e.type, e.status])).toEqual([
      ['conversation.start', 'pending'],
      ['conversation.close', 'pending'],
    ]);
    expect(JSON.parse(mine[1]?.payload ?? '{}').value).toEqual({ reason: 'closed_by_operator' });
    // No welcome-back from a deleted bot: the room's last message is whatever came before.
    const room = await h.store.queries.rooms.getByPair(bot, s.user.id);
    const messages = (await h.store.queries.messages.listOfRoom(room?.id ?? '', { limit: 50 })).items;
    expect(messages.filter((m) => m.createdAt >= Date.parse(res.body.deletedAt))).toEqual([]);

    // Gone for every live use.
    expectError(
      await admin(h, 'DELETE', `/projects/${s.project.id}/bots/${bot}?force=true`),
      404,
      'bot_not_found',
    );
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}/bots/${bot}`, { name: 'x' }),
      404,
      'bot_not_found',
    );
    expectError(await admin(h, 'GET', `/projects/${s.project.id}/bots/${bot}/rules`), 404, 'bot_not_found');
    const listed = (await admin(h, 'GET', `/projects/${s.project.id}/bots`)).body.items;
    expect(listed.map((b: Json) => b.id)).not.toContain(bot);
    const again = await startStatus(h, s, bot, s.user.id);
    expect(again.statusCode).toBe(404);
    expect(JSON.parse(again.body).error.code).toBe('bot_not_found');
    const page = await h.app.server.inject({ method: 'GET', url: `/webchat/${bot}` });
    expect(page.statusCode).toBe(404);
  });

  it('without active conversations needs no force', async () => {
    const bot = (await admin(h, 'POST', `/projects/${s.project.id}/bots`, { name: 'Idle Bot' })).body.id;
    const res = await admin(h, 'DELETE', `/projects/${s.project.id}/bots/${bot}`);
    expect(res.status).toBe(200);
    expect(res.body.closedConversations).toBe(0);
  });

  it('refuses a force that is not true or false, and unknown bots and projects', async () => {
    const res = await admin(h, 'DELETE', `/projects/${s.project.id}/bots/${s.bot.id}?force=yes`);
    expectError(res, 422, 'unprocessable_entity');
    expect(res.body.validationError).toHaveProperty('force');
    expectError(await admin(h, 'DELETE', `/projects/${s.project.id}/bots/bot_nope`), 404, 'bot_not_found');
    expectError(await admin(h, 'DELETE', `/projects/prj_nope/bots/${s.bot.id}`), 404, 'project_not_found');
  });
});

describe('admin API: deleting an end user', () => {
  let h: Harness;
  let s: Seed;
  beforeAll(async () => {
    h = await createHarness();
    s = await h.seed('Acme');
    await withIntegration(h, s);
  });
  afterAll(async () => h.close());

  it('refuses while a conversation is active, closes it with force, and frees the referenceId', async () => {
    const user = (
      await admin(h, 'POST', `/projects/${s.project.id}/users`, { names: 'Ana', referenceId: 'crm-7' })
    ).body.id;
    const conversationId = await start(h, s, s.bot.id, user);
    const refused = await admin(h, 'DELETE', `/projects/${s.project.id}/users/${user}`);
    expectError(refused, 409, 'active_conversations');
    expect(refused.body.error.developerMessages.es).toContain(conversationId);

    const res = await admin(h, 'DELETE', `/projects/${s.project.id}/users/${user}?force=true`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: user,
      deleted: true,
      deletedAt: expect.stringMatching(ISO_MS),
      closedConversations: 1,
    });
    expect(await conversation(h, s, conversationId)).toMatchObject({
      state: 'closed',
      User: { id: user, names: 'Ana', referenceId: 'crm-7' },
    });
    const mine = (await events(h, s.project.id)).filter((e) => e.conversationId === conversationId);
    expect(mine.map((e) => [e.type, e.status])).toEqual([
      ['conversation.start', 'pending'],
      ['conversation.close', 'pending'],
    ]);

    expectError(await admin(h, 'DELETE', `/projects/${s.project.id}/users/${user}`), 404, 'user_not_found');
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}/users/${user}`, { names: 'x' }),
      404,
      'user_not_found',
    );
    const again = await startStatus(h, s, s.bot.id, user);
    expect(again.statusCode).toBe(404);
    expect(JSON.parse(again.body).error.code).toBe('user_not_found');
    const listed = (await admin(h, 'GET', `/projects/${s.project.id}/users`)).body.items;
    expect(listed.map((u: Json) => u.id)).not.toContain(user);
    // The same person may come back as a new end user.
    const back = await admin(h, 'POST', `/projects/${s.project.id}/users`, {
      names: 'Ana',
      referenceId: 'crm-7',
    });
    expect(back.status).toBe(201);
    expect(back.body.id).not.toBe(user);
  });

  it("ends the deleted user's web chat session", async () => {
    const session = await h.app.server.inject({
      method: 'POST',
      url: `/webchat/${s.bot.id}/sessions`,
      payload: { name: 'Visitor' },
    });
    expect(session.statusCode).toBe(201);
    const { sessionToken, userId } = session.json();
    const history = () =>
      h.app.server.inject({
        method: 'GET',
        url: `/webchat/${s.bot.id}/messages`,
        headers: { authorization: `Bearer ${sessionToken}` },
      });
    expect((await history()).statusCode).toBe(200);
    expect((await admin(h, 'DELETE', `/projects/${s.project.id}/users/${userId}`)).status).toBe(200);
    expect((await history()).statusCode).toBe(401);
  });
});

describe('admin API: deleting a project', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it('refuses while a conversation is active; with force revokes, deletes the integration and cancels its events', async () => {
    const s = await h.seed('Doomed');
    await withIntegration(h, s);
    const conversationId = await start(h, s);
    expectError(await admin(h, 'DELETE', `/projects/${s.project.id}`), 409, 'active_conversations');

    const res = await admin(h, 'DELETE', `/projects/${s.project.id}?force=true`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: s.project.id,
      deleted: true,
      deletedAt: expect.stringMatching(ISO_MS),
      closedConversations: 1,
      revokedCredentials: 1,
      integrationDeleted: true,
      // conversation.start, and the conversation.close this deletion wrote
      cancelledEvents: 2,
    });
    const all = await events(h, s.project.id);
    expect(all.map((e) => [e.type, e.status])).toEqual([
      ['conversation.start', 'cancelled'],
      ['conversation.close', 'cancelled'],
    ]);
    expect((await h.store.queries.conversations.get(s.project.id, conversationId))?.state).toBe('closed');

    // Gone: the admin API, the credentials, the channels.
    expectError(await admin(h, 'GET', `/projects/${s.project.id}`), 404, 'project_not_found');
    expectError(await admin(h, 'DELETE', `/projects/${s.project.id}?force=true`), 404, 'project_not_found');
    expectError(
      await admin(h, 'PATCH', `/projects/${s.project.id}`, { name: 'x' }),
      404,
      'project_not_found',
    );
    expectError(
      await admin(h, 'POST', `/projects/${s.project.id}/bots`, { name: 'x' }),
      404,
      'project_not_found',
    );
    const projects = (await admin(h, 'GET', '/projects')).body.items;
    expect(projects.map((p: Json) => p.id)).not.toContain(s.project.id);
    const api = await callApi(h.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/conversations/${conversationId}`,
      headers: authHeaders(s, 'apiKey'),
    });
    expect(api.statusCode).toBe(401);
    const session = await h.app.server.inject({
      method: 'POST',
      url: `/webchat/${s.bot.id}/sessions`,
      payload: { name: 'Visitor' },
    });
    expect(session.statusCode).toBe(404);
  });

  it('without conversations or integration needs no force', async () => {
    const s = await h.seed('Empty');
    const res = await admin(h, 'DELETE', `/projects/${s.project.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      closedConversations: 0,
      revokedCredentials: 1,
      integrationDeleted: false,
      cancelledEvents: 0,
    });
  });

  it('leaves other projects alone', async () => {
    const keep = await h.seed('Keep');
    const doomed = await h.seed('Gone');
    await start(h, keep);
    expect((await admin(h, 'DELETE', `/projects/${doomed.project.id}`)).status).toBe(200);
    expect((await admin(h, 'GET', `/projects/${keep.project.id}`)).status).toBe(200);
    expect((await startStatus(h, keep, keep.bot.id, keep.user.id)).statusCode).toBe(409);
  });
});
