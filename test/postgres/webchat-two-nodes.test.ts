/**
 * Two API nodes on one PostgreSQL database: a browser's live stream held by one node gets the
 * messages committed by the other at once (NOTIFY names the rooms, the node reads what is new),
 * well before the stream's periodic catch-up (HEARTBEAT_MS) would have found them.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { DEFAULT_RULES } from '../../src/bots/rules/rule-bot.js';
import { HEARTBEAT_MS } from '../../src/channels/webchat/webchat.routes.js';
import { newId } from '../../src/model/ids.js';
import type { Message } from '../../src/model/types.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { call, openWebchatSession } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

let nodeA: Harness;
let s: Seed;
let storeB: PostgresStore;
let nodeB: App;
let baseB: string;

beforeAll(async () => {
  nodeA = await createHarness();
  s = await nodeA.seed('Two nodes');
  storeB = new PostgresStore({ url: nodeA.config.databaseUrl, poolSize: 4 });
  // Node B announces once its LISTEN is up; only then can it hear node A's commits.
  let listening = false;
  storeB.onCommitted((c) => {
    if (c.remote !== undefined) listening = true;
  });
  nodeB = await buildApp({ config: nodeA.config, store: storeB, logger: pino({ level: 'silent' }) });
  for (let waited = 0; !listening; waited += 20) {
    if (waited > 10_000) throw new Error('node B never listened');
    await new Promise((r) => setTimeout(r, 20));
  }
  await nodeB.server.listen({ port: 0, host: '127.0.0.1' });
  baseB = `http://127.0.0.1:${(nodeB.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await nodeB?.server.close();
  await storeB?.close();
  await nodeA?.close();
});

it("a stream on one node gets, at once, what the visitor sent through the other and the bot's reply", async () => {
  // The session is opened on node A; the browser's stream lands on node B.
  const session = await openWebchatSession(nodeA.app, s.bot.id);
  const stream = await openStream(
    `${baseB}/webchat/${s.bot.id}/stream?token=${encodeURIComponent(session.sessionToken)}`,
  );
  try {
    await stream.waitFor(1);
    expect(stream.messages()[0]).toMatchObject({ sender: 'bot', content: { body: DEFAULT_RULES.greeting } });

    const sent = await call(nodeA.app, {
      url: `/webchat/${s.bot.id}/messages`,
      headers: { authorization: `Bearer ${session.sessionToken}` },
      body: { type: 'text', content: { body: 'from the other node' } },
    });
    expect(sent.statusCode).toBe(202);
    // Well under the catch-up period: only the NOTIFY from node A's commit can have woken node B.
    await stream.waitFor(3, HEARTBEAT_MS / 3);
    expect(stream.messages().slice(1)).toEqual([
      expect.objectContaining({ sender: 'user', content: { body: 'from the other node' } }),
      expect.objectContaining({ sender: 'bot', content: { body: DEFAULT_RULES.fallback } }),
    ]);
  } finally {
    await stream.close();
  }
});

it('sends a message whose transaction committed after a later message was already sent', async () => {
  const session = await openWebchatSession(nodeA.app, s.bot.id);
  const stream = await openStream(
    `${baseB}/webchat/${s.bot.id}/stream?token=${encodeURIComponent(session.sessionToken)}`,
  );
  const message = (body: string): Message => ({
    id: newId('msg', Date.now()),
    projectId: s.project.id,
    roomId: session.roomId,
    conversationId: null,
    sender: 'operator',
    type: 'text',
    content: { body },
    externalId: null,
    createdAt: Date.now(),
  });
  try {
    await stream.waitFor(1);
    // The first message's id is made, then its transaction waits; the second commits first.
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    let made = () => {};
    const idMade = new Promise<void>((r) => {
      made = r;
    });
    const first = nodeA.store.transaction(async (tx) => {
      await tx.messages.insert(message('made first, committed last'));
      made();
      await released;
    });
    await idMade;
    await new Promise((r) => setTimeout(r, 5));
    await nodeA.store.transaction((tx) => tx.messages.insert(message('made second, committed first')));
    await stream.waitFor(2, HEARTBEAT_MS / 3);
    release();
    await first;
    // A stream that only asks for ids after the last one sent never sends the first.
    await stream.waitFor(3, HEARTBEAT_MS / 3);
    expect(
      stream
        .messages()
        .slice(1)
        .map((m) => (m.content as { body: string }).body),
    ).toEqual(['made second, committed first', 'made first, committed last']);
  } finally {
    await stream.close();
  }
});
