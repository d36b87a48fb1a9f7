/**
 * The `external` engine (docs/bots.md): the company's own bot, reached over signed webhooks. It
 * receives the user's messages while it owns a room, and the room's conversation.start and
 * conversation.close, in the panel's shapes, signed with the engine's secret like panel webhooks
 * (both schemes). It answers through the reply route and hands off with the start call.
 */
import type { BotEngine } from '../engine.js';
import { LATER, OUTSIDE_TURNS, queueForBot } from '../outside/queue-for-bot.js';

export const externalEngine: BotEngine = {
  ...OUTSIDE_TURNS,
  async conversationStarted(tx, p) {
    await queueForBot(tx, p, 'conversation.start', p.conversationId, p.event);
  },
  async handedBack(tx, p) {
    await queueForBot(tx, p, 'conversation.close', p.conversationId, p.event);
    return LATER;
  },
  async request(q, p, event) {
    const config = await q.bots.getEngine(p.bot.id);
    if (config?.webhookUrl == null || config.signingSecret == null) {
      return { kind: 'cancel', reason: "the bot's external engine has no webhook" };
    }
    // The secret current at this attempt, as for the panel: a regenerated one signs retries too.
    return { kind: 'send', url: config.webhookUrl, body: event.payload, secret: config.signingSecret };
  },
};
