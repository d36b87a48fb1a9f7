/**
 * The storage interface every database implements. Rows are mapped to the domain types of
 * model/types.ts at this boundary: nothing untyped leaves storage. Services receive a `Tx` and
 * never open transactions themselves; the route owns the boundary.
 */
import type {
  Bot,
  BotChannelConfig,
  Conversation,
  ConversationState,
  Credential,
  DeliveryAttempt,
  DeliveryStatus,
  EndedReason,
  EndUser,
  EventType,
  Integration,
  Message,
  OutboxEvent,
  Project,
  Room,
} from '../model/types.js';
import type { Dialect } from './migrations/index.js';

export interface StoreCapabilities {
  /** Exactly one process uses the database (embedded SQLite): leases left by a crash are void. */
  readonly singleProcess: boolean;
  /** Workers may claim outbox rows concurrently with FOR UPDATE SKIP LOCKED. */
  readonly skipLocked: boolean;
  /** Commits can wake workers in other processes (LISTEN/NOTIFY). */
  readonly listenNotify: boolean;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `after` to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  /** Exclusive lower bound on the id (ids sort by creation time). */
  readonly after?: string | undefined;
  readonly limit: number;
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

/** Every query, inside or outside a transaction. */
export interface Queries {
  insertProject(p: Project): Promise<void>;
  /** A live project: a deleted one is not found (as for bots and end users below). */
  getProject(id: string): Promise<Project | undefined>;
  listProjects(page: PageRequest): Promise<Page<Project>>;
  /** Renames a live project; false when there is none. */
  renameProject(id: string, name: string): Promise<boolean>;
  /**
   * Marks a live project deleted, with its live bots and end users; false when there is none.
   * Its credentials, integration and conversations are the service's to deal with.
   */
  softDeleteProject(id: string, at: number): Promise<boolean>;

  insertCredential(c: Credential): Promise<void>;
  getCredential(id: string): Promise<Credential | undefined>;
  getCredentialByClientId(clientId: string): Promise<Credential | undefined>;
  listCredentials(projectId: string): Promise<Credential[]>;
  /** Returns false when no live credential of this project has that id. */
  revokeCredential(projectId: string, id: string, at: number): Promise<boolean>;
  /** Revokes every live credential of a project; returns their ids. */
  revokeProjectCredentials(projectId: string, at: number): Promise<string[]>;

  insertBot(b: Bot): Promise<void>;
  /** A live bot; with `includeDeleted`, a deleted one too (reading history: names stay). */
  getBot(projectId: string, id: string, options?: LookupOptions): Promise<Bot | undefined>;
  /** Any project's live bot: for routes that name only the bot (a channel's inbound route). */
  getBotById(id: string): Promise<Bot | undefined>;
  listBots(projectId: string, page: PageRequest): Promise<Page<Bot>>;
  /** Renames a live bot; undefined when there is none. */
  renameBot(projectId: string, id: string, name: string): Promise<Bot | undefined>;
  /** Marks a live bot deleted; false when there is none. */
  softDeleteBot(projectId: string, id: string, at: number): Promise<boolean>;

  insertEndUser(u: EndUser): Promise<void>;
  /** A live end user; with `includeDeleted`, a deleted one too (reading history: names stay). */
  getEndUser(projectId: string, id: string, options?: LookupOptions): Promise<EndUser | undefined>;
  /** The live end user with this referenceId (a deleted user's referenceId is free again). */
  getEndUserByReference(projectId: string, referenceId: string): Promise<EndUser | undefined>;
  listEndUsers(projectId: string, page: PageRequest): Promise<Page<EndUser>>;
  /**
   * Changes a live end user's names and/or referenceId (null clears it); undefined when there is
   * none. A referenceId another live user has is refused (UniqueViolation end_users_reference).
   */
  updateEndUser(projectId: string, id: string, patch: EndUserPatch): Promise<EndUser | undefined>;
  /** Marks a live end user deleted; false when there is none. */
  softDeleteEndUser(projectId: string, id: string, at: number): Promise<boolean>;

  insertIntegration(i: Integration): Promise<void>;
  getIntegration(projectId: string): Promise<Integration | undefined>;
  /**
   * The signing secret of a project's integration, for checking an inbound signature (docs/api.md
   * §4.10). The same work whether or not there is one: one statement that always returns one
   * row, and one decryption (of a decoy when there is no secret), so that its time does not
   * tell whether a project has an integration.
   */
  signingSecretOf(projectId: string): Promise<string | undefined>;
  /** Whether the project has an integration, enabled or not (no secrets read or decrypted). */
  hasIntegration(projectId: string): Promise<boolean>;
  /** Returns the updated integration, or undefined when the project has none. */
  updateIntegration(projectId: string, patch: IntegrationPatch): Promise<Integration | undefined>;
  deleteIntegration(projectId: string): Promise<boolean>;

  getRoom(projectId: string, id: string): Promise<Room | undefined>;
  getRoomByPair(botId: string, userId: string): Promise<Room | undefined>;
  /**
   * A project's bot and end user by id, their room and its active conversation, in one read:
   * what starting or closing a conversation needs first. Deleted bots and users are found too,
   * with their `deletedAt`: starting refuses them, closing a conversation still open on one
   * does not.
   */
  findPair(projectId: string, botId: string, userId: string): Promise<PairState>;
  setRoomBotStep(roomId: string, step: string | null): Promise<void>;
  insertRoom(r: Room): Promise<void>;
  /** Reserves the next position in the room's event order (row-locks the room where it can). */
  nextRoomSeq(roomId: string): Promise<number>;

  /**
   * Inserts an active conversation; false, and nothing written, when its room already has one
   * (the one-active index decides, also between nodes racing on the same pair).
   */
  insertConversation(c: Conversation): Promise<boolean>;
  getConversation(projectId: string, id: string): Promise<Conversation | undefined>;
  getActiveConversation(roomId: string): Promise<Conversation | undefined>;
  /** Returns false when the conversation was not active (closed meanwhile by someone else). */
  closeConversation(id: string, endAt: number, reason: EndedReason): Promise<boolean>;

  insertMessage(m: Message): Promise<void>;
  getMessageByExternalId(roomId: string, externalId: string): Promise<Message | undefined>;
  /** A conversation's transcript, oldest first. */
  listConversationMessages(conversationId: string, page: PageRequest): Promise<Page<Message>>;
  /** A room's whole history across conversations, oldest first (the web chat's history). */
  listRoomMessages(roomId: string, page: PageRequest): Promise<Page<Message>>;
  /** Conversations of a project, newest first; the cursor is the last id seen. */
  listConversations(
    projectId: string,
    filter: ConversationFilter,
    page: PageRequest,
  ): Promise<Page<Conversation>>;

  getBotChannel(botId: string): Promise<BotChannelConfig | undefined>;
  putBotChannel(c: BotChannelConfig): Promise<void>;
  /** The bot's rules as stored (JSON text), or undefined when it has none. */
  getBotRules(botId: string): Promise<string | undefined>;
  putBotRules(botId: string, rulesJson: string, at: number): Promise<void>;

  insertEvent(e: OutboxEvent): Promise<void>;
  /** Appends an event at its room's next position (nextRoomSeq and insertEvent in one). */
  insertEventAtNextSeq(e: Omit<OutboxEvent, 'roomSeq'>): Promise<OutboxEvent>;
  getEvent(id: string): Promise<OutboxEvent | undefined>;
  /** Pending and not-yet-sent events of a project become `cancelled`; returns how many. */
  cancelPendingEvents(projectId: string): Promise<number>;

  // --- the delivery engine ---

  /**
   * Leases up to `limit` due events, each the earliest pending event of its room (per-room
   * order), of projects whose integration exists and is enabled, skipping `excludeProjects`
   * (at their concurrency limit) and at most `perProjectLimit` per project.
   */
  claimDueEvents(claim: EventClaim): Promise<OutboxEvent[]>;
  /**
   * Leases one event known by id (just committed by this process) if it is still pending, not
   * leased, and the earliest pending event of its room; false otherwise.
   */
  leaseEvent(eventId: string, owner: string, now: number, leaseUntil: number): Promise<boolean>;
  /**
   * Due, unleased pending events with ids after `afterId`, in id order (this process's commit
   * order): what a ready queue that overflowed left in the outbox.
   */
  pendingEventsAfter(afterId: string, now: number, limit: number): Promise<OutboxEvent[]>;
  /** The earliest time a pending event becomes due, or undefined when none is pending. */
  nextDueAt(): Promise<number | undefined>;
  /** Gives a leased event back without an attempt (shutdown, integration disabled meanwhile). */
  releaseLease(eventId: string, owner: string): Promise<void>;
  /** Voids every lease (single-process databases, at start-up: their holder is gone). */
  releaseAllLeases(): Promise<number>;
  /** Applies the outcome of an attempt if the event is still pending and leased by `owner`. */
  settleEvent(eventId: string, owner: string, settle: EventSettlement): Promise<boolean>;
  /**
   * A delivered attempt: its row, its event settled as delivered (if `owner` still holds the
   * lease), and when `clearFailure` its integration's failure clock stopped. One statement where
   * the database can (PostgreSQL), so that it may run with no transaction around it
   * (`Store.statement`).
   */
  recordDelivered(
    a: DeliveryAttempt,
    owner: string,
    deliveredAt: number,
    clearFailure: boolean,
  ): Promise<void>;
  insertAttempt(a: DeliveryAttempt): Promise<void>;
  listAttempts(eventId: string): Promise<DeliveryAttempt[]>;
  /** Starts the failure clock if it is not running; returns when the run of failures began. */
  noteIntegrationFailure(projectId: string, at: number): Promise<number>;
  clearIntegrationFailure(projectId: string): Promise<void>;

  // --- idempotency keys (docs/api.md §5.1) ---

  /**
   * Claims `key` for a new request, or returns the record already there. A claim whose holder
   * died (locked_until passed) is taken over, so a crash mid-request does not block the key.
   */
  claimIdempotencyKey(
    claim: IdempotencyClaim,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }>;
  /** Stores the answer, if `hold` still holds the claim (one taken over is not overwritten). */
  completeIdempotencyKey(hold: IdempotencyHold, response: StoredResponse): Promise<void>;
  /**
   * Forgets a claim whose request failed in a way worth retrying (5xx): the key may be used
   * again. Only while `hold` still holds it.
   */
  releaseIdempotencyKey(hold: IdempotencyHold): Promise<void>;
  /** Deletes records past their retention; returns how many. */
  purgeIdempotencyKeys(now: number): Promise<number>;

  // --- the admin API's stored token (when RELEVO_ADMIN_TOKEN is not set) ---

  /** The stored token: its hash (null: none, the admin API is off), or undefined before the first. */
  getAdminToken(): Promise<AdminTokenRow | undefined>;
  /** Stores the first token; false, and nothing written, when a row exists (another node won). */
  createAdminToken(hash: string, at: number): Promise<boolean>;
  /** Stores a token in place of any other (the previous one stops working). */
  replaceAdminToken(hash: string, at: number): Promise<void>;

  // --- silent web chat sessions ---
  /**
   * Up to `limit` web chat end users created before `createdBefore` who never wrote, whose
   * rooms (all of web chat bots) never had a conversation or an event.
   */
  silentWebchatUsers(createdBefore: number, limit: number): Promise<string[]>;
  /**
   * Deletes such a user with their rooms and the rooms' messages (the bot's greeting), checking
   * the conditions again; false when the user no longer qualifies (or is gone already).
   */
  deleteSilentWebchatUser(userId: string, createdBefore: number): Promise<boolean>;

  // --- the delivery log ---
  listEvents(projectId: string, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEvent>>;
  /** Makes events due now for a new delivery cycle (attempt count reset); returns how many. */
  requeueEvents(projectId: string, select: RequeueSelection, now: number): Promise<number>;
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

export type Tx = Queries;

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
