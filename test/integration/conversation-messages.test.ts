/**
 * docs/api.md §5.6 — a message to the end user with project credentials, the conversation named in
 * the path — against a real channel receiver and the in-process delivery worker: the same effect
 * as the signed send of §4.10 (stored with sender operator, delivered once through the bot's
 * channel), idempotency of `id` in the room shared with §4.10, and every refusal.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConversation } from '../../src/domain/conversations/close.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { CATALOGUE } from '../../src/errors.js';
import { newId } from '../../src/model/ids.js';
import { type AuthScheme, authHeaders, call, createIntegration, errorOf, PREFIXES } from '../helpers/api.js';
import { eventually, httpBotWithUser } from '../helpers/events.js';
import { type ChannelRig, type Harness, harnessWithChannel, type Seed } from '../helpers/harness.js';
import type { Receiver } from '../helpers/receiver.js';

let rig: ChannelRig;
let h: Harness;
let channel: Receiver;
let s: Seed;
let other: Seed;
let secret: string;

const SIGNING_KEY = 'channel-signing-key-for-tests-0123456789';

beforeAll(async () => {
  rig = await harnessWithChannel();
  ({ h, s, other, channel } = rig);
  secret = (await createIntegration(h.app, s, rig.panel.url)).signingSecret;
});
afterAll(async () => rig?.close());

interface Pair {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly roomId: string;
  readonly conversationId: string;
}

/** An http bot with a channel webhook, an end user, and a started conversation. */
async function activePair(seed: Seed = s): Promise<Pair> {
  return h.store.transaction(async (tx) => {
    const now = Date.now();
    const projectId = seed.project.id;
    const { bot, user } = await httpBotWithUser(tx, projectId, {
      botName: 'Shop Bot',
      channelUrl: channel.url,
      signingKey: SIGNING_KEY,
      now,
    });
    const { conversation } = await startConversation(tx, { projectId, botId: bot.id, userId: user.id, now });
    return {
      projectId,
      botId: bot.id,
      userId: user.id,
      roomId: conversation.roomId,
      conversationId: conversation.id,
    };
  });
}

let nextId = 0;
const consoleId = () => `console-msg-${Date.now()}-${nextId++}`;

function send(
  p: Pick<Pair, 'projectId' | 'conversationId'>,
  body: unknown,
  opts: { prefix?: string; seed?: Seed; scheme?: AuthScheme; headers?: Record<string, string> } = {},
) {
  return call(h.app, {
    url: `${opts.prefix ?? '/v1'}/external-support/${p.projectId}/conversations/${p.conversationId}/messages`,
    headers: opts.headers ?? authHeaders(opts.seed ?? s, opts.scheme ?? 'apiKey'),
    body,
  });
}

const text = (body: string, id?: string) => ({
  ...(id === undefined ? {} : { id }),
  type: 'text',
  content: { body },
});

function channelOf(roomId: string) {
  return channel.received
    .map((req) => ({ req, body: JSON.parse(req.body) as Record<string, unknown> }))
    .filter((r) => r.body.room_id === roomId);
}

function expectError(res: { statusCode: number; body: string }, code: keyof typeof CATALOGUE) {
  expect(res.statusCode).toBe(CATALOGUE[code].status);
  const e = errorOf(res);
  expect(e.status).toBe(0);
  expect(e.error.code).toBe(code);
  return e;
}

async function transcript(conversationId: string) {
  return (await h.store.queries.messages.listOfConversation(conversationId, { limit: 50 })).items;
}

describe('success', () => {
  for (const prefix of PREFIXES) {
    for (const scheme of ['apiKey', 'basic'] as const) {
      it(`stores the message and answers the envelope under ${prefix} with ${scheme}`, async () => {
        const p = await activePair();
        const res = await send(p, text('Hello from the console'), { prefix, scheme });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        const { messageId } = res.json().data;
        expect(messageId).toMatch(/^msg_[0-9a-z]{26}$/);
        expect(res.body).toBe(
          `{"message":["Message sent successfully"],"statusMessage":"success","status":1,"data":{"messageId":"${messageId}","conversationId":"${p.conversationId}"}}`,
        );
        const items = await transcript(p.conversationId);
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({
          id: messageId,
          roomId: p.roomId,
          conversationId: p.conversationId,
          sender: 'operator',
          type: 'text',
          content: { body: 'Hello from the console' },
          externalId: null,
        });
      });
    }
  }

  it("reaches the end user through the bot's channel, as the signed send does", async () => {
    const p = await activePair();
    const res = await send(p, {
      type: 'image',
      content: { url: 'https://cdn.example.com/a.png', mime_type: 'image/png', caption: 'Your receipt' },
    });
    expect(res.statusCode).toBe(200);
    const { messageId } = res.json().data;
    const [got] = await eventually(
      async () => channelOf(p.roomId),
      (list) => list.length >= 1,
    );
    const raw = got!.req.body;
    const expected = `sha256=${createHmac('sha256', SIGNING_KEY).update(raw).digest('hex')}`;
    expect(got!.req.headers['x-jelou-signature']).toBe(expected);
    const stored = (await transcript(p.conversationId))[0]!;
    // The exact bytes the signed send produces, keys in the documented order.
    expect(raw).toBe(
      JSON.stringify({
        event: 'message',
        timestamp: stored.createdAt,
        bot_id: p.botId,
        room_id: p.roomId,
        user: { id: p.userId, reference_id: `ref-${p.botId}`, name: 'Ana Lima' },
        message: {
          id: messageId,
          type: 'image',
          content: { url: 'https://cdn.example.com/a.png', mime_type: 'image/png', caption: 'Your receipt' },
          sender: 'operator',
        },
      }),
    );
  });

  it('acknowledges a repeated id with the same messageId and delivers it once', async () => {
    const p = await activePair();
    const id = consoleId();
    const first = await send(p, text('Only once', id));
    const again = await send(p, text('Only once', id));
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.json().data).toEqual(first.json().data);
    expect(await transcript(p.conversationId)).toHaveLength(1);
    await eventually(
      async () => channelOf(p.roomId),
      (list) => list.length >= 1,
    );
    // The worker runs with retries 30 ms apart: a second delivery would have arrived by now.
    await new Promise((r) => setTimeout(r, 300));
    expect(channelOf(p.roomId)).toHaveLength(1);
  });

  it('shares the room idempotency of the signed send: an id sent there is not sent again here', async () => {
    const p = await activePair();
    const id = consoleId();
    const raw = JSON.stringify({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: p.projectId,
      room_id: p.roomId,
      bot_id: p.botId,
      user_id: p.userId,
      value: text('Signed first', id),
    });
    const signed = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}` },
      body: raw,
    });
    expect(signed.statusCode).toBe(200);
    const res = await send(p, text('Then by API key', id));
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual(signed.json().data);
    expect(await transcript(p.conversationId)).toHaveLength(1);
  });

  it("sends, rather than acknowledges, an id spelt like another sender's in the room", async () => {
    const p = await activePair();
    // A bot's reply with its own id `abc` is stored as `bot:abc`.
    await h.store.transaction((tx) =>
      tx.messages.insert({
        id: newId('msg'),
        projectId: p.projectId,
        roomId: p.roomId,
        conversationId: null,
        sender: 'bot',
        type: 'text',
        content: { body: 'From the bot' },
        externalId: 'bot:abc',
        createdAt: Date.now(),
      }),
    );
    const res = await send(p, text('Spelt like the bot', 'bot:abc'));
    expect(res.statusCode).toBe(200);
    const items = await transcript(p.conversationId);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ id: res.json().data.messageId, sender: 'operator', externalId: null });
  });

  it('answers two concurrent sends of one id with one messageId', async () => {
    const p = await activePair();
    const id = consoleId();
    const [a, b] = await Promise.all([send(p, text('Race', id)), send(p, text('Race', id))]);
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(b.json().data).toEqual(a.json().data);
    expect(await transcript(p.conversationId)).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('404 conversation_not_found for an unknown conversation', async () => {
    const res = await send({ projectId: s.project.id, conversationId: 'conv_unknown' }, text('x'));
    expect(expectError(res, 'conversation_not_found').error.description).toContain('conv_unknown');
  });

  it('404 conversation_not_found for a closed conversation, and nothing is stored', async () => {
    const p = await activePair();
    await h.store.transaction((tx) =>
      closeConversation(tx, { projectId: p.projectId, botId: p.botId, userId: p.userId, now: Date.now() }),
    );
    const res = await send(p, text('Too late'));
    expectError(res, 'conversation_not_found');
    expect(await transcript(p.conversationId)).toHaveLength(0);
  });

  it('404 for a closed conversation whose room has a newer active one: no message goes to it', async () => {
    const p = await activePair();
    const now = Date.now();
    const next = await h.store.transaction(async (tx) => {
      await closeConversation(tx, { projectId: p.projectId, botId: p.botId, userId: p.userId, now });
      return (await startConversation(tx, { projectId: p.projectId, botId: p.botId, userId: p.userId, now }))
        .conversation;
    });
    expectError(await send(p, text('To the old one')), 'conversation_not_found');
    expect(await transcript(next.id)).toHaveLength(0);
  });

  it("404 for another project's conversation, with that project's credentials too refused", async () => {
    const theirs = await activePair(other);
    // Our credential, their conversation under our project id: not found in our project.
    expectError(
      await send({ projectId: s.project.id, conversationId: theirs.conversationId }, text('x')),
      'conversation_not_found',
    );
    // Our credential on their project: 401, whether or not the conversation exists.
    expectError(await send(theirs, text('x'), { seed: s }), 'unauthorized');
    expectError(await send(theirs, text('x'), { seed: s, scheme: 'basic' }), 'unauthorized');
    expect(await transcript(theirs.conversationId)).toHaveLength(0);
  });

  it('401 without credentials or with a wrong key', async () => {
    const p = await activePair();
    expectError(await send(p, text('x'), { headers: {} }), 'unauthorized');
    expectError(await send(p, text('x'), { headers: { 'x-api-key': 'nope' } }), 'unauthorized');
  });

  it('422 names every problem of the body at once, unknown fields included', async () => {
    const p = await activePair();
    const res = await send(p, {
      id: '',
      type: 'image',
      content: { url: 'ftp://x', extra: 1 },
      field: 'messages',
    });
    const e = expectError(res, 'unprocessable_entity');
    expect(e.validationError).toEqual({
      id: ['must not be empty'],
      'content.url': ['must be an http(s) URL'],
      'content.mime_type': ['is required'],
      'content.extra': ['is not a field of a image message'],
      field: ['is not a known field'],
    });
    expect(await transcript(p.conversationId)).toHaveLength(0);
  });

  it('422 for a missing type and content, a non-object body, and a too long id', async () => {
    const p = await activePair();
    expect(expectError(await send(p, {}), 'unprocessable_entity').validationError).toEqual({
      type: ['is required'],
      content: ['is required'],
    });
    expect(expectError(await send(p, '[1]'), 'unprocessable_entity').validationError).toEqual({
      body: ['must be a JSON object'],
    });
    expect(
      expectError(await send(p, text('x', 'i'.repeat(256))), 'unprocessable_entity').validationError,
    ).toEqual({ id: ['must be at most 255 characters'] });
    expect(
      expectError(await send(p, { type: 'text', content: { body: 7 } }), 'unprocessable_entity'),
    ).toBeDefined();
  });
});
