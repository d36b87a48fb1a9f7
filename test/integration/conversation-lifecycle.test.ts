/**
 * docs/api.md §4.7, §4.8 and the §5 list and transcript: close, get, list and read a conversation,
 * byte for byte where the wire format is documented, through every prefix and both auth
 * schemes, with every error the routes can give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConversation } from '../../src/domain/conversations/close.js';
import { startConversation } from '../../src/domain/conversations/start.js';
import { receiveFromUser } from '../../src/domain/messages/inbound.service.js';
import { createBot, createEndUser } from '../../src/domain/projects/project.service.js';
import { CATALOGUE } from '../../src/errors.js';
import { type AuthScheme, authHeaders, call, errorOf, PREFIXES } from '../helpers/api.js';
import { type Harness, harnessWithTwoProjects, type Seed } from '../helpers/harness.js';

let h: Harness;
let s: Seed;
let other: Seed;

beforeAll(async () => {
  ({ h, s, other } = await harnessWithTwoProjects());
});
afterAll(async () => h.close());

const SCHEMES: AuthScheme[] = ['apiKey', 'basic'];
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const base = (prefix: string, projectId: string) => `${prefix}/external-support/${projectId}/conversations`;

interface Pair {
  readonly botId: string;
  readonly userId: string;
}

async function freshPair(opts: { referenceId?: string } = {}): Promise<Pair> {
  return h.store.transaction(async (tx) => {
    const bot = await createBot(tx, s.project.id, 'Sales Bot', 'webchat', Date.now());
    const user = await createEndUser(tx, s.project.id, 'João Souza', opts.referenceId ?? null, Date.now());
    return { botId: bot.id, userId: user.id };
  });
}

async function start(pair: Pair, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(h.app, {
    url: `${base('/v1', s.project.id)}/start`,
    headers: authHeaders(s, 'apiKey'),
    body: { ...pair, ...extra },
  });
  expect(res.statusCode).toBe(200);
  return res.json().data.conversationId as string;
}

/** Calls close on project `s`, with `s`'s credential unless `as` names another seed's. */
async function close(body: unknown, opts: { prefix?: string; scheme?: AuthScheme; as?: Seed } = {}) {
  const as = opts.as ?? s;
  return call(h.app, {
    url: `${base(opts.prefix ?? '/v1', s.project.id)}/close`,
    headers: authHeaders(as, opts.scheme ?? 'apiKey'),
    body,
  });
}

async function get(path: string, opts: { prefix?: string; scheme?: AuthScheme; as?: Seed } = {}) {
  const as = opts.as ?? s;
  return call(h.app, {
    method: 'GET',
    url: `${base(opts.prefix ?? '/v1', s.project.id)}${path}`,
    headers: authHeaders(as, opts.scheme ?? 'apiKey'),
  });
}

/**
 * The panel's events of a conversation in room order, as stored: `payload` is the exact text that
 * is signed and sent. Read through the store rather than with a database driver, so the same
 * assertions hold on every database the suite runs on.
 */
async function eventsOf(conversationId: string) {
  const { items } = await h.store.queries.outbox.list(s.project.id, { conversationId }, { limit: 100 });
  return items
    .map((e) => ({
      type: e.type,
      payload: e.payload,
      status: e.status,
      room_seq: e.roomSeq,
      room_id: e.roomId,
      destination: e.destination,
    }))
    .sort((x, y) => x.room_seq - y.room_seq);
}

async function roomMessages(pair: Pair) {
  const room = await h.store.queries.rooms.getByPair(pair.botId, pair.userId);
  if (room === undefined) return [];
  return (await h.store.queries.messages.listOfRoom(room.id, { limit: 1000 })).items;
}

function expectError(
  res: { statusCode: number; body: string },
  status: number,
  code: keyof typeof CATALOGUE,
) {
  expect(res.statusCode).toBe(status);
  const e = errorOf(res);
  expect(Object.keys(e)).toEqual(['message', 'statusMessage', 'status', 'error', 'validationError']);
  expect(e.message).toBe(CATALOGUE[code].message);
  expect(e.statusMessage).toBe('failure');
  expect(e.status).toBe(0);
  expect(e.error.code).toBe(code);
  expect(e.error.key).toBe(code);
  return e;
}

const CLOSE_EVENT_KEYS = [
  'event',
  'timestamp',
  'field',
  'object',
  'event_type',
  'project_id',
  'room_id',
  'contact',
  'conversation',
  'bot',
  'value',
];

// ---------------------------------------------------------------------------------------------
// Close
// ---------------------------------------------------------------------------------------------

describe('close', () => {
  for (const prefix of PREFIXES) {
    for (const scheme of SCHEMES) {
      it(`answers the documented envelope under ${prefix} with ${scheme}`, async () => {
        const pair = await freshPair();
        const conversationId = await start(pair);
        const res = await close(pair, { prefix, scheme });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.body).toBe(
          `{"message":["Conversation closed successfully"],"statusMessage":"success","status":1,"data":{"conversationId":"${conversationId}","botId":"${pair.botId}","userId":"${pair.userId}","status":"closed"}}`,
        );
        const stored = await h.store.queries.conversations.get(s.project.id, conversationId);
        expect(stored?.state).toBe('closed');
        expect(stored?.endedReason).toBe('closed_by_operator');
        expect(stored?.endAt).toBeTypeOf('number');
      });
    }
  }

  it('without redirect: writes conversation.close with the documented shape, key order and reason only', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair);
    const before = Date.now();
    const res = await close(pair);
    const after = Date.now();
    expect(res.statusCode).toBe(200);
    const events = await eventsOf(conversationId);
    expect(events.map((e) => e.type)).toEqual(['conversation.start', 'conversation.close']);
    const [startEvent, closeEvent] = events as [(typeof events)[0], (typeof events)[0]];
    expect(startEvent.room_seq).toBeLessThan(closeEvent.room_seq);
    expect(closeEvent.room_id).toBe(startEvent.room_id);
    expect(closeEvent.destination).toBe('panel');
    expect(closeEvent.status).toBe('skipped');
    const payload = JSON.parse(closeEvent.payload);
    expect(payload.timestamp).toBeGreaterThanOrEqual(before);
    expect(payload.timestamp).toBeLessThanOrEqual(after);
    expect(Object.keys(payload)).toEqual(CLOSE_EVENT_KEYS);
    expect(closeEvent.payload).toBe(
      JSON.stringify({
        event: 'conversation.close',
        timestamp: payload.timestamp,
        field: 'conversation',
        object: 'conversation_event',
        event_type: 'close',
        project_id: s.project.id,
        room_id: closeEvent.room_id,
        contact: { id: pair.userId, name: 'João Souza' },
        conversation: { id: conversationId },
        bot: { id: pair.botId, name: 'Sales Bot' },
        value: { reason: 'closed_by_operator' },
      }),
    );
    expect(closeEvent.payload.endsWith(',"value":{"reason":"closed_by_operator"}}')).toBe(true);
    // No redirect: the panel said nothing more; the bot's hand-back is outside the conversation.
    const transcript = (await h.store.queries.messages.listOfConversation(conversationId, { limit: 100 }))
      .items;
    expect(transcript).toEqual([]);
    const room = await h.store.queries.rooms.getByPair(pair.botId, pair.userId);
    expect(room?.botStep ?? null).toBeNull();
  });

  it('with a text redirect: the text is the last operator message, stored before the close, and echoed in the event', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair, { initialMessage: 'Olá, bom dia' });
    const res = await close({ ...pair, redirectPayload: { type: 'text', text: 'Obrigado pelo contato!' } });
    expect(res.statusCode).toBe(200);

    const transcript = (await h.store.queries.messages.listOfConversation(conversationId, { limit: 100 }))
      .items;
    expect(transcript.map((m) => [m.sender, m.type, m.content])).toEqual([
      ['operator', 'text', { body: 'Olá, bom dia' }],
      ['operator', 'text', { body: 'Obrigado pelo contato!' }],
    ]);
    const stored = await h.store.queries.conversations.get(s.project.id, conversationId);
    expect(transcript[1]!.createdAt).toBeLessThanOrEqual(stored!.endAt!);

    const [, closeEvent] = await eventsOf(conversationId);
    const payload = JSON.parse(closeEvent!.payload);
    expect(Object.keys(payload)).toEqual(CLOSE_EVENT_KEYS);
    expect(Object.keys(payload.value)).toEqual(['reason', 'redirect_payload']);
    expect(
      closeEvent!.payload.endsWith(
        ',"value":{"reason":"closed_by_operator","redirect_payload":{"type":"text","text":"Obrigado pelo contato!"}}}',
      ),
    ).toBe(true);

    // In the room, the redirect comes before the bot takes the room back and speaks.
    const history = await roomMessages(pair);
    expect(history.map((m) => m.sender)).toEqual(['operator', 'operator', 'bot']);
    expect(history[1]!.id).toBe(transcript[1]!.id);
    expect(history[2]!.conversationId).toBeNull();
    const room = await h.store.queries.rooms.getByPair(pair.botId, pair.userId);
    expect(room?.botStep ?? null).toBeNull();
  });

  it('with an edge redirect: the room resumes at that bot step, no message from the panel', async () => {
    const pair = await freshPair();
    await h.store.queries.bots.putRules(
      pair.botId,
      JSON.stringify({ steps: { 'main-menu': 'Back at the main menu: 1) Billing 2) Support' } }),
      Date.now(),
    );
    const conversationId = await start(pair);
    const res = await close({ ...pair, redirectPayload: { type: 'edge', text: 'main-menu' } });
    expect(res.statusCode).toBe(200);

    const room = await h.store.queries.rooms.get(s.project.id, (await eventsOf(conversationId))[0]!.room_id);
    expect(room?.botStep).toBe('main-menu');
    const transcript = (await h.store.queries.messages.listOfConversation(conversationId, { limit: 100 }))
      .items;
    expect(transcript).toEqual([]);
    const history = await roomMessages(pair);
    expect(history.map((m) => [m.sender, m.content])).toEqual([
      ['bot', { body: 'Back at the main menu: 1) Billing 2) Support' }],
    ]);

    const [, closeEvent] = await eventsOf(conversationId);
    expect(JSON.parse(closeEvent!.payload).value).toEqual({
      reason: 'closed_by_operator',
      redirect_payload: { type: 'edge', text: 'main-menu' },
    });

    // The next close without an edge gives the room back at the bot's start.
    await start(pair);
    expect((await close(pair)).statusCode).toBe(200);
    const after = await h.store.queries.rooms.get(s.project.id, room!.id);
    expect(after?.botStep ?? null).toBeNull();
  });

  it('accepts a redirect text of exactly 4096 characters (code points)', async () => {
    const pair = await freshPair();
    await start(pair);
    const res = await close({ ...pair, redirectPayload: { type: 'text', text: '😀'.repeat(4096) } });
    expect(res.statusCode).toBe(200);
  });

  it('closing twice: 404 conversation_not_found, and nothing more is written', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair);
    expect((await close(pair)).statusCode).toBe(200);
    const messagesBefore = await roomMessages(pair);
    const again = await close({ ...pair, redirectPayload: { type: 'text', text: 'late' } });
    const e = expectError(again, 404, 'conversation_not_found');
    expect(e.validationError).toEqual({});
    expect(await eventsOf(conversationId)).toHaveLength(2);
    expect(await roomMessages(pair)).toEqual(messagesBefore);
  });

  // On PostgreSQL the close is a conditional update that only one transaction can win; the
  // others block on the row, then find it closed.
  it('under concurrency: of many simultaneous closes, exactly one wins and one close is written', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => close({ ...pair, redirectPayload: { type: 'text', text: 'Bye' } })),
    );
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 404)).toHaveLength(9);
    expect((await eventsOf(conversationId)).map((e) => e.type)).toEqual([
      'conversation.start',
      'conversation.close',
    ]);
    const transcript = await h.store.queries.messages.listOfConversation(conversationId, { limit: 100 });
    expect(transcript.items).toHaveLength(1);
  });

  it('404 conversation_not_found for a pair that never had a conversation (no room written)', async () => {
    const pair = await freshPair();
    expectError(await close(pair), 404, 'conversation_not_found');
    expect(await h.store.queries.rooms.getByPair(pair.botId, pair.userId)).toBeUndefined();
  });

  it('start again after close: a new active conversation in the same room, events in room order', async () => {
    const pair = await freshPair();
    const first = await start(pair);
    expect((await close(pair)).statusCode).toBe(200);
    const second = await start(pair);
    expect(second).not.toBe(first);
    const [s1, c1] = await eventsOf(first);
    const [s2] = await eventsOf(second);
    expect(s2!.room_id).toBe(s1!.room_id);
    expect([s1!.room_seq, c1!.room_seq, s2!.room_seq]).toEqual([1, 2, 3]);
    expect((await get(`/${first}`)).json().data.state).toBe('closed');
    expect((await get(`/${second}`)).json().data.state).toBe('active');
    // And the second closes like the first.
    const res = await close(pair, { prefix: '/platform/v1', scheme: 'basic' });
    expect(res.json().data.conversationId).toBe(second);
  });

  it('404 bot_not_found, also for a bot of another project', async () => {
    const pair = await freshPair();
    await start(pair);
    for (const botId of ['B-9', other.bot.id]) {
      const e = expectError(await close({ botId, userId: pair.userId }), 404, 'bot_not_found');
      expect(e.error.description).toContain(botId);
    }
  });

  it('404 user_not_found, also for a user of another project', async () => {
    const pair = await freshPair();
    await start(pair);
    for (const userId of ['U-1', other.user.id]) {
      expectError(await close({ botId: pair.botId, userId }), 404, 'user_not_found');
    }
  });

  it('401 for a credential of another project, with either scheme, and nothing is closed', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair);
    for (const scheme of SCHEMES) {
      expectError(await close(pair, { as: other, scheme }), 401, 'unauthorized');
    }
    expect((await h.store.queries.conversations.get(s.project.id, conversationId))?.state).toBe('active');
  });

  const invalid: Array<[string, (p: Pair) => unknown, Record<string, string[]>]> = [
    ['malformed JSON', () => '{"botId": ', { body: [] }],
    ['a JSON array', () => '[]', { body: ['must be a JSON object'] }],
    ['empty body', () => '', { body: ['must be a JSON object'] }],
    ['missing botId and userId', () => ({}), { botId: ['is required'], userId: ['is required'] }],
    ['missing userId', (p) => ({ botId: p.botId }), { userId: ['is required'] }],
    ['empty botId', (p) => ({ ...p, botId: '' }), { botId: ['must not be empty'] }],
    ['numeric userId', (p) => ({ ...p, userId: 7 }), { userId: ['must be a string'] }],
    ['null botId', (p) => ({ ...p, botId: null }), { botId: ['must be a string'] }],
    ['unknown field', (p) => ({ ...p, reason: 'done' }), { reason: ['is not a known field'] }],
    [
      'a start-only field',
      (p) => ({ ...p, initialMessage: 'hi' }),
      { initialMessage: ['is not a known field'] },
    ],
    [
      'redirectPayload without text',
      (p) => ({ ...p, redirectPayload: { type: 'text' } }),
      { 'redirectPayload.text': ['is required'] },
    ],
    [
      'redirectPayload without type',
      (p) => ({ ...p, redirectPayload: { text: 'bye' } }),
      { 'redirectPayload.type': ['is required'] },
    ],
    [
      'redirectPayload type link',
      (p) => ({ ...p, redirectPayload: { type: 'link', text: 'https://example.com' } }),
      { 'redirectPayload.type': ['must be one of: text, edge'] },
    ],
    [
      'redirectPayload empty text',
      (p) => ({ ...p, redirectPayload: { type: 'text', text: '' } }),
      { 'redirectPayload.text': ['must not be empty'] },
    ],
    [
      'redirectPayload empty edge',
      (p) => ({ ...p, redirectPayload: { type: 'edge', text: '' } }),
      { 'redirectPayload.text': ['must not be empty'] },
    ],
    [
      'redirectPayload text too long',
      (p) => ({ ...p, redirectPayload: { type: 'text', text: 'a'.repeat(4097) } }),
      { 'redirectPayload.text': ['must be at most 4096 characters'] },
    ],
    [
      'redirectPayload text not a string',
      (p) => ({ ...p, redirectPayload: { type: 'text', text: 42 } }),
      { 'redirectPayload.text': ['must be a string'] },
    ],
    [
      'redirectPayload extra field',
      (p) => ({ ...p, redirectPayload: { type: 'text', text: 'bye', url: 'x' } }),
      { 'redirectPayload.url': ['is not a known field'] },
    ],
    [
      'redirectPayload a string',
      (p) => ({ ...p, redirectPayload: 'bye' }),
      { redirectPayload: ['must be a JSON object'] },
    ],
    [
      'redirectPayload null',
      (p) => ({ ...p, redirectPayload: null }),
      { redirectPayload: ['must be a JSON object'] },
    ],
  ];
  for (const [name, body, fields] of invalid) {
    it(`422 unprocessable_entity: ${name}, and the conversation stays active`, async () => {
      const pair = await freshPair();
      const conversationId = await start(pair);
      const e = expectError(await close(body(pair)), 422, 'unprocessable_entity');
      expect(Object.keys(e.validationError).sort()).toEqual(Object.keys(fields).sort());
      for (const [path, problems] of Object.entries(fields)) {
        if (problems.length > 0) expect(e.validationError[path]).toEqual(problems);
        else expect(e.validationError[path]?.length).toBeGreaterThan(0);
      }
      expect((await h.store.queries.conversations.get(s.project.id, conversationId))?.state).toBe('active');
      expect(await eventsOf(conversationId)).toHaveLength(1);
    });
  }

  it('415 for a body that is not JSON', async () => {
    const pair = await freshPair();
    await start(pair);
    const res = await call(h.app, {
      url: `${base('/v1', s.project.id)}/close`,
      headers: authHeaders(s, 'apiKey'),
      body: `botId=${pair.botId}&userId=${pair.userId}`,
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(res, 415, 'unsupported_media_type');
  });
});

// ---------------------------------------------------------------------------------------------
// Get
// ---------------------------------------------------------------------------------------------

describe('get', () => {
  it('an active conversation with assignment and metadata: exact bytes, documented keys then extensions', async () => {
    const pair = await freshPair({ referenceId: 'crm-42' });
    const metadata = { ticketId: 'T-12345', nested: { n: 1.5, list: [1, 'two', null] } };
    const conversationId = await start(pair, { metadata, assignment: { type: 'team', target: 'billing' } });
    const stored = await h.store.queries.conversations.get(s.project.id, conversationId);
    for (const prefix of PREFIXES) {
      for (const scheme of SCHEMES) {
        const res = await get(`/${conversationId}`, { prefix, scheme });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.body).toBe(
          `{"message":["Conversation retrieved successfully"],"statusMessage":"success","status":1,"data":${JSON.stringify(
            {
              _id: conversationId,
              roomId: stored!.roomId,
              state: 'active',
              startAt: new Date(stored!.startAt).toISOString(),
              User: { id: pair.userId, names: 'João Souza', referenceId: 'crm-42' },
              Bot: { id: pair.botId, name: 'Sales Bot' },
              assignment: { type: 'team', target: 'billing' },
              metadata,
            },
          )}}`,
        );
      }
    }
  });

  it('an active conversation without extensions has exactly the documented keys, referenceId null', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair);
    const data = (await get(`/${conversationId}`)).json().data;
    expect(Object.keys(data)).toEqual(['_id', 'roomId', 'state', 'startAt', 'User', 'Bot']);
    expect(Object.keys(data.User)).toEqual(['id', 'names', 'referenceId']);
    expect(Object.keys(data.Bot)).toEqual(['id', 'name']);
    expect(data.User.referenceId).toBeNull();
    expect(data.startAt).toMatch(ISO_MS);
    expect(data.state).toBe('active');
  });

  it('a closed conversation adds endAt and endedReason after startAt', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair, { assignment: { type: 'queue', target: 'SUPORTE' } });
    expect((await close(pair)).statusCode).toBe(200);
    const stored = await h.store.queries.conversations.get(s.project.id, conversationId);
    const data = (await get(`/${conversationId}`, { prefix: '/jelouapi/v1', scheme: 'basic' })).json().data;
    expect(Object.keys(data)).toEqual([
      '_id',
      'roomId',
      'state',
      'startAt',
      'endAt',
      'endedReason',
      'User',
      'Bot',
      'assignment',
    ]);
    expect(data.state).toBe('closed');
    expect(data.endAt).toMatch(ISO_MS);
    expect(data.endAt).toBe(new Date(stored!.endAt!).toISOString());
    expect(data.endedReason).toBe('closed_by_operator');
    expect(Date.parse(data.endAt)).toBeGreaterThanOrEqual(Date.parse(data.startAt));
  });

  it("404 conversation_not_found for another project's conversation and for an unknown id", async () => {
    const foreign = await h.store.transaction(async (tx) => {
      const { conversation } = await startConversation(tx, {
        projectId: other.project.id,
        botId: other.bot.id,
        userId: other.user.id,
        now: Date.now(),
      });
      return conversation.id;
    });
    for (const prefix of PREFIXES) {
      for (const id of [foreign, 'conv_00000000000000000000000000', 'start']) {
        const e = expectError(await get(`/${id}`, { prefix }), 404, 'conversation_not_found');
        expect(e.error.description).toContain(id);
      }
    }
    // Its own project reads it.
    const res = await call(h.app, {
      method: 'GET',
      url: `${base('/v1', other.project.id)}/${foreign}`,
      headers: authHeaders(other, 'apiKey'),
    });
    expect(res.statusCode).toBe(200);
  });

  it('401 for a credential of another project, with either scheme', async () => {
    const conversationId = await start(await freshPair());
    for (const scheme of SCHEMES) {
      expectError(await get(`/${conversationId}`, { as: other, scheme }), 401, 'unauthorized');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

describe('list', () => {
  let lister: Seed;
  const ids: Record<string, string> = {};
  let botA: string;
  let botB: string;
  let user1: string;

  const at = (text: string) => Date.parse(text);

  async function list(query: string, opts: { prefix?: string; scheme?: AuthScheme; as?: Seed } = {}) {
    const as = opts.as ?? lister;
    return call(h.app, {
      method: 'GET',
      url: `${base(opts.prefix ?? '/v1', lister.project.id)}${query === '' ? '' : `?${query}`}`,
      headers: authHeaders(as, opts.scheme ?? 'apiKey'),
    });
  }
  async function listIds(query: string): Promise<string[]> {
    const res = await list(query);
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.nextCursor).toBeNull();
    return data.items.map((c: { _id: string }) => c._id);
  }

  beforeAll(async () => {
    // A project of its own, with start times chosen so every filter has a known answer.
    lister = await h.seed('Lister');
    await h.store.transaction(async (tx) => {
      const now = Date.now();
      const projectId = lister.project.id;
      const a = await createBot(tx, projectId, 'Bot A', 'webchat', now);
      const b = await createBot(tx, projectId, 'Bot B', 'webchat', now);
      const u1 = await createEndUser(tx, projectId, 'User 1', null, now);
      const u2 = await createEndUser(tx, projectId, 'User 2', null, now);
      const u3 = await createEndUser(tx, projectId, 'User 3', 'ref-3', now);
      botA = a.id;
      botB = b.id;
      user1 = u1.id;
      const plan: Array<[string, string, string, string, string | null]> = [
        ['c1', a.id, u1.id, '2024-01-10T10:00:00.000Z', '2024-01-10T11:00:00.000Z'],
        ['c2', a.id, u2.id, '2024-01-11T10:00:00.000Z', null],
        ['c3', b.id, u1.id, '2024-01-12T10:00:00.000Z', '2024-01-12T10:30:00.000Z'],
        ['c4', b.id, u3.id, '2024-01-13T10:00:00.000Z', null],
        ['c5', a.id, u1.id, '2024-01-14T00:00:00.000Z', null],
      ];
      for (const [name, botId, userId, startAt, closeAt] of plan) {
        const { conversation } = await startConversation(tx, {
          projectId,
          botId,
          userId,
          now: at(startAt),
          ...(name === 'c4'
            ? { assignment: { type: 'queue' as const, target: 'VIP' }, metadata: { k: 1 } }
            : {}),
        });
        ids[name] = conversation.id;
        if (closeAt !== null) await closeConversation(tx, { projectId, botId, userId, now: at(closeAt) });
      }
    });
  });

  const names = (...n: string[]) => n.map((k) => ids[k]);

  it("lists the project's conversations newest first, each item the same view as get", async () => {
    for (const prefix of PREFIXES) {
      for (const scheme of SCHEMES) {
        const res = await list('', { prefix, scheme });
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(body.message).toEqual(['Conversations retrieved successfully']);
        expect(Object.keys(body.data)).toEqual(['items', 'nextCursor']);
        expect(body.data.items.map((c: { _id: string }) => c._id)).toEqual(
          names('c5', 'c4', 'c3', 'c2', 'c1'),
        );
        expect(body.data.nextCursor).toBeNull();
      }
    }
    const res = await list('');
    const listed = JSON.stringify(res.json().data.items);
    const one = await Promise.all(
      names('c5', 'c4', 'c3', 'c2', 'c1').map(async (id) => {
        const r = await call(h.app, {
          method: 'GET',
          url: `${base('/v1', lister.project.id)}/${id}`,
          headers: authHeaders(lister, 'apiKey'),
        });
        return r.json().data;
      }),
    );
    // Byte-equal, key order included.
    expect(listed).toBe(JSON.stringify(one));
    const c1 = res.json().data.items[4];
    expect(c1).toMatchObject({
      startAt: '2024-01-10T10:00:00.000Z',
      endAt: '2024-01-10T11:00:00.000Z',
      endedReason: 'closed_by_operator',
    });
    expect(Object.keys(res.json().data.items[1])).toEqual([
      '_id',
      'roomId',
      'state',
      'startAt',
      'User',
      'Bot',
      'assignment',
      'metadata',
    ]);
  });

  it('filters by state', async () => {
    expect(await listIds('state=active')).toEqual(names('c5', 'c4', 'c2'));
    expect(await listIds('state=closed')).toEqual(names('c3', 'c1'));
  });

  it('filters by bot and by user, alone and together', async () => {
    expect(await listIds(`botId=${botA}`)).toEqual(names('c5', 'c2', 'c1'));
    expect(await listIds(`botId=${botB}`)).toEqual(names('c4', 'c3'));
    expect(await listIds(`userId=${user1}`)).toEqual(names('c5', 'c3', 'c1'));
    expect(await listIds(`botId=${botB}&userId=${user1}`)).toEqual(names('c3'));
    expect(await listIds(`botId=${botA}&userId=${user1}&state=active`)).toEqual(names('c5'));
  });

  it('a bot or user of another project (or none at all) filters to nothing rather than failing', async () => {
    expect(await listIds(`botId=${s.bot.id}`)).toEqual([]);
    expect(await listIds('userId=nobody')).toEqual([]);
  });

  it('filters by start time: from inclusive, to exclusive, with a zone offset or a date alone', async () => {
    expect(await listIds('from=2024-01-11T10:00:00.000Z')).toEqual(names('c5', 'c4', 'c3', 'c2'));
    expect(await listIds('from=2024-01-11T10:00:00.001Z')).toEqual(names('c5', 'c4', 'c3'));
    expect(await listIds('to=2024-01-12T10:00:00.000Z')).toEqual(names('c2', 'c1'));
    expect(await listIds('to=2024-01-12T10:00:00.001Z')).toEqual(names('c3', 'c2', 'c1'));
    expect(await listIds('from=2024-01-11T10:00:00.000Z&to=2024-01-12T10:00:00.000Z')).toEqual(names('c2'));
    // 07:00 at -03:00 is 10:00 UTC; '+' must be percent-encoded in a query string.
    expect(await listIds('from=2024-01-11T07:00:00-03:00')).toEqual(names('c5', 'c4', 'c3', 'c2'));
    expect(await listIds('to=2024-01-11T11:01%2B01:00')).toEqual(names('c2', 'c1'));
    expect(await listIds('from=2024-01-12&to=2024-01-14')).toEqual(names('c4', 'c3'));
    expect(await listIds('from=2024-01-12&state=closed')).toEqual(names('c3'));
  });

  it('pages with limit and cursor until nextCursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await list(`limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(res.statusCode).toBe(200);
      const data = res.json().data;
      sizes.push(data.items.length);
      seen.push(...data.items.map((c: { _id: string }) => c._id));
      cursor = data.nextCursor;
      if (cursor === null) break;
      expect(cursor).toBe(data.items[data.items.length - 1]._id);
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(names('c5', 'c4', 'c3', 'c2', 'c1'));
  });

  it('pages a filtered list, and a full last page has no next cursor', async () => {
    const p1 = (await list(`botId=${botA}&limit=1`)).json().data;
    expect(p1.items.map((c: { _id: string }) => c._id)).toEqual(names('c5'));
    const p2 = (await list(`botId=${botA}&limit=1&cursor=${p1.nextCursor}`)).json().data;
    expect(p2.items.map((c: { _id: string }) => c._id)).toEqual(names('c2'));
    const p3 = (await list(`botId=${botA}&limit=1&cursor=${p2.nextCursor}`)).json().data;
    expect(p3.items.map((c: { _id: string }) => c._id)).toEqual(names('c1'));
    expect(p3.nextCursor).toBeNull();
    const exact = (await list('state=closed&limit=2')).json().data;
    expect(exact.items).toHaveLength(2);
    expect(exact.nextCursor).toBeNull();
  });

  it('accepts limit 1 and 200', async () => {
    expect((await list('limit=1')).json().data.items).toHaveLength(1);
    expect((await list('limit=200')).json().data.items).toHaveLength(5);
  });

  it("never lists another project's conversations", async () => {
    const mine = new Set(Object.values(ids));
    const res = await call(h.app, {
      method: 'GET',
      url: `${base('/v1', s.project.id)}?limit=200`,
      headers: authHeaders(s, 'apiKey'),
    });
    expect(res.statusCode).toBe(200);
    for (const c of res.json().data.items) expect(mine.has(c._id)).toBe(false);
  });

  it('401 for a credential of another project, with either scheme', async () => {
    for (const scheme of SCHEMES) expectError(await list('', { as: s, scheme }), 401, 'unauthorized');
  });

  const invalid: Array<[string, string, Record<string, string[]>]> = [
    ['unknown state', 'state=open', { state: ['must be one of: active, closed'] }],
    [
      'state twice',
      'state=active&state=closed',
      { state: ['must be a string', 'must be one of: active, closed'] },
    ],
    ['empty botId', 'botId=', { botId: ['must not be empty'] }],
    ['empty userId', 'userId=', { userId: ['must not be empty'] }],
    ['limit 0', 'limit=0', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit 201', 'limit=201', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit not a number', 'limit=ten', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit fractional', 'limit=1.5', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit in exponent form', 'limit=1e2', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit negative', 'limit=-1', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit empty', 'limit=', { limit: ['must be a whole number from 1 to 200'] }],
    ['cursor garbage', 'cursor=abc', { cursor: ['must be the nextCursor of a previous page'] }],
    ['cursor empty', 'cursor=', { cursor: ['must be the nextCursor of a previous page'] }],
    [
      'cursor of a message',
      `cursor=msg_${'0'.repeat(26)}`,
      { cursor: ['must be the nextCursor of a previous page'] },
    ],
    ['from in words', 'from=yesterday', { from: [] }],
    ['from without a zone', 'from=2024-01-10T10:00:00', { from: [] }],
    ['from 30 February', 'from=2024-02-30', { from: [] }],
    ['from hour 25', 'from=2024-01-10T25:00:00Z', { from: [] }],
    ['to as epoch milliseconds', 'to=1704880800000', { to: [] }],
    ['to equal to from', 'from=2024-01-11&to=2024-01-11', { to: ['must be later than from'] }],
    ['to before from', 'from=2024-01-12&to=2024-01-11', { to: ['must be later than from'] }],
    ['unknown parameter', 'status=active', { status: ['is not a known field'] }],
    ['after instead of cursor', `after=${'x'}`, { after: ['is not a known field'] }],
    ['several problems at once', 'limit=0&from=soon&cursor=x', { limit: [], from: [], cursor: [] }],
  ];
  for (const [name, query, fields] of invalid) {
    it(`422 unprocessable_entity: ${name}`, async () => {
      const e = expectError(await list(query), 422, 'unprocessable_entity');
      expect(Object.keys(e.validationError).sort()).toEqual(Object.keys(fields).sort());
      for (const [path, problems] of Object.entries(fields)) {
        if (problems.length > 0) expect(e.validationError[path]).toEqual(problems);
        else expect(e.validationError[path]?.length).toBeGreaterThan(0);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Transcript
// ---------------------------------------------------------------------------------------------

describe('transcript', () => {
  async function transcript(
    conversationId: string,
    query = '',
    opts: { prefix?: string; scheme?: AuthScheme; as?: Seed } = {},
  ) {
    return call(h.app, {
      method: 'GET',
      url: `${base(opts.prefix ?? '/v1', s.project.id)}/${conversationId}/messages${query === '' ? '' : `?${query}`}`,
      headers: authHeaders(opts.as ?? s, opts.scheme ?? 'apiKey'),
    });
  }

  async function userWrites(pair: Pair, body: string) {
    return h.store.transaction(async (tx) => {
      const bot = await tx.bots.get(s.project.id, pair.botId);
      const user = await tx.endUsers.get(s.project.id, pair.userId);
      return receiveFromUser(tx, {
        bot: bot!,
        user: user!,
        message: { type: 'text', content: { body } },
        now: Date.now(),
      });
    });
  }

  it('after a start with initialMessage: one operator message, exact bytes', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair, { initialMessage: 'Olá, bom dia' });
    const [m] = (await h.store.queries.messages.listOfConversation(conversationId, { limit: 10 })).items;
    for (const prefix of PREFIXES) {
      for (const scheme of SCHEMES) {
        const res = await transcript(conversationId, '', { prefix, scheme });
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe(
          `{"message":["Messages retrieved successfully"],"statusMessage":"success","status":1,"data":{"items":[{"id":"${m!.id}","sender":"operator","type":"text","content":{"body":"Olá, bom dia"},"createdAt":"${new Date(m!.createdAt).toISOString()}"}],"nextCursor":null}}`,
        );
      }
    }
  });

  it('a start without initialMessage has an empty transcript', async () => {
    const conversationId = await start(await freshPair());
    const res = await transcript(conversationId);
    expect(res.json().data).toEqual({ items: [], nextCursor: null });
  });

  it("holds the conversation's messages in order; the bot's greeting and hand-back stay in the room", async () => {
    const pair = await freshPair();
    // First contact: the room opens with the bot's greeting, the user's message and the bot's answer.
    await userWrites(pair, 'hello');
    const conversationId = await start(pair, { initialMessage: 'Olá, here is a person' });
    const during = await userWrites(pair, 'thanks, I need help with my bill');
    expect(during.routedTo).toBe('panel');
    expect((await close({ ...pair, redirectPayload: { type: 'text', text: 'Bye!' } })).statusCode).toBe(200);

    const history = await roomMessages(pair);
    expect(history.map((m) => m.sender)).toEqual([
      'bot',
      'user',
      'bot',
      'operator',
      'user',
      'operator',
      'bot',
    ]);

    const res = await transcript(conversationId);
    expect(res.statusCode).toBe(200);
    const items = res.json().data.items as Array<Record<string, unknown>>;
    expect(items.map((m) => m.sender)).toEqual(['operator', 'user', 'operator']);
    expect(items.map((m) => (m.content as { body: string }).body)).toEqual([
      'Olá, here is a person',
      'thanks, I need help with my bill',
      'Bye!',
    ]);
    // Exactly the room's messages of this conversation, in the room's order.
    expect(items.map((m) => m.id)).toEqual(
      history.filter((m) => m.conversationId === conversationId).map((m) => m.id),
    );
    for (const m of items) {
      expect(Object.keys(m)).toEqual(['id', 'sender', 'type', 'content', 'createdAt']);
      expect(m.createdAt).toMatch(ISO_MS);
    }

    // The next conversation in the same room starts with a transcript of its own.
    const next = await start(pair);
    await userWrites(pair, 'me again');
    const nextItems = (await transcript(next)).json().data.items;
    expect(nextItems.map((m: { sender: string }) => m.sender)).toEqual(['user']);
  });

  it('pages with limit and cursor, oldest first', async () => {
    const pair = await freshPair();
    const conversationId = await start(pair, { initialMessage: 'one' });
    await userWrites(pair, 'two');
    await userWrites(pair, 'three');
    const bodies: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await transcript(conversationId, `limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(res.statusCode).toBe(200);
      const data = res.json().data;
      bodies.push(...data.items.map((m: { content: { body: string } }) => m.content.body));
      cursor = data.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(2);
    expect(bodies).toEqual(['one', 'two', 'three']);
  });

  it("404 conversation_not_found for another project's conversation and an unknown id", async () => {
    const foreign = await h.store.transaction(async (tx) => {
      const bot = await createBot(tx, other.project.id, 'Theirs', 'webchat', Date.now());
      const { conversation } = await startConversation(tx, {
        projectId: other.project.id,
        botId: bot.id,
        userId: other.user.id,
        initialMessage: 'secret',
        now: Date.now(),
      });
      return conversation.id;
    });
    for (const prefix of PREFIXES) {
      for (const id of [foreign, 'conv_00000000000000000000000000']) {
        expectError(await transcript(id, '', { prefix }), 404, 'conversation_not_found');
      }
    }
  });

  it('401 for a credential of another project, with either scheme', async () => {
    const conversationId = await start(await freshPair(), { initialMessage: 'hi' });
    for (const scheme of SCHEMES) {
      expectError(await transcript(conversationId, '', { as: other, scheme }), 401, 'unauthorized');
    }
  });

  const invalid: Array<[string, string, Record<string, string[]>]> = [
    ['limit 0', 'limit=0', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit 201', 'limit=201', { limit: ['must be a whole number from 1 to 200'] }],
    ['limit not a number', 'limit=x', { limit: ['must be a whole number from 1 to 200'] }],
    ['cursor garbage', 'cursor=zzz', { cursor: ['must be the nextCursor of a previous page'] }],
    [
      'cursor of a conversation',
      `cursor=conv_${'0'.repeat(26)}`,
      { cursor: ['must be the nextCursor of a previous page'] },
    ],
    ['unknown parameter', 'sender=user', { sender: ['is not a known field'] }],
  ];
  for (const [name, query, fields] of invalid) {
    it(`422 unprocessable_entity: ${name}`, async () => {
      const conversationId = await start(await freshPair(), { initialMessage: 'hi' });
      const e = expectError(await transcript(conversationId, query), 422, 'unprocessable_entity');
      expect(e.validationError).toEqual(fields);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The API reference
// ---------------------------------------------------------------------------------------------

describe('/openapi.json', () => {
  it('documents the four routes under the conversations tag, once each', async () => {
    const doc = (await h.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const root = '/jelouapi/v1/external-support/{projectId}/conversations';
    const ops = [
      doc.paths[`${root}/close`]?.post,
      doc.paths[root]?.get,
      doc.paths[`${root}/{conversationId}`]?.get,
      doc.paths[`${root}/{conversationId}/messages`]?.get,
    ];
    for (const op of ops) {
      expect(op).toBeDefined();
      expect(op.tags).toEqual(['conversations']);
      expect(op.summary).toBeTypeOf('string');
    }
    expect(doc.paths['/v1/external-support/{projectId}/conversations/close']).toBeUndefined();
    const listParams = doc.paths[root].get.parameters.map((p: { name: string }) => p.name);
    expect(listParams).toEqual(
      expect.arrayContaining(['projectId', 'state', 'botId', 'userId', 'from', 'to', 'limit', 'cursor']),
    );
  });
});
