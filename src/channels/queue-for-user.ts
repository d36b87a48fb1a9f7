/**
 * How the channels that send through the outbox (http, WhatsApp) queue a message for the end
 * user: as a `message` event with destination `channel`, in the room's order, in the transaction
 * that stored the message. A channel that is not configured yet queues nothing: the message is
 * only kept in the room's history.
 */
import { channelMessagePayload } from '../domain/events.js';
import { appendEvent } from '../domain/outbox.js';
import type { BotChannelConfig } from '../model/types.js';
import type { Tx } from '../storage/store.js';
import type { OutboundContext } from './channel.js';

export function queueThroughOutbox(
  configured: (config: BotChannelConfig) => boolean,
): (tx: Tx, ctx: OutboundContext) => Promise<void> {
  return async (tx, ctx) => {
    const config = await tx.bots.getChannel(ctx.bot.id);
    if (config === undefined || !configured(config)) return;
    await appendEvent(tx, {
      projectId: ctx.bot.projectId,
      roomId: ctx.room.id,
      conversationId: ctx.message.conversationId,
      type: 'message',
      destination: 'channel',
      createdAt: ctx.now,
      payload: channelMessagePayload(ctx),
    });
  };
}
