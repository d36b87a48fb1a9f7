/**
 * docs/webhooks.md against a real receiver on loopback: signatures, auth headers, outcomes and
 * retries, per-room order, fairness, secret rotation, deletion and the connect-time guard.
 * Retry schedules are shortened to milliseconds through RELEVO_WEBHOOK_RETRY_SCHEDULE.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { standardWebhooksSecret } from '../../src/delivery/signer.js';
import { eventKey, type Store } from '../../src/storage/store.js';
import { authHeaders, call, createIntegration } from '../helpers/api.js';
import { appendTestEvent, eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(env: NodeJS.ProcessEnv = {}, integration: Record<string, unknown> = {}) {
  const receiver = await startReceiver();
  const h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,30ms,30ms', ...env }, { worker: true });
  open.push(receiver, h);
  const s = await h.seed();
  const created = await createIntegration(h.app, s, receiver.url, integration);
  return { h, s, receiver, signingSecret: created.signingSecret as string };
}

const status = (h: Harness, id: string) => h.store.queries.outbox.get(id);

/** GET /v1/external-support/:projectId: the integration as the panel sees it. */
const showIntegration = (h: Harness, s: Seed) =>
  call(h.app, {
    method: 'GET',
    url: `/v1/external-support/${s.project.id}`,
    headers: authHeaders(s, 'apiKey'),
  });

/** A harness with its worker and retry `schedule`, an integration to `url`, and one started pair's event. */
async function oneEventTo(url: string, schedule: string) {
  const h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: schedule }, { worker: true });
  open.push(h);
  const s = await h.seed();
  await createIntegration(h.app, s, url);
  return { h, pair: await startedPair(h.store, s.project.id) };
}

/** Answers `status` to the first `times` requests of the first room to arrive, 200 to all else. */
function failFirstRoom(receiver: Receiver, times: number, status: number) {
  let room: string | undefined;
  const refused = new Set<number>();
  receiver.respond((r, i) => {
    const body = JSON.parse(r.body);
    room ??= body.room_id as string;
    if (body.room_id === room && refused.size < times) {
      refused.add(i);
      return { kind: 'status', status };
    }
    return { kind: 'status', status: 200 };
  });
  return { refused, room: () => room };
}

/** `rooms` started pairs, then `messages` test events in each room, numbered from 1. */
async function roomsWithMessages(h: Harness, s: Seed, rooms: number, messages: number) {
  const pairs = await Promise.all(
    Array.from({ length: rooms }, (_, i) => startedPair(h.store, s.project.id, i)),
  );
  // Rooms in parallel, each room's events one after the other: concurrent writes to one room
  // have no order of their own (on PostgreSQL they take the room's row lock in any order).
  for (let n = 1; n <= messages; n++) {
    await Promise.all(pairs.map((p) => appendTestEvent(h.store, s.project.id, p.roomId, n)));
  }
  return pairs;
}

describe('request', () => {
  it('posts the stored bytes, signed both ways, with the documented headers', async () => {
    const { h, s, receiver, signingSecret } = await setup();
    const pair = await startedPair(h.store, s.project.id);
    const [got] = await receiver.waitFor(1);
    const event = await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    expect(got!.body).toBe(event!.payload);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toMatch(/^relevo\/\d+\.\d+\.\d+/);
    expect(got!.headers.authorization).toBeUndefined();
    // X-Jelou-Signature over the raw body, and over JSON.stringify(JSON.parse(body)) as
    // Jelou's sample verifier does.
    const expected = `sha256=${createHmac('sha256', signingSecret).update(got!.body).digest('hex')}`;
    expect(got!.headers['x-jelou-signature']).toBe(expected);
    const reserialised = JSON.stringify(JSON.parse(got!.body));
    expect(`sha256=${createHmac('sha256', signingSecret).update(reserialised).digest('hex')}`).toBe(expected);
    // Standard Webhooks, with a real library.
    expect(got!.headers['webhook-id']).toBe(pair.eventId);
    const ts = Number(got!.headers['webhook-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
    const wh = new Webhook(standardWebhooksSecret(signingSecret));
    expect(() =>
      wh.verify(got!.body, {
        'webhook-id': String(got!.headers['webhook-id']),
        'webhook-timestamp': String(got!.headers['webhook-timestamp']),
        'webhook-signature': String(got!.headers['webhook-signature']),
      }),
    ).not.toThrow();
    // The attempt is in the log.
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      attemptNumber: 1,
      statusCode: 200,
      outcome: 'delivered',
      responseBody: 'ok',
      error: null,
    });
  });

  const auth: Array<[string, string | undefined, Record<string, string | undefined>]> = [
    ['bearer', 'tok-123', { authorization: 'Bearer tok-123' }],
    ['api_key', 'key-456', { 'x-api-key': 'key-456' }],
    ['basic', 'panel:s3cret', { authorization: `Basic ${Buffer.from('panel:s3cret').toString('base64')}` }],
    ['no_auth', undefined, { authorization: undefined, 'x-api-key': undefined }],
  ];
  for (const [authType, authorization, headers] of auth) {
    it(`adds the ${authType} auth header`, async () => {
      const { h, s, receiver } = await setup({}, { authType, ...(authorization ? { authorization } : {}) });
      await startedPair(h.store, s.project.id);
      const [got] = await receiver.waitFor(1);
      for (const [k, v] of Object.entries(headers)) expect(got!.headers[k]).toBe(v);
    });
  }
});

describe('outcomes', () => {
  it('retries 503 and connection resets with the same webhook-id, then delivers', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,20ms,20ms,20ms' });
    receiver.respond((_r, i) =>
      i === 0
        ? { kind: 'status', status: 503 }
        : i === 1
          ? { kind: 'reset' }
          : { kind: 'status', status: 204 },
    );
    const pair = await startedPair(h.store, s.project.id);
    const got = await receiver.waitFor(3);
    expect(new Set(got.map((g) => g.headers['webhook-id']))).toEqual(new Set([pair.eventId]));
    const e = await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    expect(e!.attemptCount).toBe(3);
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts.map((a) => [a.attemptNumber, a.statusCode, a.outcome])).toEqual([
      [1, 503, 'failed'],
      [2, null, 'failed'],
      [3, 204, 'delivered'],
    ]);
    expect(attempts[1]!.error).toMatch(/ECONNRESET|socket|closed/i);
  });

  it('honours Retry-After on 429, clamped to twice the scheduled delay', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,200ms,200ms' });
    receiver.respond((_r, i) =>
      i === 0
        ? { kind: 'status', status: 429, headers: { 'retry-after': '3600' } }
        : { kind: 'status', status: 200 },
    );
    const pair = await startedPair(h.store, s.project.id);
    const got = await receiver.waitFor(2);
    const gap = got[1]!.at - got[0]!.at;
    // Scheduled 200 ms ± 20 %; Retry-After (an hour) raises it, but only to 2 × 200 ms.
    expect(gap).toBeGreaterThanOrEqual(390);
    expect(gap).toBeLessThan(3_000);
    await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
  });

  it('does not follow redirects: a 302 is a failure', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,20ms' });
    receiver.respond(() => ({
      kind: 'status',
      status: 302,
      headers: { location: 'http://127.0.0.1:1/elsewhere' },
    }));
    const pair = await startedPair(h.store, s.project.id);
    const e = await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'failed',
    );
    expect(receiver.received.every((r) => r.path === '/hooks')).toBe(true);
    expect(e!.lastError).toBe('HTTP 302');
  });

  it('dead-letters after the last scheduled attempt (connection refused)', async () => {
    const receiver = await startReceiver();
    const closedUrl = receiver.url;
    await receiver.close();
    const { h, pair } = await oneEventTo(closedUrl, '0,10ms,10ms');
    const e = await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'failed',
    );
    expect(e!.attemptCount).toBe(3);
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((a) => a.error?.includes('ECONNREFUSED'))).toBe(true);
  });

  it('times out a receiver that hangs, and retries', async () => {
    const { h, s, receiver } = await setup({
      RELEVO_WEBHOOK_TIMEOUT_MS: '200',
      RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,10ms',
    });
    receiver.respond((_r, i) => (i === 0 ? { kind: 'hang' } : { kind: 'status', status: 200 }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(2);
    await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    const [first] = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(first!.error).toBe('no response within 200 ms');
    expect(first!.statusCode).toBeNull();
  });

  it('keeps only the first 4 KiB of a response body', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond(() => ({ kind: 'status', status: 200, body: 'x'.repeat(10_000) }));
    const pair = await startedPair(h.store, s.project.id);
    await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    const [a] = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(a!.responseBody).toHaveLength(4096);
  });

  it('410 disables the integration; events wait and go out, in order, once it is updated', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond((_r, i) =>
      i === 0 ? { kind: 'status', status: 410 } : { kind: 'status', status: 200 },
    );
    const pair = await startedPair(h.store, s.project.id);
    await eventually(
      () => h.store.queries.integrations.get(s.project.id),
      (i) => i?.enabled === false,
    );
    // §4.2 says so: when and why.
    const shown = await showIntegration(h, s);
    expect(shown.json().data).toMatchObject({
      disabled: true,
      disabledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      disabledReason: 'the webhook answered 410 Gone',
    });
    const disabledAt = Date.parse(shown.json().data.disabledAt);
    expect(disabledAt).toBeGreaterThanOrEqual(Date.parse(shown.json().data.createdAt));
    expect(disabledAt).toBeLessThanOrEqual(Date.now());
    const later = await appendTestEvent(h.store, s.project.id, pair.roomId, 1);
    // Disabled: nothing more is sent.
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.received).toHaveLength(1);
    expect((await status(h, pair.eventId))!.status).toBe('pending');
    const res = await call(h.app, {
      method: 'PATCH',
      url: `/v1/external-support/${s.project.id}`,
      headers: authHeaders(s, 'apiKey'),
      body: { webhookUrl: receiver.url },
    });
    expect(res.statusCode).toBe(200);
    // The update re-enabled it, and says so.
    expect(res.json().data).toMatchObject({ disabled: false, disabledAt: null, disabledReason: null });
    h.worker!.dispatcher.wake();
    const got = await receiver.waitFor(3);
    expect(got.slice(1).map((g) => g.headers['webhook-id'])).toEqual([pair.eventId, later.id]);
  });
});

describe('order and fairness', () => {
  it('delivers each room in order while one room waits on retries', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,50ms,50ms,50ms,50ms' });
    // The room of the first request to arrive is the one that fails, three times.
    const failing = failFirstRoom(receiver, 3, 500);
    const pairs = await roomsWithMessages(h, s, 12, 5);
    // 12 starts + 60 messages delivered, plus 3 failed attempts.
    await receiver.waitFor(12 * 6 + 3);
    const okByRoom = new Map<string, number[]>();
    for (const r of receiver.received) {
      const body = JSON.parse(r.body);
      const list = okByRoom.get(body.room_id) ?? [];
      list.push(body.n ?? 0);
      okByRoom.set(body.room_id, list);
    }
    for (const p of pairs) {
      const seen = okByRoom.get(p.roomId)!;
      const expected = p.roomId === failing.room() ? [0, 0, 0, 0, 1, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5];
      expect(seen).toEqual(expected);
    }
    // Other rooms were not held up: all their events arrived before the stuck room's first message.
    const firstStuckMessage = receiver.received.findIndex(
      (r) => JSON.parse(r.body).room_id === failing.room() && JSON.parse(r.body).n === 1,
    );
    const othersDone = receiver.received.filter((r) => JSON.parse(r.body).room_id !== failing.room()).length;
    expect(othersDone).toBe(11 * 6);
    expect(firstStuckMessage).toBeGreaterThan(0);
  });

  it('a backlog larger than the ready queue goes out whole, once, and in room order', async () => {
    const receiver = await startReceiver();
    // Four events fit in memory; two attempts at a time; one room fails twice: the backlog is
    // read back from the outbox, leases by id are refused behind the retrying room, and the
    // search takes over there.
    const h = await createHarness(
      { RELEVO_WEBHOOK_CONCURRENCY: '2', RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,40ms,40ms,40ms' },
      { worker: true, readyQueue: { capacity: 4, maxChars: 1_000_000 } },
    );
    open.push(receiver, h);
    const s = await h.seed();
    await createIntegration(h.app, s, receiver.url);
    const failing = failFirstRoom(receiver, 2, 503);
    const pairs = await roomsWithMessages(h, s, 10, 6);
    await receiver.waitFor(10 * 7 + 2);
    const delivered = receiver.received.filter((_, i) => !failing.refused.has(i));
    expect(new Set(delivered.map((r) => r.headers['webhook-id'])).size).toBe(delivered.length);
    const byRoom = new Map<string, number[]>();
    for (const r of delivered) {
      const body = JSON.parse(r.body);
      byRoom.set(body.room_id, [...(byRoom.get(body.room_id) ?? []), body.n ?? 0]);
    }
    for (const p of pairs) expect(byRoom.get(p.roomId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Every event settles (the last answers may still be being recorded).
    await eventually(
      () => h.store.queries.outbox.list(s.project.id, { status: 'pending' }, { limit: 10 }),
      (page) => page.items.length === 0,
    );
  });

  it("an attempt's slot comes free with the webhook's answer; its room waits for the record", async () => {
    const receiver = await startReceiver();
    // The records of delivered attempts (transactions named by their event) wait for the test.
    const held: Array<() => void> = [];
    const holdRecords = (store: Store): Store => ({
      dialect: store.dialect,
      capabilities: store.capabilities,
      queries: store.queries,
      migrate: (onApply) => store.migrate(onApply),
      transaction: (fn, origin, key) =>
        key?.startsWith(eventKey('')) === true
          ? new Promise<void>((release) => held.push(release)).then(() => store.transaction(fn, origin, key))
          : store.transaction(fn, origin, key),
      statement: (fn) => store.statement(fn),
      onCommitted: (listener) => store.onCommitted(listener),
      close: () => store.close(),
    });
    const h = await createHarness(
      { RELEVO_WEBHOOK_CONCURRENCY: '1' },
      { worker: true, workerStore: holdRecords },
    );
    open.push(receiver, h);
    const s = await h.seed();
    await createIntegration(h.app, s, receiver.url);
    const first = await startedPair(h.store, s.project.id, 0);
    const second = await startedPair(h.store, s.project.id, 1);
    await appendTestEvent(h.store, s.project.id, first.roomId, 1);
    // One slot: the second room's event goes out as soon as the first is answered, while the
    // first's record still waits.
    const got = await receiver.waitFor(2, 10_000);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(new Set(got.map((r) => JSON.parse(r.body).room_id))).toEqual(
      new Set([first.roomId, second.roomId]),
    );
    // The first room's next event waits for its first to be recorded.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(2);
    // Recorded, the first room's next event goes out.
    held.splice(0).forEach((release) => {
      release();
    });
    await receiver.waitFor(3);
    const third = JSON.parse(receiver.received[2]!.body);
    expect(third).toMatchObject({ room_id: first.roomId, n: 1 });
    await eventually(
      () => h.store.queries.outbox.list(s.project.id, { status: 'pending' }, { limit: 10 }),
      (page) => {
        held.splice(0).forEach((release) => {
          release();
        });
        return page.items.length === 0;
      },
    );
  });

  it('a webhook that does not answer cannot hold up another project', async () => {
    const slow = await startReceiver();
    const fast = await startReceiver();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    slow.respond(() => ({ kind: 'wait', release: gate, status: 200 }));
    const h = await createHarness({ RELEVO_WEBHOOK_CONCURRENCY: '4' }, { worker: true });
    open.push(slow, fast, h);
    const a = await h.seed('Slow');
    const b = await h.seed('Fast');
    await createIntegration(h.app, a, slow.url);
    await createIntegration(h.app, b, fast.url);
    await Promise.all(Array.from({ length: 40 }, (_, i) => startedPair(h.store, a.project.id, i)));
    await slow.waitFor(4);
    await Promise.all(Array.from({ length: 40 }, (_, i) => startedPair(h.store, b.project.id, i)));
    // Every event of the fast project arrives while the slow one still holds its 4 attempts.
    await fast.waitFor(40, 30_000);
    expect(slow.received).toHaveLength(4);
    // Once the fast project's attempts settle, only the slow project's 4 remain in flight.
    await eventually(
      async () => h.worker!.dispatcher.inFlightCount,
      (n) => n === 4,
    );
    expect(slow.received).toHaveLength(4);
    release();
    await slow.waitFor(40);
  });
});

describe('integration changes', () => {
  it('signs every attempt after secret/regenerate with the new secret, retries included', async () => {
    const { h, s, receiver, signingSecret } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,300ms' });
    receiver.respond((_r, i) =>
      i === 0 ? { kind: 'status', status: 500 } : { kind: 'status', status: 200 },
    );
    await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    const res = await call(h.app, {
      url: `/v1/external-support/${s.project.id}/secret/regenerate`,
      headers: authHeaders(s, 'apiKey'),
    });
    const newSecret = res.json().data.signingSecret as string;
    expect(newSecret).not.toBe(signingSecret);
    const got = await receiver.waitFor(2);
    const sig = (secret: string, body: string) =>
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(got[0]!.headers['x-jelou-signature']).toBe(sig(signingSecret, got[0]!.body));
    expect(got[1]!.headers['x-jelou-signature']).toBe(sig(newSecret, got[1]!.body));
  });

  it('after delete, pending events are cancelled and nothing more is sent', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,200ms,200ms' });
    receiver.respond(() => ({ kind: 'status', status: 500 }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    const del = await call(h.app, {
      method: 'DELETE',
      url: `/v1/external-support/${s.project.id}`,
      headers: authHeaders(s, 'apiKey'),
    });
    expect(del.statusCode).toBe(200);
    expect((await status(h, pair.eventId))!.status).toBe('cancelled');
    const after = await appendTestEvent(h.store, s.project.id, pair.roomId, 1);
    expect(after.status).toBe('skipped');
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.received).toHaveLength(1);
  });
});

describe('network policy at connect time', () => {
  it('refuses an address that the allow-list no longer covers (as after DNS rebinding)', async () => {
    const receiver = await startReceiver();
    // The API allows loopback (the integration is created), the worker does not.
    const h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0' }, { worker: false });
    open.push(receiver, h);
    const s = await h.seed();
    await createIntegration(h.app, s, receiver.url.replace('127.0.0.1', 'localhost'));
    const { startDeliveryWorker } = await import('../../src/delivery/delivery-worker.js');
    const pino = (await import('pino')).default;
    const worker = await startDeliveryWorker({
      config: { ...h.config, webhookAllow: [] },
      store: h.store,
      log: pino({ level: 'silent' }),
    });
    open.push({ close: () => worker.stop(100) });
    const pair = await startedPair(h.store, s.project.id);
    const e = await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'failed',
    );
    expect(e!.lastError).toMatch(/network policy.*loopback/);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('graceful stop', () => {
  it('abandons an attempt still in flight at the deadline: logged as abandoned, never delivered, repeated later', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond((_r, i) => (i === 0 ? { kind: 'hang' } : { kind: 'status', status: 200 }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    await h.worker!.stop(100);
    const e = await status(h, pair.eventId);
    expect(e!.status).toBe('pending');
    expect(e!.attemptCount).toBe(0);
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts.map((a) => a.outcome)).toEqual(['abandoned']);
    // The next worker (a restart) repeats it with the same webhook-id.
    const { startDeliveryWorker } = await import('../../src/delivery/delivery-worker.js');
    const pino = (await import('pino')).default;
    const next = await startDeliveryWorker({
      config: h.config,
      store: h.store,
      log: pino({ level: 'silent' }),
    });
    open.push({ close: () => next.stop(1_000) });
    const got = await receiver.waitFor(2);
    expect(got[1]!.headers['webhook-id']).toBe(pair.eventId);
    await eventually(
      () => status(h, pair.eventId),
      (x) => x?.status === 'delivered',
    );
  });
});

describe('the 5-day rule', () => {
  it('disables an integration whose every attempt has failed for 5 days', async () => {
    const { h, s, receiver } = await setup({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0,1h' });
    receiver.respond(() => ({ kind: 'status', status: 503 }));
    // Failing since 5 days and a minute ago (as a long outage would have left it).
    const since = Date.now() - 5 * 24 * 3_600_000 - 60_000;
    await h.store.transaction((tx) => tx.integrations.noteFailure(s.project.id, since));
    await startedPair(h.store, s.project.id);
    const integration = await eventually(
      () => h.store.queries.integrations.get(s.project.id),
      (i) => i?.enabled === false,
    );
    expect(integration!.disabledReason).toBe('every attempt failed for 5 days');
    const shown = await showIntegration(h, s);
    expect(shown.json().data).toMatchObject({
      disabled: true,
      disabledAt: new Date(integration!.disabledAt!).toISOString(),
      disabledReason: 'every attempt failed for 5 days',
    });
  });

  it('a success resets the failure clock', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond(() => ({ kind: 'status', status: 200 }));
    await h.store.transaction((tx) =>
      tx.integrations.noteFailure(s.project.id, Date.now() - 4 * 24 * 3_600_000),
    );
    const pair = await startedPair(h.store, s.project.id);
    await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    // The clock restarted: a failure now starts a new run from now.
    const restarted = await h.store.transaction((tx) =>
      tx.integrations.noteFailure(s.project.id, Date.now()),
    );
    expect(Date.now() - restarted).toBeLessThan(60_000);
  });
});

describe('a receiver whose answer holds a NUL character', () => {
  it('is delivered once, and its attempt is kept with the NUL replaced', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond(() => ({ kind: 'status', status: 200, body: 'ok\u0000done' }));
    const pair = await startedPair(h.store, s.project.id);
    await eventually(
      () => status(h, pair.eventId),
      (e) => e?.status === 'delivered',
    );
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      statusCode: 200,
      responseBody: 'ok\uFFFDdone',
      outcome: 'delivered',
    });
    expect(receiver.received).toHaveLength(1);
  });
});

describe('a receiver that answers garbage', () => {
  it('counts bytes that are not HTTP as a failed attempt, retries, and delivers once it recovers', async () => {
    const net = await import('node:net');
    let answered = 0;
    // Not an HTTP server: the first two connections get junk bytes, the later ones a real 200.
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        answered++;
        if (answered <= 2) socket.end('HELLO THIS IS NOT HTTP\r\n\r\n\u0000\u0001garbage');
        else socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const port = (server.address() as { port: number }).port;
    const { h, pair } = await oneEventTo(`http://127.0.0.1:${port}/hooks`, '0,20ms,20ms,20ms');
    const e = await eventually(
      () => status(h, pair.eventId),
      (x) => x?.status === 'delivered',
    );
    expect(e!.attemptCount).toBe(3);
    const attempts = await h.store.queries.deliveryLog.list(pair.eventId);
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'delivered']);
    expect(attempts[0]!.statusCode).toBeNull();
    expect(attempts[0]!.error).toBeTruthy();
  });
});
