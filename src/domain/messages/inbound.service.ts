/**
 * Messages from the end user, whatever the channel: stored in the room, then routed to whoever
 * owns the room — the panel while a conversation is active (a `message` event, docs/api.md §4.9), the
 * bot otherwise.
 */

import type { BotMessageEvent, MessageEvent } from '../../model/events.js';
import { newId } from '../../model/ids.js';
import type { Bot, EndUser, Message, OutboxEvent, Room } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import { messageEvent } from '../events.js';
import { appendEvent } from '../outbox.js';
import { botTurn, greet, handOff, sendTurnReplies } from '../rooms/bot-turn.js';
import { roomFor } from '../rooms/rooms.js';
import { type MessageInput, messageText } from './message-content.js';

export interface FromUser {
  readonly bot: Bot;
  readonly user: EndUser;
  readonly message: MessageInput;
  readonly now: number;
  /** The sender's own id of the message, unique in the room (the web chat's clientMessageId). */
  readonly externalId?: string | undefined;
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
  const existing = await tx.rooms.getByPair(bot.id, user.id);
  if (existing !== undefined) return { room: existing, isNew: false };
  const room = await roomFor(tx, bot.projectId, bot, user, now);
  await greet(tx, { bot, user, room, now });
  return { room, isNew: true };
}

/**
 * How many times a message looks for its owner when a start for the room races its handoff. The
 * winner is read at once on PostgreSQL; a second round is needed only when that conversation was
 * also closed in between, a third almost never.
 */
const ROUTING_ROUNDS = 3;

export async function receiveFromUser(tx: Tx, input: FromUser): Promise<Received> {
  const { bot, user, now } = input;
  const { room } = await openRoom(tx, bot, user, now);
  // The id first: ids sort by creation, and the message comes before the bot's replies to it.
  const toBot: Message = {
    id: newId('msg', now),
    projectId: bot.projectId,
    roomId: room.id,
    conversationId: null,
    sender: 'user',
    type: input.message.type,
    content: input.message.content,
    externalId: input.externalId ?? null,
    createdAt: now,
  };
  const store = async (conversationId: string | null): Promise<Message> => {
    const message = conversationId === null ? toBot : { ...toBot, conversationId };
    await tx.messages.insert(message);
    return message;
  };
  const text = messageText(input.message);
  const ctx = { bot, user, room, now, text, message: toBot };
  for (let round = 1; ; round++) {
    const active = await tx.conversations.getActive(room.id);
    if (active !== undefined) return toPanel(tx, input, room, active.id, await store(active.id));
    const turn = await botTurn(tx, ctx);
    let started: string | null = null;
    // Past the last round the message stays with the bot, unanswered, rather than being lost.
    if (turn.handoff !== undefined && round <= ROUTING_ROUNDS) {
      // The start comes before the message is stored: when another start for this room won
      // (the panel's, or the handoff of a message sent at the same moment), the message belongs
      // in that conversation, and the bot must not say it is connecting the user.
      const outcome = await handOff(tx, ctx, turn.handoff);
      if ('activeId' in outcome) continue;
      started = outcome.conversationId;
    }
    const message = await store(null);
    if (turn.handoff === undefined || started !== null) await sendTurnReplies(tx, ctx, turn);
    return { message, room, routedTo: 'bot', conversationId: started };
  }
}

/** The message goes to the panel: a §4.9 `message` event of the active conversation. */
async function toPanel(
  tx: Tx,
  input: FromUser,
  room: Room,
  conversationId: string,
  message: Message,
): Promise<Received> {
  const { bot, user, now } = input;
  await appendEvent(tx, {
    projectId: bot.projectId,
    roomId: room.id,
    conversationId,
    type: 'message',
    createdAt: now,
    payload: messageEvent({
      timestamp: now,
      projectId: bot.projectId,
      roomId: room.id,
      user,
      bot,
      conversationId,
      message,
    }),
  });
  return { message, room, routedTo: 'panel', conversationId };
}

/**
 * A user's message that was queued for the bot's outside engine (a Rasa bot) goes to the
 * conversation the panel holds now instead: the panel took the room before the engine answered,
 * and the panel answers from here on. It joins the conversation's transcript and reaches the
 * panel as a §4.9 message event, after the conversation.start, in the room's order.
 */
export async function forwardToConversation(
  tx: Tx,
  p: { readonly bot: Bot; readonly room: Room; readonly now: number },
  queued: OutboxEvent,
  conversationId: string,
): Promise<void> {
  const payload = JSON.parse(queued.payload) as BotMessageEvent;
  await tx.messages.assignConversation(payload.value.id, conversationId);
  const forwarded: MessageEvent = { ...payload, conversation: { id: conversationId } };
  await appendEvent(tx, {
    projectId: p.bot.projectId,
    roomId: p.room.id,
    conversationId,
    type: 'message',
    createdAt: p.now,
    payload: forwarded,
  });
}
