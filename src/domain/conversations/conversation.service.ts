/**
 * Conversations: the episodes of panel ownership of a room. Functions take the transaction; the
 * route owns its boundary.
 */
import { appendEvent } from '../../delivery/outbox.js';
import { ApiError } from '../../errors.js';
import { UniqueViolation } from '../../storage/errors.js';
import type { Tx } from '../../storage/store.js';
import { conversationStartEvent } from '../events.js';
import { newId } from '../ids.js';
import type { Assignment, Bot, Conversation, EndUser, Room } from '../types.js';

export interface StartConversationInput {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly initialMessage?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly assignment?: Assignment | undefined;
  readonly now: number;
}

export async function findBotAndUser(
  tx: Tx,
  projectId: string,
  botId: string,
  userId: string,
): Promise<[Bot, EndUser]> {
  const bot = await tx.getBot(projectId, botId);
  if (bot === undefined) {
    throw new ApiError('bot_not_found', `No bot with id ${JSON.stringify(botId)} exists in this project.`);
  }
  const user = await tx.getEndUser(projectId, userId);
  if (user === undefined) {
    throw new ApiError(
      'user_not_found',
      `No end user with id ${JSON.stringify(userId)} exists in this project.`,
    );
  }
  return [bot, user];
}

/** The room of a (bot, end user) pair, created on first use and reused afterwards. */
export async function roomFor(
  tx: Tx,
  projectId: string,
  bot: Bot,
  user: EndUser,
  now: number,
): Promise<Room> {
  const existing = await tx.getRoomByPair(bot.id, user.id);
  if (existing !== undefined) return existing;
  const room: Room = { id: newId('room', now), projectId, botId: bot.id, userId: user.id, createdAt: now };
  await tx.insertRoom(room);
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

export async function startConversation(
  tx: Tx,
  input: StartConversationInput,
): Promise<{ conversation: Conversation; bot: Bot; user: EndUser }> {
  const { projectId, now } = input;
  const [bot, user] = await findBotAndUser(tx, projectId, input.botId, input.userId);
  const room = await roomFor(tx, projectId, bot, user, now);
  const active = await tx.getActiveConversation(room.id);
  if (active !== undefined) throw alreadyActive(active.id);

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
  try {
    await tx.insertConversation(conversation);
  } catch (e) {
    // Two nodes racing on the same pair: the database's unique index decides.
    if (e instanceof UniqueViolation && e.constraint === 'conversations_one_active') {
      const winner = await tx.getActiveConversation(room.id);
      throw alreadyActive(winner?.id ?? 'unknown');
    }
    throw e;
  }
  if (input.initialMessage !== undefined) {
    await tx.insertMessage({
      id: newId('msg', now),
      projectId,
      roomId: room.id,
      conversationId: conversation.id,
      sender: 'operator',
      type: 'text',
      content: { body: input.initialMessage },
      externalId: null,
      createdAt: now,
    });
  }
  await appendEvent(tx, {
    projectId,
    roomId: room.id,
    conversationId: conversation.id,
    type: 'conversation.start',
    createdAt: now,
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
  return { conversation, bot, user };
}
