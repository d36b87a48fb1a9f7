/**
 * What the outside engines (external, rasa) queue for their bot: the panel's own event shapes,
 * in the outbox with destination `bot`, so they keep the room's order, survive a restart and
 * are retried like any webhook. The shapes are engine-neutral on purpose: an event queued for one
 * outside engine goes to whichever one the bot has when it is attempted (docs/bots.md).
 */
import { botMessageEvent } from '../../domain/events.js';
import { appendEvent } from '../../domain/outbox.js';
import type { EventType, Message } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import type { BotTurn, RoomParties } from '../engine.js';

/** An outside engine answers later (its reply route, or Rasa's answer): nothing now. */
export const LATER: BotTurn = { replies: [] };

export async function queueForBot(
  tx: Tx,
  p: RoomParties,
  type: EventType,
  conversationId: string | null,
  payload: object,
): Promise<void> {
  await appendEvent(tx, {
    projectId: p.bot.projectId,
    roomId: p.room.id,
    conversationId,
    type,
    destination: 'bot',
    createdAt: p.now,
    payload: payload as Record<string, unknown>,
  });
}

/** The user's message, as the bot receives it while it owns the room. */
export async function queueUserMessage(tx: Tx, p: RoomParties & { message: Message }): Promise<void> {
  const payload = botMessageEvent({
    timestamp: p.now,
    projectId: p.bot.projectId,
    roomId: p.room.id,
    user: p.user,
    bot: p.bot,
    message: p.message,
  });
  await queueForBot(tx, p, 'message', null, payload);
}
