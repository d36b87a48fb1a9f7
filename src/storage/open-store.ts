import { ConfigError } from '../config.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store named by DATABASE_URL (already validated by config). */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) {
    return new SqliteStore({ path: databaseUrl.slice('sqlite:'.length) });
  }
  throw new ConfigError('DATABASE_URL: PostgreSQL is not supported by this build yet; use sqlite:<path>.');
}
