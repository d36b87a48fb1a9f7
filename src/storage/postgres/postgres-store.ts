/**
 * The PostgreSQL store, for many API nodes and workers on one database. Each transaction runs on
 * its own pooled connection; a commit that wrote events or messages also NOTIFYs, so workers and
 * web chat streams in other processes wake at once instead of polling.
 */
import pg from 'pg';
import type { EventOrigin, EventType, Message, OutboxEvent } from '../../model/types.js';
import { StorageUnavailable } from '../errors.js';
import { MIGRATIONS, statementFor } from '../migrations/index.js';
import { createQueries, createTx } from '../queries/index.js';
import type { SecretBox } from '../secret-box.js';
import { PLAINTEXT } from '../secret-box.js';
import type {
  Committed,
  MigrationListener,
  PoolStats,
  Queries,
  Store,
  StoreCapabilities,
  Tx,
} from '../store.js';
import { newTxRecord, type TxRecord } from '../tx-record.js';
import { PgExecutor, translatePgError } from './postgres-executor.js';
import { SharedSession } from './shared-session.js';
import { sqlLiteral } from './sql-literal.js';

/**
 * statement()'s planner settings. It serves the dispatcher's claim, whose walk of the events_due
 * index must go in index order and stop at its LIMIT (outbox-claim.ts). Without statistics yet
 * (a young table), the planner chose a bitmap scan instead: that visits every entry in range,
 * dead ones too, and never marks them dead for the next walk. In benchmark (b), one claim read
 * 3,727 entries and 497 heap pages to find 14 pending events, 2.07 ms per claim; as an index
 * scan, 0.51 ms (pg_stat_statements over a profiled run, docs/performance.md, sixth round).
 * Sequential scans off too: with bitmap scans off alone, benchmark (c) twice saw deliveries
 * fall up to 18 s behind for a round, likely a claim reading the whole table (docs/decisions.md).
 */
const STATEMENT_SETTINGS = 'SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off';
/** The NOTIFY channel of committed work. */
const CHANNEL = 'relevo_committed';
/** Any constant works; it only has to be the same for every relevo process (migrations lock). */
const MIGRATION_LOCK = 7_243_101;
/** NOTIFY payloads are limited to 8000 bytes; room ids beyond this many are sent as "some". */
const NOTIFY_MAX_ROOMS = 100;
/** A request waits this long for a pooled connection before it is answered 503 (pool exhausted, database down). */
const CONNECT_TIMEOUT_MS = 5_000;
/** After losing the LISTEN connection, try again after this long. */
const RELISTEN_MS = 1_000;

export interface PostgresStoreOptions {
  readonly url: string;
  /**
   * A session connection for LISTEN and the migrations' advisory lock, when `url` goes through a
   * transaction pooler (PgBouncer's pool_mode=transaction), which gives a client a server
   * connection for one transaction only. Set, it also turns off named statements (see
   * PgExecutorOptions.named). Unset: `url` serves both.
   */
  readonly listenUrl?: string;
  readonly poolSize: number;
  /** Encrypts stored secrets (RELEVO_ENCRYPTION_KEY); plaintext when absent. */
  readonly secretBox?: SecretBox;
  /** Reports errors that have no request to answer (a dropped idle connection, LISTEN lost). */
  readonly onBackgroundError?: (e: Error) => void;
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly capabilities: StoreCapabilities = { singleProcess: false, skipLocked: true, listenNotify: true };
  readonly queries: Queries;
  private readonly pool: pg.Pool;
  private readonly listeners: Array<(c: Committed) => void> = [];
  /** Transactions waiting for a lane (see `transaction`). */
  private queue: Queued[] = [];
  private lanes = 0;
  /** A dispatch of the queue to lanes is due at the end of this turn (see `transaction`). */
  private dispatching = false;
  /** Starts a lane for requests left waiting by `dispatch`, once they waited LANE_WAIT_MS. */
  private laneTimer: NodeJS.Timeout | undefined;
  private readonly maxLanes: number;
  private listenClient: pg.Client | undefined;
  private listening = false;
  private closed = false;
  /** This process's NOTIFY sender id, so it ignores its own notifications. */
  private readonly pid = `${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  /** LISTEN and the migrations' lock need a session of their own (see options.listenUrl). */
  private readonly sessionUrl: string;
  private readonly named: boolean;

  constructor(private readonly options: PostgresStoreOptions) {
    this.sessionUrl = options.listenUrl ?? options.url;
    this.maxLanes = options.poolSize;
    this.named = options.listenUrl === undefined;
    this.pool = new pg.Pool({
      connectionString: options.url,
      // Statements are written without waiting for the previous answer (SharedSession): a
      // transaction's BEGIN goes with its first statement, and an interleaved batch's requests
      // send their statements together.
      pipeline: true,
      max: options.poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A connection once opened stays open (a fixed-size pool, as HikariCP advises). Closed
      // after 30 s idle, as before, the next burst had to open them again: a new server process
      // each, cold caches, every named statement parsed and planned again, all while the burst
      // waits. An idle connection costs the server a few MB (docs/decisions.md).
      min: options.poolSize,
      idleTimeoutMillis: 30_000,
    });
    // An idle client whose server went away emits here; without a listener the process dies.
    this.pool.on('error', (e) => options.onBackgroundError?.(e));
    // Every connection gets a listener for its whole life: a server shutting down sends an error
    // that a connection may emit more than once, or between a query's own handler and the
    // pool's idle one; unheard, that would end the process. Queries still fail on their own.
    this.pool.on('connect', (client) => {
      client.on('error', (e) => options.onBackgroundError?.(e));
    });
    this.queries = createQueries(
      new PgExecutor(this.pool, { named: this.named }),
      options.secretBox ?? PLAINTEXT,
    );
  }

  async migrate(onApply?: MigrationListener): Promise<number[]> {
    if (this.closed) throw new StorageUnavailable('the store is closed');
    // On a session connection of its own: the advisory lock below is held by the session, which
    // a transaction pooler would not keep between two statements.
    const client = new pg.Client({
      connectionString: this.sessionUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    client.on('error', (e) => this.options.onBackgroundError?.(e));
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      const err = translatePgError(e);
      throw err instanceof StorageUnavailable
        ? err
        : new StorageUnavailable(`database unavailable: ${String(e)}`, { cause: e });
    }
    try {
      // Several nodes starting together: one migrates, the others wait and find nothing to do.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      const done: number[] = [];
      const pending = MIGRATIONS.filter((m) => !applied.has(m.version));
      for (const [index, m] of pending.entries()) {
        onApply?.(m, index, pending.length);
        // Each migration commits with its bookkeeping row, or not at all (PostgreSQL DDL is
        // transactional), so a process killed mid-migration leaves the previous version.
        await client.query('BEGIN');
        try {
          for (const s of m.statements) await client.query(statementFor(s, 'postgres'));
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, Date.now()],
          );
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw translatePgError(e);
        }
        done.push(m.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new StorageUnavailable('the store is closed');
    try {
      return await this.pool.connect();
    } catch (e) {
      const err = translatePgError(e);
      throw err instanceof StorageUnavailable
        ? err
        : new StorageUnavailable(`database unavailable: ${String(e)}`, { cause: e });
    }
  }

  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /**
   * Group commit. Transactions queue; at the end of the turn of the event loop a free lane (a
   * pooled connection) takes them as a batch, and those requested while lanes are busy wait for
   * the next lane to finish, or for a lane of their own once there are enough (dispatch). A
   * batch runs in one BEGIN…COMMIT, as the SQLite store's does: one commit (one WAL flush, one
   * NOTIFY naming the union of their rooms) for the batch instead of one each, no BEGIN or
   * COMMIT round trip of their own, and requests of different rooms side by side. Each keeps its own answer and its own atomicity (runBatch). Under light load nothing
   * waits but the end of the turn: a lane is free.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, origin?: EventOrigin, key?: string): Promise<T> {
    if (this.closed) return Promise.reject(new StorageUnavailable('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, origin, key, resolve: resolve as (v: unknown) => void, reject });
      if (!this.dispatching) {
        this.dispatching = true;
        setImmediate(() => {
          this.dispatching = false;
          this.dispatch();
        });
      }
    });
  }

  /**
   * Starts lanes for the queue. The first lane starts for any request; another only for a queue
   * of LANE_MIN_QUEUE, or for requests that waited LANE_WAIT_MS for a running lane to come back
   * for them (`overdue`).
   */
  private dispatch(overdue = false): void {
    while (
      this.queue.length > 0 &&
      this.lanes < this.maxLanes &&
      (this.lanes === 0 || overdue || this.queue.length >= LANE_MIN_QUEUE)
    ) {
      overdue = false;
      this.lanes += 1;
      void this.lane();
    }
    if (this.queue.length > 0 && this.lanes < this.maxLanes && this.laneTimer === undefined) {
      this.laneTimer = setTimeout(() => {
        this.laneTimer = undefined;
        this.dispatch(true);
      }, LANE_WAIT_MS);
      this.laneTimer.unref();
    }
  }

  /**
   * How many of the queue's requests the next batch takes. With two requests or more that name
   * their rows (Store.transaction's `key`) it runs them side by side (runBatch), so it takes them
   * all. Otherwise its requests run one after another, and it takes a fair share, not the whole
   * queue: one lane taking everything would leave the others idle while its batch runs (the
   * benchmark's p99 on PostgreSQL rose from ≈ 60 to 220–420 ms that way).
   */
  private batchSize(): number {
    let keyed = 0;
    for (const q of this.queue.slice(0, MAX_BATCH)) {
      if (q.key !== undefined && ++keyed >= 2) return Math.min(MAX_BATCH, this.queue.length);
    }
    return Math.min(MAX_BATCH, Math.ceil(this.queue.length / this.maxLanes));
  }

  /**
   * Runs batches off the queue until it is empty. Before each but the first it lets the turn of
   * the event loop end: the answers its COMMIT released bring their clients' next requests in
   * that turn, and the batch takes them together rather than the first alone (benchmark (a) on
   * PostgreSQL, one round each: 1,608 req/s without the wait, 2,582 with it).
   */
  private async lane(): Promise<void> {
    try {
      for (let first = true; ; first = false) {
        if (!first) await new Promise((r) => setImmediate(r));
        if (this.queue.length === 0) return;
        const batch = this.queue.splice(0, this.batchSize());
        // Another lane starts for what is left, if one is free and enough is left (dispatch).
        this.dispatch();
        if (batch.length === 1) {
          const [q] = batch as [Queued];
          await retried(() => this.transactionOnce(q.fn, q.origin)).then(q.resolve, q.reject);
        } else {
          await this.runBatch(batch);
        }
      }
    } finally {
      this.lanes -= 1;
    }
  }

  /**
   * One transaction for every request of the batch, on one connection, in up to three tries:
   *
   * 1. Interleaved, when the batch holds requests of two keys or more (Store.transaction's
   *    `key`: a start's or a close's room, a delivered attempt's event): the first request of
   *    each key runs at the same time as the others, their statements sent together
   *    (SharedSession); then the rest one after another. Requests of different keys write
   *    different rows (and shared values only in SQL), so running them side by side is as if one
   *    after another; row locks do not order them, being one transaction's.
   * 2. One after another, with no SAVEPOINT per request.
   * 3. One after another, with a savepoint each, so that a request's failure undoes only itself.
   *
   * A request that fails without having written anything (a 404, a 409 found by a read) needs no
   * undo, in any try. One that failed after a write, or whose statement failed (which aborts the
   * whole PostgreSQL transaction), or that needed a savepoint while interleaved, rolls the try
   * back and the next one runs. A deadlock or serialization failure (another lane's batch holding
   * rows this one needs) rolls the batch back and runs each request alone, retried as a lone
   * transaction is.
   *
   * Requests of a batch read each other's writes before they commit, as on SQLite: they commit
   * together or not at all, and nobody is answered before the COMMIT, so no answer rests on a
   * write that was undone.
   */
  private async runBatch(batch: Queued[]): Promise<void> {
    let outcomes: BatchOutcome[] | 'alone';
    const tries: Try[] =
      new Set(batch.map((q) => q.key).filter((r) => r !== undefined)).size >= 2
        ? ['interleaved', 'in turn', 'savepoints']
        : ['in turn', 'savepoints'];
    try {
      outcomes = await this.onConnection(async (client, broke) => {
        try {
          for (const how of tries) {
            const done = await this.runAll(client, broke, batch, how);
            if (done !== undefined) return done;
          }
          return 'alone';
        } catch (e) {
          // Whatever failed (BEGIN, a savepoint, the COMMIT), the connection may still be inside
          // the batch's transaction: it is closed, never handed to the next transaction.
          broke();
          throw e;
        }
      });
    } catch (e) {
      // BEGIN, a savepoint or the COMMIT failed (the connection lost, the database going
      // down): nothing of the batch is known to be kept, and every caller hears why.
      for (const q of batch) q.reject(e);
      return;
    }
    if (outcomes === 'alone') {
      await Promise.all(
        batch.map((q) => retried(() => this.transactionOnce(q.fn, q.origin)).then(q.resolve, q.reject)),
      );
      return;
    }
    const events: OutboxEvent[] = [];
    const messages: Message[] = [];
    const panelProjects = new Set<string>();
    const recorded: EventType[] = [];
    for (const o of outcomes) {
      if (o.ok) {
        events.push(...o.written.events);
        recorded.push(...o.written.recorded);
        messages.push(...o.written.messages);
        for (const p of o.written.panelProjects) panelProjects.add(p);
      }
    }
    this.announce({ events, messages, panelProjects: [...panelProjects], recorded });
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (o?.ok) q.resolve(o.value);
      else q.reject(o?.error);
    });
  }

  /**
   * The batch in one transaction (see runBatch). Resolves with each request's outcome once
   * committed; undefined when the next try must run; 'alone' on a deadlock or serialization
   * failure.
   */
  private async runAll(
    client: pg.PoolClient,
    broke: () => void,
    batch: Queued[],
    how: Try,
  ): Promise<BatchOutcome[] | undefined | 'alone'> {
    const session = new SharedSession(client, how === 'interleaved');
    const box = this.options.secretBox ?? PLAINTEXT;
    const outcomes: BatchOutcome[] = new Array(batch.length);
    const rollback = async () => {
      if (!session.began) return;
      try {
        await client.query('ROLLBACK');
      } catch {
        broke();
      }
    };
    const inTurn: number[] = [];
    /** Every executor of the batch: the COMMIT waits for what their `send` wrote (commitBehind). */
    const executors: PgExecutor[] = [];
    if (how === 'interleaved') {
      const together: number[] = [];
      const keys = new Set<string>();
      batch.forEach((q, i) => {
        if (q.key === undefined || keys.has(q.key)) inTurn.push(i);
        else {
          keys.add(q.key);
          together.push(i);
        }
      });
      let again = false;
      let alone = false;
      // Settled, all of them: the connection is not left to another transaction while one of
      // them still sends statements.
      await Promise.allSettled(
        together.map(async (i) => {
          const q = batch[i] as Queued;
          const x = new PgExecutor(session, { inTransaction: true, named: this.named, interleaved: true });
          executors.push(x);
          const written = newTxRecord(q.origin);
          try {
            outcomes[i] = { ok: true, value: await q.fn(createTx(x, box, written)), written };
          } catch (error) {
            outcomes[i] = { ok: false, error };
            if (isRetryable(error)) alone = true;
            if (x.writes > 0) again = true;
          }
          // A failed statement aborted the transaction even if `fn` caught it (a COMMIT would
          // then roll back, answering no error).
          if (x.failures > 0 || x.interleaveRefused) again = true;
        }),
      );
      if (alone || again) {
        await rollback();
        return alone ? 'alone' : undefined;
      }
      session.interleaving = false;
    } else {
      inTurn.push(...batch.keys());
    }
    const x = new PgExecutor(session, { inTransaction: true, named: this.named });
    executors.push(x);
    for (const i of inTurn) {
      const q = batch[i] as Queued;
      const written = newTxRecord(q.origin);
      const tx = createTx(x, box, written);
      const writes = x.writes;
      const failures = x.failures;
      try {
        if (how === 'savepoints') await x.control('SAVEPOINT request');
        const value = await q.fn(tx);
        // With a savepoint each, a request's failure must be known before the next one runs.
        if (how === 'savepoints') await x.settle();
        // A statement failed and `fn` went on: the transaction is aborted, and the request failed.
        if (x.abortedBy !== undefined) throw x.abortedBy;
        if (how === 'savepoints') await x.control('RELEASE SAVEPOINT request');
        outcomes[i] = { ok: true, value, written };
      } catch (error) {
        if (isRetryable(error)) {
          await rollback();
          return 'alone';
        }
        if (how === 'savepoints') {
          // Undoes this request's writes only, and makes an aborted transaction usable again.
          await x.control('ROLLBACK TO SAVEPOINT request');
          await x.control('RELEASE SAVEPOINT request');
        } else if (x.writes !== writes || x.failures !== failures) {
          await rollback();
          return undefined;
        }
        outcomes[i] = { ok: false, error };
      }
    }
    if (!session.began) return outcomes;
    const committed = outcomes.filter((o): o is BatchSuccess => o.ok).map((o) => o.written);
    const rooms = [...new Set(committed.flatMap((w) => w.messages.map((m) => m.roomId)))];
    const panelProjects = [...new Set(committed.flatMap((w) => [...w.panelProjects]))];
    const hasEvents = committed.some((w) => w.events.length > 0);
    try {
      if (
        !(await this.commitBehind(client, this.notifyStatement(hasEvents, rooms, panelProjects), executors))
      ) {
        // A statement written by `send` failed: nothing of the batch was kept, and which request
        // it belonged to is for the next try to tell.
        await rollback();
        return executors.some((e) => isRetryable(e.abortedBy)) ? 'alone' : undefined;
      }
    } catch (e) {
      await rollback();
      if (isRetryable(e)) return 'alone';
      throw e;
    }
    return outcomes;
  }

  async statement<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    // One connection for all of `fn`: taking it once from a busy pool, not once per statement,
    // keeps `fn` from queueing behind every request between two of its statements. One short
    // transaction of its own, outside the group commit: its BEGIN goes out with the first
    // statement and carries STATEMENT_SETTINGS, which only a transaction scopes (SET LOCAL; a
    // session setting would leak to other clients behind a transaction pooler).
    return await retried(() =>
      this.onConnection(async (client, broke) => {
        const session = new SharedSession(client, false, `BEGIN; ${STATEMENT_SETTINGS}`);
        const x = new PgExecutor(session, { inTransaction: true, named: this.named });
        try {
          const value = await fn(createQueries(x, this.options.secretBox ?? PLAINTEXT));
          if (!session.began) return value;
          await x.settle();
          // A statement failed and `fn` went on: a COMMIT would roll back without an error.
          if (x.abortedBy !== undefined) throw x.abortedBy;
          await client.query('COMMIT');
          return value;
        } catch (e) {
          await rollBack(client, session, broke);
          throw e;
        }
      }),
    );
  }

  /** The NOTIFY that wakes other processes for what a commit wrote; none when it wrote nothing they wait for. */
  private notifyStatement(hasEvents: boolean, rooms: string[], panelProjects: string[]): string | undefined {
    if (!hasEvents && rooms.length === 0 && panelProjects.length === 0) return undefined;
    return `NOTIFY ${CHANNEL}, ${sqlLiteral(notifyPayload(this.pid, hasEvents, rooms, panelProjects))}`;
  }

  /**
   * Writes the COMMIT behind the statements the executors' `send` wrote, without waiting for
   * their answers first: a close's hand-back message, or a delivered attempt's record, shares the
   * COMMIT's round trip instead of taking one of its own. True once committed; false when one of
   * those statements failed, which aborted the transaction (the COMMIT then answers ROLLBACK).
   *
   * The NOTIFY, when there is one, goes right behind the COMMIT in the same round trip, as a
   * transaction of its own, not inside the committed one. A transaction that notifies holds
   * PostgreSQL's one lock of the notification queue from the start of its commit to its end,
   * WAL flush included, so inside it every notifying commit of the cluster waited for the
   * previous one's flush: 63 waits of 5 ms or more over one round of benchmark (c) on
   * PostgreSQL (docs/decisions.md). Alone, the NOTIFY writes no WAL and holds the lock for
   * microseconds. Listeners now hear of a commit just after it rather than with it, and a
   * process that dies between the two leaves other nodes to their safety poll (1 s); a NOTIFY
   * that fails is reported, not the commit's failure.
   */
  private async commitBehind(
    client: pg.PoolClient,
    notify: string | undefined,
    executors: PgExecutor[],
  ): Promise<boolean> {
    const committing = client.query('COMMIT');
    const notifying = notify === undefined ? undefined : client.query(notify);
    // Both are read below; never left unhandled while the sends settle.
    committing.catch(() => undefined);
    notifying?.catch((e) => this.options.onBackgroundError?.(e));
    await Promise.all(executors.map((x) => x.settle()));
    const failed = executors.some((x) => x.abortedBy !== undefined);
    try {
      await committing;
    } catch (e) {
      if (failed) return false;
      throw e;
    } finally {
      // The connection goes back to the pool once the NOTIFY, too, has its answer.
      await notifying?.catch(() => undefined);
    }
    return !failed;
  }

  private transactionOnce<T>(fn: (tx: Tx) => Promise<T>, origin: EventOrigin | undefined): Promise<T> {
    return this.onConnection(async (client, broke) => {
      const written = newTxRecord(origin);
      const session = new SharedSession(client);
      const x = new PgExecutor(session, { inTransaction: true, named: this.named });
      const tx = createTx(x, this.options.secretBox ?? PLAINTEXT, written);
      try {
        const value = await fn(tx);
        // Nothing was asked of the database (an answer from validation alone): nothing to commit.
        if (!session.began) return value;
        // A statement failed and `fn` went on: a COMMIT would roll back without an error.
        if (x.abortedBy !== undefined) throw x.abortedBy;
        const rooms = [...new Set(written.messages.map((m) => m.roomId))];
        const panelProjects = [...written.panelProjects];
        const notify = this.notifyStatement(written.events.length > 0, rooms, panelProjects);
        if (!(await this.commitBehind(client, notify, [x]))) throw x.abortedBy;
        this.announce({
          events: written.events,
          messages: written.messages,
          panelProjects,
          recorded: written.recorded,
        });
        return value;
      } catch (e) {
        await rollBack(client, session, broke);
        throw e;
      }
    });
  }

  /**
   * Runs `use` on a pooled connection. One that dies meanwhile (database restart), or that `use`
   * calls `broke` for, is discarded at release rather than reused. (Its error is logged by the
   * listener every pooled connection has.)
   */
  private async onConnection<T>(use: (client: pg.PoolClient, broke: () => void) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken = false;
    const broke = () => {
      broken = true;
    };
    client.on('error', broke);
    try {
      return await use(client, broke);
    } catch (e) {
      throw translatePgError(e);
    } finally {
      client.off('error', broke);
      client.release(broken);
    }
  }

  onCommitted(listener: (committed: Committed) => void): void {
    this.listeners.push(listener);
    if (!this.listening) {
      this.listening = true;
      void this.listen();
    }
  }

  private announce(c: Committed): void {
    if (
      c.events.length === 0 &&
      c.messages.length === 0 &&
      (c.panelProjects?.length ?? 0) === 0 &&
      c.remote === undefined
    )
      return;
    for (const l of this.listeners) {
      try {
        l(c);
      } catch {
        // A listener's failure must not undo what is committed; listeners log their own.
      }
    }
  }

  /** One dedicated connection LISTENs; it reconnects by itself after a database restart. */
  private async listen(): Promise<void> {
    while (!this.closed) {
      const client = new pg.Client({ connectionString: this.sessionUrl });
      this.listenClient = client;
      try {
        const lost = new Promise<void>((resolve) => {
          client.on('error', (e) => {
            this.options.onBackgroundError?.(e);
            resolve();
          });
          client.on('end', () => resolve());
        });
        await client.connect();
        client.on('notification', (n) => {
          const remote = parseNotify(n.payload ?? '', this.pid);
          if (remote !== undefined) this.announce({ events: [], messages: [], remote });
        });
        await client.query(`LISTEN ${CHANNEL}`);
        // Anything committed while we were not listening: treat as if events were waiting.
        this.announce({ events: [], messages: [], remote: { hasEvents: true, roomIds: [] } });
        await lost;
      } catch (e) {
        if (!this.closed) this.options.onBackgroundError?.(e instanceof Error ? e : new Error(String(e)));
      }
      await client.end().catch(() => undefined);
      if (!this.closed) await new Promise((r) => setTimeout(r, RELISTEN_MS));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.laneTimer);
    await this.listenClient?.end().catch(() => undefined);
    await this.pool.end();
  }
}

interface Queued {
  fn: (tx: Tx) => Promise<unknown>;
  origin: EventOrigin | undefined;
  /** Store.transaction's `key`. */
  key: string | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface BatchSuccess {
  ok: true;
  value: unknown;
  written: TxRecord;
}
type BatchOutcome = BatchSuccess | { ok: false; error: unknown };
/** How runAll runs a batch's requests (see runBatch). */
type Try = 'interleaved' | 'in turn' | 'savepoints';

/** At most this many requests share a commit: a batch's requests run one after another. */
const MAX_BATCH = 64;
/**
 * While a lane runs, another starts only for this many queued requests; fewer wait for a lane
 * to come free, and share its next batch. A lane for every few requests made many small batches
 * (in (a), 30 % of them held one request), each with its own writes, round trips and COMMIT;
 * the server shares the machine's cores, so more lanes at once did not run faster. In profiled
 * runs of benchmark (a) on PostgreSQL, 1,968 and 2,493 req/s with a lane for any request, 2,644
 * and 2,607 with 8, 2,325 with 16; (b) 1,269 against 1,518 (docs/performance.md, sixth round).
 */
const LANE_MIN_QUEUE = 8;
/**
 * How long requests short of LANE_MIN_QUEUE wait for a running lane before one starts for them
 * anyway: a lane held up (a row lock another node holds, a slow statement) delays them this
 * long, not until seven more arrive. A batch took 2–15 ms in the runs above; with 5 ms, (a) ran
 * at 2,565 req/s and (b) at 1,577.
 */
const LANE_WAIT_MS = 5;

function isRetryable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = ((e as { cause?: { code?: unknown } }).cause ?? (e as { code?: unknown })).code;
  return code === '40P01' || code === '40001';
}

/**
 * A deadlock or serialization failure rolls the whole transaction back; running it again is safe
 * (nothing of it was kept) and is what the database asks for. Three tries cover the rare
 * collisions of two writers on one room.
 */
async function retried<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= 3 || !isRetryable(e)) throw e;
    }
  }
}

/** Ends a failed transaction, if it began; a connection that cannot is discarded. */
async function rollBack(client: pg.PoolClient, session: SharedSession, broke: () => void): Promise<void> {
  if (!session.began) return;
  try {
    await client.query('ROLLBACK');
  } catch {
    broke();
  }
}

function notifyPayload(pid: string, hasEvents: boolean, rooms: string[], panelProjects: string[]): string {
  const some = rooms.length > NOTIFY_MAX_ROOMS;
  // Past the same bound the project list is left out, which listeners read as "any project".
  const projects = panelProjects.length > NOTIFY_MAX_ROOMS ? undefined : panelProjects;
  return JSON.stringify({ p: pid, e: hasEvents ? 1 : 0, r: some ? [] : rooms, s: some ? 1 : 0, j: projects });
}

function parseNotify(payload: string, ownPid: string): Committed['remote'] {
  try {
    const n = JSON.parse(payload) as { p?: string; e?: number; r?: string[]; s?: number; j?: string[] };
    if (n.p === ownPid) return undefined;
    return {
      hasEvents: n.e === 1,
      roomIds: Array.isArray(n.r) ? n.r : [],
      panelProjects: Array.isArray(n.j) ? n.j : undefined,
    };
  } catch {
    return { hasEvents: true, roomIds: [] };
  }
}
