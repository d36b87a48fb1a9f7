/**
 * The admin API's bot routes: a bot's rules (set, read, reset, and the rule bot answering with
 * them) and its channel configuration (the http channel's webhook URL and signing key, the web
 * chat's page), through the real app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { conversationCloseEvent } from '../../src/domain/events.js';
import { receiveFromUser } from '../../src/domain/messages/inbound.service.js';
import { handBackToBot } from '../../src/domain/rooms/bot-turn.js';
import type { Bot, EndUser } from '../../src/model/types.js';
import { ADMIN_AUTH as AUTH, adminCall as call, expectAdminError as expectError } from '../helpers/api.js';
import { createHarness, type Harness, harnessWithTwoProjects, type Seed } from '../helpers/harness.js';

const HEX64 = /^[0-9a-f]{64}$/;

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
// biome-ignore lint/suspicious/noExplicitAny: tests read response JSON loosely and assert on it.
type Json = any;

/** A 422 whose validationError has `field`, with a problem matching `problem`. */
function expectInvalid(res: { status: number; body: Json }, field: string, problem: RegExp | string): void {
  expectError(res, 422, 'unprocessable_entity');
  expect(Object.keys(res.body.validationError), JSON.stringify(res.body.validationError)).toContain(field);
  expect(res.body.validationError[field].join(' ')).toMatch(problem);
}

async function createBot(h: Harness, projectId: string, channel: 'http' | 'webchat'): Promise<string> {
  const res = await call(h, 'POST', `/admin/v1/projects/${projectId}/bots`, {
    name: `${channel} bot`,
    channel,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const botPath = (projectId: string, botId: string) => `/admin/v1/projects/${projectId}/bots/${botId}`;

describe('admin API: bot routes need the admin token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  const base = '/admin/v1/projects/prj_x/bots/bot_x';
  it.each<[Method, string, unknown]>([
    ['GET', `${base}/rules`, undefined],
    ['PUT', `${base}/rules`, { greeting: 'hi' }],
    ['DELETE', `${base}/rules`, undefined],
    ['GET', `${base}/channel`, undefined],
    ['PUT', `${base}/channel`, {}],
    ['POST', `${base}/channel/signing-key/regenerate`, {}],
  ])('%s %s without a token → 401, before any validation', async (method, url, payload) => {
    expectError(await call(h, method, url, payload, {}), 401, 'admin_unauthorized');
    expectError(
      await call(h, method, url, { nonsense: true }, { authorization: 'Bearer wrong-token-0123456789' }),
      401,
      'admin_unauthorized',
    );
  });
});

describe('admin API: unknown projects and bots', () => {
  let h: Harness;
  let seed: Seed;
  let other: Seed;
  beforeAll(async () => {
    ({ h, s: seed, other } = await harnessWithTwoProjects());
  });
  afterAll(async () => h.close());

  const routes: Array<[Method, string, unknown]> = [
    ['GET', 'rules', undefined],
    ['PUT', 'rules', { greeting: 'hi' }],
    ['DELETE', 'rules', undefined],
    ['GET', 'channel', undefined],
    ['PUT', 'channel', {}],
    ['POST', 'channel/signing-key/regenerate', {}],
  ];

  it.each(routes)(
    '%s …/%s: 404 project_not_found, then bot_not_found for a missing or foreign bot',
    async (method, tail, payload) => {
      expectError(
        await call(h, method, `${botPath('prj_missing', seed.bot.id)}/${tail}`, payload),
        404,
        'project_not_found',
      );
      const missing = await call(h, method, `${botPath(seed.project.id, 'bot_missing')}/${tail}`, payload);
      expectError(missing, 404, 'bot_not_found');
      expect(missing.body.error.description).toContain('bot_missing');
      // The bot exists, but in another project.
      expectError(
        await call(h, method, `${botPath(seed.project.id, other.bot.id)}/${tail}`, payload),
        404,
        'bot_not_found',
      );
    },
  );

  it('a foreign bot is left untouched', async () => {
    const r = await call(h, 'GET', `${botPath(other.project.id, other.bot.id)}/rules`);
    expect(r.body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
  });
});

describe('admin API: bot rules', () => {
  let h: Harness;
  let seed: Seed;
  let rulesUrl: string;
  beforeAll(async () => {
    h = await createHarness();
    seed = await h.seed();
    rulesUrl = `${botPath(seed.project.id, seed.bot.id)}/rules`;
  });
  afterAll(async () => h.close());

  const RULES = {
    greeting: 'Welcome to Acme!',
    answers: [
      { keywords: ['price', 'preço'], reply: 'Plans start at 10 USD.' },
      { keywords: ['opening hours'], reply: 'We are open 9 to 5.' },
    ],
    handoff: {
      keywords: ['agent', 'falar com alguém'],
      reply: 'Passing you to sales…',
      assignment: { type: 'queue', target: 'sales' },
    },
    fallback: 'Try "price" or "agent".',
    steps: { survey: 'How did we do, from 1 to 5?' },
    welcomeBack: 'Back with the bot.',
  };

  it('a bot without rules runs on the defaults', async () => {
    const r = await call(h, 'GET', rulesUrl);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
  });

  it('PUT stores the rules and answers them; GET then shows them as not the defaults', async () => {
    const put = await call(h, 'PUT', rulesUrl, RULES);
    expect(put.status).toBe(200);
    expect(put.body).toEqual(RULES);
    expect(JSON.parse((await h.store.queries.bots.getRules(seed.bot.id)) ?? 'null')).toEqual(RULES);
    expect((await call(h, 'GET', rulesUrl)).body).toEqual({ rules: RULES, isDefault: false });
  });

  it('accepts empty rules (a bot that stays silent), and rules at every limit', async () => {
    expect((await call(h, 'PUT', rulesUrl, {})).body).toEqual({});
    const atLimits = {
      greeting: 'g'.repeat(4096),
      answers: Array.from({ length: 100 }, (_, i) => ({
        keywords: Array.from({ length: 20 }, (_, j) => `k${i}x${j}${'w'.repeat(90)}`.slice(0, 100)),
        reply: 'r'.repeat(4096),
      })),
      handoff: { keywords: ['human'], assignment: { type: 'team', target: 't' } },
      steps: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${i}`.padEnd(100, 's'), 'x'])),
    };
    const r = await call(h, 'PUT', rulesUrl, atLimits);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(atLimits);
  });

  it('accepts rules larger than the general body limit, as the command does', async () => {
    const big = {
      answers: Array.from({ length: 100 }, (_, i) => ({
        keywords: Array.from({ length: 20 }, (_, j) => `${i}ã${j}`.padEnd(100, 'ã')),
        reply: 'é'.repeat(4096),
      })),
    };
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(h.config.bodyLimitBytes);
    const r = await call(h, 'PUT', rulesUrl, big);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(big);
  });

  const long = (n: number) => 'x'.repeat(n);
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['an unknown top-level field', { greeting: 'hi', farewell: 'bye' }, 'farewell', /is not a known field/],
    ['an empty greeting', { greeting: '' }, 'greeting', /must not be empty/],
    ['a greeting over 4096 characters', { greeting: long(4097) }, 'greeting', /at most 4096 characters/],
    ['an empty fallback', { fallback: '' }, 'fallback', /must not be empty/],
    ['a fallback over 4096 characters', { fallback: long(4097) }, 'fallback', /at most 4096/],
    ['an empty welcomeBack', { welcomeBack: '' }, 'welcomeBack', /must not be empty/],
    ['a welcomeBack over 4096 characters', { welcomeBack: long(4097) }, 'welcomeBack', /at most 4096/],
    ['a greeting that is not a string', { greeting: 42 }, 'greeting', /must be a string/],
    ['answers that are not an array', { answers: { keywords: ['a'] } }, 'answers', /must be an array/],
    [
      'over 100 answers',
      { answers: Array.from({ length: 101 }, () => ({ keywords: ['a'], reply: 'b' })) },
      'answers',
      /at most 100 items/,
    ],
    ['an answer without keywords', { answers: [{ reply: 'b' }] }, 'answers.0.keywords', /is required/],
    ['an answer without a reply', { answers: [{ keywords: ['a'] }] }, 'answers.0.reply', /is required/],
    [
      'an answer with no keyword',
      { answers: [{ keywords: [], reply: 'b' }] },
      'answers.0.keywords',
      /at least 1 item/,
    ],
    [
      'an answer with 21 keywords',
      { answers: [{ keywords: Array(21).fill('a'), reply: 'b' }] },
      'answers.0.keywords',
      /at most 20 items/,
    ],
    [
      'an empty keyword',
      { answers: [{ keywords: ['a', ''], reply: 'b' }] },
      'answers.0.keywords.1',
      /must not be empty/,
    ],
    [
      'a keyword over 100 characters',
      { answers: [{ keywords: [long(101)], reply: 'b' }] },
      'answers.0.keywords.0',
      /at most 100 characters/,
    ],
    [
      'a keyword of punctuation only',
      { answers: [{ keywords: ['?!'], reply: 'b' }] },
      'answers.0.keywords.0',
      /letter or a digit/,
    ],
    ['an empty reply', { answers: [{ keywords: ['a'], reply: '' }] }, 'answers.0.reply', /must not be empty/],
    [
      'a reply over 4096 characters',
      { answers: [{ keywords: ['a'], reply: long(4097) }] },
      'answers.0.reply',
      /at most 4096/,
    ],
    [
      'an unknown field in an answer',
      { answers: [{ keywords: ['a'], reply: 'b', weight: 1 }] },
      'answers.0.weight',
      /is not a known field/,
    ],
    ['a handoff without keywords', { handoff: { reply: 'x' } }, 'handoff.keywords', /is required/],
    ['a handoff with no keyword', { handoff: { keywords: [] } }, 'handoff.keywords', /at least 1 item/],
    [
      'a handoff with 21 keywords',
      { handoff: { keywords: Array(21).fill('a') } },
      'handoff.keywords',
      /at most 20 items/,
    ],
    ['an empty handoff keyword', { handoff: { keywords: [''] } }, 'handoff.keywords.0', /must not be empty/],
    [
      'a wordless handoff keyword',
      { handoff: { keywords: ['  '] } },
      'handoff.keywords.0',
      /letter or a digit/,
    ],
    [
      'an empty handoff reply',
      { handoff: { keywords: ['a'], reply: '' } },
      'handoff.reply',
      /must not be empty/,
    ],
    [
      'an unknown assignment type',
      { handoff: { keywords: ['a'], assignment: { type: 'agent', target: 'x' } } },
      'handoff.assignment.type',
      /must be one of: queue, operator, team/,
    ],
    [
      'an empty assignment target',
      { handoff: { keywords: ['a'], assignment: { type: 'queue', target: '' } } },
      'handoff.assignment.target',
      /must not be empty/,
    ],
    [
      'an assignment without a target',
      { handoff: { keywords: ['a'], assignment: { type: 'queue' } } },
      'handoff.assignment.target',
      /is required/,
    ],
    [
      'an unknown field in the assignment',
      { handoff: { keywords: ['a'], assignment: { type: 'queue', target: 'q', priority: 1 } } },
      'handoff.assignment.priority',
      /is not a known field/,
    ],
    [
      'an unknown field in the handoff',
      { handoff: { keywords: ['a'], queue: 'q' } },
      'handoff.queue',
      /is not a known field/,
    ],
    ['steps that are not an object', { steps: ['a'] }, 'steps', /must be a JSON object/],
    [
      'over 100 steps',
      { steps: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}`, 'x'])) },
      'steps',
      /at most 100 entries/,
    ],
    ['an empty step name', { steps: { '': 'x' } }, 'steps', /names must be 1 to 100 characters/],
    ['a step name over 100 characters', { steps: { [long(101)]: 'x' } }, 'steps', /names must be 1 to 100/],
    ['an empty step text', { steps: { survey: '' } }, 'steps.survey', /must not be empty/],
    ['a step text over 4096 characters', { steps: { survey: long(4097) } }, 'steps.survey', /at most 4096/],
    ['a step text that is not a string', { steps: { survey: 1 } }, 'steps.survey', /must be a string/],
    ['an array body', [{ greeting: 'hi' }], 'body', /must be a JSON object/],
  ];

  it.each(cases)(
    'refuses %s with 422 naming the field, and keeps the stored rules',
    async (_what, body, field, problem) => {
      await call(h, 'PUT', rulesUrl, RULES);
      expectInvalid(await call(h, 'PUT', rulesUrl, body), field, problem);
      expect((await call(h, 'GET', rulesUrl)).body).toEqual({ rules: RULES, isDefault: false });
    },
  );

  it('reports every problem of a body at once', async () => {
    const r = await call(h, 'PUT', rulesUrl, {
      greeting: '',
      answers: [{ keywords: [], reply: '' }],
      x: 1,
    });
    expectError(r, 422, 'unprocessable_entity');
    expect(Object.keys(r.body.validationError).sort()).toEqual(
      ['answers.0.keywords', 'answers.0.reply', 'greeting', 'x'].sort(),
    );
  });

  it('refuses a missing body, a body that is not JSON, and one that is not an object', async () => {
    expectInvalid(await call(h, 'PUT', rulesUrl), 'body', /must be a JSON object/);
    const notJson = await h.app.server.inject({
      method: 'PUT',
      url: rulesUrl,
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"greeting": ',
    });
    expect(notJson.statusCode).toBe(422);
    expect(notJson.json().validationError.body[0]).toMatch(/is not valid JSON/);
    expectInvalid(
      await call(h, 'PUT', rulesUrl, 'null', { ...AUTH, 'content-type': 'application/json' }),
      'body',
      /JSON object/,
    );
    const text = await h.app.server.inject({
      method: 'PUT',
      url: rulesUrl,
      headers: { ...AUTH, 'content-type': 'text/plain' },
      payload: 'greeting: hi',
    });
    expect(text.statusCode).toBe(415);
  });

  it('validates before looking the bot up, like the other admin routes', async () => {
    expectInvalid(
      await call(h, 'PUT', `${botPath(seed.project.id, 'bot_missing')}/rules`, { greeting: '' }),
      'greeting',
      /empty/,
    );
  });

  it('DELETE goes back to the defaults, and is harmless when repeated or when none were set', async () => {
    await call(h, 'PUT', rulesUrl, RULES);
    const del = await call(h, 'DELETE', rulesUrl);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
    expect((await call(h, 'GET', rulesUrl)).body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
    expect((await call(h, 'DELETE', rulesUrl)).body).toEqual({ rules: DEFAULT_RULES, isDefault: true });

    const fresh = await createBot(h, seed.project.id, 'webchat');
    const url = `${botPath(seed.project.id, fresh)}/rules`;
    expect((await call(h, 'DELETE', url)).body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
    // Nothing was written for a bot that had no rules: it keeps following DEFAULT_RULES.
    expect(await h.store.queries.bots.getRules(fresh)).toBeUndefined();
  });

  it('rules equal to the defaults count as the defaults', async () => {
    await call(h, 'PUT', rulesUrl, RULES);
    expect((await call(h, 'PUT', rulesUrl, DEFAULT_RULES)).status).toBe(200);
    expect((await call(h, 'GET', rulesUrl)).body).toEqual({ rules: DEFAULT_RULES, isDefault: true });
  });
});

describe('admin API: the rule bot answers with the rules set', () => {
  let h: Harness;
  let seed: Seed;
  let bot: Bot;
  let rulesUrl: string;
  beforeAll(async () => {
    h = await createHarness();
    seed = await h.seed();
    bot = seed.bot;
    rulesUrl = `${botPath(seed.project.id, bot.id)}/rules`;
  });
  afterAll(async () => h.close());

  let userCount = 0;
  async function newUser(): Promise<EndUser> {
    userCount += 1;
    const r = await call(h, 'POST', `/admin/v1/projects/${seed.project.id}/users`, {
      names: `User ${userCount}`,
    });
    const user = await h.store.queries.endUsers.get(seed.project.id, r.body.id);
    if (user === undefined) throw new Error('user not created');
    return user;
  }

  /** The user writes `text`; returns what the bot said in reply and the handoff, if any. */
  async function write(user: EndUser, text: string) {
    const now = Date.now();
    const before = await roomTexts(user);
    const received = await h.store.transaction((tx) =>
      receiveFromUser(tx, { bot, user, message: { type: 'text', content: { body: text } }, now }),
    );
    const added = (await roomTexts(user)).slice(before.length);
    // What follows the user's message (a new room's greeting comes before it).
    const mine = added.findIndex((m) => m.sender === 'user');
    return {
      said: added.slice(mine + 1).map((m) => m.text),
      routedTo: received.routedTo,
      conversationId: received.conversationId,
      roomId: received.room.id,
    };
  }

  /** The room's history as [sender, text] pairs, oldest first. */
  async function roomTexts(user: EndUser): Promise<Array<{ sender: string; text: string }>> {
    const room = await h.store.queries.rooms.getByPair(bot.id, user.id);
    if (room === undefined) return [];
    const page = await h.store.queries.messages.listOfRoom(room.id, { limit: 200 });
    return page.items.map((m) => ({ sender: m.sender, text: String(m.content.body) }));
  }

  it('greets, answers, falls back and hands off with the assignment, as the rules say', async () => {
    const set = await call(h, 'PUT', rulesUrl, {
      greeting: 'Welcome to Acme!',
      answers: [{ keywords: ['price'], reply: 'Plans start at 10 USD.' }],
      handoff: {
        keywords: ['agent'],
        reply: 'Passing you to sales…',
        assignment: { type: 'queue', target: 'sales' },
      },
      fallback: 'Try "price" or "agent".',
    });
    expect(set.status).toBe(200);

    const user = await newUser();
    const first = await write(user, 'What is the PRICE?');
    expect(first.routedTo).toBe('bot');
    expect(first.said).toEqual(['Plans start at 10 USD.']);
    expect(await roomTexts(user)).toEqual([
      { sender: 'bot', text: 'Welcome to Acme!' },
      { sender: 'user', text: 'What is the PRICE?' },
      { sender: 'bot', text: 'Plans start at 10 USD.' },
    ]);

    expect((await write(user, 'hello?')).said).toEqual(['Try "price" or "agent".']);

    const handoff = await write(user, 'an agent, the price');
    expect(handoff.said).toEqual(['Passing you to sales…']);
    expect(handoff.conversationId).not.toBeNull();
    const conversation = await h.store.queries.conversations.get(
      seed.project.id,
      String(handoff.conversationId),
    );
    expect(conversation).toMatchObject({ state: 'active', assignment: { type: 'queue', target: 'sales' } });

    // The panel owns the room now: the bot stays quiet.
    const toPanel = await write(user, 'price');
    expect(toPanel.routedTo).toBe('panel');
    expect(toPanel.said).toEqual([]);
  });

  it('changed rules apply from the next message on', async () => {
    await call(h, 'PUT', rulesUrl, { answers: [{ keywords: ['price'], reply: 'OLD' }] });
    const user = await newUser();
    expect((await write(user, 'price')).said).toEqual(['OLD']);
    await call(h, 'PUT', rulesUrl, { answers: [{ keywords: ['price'], reply: 'NEW' }] });
    expect((await write(user, 'price')).said).toEqual(['NEW']);
  });

  it('hands the room back at a step the rules name, or with welcomeBack', async () => {
    await call(h, 'PUT', rulesUrl, {
      steps: { survey: 'How did we do?' },
      welcomeBack: 'Back with the bot.',
    });
    const user = await newUser();
    const { roomId } = await write(user, 'hi');
    const room = await h.store.queries.rooms.get(seed.project.id, roomId);
    if (room === undefined) throw new Error('no room');
    for (const [edge, said] of [
      ['survey', 'How did we do?'],
      ['unknown', 'Back with the bot.'],
      [undefined, 'Back with the bot.'],
    ] as const) {
      const before = (await roomTexts(user)).length;
      const now = Date.now();
      const conversationId = 'conv_handback';
      const event = conversationCloseEvent({
        timestamp: now,
        projectId: seed.project.id,
        roomId,
        user,
        bot,
        conversationId,
      });
      await h.store.transaction((tx) =>
        handBackToBot(tx, { bot, user, room, now, edge, conversationId, event }),
      );
      expect((await roomTexts(user)).slice(before)).toEqual([{ sender: 'bot', text: said }]);
    }
  });

  it('after a reset the bot runs on DEFAULT_RULES again', async () => {
    await call(h, 'PUT', rulesUrl, { greeting: 'Custom', fallback: 'Custom fallback' });
    expect((await call(h, 'DELETE', rulesUrl)).status).toBe(200);
    const user = await newUser();
    const hello = await write(user, 'hello');
    expect(hello.said).toEqual([DEFAULT_RULES.fallback]);
    expect(await roomTexts(user)).toEqual([
      { sender: 'bot', text: DEFAULT_RULES.greeting },
      { sender: 'user', text: 'hello' },
      { sender: 'bot', text: DEFAULT_RULES.fallback },
    ]);
    expect(hello.conversationId).toBeNull();
    const human = await write(user, 'Quero falar com um HUMANO');
    expect(human.said).toEqual([DEFAULT_RULES.handoff?.reply]);
    expect(human.conversationId).not.toBeNull();
  });
});

describe('admin API: bot channels', () => {
  let h: Harness;
  let seed: Seed;
  beforeAll(async () => {
    h = await createHarness();
    seed = await h.seed();
  });
  afterAll(async () => h.close());

  it('a webchat bot has its chat page and nothing to configure', async () => {
    const url = `${botPath(seed.project.id, seed.bot.id)}/channel`;
    const got = await call(h, 'GET', url);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ botId: seed.bot.id, channel: 'webchat', url: `/webchat/${seed.bot.id}` });

    for (const res of [
      await call(h, 'PUT', url, { webhookUrl: 'http://127.0.0.1:9/hook' }),
      await call(h, 'PUT', url, {}),
      await call(h, 'POST', `${url}/signing-key/regenerate`, {}),
    ]) {
      expectInvalid(res, 'channel', /webchat, which needs no configuration/);
    }
    expect(await h.store.queries.bots.getChannel(seed.bot.id)).toBeUndefined();
  });

  it('an http bot: unconfigured, created with a key shown once, updated without it', async () => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;

    expect((await call(h, 'GET', url)).body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: null,
      hasSigningKey: false,
    });

    const created = await call(h, 'PUT', url, { webhookUrl: 'http://127.0.0.1:9/hook' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/hook',
      signingKey: expect.stringMatching(HEX64),
    });
    const key = created.body.signingKey as string;
    expect((await h.store.queries.bots.getChannel(botId))?.signingKey).toBe(key);

    const shown = await call(h, 'GET', url);
    expect(shown.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/hook',
      hasSigningKey: true,
    });
    expect(shown.text).not.toContain(key);

    const updated = await call(h, 'PUT', url, { webhookUrl: 'https://[::1]:8443/other' });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: 'https://[::1]:8443/other',
      hasSigningKey: true,
    });
    expect(updated.text).not.toContain(key);

    // No body, or an empty one, changes nothing but still answers the configuration.
    for (const payload of [undefined, {}]) {
      const same = await call(h, 'PUT', url, payload);
      expect(same.status).toBe(200);
      expect(same.body.webhookUrl).toBe('https://[::1]:8443/other');
      expect(same.text).not.toContain(key);
    }
    expect((await h.store.queries.bots.getChannel(botId))?.signingKey).toBe(key);
  });

  it('a first PUT without a webhook URL creates the key; the URL can come later', async () => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;
    const created = await call(h, 'PUT', url);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: null,
      signingKey: expect.stringMatching(HEX64),
    });
    const later = await call(h, 'PUT', url, { webhookUrl: 'http://127.0.0.1:9/late' });
    expect(later.status).toBe(200);
    expect(later.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/late',
      hasSigningKey: true,
    });
  });

  it('regenerate replaces the key, shows the new one once, and keeps the webhook URL', async () => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;
    const created = await call(h, 'PUT', url, { webhookUrl: 'http://127.0.0.1:9/hook' });
    const first = created.body.signingKey as string;

    const regenerated = await call(h, 'POST', `${url}/signing-key/regenerate`);
    expect(regenerated.status).toBe(200);
    expect(regenerated.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: 'http://127.0.0.1:9/hook',
      signingKey: expect.stringMatching(HEX64),
    });
    const second = regenerated.body.signingKey as string;
    expect(second).not.toBe(first);
    const stored = await h.store.queries.bots.getChannel(botId);
    expect(stored).toMatchObject({ signingKey: second, webhookUrl: 'http://127.0.0.1:9/hook' });

    const again = await call(h, 'POST', `${url}/signing-key/regenerate`, {});
    expect(again.body.signingKey).not.toBe(second);
    expect((await call(h, 'GET', url)).text).not.toContain(again.body.signingKey);

    expectInvalid(
      await call(h, 'POST', `${url}/signing-key/regenerate`, { signingKey: 'mine' }),
      'signingKey',
      /not a known field/,
    );
  });

  it('regenerate on an unconfigured http bot creates its configuration', async () => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;
    const r = await call(h, 'POST', `${url}/signing-key/regenerate`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      botId,
      channel: 'http',
      webhookUrl: null,
      signingKey: expect.stringMatching(HEX64),
    });
    expect((await call(h, 'GET', url)).body.hasSigningKey).toBe(true);
  });

  it.each([
    ['a cloud metadata address', 'http://169.254.169.254/latest/meta-data', /cloud metadata address/],
    ['a private address', 'https://10.0.0.5/hook', /private address; relevo refuses/],
    ['a link-local IPv6 address', 'http://[fe80::1]/hook', /link-local/],
    ['a non-http scheme', 'ftp://127.0.0.1/hook', /absolute http or https URL/],
    ['a relative URL', '/hook', /absolute http or https URL/],
    ['credentials in the URL', 'http://user:pw@127.0.0.1/hook', /must not contain credentials/],
    ['spaces', 'http://127.0.0.1/a hook', /spaces/],
    ['an empty string', '', /must not be empty/],
    ['over 2048 characters', `http://127.0.0.1/${'a'.repeat(2040)}`, /at most 2048 characters/],
  ])('refuses %s with 422 on webhookUrl, changing nothing', async (_what, webhookUrl, reason) => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;
    expectInvalid(await call(h, 'PUT', url, { webhookUrl }), 'webhookUrl', reason);
    expect(await h.store.queries.bots.getChannel(botId)).toBeUndefined();

    await call(h, 'PUT', url, { webhookUrl: 'http://127.0.0.1:9/ok' });
    expectInvalid(await call(h, 'PUT', url, { webhookUrl }), 'webhookUrl', reason);
    expect((await h.store.queries.bots.getChannel(botId))?.webhookUrl).toBe('http://127.0.0.1:9/ok');
  });

  it('refuses unknown fields and a webhookUrl that is not a string', async () => {
    const botId = await createBot(h, seed.project.id, 'http');
    const url = `${botPath(seed.project.id, botId)}/channel`;
    expectInvalid(
      await call(h, 'PUT', url, { signingKey: 'a'.repeat(64) }),
      'signingKey',
      /not a known field/,
    );
    expectInvalid(await call(h, 'PUT', url, { webhookUrl: 42 }), 'webhookUrl', /must be a string/);
    expect(await h.store.queries.bots.getChannel(botId)).toBeUndefined();
  });
});
