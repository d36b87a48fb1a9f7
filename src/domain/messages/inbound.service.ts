/**
 * Messages from the end user, whatever the channel: stored in the room, then routed to whoever
 * owns the room — the panel while a conversation is active (a `message` event, api.md §4.9), the
 * bot otherwise.
 */
import { botReply, greet } from '../../bot/bot-turn.js';
import { appendEvent } from '../../delivery/outbox.js';
import type { Tx } from '../../storage/store.js';
import { roomFor } from '../conversations/conversation.service.js';
import { messageEvent } from '../events.js';
import { newId } from '../ids.js';
import type { Bot, EndUser, Message, Room } from '../types.js';
import { type MessageInput, messageText } from './message-content.js';

export interface FromUser {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly message: MessageInput;
  readonly now: number;
}

export interface Received {
  readonly message: Message;
  readonly room: Room;
  /** Who the message went to. */
  readonly routedTo: 'panel' | 'bot';
  /** The conversation it belongs to, or the one the bot's handoff just started. */
  readonly conversationId: string | null;
}

/** Opens the room of a (bot, user) pair if it is new, with the bot's greeting. */
export async function openRoom(
  tx: Tx,
  bot: Bot,
  user: EndUser,
  now: number,
): Promise<{ room: Room; isNew: boolean }> {
  const existing = await tx.getRoomByPair(bot.id, user.id);
  if (existing !== undefined) return { room: existing, isNew: false };
  const room = await roomFor(tx, bot.projectId, bot, user, now);
  await greet(tx, { bot, user, room, now });
  return { room, isNew: true };
}

export async function receiveFromUser(tx: Tx, input: FromUser): Promise<Received> {
  const { bot, user, now } = input;
  const { room } = await openRoom(tx, bot, user, now);
  const active = await tx.getActiveConversation(room.id);
  const message: Message = {
    id: newId('msg', now),
    projectId: bot.projectId,
    roomId: room.id,
    conversationId: active?.id ?? null,
    sender: 'user',
    type: input.message.type,
    content: input.message.content,
    externalId: null,
    createdAt: now,
  };
  await tx.insertMessage(message);
  if (active !== undefined) {
    await appendEvent(tx, {
      projectId: bot.projectId,
      roomId: room.id,
      conversationId: active.id,
      type: 'message',
      createdAt: now,
      payload: messageEvent({
        timestamp: now,
        projectId: bot.projectId,
        roomId: room.id,
        user,
        bot,
        conversationId: active.id,
        message,
      }),
    });
    return { message, room, routedTo: 'panel', conversationId: active.id };
  }
  const started = await botReply(tx, { bot, user, room, now, text: messageText(input.message) });
  return { message, room, routedTo: 'bot', conversationId: started ?? null };
}
