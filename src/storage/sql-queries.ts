/**
 * Every domain query, written once in the SQL that SQLite and PostgreSQL share: `?` placeholders
 * (the PostgreSQL executor numbers them), BIGINT times, TEXT JSON, `INSERT … ON CONFLICT`,
 * `UPDATE … RETURNING`. The one statement that differs — claiming due events, where PostgreSQL
 * adds row locks with SKIP LOCKED — comes from the executor.
 */
import { newSigningSecret } from '../model/ids.js';
import type {
  Bot,
  BotChannelConfig,
  Conversation,
  Credential,
  DeliveryAttempt,
  EndedReason,
  EndUser,
  Integration,
  Message,
  OutboxEvent,
  Project,
  Room,
} from '../model/types.js';
import type { Dialect } from './migrations/index.js';
import {
  type AttemptRow,
  type BotChannelRow,
  type BotRow,
  type ConversationRow,
  type CredentialRow,
  type EndUserRow,
  type EventRow,
  type IntegrationRow,
  type MessageRow,
  nameText,
  PAIR_SELECT,
  type ProjectRow,
  type RoomRow,
  splitPairRow,
  toAttempt,
  toBot,
  toBotChannel,
  toConversation,
  toCredential,
  toEndUser,
  toEvent,
  toIntegration,
  toMessage,
  toProject,
  toRoom,
} from './rows.js';
import { PLAINTEXT, type SecretBox } from './secret-box.js';
import type {
  AdminTokenRow,
  ConversationFilter,
  EndUserPatch,
  EventClaim,
  EventFilter,
  EventSettlement,
  IdempotencyClaim,
  IdempotencyHold,
  IdempotencyRecord,
  IntegrationPatch,
  LookupOptions,
  Page,
  PageRequest,
  PairState,
  Queries,
  RequeueSelection,
  StoredResponse,
} from './store.js';

/**
 * Per box, a sealed secret of the length of real ones that nobody holds: opened in place of a
 * missing signing secret, so that the lookup decrypts once either way. Sealed once per box,
 * not per transaction.
 */
const decoys = new WeakMap<SecretBox, string>();
function decoySecret(box: SecretBox): string {
  let sealed = decoys.get(box);
  if (sealed === undefined) {
    sealed = box.seal(newSigningSecret());
    decoys.set(box, sealed);
  }
  return sealed;
}

/** How SqlQueries reaches a database: one connection or transaction at a time. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  readonly dialectSql: DialectSql;
  /** Runs a write; resolves with the number of rows changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
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
   * Takes the room's next position and inserts the event at it in one statement, where the
   * database can; undefined: two statements. Parameters: the room id, then the event's columns
   * in `EVENT_COLUMNS` order. Returns the row's room_seq.
   */
  readonly insertEventAtNextSeq: string | undefined;
  /**
   * `recordDelivered` in one statement, where the database can; undefined: three statements.
   * Parameters: the attempt's columns in `ATTEMPT_COLUMNS` order, the project id, whether to
   * clear its failure clock, the attempt count, delivered_at, the event id, the lease owner.
   */
  readonly recordDelivered: string | undefined;
}

/** The columns an event is inserted with, room_seq aside, in `eventValues` order. */
export const EVENT_COLUMNS = `id, project_id, room_id, conversation_id, destination, type, payload, created_at,
  status, attempt_count, next_attempt_at, delivered_at`;

/** The columns of an attempt's row, in `attemptValues` order. */
export const ATTEMPT_COLUMNS = `id, event_id, project_id, attempt_number, started_at, duration_ms, url, status_code,
  response_body, error, outcome`;

function attemptValues(a: DeliveryAttempt): unknown[] {
  return [
    a.id,
    a.eventId,
    a.projectId,
    a.attemptNumber,
    a.startedAt,
    a.durationMs,
    a.url,
    a.statusCode,
    a.responseBody,
    a.error,
    a.outcome,
  ];
}

function eventValues(e: Omit<OutboxEvent, 'roomSeq'>): unknown[] {
  return [
    e.id,
    e.projectId,
    e.roomId,
    e.conversationId,
    e.destination,
    e.type,
    e.payload,
    e.createdAt,
    e.status,
    e.attemptCount,
    e.nextAttemptAt,
    e.deliveredAt,
  ];
}

/**
 * Which pending events can be sent now: panel events while the project's integration exists and
 * is enabled; channel events while the room's bot has a channel webhook.
 */
export const SENDABLE_JOIN = `LEFT JOIN integrations i ON e.destination = 'panel' AND i.project_id = e.project_id
         LEFT JOIN rooms r ON e.destination = 'channel' AND r.id = e.room_id
         LEFT JOIN bot_channels bc ON bc.bot_id = r.bot_id`;
export const SENDABLE = `((e.destination = 'panel' AND i.enabled = 1) OR (e.destination = 'channel' AND bc.webhook_url IS NOT NULL))`;
/** Only the earliest pending event of a room (per destination) may go: per-room order. */
export const ROOM_HEAD = `NOT EXISTS (SELECT 1 FROM events p WHERE p.room_id = e.room_id AND p.destination = e.destination
           AND p.status = 'pending' AND p.room_seq < e.room_seq)`;

/**
 * The candidates of a claim: the head of each (room, destination), due, not leased, of a lane
 * not at its limit — only the first `scan` of them in due order (a bounded walk of the
 * `events_due` index, so a claim costs the same with 20 or 20,000 events waiting; the cost of
 * ranking the whole backlog grew with it and held the event loop). ROW_NUMBER then caps each
 * project's share of one claim, so one integration's backlog cannot crowd out the others; a
 * capped lane is at its limit on the next claim and excluded, which lets the others through.
 * `excluded` is the dialect's list test. Parameters: now, now, excluded lanes, scan.
 */
export function dueHeadsCte(excluded: string): string {
  return `candidates AS (
         SELECT e.id, e.project_id, e.destination, e.next_attempt_at
         FROM events e
         ${SENDABLE_JOIN}
         WHERE e.status = 'pending' AND e.next_attempt_at <= ?
           AND (e.lease_until IS NULL OR e.lease_until < ?)
           AND NOT (${excluded})
           AND ${SENDABLE} AND ${ROOM_HEAD}
         -- next_attempt_at alone: the order of the events_due index, so the walk stops at LIMIT
         ORDER BY e.next_attempt_at
         LIMIT ?
       ),
       heads AS (
         SELECT id, next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY project_id, destination ORDER BY next_attempt_at, id) AS rn
         FROM candidates
       )`;
}

/**
 * A web chat session that never became anything (alias `u`, parameter: the creation cutoff): an
 * end user of a web chat session (`webchat:<hash of its token>`), created before the cutoff,
 * with at least one room and only rooms of web chat bots, none with a visitor's message, a
 * conversation or an event. A visitor who wrote once, or a room the panel ever saw, is kept.
 */
const SILENT_WEBCHAT_USER = `u.reference_id LIKE 'webchat:%' AND u.created_at < ?
  AND EXISTS (SELECT 1 FROM rooms r WHERE r.user_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM rooms r JOIN bots b ON b.id = r.bot_id
    WHERE r.user_id = u.id AND b.channel <> 'webchat')
  AND NOT EXISTS (SELECT 1 FROM rooms r JOIN messages m ON m.room_id = r.id
    WHERE r.user_id = u.id AND m.sender = 'user')
  AND NOT EXISTS (SELECT 1 FROM rooms r JOIN conversations c ON c.room_id = r.id WHERE r.user_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM rooms r JOIN events e ON e.room_id = r.id WHERE r.user_id = u.id)`;

/** Appended to a lookup's WHERE: rows not (softly) deleted. */
const LIVE = ' AND deleted_at IS NULL';

function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, nextCursor: hasMore ? (items[items.length - 1]?.id ?? null) : null };
}

/**
 * Every domain query, written once in the SQL that SQLite and PostgreSQL share (`?` placeholders,
 * rewritten to `$n` for PostgreSQL by its executor). The few statements that differ come from the
 * executor's dialect.
 */
export class SqlQueries implements Queries {
  /** Pending events written since the last take: announced after the commit. */
  insertedEvents: OutboxEvent[] = [];
  /** Messages inserted since the last take: published after the commit (live channels). */
  insertedMessages: Message[] = [];

  constructor(
    private readonly x: SqlExecutor,
    /** Encrypts secrets on their way in and decrypts them on their way out. */
    private readonly box: SecretBox = PLAINTEXT,
  ) {}

  async insertProject(p: Project): Promise<void> {
    await this.x.run(
      'INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)',
      p.id,
      nameText(p.name),
      p.createdAt,
    );
  }
  async getProject(id: string): Promise<Project | undefined> {
    const r = await this.x.one<ProjectRow>('SELECT * FROM projects WHERE id = ? AND deleted_at IS NULL', id);
    return r && toProject(r);
  }
  async listProjects(page: PageRequest): Promise<Page<Project>> {
    const rows = await this.x.all<ProjectRow>(
      'SELECT * FROM projects WHERE id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?',
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toProject), page.limit);
  }
  async renameProject(id: string, name: string): Promise<boolean> {
    return (
      (await this.x.run(
        'UPDATE projects SET name = ? WHERE id = ? AND deleted_at IS NULL',
        nameText(name),
        id,
      )) > 0
    );
  }
  async softDeleteProject(id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      'UPDATE projects SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL',
      at,
      id,
    );
    if (changed === 0) return false;
    await this.x.run('UPDATE bots SET deleted_at = ? WHERE project_id = ? AND deleted_at IS NULL', at, id);
    await this.x.run(
      'UPDATE end_users SET deleted_at = ? WHERE project_id = ? AND deleted_at IS NULL',
      at,
      id,
    );
    return true;
  }

  async insertCredential(c: Credential): Promise<void> {
    await this.x.run(
      'INSERT INTO credentials (id, project_id, client_id, api_key_hash, client_secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      c.id,
      c.projectId,
      c.clientId,
      c.apiKeyHash,
      c.clientSecretHash,
      c.createdAt,
      c.revokedAt,
    );
  }
  async getCredential(id: string): Promise<Credential | undefined> {
    const r = await this.x.one<CredentialRow>('SELECT * FROM credentials WHERE id = ?', id);
    return r && toCredential(r);
  }
  async getCredentialByClientId(clientId: string): Promise<Credential | undefined> {
    const r = await this.x.one<CredentialRow>('SELECT * FROM credentials WHERE client_id = ?', clientId);
    return r && toCredential(r);
  }
  async listCredentials(projectId: string): Promise<Credential[]> {
    const rows = await this.x.all<CredentialRow>(
      'SELECT * FROM credentials WHERE project_id = ? ORDER BY id',
      projectId,
    );
    return rows.map(toCredential);
  }
  async revokeCredential(projectId: string, id: string, at: number): Promise<boolean> {
    const r = await this.x.run(
      'UPDATE credentials SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL',
      at,
      projectId,
      id,
    );
    return r > 0;
  }
  async revokeProjectCredentials(projectId: string, at: number): Promise<string[]> {
    const rows = await this.x.all<{ id: string }>(
      'UPDATE credentials SET revoked_at = ? WHERE project_id = ? AND revoked_at IS NULL RETURNING id',
      at,
      projectId,
    );
    return rows.map((r) => r.id);
  }

  async insertBot(b: Bot): Promise<void> {
    await this.x.run(
      'INSERT INTO bots (id, project_id, name, channel, created_at) VALUES (?, ?, ?, ?, ?)',
      b.id,
      b.projectId,
      nameText(b.name),
      b.channel,
      b.createdAt,
    );
  }
  async getBot(projectId: string, id: string, options: LookupOptions = {}): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(
      `SELECT * FROM bots WHERE project_id = ? AND id = ?${options.includeDeleted ? '' : LIVE}`,
      projectId,
      id,
    );
    return r && toBot(r);
  }
  async getBotById(id: string): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(`SELECT * FROM bots WHERE id = ?${LIVE}`, id);
    return r && toBot(r);
  }
  async listBots(projectId: string, page: PageRequest): Promise<Page<Bot>> {
    const rows = await this.x.all<BotRow>(
      `SELECT * FROM bots WHERE project_id = ? AND id > ?${LIVE} ORDER BY id LIMIT ?`,
      projectId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toBot), page.limit);
  }
  async renameBot(projectId: string, id: string, name: string): Promise<Bot | undefined> {
    const r = await this.x.one<BotRow>(
      `UPDATE bots SET name = ? WHERE project_id = ? AND id = ?${LIVE} RETURNING *`,
      nameText(name),
      projectId,
      id,
    );
    return r && toBot(r);
  }
  async softDeleteBot(projectId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE bots SET deleted_at = ? WHERE project_id = ? AND id = ?${LIVE}`,
      at,
      projectId,
      id,
    );
    return changed > 0;
  }

  async insertEndUser(u: EndUser): Promise<void> {
    await this.x.guardedRun(
      'INSERT INTO end_users (id, project_id, names, reference_id, created_at) VALUES (?, ?, ?, ?, ?)',
      u.id,
      u.projectId,
      nameText(u.names),
      u.referenceId,
      u.createdAt,
    );
  }
  async getEndUser(projectId: string, id: string, options: LookupOptions = {}): Promise<EndUser | undefined> {
    const r = await this.x.one<EndUserRow>(
      `SELECT * FROM end_users WHERE project_id = ? AND id = ?${options.includeDeleted ? '' : LIVE}`,
      projectId,
      id,
    );
    return r && toEndUser(r);
  }
  async getEndUserByReference(projectId: string, referenceId: string): Promise<EndUser | undefined> {
    const r = await this.x.one<EndUserRow>(
      `SELECT * FROM end_users WHERE project_id = ? AND reference_id = ?${LIVE}`,
      projectId,
      referenceId,
    );
    return r && toEndUser(r);
  }
  async listEndUsers(projectId: string, page: PageRequest): Promise<Page<EndUser>> {
    const rows = await this.x.all<EndUserRow>(
      `SELECT * FROM end_users WHERE project_id = ? AND id > ?${LIVE} ORDER BY id LIMIT ?`,
      projectId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toEndUser), page.limit);
  }
  async updateEndUser(projectId: string, id: string, patch: EndUserPatch): Promise<EndUser | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (patch.names !== undefined) {
      sets.push('names = ?');
      params.push(nameText(patch.names));
    }
    if (patch.referenceId !== undefined) {
      sets.push('reference_id = ?');
      params.push(patch.referenceId);
    }
    if (sets.length === 0) return this.getEndUser(projectId, id);
    // guardedRun: a referenceId taken by another live user is a UniqueViolation the caller answers.
    const changed = await this.x.guardedRun(
      `UPDATE end_users SET ${sets.join(', ')} WHERE project_id = ? AND id = ?${LIVE}`,
      ...params,
      projectId,
      id,
    );
    return changed === 0 ? undefined : this.getEndUser(projectId, id);
  }
  async softDeleteEndUser(projectId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE end_users SET deleted_at = ? WHERE project_id = ? AND id = ?${LIVE}`,
      at,
      projectId,
      id,
    );
    return changed > 0;
  }

  async insertIntegration(i: Integration): Promise<void> {
    await this.x.guardedRun(
      `INSERT INTO integrations (id, project_id, webhook_url, auth_type, authorization_value, signing_secret, enabled,
        disabled_reason, disabled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      i.id,
      i.projectId,
      i.webhookUrl,
      i.authType,
      this.box.seal(i.authorization),
      this.box.seal(i.signingSecret),
      i.enabled ? 1 : 0,
      i.disabledReason,
      i.disabledAt,
      i.createdAt,
      i.updatedAt,
    );
  }
  async signingSecretOf(projectId: string): Promise<string | undefined> {
    // A scalar subquery: exactly one row, NULL when there is no integration.
    const r = await this.x.one<{ signing_secret: string | null }>(
      'SELECT (SELECT signing_secret FROM integrations WHERE project_id = ?) AS signing_secret',
      projectId,
    );
    const stored = r?.signing_secret ?? null;
    const opened = this.box.open(stored ?? decoySecret(this.box));
    return stored === null ? undefined : opened;
  }
  async hasIntegration(projectId: string): Promise<boolean> {
    return (
      (await this.x.one('SELECT 1 AS one FROM integrations WHERE project_id = ?', projectId)) !== undefined
    );
  }
  async getIntegration(projectId: string): Promise<Integration | undefined> {
    const r = await this.x.one<IntegrationRow>('SELECT * FROM integrations WHERE project_id = ?', projectId);
    if (r === undefined) return undefined;
    const i = toIntegration(r);
    return {
      ...i,
      authorization: this.box.open(i.authorization),
      signingSecret: this.box.open(i.signingSecret),
    };
  }
  async updateIntegration(projectId: string, patch: IntegrationPatch): Promise<Integration | undefined> {
    const sets: string[] = ['updated_at = ?'];
    const params: unknown[] = [patch.updatedAt];
    const add = (col: string, v: unknown) => {
      sets.push(`${col} = ?`);
      params.push(v);
    };
    if (patch.webhookUrl !== undefined) add('webhook_url', patch.webhookUrl);
    if (patch.authType !== undefined) add('auth_type', patch.authType);
    if (patch.authorization !== undefined) add('authorization_value', this.box.seal(patch.authorization));
    if (patch.signingSecret !== undefined) add('signing_secret', this.box.seal(patch.signingSecret));
    if (patch.enabled !== undefined) add('enabled', patch.enabled ? 1 : 0);
    // Disabling records when, once: a second disabling (an attempt that was in flight) keeps the
    // first time. Enabling forgets it.
    if (patch.enabled === false) {
      sets.push('disabled_at = COALESCE(disabled_at, ?)');
      params.push(patch.updatedAt);
    } else if (patch.enabled === true) add('disabled_at', null);
    if (patch.disabledReason !== undefined) add('disabled_reason', patch.disabledReason);
    const r = await this.x.run(
      `UPDATE integrations SET ${sets.join(', ')} WHERE project_id = ?`,
      ...params,
      projectId,
    );
    if (r === 0) return undefined;
    return this.getIntegration(projectId);
  }
  async deleteIntegration(projectId: string): Promise<boolean> {
    return (await this.x.run('DELETE FROM integrations WHERE project_id = ?', projectId)) > 0;
  }

  async getRoomByPair(botId: string, userId: string): Promise<Room | undefined> {
    const r = await this.x.one<RoomRow>(
      'SELECT * FROM rooms WHERE bot_id = ? AND user_id = ?',
      botId,
      userId,
    );
    return r && toRoom(r);
  }
  async insertRoom(r: Room): Promise<void> {
    await this.x.guardedRun(
      'INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at) VALUES (?, ?, ?, ?, 0, ?)',
      r.id,
      r.projectId,
      r.botId,
      r.userId,
      r.createdAt,
    );
  }
  async nextRoomSeq(roomId: string): Promise<number> {
    const r = await this.x.one<{ last_seq: number }>(
      'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq',
      roomId,
    );
    if (r === undefined) throw new Error(`room ${roomId} does not exist`);
    return Number(r.last_seq);
  }

  async insertConversation(c: Conversation): Promise<boolean> {
    // ON CONFLICT rather than a caught unique violation: PostgreSQL would need a savepoint around
    // the insert to keep the transaction usable, two more round trips on every start.
    const inserted = await this.x.run(
      `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, assignment, metadata, start_at,
        end_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (room_id) WHERE state = 'active' DO NOTHING`,
      c.id,
      c.projectId,
      c.roomId,
      c.botId,
      c.userId,
      c.state,
      c.assignment === null ? null : JSON.stringify(c.assignment),
      c.metadata === null ? null : JSON.stringify(c.metadata),
      c.startAt,
      c.endAt,
      c.endedReason,
    );
    return inserted > 0;
  }
  async getConversation(projectId: string, id: string): Promise<Conversation | undefined> {
    const r = await this.x.one<ConversationRow>(
      'SELECT * FROM conversations WHERE project_id = ? AND id = ?',
      projectId,
      id,
    );
    return r && toConversation(r);
  }
  async findPair(projectId: string, botId: string, userId: string): Promise<PairState> {
    const row = await this.x.tuple(
      `SELECT ${PAIR_SELECT}
       FROM (SELECT 1 AS one) x
       LEFT JOIN bots b ON b.project_id = ? AND b.id = ?
       LEFT JOIN end_users u ON u.project_id = ? AND u.id = ?
       LEFT JOIN rooms r ON r.bot_id = b.id AND r.user_id = u.id
       LEFT JOIN conversations c ON c.room_id = r.id AND c.state = 'active'
       LEFT JOIN bot_rules br ON br.bot_id = b.id`,
      projectId,
      botId,
      projectId,
      userId,
    );
    const rows = splitPairRow(row ?? []);
    return {
      bot: rows.bot && toBot(rows.bot),
      user: rows.user && toEndUser(rows.user),
      room: rows.room && toRoom(rows.room),
      active: rows.active && toConversation(rows.active),
      hasIntegration: rows.hasIntegration,
      botRules: rows.botRules,
    };
  }

  async getActiveConversation(roomId: string): Promise<Conversation | undefined> {
    const r = await this.x.one<ConversationRow>(
      "SELECT * FROM conversations WHERE room_id = ? AND state = 'active'",
      roomId,
    );
    return r && toConversation(r);
  }
  async closeConversation(id: string, endAt: number, reason: EndedReason): Promise<boolean> {
    const changed = await this.x.run(
      "UPDATE conversations SET state = 'closed', end_at = ?, ended_reason = ? WHERE id = ? AND state = 'active'",
      endAt,
      reason,
      id,
    );
    return changed > 0;
  }

  async insertMessage(m: Message): Promise<void> {
    // Only an external id can collide (messages_external); without one, no savepoint is needed.
    const write = m.externalId === null ? this.x.run.bind(this.x) : this.x.guardedRun.bind(this.x);
    await write(
      `INSERT INTO messages (id, project_id, room_id, conversation_id, sender, type, content, external_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      m.id,
      m.projectId,
      m.roomId,
      m.conversationId,
      m.sender,
      m.type,
      JSON.stringify(m.content),
      m.externalId,
      m.createdAt,
    );
    this.insertedMessages.push(m);
  }

  async insertEvent(e: OutboxEvent): Promise<void> {
    await this.x.run(
      `INSERT INTO events (${EVENT_COLUMNS}, room_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...eventValues(e),
      e.roomSeq,
    );
    if (e.status === 'pending') this.insertedEvents.push(e);
  }
  async insertEventAtNextSeq(e: Omit<OutboxEvent, 'roomSeq'>): Promise<OutboxEvent> {
    const oneStatement = this.x.dialectSql.insertEventAtNextSeq;
    if (oneStatement === undefined) {
      const event = { ...e, roomSeq: await this.nextRoomSeq(e.roomId) };
      await this.insertEvent(event);
      return event;
    }
    const r = await this.x.one<{ room_seq: number | string }>(oneStatement, e.roomId, ...eventValues(e));
    // INSERT … RETURNING answers a row or fails (a missing room leaves room_seq NULL: refused).
    if (r === undefined) throw new Error('the event insert returned no row');
    const event = { ...e, roomSeq: Number(r.room_seq) };
    if (event.status === 'pending') this.insertedEvents.push(event);
    return event;
  }
  async getEvent(id: string): Promise<OutboxEvent | undefined> {
    const r = await this.x.one<EventRow>('SELECT * FROM events WHERE id = ?', id);
    return r && toEvent(r);
  }
  async cancelPendingEvents(projectId: string): Promise<number> {
    return await this.x.run(
      "UPDATE events SET status = 'cancelled', next_attempt_at = NULL WHERE project_id = ? AND status = 'pending' AND destination = 'panel'",
      projectId,
    );
  }

  async getRoom(projectId: string, id: string): Promise<Room | undefined> {
    const r = await this.x.one<RoomRow>('SELECT * FROM rooms WHERE project_id = ? AND id = ?', projectId, id);
    return r && toRoom(r);
  }
  async setRoomBotStep(roomId: string, step: string | null): Promise<void> {
    await this.x.run('UPDATE rooms SET bot_step = ? WHERE id = ?', step, roomId);
  }

  async getMessageByExternalId(roomId: string, externalId: string): Promise<Message | undefined> {
    const r = await this.x.one<MessageRow>(
      'SELECT * FROM messages WHERE room_id = ? AND external_id = ?',
      roomId,
      externalId,
    );
    return r && toMessage(r);
  }
  async listConversationMessages(conversationId: string, page: PageRequest): Promise<Page<Message>> {
    const rows = await this.x.all<MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?',
      conversationId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toMessage), page.limit);
  }
  async listRoomMessages(roomId: string, page: PageRequest): Promise<Page<Message>> {
    const rows = await this.x.all<MessageRow>(
      'SELECT * FROM messages WHERE room_id = ? AND id > ? ORDER BY id LIMIT ?',
      roomId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toMessage), page.limit);
  }
  async listConversations(
    projectId: string,
    f: ConversationFilter,
    page: PageRequest,
  ): Promise<Page<Conversation>> {
    const where = ['project_id = ?'];
    const params: unknown[] = [projectId];
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      params.push(v);
    };
    if (page.after !== undefined) add('id < ?', page.after);
    if (f.state !== undefined) add('state = ?', f.state);
    if (f.botId !== undefined) add('bot_id = ?', f.botId);
    if (f.userId !== undefined) add('user_id = ?', f.userId);
    if (f.startedFrom !== undefined) add('start_at >= ?', f.startedFrom);
    if (f.startedTo !== undefined) add('start_at < ?', f.startedTo);
    const rows = await this.x.all<ConversationRow>(
      `SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
      page.limit + 1,
    );
    return pageOf(rows.map(toConversation), page.limit);
  }

  async getBotChannel(botId: string): Promise<BotChannelConfig | undefined> {
    const r = await this.x.one<BotChannelRow>('SELECT * FROM bot_channels WHERE bot_id = ?', botId);
    if (r === undefined) return undefined;
    const c = toBotChannel(r);
    return { ...c, signingKey: this.box.open(c.signingKey) };
  }
  async putBotChannel(c: BotChannelConfig): Promise<void> {
    await this.x.run(
      `INSERT INTO bot_channels (bot_id, webhook_url, signing_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET webhook_url = excluded.webhook_url, signing_key = excluded.signing_key,
         updated_at = excluded.updated_at`,
      c.botId,
      c.webhookUrl,
      this.box.seal(c.signingKey),
      c.createdAt,
      c.updatedAt,
    );
  }
  async getBotRules(botId: string): Promise<string | undefined> {
    return (await this.x.one<{ rules: string }>('SELECT rules FROM bot_rules WHERE bot_id = ?', botId))
      ?.rules;
  }
  async putBotRules(botId: string, rulesJson: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO bot_rules (bot_id, rules, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      botId,
      rulesJson,
      at,
    );
  }

  async getAdminToken(): Promise<AdminTokenRow | undefined> {
    const row = await this.x.one<{ token_hash: string | null; created_at: number | string }>(
      'SELECT token_hash, created_at FROM admin_token WHERE id = 1',
    );
    return row === undefined ? undefined : { hash: row.token_hash, createdAt: Number(row.created_at) };
  }
  async createAdminToken(hash: string, at: number): Promise<boolean> {
    const inserted = await this.x.run(
      'INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
      hash,
      at,
    );
    return inserted === 1;
  }
  async replaceAdminToken(hash: string, at: number): Promise<void> {
    await this.x.run(
      `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      hash,
      at,
    );
  }

  async claimIdempotencyKey(
    c: IdempotencyClaim,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    // A row purged between our statements (it had expired) leaves nothing to read: claim again,
    // now with nothing in the way, rather than run the request without a claim.
    for (let tries = 1; ; tries++) {
      const outcome = await this.claimIdempotencyKeyOnce(c);
      if (outcome !== undefined || tries >= 3) return outcome ?? { claimed: true };
    }
  }

  private async claimIdempotencyKeyOnce(
    c: IdempotencyClaim,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord } | undefined> {
    const inserted = await this.x.run(
      `INSERT INTO idempotency_keys (project_id, route, idem_key, request_hash, state, locked_until, created_at, expires_at,
         holder) VALUES (?, ?, ?, ?, 'in_flight', ?, ?, ?, ?) ON CONFLICT (project_id, route, idem_key) DO NOTHING`,
      c.projectId,
      c.route,
      c.key,
      c.requestHash,
      c.lockedUntil,
      c.now,
      c.expiresAt,
      c.holder,
    );
    if (inserted > 0) return { claimed: true };
    // Taken over when its holder died (still in flight past its lock) or it expired.
    const taken = await this.x.run(
      `UPDATE idempotency_keys SET request_hash = ?, state = 'in_flight', locked_until = ?, response_status = NULL,
         response_headers = NULL, response_body = NULL, created_at = ?, expires_at = ?, holder = ?
       WHERE project_id = ? AND route = ? AND idem_key = ?
         AND ((state = 'in_flight' AND locked_until < ?) OR expires_at < ?)`,
      c.requestHash,
      c.lockedUntil,
      c.now,
      c.expiresAt,
      c.holder,
      c.projectId,
      c.route,
      c.key,
      c.now,
      c.now,
    );
    if (taken > 0) return { claimed: true };
    const r = await this.x.one<{
      request_hash: string;
      state: string;
      response_status: number | null;
      response_headers: string | null;
      response_body: string | null;
    }>(
      'SELECT request_hash, state, response_status, response_headers, response_body FROM idempotency_keys WHERE project_id = ? AND route = ? AND idem_key = ?',
      c.projectId,
      c.route,
      c.key,
    );
    if (r === undefined) return undefined;
    return {
      claimed: false,
      record: {
        requestHash: r.request_hash,
        state: r.state === 'done' ? 'done' : 'in_flight',
        response:
          r.response_status === null
            ? null
            : {
                status: Number(r.response_status),
                headers: JSON.parse(r.response_headers ?? '{}') as Record<string, string>,
                body: this.box.open(r.response_body ?? ''),
              },
      },
    };
  }

  async completeIdempotencyKey(id: IdempotencyHold, response: StoredResponse): Promise<void> {
    await this.x.run(
      `UPDATE idempotency_keys SET state = 'done', locked_until = NULL, response_status = ?, response_headers = ?,
         response_body = ? WHERE project_id = ? AND route = ? AND idem_key = ? AND holder = ?`,
      response.status,
      JSON.stringify(response.headers),
      // A stored first response may show a secret once (signingSecret, apiKey): encrypted.
      this.box.seal(response.body),
      id.projectId,
      id.route,
      id.key,
      id.holder,
    );
  }

  async releaseIdempotencyKey(id: IdempotencyHold): Promise<void> {
    await this.x.run(
      "DELETE FROM idempotency_keys WHERE project_id = ? AND route = ? AND idem_key = ? AND state = 'in_flight' AND holder = ?",
      id.projectId,
      id.route,
      id.key,
      id.holder,
    );
  }

  async purgeIdempotencyKeys(now: number): Promise<number> {
    return await this.x.run('DELETE FROM idempotency_keys WHERE expires_at < ?', now);
  }

  async silentWebchatUsers(createdBefore: number, limit: number): Promise<string[]> {
    const rows = await this.x.all<{ id: string }>(
      `SELECT u.id FROM end_users u WHERE ${SILENT_WEBCHAT_USER} ORDER BY u.created_at LIMIT ?`,
      createdBefore,
      limit,
    );
    return rows.map((r) => r.id);
  }
  async deleteSilentWebchatUser(userId: string, createdBefore: number): Promise<boolean> {
    const qualifies = await this.x.one(
      `SELECT u.id FROM end_users u WHERE u.id = ? AND ${SILENT_WEBCHAT_USER}`,
      userId,
      createdBefore,
    );
    if (qualifies === undefined) return false;
    // Only the bot wrote in these rooms (no visitor message, no conversation, so no operator).
    await this.x.run(
      'DELETE FROM messages WHERE room_id IN (SELECT id FROM rooms WHERE user_id = ?)',
      userId,
    );
    await this.x.run('DELETE FROM rooms WHERE user_id = ?', userId);
    return (await this.x.run('DELETE FROM end_users WHERE id = ?', userId)) > 0;
  }

  async claimDueEvents(c: EventClaim): Promise<OutboxEvent[]> {
    const rows = await this.x.all<EventRow>(
      this.x.dialectSql.claimDueEvents,
      c.now,
      c.now,
      this.x.dialectSql.textList(c.excludeProjects.map(String)),
      // Walk a few claims' worth of heads: enough for every lane's share, bounded whatever waits.
      Math.max(64, c.limit * 4),
      c.perProjectLimit,
      c.now,
      c.limit,
      c.leaseUntil,
      c.owner,
    );
    return rows
      .map(toEvent)
      .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.id.localeCompare(b.id));
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = await this.x.one<{ due: number | null }>(
      `SELECT MIN(CASE WHEN e.lease_until IS NOT NULL AND e.lease_until > e.next_attempt_at
                       THEN e.lease_until ELSE e.next_attempt_at END) AS due
       FROM events e
       ${SENDABLE_JOIN}
       WHERE e.status = 'pending' AND ${SENDABLE} AND ${ROOM_HEAD}`,
    );
    return r?.due === null || r?.due === undefined ? undefined : Number(r.due);
  }

  async leaseEvent(eventId: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const changed = await this.x.run(
      // The room-order rule is the search's own (ROOM_HEAD), on the row being leased.
      `UPDATE events AS e SET lease_until = ?, lease_owner = ?
       WHERE e.id = ? AND e.status = 'pending' AND (e.lease_until IS NULL OR e.lease_until < ?) AND ${ROOM_HEAD}`,
      leaseUntil,
      owner,
      eventId,
      now,
    );
    return changed > 0;
  }

  async pendingEventsAfter(afterId: string, now: number, limit: number): Promise<OutboxEvent[]> {
    const rows = await this.x.all<EventRow>(
      `SELECT * FROM events
       WHERE id > ? AND status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
       ORDER BY id LIMIT ?`,
      afterId,
      now,
      now,
      limit,
    );
    return rows.map(toEvent);
  }

  async releaseLease(eventId: string, owner: string): Promise<void> {
    await this.x.run(
      'UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?',
      eventId,
      owner,
    );
  }

  async releaseAllLeases(): Promise<number> {
    return await this.x.run(
      'UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE lease_owner IS NOT NULL',
    );
  }

  async settleEvent(eventId: string, owner: string, x: EventSettlement): Promise<boolean> {
    const r = await this.x.run(
      `UPDATE events SET status = ?, attempt_count = ?, next_attempt_at = ?, delivered_at = ?, last_error = ?,
         lease_until = NULL, lease_owner = NULL
       WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
      x.status,
      x.attemptCount,
      x.nextAttemptAt,
      x.deliveredAt,
      x.lastError,
      eventId,
      owner,
    );
    return r > 0;
  }

  async insertAttempt(a: DeliveryAttempt): Promise<void> {
    await this.x.run(
      `INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...attemptValues(a),
    );
  }

  async recordDelivered(
    a: DeliveryAttempt,
    owner: string,
    deliveredAt: number,
    clearFailure: boolean,
  ): Promise<void> {
    const oneStatement = this.x.dialectSql.recordDelivered;
    if (oneStatement !== undefined) {
      await this.x.run(
        oneStatement,
        ...attemptValues(a),
        a.projectId,
        clearFailure,
        a.attemptNumber,
        deliveredAt,
        a.eventId,
        owner,
      );
      return;
    }
    await this.insertAttempt(a);
    await this.settleEvent(a.eventId, owner, {
      status: 'delivered',
      attemptCount: a.attemptNumber,
      nextAttemptAt: null,
      deliveredAt,
      lastError: null,
    });
    if (clearFailure) await this.clearIntegrationFailure(a.projectId);
  }

  async listAttempts(eventId: string): Promise<DeliveryAttempt[]> {
    const rows = await this.x.all<AttemptRow>(
      'SELECT * FROM attempts WHERE event_id = ? ORDER BY id',
      eventId,
    );
    return rows.map(toAttempt);
  }

  async noteIntegrationFailure(projectId: string, at: number): Promise<number> {
    const r = await this.x.one<{ failing_since: number | null }>(
      'UPDATE integrations SET failing_since = COALESCE(failing_since, ?) WHERE project_id = ? RETURNING failing_since',
      at,
      projectId,
    );
    return r?.failing_since === null || r?.failing_since === undefined ? at : Number(r.failing_since);
  }

  async clearIntegrationFailure(projectId: string): Promise<void> {
    await this.x.run(
      'UPDATE integrations SET failing_since = NULL WHERE project_id = ? AND failing_since IS NOT NULL',
      projectId,
    );
  }

  async listEvents(projectId: string, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEvent>> {
    // Newest first: the cursor is the last id seen, and the next page holds older ids.
    const where = ["project_id = ? AND destination = 'panel'"];
    const params: unknown[] = [projectId];
    if (page.after !== undefined) {
      where.push('id < ?');
      params.push(page.after);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.conversationId !== undefined) {
      where.push('conversation_id = ?');
      params.push(filter.conversationId);
    }
    const rows = await this.x.all<EventRow>(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
      page.limit + 1,
    );
    return pageOf(rows.map(toEvent), page.limit);
  }

  async requeueEvents(projectId: string, select: RequeueSelection, now: number): Promise<number> {
    const fresh = `status = 'pending', attempt_count = 0, next_attempt_at = ?, delivered_at = NULL, last_error = NULL,
      lease_until = NULL, lease_owner = NULL`;
    let rows: EventRow[];
    if (select.kind === 'one') {
      // A pending event waiting on its backoff is simply made due now; a settled one starts a
      // new delivery cycle.
      rows = await this.x.all<EventRow>(
        `UPDATE events SET next_attempt_at = ?
         WHERE project_id = ? AND id = ? AND destination = 'panel' AND status = 'pending' AND lease_owner IS NULL
         RETURNING *`,
        now,
        projectId,
        select.eventId,
      );
      if (rows.length === 0) {
        rows = await this.x.all<EventRow>(
          `UPDATE events SET ${fresh}
           WHERE project_id = ? AND id = ? AND destination = 'panel' AND status <> 'pending' RETURNING *`,
          now,
          projectId,
          select.eventId,
        );
      }
    } else {
      const params: unknown[] = [now, projectId, select.since];
      let extra = '';
      if (select.conversationId !== undefined) {
        extra = ' AND conversation_id = ?';
        params.push(select.conversationId);
      }
      rows = await this.x.all<EventRow>(
        `UPDATE events SET ${fresh}
         WHERE project_id = ? AND created_at >= ? AND destination = 'panel' AND status <> 'pending'${extra} RETURNING *`,
        ...params,
      );
    }
    // Announced after the commit like new events, so the dispatcher wakes at once.
    for (const r of rows) this.insertedEvents.push(toEvent(r));
    return rows.length;
  }
}
