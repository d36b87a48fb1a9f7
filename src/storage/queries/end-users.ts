/** End users (the people bots talk to), including the sweep of silent web chat sessions. */
import type { EndUser } from '../../model/types.js';
import type { LookupOptions } from './columns.js';
import { deletion, nameOf, nameText } from './columns.js';
import { LIVE, type SqlExecutor } from './executor.js';
import { type Page, type PageRequest, selectPage } from './paging.js';

export interface EndUserPatch {
  /** Absent: unchanged. */
  readonly names?: string | undefined;
  /** Absent: unchanged; null: cleared. */
  readonly referenceId?: string | null | undefined;
}

export interface EndUserRow {
  id: string;
  project_id: string;
  names: string;
  reference_id: string | null;
  created_at: number;
  deleted_at: number | null;
}

export const toEndUser = (r: EndUserRow): EndUser => ({
  id: r.id,
  projectId: r.project_id,
  names: nameOf(r.names),
  referenceId: r.reference_id,
  createdAt: Number(r.created_at),
  ...deletion(r.deleted_at),
});

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

export class EndUserQueries {
  constructor(private readonly x: SqlExecutor) {}
  async insert(u: EndUser): Promise<void> {
    await this.x.guardedRun(
      'INSERT INTO end_users (id, project_id, names, reference_id, created_at) VALUES (?, ?, ?, ?, ?)',
      u.id,
      u.projectId,
      nameText(u.names),
      u.referenceId,
      u.createdAt,
    );
  }
  /** A live end user; with `includeDeleted`, a deleted one too (reading history: names stay). */
  async get(projectId: string, id: string, options: LookupOptions = {}): Promise<EndUser | undefined> {
    const r = await this.x.one<EndUserRow>(
      `SELECT * FROM end_users WHERE project_id = ? AND id = ?${options.includeDeleted ? '' : LIVE}`,
      projectId,
      id,
    );
    return r && toEndUser(r);
  }
  /** The live end user with this referenceId (a deleted user's referenceId is free again). */
  async getByReference(projectId: string, referenceId: string): Promise<EndUser | undefined> {
    const r = await this.x.one<EndUserRow>(
      `SELECT * FROM end_users WHERE project_id = ? AND reference_id = ?${LIVE}`,
      projectId,
      referenceId,
    );
    return r && toEndUser(r);
  }
  async list(projectId: string, page: PageRequest): Promise<Page<EndUser>> {
    return selectPage(
      this.x,
      page,
      toEndUser,
      `SELECT * FROM end_users WHERE project_id = ? AND id > ?${LIVE} ORDER BY id LIMIT ?`,
      projectId,
      page.after ?? '',
    );
  }
  /**
   * Changes a live end user's names and/or referenceId (null clears it); undefined when there is
   * none. A referenceId another live user has is refused (UniqueViolation end_users_reference).
   */
  async update(projectId: string, id: string, patch: EndUserPatch): Promise<EndUser | undefined> {
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
    if (sets.length === 0) return this.get(projectId, id);
    // guardedRun: a referenceId taken by another live user is a UniqueViolation the caller answers.
    const changed = await this.x.guardedRun(
      `UPDATE end_users SET ${sets.join(', ')} WHERE project_id = ? AND id = ?${LIVE}`,
      ...params,
      projectId,
      id,
    );
    return changed === 0 ? undefined : this.get(projectId, id);
  }
  /** Marks a live end user deleted; false when there is none. */
  async softDelete(projectId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.x.run(
      `UPDATE end_users SET deleted_at = ? WHERE project_id = ? AND id = ?${LIVE}`,
      at,
      projectId,
      id,
    );
    return changed > 0;
  }
  /**
   * Up to `limit` web chat end users created before `createdBefore` who never wrote, whose
   * rooms (all of web chat bots) never had a conversation or an event.
   */
  async silentWebchat(createdBefore: number, limit: number): Promise<string[]> {
    const rows = await this.x.all<{ id: string }>(
      `SELECT u.id FROM end_users u WHERE ${SILENT_WEBCHAT_USER} ORDER BY u.created_at LIMIT ?`,
      createdBefore,
      limit,
    );
    return rows.map((r) => r.id);
  }
  /**
   * Deletes such a user with their rooms and the rooms' messages (the bot's greeting), checking
   * the conditions again; false when the user no longer qualifies (or is gone already).
   */
  async deleteSilentWebchat(userId: string, createdBefore: number): Promise<boolean> {
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
}
