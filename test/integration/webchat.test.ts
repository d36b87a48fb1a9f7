/**
 * The web chat's routes: the page, sessions, history, sending, and the live stream (over a real
 * port, since an SSE response never ends and inject() waits for the end).
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { createBot } from '../../src/domain/projects/project.service.js';
import type { Bot } from '../../src/model/types.js';
import { call, errorOf, openWebchatSession, type WebchatSession } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let h: Harness;
let s: Seed;
/** A second web chat bot of the same project: a session of one must not open the other. */
let otherBot: Bot;
let httpBot: Bot;
let base: string;

beforeAll(async () => {
  h = await createHarness();
  s = await h.seed('Acme');
  [otherBot, httpBot] = await h.store.transaction(async (tx) => [
    await createBot(tx, s.project.id, 'Other <b>Bot</b> & "Co"', 'webchat', Date.now()),
    await createBot(tx, s.project.id, 'App Bot', 'http', Date.now()),
  ]);
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => h.close());

const newSession = (botId = s.bot.id, body: unknown = {}) => openWebchatSession(h.app, botId, body);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function history(session: WebchatSession, query = '', botId = s.bot.id) {
  return call(h.app, {
    method: 'GET',
    url: `/webchat/${botId}/messages${query}`,
    headers: bearer(session.sessionToken),
  });
}

async function say(session: WebchatSession, body: string) {
  const res = await call(h.app, {
    url: `/webchat/${s.bot.id}/messages`,
    headers: bearer(session.sessionToken),
    body: { type: 'text', content: { body } },
  });
  expect(res.statusCode).toBe(202);
  return res.json().messageId as string;
}

function expectError(res: { statusCode: number; body: string }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  const e = errorOf(res);
  expect(e.status).toBe(0);
  expect(e.error.code).toBe(code);
  return e;
}

describe('the page', () => {
  it('is one self-contained HTML document with a strict CSP', async () => {
    const res = await call(h.app, { method: 'GET', url: `/webchat/${s.bot.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(res.body).toContain(`<script nonce="${nonce}">`);
    expect(res.body).toContain('<meta name="viewport"');
    expect(res.body).toContain('Helper Bot');
    // Nothing is loaded from anywhere else: no external script, style sheet, font or image. The
    // icon is inline too.
    expect(res.body).toMatch(
      /<link rel="icon" type="image\/svg\+xml" href="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+">/,
    );
    expect(res.body).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)="(?!data:)/i);
    expect(res.body).not.toMatch(/https?:\/\//);
    expect(res.body).not.toContain('innerHTML');
  });

  it('gets a fresh nonce each time', async () => {
    const a = await call(h.app, { method: 'GET', url: `/webchat/${s.bot.id}` });
    const b = await call(h.app, { method: 'GET', url: `/webchat/${s.bot.id}` });
    expect(a.headers['content-security-policy']).not.toBe(b.headers['content-security-policy']);
  });

  it('escapes the bot name', async () => {
    const res = await call(h.app, { method: 'GET', url: `/webchat/${otherBot.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<b>Bot</b>');
    expect(res.body).toContain('Other &#60;b&#62;Bot&#60;/b&#62; &#38; &#34;Co&#34;');
  });

  it('is a 404 page for an unknown bot and for a bot of another channel', async () => {
    for (const id of ['bot_doesnotexist', httpBot.id]) {
      const res = await call(h.app, {
        method: 'GET',
        url: `/webchat/${id}`,
        headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
      });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('Chat not found');
    }
  });

  it('is 404 bot_not_found in the error envelope for a client that does not ask for HTML', async () => {
    for (const accept of [undefined, 'application/json', '*/*']) {
      const res = await call(h.app, {
        method: 'GET',
        url: '/webchat/bot_doesnotexist',
        headers: accept === undefined ? {} : { accept },
      });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expectError(res, 404, 'bot_not_found');
    }
  });
});

describe('sessions', () => {
  it('creates a visitor, opens the room with the greeting, and stores only a hash of the token', async () => {
    const session = await newSession();
    expect(session.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const user = await h.store.queries.endUsers.get(s.project.id, session.userId);
    expect(user?.names).toBe('Web visitor');
    const hash = createHash('sha256').update(session.sessionToken).digest('hex');
    expect(user?.referenceId).toBe(`webchat:${hash}`);
    const room = await h.store.queries.rooms.getByPair(s.bot.id, session.userId);
    expect(room?.id).toBe(session.roomId);

    const res = await history(session);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { messages, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(messages).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        sender: 'bot',
        type: 'text',
        content: { body: DEFAULT_RULES.greeting },
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    ]);
  });

  it('takes the visitor name, trimmed', async () => {
    const session = await newSession(s.bot.id, { name: '  Ana Lima ' });
    expect((await h.store.queries.endUsers.get(s.project.id, session.userId))?.names).toBe('Ana Lima');
  });

  it('accepts a POST without a body', async () => {
    const res = await h.app.server.inject({ method: 'POST', url: `/webchat/${s.bot.id}/sessions` });
    expect(res.statusCode).toBe(201);
  });

  it('refuses bad bodies with 422, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: '' }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: 5 }, 'name'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ nickname: 'Ana' }, 'nickname'],
      ['{"__proto__":{"x":1}}', '__proto__'],
      ['{"constructor":"Ana"}', 'constructor'],
      [['Ana'], 'body'],
      ['{not json', 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await call(h.app, { url: `/webchat/${s.bot.id}/sessions`, body });
      expect(Object.keys(expectError(res, 422, 'unprocessable_entity').validationError)).toEqual([field]);
    }
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await call(h.app, {
      url: `/webchat/${s.bot.id}/sessions`,
      body: 'name=Ana',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('is 404 bot_not_found for an unknown bot and for a bot of another channel', async () => {
    for (const id of ['bot_doesnotexist', httpBot.id]) {
      const res = await call(h.app, { url: `/webchat/${id}/sessions`, body: {} });
      expectError(res, 404, 'bot_not_found');
    }
  });

  it('a reload reuses the session: same visitor, same room, whole history', async () => {
    const session = await newSession();
    const said = await say(session, 'hello there');
    const before = (await h.store.queries.endUsers.list(s.project.id, { limit: 1000 })).items.length;
    const again = (await history(session)).json().messages as Array<{ id: string; sender: string }>;
    expect(again.map((m) => m.sender)).toEqual(['bot', 'user', 'bot']);
    expect(again[1]?.id).toBe(said);
    const stored = await h.store.queries.messages.listOfRoom(session.roomId, { limit: 10 });
    expect(stored.items.map((m) => m.id)).toEqual(again.map((m) => m.id));
    const after = (await h.store.queries.endUsers.list(s.project.id, { limit: 1000 })).items.length;
    expect(after).toBe(before);
  });
});

describe('authentication', () => {
  it('refuses a missing, malformed or unknown token with 401', async () => {
    const url = `/webchat/${s.bot.id}/messages`;
    const headers: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer short' },
      { authorization: `Basic ${'a'.repeat(43)}` },
      { authorization: `Bearer ${'a'.repeat(43)}` },
    ];
    for (const h2 of headers) {
      expectError(await call(h.app, { method: 'GET', url, headers: h2 }), 401, 'unauthorized');
      expectError(
        await call(h.app, { url, headers: h2, body: { type: 'text', content: { body: 'hi' } } }),
        401,
        'unauthorized',
      );
    }
  });

  it("refuses a session of another bot's chat", async () => {
    const session = await newSession(otherBot.id);
    expectError(await history(session), 401, 'unauthorized');
    expect((await history(session, '', otherBot.id)).statusCode).toBe(200);
  });

  it('shows a visitor only their own room', async () => {
    const ana = await newSession();
    const bea = await newSession();
    await say(ana, 'secret of Ana');
    const seenByBea = (await history(bea)).json().messages as Array<{ content: { body?: string } }>;
    expect(seenByBea.map((m) => m.content.body)).toEqual([DEFAULT_RULES.greeting]);
  });

  it('answers 404 before 401 for an unknown bot', async () => {
    const res = await call(h.app, { method: 'GET', url: '/webchat/bot_doesnotexist/messages' });
    expectError(res, 404, 'bot_not_found');
  });
});

describe('history', () => {
  it('pages with after and limit, oldest first', async () => {
    const session = await newSession();
    await say(session, 'one');
    await say(session, 'two');
    const all = (await history(session)).json().messages as Array<{ id: string }>;
    expect(all).toHaveLength(5);
    const first = (await history(session, '?limit=2')).json();
    expect(first.messages.map((m: { id: string }) => m.id)).toEqual([all[0]?.id, all[1]?.id]);
    expect(first.nextCursor).toBe(all[1]?.id);
    const rest = (await history(session, `?after=${first.nextCursor}`)).json();
    expect(rest.messages.map((m: { id: string }) => m.id)).toEqual(all.slice(2).map((m) => m.id));
    expect(rest.nextCursor).toBeNull();
  });

  it('refuses bad parameters with 422', async () => {
    const session = await newSession();
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=1e2', 'limit'],
      ['?after=nope', 'after'],
      ['?cursor=x', 'cursor'],
    ]) {
      const e = expectError(await history(session, query), 422, 'unprocessable_entity');
      expect(Object.keys(e.validationError)).toEqual([field]);
    }
  });
});

describe('sending', () => {
  it('stores the message and the bot answers while no conversation is active', async () => {
    const session = await newSession();
    const id = await say(session, 'what is this?');
    const msgs = (await history(session)).json().messages;
    expect(msgs.slice(1)).toEqual([
      expect.objectContaining({ id, sender: 'user', content: { body: 'what is this?' } }),
      expect.objectContaining({ sender: 'bot', content: { body: DEFAULT_RULES.fallback } }),
    ]);
  });

  it('keeps <script> as text', async () => {
    const session = await newSession();
    await say(session, '<script>alert(1)</script>');
    const msgs = (await history(session)).json().messages;
    expect(msgs[1].content.body).toBe('<script>alert(1)</script>');
  });

  it('hands off to the panel on "human", then routes messages to the panel', async () => {
    const session = await newSession();
    await say(session, 'I want to talk to a human');
    const room = await h.store.queries.rooms.getByPair(s.bot.id, session.userId);
    const active = await h.store.queries.conversations.getActive(room?.id ?? '');
    expect(active).toBeDefined();
    const id = await say(session, 'are you there?');
    const events = await h.store.queries.outbox.list(
      s.project.id,
      { conversationId: active?.id },
      { limit: 10 },
    );
    const types = events.items.map((e) => e.type).reverse();
    expect(types).toEqual(['conversation.start', 'message']);
    const payload = JSON.parse(events.items[0]?.payload ?? '{}');
    expect(payload.value).toMatchObject({ id, type: 'text', content: { body: 'are you there?' } });
    // The panel owns the room: the bot stays quiet.
    const last = (await history(session)).json().messages.at(-1);
    expect(last).toMatchObject({ id, sender: 'user' });
  });

  it('takes every message type, checked by the shared rules', async () => {
    const session = await newSession();
    const res = await call(h.app, {
      url: `/webchat/${s.bot.id}/messages`,
      headers: bearer(session.sessionToken),
      body: {
        type: 'image',
        content: { url: 'https://files.example/cat.png', mime_type: 'image/png', caption: 'my cat' },
      },
    });
    expect(res.statusCode).toBe(202);
  });

  it('refuses invalid messages with 422, naming the field', async () => {
    const session = await newSession();
    const cases: Array<[unknown, string[]]> = [
      [{ type: 'sticker', content: {} }, ['type']],
      [{ type: 'text', content: {} }, ['content.body']],
      [{ type: 'text', content: { body: '' } }, ['content.body']],
      [{ type: 'text', content: { body: 'x'.repeat(4097) } }, ['content.body']],
      [{ type: 'text', content: { body: 'hi' }, extra: 1 }, ['extra']],
      [{ type: 'image', content: { url: 'javascript:alert(1)', mime_type: 'image/png' } }, ['content.url']],
      [[], ['body']],
    ];
    for (const [body, fields] of cases) {
      const res = await call(h.app, {
        url: `/webchat/${s.bot.id}/messages`,
        headers: bearer(session.sessionToken),
        body,
      });
      expect(Object.keys(expectError(res, 422, 'unprocessable_entity').validationError)).toEqual(fields);
    }
  });
});

// --- the live stream ---

const streamUrl = (session: WebchatSession, query = '') =>
  `${base}/webchat/${s.bot.id}/stream?token=${encodeURIComponent(session.sessionToken)}${query}`;

async function waitUntil(check: () => boolean, timeoutMs = 5_000) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the live stream', () => {
  it('sends the backlog, then each message as it commits, and cleans up on disconnect', async () => {
    const session = await newSession();
    const listenersBefore = h.app.server.webchatHub.listenerCount;
    const stream = await openStream(streamUrl(session));
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.res.headers.get('x-request-id')).toBeTruthy();
    await stream.waitFor(1);
    expect(stream.messages()[0]).toMatchObject({ sender: 'bot', content: { body: DEFAULT_RULES.greeting } });
    expect(stream.events[0]?.id).toBe(stream.messages()[0]?.id);

    const id = await say(session, 'live?');
    await stream.waitFor(3);
    expect(stream.messages().slice(1)).toEqual([
      expect.objectContaining({ id, sender: 'user', content: { body: 'live?' } }),
      expect.objectContaining({ sender: 'bot', content: { body: DEFAULT_RULES.fallback } }),
    ]);
    expect(h.app.server.webchatHub.listenerCount).toBe(listenersBefore + 1);

    await stream.close();
    await waitUntil(() => h.app.server.webchatHub.listenerCount === listenersBefore);
  });

  it("pushes nothing from other visitors' rooms", async () => {
    const ana = await newSession();
    const bea = await newSession();
    const stream = await openStream(streamUrl(ana));
    await stream.waitFor(1);
    await say(bea, 'only for Bea');
    await say(ana, 'mine');
    await stream.waitFor(3);
    expect(stream.messages().map((m) => m.content.body)).toEqual([
      DEFAULT_RULES.greeting,
      'mine',
      DEFAULT_RULES.fallback,
    ]);
    await stream.close();
  });

  it('resumes after `after`, and Last-Event-ID wins over it', async () => {
    const session = await newSession();
    const first = await say(session, 'one');
    const all = (await history(session)).json().messages as Array<{ id: string }>;
    const fromAfter = await openStream(streamUrl(session, `&after=${first}`));
    await fromAfter.waitFor(1);
    expect(fromAfter.messages().map((m) => m.id)).toEqual([all[2]?.id]);
    await fromAfter.close();

    const fromHeader = await openStream(streamUrl(session, `&after=${first}`), {
      'last-event-id': all[2]?.id ?? '',
    });
    await say(session, 'two');
    await fromHeader.waitFor(1);
    expect(fromHeader.messages()[0]?.content.body).toBe('two');
    await fromHeader.close();
  });

  it('refuses a bad token (401), an unknown bot (404) and a bad `after` (422)', async () => {
    const session = await newSession();
    expectError(
      await call(h.app, { method: 'GET', url: `/webchat/${s.bot.id}/stream?token=nope` }),
      401,
      'unauthorized',
    );
    expectError(
      await call(h.app, { method: 'GET', url: `/webchat/${s.bot.id}/stream` }),
      401,
      'unauthorized',
    );
    expectError(
      await call(h.app, {
        method: 'GET',
        url: `/webchat/bot_doesnotexist/stream?token=${session.sessionToken}`,
      }),
      404,
      'bot_not_found',
    );
    expectError(
      await call(h.app, {
        method: 'GET',
        url: `/webchat/${s.bot.id}/stream?token=${session.sessionToken}&after=x`,
      }),
      422,
      'unprocessable_entity',
    );
  });
});

describe('shutdown', () => {
  it('ends open streams so the server can close', async () => {
    const own = await createHarness();
    const seed = await own.seed('Closing');
    await own.app.server.listen({ port: 0, host: '127.0.0.1' });
    const port = (own.app.server.server.address() as AddressInfo).port;
    const res = await call(own.app, { url: `/webchat/${seed.bot.id}/sessions`, body: {} });
    const { sessionToken } = res.json() as WebchatSession;
    const stream = await openStream(
      `http://127.0.0.1:${port}/webchat/${seed.bot.id}/stream?token=${sessionToken}`,
    );
    await stream.waitFor(1);
    const started = Date.now();
    await own.close();
    await stream.done;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(own.app.server.webchatHub.listenerCount).toBe(0);
  });
});
