/** How the queries reach a database (one connection or transaction at a time), and SQL they share. */
import type { Dialect } from '../migrations/index.js';

/** How the queries reach a database: one connection or transaction at a time. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  readonly dialectSql: DialectSql;
  /** Runs a write; resolves with the number of rows changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
  /**
   * A write whose answer nothing reads: in a PostgreSQL transaction it is sent without waiting
   * for its answer, so it shares a round trip with what follows (the next statement, or the
   * COMMIT); its failure fails the transaction, at the latest at its commit. Elsewhere, `run`.
   */
  send(sql: string, ...params: unknown[]): Promise<void>;
  /**
   * A write that a unique index may refuse (UniqueViolation): the transaction stays usable
   * afterwards, so the caller can read the winner (PostgreSQL needs a savepoint for that).
   */
  guardedRun(sql: string, ...params: unknown[]): Promise<number>;
  one<R>(sql: string, ...params: unknown[]): Promise<R | undefined>;
  /** The first row as an array of its columns in select order (no object per row). */
  tuple(sql: string, ...params: unknown[]): Promise<unknown[] | undefined>;
  all<R>(sql: string, ...params: unknown[]): Promise<R[]>;
}

/** The statements that differ between databases. */
export interface DialectSql {
  /**
   * Leases due events. Parameters, in order: now, now, excluded lanes (as `textList`), scan,
   * per-project limit, now, limit, leaseUntil, owner.
   */
  readonly claimDueEvents: string;
  /** How a list of strings is passed as one parameter. */
  textList(values: readonly string[]): unknown;
  /**
   * The test of a pending event of a room, on table alias `alias`; `room` completes the room's
   * side (`= e.room_id`, `= ?`, `IN (…)`). It is written for the dialect's index of pending
   * events by room, events_room_order (migration 0016), so that it can use no other.
   */
  pendingInRoom(alias: string, room: string): string;
  /**
   * The test of a room's active conversation, on table alias `alias`; `room` completes the room's
   * side (`= r.id`, `= ?`, `IS NOT NULL`). It is written for the dialect's index of one active
   * conversation per room, conversations_one_active (migration 0017).
   */
  activeInRoom(alias: string, room: string): string;
  /** The conflict target of an insert refused when its room has an active conversation. */
  readonly oneActiveConflict: string;
  /**
   * Takes the room's next position and inserts the event at it in one statement, where the
   * database can; undefined: a statement each. `gate`, when given, is a write (a statement's text,
   * without RETURNING) that runs first in the same statement, and the rest only if it changed a
   * row; `setsBotStep` sets the room's bot step with its position. Parameters: the gate's, the
   * bot step (when set), the room id, then the event's columns in `EVENT_COLUMNS` order. Returns
   * the row's room_seq; no row when the gate changed nothing.
   */
  readonly insertEventAtNextSeq: ((shape: EventInsertShape) => string) | undefined;
  /**
   * `recordDelivered` in one statement, where the database can; undefined: three statements.
   * Parameters: the attempt's columns in `ATTEMPT_COLUMNS` order, the project id, whether to
   * clear its failure clock, the attempt count, delivered_at, the event id, the lease owner.
   */
  readonly recordDelivered: string | undefined;
  /**
   * Brings the planner's statistics of the outbox up to date (the dispatcher asks when a claim
   * was slow, outbox.refreshStatistics); undefined where plans do not depend on them that way.
   */
  readonly refreshOutboxStatistics: string | undefined;
}

/** What DialectSql.insertEventAtNextSeq writes besides the event. */
export interface EventInsertShape {
  readonly gate?: string | undefined;
  readonly setsBotStep: boolean;
}

/**
 * A write whose change decides whether the writes after it happen (a start's insert of its
 * conversation, a close's update of it): see OutboxTxQueries.insertAtNextSeqAfter.
 */
export interface WriteStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * `column = 'value'` for a row found by its primary key, written so that no partial index can
 * serve it. PostgreSQL's planner takes a partial index's size from its last count, and ANALYZE
 * mostly counts while almost nothing is pending (or active): a test that matched the index's
 * predicate (`status = 'pending'`) let it read all of events_due, filtering on the id, instead of
 * the one row by primary key: 0.6 ms for each record of a delivery with 5,000 events pending, and
 * growing with the backlog (test/postgres/by-id-plans.test.ts). COALESCE over a NOT NULL column
 * is the same test, and one the planner cannot match to an index's predicate.
 */
export function foundRowIs(column: string, value: string): string {
  return `COALESCE(${column}, '') = '${value}'`;
}

/** Appended to a lookup's WHERE: rows not (softly) deleted. */
export const LIVE = ' AND deleted_at IS NULL';
