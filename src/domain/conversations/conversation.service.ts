/**
 * Conversations: the episodes of panel ownership of a room. Functions take the transaction; the
 * route owns its boundary.
 */

import { handBackToBot } from '../rooms/bot-turn.js';
import { appendEvent } from '../outbox.js';
import { ApiError } from '../../errors.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { PairState, Tx } from '../../storage/store.js';
import { conversationCloseEvent, conversationStartEvent } from '../events.js';
import { newId } from '../ids.js';
import { sendToUser } from '../messages/outbound.service.js';
import type { Assignment, Bot, Conversation, EndUser, Room } from '../../model/types.js';

export interface StartConversationInput {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly initialMessage?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly assignment?: Assignment | undefined;
  /**
   * Who wrote initialMessage: the panel (api.md §4.6: it is delivered to the end user as the
   * first message) or the user (a bot's handoff: the user's own message, already stored, is
   * only echoed as initial_message in the event).
   */
  readonly initialMessageFrom?: 'panel' | 'user';
  readonly now: number;
}

/**
 * The bot and end user a request names, their room and its active conversation, in one read;
 * the 404s when the bot or the user does not exist in the project. A deleted bot or user is not
 * found either, unless the pair still has an active conversation and `closing` it: one started
 * while the deletion ran (PostgreSQL, no lock between them) must remain closable.
 */
async function findPair(
  tx: Tx,
  projectId: string,
  botId: string,
  userId: string,
  closing = false,
): Promise<PairState & { bot: Bot; user: EndUser }> {
  const found = await tx.findPair(projectId, botId, userId);
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
  return (await tx.getRoomByPair(bot.id, user.id)) ?? createRoom(tx, projectId, bot, user, now);
}

/** Creates the room of a (bot, end user) pair on its first use (or finds the racing winner's). */
async function createRoom(tx: Tx, projectId: string, bot: Bot, user: EndUser, now: number): Promise<Room> {
  const room: Room = { id: newId('room', now), projectId, botId: bot.id, userId: user.id, createdAt: now };
  try {
    await tx.insertRoom(room);
  } catch (e) {
    // Another transaction created the pair's room first (two nodes, or two requests racing).
    if (e instanceof UniqueViolation && e.constraint === 'rooms_pair') {
      const winner = await tx.getRoomByPair(bot.id, user.id);
      if (winner !== undefined) return winner;
    }
    throw e;
  }
  return room;
}

function alreadyActive(conversationId: string): ApiError {
  return new ApiError(
    'conversation_already_active',
    `This bot and user already have an active conversation (${conversationId}); close it first.`,
    {},
    {
      developerExtra: {
        en: `Active conversation: ${conversationId}.`,
        es: `Conversación activa: ${conversationId}.`,
        pt: `Conversa ativa: ${conversationId}.`,
      },
    },
  );
}

export interface Started {
  readonly conversation: Conversation;
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
}

/** api.md §4.6; 409 conversation_already_active when the pair has one (or another start won). */
export async function startConversation(tx: Tx, input: StartConversationInput): Promise<Started> {
  const outcome = await tryStartConversation(tx, input);
  if ('activeId' in outcome) throw alreadyActive(outcome.activeId);
  return outcome;
}

/**
 * Starts a conversation, or names the active one that is already there: found at once, or
 * inserted by a concurrent start that won the one-active index. On PostgreSQL (read committed)
 * the winner is committed when the insert gives way, so this transaction reads it; `activeId` is
 * 'unknown' only if the winner was closed again in between.
 */
export async function tryStartConversation(
  tx: Tx,
  input: StartConversationInput,
): Promise<Started | { readonly activeId: string }> {
  const { projectId, now } = input;
  const found = await findPair(tx, projectId, input.botId, input.userId);
  const { bot, user } = found;
  if (found.active !== undefined) return { activeId: found.active.id };
  const room = found.room ?? (await createRoom(tx, projectId, bot, user, now));

  const conversation: Conversation = {
    id: newId('conv', now),
    projectId,
    roomId: room.id,
    botId: bot.id,
    userId: user.id,
    state: 'active',
    assignment: input.assignment ?? null,
    metadata: input.metadata ?? null,
    startAt: now,
    endAt: null,
    endedReason: null,
  };
  if (!(await tx.insertConversation(conversation))) {
    // Two nodes racing on the same pair: the database's unique index decided.
    const winner = await tx.getActiveConversation(room.id);
    return { activeId: winner?.id ?? 'unknown' };
  }
  // The event first: the panel hears of the conversation before any message in it.
  await appendEvent(tx, {
    projectId,
    roomId: room.id,
    conversationId: conversation.id,
    type: 'conversation.start',
    createdAt: now,
    projectHasIntegration: found.hasIntegration,
    payload: conversationStartEvent({
      timestamp: now,
      projectId,
      roomId: room.id,
      user,
      bot,
      conversationId: conversation.id,
      assignment: input.assignment,
      initialMessage: input.initialMessage,
      metadata: input.metadata,
    }),
  });
  if (input.initialMessage !== undefined && input.initialMessageFrom !== 'user') {
    await sendToUser(tx, {
      bot,
      user,
      room,
      conversationId: conversation.id,
      sender: 'operator',
      message: { type: 'text', content: { body: input.initialMessage } },
      now,
    });
  }
  return { conversation, bot, user, room };
}

export interface CloseConversationInput {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly redirectPayload?: { readonly type: 'text' | 'edge'; readonly text: string } | undefined;
  readonly now: number;
}

/**
 * api.md §4.7: closes the active conversation of a bot and user and hands the room back to the
 * bot. A `text` redirect is the last message the user gets from the panel; an `edge` redirect
 * names the bot flow step where the bot resumes.
 */
export async function closeConversation(
  tx: Tx,
  input: CloseConversationInput,
): Promise<{ conversation: Conversation; bot: Bot; user: EndUser; room: Room }> {
  const { projectId, now } = input;
  const found = await findPair(tx, projectId, input.botId, input.userId, true);
  const { bot, user, room, active } = found;
  if (room === undefined || active === undefined) {
    throw new ApiError(
      'conversation_not_found',
      `Bot ${JSON.stringify(bot.id)} and user ${JSON.stringify(user.id)} have no active conversation.`,
    );
  }
  // The conditional update decides between concurrent closes (two panel agents, two nodes):
  // only the one that changed the row goes on; the others find nothing active.
  if (!(await tx.closeConversation(active.id, now, 'closed_by_operator'))) {
    throw new ApiError(
      'conversation_not_found',
      `Conversation ${JSON.stringify(active.id)} is no longer active.`,
    );
  }
  const redirect = input.redirectPayload;
  if (redirect?.type === 'text') {
    await sendToUser(tx, {
      bot,
      user,
      room,
      conversationId: active.id,
      sender: 'operator',
      message: { type: 'text', content: { body: redirect.text } },
      now,
    });
  }
  await appendEvent(tx, {
    projectId,
    roomId: room.id,
    conversationId: active.id,
    type: 'conversation.close',
    createdAt: now,
    projectHasIntegration: found.hasIntegration,
    payload: conversationCloseEvent({
      timestamp: now,
      projectId,
      roomId: room.id,
      user,
      bot,
      conversationId: active.id,
      redirectPayload: redirect,
    }),
  });
  // A deleted bot or user (the close of a deletion, or of a conversation that raced it) gets no
  // welcome-back: nobody is left on one side to talk to.
  if (bot.deletedAt == null && user.deletedAt == null) {
    await handBackToBot(tx, {
      bot,
      user,
      room,
      edge: redirect?.type === 'edge' ? redirect.text : undefined,
      storedRules: found.botRules,
      now,
    });
  }
  const conversation: Conversation = {
    ...active,
    state: 'closed',
    endAt: now,
    endedReason: 'closed_by_operator',
  };
  return { conversation, bot, user, room };
}
