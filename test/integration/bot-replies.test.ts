/**
 * The routes of a company's own bot (docs/api.md §5.6): replying to an end user and asking who
 * owns a room, against a real channel receiver, a real panel receiver and the in-process delivery
 * worker — the reply reaching the bot's http channel, the room's owner, idempotency on the bot's
 * `id` (also concurrent), its namespace apart from the panel's ids, and every refusal.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomFor } from '../../src/domain/rooms/rooms.js';
import { CATALOGUE, type ErrorCode } from '../../src/errors.js';
import { type AuthScheme, authHeaders, call, createIntegration, errorOf, PREFIXES } from '../helpers/api.js';
import { eventually, httpBotWithUser } from '../helpers/events.js';
import { type ChannelRig, type Harness, harnessWithChannel, type Seed } from '../helpers/harness.js';
import type { Received, Receiver } from '../helpers/receiver.js';

let rig: ChannelRig;
let h: Harness;
let panel: Receiver;
let channel: Receiver;
let s: Seed;
let other: Seed;
/** The signingSecret of s's integration, for the panel's own sends (docs/api.md §4.10). */
let secret: string;

const SIGNING_KEY = 'channel-signing-key-for-bot-replies-0123';
const SCHEMES: readonly AuthScheme[] = ['apiKey', 'basic'];

beforeAll(async () => {
  rig = await harnessWithChannel();
  ({ h, s, other, panel, channel } = rig);
  secret = (await createIntegration(h.app, s, panel.url)).signingSecret;
});
afterAll(async () => rig?.close());

interface Pair {
  readonly botId: string;
  readonly userId: string;
}

/** A new http bot whose channel posts to the channel receiver, and a new end user; no room yet. */
async function freshPair(opts: { room?: boolean } = {}): Promise<Pair & { roomId: string | null }> {
  return h.store.transaction(async (tx) => {
    const now = Date.now();
    const projectId = s.project.id;
    const { bot, user } = await httpBotWithUser(tx, projectId, {
      botName: 'Own Bot',
      channelUrl: channel.url,
      signingKey: SIGNING_KEY,
      now,
    });
    const room = opts.room ? await roomFor(tx, projectId, bot, user, now) : undefined;
    return { botId: bot.id, userId: user.id, roomId: room?.id ?? null };
  });
}

interface As {
  prefix?: string;
  scheme?: AuthScheme;
  as?: Seed;
  headers?: Record<string, string>;
}

function headersOf(o: As): Record<string, string> {
  return o.headers ?? authHeaders(o.as ?? s, o.scheme ?? 'apiKey');
}

async function reply(botId: string, body: unknown, o: As = {}) {
  return call(h.app, {
    url: `${o.prefix ?? '/v1'}/external-support/${s.project.id}/bots/${botId}/messages`,
    headers: headersOf(o),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function ownerOf(botId: string, userId: string, o: As = {}) {
  return call(h.app, {
    method: 'GET',
    url: `${o.prefix ?? '/v1'}/external-support/${s.project.id}/bots/${botId}/rooms/${userId}`,
    headers: headersOf(o),
  });
}

let nextId = 0;
const botMsgId = () => `bot-msg-${Date.now()}-${nextId++}`;

function text(p: Pair, body = 'Your order shipped today', extra: Record<string, unknown> = {}) {
  return { userId: p.userId, message: { type: 'text', content: { body } }, ...extra };
}

async function start(p: Pair): Promise<string> {
  const res = await call(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/start`,
    headers: authHeaders(s, 'apiKey'),
    body: { botId: p.botId, userId: p.userId },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data.conversationId;
}

async function close(p: Pair): Promise<void> {
  const res = await call(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/close`,
    headers: authHeaders(s, 'apiKey'),
    body: { botId: p.botId, userId: p.userId },
  });
  expect(res.statusCode, res.body).toBe(200);
}

const roomOf = async (p: Pair) => (await h.store.queries.rooms.getByPair(p.botId, p.userId))?.id;

async function messagesOf(p: Pair) {
  const roomId = await roomOf(p);
  if (roomId === undefined) return [];
  return (await h.store.queries.messages.listOfRoom(roomId, { limit: 100 })).items;
}

/** The channel requests of one room, parsed, oldest first. */
function channelOf(roomId: string): Array<{ req: Received; body: Record<string, unknown> }> {
  return channel.received
    .map((req) => ({ req, body: JSON.parse(req.body) as Record<string, unknown> }))
    .filter((r) => r.body.room_id === roomId);
}

const channelIds = (roomId: string) => channelOf(roomId).map((g) => (g.body.message as { id: string }).id);

async function waitForChannel(roomId: string, n: number) {
  return eventually(
    async () => channelOf(roomId),
    (list) => list.length >= n,
  );
}

function expectError(res: { statusCode: number; body: string }, code: ErrorCode) {
  expect(res.statusCode, res.body).toBe(CATALOGUE[code].status);
  const e = errorOf(res);
  expect(e.status).toBe(0);
  expect(e.statusMessage).toBe('failure');
  expect(e.error.code).toBe(code);
  return e;
}

const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

/** The panel's own send (docs/api.md §4.10) into the room's active conversation. */
async function panelSend(p: Pair, roomId: string, id: string) {
  const raw = JSON.stringify({
    field: 'messages',
    object: 'message_event',
    event_type: 'incoming_message',
    project_id: s.project.id,
    room_id: roomId,
    bot_id: p.botId,
    user_id: p.userId,
    value: { id, type: 'text', content: { body: `panel says ${id}` } },
  });
  return call(h.app, {
    url: '/v1/external-support/webhook',
    headers: { 'x-jelou-signature': sign(raw, secret) },
    body: raw,
  });
}

describe('reply to a user', () => {
  for (const prefix of PREFIXES) {
    for (const scheme of SCHEMES) {
      it(`stores the message in the room and answers the envelope under ${prefix} with ${scheme}`, async () => {
        const p = await freshPair();
        const id = botMsgId();
        const res = await reply(p.botId, text(p, 'Hello from the bot', { id }), { prefix, scheme });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        const { messageId } = res.json().data;
        expect(messageId).toMatch(/^msg_[0-9a-z]{26}$/);
        expect(res.body).toBe(
          `{"message":["Message sent successfully"],"statusMessage":"success","status":1,"data":{"messageId":"${messageId}"}}`,
        );
        // The first message of the pair opened its room.
        const stored = await messagesOf(p);
        expect(stored).toHaveLength(1);
        expect(stored[0]).toMatchObject({
          id: messageId,
          projectId: s.project.id,
          conversationId: null,
          sender: 'bot',
          type: 'text',
          content: { body: 'Hello from the bot' },
          externalId: `bot:${id}`,
        });
      });
    }
  }

  it("delivers it to the bot's http channel, signed with its signingKey, and not to the panel", async () => {
    const p = await freshPair();
    const res = await reply(p.botId, text(p, 'Olá! Seu pedido saiu hoje 🙂'));
    expect(res.statusCode).toBe(200);
    const { messageId } = res.json().data;
    const roomId = (await roomOf(p)) as string;
    const [got] = await waitForChannel(roomId, 1);
    const raw = got!.req.body;
    expect(got!.req.headers['x-jelou-signature']).toBe(sign(raw, SIGNING_KEY));
    const [stored] = await messagesOf(p);
    expect(stored?.externalId).toBeNull();
    expect(raw).toBe(
      JSON.stringify({
        event: 'message',
        timestamp: stored!.createdAt,
        bot_id: p.botId,
        room_id: roomId,
        user: { id: p.userId, reference_id: `ref-${p.botId}`, name: 'Ana Lima' },
        message: {
          id: messageId,
          type: 'text',
          content: { body: 'Olá! Seu pedido saiu hoje 🙂' },
          sender: 'bot',
        },
      }),
    );
    // The room is the bot's: the panel hears nothing of it.
    await new Promise((r) => setTimeout(r, 100));
    expect(
      panel.received.filter((r) => (JSON.parse(r.body) as { room_id: string }).room_id === roomId),
    ).toEqual([]);
  });

  const contents: Array<[string, Record<string, string>]> = [
    ['text', { body: 'plain text' }],
    ['image', { url: 'https://cdn.example.com/a.png', mime_type: 'image/png', caption: 'A chart' }],
    ['video', { url: 'https://cdn.example.com/v.mp4', mime_type: 'video/mp4' }],
    ['audio', { url: 'http://cdn.example.com/a.ogg', mime_type: 'audio/ogg' }],
    [
      'document',
      { url: 'https://cdn.example.com/d.pdf', mime_type: 'application/pdf', filename: 'invoice.pdf' },
    ],
  ];
  it('sends every message type with its content, in order', async () => {
    const p = await freshPair({ room: true });
    const ids: string[] = [];
    for (const [type, content] of contents) {
      const res = await reply(p.botId, { userId: p.userId, message: { type, content } });
      expect(res.statusCode, res.body).toBe(200);
      ids.push(res.json().data.messageId);
    }
    const got = await waitForChannel((await roomOf(p)) as string, contents.length);
    got.forEach((g, i) => {
      expect(g.body.message).toEqual({
        id: ids[i],
        type: contents[i]![0],
        content: contents[i]![1],
        sender: 'bot',
      });
    });
  });
});

describe('409 room_owned_by_panel', () => {
  it('while a conversation is active, and 200 again once it is closed', async () => {
    const p = await freshPair();
    expect((await reply(p.botId, text(p, 'before'))).statusCode).toBe(200);
    const conversationId = await start(p);
    const e = expectError(await reply(p.botId, text(p, 'during', { id: botMsgId() })), 'room_owned_by_panel');
    expect(e.message).toBe('Room owned by panel');
    expect(e.error.description).toContain(conversationId);
    expect(e.validationError).toEqual({});
    expect((await messagesOf(p)).map((m) => m.content)).toEqual([{ body: 'before' }]);
    // Under every prefix and scheme alike.
    expectError(
      await reply(p.botId, text(p), { prefix: '/jelouapi/v1', scheme: 'basic' }),
      'room_owned_by_panel',
    );
    await close(p);
    const after = await reply(p.botId, text(p, 'after'));
    expect(after.statusCode).toBe(200);
    // The rule bot may have welcomed the user back in between; the refused reply is nowhere.
    const bodies = (await messagesOf(p)).filter((m) => m.sender === 'bot').map((m) => m.content);
    expect(bodies[0]).toEqual({ body: 'before' });
    expect(bodies.at(-1)).toEqual({ body: 'after' });
    expect(bodies).not.toContainEqual({ body: 'during' });
  });
});

describe('the bot’s id', () => {
  it('acknowledges a repeat with the same messageId and delivers once', async () => {
    const p = await freshPair();
    const body = text(p, 'only once', { id: botMsgId() });
    const first = await reply(p.botId, body);
    const again = await reply(p.botId, body);
    const third = await reply(p.botId, body, { prefix: '/platform/v1', scheme: 'basic' });
    for (const r of [first, again, third]) expect(r.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(third.body).toBe(first.body);
    // A later message of the room is delivered after the first (per-room order): once it is in,
    // a second delivery of the first would be in too.
    const marker = await reply(p.botId, text(p, 'marker'));
    const roomId = (await roomOf(p)) as string;
    await waitForChannel(roomId, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(channelIds(roomId)).toEqual([first.json().data.messageId, marker.json().data.messageId]);
    expect(await messagesOf(p)).toHaveLength(2);
  });

  it('acknowledges a repeat whose content differs without storing it, and after a start', async () => {
    const p = await freshPair();
    const id = botMsgId();
    const first = await reply(p.botId, text(p, 'original', { id }));
    const changed = await reply(p.botId, text(p, 'edited', { id }));
    expect(changed.body).toBe(first.body);
    await start(p);
    // Sent before the handoff: the retry hears that it went out, not that the room moved on.
    const late = await reply(p.botId, text(p, 'original', { id }));
    expect(late.statusCode).toBe(200);
    expect(late.body).toBe(first.body);
    expect((await messagesOf(p)).map((m) => m.content)).toEqual([{ body: 'original' }]);
  });

  it('scopes the id to the room: the same id to another user is another message', async () => {
    const a = await freshPair();
    const b = await freshPair();
    const id = botMsgId();
    const ra = await reply(a.botId, text(a, 'a', { id }));
    const rb = await reply(b.botId, text(b, 'b', { id }));
    expect([ra.statusCode, rb.statusCode]).toEqual([200, 200]);
    expect(rb.json().data.messageId).not.toBe(ra.json().data.messageId);
  });

  for (const [what, room] of [
    ['in an open room', true],
    ['racing to open the room', false],
  ] as const) {
    it(`answers concurrent repeats ${what} with one messageId, and stores and delivers one message`, async () => {
      const p = await freshPair({ room });
      const body = text(p, 'at once', { id: botMsgId() });
      const all = await Promise.all(Array.from({ length: 6 }, () => reply(p.botId, body)));
      expect(all.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(new Set(all.map((r) => r.body)).size).toBe(1);
      expect(await messagesOf(p)).toHaveLength(1);
      const marker = await reply(p.botId, text(p, 'marker'));
      const roomId = (await roomOf(p)) as string;
      await waitForChannel(roomId, 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(channelIds(roomId)).toEqual([all[0]!.json().data.messageId, marker.json().data.messageId]);
    });
  }

  it("never meets the panel's value.id: equal ids are two messages", async () => {
    const p = await freshPair();
    const id = botMsgId();
    const fromBot = await reply(p.botId, text(p, 'bot first', { id }));
    expect(fromBot.statusCode).toBe(200);
    await start(p);
    const roomId = (await roomOf(p)) as string;
    const fromPanel = await panelSend(p, roomId, id);
    expect(fromPanel.statusCode, fromPanel.body).toBe(200);
    expect(fromPanel.json().data.messageId).not.toBe(fromBot.json().data.messageId);
    // A panel id spelt like the bot's stored key is the panel's message, not a repeat of the bot's.
    const spoof = await panelSend(p, roomId, `bot:${id}`);
    expect(spoof.statusCode, spoof.body).toBe(200);
    expect(spoof.json().data.messageId).not.toBe(fromBot.json().data.messageId);
    const stored = await messagesOf(p);
    expect(stored.map((m) => [m.sender, m.externalId])).toEqual([
      ['bot', `bot:${id}`],
      ['operator', id],
      ['operator', null],
    ]);
  });

  it('sends, without the id, a message whose key a panel id already holds', async () => {
    const p = await freshPair();
    await start(p);
    const roomId = (await roomOf(p)) as string;
    const id = botMsgId();
    expect((await panelSend(p, roomId, `bot:${id}`)).statusCode).toBe(200);
    await close(p);
    const res = await reply(p.botId, text(p, 'mine', { id }));
    expect(res.statusCode, res.body).toBe(200);
    const mine = (await messagesOf(p)).find((m) => m.id === res.json().data.messageId);
    expect(mine).toMatchObject({ sender: 'bot', externalId: null, content: { body: 'mine' } });
    await eventually(
      async () => channelIds(roomId),
      (ids) => ids.includes(res.json().data.messageId),
    );
  });
});

describe('who owns the room', () => {
  it('a pair that never talked: no room, the bot', async () => {
    const p = await freshPair();
    for (const prefix of PREFIXES) {
      for (const scheme of SCHEMES) {
        const res = await ownerOf(p.botId, p.userId, { prefix, scheme });
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe(
          '{"message":["Room retrieved successfully"],"statusMessage":"success","status":1,"data":{"roomId":null,"owner":"bot","conversationId":null}}',
        );
      }
    }
    // Asking opens nothing.
    expect(await roomOf(p)).toBeUndefined();
  });

  it('the bot, then the panel while a conversation is active, then the bot again', async () => {
    const p = await freshPair();
    expect((await reply(p.botId, text(p))).statusCode).toBe(200);
    const roomId = await roomOf(p);
    expect((await ownerOf(p.botId, p.userId)).json().data).toEqual({
      roomId,
      owner: 'bot',
      conversationId: null,
    });
    const conversationId = await start(p);
    const during = await ownerOf(p.botId, p.userId, { prefix: '/jelouapi/v1', scheme: 'basic' });
    expect(during.body).toBe(
      `{"message":["Room retrieved successfully"],"statusMessage":"success","status":1,"data":{"roomId":"${roomId}","owner":"panel","conversationId":"${conversationId}"}}`,
    );
    await close(p);
    expect((await ownerOf(p.botId, p.userId)).json().data).toEqual({
      roomId,
      owner: 'bot',
      conversationId: null,
    });
  });
});

describe('404', () => {
  it('bot_not_found for an unknown bot and for a bot of another project, on both routes', async () => {
    const p = await freshPair();
    for (const botId of ['B-9', other.bot.id]) {
      const e = expectError(await reply(botId, text(p)), 'bot_not_found');
      expect(e.error.description).toContain(botId);
      expectError(await ownerOf(botId, p.userId), 'bot_not_found');
    }
    expect(await roomOf(p)).toBeUndefined();
  });

  it('user_not_found for an unknown user and for a user of another project, on both routes', async () => {
    const p = await freshPair();
    for (const userId of ['U-1', other.user.id]) {
      const e = expectError(await reply(p.botId, { ...text(p), userId }), 'user_not_found');
      expect(e.error.description).toContain(userId);
      expectError(await ownerOf(p.botId, userId), 'user_not_found');
    }
  });
});

describe('401 unauthorized', () => {
  it("for another project's credentials with either scheme, and for none; nothing is stored", async () => {
    const p = await freshPair();
    for (const scheme of SCHEMES) {
      expectError(await reply(p.botId, text(p), { as: other, scheme }), 'unauthorized');
      expectError(await ownerOf(p.botId, p.userId, { as: other, scheme }), 'unauthorized');
    }
    expectError(await reply(p.botId, text(p), { headers: {} }), 'unauthorized');
    expectError(await ownerOf(p.botId, p.userId, { headers: {} }), 'unauthorized');
    // Credentials come before the body: an invalid body from a stranger is a 401 too.
    expectError(await reply(p.botId, { nonsense: true }, { as: other }), 'unauthorized');
    expect(await roomOf(p)).toBeUndefined();
  });
});

describe('422 unprocessable_entity', () => {
  const invalid: Array<[string, (p: Pair) => unknown, Record<string, string[]>]> = [
    ['malformed JSON', () => '{"userId": ', { body: [] }],
    ['a JSON array', () => '[]', { body: ['must be a JSON object'] }],
    ['an empty body', () => '', { body: ['must be a JSON object'] }],
    ['an empty object', () => ({}), { userId: ['is required'], message: ['is required'] }],
    ['an empty userId', (p) => ({ ...text(p), userId: '' }), { userId: ['must not be empty'] }],
    ['a numeric userId', (p) => ({ ...text(p), userId: 7 }), { userId: ['must be a string'] }],
    [
      'a message that is a string',
      (p) => ({ userId: p.userId, message: 'hi' }),
      { message: ['must be a JSON object'] },
    ],
    [
      'an unknown type',
      (p) => ({ userId: p.userId, message: { type: 'sticker', content: { body: 'x' } } }),
      { 'message.type': ['must be one of: text, image, video, audio, document'] },
    ],
    [
      'an image without its url',
      (p) => ({ userId: p.userId, message: { type: 'image', content: { mime_type: 'image/png' } } }),
      { 'message.content.url': ['is required'] },
    ],
    [
      'an empty text',
      (p) => ({ userId: p.userId, message: { type: 'text', content: { body: '' } } }),
      { 'message.content.body': ['must not be empty'] },
    ],
    [
      'a field of another type in content',
      (p) => ({ userId: p.userId, message: { type: 'text', content: { body: 'x', caption: 'y' } } }),
      { 'message.content.caption': ['is not a field of a text message'] },
    ],
    [
      'an id inside the message',
      (p) => ({ userId: p.userId, message: { type: 'text', content: { body: 'x' }, id: 'm-1' } }),
      { 'message.id': ['is not a known field'] },
    ],
    ['an empty id', (p) => text(p, 'x', { id: '' }), { id: ['must not be empty'] }],
    ['a numeric id', (p) => text(p, 'x', { id: 12 }), { id: ['must be a string'] }],
    [
      'an id of 256 characters',
      (p) => text(p, 'x', { id: 'i'.repeat(256) }),
      { id: ['must be at most 255 characters'] },
    ],
    ['an unknown field', (p) => text(p, 'x', { botId: p.botId }), { botId: ['is not a known field'] }],
  ];
  for (const [what, body, problems] of invalid) {
    it(`for ${what}, nothing stored`, async () => {
      const p = await freshPair();
      const e = expectError(await reply(p.botId, body(p)), 'unprocessable_entity');
      if (what === 'malformed JSON') expect(Object.keys(e.validationError)).toEqual(['body']);
      else expect(e.validationError).toEqual(problems);
      expect(await roomOf(p)).toBeUndefined();
    });
  }

  it('names every problem at once', async () => {
    const p = await freshPair();
    const e = expectError(
      await reply(p.botId, { userId: '', message: { type: 'audio', content: {} }, id: 5, extra: 1 }),
      'unprocessable_entity',
    );
    expect(e.validationError).toEqual({
      userId: ['must not be empty'],
      'message.content.url': ['is required'],
      'message.content.mime_type': ['is required'],
      id: ['must be a string'],
      extra: ['is not a known field'],
    });
  });

  it('accepts an id of 255 characters, counted in code points', async () => {
    const p = await freshPair();
    const id = `${'é'.repeat(250)}🙂🙂🙂🙂🙂`;
    const res = await reply(p.botId, text(p, 'long id', { id }));
    expect(res.statusCode, res.body).toBe(200);
    expect((await reply(p.botId, text(p, 'long id', { id }))).body).toBe(res.body);
  });
});
