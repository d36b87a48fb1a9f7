/**
 * The PostgreSQL store's group commit: transactions requested while every lane (pooled
 * connection) is busy share one BEGIN…COMMIT, each keeping its own answer and its own atomicity.
 * The store here has one lane; a first transaction holds it until the others are queued, so that
 * these share the next batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UniqueViolation } from '../../src/storage/errors.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import type { Tx } from '../../src/storage/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

describe('PostgreSQL group commit', () => {
  let dir: string;
  let db: TestDatabase;
  let store: PostgresStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-pg-group-commit-'));
    db = await createTestDatabase(dir);
    store = new PostgresStore({ url: db.url, poolSize: 1 });
  });

  afterEach(async () => {
    await store.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const project = (id: string) => (tx: Tx) => tx.projects.insert({ id, name: id, createdAt: 1 });
  const projectIds = async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query<{ id: string }>('SELECT id FROM projects ORDER BY id')).rows.map((r) => r.id);
    } finally {
      await c.end();
    }
  };

  /**
   * Runs `batch` as one group commit: a first transaction takes the only lane and waits until
   * all of them are queued behind it.
   */
  async function asOneBatch<T>(batch: Array<(tx: Tx) => Promise<T>>): Promise<PromiseSettledResult<T>[]> {
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const blocker = store.transaction(async (tx) => {
      await tx.projects.get('prj_none');
      await held;
    });
    // The blocker is on the lane once it asked its first statement.
    await new Promise((r) => setTimeout(r, 50));
    const results = Promise.allSettled(batch.map((fn) => store.transaction(fn)));
    release();
    await blocker;
    return results;
  }

  it('commits the batch around a request that failed before writing, and runs nothing twice', async () => {
    const runs = { a: 0, b: 0, c: 0 };
    const results = await asOneBatch([
      async (tx) => {
        runs.a += 1;
        await project('prj_a')(tx);
      },
      async (tx) => {
        runs.b += 1;
        await tx.projects.get('prj_a');
        throw new Error('not found');
      },
      async (tx) => {
        runs.c += 1;
        await project('prj_c')(tx);
      },
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toEqual({ a: 1, b: 1, c: 1 });
    expect(await projectIds()).toEqual(['prj_a', 'prj_c']);
  });

  it('undoes only the writes of a request that failed after writing, keeping the others of its batch', async () => {
    const runs = { a: 0, b: 0, c: 0 };
    const results = await asOneBatch<string>([
      async (tx) => {
        runs.a += 1;
        await project('prj_a')(tx);
        return 'a';
      },
      async (tx) => {
        runs.b += 1;
        await project('prj_b')(tx);
        throw new Error('failed after its write');
      },
      async (tx) => {
        runs.c += 1;
        await project('prj_c')(tx);
        return 'c';
      },
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'a' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'failed after its write' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'c' });
    // The batch ran optimistically once, then again with a savepoint per request.
    expect(runs).toEqual({ a: 2, b: 2, c: 1 });
    expect(await projectIds()).toEqual(['prj_a', 'prj_c']);
  });

  it('a unique violation (which aborts a PostgreSQL transaction) fails only its own request', async () => {
    await store.transaction(project('prj_x'));
    const results = await asOneBatch<unknown>([
      project('prj_w'),
      project('prj_x'),
      async (tx) => {
        await project('prj_y')(tx);
        // Reads the batch's earlier write, as SQLite's batches do: they commit together or not at all.
        return (await tx.projects.get('prj_w'))?.id;
      },
    ]);
    expect(results[0]?.status).toBe('fulfilled');
    expect(results[1]?.status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(UniqueViolation);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'prj_w' });
    expect(await projectIds()).toEqual(['prj_w', 'prj_x', 'prj_y']);
  });

  it('announces the events of the requests that committed, with one NOTIFY for the batch', async () => {
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
    const listen = new pg.Client({ connectionString: db.url });
    await listen.connect();
    const notified: string[] = [];
    listen.on('notification', (n) => notified.push(n.payload ?? ''));
    await listen.query('LISTEN relevo_committed');
    const seen: string[][] = [];
    store.onCommitted((c) => {
      if (c.remote === undefined) seen.push(c.events.map((e) => e.id));
    });
    const event = (id: string) => ({
      id,
      projectId: 'prj_e',
      roomId: 'room_e',
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
    try {
      const results = await asOneBatch([
        async (tx) => {
          await tx.outbox.insertAtNextSeq(event('evt_1'));
        },
        async (tx) => {
          await tx.outbox.insertAtNextSeq(event('evt_2'));
          throw new Error('after the event');
        },
        async (tx) => {
          await tx.outbox.insertAtNextSeq(event('evt_3'));
        },
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(seen).toEqual([['evt_1', 'evt_3']]);
      for (let waited = 0; notified.length === 0 && waited < 5_000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(notified).toHaveLength(1);
      expect(JSON.parse(notified[0] ?? '{}')).toMatchObject({ e: 1 });
      // Room order holds: the undone event left no gap.
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const rows = (await c.query('SELECT id, room_seq FROM events ORDER BY room_seq')).rows;
      await c.end();
      expect(rows.map((r) => [r.id, Number(r.room_seq)])).toEqual([
        ['evt_1', 1],
        ['evt_3', 2],
      ]);
    } finally {
      await listen.end();
    }
  });
});
