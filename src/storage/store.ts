/**
 * The storage interface every database implements. Rows are mapped to the domain types of
 * model/types.ts at this boundary: nothing untyped leaves storage. Services receive a `Tx` and
 * never open transactions themselves; the route owns the boundary.
 */
import type { EventOrigin, EventType, Message, OutboxEvent } from '../model/types.js';
import type { Dialect } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import type { Queries, Tx } from './queries/index.js';

export type { AdminTokenRow } from './queries/admin-token.js';
export type { LookupOptions } from './queries/columns.js';
export type { ConversationFilter } from './queries/conversations.js';
export type { EndUserPatch } from './queries/end-users.js';
export type { WriteStatement } from './queries/executor.js';
export type {
  IdempotencyClaim,
  IdempotencyHold,
  IdempotencyId,
  IdempotencyRecord,
  StoredResponse,
} from './queries/idempotency.js';
export type { Queries, Tx } from './queries/index.js';
export type { IntegrationPatch } from './queries/integrations.js';
export type {
  EventFilter,
  EventSettlement,
  LogDestination,
  RequeueSelection,
  RoomChange,
} from './queries/outbox.js';
export type { EventClaim } from './queries/outbox-claim.js';
export type { Page, PageRequest } from './queries/paging.js';
export type { PairState } from './queries/rooms.js';

export interface StoreCapabilities {
  /** Exactly one process uses the database (embedded SQLite): leases left by a crash are void. */
  readonly singleProcess: boolean;
  /** Workers may claim outbox rows concurrently with FOR UPDATE SKIP LOCKED. */
  readonly skipLocked: boolean;
  /** Commits can wake workers in other processes (LISTEN/NOTIFY). */
  readonly listenNotify: boolean;
}

export interface Committed {
  /**
   * Pending events the transaction wrote (new, or requeued for another round), in commit order:
   * within a room, in room order.
   */
  readonly events: readonly OutboxEvent[];
  readonly messages: readonly Message[];
  /** Projects that got events for the panel, whatever their status (the live event streams). */
  readonly panelProjects?: readonly string[] | undefined;
  /** The type of every event the transactions inserted, whatever its status (metrics). */
  readonly recorded?: readonly EventType[] | undefined;
  /**
   * Set when another process committed (PostgreSQL, LISTEN/NOTIFY): its events are not listed
   * one by one, and its messages only by the rooms they went to.
   */
  readonly remote?:
    | {
        readonly hasEvents: boolean;
        readonly roomIds: readonly string[];
        /** Projects that got panel events; undefined when not known (any project may have). */
        readonly panelProjects?: readonly string[] | undefined;
      }
    | undefined;
}

export interface PoolStats {
  /** Connections open. */
  readonly total: number;
  /** Of them, waiting for work. */
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
}

export type MigrationListener = (migration: Migration, index: number, pending: number) => void;

export interface Store {
  readonly dialect: Dialect;
  readonly capabilities: StoreCapabilities;
  /** Reads (and single-statement writes) outside any transaction; sees only committed data. */
  readonly queries: Queries;
  /**
   * Applies pending migrations; returns the versions applied now. `onApply` hears of each one
   * as it starts (its place among the `pending` ones), for progress on a terminal.
   */
  migrate(onApply?: MigrationListener): Promise<number[]>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. The
   * promise settles only after the commit is durable. `fn` must not start another transaction
   * and should do no I/O of its own (validate and resolve DNS before, not inside). It may run
   * more than once before its transaction commits (a PostgreSQL serialization failure, a SQLite
   * group commit replayed after another request failed halfway), so it must change nothing
   * outside `tx`. `origin`: the request asking, whose id (and traceparent) its events keep.
   * `key`: the rows `fn` writes, when the caller knows them before it starts: the room of a start
   * or a close (roomKey), the event whose delivered attempt is recorded (eventKey). `fn` then
   * writes only rows of that key, rows it creates, and values changed in SQL alone (never read
   * and written back), so transactions with different keys may share round trips on PostgreSQL
   * (PostgresStore.runBatch); SQLite ignores it.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, origin?: EventOrigin, key?: string): Promise<T>;
  /**
   * Runs `fn` outside the group commit where that saves something: on PostgreSQL in a short
   * transaction of its own on one pooled connection, whose BEGIN goes out with its first
   * statement (no round trip of its own) and which waits for no batch; SQLite runs `fn` in its
   * group commit like any transaction. So every write in `fn` must be one statement, atomic
   * alone, that needs no other to commit with it. Nothing it writes is announced to
   * `onCommitted` listeners, so it must not insert events or messages; it may run more than
   * once, as a transaction may.
   */
  statement<T>(fn: (q: Queries) => Promise<T>): Promise<T>;
  /**
   * The connection pool's counts (PostgreSQL; undefined on SQLite, which has no pool): for
   * relevo_db_pool_connections, read from memory.
   */
  poolStats?(): PoolStats;
  /** Called after each commit that wrote events (of any status) or messages, with what it wrote. */
  onCommitted(listener: (committed: Committed) => void): void;
  close(): Promise<void>;
}

/** The key of a bot and end user's room, for Store.transaction's `key`. */
export function roomKey(projectId: string, botId: string, userId: string): string {
  return `room\u0000${projectId}\u0000${botId}\u0000${userId}`;
}

/** The key of an event's row, for Store.transaction's `key`. */
export function eventKey(eventId: string): string {
  return `event\u0000${eventId}`;
}
