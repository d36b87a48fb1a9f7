/**
 * The `http` custom channel (docs/channels.md, "The http channel"): messages for the end user are POSTed to the
 * channel's webhookUrl, signed with its signingKey exactly like panel webhooks, through the same
 * outbox and dispatcher (so they are durable, ordered per room and retried).
 */
import { appendEvent } from '../../domain/outbox.js';
import type { ChannelMessage } from '../../http/event-schemas.js';
import type { Channel, OutboundContext } from '../channel.js';

/**
 * The body relevo POSTs to the channel's webhookUrl for each message to an end user; its shape is
 * ChannelMessageSchema, the one the OpenAPI document shows.
 */
export function channelMessagePayload(ctx: OutboundContext): ChannelMessage {
  const m = ctx.message;
  return {
    event: 'message',
    timestamp: m.createdAt,
    bot_id: ctx.bot.id,
    room_id: ctx.room.id,
    user: { id: ctx.user.id, reference_id: ctx.user.referenceId, name: ctx.user.names },
    message: { id: m.id, type: m.type, content: m.content, sender: m.sender },
  };
}

export const httpChannel: Channel = {
  kind: 'http',
  async queueForUser(tx, ctx) {
    const config = await tx.bots.getChannel(ctx.bot.id);
    // Without a webhookUrl the message is only kept in the room's history.
    if (config?.webhookUrl == null) return;
    await appendEvent(tx, {
      projectId: ctx.bot.projectId,
      roomId: ctx.room.id,
      conversationId: ctx.message.conversationId,
      type: 'message',
      destination: 'channel',
      createdAt: ctx.now,
      payload: channelMessagePayload(ctx),
    });
  },
};
