/** Conversations: at most one active per room, closed with a reason. */
import type { Assignment, Conversation, ConversationState, EndedReason } from '../../model/types.js';
import { foundRowIs, type SqlExecutor, type WriteStatement } from './executor.js';
import { type Page, type PageRequest, selectPage } from './paging.js';

export interface ConversationFilter {
  readonly state?: ConversationState | undefined;
  readonly botId?: string | undefined;
  readonly userId?: string | undefined;
  /** Started at or after (ms). */
  readonly startedFrom?: number | undefined;
  /** Started before (ms). */
  readonly startedTo?: number | undefined;
}

export interface ConversationRow {
  id: string;
  project_id: string;
  room_id: string;
  bot_id: string;
  user_id: string;
  state: string;
  assignment: string | null;
  metadata: string | null;
  start_at: number;
  end_at: number | null;
  ended_reason: string | null;
}

export const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  projectId: r.project_id,
  roomId: r.room_id,
  botId: r.bot_id,
  userId: r.user_id,
  state: r.state as ConversationState,
  assignment: r.assignment === null ? null : (JSON.parse(r.assignment) as Assignment),
  metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
  startAt: Number(r.start_at),
  endAt: r.end_at === null ? null : Number(r.end_at),
  endedReason: r.ended_reason as EndedReason | null,
});

export class ConversationQueries {
  constructor(private readonly x: SqlExecutor) {}
  /**
   * Inserts an active conversation; false, and nothing written, when its room already has one
   * (the one-active index decides, also between nodes racing on the same pair).
   */
  async insert(c: Conversation): Promise<boolean> {
    const w = this.insertStatement(c);
    return (await this.x.run(w.sql, ...w.params)) > 0;
  }
  /**
   * `insert` as a statement to run with the start's event (OutboxTxQueries.insertAtNextSeqAfter):
   * it changes no row when the room already has an active conversation.
   */
  insertStatement(c: Conversation): WriteStatement {
    // ON CONFLICT rather than a caught unique violation: PostgreSQL would need a savepoint around
    // the insert to keep the transaction usable, two more round trips on every start.
    return {
      sql: `INSERT INTO conversations (id, project_id, room_id, bot_id, user_id, state, assignment, metadata, start_at,
        end_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT ${this.x.dialectSql.oneActiveConflict} DO NOTHING`,
      params: [
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
      ],
    };
  }
  async get(projectId: string, id: string): Promise<Conversation | undefined> {
    const r = await this.x.one<ConversationRow>(
      'SELECT * FROM conversations WHERE project_id = ? AND id = ?',
      projectId,
      id,
    );
    return r && toConversation(r);
  }
  async getActive(roomId: string): Promise<Conversation | undefined> {
    const r = await this.x.one<ConversationRow>(
      `SELECT * FROM conversations c WHERE ${this.x.dialectSql.activeInRoom('c', '= ?')}`,
      roomId,
    );
    return r && toConversation(r);
  }
  /** Closes the conversation if it is active; false, and nothing written, when it is not (closed meanwhile by someone else). */
  async close(id: string, endAt: number, reason: EndedReason): Promise<boolean> {
    const w = this.closeStatement(id, endAt, reason);
    return (await this.x.run(w.sql, ...w.params)) > 0;
  }
  /** `close` as a statement to run with the close's event (OutboxTxQueries.insertAtNextSeqAfter). */
  closeStatement(id: string, endAt: number, reason: EndedReason): WriteStatement {
    return {
      sql: `UPDATE conversations SET state = 'closed', end_at = ?, ended_reason = ? WHERE id = ? AND ${foundRowIs('state', 'active')}`,
      params: [endAt, reason, id],
    };
  }
  /** Conversations of a project, newest first; the cursor is the last id seen. */
  async list(projectId: string, f: ConversationFilter, page: PageRequest): Promise<Page<Conversation>> {
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
    return selectPage(
      this.x,
      page,
      toConversation,
      `SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      ...params,
    );
  }
}
