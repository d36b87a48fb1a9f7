/**
 * docs/api.md §4.10 — the panel sends a message to the end user — against a real panel receiver, a
 * real channel receiver and the in-process delivery worker: the signed request, the message
 * reaching the bot's http channel signed with its signingKey, idempotency on value.id, and every
 * refusal in the documented order (415, 422 malformed, 401, 422 schema, 404).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConversation } from '../../src/domain/conversations/close.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { roomFor } from '../../src/domain/rooms/rooms.js';
import { CATALOGUE } from '../../src/errors.js';
import { authHeaders, call, createIntegration, errorOf, PREFIXES } from '../helpers/api.js';
import { eventually, httpBotWithUser } from '../helpers/events.js';
import { type ChannelRig, type Harness, harnessWithChannel, type Seed } from '../helpers/harness.js';
import type { Received, Receiver } from '../helpers/receiver.js';

let rig: ChannelRig;
let h: Harness;
let panel: Receiver;
let channel: Receiver;
/** A project with an integration (its secret signs the requests) and a second one, also with one. */
let s: Seed;
let secret: string;
let other: Seed;
let otherSecret: string;
/** A project without an integration. */
let bare: Seed;

const SIGNING_KEY = 'channel-signing-key-for-tests-0123456789';

const signingSecretOf = async (seed: Seed, url: string): Promise<string> =>
  (await createIntegration(h.app, seed, url)).signingSecret;

beforeAll(async () => {
  rig = await harnessWithChannel();
  ({ h, s, other, panel, channel } = rig);
  bare = await h.seed('Bare');
  secret = await signingSecretOf(s, panel.url);
  otherSecret = await signingSecretOf(other, panel.url);
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
async function activePair(seed: Seed = s, opts: { start?: boolean } = {}): Promise<Pair> {
  return h.store.transaction(async (tx) => {
    const now = Date.now();
    const projectId = seed.project.id;
    const { bot, user } = await httpBotWithUser(tx, projectId, {
      botName: 'Shop Bot',
      channelUrl: channel.url,
      signingKey: SIGNING_KEY,
      now,
    });
    if (opts.start === false) {
      const room = await roomFor(tx, projectId, bot, user, now);
      return { projectId, botId: bot.id, userId: user.id, roomId: room.id, conversationId: '' };
    }
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
const panelId = () => `panel-msg-${Date.now()}-${nextId++}`;

function bodyFor(p: Pair, value: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    field: 'messages',
    object: 'message_event',
    event_type: 'incoming_message',
    project_id: p.projectId,
    room_id: p.roomId,
    bot_id: p.botId,
    user_id: p.userId,
    value: { id: panelId(), type: 'text', content: { body: 'Hello from the panel' }, ...value },
  };
}

/** Jelou's scheme, computed here independently of the server's signer. */
const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

async function send(
  body: unknown,
  /** null: send no signature at all. */
  key: string | null = secret,
  opts: { prefix?: string; headers?: Record<string, string>; contentType?: string } = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (key !== null) headers['x-jelou-signature'] = sign(raw, key);
  return call(h.app, {
    url: `${opts.prefix ?? '/v1'}/external-support/webhook`,
    headers,
    body: raw,
    ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
  });
}

/** The channel requests of one room, parsed, oldest first. */
function channelOf(roomId: string): Array<{ req: Received; body: Record<string, unknown> }> {
  return channel.received
    .map((req) => ({ req, body: JSON.parse(req.body) as Record<string, unknown> }))
    .filter((r) => r.body.room_id === roomId);
}

async function waitForChannel(roomId: string, n: number) {
  return eventually(
    async () => channelOf(roomId),
    (list) => list.length >= n,
  );
}

function expectError(res: { statusCode: number; body: string }, code: keyof typeof CATALOGUE) {
  expect(res.statusCode).toBe(CATALOGUE[code].status);
  const e = errorOf(res);
  expect(e.status).toBe(0);
  expect(e.statusMessage).toBe('failure');
  expect(e.error.code).toBe(code);
  return e;
}

describe('success', () => {
  for (const prefix of PREFIXES) {
    it(`stores the message and answers the envelope under ${prefix}`, async () => {
      const p = await activePair();
      const body = bodyFor(p);
      const res = await send(body, secret, { prefix });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const { messageId } = res.json().data;
      expect(messageId).toMatch(/^msg_[0-9a-z]{26}$/);
      expect(res.body).toBe(
        `{"message":["Message sent successfully"],"statusMessage":"success","status":1,"data":{"messageId":"${messageId}","conversationId":"${p.conversationId}"}}`,
      );
      const transcript = await h.store.queries.messages.listOfConversation(p.conversationId, { limit: 10 });
      expect(transcript.items).toHaveLength(1);
      expect(transcript.items[0]).toMatchObject({
        id: messageId,
        roomId: p.roomId,
        conversationId: p.conversationId,
        sender: 'operator',
        type: 'text',
        content: { body: 'Hello from the panel' },
        externalId: (body.value as { id: string }).id,
      });
    });
  }

  it("needs nothing but start's answer: its roomId, botId and userId make the send's body", async () => {
    const seeded = await activePair(s, { start: false });
    const started = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/conversations/start`,
      headers: authHeaders(s, 'apiKey'),
      body: { botId: seeded.botId, userId: seeded.userId },
    });
    expect(started.statusCode).toBe(200);
    const data = started.json().data as Record<string, string>;
    expect(data.roomId).toBe(seeded.roomId);
    const res = await send({
      field: 'messages',
      object: 'message_event',
      event_type: 'incoming_message',
      project_id: s.project.id,
      room_id: data.roomId,
      bot_id: data.botId,
      user_id: data.userId,
      value: { id: panelId(), type: 'text', content: { body: 'Straight from the answer' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.conversationId).toBe(data.conversationId);
  });

  it('delivers it to the bot channel, signed with its signingKey, with the documented payload', async () => {
    const p = await activePair();
    const res = await send(bodyFor(p, { content: { body: 'Olá! Em que posso ajudar? 🙂' } }));
    expect(res.statusCode).toBe(200);
    const { messageId } = res.json().data;
    const [got] = await waitForChannel(p.roomId, 1);
    const raw = got!.req.body;
    expect(got!.req.path).toBe('/hooks');
    expect(got!.req.headers['content-type']).toBe('application/json');
    expect(got!.req.headers['user-agent']).toMatch(/^relevo\//);
    expect(got!.req.headers['x-jelou-signature']).toBe(sign(raw, SIGNING_KEY));
    expect(got!.req.headers['x-jelou-signature']).not.toBe(sign(raw, secret));
    expect(got!.req.headers['webhook-id']).toMatch(/^evt_/);
    const stored = await h.store.queries.messages.listOfConversation(p.conversationId, { limit: 1 });
    const createdAt = stored.items[0]!.createdAt;
    // The exact bytes, keys in the documented order.
    expect(raw).toBe(
      JSON.stringify({
        event: 'message',
        timestamp: createdAt,
        bot_id: p.botId,
        room_id: p.roomId,
        user: { id: p.userId, reference_id: `ref-${p.botId}`, name: 'Ana Lima' },
        message: {
          id: messageId,
          type: 'text',
          content: { body: 'Olá! Em que posso ajudar? 🙂' },
          sender: 'operator',
        },
      }),
    );
    // The panel hears of the conversation, never of its own message.
    const panelTypes = () =>
      panel.received
        .map((r) => JSON.parse(r.body) as { room_id: string; event_type: string })
        .filter((e) => e.room_id === p.roomId)
        .map((e) => e.event_type);
    await eventually(
      async () => panelTypes(),
      (t) => t.length > 0,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(panelTypes()).toEqual(['start']);
  });

  const contents: Array<[string, Record<string, string>]> = [
    ['text', { body: 'plain text' }],
    ['image', { url: 'https://cdn.example.com/a.png', mime_type: 'image/png', caption: 'A chart' }],
    ['image', { url: 'https://cdn.example.com/b.jpg', mime_type: 'image/jpeg' }],
    ['video', { url: 'https://cdn.example.com/v.mp4', mime_type: 'video/mp4', caption: 'Demo' }],
    ['audio', { url: 'http://cdn.example.com/a.ogg', mime_type: 'audio/ogg' }],
    [
      'document',
      { url: 'https://cdn.example.com/d.pdf', mime_type: 'application/pdf', filename: 'invoice.pdf' },
    ],
  ];
  it('sends every message type with its content to the channel', async () => {
    const p = await activePair();
    const ids: string[] = [];
    for (const [type, content] of contents) {
      const res = await send(bodyFor(p, { type, content }));
      expect(res.statusCode, res.body).toBe(200);
      ids.push(res.json().data.messageId);
    }
    const got = await waitForChannel(p.roomId, contents.length);
    // In order, per room.
    expect(got.map((g) => (g.body.message as { id: string }).id)).toEqual(ids);
    got.forEach((g, i) => {
      expect(g.body.message).toEqual({
        id: ids[i],
        type: contents[i]![0],
        content: contents[i]![1],
        sender: 'operator',
      });
    });
  });

  it('accepts an uppercase hex digest', async () => {
    const p = await activePair();
    const raw = JSON.stringify(bodyFor(p));
    const res = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': `sha256=${sign(raw, secret).slice(7).toUpperCase()}` },
      body: raw,
    });
    expect(res.statusCode).toBe(200);
  });

  it('checks the signature over the raw bytes, whitespace and key order included', async () => {
    const p = await activePair();
    const b = bodyFor(p);
    // Not what JSON.stringify would write: the signature is over what was sent.
    const raw = `{\n  "value": ${JSON.stringify(b.value)},\n  "user_id": "${p.userId}", "bot_id": "${p.botId}", "room_id": "${p.roomId}",\n  "project_id": "${p.projectId}", "event_type": "incoming_message", "object": "message_event", "field": "messages"\n}`;
    expect((await send(raw, secret)).statusCode).toBe(200);
    const reserialised = JSON.stringify(JSON.parse(raw));
    const res = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': sign(reserialised, secret) },
      body: raw,
    });
    expectError(res, 'invalid_signature');
  });
});

describe('the signature is over the bytes as received, not the decoded text', () => {
  // "café" with a Latin-1 é (0xE9): not UTF-8. The server decodes it to "caf\uFFFD", whose
  // UTF-8 encoding (EF BF BD) is other bytes than those sent.
  const bytesOf = (p: Pair) => {
    const [head, tail] = JSON.stringify(bodyFor(p, { content: { body: 'caf@' } })).split('@');
    return Buffer.concat([Buffer.from(head!, 'utf8'), Buffer.from([0xe9]), Buffer.from(tail!, 'utf8')]);
  };
  const signBytes = (raw: Buffer, key: string) =>
    `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;
  const post = (raw: Buffer, signature: string) =>
    h.app.server.inject({
      method: 'POST',
      url: '/v1/external-support/webhook',
      headers: { 'content-type': 'application/json', 'x-jelou-signature': signature },
      payload: raw,
    });

  it('accepts a signature over the exact bytes, even where they are not valid UTF-8', async () => {
    const p = await activePair();
    const raw = bytesOf(p);
    expect(Buffer.from(raw.toString('utf8'), 'utf8').equals(raw)).toBe(false);
    const res = await post(raw, signBytes(raw, secret));
    expect(res.statusCode).toBe(200);
  });

  it('refuses a signature over the re-encoded text of those bytes', async () => {
    const p = await activePair();
    const raw = bytesOf(p);
    const reencoded = Buffer.from(raw.toString('utf8'), 'utf8');
    expectError(await post(raw, signBytes(reencoded, secret)), 'invalid_signature');
    // And the other way: a signature over valid bytes does not verify other bytes that decode
    // to the same text.
    expectError(
      await post(
        raw,
        signBytes(Buffer.from(raw).fill(0xff, raw.indexOf(0xe9), raw.indexOf(0xe9) + 1), secret),
      ),
      'invalid_signature',
    );
  });
});

describe('idempotency on value.id', () => {
  it('acknowledges a repeat with the same messageId and delivers once', async () => {
    const p = await activePair();
    const body = bodyFor(p);
    const first = await send(body);
    const again = await send(body);
    const third = await send(body, secret, { prefix: '/jelouapi/v1' });
    for (const r of [first, again, third]) expect(r.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(third.body).toBe(first.body);
    // A later message of the same room arrives after the first (per-room order): once it is in,
    // a second delivery of the first would have arrived too.
    const marker = await send(bodyFor(p, { content: { body: 'marker' } }));
    expect(marker.statusCode).toBe(200);
    const got = await waitForChannel(p.roomId, 2);
    await new Promise((r) => setTimeout(r, 100));
    const ids = channelOf(p.roomId).map((g) => (g.body.message as { id: string }).id);
    expect(ids).toEqual([first.json().data.messageId, marker.json().data.messageId]);
    expect(got).toHaveLength(2);
    const transcript = await h.store.queries.messages.listOfConversation(p.conversationId, { limit: 10 });
    expect(transcript.items).toHaveLength(2);
  });

  it('acknowledges a repeat whose content differs, without storing it', async () => {
    const p = await activePair();
    const body = bodyFor(p);
    const first = await send(body);
    const changed = await send({
      ...body,
      value: { ...(body.value as object), content: { body: 'edited' } },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().data).toEqual(first.json().data);
    const transcript = await h.store.queries.messages.listOfConversation(p.conversationId, { limit: 10 });
    expect(transcript.items.map((m) => m.content)).toEqual([{ body: 'Hello from the panel' }]);
  });

  it('acknowledges a repeat after the conversation closed', async () => {
    const p = await activePair();
    const body = bodyFor(p);
    const first = await send(body);
    await h.store.transaction((tx) =>
      closeConversation(tx, { projectId: p.projectId, botId: p.botId, userId: p.userId, now: Date.now() }),
    );
    const again = await send(body);
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    // A new id is refused: there is no active conversation.
    expectError(await send(bodyFor(p)), 'conversation_not_found');
  });

  it('answers concurrent repeats with one messageId and stores one message', async () => {
    const p = await activePair();
    const body = bodyFor(p);
    const all = await Promise.all(Array.from({ length: 5 }, () => send(body)));
    expect(all.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(all.map((r) => r.json().data.messageId)).size).toBe(1);
    const transcript = await h.store.queries.messages.listOfConversation(p.conversationId, { limit: 10 });
    expect(transcript.items).toHaveLength(1);
  });

  it('scopes value.id to the room: the same id in another room is another message', async () => {
    const a = await activePair();
    const b = await activePair();
    const id = panelId();
    const ra = await send(bodyFor(a, { id }));
    const rb = await send(bodyFor(b, { id }));
    expect(ra.statusCode).toBe(200);
    expect(rb.statusCode).toBe(200);
    expect(rb.json().data.messageId).not.toBe(ra.json().data.messageId);
    await waitForChannel(b.roomId, 1);
  });
});

describe('401 invalid_signature', () => {
  it('without the header, even with an API key of the project', async () => {
    const p = await activePair();
    const e = expectError(
      await send(bodyFor(p), null, { headers: authHeaders(s, 'apiKey') }),
      'invalid_signature',
    );
    expect(e.error.description).toBe('X-Jelou-Signature is missing.');
    expect(e.validationError).toEqual({});
  });

  it('signed with a wrong secret', async () => {
    const p = await activePair();
    expectError(await send(bodyFor(p), 'not-the-secret'), 'invalid_signature');
    expectError(await send(bodyFor(p), SIGNING_KEY), 'invalid_signature');
  });

  it('signed with the old secret after regenerate; the new one works', async () => {
    const seed = await h.seed('Rotating');
    const oldSecret = await signingSecretOf(seed, panel.url);
    const p = await activePair(seed);
    expect((await send(bodyFor(p), oldSecret)).statusCode).toBe(200);
    const regen = await call(h.app, {
      url: `/v1/external-support/${seed.project.id}/secret/regenerate`,
      headers: authHeaders(seed, 'apiKey'),
    });
    expect(regen.statusCode).toBe(200);
    const newSecret = regen.json().data.signingSecret as string;
    expectError(await send(bodyFor(p), oldSecret), 'invalid_signature');
    expect((await send(bodyFor(p), newSecret)).statusCode).toBe(200);
  });

  it("signed with another project's secret", async () => {
    const p = await activePair();
    expectError(await send(bodyFor(p), otherSecret), 'invalid_signature');
    // And another project's room, named as that project and signed with this one's secret.
    const q = await activePair(other);
    expectError(await send(bodyFor(q), secret), 'invalid_signature');
  });

  it('when the body was modified after signing', async () => {
    const p = await activePair();
    const raw = JSON.stringify(bodyFor(p));
    const signature = sign(raw, secret);
    const tampered = raw.replace('Hello from the panel', 'Hello from the pan3l');
    const res = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': signature },
      body: tampered,
    });
    expectError(res, 'invalid_signature');
    // A trailing newline is a modification too.
    const res2 = await call(h.app, {
      url: '/v1/external-support/webhook',
      headers: { 'x-jelou-signature': signature },
      body: `${raw}\n`,
    });
    expectError(res2, 'invalid_signature');
  });

  it('for a project without an integration, whatever the key', async () => {
    const p = await activePair(bare);
    for (const key of [secret, '', 'anything']) expectError(await send(bodyFor(p), key), 'invalid_signature');
  });

  it('for an unknown project, or project_id missing or not a string — before any schema check', async () => {
    const p = await activePair();
    const body = bodyFor(p);
    expectError(
      await send({ ...body, project_id: 'prj_doesnotexist00000000000000' }, secret),
      'invalid_signature',
    );
    const { project_id: _omitted, ...noProject } = body;
    expectError(await send(noProject, secret), 'invalid_signature');
    for (const bad of [42, null, [p.projectId], { id: p.projectId }, '']) {
      expectError(await send({ ...body, project_id: bad }, secret), 'invalid_signature');
    }
    // A body that is not an object names no project.
    expectError(await send([body], secret), 'invalid_signature');
    expectError(await send('"text"', secret), 'invalid_signature');
  });

  it('for malformed signature headers', async () => {
    const p = await activePair();
    const raw = JSON.stringify(bodyFor(p));
    const digest = sign(raw, secret).slice(7);
    for (const header of [
      digest,
      `sha1=${digest}`,
      `sha256=${digest.slice(0, 62)}`,
      `sha256=${digest}00`,
      `sha256= ${digest}`,
      '',
    ]) {
      const res = await call(h.app, {
        url: '/v1/external-support/webhook',
        headers: { 'x-jelou-signature': header },
        body: raw,
      });
      expectError(res, 'invalid_signature');
    }
  });

  it('before the schema: an invalid body without a signature is a 401, not a 422', async () => {
    const p = await activePair();
    const res = await send({ ...bodyFor(p), field: 'wrong', extra: 1 }, null);
    expectError(res, 'invalid_signature');
  });
});

describe('415 and malformed JSON come first', () => {
  it('answers 415 for a body that is not JSON', async () => {
    const p = await activePair();
    expectError(await send(bodyFor(p), secret, { contentType: 'text/plain' }), 'unsupported_media_type');
  });

  it('answers 422 at path body for malformed JSON, before the signature', async () => {
    const e = expectError(await send('{"field": "messages",', null), 'unprocessable_entity');
    expect(Object.keys(e.validationError)).toEqual(['body']);
  });
});

describe('422 schema (signed correctly)', () => {
  async function refused(body: Record<string, unknown>) {
    const e = expectError(await send(body), 'unprocessable_entity');
    return e.validationError;
  }

  it('names each missing field', async () => {
    const p = await activePair();
    for (const name of ['field', 'object', 'event_type', 'room_id', 'bot_id', 'user_id', 'value']) {
      const { [name]: _dropped, ...rest } = bodyFor(p);
      expect(await refused(rest), name).toEqual({ [name]: ['is required'] });
    }
  });

  it('refuses a wrong constant', async () => {
    const p = await activePair();
    expect(await refused({ ...bodyFor(p), field: 'message' })).toEqual({ field: ['must be "messages"'] });
    expect(await refused({ ...bodyFor(p), object: 'conversation_event' })).toEqual({
      object: ['must be "message_event"'],
    });
    expect(await refused({ ...bodyFor(p), event_type: 'message' })).toEqual({
      event_type: ['must be "incoming_message"'],
    });
    expect(await refused({ ...bodyFor(p), field: 1 })).toEqual({ field: ['must be "messages"'] });
  });

  it('refuses ids that are not non-empty strings', async () => {
    const p = await activePair();
    expect(await refused({ ...bodyFor(p), room_id: '' })).toEqual({ room_id: ['must not be empty'] });
    expect(await refused({ ...bodyFor(p), bot_id: 7 })).toEqual({ bot_id: ['must be a string'] });
    expect(await refused({ ...bodyFor(p), user_id: null })).toEqual({ user_id: ['must be a string'] });
  });

  it('refuses unknown fields, at the top and in value', async () => {
    const p = await activePair();
    expect(await refused({ ...bodyFor(p), timestamp: 1 })).toEqual({ timestamp: ['is not a known field'] });
    // A key named __proto__ is an ordinary field to JSON.parse: refused by name, never a prototype.
    const res = await send(JSON.stringify(bodyFor(p)).replace('{', '{"__proto__":{"x":1},'));
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('"validationError":{"__proto__":["is not a known field"]}');
    expect(await refused(bodyFor(p, { sender: 'me' }))).toEqual({ 'value.sender': ['is not a known field'] });
  });

  it('checks value and value.id', async () => {
    const p = await activePair();
    expect(await refused({ ...bodyFor(p), value: 'hi' })).toEqual({ value: ['must be a JSON object'] });
    expect(await refused({ ...bodyFor(p), value: [] })).toEqual({ value: ['must be a JSON object'] });
    const { id: _id, ...noId } = bodyFor(p).value as Record<string, unknown>;
    expect(await refused({ ...bodyFor(p), value: noId })).toEqual({ 'value.id': ['is required'] });
    expect(await refused(bodyFor(p, { id: '' }))).toEqual({ 'value.id': ['must not be empty'] });
    expect(await refused(bodyFor(p, { id: 12 }))).toEqual({ 'value.id': ['must be a string'] });
    expect(await refused(bodyFor(p, { id: 'x'.repeat(256) }))).toEqual({
      'value.id': ['must be at most 255 characters'],
    });
    expect(await refused(bodyFor(p, { type: 'sticker' }))).toEqual({
      'value.type': ['must be one of: text, image, video, audio, document'],
    });
    expect(await refused(bodyFor(p, { type: undefined }))).toEqual({ 'value.type': ['is required'] });
    expect(await refused(bodyFor(p, { content: undefined }))).toEqual({ 'value.content': ['is required'] });
    expect(await refused(bodyFor(p, { content: 'hi' }))).toEqual({
      'value.content': ['must be a JSON object'],
    });
  });

  const required: Array<[string, string[]]> = [
    ['text', ['body']],
    ['image', ['url', 'mime_type']],
    ['video', ['url', 'mime_type']],
    ['audio', ['url', 'mime_type']],
    ['document', ['url', 'mime_type']],
  ];
  for (const [type, fields] of required) {
    it(`requires ${fields.join(' and ')} in a ${type} message`, async () => {
      const p = await activePair();
      const expected = Object.fromEntries(fields.map((f) => [`value.content.${f}`, ['is required']]));
      expect(await refused(bodyFor(p, { type, content: {} }))).toEqual(expected);
    });
  }

  it('refuses content fields of another type and ill-typed ones', async () => {
    const p = await activePair();
    expect(await refused(bodyFor(p, { type: 'text', content: { body: 'x', caption: 'y' } }))).toEqual({
      'value.content.caption': ['is not a field of a text message'],
    });
    expect(
      await refused(
        bodyFor(p, {
          type: 'audio',
          content: { url: 'https://a.example/x.ogg', mime_type: 'audio/ogg', caption: 'c' },
        }),
      ),
    ).toEqual({ 'value.content.caption': ['is not a field of a audio message'] });
    expect(await refused(bodyFor(p, { type: 'text', content: { body: 5 } }))).toEqual({
      'value.content.body': ['must be a string'],
    });
    expect(await refused(bodyFor(p, { type: 'text', content: { body: '' } }))).toEqual({
      'value.content.body': ['must not be empty'],
    });
    expect(await refused(bodyFor(p, { type: 'text', content: { body: 'x'.repeat(4097) } }))).toEqual({
      'value.content.body': ['must be at most 4096 characters'],
    });
  });

  it('refuses a bad url and a bad mime type', async () => {
    const p = await activePair();
    for (const url of [
      'not a url',
      '/relative/path.png',
      'ftp://files.example.com/a.png',
      'javascript:alert(1)',
    ]) {
      const errors = await refused(bodyFor(p, { type: 'image', content: { url, mime_type: 'image/png' } }));
      expect(Object.keys(errors), url).toEqual(['value.content.url']);
    }
    expect(
      await refused(
        bodyFor(p, { type: 'document', content: { url: 'https://a.example/d.pdf', mime_type: 'pdf' } }),
      ),
    ).toEqual({ 'value.content.mime_type': ['must be a MIME type such as image/png'] });
  });

  it('names every problem at once', async () => {
    const p = await activePair();
    const errors = await refused({
      ...bodyFor(p, { id: '', type: 'image', content: { url: 'nope' } }),
      object: 'x',
      bot_id: '',
      extra: true,
    });
    expect(Object.keys(errors).sort()).toEqual(
      ['bot_id', 'extra', 'object', 'value.content.mime_type', 'value.content.url', 'value.id'].sort(),
    );
  });
});

describe('404 conversation_not_found', () => {
  it('for an unknown room', async () => {
    const p = await activePair();
    expectError(
      await send({ ...bodyFor(p), room_id: 'room_00000000000000000000000000' }),
      'conversation_not_found',
    );
  });

  it("for another project's room", async () => {
    const p = await activePair();
    const q = await activePair(other);
    // Named as this project (signed with its secret), the other project's room does not exist.
    const res = await send({ ...bodyFor(p), room_id: q.roomId, bot_id: q.botId, user_id: q.userId });
    expectError(res, 'conversation_not_found');
    // Signed as the other project, it works.
    expect((await send(bodyFor(q), otherSecret)).statusCode).toBe(200);
  });

  it('when bot_id or user_id does not match the room', async () => {
    const p = await activePair();
    const q = await activePair();
    expectError(await send({ ...bodyFor(p), bot_id: q.botId }), 'conversation_not_found');
    expectError(await send({ ...bodyFor(p), user_id: q.userId }), 'conversation_not_found');
    expectError(await send({ ...bodyFor(p), bot_id: p.userId, user_id: p.botId }), 'conversation_not_found');
  });

  it('when the room has no active conversation', async () => {
    const p = await activePair(s, { start: false });
    const e = expectError(await send(bodyFor(p)), 'conversation_not_found');
    expect(e.error.description).toContain('no active conversation');
  });

  it('when the conversation was closed, and nothing reaches the channel', async () => {
    const p = await activePair();
    await h.store.transaction((tx) =>
      closeConversation(tx, { projectId: p.projectId, botId: p.botId, userId: p.userId, now: Date.now() }),
    );
    expectError(await send(bodyFor(p, { content: { body: 'too late' } })), 'conversation_not_found');
    // The close hands the room back to the bot, which says so through the channel.
    const got = await waitForChannel(p.roomId, 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(channelOf(p.roomId).map((g) => (g.body.message as { sender: string }).sender)).toEqual(['bot']);
    expect(got).toHaveLength(1);
  });
});

describe('routing', () => {
  it('serves the static webhook path, not create-integration for a project called "webhook"', async () => {
    for (const prefix of PREFIXES) {
      const res = await call(h.app, {
        url: `${prefix}/external-support/webhook`,
        headers: authHeaders(s, 'apiKey'),
        body: { webhookUrl: panel.url },
      });
      // Create-integration would have answered 401 unauthorized (the key is not of a project
      // called "webhook") or 200; this is the send-message route refusing an unsigned body.
      expectError(res, 'invalid_signature');
    }
    // The parametric route still serves real project ids.
    const seed = await h.seed('Fresh');
    await createIntegration(h.app, seed, panel.url);
  });

  it('is documented in /openapi.json with its body, the signature header and the 401', async () => {
    const doc = (await h.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/jelouapi/v1/external-support/webhook']?.post;
    expect(op).toBeDefined();
    expect(doc.paths['/v1/external-support/webhook']).toBeUndefined();
    expect(op.tags).toEqual(['messages']);
    expect(op.security).toEqual([]);
    expect(op.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'x-jelou-signature', in: 'header', required: true }),
      ]),
    );
    const schema = op.requestBody.content['application/json'].schema;
    expect([...schema.required].sort()).toEqual(
      ['bot_id', 'event_type', 'field', 'object', 'project_id', 'room_id', 'user_id', 'value'].sort(),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(
      schema.properties.value.anyOf.map(
        (b: { properties: { type: { enum: string[] } } }) => b.properties.type.enum[0],
      ),
    ).toEqual(['text', 'image', 'video', 'audio', 'document']);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '415', '422']));
    expect(op.responses['401'].description).toContain('invalid_signature');
    const data = op.responses['200'].content['application/json'].schema.properties.data;
    expect(Object.keys(data.properties).sort()).toEqual(['conversationId', 'messageId']);
  });
});
