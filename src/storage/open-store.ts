import { UnsupportedDatabaseUrl } from './errors.js';
import { PostgresStore } from './postgres/postgres-store.js';
import type { SecretBox } from './secret-box.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  readonly poolSize?: number;
  /** PostgreSQL: the session connection for LISTEN and migrations (RELEVO_DATABASE_LISTEN_URL). */
  readonly listenUrl?: string | undefined;
  readonly sqliteSynchronous?: 'normal' | 'full';
  readonly secretBox?: SecretBox;
  /** SQLite: checkpoint the WAL on a worker thread (the server; see sqlite/checkpointer.ts). */
  readonly backgroundCheckpoints?: boolean;
  /** Errors with no request to answer (a dropped idle PostgreSQL connection, LISTEN lost). */
  readonly onBackgroundError?: (e: Error) => void;
}

/** Opens the store named by DATABASE_URL (already validated by config). */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) {
    return new SqliteStore({
      path: databaseUrl.slice('sqlite:'.length),
      ...(options.sqliteSynchronous ? { synchronous: options.sqliteSynchronous } : {}),
      ...(options.secretBox ? { secretBox: options.secretBox } : {}),
      ...(options.backgroundCheckpoints ? { backgroundCheckpoints: true } : {}),
      ...(options.onBackgroundError ? { onBackgroundError: options.onBackgroundError } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return new PostgresStore({
      url: databaseUrl,
      poolSize: options.poolSize ?? 10,
      ...(options.listenUrl !== undefined ? { listenUrl: options.listenUrl } : {}),
      ...(options.secretBox ? { secretBox: options.secretBox } : {}),
      ...(options.onBackgroundError ? { onBackgroundError: options.onBackgroundError } : {}),
    });
  }
  throw new UnsupportedDatabaseUrl('DATABASE_URL must be sqlite:<path> or postgres://…');
}
