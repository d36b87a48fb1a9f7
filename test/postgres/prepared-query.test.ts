/**
 * PreparedQuery (src/storage/postgres/prepared-query.ts): a named statement asks for its row
 * shape once per connection, then only binds and executes, and its rows come out as before. It
 * leans on pg.Query's own fields, so these tests are what tell when a pg upgrade moved them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { UniqueViolation } from '../../src/storage/errors.js';
import { PgExecutor } from '../../src/storage/postgres/postgres-executor.js';
import { SharedSession } from '../../src/storage/postgres/shared-session.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let dir: string;
let db: TestDatabase;
/**
 * One connection for the whole test, pipelining as the store's do. A client, not a pool: its end
 * is awaited before the database is dropped (a pool's end leaves its clients closing, and the
 * drop's termination of them was an unhandled error).
 */
let client: pg.Client;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-pg-prepared-'));
  db = await createTestDatabase(dir);
  client = new pg.Client({ connectionString: db.url, pipeline: true } as pg.ClientConfig);
  await client.connect();
  await client.query('CREATE TABLE kv (k TEXT PRIMARY KEY, n INTEGER NOT NULL, at TIMESTAMPTZ)');
});

afterEach(async () => {
  await client.end();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `use` in one transaction on one connection, counting the Describe messages it sends. */
async function onConnection<T>(
  use: (x: PgExecutor) => Promise<T>,
): Promise<{ value: T; describes: number; parses: number }> {
  const wire = (client as unknown as { connection: Record<string, (...a: unknown[]) => void> }).connection;
  const counts = { describe: 0, parse: 0 };
  const original = { describe: wire.describe, parse: wire.parse };
  wire.describe = (...a: unknown[]) => {
    counts.describe += 1;
    original.describe?.apply(wire, a);
  };
  wire.parse = (...a: unknown[]) => {
    counts.parse += 1;
    original.parse?.apply(wire, a);
  };
  try {
    const x = new PgExecutor(new SharedSession(client as pg.PoolClient), {
      inTransaction: true,
      named: true,
    });
    const value = await use(x);
    await client.query('COMMIT');
    return { value, describes: counts.describe, parses: counts.parse };
  } finally {
    Object.assign(wire, original);
  }
}

it('describes a statement with rows once per connection, and parses its columns the same every time', async () => {
  await client.query("INSERT INTO kv VALUES ('a', 1, '2026-01-02T03:04:05Z'), ('b', 2, NULL)");
  const sql = 'SELECT k, n, at FROM kv WHERE k = ?';
  const run = await onConnection(async (x) => [
    await x.one(sql, 'a'),
    await x.one(sql, 'b'),
    await x.tuple(sql, 'a'),
    await x.all(sql, 'none'),
  ]);
  const [a, b, tuple, none] = run.value as [unknown, unknown, unknown, unknown];
  expect(a).toEqual({ k: 'a', n: 1, at: new Date('2026-01-02T03:04:05Z') });
  expect(b).toEqual({ k: 'b', n: 2, at: null });
  expect(tuple).toEqual(['a', 1, new Date('2026-01-02T03:04:05Z')]);
  expect(none).toEqual([]);
  expect(run.parses).toBe(1);
  expect(run.describes).toBe(1);

  // The next transaction on the same connection asks for nothing again.
  const again = await onConnection(async (x) => x.one(sql, 'b'));
  expect(again.value).toEqual({ k: 'b', n: 2, at: null });
  expect(again.describes).toBe(0);
  expect(again.parses).toBe(0);
});

it('describes a statement without rows once too, and still counts the rows it changed', async () => {
  await client.query("INSERT INTO kv VALUES ('a', 1, NULL), ('b', 2, NULL)");
  const run = await onConnection(async (x) => [
    await x.run('UPDATE kv SET n = n + 1 WHERE k = ?', 'a'),
    await x.run('UPDATE kv SET n = n + 1 WHERE k = ?', 'none'),
    await x.run('UPDATE kv SET n = n + 1 WHERE k = ?', 'b'),
  ]);
  expect(run.value).toEqual([1, 0, 1]);
  expect(run.describes).toBe(1);
  expect((await client.query('SELECT k, n FROM kv ORDER BY k')).rows).toEqual([
    { k: 'a', n: 2 },
    { k: 'b', n: 3 },
  ]);
});

it('a statement that fails is described again on its next run, which answers as before', async () => {
  const insert = 'INSERT INTO kv (k, n) VALUES (?, ?) RETURNING k, n';
  const first = await onConnection(async (x) => x.one(insert, 'a', 1));
  expect(first.value).toEqual({ k: 'a', n: 1 });
  const x = new PgExecutor(new SharedSession(client as pg.PoolClient), { inTransaction: true, named: true });
  await expect(x.one(insert, 'a', 2)).rejects.toBeInstanceOf(UniqueViolation);
  await client.query('ROLLBACK');
  const after = await onConnection(async (x) => [await x.one(insert, 'b', 2), await x.one(insert, 'c', 3)]);
  expect(after.value).toEqual([
    { k: 'b', n: 2 },
    { k: 'c', n: 3 },
  ]);
  expect(after.describes).toBe(1);
});
