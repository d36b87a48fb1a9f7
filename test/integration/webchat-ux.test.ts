/**
 * The server side of the web chat page's polish: a visitor's message sent again under the same
 * clientMessageId is stored and routed once; the live stream says who has the room (handoff
 * frames, between the right messages); relevo serves its icon.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { personName } from '../../src/channels/webchat/webchat-handoff.js';
import type { Conversation } from '../../src/model/types.js';
import { call, createIntegration, errorOf, openWebchatSession, type WebchatSession } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let h: Harness;
let s: Seed;
let base: string;

beforeAll(async () => {
  h = await createHarness({ RELEVO_WEBHOOK_ALLOW: '127.0.0.0/8' });
  s = await h.seed('Acme');
  // The panel's integration: its events are what tell the stream of a start without a message.
  // No worker runs, so nothing is sent to this address.
  await createIntegration(h.app, s, 'http://127.0.0.1:9/panel');
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  // Every stream is closed by now, but the test's fetch client can leave a spare connection
  // open that never carried a request, and server.close() would wait for it until Node's
  // headers timeout (60 s).
  h.app.server.server.closeAllConnections();
  await h.close();
});

const newSession = () => openWebchatSession(h.app, s.bot.id);

const bearer = (session: WebchatSession) => ({ authorization: `Bearer ${session.sessionToken}` });

function send(session: WebchatSession, body: unknown) {
  return call(h.app, { url: `/webchat/${s.bot.id}/messages`, headers: bearer(session), body });
}

async function history(session: WebchatSession) {
  const res = await call(h.app, {
    method: 'GET',
    url: `/webchat/${s.bot.id}/messages?limit=200`,
    headers: bearer(session),
  });
  expect(res.statusCode).toBe(200);
  return res.json().messages as Array<{
    id: string;
    sender: string;
    content: { body?: string };
    clientMessageId?: string;
  }>;
}

const startConversation = (session: WebchatSession, extra: Record<string, unknown> = {}) =>
  call(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/start`,
    headers: { 'x-api-key': s.apiKey },
    body: { botId: s.bot.id, userId: session.userId, ...extra },
  });
const closeConversation = (session: WebchatSession, extra: Record<string, unknown> = {}) =>
  call(h.app, {
    url: `/v1/external-support/${s.project.id}/conversations/close`,
    headers: { 'x-api-key': s.apiKey },
    body: { botId: s.bot.id, userId: session.userId, ...extra },
  });

describe('sending with a clientMessageId', () => {
  it('stores and answers a repeated send once, with the first messageId', async () => {
    const session = await newSession();
    const body = { type: 'text', content: { body: 'where is my order?' }, clientMessageId: 'c0ffee-01' };
    const first = await send(session, body);
    const again = await send(session, body);
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    const messages = await history(session);
    expect(messages.map((m) => [m.sender, m.content.body])).toEqual([
      ['bot', DEFAULT_RULES.greeting],
      ['user', 'where is my order?'],
      ['bot', DEFAULT_RULES.fallback],
    ]);
    expect(messages[1]).toMatchObject({ id: first.json().messageId, clientMessageId: 'c0ffee-01' });
    // Only the visitor's own messages carry one.
    expect(messages[0]).not.toHaveProperty('clientMessageId');
  });

  it('stores one message when the same send arrives several times at once', async () => {
    const session = await newSession();
    const body = { type: 'text', content: { body: 'at once' }, clientMessageId: 'same-id' };
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => send(session, body)));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.json().messageId)).size).toBe(1);
    const messages = await history(session);
    expect(messages.filter((m) => m.sender === 'user').map((m) => m.content.body)).toEqual(['at once']);
    expect(messages.filter((m) => m.content.body === DEFAULT_RULES.fallback)).toHaveLength(1);
  });

  it('keeps ids apart per visitor, and messages without one are each stored', async () => {
    const ana = await newSession();
    const bea = await newSession();
    const a = await send(ana, { type: 'text', content: { body: 'from Ana' }, clientMessageId: 'shared' });
    const b = await send(bea, { type: 'text', content: { body: 'from Bea' }, clientMessageId: 'shared' });
    expect(a.json().messageId).not.toBe(b.json().messageId);
    expect((await history(bea)).some((m) => m.content.body === 'from Bea')).toBe(true);
    await send(ana, { type: 'text', content: { body: 'plain' } });
    await send(ana, { type: 'text', content: { body: 'plain' } });
    expect((await history(ana)).filter((m) => m.content.body === 'plain')).toHaveLength(2);
  });

  it('sends a repeat to the panel once while it has the room', async () => {
    const session = await newSession();
    expect((await startConversation(session)).statusCode).toBe(200);
    const body = { type: 'text', content: { body: 'for the panel' }, clientMessageId: 'panel-bound' };
    const first = await send(session, body);
    expect((await send(session, body)).json()).toEqual(first.json());
    const events = await h.store.queries.outbox.list(s.project.id, { type: 'message' }, { limit: 200 });
    const mine = events.items.filter((e) => JSON.parse(e.payload).value.id === first.json().messageId);
    expect(mine).toHaveLength(1);
    expect((await closeConversation(session)).statusCode).toBe(200);
  });

  it('refuses a malformed clientMessageId with 422, naming it', async () => {
    const session = await newSession();
    for (const id of ['', 'has space', 'x'.repeat(65), 42, null]) {
      const res = await send(session, { type: 'text', content: { body: 'hi' }, clientMessageId: id });
      expect(res.statusCode).toBe(422);
      const e = errorOf(res);
      expect(e.error.code).toBe('unprocessable_entity');
      expect(Object.keys(e.validationError ?? {})).toEqual(['clientMessageId']);
    }
    expect((await history(session)).filter((m) => m.sender === 'user')).toEqual([]);
  });
});

const streamUrl = (session: WebchatSession, query = '') =>
  `${base}/webchat/${s.bot.id}/stream?token=${encodeURIComponent(session.sessionToken)}${query}`;

type Frame = { event?: string; data: string };
/** Frames as short strings: `handoff person Ana`, `bot: Hi!`, `operator: Hello`. */
function told(frames: readonly Frame[]): string[] {
  return frames.map((f) => {
    const d = JSON.parse(f.data);
    return f.event === 'handoff' ? `handoff ${d.to} ${d.name}` : `${d.sender}: ${d.content.body}`;
  });
}

/** Waits for frames; the deadline only turns a hang into a readable failure on a loaded machine. */
async function until(check: () => boolean, what: () => unknown) {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not in time; have ${JSON.stringify(what())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('handoff frames on the live stream', () => {
  it('says who has the room first, then each change between the right messages', async () => {
    const session = await newSession();
    const stream = await openStream(streamUrl(session));
    await until(
      () => stream.all.length >= 2,
      () => told(stream.all),
    );

    // A start without a message: the frame comes alone.
    const started = await startConversation(session, {
      assignment: { type: 'team', target: 'Billing' },
      metadata: { agentName: '  Ana Lima  ', ticketId: 'T-9' },
    });
    expect(started.statusCode).toBe(200);
    await until(
      () => stream.all.length >= 3,
      () => told(stream.all),
    );
    await send(session, { type: 'text', content: { body: 'hello?' } });
    expect(
      (await closeConversation(session, { redirectPayload: { type: 'text', text: 'Bye!' } })).statusCode,
    ).toBe(200);
    // The bot's own handoff: its reply, then the change.
    await send(session, { type: 'text', content: { body: 'human please' } });
    const expected = [
      'handoff bot Helper Bot',
      `bot: ${DEFAULT_RULES.greeting}`,
      'handoff person Ana Lima',
      'user: hello?',
      'operator: Bye!',
      'handoff bot Helper Bot',
      `bot: ${DEFAULT_RULES.welcomeBack}`,
      'user: human please',
      `bot: ${DEFAULT_RULES.handoff?.reply}`,
      'handoff person Support team',
    ];
    await until(
      () => stream.all.length >= expected.length,
      () => told(stream.all),
    );
    expect(told(stream.all)).toEqual(expected);
    // Nothing of the metadata but the name reaches the browser; handoff frames carry no id.
    expect(stream.named.every((f) => f.id === undefined && !f.data.includes('T-9'))).toBe(true);
    await stream.close();

    // The history replayed from the start tells the same story.
    const replay = await openStream(streamUrl(session));
    await until(
      () => replay.all.length >= expected.length,
      () => told(replay.all),
    );
    expect(told(replay.all)).toEqual(expected);
    await replay.close();

    // A resumed stream opens with who has the room at its first message.
    const messages = await history(session);
    const bye = messages.find((m) => m.content.body === 'Bye!');
    const resumed = await openStream(streamUrl(session, `&after=${messages[1]?.id}`));
    await until(
      () => resumed.all.length >= 2,
      () => told(resumed.all),
    );
    expect(told(resumed.all).slice(0, 2)).toEqual(['handoff person Ana Lima', 'operator: Bye!']);
    await resumed.close();
    const upToDate = await openStream(streamUrl(session, `&after=${messages.at(-1)?.id}`));
    await until(
      () => upToDate.all.length >= 1,
      () => told(upToDate.all),
    );
    expect(told(upToDate.all)).toEqual(['handoff person Support team']);
    await upToDate.close();
    expect(bye).toBeDefined();
    await closeConversation(session);
  });

  it('goes back to the bot between two conversations with no message between them', async () => {
    const session = await newSession();
    const stream = await openStream(streamUrl(session));
    await until(
      () => stream.all.length >= 2,
      () => told(stream.all),
    );
    await startConversation(session, { initialMessage: 'first agent here', metadata: { agentName: 'Ana' } });
    // Closed without a redirect, and the bot's rules have a welcome-back: a message in between.
    // Without one the frames still go bot, then person. Here both conversations send a message.
    await closeConversation(session);
    await startConversation(session, { initialMessage: 'second agent here', metadata: { agentName: 'Bo' } });
    const expected = [
      'handoff bot Helper Bot',
      `bot: ${DEFAULT_RULES.greeting}`,
      'handoff person Ana',
      'operator: first agent here',
      'handoff bot Helper Bot',
      `bot: ${DEFAULT_RULES.welcomeBack}`,
      'handoff person Bo',
      'operator: second agent here',
    ];
    await until(
      () => stream.all.length >= expected.length,
      () => told(stream.all),
    );
    expect(told(stream.all)).toEqual(expected);
    await stream.close();
    await closeConversation(session);
  });
});

describe('the name shown for the person', () => {
  const conversation = (c: Partial<Conversation>): Conversation => ({
    id: 'conv_x',
    projectId: 'prj_x',
    roomId: 'room_x',
    botId: 'bot_x',
    userId: 'usr_x',
    state: 'active',
    assignment: null,
    metadata: null,
    startAt: 0,
    endAt: null,
    endedReason: null,
    ...c,
  });

  it('is metadata.agentName, else the assignment target, else "Support team"', () => {
    expect(
      personName(
        conversation({ metadata: { agentName: 'Ana' }, assignment: { type: 'queue', target: 'Q' } }),
      ),
    ).toBe('Ana');
    expect(
      personName(
        conversation({ metadata: { agentName: '   ' }, assignment: { type: 'queue', target: 'Q' } }),
      ),
    ).toBe('Q');
    expect(personName(conversation({ metadata: { agentName: 7 } }))).toBe('Support team');
    expect(personName(conversation({}))).toBe('Support team');
    expect(personName(undefined)).toBe('Support team');
    expect(personName(conversation({ metadata: { agentName: 'é'.repeat(100) } }))).toBe(`${'é'.repeat(79)}…`);
  });
});

describe('the icon', () => {
  it('serves /favicon.ico as a 32×32 ICO, cached and revalidated', async () => {
    const res = await call(h.app, { method: 'GET', url: '/favicon.ico' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/x-icon');
    expect(res.headers['cache-control']).toBe('public, max-age=86400');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const bytes = res.rawPayload;
    // ICONDIR: reserved 0, type 1 (icon), one image; its entry: 32×32, 32 bits, at offset 22.
    expect([...bytes.subarray(0, 8)]).toEqual([0, 0, 1, 0, 1, 0, 32, 32]);
    expect(bytes.readUInt16LE(12)).toBe(32);
    expect(bytes.readUInt32LE(18)).toBe(22);
    expect(bytes.length).toBe(22 + 40 + 32 * 32 * 4 + 32 * 4);
    expect(bytes.readUInt32LE(14)).toBe(bytes.length - 22);

    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const again = await call(h.app, {
      method: 'GET',
      url: '/favicon.ico',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const head = await h.app.server.inject({ method: 'HEAD', url: '/favicon.ico' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('image/x-icon');
  });

  it('serves the same icon as SVG', async () => {
    const res = await call(h.app, { method: 'GET', url: '/favicon.svg' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 32 32">.*<\/svg>$/);
  });
});
