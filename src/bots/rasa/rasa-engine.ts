/**
 * The `rasa` engine (docs/bots.md): a Rasa assistant reached through its REST input channel,
 * with no code for relevo on Rasa's side. Each user message the bot owns is one queued event,
 * sent in the room's order (the next waits until Rasa has answered the previous one, so answers
 * never come out of order), retried like any webhook while Rasa is slow or down.
 */
import { forwardToConversation } from '../../domain/messages/inbound.service.js';
import type { BotEngine } from '../engine.js';
import { LATER, OUTSIDE_TURNS, queueForBot } from '../outside/queue-for-bot.js';
import { applyRasaAnswer } from './rasa-answer.js';
import { rasaRequestBody, rasaWebhookUrl } from './rasa-protocol.js';

/** Rasa's answer is what the user is told: read up to 64 KiB of it (the log keeps 4 KiB). */
const RASA_ANSWER_BYTES = 64 * 1024;

const FORWARDED = 'the room went to the panel before Rasa answered; the message went to the conversation';

export const rasaEngine: BotEngine = {
  ...OUTSIDE_TURNS,
  async conversationStarted(tx, p) {
    // Messages still waiting for Rasa (it was slow, or down) belong to the panel now, in their
    // order and before any later message; one in flight at Rasa is taken too, and its answer,
    // when it comes, finds the event settled and is dropped.
    for (const e of await tx.outbox.pendingOfRoom(p.room.id, 'bot')) {
      if (e.type !== 'message') continue;
      if (await tx.outbox.cancel(e.id, FORWARDED)) await forwardToConversation(tx, p, e, p.conversationId);
    }
  },
  async handedBack(tx, p) {
    await queueForBot(tx, p, 'conversation.close', p.conversationId, p.event);
    return LATER;
  },
  async request(q, p, event) {
    const config = await q.bots.getEngine(p.bot.id);
    if (config?.rasaUrl == null) return { kind: 'cancel', reason: "the bot's rasa engine has no URL" };
    if (event.type === 'message') {
      const active = await q.conversations.getActive(p.room.id);
      if (active !== undefined) {
        return {
          kind: 'instead',
          reason: FORWARDED,
          run: (tx) => forwardToConversation(tx, { ...p, now: Date.now() }, event, active.id),
        };
      }
    }
    const body = rasaRequestBody(event);
    if (body === undefined) return { kind: 'cancel', reason: `a Rasa bot is not sent ${event.type}` };
    return {
      kind: 'send',
      url: rasaWebhookUrl(config.rasaUrl),
      body,
      secret: null,
      keepBytes: RASA_ANSWER_BYTES,
      answer: (tx, text) => applyRasaAnswer(tx, p, event, text),
    };
  },
};
