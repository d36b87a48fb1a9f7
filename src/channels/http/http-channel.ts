/**
 * The `http` custom channel (docs/channels.md, "The http channel"): messages for the end user are POSTed to the
 * channel's webhookUrl, signed with its signingKey exactly like panel webhooks, through the same
 * outbox and dispatcher (so they are durable, ordered per room and retried).
 */

import { channelMessagePayload } from '../../domain/events.js';
import { appendEvent } from '../../domain/outbox.js';
import type { Channel } from '../channel.js';

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
