/**
 * The `whatsapp` channel, outbound (docs/channels.md, "WhatsApp"): every message for the end user
 * is queued in the outbox like the http channel's (durable, in room order, retried), and each
 * attempt is a Cloud API send, `POST {graph}/{version}/{phoneNumberId}/messages` with the
 * channel's access token. Meta's answer decides the outcome (cloud-api.ts, judge); a 2xx ties
 * Meta's wamid to the message, so the statuses Meta reports later find it.
 */
import type { ChannelMessage } from '../../model/events.js';
import type { Channel } from '../channel.js';
import { queueThroughOutbox } from '../queue-for-user.js';
import { judge, messagesUrl, recipientOf, sendBody, wamidOf } from './cloud-api.js';

export const whatsappChannel: Channel = {
  kind: 'whatsapp',
  // Not configured yet: the message is only kept in the room's history.
  queueForUser: queueThroughOutbox((config) => config.whatsapp != null),

  async request(q, p, event, env) {
    const config = await q.bots.getChannel(p.bot.id);
    const wa = config?.whatsapp;
    if (config === undefined || wa == null) return { kind: 'wait' };
    if (config.sendingDisabled != null) return { kind: 'wait' };
    const to = recipientOf(p.user.referenceId);
    if (to === undefined) {
      return { kind: 'cancel', reason: 'the end user has no WhatsApp number (referenceId whatsapp:<wa_id>)' };
    }
    const payload = JSON.parse(event.payload) as ChannelMessage;
    const messageId = payload.message.id;
    return {
      kind: 'send',
      url: messagesUrl(env.graphUrl, wa.graphApiVersion, wa.phoneNumberId),
      body: sendBody(to, payload.message.type, payload.message.content),
      headers: { authorization: `Bearer ${wa.accessToken}` },
      async answer(tx, responseBody) {
        const wamid = wamidOf(responseBody);
        if (wamid === undefined)
          return 'the answer carried no messages[0].id: delivery states will not be tracked';
        await tx.whatsapp.noteAccepted(p.bot.id, wamid, messageId, Date.now());
        return null;
      },
      judge: (result) => judge(result.statusCode, result.fullBody ?? result.responseBody),
      async disable(tx, now, reason) {
        await tx.bots.disableSending(p.bot.id, reason, now);
      },
    };
  },
};
