/**
 * Starting a conversation: the panel takes a room from the bot (docs/api.md, start), or the bot
 * hands the room over itself (a rule's handoff). Functions take the transaction; the route owns
 * its boundary.
 */
import { ApiError } from '../../errors.js';
import { newId } from '../../model/ids.js';
import type { Assignment, Bot, Conversation, EndUser, Room } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import { conversationStartEvent } from '../events.js';
import { sendToUser } from '../messages/outbound.service.js';
import { appendEventAfter } from '../outbox.js';
import { parties } from '../parties.js';
import { createRoom, findPair } from '../rooms/rooms.js';

export interface StartConversationInput {
  readonly projectId: string;
  readonly botId: string;
  readonly userId: string;
  readonly initialMessage?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly assignment?: Assignment | undefined;
  /**
   * Who wrote initialMessage: the panel (docs/api.md §4.6: it is delivered to the end user as the
   * first message) or the user (a bot's handoff: the user's own message, already stored, is
   * only echoed as initial_message in the event).
   */
  readonly initialMessageFrom?: 'panel' | 'user';
  readonly now: number;
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

/** docs/api.md §4.6; 409 conversation_already_active when the pair has one (or another start won). */
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
  const event = conversationStartEvent({
    timestamp: now,
    projectId,
    roomId: room.id,
    user,
    bot,
    conversationId: conversation.id,
    assignment: input.assignment,
    initialMessage: input.initialMessage,
    metadata: input.metadata,
  });
  // The conversation and its event in one write: the event first in the room, so the panel hears
  // of the conversation before any message in it.
  const appended = await appendEventAfter(tx, tx.conversations.insertStatement(conversation), {
    projectId,
    roomId: room.id,
    conversationId: conversation.id,
    type: 'conversation.start',
    createdAt: now,
    projectHasIntegration: found.hasIntegration,
    payload: event,
  });
  if (appended === undefined) {
    // Two nodes racing on the same pair: the database's unique index decided.
    const winner = await tx.conversations.getActive(room.id);
    return { activeId: winner?.id ?? 'unknown' };
  }
  // The bot's engine hears of it too (an outside bot must stop answering the room).
  await parties()
    .engineOf(bot)
    .conversationStarted(tx, { bot, user, room, now, conversationId: conversation.id, event });
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
