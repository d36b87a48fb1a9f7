/**
 * The delivery log over the API (docs/api.md §5.5; docs/webhooks.md, "The delivery log API") against a
 * real receiver on loopback and the in-process worker: list and filters, one delivery with its
 * attempts, retry, replay, and the errors each route gives. Retry schedules are milliseconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseSince } from '../../src/domain/deliveries/delivery.service.js';
import { appendEvent } from '../../src/domain/outbox.js';
import { ApiError } from '../../src/errors.js';
import type { EventType } from '../../src/model/types.js';
import { authHeaders, call, createIntegration, errorOf } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SUMMARY_KEYS = [
  'id',
  'eventType',
  'conversationId',
  'roomId',
  'status',
  'attemptCount',
  'nextAttemptAt',
  'deliveredAt',
  'createdAt',
  'lastError',
];
const ATTEMPT_KEYS = [
  'id',
  'attemptNumber',
  'startedAt',
  'durationMs',
  'url',
  'statusCode',
  'responseBody',
  'error',
  'outcome',
];

const deliveries = (projectId: string, prefix = '/v1') =>
  `${prefix}/external-support/${projectId}/deliveries`;

async function setup(schedule = '0,20ms') {
  const receiver = await startReceiver();
  const h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: schedule }, { worker: true });
  open.push(receiver, h);
  const s = await h.seed();
  await createIntegration(h.app, s, receiver.url);
  return { h, s, receiver };
}

/** An event of a conversation's room, carrying `n` so the receiver can tell them apart. */
async function appendConversationEvent(
  h: Harness,
  projectId: string,
  pair: { roomId: string; conversationId: string },
  type: EventType,
  n: number,
) {
  return h.store.transaction((tx) =>
    appendEvent(tx, {
      projectId,
      roomId: pair.roomId,
      conversationId: pair.conversationId,
      type,
      createdAt: Date.now(),
      payload: { field: 'messages', room_id: pair.roomId, n },
    }),
  );
}

/** A started conversation, with its conversation id (the start event carries it). */
async function conversation(h: Harness, projectId: string, i: number) {
  const pair = await startedPair(h.store, projectId, i);
  const start = await h.store.queries.outbox.get(pair.eventId);
  return { ...pair, conversationId: start!.conversationId! };
}

/** Resolves once no event of the project is pending any more. */
async function settled(h: Harness, projectId: string): Promise<void> {
  await eventually(
    () => h.store.queries.outbox.list(projectId, { status: 'pending' }, { limit: 1 }),
    (p) => p.items.length === 0,
  );
}

const get = (h: Harness, s: Seed, url: string) =>
  call(h.app, { method: 'GET', url, headers: authHeaders(s, 'apiKey') });
const post = (h: Harness, s: Seed, url: string, body?: unknown) =>
  call(h.app, { method: 'POST', url, headers: authHeaders(s, 'apiKey'), body });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bodyOf = (r: { body: string }) => JSON.parse(r.body) as { room_id: string; n?: number };

describe('GET …/deliveries', () => {
  it('lists newest first, filters by status, event type and conversation, and pages with a cursor', async () => {
    const { h, s, receiver } = await setup();
    const a = await conversation(h, s.project.id, 0);
    // Room b's webhook answers 500 every time: its events end up failed (dead letters). The rule
    // names room a, known before b's start event exists: a rule naming b, set once b was started,
    // came too late when b's start was delivered first (CI saw it once, on PostgreSQL).
    receiver.respond((r) =>
      bodyOf(r).room_id === a.roomId ? { kind: 'status', status: 200 } : { kind: 'status', status: 500 },
    );
    const b = await conversation(h, s.project.id, 1);
    for (let n = 1; n <= 3; n++) await appendConversationEvent(h, s.project.id, a, 'message', n);
    await appendConversationEvent(h, s.project.id, b, 'message', 1);
    await appendConversationEvent(h, s.project.id, a, 'conversation.close', 4);
    await settled(h, s.project.id);

    const all = await get(h, s, deliveries(s.project.id));
    expect(all.statusCode).toBe(200);
    expect(all.json().message).toEqual(['Deliveries retrieved successfully']);
    const items = all.json().data.items as Array<Record<string, unknown>>;
    expect(all.json().data.nextCursor).toBeNull();
    expect(items).toHaveLength(7);
    expect(Object.keys(items[0]!)).toEqual(SUMMARY_KEYS);
    const ids = items.map((i) => i.id as string);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(items[0]).toMatchObject({
      eventType: 'conversation.close',
      conversationId: a.conversationId,
      roomId: a.roomId,
      status: 'delivered',
      attemptCount: 1,
      nextAttemptAt: null,
      lastError: null,
    });
    expect(items[0]!.deliveredAt).toMatch(ISO_MS);
    expect(items[0]!.createdAt).toMatch(ISO_MS);

    const list = async (query: string) => {
      const res = await get(h, s, `${deliveries(s.project.id)}?${query}`);
      expect(res.statusCode, query).toBe(200);
      return res.json().data.items as Array<{
        id: string;
        status: string;
        eventType: string;
        roomId: string;
      }>;
    };
    const failed = await list('status=failed');
    expect(failed.map((i) => i.roomId)).toEqual([b.roomId, b.roomId]);
    expect(failed.every((i) => i.status === 'failed')).toBe(true);
    expect(await list('status=delivered')).toHaveLength(5);
    expect(await list('status=pending')).toEqual([]);
    expect(await list('status=skipped')).toEqual([]);
    const messages = await list('eventType=message');
    expect(messages).toHaveLength(4);
    expect(messages.every((i) => i.eventType === 'message')).toBe(true);
    expect((await list('eventType=conversation.start')).map((i) => i.id).sort()).toEqual(
      [a.eventId, b.eventId].sort(),
    );
    expect(await list('eventType=conversation.close')).toHaveLength(1);
    const ofA = await list(`conversationId=${a.conversationId}`);
    expect(ofA).toHaveLength(5);
    expect(ofA.every((i) => i.roomId === a.roomId)).toBe(true);
    expect(await list(`conversationId=${a.conversationId}&eventType=message`)).toHaveLength(3);
    expect(await list(`conversationId=${b.conversationId}&status=delivered`)).toEqual([]);
    expect(await list('conversationId=conv_unknown')).toEqual([]);

    // Pages of 3: 3 + 3 + 1, the same items in the same order, the last cursor null.
    const paged: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const query: string = cursor === null ? 'limit=3' : `limit=3&cursor=${cursor}`;
      const res = await get(h, s, `${deliveries(s.project.id)}?${query}`);
      expect(res.statusCode).toBe(200);
      const data = res.json().data as { items: Array<{ id: string }>; nextCursor: string | null };
      sizes.push(data.items.length);
      paged.push(...data.items.map((i) => i.id));
      cursor = data.nextCursor;
    } while (cursor !== null);
    expect(sizes).toEqual([3, 3, 1]);
    expect(paged).toEqual(ids);
    // Filters and the cursor combine.
    const firstMessage = (await list('eventType=message&limit=2'))[1]!;
    expect((await list(`eventType=message&limit=2&cursor=${firstMessage.id}`)).map((i) => i.id)).toEqual(
      messages.slice(2).map((i) => i.id),
    );
  });

  it('answers under every prefix', async () => {
    const { h, s } = await setup();
    await startedPair(h.store, s.project.id);
    for (const prefix of ['/jelouapi/v1', '/platform/v1', '/v1']) {
      const res = await get(h, s, deliveries(s.project.id, prefix));
      expect(res.statusCode, prefix).toBe(200);
      expect(res.json().data.items).toHaveLength(1);
    }
  });
});

describe('GET …/deliveries/{deliveryId}', () => {
  it('shows the payload and every attempt after a 503 then a 200', async () => {
    const { h, s, receiver } = await setup();
    receiver.respond((_r, i) =>
      i === 0
        ? { kind: 'status', status: 503, body: 'x'.repeat(10_000) }
        : { kind: 'status', status: 200, body: 'thanks' },
    );
    const pair = await startedPair(h.store, s.project.id);
    const got = await receiver.waitFor(2);
    await settled(h, s.project.id);

    const res = await get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().message).toEqual(['Delivery retrieved successfully']);
    const d = res.json().data;
    expect(Object.keys(d)).toEqual([...SUMMARY_KEYS, 'payload', 'attempts']);
    expect(d).toMatchObject({
      id: pair.eventId,
      eventType: 'conversation.start',
      roomId: pair.roomId,
      status: 'delivered',
      attemptCount: 2,
      nextAttemptAt: null,
      lastError: null,
    });
    expect(d.deliveredAt).toMatch(ISO_MS);
    expect(d.createdAt).toMatch(ISO_MS);
    // The payload is the event as sent, as an object, with its keys in the sent order.
    expect(d.payload).toEqual(JSON.parse(got[0]!.body));
    expect(JSON.stringify(d.payload)).toBe(got[0]!.body);
    expect(d.payload.event).toBe('conversation.start');
    expect(d.conversationId).toBe(d.payload.conversation.id);

    expect(d.attempts).toHaveLength(2);
    const [first, second] = d.attempts;
    expect(Object.keys(first)).toEqual(ATTEMPT_KEYS);
    expect(first).toMatchObject({ attemptNumber: 1, statusCode: 503, outcome: 'failed', url: receiver.url });
    expect(first.error).toMatch(/503/);
    expect(first.responseBody).toBe('x'.repeat(4096));
    expect(second).toMatchObject({
      attemptNumber: 2,
      statusCode: 200,
      outcome: 'delivered',
      responseBody: 'thanks',
      error: null,
    });
    for (const a of d.attempts) {
      expect(a.startedAt).toMatch(ISO_MS);
      expect(Number.isInteger(a.durationMs) && a.durationMs >= 0).toBe(true);
    }
    expect(Date.parse(second.startedAt)).toBeGreaterThanOrEqual(Date.parse(first.startedAt));
  });

  it('shows a pending delivery with its next attempt time and last error', async () => {
    const { h, s, receiver } = await setup('0,1h');
    receiver.respond(() => ({ kind: 'status', status: 500, body: 'down' }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    const d = (
      await eventually(
        () => get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`),
        // The delivery and its attempts are two reads: wait for both to show the attempt.
        (r) => r.json().data.attempts.length === 1 && r.json().data.attemptCount === 1,
      )
    ).json().data;
    expect(d.status).toBe('pending');
    expect(d.attemptCount).toBe(1);
    expect(d.lastError).toMatch(/500/);
    expect(d.nextAttemptAt).toMatch(ISO_MS);
    // One hour ± 20 % from now.
    expect(Date.parse(d.nextAttemptAt) - Date.now()).toBeGreaterThan(0.75 * 3_600_000);
    expect(d.deliveredAt).toBeNull();
  });
});

describe('POST …/deliveries/{deliveryId}/retry', () => {
  it('sends a dead-lettered delivery again with the same webhook-id and payload', async () => {
    const { h, s, receiver } = await setup();
    let up = false;
    receiver.respond(() => ({ kind: 'status', status: up ? 200 : 500 }));
    const pair = await startedPair(h.store, s.project.id);
    await eventually(
      () => h.store.queries.outbox.get(pair.eventId),
      (e) => e?.status === 'failed',
    );
    const before = (await get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`)).json().data;
    expect(before).toMatchObject({ status: 'failed', attemptCount: 2 });
    expect(before.lastError).toMatch(/500/);
    expect(receiver.received).toHaveLength(2);

    up = true;
    const res = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`);
    expect(res.statusCode).toBe(200);
    expect(res.json().message).toEqual(['Delivery retry scheduled successfully']);
    const view = res.json().data;
    expect(view.id).toBe(pair.eventId);
    // A new delivery cycle: counting starts again; the earlier attempts stay in the log.
    expect(view).toMatchObject({ status: 'pending', attemptCount: 0, lastError: null });
    expect(view.attempts).toHaveLength(2);

    const got = await receiver.waitFor(3);
    expect(got[2]!.headers['webhook-id']).toBe(pair.eventId);
    expect(got[2]!.body).toBe(got[0]!.body);
    await settled(h, s.project.id);
    const after = (await get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`)).json().data;
    expect(after).toMatchObject({ status: 'delivered', attemptCount: 1, lastError: null });
    expect(
      after.attempts.map((a: { attemptNumber: number; outcome: string }) => [a.attemptNumber, a.outcome]),
    ).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [1, 'delivered'],
    ]);
  });

  it('sends a delivered event again on request', async () => {
    const { h, s, receiver } = await setup();
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    await settled(h, s.project.id);
    const res = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`, {});
    expect(res.statusCode).toBe(200);
    const got = await receiver.waitFor(2);
    expect(got.map((g) => g.headers['webhook-id'])).toEqual([pair.eventId, pair.eventId]);
    await settled(h, s.project.id);
  });

  it('leaves an attempt in flight alone: that attempt is the retry', async () => {
    const { h, s, receiver } = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    receiver.respond(() => ({ kind: 'wait', release: gate, status: 200 }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    const res = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id: pair.eventId, status: 'pending', attemptCount: 0 });
    release();
    await settled(h, s.project.id);
    await sleep(100);
    expect(receiver.received).toHaveLength(1);
    const d = (await get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`)).json().data;
    expect(d).toMatchObject({ status: 'delivered', attemptCount: 1 });
  });

  it('needs an integration: skipped events are sent once there is one', async () => {
    const receiver = await startReceiver();
    const h = await createHarness({ RELEVO_WEBHOOK_RETRY_SCHEDULE: '0' }, { worker: true });
    open.push(receiver, h);
    const s = await h.seed();
    const pair = await startedPair(h.store, s.project.id);

    const list = (await get(h, s, deliveries(s.project.id))).json().data.items;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: pair.eventId,
      status: 'skipped',
      attemptCount: 0,
      nextAttemptAt: null,
    });
    const shown = (await get(h, s, `${deliveries(s.project.id)}/${pair.eventId}`)).json().data;
    expect(shown.attempts).toEqual([]);

    const retry = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`);
    expect(retry.statusCode).toBe(404);
    expect(errorOf(retry).error.code).toBe('integration_not_found');
    const replay = await post(h, s, `${deliveries(s.project.id)}/replay`, {
      since: new Date(0).toISOString(),
    });
    expect(replay.statusCode).toBe(404);
    expect(errorOf(replay).error.code).toBe('integration_not_found');
    // Refused means untouched.
    expect((await h.store.queries.outbox.get(pair.eventId))!.status).toBe('skipped');

    await createIntegration(h.app, s, receiver.url);
    const again = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`);
    expect(again.statusCode).toBe(200);
    const [got] = await receiver.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(pair.eventId);
    await settled(h, s.project.id);
  });
});

describe('POST …/deliveries/replay', () => {
  it('re-sends exactly the events since a time, in order per room, with their original ids', async () => {
    const { h, s, receiver } = await setup();
    const rooms = [await conversation(h, s.project.id, 0), await conversation(h, s.project.id, 1)];
    for (const r of rooms) await appendConversationEvent(h, s.project.id, r, 'message', 1);
    await receiver.waitFor(4);
    await settled(h, s.project.id);

    await sleep(5);
    const since = new Date().toISOString();
    await sleep(5);
    const after: string[] = [];
    for (const n of [2, 3]) {
      for (const r of rooms) after.push((await appendConversationEvent(h, s.project.id, r, 'message', n)).id);
    }
    await appendConversationEvent(h, s.project.id, rooms[0]!, 'conversation.close', 4).then((e) =>
      after.push(e.id),
    );
    await receiver.waitFor(9);
    await settled(h, s.project.id);
    const firstRound = receiver.received.slice();

    // During the replay, the first replayed attempt in room 0 fails once: the room's later
    // events wait for it, the other room goes on.
    let failedOnce = false;
    receiver.respond((r) => {
      const body = bodyOf(r);
      if (!failedOnce && body.room_id === rooms[0]!.roomId) {
        failedOnce = true;
        return { kind: 'status', status: 503 };
      }
      return { kind: 'status', status: 200 };
    });
    const res = await post(h, s, `${deliveries(s.project.id)}/replay`, { since });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      message: ['Replay scheduled successfully'],
      statusMessage: 'success',
      status: 1,
      data: { replayed: 5 },
    });
    await receiver.waitFor(9 + 6);
    await settled(h, s.project.id);
    await sleep(100);
    const replayed = receiver.received.slice(9);
    expect(replayed).toHaveLength(6);
    expect(new Set(replayed.map((r) => r.headers['webhook-id']))).toEqual(new Set(after));
    // Same bytes as the first time for the same webhook-id.
    for (const r of replayed) {
      const original = firstRound.find((f) => f.headers['webhook-id'] === r.headers['webhook-id']);
      expect(r.body).toBe(original!.body);
    }
    const seq = (roomId: string) =>
      replayed.filter((r) => bodyOf(r).room_id === roomId).map((r) => bodyOf(r).n);
    expect(seq(rooms[0]!.roomId)).toEqual([2, 2, 3, 4]);
    expect(seq(rooms[1]!.roomId)).toEqual([2, 3]);
    for (const id of after) expect((await h.store.queries.outbox.get(id))!.status).toBe('delivered');

    // Scoped to one conversation, since before everything: that conversation's events only.
    const scoped = await post(h, s, `${deliveries(s.project.id)}/replay`, {
      since: new Date(Date.now() - 60_000).toISOString(),
      conversationId: rooms[1]!.conversationId,
    });
    expect(scoped.statusCode).toBe(200);
    expect(scoped.json().data).toEqual({ replayed: 4 });
    const more = (await receiver.waitFor(15 + 4)).slice(15);
    const ofRoom1 = await h.store.queries.outbox.list(
      s.project.id,
      { conversationId: rooms[1]!.conversationId },
      { limit: 10 },
    );
    // Oldest first, starting with the conversation.start event.
    const expected = ofRoom1.items.map((e) => e.id).reverse();
    expect(expected[0]).toBe(rooms[1]!.eventId);
    expect(more.map((r) => r.headers['webhook-id'])).toEqual(expected);
    expect(more.map((r) => bodyOf(r).n)).toEqual([undefined, 1, 2, 3]);
    await settled(h, s.project.id);
  });

  it('leaves pending events alone and counts only what it requeued', async () => {
    const { h, s, receiver } = await setup('0,1h');
    receiver.respond(() => ({ kind: 'status', status: 500 }));
    const pair = await startedPair(h.store, s.project.id);
    await receiver.waitFor(1);
    await eventually(
      () => h.store.queries.outbox.get(pair.eventId),
      (e) => e?.attemptCount === 1,
    );
    const res = await post(h, s, `${deliveries(s.project.id)}/replay`, {
      since: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(res.json().data).toEqual({ replayed: 0 });
    expect((await h.store.queries.outbox.get(pair.eventId))!.attemptCount).toBe(1);
  });
});

describe('authentication and isolation', () => {
  it('401 with a credential of another project, on every route', async () => {
    const { h, s } = await setup();
    const other = await h.seed('Other');
    const pair = await startedPair(h.store, s.project.id);
    const calls = [
      { method: 'GET' as const, url: deliveries(s.project.id) },
      { method: 'GET' as const, url: `${deliveries(s.project.id)}/${pair.eventId}` },
      { method: 'POST' as const, url: `${deliveries(s.project.id)}/${pair.eventId}/retry`, body: {} },
      {
        method: 'POST' as const,
        url: `${deliveries(s.project.id)}/replay`,
        body: { since: new Date(0).toISOString() },
      },
    ];
    for (const c of calls) {
      for (const scheme of ['apiKey', 'basic'] as const) {
        const res = await call(h.app, { ...c, headers: authHeaders(other, scheme) });
        expect(res.statusCode, `${c.method} ${c.url} ${scheme}`).toBe(401);
        expect(errorOf(res).error.code).toBe('unauthorized');
      }
      const none = await call(h.app, c);
      expect(none.statusCode).toBe(401);
    }
  });

  it('404 for an event of another project; lists never show it', async () => {
    const { h, s, receiver } = await setup();
    const other = await h.seed('Other');
    await createIntegration(h.app, other, receiver.url);
    const mine = await conversation(h, s.project.id, 0);
    await receiver.waitFor(1);

    const shown = await get(h, other, `${deliveries(other.project.id)}/${mine.eventId}`);
    expect(shown.statusCode).toBe(404);
    const err = errorOf(shown);
    expect(err.error.code).toBe('delivery_not_found');
    expect(err.message).toBe('Delivery not found');
    expect(err.error.description).toContain(mine.eventId);
    const retried = await post(h, other, `${deliveries(other.project.id)}/${mine.eventId}/retry`);
    expect(retried.statusCode).toBe(404);
    expect(errorOf(retried).error.code).toBe('delivery_not_found');
    const listed = await get(
      h,
      other,
      `${deliveries(other.project.id)}?conversationId=${mine.conversationId}`,
    );
    expect(listed.json().data.items).toEqual([]);
    expect((await get(h, other, deliveries(other.project.id))).json().data.items).toEqual([]);
    const replayed = await post(h, other, `${deliveries(other.project.id)}/replay`, {
      since: new Date(0).toISOString(),
      conversationId: mine.conversationId,
    });
    expect(replayed.statusCode).toBe(404);
    expect(errorOf(replayed).error.code).toBe('conversation_not_found');

    // A message on its way to a bot's channel is listed only with destination=channel.
    const room = await conversation(h, s.project.id, 1);
    const toChannel = await h.store.transaction((tx) =>
      appendEvent(tx, {
        projectId: s.project.id,
        roomId: room.roomId,
        conversationId: room.conversationId,
        type: 'message',
        destination: 'channel',
        createdAt: Date.now(),
        payload: { n: 1 },
      }),
    );
    // …and not to the other project at all.
    const foreign = await get(h, other, `${deliveries(other.project.id)}/${toChannel.id}`);
    expect(foreign.statusCode).toBe(404);
    expect(errorOf(foreign).error.code).toBe('delivery_not_found');
    const listedMine = (await get(h, s, deliveries(s.project.id))).json().data.items;
    expect(listedMine.map((i: { id: string }) => i.id)).not.toContain(toChannel.id);
    const listedChannel = (await get(h, s, `${deliveries(s.project.id)}?destination=channel`)).json().data
      .items;
    expect(listedChannel.map((i: { id: string }) => i.id)).toEqual([toChannel.id]);

    const unknown = await get(h, s, `${deliveries(s.project.id)}/evt_nothing`);
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).error.code).toBe('delivery_not_found');
    await settled(h, s.project.id);
    // Nothing of this project was requeued by the other project's calls.
    expect(receiver.received).toHaveLength(2);
  });
});

describe('validation', () => {
  it('422 naming the query parameter', async () => {
    const { h, s } = await setup();
    const cases: Array<[string, string]> = [
      ['status=bogus', 'status'],
      ['status=', 'status'],
      ['eventType=start', 'eventType'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=1e2', 'limit'],
      ['cursor=', 'cursor'],
      ['conversationId=', 'conversationId'],
      ['state=failed', 'state'],
      ['status=failed&status=delivered', 'status'],
    ];
    for (const [query, field] of cases) {
      const res = await get(h, s, `${deliveries(s.project.id)}?${query}`);
      expect(res.statusCode, query).toBe(422);
      const err = errorOf(res);
      expect(err.error.code, query).toBe('unprocessable_entity');
      expect(Object.keys(err.validationError), query).toEqual([field]);
    }
    expect((await get(h, s, `${deliveries(s.project.id)}?limit=200`)).statusCode).toBe(200);
    expect((await get(h, s, `${deliveries(s.project.id)}?limit=1`)).statusCode).toBe(200);
  });

  it('422 naming the body field of a replay or a retry', async () => {
    const { h, s } = await setup();
    const pair = await startedPair(h.store, s.project.id);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const cases: Array<[unknown, string]> = [
      [undefined, 'since'],
      [{}, 'since'],
      [{ since: 'yesterday' }, 'since'],
      [{ since: 1_700_000_000_000 }, 'since'],
      [{ since: '2026-01-15' }, 'since'],
      [{ since: '2026-01-15T10:30:00' }, 'since'],
      [{ since: '2026-02-30T10:30:00Z' }, 'since'],
      [{ since: '2026-01-15T24:30:00Z' }, 'since'],
      [{ since: future }, 'since'],
      [{ since: new Date(0).toISOString(), conversationId: '' }, 'conversationId'],
      [{ since: new Date(0).toISOString(), extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await post(h, s, `${deliveries(s.project.id)}/replay`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(422);
      expect(Object.keys(errorOf(res).validationError), JSON.stringify(body)).toEqual([field]);
    }
    const future422 = await post(h, s, `${deliveries(s.project.id)}/replay`, { since: future });
    expect(errorOf(future422).validationError.since).toEqual(['must not be in the future']);

    const retry = await post(h, s, `${deliveries(s.project.id)}/${pair.eventId}/retry`, { now: true });
    expect(retry.statusCode).toBe(422);
    expect(errorOf(retry).validationError).toEqual({ now: ['is not a known field'] });
  });

  it('reads since as RFC 3339 with any zone, dropping digits below the millisecond', () => {
    const now = Date.parse('2026-06-01T00:00:00.000Z');
    expect(parseSince('2026-01-15T10:30:00Z', now)).toBe(Date.parse('2026-01-15T10:30:00.000Z'));
    expect(parseSince('2026-01-15T10:30:00.123456Z', now)).toBe(Date.parse('2026-01-15T10:30:00.123Z'));
    expect(parseSince('2026-01-15T12:30:00.5+02:00', now)).toBe(Date.parse('2026-01-15T10:30:00.500Z'));
    expect(parseSince('2026-01-15t07:00:00-03:30', now)).toBe(Date.parse('2026-01-15T10:30:00.000Z'));
    expect(parseSince('2026-06-01T00:00:00.000Z', now)).toBe(now);
    for (const bad of ['2026-06-01T00:00:00.001Z', '2026-01-15T10:30:00+24:00', '2026-13-01T00:00:00Z']) {
      expect(() => parseSince(bad, now), bad).toThrow(ApiError);
    }
  });
});
