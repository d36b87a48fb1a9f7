/**
 * One list of migrations for both databases: after migrating, SQLite and PostgreSQL must have the
 * same tables, the same columns with the same types and nullability, and the same named indexes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

interface Column {
  readonly type: string;
  readonly nullable: boolean;
}
type Schema = Record<string, Record<string, Column>>;

let dir: string;
let pgDb: TestDatabase;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-schema-'));
  pgDb = await createTestDatabase(dir);
});
afterAll(async () => {
  await pgDb.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** SQLite keeps the declared type text; PostgreSQL reports its canonical name. */
function family(type: string): string {
  const t = type.toLowerCase();
  if (t === 'bigint' || t === 'int8') return 'bigint';
  if (t === 'integer' || t === 'int4' || t === 'int') return 'integer';
  if (t === 'text') return 'text';
  return t;
}

async function sqliteSchema(): Promise<{ schema: Schema; indexes: string[] }> {
  const path = join(dir, 'schema.db');
  const store = new SqliteStore({ path });
  await store.migrate();
  await store.close();
  const db = new Database(path, { readonly: true });
  try {
    const schema: Schema = {};
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as Array<{ name: string }>;
    for (const { name } of tables) {
      const cols = db.prepare(`PRAGMA table_info(${name})`).all() as Array<{
        name: string;
        type: string;
        notnull: number;
        pk: number;
      }>;
      schema[name] = Object.fromEntries(
        cols.map((c) => [c.name, { type: family(c.type), nullable: c.notnull === 0 && c.pk === 0 }]),
      );
    }
    const indexes = (
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'")
        .all() as Array<{ name: string }>
    )
      .map((r) => r.name)
      .sort();
    return { schema, indexes };
  } finally {
    db.close();
  }
}

async function postgresSchema(): Promise<{ schema: Schema; indexes: string[] }> {
  const client = new pg.Client({ connectionString: pgDb.url });
  await client.connect();
  try {
    const cols = await client.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
    }>(
      "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public'",
    );
    const schema: Schema = {};
    for (const c of cols.rows) {
      const table = schema[c.table_name] ?? {};
      table[c.column_name] = { type: family(c.data_type), nullable: c.is_nullable === 'YES' };
      schema[c.table_name] = table;
    }
    // Implicit indexes of primary keys and inline UNIQUE constraints have generated names on
    // both sides; the named ones are what the migrations declare.
    const idx = await client.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    );
    return { schema, indexes: idx.rows.map((r) => r.indexname).sort() };
  } finally {
    await client.end();
  }
}

it('SQLite and PostgreSQL schemas agree after every migration', async () => {
  const lite = await sqliteSchema();
  const post = await postgresSchema();
  expect(Object.keys(post.schema).sort()).toEqual(Object.keys(lite.schema).sort());
  for (const table of Object.keys(lite.schema)) {
    expect({ table, columns: post.schema[table] }).toEqual({ table, columns: lite.schema[table] });
  }
  expect(post.indexes).toEqual(lite.indexes);
});
