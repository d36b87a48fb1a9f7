/**
 * What relevo does with Rasa's answer to one queued event (docs/bots.md, "rasa"), inside the
 * transaction that records the delivery: the texts and images go to the user in order, through
 * the bot's channel; a custom `handoff` starts the conversation as the start call would.
 */
import { tryStartConversation } from '../../domain/conversations/start.js';
import { forwardToConversation } from '../../domain/messages/inbound.service.js';
import { parseMessage } from '../../domain/messages/message-content.js';
import { sendToUser } from '../../domain/messages/outbound.service.js';
import { ApiError, type ValidationErrors } from '../../errors.js';
import type { OutboxEvent } from '../../model/types.js';
import type { Tx } from '../../storage/store.js';
import type { RoomParties } from '../engine.js';
import { queuedText, type RasaItem, readRasaAnswer } from './rasa-protocol.js';

/** Rasa's image element is a bare URL; the image message needs a MIME type, read from its name. */
function imageType(url: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    svg: 'image/svg+xml',
  };
  return (ext && known[ext]) ?? 'image/jpeg';
}

/** The message an item says, checked like any message a bot sends; a reason when it is not valid. */
function messageOf(item: Exclude<RasaItem, { kind: 'handoff' }>) {
  const raw =
    item.kind === 'text'
      ? { type: 'text', content: { body: item.body } }
      : { type: 'image', content: { url: item.url, mime_type: imageType(item.url) } };
  const errors: ValidationErrors = {};
  const message = parseMessage(raw, '', errors);
  return message ?? `a ${item.kind} Rasa sent is not a valid message (${JSON.stringify(errors)})`;
}

/** Applies Rasa's answer to `event`; returns what could not be used, for the attempt's log. */
export async function applyRasaAnswer(
  tx: Tx,
  at: RoomParties,
  event: OutboxEvent,
  body: string,
): Promise<string | null> {
  const { items, problem } = readRasaAnswer(body);
  const p = { ...at, now: Date.now() };
  const problems = problem === null ? [] : [problem];
  const active = await tx.conversations.getActive(p.room.id);
  if (active !== undefined) {
    // The panel took the room while Rasa was answering: the panel speaks now, not Rasa, and the
    // message it answered belongs to that conversation.
    if (event.type === 'message') await forwardToConversation(tx, p, event, active.id);
    problems.push('a conversation with the panel started before Rasa answered; its answer was not relayed');
    return problems.join('; ');
  }
  for (const item of items) {
    if (item.kind === 'handoff') {
      try {
        const started = await tryStartConversation(tx, {
          projectId: p.bot.projectId,
          botId: p.bot.id,
          userId: p.user.id,
          initialMessage: (item.initialMessage ?? queuedText(event))?.slice(0, 4096),
          // Either way a note for the panel (the user's words, or Rasa's summary), never a
          // message to the user.
          initialMessageFrom: 'user',
          assignment: item.assignment,
          now: p.now,
        });
        if ('activeId' in started)
          problems.push('a conversation was already active; the handoff was not needed');
      } catch (e) {
        // The bot or the user was deleted since: nobody to hand over.
        if (!(e instanceof ApiError)) throw e;
        problems.push(`the handoff could not start: ${e.code}`);
      }
      continue;
    }
    const message = messageOf(item);
    if (typeof message === 'string') {
      problems.push(message);
      continue;
    }
    await sendToUser(tx, { ...p, conversationId: null, sender: 'bot', message });
  }
  return problems.length === 0 ? null : problems.join('; ');
}
