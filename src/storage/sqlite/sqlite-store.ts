/**
 * The embedded default store: one SQLite file in WAL mode through better-sqlite3.
 *
 * Writes go through one connection and are group-committed: every transaction requested during
 * one turn of the event loop runs inside a single BEGIN…COMMIT, each in its own SAVEPOINT (so one
 * failing request rolls back only itself), and all their promises settle after the one COMMIT.
 * Every commit is a write (and, with synchronous=FULL, an fsync) of the WAL; batching turns N of
 * them into one. better-sqlite3 runs on the event loop's thread, so the fewer and cheaper the
 * commits, the more requests the loop can parse meanwhile. Reads use a second connection, so
 * they only ever see committed data.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventOrigin, EventType, Message, OutboxEvent } from '../../model/types.js';
import {
  hasUnstorableText,
  STORES_TEXT,
  StorageUnavailable,
  UNSTORABLE_MESSAGE,
  UniqueViolation,
  UnstorableText,
} from '../errors.js';
import { MIGRATIONS, statementFor } from '../migrations/index.js';
import type { DialectSql, SqlExecutor } from '../queries/executor.js';
import { createQueries, createTx } from '../queries/index.js';
import { dueHeadsCte } from '../queries/outbox-claim.js';
import { PLAINTEXT, type SecretBox } from '../secret-box.js';
import type { Committed, MigrationListener, Queries, Store, StoreCapabilities, Tx } from '../store.js';
import { newTxRecord } from '../tx-record.js';
import { Checkpointer } from './checkpointer.js';

type Db = Database.Database;

/** SQLite names a unique violation by its columns; map them to the index names services use. */
const UNIQUE_BY_COLUMNS: Record<string, string> = {
  'conversations.room_id': 'conversations_one_active',
  'rooms.bot_id, rooms.user_id': 'rooms_pair',
  'end_users.project_id, end_users.reference_id': 'end_users_reference',
  'messages.room_id, messages.external_id': 'messages_external',
  'integrations.project_id': 'integrations_project',
  'credentials.client_id': 'credentials_client_id',
};

/** Driver error codes that mean "not now" rather than "bug": the caller gets a 503. */
const UNAVAILABLE_CODES = new Set([
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
]);

export function translateSqliteError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return e;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const cols = /constraint failed: (.*)$/.exec(e.message)?.[1] ?? '';
    return new UniqueViolation(UNIQUE_BY_COLUMNS[cols] ?? cols, { cause: e });
  }
  if ([...UNAVAILABLE_CODES].some((c) => code.startsWith(c))) {
    return new StorageUnavailable(`database unavailable (${code})`, { cause: e });
  }
  return e;
}

/**
 * A pending event of a room, as events_room_order indexes it on SQLite: a partial index of
 * pending events, which SQLite's planner uses whatever its statistics (PostgreSQL's could not be
 * trusted to; see postgres-executor.ts).
 */
function pendingInRoom(alias: string, room: string): string {
  return `${alias}.status = 'pending' AND ${alias}.room_id ${room}`;
}

/** A room's active conversation, as conversations_one_active indexes it on SQLite: partially. */
function activeInRoom(alias: string, room: string): string {
  return `${alias}.state = 'active' AND ${alias}.room_id ${room}`;
}

/** Runs the queries (storage/queries) on one better-sqlite3 connection, with its prepared statements cached. */
class SqliteExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  readonly dialectSql: DialectSql = {
    claimDueEvents: `WITH ${dueHeadsCte("(e.project_id || ':' || e.destination) IN (SELECT value FROM json_each(?))", pendingInRoom)},
       picked AS (
         SELECT h.id FROM heads h JOIN events ev ON ev.id = h.id
         WHERE h.rn <= ? AND (ev.lease_until IS NULL OR ev.lease_until < ?)
         ORDER BY h.next_attempt_at, h.id LIMIT ?
       )
       UPDATE events SET lease_until = ?, lease_owner = ?
       WHERE id IN (SELECT id FROM picked)
       RETURNING *`,
    textList: (values) => JSON.stringify(values),
    pendingInRoom,
    activeInRoom,
    oneActiveConflict: "(room_id) WHERE state = 'active'",
    // SQLite has no UPDATE inside WITH; its two statements cost no round trip.
    insertEventAtNextSeq: undefined,
    recordDelivered: undefined,
    // The claim's cost did not grow with a backlog on SQLite (bench/claim-cost.ts).
    refreshOutboxStatistics: undefined,
  };
  private readonly cache = new Map<string, Database.Statement>();
  /** The same statements in raw mode (rows as arrays), for `tuple`. */
  private readonly rawCache = new Map<string, Database.Statement>();
  /** Statements that wrote and succeeded on this connection: tells a clean failure from a dirty one. */
  writes = 0;

  constructor(private readonly db: Db) {}

  private st(sql: string, raw = false): Database.Statement {
    const cache = raw ? this.rawCache : this.cache;
    let s = cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      if (raw) s.raw(true);
      cache.set(sql, s);
    }
    return s;
  }

  /**
   * The same rule as on PostgreSQL, whose text cannot hold U+0000: a string holding it or an
   * unpaired surrogate (which SQLite would keep as U+FFFD) is never written, so an insert or
   * update of one is refused and any other statement keyed by one (a read, a DELETE) matches
   * nothing (true).
   */
  private matchesNothing(sql: string, params: unknown[]): boolean {
    if (!hasUnstorableText(params)) return false;
    if (STORES_TEXT.test(sql)) throw new UnstorableText(UNSTORABLE_MESSAGE);
    return true;
  }

  async run(sql: string, ...params: unknown[]): Promise<number> {
    try {
      if (this.matchesNothing(sql, params)) return 0;
      const changes = this.st(sql).run(...params).changes;
      if (changes > 0) this.writes += 1;
      return changes;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  // No round trip to save: a statement runs in the process.
  async send(sql: string, ...params: unknown[]): Promise<void> {
    await this.run(sql, ...params);
  }

  // A failed statement leaves a SQLite transaction usable: no savepoint needed.
  guardedRun(sql: string, ...params: unknown[]): Promise<number> {
    return this.run(sql, ...params);
  }

  async one<R>(sql: string, ...params: unknown[]): Promise<R | undefined> {
    try {
      const s = this.st(sql);
      if (this.matchesNothing(sql, params)) return undefined;
      const row = s.get(...params) as R | undefined;
      // UPDATE … RETURNING comes through here too.
      if (!s.readonly && row !== undefined) this.writes += 1;
      return row;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  async tuple(sql: string, ...params: unknown[]): Promise<unknown[] | undefined> {
    try {
      const s = this.st(sql, true);
      if (this.matchesNothing(sql, params)) return undefined;
      const row = s.get(...params) as unknown[] | undefined;
      if (!s.readonly && row !== undefined) this.writes += 1;
      return row;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  async all<R>(sql: string, ...params: unknown[]): Promise<R[]> {
    try {
      const s = this.st(sql);
      if (this.matchesNothing(sql, params)) return [];
      const rows = s.all(...params) as R[];
      if (!s.readonly && rows.length > 0) this.writes += 1;
      return rows;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }
}

type Outcome =
  | {
      ok: true;
      value: unknown;
      events: OutboxEvent[];
      messages: Message[];
      panelProjects: Set<string>;
      recorded: EventType[];
    }
  | { ok: false; error: unknown };

interface Queued {
  fn: (tx: Tx) => Promise<unknown>;
  origin: EventOrigin | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:' (tests of pure logic only: the reader cannot see it). */
  readonly path: string;
  /**
   * `normal` (default): a commit is in the WAL file before its promise settles, so it survives
   * the process being killed (kill -9, OOM, crash); a power cut or kernel panic may lose the
   * last commits before the next checkpoint. `full`: the WAL is fsynced at every commit, so a
   * commit survives a power cut too, at the cost of one fsync per group commit.
   */
  readonly synchronous?: 'normal' | 'full';
  /** Encrypts stored secrets (RELEVO_ENCRYPTION_KEY); plaintext when absent. */
  readonly secretBox?: SecretBox;
  /**
   * Checkpoint the WAL on a worker thread instead of inside a COMMIT on the event loop
   * (checkpointer.ts). For the server; short-lived users (the CLI, tests) leave it to SQLite.
   */
  readonly backgroundCheckpoints?: boolean;
  /** A failure with no request to answer (a background checkpoint). */
  readonly onBackgroundError?: (e: Error) => void;
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly capabilities: StoreCapabilities = { singleProcess: true, skipLocked: false, listenNotify: false };
  readonly queries: Queries;
  private readonly writer: Db;
  private readonly reader: Db;
  private readonly box: SecretBox;
  private readonly writeExecutor: SqliteExecutor;
  private readonly control: Record<
    'begin' | 'savepoint' | 'release' | 'rollbackTo' | 'commit' | 'rollback',
    Database.Statement
  >;
  private queue: Queued[] = [];
  private flushing = false;
  private closed = false;
  private readonly listeners: Array<(c: Committed) => void> = [];
  private readonly checkpointer: Checkpointer | undefined;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.writer = openConnection(options.path, options.synchronous ?? 'normal');
    this.reader =
      options.path === ':memory:'
        ? this.writer
        : openConnection(options.path, options.synchronous ?? 'normal');
    // Transaction control prepared once: exec() would parse these texts on every request.
    const w = this.writer;
    this.control = {
      begin: w.prepare('BEGIN IMMEDIATE'),
      savepoint: w.prepare('SAVEPOINT request'),
      release: w.prepare('RELEASE request'),
      rollbackTo: w.prepare('ROLLBACK TO request'),
      commit: w.prepare('COMMIT'),
      rollback: w.prepare('ROLLBACK'),
    };
    if (options.backgroundCheckpoints === true && options.path !== ':memory:') {
      this.writer.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer({
        path: options.path,
        synchronous: options.synchronous ?? 'normal',
        ...(options.onBackgroundError ? { onError: options.onBackgroundError } : {}),
      });
    }
    this.writeExecutor = new SqliteExecutor(this.writer);
    this.box = options.secretBox ?? PLAINTEXT;
    this.queries = createQueries(new SqliteExecutor(this.reader), this.box);
  }

  async migrate(onApply?: MigrationListener): Promise<number[]> {
    const db = this.writer;
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map(
        (r) => r.version,
      ),
    );
    const done: number[] = [];
    const pending = MIGRATIONS.filter((m) => !applied.has(m.version));
    for (const [index, m] of pending.entries()) {
      onApply?.(m, index, pending.length);
      // Each migration and its bookkeeping row commit together: a crash mid-migration leaves
      // the schema at the previous version, and the next start applies it again from scratch.
      db.transaction(() => {
        for (const s of m.statements) db.exec(statementFor(s, 'sqlite'));
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now(),
        );
      }).immediate();
      done.push(m.version);
    }
    return done;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>, origin?: EventOrigin): Promise<T> {
    if (this.closed) return Promise.reject(new StorageUnavailable('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, origin, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  // One statement or several, the group commit is the cheapest way to run it.
  statement<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  onCommitted(listener: (committed: Committed) => void): void {
    this.listeners.push(listener);
  }

  /** Runs every queued transaction in one BEGIN…COMMIT; see the file comment. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        if (this.checkpointer?.needsRestart) await this.checkpointer.catchUp();
        const batch = this.queue;
        this.queue = [];
        await this.runBatch(batch);
        this.checkpointer?.afterCommit();
      }
    } finally {
      this.flushing = false;
    }
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    const db = this.writer;
    let outcomes: Outcome[];
    try {
      // Optimistic first: no SAVEPOINT per request. A request that fails before writing (a 404,
      // a 409 from a unique index) needs no undo; only one that fails after writing does, and
      // then the whole batch is rolled back and run again with a savepoint each. The savepoint
      // and its release were two statements and a page-by-page journal per request (bench
      // notes in docs/performance.md); failures after a write are rare.
      outcomes = (await this.runAll(batch, false)) ?? (await this.runAll(batch, true)) ?? [];
    } catch (e) {
      // BEGIN, a savepoint or COMMIT itself failed (disk full, I/O error): nothing of the batch
      // is kept, and every caller hears why.
      const err = translateSqliteError(e);
      this.rollbackIfOpen(db);
      for (const q of batch) q.reject(err);
      return;
    }
    const committedEvents: OutboxEvent[] = [];
    const committedMessages: Message[] = [];
    const panelProjects = new Set<string>();
    const recorded: EventType[] = [];
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (o?.ok) {
        committedEvents.push(...o.events);
        recorded.push(...o.recorded);
        committedMessages.push(...o.messages);
        for (const p of o.panelProjects) panelProjects.add(p);
        q.resolve(o.value);
      } else q.reject(o?.error);
    });
    if (committedEvents.length > 0 || committedMessages.length > 0 || panelProjects.size > 0) {
      const committed: Committed = {
        events: committedEvents,
        messages: committedMessages,
        panelProjects: [...panelProjects],
        recorded,
      };
      for (const l of this.listeners) {
        try {
          l(committed);
        } catch {
          // A listener's failure must not undo what is committed; listeners log their own.
        }
      }
    }
  }

  /**
   * Runs every request of the batch in one BEGIN…COMMIT. Without savepoints it gives up (rolls
   * back and returns undefined) at the first request that failed after writing something.
   */
  private async runAll(batch: Queued[], savepoints: boolean): Promise<Outcome[] | undefined> {
    const c = this.control;
    const x = this.writeExecutor;
    const outcomes: Outcome[] = [];
    c.begin.run();
    for (const q of batch) {
      const written = newTxRecord(q.origin);
      const tx = createTx(x, this.box, written);
      if (savepoints) c.savepoint.run();
      const writesBefore = x.writes;
      try {
        const value = await q.fn(tx);
        if (savepoints) c.release.run();
        outcomes.push({
          ok: true,
          value,
          events: written.events,
          messages: written.messages,
          panelProjects: written.panelProjects,
          recorded: written.recorded,
        });
      } catch (error) {
        if (savepoints) {
          c.rollbackTo.run();
          c.release.run();
        } else if (x.writes !== writesBefore) {
          c.rollback.run();
          return undefined;
        }
        outcomes.push({ ok: false, error });
      }
    }
    c.commit.run();
    return outcomes;
  }

  private rollbackIfOpen(db: Db): void {
    if (!db.inTransaction) return;
    try {
      this.control.rollback.run();
    } catch {
      // The connection already rolled back on its own (SQLite does on some I/O errors).
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((r) => setImmediate(r));
    await this.checkpointer?.stop();
    if (this.reader !== this.writer) this.reader.close();
    this.writer.close();
  }
}

function openConnection(path: string, synchronous: 'normal' | 'full'): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw translateSqliteError(e);
  }
  db.pragma('journal_mode = WAL');
  // See SqliteStoreOptions.synchronous: NORMAL survives kill -9, FULL a power cut as well.
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  // Every request of a group commit runs in its own SAVEPOINT, whose statement journal (the
  // pages it changes, before the change) goes to a temporary file by default: a write system
  // call per page. In memory it cost 60 instead of 82 µs of CPU per start or close (bench
  // notes in docs/performance.md); the journal lives only until the RELEASE.
  db.pragma('temp_store = MEMORY');
  // Another process (the CLI, a second server by mistake) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  // After a checkpoint has caught up, the WAL starts over; keep at most 64 MiB of its file.
  db.pragma('journal_size_limit = 67108864');
  return db;
}
