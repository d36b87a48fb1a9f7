/**
 * docs/api.md §5.9 — test events: a sample of each type in the documented shape reaches the
 * integration's receiver as a real delivery (signed, in the delivery log), each from a room of its
 * own whose bot and end user no list shows, so a failing test never holds up the next; recorded as skipped without an integration; 422 for a bad type; two
 * first tests at once both succeed.
 */
import { createHmac } from 'node:crypto';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_BOT_NAME,
  TEST_USER_NAME,
  testBotId,
} from '../../src/domain/integrations/test-event.service.js';
import {
  ConversationCloseEventSchema,
  ConversationStartEventSchema,
  MessageEventSchema,
} from '../../src/model/events.js';
import { ADMIN_AUTH, authHeaders, call, createIntegration, errorOf } from '../helpers/api.js';
import { eventually } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

let h: Harness;
let s: Seed;
let receiver: Receiver;
let secret: string;

beforeAll(async () => {
  h = await createHarness({}, { worker: true });
  s = await h.seed('Acme');
  receiver = await startReceiver();
  secret = (await createIntegration(h.app, s, receiver.url)).signingSecret;
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

const send = (seed: Seed, body: unknown) =>
  call(h.app, {
    url: `/v1/external-support/${seed.project.id}/events/test`,
    headers: authHeaders(seed, 'apiKey'),
    body,
  });

describe('test events', () => {
  it('delivers a signed sample of each type, in the documented shape, listed in the delivery log', async () => {
    const schemas = {
      'conversation.start': ConversationStartEventSchema,
      message: MessageEventSchema,
      'conversation.close': ConversationCloseEventSchema,
    } as const;
    const rooms = new Set<string>();
    for (const type of Object.keys(schemas) as (keyof typeof schemas)[]) {
      const res = await send(s, { type });
      expect(res.statusCode).toBe(200);
      const { eventId } = res.json().data;
      expect(res.json()).toEqual({
        message: ['Test event sent successfully'],
        statusMessage: 'success',
        status: 1,
        data: { eventId, type },
      });
      const got = await eventually(
        async () => receiver.received.find((r) => r.headers['webhook-id'] === eventId),
        (r) => r !== undefined,
        10_000,
      );
      const body = got?.body ?? '';
      expect(got?.headers['x-jelou-signature']).toBe(
        `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      );
      const payload = JSON.parse(body);
      const validate = new Ajv({ strict: false }).compile(schemas[type]);
      expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
      expect(payload.room_id).toMatch(/^room_/);
      expect(rooms.has(payload.room_id)).toBe(false);
      rooms.add(payload.room_id);
      expect(payload.contact).toEqual({ id: expect.stringMatching(/^usr_/), name: TEST_USER_NAME });
      expect(payload.bot).toEqual({ id: testBotId(s.project.id), name: TEST_BOT_NAME });
      if (type === 'conversation.start')
        expect(payload.value.metadata).toEqual({ test: true, sentBy: 'relevo' });
      const delivery = await call(h.app, {
        method: 'GET',
        url: `/v1/external-support/${s.project.id}/deliveries/${eventId}`,
        headers: authHeaders(s, 'apiKey'),
      });
      expect(delivery.statusCode).toBe(200);
      expect(delivery.json().data.eventType).toBe(type);
      await eventually(
        async () =>
          (
            await call(h.app, {
              method: 'GET',
              url: `/v1/external-support/${s.project.id}/deliveries/${eventId}`,
              headers: authHeaders(s, 'apiKey'),
            })
          ).json().data.status,
        (status) => status === 'delivered',
        10_000,
      );
    }
    // Neither the test bot nor the test user is in the project's lists.
    const bots = await call(h.app, {
      method: 'GET',
      url: `/admin/v1/projects/${s.project.id}/bots`,
      headers: ADMIN_AUTH,
    });
    expect(bots.json().items.map((b: { name: string }) => b.name)).not.toContain(TEST_BOT_NAME);
    const users = await call(h.app, {
      method: 'GET',
      url: `/admin/v1/projects/${s.project.id}/users`,
      headers: ADMIN_AUTH,
    });
    expect(users.json().items.map((u: { names: string }) => u.names)).not.toContain(TEST_USER_NAME);
  });

  it('records a test event as skipped without an integration; 422 for a bad type', async () => {
    const bare = await h.seed('Bare');
    const none = await send(bare, { type: 'message' });
    expect(none.statusCode).toBe(200);
    const skipped = await h.store.queries.outbox.get(none.json().data.eventId);
    expect(skipped?.status).toBe('skipped');
    expect(skipped?.type).toBe('message');
    for (const body of [{}, { type: 'conversation.transfer' }, { type: 'message', extra: 1 }]) {
      const bad = await send(s, body);
      expect(bad.statusCode).toBe(422);
      expect(errorOf(bad).error.code).toBe('unprocessable_entity');
    }
  });

  it("makes a project's test bot once when two first tests come at once", async () => {
    const fresh = await h.seed('Fresh');
    await createIntegration(h.app, fresh, receiver.url);
    const [a, b] = await Promise.all([send(fresh, { type: 'message' }), send(fresh, { type: 'message' })]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(a.json().data.eventId).not.toBe(b.json().data.eventId);
  });

  it('delivers a test event while an earlier one that failed waits for its retry', async () => {
    const own = await h.seed('Failing first');
    const picky = await startReceiver();
    try {
      // The first test event is refused: it waits for its next attempt (seconds to hours away).
      picky.respond((_req, index) => ({ kind: 'status', status: index === 0 ? 500 : 200 }));
      await createIntegration(h.app, own, picky.url);
      const first = (await send(own, { type: 'message' })).json().data.eventId;
      await eventually(
        async () => (await h.store.queries.outbox.get(first))?.attemptCount ?? 0,
        (n) => n >= 1,
        10_000,
      );
      const second = (await send(own, { type: 'message' })).json().data.eventId;
      const got = await eventually(
        async () => picky.received.find((r) => r.headers['webhook-id'] === second),
        (r) => r !== undefined,
        10_000,
      );
      expect(got).toBeDefined();
      expect((await h.store.queries.outbox.get(first))?.status).toBe('pending');
    } finally {
      await picky.close();
    }
  });
});
