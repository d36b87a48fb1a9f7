/**
 * Migration 0009 (names as JSON text) on a database that already holds rows: a database migrated
 * up to the migration before it gets projects, bots and end users written as the older code wrote
 * them (plain text), then the store migrates it. Every name reads back as it was, the column now
 * holds it as a JSON string literal, and a name written afterwards with U+0000 or an unpaired
 * surrogate round-trips beside them. On SQLite and on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { m0009NamesAsJson } from '../../src/storage/migrations/0009-names-as-json.js';
import { MIGRATIONS, statementFor } from '../../src/storage/migrations/index.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { TEST_DB } from '../helpers/test-database.js';

const BEFORE = MIGRATIONS.filter((m) => m.version < m0009NamesAsJson.version);
const BOOKKEEPING =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

/** Names the older code stored (neither NUL nor an unpaired surrogate: those were refused). */
const OLD_NAMES = [
  'Maria',
  'O\'Brien "the quoted" \\ back\\slash \\u0000 as text',
  'línea\nnueva\ttab\r\u0001\u001f\u007f',
  'Ωmega 😀 漢字',
  '  spaces  ',
  'null',
  '"already quoted"',
];
/** Rows as the older code wrote them: [table, id, name column, name]. */
const ROWS = OLD_NAMES.flatMap((name, i) => [
  { table: 'projects', id: `prj_old${i}`, column: 'name', name },
  { table: 'bots', id: `bot_old${i}`, column: 'name', name: `bot ${name}` },
  { table: 'end_users', id: `usr_old${i}`, column: 'names', name: `user ${name}` },
]);

async function insertOld(run: (sql: string, params: unknown[]) => unknown, dollar: boolean): Promise<void> {
  const ph = (n: number) => Array.from({ length: n }, (_, i) => (dollar ? `$${i + 1}` : '?')).join(', ');
  for (const [i, name] of OLD_NAMES.entries()) {
    await run(`INSERT INTO projects (id, name, created_at) VALUES (${ph(3)})`, [`prj_old${i}`, name, 1]);
    await run(`INSERT INTO bots (id, project_id, name, channel, created_at) VALUES (${ph(5)})`, [
      `bot_old${i}`,
      `prj_old${i}`,
      `bot ${name}`,
      'webchat',
      1,
    ]);
    await run(`INSERT INTO end_users (id, project_id, names, reference_id, created_at) VALUES (${ph(5)})`, [
      `usr_old${i}`,
      `prj_old${i}`,
      `user ${name}`,
      null,
      1,
    ]);
  }
}

let dir: string;
let store: Store;
/** Reads a name column as stored, bypassing the row mappers. */
let rawName: (table: string, column: string, id: string) => Promise<string>;
let cleanup: () => Promise<void>;

async function sqliteAtBefore(): Promise<void> {
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.exec(BOOKKEEPING);
  for (const m of BEFORE) {
    for (const s of m.statements) db.exec(statementFor(s, 'sqlite'));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      m.version,
      m.name,
      1,
    );
  }
  await insertOld((sql, params) => db.prepare(sql).run(...params), false);
  db.close();
  store = new SqliteStore({ path });
  const reader = new Database(path, { readonly: true });
  rawName = async (table, column, id) =>
    (reader.prepare(`SELECT ${column} AS v FROM ${table} WHERE id = ?`).get(id) as { v: string }).v;
  cleanup = async () => {
    reader.close();
    await store.close();
  };
}

async function postgresAtBefore(): Promise<void> {
  const adminUrl = inject('pgUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(BOOKKEEPING);
  for (const m of BEFORE) {
    for (const s of m.statements) await client.query(statementFor(s, 'postgres'));
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      1,
    ]);
  }
  await insertOld((sql, params) => client.query(sql, params), true);
  store = new PostgresStore({ url, poolSize: 2 });
  rawName = async (table, column, id) =>
    (await client.query<{ v: string }>(`SELECT ${column} AS v FROM ${table} WHERE id = $1`, [id])).rows[0]
      ?.v as string;
  cleanup = async () => {
    await client.end();
    await store.close();
    const a = new pg.Client({ connectionString: adminUrl });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-names-migration-'));
  if (TEST_DB === 'sqlite') await sqliteAtBefore();
  else await postgresAtBefore();
});
afterAll(async () => {
  await cleanup?.();
  rmSync(dir, { recursive: true, force: true });
});

it('quotes the names already stored, which read back exactly as they were', async () => {
  // Before: plain text, as the older code wrote it.
  expect(await rawName('projects', 'name', 'prj_old0')).toBe('Maria');
  const applied = await store.migrate();
  expect(applied).toContain(m0009NamesAsJson.version);

  for (const row of ROWS) {
    const raw = await rawName(row.table, row.column, row.id);
    expect(JSON.parse(raw), `${row.table} ${row.id}`).toBe(row.name);
  }
  expect(await rawName('projects', 'name', 'prj_old0')).toBe('"Maria"');
  expect(await rawName('projects', 'name', 'prj_old5')).toBe('"null"');

  const q = store.queries;
  for (const [i, name] of OLD_NAMES.entries()) {
    expect((await q.projects.get(`prj_old${i}`))?.name).toBe(name);
    expect((await q.bots.get(`prj_old${i}`, `bot_old${i}`))?.name).toBe(`bot ${name}`);
    expect((await q.endUsers.get(`prj_old${i}`, `usr_old${i}`))?.names).toBe(`user ${name}`);
    const pair = await q.rooms.findPair(`prj_old${i}`, `bot_old${i}`, `usr_old${i}`);
    expect(pair.bot?.name).toBe(`bot ${name}`);
    expect(pair.user?.names).toBe(`user ${name}`);
  }
  const listed = await q.projects.list({ limit: 100 });
  expect(listed.items.map((p) => p.name)).toEqual(OLD_NAMES);
});

it('then keeps a name with U+0000 and unpaired surrogates beside the converted ones', async () => {
  const tricky = 'New\u0000 \ud800 \udc00 😀 ñ';
  await store.transaction((tx) => tx.projects.rename('prj_old1', tricky));
  await store.transaction((tx) => tx.bots.rename('prj_old1', 'bot_old1', tricky));
  await store.transaction((tx) => tx.endUsers.update('prj_old1', 'usr_old1', { names: tricky }));
  expect(await rawName('projects', 'name', 'prj_old1')).toBe(JSON.stringify(tricky));
  expect((await store.queries.projects.get('prj_old1'))?.name).toBe(tricky);
  expect((await store.queries.bots.get('prj_old1', 'bot_old1'))?.name).toBe(tricky);
  expect((await store.queries.endUsers.get('prj_old1', 'usr_old1'))?.names).toBe(tricky);
  // The neighbours are untouched.
  expect((await store.queries.projects.get('prj_old2'))?.name).toBe(OLD_NAMES[2]);
});
