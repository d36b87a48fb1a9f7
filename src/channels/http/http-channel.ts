/**
 * The `http` custom channel (docs/channels.md, "The http channel"): messages for the end user are POSTed to the
 * channel's webhookUrl, signed with its signingKey exactly like panel webhooks, through the same
 * outbox and dispatcher (so they are durable, ordered per room and retried).
 */

import type { Channel } from '../channel.js';
import { queueThroughOutbox } from '../queue-for-user.js';

export const httpChannel: Channel = {
  kind: 'http',
  // Without a webhookUrl the message is only kept in the room's history.
  queueForUser: queueThroughOutbox((config) => config.webhookUrl != null),
};
