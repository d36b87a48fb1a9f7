/**
 * The project event stream (docs/api.md §5.7) on PostgreSQL, where transactions run side by side:
 * two transactions that commit in the opposite order of their event ids both reach the stream
 * (a reader asking only for ids after the last one sent would skip the first), a resumed stream
 * repeats neither, and a stream held by one node gets what another node commits at once, through
 * NOTIFY, well before its heartbeat's read would find it.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { appendEvent } from '../../src/domain/outbox.js';
import { EVENT_STREAM_HEARTBEAT_MS } from '../../src/http/routes/event-stream.routes.js';
import type { OutboxEvent } from '../../src/model/types.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { authHeaders } from '../helpers/api.js';
import { eventually, startedPair } from '../helpers/events.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let nodeA: Harness;
let s: Seed;
let baseA: string;
let storeB: PostgresStore;
let nodeB: App;
let baseB: string;

beforeAll(async () => {
  nodeA = await createHarness();
  s = await nodeA.seed('Order');
  await nodeA.app.server.listen({ port: 0, host: '127.0.0.1' });
  baseA = `http://127.0.0.1:${(nodeA.app.server.server.address() as AddressInfo).port}`;
  storeB = new PostgresStore({ url: nodeA.config.databaseUrl, poolSize: 4 });
  // Node B announces once its LISTEN is up; only then can it hear node A's commits.
  let listening = false;
  storeB.onCommitted((c) => {
    if (c.remote !== undefined) listening = true;
  });
  nodeB = await buildApp({ config: nodeA.config, store: storeB, logger: pino({ level: 'silent' }) });
  await eventually(
    async () => listening,
    (l) => l,
    10_000,
  );
  await nodeB.server.listen({ port: 0, host: '127.0.0.1' });
  baseB = `http://127.0.0.1:${(nodeB.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await nodeB?.server.close();
  await storeB?.close();
  await nodeA?.close();
});

const streamUrl = (base: string) => `${base}/v1/external-support/${s.project.id}/events/stream`;

/**
 * Appends an event in a transaction that then waits for `release` before committing: its id is
 * made now, its commit happens later.
 */
function heldEvent(roomId: string, n: number) {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  let made: (e: OutboxEvent) => void = () => {};
  const idMade = new Promise<OutboxEvent>((r) => {
    made = r;
  });
  const committed = nodeA.store.transaction(async (tx) => {
    const e = await appendEvent(tx, {
      projectId: s.project.id,
      roomId,
      conversationId: null,
      type: 'message',
      createdAt: Date.now(),
      payload: { field: 'messages', n },
    });
    made(e);
    await released;
    return e;
  });
  return { idMade, release, committed };
}

it('sends an event whose transaction committed after a later id was sent, and a resume repeats neither', async () => {
  // Two rooms, so that neither transaction waits for the other's lock on its room.
  const roomA = (await startedPair(nodeA.store, s.project.id, 1)).roomId;
  const roomB = (await startedPair(nodeA.store, s.project.id, 2)).roomId;
  const stream = await openStream(streamUrl(baseA), authHeaders(s, 'apiKey'));
  try {
    await eventually(
      async () => nodeA.app.server.eventStreamHub.streamCount,
      (c) => c === 1,
      5_000,
    );
    const first = heldEvent(roomA, 1);
    const early = await first.idMade;
    // The second makes a higher id and commits first; the stream sends it.
    const second = heldEvent(roomB, 2);
    const late = await second.idMade;
    expect(late.id > early.id).toBe(true);
    second.release();
    await second.committed;
    await stream.waitForAll(1);
    expect(stream.all.map((e) => e.id)).toEqual([late.id]);
    // Now the first commits, with the lower id: the stream still sends it, after the other.
    first.release();
    await first.committed;
    await stream.waitForAll(2, 5_000);
    expect(stream.all.map((e) => e.id)).toEqual([late.id, early.id]);
    expect(stream.all[1]?.data).toBe((await nodeA.store.queries.outbox.get(early.id))?.payload);
    // Nothing more comes for them: each is sent once, at the next heartbeat's reads too.
    const third = (await startedPair(nodeA.store, s.project.id, 3)).eventId;
    await stream.waitForAll(3);
    expect(stream.all.map((e) => e.id)).toEqual([late.id, early.id, third]);
  } finally {
    await stream.close();
  }
  // Resuming after the newest id sends what came after it only.
  const fourth = (await startedPair(nodeA.store, s.project.id, 4)).eventId;
  const resumed = await openStream(streamUrl(baseA), {
    ...authHeaders(s, 'apiKey'),
    'last-event-id': fourth,
  });
  try {
    const fifth = (await startedPair(nodeA.store, s.project.id, 5)).eventId;
    await resumed.waitForAll(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(resumed.all.map((e) => e.id)).toEqual([fifth]);
  } finally {
    await resumed.close();
  }
});

it("a stream on one node gets another node's commits at once (NOTIFY), with the stored payload", async () => {
  const stream = await openStream(streamUrl(baseB), authHeaders(s, 'apiKey'));
  try {
    await eventually(
      async () => nodeB.server.eventStreamHub.streamCount,
      (c) => c === 1,
      5_000,
    );
    const p = await startedPair(nodeA.store, s.project.id, 6);
    // Well within the heartbeat: the read that found it was woken by node A's NOTIFY.
    await stream.waitForAll(1, EVENT_STREAM_HEARTBEAT_MS / 3);
    const stored = await nodeA.store.queries.outbox.get(p.eventId);
    expect(stream.all[0]).toMatchObject({
      id: p.eventId,
      event: 'conversation.start',
      data: stored?.payload,
    });
  } finally {
    await stream.close();
  }
});
