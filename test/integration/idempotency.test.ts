/**
 * docs/api.md §5.1 — `Idempotency-Key` on every POST: the first answer is stored and replayed byte for
 * byte with `Idempotent-Replay: true` without running the route again; another request under a
 * used key is 422 `idempotency_key_reused`; a key still in flight is 409 `request_in_progress`.
 * Keys are scoped to (project, route); the three prefixes are one route.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { createBot, createEndUser } from '../../src/domain/projects/project.service.js';
import { LOCK_MS, RETENTION_MS } from '../../src/http/idempotency.js';
import { authHeaders, call, errorOf, PREFIXES } from '../helpers/api.js';
import { ADMIN_TOKEN, type Harness, harnessWithTwoProjects, type Seed } from '../helpers/harness.js';

let h: Harness;
let s: Seed;
let other: Seed;

beforeAll(async () => {
  ({ h, s, other } = await harnessWithTwoProjects());
});
afterAll(async () => h.close());

const START_ROUTE = 'POST /external-support/:projectId/conversations/start';
const startUrl = (projectId: string, prefix = '/v1') =>
  `${prefix}/external-support/${projectId}/conversations/start`;
const closeUrl = (projectId: string, prefix = '/v1') =>
  `${prefix}/external-support/${projectId}/conversations/close`;

interface Pair {
  readonly botId: string;
  readonly userId: string;
}

async function freshPair(seed: Seed = s): Promise<Pair> {
  return h.store.transaction(async (tx) => {
    const bot = await createBot(tx, seed.project.id, 'Sales Bot', 'webchat', Date.now());
    const user = await createEndUser(tx, seed.project.id, 'João Souza', null, Date.now());
    return { botId: bot.id, userId: user.id };
  });
}

function post(url: string, seed: Seed, body: unknown, key?: string, app: App = h.app) {
  return call(app, {
    url,
    headers: { ...authHeaders(seed, 'apiKey'), ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body,
  });
}

async function conversationsOf(seed: Seed, pair: Pair) {
  const page = await h.store.queries.conversations.list(seed.project.id, pair, { limit: 100 });
  return page.items;
}

async function eventCount(seed: Seed, conversationId: string): Promise<number> {
  const page = await h.store.queries.outbox.list(seed.project.id, { conversationId }, { limit: 100 });
  return page.items.length;
}

/** buildApp on the harness's database, with extra routes registered before it is ready. */
async function appWith(routes: (scope: FastifyInstance) => void = () => {}): Promise<App> {
  const app = await buildApp({ config: h.config, store: h.store, logger: pino({ level: 'silent' }) });
  await app.server.register(async (scope) => routes(scope), { prefix: '/v1' });
  await app.server.ready();
  return app;
}

describe('replay', () => {
  it('replays start-conversation byte for byte, without a second conversation or event', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(startUrl(s.project.id), s, pair, key);
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replay']).toBeUndefined();

    const again = await post(startUrl(s.project.id), s, pair, key);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.body).toBe(first.body);
    // Each answer keeps its own request id.
    expect(again.headers['x-request-id']).not.toBe(first.headers['x-request-id']);

    const conversations = await conversationsOf(s, pair);
    expect(conversations.map((c) => c.id)).toEqual([first.json().data.conversationId]);
    expect(await eventCount(s, first.json().data.conversationId)).toBe(1);
  });

  it('changes nothing without the header', async () => {
    const pair = await freshPair();
    const first = await post(startUrl(s.project.id), s, pair);
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replay']).toBeUndefined();
    const second = await post(startUrl(s.project.id), s, pair);
    expect(second.statusCode).toBe(409);
    expect(errorOf(second).error.code).toBe('conversation_already_active');
  });

  it('treats the three prefixes as one route', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(startUrl(s.project.id, PREFIXES[0]), s, pair, key);
    expect(first.statusCode).toBe(200);
    for (const prefix of PREFIXES.slice(1)) {
      const again = await post(startUrl(s.project.id, prefix), s, pair, key);
      expect(again.statusCode, prefix).toBe(200);
      expect(again.headers['idempotent-replay'], prefix).toBe('true');
      expect(again.body, prefix).toBe(first.body);
    }
    expect(await conversationsOf(s, pair)).toHaveLength(1);
  });

  it('replays a 404 even after the state that caused it changed', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(closeUrl(s.project.id), s, pair, key);
    expect(first.statusCode).toBe(404);
    expect(errorOf(first).error.code).toBe('conversation_not_found');

    const started = await post(startUrl(s.project.id), s, pair);
    expect(started.statusCode).toBe(200);

    const again = await post(closeUrl(s.project.id), s, pair, key);
    expect(again.statusCode).toBe(404);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toBe(first.body);
    const [conversation] = await conversationsOf(s, pair);
    expect(conversation?.state).toBe('active');
  });

  it('replays a 422 for an invalid body, and refuses a corrected body under the same key', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(startUrl(s.project.id), s, { botId: pair.botId }, key);
    expect(first.statusCode).toBe(422);
    expect(errorOf(first).validationError).toHaveProperty('userId');

    const again = await post(startUrl(s.project.id), s, { botId: pair.botId }, key);
    expect(again.statusCode).toBe(422);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toBe(first.body);

    const corrected = await post(startUrl(s.project.id), s, pair, key);
    expect(corrected.statusCode).toBe(422);
    expect(errorOf(corrected).error.code).toBe('idempotency_key_reused');
    expect(await conversationsOf(s, pair)).toHaveLength(0);
  });

  it('replays a 409 conversation_already_active', async () => {
    const pair = await freshPair();
    expect((await post(startUrl(s.project.id), s, pair)).statusCode).toBe(200);
    const key = randomUUID();
    const first = await post(startUrl(s.project.id), s, pair, key);
    expect(first.statusCode).toBe(409);
    const again = await post(startUrl(s.project.id), s, pair, key);
    expect(again.statusCode).toBe(409);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toBe(first.body);
  });
});

describe('refusals', () => {
  it('answers 422 idempotency_key_reused for another body under a used key', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    expect((await post(startUrl(s.project.id), s, pair, key)).statusCode).toBe(200);

    const res = await post(startUrl(s.project.id), s, { ...pair, initialMessage: 'Olá' }, key);
    expect(res.statusCode).toBe(422);
    expect(res.headers['idempotent-replay']).toBeUndefined();
    const body = errorOf(res);
    expect(body.error.code).toBe('idempotency_key_reused');
    expect(body.status).toBe(0);
    expect(await conversationsOf(s, pair)).toHaveLength(1);
  });

  it('answers 422 for the same body with the same JSON spelled differently (raw bytes are compared)', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const text = JSON.stringify(pair);
    expect((await post(startUrl(s.project.id), s, text, key)).statusCode).toBe(200);
    const spaced = JSON.stringify(pair, null, 2);
    const res = await post(startUrl(s.project.id), s, spaced, key);
    expect(res.statusCode).toBe(422);
    expect(errorOf(res).error.code).toBe('idempotency_key_reused');
  });

  const invalid: Array<[string, string]> = [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a control character', 'key\twith-tab'],
    ['a non-ASCII character', 'clé'],
  ];
  for (const [what, key] of invalid) {
    it(`answers 422 for a key with ${what}, before running the route`, async () => {
      const pair = await freshPair();
      const res = await post(startUrl(s.project.id), s, pair, key);
      expect(res.statusCode).toBe(422);
      const body = errorOf(res);
      expect(body.error.code).toBe('unprocessable_entity');
      expect(Object.keys(body.validationError)).toEqual(['Idempotency-Key']);
      expect(body.validationError['Idempotency-Key']?.length).toBeGreaterThan(0);
      expect(await conversationsOf(s, pair)).toHaveLength(0);
    });
  }

  it('accepts a key of 255 printable characters', async () => {
    const pair = await freshPair();
    const key = `${' !"#~'.repeat(51)}`;
    expect(key).toHaveLength(255);
    expect((await post(startUrl(s.project.id), s, pair, key)).statusCode).toBe(200);
    expect((await post(startUrl(s.project.id), s, pair, key)).headers['idempotent-replay']).toBe('true');
  });

  it('authenticates first: a 401 is neither refused for its key nor stored', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const bad = await call(h.app, {
      url: startUrl(s.project.id),
      headers: { 'x-api-key': 'rlvk_nope_nope', 'idempotency-key': key },
      body: pair,
    });
    expect(bad.statusCode).toBe(401);
    const invalidKey = await call(h.app, {
      url: startUrl(s.project.id),
      headers: { 'x-api-key': 'rlvk_nope_nope', 'idempotency-key': '' },
      body: pair,
    });
    expect(invalidKey.statusCode).toBe(401);
    const good = await post(startUrl(s.project.id), s, pair, key);
    expect(good.statusCode).toBe(200);
    expect(good.headers['idempotent-replay']).toBeUndefined();
  });
});

describe('scope', () => {
  it('keeps the same key in two projects apart', async () => {
    const key = randomUUID();
    const mine = await freshPair(s);
    const theirs = await freshPair(other);
    const a = await post(startUrl(s.project.id), s, mine, key);
    const b = await post(startUrl(other.project.id), other, theirs, key);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(b.headers['idempotent-replay']).toBeUndefined();
    expect(b.json().data.conversationId).not.toBe(a.json().data.conversationId);
  });

  it('keeps the same key on two routes apart, even with the same body', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const started = await post(startUrl(s.project.id), s, pair, key);
    expect(started.statusCode).toBe(200);
    const closed = await post(closeUrl(s.project.id), s, pair, key);
    expect(closed.statusCode).toBe(200);
    expect(closed.headers['idempotent-replay']).toBeUndefined();
    expect(closed.json().data.status).toBe('closed');
  });

  it('covers the admin API, in one scope of its own', async () => {
    const key = randomUUID();
    const name = `Idempotent ${key}`;
    const send = () =>
      h.app.server.inject({
        method: 'POST',
        url: '/admin/v1/projects',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'idempotency-key': key },
        payload: { name },
      });
    const first = await send();
    expect(first.statusCode).toBe(201);
    const again = await send();
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replay']).toBe('true');
    // The same project, its credentials' secrets not shown again.
    expect(again.json()).toEqual({ ...first.json(), apiKey: null, clientSecret: null });
    const projects = await h.store.queries.projects.list({ limit: 1000 });
    expect(projects.items.filter((p) => p.name === name)).toHaveLength(1);
  });

  it('covers the signed send-message route, scoped by the verified project_id', async () => {
    const created = await post(`/v1/external-support/${s.project.id}`, s, {
      webhookUrl: 'http://127.0.0.1:9/hook',
    });
    expect(created.statusCode).toBe(200);
    const secret: string = created.json().data.signingSecret;
    const now = Date.now();
    const pair = await freshPair();
    const roomId = await h.store.transaction(async (tx) => {
      const { conversation } = await startConversation(tx, { projectId: s.project.id, ...pair, now });
      return conversation.roomId;
    });
    const body = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: s.project.id,
      room_id: roomId,
      bot_id: pair.botId,
      user_id: pair.userId,
      value: { id: `panel-${randomUUID()}`, type: 'text', content: { body: 'Hello' } },
    });
    const key = randomUUID();
    const send = (signature: string) =>
      call(h.app, {
        url: '/jelouapi/v1/external-support/webhook',
        headers: { 'x-jelou-signature': signature, 'idempotency-key': key },
        body,
      });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

    // An unverifiable request neither claims nor reads the key.
    const forged = await send(`sha256=${'0'.repeat(64)}`);
    expect(forged.statusCode).toBe(401);
    expect(errorOf(forged).error.code).toBe('invalid_signature');

    const first = await send(signature);
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replay']).toBeUndefined();
    const again = await send(signature);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toBe(first.body);

    const forgedAfter = await send(`sha256=${'0'.repeat(64)}`);
    expect(forgedAfter.statusCode).toBe(401);
    expect(forgedAfter.headers['idempotent-replay']).toBeUndefined();
  });
});

describe('secrets are shown once: a replay gives them as null', () => {
  type Res = Awaited<ReturnType<typeof post>>;
  const at = (json: unknown, path: string): unknown =>
    path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], json);
  const withNulls = (json: unknown, paths: string[]): unknown => {
    const copy = structuredClone(json) as Record<string, unknown>;
    for (const path of paths) {
      const keys = path.split('.');
      const last = keys.pop()!;
      (keys.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], copy) as Record<string, unknown>)[
        last
      ] = null;
    }
    return copy;
  };

  /** The first answer shows each secret; the replay is the same answer with those set to null. */
  async function expectRedactedReplay(send: () => Promise<Res>, paths: string[]): Promise<string[]> {
    const first = await send();
    expect(first.statusCode).toBeLessThan(300);
    expect(first.headers['idempotent-replay']).toBeUndefined();
    expect(first.headers['idempotent-replay-redacted']).toBeUndefined();
    const secrets = paths.map((p) => at(first.json(), p) as string);
    for (const secret of secrets) expect(secret).toMatch(/^\S{32,}$/);
    const again = await send();
    expect(again.statusCode).toBe(first.statusCode);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.headers['idempotent-replay-redacted']).toBe(paths.join(', '));
    expect(again.json()).toEqual(withNulls(first.json(), paths));
    for (const secret of secrets) expect(again.body.includes(secret)).toBe(false);
    return secrets;
  }

  const admin =
    (url: string, key: string, body: unknown = {}) =>
    () =>
      call(h.app, { url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'idempotency-key': key }, body });

  it('§4.1 create integration: the signingSecret is not replayed, nor kept with the key', async () => {
    const seed = await h.seed('Secretive');
    const key = randomUUID();
    const [secret] = await expectRedactedReplay(
      () =>
        post(`/v1/external-support/${seed.project.id}`, seed, { webhookUrl: 'http://127.0.0.1:9/hook' }, key),
      ['data.signingSecret'],
    );
    // What is kept for 24 h holds no secret.
    const kept = await h.store.queries.idempotency.claim({
      projectId: seed.project.id,
      route: 'POST /external-support/:projectId',
      key,
      holder: 'test',
      requestHash: 'any',
      now: Date.now(),
      lockedUntil: Date.now() + LOCK_MS,
      expiresAt: Date.now() + RETENTION_MS,
    });
    expect(kept.claimed).toBe(false);
    const stored = kept.claimed ? undefined : kept.record.response;
    expect(stored?.body.includes(secret!)).toBe(false);
    expect(JSON.parse(stored!.body).data.signingSecret).toBeNull();
  });

  it('§4.5 regenerate: the new signingSecret is not replayed', async () => {
    const seed = await h.seed('Regenerating');
    expect(
      (await post(`/v1/external-support/${seed.project.id}`, seed, { webhookUrl: 'http://127.0.0.1:9/hook' }))
        .statusCode,
    ).toBe(200);
    const key = randomUUID();
    await expectRedactedReplay(
      () => post(`/v1/external-support/${seed.project.id}/secret/regenerate`, seed, {}, key),
      ['data.signingSecret'],
    );
  });

  it("admin: a new project's and a new credential's apiKey and clientSecret are not replayed", async () => {
    const key = randomUUID();
    await expectRedactedReplay(admin('/admin/v1/projects', key, { name: `Shown once ${key}` }), [
      'apiKey',
      'clientSecret',
    ]);
    await expectRedactedReplay(admin(`/admin/v1/projects/${s.project.id}/credentials`, randomUUID()), [
      'apiKey',
      'clientSecret',
    ]);
  });

  it('admin: a regenerated channel signingKey is not replayed', async () => {
    const bot = await call(h.app, {
      url: `/admin/v1/projects/${s.project.id}/bots`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { name: 'App', channel: 'http' },
    });
    expect(bot.statusCode).toBe(201);
    await expectRedactedReplay(
      admin(
        `/admin/v1/projects/${s.project.id}/bots/${bot.json().id}/channel/signing-key/regenerate`,
        randomUUID(),
      ),
      ['signingKey'],
    );
  });

  it('keeps the exact bytes of an answer without a secret', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(startUrl(s.project.id), s, pair, key);
    const again = await post(startUrl(s.project.id), s, pair, key);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replay-redacted']).toBeUndefined();
  });

  it("replays client data that only borrows a secret's name exactly: a retried delivery's payload", async () => {
    // The retry answer holds the event as sent, and with it the metadata the panel chose: a
    // field there named like a secret is the panel's own data, not one relevo hands out.
    const seed = await h.seed('Borrowed names');
    expect(
      (await post(`/v1/external-support/${seed.project.id}`, seed, { webhookUrl: 'http://127.0.0.1:9/hook' }))
        .statusCode,
    ).toBe(200);
    const metadata = { signingSecret: 'the panel’s own', apiKey: 'k-1', nested: { sessionToken: 't-1' } };
    const pair = await freshPair(seed);
    const started = await post(startUrl(seed.project.id), seed, { ...pair, metadata });
    expect(started.statusCode).toBe(200);
    const { conversationId } = started.json().data as { conversationId: string };
    const events = await h.store.queries.outbox.list(seed.project.id, { conversationId }, { limit: 10 });
    const eventId = events.items[0]!.id;
    const key = randomUUID();
    const retry = () =>
      post(`/v1/external-support/${seed.project.id}/deliveries/${eventId}/retry`, seed, {}, key);
    const first = await retry();
    expect(first.statusCode).toBe(200);
    expect(first.json().data.payload.value.metadata).toEqual(metadata);
    const again = await retry();
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.headers['idempotent-replay-redacted']).toBeUndefined();
    expect(again.body).toBe(first.body);
  });

  it('still redacts a secret that an answer carries where its schema does not say so', async () => {
    // Answers are pre-serialised: a schema documents them but does not filter them, so a field
    // it forgot is caught by its name. Only an object the schema leaves open is the client's.
    const secretBody = JSON.stringify({
      data: { id: 'x1', apiKey: 'k-secret', metadata: { apiKey: 'mine' } },
    });
    const app = await appWith((scope) => {
      scope.post(
        '/external-support/:projectId/test/undeclared',
        {
          schema: {
            response: {
              200: {
                type: 'object',
                properties: {
                  data: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' },
                      metadata: { type: 'object', additionalProperties: true },
                    },
                  },
                },
              },
            },
          },
        },
        async (_request, reply) =>
          reply
            .type('application/json; charset=utf-8')
            .serializer((p: unknown) => p as string)
            .send(secretBody),
      );
    });
    try {
      const url = `/v1/external-support/${s.project.id}/test/undeclared`;
      const key = randomUUID();
      const first = await post(url, s, {}, key, app);
      expect(first.body).toBe(secretBody);
      const again = await post(url, s, {}, key, app);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.headers['idempotent-replay-redacted']).toBe('data.apiKey');
      expect(again.body).toBe('{"data":{"id":"x1","apiKey":null,"metadata":{"apiKey":"mine"}}}');
    } finally {
      await app.server.close();
    }
  });

  it('documents the redaction header only on answers that carry a secret', async () => {
    const doc = (await h.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const headersOf = (path: string, status: string) =>
      Object.keys(doc.paths[path].post.responses[status].headers ?? {});
    expect(headersOf('/jelouapi/v1/external-support/{projectId}', '200')).toContain(
      'Idempotent-Replay-Redacted',
    );
    expect(headersOf('/jelouapi/v1/external-support/{projectId}/secret/regenerate', '200')).toContain(
      'Idempotent-Replay-Redacted',
    );
    expect(headersOf('/jelouapi/v1/external-support/{projectId}/conversations/start', '200')).not.toContain(
      'Idempotent-Replay-Redacted',
    );
  });
});

describe('concurrency and failures', () => {
  it('runs one of many simultaneous duplicates; the others are 409 request_in_progress or replays', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => post(startUrl(s.project.id), s, pair, key)),
    );
    const fresh = results.filter((r) => r.statusCode === 200 && r.headers['idempotent-replay'] === undefined);
    expect(fresh).toHaveLength(1);
    for (const r of results) {
      if (r === fresh[0]) continue;
      if (r.statusCode === 409) {
        expect(errorOf(r).error.code).toBe('request_in_progress');
        expect(r.headers['retry-after']).toBe('1');
      } else {
        expect(r.statusCode).toBe(200);
        expect(r.headers['idempotent-replay']).toBe('true');
        expect(r.body).toBe(fresh[0]?.body);
      }
    }
    const conversations = await conversationsOf(s, pair);
    expect(conversations).toHaveLength(1);
    expect(await eventCount(s, conversations[0]?.id ?? '')).toBe(1);
  });

  it('answers 409 request_in_progress with Retry-After while the first request runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const running = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let runs = 0;
    const app = await appWith((scope) => {
      scope.post('/external-support/:projectId/test/slow', async (_request, reply) => {
        runs += 1;
        entered();
        await gate;
        return reply.type('application/json; charset=utf-8').send(`{"run":${runs}}`);
      });
    });
    try {
      const url = `/v1/external-support/${s.project.id}/test/slow`;
      const key = randomUUID();
      const first = post(url, s, { a: 1 }, key, app);
      await running;
      const during = await post(url, s, { a: 1 }, key, app);
      expect(during.statusCode).toBe(409);
      expect(errorOf(during).error.code).toBe('request_in_progress');
      expect(during.headers['retry-after']).toBe('1');
      // Another body is refused as such even while the first runs.
      const otherBody = await post(url, s, { a: 2 }, key, app);
      expect(errorOf(otherBody).error.code).toBe('idempotency_key_reused');

      release();
      const done = await first;
      expect(done.statusCode).toBe(200);
      expect(done.body).toBe('{"run":1}');
      const after = await post(url, s, { a: 1 }, key, app);
      expect(after.headers['idempotent-replay']).toBe('true');
      expect(after.body).toBe('{"run":1}');
      expect(runs).toBe(1);
    } finally {
      release();
      await app.server.close();
    }
  });

  it('does not store a 5xx: the retry runs the route again, and its answer is kept', async () => {
    let runs = 0;
    const app = await appWith((scope) => {
      scope.post('/external-support/:projectId/test/flaky', async (_request, reply) => {
        runs += 1;
        if (runs === 1) throw new Error('the first attempt fails');
        return reply.type('application/json; charset=utf-8').send(`{"run":${runs}}`);
      });
    });
    try {
      const url = `/v1/external-support/${s.project.id}/test/flaky`;
      const key = randomUUID();
      const failed = await post(url, s, { a: 1 }, key, app);
      expect(failed.statusCode).toBe(500);
      expect(errorOf(failed).error.code).toBe('internal_server_error');

      const retried = await post(url, s, { a: 1 }, key, app);
      expect(retried.statusCode).toBe(200);
      expect(retried.headers['idempotent-replay']).toBeUndefined();
      expect(retried.body).toBe('{"run":2}');

      const replayed = await post(url, s, { a: 1 }, key, app);
      expect(replayed.headers['idempotent-replay']).toBe('true');
      expect(replayed.body).toBe('{"run":2}');
      expect(runs).toBe(2);
    } finally {
      await app.server.close();
    }
  });
});

describe('lifetime', () => {
  it('forgets a key past its retention: the key works again for a new request', async () => {
    const key = randomUUID();
    const past = Date.now() - RETENTION_MS - 60_000;
    const claimed = await h.store.queries.idempotency.claim({
      projectId: s.project.id,
      route: START_ROUTE,
      key,
      requestHash: 'an older request',
      now: past,
      lockedUntil: past + LOCK_MS,
      expiresAt: past + RETENTION_MS,
      holder: 'the older request',
    });
    expect(claimed.claimed).toBe(true);
    await h.store.queries.idempotency.complete(
      { projectId: s.project.id, route: START_ROUTE, key, holder: 'the older request' },
      { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"old":true}' },
    );

    const pair = await freshPair();
    const res = await post(startUrl(s.project.id), s, pair, key);
    expect(res.statusCode).toBe(200);
    expect(res.headers['idempotent-replay']).toBeUndefined();
    expect(res.json().data.botId).toBe(pair.botId);
    const again = await post(startUrl(s.project.id), s, pair, key);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(again.body).toBe(res.body);
  });

  it('takes over the claim of a request that died in flight', async () => {
    const key = randomUUID();
    const past = Date.now() - 2 * LOCK_MS;
    await h.store.queries.idempotency.claim({
      projectId: s.project.id,
      route: START_ROUTE,
      key,
      requestHash: 'whatever the dead request was',
      now: past,
      lockedUntil: past + LOCK_MS,
      expiresAt: past + RETENTION_MS,
      holder: 'the dead request',
    });

    const pair = await freshPair();
    const res = await post(startUrl(s.project.id), s, pair, key);
    expect(res.statusCode).toBe(200);
    expect(res.headers['idempotent-replay']).toBeUndefined();
    expect(await conversationsOf(s, pair)).toHaveLength(1);
  });

  it('a request whose claim was taken over cannot complete or release it when it finishes late', async () => {
    const key = randomUUID();
    const id = { projectId: s.project.id, route: START_ROUTE, key };
    const past = Date.now() - 2 * LOCK_MS;
    const claim = (holder: string, now: number) =>
      h.store.queries.idempotency.claim({
        ...id,
        requestHash: 'the same request',
        now,
        lockedUntil: now + LOCK_MS,
        expiresAt: now + RETENTION_MS,
        holder,
      });
    const answer = (body: string) => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
    expect((await claim('slow', past)).claimed).toBe(true);
    // Its lock lapsed: a retry takes the key over.
    expect((await claim('retry', Date.now())).claimed).toBe(true);

    // The slow one finishes late: neither its answer nor its release touches the retry's claim.
    await h.store.queries.idempotency.complete({ ...id, holder: 'slow' }, answer('{"from":"slow"}'));
    await h.store.queries.idempotency.release({ ...id, holder: 'slow' });
    const during = await claim('third', Date.now());
    expect(during).toMatchObject({ claimed: false, record: { state: 'in_flight', response: null } });

    await h.store.queries.idempotency.complete({ ...id, holder: 'retry' }, answer('{"from":"retry"}'));
    const after = await claim('fourth', Date.now());
    expect(after).toMatchObject({
      claimed: false,
      record: { state: 'done', response: { body: '{"from":"retry"}' } },
    });
  });

  it('replays after a restart: another app on the same database', async () => {
    const pair = await freshPair();
    const key = randomUUID();
    const first = await post(startUrl(s.project.id), s, pair, key);
    expect(first.statusCode).toBe(200);

    const restarted = await appWith();
    try {
      const again = await post(startUrl(s.project.id), s, pair, key, restarted);
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.body).toBe(first.body);
    } finally {
      await restarted.server.close();
    }
    expect(await conversationsOf(s, pair)).toHaveLength(1);
  });
});

describe('OpenAPI document', () => {
  it('documents the request header and the replay header on POST routes', async () => {
    const res = await h.app.server.inject({ method: 'GET', url: '/openapi.json' });
    // biome-ignore lint/suspicious/noExplicitAny: the document is read loosely and asserted on.
    const doc: any = res.json();
    const op = doc.paths['/jelouapi/v1/external-support/{projectId}/conversations/start'].post;
    expect(op.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]),
    );
    expect(op.parameters.find((p: { name: string }) => p.name === 'Idempotency-Key').required).toBeFalsy();
    expect(op.responses['200'].headers['Idempotent-Replay']).toBeDefined();
    const get = doc.paths['/jelouapi/v1/external-support/{projectId}/conversations'].get;
    expect(JSON.stringify(get.parameters ?? [])).not.toContain('Idempotency-Key');
  });
});
