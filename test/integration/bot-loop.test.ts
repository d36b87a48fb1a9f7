/**
 * The whole loop of docs/bots.md through the web chat, with real receivers on loopback and relevo
 * listening on a port: the user writes on the web chat, the bot answers, the user asks for a
 * person, the bot hands off, the panel is told (conversation.start with the initial message),
 * answers with the signed §4.10 route, the web chat shows it, the panel closes with an edge
 * redirect, and the bot resumes there. Once with a Rasa stand-in (Rasa's REST channel), once
 * with a bot written here against the public contract alone: signed webhooks in, the reply
 * route, the start call, and the close's redirect.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineSetting } from '../../src/domain/bots/engine.service.js';
import { adminCall, call, createIntegration, openWebchatSession } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { openStream } from '../helpers/sse.js';

// biome-ignore lint/suspicious/noExplicitAny: the test reads events and answers of many shapes and asserts on them.
type Json = Record<string, any>;

let h: Harness;
let s: Seed;
let base: string;
let panel: Receiver;
/** The project's integration secret: signs the panel's §4.10 requests. */
let panelSecret: string;

beforeAll(async () => {
  h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,30ms,30ms' }, { worker: true });
  s = await h.seed('Loop');
  panel = await startReceiver();
  panelSecret = (await createIntegration(h.app, s, panel.url)).signingSecret;
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
  await panel?.close();
});

const hmac = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

/** A web chat bot of the project, over the admin API, answered by `engine`; the engine's answer. */
async function webchatBot(name: string, engine: EngineSetting) {
  const created = await adminCall(h, 'POST', `/admin/v1/projects/${s.project.id}/bots`, {
    name,
    channel: 'webchat',
  });
  expect(created.status).toBe(201);
  const botId = String(created.body.id);
  const set = await adminCall(h, 'PUT', `/admin/v1/projects/${s.project.id}/bots/${botId}/engine`, engine);
  expect(set.status, set.text).toBe(200);
  return { botId, signingSecret: set.body.signingSecret as string | undefined };
}

/** A visitor on the web chat: the live stream the page reads, and the page's send. */
async function visitor(botId: string) {
  const session = await openWebchatSession(h.app, botId, { name: 'Ana Lima' });
  const stream = await openStream(
    `${base}/webchat/${botId}/stream?token=${encodeURIComponent(session.sessionToken)}`,
  );
  expect(stream.res.status).toBe(200);
  const seen = () => stream.messages().map((m) => `${m.sender}: ${m.content.body}`);
  return {
    session,
    stream,
    seen,
    async says(body: string) {
      const res = await call(h.app, {
        url: `/webchat/${botId}/messages`,
        headers: { authorization: `Bearer ${session.sessionToken}` },
        body: { type: 'text', content: { body } },
      });
      expect(res.statusCode, res.body).toBe(202);
    },
    /** Waits until the user has seen `line`, and answers everything seen so far. */
    async sees(line: string) {
      return eventually(
        async () => seen(),
        (list) => list.includes(line),
        10_000,
      );
    },
    async history() {
      const res = await call(h.app, {
        method: 'GET',
        url: `/webchat/${botId}/messages`,
        headers: { authorization: `Bearer ${session.sessionToken}` },
      });
      expect(res.statusCode).toBe(200);
      return (res.json().messages as Json[]).map((m) => `${m.sender}: ${m.content.body}`);
    },
  };
}

type Visitor = Awaited<ReturnType<typeof visitor>>;

/** The panel's events about a room, parsed, oldest first. */
const panelEvents = (roomId: string) =>
  panel.received.map((r) => JSON.parse(r.body) as Json).filter((e) => e.room_id === roomId);

/** The panel's side of the loop: it answers the user (§4.10, signed) and closes with an edge redirect. */
async function panelAnswersAndCloses(botId: string, userId: string, roomId: string, text: string) {
  const raw = JSON.stringify({
    field: 'messages',
    object: 'message_event',
    event_type: 'incoming_message',
    project_id: s.project.id,
    room_id: roomId,
    bot_id: botId,
    user_id: userId,
    value: { id: `panel-${roomId}`, type: 'text', content: { body: text } },
  });
  const sent = await fetch(`${base}/v1/external-support/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-jelou-signature': hmac(raw, panelSecret) },
    body: raw,
  });
  expect(sent.status).toBe(200);
  return async () => {
    const closed = await fetch(`${base}/v1/external-support/${s.project.id}/conversations/close`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': s.apiKey },
      body: JSON.stringify({ botId, userId, redirectPayload: { type: 'edge', text: 'survey' } }),
    });
    expect(closed.status).toBe(200);
    expect(((await closed.json()) as Json).data.status).toBe('closed');
  };
}

/** While the panel has the room, what the user writes goes to the panel, in its conversation. */
async function userThanksThePanel(user: Visitor, roomId: string, conversationId: string) {
  await user.says('Thank you, Marta!');
  const events = await eventually(
    async () => panelEvents(roomId),
    (list) => list.some((e) => e.event_type === 'message'),
  );
  expect(events.find((e) => e.event_type === 'message')).toMatchObject({
    conversation: { id: conversationId },
    value: { type: 'text', content: { body: 'Thank you, Marta!' } },
  });
}

describe('a Rasa bot on the web chat', () => {
  let rasa: Receiver;
  beforeAll(async () => {
    rasa = await startReceiver();
    rasa.respond((req) => {
      const asked = JSON.parse(req.body) as Json;
      const says = (items: unknown[]) => ({
        kind: 'status' as const,
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items.map((i) => ({ recipient_id: asked.sender, ...(i as Json) }))),
      });
      if (asked.message === '/handback') {
        return says([{ text: `resumed at ${asked.metadata.redirectPayload.text}` }]);
      }
      if (/human|person/i.test(asked.message)) {
        return says([{ text: 'Connecting you to a person…' }, { custom: { handoff: {} } }]);
      }
      return says([{ text: `Rasa here. You said: ${asked.message}` }]);
    });
  });
  afterAll(async () => rasa?.close());

  it('answers, hands off, lets the panel speak, and resumes at the edge the panel named', async () => {
    const { botId } = await webchatBot('Rasa Bot', { type: 'rasa', url: rasa.url });
    const user = await visitor(botId);
    const { userId, roomId } = user.session;
    try {
      await user.says('hello');
      await user.sees('bot: Rasa here. You said: hello');

      await user.says('I want to talk to a person');
      await user.sees('bot: Connecting you to a person…');
      const [start] = await eventually(
        async () => panelEvents(roomId),
        (list) => list.length >= 1,
      );
      expect(start).toMatchObject({
        event: 'conversation.start',
        project_id: s.project.id,
        contact: { id: userId, name: 'Ana Lima' },
        bot: { id: botId, name: 'Rasa Bot' },
        value: { initial_message: 'I want to talk to a person' },
      });

      const close = await panelAnswersAndCloses(botId, userId, roomId, 'Hi Ana, this is Marta from support.');
      await user.sees('operator: Hi Ana, this is Marta from support.');
      await userThanksThePanel(user, roomId, String(start?.conversation.id));
      await close();
      await user.sees('bot: resumed at survey');

      const transcript = [
        'user: hello',
        'bot: Rasa here. You said: hello',
        'user: I want to talk to a person',
        'bot: Connecting you to a person…',
        'operator: Hi Ana, this is Marta from support.',
        'user: Thank you, Marta!',
        'bot: resumed at survey',
      ];
      expect(user.seen()).toEqual(transcript);
      expect(await user.history()).toEqual(transcript);
      expect(panelEvents(roomId).map((e) => e.event ?? e.event_type)).toEqual([
        'conversation.start',
        'message',
        'conversation.close',
      ]);
      expect(rasa.received.map((r) => JSON.parse(r.body) as Json).filter((b) => b.sender === userId)).toEqual(
        [
          {
            sender: userId,
            message: 'hello',
            metadata: { roomId, botId, projectId: s.project.id, type: 'text' },
          },
          {
            sender: userId,
            message: 'I want to talk to a person',
            metadata: { roomId, botId, projectId: s.project.id, type: 'text' },
          },
          {
            sender: userId,
            message: '/handback',
            metadata: { redirectPayload: { type: 'edge', text: 'survey' } },
          },
        ],
      );
    } finally {
      await user.stream.close();
    }
  });
});

/**
 * A company's own bot, written against docs/bots.md only: it checks each webhook's
 * X-Jelou-Signature with the engine's secret, answers 200 at once and acts afterwards, with the
 * project's API key — it replies through the reply route, hands off with the start call when the
 * user asks for a person, stays quiet while the panel has the room, and resumes at the edge the
 * close names.
 */
class OwnBot {
  /** Every verified event, in arrival order. */
  readonly events: Json[] = [];
  /** What went wrong: a bad signature, a refused call. The test expects none. */
  readonly problems: string[] = [];
  secret = '';
  private server: Server | undefined;
  private work: Promise<void> = Promise.resolve();
  private replies = 0;

  constructor(
    private readonly relevo: () => string,
    private readonly apiKey: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const expected = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`);
        const got = Buffer.from(String(req.headers['x-jelou-signature'] ?? ''));
        if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
          this.problems.push(`bad signature on ${raw.toString('utf8')}`);
          res.writeHead(401).end();
          return;
        }
        const event = JSON.parse(raw.toString('utf8')) as Json;
        this.events.push(event);
        res.writeHead(200).end();
        // Acknowledge first, act afterwards, one event after the other.
        this.work = this.work.then(() =>
          this.handle(event).catch((e: Error) => {
            this.problems.push(e.message);
          }),
        );
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bot`;
  }

  async stop(): Promise<void> {
    await this.work;
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(event: Json): Promise<void> {
    const projectId = String(event.project_id);
    const botId = String(event.bot.id);
    const userId = String(event.contact.id);
    if (event.event_type === 'message') {
      const text = String(event.value.content.body ?? '');
      if (/human|person/i.test(text)) {
        await this.reply(projectId, botId, userId, 'Connecting you to a person…');
        await this.api(`/v1/external-support/${projectId}/conversations/start`, {
          botId,
          userId,
          initialMessage: 'A person from our team will answer you here.',
        });
        return;
      }
      await this.reply(projectId, botId, userId, `Own bot here. You said: ${text}`);
      return;
    }
    if (event.event === 'conversation.close' && event.value.redirect_payload?.type === 'edge') {
      await this.reply(projectId, botId, userId, `resumed at ${event.value.redirect_payload.text}`);
    }
    // conversation.start: the panel has the room; the bot says nothing until it is back.
  }

  private reply(projectId: string, botId: string, userId: string, body: string) {
    return this.api(`/v1/external-support/${projectId}/bots/${botId}/messages`, {
      userId,
      message: { type: 'text', content: { body } },
      id: `own-bot-reply-${this.replies++}`,
    });
  }

  private async api(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.relevo()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': this.apiKey },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) this.problems.push(`POST ${path} answered ${res.status}: ${text}`);
  }
}

describe('your own bot (external engine) on the web chat', () => {
  let bot: OwnBot;
  let botUrl: string;
  beforeAll(async () => {
    bot = new OwnBot(() => base, s.apiKey);
    botUrl = await bot.start();
  });
  afterAll(async () => bot?.stop());

  it('answers through the reply route, hands off with the start call, and resumes at the edge the panel named', async () => {
    const { botId, signingSecret } = await webchatBot('Own Bot', { type: 'external', webhookUrl: botUrl });
    bot.secret = String(signingSecret);
    const user = await visitor(botId);
    // When the user does not see what the bot should have said, what the bot ran into says why.
    const sees = (line: string) =>
      user.sees(line).catch((e: Error) => {
        expect(bot.problems).toEqual([]);
        throw e;
      });
    const { userId, roomId } = user.session;
    try {
      await user.says('hello');
      await sees('bot: Own bot here. You said: hello');

      await user.says('Can I talk to a person?');
      const [start] = await eventually(
        async () => panelEvents(roomId),
        (list) => list.length >= 1,
      );
      expect(start).toMatchObject({
        event: 'conversation.start',
        project_id: s.project.id,
        contact: { id: userId, name: 'Ana Lima' },
        bot: { id: botId, name: 'Own Bot' },
        value: { initial_message: 'A person from our team will answer you here.' },
      });

      const close = await panelAnswersAndCloses(botId, userId, roomId, 'Hi Ana, this is Marta from support.');
      await sees('operator: Hi Ana, this is Marta from support.');
      await userThanksThePanel(user, roomId, String(start?.conversation.id));
      await close();
      await sees('bot: resumed at survey');

      const seen = user.seen();
      expect(seen).toEqual([
        'user: hello',
        'bot: Own bot here. You said: hello',
        'user: Can I talk to a person?',
        'bot: Connecting you to a person…',
        // The start call's initialMessage is the conversation's first message to the user, from
        // the panel's side (docs/api.md §4.6).
        'operator: A person from our team will answer you here.',
        'operator: Hi Ana, this is Marta from support.',
        'user: Thank you, Marta!',
        'bot: resumed at survey',
      ]);
      expect(await user.history()).toEqual(seen);
      expect(panelEvents(roomId).map((e) => e.event ?? e.event_type)).toEqual([
        'conversation.start',
        'message',
        'conversation.close',
      ]);
      expect(bot.events.filter((e) => e.room_id === roomId).map((e) => e.event ?? e.event_type)).toEqual([
        'message',
        'message',
        'conversation.start',
        'conversation.close',
      ]);
      expect(bot.problems).toEqual([]);
    } finally {
      await user.stream.close();
    }
  });
});
