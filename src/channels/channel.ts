/**
 * Channels: how a bot reaches its end users. Every channel answers the same question — a message
 * for the end user was just stored, inside this transaction: how does it get there? — so the
 * services that produce messages (the panel, the bot, a close) never know which channel it is.
 * Inbound, each channel has its own route, and hands the user's message to receiveFromUser.
 * This file is the interface only; registry.ts says which implementation serves which kind.
 */
import type { Bot, EndUser, Message, MessageSender, Room } from '../model/types.js';
import type { Tx } from '../storage/store.js';

export interface OutboundContext {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly room: Room;
  /** Only the bot and the panel write to the user. */
  readonly message: Message & { readonly sender: Exclude<MessageSender, 'user'> };
  readonly now: number;
}

export interface Channel {
  readonly kind: Bot['channel'];
  /** Makes the delivery of `message` durable in the same transaction that stored it. */
  queueForUser(tx: Tx, ctx: OutboundContext): Promise<void>;
}
