/**
 * docs/api.md §5.7 — the project's events as Server-Sent Events — over real HTTP on a loopback
 * port: each committed panel event once, with its id, type and stored payload byte for byte;
 * resuming with Last-Event-ID (header or query) without loss or repeat; other projects' events
 * never; the end of the stream on revocation and shutdown; the admin token's stream; and a client
 * that stops reading is closed, then resumes with nothing lost.
 */

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent } from '../../src/domain/outbox.js';
import { CATALOGUE } from '../../src/errors.js';
import type { OutboxEvent } from '../../src/model/types.js';
import { authHeaders, call, PREFIXES } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream, type SseEvent } from '../helpers/sse.js';

/** Heartbeats every 500 ms (a third of this), so revocation and stalls show within a second or two. */
const ENV = { RELEVO_EVENT_STREAM_IDLE_TIMEOUT_MS: '1500' };

let h: Harness;
let s: Seed;
let other: Seed;
let base: string;

beforeAll(async () => {
  h = await createHarness(ENV);
  s = await h.seed('Acme');
  other = await h.seed('Other');
  await h.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => h?.close());

const streamUrl = (seed: Seed, prefix = '/v1', query = '') =>
  `${base}${prefix}/external-support/${seed.project.id}/events/stream${query}`;

/** The project's panel events as stored, oldest first. */
async function storedEvents(projectId: string): Promise<OutboxEvent[]> {
  const out: OutboxEvent[] = [];
  let after: string | undefined;
  do {
    const page = await h.store.queries.outbox.list(projectId, {}, { limit: 200, after });
    out.push(...page.items);
    after = page.nextCursor ?? undefined;
  } while (after !== undefined);
  return out.reverse();
}

function expectFrameOf(got: SseEvent, stored: OutboxEvent | undefined): void {
  expect(stored).toBeDefined();
  expect(got.id).toBe(stored?.id);
  expect(got.event).toBe(stored?.type);
  expect(got.data).toBe(stored?.payload);
}

/** Waits until the stream's connection is subscribed (the hub counts it). */
async function subscribed(n: number): Promise<void> {
  await eventually(
    async () => h.app.server.eventStreamHub.streamCount,
    (c) => c === n,
    5_000,
  );
}

describe('the stream', () => {
  it('sends each new committed event with its id, type and stored payload, and nothing from before', async () => {
    const before = await startedPair(h.store, s.project.id, 1);
    const stream = await openStream(streamUrl(s), authHeaders(s, 'apiKey'));
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.res.headers.get('cache-control')).toBe('no-store');
      await subscribed(1);
      const a = await startedPair(h.store, s.project.id, 2);
      // Every type: a user's message and a close go through the API like a panel's would.
      const closed = await call(h.app, {
        url: `/v1/external-support/${s.project.id}/conversations/close`,
        headers: authHeaders(s, 'apiKey'),
        body: { botId: a.botId, userId: a.userId },
      });
      expect(closed.statusCode).toBe(200);
      const got = await stream.waitForAll(2);
      const stored = await storedEvents(s.project.id);
      const byId = new Map(stored.map((e) => [e.id, e]));
      expect(got.map((e) => e.event)).toEqual(['conversation.start', 'conversation.close']);
      for (const e of got) expectFrameOf(e, byId.get(e.id ?? ''));
      expect(got.map((e) => e.id)).not.toContain(before.eventId);
      // No integration: the events are recorded as skipped, and streamed all the same.
      expect(byId.get(a.eventId)?.status).toBe('skipped');
      expect(stream.text().startsWith('retry: 3000\n\n')).toBe(true);
    } finally {
      await stream.close();
    }
    await subscribed(0);
  });

  for (const prefix of PREFIXES) {
    it(`serves under ${prefix} with Basic too, and sends heartbeats`, async () => {
      const stream = await openStream(streamUrl(s, prefix), authHeaders(s, 'basic'));
      try {
        expect(stream.res.status).toBe(200);
        await subscribed(1);
        const p = await startedPair(h.store, s.project.id, 3);
        const [got] = await stream.waitForAll(1);
        expect(got?.id).toBe(p.eventId);
        await eventually(
          async () => stream.text(),
          (t) => t.includes('\n: ping\n\n') || t.includes(': ping\n\n'),
          5_000,
        );
      } finally {
        await stream.close();
      }
      await subscribed(0);
    });
  }

  it("never sends another project's events", async () => {
    const stream = await openStream(streamUrl(s), authHeaders(s, 'apiKey'));
    try {
      await subscribed(1);
      const ours: string[] = [];
      for (let i = 0; i < 4; i++) {
        await startedPair(h.store, other.project.id, 10 + i);
        ours.push((await startedPair(h.store, s.project.id, 20 + i)).eventId);
        await startedPair(h.store, other.project.id, 30 + i);
      }
      const got = await stream.waitForAll(4);
      // Some time for anything else to arrive: the other project's 8 events must not.
      await startedPair(h.store, other.project.id, 40);
      const last = (await startedPair(h.store, s.project.id, 41)).eventId;
      await stream.waitForAll(5);
      expect(got.map((e) => e.id)).toEqual([...ours, last]);
      for (const e of got) expect(JSON.parse(e.data).project_id).toBe(s.project.id);
    } finally {
      await stream.close();
    }
  });

  it('resumes strictly after Last-Event-ID (header or lastEventId query): nothing lost, nothing repeated', async () => {
    const first = await openStream(streamUrl(s), authHeaders(s, 'apiKey'));
    await subscribed(1);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await startedPair(h.store, s.project.id, 50 + i)).eventId);
    const seen = await first.waitForAll(3);
    const lastSeen = seen[2]?.id ?? '';
    await first.close();
    await subscribed(0);
    // Committed while no stream was open.
    for (let i = 0; i < 3; i++) made.push((await startedPair(h.store, s.project.id, 60 + i)).eventId);

    const byHeader = await openStream(streamUrl(s), {
      ...authHeaders(s, 'apiKey'),
      'last-event-id': lastSeen,
    });
    const byQuery = await openStream(
      streamUrl(s, '/v1', `?lastEventId=${lastSeen}`),
      authHeaders(s, 'apiKey'),
    );
    try {
      await byHeader.waitForAll(3);
      await byQuery.waitForAll(3);
      made.push((await startedPair(h.store, s.project.id, 70)).eventId);
      for (const stream of [byHeader, byQuery]) {
        const got = await stream.waitForAll(4);
        expect(got.map((e) => e.id)).toEqual(made.slice(3));
      }
      // Resuming from the first event sends the five after it, once each, in order.
      const fromFirst = await openStream(streamUrl(s), {
        ...authHeaders(s, 'apiKey'),
        'last-event-id': made[0] ?? '',
      });
      try {
        const got = await fromFirst.waitForAll(6);
        expect(got.map((e) => e.id)).toEqual(made.slice(1));
      } finally {
        await fromFirst.close();
      }
    } finally {
      await byHeader.close();
      await byQuery.close();
    }
  });

  it('sends a backlog longer than one read page (500 ids) once each, in order', async () => {
    const seed = await h.seed('Backlog');
    const room = (await startedPair(h.store, seed.project.id, 1)).roomId;
    for (let batch = 0; batch < 6; batch++) {
      await h.store.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) {
          await appendEvent(tx, {
            projectId: seed.project.id,
            roomId: room,
            conversationId: null,
            type: 'message',
            createdAt: Date.now(),
            payload: { n: batch * 200 + i },
          });
        }
      });
    }
    const all = await storedEvents(seed.project.id);
    expect(all).toHaveLength(1201);
    const stream = await openStream(streamUrl(seed), {
      ...authHeaders(seed, 'apiKey'),
      'last-event-id': all[0]?.id ?? '',
    });
    try {
      const got = await stream.waitForAll(1200, 20_000);
      expect(got.map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
      expect(got.map((e) => JSON.parse(e.data).n)).toEqual(all.slice(1).map((_, i) => i));
    } finally {
      await stream.close();
    }
  });

  it('ends when the credential is revoked', async () => {
    const minted = await call(h.app, {
      url: `/admin/v1/projects/${s.project.id}/credentials`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: {},
    });
    expect(minted.statusCode).toBe(201);
    const { id, apiKey } = minted.json() as { id: string; apiKey: string };
    const stream = await openStream(streamUrl(s), { 'x-api-key': apiKey });
    expect(stream.res.status).toBe(200);
    await subscribed(1);
    const revoked = await call(h.app, {
      method: 'DELETE',
      url: `/admin/v1/projects/${s.project.id}/credentials/${id}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoked.statusCode).toBe(200);
    // The next heartbeat's read finds the credential revoked and ends the stream.
    await stream.done;
    await subscribed(0);
    const again = await fetch(streamUrl(s), { headers: { 'x-api-key': apiKey } });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('refuses another project, no credentials, and a malformed Last-Event-ID in the error envelope', async () => {
    const cross = await fetch(streamUrl(other), { headers: authHeaders(s, 'apiKey') });
    expect(cross.status).toBe(401);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const none = await fetch(streamUrl(s));
    expect(none.status).toBe(401);
    await none.arrayBuffer();
    const bad = await fetch(streamUrl(s), {
      headers: { ...authHeaders(s, 'apiKey'), 'last-event-id': 'nope' },
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { error: { code: string }; validationError: Record<string, string[]> };
    expect(body.error.code).toBe('unprocessable_entity');
    expect(body.validationError).toEqual({ 'Last-Event-ID': ['must be the id of an event (evt_…)'] });
    const badQuery = await fetch(streamUrl(s, '/v1', '?lastEventId=x&more=1'), {
      headers: authHeaders(s, 'apiKey'),
    });
    expect(badQuery.status).toBe(422);
    expect(((await badQuery.json()) as { error: { code: string } }).error.code).toBe('unprocessable_entity');
    // No HEAD twin: it would hold a stream open that sends nothing.
    const head = await fetch(streamUrl(s), { method: 'HEAD', headers: authHeaders(s, 'apiKey') });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    await subscribed(0);
  });
});

describe('the admin stream', () => {
  const adminUrl = (projectId: string) => `${base}/admin/v1/projects/${projectId}/events/stream`;

  it("reads any project's events with the admin token", async () => {
    const stream = await openStream(adminUrl(other.project.id), { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      expect(stream.res.status).toBe(200);
      await subscribed(1);
      await startedPair(h.store, s.project.id, 80);
      const p = await startedPair(h.store, other.project.id, 81);
      const [got] = await stream.waitForAll(1);
      expectFrameOf(got as SseEvent, await h.store.queries.outbox.get(p.eventId));
      expect(stream.all).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  it('answers 404 project_not_found for an unknown project and 401 without the token', async () => {
    const missing = await fetch(adminUrl('prj_unknown'), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('project_not_found');
    const anonymous = await fetch(adminUrl(s.project.id));
    expect(anonymous.status).toBe(CATALOGUE.admin_unauthorized.status);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('admin_unauthorized');
    const withApiKey = await fetch(adminUrl(s.project.id), { headers: authHeaders(s, 'apiKey') });
    expect(withApiKey.status).toBe(401);
    await withApiKey.arrayBuffer();
    await subscribed(0);
  });
});

describe('a client that stops reading', () => {
  it('is closed rather than buffered without bound, and resumes from its last full event losing nothing', async () => {
    const port = (h.app.server.server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.on('close', () => {
      closed = true;
    });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `GET /v1/external-support/${s.project.id}/events/stream HTTP/1.0\r\nhost: 127.0.0.1\r\nx-api-key: ${s.apiKey}\r\n\r\n`,
    );
    await eventually(
      async () => raw,
      (t) => t.includes('retry: 3000'),
      5_000,
    );
    await subscribed(1);
    // From now on the client reads nothing.
    socket.pause();
    const room = (await startedPair(h.store, s.project.id, 90)).roomId;
    // 16 MB of events: more than the kernel's socket buffers on both sides (a few MB on loopback).
    const pad = 'x'.repeat(32 * 1024);
    for (let batch = 0; batch < 10; batch++) {
      await h.store.transaction(async (tx) => {
        for (let i = 0; i < 50; i++) {
          await appendEvent(tx, {
            projectId: s.project.id,
            roomId: room,
            conversationId: null,
            type: 'message',
            createdAt: Date.now(),
            payload: { n: batch * 50 + i, pad },
          });
        }
      });
    }
    // The server gives up on it (idle timeout: it could send nothing for 1.5 s).
    await subscribed(0);
    socket.resume();
    await eventually(
      async () => closed,
      (c) => c,
      10_000,
    );
    const all = (await storedEvents(s.project.id)).filter((e) => e.roomId === room);
    expect(all).toHaveLength(501);
    // The complete frames it got before the end (HTTP/1.0: no chunked framing to undo): a prefix
    // of the events, in order.
    const frames = raw
      .slice(raw.indexOf('\r\n\r\n') + 4)
      .split('\n\n')
      .slice(0, -1)
      .map((f) => /^id: (evt_\w+)$/m.exec(f)?.[1])
      .filter((id): id is string => id !== undefined);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(all.length);
    expect(frames).toEqual(all.slice(0, frames.length).map((e) => e.id));
    const resumed = await openStream(streamUrl(s), {
      ...authHeaders(s, 'apiKey'),
      'last-event-id': frames.at(-1) ?? '',
    });
    try {
      const got = await resumed.waitForAll(all.length - frames.length, 20_000);
      expect(got.map((e) => e.id)).toEqual(all.slice(frames.length).map((e) => e.id));
      for (const [i, e] of got.entries()) expect(e.data).toBe(all[frames.length + i]?.payload);
    } finally {
      await resumed.close();
    }
  });
});

describe('waking', () => {
  it('reads at once when a project without an integration commits an event, without waiting for a heartbeat', async () => {
    // Default settings: the heartbeat's read comes only after 15 s.
    const own = await createHarness();
    try {
      const seed = await own.seed('No integration');
      await own.app.server.listen({ port: 0, host: '127.0.0.1' });
      const port = (own.app.server.server.address() as AddressInfo).port;
      const stream = await openStream(
        `http://127.0.0.1:${port}/v1/external-support/${seed.project.id}/events/stream`,
        authHeaders(seed, 'apiKey'),
      );
      try {
        await eventually(
          async () => own.app.server.eventStreamHub.streamCount,
          (c) => c === 1,
          5_000,
        );
        // A start with no initial message writes no message: only the (skipped) event wakes it.
        const p = await startedPair(own.store, seed.project.id, 1);
        expect((await own.store.queries.outbox.get(p.eventId))?.status).toBe('skipped');
        const [got] = await stream.waitForAll(1, 5_000);
        expect(got?.id).toBe(p.eventId);
      } finally {
        await stream.close();
      }
    } finally {
      await own.close();
    }
  });
});

describe('shutdown', () => {
  it('ends open streams, and closing the server does not wait for them', async () => {
    const own = await createHarness(ENV);
    const seed = await own.seed('Shutdown');
    await own.app.server.listen({ port: 0, host: '127.0.0.1' });
    const port = (own.app.server.server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/v1/external-support/${seed.project.id}/events/stream`;
    const streams = [
      await openStream(url, authHeaders(seed, 'apiKey')),
      await openStream(`http://127.0.0.1:${port}/admin/v1/projects/${seed.project.id}/events/stream`, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      }),
    ];
    await eventually(
      async () => own.app.server.eventStreamHub.streamCount,
      (c) => c === 2,
      5_000,
    );
    await own.close();
    for (const stream of streams) {
      await stream.done;
      expect(stream.text().startsWith('retry: 3000')).toBe(true);
    }
  });
});
