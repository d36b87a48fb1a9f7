/**
 * The http custom channel (docs/channels.md, "The http channel") against a real panel receiver, a real channel
 * receiver and the in-process delivery worker: first contact, the rule bot's answers, the handoff
 * to the panel, user messages as §4.9 `message` events, the channel's retries, every refusal of
 * the inbound route, and the full round trip with docs/api.md §4.10.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { createBot } from '../../src/domain/projects/project.service.js';
import { CATALOGUE } from '../../src/errors.js';
import type { ChannelKind } from '../../src/model/types.js';
import { call, createIntegration, errorOf } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { type ChannelRig, type Harness, harnessWithChannel, type Seed } from '../helpers/harness.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';

let rig: ChannelRig;
let h: Harness;
let panel: Receiver;
let channel: Receiver;
let s: Seed;
let other: Seed;
let secret: string;

beforeAll(async () => {
  rig = await harnessWithChannel();
  ({ h, s, other, panel, channel } = rig);
  secret = (await createIntegration(h.app, s, panel.url)).signingSecret;
});
afterAll(async () => rig?.close());

interface TestBot {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly key: string;
}

let keys = 0;
/** A bot of `seed`'s project with a channel config (unless `config: false`). */
async function newBot(
  opts: { seed?: Seed; kind?: ChannelKind; url?: string | null; config?: boolean } = {},
): Promise<TestBot> {
  const seed = opts.seed ?? s;
  const key = `channel-key-${Date.now()}-${keys++}`;
  return h.store.transaction(async (tx) => {
    const now = Date.now();
    const bot = await createBot(tx, seed.project.id, 'Shop Bot', opts.kind ?? 'http', now);
    if (opts.config !== false) {
      await tx.bots.putChannel({
        botId: bot.id,
        webhookUrl: opts.url === undefined ? channel.url : opts.url,
        signingKey: key,
        createdAt: now,
        updatedAt: now,
      });
    }
    return { id: bot.id, projectId: seed.project.id, name: bot.name, key };
  });
}

/** Jelou's scheme, computed here independently of the server's signer. */
const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

let refs = 0;
const newRef = () => `customer-${Date.now()}-${refs++}`;

async function userSays(
  bot: Pick<TestBot, 'id' | 'key'>,
  body: unknown,
  opts: { key?: string | null; contentType?: string } = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const key = opts.key === undefined ? bot.key : opts.key;
  return call(h.app, {
    url: `/v1/custom-channel/${bot.id}`,
    headers: key === null ? {} : { 'x-jelou-signature': sign(raw, key) },
    body: raw,
    ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
  });
}

const text = (referenceId: string, body: string, extra: Record<string, unknown> = {}) => ({
  referenceId,
  message: { type: 'text', content: { body } },
  ...extra,
});

type Json = Record<string, unknown>;

function arrivals(r: Receiver, roomId: string): Array<{ req: Received; body: Json }> {
  return r.received
    .map((req) => ({ req, body: JSON.parse(req.body) as Json }))
    .filter((a) => a.body.room_id === roomId);
}

async function waitFor(r: Receiver, roomId: string, n: number) {
  return eventually(
    async () => arrivals(r, roomId),
    (list) => list.length >= n,
  );
}

const bodiesTo = (roomId: string) =>
  arrivals(channel, roomId).map((a) => (a.body.message as { content: { body?: string } }).content.body);

function expectError(res: { statusCode: number; body: string }, code: keyof typeof CATALOGUE) {
  expect(res.statusCode, res.body).toBe(CATALOGUE[code].status);
  const e = errorOf(res);
  expect(e.error.code).toBe(code);
  expect(e.status).toBe(0);
  return e;
}

/** A user of `bot` who has asked for a human: the conversation is active. */
async function handedOff(bot: TestBot, ref = newRef()) {
  const first = await userSays(bot, text(ref, 'I need a human please'));
  expect(first.statusCode, first.body).toBe(202);
  const data = first.json().data as { roomId: string; conversationId: string };
  await waitFor(panel, data.roomId, 1);
  return { ref, roomId: data.roomId, conversationId: data.conversationId };
}

describe('first contact and the rule bot', () => {
  it('creates the end user, answers 202, and the bot greets then answers through the channel', async () => {
    const bot = await newBot();
    const ref = newRef();
    const res = await userSays(bot, text(ref, 'hello there', { name: 'Ana Lima' }));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const data = res.json().data;
    expect(data.messageId).toMatch(/^msg_[0-9a-z]{26}$/);
    expect(data.roomId).toMatch(/^room_[0-9a-z]{26}$/);
    expect(res.body).toBe(
      `{"message":["Message received"],"statusMessage":"success","status":1,"data":{"messageId":"${data.messageId}","roomId":"${data.roomId}","routedTo":"bot","conversationId":null}}`,
    );

    const user = await h.store.queries.endUsers.getByReference(s.project.id, ref);
    expect(user).toMatchObject({ names: 'Ana Lima', referenceId: ref, projectId: s.project.id });

    const got = await waitFor(channel, data.roomId, 2);
    expect(got.map((g) => g.body.message)).toEqual([
      { id: expect.any(String), type: 'text', content: { body: DEFAULT_RULES.greeting }, sender: 'bot' },
      { id: expect.any(String), type: 'text', content: { body: DEFAULT_RULES.fallback }, sender: 'bot' },
    ]);
    for (const g of got) {
      expect(g.req.headers['x-jelou-signature']).toBe(sign(g.req.body, bot.key));
      expect(g.req.headers['content-type']).toBe('application/json');
      expect(g.req.headers['webhook-id']).toMatch(/^evt_/);
      expect(Object.keys(g.body)).toEqual(['event', 'timestamp', 'bot_id', 'room_id', 'user', 'message']);
      expect(g.body).toMatchObject({
        event: 'message',
        bot_id: bot.id,
        room_id: data.roomId,
        user: { id: user!.id, reference_id: ref, name: 'Ana Lima' },
      });
      expect(typeof g.body.timestamp).toBe('number');
    }
    // The bot kept the room: the panel hears nothing.
    await new Promise((r) => setTimeout(r, 100));
    expect(arrivals(panel, data.roomId)).toEqual([]);
  });

  it('recognises the referenceId afterwards: same user and room, no second greeting, name kept', async () => {
    const bot = await newBot();
    const ref = newRef();
    const first = (await userSays(bot, text(ref, 'hi', { name: 'Ana' }))).json().data;
    const second = await userSays(bot, text(ref, 'still there?', { name: 'Someone Else' }));
    expect(second.statusCode).toBe(202);
    expect(second.json().data.roomId).toBe(first.roomId);
    await waitFor(channel, first.roomId, 3);
    expect(bodiesTo(first.roomId)).toEqual([
      DEFAULT_RULES.greeting,
      DEFAULT_RULES.fallback,
      DEFAULT_RULES.fallback,
    ]);
    expect((await h.store.queries.endUsers.getByReference(s.project.id, ref))?.names).toBe('Ana');
  });

  it('names a user who gave no name after the referenceId', async () => {
    const bot = await newBot();
    const ref = newRef();
    expect((await userSays(bot, text(ref, 'hi'))).statusCode).toBe(202);
    expect((await h.store.queries.endUsers.getByReference(s.project.id, ref))?.names).toBe(`Customer ${ref}`);
  });

  it('scopes referenceId to the project, and shares the user across bots of one project', async () => {
    const a = await newBot();
    const b = await newBot();
    const c = await newBot({ seed: other });
    const ref = newRef();
    const ra = (await userSays(a, text(ref, 'hi'))).json().data;
    const rb = (await userSays(b, text(ref, 'hi'))).json().data;
    const rc = (await userSays(c, text(ref, 'hi'))).json().data;
    expect(new Set([ra.roomId, rb.roomId, rc.roomId]).size).toBe(3);
    const mine = await h.store.queries.endUsers.getByReference(s.project.id, ref);
    const theirs = await h.store.queries.endUsers.getByReference(other.project.id, ref);
    expect(mine?.id).toBeDefined();
    expect(theirs?.id).toBeDefined();
    expect(mine!.id).not.toBe(theirs!.id);
    const roomA = await h.store.queries.rooms.get(s.project.id, ra.roomId);
    const roomB = await h.store.queries.rooms.get(s.project.id, rb.roomId);
    expect(roomA?.userId).toBe(mine!.id);
    expect(roomB?.userId).toBe(mine!.id);
  });

  it('creates one user when a new referenceId writes twice at once', async () => {
    const bot = await newBot();
    const ref = newRef();
    const all = await Promise.all([1, 2, 3].map((i) => userSays(bot, text(ref, `hi ${i}`))));
    expect(all.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    expect(new Set(all.map((r) => r.json().data.roomId)).size).toBe(1);
    const users = await h.store.queries.endUsers.list(s.project.id, { limit: 1000 });
    expect(users.items.filter((u) => u.referenceId === ref)).toHaveLength(1);
  });

  it('keeps the message without a webhookUrl: nothing is sent', async () => {
    const bot = await newBot({ url: null });
    const res = await userSays(bot, text(newRef(), 'anyone?'));
    expect(res.statusCode).toBe(202);
    const history = await h.store.queries.messages.listOfRoom(res.json().data.roomId, { limit: 10 });
    expect(history.items.map((m) => m.sender)).toEqual(['bot', 'user', 'bot']);
  });
});

describe('handoff to the panel', () => {
  it('starts a conversation with the user text as initial_message; the next message is a §4.9 event', async () => {
    const bot = await newBot();
    const ref = newRef();
    const res = await userSays(bot, text(ref, 'Quero falar com um humano', { name: 'João' }));
    expect(res.statusCode).toBe(202);
    const data = res.json().data;
    expect(data.routedTo).toBe('bot');
    expect(data.conversationId).toMatch(/^conv_/);

    const [start] = await waitFor(panel, data.roomId, 1);
    const user = await h.store.queries.endUsers.getByReference(s.project.id, ref);
    expect(start!.body).toMatchObject({
      event: 'conversation.start',
      event_type: 'start',
      project_id: s.project.id,
      room_id: data.roomId,
      contact: { id: user!.id, name: 'João' },
      conversation: { id: data.conversationId },
      bot: { id: bot.id, name: 'Shop Bot' },
      value: { initial_message: 'Quero falar com um humano' },
    });
    expect(start!.req.headers['x-jelou-signature']).toBe(sign(start!.req.body, secret));
    // The channel got the greeting and the handoff reply.
    await waitFor(channel, data.roomId, 2);
    expect(bodiesTo(data.roomId)).toEqual([DEFAULT_RULES.greeting, DEFAULT_RULES.handoff?.reply]);

    const next = await userSays(bot, text(ref, 'Meu pedido não chegou'));
    expect(next.statusCode).toBe(202);
    const nd = next.json().data;
    expect(nd).toEqual({
      messageId: expect.stringMatching(/^msg_/),
      roomId: data.roomId,
      routedTo: 'panel',
      conversationId: data.conversationId,
    });
    const got = await waitFor(panel, data.roomId, 2);
    const event = got[1]!;
    expect(event.req.headers['x-jelou-signature']).toBe(sign(event.req.body, secret));
    expect(Object.keys(event.body)).toEqual([
      'field',
      'object',
      'event_type',
      'timestamp',
      'project_id',
      'room_id',
      'contact',
      'conversation',
      'bot',
      'value',
    ]);
    expect(Object.keys(event.body.contact as Json)).toEqual(['id', 'name']);
    expect(Object.keys(event.body.conversation as Json)).toEqual(['id']);
    expect(Object.keys(event.body.bot as Json)).toEqual(['id', 'name']);
    expect(Object.keys(event.body.value as Json)).toEqual(['id', 'type', 'content']);
    expect(event.body).toEqual({
      field: 'messages',
      object: 'message_event',
      event_type: 'message',
      timestamp: expect.any(Number),
      project_id: s.project.id,
      room_id: data.roomId,
      contact: { id: user!.id, name: 'João' },
      conversation: { id: data.conversationId },
      bot: { id: bot.id, name: 'Shop Bot' },
      value: { id: nd.messageId, type: 'text', content: { body: 'Meu pedido não chegou' } },
    });
    // The bot stays quiet while the panel owns the room.
    await new Promise((r) => setTimeout(r, 100));
    expect(arrivals(channel, data.roomId)).toHaveLength(2);
  });

  it('accepts 100 simultaneous handoff messages of one user: one starts the conversation, the others join it', async () => {
    const bot = await newBot();
    const ref = newRef();
    const first = await userSays(bot, text(ref, 'hi'));
    expect(first.statusCode).toBe(202);
    const roomId = first.json().data.roomId as string;
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => userSays(bot, text(ref, `human ${i}`))),
    );
    // Racing starts on PostgreSQL once lost 409s and the user's message with them.
    expect(all.map((r) => r.statusCode)).toEqual(Array(100).fill(202));
    const data = all.map(
      (r) => r.json().data as { messageId: string; routedTo: string; conversationId: string },
    );
    const started = data.filter((d) => d.routedTo === 'bot');
    expect(started).toHaveLength(1);
    const conversationId = started[0]!.conversationId;
    expect(conversationId).toMatch(/^conv_/);
    expect(data.filter((d) => d.routedTo === 'panel' && d.conversationId === conversationId)).toHaveLength(
      99,
    );
    expect((await h.store.queries.conversations.getActive(roomId))?.id).toBe(conversationId);
    // Every message is stored once, in the room; the ones routed to the panel in its conversation.
    const stored = (await h.store.queries.messages.listOfRoom(roomId, { limit: 500 })).items;
    const fromUser = stored.filter((m) => m.sender === 'user' && m.id !== first.json().data.messageId);
    expect(fromUser.map((m) => m.id).sort()).toEqual(data.map((d) => d.messageId).sort());
    const inConversation = fromUser.filter((m) => m.conversationId === conversationId);
    expect(inConversation).toHaveLength(99);
    // The panel hears of the conversation, then of each of the 99 messages, once each.
    const got = await waitFor(panel, roomId, 100);
    expect(got.map((a) => a.body.event_type)).toEqual(['start', ...Array(99).fill('message')]);
    expect(
      got
        .slice(1)
        .map((a) => (a.body.value as { id: string }).id)
        .sort(),
    ).toEqual(inConversation.map((m) => m.id).sort());
    // The bot said "connecting you" once: only the message that started the conversation.
    await waitFor(channel, roomId, 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(bodiesTo(roomId)).toEqual([
      DEFAULT_RULES.greeting,
      DEFAULT_RULES.fallback,
      DEFAULT_RULES.handoff?.reply,
    ]);
  });

  it("accepts a handoff message that loses the race to a panel start: it joins the panel's conversation", async () => {
    const bot = await newBot({ url: null });
    const ref = newRef();
    const first = await userSays(bot, text(ref, 'hi'));
    const { roomId } = first.json().data as { roomId: string };
    const user = await h.store.queries.endUsers.getByReference(s.project.id, ref);
    // The panel's start (the route's own service call) holds its transaction open after
    // inserting the conversation; meanwhile the user asks for a human. On PostgreSQL the
    // handoff reads no active conversation, then its insert waits on the panel's row and gives
    // way when it commits; on SQLite the message waits for the whole transaction.
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const panelStart = h.store.transaction(async (tx) => {
      const started = await startConversation(tx, {
        projectId: s.project.id,
        botId: bot.id,
        userId: user!.id,
        now: Date.now(),
      });
      await gate;
      return started.conversation.id;
    });
    const message = userSays(bot, text(ref, 'human please'));
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [conversationId, res] = await Promise.all([panelStart, message]);
    expect(res.statusCode).toBe(202);
    expect(res.json().data).toEqual({
      messageId: expect.stringMatching(/^msg_/),
      roomId,
      routedTo: 'panel',
      conversationId,
    });
    const stored = (await h.store.queries.messages.listOfRoom(roomId, { limit: 50 })).items;
    expect(stored.filter((m) => m.sender === 'user').map((m) => [m.id, m.conversationId])).toEqual([
      [first.json().data.messageId, null],
      [res.json().data.messageId, conversationId],
    ]);
    // No "connecting you" from the bot: the user is already with the panel.
    expect(stored.filter((m) => m.sender === 'bot').map((m) => m.content)).toEqual([
      { body: DEFAULT_RULES.greeting },
      { body: DEFAULT_RULES.fallback },
    ]);
  });

  const inbound: Array<[string, Record<string, string>]> = [
    ['text', { body: 'text from the user' }],
    ['image', { url: 'https://cdn.example.com/p.png', mime_type: 'image/png', caption: 'my receipt' }],
    ['video', { url: 'https://cdn.example.com/v.mp4', mime_type: 'video/mp4' }],
    ['audio', { url: 'https://cdn.example.com/a.ogg', mime_type: 'audio/ogg' }],
    [
      'document',
      { url: 'https://cdn.example.com/d.pdf', mime_type: 'application/pdf', filename: 'nota.pdf' },
    ],
  ];
  it('passes every message type to the panel with its content', async () => {
    const bot = await newBot();
    const { ref, roomId, conversationId } = await handedOff(bot);
    const ids: string[] = [];
    for (const [type, content] of inbound) {
      const res = await userSays(bot, { referenceId: ref, message: { type, content } });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().data.routedTo).toBe('panel');
      ids.push(res.json().data.messageId);
    }
    const got = await waitFor(panel, roomId, 1 + inbound.length);
    const events = got.slice(1).map((g) => g.body);
    expect(events.map((e) => e.event_type)).toEqual(inbound.map(() => 'message'));
    events.forEach((e, i) => {
      expect(e.conversation).toEqual({ id: conversationId });
      expect(e.value).toEqual({ id: ids[i], type: inbound[i]![0], content: inbound[i]![1] });
    });
  });

  it('hands off on an image through its caption, echoed as initial_message', async () => {
    const rules = { handoff: { keywords: ['help'] }, fallback: 'say help' };
    const bot = await newBot();
    await h.store.transaction((tx) => tx.bots.putRules(bot.id, JSON.stringify(rules), Date.now()));
    const ref = newRef();
    const res = await userSays(bot, {
      referenceId: ref,
      message: {
        type: 'image',
        content: { url: 'https://cdn.example.com/h.png', mime_type: 'image/png', caption: 'help' },
      },
    });
    expect(res.statusCode).toBe(202);
    const [start] = await waitFor(panel, res.json().data.roomId, 1);
    expect(start!.body.value).toEqual({ initial_message: 'help' });
  });
});

describe('channel delivery', () => {
  it('retries a 503 from the channel receiver with the same webhook-id, then delivers', async () => {
    const flaky = await startReceiver();
    try {
      flaky.respond((_r, i) => (i === 0 ? { kind: 'status', status: 503 } : { kind: 'status', status: 200 }));
      const bot = await newBot({ url: flaky.url });
      const res = await userSays(bot, text(newRef(), 'hi'));
      expect(res.statusCode).toBe(202);
      // Greeting: 503 then 200; then the fallback, after the greeting (per-room order).
      const got = await flaky.waitFor(3);
      const ids = got.map((g) => g.headers['webhook-id']);
      expect(ids[0]).toBe(ids[1]);
      expect(ids[2]).not.toBe(ids[0]);
      expect(
        got.map(
          (g) => (JSON.parse(g.body) as { message: { content: { body: string } } }).message.content.body,
        ),
      ).toEqual([DEFAULT_RULES.greeting, DEFAULT_RULES.greeting, DEFAULT_RULES.fallback]);
      for (const g of got) expect(g.headers['x-jelou-signature']).toBe(sign(g.body, bot.key));
      const event = await eventually(
        () => h.store.queries.outbox.get(String(ids[0])),
        (e) => e?.status === 'delivered',
      );
      expect(event!.destination).toBe('channel');
      const attempts = await h.store.queries.deliveryLog.list(String(ids[0]));
      expect(attempts.map((a) => [a.attemptNumber, a.statusCode, a.outcome])).toEqual([
        [1, 503, 'failed'],
        [2, 200, 'delivered'],
      ]);
    } finally {
      await flaky.close();
    }
  });
});

describe('refusals of the inbound route', () => {
  it('404 bot_not_found for an unknown bot, a webchat bot, an http bot without a channel', async () => {
    const unknown = { id: 'bot_00000000000000000000000000', key: 'k' };
    const webchat = await newBot({ kind: 'webchat' });
    const unconfigured = await newBot({ config: false });
    const descriptions = new Set<string>();
    for (const bot of [unknown, webchat, unconfigured]) {
      const e = expectError(await userSays(bot, text(newRef(), 'hi')), 'bot_not_found');
      descriptions.add(e.error.description.replace(bot.id, '<id>'));
      // 404 comes before the signature: the key to check with is the bot's.
      expectError(await userSays(bot, text(newRef(), 'hi'), { key: null }), 'bot_not_found');
    }
    // One answer for all three: nothing more is revealed.
    expect(descriptions.size).toBe(1);
  });

  it('401 invalid_signature: no header, wrong key, another bot key, the panel secret, a modified body', async () => {
    const bot = await newBot();
    const sibling = await newBot();
    const body = text(newRef(), 'hi');
    const missing = expectError(await userSays(bot, body, { key: null }), 'invalid_signature');
    expect(missing.error.description).toBe('X-Jelou-Signature is missing.');
    expectError(await userSays(bot, body, { key: 'wrong-key' }), 'invalid_signature');
    expectError(await userSays(bot, body, { key: sibling.key }), 'invalid_signature');
    expectError(await userSays(bot, body, { key: secret }), 'invalid_signature');
    const raw = JSON.stringify(body);
    const res = await call(h.app, {
      url: `/v1/custom-channel/${bot.id}`,
      headers: { 'x-jelou-signature': sign(raw, bot.key) },
      body: raw.replace('hi', 'ho'),
    });
    expectError(res, 'invalid_signature');
    // Before the schema: an invalid body without a signature is a 401.
    expectError(await userSays(bot, { nope: true }, { key: null }), 'invalid_signature');
    // Nothing was stored.
    expect(await h.store.queries.endUsers.getByReference(s.project.id, body.referenceId)).toBeUndefined();
  });

  it('checks the signature over the bytes as received, not the decoded text (invalid UTF-8)', async () => {
    const bot = await newBot({ url: null });
    const [head, tail] = JSON.stringify(text(newRef(), 'caf@')).split('@');
    // A Latin-1 é (0xE9): decoded as U+FFFD, which UTF-8 encodes as other bytes (EF BF BD).
    const raw = Buffer.concat([Buffer.from(head!, 'utf8'), Buffer.from([0xe9]), Buffer.from(tail!, 'utf8')]);
    const reencoded = Buffer.from(raw.toString('utf8'), 'utf8');
    expect(reencoded.equals(raw)).toBe(false);
    const post = (signed: Buffer) =>
      h.app.server.inject({
        method: 'POST',
        url: `/v1/custom-channel/${bot.id}`,
        headers: {
          'content-type': 'application/json',
          'x-jelou-signature': `sha256=${createHmac('sha256', bot.key).update(signed).digest('hex')}`,
        },
        payload: raw,
      });
    expectError(await post(reencoded), 'invalid_signature');
    expect((await post(raw)).statusCode).toBe(202);
  });

  it('415 for a body that is not JSON, 422 for malformed JSON', async () => {
    const bot = await newBot();
    expectError(
      await userSays(bot, text(newRef(), 'hi'), { contentType: 'text/plain' }),
      'unsupported_media_type',
    );
    const e = expectError(await userSays(bot, '{"referenceId":', { key: null }), 'unprocessable_entity');
    expect(Object.keys(e.validationError)).toEqual(['body']);
  });

  it('422 for each invalid field (signed correctly)', async () => {
    const bot = await newBot();
    const refused = async (body: unknown) => {
      const e = expectError(await userSays(bot, body), 'unprocessable_entity');
      return e.validationError;
    };
    const msg = { type: 'text', content: { body: 'hi' } };
    expect(await refused([])).toEqual({ body: ['must be a JSON object'] });
    expect(await refused({ message: msg })).toEqual({ referenceId: ['is required'] });
    expect(await refused({ referenceId: '', message: msg })).toEqual({ referenceId: ['must not be empty'] });
    expect(await refused({ referenceId: 42, message: msg })).toEqual({ referenceId: ['must be a string'] });
    expect(await refused({ referenceId: 'r'.repeat(201), message: msg })).toEqual({
      referenceId: ['must be at most 200 characters'],
    });
    expect(await refused({ referenceId: 'r', name: '', message: msg })).toEqual({
      name: ['must not be empty'],
    });
    expect(await refused({ referenceId: 'r', name: 3, message: msg })).toEqual({
      name: ['must be a string'],
    });
    expect(await refused({ referenceId: 'r', name: 'n'.repeat(201), message: msg })).toEqual({
      name: ['must be at most 200 characters'],
    });
    expect(await refused({ referenceId: 'r' })).toEqual({ message: ['is required'] });
    expect(await refused({ referenceId: 'r', message: 'hi' })).toEqual({
      message: ['must be a JSON object'],
    });
    expect(await refused({ referenceId: 'r', message: msg, userId: 'u' })).toEqual({
      userId: ['is not a known field'],
    });
    expect(await refused({ referenceId: 'r', message: { ...msg, id: 'x' } })).toEqual({
      'message.id': ['is not a known field'],
    });
    expect(await refused({ referenceId: 'r', message: { type: 'gif', content: {} } })).toEqual({
      'message.type': ['must be one of: text, image, video, audio, document'],
    });
    for (const [type, fields] of [
      ['text', ['body']],
      ['image', ['url', 'mime_type']],
      ['video', ['url', 'mime_type']],
      ['audio', ['url', 'mime_type']],
      ['document', ['url', 'mime_type']],
    ] as const) {
      expect(await refused({ referenceId: 'r', message: { type, content: {} } }), type).toEqual(
        Object.fromEntries(fields.map((f) => [`message.content.${f}`, ['is required']])),
      );
    }
    const bad = await refused({
      referenceId: 'r',
      message: { type: 'video', content: { url: 'ftp://x.example/v.mp4', mime_type: 'video/mp4' } },
    });
    expect(Object.keys(bad)).toEqual(['message.content.url']);
    // Nothing was stored for the refused bodies.
    expect(await h.store.queries.endUsers.getByReference(s.project.id, 'r')).toBeUndefined();
  });

  it('is served under /v1 only, and documented once', async () => {
    const bot = await newBot();
    for (const prefix of ['/jelouapi/v1', '/platform/v1']) {
      const res = await call(h.app, {
        url: `${prefix}/custom-channel/${bot.id}`,
        body: text(newRef(), 'hi'),
      });
      expectError(res, 'route_not_found');
    }
    const doc = (await h.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/v1/custom-channel/{botId}']?.post;
    expect(op).toBeDefined();
    expect(op.tags).toEqual(['channels']);
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '401', '404', '422']));
    expect(op.responses['401'].description).toContain('invalid_signature');
    const data = op.responses['202'].content['application/json'].schema.properties.data;
    expect(Object.keys(data.properties).sort()).toEqual([
      'conversationId',
      'messageId',
      'roomId',
      'routedTo',
    ]);
  });
});

describe('the full round trip', () => {
  it('user → handoff → panel answers (§4.10) → channel → user replies → panel gets message', async () => {
    const bot = await newBot();
    const { ref, roomId, conversationId } = await handedOff(bot);
    const start = arrivals(panel, roomId)[0]!.body as {
      project_id: string;
      room_id: string;
      contact: { id: string };
      bot: { id: string };
    };

    // The panel answers with what the start event told it.
    const answer = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: start.project_id,
      room_id: start.room_id,
      bot_id: start.bot.id,
      user_id: start.contact.id,
      value: { id: 'panel-42', type: 'text', content: { body: 'Oi! Sou a Carla, como posso ajudar?' } },
    });
    const sent = await call(h.app, {
      url: '/jelouapi/v1/external-support/webhook',
      headers: { 'x-jelou-signature': sign(answer, secret) },
      body: answer,
    });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().data.conversationId).toBe(conversationId);

    // greeting, handoff reply, then the operator's answer.
    const got = await waitFor(channel, roomId, 3);
    const delivered = got[2]!;
    expect(delivered.req.headers['x-jelou-signature']).toBe(sign(delivered.req.body, bot.key));
    expect(delivered.body.message).toEqual({
      id: sent.json().data.messageId,
      type: 'text',
      content: { body: 'Oi! Sou a Carla, como posso ajudar?' },
      sender: 'operator',
    });
    expect(delivered.body.user).toMatchObject({ reference_id: ref });

    // The user replies; the panel gets it as a message event of the same conversation.
    const reply = await userSays(bot, text(ref, 'Meu pedido 123 atrasou'));
    expect(reply.statusCode).toBe(202);
    const events = await waitFor(panel, roomId, 2);
    expect(events[1]!.body).toMatchObject({
      event_type: 'message',
      conversation: { id: conversationId },
      value: { id: reply.json().data.messageId, type: 'text', content: { body: 'Meu pedido 123 atrasou' } },
    });
    const transcript = await h.store.queries.messages.listOfConversation(conversationId, { limit: 10 });
    expect(transcript.items.map((m) => m.sender)).toEqual(['operator', 'user']);
  });
});
