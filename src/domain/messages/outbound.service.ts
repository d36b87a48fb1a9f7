/** Messages for the end user, from the panel or the bot: stored, then handed to the bot's channel. */

import { newId } from '../../model/ids.js';
import type { Bot, EndUser, Message, MessageSender, Room } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import { parties } from '../parties.js';
import type { MessageInput } from './message-content.js';

export interface ToUser {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
  readonly conversationId: string | null;
  readonly sender: Exclude<MessageSender, 'user'>;
  readonly message: MessageInput;
  /** The panel's own id (docs/api.md §4.10), for idempotency. */
  readonly externalId?: string | null;
  readonly now: number;
}

export async function sendToUser(tx: Tx, m: ToUser): Promise<Message> {
  const message: Message & { sender: ToUser['sender'] } = {
    id: newId('msg', m.now),
    projectId: m.bot.projectId,
    roomId: m.room.id,
    conversationId: m.conversationId,
    sender: m.sender,
    type: m.message.type,
    content: m.message.content,
    externalId: m.externalId ?? null,
    createdAt: m.now,
  };
  await tx.messages.insert(message);
  await parties()
    .channelOf(m.bot)
    .queueForUser(tx, { bot: m.bot, user: m.user, room: m.room, message, now: m.now });
  return message;
}

/** The bot's text replies, in order. */
export async function sendBotTexts(
  tx: Tx,
  to: Omit<ToUser, 'sender' | 'message' | 'conversationId'>,
  texts: readonly string[],
): Promise<Message[]> {
  const sent: Message[] = [];
  for (const body of texts) {
    sent.push(
      await sendToUser(tx, {
        ...to,
        conversationId: null,
        sender: 'bot',
        message: { type: 'text', content: { body } },
      }),
    );
  }
  return sent;
}
