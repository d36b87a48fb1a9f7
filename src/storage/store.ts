/**
 * The storage interface every database implements. Rows are mapped to the domain types of
 * domain/types.ts at this boundary: nothing untyped leaves storage. Services receive a `Tx` and
 * never open transactions themselves; the route owns the boundary.
 */
import type {
  Bot,
  Conversation,
  ConversationState,
  DeliveryStatus,
  EndUser,
  EventType,
  Integration,
  Message,
  OutboxEvent,
  Room,
} from '../model/types.js';
import type { Dialect } from './migrations/index.js';
import type { Queries, Tx } from './queries/index.js';

export type { Queries, Tx } from './queries/index.js';
export type { Page, PageRequest } from './queries/paging.js';

export interface StoreCapabilities {
  /** Exactly one process uses the database (embedded SQLite): leases left by a crash are void. */
  readonly singleProcess: boolean;
  /** Workers may claim outbox rows concurrently with FOR UPDATE SKIP LOCKED. */
  readonly skipLocked: boolean;
  /** Commits can wake workers in other processes (LISTEN/NOTIFY). */
  readonly listenNotify: boolean;
}

export interface LookupOptions {
  /** Find the row even when it was (softly) deleted. */
  readonly includeDeleted?: boolean;
}

export interface EndUserPatch {
  /** Absent: unchanged. */
  readonly names?: string | undefined;
  /** Absent: unchanged; null: cleared. */
  readonly referenceId?: string | null | undefined;
}

export interface IntegrationPatch {
  readonly webhookUrl?: string;
  readonly authType?: Integration['authType'];
  readonly authorization?: string | null;
  readonly signingSecret?: string;
  readonly enabled?: boolean;
  readonly disabledReason?: string | null;
  readonly updatedAt: number;
}

export interface AdminTokenRow {
  readonly hash: string | null;
  readonly createdAt: number;
}

export interface EventClaim {
  readonly now: number;
  readonly limit: number;
  readonly perProjectLimit: number;
  readonly excludeProjects: readonly string[];
  readonly owner: string;
  readonly leaseUntil: number;
}

export interface EventSettlement {
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: number | null;
  readonly deliveredAt: number | null;
  readonly lastError: string | null;
}

export interface IdempotencyId {
  readonly projectId: string;
  readonly route: string;
  readonly key: string;
}

/** A claim as its holder knows it: completing or releasing it needs the holder's token. */
export interface IdempotencyHold extends IdempotencyId {
  /** Random per claim; a claim taken over gets a new one. */
  readonly holder: string;
}

export interface IdempotencyClaim extends IdempotencyHold {
  /** Hash of what makes two requests "the same": method, route and body. */
  readonly requestHash: string;
  readonly now: number;
  /** Until when the claim is the holder's (a holder that dies gives it up at this time). */
  readonly lockedUntil: number;
  readonly expiresAt: number;
}

export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly state: 'in_flight' | 'done';
  readonly response: StoredResponse | null;
}

export interface ConversationFilter {
  readonly state?: ConversationState | undefined;
  readonly botId?: string | undefined;
  readonly userId?: string | undefined;
  /** Started at or after (ms). */
  readonly startedFrom?: number | undefined;
  /** Started before (ms). */
  readonly startedTo?: number | undefined;
}

/** Filters of the delivery log; it only ever lists events for the panel. */
export interface EventFilter {
  readonly status?: DeliveryStatus | undefined;
  readonly type?: EventType | undefined;
  readonly conversationId?: string | undefined;
}

export type RequeueSelection =
  | { readonly kind: 'one'; readonly eventId: string }
  | { readonly kind: 'since'; readonly since: number; readonly conversationId?: string | undefined };

/** What one commit made visible: events to deliver and messages (for live channels). */
/** What `findPair` finds; each part is absent when it does not exist. */
export interface PairState {
  readonly bot: Bot | undefined;
  readonly user: EndUser | undefined;
  readonly room: Room | undefined;
  readonly active: Conversation | undefined;
  /** Whether the project has an integration: its events are pending (see appendEvent). */
  readonly hasIntegration: boolean;
  /** The bot's rules as stored (JSON), null when it has none: read here for the hand-back. */
  readonly botRules: string | null;
}

export interface Committed {
  /**
   * Pending events the transaction wrote (new, or requeued for another round), in commit order:
   * within a room, in room order.
   */
  readonly events: readonly OutboxEvent[];
  readonly messages: readonly Message[];
  /**
   * Set when another process committed (PostgreSQL, LISTEN/NOTIFY): its events are not listed
   * one by one, and its messages only by the rooms they went to.
   */
  readonly remote?: { readonly hasEvents: boolean; readonly roomIds: readonly string[] } | undefined;
}

export interface Store {
  readonly dialect: Dialect;
  readonly capabilities: StoreCapabilities;
  /** Reads (and single-statement writes) outside any transaction; sees only committed data. */
  readonly queries: Queries;
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. The
   * promise settles only after the commit is durable. `fn` must not start another transaction
   * and should do no I/O of its own (validate and resolve DNS before, not inside). It may run
   * more than once before its transaction commits (a PostgreSQL serialization failure, a SQLite
   * group commit replayed after another request failed halfway), so it must change nothing
   * outside `tx`.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with no transaction around it where that saves something: on PostgreSQL each of
   * its statements commits by itself, all on one pooled connection (no BEGIN, no COMMIT: two
   * round trips fewer); SQLite runs `fn` in its group commit like any transaction. So every write
   * in `fn` must be one statement, atomic alone, that needs no other to commit with it. Nothing it
   * writes is announced to `onCommitted` listeners, so it must not insert events or messages; it
   * may run more than once, as a transaction may.
   */
  statement<T>(fn: (q: Queries) => Promise<T>): Promise<T>;
  /** Called after each commit that wrote events or messages, with what it wrote. */
  onCommitted(listener: (committed: Committed) => void): void;
  close(): Promise<void>;
}
