/** Rooms (one per bot and end user), their event order (room_seq) and the pair lookup (findPair). */
import type { Bot, Conversation, EndUser, Room } from '../../model/types.js';
import { type BotRow, toBot } from './bots.js';
import { type ConversationRow, toConversation } from './conversations.js';
import { type EndUserRow, toEndUser } from './end-users.js';
import type { SqlExecutor } from './executor.js';

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

export interface RoomRow {
  id: string;
  project_id: string;
  bot_id: string;
  user_id: string;
  last_seq: number;
  created_at: number;
  bot_step: string | null;
}

export const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  projectId: r.project_id,
  botId: r.bot_id,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  botStep: r.bot_step,
});

/** The columns of the tables that `PAIR_SELECT` joins, under the aliases b, u, r and c. */
const PAIR_COLUMNS = {
  b: ['id', 'project_id', 'name', 'channel', 'engine', 'created_at', 'deleted_at'] satisfies Array<
    keyof BotRow
  >,
  u: ['id', 'project_id', 'names', 'reference_id', 'created_at', 'deleted_at'] satisfies Array<
    keyof EndUserRow
  >,
  r: ['id', 'project_id', 'bot_id', 'user_id', 'last_seq', 'created_at', 'bot_step'] satisfies Array<
    keyof RoomRow
  >,
  c: [
    'id',
    'project_id',
    'room_id',
    'bot_id',
    'user_id',
    'state',
    'assignment',
    'metadata',
    'start_at',
    'end_at',
    'ended_reason',
  ] satisfies Array<keyof ConversationRow>,
};

/**
 * The select list of a bot, end user, room and conversation joined in one row, read as an array
 * (no object with 28 keys built per start or close), then two facts the same requests need next:
 * whether the project has an integration (the events' status) and the bot's rules (the hand-back).
 */
export const PAIR_SELECT = [
  ...Object.entries(PAIR_COLUMNS).flatMap(([alias, columns]) => columns.map((c) => `${alias}.${c}`)),
  'EXISTS (SELECT 1 FROM integrations i WHERE i.project_id = b.project_id) AS has_integration',
  'br.rules AS bot_rules',
].join(', ');

/** Where each table's columns start in a `PAIR_SELECT` row. */
const PAIR_OFFSETS = (() => {
  let at = 0;
  const out = {} as Record<keyof typeof PAIR_COLUMNS, number>;
  for (const [alias, columns] of Object.entries(PAIR_COLUMNS)) {
    out[alias as keyof typeof PAIR_COLUMNS] = at;
    at += columns.length;
  }
  return { ...out, extras: at };
})();

function part<R>(row: readonly unknown[], alias: keyof typeof PAIR_COLUMNS): R | undefined {
  const at = PAIR_OFFSETS[alias];
  // A LEFT JOIN that found nothing leaves every column of its table NULL (id comes first).
  if (row[at] == null) return undefined;
  const columns = PAIR_COLUMNS[alias];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i] as string] = row[at + i];
  return out as R;
}

/** Splits a row selected with `PAIR_SELECT` (as an array) into its tables' rows and facts. */
export function splitPairRow(row: readonly unknown[]): {
  bot: BotRow | undefined;
  user: EndUserRow | undefined;
  room: RoomRow | undefined;
  active: ConversationRow | undefined;
  hasIntegration: boolean;
  botRules: string | null;
} {
  const hasIntegration = row[PAIR_OFFSETS.extras];
  return {
    bot: part<BotRow>(row, 'b'),
    user: part<EndUserRow>(row, 'u'),
    room: part<RoomRow>(row, 'r'),
    active: part<ConversationRow>(row, 'c'),
    // PostgreSQL answers EXISTS with a boolean, SQLite with 0 or 1.
    hasIntegration: hasIntegration === true || hasIntegration === 1,
    botRules: (row[PAIR_OFFSETS.extras + 1] as string | null | undefined) ?? null,
  };
}

export class RoomQueries {
  constructor(private readonly x: SqlExecutor) {}
  async get(projectId: string, id: string): Promise<Room | undefined> {
    const r = await this.x.one<RoomRow>('SELECT * FROM rooms WHERE project_id = ? AND id = ?', projectId, id);
    return r && toRoom(r);
  }
  async getByPair(botId: string, userId: string): Promise<Room | undefined> {
    const r = await this.x.one<RoomRow>(
      'SELECT * FROM rooms WHERE bot_id = ? AND user_id = ?',
      botId,
      userId,
    );
    return r && toRoom(r);
  }
  /**
   * A project's bot and end user by id, their room and its active conversation, in one read:
   * what starting or closing a conversation needs first. Deleted bots and users are found too,
   * with their `deletedAt`: starting refuses them, closing a conversation still open on one
   * does not.
   */
  async findPair(projectId: string, botId: string, userId: string): Promise<PairState> {
    const row = await this.x.tuple(
      `SELECT ${PAIR_SELECT}
       FROM (SELECT 1 AS one) x
       LEFT JOIN bots b ON b.project_id = ? AND b.id = ?
       LEFT JOIN end_users u ON u.project_id = ? AND u.id = ?
       LEFT JOIN rooms r ON r.bot_id = b.id AND r.user_id = u.id
       LEFT JOIN conversations c ON ${this.x.dialectSql.activeInRoom('c', '= r.id')}
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
  async setBotStep(roomId: string, step: string | null): Promise<void> {
    await this.x.run('UPDATE rooms SET bot_step = ? WHERE id = ?', step, roomId);
  }
  async insert(r: Room): Promise<void> {
    await this.x.guardedRun(
      'INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at) VALUES (?, ?, ?, ?, 0, ?)',
      r.id,
      r.projectId,
      r.botId,
      r.userId,
      r.createdAt,
    );
  }
  /**
   * Inserts the room of a pair; false, and nothing written, when the pair has one already. ON
   * CONFLICT rather than a caught unique violation: PostgreSQL would need a savepoint around the
   * insert, two more round trips on every first contact, and one that a batch's interleaved
   * requests cannot take (PostgresStore.runBatch).
   */
  async insertIfAbsent(r: Room): Promise<boolean> {
    const inserted = await this.x.run(
      `INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at) VALUES (?, ?, ?, ?, 0, ?)
       ON CONFLICT (bot_id, user_id) DO NOTHING`,
      r.id,
      r.projectId,
      r.botId,
      r.userId,
      r.createdAt,
    );
    return inserted > 0;
  }
  /** Reserves the next position in the room's event order (row-locks the room where it can). */
  async nextSeq(roomId: string): Promise<number> {
    const r = await this.x.one<{ last_seq: number }>(
      'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq',
      roomId,
    );
    if (r === undefined) throw new Error(`room ${roomId} does not exist`);
    return Number(r.last_seq);
  }
}
