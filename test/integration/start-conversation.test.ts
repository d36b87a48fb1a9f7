/**
 * docs/api.md §4.6: start conversation, byte for byte, through every prefix and
 * both auth schemes, with every error the route can give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const startUrl = (prefix: string, projectId: string) =>
  `${prefix}/external-support/${projectId}/conversations/start`;

async function freshPair(): Promise<{ botId: string; userId: string }> {
  return h.store.transaction(async (tx) => {
    const bot = await createBot(tx, s.project.id, 'Sales Bot', 'webchat', Date.now());
    const user = await createEndUser(tx, s.project.id, 'João Souza', null, Date.now());
    return { botId: bot.id, userId: user.id };
  });
}

/** The outbox rows of a conversation, in room order (read through the store: any database). */
async function eventsOf(conversationId: string) {
  const page = await h.store.queries.outbox.list(s.project.id, { conversationId }, { limit: 100 });
  return page.items
    .sort((a, b) => a.roomSeq - b.roomSeq)
    .map((e) => ({
      id: e.id,
      type: e.type,
      payload: e.payload,
      status: e.status,
      room_seq: e.roomSeq,
      room_id: e.roomId,
    }));
}

describe('success', () => {
  for (const prefix of PREFIXES) {
    for (const scheme of ['apiKey', 'basic'] as AuthScheme[]) {
      it(`answers the documented envelope under ${prefix} with ${scheme}`, async () => {
        const pair = await freshPair();
        const res = await call(h.app, {
          url: startUrl(prefix, s.project.id),
          headers: authHeaders(s, scheme),
          body: pair,
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        const body = res.json();
        expect(body.data.conversationId).toMatch(/^conv_[0-9a-z]{26}$/);
        // roomId is relevo's addition, last, so the seed's four fields keep their order.
        const room = await h.store.queries.rooms.getByPair(pair.botId, pair.userId);
        expect(room?.id).toMatch(/^room_[0-9a-z]{26}$/);
        expect(res.body).toBe(
          `{"message":["Conversation started successfully"],"statusMessage":"success","status":1,"data":{"conversationId":"${body.data.conversationId}","botId":"${pair.botId}","userId":"${pair.userId}","status":"active","roomId":"${room?.id}"}}`,
        );
      });
    }
  }

  it('writes conversation.start with the seed shape and key order, all fields', async () => {
    const pair = await freshPair();
    const before = Date.now();
    const res = await call(h.app, {
      url: startUrl('/jelouapi/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: {
        ...pair,
        initialMessage: 'Olá, bom dia',
        metadata: { ticketId: 'T-12345', nested: { n: 1.5, list: [1, 'two', null], big: 1e21 } },
        assignment: { type: 'queue', target: 'SUPORTE' },
      },
    });
    expect(res.statusCode).toBe(200);
    const conversationId = res.json().data.conversationId as string;
    const events = await eventsOf(conversationId);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.type).toBe('conversation.start');
    expect(e.room_seq).toBe(1);
    // No integration: recorded, never sent.
    expect(e.status).toBe('skipped');
    const payload = JSON.parse(e.payload);
    expect(payload.timestamp).toBeGreaterThanOrEqual(before);
    expect(e.payload).toBe(
      JSON.stringify({
        event: 'conversation.start',
        timestamp: payload.timestamp,
        field: 'conversation',
        object: 'conversation_event',
        event_type: 'start',
        project_id: s.project.id,
        room_id: e.room_id,
        contact: { id: pair.userId, name: 'João Souza' },
        conversation: { id: conversationId, assignment: { type: 'queue', target: 'SUPORTE' } },
        bot: { id: pair.botId, name: 'Sales Bot' },
        value: {
          initial_message: 'Olá, bom dia',
          metadata: { ticketId: 'T-12345', nested: { n: 1.5, list: [1, 'two', null], big: 1e21 } },
        },
      }),
    );
    // Non-ASCII stays UTF-8, not \u escapes.
    expect(e.payload).toContain('João Souza');
  });

  it('writes the minimal event: no assignment key, value {}', async () => {
    const pair = await freshPair();
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'basic'),
      body: pair,
    });
    const conversationId = res.json().data.conversationId as string;
    const [e] = await eventsOf(conversationId);
    const payload = JSON.parse(e!.payload);
    expect(Object.keys(payload)).toEqual([
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
    ]);
    expect(payload.conversation).toEqual({ id: conversationId });
    expect(Object.keys(payload.conversation)).toEqual(['id']);
    expect(payload.value).toEqual({});
    expect(e!.payload.endsWith(',"value":{}}')).toBe(true);
  });

  it('echoes operator and team assignment types exactly as requested', async () => {
    for (const type of ['operator', 'team']) {
      const pair = await freshPair();
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: { ...pair, assignment: { type, target: 'agent-7' } },
      });
      const [e] = await eventsOf(res.json().data.conversationId);
      expect(JSON.parse(e!.payload).conversation.assignment).toEqual({ type, target: 'agent-7' });
    }
  });

  it('keeps metadata as JSON.parse/JSON.stringify would, including __proto__ keys and big numbers', async () => {
    const pair = await freshPair();
    const raw = `{"botId":"${pair.botId}","userId":"${pair.userId}","metadata":{"__proto__":{"x":1},"n":12345678901234567890,"z":1,"a":2}}`;
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: raw,
    });
    expect(res.statusCode).toBe(200);
    const [e] = await eventsOf(res.json().data.conversationId);
    expect(e!.payload).toContain('"metadata":{"__proto__":{"x":1},"n":12345678901234567000,"z":1,"a":2}');
  });

  it('reuses the room of a (bot, user) pair and numbers its events in order', async () => {
    const pair = await freshPair();
    const first = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: pair,
    });
    const [e1] = await eventsOf(first.json().data.conversationId);
    // Close it directly (the close route belongs to a later change) and start again.
    await h.store.transaction((tx) =>
      tx.conversations.close(first.json().data.conversationId, Date.now(), 'closed_by_operator'),
    );
    const second = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: pair,
    });
    expect(second.statusCode).toBe(200);
    expect(second.json().data.conversationId).not.toBe(first.json().data.conversationId);
    const [e2] = await eventsOf(second.json().data.conversationId);
    expect(e2!.room_id).toBe(e1!.room_id);
    expect(e2!.room_seq).toBe(e1!.room_seq + 1);
  });

  it('accepts initialMessage of exactly 4096 characters (code points)', async () => {
    const pair = await freshPair();
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: { ...pair, initialMessage: '😀'.repeat(4096) },
    });
    expect(res.statusCode).toBe(200);
  });

  it('accepts Content-Type with a charset parameter', async () => {
    const pair = await freshPair();
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: pair,
      contentType: 'application/json; charset=utf-8',
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('errors', () => {
  function expectError(
    res: { statusCode: number; body: string },
    status: number,
    code: keyof typeof CATALOGUE,
  ) {
    expect(res.statusCode).toBe(status);
    const e = errorOf(res);
    expect(Object.keys(e)).toEqual(['message', 'statusMessage', 'status', 'error', 'validationError']);
    expect(Object.keys(e.error)).toEqual([
      'code',
      'key',
      'description',
      'developerMessages',
      'clientMessages',
    ]);
    expect(e.message).toBe(CATALOGUE[code].message);
    expect(e.statusMessage).toBe('failure');
    expect(e.status).toBe(0);
    expect(e.error.code).toBe(code);
    expect(e.error.key).toBe(code);
    expect(Object.keys(e.error.developerMessages)).toEqual(['en', 'es', 'pt']);
    expect(Object.keys(e.error.clientMessages)).toEqual(['en', 'es', 'pt']);
    return e;
  }

  describe('401 unauthorized', () => {
    const cases: Array<[string, () => Record<string, string>]> = [
      ['no credentials', () => ({})],
      ['unknown api key', () => ({ 'x-api-key': 'nope' })],
      ['well-formed but wrong api key', () => ({ 'x-api-key': `${s.apiKey.slice(0, -4)}AAAA` })],
      ['api key of another project', () => ({ 'x-api-key': other.apiKey })],
      ['basic of another project', () => authHeaders(other, 'basic')],
      [
        'basic with wrong secret',
        () => ({ authorization: `Basic ${Buffer.from(`${s.clientId}:wrong`).toString('base64')}` }),
      ],
      [
        'basic without colon',
        () => ({ authorization: `Basic ${Buffer.from(s.clientId).toString('base64')}` }),
      ],
      ['basic with garbage', () => ({ authorization: 'Basic %%%' })],
      ['bearer scheme', () => ({ authorization: `Bearer ${s.apiKey}` })],
      ['client secret as api key', () => ({ 'x-api-key': s.clientSecret })],
    ];
    for (const [name, headers] of cases) {
      it(name, async () => {
        const pair = await freshPair();
        const res = await call(h.app, {
          url: startUrl('/jelouapi/v1', s.project.id),
          headers: headers(),
          body: pair,
        });
        expectError(res, 401, 'unauthorized');
      });
    }

    it('does not reveal whether the project exists', async () => {
      const a = await call(h.app, {
        url: startUrl('/v1', 'prj_doesnotexist'),
        headers: authHeaders(s, 'apiKey'),
        body: {},
      });
      const b = await call(h.app, {
        url: startUrl('/v1', other.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: {},
      });
      expectError(a, 401, 'unauthorized');
      expect(a.body).toBe(b.body);
    });

    it('comes before body checks (no 415/422 leak to strangers)', async () => {
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        body: 'not json',
        contentType: 'text/plain',
      });
      expectError(res, 401, 'unauthorized');
    });

    it('refuses a revoked credential', async () => {
      const { revokeCredential } = await import('../../src/domain/projects/project.service.js');
      const third = await h.seed('Revoked');
      await h.store.transaction((tx) =>
        revokeCredential(tx, third.project.id, third.credentialId, Date.now()),
      );
      for (const scheme of ['apiKey', 'basic'] as AuthScheme[]) {
        const res = await call(h.app, {
          url: startUrl('/v1', third.project.id),
          headers: authHeaders(third, scheme),
          body: { botId: third.bot.id, userId: third.user.id },
        });
        expectError(res, 401, 'unauthorized');
      }
    });
  });

  it('404 bot_not_found, also for a bot of another project', async () => {
    const pair = await freshPair();
    for (const botId of ['B-9', other.bot.id]) {
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: { botId, userId: pair.userId },
      });
      const e = expectError(res, 404, 'bot_not_found');
      expect(e.error.description).toContain(botId);
      expect(e.validationError).toEqual({});
    }
  });

  it('404 user_not_found, also for a user of another project', async () => {
    const pair = await freshPair();
    for (const userId of ['U-1', other.user.id]) {
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: { botId: pair.botId, userId },
      });
      expectError(res, 404, 'user_not_found');
    }
  });

  it('409 conversation_already_active names the active conversation', async () => {
    const pair = await freshPair();
    const first = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: pair,
    });
    const activeId = first.json().data.conversationId as string;
    const res = await call(h.app, {
      url: startUrl('/platform/v1', s.project.id),
      headers: authHeaders(s, 'basic'),
      body: pair,
    });
    const e = expectError(res, 409, 'conversation_already_active');
    for (const lang of ['en', 'es', 'pt']) expect(e.error.developerMessages[lang]).toContain(activeId);
    // The refused start wrote nothing.
    expect(await eventsOf(activeId)).toHaveLength(1);
  });

  it('409 under concurrency: of many simultaneous starts for one pair, exactly one wins', async () => {
    const pair = await freshPair();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(h.app, { url: startUrl('/v1', s.project.id), headers: authHeaders(s, 'apiKey'), body: pair }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
  });

  it('413 payload_too_large over the body limit', async () => {
    const pair = await freshPair();
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: { ...pair, metadata: { blob: 'x'.repeat(1024 * 1024 + 10) } },
    });
    expectError(res, 413, 'payload_too_large');
  });

  const types = [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
  ];
  for (const type of types) {
    it(`415 unsupported_media_type for ${type}`, async () => {
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: 'botId=a&userId=b',
        contentType: type,
      });
      expectError(res, 415, 'unsupported_media_type');
    });
  }

  it('415 for a body without Content-Type', async () => {
    const res = await call(h.app, {
      url: startUrl('/v1', s.project.id),
      headers: authHeaders(s, 'apiKey'),
      body: '{}',
      contentType: null,
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  const invalid: Array<
    [string, (p: { botId: string; userId: string }) => unknown, Record<string, string[]>]
  > = [
    ['malformed JSON', () => '{"botId": ', { body: [] }],
    ['a JSON array', () => '[]', { body: ['must be a JSON object'] }],
    ['a JSON string', () => '"hello"', { body: ['must be a JSON object'] }],
    ['JSON null', () => 'null', { body: ['must be a JSON object'] }],
    ['empty body', () => '', { body: ['must be a JSON object'] }],
    ['missing botId and userId', () => ({}), { botId: ['is required'], userId: ['is required'] }],
    ['empty botId', (p) => ({ ...p, botId: '' }), { botId: ['must not be empty'] }],
    ['numeric userId', (p) => ({ ...p, userId: 42 }), { userId: ['must be a string'] }],
    ['null botId', (p) => ({ ...p, botId: null }), { botId: ['must be a string'] }],
    ['unknown field', (p) => ({ ...p, initialMesage: 'typo' }), { initialMesage: ['is not a known field'] }],
    [
      '__proto__ field',
      (p) => `{"botId":"${p.botId}","userId":"${p.userId}","__proto__":{"x":1}}`,
      JSON.parse('{"__proto__":["is not a known field"]}'),
    ],
    [
      'empty initialMessage',
      (p) => ({ ...p, initialMessage: '' }),
      { initialMessage: ['must not be empty'] },
    ],
    [
      'initialMessage too long',
      (p) => ({ ...p, initialMessage: 'a'.repeat(4097) }),
      { initialMessage: ['must be at most 4096 characters'] },
    ],
    [
      'initialMessage not a string',
      (p) => ({ ...p, initialMessage: { text: 'hi' } }),
      { initialMessage: ['must be a string'] },
    ],
    ['metadata an array', (p) => ({ ...p, metadata: [1] }), { metadata: ['must be a JSON object'] }],
    ['metadata null', (p) => ({ ...p, metadata: null }), { metadata: ['must be a JSON object'] }],
    ['metadata a string', (p) => ({ ...p, metadata: 'x' }), { metadata: ['must be a JSON object'] }],
    [
      'metadata over 16 KiB',
      (p) => ({ ...p, metadata: { blob: 'x'.repeat(16 * 1024) } }),
      { metadata: ['must be at most 16384 bytes when serialised as JSON'] },
    ],
    [
      'assignment without target',
      (p) => ({ ...p, assignment: { type: 'queue' } }),
      { 'assignment.target': ['is required'] },
    ],
    [
      'assignment without type',
      (p) => ({ ...p, assignment: { target: 'X' } }),
      { 'assignment.type': ['is required'] },
    ],
    [
      'assignment type direct',
      (p) => ({ ...p, assignment: { type: 'direct', target: 'X' } }),
      { 'assignment.type': ['must be one of: queue, operator, team'] },
    ],
    [
      'assignment empty target',
      (p) => ({ ...p, assignment: { type: 'team', target: '' } }),
      { 'assignment.target': ['must not be empty'] },
    ],
    [
      'assignment extra field',
      (p) => ({ ...p, assignment: { type: 'team', target: 'T', priority: 1 } }),
      { 'assignment.priority': ['is not a known field'] },
    ],
    ['assignment null', (p) => ({ ...p, assignment: null }), { assignment: ['must be a JSON object'] }],
  ];
  for (const [name, body, fields] of invalid) {
    it(`422 unprocessable_entity: ${name}`, async () => {
      const pair = await freshPair();
      const res = await call(h.app, {
        url: startUrl('/v1', s.project.id),
        headers: authHeaders(s, 'apiKey'),
        body: body(pair),
      });
      const e = expectError(res, 422, 'unprocessable_entity');
      expect(Object.keys(e.validationError).sort()).toEqual(Object.keys(fields).sort());
      for (const [path, problems] of Object.entries(fields)) {
        if (problems.length > 0) expect(e.validationError[path]).toEqual(problems);
        else expect(e.validationError[path]?.length).toBeGreaterThan(0);
      }
      // Nothing was written for the pair.
      const room = await h.store.queries.rooms.getByPair(pair.botId, pair.userId);
      expect(room).toBeUndefined();
    });
  }

  it('404 route_not_found for an unknown route, in the envelope', async () => {
    const res = await call(h.app, { method: 'GET', url: '/v1/nothing-here' });
    expectError(res, 404, 'route_not_found');
  });
});

describe('atomicity', () => {
  it('a failure after the inserts leaves neither the conversation nor its outbox event', async () => {
    const { startConversation } = await import('../../src/domain/conversations/start.js');
    const pair = await freshPair();
    let conversationId = '';
    await expect(
      h.store.transaction(async (tx) => {
        const { conversation } = await startConversation(tx, {
          projectId: s.project.id,
          ...pair,
          now: Date.now(),
          initialMessage: 'hi',
        });
        conversationId = conversation.id;
        throw new Error('crash after insert');
      }),
    ).rejects.toThrow('crash after insert');
    expect(conversationId).not.toBe('');
    expect(await h.store.queries.conversations.get(s.project.id, conversationId)).toBeUndefined();
    expect(await eventsOf(conversationId)).toHaveLength(0);
    expect(await h.store.queries.rooms.getByPair(pair.botId, pair.userId)).toBeUndefined();
  });

  it('in one group commit, a failing request rolls back alone', async () => {
    const { startConversation } = await import('../../src/domain/conversations/start.js');
    const pairs = await Promise.all([freshPair(), freshPair(), freshPair()]);
    const outcomes = await Promise.allSettled(
      pairs.map((pair, i) =>
        h.store.transaction(async (tx) => {
          const { conversation } = await startConversation(tx, {
            projectId: s.project.id,
            ...pair,
            now: Date.now(),
          });
          if (i === 1) throw new Error('only me');
          return conversation.id;
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    for (const o of outcomes) {
      if (o.status === 'fulfilled') expect(await eventsOf(o.value)).toHaveLength(1);
    }
    expect(await h.store.queries.rooms.getByPair(pairs[1]!.botId, pairs[1]!.userId)).toBeUndefined();
  });
});
