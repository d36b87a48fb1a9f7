/**
 * Bot engines (docs/bots.md) against real receivers on loopback and the in-process delivery
 * worker: an `external` bot's webhook and a Rasa stand-in that answers in Rasa's REST-channel
 * format. The user writes through the http channel; what the bot says reaches that channel.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBotEngine } from '../../src/domain/bots/engine.service.js';
import { closeConversation } from '../../src/domain/conversations/close.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { createBot } from '../../src/domain/projects/project.service.js';
import { call, createIntegration } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { type ChannelRig, type Harness, harnessWithChannel, type Seed } from '../helpers/harness.js';
import { type Behaviour, type Receiver, startReceiver } from '../helpers/receiver.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read webhook bodies loosely and assert on them.
type Json = Record<string, any>;

let rig: ChannelRig;
let h: Harness;
let s: Seed;
let panel: Receiver;
let channel: Receiver;
let botHook: Receiver;
let rasa: Receiver;
/** What the Rasa stand-in answers, by the request's `message`. */
let rasaSays: (message: string, index: number) => Behaviour = () => json([]);

const json = (body: unknown, status = 200): Behaviour => ({
  kind: 'status',
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

beforeAll(async () => {
  rig = await harnessWithChannel();
  ({ h, s, panel, channel } = rig);
  botHook = await startReceiver();
  rasa = await startReceiver();
  rasa.respond((r, i) => rasaSays((JSON.parse(r.body) as { message: string }).message, i));
  await createIntegration(h.app, s, panel.url);
});
afterAll(async () => {
  await rig?.close();
  await botHook?.close();
  await rasa?.close();
});

let keys = 0;
async function newBot(engine: 'external' | 'rasa') {
  const key = `channel-key-${keys++}`;
  const now = Date.now();
  const bot = await h.store.transaction(async (tx) => {
    const b = await createBot(tx, s.project.id, 'Engine Bot', 'http', now);
    await tx.bots.putChannel({
      botId: b.id,
      webhookUrl: channel.url,
      signingKey: key,
      createdAt: now,
      updatedAt: now,
    });
    return b;
  });
  const set = await h.store.transaction((tx) =>
    setBotEngine(
      tx,
      s.project.id,
      bot.id,
      engine === 'external' ? { type: 'external', webhookUrl: botHook.url } : { type: 'rasa', url: rasa.url },
      now,
    ),
  );
  return { id: bot.id, key, secret: set.signingSecret ?? '' };
}

const sign = (raw: string, key: string) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

let refs = 0;
async function userSays(bot: { id: string; key: string }, ref: string, body: string) {
  const raw = JSON.stringify({ referenceId: ref, message: { type: 'text', content: { body } } });
  const res = await call(h.app, {
    url: `/v1/custom-channel/${bot.id}`,
    headers: { 'x-jelou-signature': sign(raw, bot.key) },
    body: raw,
  });
  expect(res.statusCode, res.body).toBe(202);
  const data = res.json().data as { roomId: string; conversationId: string | null };
  const room = await h.store.queries.rooms.get(s.project.id, data.roomId);
  return { ...data, userId: room?.userId ?? '' };
}

const inRoom = (r: Receiver, roomId: string) =>
  r.received
    .map((x) => ({ ...x, json: JSON.parse(x.body) as Json }))
    .filter((x) => x.json.room_id === roomId);

/** What the Rasa stand-in was sent about a room (the hand-back names only the sender). */
const rasaIn = (roomId: string, userId?: string) =>
  rasa.received
    .map((x) => JSON.parse(x.body) as Json)
    .filter((b) => b.metadata?.roomId === roomId || (userId !== undefined && b.sender === userId));

const said = (roomId: string) =>
  inRoom(channel, roomId).map((x) => {
    const m = x.json.message as { type: string; content: Json };
    return m.type === 'text' ? m.content.body : `[${m.type} ${m.content.url}]`;
  });

async function until<T>(read: () => T[], n: number): Promise<T[]> {
  return eventually(
    async () => read(),
    (list) => list.length >= n,
  );
}

describe('external engine', () => {
  it("delivers the user's message to the bot's webhook in the panel's shape, signed with the engine's secret; relevo says nothing itself", async () => {
    const bot = await newBot('external');
    const { roomId, userId } = await userSays(bot, `ext-${refs++}`, 'hello bot');
    const [got] = await until(() => inRoom(botHook, roomId), 1);
    expect(got?.json).toEqual({
      field: 'messages',
      object: 'message_event',
      event_type: 'message',
      timestamp: expect.any(Number),
      project_id: s.project.id,
      room_id: roomId,
      contact: { id: userId, name: expect.any(String) },
      conversation: { id: null },
      bot: { id: bot.id, name: 'Engine Bot' },
      value: { id: expect.stringMatching(/^msg_/), type: 'text', content: { body: 'hello bot' } },
    });
    expect(got?.headers['x-jelou-signature']).toBe(sign(got?.body ?? '', bot.secret));
    expect(got?.headers['webhook-id']).toMatch(/^evt_/);
    expect(got?.headers['webhook-signature']).toMatch(/^v1,/);
    // No greeting and no fallback from the rule bot: the bot answers through the reply route.
    expect(said(roomId)).toEqual([]);
  });

  it('tells the bot of the start and the close of its rooms, after the messages before them, in order', async () => {
    const bot = await newBot('external');
    const ref = `ext-${refs++}`;
    const { roomId, userId } = await userSays(bot, ref, 'one');
    await h.store.transaction((tx) =>
      startConversation(tx, { projectId: s.project.id, botId: bot.id, userId, now: Date.now() }),
    );
    await userSays(bot, ref, 'to the panel');
    await h.store.transaction((tx) =>
      closeConversation(tx, {
        projectId: s.project.id,
        botId: bot.id,
        userId,
        redirectPayload: { type: 'edge', text: 'survey' },
        now: Date.now(),
      }),
    );
    const got = await until(() => inRoom(botHook, roomId), 3);
    expect(got.map((g) => g.json.event ?? g.json.event_type)).toEqual([
      'message',
      'conversation.start',
      'conversation.close',
    ]);
    expect(got[2]?.json.value).toEqual({
      reason: 'closed_by_operator',
      redirect_payload: { type: 'edge', text: 'survey' },
    });
    await until(() => inRoom(panel, roomId), 3);
    // The message written while the panel owned the room went to the panel only.
    expect(inRoom(panel, roomId).map((p) => p.json.event ?? p.json.event_type)).toEqual([
      'conversation.start',
      'message',
      'conversation.close',
    ]);
  });

  it('retries a bot webhook that fails, keeping the room order', async () => {
    const bot = await newBot('external');
    let failures = 2;
    botHook.respond(() =>
      failures-- > 0 ? { kind: 'status', status: 503 } : { kind: 'status', status: 200 },
    );
    try {
      const ref = `ext-${refs++}`;
      const { roomId } = await userSays(bot, ref, 'first');
      await userSays(bot, ref, 'second');
      const got = await eventually(
        async () => inRoom(botHook, roomId),
        (list) => list.filter((g) => g.json.value.content.body === 'second').length >= 1,
      );
      const bodies = got.map((g) => g.json.value.content.body as string);
      // Every attempt of "first" comes before "second".
      expect(bodies.lastIndexOf('first')).toBeLessThan(bodies.indexOf('second'));
      expect(bodies.filter((b) => b === 'first').length).toBeGreaterThanOrEqual(1);
    } finally {
      botHook.respond(() => ({ kind: 'status', status: 200 }));
    }
  });
});

describe('rasa engine', () => {
  it("sends Rasa the REST channel's request and relays text, image and buttons in order", async () => {
    const bot = await newBot('rasa');
    rasaSays = (m) =>
      m === 'hi rasa'
        ? json([
            { recipient_id: 'x', text: 'Hello!' },
            { recipient_id: 'x', image: 'https://example.com/cat.png' },
            {
              recipient_id: 'x',
              text: 'Pick one',
              buttons: [
                { title: 'Yes', payload: '/y' },
                { title: 'No', payload: '/n' },
              ],
            },
          ])
        : json([]);
    const { roomId, userId } = await userSays(bot, `rasa-${refs++}`, 'hi rasa');
    await until(() => said(roomId), 4);
    expect(rasaIn(roomId)).toEqual([
      {
        sender: userId,
        message: 'hi rasa',
        metadata: { roomId, botId: bot.id, projectId: s.project.id, type: 'text' },
      },
    ]);
    expect(rasa.received.at(-1)?.path).toBe('/hooks/webhooks/rest/webhook');
    expect(said(roomId)).toEqual([
      'Hello!',
      '[image https://example.com/cat.png]',
      'Pick one',
      '• Yes\n• No',
    ]);
  });

  it('hands off on the custom handoff element with the user message as initial_message, and sends /handback on close', async () => {
    const bot = await newBot('rasa');
    rasaSays = (m) =>
      m === 'I want a human'
        ? json([
            { text: 'Connecting you…' },
            { custom: { handoff: { assignment: { type: 'queue', target: 'billing' } } } },
          ])
        : m === '/handback'
          ? json([{ text: 'Welcome back!' }])
          : json([]);
    const { roomId, userId } = await userSays(bot, `rasa-${refs++}`, 'I want a human');
    const [start] = await until(() => inRoom(panel, roomId), 1);
    expect(start?.json.event).toBe('conversation.start');
    expect(start?.json.value).toEqual({ initial_message: 'I want a human' });
    expect(start?.json.conversation.assignment).toEqual({ type: 'queue', target: 'billing' });
    await h.store.transaction((tx) =>
      closeConversation(tx, {
        projectId: s.project.id,
        botId: bot.id,
        userId,
        redirectPayload: { type: 'edge', text: 'after_support' },
        now: Date.now(),
      }),
    );
    await until(() => said(roomId), 2);
    expect(rasaIn(roomId, userId).at(-1)).toEqual({
      sender: userId,
      message: '/handback',
      metadata: { redirectPayload: { type: 'edge', text: 'after_support' } },
    });
    expect(said(roomId)).toEqual(['Connecting you…', 'Welcome back!']);
  });

  it('skips what it does not understand in an answer, relays the rest, and says so in the delivery log', async () => {
    const bot = await newBot('rasa');
    rasaSays = (m) =>
      m === 'odd'
        ? json([
            { text: 'kept' },
            { attachment: { foo: 1 } },
            42,
            { custom: { other: true } },
            { text: 'also kept' },
          ])
        : m === 'broken'
          ? { kind: 'status', status: 200, body: '{"not":"an array"}' }
          : json([]);
    const ref = `rasa-${refs++}`;
    const { roomId } = await userSays(bot, ref, 'odd');
    await until(() => said(roomId), 2);
    await userSays(bot, ref, 'broken');
    const items = await eventually(
      async () =>
        (await deliveries('?destination=bot&status=delivered')).items.filter((i) => i.roomId === roomId),
      (l) => l.length === 2,
    );
    const errors: string[] = [];
    for (const item of items) {
      const detail = await call(h.app, {
        method: 'GET',
        url: `/v1/external-support/${s.project.id}/deliveries/${item.id}`,
        headers: { 'x-api-key': s.apiKey },
      });
      errors.push(detail.json().data.attempts[0].error);
    }
    expect(errors.sort()).toEqual([
      'Rasa answered something that is not a JSON array; nothing was relayed',
      "Rasa's answer had 3 element(s) relevo does not understand (index 1, 2, 3); they were skipped",
    ]);
    expect(said(roomId)).toEqual(['kept', 'also kept']);
  });

  it('keeps later messages waiting while Rasa is down and answers them in order once it is back', async () => {
    const bot = await newBot('rasa');
    // The test schedule has three attempts ('0,30ms,30ms'): two failures, then Rasa is back.
    let down = 2;
    rasaSays = (m) => (down-- > 0 ? { kind: 'status', status: 503 } : json([{ text: `re: ${m}` }]));
    const ref = `rasa-${refs++}`;
    const { roomId } = await userSays(bot, ref, 'a');
    await userSays(bot, ref, 'b');
    await userSays(bot, ref, 'c');
    await until(() => said(roomId), 3);
    expect(said(roomId)).toEqual(['re: a', 're: b', 're: c']);
    const asked = rasaIn(roomId).map((b) => b.message as string);
    // The failed attempts were all of "a": nothing overtook it.
    expect(asked).toEqual(['a', 'a', 'a', 'b', 'c']);
  });

  it('gives the panel the messages still waiting for Rasa when Rasa hands off', async () => {
    const bot = await newBot('rasa');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    rasaSays = (m) =>
      m === 'help' ? { kind: 'wait', release: gate, status: 200 } : json([{ text: `re: ${m}` }]);
    const ref = `rasa-${refs++}`;
    const { roomId, userId } = await userSays(bot, ref, 'help');
    await until(() => rasaIn(roomId), 1);
    // Rasa is thinking about "help"; the panel takes the room meanwhile.
    await userSays(bot, ref, 'are you there?');
    await h.store.transaction((tx) =>
      startConversation(tx, { projectId: s.project.id, botId: bot.id, userId, now: Date.now() }),
    );
    release();
    const got = await until(() => inRoom(panel, roomId), 3);
    expect(got.map((g) => [g.json.event ?? g.json.event_type, g.json.value?.content?.body])).toEqual([
      ['conversation.start', undefined],
      ['message', 'help'],
      ['message', 'are you there?'],
    ]);
    expect(got[1]?.json.conversation.id).toBe(got[0]?.json.conversation.id);
    // Rasa's late answer to "help" is not relayed: the panel speaks now.
    await new Promise((r) => setTimeout(r, 200));
    expect(said(roomId)).toEqual([]);
  });
});

async function deliveries(query: string) {
  const res = await call(h.app, {
    method: 'GET',
    url: `/v1/external-support/${s.project.id}/deliveries${query}`,
    headers: { 'x-api-key': s.apiKey },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as { items: Json[]; nextCursor: string | null };
}

describe("the bots' side of the delivery log", () => {
  it('lists, shows, retries and replays the events for an outside engine apart from the panel', async () => {
    const bot = await newBot('external');
    const { roomId } = await userSays(bot, `log-${refs++}`, 'logged');
    await until(() => inRoom(botHook, roomId), 1);
    const mine = async (query: string) => (await deliveries(query)).items.filter((i) => i.roomId === roomId);
    // The panel's log is unchanged: the bot's message never went to the panel.
    expect(await mine('')).toEqual([]);
    const [item] = await eventually(
      () => mine('?destination=bot&status=delivered'),
      (l) => l.length === 1,
    );
    expect(item).toMatchObject({ eventType: 'message', conversationId: null, status: 'delivered' });
    const detail = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/deliveries/${item?.id}`,
      headers: { 'x-api-key': s.apiKey },
    });
    expect(detail.json().data.attempts).toMatchObject([
      { attemptNumber: 1, url: botHook.url, outcome: 'delivered' },
    ]);
    expect(detail.json().data.payload.conversation).toEqual({ id: null });

    const retry = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/deliveries/${item?.id}/retry`,
      headers: { 'x-api-key': s.apiKey },
    });
    expect(retry.statusCode, retry.body).toBe(200);
    await until(() => inRoom(botHook, roomId), 2);
    const replay = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/deliveries/replay`,
      headers: { 'x-api-key': s.apiKey },
      body: { since: new Date(Date.now() - 60_000).toISOString(), destination: 'bot' },
    });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json().data.replayed).toBeGreaterThanOrEqual(1);
    const got = await until(() => inRoom(botHook, roomId), 3);
    expect(new Set(got.map((g) => g.headers['webhook-id']))).toEqual(new Set([item?.id]));

    const bad = await call(h.app, {
      method: 'GET',
      url: `/v1/external-support/${s.project.id}/deliveries?destination=channels`,
      headers: { 'x-api-key': s.apiKey },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().validationError.destination).toEqual(['must be one of: panel, bot, channel']);
  });
});

describe('switching engines', () => {
  it('cancels what waits for an outside engine when the bot goes back to rules, with the reason', async () => {
    const bot = await newBot('external');
    botHook.respond(() => ({ kind: 'status', status: 503 }));
    try {
      const ref = `sw-${refs++}`;
      const { roomId } = await userSays(bot, ref, 'stuck');
      await until(() => inRoom(botHook, roomId), 1);
      await h.store.transaction((tx) =>
        setBotEngine(tx, s.project.id, bot.id, { type: 'rules' }, Date.now()),
      );
      expect(await h.store.queries.outbox.pendingOfRoom(roomId, 'bot')).toEqual([]);
      const [item] = (await deliveries('?destination=bot&status=cancelled')).items.filter(
        (i: Json) => i.roomId === roomId,
      );
      expect(item).toMatchObject({
        eventType: 'message',
        status: 'cancelled',
        lastError: "the bot's engine changed from external to rules",
      });
      // The rule bot answers from now on: its greeting and fallback reach the channel.
      await userSays(bot, ref, 'hello again');
      expect((await until(() => said(roomId), 1)).length).toBeGreaterThanOrEqual(1);
    } finally {
      botHook.respond(() => ({ kind: 'status', status: 200 }));
    }
  });
});
