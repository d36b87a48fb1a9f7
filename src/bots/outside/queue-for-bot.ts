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
import type { BotEngine, BotTurn, RoomParties } from '../engine.js';

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

/**
 * What every outside engine does when a room opens and when the user writes: no greeting from
 * relevo (the bot answers the first message itself), and the message queued for the bot.
 */
export const OUTSIDE_TURNS: Pick<BotEngine, 'opened' | 'userMessage'> = {
  async opened() {
    return LATER;
  },
  async userMessage(tx, p) {
    await queueUserMessage(tx, p);
    return LATER;
  },
};
