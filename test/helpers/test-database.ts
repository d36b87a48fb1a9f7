/**
 * The database a test runs on, chosen by the vitest project (RELEVO_TEST_DB): a fresh SQLite file
 * in a temporary directory, or a fresh PostgreSQL database cloned from the migrated template.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import type { SecretBox } from '../../src/storage/secret-box.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';

export type TestDb = 'sqlite' | 'postgres';

export const TEST_DB: TestDb = process.env.RELEVO_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

export interface TestDatabase {
  readonly url: string;
  readonly store: Store;
  /** Closes the store and deletes the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  return inject('pgUrl');
}

/** A new empty-but-migrated database; `dir` holds the SQLite file. */
export async function createTestDatabase(dir: string, secretBox?: SecretBox): Promise<TestDatabase> {
  const boxed = secretBox ? { secretBox } : {};
  if (TEST_DB === 'sqlite') {
    const path = join(dir, 'relevo.db');
    const store = new SqliteStore({ path, ...boxed });
    await store.migrate();
    return { url: `sqlite:${path}`, store, drop: () => store.close() };
  }
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE relevo_template`);
  } finally {
    await admin.end();
  }
  const url = adminUrl().replace(/\/[^/]*$/, `/${name}`);
  const store = new PostgresStore({ url, poolSize: 10, ...boxed });
  await store.migrate();
  return {
    url,
    store,
    async drop() {
      await store.close();
      const a = new pg.Client({ connectionString: adminUrl() });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
