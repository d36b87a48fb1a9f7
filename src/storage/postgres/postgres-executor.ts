/** Runs the queries (storage/queries) on PostgreSQL: numbered placeholders, driver errors translated, row locks for claims. */
import type pg from 'pg';
import {
  hasUnstorableText,
  STORES_TEXT,
  StorageUnavailable,
  UNSTORABLE_MESSAGE,
  UniqueViolation,
  UnstorableText,
} from '../errors.js';
import { ATTEMPT_COLUMNS } from '../queries/delivery-log.js';
import { EVENT_COLUMNS } from '../queries/event-row.js';
import { type DialectSql, foundRowIs, type SqlExecutor } from '../queries/executor.js';
import { dueHeadsCte } from '../queries/outbox-claim.js';
import { PREPARED_QUERY_FITS, PreparedQuery } from './prepared-query.js';

/** PostgreSQL names inline UNIQUE constraints itself; map them to the names services use. */
const CONSTRAINTS: Record<string, string> = {
  rooms_bot_id_user_id_key: 'rooms_pair',
  integrations_project_id_key: 'integrations_project',
  credentials_client_id_key: 'credentials_client_id',
  events_room_id_room_seq_key: 'events_room_seq',
};

/**
 * SQLSTATE classes and Node socket errors that mean "the database cannot take this now" rather
 * than "this request is wrong": connection exceptions (08), insufficient resources (53),
 * operator intervention such as a shutdown or restart (57P), and the pool's own timeouts.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;
const UNAVAILABLE_NODE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function translatePgError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (code === '23505') {
    const constraint = String((e as { constraint?: unknown }).constraint ?? '');
    return new UniqueViolation(CONSTRAINTS[constraint] ?? constraint, { cause: e });
  }
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE.has(code))) {
    return new StorageUnavailable(`database unavailable (${code})`, { cause: e });
  }
  if (
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
      e.message,
    )
  ) {
    return new StorageUnavailable(`database unavailable (${e.message})`, { cause: e });
  }
  return e;
}

const numbered = new Map<string, string>();

/** `?` → `$1, $2…` (our SQL has no `?` inside string literals; quoted text is skipped anyway). */
export function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  let quoted = false;
  out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  numbered.set(sql, out);
  return out;
}

/** A statement that cannot write (a plain SELECT; a WITH may hold an UPDATE). */
const READ_ONLY = /^\s*SELECT\b/i;
/** A WITH whose data-modifying parts may write where its main statement counts no row. */
const WITH = /^\s*WITH\b/i;
/** A WITH whose parts all wait on its first, `gate`: no row counted, nothing written (eventAtNextSeq). */
const GATED = /^\s*WITH gate AS\b/;

const names = new Map<string, string>();

/** A stable name per statement text, for PostgreSQL's per-connection prepared statements. */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `relevo_${names.size + 1}`;
    names.set(sql, name);
  }
  return name;
}

/**
 * A pending event of a room, as events_room_order indexes it on PostgreSQL: an expression over
 * every row (NULL unless pending), not a partial index. ANALYZE mostly runs while deliveries keep
 * up, and then finds nothing pending; the planner believed a partial index of pending events
 * empty, so reading all of it cost no more than a lookup by room, and the claim's room-order test
 * read every pending event for each candidate once a backlog formed: 328 ms for one claim with
 * 5,000 pending, against 1.9 ms with this index (test/postgres/claim-plan.test.ts). An index over
 * every row is never believed empty, and a test that does not say `status = 'pending'` cannot
 * use the pending-only indexes, so the lookup by room is the only way the planner has.
 */
function pendingInRoom(alias: string, room: string): string {
  return `(CASE WHEN ${alias}.status = 'pending' THEN ${alias}.room_id END) ${room}`;
}

/**
 * A room's active conversation, as conversations_one_active indexes it on PostgreSQL (migration
 * 0017): an expression over every row, NULL once closed, for the same reason as pendingInRoom.
 * The partial index it replaced was believed empty on statistics taken while nothing was open.
 */
function activeInRoom(alias: string, room: string): string {
  return `(CASE WHEN ${alias}.state = 'active' THEN ${alias}.room_id END) ${room}`;
}

export const POSTGRES_SQL: DialectSql = {
  // FOR UPDATE … SKIP LOCKED: concurrent workers never wait on, nor take, each other's picks.
  // The lease test is repeated on `ev` because PostgreSQL re-checks a locked row's own
  // conditions against its latest version: a row another worker leased and committed between
  // our snapshot and our lock is dropped instead of claimed twice. The heads come as an array:
  // the planner then fetches those few rows by primary key, where a join to them let it scan the
  // whole events table (5,000 pending: 1.1 ms of a 2.4 ms claim, growing with the backlog).
  // Their status is tested with foundRowIs (COALESCE(ev.status, ''), the same test for a NOT
  // NULL column), which the planner cannot match to events_due's predicate (status =
  // 'pending'): so that index is not a way to find them. With `ev.status` plain, and statistics
  // from a moment the outbox was nearly empty (1 row estimated), the named statement's plan
  // walked all of events_due filtering on the ids: in benchmark (c), once a backlog formed, 39 claims took
  // 0.1–1 s each and deliveries fell 33 s behind (auto_explain; test/postgres/claim-plan.test.ts).
  claimDueEvents: `WITH ${dueHeadsCte("(e.project_id || ':' || e.destination) = ANY(?::text[])", pendingInRoom)},
       picked AS (
         SELECT ev.id FROM events ev
         WHERE ev.id = ANY(ARRAY(SELECT h.id FROM heads h WHERE h.rn <= ?))
           AND (ev.lease_until IS NULL OR ev.lease_until < ?) AND ${foundRowIs('ev.status', 'pending')}
         ORDER BY ev.next_attempt_at, ev.id LIMIT ?
         FOR UPDATE OF ev SKIP LOCKED
       )
       UPDATE events SET lease_until = ?, lease_owner = ?
       FROM picked WHERE events.id = picked.id
       RETURNING events.*`,
  textList: (values) => [...values],
  pendingInRoom,
  activeInRoom,
  // An expression index is inferred from the same expression, written without a table alias.
  oneActiveConflict: "((CASE WHEN state = 'active' THEN room_id END))",
  // ANALYZE while a backlog is pending: ANALYZE runs (by itself or by autovacuum) mostly while
  // deliveries keep up, and then finds almost nothing pending; planned with that, the claim's
  // test of room order read every pending event for each candidate (docs/decisions.md).
  refreshOutboxStatistics: 'ANALYZE events',
  insertEventAtNextSeq: (shape) => eventAtNextSeq(shape.gate, shape.setsBotStep),
  // Three writes to three tables in one statement: a delivered event costs one statement to
  // record instead of five, and shares its batch's BEGIN and COMMIT (attempt.ts). Data-modifying
  // WITHs run whether or not the main statement reads them.
  recordDelivered: `WITH attempt AS (
         INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ), clock AS (
         UPDATE integrations SET failing_since = NULL
         WHERE project_id = ? AND failing_since IS NOT NULL AND ?::boolean
       )
       UPDATE events SET status = 'delivered', attempt_count = ?, next_attempt_at = NULL, delivered_at = ?,
         last_error = NULL, lease_until = NULL, lease_owner = NULL
       WHERE id = ? AND ${foundRowIs('status', 'pending')} AND lease_owner = ?`,
};

/** By gate text ('' for none): the text without and with the bot step. */
const eventInserts = new Map<string, [string | undefined, string | undefined]>();

/**
 * POSTGRES_SQL.insertEventAtNextSeq. A data-modifying WITH runs once and row-locks the room like
 * rooms.nextSeq: one round trip per event instead of two. (A missing room leaves room_seq NULL,
 * which the column refuses.) A gate is a CTE named `gate` that every other part waits on: when
 * it changes no row, nothing is written and no row is returned (PgExecutor counts no write).
 * The texts are built once per shape: their names are the connection's prepared statements.
 */
function eventAtNextSeq(gate: string | undefined, setsBotStep: boolean): string {
  let shapes = eventInserts.get(gate ?? '');
  if (shapes === undefined) {
    shapes = [undefined, undefined];
    eventInserts.set(gate ?? '', shapes);
  }
  let sql = shapes[setsBotStep ? 1 : 0];
  if (sql !== undefined) return sql;
  const step = setsBotStep ? ', bot_step = ?' : '';
  const values = '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT last_seq FROM seq)';
  sql =
    gate === undefined
      ? `WITH seq AS (UPDATE rooms SET last_seq = last_seq + 1${step} WHERE id = ? RETURNING last_seq)
       INSERT INTO events (${EVENT_COLUMNS}, room_seq) VALUES (${values})
       RETURNING room_seq`
      : `WITH gate AS (${gate} RETURNING 1),
       seq AS (UPDATE rooms SET last_seq = last_seq + 1${step} WHERE id = ? AND EXISTS (SELECT 1 FROM gate) RETURNING last_seq)
       INSERT INTO events (${EVENT_COLUMNS}, room_seq) SELECT ${values} WHERE EXISTS (SELECT 1 FROM gate)
       RETURNING room_seq`;
  shapes[setsBotStep ? 1 : 0] = sql;
  return sql;
}

export interface PgExecutorOptions {
  /**
   * Statements run inside a transaction (guarded writes use savepoints), whose BEGIN the
   * connection sends (SharedSession).
   */
  readonly inTransaction?: boolean;
  /**
   * Name statements so that each connection parses and plans them once. Off behind a
   * transaction pooler (PgBouncer), where the next transaction may run on a server connection
   * that never saw the statement.
   */
  readonly named: boolean;
  /**
   * Statements of other requests run between this one's, in the same transaction (a group
   * commit's interleaved batch, PostgresStore.runBatch). A savepoint there would nest with
   * theirs, so guardedRun refuses: it sends nothing and sets `interleaveRefused`, and the batch
   * runs again one request after another.
   */
  readonly interleaved?: boolean;
}

/** What an executor sends statements through: a pooled connection, the pool, or a batch's SharedSession. */
export interface Queryable {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
  /**
   * Runs a named statement that describes its rows once per connection (PreparedQuery). Only
   * where the statements go to one connection: the pool hands each query to any of its own.
   */
  submit?(q: PreparedQuery): Promise<pg.QueryResult>;
}

/** guardedRun's refusal in an interleaved batch (see PgExecutorOptions.interleaved). */
export class InterleaveRefused extends Error {}

export class PgExecutor implements SqlExecutor {
  readonly dialect = 'postgres' as const;
  readonly dialectSql = POSTGRES_SQL;
  private savepoints = 0;
  private readonly inTransaction: boolean;
  /**
   * Statements that may have written (not a SELECT, and a row changed, or a WITH), and statements
   * that failed (which aborts a PostgreSQL transaction): a group commit tells by them whether a
   * request that failed left anything behind (see PostgresStore.runBatch). An insert that gave
   * way (ON CONFLICT DO NOTHING) or an update that found nothing wrote nothing: a start that
   * lost the one-active race, or a close that lost its own, answers 409 or 404 without the batch
   * running again.
   */
  writes = 0;
  failures = 0;
  /** guardedRun was asked for in an interleaved batch (see PgExecutorOptions.interleaved). */
  interleaveRefused = false;
  /**
   * The failure of a statement that left the transaction aborted, until a ROLLBACK TO SAVEPOINT
   * makes it usable again (guardedRun's own, or the batch's per request). A caller that caught
   * it and went on must not be answered as committed: PostgreSQL answers COMMIT in an aborted
   * transaction with ROLLBACK, not an error.
   */
  abortedBy: unknown;
  private readonly sent: Array<Promise<void>> = [];

  constructor(
    private readonly db: Queryable,
    private readonly options: PgExecutorOptions,
  ) {
    this.inTransaction = options.inTransaction === true;
  }

  private async query<R>(
    sql: string,
    params: unknown[],
    rowMode?: 'array',
    countWrite = true,
  ): Promise<{ rows: R[]; rowCount: number }> {
    // PostgreSQL's text cannot hold U+0000 (SQLSTATE 22021), and an unpaired surrogate would be
    // stored as U+FFFD. No stored value holds either, so a lookup keyed by such a string matches
    // nothing — answered without asking; a write of one is refused (the same on SQLite).
    if (hasUnstorableText(params)) {
      if (STORES_TEXT.test(sql)) throw new UnstorableText(UNSTORABLE_MESSAGE);
      return { rows: [], rowCount: 0 };
    }
    try {
      // Named: each connection parses and plans a statement once, then only binds and executes
      // it — the server's CPU is shared with relevo's on a small machine.
      const text = numberPlaceholders(sql);
      const r =
        this.options.named && this.db.submit !== undefined && PREPARED_QUERY_FITS
          ? await this.db.submit(new PreparedQuery(statementName(sql), text, params, rowMode))
          : await this.db.query({
              ...(this.options.named ? { name: statementName(sql) } : {}),
              text,
              values: params,
              ...(rowMode === undefined ? {} : { rowMode }),
            });
      const rowCount = r.rowCount ?? 0;
      if (countWrite && !READ_ONLY.test(sql) && (rowCount > 0 || (WITH.test(sql) && !GATED.test(sql)))) {
        this.writes += 1;
      }
      return { rows: r.rows as R[], rowCount };
    } catch (e) {
      this.failures += 1;
      const err = translatePgError(e);
      if (this.inTransaction && this.abortedBy === undefined) this.abortedBy = err;
      throw err;
    }
  }

  /** Transaction control inside the open transaction (a group commit's savepoints). */
  async control(sql: string): Promise<void> {
    await this.query(sql, []);
    if (/^ROLLBACK TO /i.test(sql)) this.abortedBy = undefined;
  }

  async run(sql: string, ...params: unknown[]): Promise<number> {
    return (await this.query(sql, params)).rowCount;
  }

  /**
   * SqlExecutor.send. In a transaction, the statement is written at once and not waited for:
   * the connection pipelines, so what comes next (a statement, the COMMIT) shares its round trip.
   * It counts as a write from the start (whoever undoes a failed request must assume it wrote),
   * and its failure, when it comes, is the transaction's (`abortedBy`, `failures`). The store
   * waits for it before judging the request (`settle`) or reads it from the COMMIT's answer.
   */
  async send(sql: string, ...params: unknown[]): Promise<void> {
    if (!this.inTransaction) {
      await this.run(sql, ...params);
      return;
    }
    // Refused before anything is sent, as `query` would (and as SQLite does).
    if (hasUnstorableText(params) && STORES_TEXT.test(sql)) throw new UnstorableText(UNSTORABLE_MESSAGE);
    this.writes += 1;
    this.sent.push(
      this.query(sql, params, undefined, false).then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  /** Resolves once every statement `send` wrote is answered (its failure, if any, recorded). */
  async settle(): Promise<void> {
    while (this.sent.length > 0) await Promise.all(this.sent.splice(0));
  }

  async guardedRun(sql: string, ...params: unknown[]): Promise<number> {
    if (!this.inTransaction) return this.run(sql, ...params);
    if (this.options.interleaved === true) {
      this.interleaveRefused = true;
      throw new InterleaveRefused('a savepoint cannot be taken between other requests’ statements');
    }
    // A failed statement aborts a PostgreSQL transaction; a savepoint keeps it usable so the
    // caller can read the row that won (e.g. the conversation already active).
    const name = `guard_${++this.savepoints}`;
    await this.query(`SAVEPOINT ${name}`, []);
    try {
      const n = await this.run(sql, ...params);
      await this.query(`RELEASE SAVEPOINT ${name}`, []);
      return n;
    } catch (e) {
      await this.control(`ROLLBACK TO SAVEPOINT ${name}`);
      throw e;
    }
  }

  async one<R>(sql: string, ...params: unknown[]): Promise<R | undefined> {
    return (await this.query<R>(sql, params)).rows[0];
  }

  async tuple(sql: string, ...params: unknown[]): Promise<unknown[] | undefined> {
    return (await this.query<unknown[]>(sql, params, 'array')).rows[0];
  }

  async all<R>(sql: string, ...params: unknown[]): Promise<R[]> {
    return (await this.query<R>(sql, params)).rows;
  }
}
