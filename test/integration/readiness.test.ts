/**
 * GET /readyz (docs/operations.md, "Health"): 200 only when the database answers, its schema is
 * current and the process is not draining; otherwise 503 in the error envelope naming why.
 * Run on SQLite and on the real PostgreSQL of the test run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { call, errorOf } from '../helpers/api.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { TEST_DB } from '../helpers/test-database.js';

/** The schema version this build migrates to. */
const LATEST = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const readyz = (app: Harness['app']) => call(app, { method: 'GET', url: '/readyz' });

/** Runs one statement on the harness's database, outside the store. */
async function sql(harness: Harness, text: string): Promise<void> {
  const url = harness.config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.exec(text);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

it('answers 200 when the database answers and its schema is current', async () => {
  h = await createHarness();
  const res = await readyz(h.app);
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({ status: 'ready', role: 'all', schemaVersion: LATEST });
});

it('answers 503 migrations_pending when the schema is older than this version', async () => {
  h = await createHarness();
  await sql(h, `DELETE FROM schema_migrations WHERE version = ${LATEST}`);
  const res = await readyz(h.app);
  expect(res.statusCode).toBe(503);
  const e = errorOf(res);
  expect(e.error.code).toBe('migrations_pending');
  expect(e.error.description).toContain(`version ${LATEST - 1}`);
  // Liveness is another question: the process serves and its database answers.
  expect((await call(h.app, { method: 'GET', url: '/healthz' })).statusCode).toBe(200);
});

it('answers 503 shutting_down while draining, and other routes refuse as before', async () => {
  h = await createHarness();
  h.app.beginShutdown();
  const res = await readyz(h.app);
  expect(res.statusCode).toBe(503);
  expect(errorOf(res).error.code).toBe('shutting_down');
  expect(res.headers['retry-after']).toBe('1');
  // A probe with a query string (a cache-buster) is the same route.
  const probed = await call(h.app, { method: 'GET', url: '/readyz?probe=1' });
  expect(errorOf(probed).error.code).toBe('shutting_down');
  const other = await call(h.app, { method: 'GET', url: '/healthz' });
  expect(other.statusCode).toBe(503);
  expect(errorOf(other).error.code).toBe('service_unavailable');
});

it('answers 503 database_unavailable when the database cannot be reached', async () => {
  // SQLite: a store whose connection is gone (closed: what an I/O failure leaves too).
  // PostgreSQL: a server that is not there (a port nobody listens on).
  const dir = mkdtempSync(join(tmpdir(), 'relevo-ready-'));
  const store =
    TEST_DB === 'sqlite'
      ? new SqliteStore({ path: `${dir}/relevo.db` })
      : new PostgresStore({ url: 'postgres://relevo@127.0.0.1:1/relevo', poolSize: 1 });
  if (TEST_DB === 'sqlite') {
    await store.migrate();
    await store.close();
  }
  const config = loadConfig({
    DATABASE_URL: TEST_DB === 'sqlite' ? `sqlite:${dir}/relevo.db` : 'postgres://relevo@127.0.0.1:1/relevo',
    RELEVO_ADMIN_TOKEN: 'off',
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp({ config, store, logger: pino({ level: 'silent' }) });
  try {
    const res = await app.server.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    const e = errorOf(res);
    expect(e.error.code).toBe('database_unavailable');
    expect(e.message).toBe('Database unavailable');
  } finally {
    await app.server.close();
    if (TEST_DB === 'postgres') await store.close();
  }
});
