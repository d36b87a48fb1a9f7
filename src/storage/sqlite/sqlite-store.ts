/**
 * The embedded default store: one SQLite file in WAL mode through better-sqlite3.
 *
 * Writes go through one connection and are group-committed: every transaction requested during
 * one turn of the event loop runs inside a single BEGIN…COMMIT, each in its own SAVEPOINT (so one
 * failing request rolls back only itself), and all their promises settle after the one COMMIT.
 * With synchronous=FULL every commit is an fsync of the WAL; batching turns N fsyncs into one,
 * which is what lets a durable-before-200 API run at tens of thousands of requests per second.
 * Reads use a second connection, so they only ever see committed data.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
} from '../../domain/types.js';
import { StorageUnavailable, UniqueViolation } from '../errors.js';
import { MIGRATIONS, statementFor } from '../migrations/index.js';
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
  type ProjectRow,
  type RoomRow,
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
} from '../rows.js';
import type {
  Committed,
  ConversationFilter,
  EventClaim,
  EventFilter,
  EventSettlement,
  IntegrationPatch,
  Page,
  PageRequest,
  Queries,
  RequeueSelection,
  Store,
  StoreCapabilities,
  Tx,
} from '../store.js';

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

/**
 * Which pending events can be sent now: panel events while the project's integration exists and
 * is enabled; channel events while the room's bot has a channel webhook.
 */
const SENDABLE_JOIN = `LEFT JOIN integrations i ON e.destination = 'panel' AND i.project_id = e.project_id
         LEFT JOIN rooms r ON e.destination = 'channel' AND r.id = e.room_id
         LEFT JOIN bot_channels bc ON bc.bot_id = r.bot_id`;
const SENDABLE = `((e.destination = 'panel' AND i.enabled = 1) OR (e.destination = 'channel' AND bc.webhook_url IS NOT NULL))`;
/** Only the earliest pending event of a room (per destination) may go: per-room order. */
const ROOM_HEAD = `NOT EXISTS (SELECT 1 FROM events p WHERE p.room_id = e.room_id AND p.destination = e.destination
           AND p.status = 'pending' AND p.room_seq < e.room_seq)`;

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

function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, nextCursor: hasMore ? (items[items.length - 1]?.id ?? null) : null };
}

/** Prepared statements bound to one connection; each method is one domain query. */
class SqliteQueries implements Queries {
  private readonly cache = new Map<string, Database.Statement>();
  /** Ids of events inserted since the last take: announced after the commit. */
  insertedEvents: string[] = [];
  /** Messages inserted since the last take: published after the commit (live channels). */
  insertedMessages: Message[] = [];

  constructor(private readonly db: Db) {}

  private st(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    try {
      return this.st(sql).run(...params);
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  private one<R>(sql: string, ...params: unknown[]): R | undefined {
    try {
      return this.st(sql).get(...params) as R | undefined;
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  private all<R>(sql: string, ...params: unknown[]): R[] {
    try {
      return this.st(sql).all(...params) as R[];
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  async insertProject(p: Project): Promise<void> {
    this.run('INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)', p.id, p.name, p.createdAt);
  }
  async getProject(id: string): Promise<Project | undefined> {
    const r = this.one<ProjectRow>('SELECT * FROM projects WHERE id = ?', id);
    return r && toProject(r);
  }
  async listProjects(page: PageRequest): Promise<Page<Project>> {
    const rows = this.all<ProjectRow>(
      'SELECT * FROM projects WHERE id > ? ORDER BY id LIMIT ?',
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toProject), page.limit);
  }

  async insertCredential(c: Credential): Promise<void> {
    this.run(
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
    const r = this.one<CredentialRow>('SELECT * FROM credentials WHERE id = ?', id);
    return r && toCredential(r);
  }
  async getCredentialByClientId(clientId: string): Promise<Credential | undefined> {
    const r = this.one<CredentialRow>('SELECT * FROM credentials WHERE client_id = ?', clientId);
    return r && toCredential(r);
  }
  async listCredentials(projectId: string): Promise<Credential[]> {
    return this.all<CredentialRow>(
      'SELECT * FROM credentials WHERE project_id = ? ORDER BY id',
      projectId,
    ).map(toCredential);
  }
  async revokeCredential(projectId: string, id: string, at: number): Promise<boolean> {
    const r = this.run(
      'UPDATE credentials SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL',
      at,
      projectId,
      id,
    );
    return r.changes > 0;
  }

  async insertBot(b: Bot): Promise<void> {
    this.run(
      'INSERT INTO bots (id, project_id, name, channel, created_at) VALUES (?, ?, ?, ?, ?)',
      b.id,
      b.projectId,
      b.name,
      b.channel,
      b.createdAt,
    );
  }
  async getBot(projectId: string, id: string): Promise<Bot | undefined> {
    const r = this.one<BotRow>('SELECT * FROM bots WHERE project_id = ? AND id = ?', projectId, id);
    return r && toBot(r);
  }
  async listBots(projectId: string, page: PageRequest): Promise<Page<Bot>> {
    const rows = this.all<BotRow>(
      'SELECT * FROM bots WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?',
      projectId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toBot), page.limit);
  }

  async insertEndUser(u: EndUser): Promise<void> {
    this.run(
      'INSERT INTO end_users (id, project_id, names, reference_id, created_at) VALUES (?, ?, ?, ?, ?)',
      u.id,
      u.projectId,
      u.names,
      u.referenceId,
      u.createdAt,
    );
  }
  async getEndUser(projectId: string, id: string): Promise<EndUser | undefined> {
    const r = this.one<EndUserRow>('SELECT * FROM end_users WHERE project_id = ? AND id = ?', projectId, id);
    return r && toEndUser(r);
  }
  async getEndUserByReference(projectId: string, referenceId: string): Promise<EndUser | undefined> {
    const r = this.one<EndUserRow>(
      'SELECT * FROM end_users WHERE project_id = ? AND reference_id = ?',
      projectId,
      referenceId,
    );
    return r && toEndUser(r);
  }
  async listEndUsers(projectId: string, page: PageRequest): Promise<Page<EndUser>> {
    const rows = this.all<EndUserRow>(
      'SELECT * FROM end_users WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?',
      projectId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toEndUser), page.limit);
  }

  async insertIntegration(i: Integration): Promise<void> {
    this.run(
      `INSERT INTO integrations (id, project_id, webhook_url, auth_type, authorization_value, signing_secret, enabled,
        disabled_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      i.id,
      i.projectId,
      i.webhookUrl,
      i.authType,
      i.authorization,
      i.signingSecret,
      i.enabled ? 1 : 0,
      i.disabledReason,
      i.createdAt,
      i.updatedAt,
    );
  }
  async getIntegration(projectId: string): Promise<Integration | undefined> {
    const r = this.one<IntegrationRow>('SELECT * FROM integrations WHERE project_id = ?', projectId);
    return r && toIntegration(r);
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
    if (patch.authorization !== undefined) add('authorization_value', patch.authorization);
    if (patch.signingSecret !== undefined) add('signing_secret', patch.signingSecret);
    if (patch.enabled !== undefined) add('enabled', patch.enabled ? 1 : 0);
    if (patch.disabledReason !== undefined) add('disabled_reason', patch.disabledReason);
    const r = this.run(
      `UPDATE integrations SET ${sets.join(', ')} WHERE project_id = ?`,
      ...params,
      projectId,
    );
    if (r.changes === 0) return undefined;
    return this.getIntegration(projectId);
  }
  async deleteIntegration(projectId: string): Promise<boolean> {
    return this.run('DELETE FROM integrations WHERE project_id = ?', projectId).changes > 0;
  }

  async getRoomByPair(botId: string, userId: string): Promise<Room | undefined> {
    const r = this.one<RoomRow>('SELECT * FROM rooms WHERE bot_id = ? AND user_id = ?', botId, userId);
    return r && toRoom(r);
  }
  async insertRoom(r: Room): Promise<void> {
    this.run(
      'INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at) VALUES (?, ?, ?, ?, 0, ?)',
      r.id,
      r.projectId,
      r.botId,
      r.userId,
      r.createdAt,
    );
  }
  async nextRoomSeq(roomId: string): Promise<number> {
    const r = this.one<{ last_seq: number }>(
      'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq',
      roomId,
    );
    if (r === undefined) throw new Error(`room ${roomId} does not exist`);
    return Number(r.last_seq);
  }

  async insertConversation(c: Conversation): Promise<void> {
    this.run(
      `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, assignment, metadata, start_at,
        end_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
  }
  async getConversation(projectId: string, id: string): Promise<Conversation | undefined> {
    const r = this.one<ConversationRow>(
      'SELECT * FROM conversations WHERE project_id = ? AND id = ?',
      projectId,
      id,
    );
    return r && toConversation(r);
  }
  async getActiveConversation(roomId: string): Promise<Conversation | undefined> {
    const r = this.one<ConversationRow>(
      "SELECT * FROM conversations WHERE room_id = ? AND state = 'active'",
      roomId,
    );
    return r && toConversation(r);
  }
  async closeConversation(id: string, endAt: number, reason: EndedReason): Promise<void> {
    this.run(
      "UPDATE conversations SET state = 'closed', end_at = ?, ended_reason = ? WHERE id = ? AND state = 'active'",
      endAt,
      reason,
      id,
    );
  }

  async insertMessage(m: Message): Promise<void> {
    this.run(
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
    this.run(
      `INSERT INTO events (id, project_id, room_id, room_seq, conversation_id, destination, type, payload, created_at,
        status, attempt_count, next_attempt_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      e.id,
      e.projectId,
      e.roomId,
      e.roomSeq,
      e.conversationId,
      e.destination,
      e.type,
      e.payload,
      e.createdAt,
      e.status,
      e.attemptCount,
      e.nextAttemptAt,
      e.deliveredAt,
    );
    if (e.status === 'pending') this.insertedEvents.push(e.id);
  }
  async getEvent(id: string): Promise<OutboxEvent | undefined> {
    const r = this.one<EventRow>('SELECT * FROM events WHERE id = ?', id);
    return r && toEvent(r);
  }
  async cancelPendingEvents(projectId: string): Promise<number> {
    return this.run(
      "UPDATE events SET status = 'cancelled', next_attempt_at = NULL WHERE project_id = ? AND status = 'pending' AND destination = 'panel'",
      projectId,
    ).changes;
  }

  async getRoom(projectId: string, id: string): Promise<Room | undefined> {
    const r = this.one<RoomRow>('SELECT * FROM rooms WHERE project_id = ? AND id = ?', projectId, id);
    return r && toRoom(r);
  }
  async setRoomBotStep(roomId: string, step: string | null): Promise<void> {
    this.run('UPDATE rooms SET bot_step = ? WHERE id = ?', step, roomId);
  }

  async getMessageByExternalId(roomId: string, externalId: string): Promise<Message | undefined> {
    const r = this.one<MessageRow>(
      'SELECT * FROM messages WHERE room_id = ? AND external_id = ?',
      roomId,
      externalId,
    );
    return r && toMessage(r);
  }
  async listConversationMessages(conversationId: string, page: PageRequest): Promise<Page<Message>> {
    const rows = this.all<MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?',
      conversationId,
      page.after ?? '',
      page.limit + 1,
    );
    return pageOf(rows.map(toMessage), page.limit);
  }
  async listRoomMessages(roomId: string, page: PageRequest): Promise<Page<Message>> {
    const rows = this.all<MessageRow>(
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
    const rows = this.all<ConversationRow>(
      `SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
      page.limit + 1,
    );
    return pageOf(rows.map(toConversation), page.limit);
  }

  async getBotChannel(botId: string): Promise<BotChannelConfig | undefined> {
    const r = this.one<BotChannelRow>('SELECT * FROM bot_channels WHERE bot_id = ?', botId);
    return r && toBotChannel(r);
  }
  async putBotChannel(c: BotChannelConfig): Promise<void> {
    this.run(
      `INSERT INTO bot_channels (bot_id, webhook_url, signing_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET webhook_url = excluded.webhook_url, signing_key = excluded.signing_key,
         updated_at = excluded.updated_at`,
      c.botId,
      c.webhookUrl,
      c.signingKey,
      c.createdAt,
      c.updatedAt,
    );
  }
  async getBotRules(botId: string): Promise<string | undefined> {
    return this.one<{ rules: string }>('SELECT rules FROM bot_rules WHERE bot_id = ?', botId)?.rules;
  }
  async putBotRules(botId: string, rulesJson: string, at: number): Promise<void> {
    this.run(
      `INSERT INTO bot_rules (bot_id, rules, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      botId,
      rulesJson,
      at,
    );
  }

  async claimDueEvents(c: EventClaim): Promise<OutboxEvent[]> {
    // The head of each (room, destination) — its earliest pending event — is the only
    // candidate there, so a room waiting on a retry holds only itself. ROW_NUMBER caps each
    // project's share of one claim, so one integration's backlog cannot crowd out the others.
    const rows = this.all<EventRow>(
      `WITH heads AS (
         SELECT e.id, e.next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY e.project_id, e.destination ORDER BY e.next_attempt_at, e.id) AS rn
         FROM events e
         ${SENDABLE_JOIN}
         WHERE e.status = 'pending' AND e.next_attempt_at <= ?
           AND (e.lease_until IS NULL OR e.lease_until < ?)
           AND (e.project_id || ':' || e.destination) NOT IN (SELECT value FROM json_each(?))
           AND ${SENDABLE} AND ${ROOM_HEAD}
       )
       UPDATE events SET lease_until = ?, lease_owner = ?
       WHERE id IN (SELECT id FROM heads WHERE rn <= ? ORDER BY next_attempt_at, id LIMIT ?)
       RETURNING *`,
      c.now,
      c.now,
      JSON.stringify(c.excludeProjects),
      c.leaseUntil,
      c.owner,
      c.perProjectLimit,
      c.limit,
    );
    return rows
      .map(toEvent)
      .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.id.localeCompare(b.id));
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = this.one<{ due: number | null }>(
      `SELECT MIN(CASE WHEN e.lease_until IS NOT NULL AND e.lease_until > e.next_attempt_at
                       THEN e.lease_until ELSE e.next_attempt_at END) AS due
       FROM events e
       ${SENDABLE_JOIN}
       WHERE e.status = 'pending' AND ${SENDABLE} AND ${ROOM_HEAD}`,
    );
    return r?.due === null || r?.due === undefined ? undefined : Number(r.due);
  }

  async releaseLease(eventId: string, owner: string): Promise<void> {
    this.run(
      'UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?',
      eventId,
      owner,
    );
  }

  async releaseAllLeases(): Promise<number> {
    return this.run('UPDATE events SET lease_until = NULL, lease_owner = NULL WHERE lease_owner IS NOT NULL')
      .changes;
  }

  async settleEvent(eventId: string, owner: string, x: EventSettlement): Promise<boolean> {
    const r = this.run(
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
    return r.changes > 0;
  }

  async insertAttempt(a: DeliveryAttempt): Promise<void> {
    this.run(
      `INSERT INTO attempts (id, event_id, project_id, attempt_number, started_at, duration_ms, url, status_code,
         response_body, error, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    );
  }

  async listAttempts(eventId: string): Promise<DeliveryAttempt[]> {
    return this.all<AttemptRow>('SELECT * FROM attempts WHERE event_id = ? ORDER BY id', eventId).map(
      toAttempt,
    );
  }

  async noteIntegrationFailure(projectId: string, at: number): Promise<number> {
    const r = this.one<{ failing_since: number | null }>(
      'UPDATE integrations SET failing_since = COALESCE(failing_since, ?) WHERE project_id = ? RETURNING failing_since',
      at,
      projectId,
    );
    return r?.failing_since === null || r?.failing_since === undefined ? at : Number(r.failing_since);
  }

  async clearIntegrationFailure(projectId: string): Promise<void> {
    this.run(
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
    const rows = this.all<EventRow>(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
      page.limit + 1,
    );
    return pageOf(rows.map(toEvent), page.limit);
  }

  async requeueEvents(projectId: string, select: RequeueSelection, now: number): Promise<number> {
    const fresh = `status = 'pending', attempt_count = 0, next_attempt_at = ?, delivered_at = NULL, last_error = NULL,
      lease_until = NULL, lease_owner = NULL`;
    let ids: Array<{ id: string }>;
    if (select.kind === 'one') {
      // A pending event waiting on its backoff is simply made due now; a settled one starts a
      // new delivery cycle.
      ids = this.all<{ id: string }>(
        `UPDATE events SET next_attempt_at = ?
         WHERE project_id = ? AND id = ? AND destination = 'panel' AND status = 'pending' AND lease_owner IS NULL
         RETURNING id`,
        now,
        projectId,
        select.eventId,
      );
      if (ids.length === 0) {
        ids = this.all<{ id: string }>(
          `UPDATE events SET ${fresh}
           WHERE project_id = ? AND id = ? AND destination = 'panel' AND status <> 'pending' RETURNING id`,
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
      ids = this.all<{ id: string }>(
        `UPDATE events SET ${fresh}
         WHERE project_id = ? AND created_at >= ? AND destination = 'panel' AND status <> 'pending'${extra} RETURNING id`,
        ...params,
      );
    }
    // Announced after the commit like new events, so the dispatcher wakes at once.
    for (const r of ids) this.insertedEvents.push(r.id);
    return ids.length;
  }
}

interface Queued {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:' (tests of pure logic only: the reader cannot see it). */
  readonly path: string;
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly capabilities: StoreCapabilities = { singleProcess: true, skipLocked: false, listenNotify: false };
  readonly queries: Queries;
  private readonly writer: Db;
  private readonly reader: Db;
  private readonly writeQueries: SqliteQueries;
  private queue: Queued[] = [];
  private flushing = false;
  private closed = false;
  private readonly listeners: Array<(c: Committed) => void> = [];

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.writer = openConnection(options.path);
    this.reader = options.path === ':memory:' ? this.writer : openConnection(options.path);
    this.writeQueries = new SqliteQueries(this.writer);
    this.queries = new SqliteQueries(this.reader);
  }

  async migrate(): Promise<number[]> {
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
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
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

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StorageUnavailable('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  onCommitted(listener: (committed: Committed) => void): void {
    this.listeners.push(listener);
  }

  /** Runs every queued transaction in one BEGIN…COMMIT; see the file comment. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.runBatch(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    const db = this.writer;
    const tx = this.writeQueries;
    tx.insertedEvents = [];
    tx.insertedMessages = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const committedEvents: string[] = [];
    const committedMessages: Message[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const q of batch) {
        db.exec('SAVEPOINT request');
        const eventsBefore = tx.insertedEvents.length;
        const messagesBefore = tx.insertedMessages.length;
        try {
          const value = await q.fn(tx);
          db.exec('RELEASE request');
          outcomes.push({ ok: true, value });
          committedEvents.push(...tx.insertedEvents.slice(eventsBefore));
          committedMessages.push(...tx.insertedMessages.slice(messagesBefore));
        } catch (error) {
          db.exec('ROLLBACK TO request');
          db.exec('RELEASE request');
          tx.insertedEvents.length = eventsBefore;
          tx.insertedMessages.length = messagesBefore;
          outcomes.push({ ok: false, error });
        }
      }
      db.exec('COMMIT');
    } catch (e) {
      // BEGIN, a savepoint or COMMIT itself failed (disk full, I/O error): nothing of the batch
      // is kept, and every caller hears why.
      const err = translateSqliteError(e);
      if (db.inTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // The connection already rolled back on its own (SQLite does on some I/O errors).
        }
      }
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (o?.ok) q.resolve(o.value);
      else q.reject(o?.error);
    });
    if (committedEvents.length > 0 || committedMessages.length > 0) {
      const committed: Committed = { eventIds: committedEvents, messages: committedMessages };
      for (const l of this.listeners) {
        try {
          l(committed);
        } catch {
          // A listener's failure must not undo what is committed; listeners log their own.
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((r) => setImmediate(r));
    if (this.reader !== this.writer) this.reader.close();
    this.writer.close();
  }
}

function openConnection(path: string): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw translateSqliteError(e);
  }
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk (the WAL fsynced) before its promise settles, so a 200 survives
  // a power cut, not only a kill -9. Group commit pays for it (one fsync per batch).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Another process (the CLI, a second server by mistake) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  return db;
}
