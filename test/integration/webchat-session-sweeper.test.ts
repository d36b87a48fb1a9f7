/**
 * The sweep of silent web chat sessions (src/channels/webchat/session-sweeper.ts), on both
 * databases, with a clock moved past the TTL: a session whose visitor never wrote is deleted
 * with its room and greeting; one whose visitor wrote, or whose room had a conversation or an
 * event, is kept; nothing else changes.
 */

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSessionSweeper } from '../../src/channels/webchat/session-sweeper.js';
import { newId } from '../../src/model/ids.js';
import { call, openWebchatSession } from '../helpers/api.js';
import { createHarness, type Harness, type Seed } from '../helpers/harness.js';

const HOUR = 3_600_000;
const TTL = 24 * HOUR;

let h: Harness;
let s: Seed;
beforeAll(async () => {
  h = await createHarness();
  s = await h.seed();
});
afterAll(async () => h.close());

const newSession = () => openWebchatSession(h.app, s.bot.id);

const messagesOf = async (roomId: string) =>
  (await h.store.queries.messages.listOfRoom(roomId, { limit: 200 })).items;
const eventsOf = async () =>
  (await h.store.queries.outbox.list(s.project.id, {}, { limit: 200 })).items.map((e) => e.id);

function sweeperAt(now: number) {
  return startSessionSweeper({
    store: h.store,
    ttlMs: TTL,
    log: pino({ level: 'silent' }),
    clock: () => now,
  });
}

describe('silent web chat sessions', () => {
  it('are deleted after the TTL, with room and greeting; sessions that became something are kept', async () => {
    const created = Date.now();
    const silent = await newSession();
    const spoke = await newSession();
    const talked = await newSession();
    const evented = await newSession();
    expect((await messagesOf(silent.roomId)).length).toBeGreaterThan(0);

    const wrote = await call(h.app, {
      url: `/webchat/${s.bot.id}/messages`,
      headers: { authorization: `Bearer ${spoke.sessionToken}` },
      body: { type: 'text', content: { body: 'hello' } },
    });
    expect(wrote.statusCode).toBe(202);
    // A conversation the panel started and closed, without a word from the visitor.
    await h.store.transaction(async (tx) => {
      await tx.conversations.insert({
        id: newId('conv', created),
        projectId: s.project.id,
        roomId: talked.roomId,
        botId: s.bot.id,
        userId: talked.userId,
        state: 'closed',
        assignment: null,
        metadata: null,
        startAt: created,
        endAt: created,
        endedReason: 'closed_by_operator',
      });
      await tx.outbox.insertAtNextSeq({
        id: newId('evt', created),
        projectId: s.project.id,
        roomId: evented.roomId,
        conversationId: null,
        destination: 'panel',
        type: 'message',
        payload: '{}',
        createdAt: created,
        status: 'delivered',
        attemptCount: 1,
        nextAttemptAt: null,
        deliveredAt: created,
        lastError: null,
      });
    });
    const events = await eventsOf();
    const others = (await h.store.queries.endUsers.list(s.project.id, { limit: 200 })).items.filter(
      (u) => ![silent, spoke, talked, evented].some((x) => x.userId === u.id),
    );
    expect(others.map((u) => u.id)).toContain(s.user.id);

    // Not yet: one minute before the TTL is up.
    const early = sweeperAt(created + TTL - 60_000);
    expect(await early.sweep()).toBe(0);
    await early.stop();
    expect(await h.store.queries.endUsers.get(s.project.id, silent.userId)).toBeDefined();

    const late = sweeperAt(created + TTL + 1_000);
    expect(await late.sweep()).toBe(1);
    // Idempotent: a second sweep (another node) finds nothing.
    expect(await late.sweep()).toBe(0);
    await late.stop();

    expect(
      await h.store.queries.endUsers.get(s.project.id, silent.userId, { includeDeleted: true }),
    ).toBeUndefined();
    expect(await h.store.queries.rooms.get(s.project.id, silent.roomId)).toBeUndefined();
    expect(await messagesOf(silent.roomId)).toEqual([]);
    const refused = await call(h.app, {
      method: 'GET',
      url: `/webchat/${s.bot.id}/messages`,
      headers: { authorization: `Bearer ${silent.sessionToken}` },
    });
    expect(refused.statusCode).toBe(401);

    for (const kept of [spoke, talked, evented]) {
      expect(await h.store.queries.endUsers.get(s.project.id, kept.userId)).toBeDefined();
      expect(await h.store.queries.rooms.get(s.project.id, kept.roomId)).toBeDefined();
      expect((await messagesOf(kept.roomId)).length).toBeGreaterThan(0);
      const history = await call(h.app, {
        method: 'GET',
        url: `/webchat/${s.bot.id}/messages`,
        headers: { authorization: `Bearer ${kept.sessionToken}` },
      });
      expect(history.statusCode).toBe(200);
    }
    expect(await eventsOf()).toEqual(events);
    const stillThere = (await h.store.queries.endUsers.list(s.project.id, { limit: 200 })).items.map(
      (u) => u.id,
    );
    for (const u of others) expect(stillThere).toContain(u.id);
  });
});
