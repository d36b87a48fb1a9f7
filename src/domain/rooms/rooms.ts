/**
 * Rooms: the one place a (bot, end user) pair talks, across conversations. Who owns a room at a
 * given moment is read here: the bot, or the panel while a conversation is active.
 */
import { ApiError } from '../../errors.js';
import { newId } from '../../model/ids.js';
import type { Bot, EndUser, Room } from '../../model/types.js';
import type { PairState, Queries, Tx } from '../../storage/store.js';

/**
 * The bot and end user a request names, their room and its active conversation, in one read;
 * the 404s when the bot or the user does not exist in the project. A deleted bot or user is not
 * found either, unless the pair still has an active conversation and `closing` it: one started
 * while the deletion ran (PostgreSQL, no lock between them) must remain closable. A read that
 * changes nothing may pass the committed queries instead of a transaction.
 */
export async function findPair(
  tx: Pick<Queries, 'rooms'>,
  projectId: string,
  botId: string,
  userId: string,
  closing = false,
): Promise<PairState & { bot: Bot; user: EndUser }> {
  const found = await tx.rooms.findPair(projectId, botId, userId);
  const keepDeleted = closing && found.active !== undefined;
  const bot = keepDeleted || found.bot?.deletedAt == null ? found.bot : undefined;
  const user = keepDeleted || found.user?.deletedAt == null ? found.user : undefined;
  if (bot === undefined) {
    throw new ApiError('bot_not_found', `No bot with id ${JSON.stringify(botId)} exists in this project.`);
  }
  if (user === undefined) {
    throw new ApiError(
      'user_not_found',
      `No end user with id ${JSON.stringify(userId)} exists in this project.`,
    );
  }
  return { ...found, bot, user };
}

/** The room of a (bot, end user) pair, created on first use and reused afterwards. */
export async function roomFor(
  tx: Tx,
  projectId: string,
  bot: Bot,
  user: EndUser,
  now: number,
): Promise<Room> {
  return (await tx.rooms.getByPair(bot.id, user.id)) ?? createRoom(tx, projectId, bot, user, now);
}

/** Creates the room of a (bot, end user) pair on its first use (or finds the racing winner's). */
export async function createRoom(
  tx: Tx,
  projectId: string,
  bot: Bot,
  user: EndUser,
  now: number,
): Promise<Room> {
  const room: Room = { id: newId('room', now), projectId, botId: bot.id, userId: user.id, createdAt: now };
  if (await tx.rooms.insertIfAbsent(room)) return room;
  // Another transaction created the pair's room first (two nodes, or two requests racing). On
  // PostgreSQL (read committed) the insert gave way once the winner committed, so this reads it.
  const winner = await tx.rooms.getByPair(bot.id, user.id);
  if (winner === undefined) throw new Error(`the room of bot ${bot.id} and user ${user.id} gave way to none`);
  return winner;
}
