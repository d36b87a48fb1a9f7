/**
 * Any JSON round-trips: strings holding U+0000 (`\u0000`) and unpaired surrogates (`\ud800`) —
 * valid JSON, RFC 8259 §7 — in metadata (keys and values), the initial message, the assignment,
 * message content both ways and a redirect text come back exactly as JSON.parse then
 * JSON.stringify would give them: in the webhook events a real receiver gets, in GET
 * conversation (§4.8) and in the transcript, on SQLite and on PostgreSQL. Names (a project's, a
 * bot's, an end user's, a web chat visitor's) are the client's data too and round-trip the same
 * way; ids, stored as plain text, refuse them with a 422 on both.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/domain/projects/project.service.js';
import { authHeaders, call, createIntegration } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

/** NUL, both kinds of unpaired surrogate, a real pair, and a backslash for good measure. */
const TRICKY = '\u0000a\ud800b\udfffc\ud83d\ude00\\u0000\u0000';
const METADATA = {
  [`key\u0000${'\ud800'}`]: TRICKY,
  nested: { list: [TRICKY, '\u0000', '\udc00'], '\udbff': null, n: 1.5 },
};

const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

let h: Harness;
let panel: Receiver;
let channel: Receiver;
let s: Seed;
let secret: string;
let bot: { id: string; key: string };

beforeAll(async () => {
  panel = await startReceiver();
  channel = await startReceiver();
  h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,30ms,30ms' }, { worker: true });
  s = await h.seed('Acme');
  secret = (await createIntegration(h.app, s, panel.url)).signingSecret;
  const key = 'channel-key-round-trip';
  bot = await h.store.transaction(async (tx) => {
    const now = Date.now();
    const b = await createBot(tx, s.project.id, 'Shop Bot', 'http', now);
    await tx.bots.putChannel({
      botId: b.id,
      webhookUrl: channel.url,
      signingKey: key,
      createdAt: now,
      updatedAt: now,
    });
    return { id: b.id, key };
  });
});
afterAll(async () => {
  await h?.close();
  await panel?.close();
  await channel?.close();
});

type Json = Record<string, unknown>;

/** The first request `r` got whose parsed body satisfies `match`, with its raw text. */
async function arrived(r: Receiver, match: (body: Json) => boolean): Promise<{ raw: string; body: Json }> {
  return eventually(
    async () =>
      r.received.map((x) => ({ raw: x.body, body: JSON.parse(x.body) as Json })).find((x) => match(x.body)),
    (x) => x !== undefined,
  ) as Promise<{ raw: string; body: Json }>;
}

/** The value came back deep-equal, and its JSON text appears byte for byte in what was sent. */
function expectSame(raw: string, got: unknown, sent: unknown): void {
  expect(got).toEqual(sent);
  expect(JSON.stringify(got)).toBe(JSON.stringify(sent));
  expect(raw).toContain(JSON.stringify(sent));
}

async function userSays(referenceId: string, content: Json) {
  const raw = JSON.stringify({ referenceId, message: { type: 'text', content } });
  return call(h.app, {
    url: `/v1/custom-channel/${bot.id}`,
    headers: { 'x-jelou-signature': sign(raw, bot.key) },
    body: raw,
  });
}

describe('NUL and unpaired surrogates in client data round-trip', () => {
  it('through start, the events, GET conversation, the transcript, both directions of messages and close', async () => {
    const ref = `customer-${Date.now()}`;
    // First contact creates the end user and the room (the bot answers it).
    const first = await userSays(ref, { body: 'hello' });
    expect(first.statusCode, first.body).toBe(202);
    const roomId = first.json().data.roomId as string;
    const user = await h.store.queries.endUsers.getByReference(s.project.id, ref);
    if (user === undefined) throw new Error('no end user');

    // Start (§4.6) with every client string tricky.
    const assignment = { type: 'queue', target: TRICKY };
    const started = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/start`,
      headers: authHeaders(s, 'apiKey'),
      body: { botId: bot.id, userId: user.id, initialMessage: TRICKY, metadata: METADATA, assignment },
    });
    expect(started.statusCode, started.body).toBe(200);
    const conversationId = started.json().data.conversationId as string;

    const start = await arrived(panel, (b) => b.event === 'conversation.start' && b.room_id === roomId);
    const value = start.body.value as Json;
    expectSame(start.raw, value.metadata, METADATA);
    expectSame(start.raw, value.initial_message, TRICKY);
    expectSame(start.raw, (start.body.conversation as Json).assignment, assignment);
    // The initial message reaches the end user through the channel.
    const initial = await arrived(channel, (b) => ((b.message as Json)?.content as Json)?.body === TRICKY);
    expectSame(initial.raw, (initial.body.message as Json).content, { body: TRICKY });

    // GET conversation (§4.8).
    const got = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/conversations/${conversationId}`,
      headers: authHeaders(s, 'apiKey'),
    });
    expect(got.statusCode).toBe(200);
    expectSame(got.body, got.json().data.metadata, METADATA);
    expectSame(got.body, got.json().data.assignment, assignment);

    // The end user writes (§4.9 `message` event to the panel).
    const fromUser = { body: `${TRICKY} from the user` };
    expect((await userSays(ref, fromUser)).statusCode).toBe(202);
    const message = await arrived(panel, (b) => b.event_type === 'message' && b.room_id === roomId);
    expectSame(message.raw, (message.body.value as Json).content, fromUser);

    // The panel writes (§4.10), to the end user through the channel.
    const toUser = { body: `${TRICKY} from the panel` };
    const raw = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: s.project.id,
      room_id: roomId,
      bot_id: bot.id,
      user_id: user.id,
      value: { id: 'panel-msg-1', type: 'text', content: toUser },
    });
    const sent = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': sign(raw, secret) },
      body: raw,
    });
    expect(sent.statusCode, sent.body).toBe(200);
    const delivered = await arrived(channel, (b) => (b.message as Json)?.id === sent.json().data.messageId);
    expectSame(delivered.raw, (delivered.body.message as Json).content, toUser);

    // Close with a text redirect.
    const redirectPayload = { type: 'text', text: `${TRICKY} bye` };
    const closed = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/close`,
      headers: authHeaders(s, 'apiKey'),
      body: { botId: bot.id, userId: user.id, redirectPayload },
    });
    expect(closed.statusCode, closed.body).toBe(200);
    const close = await arrived(panel, (b) => b.event === 'conversation.close' && b.room_id === roomId);
    expectSame(close.raw, (close.body.value as Json).redirect_payload, redirectPayload);

    // The transcript holds every message exactly.
    const transcript = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/conversations/${conversationId}/messages`,
      headers: authHeaders(s, 'apiKey'),
    });
    expect(transcript.statusCode).toBe(200);
    const contents = (transcript.json().data.items as Array<{ content: Json }>).map((m) => m.content);
    expect(contents).toEqual([{ body: TRICKY }, fromUser, toUser, { body: redirectPayload.text }]);
    for (const c of contents) expect(transcript.body).toContain(JSON.stringify(c));
  });
});

describe('NUL and unpaired surrogates in names round-trip', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  /** NUL, both unpaired surrogates, a real pair, non-ASCII, a quote and a backslash. */
  const NAME = 'Mar\u0000ía \ud800 Ωmega\udc00 😀 "\\u0000" ñ';
  const adminCall = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: Json) =>
    call(h.app, { method, url: `/admin/v1${url}`, headers: admin, ...(body ? { body } : {}) });

  /** `got` is the name sent, and the raw answer holds it as JSON.stringify writes it. */
  function expectName(raw: string, got: unknown, sent: string): void {
    expect(got).toBe(sent);
    expect(raw).toContain(JSON.stringify(sent));
  }

  it('through the admin API, GET conversation (§4.8) and the conversation.start event', async () => {
    const created = await adminCall('POST', '/projects', { name: `Project ${NAME}` });
    expect(created.statusCode, created.body).toBe(201);
    const project = created.json() as { id: string; apiKey: string };
    const shown = await adminCall('GET', `/projects/${project.id}`);
    expectName(shown.body, shown.json().name, `Project ${NAME}`);
    const renamed = await adminCall('PATCH', `/projects/${project.id}`, { name: `Renamed ${NAME}` });
    expect(renamed.statusCode, renamed.body).toBe(200);
    const listed = await adminCall('GET', '/projects?limit=100');
    const entry = (listed.json().items as Array<{ id: string; name: string }>).find(
      (p) => p.id === project.id,
    );
    expectName(listed.body, entry?.name, `Renamed ${NAME}`);

    const withPanel = await call(h.app, {
      url: `/v1/external-support/${project.id}`,
      headers: { 'x-api-key': project.apiKey },
      body: { webhookUrl: panel.url },
    });
    expect(withPanel.statusCode, withPanel.body).toBe(200);

    const botRes = await adminCall('POST', `/projects/${project.id}/bots`, { name: `Old ${NAME}` });
    expect(botRes.statusCode, botRes.body).toBe(201);
    const botId = botRes.json().id as string;
    const botRenamed = await adminCall('PATCH', `/projects/${project.id}/bots/${botId}`, {
      name: `Bot ${NAME}`,
    });
    expectName(botRenamed.body, botRenamed.json().name, `Bot ${NAME}`);
    const bots = await adminCall('GET', `/projects/${project.id}/bots`);
    expectName(bots.body, bots.json().items[0].name, `Bot ${NAME}`);

    const userRes = await adminCall('POST', `/projects/${project.id}/users`, { names: `Old ${NAME}` });
    expect(userRes.statusCode, userRes.body).toBe(201);
    const userId = userRes.json().id as string;
    const userUpdated = await adminCall('PATCH', `/projects/${project.id}/users/${userId}`, {
      names: `User ${NAME}`,
    });
    expectName(userUpdated.body, userUpdated.json().names, `User ${NAME}`);
    const users = await adminCall('GET', `/projects/${project.id}/users`);
    expectName(users.body, users.json().items[0].names, `User ${NAME}`);

    // A web chat visitor names themselves when the session opens.
    const session = await call(h.app, {
      url: `/webchat/${botId}/sessions`,
      body: { name: `Visitor ${NAME}` },
    });
    expect(session.statusCode, session.body).toBe(201);
    const visitorId = session.json().userId as string;

    for (const [id, names] of [
      [userId, `User ${NAME}`],
      [visitorId, `Visitor ${NAME}`],
    ] as const) {
      const started = await call(h.app, {
        url: `/v1/external-support/${project.id}/conversations/start`,
        headers: { 'x-api-key': project.apiKey },
        body: { botId, userId: id },
      });
      expect(started.statusCode, started.body).toBe(200);
      const conversationId = started.json().data.conversationId as string;

      const got = await call(h.app, {
        method: 'GET',
        url: `/v1/external-support/${project.id}/conversations/${conversationId}`,
        headers: { 'x-api-key': project.apiKey },
      });
      expect(got.statusCode).toBe(200);
      expectName(got.body, got.json().data.User.names, names);
      expectName(got.body, got.json().data.Bot.name, `Bot ${NAME}`);

      const start = await arrived(
        panel,
        (b) => b.event === 'conversation.start' && (b.conversation as Json).id === conversationId,
      );
      expect(start.body.contact).toEqual({ id, name: names });
      expect(start.body.bot).toEqual({ id: botId, name: `Bot ${NAME}` });
      expect(start.raw).toContain(`"contact":${JSON.stringify({ id, name: names })}`);
      expect(start.raw).toContain(`"bot":${JSON.stringify({ id: botId, name: `Bot ${NAME}` })}`);
    }
  });
});

describe('ids, stored as plain text, refuse them with a 422', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  it.each(['\u0000', '\ud800', 'a\udfffb'])('%j', async (bad) => {
    const user = await call(h.app, {
      url: `/admin/v1/projects/${s.project.id}/users`,
      headers: admin,
      body: { names: 'Ana', referenceId: `ref${bad}` },
    });
    expect(user.statusCode, user.body).toBe(422);
    // The http channel's referenceId names the end user.
    expect((await userSays(`ref${bad}`, { body: 'hi' })).statusCode).toBe(422);
    const integration = await call(h.app, {
      method: 'PATCH',
      url: `/v1/external-support/${s.project.id}`,
      headers: authHeaders(s, 'apiKey'),
      body: { authType: 'bearer', authorization: `tok${bad}` },
    });
    expect(integration.statusCode, integration.body).toBe(400);
    expect(integration.json().validationError.authorization).toBeDefined();
    // Nothing was stored: the same requests without the character succeed.
    const ok = await call(h.app, { url: '/admin/v1/projects', headers: admin, body: { name: 'P' } });
    expect(ok.statusCode).toBe(201);
  });

  it('a delete keyed by one removes nothing and refuses nothing, the same on both databases', async () => {
    for (const bad of ['\u0000', '\ud800']) {
      await expect(
        h.store.transaction((tx) => tx.integrations.delete(`${s.project.id}${bad}`)),
      ).resolves.toBe(false);
    }
  });

  it('a lookup by an id holding one matches nothing: 404, not 422', async () => {
    const res = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/start`,
      headers: authHeaders(s, 'apiKey'),
      body: { botId: 'bot\u0000', userId: 'user\ud800' },
    });
    expect(res.statusCode, res.body).toBe(404);
    expect(res.json().error.code).toBe('bot_not_found');
  });
});
