/**
 * The SDK against a running relevo (the app listening on a loopback port, the delivery worker
 * posting to a real receiver), on SQLite and on PostgreSQL: every method, the error class, the
 * retries, the event stream, and the verifier on relevo's real deliveries.
 */
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardWebhooksSecret } from '../../../../src/delivery/signer.js';
import { eventually } from '../../../../test/helpers/events.js';
import { createHarness, type Harness, type Seed } from '../../../../test/helpers/harness.js';
import { type Receiver, startReceiver } from '../../../../test/helpers/receiver.js';
import {
  Relevo,
  RelevoApiError,
  RelevoConnectionError,
  RelevoTimeoutError,
  type StreamedEvent,
} from '../../src/index.js';
import { verifyWebhook, WebhookVerificationError } from '../../src/webhooks.js';
import { type Proxy as LoopbackProxy, startProxy } from './proxy.js';

let h: Harness;
let s: Seed;
let origin: string;
let receiver: Receiver;
let relevo: Relevo;
let secret: string;

beforeAll(async () => {
  h = await createHarness({}, { worker: true });
  s = await h.seed('Acme');
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
  receiver = await startReceiver();
  relevo = new Relevo({ baseUrl: origin, projectId: s.project.id, apiKey: s.apiKey });
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
});

async function apiError(promise: Promise<unknown>): Promise<RelevoApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RelevoApiError);
    return error as RelevoApiError;
  }
  throw new Error('the call succeeded');
}

async function withProxy<T>(fn: (proxy: LoopbackProxy) => Promise<T>): Promise<T> {
  const proxy = await startProxy(origin);
  try {
    return await fn(proxy);
  } finally {
    await proxy.close();
  }
}

/** Reads `n` events from a stream, then stops it. */
async function take(stream: AsyncGenerator<StreamedEvent>, n: number): Promise<StreamedEvent[]> {
  const out: StreamedEvent[] = [];
  for await (const event of stream) {
    out.push(event);
    if (out.length === n) break;
  }
  return out;
}

describe('the integration', () => {
  it('is created, read, updated, its secret regenerated, and errors carry the envelope', async () => {
    const missing = await apiError(relevo.integration.get());
    expect(missing).toMatchObject({
      status: 404,
      code: 'integration_not_found',
      key: 'integration_not_found',
    });
    expect(missing.description.length).toBeGreaterThan(0);
    expect(missing.validationError).toEqual({});
    expect(missing.requestId).toMatch(/\S/);

    const created = await relevo.integration.create({ webhookUrl: `${receiver.url}/hooks` });
    expect(created.signingSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.brainId).toBe(s.project.id);
    const again = await apiError(relevo.integration.create({ webhookUrl: `${receiver.url}/hooks` }));
    expect(again).toMatchObject({ status: 409, code: 'integration_already_exists' });

    const read = await relevo.integration.get();
    expect(read).toMatchObject({ id: created.id, webhookUrl: `${receiver.url}/hooks`, disabled: false });
    const updated = await relevo.integration.update({ webhookUrl: receiver.url });
    expect(updated.webhookUrl).toBe(receiver.url);
    // This route alone answers 400 for an invalid body (docs/api.md §4.3).
    const empty = await apiError(relevo.integration.update({}));
    expect(empty).toMatchObject({ status: 400, code: 'unprocessable_entity' });

    const regenerated = await relevo.integration.regenerateSecret();
    expect(regenerated.signingSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(regenerated.signingSecret).not.toBe(created.signingSecret);
    secret = regenerated.signingSecret;
  });

  it('a wrong credential is a 401 unauthorized; Basic credentials and the other base paths work', async () => {
    const wrong = new Relevo({ baseUrl: origin, projectId: s.project.id, apiKey: 'nope' });
    expect(await apiError(wrong.integration.get())).toMatchObject({ status: 401, code: 'unauthorized' });
    for (const base of ['/v1', '/platform/v1'] as const) {
      const basic = new Relevo({
        baseUrl: `${origin}/`,
        projectId: s.project.id,
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        basePath: base,
      });
      expect(basic.basePath).toBe(base);
      expect((await basic.integration.get()).webhookUrl).toBe(receiver.url);
    }
    expect(relevo.basePath).toBe('/jelouapi/v1');
  });
});

describe('conversations, messages, bots', () => {
  it('start, get, list, send (with the credential and signed), transcript, room owner, close, bot reply', async () => {
    const started = await relevo.conversations.start({
      botId: s.bot.id,
      userId: s.user.id,
      initialMessage: 'Hello from the SDK',
      metadata: { ticketId: 'T-1' },
      assignment: { type: 'queue', target: 'SUPPORT' },
    });
    expect(started).toMatchObject({ botId: s.bot.id, userId: s.user.id, status: 'active' });
    const id = started.conversationId;

    const conversation = await relevo.conversations.get(id);
    expect(conversation).toMatchObject({ _id: id, state: 'active', metadata: { ticketId: 'T-1' } });
    const page = await relevo.conversations.list({ state: 'active', limit: 10 });
    expect(page.items.map((c) => c._id)).toContain(id);

    const sent = await relevo.conversations.send(id, { type: 'text', content: { body: 'Hi Maria' } });
    expect(sent.conversationId).toBe(id);
    const signed = await relevo.conversations.sendSigned(
      {
        room_id: started.roomId,
        bot_id: s.bot.id,
        user_id: s.user.id,
        value: { id: 'panel-1', type: 'text', content: { body: 'Signed hello' } },
      },
      secret,
    );
    expect(signed.conversationId).toBe(id);
    const badSignature = await apiError(
      relevo.conversations.sendSigned(
        {
          room_id: started.roomId,
          bot_id: s.bot.id,
          user_id: s.user.id,
          value: { id: 'p2', type: 'text', content: { body: 'x' } },
        },
        'not-the-secret',
      ),
    );
    expect(badSignature).toMatchObject({ status: 401, code: 'invalid_signature' });

    const transcript = await relevo.conversations.messages(id, { limit: 50 });
    expect(transcript.items.map((m) => m.content)).toEqual([
      { body: 'Hello from the SDK' },
      { body: 'Hi Maria' },
      { body: 'Signed hello' },
    ]);

    expect(await relevo.bots.room(s.bot.id, s.user.id)).toEqual({
      roomId: started.roomId,
      owner: 'panel',
      conversationId: id,
    });
    const owned = await apiError(
      relevo.bots.reply(s.bot.id, { userId: s.user.id, message: { type: 'text', content: { body: 'bot' } } }),
    );
    expect(owned).toMatchObject({ status: 409, code: 'room_owned_by_panel' });

    const closed = await relevo.conversations.close({
      botId: s.bot.id,
      userId: s.user.id,
      redirectPayload: { type: 'text', text: 'Bye' },
    });
    expect(closed).toEqual({ conversationId: id, botId: s.bot.id, userId: s.user.id, status: 'closed' });
    const reply = await relevo.bots.reply(s.bot.id, {
      userId: s.user.id,
      message: { type: 'text', content: { body: 'Back to the bot' } },
      id: 'bot-1',
    });
    expect(reply.messageId).toMatch(/^msg_/);
  });

  it('invalid and unknown fields are a 422 whose validationError names them', async () => {
    const error = await apiError(
      relevo.conversations.start({ botId: '', userId: s.user.id, surprise: 1 } as unknown as Parameters<
        typeof relevo.conversations.start
      >[0]),
    );
    expect(error.status).toBe(422);
    expect(error.code).toBe('unprocessable_entity');
    expect(Object.keys(error.validationError).sort()).toEqual(['botId', 'surprise']);
    const notFound = await apiError(relevo.conversations.get('conv_01kf3q8t2m5x7c9v4b6n8r0w2y'));
    expect(notFound).toMatchObject({ status: 404, code: 'conversation_not_found' });
  });
});

describe('deliveries, test events, overview', () => {
  it('lists, reads, retries and replays deliveries; sends a test event; reads the overview', async () => {
    const test = await relevo.events.test('message');
    expect(test.type).toBe('message');
    const delivered = await eventually(
      () => relevo.deliveries.get(test.eventId),
      (d) => d.status === 'delivered',
    );
    expect(delivered.attempts[0]?.statusCode).toBe(200);
    const page = await relevo.deliveries.list({ eventType: 'message', limit: 5 });
    expect(page.items[0]?.id).toBe(test.eventId);
    const retried = await relevo.deliveries.retry(test.eventId);
    expect(retried.id).toBe(test.eventId);
    await eventually(
      () => relevo.deliveries.get(test.eventId),
      (d) => d.status === 'delivered' && d.attempts.length === 2,
    );
    const replayed = await relevo.deliveries.replay({ since: new Date(Date.now() - 60_000).toISOString() });
    expect(replayed.replayed).toBeGreaterThan(0);
    expect(await apiError(relevo.deliveries.get('evt_01kf3q8t2m5x7c9v4b6n8r0w2y'))).toMatchObject({
      status: 404,
      code: 'delivery_not_found',
    });
    const overview = await relevo.overview.get();
    expect(overview.lastHour.perMinute).toHaveLength(60);
    expect(overview.lastHour.delivered).toBeGreaterThan(0);
  });
});

describe('retries', () => {
  it('a start whose answer is lost is retried with the same Idempotency-Key: seen twice, started once', async () => {
    const pair = await h.seed('Retry');
    await withProxy(async (proxy) => {
      let starts = 0;
      proxy.plan((seen) =>
        seen.path.endsWith('/conversations/start') && starts++ === 0
          ? { kind: 'drop-answer' }
          : { kind: 'forward' },
      );
      const client = new Relevo({ baseUrl: proxy.url, projectId: pair.project.id, apiKey: pair.apiKey });
      const started = await client.conversations.start({ botId: pair.bot.id, userId: pair.user.id });
      const seen = proxy.seen.filter((r) => r.path.endsWith('/conversations/start'));
      expect(seen).toHaveLength(2);
      expect(seen.map((r) => r.status)).toEqual([200, 200]);
      expect(seen[0]?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen[1]?.headers['idempotency-key']).toBe(seen[0]?.headers['idempotency-key']);
      const all = await client.conversations.list({});
      expect(all.items.map((c) => c._id)).toEqual([started.conversationId]);
    });
  });

  it('503 and 429 are retried after Retry-After; a 4xx is not', async () => {
    await withProxy(async (proxy) => {
      const envelope = (code: string) =>
        JSON.stringify({
          message: code,
          statusMessage: 'failure',
          status: 0,
          error: { code, key: code, description: code, developerMessages: {}, clientMessages: {} },
          validationError: {},
        });
      proxy.plan((_seen, i) =>
        i === 0
          ? {
              kind: 'answer',
              status: 503,
              headers: { 'retry-after': '0', 'content-type': 'application/json' },
              body: envelope('service_unavailable'),
            }
          : i === 1
            ? {
                kind: 'answer',
                status: 429,
                headers: { 'retry-after': '1', 'content-type': 'application/json' },
                body: envelope('rate_limited'),
              }
            : { kind: 'forward' },
      );
      const client = new Relevo({ baseUrl: proxy.url, projectId: s.project.id, apiKey: s.apiKey });
      const before = Date.now();
      expect((await client.integration.get()).webhookUrl).toBe(receiver.url);
      expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
      expect(proxy.seen).toHaveLength(3);

      proxy.plan(() => ({
        kind: 'answer',
        status: 503,
        headers: { 'content-type': 'application/json' },
        body: envelope('service_unavailable'),
      }));
      const once = new Relevo({
        baseUrl: proxy.url,
        projectId: s.project.id,
        apiKey: s.apiKey,
        maxRetries: 1,
      });
      expect(await apiError(once.integration.get())).toMatchObject({
        status: 503,
        code: 'service_unavailable',
      });
      expect(proxy.seen).toHaveLength(5);
      proxy.plan(() => ({ kind: 'forward' }));
      await apiError(once.conversations.get('conv_01kf3q8t2m5x7c9v4b6n8r0w2y'));
      expect(proxy.seen).toHaveLength(6);
    });
  });

  it('times out, and stops at once on an aborted signal', async () => {
    await withProxy(async (proxy) => {
      proxy.plan(() => ({ kind: 'hang' }));
      const client = new Relevo({
        baseUrl: proxy.url,
        projectId: s.project.id,
        apiKey: s.apiKey,
        maxRetries: 0,
      });
      const timedOut = client.overview.get({ timeoutMs: 200 });
      await expect(timedOut).rejects.toBeInstanceOf(RelevoTimeoutError);
      await expect(timedOut).rejects.toBeInstanceOf(RelevoConnectionError);
      // The head came, the body stalls: the timeout covers the body too.
      proxy.plan(() => ({ kind: 'stall-body' }));
      const stalled = client.overview.get({ timeoutMs: 200 });
      await expect(stalled).rejects.toBeInstanceOf(RelevoTimeoutError);
      proxy.plan(() => ({ kind: 'hang' }));
      const controller = new AbortController();
      const aborted = client.overview.get({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('stop here')), 50);
      await expect(aborted).rejects.toThrow('stop here');
    });
  });
});

describe('events.stream()', () => {
  it('receives events live, resumes after the last one, and reconnects after a cut without losing any', async () => {
    const pair = await h.seed('Stream');
    const client = new Relevo({ baseUrl: origin, projectId: pair.project.id, apiKey: pair.apiKey });
    await client.integration.create({ webhookUrl: receiver.url });

    // Live: events committed after the stream opened.
    await withProxy(async (proxy) => {
      const live = new Relevo({ baseUrl: proxy.url, projectId: pair.project.id, apiKey: pair.apiKey });
      const reading = take(live.events.stream(), 1);
      // Once the stream's head came back, the server follows the project's new events.
      await eventually(
        async () => proxy.seen[0]?.status,
        (status) => status === 200,
        5_000,
      );
      const start = await client.conversations.start({ botId: pair.bot.id, userId: pair.user.id });
      const [first] = await reading;
      expect(first?.type).toBe('conversation.start');
      if (first?.type !== 'conversation.start') throw new Error('unreachable');
      expect(first.data.conversation.id).toBe(start.conversationId);
      expect(first.data.event).toBe('conversation.start');
    });

    const list = await client.deliveries.list({});
    const startId = list.items.at(-1)!.id;
    await client.conversations.close({ botId: pair.bot.id, userId: pair.user.id });
    await client.conversations.start({ botId: pair.bot.id, userId: pair.user.id });
    const ids = (await client.deliveries.list({})).items.map((d) => d.id).reverse();
    expect(ids).toHaveLength(3);

    // Resume from an id: what followed it, in order.
    const resumed = await take(client.events.stream({ lastEventId: startId }), 2);
    expect(resumed.map((e) => [e.id, e.type])).toEqual([
      [ids[1], 'conversation.close'],
      [ids[2], 'conversation.start'],
    ]);
    expect(resumed[0]?.data.event_type).toBe('close');

    // A cut after the first event: the stream reconnects with Last-Event-ID and goes on.
    await withProxy(async (proxy) => {
      let connections = 0;
      proxy.plan(() => (connections++ === 0 ? { kind: 'cut-after-first-event' } : { kind: 'forward' }));
      const flaky = new Relevo({ baseUrl: proxy.url, projectId: pair.project.id, apiKey: pair.apiKey });
      const events = await take(flaky.events.stream({ lastEventId: startId, reconnectDelayMs: 50 }), 2);
      expect(events.map((e) => e.id)).toEqual([ids[1], ids[2]]);
      expect(proxy.seen).toHaveLength(2);
      expect(proxy.seen[0]?.headers['last-event-id']).toBe(startId);
      expect(proxy.seen[1]?.headers['last-event-id']).toBe(ids[1]);
    });
  });

  it('ends without an error when its signal is aborted', async () => {
    const controller = new AbortController();
    const stream = relevo.events.stream({ signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const events: StreamedEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events).toEqual([]);
  });

  it('a refused stream throws RelevoApiError rather than reconnecting', async () => {
    const wrong = new Relevo({ baseUrl: origin, projectId: s.project.id, apiKey: 'nope' });
    expect(await apiError(take(wrong.events.stream(), 1))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    expect(await apiError(take(relevo.events.stream({ lastEventId: 'not an id' }), 1))).toMatchObject({
      status: 422,
      code: 'unprocessable_entity',
    });
  });
});

describe('the verifier on real deliveries', () => {
  it('accepts each event type relevo sent, typed, and the standardwebhooks package agrees', async () => {
    const before = receiver.received.length;
    for (const type of ['conversation.start', 'message', 'conversation.close'] as const) {
      await relevo.events.test(type);
    }
    const received = (await receiver.waitFor(before + 3)).slice(before);
    const types = [];
    for (const delivery of received) {
      const event = await verifyWebhook(delivery.body, delivery.headers, secret);
      types.push(event.event_type);
      if (event.event_type === 'message') expect(event.value.type).toBeTypeOf('string');
      else expect(event.event).toBe(`conversation.${event.event_type}`);
      const headers = Object.fromEntries(
        ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((n) => [n, String(delivery.headers[n])]),
      );
      expect(new Webhook(standardWebhooksSecret(secret)).verify(delivery.body, headers)).toEqual(
        JSON.parse(delivery.body),
      );
    }
    expect(types.sort()).toEqual(['close', 'message', 'start']);
  });

  it('refuses a tampered body, a wrong secret and a stale timestamp', async () => {
    const delivery = receiver.received.at(-1)!;
    const reason = async (p: Promise<unknown>) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WebhookVerificationError);
      return (error as WebhookVerificationError).reason;
    };
    const tampered = delivery.body.replace('"project_id":"', '"project_id":"x');
    expect(tampered).not.toBe(delivery.body);
    expect(await reason(verifyWebhook(tampered, delivery.headers, secret))).toBe('signature_mismatch');
    expect(await reason(verifyWebhook(delivery.body, delivery.headers, 'f'.repeat(64)))).toBe(
      'signature_mismatch',
    );
    const tenMinutesLater = { now: Date.now() + 10 * 60_000 };
    expect(await reason(verifyWebhook(delivery.body, delivery.headers, secret, tenMinutesLater))).toBe(
      'timestamp_too_old',
    );
    // Jelou's header alone, as Jelou's hosted API sends it, is checked too.
    const jelouOnly = { 'x-jelou-signature': delivery.headers['x-jelou-signature'] };
    expect((await verifyWebhook(delivery.body, jelouOnly, secret)).project_id).toBe(s.project.id);
    expect(await reason(verifyWebhook(tampered, jelouOnly, secret))).toBe('signature_mismatch');
  });
});
