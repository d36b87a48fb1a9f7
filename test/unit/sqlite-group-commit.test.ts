import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Tx } from '../../src/storage/store.js';

/**
 * The SQLite store runs every transaction queued in one turn of the event loop inside one
 * BEGIN…COMMIT, without a savepoint per request unless one of them fails after writing. These
 * tests queue several transactions in the same turn (so they share a batch) on a real file.
 */
describe('SQLite group commit', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-group-commit-'));
    path = join(dir, 'relevo.db');
    store = new SqliteStore({ path });
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const project = (id: string) => (tx: Tx) => tx.projects.insert({ id, name: id, createdAt: 1 });
  const projectIds = () => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare('SELECT id FROM projects ORDER BY id').all() as Array<{ id: string }>).map(
        (r) => r.id,
      );
    } finally {
      db.close();
    }
  };

  it('commits the batch around a request that failed before writing, and runs nothing twice', async () => {
    const runs = { a: 0, b: 0, c: 0 };
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        runs.a += 1;
        await project('prj_a')(tx);
      }),
      store.transaction(async (tx) => {
        runs.b += 1;
        await tx.projects.get('prj_a');
        throw new Error('not found');
      }),
      store.transaction(async (tx) => {
        runs.c += 1;
        await project('prj_c')(tx);
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toEqual({ a: 1, b: 1, c: 1 });
    expect(projectIds()).toEqual(['prj_a', 'prj_c']);
  });

  it('undoes only the writes of a request that failed after writing, keeping the others of its batch', async () => {
    const runs = { a: 0, b: 0, c: 0 };
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        runs.a += 1;
        await project('prj_a')(tx);
        return 'a';
      }),
      store.transaction(async (tx) => {
        runs.b += 1;
        await project('prj_b')(tx);
        throw new Error('failed after its write');
      }),
      store.transaction(async (tx) => {
        runs.c += 1;
        await project('prj_c')(tx);
        return 'c';
      }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'a' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'failed after its write' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'c' });
    // The batch ran optimistically once, then again with a savepoint per request.
    expect(runs).toEqual({ a: 2, b: 2, c: 1 });
    expect(projectIds()).toEqual(['prj_a', 'prj_c']);
  });

  it('treats a refused write (a unique violation) as a failure before writing', async () => {
    await store.transaction(project('prj_x'));
    const runs = { dup: 0 };
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        runs.dup += 1;
        await project('prj_x')(tx);
      }),
      store.transaction(project('prj_y')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(runs.dup).toBe(1);
    expect(projectIds()).toEqual(['prj_x', 'prj_y']);
  });

  it('reports to commit listeners only the events of requests that committed', async () => {
    const seen: string[][] = [];
    store.onCommitted((c) => seen.push(c.events.map((e) => e.id)));
    const now = Date.now();
    await store.transaction(async (tx) => {
      await project('prj_e')(tx);
      await tx.bots.insert({
        id: 'bot_e',
        projectId: 'prj_e',
        name: 'b',
        channel: 'webchat',
        engine: 'rules',
        createdAt: now,
      });
      await tx.endUsers.insert({
        id: 'usr_e',
        projectId: 'prj_e',
        names: 'U',
        referenceId: null,
        createdAt: now,
      });
      await tx.rooms.insert({
        id: 'room_e',
        projectId: 'prj_e',
        botId: 'bot_e',
        userId: 'usr_e',
        createdAt: now,
      });
    });
    const event = (id: string) => ({
      id,
      projectId: 'prj_e',
      roomId: 'room_e',
      roomSeq: 0,
      conversationId: null,
      destination: 'panel' as const,
      type: 'message' as const,
      payload: '{}',
      createdAt: now,
      status: 'pending' as const,
      attemptCount: 0,
      nextAttemptAt: now,
      deliveredAt: null,
      lastError: null,
    });
    await Promise.allSettled([
      store.transaction(async (tx) =>
        tx.outbox.insert({ ...event('evt_1'), roomSeq: await tx.rooms.nextSeq('room_e') }),
      ),
      store.transaction(async (tx) => {
        await tx.outbox.insert({ ...event('evt_2'), roomSeq: await tx.rooms.nextSeq('room_e') });
        throw new Error('after the event');
      }),
      store.transaction(async (tx) =>
        tx.outbox.insert({ ...event('evt_3'), roomSeq: await tx.rooms.nextSeq('room_e') }),
      ),
    ]);
    expect(seen).toEqual([['evt_1', 'evt_3']]);
  });
});
